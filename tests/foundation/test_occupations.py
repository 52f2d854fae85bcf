"""Occupation catalogue services: validation, work types, evaluability, Excel import, seed."""

from __future__ import annotations

import io
import json
import re
from importlib import resources

import openpyxl
import pytest
from sqlalchemy import func, select

from foundation.audit import AuditEntry
from foundation.errors import PermissionDenied, RowErrors, ValidationError
from foundation.institutions import ScopeEntry
from foundation.occupation_excel import (
    IMPORT_COLUMNS,
    export_occupations_bytes,
    import_occupations,
    import_template_bytes,
    parse_level,
)
from foundation.occupations import (
    OCCUPATION_CODE_PATTERN,
    Occupation,
    WorkType,
    create_occupation,
    occupation_level_problem,
    occupation_query,
    occupation_range_problem,
    require_evaluable,
    require_level,
    seed_catalogue,
    set_occupation_active,
    update_occupation,
)
from foundation.roles import Role
from tests.factories import make_institution, make_occupation, make_user
from tests.foundation.sheets import HEADER, xlsx


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def counts(session) -> tuple[int, int, int]:
    return count(session, Occupation), count(session, WorkType), count(session, AuditEntry)


def last_audit(session) -> AuditEntry:
    return session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()


@pytest.fixture
def centre(session):
    return make_user(session, Role.CENTRE_ADMIN)


def create(session, actor, **overrides):
    values = {
        "code": "6-31-01-03",
        "name": "电工",
        "lowest_level": 5,
        "highest_level": 1,
        "is_access_type": False,
        "work_types": [],
        "note": None,
    }
    values.update(overrides)
    return create_occupation(session, actor, **values)


# ---------------------------------------------------------------- create / validate


def test_create_occupation_with_work_types_and_audit(session, centre):
    occ = create(session, centre, code="6-18-01-01", name=" 车工 ", work_types=["普通车工", "数控车工"])
    assert occ.id and occ.code == "6-18-01-01" and occ.name == "车工"
    assert [w.name for w in occ.work_types] == ["普通车工", "数控车工"]
    assert occ.active is True and occ.is_access_type is False
    assert occ.level_range_label == "五级/初级工 至 一级/高级技师"
    entry = last_audit(session)
    assert entry.action == "occupation.create" and entry.target_type == "occupation"
    assert entry.target_id == str(occ.id) and entry.actor_id == centre.id
    assert entry.after["work_types"] == ["普通车工", "数控车工"]


def test_create_normalises_full_width_dashes(session, centre):
    occ = create(session, centre, code=" 6－31－01－03 ")
    assert occ.code == "6-31-01-03"


BAD_CODES = ["", "6-31-01", "63-1-01-03", "9-31-01-03", "0-31-01-03", "6-31-01-3", "电工"]


@pytest.mark.parametrize("code", BAD_CODES)
def test_create_rejects_malformed_code(session, centre, code):
    before = counts(session)
    with pytest.raises(ValidationError) as info:
        create(session, centre, code=code)
    assert info.value.field == "code"
    assert counts(session) == before


def test_create_rejects_duplicate_code(session, centre):
    create(session, centre)
    with pytest.raises(ValidationError, match="6-31-01-03 已存在"):
        create(session, centre, name="另一个电工")


@pytest.mark.parametrize(
    ("lowest", "highest", "message"),
    [(1, 5, "最高等级不能低于最低等级"), (6, 1, "1 到 5"), (5, 0, "1 到 5")],
)
def test_create_rejects_bad_level_range(session, centre, lowest, highest, message):
    with pytest.raises(ValidationError, match=message):
        create(session, centre, lowest_level=lowest, highest_level=highest)


def test_create_rejects_empty_name_and_bad_work_types(session, centre):
    with pytest.raises(ValidationError, match="职业名称不能为空"):
        create(session, centre, name="  ")
    with pytest.raises(ValidationError, match="工种名称不能为空"):
        create(session, centre, work_types=["普通车工", " "])
    with pytest.raises(ValidationError, match="重复"):
        create(session, centre, work_types=["普通车工", "普通车工 "])
    assert count(session, Occupation) == 0


