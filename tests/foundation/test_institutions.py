"""Institution registry services: filing workflow, codes, filing windows and scope caps."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from foundation.audit import AuditEntry
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.institutions import (
    FilingStatus,
    FilingStep,
    Institution,
    ScopeEntry,
    add_scope_entry,
    advance_filing,
    check_in_scope,
    credit_code_check_char,
    credit_code_problem,
    institution_code,
    next_filing_window,
    public_institutions_query,
    register_application,
    remove_scope_entry,
    update_filing_windows,
    update_institution_details,
    update_province_code,
    update_scope_caps,
)
from foundation.roles import Role
from foundation.settings import get_rule
from tests.factories import make_institution, make_occupation, make_user

IN_WINDOW = dt.date(2024, 3, 25)
_serials = itertools.count(1)


def credit_code(n: int | None = None) -> str:
    first17 = f"91220101{(n if n is not None else next(_serials) + 500):09d}"
    return first17 + credit_code_check_char(first17)


def application(**overrides: Any) -> dict[str, Any]:
    n = next(_serials)
    values: dict[str, Any] = {
        "name": f"吉林省测试行业协会{n}",
        "kind": "association",
        "tier": "city",
        "credit_code": credit_code(n),
        "legal_representative": "张三",
        "address": "长春市建设街 2650 号",
        "supervising_body": "长春市人力资源和社会保障局",
        "contact_name": "李四",
        "contact_phone": "0431-88690758",
        "unit_details": "市级行业协会，会员单位 120 家。",
        "has_self_evaluation": False,
        "today": IN_WINDOW,
    }
    values.update(overrides)
    return values


@pytest.fixture
def centre(session: Session) -> Any:
    return make_user(session, Role.CENTRE_ADMIN, name="省中心王科长")


def counts(session: Session) -> tuple[int, int, int, int]:
    return tuple(  # type: ignore[return-value]
        session.scalar(select(func.count()).select_from(model))
        for model in (Institution, ScopeEntry, FilingStep, AuditEntry)
    )


def file_through(session: Session, actor: Any, inst: Institution, **kwargs: Any) -> Institution:
    """Walk an applied institution to filed (it needs a filed scope row first)."""
    advance_filing(session, actor, inst.id, "local_review", "材料齐全")
    advance_filing(session, actor, inst.id, "expert_assessment", "初审合格")
    return advance_filing(session, actor, inst.id, "filed", "专家评估通过", **kwargs)


# ---------------------------------------------------------------- pure functions


def test_credit_code_check_character_matches_known_codes():
    # Published codes of real organisations (GB 32100-2015 check character).
    for code in ("91110108551385082Q", "91350100M000100Y43", "12100000400000624D"):
        assert credit_code_problem(code) is None
        assert credit_code_check_char(code[:17]) == code[17]
    assert credit_code_problem("91110108551385082q") is None  # lower case is normalised


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("91110108551385082", "18 位"),
        ("91110108551385082R", "校验位错误：第 18 位应为 Q"),
        ("9111010855138508IQ", "不能包含「I」"),
        ("91110108551385O82Q", "不能包含「O」"),
        ("S1110108551385082Q", "不能包含「S」"),
    ],
)
def test_credit_code_refusals(code, fragment):
    problem = credit_code_problem(code)
    assert problem is not None and fragment in problem


def test_institution_code_letters_and_positions():
    assert institution_code("association", "0000", "22", "000007") == "S000022000007"
    assert institution_code("school", "0000", "22", "000123") == "S000022000123"
    assert institution_code("enterprise", "0000", "22", "000001") == "Y000022000001"
    assert institution_code("social_org", "1234", "22", "000002") == "S123422000002"
    assert len(institution_code("enterprise", "0000", "22", "999999")) == 13


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("factory", "0000", "22", "000001"), "未知的机构类型"),
        (("association", "12a4", "22", "000001"), "4 位数字"),
        (("social_org", "0000", "22", "000001"), "不能为 0000"),
        (("association", "1234", "22", "000001"), "应为 0000"),
        (("association", "0000", "2", "000001"), "省份代码"),
        (("association", "0000", "99", "000001"), "省份代码"),
        (("association", "0000", "22", "12345"), "6 位数字"),
        (("association", "0000", "22", "000000"), "000000"),
    ],
)
def test_institution_code_validation(args, fragment):
    with pytest.raises(ValidationError) as err:
        institution_code(*args)
    assert fragment in err.value.message


# ---------------------------------------------------------------- registration


def test_register_application_records_first_step_and_audit(session, centre):
    inst = register_application(session, centre, **application(name="长春市电工行业协会"))
    assert inst.status == FilingStatus.APPLIED
    assert inst.code is None and inst.serial is None
    [step] = inst.filing_steps
    assert step.from_status is None and step.to_status == "applied"
    assert step.actor_id == centre.id and step.actor_name == "省中心王科长"
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert entry.action == "institution.register_application" and entry.target_id == str(inst.id)
    assert entry.after["name"] == "长春市电工行业协会"


@pytest.mark.parametrize(
    ("today", "ok"),
    [
        (dt.date(2024, 3, 20), True),
        (dt.date(2024, 3, 30), True),
        (dt.date(2024, 9, 20), True),
        (dt.date(2024, 9, 30), True),
        (dt.date(2024, 3, 19), False),
        (dt.date(2024, 3, 31), False),
        (dt.date(2024, 6, 1), False),
        (dt.date(2024, 12, 1), False),
    ],
)
def test_filing_window_inclusive(session, centre, today, ok):
    before = counts(session)
    if ok:
        register_application(session, centre, **application(today=today))
        return
    with pytest.raises(ValidationError) as err:
        register_application(session, centre, **application(today=today))
    assert "不在备案受理期内" in err.value.message
    assert counts(session) == before


def test_filing_window_message_names_next_window(session, centre):
    with pytest.raises(ValidationError) as err:
        register_application(session, centre, **application(today=dt.date(2024, 6, 1)))
    assert "下一次受理期为 2024年9月20日至9月30日" in err.value.message
    with pytest.raises(ValidationError) as err:
        register_application(session, centre, **application(today=dt.date(2024, 10, 8)))
    assert "下一次受理期为 2025年3月20日至3月30日" in err.value.message
    assert next_filing_window(session, dt.date(2024, 3, 25)) == (dt.date(2024, 3, 20), dt.date(2024, 3, 30))


def test_filing_window_rule_is_configurable(session, centre):
    update_filing_windows(session, centre, [(6, 1, 10)])
    register_application(session, centre, **application(today=dt.date(2024, 6, 5)))
    with pytest.raises(ValidationError):
        register_application(session, centre, **application(today=dt.date(2024, 3, 25)))


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"kind": "factory"}, "有效的机构类型"),
        ({"kind": "association", "tier": "technician_college"}, "行业协会的层级应为"),
        ({"kind": "school", "tier": "city"}, "院校的层级应为"),
        ({"credit_code": "91220101000000001X"}, "校验位错误"),
        ({"credit_code": ""}, "统一社会信用代码不能为空"),
        ({"kind": "social_org", "tier": "ministry"}, "4 位数字编码"),
        ({"kind": "social_org", "tier": "ministry", "ministry_code": "12a4"}, "4 位数字编码"),
        ({"ministry_code": "1234"}, "本省备案机构应为 0000"),
        ({"name": "  "}, "机构名称不能为空"),
        ({"address": ""}, "地址不能为空"),
        ({"contact_phone": "abc"}, "联系电话格式不正确"),
        ({"has_self_evaluation": True}, "只有企业"),
    ],
)
def test_register_application_validation_writes_nothing(session, centre, overrides, fragment):
    before = counts(session)
    with pytest.raises(ValidationError) as err:
        register_application(session, centre, **application(**overrides))
    assert fragment in err.value.message
    assert counts(session) == before


def test_register_application_unique_name_and_credit_code(session, centre):
    first = register_application(session, centre, **application(name="吉林省焊接协会"))
    with pytest.raises(ValidationError, match="已被登记"):
        register_application(session, centre, **application(name="吉林省焊接协会"))
    with pytest.raises(ValidationError, match="已由「吉林省焊接协会」登记"):
        register_application(session, centre, **application(credit_code=first.credit_code))


def test_social_org_with_ministry_code(session, centre):
    inst = register_application(
        session, centre, **application(kind="social_org", tier="ministry", ministry_code="1234")
    )
    assert inst.ministry_code == "1234"


def test_only_centre_admin_runs_the_registry(session, centre):
    ia = make_user(session, Role.INSTITUTION_ADMIN)
    with pytest.raises(PermissionDenied):
        register_application(session, ia, **application())
    inst = register_application(session, centre, **application())
    with pytest.raises(PermissionDenied):
        advance_filing(session, ia, inst.id, "local_review", "")
    with pytest.raises(PermissionDenied):
        update_institution_details(session, ia, inst.id, address="别处")
    with pytest.raises(PermissionDenied):
        update_scope_caps(session, ia, {})
    # actor=None is the system (seeding) and is documented for these calls only.
    assert register_application(session, None, **application()).filing_steps[0].actor_name == "系统"
    with pytest.raises(PermissionDenied):
        update_institution_details(session, None, inst.id, address="别处")  # type: ignore[arg-type]


# ---------------------------------------------------------------- workflow


def test_full_workflow_records_steps_and_assigns_code(session, centre):
    occ = make_occupation(session, name="电工")
    inst = register_application(session, centre, **application(name="长春市电工协会"))
    add_scope_entry(session, centre, inst.id, occupation_id=occ.id, work_type_id=None,
                    lowest_level=5, highest_level=3)
    at = dt.datetime(2024, 4, 2, 8, 0, tzinfo=dt.UTC)
    file_through(session, centre, inst, serial="000123", now=at)
    assert inst.status == FilingStatus.FILED
    assert inst.serial == "000123"
    assert inst.code == "S000022000123"
    assert inst.filed_at is not None
    steps = [(s.from_status, s.to_status, s.reason, s.actor_name) for s in inst.filing_steps]
    assert steps[1:] == [
        ("applied", "local_review", "材料齐全", "省中心王科长"),
        ("local_review", "expert_assessment", "初审合格", "省中心王科长"),
        ("expert_assessment", "filed", "专家评估通过", "省中心王科长"),
    ]
    assert all(s.actor_id == centre.id for s in inst.filing_steps)

    advance_filing(session, centre, inst.id, "suspended", "双随机抽查发现考场监控缺失")
    advance_filing(session, centre, inst.id, "filed", "整改完成，恢复备案")
    assert inst.code == "S000022000123"  # reinstatement keeps the code
    advance_filing(session, centre, inst.id, "exited", "机构申请退出")
    assert inst.status == "exited"
    assert [s.to_status for s in inst.filing_steps][-3:] == ["suspended", "filed", "exited"]
    with pytest.raises(ValidationError, match="流程已结束"):
        advance_filing(session, centre, inst.id, "filed", "再次备案")


def test_enterprise_gets_y_code_and_next_free_serial(session, centre):
    make_institution(session, serial="000041", code="S000022000041", status="filed")
    occ = make_occupation(session)
    ent = register_application(
        session, centre, **application(kind="enterprise", tier="enterprise", has_self_evaluation=True)
    )
    add_scope_entry(session, centre, ent.id, basis="self_evaluation", occupation_id=occ.id,
                    work_type_id=None, lowest_level=5, highest_level=2)
    add_scope_entry(session, centre, ent.id, occupation_id=occ.id, work_type_id=None,
                    lowest_level=5, highest_level=3)
    file_through(session, centre, ent)
    assert ent.serial == "000042"
    assert ent.code == "Y000022000042"


def test_province_code_rule_used_for_new_codes(session, centre):
    update_province_code(session, centre, "23")
    occ = make_occupation(session)
    inst = register_application(session, centre, **application())
    add_scope_entry(session, centre, inst.id, occupation_id=occ.id, work_type_id=None,
                    lowest_level=5, highest_level=4)
    file_through(session, centre, inst, serial="000500")
    assert inst.code == "S000023000500"


def test_enterprise_cannot_be_filed_without_self_evaluation(session, centre):
    ent = make_institution(session, kind="enterprise", tier="enterprise", status="expert_assessment",
                           has_self_evaluation=False)
    with pytest.raises(ValidationError, match="自主评价资格"):
        advance_filing(session, centre, ent.id, "filed", "")
    assert ent.status == "expert_assessment" and ent.code is None


def test_filing_needs_a_filed_scope_row(session, centre):
    inst = make_institution(session, status="expert_assessment")
    with pytest.raises(ValidationError, match="至少登记一项备案评价范围"):
        advance_filing(session, centre, inst.id, "filed", "")


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("applied", "filed"),
        ("applied", "expert_assessment"),
        ("applied", "rejected"),
        ("local_review", "filed"),
        ("local_review", "applied"),
        ("expert_assessment", "suspended"),
        ("filed", "local_review"),
        ("filed", "rejected"),
        ("filed", "filed"),
        ("suspended", "suspended"),
        ("exited", "filed"),
        ("rejected", "applied"),
    ],
)
def test_illegal_transitions_refused(session, centre, start, target):
    fields: dict[str, Any] = {"status": start}
    if start in ("filed", "suspended", "exited"):
        fields.update(serial="000900", code="S000022000900")
    inst = make_institution(session, **fields)
    before = counts(session)
    with pytest.raises(ValidationError) as err:
        advance_filing(session, centre, inst.id, target, "原因")
    assert "不能从" in err.value.message
    assert inst.status == start
    assert counts(session) == before


def test_unknown_status_and_missing_institution(session, centre):
    inst = make_institution(session)
    with pytest.raises(ValidationError, match="未知的备案状态"):
        advance_filing(session, centre, inst.id, "approved", "")
    with pytest.raises(NotFound):
        advance_filing(session, centre, 999_999, "local_review", "")


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("local_review", "rejected"),
        ("expert_assessment", "rejected"),
        ("filed", "suspended"),
        ("filed", "exited"),
        ("suspended", "exited"),
        ("suspended", "filed"),
    ],
)
def test_reason_required(session, centre, start, target):
    fields: dict[str, Any] = {"status": start}
    if start in ("filed", "suspended"):
        fields.update(serial="000901", code="S000022000901")
    inst = make_institution(session, **fields)
    occ = make_occupation(session)
    session.add(ScopeEntry(institution=inst, occupation=occ, lowest_level=5, highest_level=4))
    session.flush()
    before = counts(session)
    with pytest.raises(ValidationError, match="必须填写原因"):
        advance_filing(session, centre, inst.id, target, "   ")
    assert counts(session) == before
    advance_filing(session, centre, inst.id, target, "依据抽查结果")
    assert inst.filing_steps[-1].reason == "依据抽查结果"


def test_rejection_is_final(session, centre):
    inst = make_institution(session, status="local_review")
    advance_filing(session, centre, inst.id, "rejected", "场地面积不足 1000 平方米")
    assert inst.status == "rejected" and inst.code is None
    with pytest.raises(ValidationError):
        advance_filing(session, centre, inst.id, "local_review", "再审")


def test_serial_validation(session, centre):
    occ = make_occupation(session)
    make_institution(session, serial="000777", code="S000022000777", status="filed")
    inst = make_institution(session, status="expert_assessment")
    add_scope_entry(session, centre, inst.id, occupation_id=occ.id, work_type_id=None,
                    lowest_level=5, highest_level=4)
    with pytest.raises(ValidationError, match="6 位数字"):
        advance_filing(session, centre, inst.id, "filed", "", serial="77")
    with pytest.raises(ValidationError, match="已分配给"):
        advance_filing(session, centre, inst.id, "filed", "", serial="000777")
    with pytest.raises(ValidationError, match="只有首次备案"):
        advance_filing(session, centre, inst.id, "rejected", "不合格", serial="000778")
    assert inst.status == "expert_assessment"


# ---------------------------------------------------------------- scope caps


def _kind_fields(kind: str, tier: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"kind": kind, "tier": tier}
    if kind == "enterprise":
        fields["has_self_evaluation"] = True
    if kind == "social_org":
        fields["ministry_code"] = "1234"
    return fields


# (kind, tier, lowest, highest, ok, message fragment when refused)
CAP_CASES = [
    ("association", "county", 5, 4, True, ""),
    ("association", "county", 5, 3, False, "县级行业协会的评价范围最高为四级/中级工，不能申报三级/高级工。"),
    ("association", "city", 5, 3, True, ""),
    ("association", "city", 5, 2, False, "市级行业协会的评价范围最高为三级/高级工，不能申报二级/技师。"),
    ("association", "provincial", 5, 1, True, ""),
    ("social_org", "ministry", 5, 1, True, ""),
    ("school", "technician_college", 5, 2, True, ""),
    ("school", "technician_college", 5, 1, False, "技师学院的评价范围最高为二级/技师"),
    ("school", "technical_school", 5, 3, False, "技工学校的评价范围最高为四级/中级工"),
    ("school", "university", 4, 3, True, ""),
]


@pytest.mark.parametrize(("kind", "tier", "lowest", "highest", "ok", "fragment"), CAP_CASES)
def test_scope_caps_by_type_and_tier(session, centre, kind, tier, lowest, highest, ok, fragment):
    occ = make_occupation(session, name="电工")
    inst = make_institution(session, **_kind_fields(kind, tier))
    if kind == "school":
        add_scope_entry(session, centre, inst.id, basis="main_major", occupation_id=occ.id,
                        work_type_id=None, lowest_level=5, highest_level=1)
    before = counts(session)
    call = {"occupation_id": occ.id, "work_type_id": None, "lowest_level": lowest, "highest_level": highest}
    if ok:
        entry = add_scope_entry(session, centre, inst.id, **call)
        assert (entry.lowest_level, entry.highest_level) == (lowest, highest)
        return
    with pytest.raises(ValidationError) as err:
        add_scope_entry(session, centre, inst.id, **call)
    assert fragment in err.value.message
    assert counts(session) == before


def test_enterprise_scope_follows_self_evaluation(session, centre):
    lathe = make_occupation(session, name="车工", work_types=["普通车工", "数控车工"])
    welder = make_occupation(session, name="焊工")
    cnc = lathe.work_types[1]
    ent = make_institution(session, kind="enterprise", tier="enterprise", has_self_evaluation=True)
    add_scope_entry(session, centre, ent.id, basis="self_evaluation", occupation_id=lathe.id,
                    work_type_id=cnc.id, lowest_level=5, highest_level=2)
    before = counts(session)
    # Outside: another occupation, the other 工种, the whole occupation, or a higher level.
    for wt_id, occ_id, low, high, fragment in [
        (None, welder.id, 5, 3, "不在本企业的自主评价范围内"),
        (lathe.work_types[0].id, lathe.id, 5, 3, "不在本企业的自主评价范围内"),
        (None, lathe.id, 5, 3, "不在本企业的自主评价范围内"),
        (cnc.id, lathe.id, 5, 1, "超出本企业自主评价的等级范围（五级/初级工 至 二级/技师）"),
    ]:
        with pytest.raises(ValidationError) as err:
            add_scope_entry(session, centre, ent.id, occupation_id=occ_id, work_type_id=wt_id,
                            lowest_level=low, highest_level=high)
        assert fragment in err.value.message
    assert counts(session) == before
    entry = add_scope_entry(session, centre, ent.id, occupation_id=lathe.id, work_type_id=cnc.id,
                            lowest_level=4, highest_level=2)
    assert entry.basis == "filed"


def test_enterprise_without_self_evaluation_refused(session, centre):
    occ = make_occupation(session)
    ent = make_institution(session, kind="enterprise", tier="enterprise", has_self_evaluation=False)
    before = counts(session)
    with pytest.raises(ValidationError, match="须先取得技能人才自主评价资格"):
        add_scope_entry(session, centre, ent.id, occupation_id=occ.id, work_type_id=None,
                        lowest_level=5, highest_level=5)
    assert counts(session) == before


def test_school_outside_main_majors_refused(session, centre):
    major = make_occupation(session, name="汽车维修工")
    other = make_occupation(session, name="美容师")
    school = make_institution(session, kind="school", tier="technician_college")
    add_scope_entry(session, centre, school.id, basis="main_major", occupation_id=major.id,
                    work_type_id=None, lowest_level=5, highest_level=1)
    before = counts(session)
    with pytest.raises(ValidationError, match="不是本院校的主体专业"):
        add_scope_entry(session, centre, school.id, occupation_id=other.id, work_type_id=None,
                        lowest_level=5, highest_level=3)
    assert counts(session) == before
    add_scope_entry(session, centre, school.id, occupation_id=major.id, work_type_id=None,
                    lowest_level=5, highest_level=3)


def test_ground_rows_only_for_their_kind(session, centre):
    occ = make_occupation(session)
    assoc = make_institution(session)
    with pytest.raises(ValidationError, match="只有企业"):
        add_scope_entry(session, centre, assoc.id, basis="self_evaluation", occupation_id=occ.id,
                        work_type_id=None, lowest_level=5, highest_level=3)
    with pytest.raises(ValidationError, match="只有院校"):
        add_scope_entry(session, centre, assoc.id, basis="main_major", occupation_id=occ.id,
                        work_type_id=None, lowest_level=5, highest_level=3)


def test_access_type_inactive_and_level_range_refused(session, centre):
    access = make_occupation(session, name="特种作业电工", is_access_type=True)
    inactive = make_occupation(session, name="停用职业", active=False)
    narrow = make_occupation(session, name="窄等级职业", lowest_level=4, highest_level=3,
                             work_types=["甲工种"])
    foreign = make_occupation(session, work_types=["外来工种"]).work_types[0]
    inst = make_institution(session, tier="provincial")
    before = counts(session)
    cases = [
        ({"occupation_id": access.id}, "准入类职业资格"),
        ({"occupation_id": inactive.id}, "已停用"),
        ({"occupation_id": narrow.id, "lowest_level": 5, "highest_level": 3},
         "窄等级职业的等级范围为四级/中级工 至 三级/高级工"),
        ({"occupation_id": narrow.id, "lowest_level": 4, "highest_level": 2}, "不能申报"),
        ({"occupation_id": narrow.id, "work_type_id": foreign.id}, "不属于职业"),
        ({"occupation_id": narrow.id, "lowest_level": 3, "highest_level": 4}, "最高等级不能低于最低等级"),
        ({"occupation_id": 999_999}, "有效的职业"),
    ]
    for overrides, fragment in cases:
        call = {"work_type_id": None, "lowest_level": 4, "highest_level": 3, **overrides}
        with pytest.raises(ValidationError) as err:
            add_scope_entry(session, centre, inst.id, **call)
        assert fragment in err.value.message, (overrides, err.value.message)
    assert counts(session) == before


def test_duplicate_scope_row_refused(session, centre):
    occ = make_occupation(session, name="钳工")
    inst = make_institution(session)
    add_scope_entry(session, centre, inst.id, occupation_id=occ.id, work_type_id=None,
                    lowest_level=5, highest_level=4)
    with pytest.raises(ValidationError, match="已有钳工"):
        add_scope_entry(session, centre, inst.id, occupation_id=occ.id, work_type_id=None,
                        lowest_level=5, highest_level=3)


def test_changing_scope_caps_rule_changes_outcome(session, centre):
    occ = make_occupation(session)
    inst = make_institution(session, tier="county")
    call = {"occupation_id": occ.id, "work_type_id": None, "lowest_level": 5, "highest_level": 3}
    with pytest.raises(ValidationError, match="县级行业协会的评价范围最高为四级/中级工"):
        add_scope_entry(session, centre, inst.id, **call)
    caps = dict(get_rule(session, "scope_caps"))
    caps["association:county"] = 3
    update_scope_caps(session, centre, caps)
    assert add_scope_entry(session, centre, inst.id, **call).highest_level == 3


def test_missing_cap_refuses_non_enterprise(session, centre):
    occ = make_occupation(session)
    inst = make_institution(session, tier="county")
    from foundation.settings import set_rule

    set_rule(session, centre, "scope_caps", {"association:city": 3})  # raw write, bypassing validation
    with pytest.raises(ValidationError, match="尚未配置县级行业协会的评价范围等级上限"):
        add_scope_entry(session, centre, inst.id, occupation_id=occ.id, work_type_id=None,
                        lowest_level=5, highest_level=5)


# ---------------------------------------------------------------- scope changes after filing


def _filed(session: Session, centre: Any, occ: Any, **fields: Any) -> Institution:
    inst = make_institution(session, **fields)
    add_scope_entry(session, centre, inst.id, occupation_id=occ.id, work_type_id=None,
                    lowest_level=5, highest_level=4)
    return file_through(session, centre, inst)


def test_scope_change_on_filed_institution_records_filing_step(session, centre):
    first = make_occupation(session, name="钳工")
    electrician = make_occupation(session, name="电工")
    inst = _filed(session, centre, first)
    steps_before = len(inst.filing_steps)
    entry = add_scope_entry(session, centre, inst.id, occupation_id=electrician.id, work_type_id=None,
                            lowest_level=5, highest_level=3)
    step = inst.filing_steps[-1]
    assert len(inst.filing_steps) == steps_before + 1
    assert step.from_status == step.to_status == "filed"
    assert step.reason == "评价范围变更：新增 电工（五级/初级工 至 三级/高级工）"
    assert step.actor_id == centre.id
    remove_scope_entry(session, centre, entry.id, "市场需求下降")
    step = inst.filing_steps[-1]
    assert step.reason.startswith("评价范围变更：删除 电工（五级/初级工 至 三级/高级工）")
    assert "市场需求下降" in step.reason
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq.desc()).limit(2)).all()
    assert actions == ["institution.remove_scope_entry", "institution.add_scope_entry"]


def test_scope_change_before_filing_records_no_step(session, centre):
    occ = make_occupation(session)
    inst = make_institution(session)
    add_scope_entry(session, centre, inst.id, occupation_id=occ.id, work_type_id=None,
                    lowest_level=5, highest_level=4)
    assert inst.filing_steps == []


def test_remove_scope_entry_rules(session, centre):
    occ = make_occupation(session)
    inst = _filed(session, centre, occ)
    [entry] = inst.scope_entries
    before = counts(session)
    with pytest.raises(ValidationError, match="必须填写原因"):
        remove_scope_entry(session, centre, entry.id, "")
    with pytest.raises(ValidationError, match="至少保留一项备案评价范围"):
        remove_scope_entry(session, centre, entry.id, "不再开展")
    assert counts(session) == before
    with pytest.raises(NotFound):
        remove_scope_entry(session, centre, 999_999, "x")


def test_self_evaluation_row_cannot_go_while_relied_on(session, centre):
    occ = make_occupation(session, name="车工")
    ent = make_institution(session, kind="enterprise", tier="enterprise", has_self_evaluation=True)
    ground = add_scope_entry(session, centre, ent.id, basis="self_evaluation", occupation_id=occ.id,
                             work_type_id=None, lowest_level=5, highest_level=2)
    add_scope_entry(session, centre, ent.id, occupation_id=occ.id, work_type_id=None,
                    lowest_level=5, highest_level=3)
    with pytest.raises(ValidationError, match="依赖该自主评价范围"):
        remove_scope_entry(session, centre, ground.id, "资格调整")
    with pytest.raises(ValidationError, match="不能取消其自主评价资格"):
        update_institution_details(session, centre, ent.id, has_self_evaluation=False)


def test_closed_institution_scope_frozen(session, centre):
    occ = make_occupation(session)
    inst = make_institution(session, status="rejected")
    with pytest.raises(ValidationError, match="不予备案的机构不能变更评价范围"):
        add_scope_entry(session, centre, inst.id, occupation_id=occ.id, work_type_id=None,
                        lowest_level=5, highest_level=5)


# ---------------------------------------------------------------- check_in_scope


def test_check_in_scope(session, centre):
    lathe = make_occupation(session, name="车工", work_types=["普通车工", "数控车工"])
    plain, cnc = lathe.work_types
    welder = make_occupation(session, name="焊工")
    inst = make_institution(session, tier="city")
    add_scope_entry(session, centre, inst.id, occupation_id=lathe.id, work_type_id=cnc.id,
                    lowest_level=5, highest_level=3)
    add_scope_entry(session, centre, inst.id, occupation_id=welder.id, work_type_id=None,
                    lowest_level=5, highest_level=4)
    with pytest.raises(ValidationError, match="当前状态为已申报"):
        check_in_scope(session, inst, lathe.id, cnc.id, 4)
    file_through(session, centre, inst)

    check_in_scope(session, inst, lathe.id, cnc.id, 5)
    check_in_scope(session, inst, lathe.id, cnc.id, 3)
    check_in_scope(session, inst.id, welder.id, None, 4)
    check_in_scope(session, inst, welder.id, None, 5)
    for occ_id, wt_id, level, fragment in [
        (lathe.id, cnc.id, 2, "车工 / 数控车工 二级/技师不在"),
        (lathe.id, plain.id, 4, "车工 / 普通车工 四级/中级工不在"),
        (lathe.id, None, 4, "车工 四级/中级工不在"),
        (welder.id, None, 3, "焊工 三级/高级工不在"),
        (welder.id, cnc.id, 4, "不属于职业"),
        (999_999, None, 4, "职业不存在"),
    ]:
        with pytest.raises(ValidationError) as err:
            check_in_scope(session, inst, occ_id, wt_id, level)
        assert fragment in err.value.message

    advance_filing(session, centre, inst.id, "suspended", "整改")
    with pytest.raises(ValidationError, match="当前状态为已暂停"):
        check_in_scope(session, inst, lathe.id, cnc.id, 4)
    advance_filing(session, centre, inst.id, "exited", "退出")
    with pytest.raises(ValidationError, match="当前状态为已退出"):
        check_in_scope(session, inst, lathe.id, cnc.id, 4)


def test_check_in_scope_refuses_occupation_made_access_type_later(session, centre):
    occ = make_occupation(session, name="电工")
    inst = _filed(session, centre, occ)
    check_in_scope(session, inst, occ.id, None, 5)
    occ.is_access_type = True
    with pytest.raises(ValidationError, match="准入类"):
        check_in_scope(session, inst, occ.id, None, 5)


# ---------------------------------------------------------------- details and public query


def test_update_details(session, centre):
    occ = make_occupation(session)
    inst = _filed(session, centre, occ, name="旧名称协会")
    update_institution_details(session, centre, inst.id, name="新名称协会", address="长春市新址",
                               supervising_body="")
    assert inst.name == "新名称协会" and inst.address == "长春市新址" and inst.supervising_body is None
    assert "由「旧名称协会」改为「新名称协会」" in inst.filing_steps[-1].reason
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert last.action == "institution.update_details"
    assert last.before["name"] == "旧名称协会" and last.after["name"] == "新名称协会"
    with pytest.raises(ValidationError, match="联系人不能为空"):
        update_institution_details(session, centre, inst.id, contact_name="")
    with pytest.raises(ValidationError, match="校验位错误"):
        update_institution_details(session, centre, inst.id, credit_code="91220101000000001X")


def test_public_query_lists_filed_only_and_searches_occupations(session, centre):
    occ = make_occupation(session, name="茶艺师", work_types=["宋代点茶"])
    shown = _filed(session, centre, occ, name="公示协会甲")
    for status in ("applied", "local_review", "expert_assessment", "rejected"):
        make_institution(session, name=f"未公示{status}", status=status)
    make_institution(session, name="暂停协会", status="suspended", serial="000950", code="S000022000950")
    make_institution(session, name="退出协会", status="exited", serial="000951", code="S000022000951")
    names = set(session.scalars(public_institutions_query("")).all())
    assert shown in names
    assert all(i.status == "filed" for i in names)
    assert session.scalars(public_institutions_query("茶艺")).all() == [shown]
    assert session.scalars(public_institutions_query("公示协会甲")).all() == [shown]
    assert session.scalars(public_institutions_query("暂停协会")).all() == []
    assert session.scalars(public_institutions_query("100%")).all() == []


# ---------------------------------------------------------------- rule validators


def test_update_scope_caps_validation(session, centre):
    caps = dict(get_rule(session, "scope_caps"))
    with pytest.raises(ValidationError, match="未知的机构类型与层级"):
        update_scope_caps(session, centre, {**caps, "factory:big": 3})
    with pytest.raises(ValidationError, match="请为市级行业协会选择"):
        update_scope_caps(session, centre, {k: v for k, v in caps.items() if k != "association:city"})
    with pytest.raises(ValidationError, match="1 到 5"):
        update_scope_caps(session, centre, {**caps, "association:city": 7})
    saved = update_scope_caps(session, centre, {**caps, "enterprise:enterprise": None})
    assert "enterprise:enterprise" not in saved
    saved = update_scope_caps(session, centre, {**caps, "enterprise:enterprise": 3})
    assert get_rule(session, "scope_caps")["enterprise:enterprise"] == 3


@pytest.mark.parametrize(
    ("windows", "fragment"),
    [
        ([], "至少需要"),
        ([(13, 1, 2)], "月份应在 1 到 12"),
        ([(2, 1, 30)], "2月的日期应在 1 到 29"),
        ([(4, 20, 10)], "起始日不能晚于截止日"),
        ([(3, 1, 10), (3, 10, 20)], "相互重叠"),
        ([("x", 1, 2)], "必须是整数"),
    ],
)
def test_update_filing_windows_validation(session, centre, windows, fragment):
    with pytest.raises(ValidationError) as err:
        update_filing_windows(session, centre, windows)
    assert fragment in err.value.message


def test_update_province_code_validation(session, centre):
    with pytest.raises(ValidationError, match="2 位数字"):
        update_province_code(session, centre, "2a")
    with pytest.raises(ValidationError, match="不是有效的省级行政区划代码"):
        update_province_code(session, centre, "99")
    assert update_province_code(session, centre, " 22 ") == "22"
