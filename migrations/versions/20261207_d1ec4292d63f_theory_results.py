"""theory results

Revision ID: d1ec4292d63f
Revises: 3246aae22876
Create Date: 2026-12-07 07:01:34.535752

Theory scores in the live flow (issue 13, point 3). component_result gains ``base_state`` (what
scoring says: pending, scored, absent; ``state`` adds void and held from violations on top, so
a released hold brings the score back), ``version`` and ``marking_code`` (the anonymous code
markers see). component_result_change keeps every version of a result with who, when and why:
a change makes a new version and nothing is overwritten. Existing rows keep their state as
their base state where it is one.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd1ec4292d63f'
down_revision = '3246aae22876'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('component_result_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('result_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('base_state', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('raw_score', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('raw_max', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_component_result_change_actor_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['result_id'], ['component_result.id'], name=op.f('fk_component_result_change_result_id_component_result'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_component_result_change')),
    sa.UniqueConstraint('result_id', 'version', name='uq_component_result_change_version')
    )
    with op.batch_alter_table('component_result_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_component_result_change_result_id'), ['result_id'], unique=False)

    with op.batch_alter_table('component_result', schema=None) as batch_op:
        batch_op.add_column(sa.Column('base_state', sa.String(length=16), server_default='pending', nullable=False))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('marking_code', sa.String(length=16), nullable=True))
        batch_op.create_unique_constraint('uq_component_result_marking_code', ['exam_session_id', 'marking_code'])
        batch_op.create_check_constraint(op.f('ck_component_result_base_state_known'), "base_state IN ('pending', 'scored', 'absent')")
        batch_op.create_check_constraint(op.f('ck_component_result_version_positive'), 'version >= 1')
    op.execute("UPDATE component_result SET base_state = state WHERE state IN ('pending', 'scored', 'absent')")
    op.execute("UPDATE component_result SET base_state = 'scored' WHERE state IN ('void', 'held') "
               "AND score IS NOT NULL")


def downgrade():
    with op.batch_alter_table('component_result', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_component_result_version_positive'), type_='check')
        batch_op.drop_constraint(op.f('ck_component_result_base_state_known'), type_='check')
        batch_op.drop_constraint('uq_component_result_marking_code', type_='unique')
        batch_op.drop_column('marking_code')
        batch_op.drop_column('version')
        batch_op.drop_column('base_state')

    with op.batch_alter_table('component_result_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_component_result_change_result_id'))

    op.drop_table('component_result_change')
