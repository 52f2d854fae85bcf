"""细目表 pages: who may see and change what, list and search, create, the row editor, Excel
import/export and the coverage dashboard."""

from __future__ import annotations

import io
import json
import re

import openpyxl
import pytest
from sqlalchemy import func, select

from foundation.roles import Role
from itembank.blueprint_excel import export_blueprint_bytes, read_blueprint_xlsx
from itembank.blueprints import NodeSpec, create_blueprint, node_specs
from itembank.models import Blueprint
from tests.factories import assign, blueprint_specs, make_blueprint, make_occupation, make_user
from tests.itembank.blueprint_sheets import spec_rows, xlsx
from tests.itembank.worlds import approved_item

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def _no_login_rate_limit(monkeypatch):
    """test_auth's strict app re-initialises the shared limiter with limits on; keep these
    pages independent of test order (each test logs in)."""
    from web.extensions import limiter

    monkeypatch.setattr(limiter, "enabled", False)


@pytest.fixture
def centre(session):
    return make_user(session, Role.CENTRE_ADMIN, name="省中心王主任")


@pytest.fixture
def as_centre(login, centre):
    return login(centre)


@pytest.fixture
def reviewer(session):
    return make_user(session, Role.ITEM_REVIEWER, name="审题专家张老师")


@pytest.fixture
def as_reviewer(login, reviewer):
    return login(reviewer)


@pytest.fixture
def as_writer(session, login):
    return login(make_user(session, Role.QUESTION_WRITER, name="命题员李老师"))


def editor_form(nodes: list[NodeSpec]) -> dict[str, list[str]]:
    return {
        "code": [n.code for n in nodes],
        "name": [n.name for n in nodes],
        "importance": [n.importance or "" for n in nodes],
        "weight": [f"{n.weight:g}" for n in nodes],
    }


