"""A calibration run beside a live exam on SQLite (one writer at a time).

These tests use their own SQLite file with real commits (whatever DATABASE_URL says: the
behaviour under test is SQLite's write lock). Another connection — a live exam writing answers
— holds the write lock with BEGIN IMMEDIATE while the run reaches a checkpoint: the run waits
and completes once the lock is released; a lock held beyond the retry budget ends the run
``failed`` with a message a reviewer understands, never the exception's class name.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event, func, select

from foundation.db import Base
from grading.psychometrics import calibration as cal
from grading.psychometrics import responses as rsp
from grading.psychometrics.models import CalibrationRun, ItemParameter
from itembank.models import Item
from tests.conftest import TEST_CONFIG
from tests.factories import PASSWORD, make_blueprint
from tests.grading.worlds import analyst, as_imported, flip_column, make_items
from web import create_app
from web.extensions import db


class LiveExam:
    """A second connection writing answers: ``hold()`` takes the write lock (BEGIN IMMEDIATE,
    an answer inserted) and keeps it until ``release()``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.taken = threading.Event()
        self.done = threading.Event()
        self.thread: threading.Thread | None = None
        self.answers = 0

    def _run(self) -> None:
        con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            con.execute("PRAGMA busy_timeout = 10000")
            con.execute("BEGIN IMMEDIATE")
            con.execute("INSERT INTO live_answer (answer) VALUES ('B')")
            self.taken.set()
            self.done.wait(60)
            con.execute("COMMIT")
            self.answers += 1
        finally:
            con.close()

    def hold(self, seconds: float | None = None) -> None:
        self.taken.clear()
        self.done.clear()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.taken.wait(10), "the live exam could not take the write lock"
        if seconds is not None:
            threading.Timer(seconds, self.done.set).start()

    def release(self) -> None:
        self.done.set()
        if self.thread is not None:
            self.thread.join(10)


@pytest.fixture
def live(tmp_path: Any) -> Iterator[dict[str, Any]]:
    path = str(tmp_path / "live.db")
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        Base.metadata.create_all(db.engine)
        with db.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE live_answer (id INTEGER PRIMARY KEY, answer TEXT)")
        s = db.session
        bp = make_blueprint(s)
        items = make_items(s, bp, 10, seed=41)
        reviewer = analyst(s, bp)
        rs = as_imported(s, rsp.simulate_response_set(s, reviewer, bp.id, 600, 41))
        flip_column(s, rs, items[2].id)  # a flagged item in use: the run writes statuses too
        run = cal.start_run(s, reviewer, rs.id)
        s.commit()
        world = {"app": app, "path": path, "run_id": run.id, "item_ids": [i.id for i in items],
                 "reviewer": reviewer.username, "exam": LiveExam(path)}
        s.remove()
        try:
            yield world
        finally:
            world["exam"].release()
            db.session.remove()
            db.engine.dispose()


def _execute(world: dict[str, Any], grab_at: int, seconds: float | None) -> tuple[CalibrationRun, list[int]]:
    """Execute the run as the worker does (commit at every checkpoint); the live exam takes
    the write lock right after checkpoint ``grab_at`` has been committed."""
    seen: list[int] = []
    exam: LiveExam = world["exam"]

    def progress(percent: int, _stage: str) -> None:
        db.session.commit()
        seen.append(percent)
        if percent == grab_at and exam.thread is None:
            exam.hold(seconds)

    cal.execute_run(db.session, world["run_id"], progress=progress)
    db.session.commit()
    db.session.expire_all()
    return db.session.get(CalibrationRun, world["run_id"]), seen


