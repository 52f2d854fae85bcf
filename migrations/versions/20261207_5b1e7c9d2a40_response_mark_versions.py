"""response mark versions

Revision ID: 5b1e7c9d2a40
Revises: 880bb53ce5cf
Create Date: 2026-12-07 10:30:00

A marker may correct their own mark of an examiner-scored theory answer (with a reason) while
the answer has no third mark and the registration's decision is not confirmed: response_mark
gets its current ``version``; response_mark_change keeps every version (version 1: the mark as
submitted, filled in here for the marks already given). Issue 13 leftovers.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '5b1e7c9d2a40'
down_revision = '880bb53ce5cf'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('response_mark', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    op.create_table('response_mark_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mark_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('points', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('points >= 0', name=op.f('ck_response_mark_change_points_non_negative')),
    sa.ForeignKeyConstraint(['mark_id'], ['response_mark.id'], name=op.f('fk_response_mark_change_mark_id_response_mark'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_mark_change')),
    sa.UniqueConstraint('mark_id', 'version', name='uq_response_mark_change_version')
    )
    with op.batch_alter_table('response_mark_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_response_mark_change_mark_id'), ['mark_id'], unique=False)
    op.execute("INSERT INTO response_mark_change (mark_id, version, points, reason, at) "
               "SELECT id, 1, points, '', marked_at FROM response_mark")


def downgrade():
    with op.batch_alter_table('response_mark_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_response_mark_change_mark_id'))
    op.drop_table('response_mark_change')
    with op.batch_alter_table('response_mark', schema=None) as batch_op:
        batch_op.drop_column('version')
