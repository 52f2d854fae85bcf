"""violation holds

Revision ID: b4a22a2bd51c
Revises: d1ec4292d63f
Create Date: 2026-12-07 07:08:58.260420

A tier-4 violation holds the registration's results (暂缓) until the centre releases the hold
with a reason: violation gains ``released_at``, ``released_by_id`` and ``release_reason`` (only
a tier-4 row may be released). Issue 13, point 3.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b4a22a2bd51c'
down_revision = 'd1ec4292d63f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('violation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('released_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('released_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('release_reason', sa.Text(), server_default='', nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_violation_released_by_id_user_account'), 'user_account',
                                    ['released_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_check_constraint(op.f('ck_violation_release_only_holds'),
                                         'released_at IS NULL OR tier = 4')


def downgrade():
    with op.batch_alter_table('violation', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_violation_release_only_holds'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_violation_released_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('release_reason')
        batch_op.drop_column('released_by_id')
        batch_op.drop_column('released_at')
