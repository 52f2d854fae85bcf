"""The per-process cache of locked forms, the narrow scan of the time-up job and the plain
statements of the answer and transition paths: the exam room's hot reads and writes,
checked by the SQL they issue and by what the session's ORM objects show afterwards."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from examroom import attempts as svc
from examroom import formcache
from examroom.answers import JournalEntry
from examroom.models import Attempt, AttemptEvent, Response
from foundation.errors import PermissionDenied, ValidationError
from itembank.models import Paper, PaperItem
from tests.examroom.worlds import MIN, SECRET_ANALYSIS, SECRET_KEY_TEXT, T0, Exam, statements


@pytest.fixture
def exam(session):
    return Exam(session)


def test_a_locked_form_is_read_once_and_then_served_from_memory(session, exam):
    form = exam.world.paper.forms[0]
    with statements(session) as first:
        items = formcache.form_items(session, form.id)
    assert len(first) == 1
    assert [i.paper_item_id for i in items] == [pi.id for pi in form.items]
    assert [i.points for i in items] == [2.0, 2.0, 1.0, 5.0]
    with statements(session) as second:
        again = formcache.form_items(session, form.id)
    assert second == [] and again is items
    formcache.clear()
    with statements(session) as third:
        formcache.form_items(session, form.id)
    assert len(third) == 1


def test_the_cached_public_view_carries_no_key(session, exam):
    items = formcache.form_items(session, exam.world.paper.forms[0].id)
    public = repr([i.public for i in items]) + repr([i.stem_html for i in items])
    assert SECRET_KEY_TEXT not in public and SECRET_ANALYSIS not in public and "'key'" not in public
    assert items[0].spec["key"] == ["B"]  # the server keeps it, for validation and scoring


def test_a_form_of_a_paper_that_is_not_locked_is_read_afresh(session, exam):
    paper = exam.world.paper
    form = paper.forms[0]
    # Core statements: the ORM refuses to touch a locked paper (itembank.papers), rightly.
    session.execute(update(Paper).where(Paper.id == paper.id).values(status="submitted"))
    assert formcache.form_items(session, form.id)[0].points == 2.0
    session.execute(update(PaperItem).where(PaperItem.form_id == form.id, PaperItem.position == 1).values(points=3))
    assert formcache.form_items(session, form.id)[0].points == 3.0


def test_the_time_up_scan_locks_only_attempts_that_are_due(session, exam):
    started = [exam.started(k) for k in range(4)]
    session.flush()
    session.expire_all()
    with statements(session) as early:
        assert svc.expire_overdue(session, T0 + 30 * MIN) == []
    # One scan (and at most the rules' setting), however many attempts are answering.
    assert len(early) <= 2, early
    session.expire_all()
    due = sorted(a.id for a in started)
    with statements(session) as late:
        assert sorted(svc.expire_overdue(session, T0 + 200 * MIN)) == due
    assert sum("FROM attempt" in s for s in late) >= 1 + len(due)  # the scan, then each due one locked
    assert {a.status for a in session.scalars(select(Attempt).where(Attempt.id.in_(due)))} == {"expired"}


def test_an_answer_with_a_new_seq_does_not_look_for_a_reused_one(session, exam):
    """The highest logged seq is the highest stored one, so only a seq at or below it is
    checked against the log (the duplicate and reuse cases stay covered in test_attempts)."""
    attempt = exam.started()
    session.flush()
    exam.answer(attempt, 1, 1, "A", T0 + 2 * MIN)
    session.flush()
    with statements(session) as fresh:
        assert exam.answer(attempt, 1, 3, "C", T0 + 3 * MIN).changes  # item 1 moves on to seq 3
    assert not any("FROM response_log" in s for s in fresh)
    with statements(session) as old:  # seq 1 is in the log only now: it must be looked up
        reused = exam.answer(attempt, 2, 1, "D", T0 + 4 * MIN)
    assert not reused.acked and reused.code == "seq_conflict"
    assert any("FROM response_log" in s for s in old)


def test_an_answer_is_four_narrow_statements_and_loaded_orm_answers_see_it(session, exam):
    attempt = exam.started()
    session.flush()
    exam.answer(attempt, 1, 1, "A", T0 + 2 * MIN)
    session.flush()
    assert {r.position: r.seq for r in attempt.responses} == {1: 1}  # the ORM collection, loaded
    with statements(session) as seen:
        assert exam.answer(attempt, 1, 2, "C", T0 + 3 * MIN).changes
        assert exam.answer(attempt, 2, 3, "B", T0 + 3 * MIN).changes
    # per answer: the attempt row (locked), the stored answers, the response, the log entry
    assert len(seen) == 8 and not any("FROM setting" in s or "FROM paper_item" in s for s in seen)
    assert sum(s.startswith("UPDATE response") for s in seen) == 1
    assert {r.position: (r.seq, r.value_json) for r in attempt.responses} == {1: (2, '"C"'), 2: (3, '"B"')}


def test_an_answer_from_a_computer_that_no_longer_holds_the_attempt_is_refused(session, exam):
    attempt = exam.started()
    attempt.device_id = "new-computer"  # the proctor approved a move
    session.flush()
    entry = JournalEntry(attempt.id, 1, 1, "A", T0 + 2 * MIN)
    old = svc.record_response(session, exam.candidates[0], attempt.id, entry, T0 + 2 * MIN, T0 + 2 * MIN,
                              device_id="old-computer")
    assert not old.acked and old.code == "superseded"
    assert session.scalars(select(Response).where(Response.attempt_id == attempt.id)).all() == []
    new = svc.record_response(session, exam.candidates[0], attempt.id, entry, T0 + 2 * MIN, T0 + 2 * MIN,
                              device_id="new-computer")
    assert new.acked and new.changes


def test_a_transition_writes_plain_statements_and_keeps_the_orm_object_true(session, exam):
    attempt = exam.attempt()
    session.flush()
    svc.open_room(session, exam.proctor1, exam.room1.id, T0)
    svc.arrive_attempt(session, exam.candidates[0], attempt.id, T0)
    svc.attempt_rules(session, exam.sitting)  # room_rules now in the process's cache
    with statements(session) as seen:
        svc.start_attempt(session, exam.candidates[0], attempt.id, T0 + MIN)
    assert attempt.status == "in_progress" and attempt not in session.dirty  # stored, not pending
    assert [s.split()[0] for s in seen] == ["SELECT", "UPDATE", "INSERT"]  # the locked read, the row, the event
    session.expire_all()
    stored = session.get(Attempt, attempt.id)
    assert stored.status == "in_progress" and svc.load_state(stored).started_at == T0 + MIN
    assert [e.kind for e in stored.events][-1] == "start"


def test_a_page_signal_is_one_narrow_read_and_one_insert_and_stays_authorised(session, exam):
    attempt = exam.started()
    session.flush()
    with statements(session) as seen:
        svc.record_signal(session, exam.candidates[0], attempt.id, "focus_loss", {"signal": "blur"}, T0 + 2 * MIN)
    assert [s.split()[0] for s in seen] == ["SELECT", "INSERT"]
    stored = session.scalars(select(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id,
                                                        AttemptEvent.kind == "focus_loss")).all()
    assert len(stored) == 1 and stored[0].actor_id == exam.candidates[0].id
    with pytest.raises(PermissionDenied):
        svc.record_signal(session, exam.candidates[1], attempt.id, "focus_loss", {}, T0 + 2 * MIN)
    with pytest.raises(ValidationError):
        svc.record_signal(session, exam.candidates[0], attempt.id, "submit", {}, T0 + 2 * MIN)
