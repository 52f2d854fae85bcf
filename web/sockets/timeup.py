"""The server's time-up job (到时收卷): every ``EXAM_TIMEUP_INTERVAL`` seconds, submit every
attempt whose deadline has passed, whether or not a browser is connected, then tell the
candidate's page (if any) and the proctor consoles. Closing an attempt scores it into the
theory result (grading's close hook); after the closings, candidates who never started a
sitting that nobody can start any more are recorded absent (缺考,
:func:`grading.results.theory.record_absences`), in a transaction of its own so a failure
there never holds back a closing.

Each serving process runs one loop (``python -m web.serve`` and the gunicorn entry point
start it). With several processes they race harmlessly: ``expire_attempts`` locks each row
and re-checks its status, so an attempt is closed once.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from examroom.attempts import expire_attempts, overdue_ids
from foundation.db import utcnow
from grading.results.theory import record_absences
from web.extensions import db, socketio
from web.sockets import push

__all__ = ["run_once", "start"]

log = logging.getLogger(__name__)


#: Attempts closed per transaction: a room-wide time-up closes thousands at once, and one
#: transaction over all of them held the process (SQLite calls never yield to other
#: greenlets) and the write lock for seconds; between chunks the candidates' events run.
CHUNK = 50


def run_once(app: Flask) -> list[int]:
    """One pass: find the overdue attempts, close them in chunks (commit, then push, then let
    other greenlets run). Returns the ids closed."""
    closed: list[int] = []
    with app.app_context():
        try:
            due = overdue_ids(db.session, utcnow())
            db.session.rollback()  # end the scan's read transaction
            for start in range(0, len(due), CHUNK):
                try:
                    chunk = expire_attempts(db.session, due[start:start + CHUNK], utcnow())
                    db.session.commit()
                except Exception:
                    db.session.rollback()
                    raise
                closed += chunk
                for attempt_id in chunk:
                    push.candidate_changed(attempt_id, "expired", "考试时间已到，系统已自动交卷。")
                    push.seat_dirty(app, db.session, attempt_id)
                socketio.sleep(0)
            _absences()
        finally:
            db.session.remove()
    return closed


def _absences() -> None:
    try:
        recorded = record_absences(db.session, utcnow())
        db.session.commit()
    except Exception:  # noqa: BLE001  (closings are done; the next pass retries)
        db.session.rollback()
        log.exception("time-up job: recording absences failed")
        return
    if recorded:
        log.info("time-up job recorded %d absences", len(recorded))


def _loop(app: Flask, interval: float) -> None:
    while True:
        socketio.sleep(interval)
        try:
            closed = run_once(app)
            if closed:
                log.info("time-up job closed attempts %s", closed)
        except Exception:  # noqa: BLE001  (keep the job alive; the next pass retries)
            log.exception("time-up job failed")


def start(app: Flask) -> Any | None:
    """Start the loop as a background task of the Socket.IO server (a greenlet under gevent)."""
    interval = float(app.config.get("EXAM_TIMEUP_INTERVAL") or 0)
    if interval <= 0:
        return None
    return socketio.start_background_task(_loop, app, interval)