@pytest.mark.parametrize(
    "role", [Role.INSTITUTION_ADMIN, Role.QUESTION_WRITER, Role.ITEM_REVIEWER, Role.SUPERVISOR]
)
def test_only_centre_admin_changes_catalogue(session, role):
    other = make_user(session, role)
    occ = make_occupation(session)
    before = counts(session)
    with pytest.raises(PermissionDenied):
        create(session, other)
    with pytest.raises(PermissionDenied):
        update_occupation(session, other, occ.id, name="改名")
    with pytest.raises(PermissionDenied):
        set_occupation_active(session, other, occ.id, False)
    with pytest.raises(PermissionDenied):
        import_occupations(session, other, xlsx([["6-31-01-03", "电工", "", 5, 1, "否"]]))
    assert counts(session) == before


def test_inactive_centre_admin_is_refused(session):
    retired = make_user(session, Role.CENTRE_ADMIN, active=False)
    with pytest.raises(PermissionDenied):
        create(session, retired)


# ---------------------------------------------------------------- update / work types


def test_update_adds_new_work_types_and_keeps_existing_rows(session, centre):
    occ = create(session, centre, code="6-18-01-01", name="车工", work_types=["普通车工"])
    kept_id = occ.work_types[0].id
    update_occupation(
        session, centre, occ.id, name="车工（修订）", work_types=["普通车工", "数控车工"], note="说明"
    )
    assert occ.name == "车工（修订）" and occ.note == "说明"
    assert [w.name for w in occ.work_types] == ["普通车工", "数控车工"]
    assert occ.work_types[0].id == kept_id
    entry = last_audit(session)
    assert entry.action == "occupation.update"
    assert entry.before["name"] == "车工" and entry.after["name"] == "车工（修订）"
    assert entry.after["work_types"] == ["普通车工", "数控车工"]


def test_update_without_changes_appends_no_audit(session, centre):
    occ = create(session, centre)
    before = count(session, AuditEntry)
    update_occupation(session, centre, occ.id, name="电工")
    assert count(session, AuditEntry) == before


def test_update_validates_like_create(session, centre):
    create(session, centre, code="6-18-01-01", name="车工")
    occ = create(session, centre)
    with pytest.raises(ValidationError, match="已存在"):
        update_occupation(session, centre, occ.id, code="6-18-01-01")
    with pytest.raises(ValidationError, match="最高等级不能低于最低等级"):
        update_occupation(session, centre, occ.id, lowest_level=3, highest_level=4)


def test_removing_unreferenced_work_type_is_allowed(session, centre):
    occ = create(session, centre, work_types=["甲", "乙"])
    update_occupation(session, centre, occ.id, work_types=["乙"])
    assert [w.name for w in occ.work_types] == ["乙"]
    assert count(session, WorkType) == 1


def test_removing_work_type_referenced_by_a_scope_is_refused(session, centre):
    occ = create(session, centre, code="6-18-01-01", name="车工", work_types=["普通车工", "数控车工"])
    inst = make_institution(session, name="长春机械行业协会")
    numeric = occ.work_types[1]
    session.add(ScopeEntry(institution_id=inst.id, basis="filed", occupation_id=occ.id,
                           work_type_id=numeric.id, lowest_level=5, highest_level=3))
    session.flush()
    with pytest.raises(ValidationError, match="「数控车工」已被评价机构的评价范围引用") as info:
        update_occupation(session, centre, occ.id, work_types=["普通车工"])
    assert info.value.field == "work_types"
    session.expire_all()
    assert [w.name for w in session.get(Occupation, occ.id).work_types] == ["普通车工", "数控车工"]
    # Keeping the referenced one while dropping the other is fine.
    update_occupation(session, centre, occ.id, work_types=["数控车工"])
    assert [w.name for w in occ.work_types] == ["数控车工"]


