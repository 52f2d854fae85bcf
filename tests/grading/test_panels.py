"""Panels (评审专家组): members score alone, the chair's minutes, the mean written as the
component result, the 综合评审 gate, sub-items; and what the decision engine makes of it."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from foundation.errors import DomainError, NotFound, PermissionDenied, ValidationError
from foundation.settings import set_rule
from grading.results import dossiers, panels
from grading.results.decision import Case, Component, Method, Outcome, Scheme, decide
from grading.results.decision import ComponentResult as EngineResult
from grading.results.models import ComponentResult, PanelMinutes, PanelScore
from tests.grading.panel_worlds import (
    TODAY,
    PanelWorld,
    PerformanceWorld,
    add_result,
    complete,
    pass_theory_and_skill,
    png_bytes,
)

TENTH = Decimal("0.1")


@pytest.fixture(scope="module")
def pw(module_session):
    """Built once for the module; each test runs in a savepoint of it (tests/conftest.py)."""
    return PanelWorld(module_session)


def counts(session) -> tuple[int, int, int]:
    return tuple(session.scalar(select(func.count()).select_from(m)) for m in (PanelScore, PanelMinutes,
                                                                                ComponentResult))


def ready(session, pw, reg=None):
    reg = reg or pw.regs[0]
    pass_theory_and_skill(session, reg)
    complete(session, pw.admin, reg)
    return reg


def minutes(session, pw, reg, *, component="review", duration=45, held_on=TODAY):
    return panels.record_minutes(session, pw.chair, reg.id, component, held_on=held_on, place="答辩室",
                                 duration_minutes=duration, record="考生陈述 20 分钟，专家提问 5 个，回答正确。",
                                 today=TODAY)


def test_the_mean_of_the_members_becomes_the_review_result(session, pw):
    reg = ready(session, pw)
    for member, value in zip(pw.members, ("70", "81", "85.5"), strict=True):
        panels.score_review(session, member, reg.id, "review", score=value, today=TODAY)
    minutes(session, pw, reg)
    result = panels.finalise(session, pw.chair, reg.id, "review", today=TODAY)
    assert result.score == Decimal("78.8")  # 236.5 / 3 = 78.83…
    assert (result.state, result.component, result.sat_on, result.person_id) == ("scored", "review", TODAY,
                                                                                  reg.person_id)
    review_sitting = pw.batch.module("review").sessions[0]
    assert result.exam_session_id == review_sitting.id  # the minutes' day is the 综合评审 sitting's
    # The engine reads it with the theory and skill passes: 二级/技师 合格.
    rows = session.scalars(select(ComponentResult).where(ComponentResult.registration_id == reg.id))
    case = Case(scheme=Scheme(level=2, method=Method.ASSESSMENT), results=tuple(
        EngineResult(component=Component(r.component), sat_on=r.sat_on, score=Decimal(r.score).quantize(TENTH))
        for r in rows))
    decision = decide(case, TODAY)
    assert decision.outcome is Outcome.QUALIFIED
    assert any(r.code == "passed" and r.component is Component.REVIEW and r.score == Decimal("78.8")
               for r in decision.reasons)
    # Nothing of the review changes afterwards.
    for attempt in (lambda: panels.score_review(session, pw.members[1], reg.id, "review", score="90", today=TODAY),
                    lambda: minutes(session, pw, reg),
                    lambda: panels.finalise(session, pw.chair, reg.id, "review", today=TODAY)):
        with pytest.raises(ValidationError):
            attempt()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=3, max_size=9))
def test_the_mean_is_rounded_half_up_to_one_decimal(tenths):
    scores = [Decimal(t) / 10 for t in tenths]
    exact = Decimal(sum(tenths)) / (10 * len(tenths))
    assert panels.mean_of(scores) == exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    assert min(scores) <= panels.mean_of(scores) <= max(scores)


def test_members_do_not_see_each_others_scores_until_all_have_scored(session, pw):
    reg = ready(session, pw)
    first, second, third = pw.members
    panels.score_review(session, first, reg.id, "review", score="70", today=TODAY)
    panels.score_review(session, second, reg.id, "review", score="80", today=TODAY)
    state = panels.review_state(session, second, reg.id, "review", TODAY)
    assert [s.score for s in state.scores] == [Decimal("80")] and not state.all_scored and state.mean is None
    assert panels.review_state(session, third, reg.id, "review", TODAY).scores == []
    assert panels.review_state(session, pw.admin, reg.id, "review", TODAY).scores == []
    panels.score_review(session, first, reg.id, "review", score="72", today=TODAY)  # still open: may change
    panels.score_review(session, third, reg.id, "review", score="90", today=TODAY)
    state = panels.review_state(session, first, reg.id, "review", TODAY)
    assert state.all_scored and sorted(s.score for s in state.scores) == [72, 80, 90] and state.mean == Decimal("80.7")
    with pytest.raises(ValidationError, match="均已评分"):
        panels.score_review(session, first, reg.id, "review", score="60", today=TODAY)


def test_a_non_member_cannot_score_or_read(session, pw):
    reg = ready(session, pw)
    panels.score_review(session, pw.members[0], reg.id, "review", score="70", today=TODAY)
    before = counts(session)
    with pytest.raises(PermissionDenied, match="不是本批次评审专家组的成员"):
        panels.score_review(session, pw.outsider, reg.id, "review", score="90", today=TODAY)
    for reader in (pw.outsider, pw.other_admin):
        with pytest.raises(NotFound):
            panels.review_state(session, reader, reg.id, "review", TODAY)
        with pytest.raises(NotFound):
            dossiers.read_dossier(session, reader, reg.id)
    with pytest.raises(PermissionDenied):  # the institution admin reads but does not score
        panels.score_review(session, pw.admin, reg.id, "review", score="90", today=TODAY)
    with pytest.raises(PermissionDenied, match="组长"):
        panels.record_minutes(session, pw.members[1], reg.id, "review", held_on=TODAY, place="答辩室",
                              duration_minutes=45, record="记录", today=TODAY)
    assert counts(session) == before


def test_review_is_refused_to_someone_who_failed_theory(session, pw):
    reg = pw.regs[0]
    add_result(session, reg, "theory", 55, dt.date(2026, 10, 16))
    add_result(session, reg, "skill", 80, dt.date(2026, 10, 16))
    complete(session, pw.admin, reg)
    before = counts(session)
    with pytest.raises(ValidationError) as err:
        panels.score_review(session, pw.members[0], reg.id, "review", score="90", today=TODAY)
    assert "综合评审尚未开放" in err.value.message and "「理论知识考试」" in err.value.message
    assert "技能操作考核" not in err.value.message
    state = panels.review_state(session, pw.chair, reg.id, "review", TODAY)
    assert state.closed_reason == err.value.message
    with pytest.raises(ValidationError, match="综合评审尚未开放"):
        minutes(session, pw, reg)
    assert counts(session) == before
    # The centre may turn the rule off.
    set_rule(session, pw.centre, "panel_rules", {"review_requires_passes": False, "defence_min_minutes": 30})
    panels.score_review(session, pw.members[0], reg.id, "review", score="90", today=TODAY)


def test_the_gate_reads_the_person_across_batches_and_the_validity(session, pw):
    reg = pw.regs[0]
    complete(session, pw.admin, reg)
    # A theory pass from another batch of the same person counts; one older than 12 months does not.
    other = PanelWorld(session).regs[0]
    other.person_id = reg.person_id
    add_result(session, other, "theory", 88, dt.date(2025, 10, 21))  # valid through 2026-10-20
    add_result(session, reg, "skill", 80, dt.date(2026, 10, 16))
    panels.score_review(session, pw.members[0], reg.id, "review", score="75", today=TODAY)
    later = TODAY + dt.timedelta(days=1)
    with pytest.raises(ValidationError, match="「理论知识考试」"):
        panels.score_review(session, pw.members[1], reg.id, "review", score="75", today=later)
    # Absent, void and pending results are not passes.
    reg2 = pw.regs[1]
    complete(session, pw.admin, reg2)
    add_result(session, reg2, "theory", None, dt.date(2026, 10, 16), state="absent")
    add_result(session, reg2, "skill", 95, dt.date(2026, 10, 16), state="void")
    with pytest.raises(ValidationError, match="「理论知识考试」、「技能操作考核」"):
        panels.score_review(session, pw.members[0], reg2.id, "review", score="75", today=TODAY)


def test_scoring_needs_a_complete_dossier_and_an_acknowledged_plan(session, pw):
    reg = pw.regs[0]
    pass_theory_and_skill(session, reg)
    with pytest.raises(ValidationError, match="业绩材料尚未填写"):
        panels.score_review(session, pw.members[0], reg.id, "review", score="75", today=TODAY)
    dossiers.save_dossier(session, pw.admin, reg.id, dossiers.DossierInput(products="产品"), today=TODAY)
    with pytest.raises(ValidationError) as err:
        panels.score_review(session, pw.members[0], reg.id, "review", score="75", today=TODAY)
    assert all(part in err.value.message for part in ("技术革新与创新", "传技带徒", "单位鉴定意见"))
    complete(session, pw.admin, reg)
    pw.batch.status = "filed"
    session.flush()
    with pytest.raises(ValidationError, match="尚未经省中心确认"):
        panels.score_review(session, pw.members[0], reg.id, "review", score="75", today=TODAY)
    pw.batch.status = "acknowledged"
    session.flush()
    panels.score_review(session, pw.members[0], reg.id, "review", score="75", today=TODAY)


@pytest.mark.parametrize("bad", ["", "abc", "-1", "100.1", "60.25", "NaN", "Infinity", "1e3", None, True, [70]])
def test_a_bad_score_is_refused_with_nothing_written(session, pw, bad):
    reg = ready(session, pw)
    before = counts(session)
    with pytest.raises(ValidationError, match="评分"):
        panels.score_review(session, pw.members[0], reg.id, "review", score=bad, today=TODAY)
    assert counts(session) == before


def test_minutes_rules_and_the_order_of_confirmation(session, pw):
    reg = ready(session, pw)
    with pytest.raises(ValidationError, match="请先填写评审记录"):
        panels.finalise(session, pw.chair, reg.id, "review", today=TODAY)
    with pytest.raises(ValidationError, match="不少于 30 分钟（记录为 29 分钟）"):
        minutes(session, pw, reg, duration=29)
    with pytest.raises(ValidationError, match="不能晚于今天"):
        minutes(session, pw, reg, held_on=TODAY + dt.timedelta(days=1))
    with pytest.raises(ValidationError, match="评审地点"):
        panels.record_minutes(session, pw.chair, reg.id, "review", held_on=TODAY, place="答辩\n室",
                              duration_minutes=45, record="记录", today=TODAY)
    with pytest.raises(ValidationError, match="请填写评审记录"):
        panels.record_minutes(session, pw.chair, reg.id, "review", held_on=TODAY, place="答辩室",
                              duration_minutes=45, record="  ", today=TODAY)
    assert counts(session)[1] == 0
    minutes(session, pw, reg, duration=30)
    panels.score_review(session, pw.members[0], reg.id, "review", score="70", today=TODAY)
    with pytest.raises(ValidationError) as err:
        panels.finalise(session, pw.chair, reg.id, "review", today=TODAY)
    assert "尚未全部评分" in err.value.message and pw.members[1].name in err.value.message
    # The rule is configurable.
    set_rule(session, pw.centre, "panel_rules", {"review_requires_passes": True, "defence_min_minutes": 50})
    with pytest.raises(ValidationError, match="不少于 50 分钟"):
        minutes(session, pw, reg, duration=45)


def test_a_performance_review_has_no_defence_minimum_and_no_theory_gate(session):
    pf = PerformanceWorld(session)
    reg = pf.regs[0]
    complete(session, pf.admin, reg, level=4)
    assert dossiers.panel_components(session, reg) == (Component.PERFORMANCE,)
    for member, value in zip(pf.members, ("66", "71", "74"), strict=True):
        panels.score_review(session, member, reg.id, "performance", score=value, today=TODAY)
    panels.record_minutes(session, pf.chair, reg.id, "performance", held_on=TODAY, place="评审室",
                          duration_minutes=15, record="审阅业绩材料，核实单位鉴定意见。", today=TODAY)
    result = panels.finalise(session, pf.chair, reg.id, "performance", today=TODAY)
    assert (result.component, result.score, result.exam_session_id) == ("performance", Decimal("70.3"), None)
    with pytest.raises(ValidationError, match="不含「综合评审」"):
        panels.score_review(session, pf.members[0], reg.id, "review", score="70", today=TODAY)


def test_sub_items_make_up_the_members_score(session, pw):
    reg = ready(session, pw)
    with pytest.raises(ValidationError, match="合计须为 100 分（当前 90 分）"):
        panels.save_criteria(session, pw.centre, "review", [("业绩成果", "50"), ("答辩表现", "40")])
    with pytest.raises(PermissionDenied):
        panels.save_criteria(session, pw.admin, "review", [("业绩成果", "60"), ("答辩表现", "40")])
    with pytest.raises(ValidationError, match="重复"):
        panels.save_criteria(session, pw.centre, "review", [("业绩成果", "60"), ("业绩成果", "40")])
    panels.save_criteria(session, pw.centre, "review", [("业绩成果", "60"), ("答辩表现", "40")])
    assert panels.criteria(session, "performance") == ()
    with pytest.raises(ValidationError, match="「答辩表现」的得分应为 0 至 40"):
        panels.score_review(session, pw.members[0], reg.id, "review",
                            sub_scores={"业绩成果": "50", "答辩表现": "41"}, today=TODAY)
    with pytest.raises(ValidationError, match="「业绩成果」的得分"):
        panels.score_review(session, pw.members[0], reg.id, "review", score="90", today=TODAY)
    row = panels.score_review(session, pw.members[0], reg.id, "review",
                              sub_scores={"业绩成果": "50.5", "答辩表现": "32"}, today=TODAY)
    assert row.score == Decimal("82.5") and row.sub_scores == [["业绩成果", "60", "50.5"], ["答辩表现", "40", "32"]]


def test_the_dossier_freezes_once_scored(session, pw, tmp_path):
    reg = ready(session, pw)
    dossiers.add_attachment(session, pw.admin, reg.id, section="products", filename="a.png",
                            data=png_bytes(), folder=tmp_path)
    panels.score_review(session, pw.members[0], reg.id, "review", score="70", today=TODAY)
    with pytest.raises(ValidationError, match="不能再修改"):
        complete(session, pw.admin, reg)
    attachment = dossiers.dossier_of(session, reg.id).attachments[0]
    with pytest.raises(ValidationError, match="不能再修改"):
        dossiers.remove_attachment(session, pw.admin, attachment.id)


def test_the_wrong_component_or_registration_is_refused(session, pw):
    reg = ready(session, pw)
    with pytest.raises(ValidationError, match="不含「工作业绩评审」"):
        panels.score_review(session, pw.members[0], reg.id, "performance", score="70", today=TODAY)
    with pytest.raises(ValidationError, match="工作业绩评审或综合评审"):
        panels.score_review(session, pw.members[0], reg.id, "theory", score="70", today=TODAY)
    with pytest.raises(NotFound):
        panels.score_review(session, pw.members[0], 2**31 - 1, "review", score="70", today=TODAY)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.text(alphabet=" \t\r\n\u3000", max_size=4),  # blank once trimmed
    st.tuples(st.text(alphabet="答辩室", min_size=1, max_size=3), st.characters(categories=("Cc", "Cf", "Zl", "Zp")),
              st.text(alphabet="一二", min_size=1, max_size=3)).map("".join),  # a control character inside
))
def test_minutes_with_a_bad_place_write_nothing(session, pw, place):
    reg = ready(session, pw) if not dossiers.dossier_of(session, pw.regs[0].id) else pw.regs[0]
    with pytest.raises(DomainError):
        panels.record_minutes(session, pw.chair, reg.id, "review", held_on=TODAY, place=place,
                              duration_minutes=45, record="记录", today=TODAY)
    assert counts(session)[1] == 0
