"""publicity objections submissions

Revision ID: 74d5046c88b4
Revises: 5b1e7c9d2a40
Create Date: 2026-12-07 10:15:00.827782

Publicity (公示) of a batch's confirmed 合格 decisions with its masked entries, objections (异议)
with receipt numbers and written answers, the submission of results and certificate data to the
centre and the centre's verdict per entry (issue 14 points 2-4).
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '74d5046c88b4'
down_revision = '5b1e7c9d2a40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('publicity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('submit_due_on', sa.Date(), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_publicity_ends_after_start')),
    sa.CheckConstraint('starts_on >= start_on', name=op.f('ck_publicity_starts_after_chosen')),
    sa.CheckConstraint('submit_due_on > ends_on', name=op.f('ck_publicity_due_after_end')),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_publicity_batch_id_batch'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], name=op.f('fk_publicity_institution_id_institution')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['user_account.id'], name=op.f('fk_publicity_opened_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publicity')),
    sa.UniqueConstraint('batch_id', name='uq_publicity_batch')
    )
    with op.batch_alter_table('publicity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publicity_ends_on'), ['ends_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_publicity_institution_id'), ['institution_id'], unique=False)

    op.create_table('submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('publicity_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status <> 'approved' OR reviewed_at IS NOT NULL", name=op.f('ck_submission_approved_has_time')),
    sa.CheckConstraint("status IN ('submitted', 'returned', 'approved')", name=op.f('ck_submission_status_known')),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_submission_batch_id_batch'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], name=op.f('fk_submission_institution_id_institution')),
    sa.ForeignKeyConstraint(['publicity_id'], ['publicity.id'], name=op.f('fk_submission_publicity_id_publicity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['user_account.id'], name=op.f('fk_submission_reviewed_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['user_account.id'], name=op.f('fk_submission_submitted_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission')),
    sa.UniqueConstraint('publicity_id', name='uq_submission_publicity')
    )
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_status'), ['status'], unique=False)

    op.create_table('publicity_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('publicity_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.Column('name_masked', sa.String(length=64), nullable=False),
    sa.Column('id_masked', sa.String(length=18), nullable=False),
    sa.Column('occupation_name', sa.String(length=128), nullable=False),
    sa.Column('work_type_name', sa.String(length=128), nullable=True),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('institution_name', sa.String(length=128), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('republished', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.CheckConstraint("status IN ('listed', 'withdrawn')", name=op.f('ck_publicity_entry_status_known')),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_publicity_entry_ends_after_start')),
    sa.CheckConstraint('level BETWEEN 1 AND 5', name=op.f('ck_publicity_entry_level_range')),
    sa.ForeignKeyConstraint(['decision_id'], ['level_decision.id'], name=op.f('fk_publicity_entry_decision_id_level_decision'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_publicity_entry_person_id_person')),
    sa.ForeignKeyConstraint(['publicity_id'], ['publicity.id'], name=op.f('fk_publicity_entry_publicity_id_publicity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['registration_id'], ['batch_candidate.id'], name=op.f('fk_publicity_entry_registration_id_batch_candidate'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publicity_entry')),
    sa.UniqueConstraint('registration_id', name='uq_publicity_entry_registration')
    )
    with op.batch_alter_table('publicity_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publicity_entry_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_publicity_entry_publicity_id'), ['publicity_id'], unique=False)

    op.create_table('objection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('receipt', sa.String(length=16), nullable=False),
    sa.Column('objector_name', sa.String(length=64), nullable=False),
    sa.Column('contact', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("action IN ('', 'corrected', 'withdrawn')", name=op.f('ck_objection_action_known')),
    sa.CheckConstraint("status = 'pending' OR answered_at IS NOT NULL", name=op.f('ck_objection_answered_has_time')),
    sa.CheckConstraint("status IN ('pending', 'upheld', 'dismissed')", name=op.f('ck_objection_status_known')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user_account.id'], name=op.f('fk_objection_answered_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['entry_id'], ['publicity_entry.id'], name=op.f('fk_objection_entry_id_publicity_entry'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_objection')),
    sa.UniqueConstraint('receipt', name='uq_objection_receipt')
    )
    with op.batch_alter_table('objection', schema=None) as batch_op:
        batch_op.create_index('ix_objection_entry_status', ['entry_id', 'status'], unique=False)

    op.create_table('submission_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'returned', 'approved')", name=op.f('ck_submission_entry_status_known')),
    sa.ForeignKeyConstraint(['entry_id'], ['publicity_entry.id'], name=op.f('fk_submission_entry_entry_id_publicity_entry'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['registration_id'], ['batch_candidate.id'], name=op.f('fk_submission_entry_registration_id_batch_candidate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_submission_entry_submission_id_submission'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_entry')),
    sa.UniqueConstraint('registration_id', name='uq_submission_entry_registration')
    )
    with op.batch_alter_table('submission_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_entry_submission_id'), ['submission_id'], unique=False)



def downgrade():
    with op.batch_alter_table('submission_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_entry_submission_id'))

    op.drop_table('submission_entry')
    with op.batch_alter_table('objection', schema=None) as batch_op:
        batch_op.drop_index('ix_objection_entry_status')

    op.drop_table('objection')
    with op.batch_alter_table('publicity_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publicity_entry_publicity_id'))
        batch_op.drop_index(batch_op.f('ix_publicity_entry_person_id'))

    op.drop_table('publicity_entry')
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_status'))
        batch_op.drop_index(batch_op.f('ix_submission_institution_id'))
        batch_op.drop_index(batch_op.f('ix_submission_batch_id'))

    op.drop_table('submission')
    with op.batch_alter_table('publicity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publicity_institution_id'))
        batch_op.drop_index(batch_op.f('ix_publicity_ends_on'))

    op.drop_table('publicity')
