"""Violations written by proctors and what results make of them: tiers 1–2 void that sitting's
component result, tier 3 voids every result of the registration (later ones too) and bars the
person from any batch for the rest of the calendar year, tier 4 holds the results until the
centre releases the hold with a reason. Nothing else changes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from examroom import attempts, batches, proctoring
from examroom import candidate_import as imp
from examroom.models import AttemptEvent, BatchCandidate, Violation
from foundation.audit import AuditEntry
from foundation.calendar import beijing_date
from foundation.db import utcnow
from foundation.errors import NotFound, PermissionDenied, RowErrors, ValidationError
from grading.results import records
from grading.results.models import ComponentResult, ComponentResultChange
from grading.results.violations import MAX_RELEASE_REASON, release_hold
from tests.examroom.worlds import MIN, T0, Exam, gender, xlsx

DAY = dt.date(2026, 10, 16)


@pytest.fixture
def exam(session):
    return Exam(session)


def reg(session, exam, k=0) -> BatchCandidate:
    return session.scalar(select(BatchCandidate).where(BatchCandidate.batch_id == exam.batch.id,
                                                       BatchCandidate.candidate_id == exam.candidates[k].id))


def theory(session, exam, k=0) -> ComponentResult | None:
    return session.scalar(select(ComponentResult).where(ComponentResult.registration_id == reg(session, exam, k).id,
                                                        ComponentResult.component == "theory"))


def submit(session, exam, k, answers=("B", "D", "√")):
    attempt = exam.started(k)
    for position, value in enumerate(answers, start=1):
        exam.answer(attempt, position, position, value, T0 + 5 * MIN, k=k)
    attempts.submit_attempt(session, exam.candidates[k], attempt.id, T0 + 40 * MIN)
    return attempt


def skill_result(session, exam, k=0, score=80):
    r = reg(session, exam, k)
    return records.create(session, registration_id=r.id, person_id=r.person_id, component="skill",
                          sat_on=dt.date(2026, 10, 17), base_state="scored", score=score, reason="技能考核评分")


def versions(session, result):
    return session.scalars(select(ComponentResultChange).where(ComponentResultChange.result_id == result.id)
                           .order_by(ComponentResultChange.version)).all()


def snapshot(session, exam, skip=()):
    """Every result's (registration, component, state, score) and every attempt's status, but ``skip``'s."""
    rows = session.execute(select(ComponentResult.registration_id, ComponentResult.component, ComponentResult.state,
                                  ComponentResult.score).order_by(ComponentResult.id)).all()
    skipped = {reg(session, exam, k).id for k in skip}
    return [tuple(r) for r in rows if r[0] not in skipped]


# ---------------------------------------------------------------- the rows proctors write


def test_terminating_writes_a_violation_and_voids_the_theory_result(session, exam):
    for k in (1, 2):
        submit(session, exam, k)
    before = snapshot(session, exam)
    attempt = exam.started(0)
    exam.answer(attempt, 1, 1, "B", T0 + 5 * MIN)
    proctoring.terminate(session, exam.proctor1, attempt.id, "使用手机查阅答案", 2, T0 + 20 * MIN)
    violation = session.scalar(select(Violation).where(Violation.attempt_id == attempt.id))
    event = session.scalar(select(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id,
                                                      AttemptEvent.kind == "terminate"))
    assert (violation.registration_id, violation.person_id, violation.tier, violation.component) == (
        reg(session, exam).id, reg(session, exam).person_id, 2, "theory")
    assert (violation.occurred_on, violation.exam_session_id, violation.attempt_event_id) == (
        DAY, exam.sitting.id, event.id)
    assert violation.recorded_by_id == exam.proctor1.id and violation.description == "使用手机查阅答案"
    result = theory(session, exam)
    assert (result.state, result.base_state, result.score) == ("void", "scored", Decimal(20))  # the score is kept
    kept = versions(session, result)
    assert [(v.version, v.state) for v in kept] == [(1, "scored"), (2, "void")]
    assert "二级违纪" in kept[1].reason and kept[1].actor_id == exam.proctor1.id
    assert snapshot(session, exam, skip=(0,)) == before  # nobody else's results changed


def test_an_incident_before_the_close_makes_the_result_void_when_it_is_recorded(session, exam):
    attempt = exam.started(0)
    proctoring.record_incident(session, exam.proctor1, attempt.id, 1, "交头接耳，警告后仍不改正", T0 + 10 * MIN)
    assert attempt.status == "in_progress"  # an incident does not end the exam
    attempts.submit_attempt(session, exam.candidates[0], attempt.id, T0 + 40 * MIN)
    result = theory(session, exam)
    assert result.state == "void" and result.version == 1


