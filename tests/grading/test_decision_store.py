"""Stored level decisions (grading.results.decisions): deciding a batch into drafts, confirming
by name, new versions only with a reason once confirmed, nothing overwritten, everything
audited; re-checks within the working days of the release; another institution refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from foundation.accounts import User
from foundation.audit import AuditEntry
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.roles import Role
from grading.results import decisions as svc
from grading.results.decision import decide
from grading.results.decision_json import dump_decision, parse_case
from grading.results.models import ComponentResult as ResultRow
from grading.results.models import LevelDecision, RecheckRequest
from tests.factories import make_user
from tests.grading.results_worlds import ResultsWorld, day

TODAY = day("2026-09-29")


@pytest.fixture
def w(session):
    return ResultsWorld(session)


def _batch_of(w, n=3, scores=((80, 75), (90, 40), (70, 65))):
    batch = w.batch(w.a)
    regs = []
    for k in range(n):
        reg = w.register(batch, w.candidate(w.a))
        theory, skill = scores[k % len(scores)]
        w.result(reg, "theory", "2026-09-10", theory)
        w.result(reg, "skill", "2026-09-11", skill)
        regs.append(reg)
    return batch, regs


def _versions(session, reg):
    session.expire_all()
    return [(d.version, d.state, d.outcome) for d in session.scalars(
        select(LevelDecision).where(LevelDecision.registration_id == reg.id).order_by(LevelDecision.version))]


def _actions(session, prefix):
    return list(session.scalars(select(AuditEntry.action).where(AuditEntry.action.startswith(prefix))
                                .order_by(AuditEntry.seq)))


def test_deciding_a_batch_stores_drafts_with_reasons_inputs_and_fingerprint(session, w):
    batch, regs = _batch_of(w)
    report = svc.decide_batch(session, w.admin_a, batch.id, TODAY)
    assert [(r, v, o) for r, v, o in report.created] == [(regs[0].id, 1, "qualified"), (regs[1].id, 1, "resit"),
                                                         (regs[2].id, 1, "qualified")]
    row = session.scalar(select(LevelDecision).where(LevelDecision.registration_id == regs[1].id))
    assert (row.state, row.level, row.decided_on, row.decided_by_name) == ("draft", 4, TODAY, "张主任")
    assert row.resit_until == day("2027-09-09") and row.confirmed_at is None
    assert [r["code"] for r in row.reasons] == ["passed", "failed_resit_open", "resit"]
    case, _ = parse_case({**row.inputs, "today": TODAY.isoformat()})  # the stored input re-runs
    assert len(case.results) == 2 and len(row.fingerprint) == 64
    again = svc.decide_batch(session, w.admin_a, batch.id, TODAY)
    assert again.created == [] and again.unchanged == 3  # nothing changed: no new version
    assert _actions(session, "decision.") == ["decision.decide", "decision.decide"]


def test_registrations_with_equal_inputs_store_the_same_decision_each_as_the_engine_gives_it(session, w):
    batch, regs = _batch_of(w, 6)  # three score pairs, twice each: shared cases and decisions
    svc.decide_batch(session, w.admin_a, batch.id, TODAY)
    session.expire_all()
    stored = session.scalars(select(LevelDecision).where(LevelDecision.batch_id == batch.id))
    rows = {d.registration_id: d for d in stored}
    assert len(rows) == 6
    for reg in regs:
        row = rows[reg.id]
        case, today = parse_case({**row.inputs, "today": TODAY.isoformat()})
        assert row.reasons == dump_decision(decide(case, today))["reasons"]
        assert (row.person_id, row.registration_id) == (reg.person_id, reg.id)
    assert rows[regs[0].id].reasons == rows[regs[3].id].reasons != rows[regs[1].id].reasons
    assert rows[regs[1].id].fingerprint == rows[regs[4].id].fingerprint != rows[regs[2].id].fingerprint


def test_registrations_still_being_scored_wait(session, w):
    batch, regs = _batch_of(w, 1)
    scoring = w.register(batch, w.candidate(w.a))
    w.result(scoring, "theory", "2026-09-10", None, state="pending")
    report = svc.decide_batch(session, w.admin_a, batch.id, TODAY)
    assert [r for r, _, _ in report.created] == [regs[0].id]
    assert report.waiting == [(scoring.id, ("「理论知识考试」成绩尚未评定完毕。",))]
    assert _versions(session, scoring) == []


def test_confirmation_by_name_then_a_change_needs_a_reason_and_makes_a_new_version(session, w):
    batch, regs = _batch_of(w, 2)
    svc.decide_batch(session, w.admin_a, batch.id, TODAY)
    report = svc.confirm_batch(session, w.admin_a, batch.id, TODAY)
    assert report.confirmed == [(regs[0].id, 1), (regs[1].id, 1)] and report.stale == []
    first = svc.released_decision(session, regs[1].id)
    assert (first.state, first.confirmed_by_name, first.confirmed_by_id) == ("confirmed", "张主任", w.admin_a.id)
    # A corrected skill score (after a re-check, say): the confirmed decision's inputs changed.
    row = session.scalar(select(ResultRow).where(ResultRow.registration_id == regs[1].id,
                                                 ResultRow.component == "skill"))
    row.score = Decimal("62.5")
    session.flush()
    report = svc.decide_batch(session, w.admin_a, batch.id, TODAY)
    assert report.created == [] and report.needs_reason == [regs[1].id] and report.unchanged == 1
    with pytest.raises(ValidationError, match="须填写原因"):
        svc.redecide(session, w.admin_a, regs[1].id, TODAY, "  ")
    made = svc.redecide(session, w.admin_a, regs[1].id, TODAY, "复核后技能操作成绩更正为 62.5 分")
    assert (made.version, made.state, made.outcome, made.reason) == (2, "draft", "qualified",
                                                                     "复核后技能操作成绩更正为 62.5 分")
    assert _versions(session, regs[1]) == [(1, "confirmed", "resit"), (2, "draft", "qualified")]
    with pytest.raises(ValidationError, match="无需重新判定"):
        svc.redecide(session, w.admin_a, regs[1].id, TODAY, "再来一次")
    svc.confirm_decision(session, w.admin_a, made.id, TODAY)
    assert _versions(session, regs[1]) == [(1, "superseded", "resit"), (2, "confirmed", "qualified")]
    old = session.scalar(select(LevelDecision).where(LevelDecision.registration_id == regs[1].id,
                                                     LevelDecision.version == 1))
    assert old.superseded_at is not None and old.confirmed_by_name == "张主任"  # kept as it was
    assert [r["code"] for r in old.reasons] == ["passed", "failed_resit_open", "resit"]
    assert _actions(session, "decision.") == ["decision.decide", "decision.confirm", "decision.decide",
                                              "decision.decide", "decision.confirm"]


def test_a_draft_whose_inputs_changed_is_not_confirmed(session, w):
    batch, regs = _batch_of(w, 2)
    svc.decide_batch(session, w.admin_a, batch.id, TODAY)
    w.violation(regs[0], 4, "2026-09-11")  # referred to the centre after the draft was made
    draft = session.scalar(select(LevelDecision).where(LevelDecision.registration_id == regs[0].id))
    with pytest.raises(ValidationError, match="请先重新判定"):
        svc.confirm_decision(session, w.admin_a, draft.id, TODAY)
    report = svc.confirm_batch(session, w.admin_a, batch.id, TODAY)
    assert report.confirmed == [(regs[1].id, 1)] and report.stale == [regs[0].id]
    assert _versions(session, regs[0]) == [(1, "draft", "qualified")]
    svc.decide_batch(session, w.admin_a, batch.id, TODAY)  # no confirmed version yet: no reason needed
    assert _versions(session, regs[0]) == [(1, "superseded", "qualified"), (2, "draft", "held")]
    assert svc.confirm_batch(session, w.admin_a, batch.id, TODAY).confirmed == [(regs[0].id, 2)]
    with pytest.raises(ValidationError, match="没有待确认"):
        svc.confirm_batch(session, w.admin_a, batch.id, TODAY)


def test_the_database_keeps_one_draft_and_one_confirmed_version_per_registration(session, w):
    batch, regs = _batch_of(w, 1)
    svc.decide_batch(session, w.admin_a, batch.id, TODAY)
    row = session.scalar(select(LevelDecision))
    twin = LevelDecision(**{c.key: getattr(row, c.key) for c in LevelDecision.__table__.columns if c.key != "id"})
    twin.version = 2
    with session.begin_nested(), pytest.raises(IntegrityError):
        session.add(twin)
        session.flush()


def test_another_institution_can_neither_see_nor_decide_nor_confirm(session, w):
    batch, regs = _batch_of(w, 1)
    svc.decide_batch(session, w.admin_a, batch.id, TODAY)
    draft = session.scalar(select(LevelDecision))
    before = session.scalar(select(func.count()).select_from(AuditEntry))
    for call in (lambda: svc.readable_batch(session, w.admin_b, batch.id),
                 lambda: svc.decide_batch(session, w.admin_b, batch.id, TODAY),
                 lambda: svc.confirm_batch(session, w.admin_b, batch.id, TODAY),
                 lambda: svc.confirm_decision(session, w.admin_b, draft.id, TODAY),
                 lambda: svc.redecide(session, w.admin_b, regs[0].id, TODAY, "改一下"),
                 lambda: svc.decide_batch(session, w.centre, batch.id, TODAY)):
        with pytest.raises(PermissionDenied):
            call()
    assert svc.readable_batch(session, w.centre, batch.id) is batch  # the centre reads every batch
    assert _versions(session, regs[0]) == [(1, "draft", "qualified")]
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == before
    with pytest.raises(PermissionDenied):
        svc.readable_batch(session, make_user(session, Role.EXAMINER, institution=w.a), batch.id)
    with pytest.raises(NotFound):
        svc.readable_batch(session, w.admin_a, 999_999)


def test_deciding_a_batch_takes_the_same_queries_whatever_its_size(session, w):
    counts = []
    for n in (2, 12):
        batch, _ = _batch_of(w, n)
        session.expire_all()
        seen = []
        engine = session.get_bind().engine

        def listener(*args, seen=seen):
            seen.append(args[2])

        event.listen(engine, "before_cursor_execute", listener)
        try:
            report = svc.decide_batch(session, w.admin_a, batch.id, TODAY)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert len(report.created) == n
        counts.append(len(seen))
    assert counts[0] == counts[1], counts


# ---------------------------------------------------------------- re-checks (复核)


def _released(session, w, confirmed_at):
    batch, regs = _batch_of(w, 2)
    svc.decide_batch(session, w.admin_a, batch.id, TODAY)
    svc.confirm_batch(session, w.admin_a, batch.id, TODAY)
    for row in session.scalars(select(LevelDecision)):
        row.confirmed_at = confirmed_at
    session.flush()
    return batch, regs


def _candidate(session, reg):
    return session.get(User, reg.candidate_id)


def test_a_recheck_is_taken_within_5_working_days_of_the_release(session, w):
    # Released on Wednesday 30 September 2026 (Beijing); 1–7 October is the National Day holiday
    # and Saturday 10 October a make-up working day: the fifth working day is 13 October.
    batch, regs = _released(session, w, dt.datetime(2026, 9, 30, 2, 0, tzinfo=dt.UTC))
    assert svc.recheck_deadline(session, svc.released_decision(session, regs[0].id)) == day("2026-10-13")
    me = _candidate(session, regs[0])
    with pytest.raises(ValidationError, match="截止 2026年10月13日"):
        svc.request_recheck(session, me, regs[0].id, day("2026-10-14"), components=["skill"], details="技能分偏低")
    assert session.scalar(select(func.count()).select_from(RecheckRequest)) == 0
    request = svc.request_recheck(session, me, regs[0].id, day("2026-10-13"), components=["skill"],
                                  details="技能分偏低，请复核评分记录表")
    assert (request.state, request.components, request.batch_id) == ("open", ["skill"], batch.id)
    with pytest.raises(ValidationError, match="已对本次发布的结论申请过复核"):
        svc.request_recheck(session, me, regs[0].id, day("2026-10-13"), components=[], details="再问一次")
    with pytest.raises(PermissionDenied):
        svc.answer_recheck(session, w.admin_b, request.id, kind="maintained", answer="维持")
    with pytest.raises(ValidationError, match="书面答复"):
        svc.answer_recheck(session, w.admin_a, request.id, kind="maintained", answer=" ")
    svc.answer_recheck(session, w.admin_a, request.id, kind="maintained", answer="经核对评分记录表，成绩无误。")
    assert (request.state, request.answered_by_name) == ("answered", "张主任")
    assert _actions(session, "recheck.") == ["recheck.request", "recheck.answer"]


@pytest.mark.parametrize("when", [dt.datetime(2026, 9, 30, 15, 59, tzinfo=dt.UTC),  # 23:59 Beijing, 30 Sep
                                  dt.datetime(2026, 9, 30, 16, 0, tzinfo=dt.UTC)])  # 00:00 Beijing, 1 Oct
def test_the_release_day_is_the_beijing_day(session, w, when):
    batch, regs = _released(session, w, when)
    assert svc.recheck_deadline(session, svc.released_decision(session, regs[0].id)) == day("2026-10-13")


def test_a_recheck_needs_a_released_decision_of_ones_own(session, w):
    batch, regs = _batch_of(w, 2)
    svc.decide_batch(session, w.admin_a, batch.id, TODAY)
    me, other = _candidate(session, regs[0]), _candidate(session, regs[1])
    with pytest.raises(ValidationError, match="尚未发布"):
        svc.request_recheck(session, me, regs[0].id, TODAY, components=[], details="请复核")
    svc.confirm_batch(session, w.admin_a, batch.id, TODAY)
    with pytest.raises(NotFound):
        svc.request_recheck(session, other, regs[0].id, TODAY, components=[], details="请复核")
    with pytest.raises(PermissionDenied):
        svc.request_recheck(session, w.admin_a, regs[0].id, TODAY, components=[], details="请复核")
    with pytest.raises(ValidationError, match="理由"):
        svc.request_recheck(session, me, regs[0].id, TODAY, components=["theory"], details="")
    with pytest.raises(ValidationError, match="科目"):
        svc.request_recheck(session, me, regs[0].id, TODAY, components=["maths"], details="请复核")
    assert session.scalar(select(func.count()).select_from(RecheckRequest)) == 0


@pytest.fixture
def released(session, w):
    batch, regs = _released(session, w, dt.datetime(2026, 9, 30, 2, 0, tzinfo=dt.UTC))  # Wednesday, Beijing
    return regs[0]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offset=st.integers(min_value=0, max_value=45))
@example(offset=13)  # Tuesday 13 October: the last day
@example(offset=14)
def test_a_recheck_is_taken_exactly_until_the_fifth_working_day(session, released, offset):
    """Every day from the release to 45 days later: accepted up to 13 October 2026 (five working
    days, the National Day holiday not counted, the make-up Saturday counted), refused after."""
    today = day("2026-09-30") + dt.timedelta(days=offset)
    me = _candidate(session, released)
    nested = session.begin_nested()
    try:
        if today <= day("2026-10-13"):
            assert svc.request_recheck(session, me, released.id, today, components=[], details="请复核").id
        else:
            with pytest.raises(ValidationError, match="已超过期限"):
                svc.request_recheck(session, me, released.id, today, components=[], details="请复核")
    finally:
        nested.rollback()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blank=st.text(alphabet=" \t\r\n\u3000\u00a0", max_size=8))
def test_a_blank_reason_or_recheck_text_is_refused(session, w, released, blank):
    me = _candidate(session, released)
    with pytest.raises(ValidationError, match="理由"):
        svc.request_recheck(session, me, released.id, day("2026-10-08"), components=[], details=blank)
    session.get(ResultRow, session.scalar(select(ResultRow.id).where(ResultRow.registration_id == released.id))
                ).score = Decimal("59")
    session.flush()
    with pytest.raises(ValidationError, match="须填写原因"):
        svc.redecide(session, w.admin_a, released.id, TODAY, blank)
    assert session.scalar(select(func.count()).select_from(RecheckRequest)) == 0
