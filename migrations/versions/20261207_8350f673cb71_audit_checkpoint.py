"""audit checkpoint

Revision ID: 8350f673cb71
Revises: 7443fc5bd5d9
Create Date: 2026-12-07 12:00:00.000000

Checkpoints of the audit log's verification (audit_checkpoint): each successful verification
appends one, so that the next verification reads only the entries after it. The table is
append-only like audit_entry (triggers refuse UPDATE and DELETE). Existing databases start
with no checkpoint: their first verification reads the whole log.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8350f673cb71'
down_revision = '7443fc5bd5d9'
branch_labels = None
depends_on = None


# Frozen copy of foundation.audit's append-only guard for audit_checkpoint as of this revision.
APPEND_ONLY_SQL = {
    "sqlite": [
        "CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint "
        "BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END",
        "CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint "
        "BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_checkpoint_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_checkpoint is append-only'; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER audit_checkpoint_no_change BEFORE UPDATE OR DELETE ON audit_checkpoint "
        "FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_append_only()",
    ],
}


def upgrade():
    op.create_table('audit_checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('upto_seq', sa.Integer(), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('checked', sa.Integer(), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=64), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_audit_checkpoint_actor_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoint')),
    sa.UniqueConstraint('number', name=op.f('uq_audit_checkpoint_number'))
    )
    for statement in APPEND_ONLY_SQL.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade():
    op.drop_table('audit_checkpoint')  # its triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_checkpoint_append_only()")