def test_a_theory_violation_of_tier_1_or_2_leaves_the_other_components_alone(session, exam):
    skill = skill_result(session, exam)
    attempt = submit(session, exam, 0)
    proctoring.record_incident(session, exam.proctor1, attempt.id, 2, "夹带", T0 + 41 * MIN)
    assert theory(session, exam).state == "void"
    assert (skill.state, skill.version) == ("scored", 1)


def test_tier_3_voids_every_result_of_the_registration_including_later_ones(session, exam):
    submit(session, exam, 1)
    before = snapshot(session, exam)
    attempt = submit(session, exam, 0)
    proctoring.record_incident(session, exam.proctor1, attempt.id, 3, "组织作弊", T0 + 41 * MIN)
    assert theory(session, exam).state == "void"
    later = skill_result(session, exam)  # recorded after the violation: born void
    assert later.state == "void" and later.base_state == "scored"
    assert snapshot(session, exam, skip=(0,)) == before


# ---------------------------------------------------------------- the yearly bar


def barred_person(session, exam, *, occurred_on: dt.date):
    attempt = submit(session, exam, 0)
    proctoring.record_incident(session, exam.proctor1, attempt.id, 3, "替考", T0 + 41 * MIN)
    violation = session.scalar(select(Violation).where(Violation.attempt_id == attempt.id))
    violation.occurred_on = occurred_on  # the bar counts from the violation's day to 31 December
    session.flush()
    return exam.candidates[0]


def registrations(session):
    return session.scalar(select(func.count()).select_from(BatchCandidate))


def test_a_tier_3_violation_bars_the_person_from_any_batch_for_the_rest_of_the_year(session, exam):
    today = beijing_date(utcnow())
    person = barred_person(session, exam, occurred_on=today)
    other = exam.world.batch()
    n = registrations(session)
    with pytest.raises(ValidationError) as refused:
        batches.add_candidates(session, exam.world.admin, other.id, [person.id])
    message = refused.value.message
    assert f"{today.year}年{today.month}月{today.day}日" in message and f"{today.year}年12月31日" in message
    assert person.name in message and "三级违纪" in message
    assert registrations(session) == n


def test_the_roster_import_and_the_form_refuse_a_barred_person_too(session, exam):
    today = beijing_date(utcnow())
    person = barred_person(session, exam, occurred_on=today)
    other = exam.world.batch()
    n = registrations(session)
    number = person.id_number
    with pytest.raises(RowErrors) as refused:
        imp.import_candidates(session, exam.world.admin, other.id,
                              xlsx([[person.name, number, gender(number), "13800000001", "长春机械厂"]]))
    assert any("三级违纪" in message and f"{today.year}年12月31日" in message for _, _, message in refused.value.errors)
    with pytest.raises(ValidationError, match="三级违纪"):
        imp.add_candidate(session, exam.world.admin, other.id, name=person.name, id_number=number,
                          phone="13800000001")
    assert registrations(session) == n


def test_a_violation_of_an_earlier_year_no_longer_bars(session, exam):
    today = beijing_date(utcnow())
    person = barred_person(session, exam, occurred_on=dt.date(today.year - 1, 12, 31))
    other = exam.world.batch()
    added = batches.add_candidates(session, exam.world.admin, other.id, [person.id])
    assert [r.candidate_id for r in added] == [person.id]


def test_tiers_1_2_and_4_do_not_bar(session, exam):
    attempt = submit(session, exam, 0)
    for tier in (1, 2, 4):
        proctoring.record_incident(session, exam.proctor1, attempt.id, tier, f"{tier} 级", T0 + 41 * MIN)
    session.execute(Violation.__table__.update().values(occurred_on=beijing_date(utcnow())))
    other = exam.world.batch()
    assert len(batches.add_candidates(session, exam.world.admin, other.id, [exam.candidates[0].id])) == 1


# ---------------------------------------------------------------- tier 4: holds and their release


def held(session, exam):
    attempt = submit(session, exam, 0)
    proctoring.record_incident(session, exam.proctor1, attempt.id, 4, "涉嫌使用作弊器材，移交公安机关", T0 + 41 * MIN)
    return session.scalar(select(Violation).where(Violation.attempt_id == attempt.id))


