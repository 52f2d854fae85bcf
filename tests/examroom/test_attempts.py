"""Attempt services: ownership, durable answers, the derived clock, time-up, scoring."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from examroom import attempts as svc
from examroom import proctoring
from examroom.answers import JournalEntry
from examroom.lifecycle import AttemptError
from examroom.models import Attempt, AttemptEvent, Response, ResponseLog
from examroom.seating import shuffled_order
from foundation.audit import AuditEntry
from foundation.errors import PermissionDenied
from tests.examroom.worlds import MIN, SECRET_ANALYSIS, SECRET_KEY_TEXT, T0, Exam


@pytest.fixture(scope="module")
def exam(module_session):
    """Built once for the module; each test runs in a savepoint of it (tests/conftest.py)."""
    return Exam(module_session)


def stored(session, attempt):
    return {r.position: (r.seq, json.loads(r.value_json))
            for r in session.scalars(select(Response).where(Response.attempt_id == attempt.id))}


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------- ownership


def test_a_candidate_cannot_read_or_write_another_attempt(session, exam):
    mine = exam.started(0)
    other = exam.candidates[1]
    entry = JournalEntry(mine.id, 1, 1, "B", T0 + 2 * MIN)
    with pytest.raises(PermissionDenied):
        svc.candidate_view(session, other, mine.id, T0 + 2 * MIN)
    with pytest.raises(PermissionDenied):
        svc.record_response(session, other, mine.id, entry, T0 + 2 * MIN, T0 + 2 * MIN)
    with pytest.raises(PermissionDenied):
        svc.submit_attempt(session, other, mine.id, T0 + 40 * MIN)
    with pytest.raises(PermissionDenied):
        svc.start_attempt(session, other, mine.id, T0 + 2 * MIN)
    assert stored(session, mine) == {}
    assert mine.status == "in_progress"
    # An entry naming another attempt than the one addressed is refused with an error ack.
    theirs = exam.attempt(1)
    decision = svc.record_response(session, exam.candidates[0], mine.id,
                                   JournalEntry(theirs.id, 1, 1, "B", T0 + 2 * MIN), T0 + 2 * MIN, T0 + 2 * MIN)
    assert not decision.acked and decision.code == "bad_attempt"
    assert stored(session, mine) == {} and stored(session, theirs) == {}


def test_a_candidate_without_a_seat_gets_no_attempt(session, exam):
    from foundation.roles import Role
    from tests.factories import make_user

    stranger = make_user(session, Role.CANDIDATE, institution=exam.world.inst)
    with pytest.raises(PermissionDenied):
        svc.attempt_for_candidate(session, stranger, exam.sitting.id)
    assert exam.attempt(0).id == exam.attempt(0).id  # created once


# ---------------------------------------------------------------- durable answers


def test_duplicate_and_stale_seqs_change_nothing_and_are_acked(session, exam):
    attempt = exam.started()
    t = T0 + 5 * MIN
    first = exam.answer(attempt, 1, 1, "A", t)
    assert first.acked and first.changes
    again = exam.answer(attempt, 1, 1, "A", t + MIN)
    assert again.acked and not again.changes and again.code == "duplicate"
    newer = exam.answer(attempt, 1, 3, "C", t + 2 * MIN)
    assert newer.changes
    stale = exam.answer(attempt, 1, 2, "B", t + 3 * MIN)
    assert stale.acked and not stale.changes and stale.code == "stale"
    assert stored(session, attempt) == {1: (3, "C")}
    # seq 1 was used for item 1: reusing it for item 2 is refused although item 1 moved on.
    reused = exam.answer(attempt, 2, 1, "D", t + 4 * MIN)
    assert not reused.acked and reused.code == "seq_conflict"
    assert count(session, ResponseLog) == 2
    assert stored(session, attempt) == {1: (3, "C")}
    # A malformed value for the item type is refused.
    bad = exam.answer(attempt, 1, 9, "E", t + 5 * MIN)
    assert not bad.acked and bad.code == "bad_value"


def test_answers_until_the_deadline_with_grace_count_and_later_ones_do_not(session, exam):
    attempt = exam.started()  # at T0+1: the deadline is still the room's, T0+90
    due = T0 + 90 * MIN
    received_at_deadline = exam.answer(attempt, 1, 1, "B", due - dt.timedelta(seconds=20), due)
    assert received_at_deadline.changes  # the deadline itself
    assert svc.expire_overdue(session, due + dt.timedelta(seconds=1)) == [attempt.id]
    # Journalled before the deadline, delivered within the 120 s grace after a reconnect.
    late_ok = exam.answer(attempt, 2, 2, "D", due - dt.timedelta(seconds=10), due + dt.timedelta(seconds=100))
    assert late_ok.changes
    # Journalled after the deadline: refused.
    after = exam.answer(attempt, 3, 3, "√", due + dt.timedelta(seconds=5), due + dt.timedelta(seconds=6))
    assert not after.acked and after.code == "time_up"
    # Journalled in time but delivered after the grace window: refused.
    too_late = exam.answer(attempt, 3, 4, "√", due - dt.timedelta(seconds=5), due + dt.timedelta(seconds=121))
    assert not too_late.acked
    assert stored(session, attempt) == {1: (1, "B"), 2: (2, "D")}


# ---------------------------------------------------------------- the candidate's view


def test_candidate_view_never_contains_a_key_and_keeps_the_order(session, exam):
    attempt = exam.started()
    exam.answer(attempt, 3, 1, "√", T0 + 3 * MIN)
    view = svc.candidate_view(session, exam.candidates[0], attempt.id, T0 + 4 * MIN)
    blob = json.dumps(view, ensure_ascii=False)
    for secret in ('"key"', "reference_answer", "scoring_points", "analysis", SECRET_KEY_TEXT, SECRET_ANALYSIS,
                   "答出隔离", '"score"'):
        assert secret not in blob
    assert view["status"] == "in_progress"
    assert view["remaining_seconds"] == 86 * 60  # until the room's end, T0+90
    assert view["answers"] == {"3": {"seq": 1, "value": "√"}}
    assert view["last_seq"] == 1
    positions = [i["position"] for i in view["items"]]
    assert positions == [k + 1 for k in shuffled_order(4, attempt.order_seed)]
    assert [i["number"] for i in view["items"]] == [1, 2, 3, 4]
    for item in view["items"]:
        assert item["stem_html"].startswith("<p>")
        if item["type"] == "single_choice":
            assert sorted(o["label"] for o in item["options"]) == ["A", "B", "C", "D"]
    again = svc.candidate_view(session, exam.candidates[0], attempt.id, T0 + 10 * MIN)
    assert [i["position"] for i in again["items"]] == positions
    assert [i.get("options") for i in again["items"]] == [i.get("options") for i in view["items"]]
    # Before the start the paper is not sent at all.
    waiting = svc.candidate_view(session, exam.candidates[1], exam.attempt(1).id, T0 + 10 * MIN)
    assert waiting["items"] == [] and waiting["status"] == "not_started"


# ---------------------------------------------------------------- the clock


def test_pause_and_extend_move_the_remaining_time(session, exam):
    attempt = exam.started()  # started at T0+1: the room's 90 minutes run until T0+90
    p = exam.proctor1

    def left(t):
        return svc.candidate_view(session, exam.candidates[0], attempt.id, t)["remaining_seconds"]

    assert left(T0 + 11 * MIN) == 79 * 60
    proctoring.pause(session, p, attempt.id, T0 + 11 * MIN)
    assert left(T0 + 31 * MIN) == 79 * 60  # frozen while paused
    refused = exam.answer(attempt, 1, 1, "B", T0 + 20 * MIN)
    assert not refused.acked and refused.code == "paused"
    proctoring.resume(session, p, attempt.id, T0 + 31 * MIN)
    assert left(T0 + 41 * MIN) == 69 * 60
    proctoring.extend(session, p, attempt.id, 5, "停电十分钟", T0 + 41 * MIN)
    assert left(T0 + 41 * MIN) == 74 * 60
    # The expiry job respects the moved deadline: 90 + 20 paused + 5 extended = T0+115.
    assert svc.expire_overdue(session, T0 + 115 * MIN) == []
    assert svc.expire_overdue(session, T0 + 117 * MIN) == [attempt.id]
    kinds = [e.kind for e in session.scalars(select(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id)
                                             .order_by(AttemptEvent.id))]
    assert kinds == ["open", "start", "pause", "resume", "extend", "expire"]
    actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.target_id == str(attempt.id),
                                                                  AuditEntry.target_type == "attempt")))
    assert {"attempt.pause", "attempt.resume", "attempt.extend", "attempt.expire"} <= actions
    # The candidate's own start is in the attempt's event log (above), not in the hash chain.
    assert "attempt.start" not in actions


def test_the_stored_state_round_trips_and_holds_no_deadline(session, exam):
    attempt = exam.started()
    proctoring.pause(session, exam.proctor1, attempt.id, T0 + 5 * MIN)
    proctoring.resume(session, exam.proctor1, attempt.id, T0 + 6 * MIN)
    proctoring.extend(session, exam.proctor1, attempt.id, 3, "设备故障", T0 + 7 * MIN)
    session.expire_all()
    state = svc.load_state(session.get(Attempt, attempt.id))
    assert svc.state_from_dict(svc.state_to_dict(state)) == state
    assert state.extension_minutes == 3 and len(state.pauses) == 1
    assert "deadline" not in session.get(Attempt, attempt.id).state_json


def test_expire_overdue_submits_with_no_browser(session, exam):
    attempt = exam.started()
    other = exam.started(1, at_=T0 + 10 * MIN)
    proctoring.extend(session, exam.proctor1, other.id, 5, "身体不适", T0 + 20 * MIN)
    assert svc.expire_overdue(session, T0 + 90 * MIN) == []
    assert svc.expire_overdue(session, T0 + 92 * MIN) == [attempt.id]
    session.expire_all()
    assert session.get(Attempt, attempt.id).status == "expired"
    assert session.get(Attempt, attempt.id).submitted_at is not None
    assert session.get(Attempt, other.id).status == "in_progress"
    assert svc.expire_overdue(session, T0 + 92 * MIN) == []
    with pytest.raises(AttemptError):
        svc.submit_attempt(session, exam.candidates[0], attempt.id, T0 + 93 * MIN)


def test_submit_respects_the_earliest_submit_rule(session, exam):
    attempt = exam.started()
    with pytest.raises(AttemptError, match="30 分钟内不得交卷"):
        svc.submit_attempt(session, exam.candidates[0], attempt.id, T0 + 10 * MIN)
    assert attempt.status == "in_progress"
    svc.submit_attempt(session, exam.candidates[0], attempt.id, T0 + 31 * MIN)
    assert attempt.status == "submitted"


# ---------------------------------------------------------------- scoring


def test_scoring_single_choice_and_true_false_leaves_examiner_items(session, exam):
    attempt = exam.started()
    t = T0 + 5 * MIN
    exam.answer(attempt, 1, 1, "B", t)  # right: 2
    exam.answer(attempt, 2, 2, "A", t)  # wrong: 0
    exam.answer(attempt, 3, 3, "对", t)  # right: 1
    exam.answer(attempt, 4, 4, "用绝缘和隔离的办法。", t)  # the examiner's
    with pytest.raises(Exception, match="尚未收卷"):
        svc.score_attempt(session, attempt.id)
    svc.submit_attempt(session, exam.candidates[0], attempt.id, T0 + 40 * MIN)
    result = svc.score_attempt(session, attempt.id)
    assert result["scores"] == {1: 2.0, 2: 0.0, 3: 1.0, 4: None}
    assert result["auto_total"] == 3.0 and result["pending"] == [4]
    assert attempt.score is None
    assert {r.position: r.score for r in attempt.responses} == {1: 2.0, 2: 0.0, 3: 1.0, 4: None}


def test_blank_examiner_items_score_zero_and_the_total_is_set(session, exam):
    attempt = exam.started()
    exam.answer(attempt, 1, 1, "B", T0 + 5 * MIN)
    svc.submit_attempt(session, exam.candidates[0], attempt.id, T0 + 40 * MIN)
    result = svc.score_attempt(session, attempt.id)
    assert result["scores"] == {1: 2.0, 2: 0.0, 3: 0.0, 4: 0.0}
    assert attempt.score == 2.0


# ---------------------------------------------------------------- proctors


def test_a_proctor_of_another_room_is_refused(session, exam):
    attempt = exam.started()
    stranger = exam.proctor2
    with pytest.raises(PermissionDenied):
        proctoring.pause(session, stranger, attempt.id, T0 + 5 * MIN)
    with pytest.raises(PermissionDenied):
        proctoring.extend(session, stranger, attempt.id, 5, "理由", T0 + 5 * MIN)
    with pytest.raises(PermissionDenied):
        proctoring.terminate(session, stranger, attempt.id, "作弊", 2, T0 + 5 * MIN)
    with pytest.raises(PermissionDenied):
        svc.open_room(session, stranger, exam.room1.id, T0)
    with pytest.raises(PermissionDenied):
        svc.log_event(session, stranger, attempt.id, "warn", {"text": "注意"}, T0 + 5 * MIN)
    with pytest.raises(PermissionDenied):  # a candidate is no proctor either
        proctoring.pause(session, exam.candidates[0], attempt.id, T0 + 5 * MIN)
    assert attempt.status == "in_progress"
    svc.log_event(session, exam.proctor1, attempt.id, "warn", {"text": "请勿交头接耳"}, T0 + 5 * MIN)
    svc.log_event(session, exam.candidates[0], attempt.id, "focus_loss", {}, T0 + 6 * MIN)
    proctoring.terminate(session, exam.proctor1, attempt.id, "携带手机作答", 3, T0 + 7 * MIN)
    assert attempt.status == "terminated"
    refused = exam.answer(attempt, 1, 1, "B", T0 + 8 * MIN)
    assert not refused.acked and refused.code == "terminated"
    with pytest.raises(AttemptError):  # a terminated attempt cannot be paused
        proctoring.pause(session, exam.proctor1, attempt.id, T0 + 9 * MIN)


def test_late_entry_is_refused(session, exam):
    svc.open_room(session, exam.proctor1, exam.room1.id, T0)
    attempt = exam.attempt(2)
    with pytest.raises(AttemptError, match="不得入场"):
        svc.start_attempt(session, exam.candidates[2], attempt.id, T0 + 16 * MIN)
    assert attempt.status == "not_started"


# ---------------------------------------------------------------- one clock for the room (issue 11 point 3)


def _room_rule(session, exam, from_late_opening):
    from foundation.settings import DEFAULT_RULES, set_rule

    set_rule(session, exam.world.centre, "room_rules",
             {**DEFAULT_RULES["room_rules"], "from_late_opening": from_late_opening})


@pytest.mark.parametrize("started_min", [1, 7, 14])
def test_a_late_starter_is_closed_with_the_room(session, exam, started_min):
    on_time = exam.started(0, at_=T0)
    late = exam.started(1, at_=T0 + started_min * MIN)
    assert svc.expire_overdue(session, T0 + 90 * MIN) == []
    assert sorted(svc.expire_overdue(session, T0 + 90 * MIN + dt.timedelta(seconds=1))) == sorted([on_time.id, late.id])


@pytest.mark.parametrize(("from_late_opening", "begin_min"), [(True, 5), (False, 0)])
def test_a_room_opened_late_follows_the_anchor_rule(session, exam, from_late_opening, begin_min):
    _room_rule(session, exam, from_late_opening)
    svc.open_room(session, exam.proctor1, exam.room1.id, T0 + 5 * MIN)
    first, last = exam.attempt(0), exam.attempt(1)
    svc.start_attempt(session, exam.candidates[0], first.id, T0 + 5 * MIN)
    # late entry from the room's start: its last instant is allowed, a second later is not
    with pytest.raises(AttemptError, match="开考 15 分钟后不得入场") as info:
        svc.start_attempt(session, exam.candidates[2], exam.attempt(2).id,
                          T0 + (begin_min + 15) * MIN + dt.timedelta(seconds=1))
    assert info.value.code == "late_entry"
    svc.start_attempt(session, exam.candidates[1], last.id, T0 + (begin_min + 15) * MIN)
    # earliest submit from the room's start, for both
    for k, a in ((0, first), (1, last)):
        with pytest.raises(AttemptError, match="开考 30 分钟内不得交卷") as info:
            svc.submit_attempt(session, exam.candidates[k], a.id, T0 + (begin_min + 30) * MIN - dt.timedelta(seconds=1))
        assert info.value.code == "early_submit"
    svc.submit_attempt(session, exam.candidates[1], last.id, T0 + (begin_min + 30) * MIN)
    # the same deadline for both
    view = svc.candidate_view(session, exam.candidates[0], first.id, T0 + 40 * MIN)
    assert view["begins_at"] == (T0 + begin_min * MIN).astimezone(dt.UTC).isoformat()
    assert view["remaining_seconds"] == (begin_min + 90 - 40) * 60
    assert svc.expire_overdue(session, T0 + (begin_min + 90) * MIN) == []
    assert svc.expire_overdue(session, T0 + (begin_min + 90) * MIN + dt.timedelta(seconds=1)) == [first.id]


def test_a_room_opened_early_waits_for_the_scheduled_start(session, exam):
    svc.open_room(session, exam.proctor1, exam.room1.id, T0 - 10 * MIN)
    attempt = exam.attempt(0)
    with pytest.raises(AttemptError, match="考试尚未开始") as info:
        svc.start_attempt(session, exam.candidates[0], attempt.id, T0 - MIN)
    assert info.value.code == "before_start"
    assert attempt.status == "not_started"
    svc.start_attempt(session, exam.candidates[0], attempt.id, T0)
    assert svc.remaining(session, attempt, T0) == 90 * 60


def test_answers_follow_the_room_deadline_for_a_late_starter(session, exam):
    late = exam.started(1, at_=T0 + 10 * MIN)
    due = T0 + 90 * MIN
    assert exam.answer(late, 1, 1, "B", due, due, k=1).changes  # the deadline itself
    after = exam.answer(late, 2, 2, "D", due + dt.timedelta(seconds=1), due + dt.timedelta(seconds=1), k=1)
    assert not after.acked and after.code == "time_up"


def test_the_room_record_counts_waiting_candidates_by_the_room_start(session, exam):
    pr = proctoring

    _room_rule(session, exam, False)
    svc.open_room(session, exam.proctor1, exam.room1.id, T0 + 5 * MIN)
    room = exam.room1
    attempts = list(session.scalars(select(Attempt).where(Attempt.room_id == room.id)))
    # nobody started: every waiting candidate may still enter until T0+15, none after
    assert pr._open_attempts(session, room, attempts, T0 + 15 * MIN) == len(attempts)
    assert pr._open_attempts(session, room, attempts, T0 + 16 * MIN) == 0
