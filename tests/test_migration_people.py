"""20261207 people: existing candidate accounts become people (deduplicated by ID number)
and every account and batch registration links to its person."""

from __future__ import annotations

import flask_migrate
from sqlalchemy import text

from tests.conftest import TEST_CONFIG
from tests.dbutil import fresh_database
from web import create_app
from web.extensions import db

SAME = "220102199001010018"
OTHER = "220102199001010026"


def test_existing_candidates_become_people_two_accounts_of_one_id_one_person(tmp_path):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": fresh_database("people", tmp_path)})
    with app.app_context():
        flask_migrate.upgrade(revision="8c3f1a6e2d97")
        with db.engine.begin() as conn:
            for iid in (1, 2):
                conn.execute(text(
                    "INSERT INTO institution (id, name, kind, tier, has_self_evaluation, ministry_code, status, "
                    "created_at) VALUES (:i, :n, 'association', 'city', false, '0000', 'applied', CURRENT_TIMESTAMP)"),
                    {"i": iid, "n": f"机构{iid}"})
            conn.execute(text(
                "INSERT INTO occupation (id, code, name, lowest_level, highest_level, is_access_type, active)"
                " VALUES (1, '6-31-01-03', '电工', 5, 1, false, true)"))
            # Accounts 1 and 2: the same person in two institutions; 3 someone else; 4 staff.
            for uid, inst, number, name in ((1, 1, SAME, "张三"), (2, 2, SAME, "张三"), (3, 1, OTHER, "李四")):
                conn.execute(text(
                    "INSERT INTO user_account (id, name, role, institution_id, id_number, active, created_at, "
                    "login_count) VALUES (:i, :name, 'candidate', :inst, :n, true, CURRENT_TIMESTAMP, 0)"),
                    {"i": uid, "inst": inst, "n": number, "name": name})
            conn.execute(text(
                "INSERT INTO user_account (id, name, role, username, password_hash, active, created_at, login_count)"
                " VALUES (4, '管理员', 'centre_admin', 'centre', 'x', true, CURRENT_TIMESTAMP, 0)"))
            for bid, inst in ((1, 1), (2, 2)):
                conn.execute(text(
                    "INSERT INTO batch (id, institution_id, occupation_id, level, name, status, overview, place, "
                    "created_at) VALUES (:i, :inst, 1, 4, :n, 'draft', '', '', CURRENT_TIMESTAMP)"),
                    {"i": bid, "inst": inst, "n": f"批次{bid}"})
            for rid, bid, uid in ((1, 1, 1), (2, 1, 3), (3, 2, 2)):
                conn.execute(text("INSERT INTO batch_candidate (id, batch_id, candidate_id, category, ticket_no) "
                                  "VALUES (:r, :b, :u, 'other', :t)"), {"r": rid, "b": bid, "u": uid, "t": f"T{rid}"})
        flask_migrate.upgrade(revision="b2645f3e7438")
        with db.engine.connect() as conn:
            people = conn.execute(text("SELECT id, id_type, id_number, name FROM person ORDER BY id")).all()
            links = dict(conn.execute(text("SELECT id, person_id FROM user_account")).all())
            registrations = conn.execute(text(
                "SELECT id, person_id, method FROM batch_candidate ORDER BY id")).all()
        assert [(t, n, name) for _, t, n, name in people] == [("resident_id", SAME, "张三"),
                                                              ("resident_id", OTHER, "李四")]
        same, other = people[0][0], people[1][0]
        assert links == {1: same, 2: same, 3: other, 4: None}
        assert registrations == [(1, same, "assessment"), (2, other, "assessment"), (3, same, "assessment")]
        flask_migrate.upgrade()
        with db.engine.connect() as conn:
            defaults = conn.execute(text(
                "SELECT level, method FROM evaluation_scheme WHERE occupation_id IS NULL")).all()
        assert len(defaults) == 15
        flask_migrate.downgrade(revision="8c3f1a6e2d97")
        with db.engine.connect() as conn:
            tables = db.inspect(conn).get_table_names()
            columns = {c["name"] for c in db.inspect(conn).get_columns("user_account")}
        assert "person" not in tables and "person_id" not in columns
        db.engine.dispose()
