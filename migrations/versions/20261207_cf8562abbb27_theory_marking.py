"""theory marking

Revision ID: cf8562abbb27
Revises: b4a22a2bd51c
Create Date: 2026-12-07 07:20:51.482835

Marking of examiner-scored theory items (简答/计算/论述; issue 13, point 3). theory_marker: the
batch's examiners the institution admin names as markers of a theory sitting. response_mark:
one marker's mark of one answer, in order (rounds 1–2 are the two blind marks, round 3 the
third marker's when they differ by more than the rule ``theory_marking.third_marker_gap``).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'cf8562abbb27'
down_revision = 'b4a22a2bd51c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('theory_marker',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exam_session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['user_account.id'], name=op.f('fk_theory_marker_assigned_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['exam_session_id'], ['exam_session.id'], name=op.f('fk_theory_marker_exam_session_id_exam_session'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_theory_marker_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_theory_marker')),
    sa.UniqueConstraint('exam_session_id', 'user_id', name='uq_theory_marker_once')
    )
    with op.batch_alter_table('theory_marker', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_theory_marker_exam_session_id'), ['exam_session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_theory_marker_user_id'), ['user_id'], unique=False)

    op.create_table('response_mark',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('marker_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('points', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('points >= 0', name=op.f('ck_response_mark_points_non_negative')),
    sa.CheckConstraint('round BETWEEN 1 AND 3', name=op.f('ck_response_mark_round_range')),
    sa.ForeignKeyConstraint(['marker_id'], ['user_account.id'], name=op.f('fk_response_mark_marker_id_user_account')),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], name=op.f('fk_response_mark_response_id_response'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_mark')),
    sa.UniqueConstraint('response_id', 'marker_id', name='uq_response_mark_marker'),
    sa.UniqueConstraint('response_id', 'round', name='uq_response_mark_round')
    )
    with op.batch_alter_table('response_mark', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_response_mark_marker_id'), ['marker_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_response_mark_response_id'), ['response_id'], unique=False)



def downgrade():
    with op.batch_alter_table('response_mark', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_response_mark_response_id'))
        batch_op.drop_index(batch_op.f('ix_response_mark_marker_id'))

    op.drop_table('response_mark')
    with op.batch_alter_table('theory_marker', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_theory_marker_user_id'))
        batch_op.drop_index(batch_op.f('ix_theory_marker_exam_session_id'))

    op.drop_table('theory_marker')
