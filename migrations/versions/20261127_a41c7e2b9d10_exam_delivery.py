"""exam delivery

Revision ID: a41c7e2b9d10
Revises: 3cdab2962794
Create Date: 2026-11-27 08:40:00.000000

Connection binding: the device an attempt is answered on (moves need the proctor).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a41c7e2b9d10'
down_revision = '3cdab2962794'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_id', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_column('device_id')
