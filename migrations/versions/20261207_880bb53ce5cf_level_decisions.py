"""level decisions

Revision ID: 880bb53ce5cf
Revises: a2afbfddf340
Create Date: 2026-12-07 06:59:57.777398

level_decision: every version of a registration's level decision (等级认定结论) with its
reasons, the engine's input and its fingerprint, draft → confirmed by name → superseded, at most
one draft and one confirmed version per registration (partial unique index); recheck_request: a
candidate's re-check (复核) of a released decision and the institution's written answer.
Issue 13, points 8 and 9.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '880bb53ce5cf'
down_revision = 'a2afbfddf340'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('level_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('qualified_on', sa.Date(), nullable=True),
    sa.Column('resit_until', sa.Date(), nullable=True),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('inputs_json', sa.Text(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_name', sa.String(length=64), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_by_name', sa.String(length=64), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("outcome IN ('qualified', 'failed', 'resit', 'held')", name=op.f('ck_level_decision_outcome_known')),
    sa.CheckConstraint("state = 'draft' OR confirmed_at IS NOT NULL OR superseded_at IS NOT NULL", name=op.f('ck_level_decision_settled_has_time')),
    sa.CheckConstraint("state IN ('draft', 'confirmed', 'superseded')", name=op.f('ck_level_decision_state_known')),
    sa.CheckConstraint('confirmed_at IS NULL OR confirmed_by_name IS NOT NULL', name=op.f('ck_level_decision_confirmed_has_name')),
    sa.CheckConstraint('level BETWEEN 1 AND 5', name=op.f('ck_level_decision_level_range')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_level_decision_version_positive')),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_level_decision_batch_id_batch'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['user_account.id'], name=op.f('fk_level_decision_confirmed_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_level_decision_decided_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_level_decision_person_id_person')),
    sa.ForeignKeyConstraint(['registration_id'], ['batch_candidate.id'], name=op.f('fk_level_decision_registration_id_batch_candidate'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_level_decision')),
    sa.UniqueConstraint('registration_id', 'version', name='uq_level_decision_version')
    )
    with op.batch_alter_table('level_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_level_decision_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_level_decision_person_id'), ['person_id'], unique=False)
        batch_op.create_index('uq_level_decision_current', ['registration_id', 'state'], unique=True, sqlite_where=sa.text("state <> 'superseded'"), postgresql_where=sa.text("state <> 'superseded'"))

    op.create_table('recheck_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('components', sa.JSON(), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('answer_kind', sa.String(length=16), nullable=True),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_by_name', sa.String(length=64), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("answer_kind IS NULL OR answer_kind IN ('maintained', 'corrected')", name=op.f('ck_recheck_request_answer_known')),
    sa.CheckConstraint("state = 'open' OR (answer_kind IS NOT NULL AND answered_at IS NOT NULL)", name=op.f('ck_recheck_request_answered_complete')),
    sa.CheckConstraint("state IN ('open', 'answered')", name=op.f('ck_recheck_request_state_known')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user_account.id'], name=op.f('fk_recheck_request_answered_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_recheck_request_batch_id_batch'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['candidate_id'], ['user_account.id'], name=op.f('fk_recheck_request_candidate_id_user_account')),
    sa.ForeignKeyConstraint(['decision_id'], ['level_decision.id'], name=op.f('fk_recheck_request_decision_id_level_decision'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['registration_id'], ['batch_candidate.id'], name=op.f('fk_recheck_request_registration_id_batch_candidate'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recheck_request')),
    sa.UniqueConstraint('decision_id', name='uq_recheck_request_decision')
    )
    with op.batch_alter_table('recheck_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recheck_request_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recheck_request_registration_id'), ['registration_id'], unique=False)



def downgrade():
    with op.batch_alter_table('recheck_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recheck_request_registration_id'))
        batch_op.drop_index(batch_op.f('ix_recheck_request_batch_id'))

    op.drop_table('recheck_request')
    with op.batch_alter_table('level_decision', schema=None) as batch_op:
        batch_op.drop_index('uq_level_decision_current', sqlite_where=sa.text("state <> 'superseded'"), postgresql_where=sa.text("state <> 'superseded'"))
        batch_op.drop_index(batch_op.f('ix_level_decision_person_id'))
        batch_op.drop_index(batch_op.f('ix_level_decision_batch_id'))

    op.drop_table('level_decision')
