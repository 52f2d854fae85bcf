"""item report stats

Revision ID: 4acd9a327285
Revises: 8c3f1a6e2d97
Create Date: 2026-12-07 13:00:00.000000

The matrix-derived part of each item's report per calibration run (CTT statistics, observed
ICC, distractor table), computed once and served from the table
(grading.psychometrics.report_store). Existing runs get their rows on the first view of an
item's report (or from `flask grading reports --backfill`); nothing is computed here.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4acd9a327285'
down_revision = '8c3f1a6e2d97'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('item_report_stats',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('format_version', sa.Integer(), nullable=False),
    sa.Column('options_basis', sa.Text(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], name=op.f('fk_item_report_stats_item_id_item'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['calibration_run.id'], name=op.f('fk_item_report_stats_run_id_calibration_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_report_stats')),
    sa.UniqueConstraint('run_id', 'item_id', name='uq_item_report_stats_once')
    )
    with op.batch_alter_table('item_report_stats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_report_stats_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_item_report_stats_run_id'), ['run_id'], unique=False)


def downgrade():
    with op.batch_alter_table('item_report_stats', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_report_stats_run_id'))
        batch_op.drop_index(batch_op.f('ix_item_report_stats_item_id'))

    op.drop_table('item_report_stats')
