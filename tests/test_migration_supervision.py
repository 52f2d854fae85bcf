"""The supervision migration (issue 11 point 5) on a database with data: the centre's supervisors
already on batches become dispatched ones, the institutions' other staff stay as they were,
and a batch's report attaches to its first sitting."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import flask_migrate
import pytest
from sqlalchemy import text

from examroom.models import Batch, BatchModule
from tests.conftest import TEST_CONFIG
from tests.dbutil import fresh_database
from tests.factories import make_institution, make_occupation
from web import create_app
from web.extensions import db

BEFORE = "41615edfeb24"  # the revision just before the supervision migration
T = dt.datetime(2026, 10, 16, 1, 0, tzinfo=dt.UTC)


@pytest.mark.slow
def test_existing_supervisors_and_reports_are_carried_over(tmp_path):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": fresh_database("supervision_data", tmp_path)})
    with app.app_context():
        flask_migrate.upgrade(revision=BEFORE)
        s = db.session
        inst = make_institution(s)
        occupation = make_occupation(s)
        # Accounts as plain rows: the User model of today has columns this old schema lacks.
        def account(username: str, role: str, institution_id: int | None) -> int:
            return s.execute(text(
                "INSERT INTO user_account (username, password_hash, name, role, institution_id, active, created_at, "
                "login_count) VALUES (:u, 'x', :u, :r, :i, :t, :at, 0) RETURNING id"),
                {"u": username, "r": role, "i": institution_id, "t": True, "at": T}).scalar_one()

        centre_sup = SimpleNamespace(id=account("centre_sup", "supervisor", None))
        proctor = SimpleNamespace(id=account("old_proctor", "proctor", inst.id))
        batch = Batch(institution_id=inst.id, occupation_id=occupation.id, level=4, name="旧批次", status="draft")
        module = BatchModule(kind="theory")
        batch.modules.append(module)
        s.add(batch)
        s.flush()

        # Sittings as plain rows too: today's ExamSession has columns this old schema lacks.
        def sitting(starts_at: dt.datetime, place: str) -> int:
            return s.execute(text(
                "INSERT INTO exam_session (module_id, starts_at, duration_minutes, place) VALUES (:m, :at, 90, :p) "
                "RETURNING id"), {"m": module.id, "at": starts_at, "p": place}).scalar_one()

        sitting(T + dt.timedelta(days=1), "甲")
        first = SimpleNamespace(id=sitting(T, "乙"))
        ids = {"b": batch.id, "sup": centre_sup.id, "p": proctor.id, "i": inst.id}
        s.execute(text("INSERT INTO batch_staff (batch_id, user_id, role) VALUES (:b, :sup, 'supervisor'), "
                       "(:b, :p, 'proctor')"), ids)
        s.execute(text("INSERT INTO supervision_report (batch_id, supervisor_id, findings, rating, submitted_at) "
                       "VALUES (:b, :sup, '旧报告', 'good', :at)"), {**ids, "at": T + dt.timedelta(hours=2)})
        first_id = first.id
        s.commit()
        s.remove()

        flask_migrate.upgrade()
        with db.engine.connect() as conn:
            staff = sorted(conn.execute(text("SELECT user_id, role, dispatched FROM batch_staff")).all())
            report = conn.execute(text("SELECT batch_id, exam_session_id FROM supervision_report")).one()
            # An institution may now have its own supervisor.
            conn.execute(text("INSERT INTO user_account (username, password_hash, name, role, institution_id, "
                              "active, created_at, login_count) VALUES ('own_sup', 'x', '机构督导', 'supervisor', "
                              ":i, :t, :at, 0)"), {"i": ids["i"], "t": True, "at": T})
            if conn.dialect.name == "sqlite":  # the table copies kept every reference
                assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
            conn.commit()
        assert staff == sorted([(ids["sup"], "supervisor", True), (ids["p"], "proctor", False)])
        assert tuple(report) == (ids["b"], first_id)
        with db.engine.begin() as conn:  # the downgrade refuses institutions' own supervisors
            conn.execute(text("DELETE FROM user_account WHERE username = 'own_sup'"))
        flask_migrate.downgrade(revision="base")
        db.engine.dispose()
