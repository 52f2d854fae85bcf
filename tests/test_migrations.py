"""`flask db upgrade` on an empty database builds exactly the schema the models describe."""

from __future__ import annotations

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from foundation.db import Base
from tests.conftest import TEST_CONFIG
from tests.dbutil import fresh_database
from web import create_app
from web.extensions import db


def test_upgrade_matches_models_and_installs_audit_guard(tmp_path):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": fresh_database("migrations", tmp_path)})
    with app.app_context():
        flask_migrate.upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO audit_entry (seq, at, actor_name, actor_role, action, target_type, target_id, "
                "prev_hash, hash) VALUES (1, CURRENT_TIMESTAMP, 'x', 'system', 'a', 't', '1', 'p', 'h')"
            ))
        with pytest.raises(DatabaseError), db.engine.begin() as conn:
            conn.execute(text("UPDATE audit_entry SET action = 'b'"))
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO audit_checkpoint (number, upto_seq, entry_hash, kind, checked, verified_at, "
                "actor_name, prev_hash, hash) VALUES (1, 1, 'h', 'full', 1, CURRENT_TIMESTAMP, 'x', 'p', 'c')"
            ))
        for statement in ("UPDATE audit_checkpoint SET upto_seq = 2", "DELETE FROM audit_checkpoint"):
            with pytest.raises(DatabaseError), db.engine.begin() as conn:
                conn.execute(text(statement))
        flask_migrate.downgrade(revision="base")
        with db.engine.connect() as conn:
            names = db.inspect(conn).get_table_names()
        assert set(names) <= {"alembic_version"}
        db.engine.dispose()
