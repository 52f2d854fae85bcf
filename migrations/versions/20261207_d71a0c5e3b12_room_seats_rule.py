"""room seats rule

Revision ID: d71a0c5e3b12
Revises: c63e9a4dbf32
Create Date: 2026-12-07 01:00:00.000000

The seats of a room are a configurable rule (room_max_seats, default 30); the database keeps
a hard ceiling of 60 instead of the old fixed 30.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd71a0c5e3b12'
down_revision = 'c63e9a4dbf32'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('room', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_room_seats_max'), type_='check')
        batch_op.create_check_constraint(op.f('ck_room_seats_max'), 'rows * cols <= 60')


def downgrade():
    with op.batch_alter_table('room', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_room_seats_max'), type_='check')
        batch_op.create_check_constraint(op.f('ck_room_seats_max'), 'rows * cols <= 30')
