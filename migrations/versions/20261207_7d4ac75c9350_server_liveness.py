"""server liveness

Revision ID: 7d4ac75c9350
Revises: f3a9d6c1e8b4
Create Date: 2026-12-07 12:00:00.000000

Serving processes with a heartbeat, and the exam-page connections each one holds: a process
that dies without closing its sockets (kill -9, a crash) is detected by its stale heartbeat and
its candidates turn offline on the proctor console (issue 11, point 8).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d4ac75c9350'
down_revision = 'f3a9d6c1e8b4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('server_instance',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_server_instance'))
    )
    with op.batch_alter_table('server_instance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_server_instance_heartbeat_at'), ['heartbeat_at'], unique=False)

    op.create_table('exam_connection',
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.String(length=32), nullable=False),
    sa.Column('connected_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_exam_connection_attempt_id_attempt'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sid', name=op.f('pk_exam_connection'))
    )
    with op.batch_alter_table('exam_connection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exam_connection_attempt_id'), ['attempt_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exam_connection_instance_id'), ['instance_id'], unique=False)


def downgrade():
    with op.batch_alter_table('exam_connection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exam_connection_instance_id'))
        batch_op.drop_index(batch_op.f('ix_exam_connection_attempt_id'))

    op.drop_table('exam_connection')
    with op.batch_alter_table('server_instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_server_instance_heartbeat_at'))

    op.drop_table('server_instance')
