"""dossiers panels competitions

Revision ID: a2afbfddf340
Revises: ed9829b1c62c
Create Date: 2026-12-07 07:02:29.331042

Work-performance dossiers (performance_dossier, dossier_attachment), the panel members' scores
and the chair's minutes (panel_score, panel_minutes), and competition recognition (competition,
competition_result, recognition_rule). Issue 13, points 5 and 6: panels and competitions write
component results and feed the level decision.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a2afbfddf340'
down_revision = 'ed9829b1c62c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('competition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('competition_class', sa.String(length=16), nullable=False),
    sa.Column('organiser', sa.String(length=128), nullable=False),
    sa.Column('occupation_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('filed', sa.Boolean(), nullable=False),
    sa.Column('filing_no', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("competition_class IN ('国家级一类', '国家级二类', '省级一类', '省级二类', '市级一类', '市级二类')", name=op.f('ck_competition_class_known')),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_competition_dates_ordered')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_competition_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['occupation_id'], ['occupation.id'], name=op.f('fk_competition_occupation_id_occupation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competition')),
    sa.UniqueConstraint('name', name='uq_competition_name')
    )
    with op.batch_alter_table('competition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competition_occupation_id'), ['occupation_id'], unique=False)

    op.create_table('recognition_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('competition_class', sa.String(length=16), nullable=False),
    sa.Column('contestant_type', sa.String(length=8), nullable=True),
    sa.Column('current_level', sa.Integer(), nullable=True),
    sa.Column('max_rank', sa.Integer(), nullable=True),
    sa.Column('award', sa.String(length=16), nullable=True),
    sa.Column('top_percent', sa.Numeric(precision=4, scale=1), nullable=True),
    sa.Column('conferred_level', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("competition_class IN ('国家级一类', '国家级二类', '省级一类', '省级二类', '市级一类', '市级二类')", name=op.f('ck_recognition_rule_class_known')),
    sa.CheckConstraint("contestant_type IS NULL OR contestant_type IN ('职工', '学生', '教师')", name=op.f('ck_recognition_rule_contestant_type_known')),
    sa.CheckConstraint('(CASE WHEN max_rank IS NULL THEN 0 ELSE 1 END) + (CASE WHEN award IS NULL THEN 0 ELSE 1 END) + (CASE WHEN top_percent IS NULL THEN 0 ELSE 1 END) = 1', name=op.f('ck_recognition_rule_one_criterion')),
    sa.CheckConstraint('conferred_level BETWEEN 1 AND 5', name=op.f('ck_recognition_rule_conferred_level_range')),
    sa.CheckConstraint('current_level IS NULL OR current_level BETWEEN 1 AND 5', name=op.f('ck_recognition_rule_current_level_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_recognition_rule_created_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recognition_rule'))
    )
    op.create_table('competition_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('competition_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('award', sa.String(length=16), nullable=True),
    sa.Column('top_percent', sa.Numeric(precision=4, scale=1), nullable=True),
    sa.Column('contestant_type', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("contestant_type IN ('职工', '学生', '教师')", name=op.f('ck_competition_result_contestant_type_known')),
    sa.CheckConstraint('rank IS NOT NULL OR award IS NOT NULL OR top_percent IS NOT NULL', name=op.f('ck_competition_result_has_criterion')),
    sa.CheckConstraint('rank IS NULL OR rank >= 1', name=op.f('ck_competition_result_rank_positive')),
    sa.CheckConstraint('top_percent IS NULL OR (top_percent > 0 AND top_percent <= 100)', name=op.f('ck_competition_result_top_percent_range')),
    sa.ForeignKeyConstraint(['competition_id'], ['competition.id'], name=op.f('fk_competition_result_competition_id_competition'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_competition_result_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competition_result')),
    sa.UniqueConstraint('competition_id', 'person_id', name='uq_competition_result_person')
    )
    with op.batch_alter_table('competition_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competition_result_competition_id'), ['competition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_competition_result_person_id'), ['person_id'], unique=False)

    op.create_table('panel_score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('component', sa.String(length=16), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Numeric(precision=5, scale=1), nullable=False),
    sa.Column('sub_scores', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('scored_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("component IN ('performance', 'review')", name=op.f('ck_panel_score_component_known')),
    sa.CheckConstraint('score >= 0 AND score <= 100', name=op.f('ck_panel_score_score_range')),
    sa.ForeignKeyConstraint(['member_id'], ['user_account.id'], name=op.f('fk_panel_score_member_id_user_account')),
    sa.ForeignKeyConstraint(['registration_id'], ['batch_candidate.id'], name=op.f('fk_panel_score_registration_id_batch_candidate'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_panel_score')),
    sa.UniqueConstraint('registration_id', 'component', 'member_id', name='uq_panel_score_member')
    )
    with op.batch_alter_table('panel_score', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_panel_score_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_panel_score_registration_id'), ['registration_id'], unique=False)

    op.create_table('performance_dossier',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('products', sa.Text(), nullable=False),
    sa.Column('problems_solved', sa.Text(), nullable=False),
    sa.Column('tasks', sa.Text(), nullable=False),
    sa.Column('innovation', sa.Text(), nullable=False),
    sa.Column('mentoring', sa.Text(), nullable=False),
    sa.Column('attester_name', sa.String(length=64), nullable=False),
    sa.Column('attester_position', sa.String(length=64), nullable=False),
    sa.Column('attestation', sa.Text(), nullable=False),
    sa.Column('attested_on', sa.Date(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['registration_id'], ['batch_candidate.id'], name=op.f('fk_performance_dossier_registration_id_batch_candidate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_performance_dossier_updated_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_performance_dossier')),
    sa.UniqueConstraint('registration_id', name='uq_performance_dossier_registration')
    )
    op.create_table('dossier_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('section', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('mime', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("section IN ('products', 'problems', 'tasks', 'innovation', 'mentoring', 'attestation', 'other')", name=op.f('ck_dossier_attachment_section_known')),
    sa.CheckConstraint('size > 0', name=op.f('ck_dossier_attachment_size_positive')),
    sa.ForeignKeyConstraint(['dossier_id'], ['performance_dossier.id'], name=op.f('fk_dossier_attachment_dossier_id_performance_dossier'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_dossier_attachment_uploaded_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_attachment'))
    )
    with op.batch_alter_table('dossier_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossier_attachment_dossier_id'), ['dossier_id'], unique=False)

    op.create_table('panel_minutes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('component', sa.String(length=16), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=255), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('record', sa.Text(), nullable=False),
    sa.Column('chair_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finalised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("component IN ('performance', 'review')", name=op.f('ck_panel_minutes_component_known')),
    sa.CheckConstraint('duration_minutes > 0 AND duration_minutes <= 600', name=op.f('ck_panel_minutes_duration_range')),
    sa.ForeignKeyConstraint(['chair_id'], ['user_account.id'], name=op.f('fk_panel_minutes_chair_id_user_account')),
    sa.ForeignKeyConstraint(['registration_id'], ['batch_candidate.id'], name=op.f('fk_panel_minutes_registration_id_batch_candidate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['result_id'], ['component_result.id'], name=op.f('fk_panel_minutes_result_id_component_result'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_panel_minutes')),
    sa.UniqueConstraint('registration_id', 'component', name='uq_panel_minutes_review')
    )
    with op.batch_alter_table('panel_minutes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_panel_minutes_registration_id'), ['registration_id'], unique=False)



def downgrade():
    with op.batch_alter_table('panel_minutes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_panel_minutes_registration_id'))

    op.drop_table('panel_minutes')
    with op.batch_alter_table('dossier_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_attachment_dossier_id'))

    op.drop_table('dossier_attachment')
    op.drop_table('performance_dossier')
    with op.batch_alter_table('panel_score', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_panel_score_registration_id'))
        batch_op.drop_index(batch_op.f('ix_panel_score_member_id'))

    op.drop_table('panel_score')
    with op.batch_alter_table('competition_result', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competition_result_person_id'))
        batch_op.drop_index(batch_op.f('ix_competition_result_competition_id'))

    op.drop_table('competition_result')
    op.drop_table('recognition_rule')
    with op.batch_alter_table('competition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competition_occupation_id'))

    op.drop_table('competition')
