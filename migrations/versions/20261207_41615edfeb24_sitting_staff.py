"""sitting staff

Revision ID: 41615edfeb24
Revises: 7d4ac75c9350
Create Date: 2026-12-07 12:00:00.000000

Examiners are counted per skill sitting (sitting_examiner, candidates of a sitting in
sitting_candidate) and the 综合评审 panel is its own list with a chair (review_panel_member).
The batch's examiner rows in batch_staff stay as the batch's examiner list (the pool the
sitting groups and the panel are drawn from).

Existing data keeps the old meaning: every examiner of a batch joins each skill sitting of
that batch, and, where the batch has a 综合评审 module, its panel (without a chair: a draft
must name one before it is filed; filed plans are not re-checked). No sitting_candidate rows
are written: a lone skill sitting takes every candidate of its batch.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '41615edfeb24'
down_revision = '7d4ac75c9350'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sitting_examiner',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exam_session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['exam_session_id'], ['exam_session.id'], name=op.f('fk_sitting_examiner_exam_session_id_exam_session'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_sitting_examiner_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sitting_examiner')),
    sa.UniqueConstraint('exam_session_id', 'user_id', name='uq_sitting_examiner_once')
    )
    with op.batch_alter_table('sitting_examiner', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sitting_examiner_exam_session_id'), ['exam_session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sitting_examiner_user_id'), ['user_id'], unique=False)

    op.create_table('sitting_candidate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exam_session_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['user_account.id'], name=op.f('fk_sitting_candidate_candidate_id_user_account')),
    sa.ForeignKeyConstraint(['exam_session_id'], ['exam_session.id'], name=op.f('fk_sitting_candidate_exam_session_id_exam_session'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sitting_candidate')),
    sa.UniqueConstraint('exam_session_id', 'candidate_id', name='uq_sitting_candidate_once')
    )
    with op.batch_alter_table('sitting_candidate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sitting_candidate_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sitting_candidate_exam_session_id'), ['exam_session_id'], unique=False)

    op.create_table('review_panel_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('is_chair', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_review_panel_member_batch_id_batch'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_review_panel_member_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_panel_member')),
    sa.UniqueConstraint('batch_id', 'user_id', name='uq_review_panel_member_once')
    )
    with op.batch_alter_table('review_panel_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_panel_member_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_panel_member_user_id'), ['user_id'], unique=False)

    # The old check counted every examiner of the batch for each skill module and the panel.
    op.execute(
        "INSERT INTO sitting_examiner (exam_session_id, user_id) "
        "SELECT DISTINCT es.id, bs.user_id FROM batch_staff bs "
        "JOIN batch_module bm ON bm.batch_id = bs.batch_id AND bm.kind = 'skill' "
        "JOIN exam_session es ON es.module_id = bm.id "
        "WHERE bs.role = 'examiner'"
    )
    op.execute(
        "INSERT INTO review_panel_member (batch_id, user_id, is_chair) "
        "SELECT DISTINCT bs.batch_id, bs.user_id, false FROM batch_staff bs "
        "JOIN batch_module bm ON bm.batch_id = bs.batch_id AND bm.kind = 'review' "
        "WHERE bs.role = 'examiner'"
    )


def downgrade():
    with op.batch_alter_table('review_panel_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_panel_member_user_id'))
        batch_op.drop_index(batch_op.f('ix_review_panel_member_batch_id'))

    op.drop_table('review_panel_member')
    with op.batch_alter_table('sitting_candidate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sitting_candidate_exam_session_id'))
        batch_op.drop_index(batch_op.f('ix_sitting_candidate_candidate_id'))

    op.drop_table('sitting_candidate')
    with op.batch_alter_table('sitting_examiner', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sitting_examiner_user_id'))
        batch_op.drop_index(batch_op.f('ix_sitting_examiner_exam_session_id'))

    op.drop_table('sitting_examiner')
