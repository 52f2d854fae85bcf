"""skill scoring

Revision ID: 209bac19759d
Revises: cf8562abbb27
Create Date: 2026-12-07 12:00:00.000000

Skill-operation exams (issue 13 point 4): skill tasks with their documents and score-sheet
criteria in the item bank (skill_task, skill_criterion), a skill sitting's task, stations and
chief examiner (exam_session.skill_task_id, skill_station, sitting_examiner.is_chief), and the
examiners' score sheets with the chief's reconciliation (score_sheet, skill_reconciliation).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '209bac19759d'
down_revision = 'cf8562abbb27'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('skill_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('blueprint_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('prep_notice_html', sa.Text(), nullable=False),
    sa.Column('candidate_notice_html', sa.Text(), nullable=False),
    sa.Column('task_html', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('edited_by_id', sa.Integer(), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('review_comment', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'locked', 'returned')", name=op.f('ck_skill_task_status_known')),
    sa.CheckConstraint('duration_minutes > 0 AND duration_minutes <= 600', name=op.f('ck_skill_task_duration_range')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['user_account.id'], name=op.f('fk_skill_task_approved_by_id_user_account')),
    sa.ForeignKeyConstraint(['blueprint_id'], ['blueprint.id'], name=op.f('fk_skill_task_blueprint_id_blueprint')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_skill_task_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['edited_by_id'], ['user_account.id'], name=op.f('fk_skill_task_edited_by_id_user_account')),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], name=op.f('fk_skill_task_institution_id_institution')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_skill_task'))
    )
    with op.batch_alter_table('skill_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_skill_task_blueprint_id'), ['blueprint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_skill_task_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_skill_task_status'), ['status'], unique=False)

    op.create_table('skill_criterion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('points', sa.Numeric(precision=5, scale=1, asdecimal=False), nullable=False),
    sa.Column('standard', sa.Text(), nullable=False),
    sa.Column('deductions', sa.Text(), nullable=False),
    sa.CheckConstraint('points > 0 AND points <= 100', name=op.f('ck_skill_criterion_points_range')),
    sa.ForeignKeyConstraint(['task_id'], ['skill_task.id'], name=op.f('fk_skill_criterion_task_id_skill_task'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_skill_criterion')),
    sa.UniqueConstraint('task_id', 'position', name='uq_skill_criterion_position')
    )
    with op.batch_alter_table('skill_criterion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_skill_criterion_task_id'), ['task_id'], unique=False)

    op.create_table('score_sheet',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exam_session_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('examiner_id', sa.Integer(), nullable=False),
    sa.Column('marks', sa.JSON(), nullable=False),
    sa.Column('notes', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('total', sa.Numeric(precision=5, scale=1), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('signed_at IS NULL OR total IS NOT NULL', name=op.f('ck_score_sheet_signed_has_total')),
    sa.CheckConstraint('total IS NULL OR (total >= 0 AND total <= 100)', name=op.f('ck_score_sheet_total_range')),
    sa.ForeignKeyConstraint(['exam_session_id'], ['exam_session.id'], name=op.f('fk_score_sheet_exam_session_id_exam_session'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['examiner_id'], ['user_account.id'], name=op.f('fk_score_sheet_examiner_id_user_account')),
    sa.ForeignKeyConstraint(['registration_id'], ['batch_candidate.id'], name=op.f('fk_score_sheet_registration_id_batch_candidate'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score_sheet')),
    sa.UniqueConstraint('exam_session_id', 'registration_id', 'examiner_id', name='uq_score_sheet_once')
    )
    with op.batch_alter_table('score_sheet', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_score_sheet_exam_session_id'), ['exam_session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_score_sheet_examiner_id'), ['examiner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_score_sheet_registration_id'), ['registration_id'], unique=False)

    op.create_table('skill_reconciliation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exam_session_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('chief_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Numeric(precision=5, scale=1), nullable=False),
    sa.Column('mean', sa.Numeric(precision=5, scale=1), nullable=False),
    sa.Column('spread', sa.Numeric(precision=5, scale=1), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('score >= 0 AND score <= 100', name=op.f('ck_skill_reconciliation_score_range')),
    sa.ForeignKeyConstraint(['chief_id'], ['user_account.id'], name=op.f('fk_skill_reconciliation_chief_id_user_account')),
    sa.ForeignKeyConstraint(['exam_session_id'], ['exam_session.id'], name=op.f('fk_skill_reconciliation_exam_session_id_exam_session'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['registration_id'], ['batch_candidate.id'], name=op.f('fk_skill_reconciliation_registration_id_batch_candidate'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_skill_reconciliation')),
    sa.UniqueConstraint('exam_session_id', 'registration_id', name='uq_skill_reconciliation_once')
    )
    with op.batch_alter_table('skill_reconciliation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_skill_reconciliation_exam_session_id'), ['exam_session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_skill_reconciliation_registration_id'), ['registration_id'], unique=False)

    op.create_table('skill_station',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exam_session_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('station_no', sa.Integer(), nullable=False),
    sa.CheckConstraint('station_no >= 1', name=op.f('ck_skill_station_station_positive')),
    sa.ForeignKeyConstraint(['exam_session_id'], ['exam_session.id'], name=op.f('fk_skill_station_exam_session_id_exam_session'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['registration_id'], ['batch_candidate.id'], name=op.f('fk_skill_station_registration_id_batch_candidate'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_skill_station')),
    sa.UniqueConstraint('exam_session_id', 'registration_id', name='uq_skill_station_registration'),
    sa.UniqueConstraint('exam_session_id', 'station_no', name='uq_skill_station_number')
    )
    with op.batch_alter_table('skill_station', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_skill_station_exam_session_id'), ['exam_session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_skill_station_registration_id'), ['registration_id'], unique=False)

    with op.batch_alter_table('exam_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('skill_task_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_exam_session_skill_task_id'), ['skill_task_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_exam_session_skill_task_id_skill_task'), 'skill_task', ['skill_task_id'], ['id'])

    with op.batch_alter_table('sitting_examiner', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_chief', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade():
    with op.batch_alter_table('sitting_examiner', schema=None) as batch_op:
        batch_op.drop_column('is_chief')

    with op.batch_alter_table('exam_session', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_exam_session_skill_task_id_skill_task'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_exam_session_skill_task_id'))
        batch_op.drop_column('skill_task_id')

    with op.batch_alter_table('skill_station', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_skill_station_registration_id'))
        batch_op.drop_index(batch_op.f('ix_skill_station_exam_session_id'))

    op.drop_table('skill_station')
    with op.batch_alter_table('skill_reconciliation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_skill_reconciliation_registration_id'))
        batch_op.drop_index(batch_op.f('ix_skill_reconciliation_exam_session_id'))

    op.drop_table('skill_reconciliation')
    with op.batch_alter_table('score_sheet', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_score_sheet_registration_id'))
        batch_op.drop_index(batch_op.f('ix_score_sheet_examiner_id'))
        batch_op.drop_index(batch_op.f('ix_score_sheet_exam_session_id'))

    op.drop_table('score_sheet')
    with op.batch_alter_table('skill_criterion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_skill_criterion_task_id'))

    op.drop_table('skill_criterion')
    with op.batch_alter_table('skill_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_skill_task_status'))
        batch_op.drop_index(batch_op.f('ix_skill_task_institution_id'))
        batch_op.drop_index(batch_op.f('ix_skill_task_blueprint_id'))

    op.drop_table('skill_task')
