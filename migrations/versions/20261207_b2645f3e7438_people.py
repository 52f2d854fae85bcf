"""people and registrations

Revision ID: b2645f3e7438
Revises: 4acd9a327285
Create Date: 2026-12-07 05:00:00.000000

People (person), keyed by ID type and number; every candidate account links to one
(user_account.person_id, required for candidates) and every batch registration
(batch_candidate) records its person and evaluation method (default 认定考核 'assessment'), a
person at most once per batch.

Existing candidates: one person per distinct resident ID number (accounts of the same number
in two institutions become one person, named as the earliest account), every account and
registration linked to it. Downgrade drops the links and the people.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b2645f3e7438'
down_revision = '4acd9a327285'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('id_type', sa.String(length=24), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("id_type IN ('resident_id', 'hmt_residence', 'foreign_permanent', 'passport')",
                       name=op.f('ck_person_id_type_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person')),
    sa.UniqueConstraint('id_type', 'id_number', name='uq_person_identity')
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_id_number'), ['id_number'], unique=False)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('batch_candidate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('method', sa.String(length=16), nullable=True))

    bind = op.get_bind()
    people = {}
    accounts = bind.execute(sa.text(
        "SELECT id, id_number, name, created_at FROM user_account "
        "WHERE role = 'candidate' ORDER BY created_at, id")).all()
    for user_id, id_number, name, created_at in accounts:
        number = (id_number or "").strip().upper()
        if number not in people:
            bind.execute(sa.text(
                "INSERT INTO person (id_type, id_number, name, created_at) "
                "VALUES ('resident_id', :n, :name, :at)"), {"n": number, "name": name, "at": created_at})
            people[number] = bind.execute(sa.text(
                "SELECT id FROM person WHERE id_type = 'resident_id' AND id_number = :n"), {"n": number}).scalar()
        bind.execute(sa.text("UPDATE user_account SET person_id = :p, id_number = :n WHERE id = :i"),
                     {"p": people[number], "n": number, "i": user_id})
    bind.execute(sa.text(
        "UPDATE batch_candidate SET method = 'assessment', person_id = "
        "(SELECT person_id FROM user_account WHERE user_account.id = batch_candidate.candidate_id)"))

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_account_person_id'), ['person_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_user_account_person_id_person'), 'person', ['person_id'], ['id'])
        batch_op.create_check_constraint(op.f('ck_user_account_candidate_person'),
                                         "role <> 'candidate' OR person_id IS NOT NULL")
    with op.batch_alter_table('batch_candidate', schema=None) as batch_op:
        batch_op.alter_column('person_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('method', existing_type=sa.String(length=16), nullable=False)
        batch_op.create_index(batch_op.f('ix_batch_candidate_person_id'), ['person_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_batch_candidate_person_id_person'), 'person',
                                    ['person_id'], ['id'])
        batch_op.create_unique_constraint('uq_batch_candidate_person_once', ['batch_id', 'person_id'])
        batch_op.create_check_constraint(
            op.f('ck_batch_candidate_method_known'),
            "method IN ('assessment', 'combined', 'performance', 'competition')")


def downgrade():
    with op.batch_alter_table('batch_candidate', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_batch_candidate_method_known'), type_='check')
        batch_op.drop_constraint('uq_batch_candidate_person_once', type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_batch_candidate_person_id_person'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_batch_candidate_person_id'))
        batch_op.drop_column('method')
        batch_op.drop_column('person_id')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_account_candidate_person'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_user_account_person_id_person'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_user_account_person_id'))
        batch_op.drop_column('person_id')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_id_number'))
    op.drop_table('person')
