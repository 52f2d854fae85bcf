"""`flask db upgrade` on an empty database builds exactly the schema the models describe."""

from __future__ import annotations

import logging

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


@pytest.mark.slow
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


def test_ticket_numbers_move_from_accounts_to_batch_registrations(tmp_path):
    """20261207 ticket_per_batch: each account's number goes to its earliest registration (so
    its login keeps working), later registrations get numbers of their own, and the account
    column goes; downgrade puts the earliest registration's number back."""
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": fresh_database("ticket_move", tmp_path)})
    with app.app_context():
        flask_migrate.upgrade(revision="f3a9d6c1e8b4")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO institution (id, name, kind, tier, has_self_evaluation, ministry_code, status, created_at)"
                " VALUES (1, '机构', 'association', 'city', false, '0000', 'applied', CURRENT_TIMESTAMP)"))
            conn.execute(text(
                "INSERT INTO occupation (id, code, name, lowest_level, highest_level, is_access_type, active)"
                " VALUES (1, '6-31-01-03', '电工', 5, 1, false, true)"))
            for uid, ticket, id_number in ((1, "202600000100001", "220102199001010018"),
                                           (2, "202600000100002", "220102199001010026")):
                conn.execute(text(
                    "INSERT INTO user_account (id, name, role, institution_id, id_number, ticket_no, active, "
                    "created_at, login_count) VALUES (:i, '考生', 'candidate', 1, :n, :t, true, CURRENT_TIMESTAMP, 0)"),
                    {"i": uid, "t": ticket, "n": id_number})
            for bid in (1, 2):
                conn.execute(text(
                    "INSERT INTO batch (id, institution_id, occupation_id, level, name, status, overview, place, "
                    "created_at) VALUES (:i, 1, 1, 4, :n, 'draft', '', '', CURRENT_TIMESTAMP)"),
                    {"i": bid, "n": f"批次{bid}"})
            for rid, bid, uid in ((1, 1, 1), (2, 1, 2), (3, 2, 1)):  # account 1 in both batches
                conn.execute(text("INSERT INTO batch_candidate (id, batch_id, candidate_id, category) "
                                  "VALUES (:r, :b, :u, 'other')"), {"r": rid, "b": bid, "u": uid})
        flask_migrate.upgrade(revision="8c3f1a6e2d97")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, ticket_no FROM batch_candidate ORDER BY id")).all()
            columns = {c["name"] for c in db.inspect(conn).get_columns("user_account")}
        assert rows == [(1, "202600000100001"), (2, "202600000100002"), (3, "R0000000003")]
        assert "ticket_no" not in columns
        flask_migrate.downgrade(revision="f3a9d6c1e8b4")
        with db.engine.connect() as conn:
            back = conn.execute(text("SELECT id, ticket_no FROM user_account ORDER BY id")).all()
        assert back == [(1, "202600000100001"), (2, "202600000100002")]
        db.engine.dispose()


def test_running_the_migrations_leaves_the_apps_loggers_on(tmp_path):
    """Alembic's env.py configures logging from alembic.ini; it must not switch off the loggers
    that already exist (the app's, the socket layer's), or errors after an in-process upgrade
    are never written (they were not, in the suite, after any migration test)."""
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": fresh_database("loggers", tmp_path)})
    named = [app.logger, logging.getLogger("web.sockets.push"), logging.getLogger("web.sockets.timeup")]
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    assert [logger.disabled for logger in named] == [False, False, False]
def test_item_band_index_is_filled_for_existing_items(tmp_path):
    """20261207 item_band_index: the data step writes, in batches, the same band keys for the
    items already in the bank as the services write for a new current version (from the stored
    signature, or from the stem when none is stored)."""
    from itembank import items as item_svc
    from itembank.duplicates import BANDS
    from tests.factories import make_blueprint, make_user, single_choice


    def band_rows(session):
        return session.execute(text("SELECT item_id, band, key FROM item_band ORDER BY item_id, band")).all()

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": fresh_database("item_band", tmp_path)})
    with app.app_context():
        flask_migrate.upgrade()
        centre = make_user(db.session, "centre_admin")
        writer = make_user(db.session, "question_writer")
        bp = make_blueprint(db.session, centre)
        for k in range(25):
            item_svc.create_item(db.session, writer, point_id=bp.points[k % len(bp.points)].id,
                                 item_type="single_choice", content=single_choice(f"第{k}题：兆欧表如何检查{k}？"))
        db.session.execute(text("UPDATE item_version SET minhash = NULL WHERE id % 3 = 0"))
        db.session.commit()
        written = band_rows(db.session)
        assert len(written) == 25 * BANDS
        db.session.remove()  # no open transaction may hold a lock on item_band while it is dropped
        flask_migrate.downgrade(revision="a7c5e19b3d42")
        flask_migrate.upgrade()
        assert band_rows(db.session) == written
        db.session.remove()
        db.engine.dispose()
