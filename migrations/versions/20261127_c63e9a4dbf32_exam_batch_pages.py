"""exam batch pages

Revision ID: c63e9a4dbf32
Revises: b52d8f3cae21
Create Date: 2026-11-27 08:40:00.000000

Batch pages: candidate import and admission tickets.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c63e9a4dbf32'
down_revision = 'b52d8f3cae21'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('batch_candidate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('work_unit', sa.String(length=128), nullable=True))


def downgrade():
    with op.batch_alter_table('batch_candidate', schema=None) as batch_op:
        batch_op.drop_column('work_unit')
