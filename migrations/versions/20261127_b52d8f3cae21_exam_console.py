"""exam console

Revision ID: b52d8f3cae21
Revises: a41c7e2b9d10
Create Date: 2026-11-27 08:40:00.000000

Proctor console and supervision: room records, signatures, supervision reports.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b52d8f3cae21'
down_revision = 'a41c7e2b9d10'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