def test_narrowing_levels_below_a_scope_is_refused(session, centre):
    occ = create(session, centre)
    inst = make_institution(session, name="吉林电力技师学院")
    session.add(ScopeEntry(institution_id=inst.id, basis="filed", occupation_id=occ.id, work_type_id=None,
                           lowest_level=5, highest_level=2))
    session.flush()
    with pytest.raises(ValidationError, match="吉林电力技师学院"):
        update_occupation(session, centre, occ.id, highest_level=3)
    update_occupation(session, centre, occ.id, highest_level=2)
    assert occ.highest_level == 2


def test_set_active_toggles_and_audits(session, centre):
    occ = create(session, centre)
    set_occupation_active(session, centre, occ.id, False)
    assert occ.active is False
    entry = last_audit(session)
    assert entry.action == "occupation.update"
    assert entry.before["active"] is True and entry.after["active"] is False
    with pytest.raises(ValidationError, match="已停用"):
        require_evaluable(occ)
    set_occupation_active(session, centre, occ.id, True)
    require_evaluable(occ)


# ---------------------------------------------------------------- rules for later modules


def test_require_evaluable_refuses_access_type(session, centre):
    occ = create(session, centre, code="4-07-05-04", name="消防设施操作员", is_access_type=True)
    with pytest.raises(ValidationError) as info:
        require_evaluable(occ)
    assert info.value.message == "「消防设施操作员」属于准入类职业资格，不纳入技能等级认定范围。"


def test_level_checks(session, centre):
    occ = create(session, centre, code="4-10-01-03", name="保育员", lowest_level=5, highest_level=3)
    assert occupation_level_problem(occ, 4) is None
    assert "不包括二级/技师" in occupation_level_problem(occ, 2)
    assert "1 到 5" in occupation_level_problem(occ, 7)
    with pytest.raises(ValidationError, match="五级/初级工 至 三级/高级工"):
        require_level(occ, 1)
    assert occupation_range_problem(occ, 5, 4) is None
    assert "不包括" in occupation_range_problem(occ, 5, 1)
    assert "最高等级不能低于最低等级" in occupation_range_problem(occ, 3, 5)


def test_occupation_query_searches_code_name_and_work_type(session):
    make_occupation(session, code="6-18-01-01", name="车工", work_types=["数控车工"])
    make_occupation(session, code="6-31-01-03", name="电工")
    make_occupation(session, code="4-07-05-04", name="消防设施操作员", is_access_type=True)

    def names(**kw):
        return [o.name for o in session.scalars(occupation_query(**kw))]

    assert names(q="数控") == ["车工"]
    assert names(q="6-31") == ["电工"]
    assert names(q="%") == []
    assert names(access_type=True) == ["消防设施操作员"]
    assert "消防设施操作员" not in names(access_type=False)


# ---------------------------------------------------------------- Excel import


def test_parse_level_accepts_numbers_and_display_names():
    texts = ("5", "五级/初级工", "五级", "初级工", "三级／高级工", "1", "一级/高级技师")
    assert [parse_level(t) for t in texts] == [5, 5, 5, 5, 3, 1, 1]
    assert parse_level("六级") is None


def test_import_good_file_creates_occupations_and_work_types(session, centre):
    data = xlsx([
        ["6-18-01-01", "车工", "普通车工", 5, 1, "否"],
        ["6-18-01-01", "车工", "数控车工", "五级/初级工", "一级/高级技师", "否"],
        ["6-31-01-03", "电工", "", "五级", "一级", "否"],
        ["4-07-05-04", "消防设施操作员", None, "5", "1", "是"],
    ])
    result = import_occupations(session, centre, data)
    assert (result.created, result.updated, result.unchanged, result.rows) == (3, 0, 0, 4)
    lathe = session.scalar(select(Occupation).where(Occupation.code == "6-18-01-01"))
    assert [w.name for w in lathe.work_types] == ["普通车工", "数控车工"]
    fire = session.scalar(select(Occupation).where(Occupation.code == "4-07-05-04"))
    assert fire.is_access_type is True
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions.count("occupation.import") == 3
    assert "新增职业 3 个" in result.message


