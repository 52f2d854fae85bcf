"""evaluation schemes

Revision ID: df39e24d7665
Revises: b2645f3e7438
Create Date: 2026-12-07 05:10:00.000000

evaluation_scheme: occupation (NULL = default for all) × level × method → required components
and pass marks. Seeds the defaults of issue 13 (grading.results.decision.default_components):
认定考核 levels 5–3 theory + skill, 2–1 + 综合评审; 考评结合 + 工作业绩评审; 工作业绩评审 alone the
performance review (+ 综合评审 at 2–1); every pass mark 60.
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'df39e24d7665'
down_revision = 'b2645f3e7438'
branch_labels = None
depends_on = None

_BASE = {
    'assessment': ['theory', 'skill'],
    'combined': ['theory', 'skill', 'performance'],
    'performance': ['performance'],
}


def upgrade():
    table = op.create_table('evaluation_scheme',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occupation_id', sa.Integer(), nullable=True),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('components', sa.JSON(), nullable=False),
    sa.Column('pass_marks', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('level BETWEEN 1 AND 5', name=op.f('ck_evaluation_scheme_level_range')),
    sa.CheckConstraint("method IN ('assessment', 'combined', 'performance')",
                       name=op.f('ck_evaluation_scheme_method_known')),
    sa.ForeignKeyConstraint(['occupation_id'], ['occupation.id'],
                            name=op.f('fk_evaluation_scheme_occupation_id_occupation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_scheme')),
    sa.UniqueConstraint('occupation_id', 'level', 'method', name='uq_evaluation_scheme_key')
    )
    with op.batch_alter_table('evaluation_scheme', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_scheme_occupation_id'), ['occupation_id'], unique=False)
    now = dt.datetime.now(dt.UTC)
    rows = []
    for method, base in _BASE.items():
        for level in (5, 4, 3, 2, 1):
            components = base + (['review'] if level in (2, 1) else [])
            rows.append({'occupation_id': None, 'level': level, 'method': method, 'components': components,
                         'pass_marks': {c: '60' for c in components}, 'updated_at': now})
    op.bulk_insert(table, rows)


def downgrade():
    with op.batch_alter_table('evaluation_scheme', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_scheme_occupation_id'))
    op.drop_table('evaluation_scheme')
