"""ticket per batch

Revision ID: 8c3f1a6e2d97
Revises: 8350f673cb71
Create Date: 2026-12-07 04:00:00.000000

The admission ticket number (准考证号) moves from the candidate's account to the batch
registration (batch_candidate), unique across all batches (candidates log in with it).
Each account's old number goes to its earliest registration, so existing logins keep
working; any further registration of the same account gets ``R`` + its id. Downgrade puts
the earliest registration's number back on the account (``U`` + id for accounts on no batch).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '8c3f1a6e2d97'
down_revision = '8350f673cb71'
branch_labels = None
depends_on = None


def _unique(wanted, taken, fallback):
    value = wanted if wanted and wanted not in taken else fallback
    while value in taken:
        value = value + "X"
    taken.add(value)
    return value


def upgrade():
    with op.batch_alter_table('batch_candidate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ticket_no', sa.String(length=32), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT bc.id, bc.candidate_id, u.ticket_no FROM batch_candidate bc "
        "JOIN user_account u ON u.id = bc.candidate_id ORDER BY bc.id"
    )).all()
    taken, seen = set(), set()
    for bc_id, candidate_id, ticket in rows:
        first = candidate_id not in seen
        seen.add(candidate_id)
        value = _unique(ticket if first else None, taken, f"R{bc_id:010d}")
        bind.execute(sa.text("UPDATE batch_candidate SET ticket_no = :t WHERE id = :i"), {"t": value, "i": bc_id})
    with op.batch_alter_table('batch_candidate', schema=None) as batch_op:
        batch_op.alter_column('ticket_no', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint('uq_batch_candidate_ticket_no', ['ticket_no'])
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_account_candidate_identity'), type_='check')
        batch_op.create_check_constraint(op.f('ck_user_account_candidate_identity'),
                                         "role <> 'candidate' OR id_number IS NOT NULL")
        batch_op.drop_constraint(op.f('uq_user_account_ticket_no'), type_='unique')
        batch_op.drop_column('ticket_no')


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ticket_no', sa.String(length=32), nullable=True))
    bind = op.get_bind()
    first = {}
    for candidate_id, ticket in bind.execute(sa.text(
            "SELECT candidate_id, ticket_no FROM batch_candidate ORDER BY id")).all():
        first.setdefault(candidate_id, ticket)
    taken = set()
    for (user_id,) in bind.execute(sa.text(
            "SELECT id FROM user_account WHERE role = 'candidate' ORDER BY id")).all():
        value = _unique(first.get(user_id), taken, f"U{user_id:010d}")
        bind.execute(sa.text("UPDATE user_account SET ticket_no = :t WHERE id = :i"), {"t": value, "i": user_id})
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.create_unique_constraint(op.f('uq_user_account_ticket_no'), ['ticket_no'])
        batch_op.drop_constraint(op.f('ck_user_account_candidate_identity'), type_='check')
        batch_op.create_check_constraint(op.f('ck_user_account_candidate_identity'),
                                         "role <> 'candidate' OR (id_number IS NOT NULL AND ticket_no IS NOT NULL)")
    with op.batch_alter_table('batch_candidate', schema=None) as batch_op:
        batch_op.drop_constraint('uq_batch_candidate_ticket_no', type_='unique')
        batch_op.drop_column('ticket_no')