def test_tier_4_holds_the_results_until_the_centre_releases_them_with_a_reason(session, exam):
    violation = held(session, exam)
    result = theory(session, exam)
    assert (result.state, result.score) == ("held", Decimal(50))
    later = skill_result(session, exam)
    assert later.state == "held"
    centre = exam.world.centre
    release_hold(session, centre, violation.id, "  公安机关已结案，未认定作弊。 ", T0 + 3 * 24 * 60 * MIN)
    assert (violation.released_by_id, violation.release_reason) == (centre.id, "公安机关已结案，未认定作弊。")
    assert violation.released_at is not None
    assert (result.state, later.state) == ("scored", "scored")
    last = versions(session, result)[-1]
    assert (last.state, last.actor_id) == ("scored", centre.id) and "解除暂缓" in last.reason
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "violation.release"))
    assert entry.target_id == str(violation.id) and entry.actor_id == centre.id


def test_a_hold_over_a_tier_3_void_shows_void_once_released(session, exam):
    violation = held(session, exam)
    proctoring.record_incident(session, exam.proctor1, theory(session, exam).attempt_id, 3, "替考",
                               T0 + 42 * MIN)
    assert theory(session, exam).state == "held"
    release_hold(session, exam.world.centre, violation.id, "移交结论已收到", T0 + 60 * MIN)
    assert theory(session, exam).state == "void"


def _release_counts(session):
    return (session.scalar(select(func.count()).select_from(ComponentResultChange)),
            session.scalar(select(func.count()).select_from(AuditEntry)),
            session.scalar(select(func.count()).select_from(Violation).where(Violation.released_at.is_not(None))))


def test_releasing_is_the_centres_and_only_for_holds_in_force(session, exam):
    violation = held(session, exam)
    proctoring.record_incident(session, exam.proctor1, violation.attempt_id, 2, "夹带", T0 + 42 * MIN)
    tier_2 = session.scalar(select(Violation).where(Violation.tier == 2))
    before = _release_counts(session)
    with pytest.raises(PermissionDenied):
        release_hold(session, exam.world.admin, violation.id, "理由")
    with pytest.raises(NotFound):
        release_hold(session, exam.world.centre, 999_999, "理由")
    with pytest.raises(NotFound):
        release_hold(session, exam.world.centre, True, "理由")
    with pytest.raises(ValidationError, match="二级违纪"):
        release_hold(session, exam.world.centre, tier_2.id, "理由")
    assert _release_counts(session) == before
    release_hold(session, exam.world.centre, violation.id, "已处理")
    with pytest.raises(ValidationError, match="不能重复解除"):
        release_hold(session, exam.world.centre, violation.id, "再次解除")


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reason=st.one_of(
    st.text(alphabet=" \t\n\u3000", max_size=5),
    st.text(min_size=MAX_RELEASE_REASON + 1, max_size=MAX_RELEASE_REASON + 40).filter(
        lambda t: len(t.strip()) > MAX_RELEASE_REASON),
    st.none(), st.integers(), st.lists(st.text(), max_size=2)))
def test_a_release_without_a_usable_reason_is_refused_and_writes_nothing(session, exam, reason):
    violation = session.scalar(select(Violation).where(Violation.tier == 4)) or held(session, exam)
    before = _release_counts(session)
    with pytest.raises(ValidationError) as refused:
        release_hold(session, exam.world.centre, violation.id, reason)
    assert refused.value.field == "reason" and "理由" in refused.value.message
    assert _release_counts(session) == before and violation.released_at is None
    assert theory(session, exam).state == "held"


# ---------------------------------------------------------------- the centre's page


def test_the_centre_sees_the_holds_and_releases_one_on_the_page(session, client, login, exam):
    violation = held(session, exam)
    login(exam.world.centre)
    page = client.get("/holds/").get_data(as_text=True)
    assert exam.candidates[0].name in page and "暂缓中" in page and "涉嫌使用作弊器材" in page
    refused = client.post(f"/holds/{violation.id}/release", data={"reason": "  "}, follow_redirects=True)
    assert "请填写解除暂缓的理由" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(Violation, violation.id).released_at is None
    done = client.post(f"/holds/{violation.id}/release", data={"reason": "已结案"}, follow_redirects=True)
    assert "已解除暂缓" in done.get_data(as_text=True)
    session.expire_all()
    assert session.get(Violation, violation.id).release_reason == "已结案"
    assert theory(session, exam).state == "scored"


def test_an_institution_admin_cannot_release_a_hold(session, client, login, exam):
    violation = held(session, exam)
    login(exam.world.admin)
    assert client.get("/holds/").status_code == 403
    assert client.post(f"/holds/{violation.id}/release", data={"reason": "自行解除"}).status_code == 403
    session.expire_all()
    assert session.get(Violation, violation.id).released_at is None