def test_import_with_one_bad_row_writes_nothing(session, centre):
    make_occupation(session, code="6-20-01-01", name="钳工")
    before = counts(session)
    data = xlsx([
        ["6-18-01-01", "车工", "普通车工", 5, 1, "否"],
        ["6-31-01", "电工", "", 5, 1, "否"],  # Excel row 3: malformed code
        ["4-12-01-01", "汽车维修工", "汽车电器维修工", 5, 1, "否"],
    ])
    with pytest.raises(RowErrors) as info:
        import_occupations(session, centre, data)
    assert len(info.value.errors) == 1
    row, column, message = info.value.errors[0]
    assert (row, column) == (3, "职业编码")
    assert "格式不正确" in message
    assert "未导入任何数据" in info.value.message
    assert counts(session) == before


def test_import_collects_every_row_error(session, centre):
    data = xlsx([
        ["6-18-01-01", "车工", "普通车工", 5, 1, "否"],
        ["6-18-01-01", "车床工", "数控车工", 5, 1, "否"],  # name disagrees with row 2
        ["6-18-01-01", "车工", "普通车工", 5, 1, "否"],  # duplicate 工种
        ["6-31-01-03", "", "", 9, 1, "也许"],  # three problems
        ["6-31-01-04", "电工", "", 1, 5, "否"],  # reversed range
    ])
    with pytest.raises(RowErrors) as info:
        import_occupations(session, centre, data)
    found = {(row, column) for row, column, _ in info.value.errors}
    assert found == {
        (3, "职业名称"), (4, "工种"), (5, "职业名称"), (5, "最低等级"), (5, "准入类"), (6, "最高等级"),
    }
    assert [row for row, _, _ in info.value.errors] == sorted(row for row, _, _ in info.value.errors)
    assert count(session, Occupation) == 0


def test_reimport_is_idempotent(session, centre):
    data = xlsx([
        ["6-18-01-01", "车工", "普通车工", 5, 1, "否"],
        ["6-18-01-01", "车工", "数控车工", 5, 1, "否"],
        ["6-31-01-03", "电工", "", 5, 1, "否"],
    ])
    first = import_occupations(session, centre, data)
    after_first = counts(session)
    second = import_occupations(session, centre, data)
    assert (first.created, second.created, second.updated, second.unchanged) == (2, 0, 0, 2)
    assert counts(session) == after_first  # no duplicates, no audit noise
    assert count(session, Occupation) == 2 and count(session, WorkType) == 2


def test_reimport_updates_and_only_adds_work_types(session, centre):
    make_occupation(session, code="6-18-01-01", name="车工", work_types=["普通车工"], note="原备注")
    data = xlsx(
        [["6-18-01-01", "车工", "数控车工", 5, 2, "否", ""]],
        header=[*HEADER, "备注"],
    )
    result = import_occupations(session, centre, data)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    occ = session.scalar(select(Occupation).where(Occupation.code == "6-18-01-01"))
    assert [w.name for w in occ.work_types] == ["普通车工", "数控车工"]
    assert occ.highest_level == 2 and occ.note == "原备注"
    entry = last_audit(session)
    assert entry.action == "occupation.import" and entry.before["highest_level"] == 1


def test_import_rejects_files_that_are_not_usable(session, centre):
    with pytest.raises(ValidationError, match="空的"):
        import_occupations(session, centre, b"")
    with pytest.raises(ValidationError, match=r"\.xlsx"):
        import_occupations(session, centre, "职业编码,职业名称\n6-31-01-03,电工\n".encode())
    with pytest.raises(ValidationError, match="无法读取"):
        import_occupations(session, centre, b"PK\x03\x04 not really a zip")
    with pytest.raises(ValidationError, match="没有任何内容"):
        import_occupations(session, centre, xlsx([], header=None))
    with pytest.raises(ValidationError, match="没有数据行"):
        import_occupations(session, centre, xlsx([]))
    with pytest.raises(ValidationError, match="缺少必需的列：准入类"):
        import_occupations(session, centre, xlsx([["6-31-01-03", "电工", "", 5, 1]], header=HEADER[:5]))
    assert count(session, Occupation) == 0


