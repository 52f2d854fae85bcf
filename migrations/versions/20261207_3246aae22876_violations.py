"""violations

Revision ID: 3246aae22876
Revises: 2dd9db2d0c65
Create Date: 2026-12-07 06:55:33.346849

violation: a registration's violation (违纪) of tier 1–4, recorded by a proctor or an examiner;
grading voids, bars or holds results from it. Issue 13, point 3.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '3246aae22876'
down_revision = '2dd9db2d0c65'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('violation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('component', sa.String(length=16), nullable=True),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('exam_session_id', sa.Integer(), nullable=True),
    sa.Column('attempt_id', sa.Integer(), nullable=True),
    sa.Column('attempt_event_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('tier BETWEEN 1 AND 4', name=op.f('ck_violation_tier_range')),
    sa.ForeignKeyConstraint(['attempt_event_id'], ['attempt_event.id'], name=op.f('fk_violation_attempt_event_id_attempt_event'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_violation_attempt_id_attempt'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['exam_session_id'], ['exam_session.id'], name=op.f('fk_violation_exam_session_id_exam_session'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_violation_person_id_person')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_violation_recorded_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['registration_id'], ['batch_candidate.id'], name=op.f('fk_violation_registration_id_batch_candidate'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_violation')),
    sa.UniqueConstraint('attempt_event_id', name='uq_violation_attempt_event')
    )
    with op.batch_alter_table('violation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_violation_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_violation_registration_id'), ['registration_id'], unique=False)



def downgrade():
    with op.batch_alter_table('violation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_violation_registration_id'))
        batch_op.drop_index(batch_op.f('ix_violation_person_id'))

    op.drop_table('violation')
