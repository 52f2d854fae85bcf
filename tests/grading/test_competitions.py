"""Competition recognition (竞赛选拔): the centre's register of competitions, the all-or-nothing
results import, recognition rules, and what the decision engine makes of them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from foundation.errors import PermissionDenied, RowErrors, ValidationError
from foundation.people import Person
from foundation.roles import Role
from grading.results import competitions as comp
from grading.results.competitions import CompetitionInput, RuleInput
from grading.results.decision import Case, Method, Outcome, Scheme, decide
from grading.results.models import Competition, CompetitionEntry, CompetitionRule
from tests.factories import make_occupation, make_user, valid_id_number
from tests.grading.panel_worlds import results_xlsx

DAY = dt.date(2026, 10, 20)


@pytest.fixture
def centre(session):
    return make_user(session, Role.CENTRE_ADMIN)


@pytest.fixture
def occupation(session):
    return make_occupation(session)


def new_competition(session, centre, occupation, *, filed=True, name="2026年吉林省电工职业技能大赛",
                    ends_on=dt.date(2026, 6, 12), cls="省级一类"):
    return comp.create_competition(session, centre, CompetitionInput(
        name=name, competition_class=cls, organiser="吉林省人力资源和社会保障厅", occupation_id=occupation.id,
        starts_on=ends_on - dt.timedelta(days=2), ends_on=ends_on, filed=filed,
        filing_no="吉人社竞备〔2026〕3号" if filed else ""))


def counts(session) -> tuple[int, int, int]:
    return tuple(session.scalar(select(func.count()).select_from(m))
                 for m in (Competition, CompetitionEntry, Person))


def test_a_competition_is_validated_before_it_is_stored(session, centre, occupation):
    base = dict(name="大赛", competition_class="省级一类", organiser="主办", occupation_id=occupation.id,
                starts_on=dt.date(2026, 6, 10), ends_on=dt.date(2026, 6, 12), filed=False, filing_no="")
    before = counts(session)
    for change, message in [
        ({"ends_on": dt.date(2026, 6, 9)}, "结束日期不能早于开始日期"),
        ({"filed": True}, "须填写备案编号"),
        ({"competition_class": "县级"}, "竞赛类别应为"),
        ({"name": " "}, "请填写竞赛名称"),
        ({"name": "大赛\u202e"}, "竞赛名称"),
        ({"organiser": ""}, "请填写主办单位"),
        ({"occupation_id": 2**31 - 1}, "请选择竞赛职业"),
        ({"starts_on": "2026-06-10"}, "请填写开始日期"),
    ]:
        with pytest.raises(ValidationError, match=message):
            comp.create_competition(session, centre, CompetitionInput(**{**base, **change}))
    with pytest.raises(PermissionDenied):
        comp.create_competition(session, make_user(session, Role.INSTITUTION_ADMIN), CompetitionInput(**base))
    assert counts(session) == before
    comp.create_competition(session, centre, CompetitionInput(**base))
    with pytest.raises(ValidationError, match="已有名为「大赛」的竞赛"):
        comp.create_competition(session, centre, CompetitionInput(**base))


def good_rows():
    return [
        ("居民身份证", valid_id_number(501), "李明", 1, "金牌", None, "职工"),
        ("", valid_id_number(502), "赵丽", None, None, "5%", "学生"),
        ("护照", "E12345678", "Anna Ivanova", "第3名", None, None, "职工"),
    ]


def test_import_is_all_or_nothing_with_a_row_report(session, centre, occupation):
    c = new_competition(session, centre, occupation)
    known = Person(id_type="resident_id", id_number=valid_id_number(503), name="孙强")
    session.add(known)
    session.flush()
    bad = good_rows() + [
        ("居民身份证", valid_id_number(504)[:-1] + "0", "钱一", 2, None, None, "职工"),  # wrong check digit
        ("居民身份证", valid_id_number(505), "周二", None, None, None, "职工"),  # no criterion
        ("居民身份证", valid_id_number(506), "吴三", 4, "特等奖", "120", "工人"),  # award, top %, type
        ("居民身份证", valid_id_number(501), "李明", 5, None, None, "职工"),  # repeats row 2
        ("居民身份证", valid_id_number(503), "孙小强", 6, None, None, "职工"),  # a known person's other name
        ("驾驶证", "123456", "郑四", 7, None, None, "职工"),
        ("居民身份证", 220102199001015000, "王五", 8, None, None, "职工"),  # a number cell
    ]
    before = counts(session)
    with pytest.raises(RowErrors) as err:
        comp.import_results(session, centre, c.id, results_xlsx(bad))
    assert counts(session) == before
    got = {(row, column) for row, column, _ in err.value.errors}
    assert got == {(5, "证件号码"), (6, "名次"), (7, "奖项"), (7, "排名前百分比"), (7, "选手类型"), (8, "证件号码"),
                   (9, "姓名"), (10, "证件类型"), (11, "证件号码")}
    messages = dict(((r, c), m) for r, c, m in err.value.errors)
    assert messages[(8, "证件号码")] == "与第 2 行的证件号码重复。"
    assert "已登记为「孙强」" in messages[(9, "姓名")]
    assert "文本格式" in messages[(11, "证件号码")]
    result = comp.import_results(session, centre, c.id, results_xlsx(good_rows()))
    assert (result.rows, result.new_people) == (3, 3)
    entries = {e.name: e for e in session.scalars(select(CompetitionEntry))}
    assert (entries["李明"].rank, entries["李明"].award) == (1, "金牌")
    assert entries["赵丽"].top_percent == Decimal("5.0") and entries["赵丽"].contestant_type == "学生"
    assert entries["Anna Ivanova"].rank == 3 and entries["Anna Ivanova"].person.id_type == "passport"
    with pytest.raises(RowErrors) as again:
        comp.import_results(session, centre, c.id, results_xlsx(good_rows()[:1]))
    assert again.value.errors == [(2, "证件号码", "「李明」在本竞赛已有成绩。")]


def test_a_file_without_the_needed_columns_is_refused(session, centre, occupation):
    c = new_competition(session, centre, occupation)
    with pytest.raises(ValidationError, match="缺少必需的列：选手类型"):
        comp.import_results(session, centre, c.id, results_xlsx([("居民身份证", valid_id_number(1), "李明", 1)],
                                                                header=("证件类型", "证件号码", "姓名", "名次")))
    with pytest.raises(ValidationError, match="至少一列"):
        comp.import_results(session, centre, c.id, results_xlsx([(valid_id_number(1), "李明", "职工")],
                                                                header=("证件号码", "姓名", "选手类型")))
    with pytest.raises(ValidationError, match="只有表头"):
        comp.import_results(session, centre, c.id, results_xlsx([]))
    with pytest.raises(PermissionDenied):
        comp.import_results(session, make_user(session, Role.INSTITUTION_ADMIN), c.id, results_xlsx(good_rows()))


def test_the_template_imports_after_its_example_row_is_kept(session, centre, occupation):
    c = new_competition(session, centre, occupation)
    result = comp.import_results(session, centre, c.id, comp.import_template_bytes())
    assert result.rows == 1 and session.scalar(select(CompetitionEntry.name)) == "张三"


def add_gold_rule(session, centre, **kw):
    values = dict(competition_class="省级一类", criterion="award", value="金牌", conferred_level=2,
                  contestant_type="职工")
    values.update(kw)
    return comp.add_rule(session, centre, RuleInput(**values))


def competition_case(session, person_id, occupation, level=2, **kw):
    inputs = comp.engine_inputs(session, person_id, on=DAY, occupation_id=occupation.id)
    return Case(scheme=Scheme(level=level, method=Method.COMPETITION), competitions=inputs.competitions,
                recognition_rules=inputs.recognition_rules, **kw)


def test_an_unfiled_competitions_results_do_not_count(session, centre, occupation):
    c = new_competition(session, centre, occupation, filed=False)
    comp.import_results(session, centre, c.id, results_xlsx(good_rows()[:1]))
    add_gold_rule(session, centre)
    person = session.scalar(select(Person).where(Person.name == "李明"))
    decision = decide(competition_case(session, person.id, occupation), DAY)
    assert decision.outcome is Outcome.FAILED
    assert [r.code for r in decision.reasons] == ["competition_not_filed"]
    # Once filed (the centre records its filing number), the same result confers 二级/技师.
    comp.update_competition(session, centre, c.id, CompetitionInput(
        name=c.name, competition_class=c.competition_class, organiser=c.organiser, occupation_id=occupation.id,
        starts_on=c.starts_on, ends_on=c.ends_on, filed=True, filing_no="吉人社竞备〔2026〕3号"))
    decision = decide(competition_case(session, person.id, occupation), DAY)
    assert decision.outcome is Outcome.QUALIFIED and decision.qualified_on == c.ends_on
    assert decision.reasons[-1].code == "competition_recognised"
    assert "省级一类竞赛获金牌的职工选手认定为二级/技师" in decision.reasons[-1].text
    # The engine's own rules still apply: one promotion a year.
    decision = decide(competition_case(session, person.id, occupation, promotions=(dt.date(2026, 3, 1),)), DAY)
    assert decision.outcome is Outcome.FAILED and decision.reasons[-1].code == "promotion_limit"


def test_engine_inputs_keep_the_occupation_and_the_day(session, centre, occupation):
    other = make_occupation(session)
    mine = new_competition(session, centre, occupation, name="甲赛")
    theirs = new_competition(session, centre, other, name="乙赛")
    later = new_competition(session, centre, occupation, name="丙赛", ends_on=DAY + dt.timedelta(days=1))
    for c in (mine, theirs, later):
        comp.import_results(session, centre, c.id, results_xlsx(good_rows()[:1]))
    person = session.scalar(select(Person).where(Person.name == "李明"))
    inputs = comp.engine_inputs(session, person.id, on=DAY, occupation_id=occupation.id)
    assert [r.name for r in inputs.competitions] == ["甲赛"]
    assert inputs.competitions[0].filed and inputs.competitions[0].award == "金牌"
    assert [r.name for r in comp.engine_inputs(session, person.id, on=DAY).competitions] == ["甲赛", "乙赛"]
    assert comp.engine_inputs(session, person.id, on=DAY + dt.timedelta(days=1)).competitions[-1].name == "丙赛"


def test_recognition_rules_are_checked_and_read_by_the_engine(session, centre, occupation):
    before = session.scalar(select(func.count()).select_from(CompetitionRule))
    for kw, message in [
        ({"criterion": "rank", "value": "0"}, "名次应为正整数"),
        ({"criterion": "award", "value": "特等奖"}, "奖项应为"),
        ({"criterion": "top_percent", "value": "101"}, "排名前百分比"),
        ({"criterion": "score", "value": "1"}, "请选择认定条件"),
        ({"current_level": 2, "conferred_level": 3}, "须高于现有等级"),
        ({"conferred_level": 6}, "请选择认定等级"),
        ({"contestant_type": "工人"}, "选手类型应为"),
        ({"competition_class": "县级"}, "竞赛类别应为"),
    ]:
        with pytest.raises(ValidationError, match=message):
            add_gold_rule(session, centre, **kw)
    with pytest.raises(PermissionDenied):
        add_gold_rule(session, make_user(session, Role.INSTITUTION_ADMIN))
    assert session.scalar(select(func.count()).select_from(CompetitionRule)) == before
    top = add_gold_rule(session, centre, criterion="top_percent", value="10", contestant_type=None, current_level=3)
    with pytest.raises(ValidationError, match="已有相同的认定规则"):
        add_gold_rule(session, centre, criterion="top_percent", value="10", contestant_type=None, current_level=3)
    (rule,) = comp.engine_inputs(session, 1, on=DAY).recognition_rules
    assert (rule.top_percent, rule.current_level, rule.conferred_level, rule.contestant_type) == (
        Decimal("10.0"), 3, 2, None)
    comp.delete_rule(session, centre, top.id)
    assert comp.engine_inputs(session, 1, on=DAY).recognition_rules == ()


def _core(text: str) -> str:
    return text.strip().removeprefix("第").removesuffix("名")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=6), st.integers(-5, 0),
                st.floats(allow_nan=True)).filter(
    lambda v: not (isinstance(v, str) and _core(v).isdigit() and _core(v).isascii())
    and not (isinstance(v, float) and v.is_integer() and 1 <= v < 10**6)))
def test_any_bad_rank_refuses_the_file(session, centre, occupation, rank):
    c = session.scalar(select(Competition)) or new_competition(session, centre, occupation)
    row = ("居民身份证", valid_id_number(777), "李明", rank, None, None, "职工")
    before = counts(session)
    with pytest.raises((RowErrors, ValidationError)):
        comp.import_results(session, centre, c.id, results_xlsx([row]))
    assert counts(session) == before
