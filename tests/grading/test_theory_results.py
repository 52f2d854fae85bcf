"""Theory results in the live flow: a closing attempt (submitted, expired, terminated) becomes
its registration's theory component result, scaled to 100; candidates who never started are
recorded absent; a failure to score never loses the close."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from examroom import attempts, proctoring
from examroom.models import BatchCandidate, Response
from foundation.audit import AuditEntry
from foundation.errors import NotFound, PermissionDenied, ValidationError
from grading.results import records
from grading.results.models import ComponentResult, ComponentResultChange
from grading.results.theory import record_absences, rescore
from tests.examroom.worlds import MIN, T0, Exam


@pytest.fixture
def exam(session):
    return Exam(session)  # a 10-point paper: 2 + 2 + 1 auto-scored, a 5-point short answer


def result_of(session, attempt) -> ComponentResult | None:
    return session.scalar(select(ComponentResult).where(ComponentResult.attempt_id == attempt.id))


def registration(session, exam, k=0) -> BatchCandidate:
    return session.scalar(select(BatchCandidate).where(BatchCandidate.batch_id == exam.batch.id,
                                                       BatchCandidate.candidate_id == exam.candidates[k].id))


def answer_auto_items(exam, attempt, *, k=0, right=(True, True, True)):
    t = T0 + 5 * MIN
    exam.answer(attempt, 1, 1, "B" if right[0] else "A", t, k=k)
    exam.answer(attempt, 2, 2, "D" if right[1] else "A", t, k=k)
    exam.answer(attempt, 3, 3, "√" if right[2] else "×", t, k=k)


def test_a_submitted_attempt_becomes_the_registrations_theory_result_scaled_to_100(session, exam):
    attempt = exam.started()
    answer_auto_items(exam, attempt, right=(True, False, True))  # 2 + 0 + 1; the short answer left blank
    attempts.submit_attempt(session, exam.candidates[0], attempt.id, T0 + 40 * MIN)
    result = result_of(session, attempt)
    reg = registration(session, exam)
    assert (result.registration_id, result.person_id) == (reg.id, reg.person_id)
    assert (result.component, result.exam_session_id, result.sat_on) == ("theory", exam.sitting.id,
                                                                          dt.date(2026, 10, 16))
    assert result.state == result.base_state == "scored"
    assert (result.raw_score, result.raw_max, result.score) == (Decimal(3), Decimal(10), Decimal(30))
    assert attempt.score == 3.0
    change = session.scalar(select(ComponentResultChange).where(ComponentResultChange.result_id == result.id))
    assert (change.version, change.state, change.score, change.actor_name) == (1, "scored", Decimal(30), "系统")
    assert "交卷" in change.reason


def test_blank_papers_score_zero(session, exam):
    attempt = exam.started()
    attempts.submit_attempt(session, exam.candidates[0], attempt.id, T0 + 40 * MIN)
    result = result_of(session, attempt)
    assert (result.state, result.score, result.raw_score) == ("scored", Decimal(0), Decimal(0))


def test_an_expired_attempt_is_scored_when_the_time_up_job_collects_it(session, exam):
    attempt = exam.started()
    answer_auto_items(exam, attempt)  # 5 of 10
    assert attempts.expire_attempts(session, [attempt.id], T0 + 200 * MIN) == [attempt.id]
    result = result_of(session, attempt)
    assert attempt.status == "expired"
    assert (result.state, result.score) == ("scored", Decimal(50))


def test_a_terminated_attempt_is_scored_on_what_was_answered(session, exam):
    attempt = exam.started()
    answer_auto_items(exam, attempt, right=(True, True, False))  # 4 of 10
    proctoring.terminate(session, exam.proctor1, attempt.id, "夹带资料", 2, T0 + 20 * MIN)
    assert attempt.status == "terminated"
    result = result_of(session, attempt)
    assert (result.raw_score, result.score) == (Decimal(4), Decimal(40))
    change = session.scalar(select(ComponentResultChange).where(ComponentResultChange.result_id == result.id))
    assert "终止" in change.reason


def test_examiner_items_leave_the_result_pending_with_an_anonymous_marking_code(session, exam):
    attempt = exam.started()
    answer_auto_items(exam, attempt)
    exam.answer(attempt, 4, 4, "采用绝缘、屏护和间距。", T0 + 6 * MIN)
    attempts.submit_attempt(session, exam.candidates[0], attempt.id, T0 + 40 * MIN)
    result = result_of(session, attempt)
    assert (result.state, result.score, result.raw_score, result.raw_max) == ("pending", None, Decimal(5),
                                                                              Decimal(10))
    assert "1 道主观题待阅卷" in result.note
    code = result.marking_code
    assert code and len(code) == 8
    ticket = registration(session, exam).ticket_no
    assert code not in ticket and str(attempt.id) != code and exam.candidates[0].name not in code
    assert attempt.score is None


def test_each_candidate_gets_a_distinct_marking_code(session, exam):
    codes = set()
    for k in range(4):
        attempt = exam.started(k)
        exam.answer(attempt, 4, 1, f"答案{k}", T0 + 6 * MIN, k=k)
        attempts.submit_attempt(session, exam.candidates[k], attempt.id, T0 + 40 * MIN)
        codes.add(result_of(session, attempt).marking_code)
    assert len(codes) == 4


def test_a_scoring_failure_keeps_the_close_and_records_a_pending_result_with_a_note(session, exam):
    attempt = exam.started()
    answer_auto_items(exam, attempt)
    session.execute(update(Response).where(Response.attempt_id == attempt.id, Response.position == 1)
                    .values(value_json="{not json"))
    attempts.submit_attempt(session, exam.candidates[0], attempt.id, T0 + 40 * MIN)
    assert attempt.status == "submitted"
    result = result_of(session, attempt)
    assert (result.state, result.score) == ("pending", None)
    assert "自动评分失败" in result.note
    # The scoring's own writes were rolled back with its savepoint: no response was half-scored.
    scores = session.scalars(select(Response.score).where(Response.attempt_id == attempt.id)).all()
    assert set(scores) == {None}


def test_the_centre_scores_an_attempt_again_after_a_failure(session, exam, runner):
    attempt = exam.started()
    answer_auto_items(exam, attempt)
    good = session.scalar(select(Response.value_json).where(Response.attempt_id == attempt.id,
                                                            Response.position == 1))
    session.execute(update(Response).where(Response.attempt_id == attempt.id, Response.position == 1)
                    .values(value_json="{not json"))
    attempts.submit_attempt(session, exam.candidates[0], attempt.id, T0 + 40 * MIN)
    with pytest.raises(PermissionDenied):
        rescore(session, exam.world.admin, attempt.id)
    with pytest.raises(NotFound):
        rescore(session, exam.world.centre, 999_999)
    with pytest.raises(ValidationError, match="尚未收卷"):
        rescore(session, exam.world.centre, exam.attempt(1).id)
    assert result_of(session, attempt).version == 1
    session.execute(update(Response).where(Response.attempt_id == attempt.id, Response.position == 1)
                    .values(value_json=good))  # the stored answer repaired
    session.flush()
    out = runner.invoke(args=["grading", "rescore-theory", str(attempt.id), "--as", exam.world.centre.username])
    assert out.exit_code == 0, out.output
    assert "已评分，50 分（第 2 版）" in out.output
    result = result_of(session, attempt)
    session.refresh(result)
    assert (result.state, result.score, result.note) == ("scored", Decimal(50), "")
    last = session.scalar(select(ComponentResultChange).where(ComponentResultChange.result_id == result.id,
                                                              ComponentResultChange.version == 2))
    assert last.actor_id == exam.world.centre.id and last.reason == "省中心重新评分"
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "component_result.rescore")) is not None


def test_a_closed_attempt_without_a_registration_is_audited_not_raised(session, exam):
    attempt = exam.started()
    session.delete(registration(session, exam))
    session.flush()
    attempts.submit_attempt(session, exam.candidates[0], attempt.id, T0 + 40 * MIN)
    assert attempt.status == "submitted"
    assert result_of(session, attempt) is None
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "component_result.unmatched"))
    assert entry is not None and entry.target_id == str(attempt.id)


def test_scoring_again_makes_no_new_version(session, exam):
    attempt = exam.started()
    answer_auto_items(exam, attempt)
    attempts.submit_attempt(session, exam.candidates[0], attempt.id, T0 + 40 * MIN)
    result = result_of(session, attempt)
    attempts.score_attempt(session, attempt.id)
    assert records.change(session, result, reason="重算", base_state="scored", score=Decimal("50.0"),
                          raw_score=5, raw_max=10, note="") is False
    assert result.version == 1


# ---------------------------------------------------------------- absences


def test_candidates_who_never_started_are_recorded_absent_once_nobody_can_start(session, exam):
    attempt = exam.started(0)  # answering: not absent
    waiting = exam.attempt(1)  # has an attempt but never started
    attempts.arrive_attempt(session, exam.candidates[1], waiting.id, T0)
    # Cutoff: the latest opening (60 minutes after the start) plus late entry (15).
    assert record_absences(session, T0 + 74 * MIN) == []
    created = record_absences(session, T0 + 76 * MIN)
    results = session.scalars(select(ComponentResult).where(ComponentResult.id.in_(created))).all()
    absent = {r.registration_id for r in results}
    assert absent == {registration(session, exam, k).id for k in (1, 2, 3)}
    assert {r.state for r in results} == {"absent"} and {r.score for r in results} == {None}
    assert {r.sat_on for r in results} == {dt.date(2026, 10, 16)}
    assert next(r for r in results if r.registration_id == registration(session, exam, 1).id).attempt_id == waiting.id
    assert result_of(session, attempt) is None
    assert record_absences(session, T0 + 90 * MIN) == []  # once
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "component_result.absent"))
    assert entry.target_id == str(exam.sitting.id)


def test_absences_come_after_a_late_close_is_scored_not_instead(session, exam):
    started = exam.started(0)
    attempts.expire_attempts(session, [started.id], T0 + 200 * MIN)
    record_absences(session, T0 + 200 * MIN)
    states = dict(session.execute(select(ComponentResult.registration_id, ComponentResult.state).where(
        ComponentResult.exam_session_id == exam.sitting.id)).all())
    assert states[registration(session, exam, 0).id] == "scored"
    assert sorted(states.values()) == ["absent", "absent", "absent", "scored"]


def test_the_time_up_job_closes_then_records_absences(app, session, exam, monkeypatch):
    from web.sockets import timeup

    attempt = exam.started(0)
    session.flush()
    monkeypatch.setattr(timeup, "utcnow", lambda: T0 + 200 * MIN)
    assert timeup.run_once(app) == [attempt.id]
    session.expire_all()
    counts = dict(session.execute(select(ComponentResult.state, func.count()).where(
        ComponentResult.exam_session_id == exam.sitting.id).group_by(ComponentResult.state)).all())
    assert counts == {"scored": 1, "absent": 3}


# ---------------------------------------------------------------- scaling


@given(st.integers(min_value=1, max_value=20000), st.data())
def test_scaling_to_100_is_half_up_to_one_decimal_and_bounded(raw_max_halves, data):
    raw_max = Decimal(raw_max_halves) / 2
    raw = Decimal(data.draw(st.integers(min_value=0, max_value=raw_max_halves))) / 2
    scaled = records.scale_to_100(raw, raw_max)
    assert Decimal(0) <= scaled <= Decimal(100)
    assert scaled == scaled.quantize(Decimal("0.1"))
    assert scaled == (raw * 100 / raw_max).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if raw == raw_max:
        assert scaled == 100


def test_a_paper_of_100_keeps_its_raw_score_and_half_points_round_half_up():
    assert records.scale_to_100(Decimal("72.5"), 100) == Decimal("72.5")
    assert records.scale_to_100(Decimal("59.95"), 100) == Decimal("60.0")
    assert records.scale_to_100(119, 200) == Decimal("59.5")
