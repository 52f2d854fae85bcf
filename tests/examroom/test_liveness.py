"""Liveness across serving processes (issue 11, point 8): a process killed with ``kill -9``
never writes the ``disconnect`` of its sockets; its stale heartbeat must turn its candidates
offline on the console, whatever process or restart notices it, and only once."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from examroom import connections, console
from examroom.models import AttemptEvent, ExamConnection, ServerInstance
from tests.examroom.worlds import MIN, T0, Exam

STALE = dt.timedelta(seconds=30)
SEC = dt.timedelta(seconds=1)


@pytest.fixture
def exam(session):
    return Exam(session)


def connect(session, exam, k, sid, instance, at, device="device-one"):
    attempt = exam.attempt(k)
    assert connections.bind_device(session, exam.candidates[k], attempt.id, device, sid, at, instance)
    session.flush()
    return attempt


def seat(session, attempt):
    session.expire_all()
    return console.seat_summary_for(session, attempt.id)


def disconnects(session, attempt):
    return [json.loads(e.data_json) for e in session.scalars(
        select(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id, AttemptEvent.kind == "disconnect")
        .order_by(AttemptEvent.id))]


def test_a_crashed_process_turns_its_candidates_offline_once_its_heartbeat_is_stale(session, exam):
    t = T0 + 2 * MIN
    connections.register_instance(session, "dead", t)
    connections.register_instance(session, "alive", t)
    exam.started(0)
    exam.started(1)
    a0 = connect(session, exam, 0, "sid-0", "dead", t)  # answering, on the process that dies
    a1 = connect(session, exam, 1, "sid-1", "dead", t)
    a2 = connect(session, exam, 2, "sid-2", "alive", t)  # waiting, on the living process
    assert [seat(session, a)["status"] for a in (a0, a1, a2)] == ["answering", "answering", "connected"]
    # "dead" is killed -9 at t: no disconnect is ever written; "alive" keeps beating.
    for beat in range(1, 8):
        assert connections.heartbeat(session, "alive", t + beat * 5 * SEC)
    # Not stale yet: nothing is reaped and the seats stay online (a slow beat is no crash).
    assert connections.reap_lost(session, t + STALE, STALE) == []
    assert seat(session, a0)["online"] is True
    # Past the threshold: the living process reaps the dead one's connections.
    now = t + STALE + 5 * SEC
    assert connections.reap_lost(session, now, STALE) == sorted([a0.id, a1.id])
    for a in (a0, a1):
        summary = seat(session, a)
        assert (summary["status"], summary["status_label"], summary["online"]) == ("offline", "离线", False)
        assert summary["last_event"]["label"] == "断线" and summary["last_event"]["actor"] == "系统"
        assert disconnects(session, a) == [{"reason": connections.LOST_REASON, "sid": f"sid-{a is a1:d}"}]
    assert seat(session, a2)["online"] is True
    assert session.scalar(select(func.count()).select_from(ServerInstance)) == 1
    # A second reaper (another process, or the next beat) finds nothing more: one disconnect each.
    assert connections.reap_lost(session, now + 5 * SEC, STALE) == []
    assert len(disconnects(session, a0)) == 1


def test_after_a_restart_the_new_process_reaps_the_old_one(session, exam):
    """Every process died (power cut); the restarted one has a new id and reaps the old."""
    t = T0 + 2 * MIN
    connections.register_instance(session, "before", t)
    a0 = connect(session, exam, 0, "sid-0", "before", t)
    later = t + 10 * MIN
    connections.register_instance(session, "after", later)
    assert connections.reap_lost(session, later, STALE) == [a0.id]
    assert seat(session, a0)["online"] is False
    # The candidate's page reconnects to the new process: online again, and stays so.
    connect(session, exam, 0, "sid-0b", "after", later + SEC)
    assert seat(session, a0)["online"] is True
    assert connections.reap_lost(session, later + STALE, STALE) == []


def test_a_connection_naming_no_registered_process_is_reaped_after_the_threshold(session, exam):
    t = T0 + 2 * MIN
    a0 = connect(session, exam, 0, "sid-0", "never-registered", t)
    assert connections.reap_lost(session, t + STALE - SEC, STALE) == []
    assert connections.reap_lost(session, t + STALE + SEC, STALE) == [a0.id]
    assert seat(session, a0)["status"] == "offline"


def test_a_clean_disconnect_releases_the_row_and_a_takeover_stays_online(session, exam):
    t = T0 + 2 * MIN
    connections.register_instance(session, "p1", t)
    connections.register_instance(session, "p2", t)
    a0 = connect(session, exam, 0, "sid-old", "p1", t)
    connect(session, exam, 0, "sid-new", "p2", t + SEC)  # a second tab on another process takes over
    connections.release(session, "sid-old")
    assert session.scalars(select(ExamConnection.sid)).all() == ["sid-new"]
    # p1 then dies: its (already released) connection is not reaped, the seat stays online.
    connections.heartbeat(session, "p2", t + STALE + 5 * SEC)
    assert connections.reap_lost(session, t + STALE + 5 * SEC, STALE) == []
    assert seat(session, a0)["online"] is True


def test_a_process_reaped_while_stalled_restores_its_live_connections(session, exam):
    t = T0 + 2 * MIN
    connections.register_instance(session, "slow", t)
    a0 = connect(session, exam, 0, "sid-0", "slow", t)
    assert connections.reap_lost(session, t + STALE + SEC, STALE) == [a0.id]
    assert seat(session, a0)["online"] is False
    # Its next heartbeat finds the row gone: it registers again and restores the connection.
    back = t + STALE + 2 * SEC
    assert connections.heartbeat(session, "slow", back) is False
    connections.register_instance(session, "slow", back)
    assert connections.restore(session, "slow", [("sid-0", a0.id, exam.candidates[0])], back) == [a0.id]
    assert seat(session, a0)["online"] is True
    assert connections.heartbeat(session, "slow", back + 5 * SEC) is True
    assert connections.reap_lost(session, back + 5 * SEC, STALE) == []
