"""supervision

Revision ID: 7443fc5bd5d9
Revises: 41615edfeb24
Create Date: 2026-12-07 04:00:00.000000

Supervision wired the right way round (issue 11 point 5):

* an institution may have its own 质量督导员: supervisors may belong to an institution;
* a batch's supervisor is either the institution's own or dispatched by the centre
  (``batch_staff.dispatched``); centre supervisors already on batches were put there in the
  centre's name, so they are marked dispatched;
* one supervision report per sitting and supervisor instead of per batch: existing reports
  are attached to their batch's first sitting (a report needs a started sitting, so every
  reported batch has one; the NOT NULL refuses the upgrade rather than drop a report if not).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7443fc5bd5d9'
down_revision = '41615edfeb24'
branch_labels = None
depends_on = None


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def upgrade():
    # SQLite changes a check constraint by copying the table; with foreign keys enforced, dropping
    # the old user_account (every batch, item and audit row points at it) would fail. The copy
    # keeps every row and id, so the references hold again afterwards (PRAGMA foreign_key_check
    # finds nothing: tests/test_migration_supervision.py); but SQLite counts the drop's orphans
    # and does not uncount them on the rename, so the deferral stays off until the end.
    # (foreign_keys = OFF would be ignored inside the migration's transaction.)
    if _sqlite():
        op.execute('PRAGMA defer_foreign_keys = ON')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_account_institution_forbidden'), type_='check')
        batch_op.create_check_constraint(op.f('ck_user_account_institution_forbidden'),
                                         "role NOT IN ('centre_admin') OR institution_id IS NULL")

    with op.batch_alter_table('batch_staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dispatched', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_check_constraint(op.f('ck_batch_staff_dispatched_only_supervisors'),
                                         "NOT dispatched OR role = 'supervisor'")
    staff = sa.table('batch_staff', sa.column('user_id', sa.Integer), sa.column('role', sa.String),
                     sa.column('dispatched', sa.Boolean))
    user = sa.table('user_account', sa.column('id', sa.Integer), sa.column('institution_id', sa.Integer))
    op.execute(staff.update().where(
        staff.c.role == 'supervisor',
        staff.c.user_id.in_(sa.select(user.c.id).where(user.c.institution_id.is_(None))),
    ).values(dispatched=True))

    with op.batch_alter_table('supervision_report', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exam_session_id', sa.Integer(), nullable=True))
    report = sa.table('supervision_report', sa.column('batch_id', sa.Integer),
                      sa.column('exam_session_id', sa.Integer))
    sitting = sa.table('exam_session', sa.column('id', sa.Integer), sa.column('module_id', sa.Integer),
                       sa.column('starts_at', sa.DateTime))
    module = sa.table('batch_module', sa.column('id', sa.Integer), sa.column('batch_id', sa.Integer))
    first = (sa.select(sitting.c.id).select_from(sitting.join(module, sitting.c.module_id == module.c.id))
             .where(module.c.batch_id == report.c.batch_id)
             .order_by(sitting.c.starts_at, sitting.c.id).limit(1).scalar_subquery())
    op.execute(report.update().values(exam_session_id=first))
    with op.batch_alter_table('supervision_report', schema=None) as batch_op:
        batch_op.alter_column('exam_session_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint('uq_supervision_report_once', type_='unique')
        batch_op.create_unique_constraint('uq_supervision_report_sitting_once', ['exam_session_id', 'supervisor_id'])
        batch_op.create_foreign_key(batch_op.f('fk_supervision_report_exam_session_id_exam_session'), 'exam_session',
                                    ['exam_session_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_supervision_report_exam_session_id'), ['exam_session_id'], unique=False)
    if _sqlite():
        op.execute('PRAGMA defer_foreign_keys = OFF')


def downgrade():
    # Refused by the database if a supervisor reported on two sittings of one batch, or an
    # institution has its own supervisors: nothing is deleted silently.
    if _sqlite():
        op.execute('PRAGMA defer_foreign_keys = ON')
    with op.batch_alter_table('supervision_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_report_exam_session_id'))
        batch_op.drop_constraint(batch_op.f('fk_supervision_report_exam_session_id_exam_session'),
                                 type_='foreignkey')
        batch_op.drop_constraint('uq_supervision_report_sitting_once', type_='unique')
        batch_op.create_unique_constraint('uq_supervision_report_once', ['batch_id', 'supervisor_id'])
        batch_op.drop_column('exam_session_id')

    with op.batch_alter_table('batch_staff', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_batch_staff_dispatched_only_supervisors'), type_='check')
        batch_op.drop_column('dispatched')

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_account_institution_forbidden'), type_='check')
        batch_op.create_check_constraint(op.f('ck_user_account_institution_forbidden'),
                                         "role NOT IN ('centre_admin', 'supervisor') OR institution_id IS NULL")
    if _sqlite():
        op.execute('PRAGMA defer_foreign_keys = OFF')
