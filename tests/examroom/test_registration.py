"""Admission ticket numbers belong to batch registrations (examroom.registration): one per
batch, in the demo's format, never shared between batches or years, and the number a
candidate logs in with decides which batch's exam they reach."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from examroom import batches
from examroom import candidate_import as imp
from examroom.demo import DEMO_HUMAN_TICKET
from examroom.models import Attempt, BatchCandidate
from examroom.registration import authenticate_candidate, next_ticket_numbers, ticket_prefix
from foundation.errors import ValidationError
from foundation.roles import Role
from tests.examroom.worlds import Exam, World, at, gender, ident, xlsx
from tests.factories import make_user

#: The demo's format (DEMO_HUMAN_TICKET): year, two digits of the institution, 4-digit sequence.
DEMO_FORMAT = re.compile(r"(20\d\d)(\d\d)(\d{4})")


def _in_year(monkeypatch, year: int) -> None:
    """Issue numbers as if it were ``year`` in Beijing."""
    monkeypatch.setattr(batches, "utcnow", lambda: dt.datetime(year, 6, 1, 4, tzinfo=dt.UTC))


def test_the_demo_ticket_is_in_the_format():
    assert DEMO_FORMAT.fullmatch(DEMO_HUMAN_TICKET)


@pytest.mark.parametrize("path", ["add", "import"])
def test_one_person_in_two_batches_of_two_years_holds_two_numbers(session, monkeypatch, path):
    world = World(session)
    person = make_user(session, Role.CANDIDATE, institution=world.inst, name="钱多", id_number=ident(931))
    entries = []
    for year in (2026, 2027):
        _in_year(monkeypatch, year)
        batch = world.batch()
        if path == "add":
            batches.add_candidates(session, world.admin, batch.id, [person.id])
        else:
            n = person.id_number
            imp.import_candidates(session, world.admin, batch.id, xlsx([["钱多", n, gender(n), "13700000000", ""]]))
        entries.append(batch.candidates[0])
    first, second = (e.ticket_no for e in entries)
    assert first != second
    for entry, year in zip(entries, (2026, 2027), strict=True):
        m = DEMO_FORMAT.fullmatch(entry.ticket_no)
        assert m and m.group(1) == str(year) and m.group(2) == world.inst.serial[-2:], entry.ticket_no
        found = authenticate_candidate(session, entry.ticket_no, person.id_number)
        assert found is not None and found.user is person and found.batch_id == entry.batch_id
    assert authenticate_candidate(session, first, ident(932)) is None  # the ID number must match


def test_numbers_continue_and_are_never_issued_twice(session, monkeypatch):
    world = World(session)
    _in_year(monkeypatch, 2026)
    people = [make_user(session, Role.CANDIDATE, institution=world.inst) for _ in range(5)]
    one, two = world.batch(), world.batch()
    batches.add_candidates(session, world.admin, one.id, [p.id for p in people[:3]])
    batches.add_candidates(session, world.admin, two.id, [p.id for p in people])
    tickets = [c.ticket_no for c in [*one.candidates, *two.candidates]]
    assert len(set(tickets)) == len(tickets) == 8
    assert [int(t[-4:]) for t in tickets] == list(range(1, 9))


def test_an_exhausted_sequence_refuses_the_whole_list(session, monkeypatch):
    world = World(session)
    _in_year(monkeypatch, 2026)
    batch = world.batch()
    prefix = ticket_prefix(batch, 2026)
    filler = world.batch()
    someone = make_user(session, Role.CANDIDATE, institution=world.inst)
    session.add(BatchCandidate(batch_id=filler.id, candidate_id=someone.id, category="other",
                               ticket_no=f"{prefix}9998"))
    session.flush()
    assert next_ticket_numbers(session, prefix, 1) == [f"{prefix}9999"]
    people = [make_user(session, Role.CANDIDATE, institution=world.inst) for _ in range(2)]
    before = session.scalar(select(func.count()).select_from(BatchCandidate))
    with pytest.raises(ValidationError, match="准考证号已用尽"):
        batches.add_candidates(session, world.admin, batch.id, [p.id for p in people])
    n = people[0].id_number
    with pytest.raises(ValidationError, match="准考证号已用尽"):  # the import too: all or nothing
        imp.import_candidates(session, world.admin, batch.id, xlsx([
            ["新人", ident(941), gender(ident(941)), "13700000001", ""],
            [people[0].name, n, gender(n), "13700000002", ""],
        ]))
    assert session.scalar(select(func.count()).select_from(BatchCandidate)) == before


def _second_batch(session, exam: Exam, person):
    """A later acknowledged batch of the same institution with ``person`` seated in it."""
    w = exam.world
    batch = w.batch()
    sitting = batches.add_session(session, w.admin, batch.id, module="theory", starts_at=at("2026-10-23"),
                                  duration_minutes=90, paper_id=w.paper.id)
    room = batches.add_room(session, w.admin, sitting.id, name="第1考场", rows=1, cols=1)
    for _ in range(2):
        proctor = make_user(session, Role.PROCTOR, institution=w.inst)
        batches.assign_staff(session, w.admin, batch.id, user_id=proctor.id, role="proctor", room_id=room.id)
    supervisor = make_user(session, Role.SUPERVISOR, institution=w.inst)  # the institution's own
    batches.assign_staff(session, w.admin, batch.id, user_id=supervisor.id, role="supervisor")
    batches.add_candidates(session, w.admin, batch.id, [person.id], ticket_year=2027)
    batches.seat_session(session, w.admin, sitting.id, seed=7)
    batches.file_plan(session, w.admin, batch.id, dt.date(2026, 9, 28))
    batches.acknowledge_plan(session, w.centre, batch.id)
    return batch, sitting


def test_logging_in_with_a_batch_number_reaches_that_batch_exam(session, client, login):
    exam = Exam(session)
    person = exam.candidates[0]
    batch2, sitting2 = _second_batch(session, exam, person)
    ticket1 = next(c.ticket_no for c in exam.batch.candidates if c.candidate_id == person.id)
    ticket2 = batch2.candidates[0].ticket_no
    assert ticket1 != ticket2 and ticket2.startswith("2027")

    for ticket, mine, other in ((ticket1, exam.sitting, sitting2), (ticket2, sitting2, exam.sitting)):
        login(person, ticket)
        home = client.get("/home").get_data(as_text=True)
        assert ticket in home and (ticket2 if ticket == ticket1 else ticket1) not in home
        listing = client.get("/exam/").get_data(as_text=True)
        assert f'data-sitting="{mine.id}"' in listing and f'data-sitting="{other.id}"' not in listing
        assert client.post(f"/exam/sittings/{other.id}/enter").status_code == 404
        resp = client.post(f"/exam/sittings/{mine.id}/enter")
        attempt = session.scalar(select(Attempt).where(Attempt.candidate_id == person.id,
                                                       Attempt.exam_session_id == mine.id))
        assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/exam/{attempt.id}")
        assert client.get(f"/exam/{attempt.id}").status_code == 200
        others = session.scalar(select(Attempt).where(Attempt.candidate_id == person.id,
                                                      Attempt.exam_session_id == other.id))
        if others is not None:  # made by the earlier login: not this number's exam
            assert client.get(f"/exam/{others.id}").status_code == 404


def test_the_exam_socket_refuses_another_batch_attempt(app, session, client, login, monkeypatch):
    from tests.examroom.worlds import MIN, T0
    from web.extensions import socketio
    from web.sockets import exam as exam_ns

    monkeypatch.setattr(exam_ns, "now", lambda: T0 + 2 * MIN)  # inside the first batch's sitting
    exam = Exam(session)
    person = exam.candidates[0]
    batch2, _ = _second_batch(session, exam, person)
    attempt = exam.started(0)  # the first batch's
    session.flush()
    ticket1 = next(c.ticket_no for c in exam.batch.candidates if c.candidate_id == person.id)
    for ticket, connects in ((ticket1, True), (batch2.candidates[0].ticket_no, False)):
        login(person, ticket)
        sock = socketio.test_client(app, namespace="/exam", auth={"attempt_id": attempt.id, "device_id": "device-one"},
                                    flask_test_client=client)
        assert sock.is_connected("/exam") is connects, ticket
        if connects:
            sock.disconnect(namespace="/exam")
