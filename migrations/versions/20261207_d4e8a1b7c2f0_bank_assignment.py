"""bank assignments

Revision ID: d4e8a1b7c2f0
Revises: d71a0c5e3b12
Create Date: 2026-12-07 00:40:00.000000

Reviewers are assigned by the centre to (occupation, institution) pairs; writers may be
granted the revision of their institution's items of an occupation. Existing reviewers get
no row: they see nothing until the centre assigns them (never centre-wide by default).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4e8a1b7c2f0'
down_revision = 'd71a0c5e3b12'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bank_assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('occupation_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('granted_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['granted_by_id'], ['user_account.id'], name=op.f('fk_bank_assignment_granted_by_id_user_account')),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], name=op.f('fk_bank_assignment_institution_id_institution')),
    sa.ForeignKeyConstraint(['occupation_id'], ['occupation.id'], name=op.f('fk_bank_assignment_occupation_id_occupation')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_bank_assignment_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_assignment'))
    )
    with op.batch_alter_table('bank_assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_assignment_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_assignment_occupation_id'), ['occupation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_assignment_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('bank_assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_assignment_user_id'))
        batch_op.drop_index(batch_op.f('ix_bank_assignment_occupation_id'))
        batch_op.drop_index(batch_op.f('ix_bank_assignment_institution_id'))

    op.drop_table('bank_assignment')
