"""Exams only as filed: a room opens only for a sitting of a plan the centre acknowledged, on
the sitting's day within the configured window, and candidates see and enter only such sittings."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from examroom import attempts as svc
from examroom import batches
from examroom.models import Attempt, AttemptEvent
from foundation.audit import AuditEntry
from foundation.errors import ValidationError
from foundation.settings import set_rule
from tests.examroom.worlds import MIN, T0, Exam


@pytest.fixture
def exam(session):
    return Exam(session)


def _written(session) -> tuple[int, int, int]:
    return tuple(session.scalar(select(func.count()).select_from(m)) for m in (Attempt, AttemptEvent, AuditEntry))


def _unfiled_plan(exam, session, status: str):
    """Another seated sitting of the same world whose plan is ``status`` (draft, filed, returned)."""
    w = exam.world
    batch = w.plan(n_candidates=4, rooms=((2, 2),))
    sitting = batch.sessions[0]
    batches.seat_session(session, w.admin, sitting.id, seed=7)
    if status in ("filed", "returned"):
        batches.file_plan(session, w.admin, batch.id, dt.date(2026, 9, 28))
    if status == "returned":
        batches.return_plan(session, w.centre, batch.id, "材料不全")
    assert batch.status == status
    return batch, sitting


@pytest.mark.parametrize("status", ["draft", "filed", "returned"])
def test_a_room_of_an_unacknowledged_plan_cannot_be_opened_or_entered(session, exam, status):
    batch, sitting = _unfiled_plan(exam, session, status)
    room = sitting.rooms[0]
    proctor = next(s.user for s in batch.staff if s.room_id == room.id)
    candidate = room.seats[0].candidate
    before = _written(session)
    with pytest.raises(ValidationError, match="尚未经鉴定中心确认备案"):
        svc.open_room(session, proctor, room.id, T0)
    with pytest.raises(ValidationError, match="尚未经鉴定中心确认备案"):
        svc.attempt_for_candidate(session, candidate, sitting.id)
    assert _written(session) == before


@pytest.mark.parametrize(("offset", "ok"), [
    (-dt.timedelta(days=1), False),          # a day early
    (-31 * MIN, False), (-30 * MIN, True),   # the default window opens 30 minutes before
    (dt.timedelta(0), True),
    (60 * MIN, True), (61 * MIN, False),     # and closes an hour after the start
    (dt.timedelta(days=1), False),
])
def test_the_room_opens_only_within_the_window(session, exam, offset, ok):
    before = _written(session)
    if ok:
        assert svc.open_room(session, exam.proctor1, exam.room1.id, T0 + offset)
    else:
        window = "计划于 2026-10-16 09:00 开考，只能在 2026-10-16 08:30 至 2026-10-16 10:00"
        with pytest.raises(ValidationError, match=window):
            svc.open_room(session, exam.proctor1, exam.room1.id, T0 + offset)
        assert _written(session) == before


def test_the_window_is_a_rule_and_never_leaves_the_sittings_day(session, exam):
    set_rule(session, exam.world.centre, "room_open_window", {"before_minutes": 240, "after_minutes": 480})
    # 09:00 - 240 min = 05:00 is still the same day; 09:00 + 480 min = 17:00 too.
    first, last = svc.open_window(session, exam.sitting)
    assert (first, last) == (T0 - 240 * MIN, T0 + 480 * MIN)
    exam.sitting.starts_at = T0.replace(hour=22)
    session.flush()
    first, last = svc.open_window(session, exam.sitting)
    assert last.astimezone(batches.BEIJING).date() == dt.date(2026, 10, 16)
    assert last.astimezone(batches.BEIJING).strftime("%H:%M:%S") == "23:59:59"
    with pytest.raises(ValidationError, match="只能在"):
        svc.open_room(session, exam.proctor1, exam.room1.id, T0.replace(hour=22) + 121 * MIN)


def test_my_exams_lists_only_acknowledged_sittings(session, client, login, exam):
    batch, sitting = _unfiled_plan(exam, session, "draft")
    candidate = sitting.rooms[0].seats[0].candidate
    login(candidate)
    body = client.get("/exam/").get_data(as_text=True)
    assert batch.name not in body
    resp = client.post(f"/exam/sittings/{sitting.id}/enter", follow_redirects=True)
    assert "尚未经鉴定中心确认备案" in resp.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Attempt).where(Attempt.exam_session_id == sitting.id)) == 0
    login(exam.candidates[0])
    assert exam.batch.name in client.get("/exam/").get_data(as_text=True)