@pytest.mark.parametrize("grab_at", [2, 10, 55, 85])
def test_run_waits_for_a_live_exams_write_lock_and_completes(live, grab_at):
    with live["app"].app_context():
        run, seen = _execute(live, grab_at, seconds=1.0)
        assert run.status == "done", run.message
        assert grab_at in seen and seen[-1] == 100
        live["exam"].release()
        assert live["exam"].answers == 1  # the exam's answer was kept too
        miskeyed = db.session.get(Item, live["item_ids"][2])
        assert miskeyed.status == "submitted"
        assert db.session.scalar(select(func.count()).select_from(ItemParameter).where(
            ItemParameter.run_id == run.id)) == run.report["n_items"]


def test_run_fails_readably_when_the_lock_outlasts_the_retries(live, monkeypatch):
    app = live["app"]
    monkeypatch.setattr(cal, "BUSY_RETRY_DELAYS", (0.01, 0.02, 0.04))
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        # Every attempt at writing the results found the lock taken; release it while the run
        # records its failure (a stuck exam transaction that finally ends).
        pauses.append(seconds)
        if len(pauses) == len(cal.BUSY_RETRY_DELAYS) + 1:
            live["exam"].release()

    monkeypatch.setattr(cal, "_sleep", sleep)

    def short_wait(dbapi_connection: Any, _record: Any) -> None:  # not 10 s per attempt in a test
        dbapi_connection.execute("PRAGMA busy_timeout = 50")

    with app.app_context():
        engine = db.engine
        event.listen(engine, "connect", short_wait)
        engine.dispose()  # new connections get the short busy timeout
        run, seen = _execute(live, 85, seconds=None)
        assert run.status == "failed"
        assert run.message == cal.BUSY_MESSAGE
        assert "OperationalError" not in run.message and "locked" not in run.message
        assert seen[-1] == 85 and len(pauses) > len(cal.BUSY_RETRY_DELAYS)
        # Nothing half-written: no parameters, the flagged item still in use.
        assert db.session.scalar(select(func.count()).select_from(ItemParameter).where(
            ItemParameter.run_id == run.id)) == 0
        assert db.session.get(Item, live["item_ids"][2]).status == "active"
        db.session.remove()
    client = app.test_client()
    resp = client.post("/login", data={"username": live["reviewer"], "password": PASSWORD})
    assert resp.status_code == 302
    page = client.get(f"/analysis/runs/{live['run_id']}").get_data(as_text=True)
    assert cal.BUSY_MESSAGE in page and "OperationalError" not in page
    status = client.get(f"/analysis/runs/{live['run_id']}/status.json").get_json()
    assert status["status"] == "failed" and status["message"] == cal.BUSY_MESSAGE


def test_the_worker_shows_a_readable_message_and_logs_the_traceback(app: Flask, session, runner, monkeypatch, caplog):
    bp = make_blueprint(session)
    make_items(session, bp, 5, seed=42)
    reviewer = analyst(session, bp)
    rs = as_imported(session, rsp.simulate_response_set(session, reviewer, bp.id, 200, 42))
    monkeypatch.setattr(cal, "_sleep", lambda _seconds: None)

    def broken(*_args: Any) -> Any:
        raise KeyError("internal detail")

    locked = sa.exc.OperationalError("UPDATE calibration_run", {}, sqlite3.OperationalError("database is locked"))
    for failure, expected in ((broken, cal.INTERNAL_ERROR_MESSAGE), (locked, cal.BUSY_MESSAGE)):
        if isinstance(failure, Exception):
            def raising(*_args: Any, _exc: Exception = failure) -> Any:
                raise _exc
            monkeypatch.setattr(cal, "_compute", raising)
        else:
            monkeypatch.setattr(cal, "_compute", failure)
        run = cal.start_run(session, reviewer, rs.id)
        session.flush()
        caplog.clear()
        result = runner.invoke(args=["grading", "run", str(run.id)])
        assert result.exit_code == 1
        session.expire_all()
        run = session.get(CalibrationRun, run.id)
        assert run.status == "failed" and run.message == expected, run.message
        assert "Error" not in run.message and expected in result.output
        if failure is broken:
            assert any(r.exc_info and "internal detail" in str(r.exc_info[1]) for r in caplog.records)
