"""component results

Revision ID: 2dd9db2d0c65
Revises: 1201d12a8316
Create Date: 2026-12-07 06:54:27.978595

component_result: one component (theory, skill, 综合评审 …) of one registration at one sitting,
scored out of 100, with its state (pending, scored, absent, void, held) and, for theory, the
closed attempt it was scored from. Issue 13, point 3.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '2dd9db2d0c65'
down_revision = '1201d12a8316'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('component_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('component', sa.String(length=16), nullable=False),
    sa.Column('exam_session_id', sa.Integer(), nullable=True),
    sa.Column('attempt_id', sa.Integer(), nullable=True),
    sa.Column('sat_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('raw_score', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('raw_max', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state <> 'scored' OR score IS NOT NULL", name=op.f('ck_component_result_scored_has_score')),
    sa.CheckConstraint("state IN ('pending', 'scored', 'absent', 'void', 'held')", name=op.f('ck_component_result_state_known')),
    sa.CheckConstraint('score IS NULL OR (score >= 0 AND score <= 100)', name=op.f('ck_component_result_score_range')),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_component_result_attempt_id_attempt'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['exam_session_id'], ['exam_session.id'], name=op.f('fk_component_result_exam_session_id_exam_session'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_component_result_person_id_person')),
    sa.ForeignKeyConstraint(['registration_id'], ['batch_candidate.id'], name=op.f('fk_component_result_registration_id_batch_candidate'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_component_result')),
    sa.UniqueConstraint('attempt_id', name='uq_component_result_attempt'),
    sa.UniqueConstraint('registration_id', 'component', 'exam_session_id', name='uq_component_result_sitting')
    )
    with op.batch_alter_table('component_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_component_result_exam_session_id'), ['exam_session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_component_result_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_component_result_registration_id'), ['registration_id'], unique=False)



def downgrade():
    with op.batch_alter_table('component_result', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_component_result_registration_id'))
        batch_op.drop_index(batch_op.f('ix_component_result_person_id'))
        batch_op.drop_index(batch_op.f('ix_component_result_exam_session_id'))

    op.drop_table('component_result')