def test_template_round_trip(session, centre):
    workbook = openpyxl.load_workbook(io.BytesIO(import_template_bytes()))
    assert workbook.sheetnames == ["职业目录", "说明"]
    sheet = workbook["职业目录"]
    assert [c.value for c in sheet[1]] == list(IMPORT_COLUMNS)
    assert sheet.max_row >= 2  # at least one example row
    sheet.append(["6-31-01-03", "电工", "", "五级/初级工", "一级/高级技师", "否", "手工填写"])
    sheet.append(["4-10-01-03", "保育员", "", 5, 3, "否", ""])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = import_occupations(session, centre, buffer.getvalue())
    assert result.created == 3  # the 车工 example plus the two filled rows
    nursery = session.scalar(select(Occupation).where(Occupation.code == "4-10-01-03"))
    assert nursery.level_range_label == "五级/初级工 至 三级/高级工"


def test_export_reimports_unchanged(session, centre):
    make_occupation(session, code="6-18-01-01", name="车工", work_types=["普通车工", "数控车工"])
    make_occupation(session, code="4-07-05-04", name="消防设施操作员", is_access_type=True, note="准入类")
    occupations = session.scalars(occupation_query()).all()
    data = export_occupations_bytes(session, occupations)
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert rows[0][:6] == tuple(HEADER)
    assert len(rows) == 1 + 3  # 车工 twice (two 工种), 消防设施操作员 once
    result = import_occupations(session, centre, data)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)


# ---------------------------------------------------------------- seed


def test_seed_catalogue_is_idempotent_and_complete(session):
    inserted = seed_catalogue(session)
    assert inserted >= 20
    assert seed_catalogue(session) == 0
    assert count(session, Occupation) == inserted
    by_code = {o.code: o for o in session.scalars(select(Occupation))}
    assert by_code["6-31-01-03"].name == "电工"
    assert by_code["6-18-02-04"].name == "焊工"
    assert by_code["4-12-01-01"].name == "汽车维修工"
    lathe = by_code["6-18-01-01"]
    assert lathe.name == "车工" and {"普通车工", "数控车工"} <= {w.name for w in lathe.work_types}
    access = [o for o in by_code.values() if o.is_access_type]
    assert 2 <= len(access) <= 3
    assert by_code["4-07-05-04"].is_access_type
    assert any(o.highest_level == 3 for o in by_code.values())  # some ranges stop at 三级
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "occupation.create")).first()
    assert entry.actor_id is None and entry.actor_name == "系统"


def test_seed_leaves_edited_rows_alone(session, centre):
    seed_catalogue(session)
    occ = session.scalar(select(Occupation).where(Occupation.code == "6-31-01-03"))
    update_occupation(session, centre, occ.id, name="电工（本省）", highest_level=2)
    assert seed_catalogue(session) == 0
    session.expire_all()
    occ = session.scalar(select(Occupation).where(Occupation.code == "6-31-01-03"))
    assert (occ.name, occ.highest_level) == ("电工（本省）", 2)


def test_seed_data_file_is_well_formed():
    text = resources.files("foundation").joinpath("data", "occupations.json").read_text(encoding="utf-8")
    entries = json.loads(text)["occupations"]
    codes = [e["code"] for e in entries]
    assert len(codes) == len(set(codes))
    for e in entries:
        assert re.fullmatch(OCCUPATION_CODE_PATTERN, e["code"]), e
        assert 1 <= e["highest_level"] <= e["lowest_level"] <= 5, e
        assert len(e["work_types"]) == len(set(e["work_types"])), e
