"""The live-exam demo data (``flask seed demo``) and ``flask exam demo-reset``."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from examroom import attempts as svc
from examroom.answers import JournalEntry
from examroom.demo import (
    DEMO_HUMAN_TICKET,
    DEMO_PROCTORS,
    demo_room,
    reset_demo_session,
    seed_exam_demo,
)
from examroom.models import Attempt, AttemptEvent, BatchStaff, Response, ResponseLog
from foundation.accounts import User
from foundation.demo import seed_demo
from foundation.idcard import id_number_problem
from foundation.seed import seed_reference
from itembank.demo import seed_item_bank
from web.exam_cli import room_seats

DAY = dt.date(2026, 12, 1)


def _seed(session):
    seed_reference(session)
    seed_demo(session)
    seed_item_bank(session)
    return seed_exam_demo(session, today=DAY)


def _user(session, username):
    return session.scalar(select(User).where(User.username == username))


@pytest.mark.slow
def test_the_demo_room_is_an_acknowledged_batch_with_30_seated_candidates(session):
    lines = _seed(session)
    found = demo_room(session)
    assert found is not None and "第1考场" in lines[0]
    batch, sitting, room = found.batch, found.sitting, found.room
    assert batch.status == "acknowledged"
    assert batch.filed_on is not None and batch.filed_on < DAY  # filed ahead of the sitting, as the rule wants
    assert sitting.paper is not None and sitting.paper.status == "locked"
    assert (room.rows, room.cols) == (5, 6)
    seated = [s for s in room.seats if s.candidate_id is not None]
    assert len(seated) == 30 and len({s.candidate_id for s in seated}) == 30
    tickets = {c.candidate_id: c.ticket_no for c in batch.candidates}
    assert DEMO_HUMAN_TICKET in {tickets[s.candidate_id] for s in seated}
    assert sorted(tickets.values()) == [f"202602{n:04d}" for n in range(1, 31)]  # issued on joining the batch
    assert all(id_number_problem(s.candidate.id_number) is None for s in seated)
    assert {s.form_label for s in seated} == {"A", "B"}
    proctors = {s.user.username for s in batch.staff if s.role == "proctor" and s.room_id == room.id}
    assert proctors == set(DEMO_PROCTORS)
    # The college's own supervisor in the plan, the centre's dispatched after acknowledging it.
    supervisors = {(s.user.username, s.user.institution_id, s.dispatched)
                   for s in batch.staff if s.role == "supervisor"}
    assert supervisors == {("supervisor2", batch.institution_id, False), ("supervisor", None, True)}


@pytest.mark.slow
def test_the_demo_can_be_seeded_on_a_weekend_or_holiday(session):
    """Seeding on Beijing's Saturday (from 16:00 UTC on Fridays) once failed: the plan was filed
    10 working days before a day that is not one, which the filing rule counts as 9."""
    seed_reference(session)
    seed_demo(session)
    seed_item_bank(session)
    for day in (dt.date(2026, 11, 28), dt.date(2026, 10, 3)):  # a Saturday; the National Day holiday
        attempt = session.begin_nested()
        seed_exam_demo(session, today=day)
        found = demo_room(session)
        assert found.batch.status == "acknowledged" and found.batch.filed_on < day
        attempt.rollback()


@pytest.mark.slow
def test_seeding_twice_changes_nothing(session):
    _seed(session)
    counts = [session.scalar(select(func.count()).select_from(m)) for m in (BatchStaff, User)]
    _seed(session)
    assert [session.scalar(select(func.count()).select_from(m)) for m in (BatchStaff, User)] == counts


@pytest.mark.slow
def test_demo_reset_moves_the_sitting_to_now_and_clears_its_attempts(session):
    _seed(session)
    found = demo_room(session)
    proctor = _user(session, DEMO_PROCTORS[0])
    opened_at = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
    svc.open_room(session, proctor, found.room.id, opened_at)
    human = next(c.candidate_id for c in found.batch.candidates if c.ticket_no == DEMO_HUMAN_TICKET)
    seat = next(s for s in found.room.seats if s.candidate and s.candidate_id != human)
    attempt = svc.attempt_for_candidate(session, seat.candidate, found.sitting.id)
    svc.start_attempt(session, seat.candidate, attempt.id, opened_at + dt.timedelta(minutes=1))
    svc.record_response(session, seat.candidate, attempt.id,
                        JournalEntry(attempt.id, 1, 1, "A", opened_at + dt.timedelta(minutes=2)),
                        opened_at + dt.timedelta(minutes=2), opened_at + dt.timedelta(minutes=2))
    session.flush()
    assert session.scalar(select(func.count()).select_from(Attempt)) == 30

    now = dt.datetime(2026, 12, 3, 6, 17, 42, tzinfo=dt.UTC)
    lines = reset_demo_session(session, now)
    assert "30 份作答记录" in lines[1]
    for model in (Attempt, Response, ResponseLog, AttemptEvent):
        assert session.scalar(select(func.count()).select_from(model)) == 0, model
    sitting = demo_room(session).sitting
    assert sitting.starts_at.replace(tzinfo=dt.UTC) == dt.datetime(2026, 12, 3, 6, 17, tzinfo=dt.UTC)
    # The room can be opened again.
    assert len(svc.open_room(session, proctor, found.room.id, now)) == 30


@pytest.mark.slow
def test_simulated_seats_leave_the_visitor_alone_and_know_their_attempts(app, session):
    _seed(session)
    with app.app_context():
        label, seats = room_seats("demo", None)
    assert "第1考场" in label
    assert len(seats) == 29
    assert DEMO_HUMAN_TICKET not in {s.ticket_no for s in seats}
    tickets = {c.candidate_id: c.ticket_no for c in demo_room(session).batch.candidates}
    owners = {a.id: tickets[a.candidate_id] for a in session.scalars(select(Attempt))}
    assert all(owners[s.attempt_id] == s.ticket_no for s in seats)
