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
    op.create_table(
        'room_record_signature',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('room_id', sa.Integer(), nullable=False),
        sa.Column('proctor_id', sa.Integer(), nullable=False),
        sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('open_attempts', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['proctor_id'], ['user_account.id'],
                                name=op.f('fk_room_record_signature_proctor_id_user_account')),
        sa.ForeignKeyConstraint(['room_id'], ['room.id'], name=op.f('fk_room_record_signature_room_id_room'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_room_record_signature')),
        sa.UniqueConstraint('room_id', 'proctor_id', name='uq_room_record_signature_once'),
    )
    with op.batch_alter_table('room_record_signature', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_room_record_signature_proctor_id'), ['proctor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_room_record_signature_room_id'), ['room_id'], unique=False)

    op.create_table(
        'supervision_report',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=False),
        sa.Column('supervisor_id', sa.Integer(), nullable=False),
        sa.Column('findings', sa.Text(), nullable=False),
        sa.Column('rating', sa.String(length=16), nullable=False),
        sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rating IN ('excellent', 'good', 'adequate', 'poor')",
                           name=op.f('ck_supervision_report_rating_known')),
        sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_supervision_report_batch_id_batch'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['supervisor_id'], ['user_account.id'],
                                name=op.f('fk_supervision_report_supervisor_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_report')),
        sa.UniqueConstraint('batch_id', 'supervisor_id', name='uq_supervision_report_once'),
    )
    with op.batch_alter_table('supervision_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_report_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_report_supervisor_id'), ['supervisor_id'], unique=False)


def downgrade():
    with op.batch_alter_table('supervision_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_report_supervisor_id'))
        batch_op.drop_index(batch_op.f('ix_supervision_report_batch_id'))
    op.drop_table('supervision_report')
    with op.batch_alter_table('room_record_signature', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_room_record_signature_room_id'))
        batch_op.drop_index(batch_op.f('ix_room_record_signature_proctor_id'))
    op.drop_table('room_record_signature')
