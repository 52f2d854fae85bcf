"""Skill scoring: blind sheets until all have signed, the mean, the chief's reconciliation with
a reason, absences, avoidance, and the skill component result they produce."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from examroom import batches, stations
from foundation.audit import AuditEntry
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.roles import Role
from foundation.settings import set_rule
from grading.results import skill as svc
from grading.results.models import ComponentResult, ScoreSheet, SkillReconciliation
from tests.examroom.worlds import SkillDay, World, at
from tests.factories import make_user


@pytest.fixture
def day(session):
    return SkillDay(session)


def _sign(session, day, examiner, total, k=0):
    sheet = svc.open_sheet(session, examiner, day.sitting.id, day.registrations[k].id)
    return svc.sign_sheet(session, examiner, sheet.id, marks=day.full(total), notes={}, comment="")


def _result(session, day, k=0):
    return session.scalar(select(ComponentResult).where(ComponentResult.registration_id == day.registrations[k].id,
                                                        ComponentResult.component == "skill"))


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_the_mean_of_the_signed_sheets_becomes_the_skill_result(session, day):
    _sign(session, day, day.examiners[0], 80)
    result = _result(session, day)
    assert (result.state, result.score) == ("pending", None)
    _sign(session, day, day.examiners[1], 85)
    assert _result(session, day).state == "pending"  # a sheet is still outstanding
    _sign(session, day, day.examiners[2], 87.5)
    result = _result(session, day)
    # (80 + 85 + 87.5) / 3 = 84.1666… → 84.2 (half up, one decimal)
    assert (result.state, result.score, result.sat_on.isoformat()) == ("scored", Decimal("84.2"), "2026-10-16")
    assert result.person_id == day.registrations[0].person_id and result.exam_session_id == day.sitting.id


def test_an_examiner_cannot_read_another_examiners_draft_or_signed_sheet_before_all_have_signed(session, day):
    a, b, c = day.examiners
    draft = svc.open_sheet(session, a, day.sitting.id, day.registrations[0].id)
    svc.save_draft(session, a, draft.id, marks=day.marks("20", "", "", ""), notes={}, comment="", revision=1)
    signed = _sign(session, day, b, 70)
    for reader, sheet in ((b, draft), (a, signed), (c, draft), (c, signed), (day.chief, signed)):
        if reader.id == sheet.examiner_id:
            continue
        with pytest.raises(PermissionDenied, match="全部考评员签名之前"):
            svc.read_sheet(session, reader, sheet.id)
    for overseer in (day.world.admin, day.world.centre):
        with pytest.raises(PermissionDenied):
            svc.read_sheet(session, overseer, signed.id)
    assert svc.read_sheet(session, a, draft.id) is draft  # one's own, always
    svc.sign_sheet(session, a, draft.id, marks=day.full(75), notes={}, comment="")
    _sign(session, day, c, 72)
    assert svc.read_sheet(session, a, signed.id) is signed
    assert svc.read_sheet(session, day.world.admin, draft.id) is draft


def test_nobody_outside_the_sitting_reads_a_sheet_even_after_signing(session, day):
    for e in day.examiners:
        _sign(session, day, e, 70)
    sheet = session.scalar(select(ScoreSheet))
    stranger = make_user(session, Role.EXAMINER, institution=day.world.inst)
    other_admin = make_user(session, Role.INSTITUTION_ADMIN, institution=World(session).inst)
    for outsider in (stranger, other_admin):
        with pytest.raises(NotFound):
            svc.read_sheet(session, outsider, sheet.id)
    with pytest.raises(PermissionDenied):
        svc.open_sheet(session, stranger, day.sitting.id, day.registrations[0].id)


def test_a_spread_over_the_rule_waits_for_the_chief_whose_reason_is_required(session, day):
    _sign(session, day, day.examiners[0], 60)
    _sign(session, day, day.examiners[1], 72)
    _sign(session, day, day.examiners[2], 75)  # spread 15 > 10
    result = _result(session, day)
    assert result.state == "pending" and "待组长复核" in result.note
    before = (_count(session, SkillReconciliation), _count(session, AuditEntry))
    for reason in ("", "   \n"):
        with pytest.raises(ValidationError, match="书面理由"):
            svc.reconcile(session, day.chief, day.sitting.id, day.registrations[0].id, score="70", reason=reason)
    with pytest.raises(PermissionDenied, match="组长"):
        svc.reconcile(session, day.examiners[1], day.sitting.id, day.registrations[0].id, score="70", reason="复核")
    assert (_count(session, SkillReconciliation), _count(session, AuditEntry)) == before
    assert _result(session, day).state == "pending"
    svc.reconcile(session, day.chief, day.sitting.id, day.registrations[0].id, score="71.5",
                  reason="第 1 号考评员漏看了通电试车一次成功，复核后按实际操作评定。")
    result = _result(session, day)
    assert (result.state, result.score) == ("scored", Decimal("71.5")) and "复核" in result.note
    with pytest.raises(ValidationError, match="已经复核"):
        svc.reconcile(session, day.chief, day.sitting.id, day.registrations[0].id, score="70", reason="再次")


def test_the_spread_rule_is_configurable_and_a_small_spread_needs_no_reconciliation(session, day):
    set_rule(session, day.world.centre, "skill_reconcile_spread", 20)
    for e, total in zip(day.examiners, (60, 72, 75), strict=True):
        _sign(session, day, e, total)
    assert (_result(session, day).state, _result(session, day).score) == ("scored", Decimal("69"))
    with pytest.raises(ValidationError, match="无需复核"):
        svc.reconcile(session, day.chief, day.sitting.id, day.registrations[0].id, score="70", reason="无")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(score=st.one_of(st.sampled_from(["", "abc", "-1", "100.1", "70.25", "1e2", "NaN", "七十"]),
                       st.text(max_size=6).filter(lambda t: not t.strip().replace(".", "", 1).isdigit())))
def test_a_reconciled_score_must_be_0_to_100_with_one_decimal(session, day, score):
    if not _result(session, day) or _result(session, day).state != "pending" or not svc.sheets_of(
            session, day.sitting, day.registrations[0].id):
        for e, total in zip(day.examiners, (50, 70, 90), strict=True):
            _sign(session, day, e, total)
    with pytest.raises(ValidationError):
        svc.reconcile(session, day.chief, day.sitting.id, day.registrations[0].id, score=score, reason="复核")


def test_drafts_keep_the_newest_revision_and_signing_is_final(session, day):
    a = day.examiners[0]
    sheet = svc.open_sheet(session, a, day.sitting.id, day.registrations[0].id)
    assert svc.open_sheet(session, a, day.sitting.id, day.registrations[0].id) is sheet
    svc.save_draft(session, a, sheet.id, marks=day.marks("20", "21", "", ""), notes={}, comment="", revision=5)
    _, stored = svc.save_draft(session, a, sheet.id, marks=day.marks("1", "", "", ""), notes={}, comment="",
                               revision=3)  # replayed late from the browser's storage
    first, second = (str(c.id) for c in day.task.criteria[:2])
    assert not stored and sheet.revision == 5 and sheet.marks == {first: "20.0", second: "21.0"}
    with pytest.raises(ValidationError, match="每一项评分要素"):
        svc.sign_sheet(session, a, sheet.id, marks=day.marks("20", "21", "", ""), notes={}, comment="")
    with pytest.raises(ValidationError, match="0 到 25"):
        svc.save_draft(session, a, sheet.id, marks=day.marks("26", "", "", ""), notes={}, comment="", revision=6)
    svc.sign_sheet(session, a, sheet.id, marks=day.full(90), notes={}, comment="操作熟练")
    assert sheet.signed and sheet.total == Decimal("90")
    with pytest.raises(ValidationError, match="已签名"):
        svc.save_draft(session, a, sheet.id, marks=day.full(10), notes={}, comment="", revision=9)
    with pytest.raises(ValidationError, match="已签名"):
        svc.sign_sheet(session, a, sheet.id, marks=day.full(10), notes={}, comment="")


def test_an_absent_candidate_is_marked_absent_by_the_chief(session, day):
    with pytest.raises(PermissionDenied):
        svc.mark_absent(session, day.examiners[1], day.sitting.id, day.registrations[1].id)
    result = svc.mark_absent(session, day.chief, day.sitting.id, day.registrations[1].id)
    assert (result.state, result.score) == ("absent", None)
    with pytest.raises(ValidationError, match="缺考"):
        svc.open_sheet(session, day.examiners[1], day.sitting.id, day.registrations[1].id)
    _sign(session, day, day.examiners[0], 70)
    with pytest.raises(ValidationError, match="已有考评员签名"):
        svc.mark_absent(session, day.world.admin, day.sitting.id, day.registrations[0].id)


def test_avoidance_refuses_an_examiner_of_the_candidates_employer_and_changes_nothing(session):
    w = World(session)
    batch = w.batch()
    sitting = batches.add_session(session, w.admin, batch.id, module="skill",
                                  starts_at=at("2026-10-16", 14),
                                  duration_minutes=120, place="实训楼", skill_task_id=w.skill_task().id)
    people = w.people(Role.CANDIDATE, 2)
    regs = batches.add_candidates(session, w.admin, batch.id, [p.id for p in people])
    regs[1].work_unit = f" {w.inst.name}长春分公司"  # the examiners' institution's own branch
    examiner = w.people(Role.EXAMINER, 1)[0]
    batches.assign_staff(session, w.admin, batch.id, user_id=examiner.id, role="examiner")
    session.flush()
    before = _count(session, AuditEntry)
    with pytest.raises(ValidationError, match="须回避") as err:
        batches.assign_sitting_examiner(session, w.admin, sitting.id, user_id=examiner.id)
    assert people[1].name in err.value.message and examiner.name in err.value.message
    assert sitting.examiners == [] and _count(session, AuditEntry) == before
    regs[1].work_unit = "长春轨道客车股份有限公司"
    session.flush()
    batches.assign_sitting_examiner(session, w.admin, sitting.id, user_id=examiner.id)
    regs[0].work_unit = w.inst.name.replace("机构", "机构 ")  # same name, other spacing
    session.flush()
    with pytest.raises(ValidationError, match="须回避"):
        stations.assign_stations(session, w.admin, sitting.id)
    assert sitting.stations == []
    assert any("须回避" in p for p in batches.plan_problems(session, batch, dt.date(2026, 9, 28)))


def test_stations_and_the_chief_are_fixed_once_scoring_begins(session, day):
    svc.open_sheet(session, day.examiners[1], day.sitting.id, day.registrations[0].id)
    with pytest.raises(ValidationError, match="已开始评分"):
        stations.assign_stations(session, day.world.admin, day.sitting.id)
    with pytest.raises(ValidationError, match="已开始评分"):
        stations.set_chief(session, day.world.admin, day.sitting.id, day.examiners[1].id)
    assert [s.station_no for s in day.sitting.stations] == [1, 2]
