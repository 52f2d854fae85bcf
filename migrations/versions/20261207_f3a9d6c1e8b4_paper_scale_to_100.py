"""paper scale to 100

Revision ID: f3a9d6c1e8b4
Revises: e4b7c2a91d05
Create Date: 2026-12-07 01:40:00.000000

A theory paper totals 100 points or declares that its scores are scaled to 100.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3a9d6c1e8b4'
down_revision = 'e4b7c2a91d05'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('paper', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scale_to_100', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('paper', schema=None) as batch_op:
        batch_op.drop_column('scale_to_100')
