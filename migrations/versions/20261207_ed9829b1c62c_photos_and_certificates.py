"""photos and certificates

Revision ID: ed9829b1c62c
Revises: 209bac19759d
Create Date: 2026-12-07 07:06:11.962823

Candidate photos (person.photo_sha256: the stored JPEG's digest; files live outside the web
root) and certificates (issue 14 points 1, 5, 6): the per (institution, year) serial counter,
the certificate with one valid certificate per person x occupation x 工种 x level (a partial
unique index), its printed-data versions (corrections) and revocation requests.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'ed9829b1c62c'
down_revision = '209bac19759d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('certificate_counter',
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('next_serial', sa.Integer(), nullable=False),
    sa.CheckConstraint('next_serial >= 1 AND next_serial <= 1000000', name=op.f('ck_certificate_counter_next_serial_range')),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], name=op.f('fk_certificate_counter_institution_id_institution')),
    sa.PrimaryKeyConstraint('institution_id', 'year', name=op.f('pk_certificate_counter'))
    )
    op.create_table('certificate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=22), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('occupation_id', sa.Integer(), nullable=False),
    sa.Column('work_type_id', sa.Integer(), nullable=True),
    sa.Column('work_type_key', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.Text(), nullable=False),
    sa.CheckConstraint("status <> 'revoked' OR revoked_at IS NOT NULL", name=op.f('ck_certificate_revoked_has_time')),
    sa.CheckConstraint("status IN ('valid', 'revoked')", name=op.f('ck_certificate_status_known')),
    sa.CheckConstraint('length(number) = 22', name=op.f('ck_certificate_number_length')),
    sa.CheckConstraint('level BETWEEN 1 AND 5', name=op.f('ck_certificate_level_range')),
    sa.CheckConstraint('serial >= 1 AND serial <= 999999', name=op.f('ck_certificate_serial_range')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_certificate_version_positive')),
    sa.CheckConstraint('work_type_key = COALESCE(work_type_id, 0)', name=op.f('ck_certificate_work_type_key_matches')),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_certificate_batch_id_batch')),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], name=op.f('fk_certificate_institution_id_institution')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['user_account.id'], name=op.f('fk_certificate_issued_by_id_user_account')),
    sa.ForeignKeyConstraint(['occupation_id'], ['occupation.id'], name=op.f('fk_certificate_occupation_id_occupation')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_certificate_person_id_person')),
    sa.ForeignKeyConstraint(['registration_id'], ['batch_candidate.id'], name=op.f('fk_certificate_registration_id_batch_candidate')),
    sa.ForeignKeyConstraint(['work_type_id'], ['work_type.id'], name=op.f('fk_certificate_work_type_id_work_type')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate')),
    sa.UniqueConstraint('institution_id', 'year', 'serial', name='uq_certificate_serial'),
    sa.UniqueConstraint('number', name='uq_certificate_number')
    )
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_status'), ['status'], unique=False)
        batch_op.create_index('uq_certificate_valid_once', ['person_id', 'occupation_id', 'work_type_key', 'level'], unique=True, sqlite_where=sa.text("status = 'valid'"), postgresql_where=sa.text("status = 'valid'"))

    op.create_table('certificate_revocation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.CheckConstraint("status = 'pending' OR decided_at IS NOT NULL", name=op.f('ck_certificate_revocation_decided_has_time')),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f('ck_certificate_revocation_status_known')),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificate.id'], name=op.f('fk_certificate_revocation_certificate_id_certificate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_certificate_revocation_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_certificate_revocation_requested_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_revocation'))
    )
    with op.batch_alter_table('certificate_revocation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_revocation_certificate_id'), ['certificate_id'], unique=False)
        batch_op.create_index('uq_certificate_revocation_pending', ['certificate_id'], unique=True, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

    op.create_table('certificate_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('id_type', sa.String(length=24), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('institution_name', sa.String(length=128), nullable=False),
    sa.Column('occupation_code', sa.String(length=32), nullable=False),
    sa.Column('occupation_name', sa.String(length=128), nullable=False),
    sa.Column('work_type_name', sa.String(length=128), nullable=True),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('level BETWEEN 1 AND 5', name=op.f('ck_certificate_version_level_range')),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificate.id'], name=op.f('fk_certificate_version_certificate_id_certificate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_certificate_version_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_version')),
    sa.UniqueConstraint('certificate_id', 'version', name='uq_certificate_version_number')
    )
    with op.batch_alter_table('certificate_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_version_certificate_id'), ['certificate_id'], unique=False)

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('photo_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('photo_updated_at', sa.DateTime(timezone=True), nullable=True))



def downgrade():
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('photo_updated_at')
        batch_op.drop_column('photo_sha256')

    with op.batch_alter_table('certificate_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_version_certificate_id'))

    op.drop_table('certificate_version')
    with op.batch_alter_table('certificate_revocation', schema=None) as batch_op:
        batch_op.drop_index('uq_certificate_revocation_pending', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_index(batch_op.f('ix_certificate_revocation_certificate_id'))

    op.drop_table('certificate_revocation')
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_index('uq_certificate_valid_once', sqlite_where=sa.text("status = 'valid'"), postgresql_where=sa.text("status = 'valid'"))
        batch_op.drop_index(batch_op.f('ix_certificate_status'))
        batch_op.drop_index(batch_op.f('ix_certificate_registration_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_person_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_institution_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_batch_id'))

    op.drop_table('certificate')
    op.drop_table('certificate_counter')