def upload(client, blueprint_id: int, data: bytes, filename: str = "细目表.xlsx"):
    return client.post(f"/itembank/blueprints/{blueprint_id}/import", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def text(resp) -> str:
    return resp.get_data(as_text=True)


def fresh_specs(session, blueprint: Blueprint) -> list[NodeSpec]:
    session.expire_all()
    return node_specs(session.get(Blueprint, blueprint.id))


# ---------------------------------------------------------------- access


def test_anonymous_is_sent_to_login(session, client):
    bp = make_blueprint(session)
    for url in ("/itembank/blueprints", f"/itembank/blueprints/{bp.id}", "/itembank/blueprints/new",
                f"/itembank/blueprints/{bp.id}/edit", f"/itembank/blueprints/{bp.id}/import",
                f"/itembank/blueprints/{bp.id}/export", "/itembank/blueprints/template"):
        resp = client.get(url)
        assert resp.status_code == 302, url
        assert "/login" in resp.headers["Location"]
    assert client.post(f"/itembank/blueprints/{bp.id}/edit", data=editor_form(blueprint_specs())).status_code == 401


def test_writer_can_view_but_not_change(session, as_writer):
    bp = make_blueprint(session)
    before = node_specs(bp)
    assert as_writer.get("/itembank/blueprints").status_code == 200
    body = text(as_writer.get(f"/itembank/blueprints/{bp.id}"))
    assert bp.name in body and "A-A-001" in body
    assert "编辑" not in re.sub(r"<title>.*?</title>", "", body) and "从 Excel 导入" not in body
    assert as_writer.get(f"/itembank/blueprints/{bp.id}/export").status_code == 200
    assert as_writer.get("/itembank/blueprints/template").status_code == 200
    assert as_writer.get("/itembank/blueprints/new").status_code == 403
    assert as_writer.get(f"/itembank/blueprints/{bp.id}/edit").status_code == 403
    changed = [NodeSpec(n.code, n.name + "改", n.importance, n.weight) for n in before]
    assert as_writer.post(f"/itembank/blueprints/{bp.id}/edit", data=editor_form(changed)).status_code == 403
    assert upload(as_writer, bp.id, xlsx(spec_rows(changed))).status_code == 403
    occ = make_occupation(session)
    resp = as_writer.post("/itembank/blueprints/new", data={"occupation_id": occ.id, "level": "4", "mode": "theory"})
    assert resp.status_code == 403
    assert fresh_specs(session, bp) == before


def test_candidate_and_proctor_are_forbidden(session, login):
    assert login(make_user(session, Role.CANDIDATE)).get("/itembank/blueprints").status_code == 403
    assert login(make_user(session, Role.PROCTOR)).get("/itembank/blueprints").status_code == 403


def test_unknown_blueprint_is_404(as_centre):
    assert as_centre.get("/itembank/blueprints/999999").status_code == 404
    assert as_centre.get("/itembank/blueprints/999999/export").status_code == 404


# ---------------------------------------------------------------- list


def test_list_search_and_filters(session, as_reviewer, reviewer, centre):
    electric = make_occupation(session, code="6-31-01-03", name="电工")
    lathe = make_occupation(session, code="6-18-01-01", name="车工", work_types=["数控车工"])
    assign(session, reviewer, electric.id)
    assign(session, reviewer, lathe.id)
    make_blueprint_for = lambda occ, level, mode, wt=None: create_blueprint(  # noqa: E731
        session, centre, occupation_id=occ.id, work_type_id=wt, level=level, mode=mode)
    theory = make_blueprint_for(electric, 4, "theory")
    from itembank.blueprints import replace_nodes
    replace_nodes(session, centre, theory.id, blueprint_specs())
    make_blueprint_for(electric, 3, "skill")
    make_blueprint_for(lathe, 4, "theory", lathe.work_types[0].id)

    body = text(as_reviewer.get("/itembank/blueprints"))
    assert "电工" in body and "车工 / 数控车工" in body and "新建细目表" in body
    assert "6 个鉴定点试题不足" in body  # the filled theory blueprint: 6 points, none with items
    assert "未录入" in body

    body = text(as_reviewer.get("/itembank/blueprints?q=电工"))
    assert "电工" in body and "数控车工" not in body
    body = text(as_reviewer.get("/itembank/blueprints?q=6-18"))
    assert "数控车工" in body and "6-31-01-03" not in body
    body = text(as_reviewer.get("/itembank/blueprints?q=数控"))
    assert "数控车工" in body and "6-31-01-03" not in body
    body = text(as_reviewer.get("/itembank/blueprints?q=电工&mode=skill"))
    assert "操作技能" in body and "6 个鉴定点" not in body and "共 1 条" in body
    body = text(as_reviewer.get("/itembank/blueprints?level=4"))
    assert "共 2 条" in body and "三级/高级工" not in re.sub(r"<select.*?</select>", "", body, flags=re.S)


def test_list_is_paginated(session, app, as_centre, centre):
    occ = make_occupation(session, name="分页职业")
    for level in (5, 4, 3, 2, 1):
        for mode in ("theory", "skill"):
            create_blueprint(session, centre, occupation_id=occ.id, work_type_id=None, level=level, mode=mode)
    app.config["PAGE_SIZE"], size = 4, app.config["PAGE_SIZE"]
    try:
        body = text(as_centre.get("/itembank/blueprints?q=分页职业&page=3"))
    finally:
        app.config["PAGE_SIZE"] = size
    assert "共 10 条" in body and body.count(">分页职业</a>") == 2
    assert 'class="current">3<' in body


# ---------------------------------------------------------------- create


def test_create_blueprint(session, as_reviewer, reviewer):
    occ = make_occupation(session, code="6-31-01-03", name="电工", work_types=["维修电工"])
    assign(session, reviewer, occ.id)
    body = text(as_reviewer.get("/itembank/blueprints/new"))
    assert "电工" in body and f'data-occupation="{occ.id}"' in body
    resp = as_reviewer.post("/itembank/blueprints/new", data={
        "occupation_id": str(occ.id), "work_type_id": str(occ.work_types[0].id), "level": "3", "mode": "skill"})
    assert resp.status_code == 302
    created = session.scalar(select(Blueprint).where(Blueprint.occupation_id == occ.id))
    assert created.level == 3 and created.mode == "skill" and created.work_type_id == occ.work_types[0].id
    assert resp.headers["Location"].endswith(f"/itembank/blueprints/{created.id}")
    body = text(as_reviewer.get(resp.headers["Location"]))
    assert "尚未录入" in body and "已创建细目表" in body

    again = as_reviewer.post("/itembank/blueprints/new", data={
        "occupation_id": str(occ.id), "work_type_id": str(occ.work_types[0].id), "level": "3", "mode": "skill"})
    assert again.status_code == 400 and "已存在" in text(again)
    assert session.scalar(select(func.count()).select_from(Blueprint).where(Blueprint.occupation_id == occ.id)) == 1


def test_create_refuses_level_outside_occupation(session, as_centre):
    occ = make_occupation(session, lowest_level=5, highest_level=3)
    resp = as_centre.post("/itembank/blueprints/new", data={"occupation_id": str(occ.id), "level": "1",
                                                            "mode": "theory"})
    assert resp.status_code == 400 and "没有该等级" in text(resp)


# ---------------------------------------------------------------- editor


def test_editor_shows_rows_and_saves_with_health_warnings(session, as_reviewer, reviewer):
    bp = make_blueprint(session)
    assign(session, reviewer, bp.occupation_id)
    body = text(as_reviewer.get(f"/itembank/blueprints/{bp.id}/edit"))
    assert 'value="A-A-001"' in body and 'value="鉴定点A1"' in body and "blueprint_editor.js" in body
    nodes = blueprint_specs(points_per_range=4)
    nodes = [NodeSpec(n.code, n.name, "Z" if n.code.endswith("-004") else n.importance, n.weight) for n in nodes]
    form = editor_form(nodes)
    for key in form:  # a trailing blank row is ignored
        form[key].append("")
    resp = as_reviewer.post(f"/itembank/blueprints/{bp.id}/edit", data=form, follow_redirects=True)
    body = text(resp)
    assert resp.status_code == 200 and "细目表已保存" in body and "鉴定点 8 个" in body
    assert "辅助要素（Z）占 25%" in body  # health warning shown after saving
    assert fresh_specs(session, bp) == nodes


def test_editor_broken_weight_shows_error_and_saves_nothing(session, as_centre):
    bp = make_blueprint(session)
    before = node_specs(bp)
    nodes = [NodeSpec(n.code, n.name + "（新）", n.importance, n.weight) for n in before]
    form = editor_form(nodes)
    form["weight"][1] = "五十"  # editor row 2
    resp = as_centre.post(f"/itembank/blueprints/{bp.id}/edit", data=form)
    body = text(resp)
    assert resp.status_code == 400
    assert "第 2 行" in body and "比重应为数字" in body and "五十" in body and "未作任何修改" in body
    assert 'value="范围A（新）"' in body  # what was typed is shown again
    assert fresh_specs(session, bp) == before


def test_editor_structure_error_names_the_editor_row(session, as_centre):
    bp = make_blueprint(session)
    before = node_specs(bp)
    nodes = list(before)
    nodes[1] = NodeSpec("A-A", "范围A-A", None, 30)  # children of A now sum to 30, not 50
    form = editor_form(nodes)
    for key in form:  # a blank row before the data shifts every row by one
        form[key].insert(0, "")
    resp = as_centre.post(f"/itembank/blueprints/{bp.id}/edit", data=form)
    body = text(resp)
    assert resp.status_code == 400
    assert "第 2 行" in body and "「A」的比重为 50%，其下级合计为 30%" in body
    assert "bp-row-error" in body
    assert fresh_specs(session, bp) == before


# ---------------------------------------------------------------- Excel


def test_template_download(as_reviewer):
    resp = as_reviewer.get("/itembank/blueprints/template")
    assert resp.status_code == 200 and resp.mimetype == XLSX
    workbook = openpyxl.load_workbook(io.BytesIO(resp.data))
    assert workbook.sheetnames == ["细目表", "说明"]


def test_export_then_import_into_another_blueprint(session, as_reviewer, reviewer, centre):
    source = make_blueprint(session, ranges=4, points_per_range=2)
    assign(session, reviewer, source.occupation_id)
    resp = as_reviewer.get(f"/itembank/blueprints/{source.id}/export")
    assert resp.status_code == 200 and resp.mimetype == XLSX
    assert ".xlsx" in resp.headers["Content-Disposition"]
    assert read_blueprint_xlsx(resp.data) == node_specs(source)

    occ = make_occupation(session)
    assign(session, reviewer, occ.id)
    target = create_blueprint(session, centre, occupation_id=occ.id, work_type_id=None, level=4, mode="theory")
    assert "上传并导入" in text(as_reviewer.get(f"/itembank/blueprints/{target.id}/import"))
    done = upload(as_reviewer, target.id, resp.data)
    assert done.status_code == 302
    assert fresh_specs(session, target) == node_specs(source)
    body = text(as_reviewer.get(done.headers["Location"]))
    assert "导入完成：鉴定点 8 个" in body and "少于 200 个" in body


def test_import_with_bad_rows_lists_excel_rows_and_saves_nothing(session, as_centre):
    bp = make_blueprint(session)
    before = node_specs(bp)
    rows = spec_rows([NodeSpec(n.code, n.name + "（新）", n.importance, n.weight) for n in before])
    rows[4][3] = "abc"  # Excel row 6
    resp = upload(as_centre, bp.id, xlsx(rows))
    body = text(resp)
    assert resp.status_code == 400 and "第 6 行" in body and "鉴定比重应为数字" in body and "未导入任何数据" in body
    assert fresh_specs(session, bp) == before

    rows[4][3] = 0
    rows.append(["A-A-001", "重复", "X", 0])  # Excel row 12: a structure error
    resp = upload(as_centre, bp.id, xlsx(rows))
    body = text(resp)
    assert resp.status_code == 400 and "第 12 行" in body and "与第 3 行重复" in body
    assert fresh_specs(session, bp) == before

    resp = upload(as_centre, bp.id, b"not a spreadsheet", filename="细目表.xlsx")
    assert resp.status_code == 400 and "整个文件" in text(resp) and ".xlsx" in text(resp)
    resp = upload(as_centre, bp.id, b"whatever", filename="细目表.csv")
    assert resp.status_code == 400 and "只支持 .xlsx" in text(resp)
    assert fresh_specs(session, bp) == before


# ---------------------------------------------------------------- coverage dashboard


def test_coverage_dashboard_highlights_gaps_and_counts(session, as_writer):
    bp = make_blueprint(session)  # ranges A, B; points A-A-001..003, B-A-001..003, all X
    points = {p.code: p for p in bp.points}
    for i in range(4):
        approved_item(session, points["A-A-001"].id, stem=f"第{i}题：三相交流电的相序是什么？")
    approved_item(session, points["B-A-002"].id, stem="安全电压的上限是多少？")
    body = text(as_writer.get(f"/itembank/blueprints/{bp.id}"))

    rows = {code: cls for cls, code in re.findall(r'<tr class="([^"]*)" data-code="([^"]+)"', body)}
    assert len(rows) == 6
    assert rows["A-A-001"] == ""  # 4 approved items: meets the rule
    assert all(rows[code] == "bp-gap" for code in rows if code != "A-A-001")
    assert "缺 3 道" in body and "缺 4 道" in body and "已满足" in body
    assert re.search(r'id="stat-points">6<', body) and re.search(r'id="stat-short">5<', body)
    assert re.search(r'id="stat-items">5<', body)
    x_row = re.search(r'<tr data-importance="X">(.*?)</tr>', body, re.S).group(1)
    assert re.findall(r"<td>(\d+)</td>", x_row) == ["6", "5"] and ">5</span>" in x_row

    chart = json.loads(re.search(r"data-chart='([^']*)'", body).group(1).replace("&#34;", '"'))
    by_code = {c["code"]: c for c in chart}
    assert by_code["A-A"]["approved"] == 4 and by_code["A-A"]["gaps"] == 2 and by_code["A-A"]["required"] == 12
    assert by_code["B-A"]["approved"] == 1
    assert "echarts.min.js" in body and "<script>" not in body and "style=" not in body

    only_gaps = text(as_writer.get(f"/itembank/blueprints/{bp.id}?gaps=1"))
    assert 'data-code="A-A-001"' not in only_gaps and 'data-code="B-A-002"' in only_gaps

    listing = text(as_writer.get("/itembank/blueprints"))
    assert "5 个鉴定点试题不足" in listing


def test_detail_shows_tree_and_health(session, as_reviewer, reviewer):
    bp = make_blueprint(session)
    assign(session, reviewer, bp.occupation_id)
    body = text(as_reviewer.get(f"/itembank/blueprints/{bp.id}"))
    assert "bp-depth-1" in body and "bp-depth-3" in body and "50%" in body
    assert "少于 200 个" in body  # a theory blueprint with 6 points
    assert export_blueprint_bytes(bp)  # sanity: exportable
