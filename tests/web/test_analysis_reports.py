"""The analysis report pages (题目分析报告): item, paper and DIF reports, their chart JSON
endpoints and Excel downloads, roles and 404s. Data are built directly with grading.psychometrics.models
(tests.grading.worlds.AnalysisWorld)."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest

from foundation.roles import Role
from tests.grading.worlds import AnalysisWorld

ANALYSTS = (Role.CENTRE_ADMIN, Role.ITEM_REVIEWER)
REFUSED = (Role.QUESTION_WRITER, Role.INSTITUTION_ADMIN, Role.CANDIDATE, Role.PROCTOR, Role.EXAMINER,
           Role.SUPERVISOR)


@pytest.fixture(scope="module")
def world(module_session):
    """Built once for the module; each test runs in a savepoint of it (tests/conftest.py)."""
    return AnalysisWorld(module_session, n=800)


def _urls(world) -> dict[str, str]:
    item = world.items[world.DIF_ITEM].id
    paper = world.paper.id
    run = world.run.id
    return {
        "item": f"/analysis/items/{item}",
        "item_json": f"/analysis/items/{item}.json",
        "item_xlsx": f"/analysis/items/{item}.xlsx",
        "paper": f"/analysis/papers/{paper}",
        "paper_json": f"/analysis/papers/{paper}.json",
        "paper_xlsx": f"/analysis/papers/{paper}.xlsx",
        "dif": f"/analysis/runs/{run}/dif?group=性别&reference=男",
        "dif_json": f"/analysis/runs/{run}/dif.json?group=性别&reference=男",
        "dif_xlsx": f"/analysis/runs/{run}/dif.xlsx?group=性别&reference=男",
    }


def _assert_csp_clean(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert " style=" not in html and "<style" not in html, "inline style"


def _chart_url(html: str, holder: str) -> str:
    found = re.search(rf'id="{holder}" data-chart-url="([^"]+)"', html)
    assert found, f"no chart holder {holder}"
    return found.group(1).replace("&amp;", "&")


def _workbook(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return openpyxl.load_workbook(io.BytesIO(resp.data))


def _values(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


# ---------------------------------------------------------------- item report


@pytest.mark.parametrize("role", ANALYSTS)
def test_item_report_page_and_chart_data(session, client, login, world, role):
    login(world.analyst(session, role))
    item = world.items[world.MISKEYED]
    resp = client.get(f"/analysis/items/{item.id}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html[:500]
    _assert_csp_clean(html)
    assert item.code in html
    assert 'id="item-icc-chart"' in html and 'id="item-info-chart"' in html and 'id="item-history-chart"' in html
    assert "vendor/echarts.min.js" in html and "js/analysis_charts.js" in html
    assert 'id="distractor-warning"' in html and "干扰项 D" in html  # the positive distractor is called out
    assert re.search(r'<tr class="ar-key\s*" data-option="B">', html)  # the key is marked
    assert "区分度偏低" in html  # the flag, in Chinese
    assert f"#{world.old_run.id}" in html and f"#{world.run.id}" in html  # parameter history
    data = client.get(_chart_url(html, "item-report")).get_json()
    assert set(data) >= {"item", "run", "theta", "parameters", "icc", "information", "observed", "history"}
    assert data["run"]["id"] == world.run.id
    assert len(data["icc"]) == len(data["theta"]) == len(data["information"])
    assert len(data["observed"]) == 10
    assert set(data["observed"][0]) >= {"theta", "observed", "expected", "n", "se"}
    assert [h["run_id"] for h in data["history"]] == [world.old_run.id, world.run.id]


def test_item_report_for_another_run_and_404s(session, client, login, world):
    login(world.analyst(session))
    item = world.items[2]
    resp = client.get(f"/analysis/items/{item.id}?run={world.old_run.id}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "历史参数" in html
    assert f"/analysis/items/{item.id}.json?run={world.old_run.id}" in html
    data = client.get(f"/analysis/items/{item.id}.json?run={world.old_run.id}").get_json()
    assert data["run"]["id"] == world.old_run.id
    assert data["parameters"]["b"] == pytest.approx(world.b[2] - 0.1, abs=1e-3)
    assert client.get("/analysis/items/999999").status_code == 404
    assert client.get("/analysis/items/999999.json").status_code == 404
    assert client.get("/analysis/items/999999.xlsx").status_code == 404
    assert client.get(f"/analysis/items/{item.id}?run=999999").status_code == 404
    assert client.get(f"/analysis/items/{item.id}?run=abc").status_code == 404
    missing = client.get(f"/analysis/items/{item.id}.json?run=999999", headers={"Accept": "application/json"})
    assert missing.status_code == 404 and missing.get_json()["error"]


def test_item_report_of_an_uncalibrated_item(session, client, login, world):
    from itembank import items as item_svc
    from tests.factories import single_choice

    item = item_svc.create_item(session, world.writer, point_id=world.blueprint.points[0].id,
                                item_type="single_choice", content=single_choice("还没有标定的题？"))
    login(world.analyst(session, Role.CENTRE_ADMIN))
    html = client.get(f"/analysis/items/{item.id}").get_data(as_text=True)
    assert "这道试题尚未标定" in html
    assert client.get(f"/analysis/items/{item.id}.json").get_json()["parameters"] is None
    book = _workbook(client.get(f"/analysis/items/{item.id}.xlsx"))
    assert "尚未标定" in str(_values(book["概况"]))


def test_item_report_excel(session, client, login, world):
    login(world.analyst(session, Role.CENTRE_ADMIN))
    item = world.items[world.MISKEYED]
    resp = client.get(f"/analysis/items/{item.id}.xlsx")
    assert "attachment" in resp.headers["Content-Disposition"]
    book = _workbook(resp)
    assert book.sheetnames == ["概况", "实测与模型", "选项分析", "参数历史", "曲线"]
    summary = dict((row[0], row[1]) for row in _values(book["概况"]) if row[0])
    assert summary["试题编码"] == item.code
    assert summary["区分度 a"] == pytest.approx(world.a[world.MISKEYED], abs=1e-3)
    options = _values(book["选项分析"])
    assert options[0][:5] == ["选项", "选择人数", "选择比例", "选项–剩余分相关", "正确答案"]
    assert [r[0] for r in options[1:]] == ["A", "B", "C", "D"]
    assert [r[4] for r in options[1:]] == ["否", "是", "否", "否"]
    assert sum(r[2] for r in options[1:]) == pytest.approx(1.0, abs=1e-3)
    assert options[4][5]  # D is warned about
    groups = _values(book["实测与模型"])
    assert len(groups) == 11 and sum(r[1] for r in groups[1:]) == 800
    history = _values(book["参数历史"])
    assert [r[0] for r in history[1:]] == [f"#{world.old_run.id}", f"#{world.run.id}"]
    assert len(_values(book["曲线"])) == 82


# ---------------------------------------------------------------- paper report


@pytest.mark.parametrize("role", ANALYSTS)
def test_paper_report_page_and_chart_data(session, client, login, world, role):
    from grading.psychometrics import ctt

    login(world.analyst(session, role))
    resp = client.get(f"/analysis/papers/{world.paper.id}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html[:500]
    _assert_csp_clean(html)
    assert 'id="paper-tif-chart"' in html and 'data-histogram="A"' in html and 'data-histogram="B"' in html
    alpha = ctt.kr20(world.scores[:, :12]).alpha
    assert f"KR-20 = {alpha:.3f}" in html
    assert 'id="alpha-A"' in html and world.items[0].code in html
    data = client.get(_chart_url(html, "paper-report")).get_json()
    assert set(data) >= {"paper", "theta", "cut_theta", "forms"}
    assert set(data["forms"]) == {"A", "B"}
    form = data["forms"]["A"]
    assert set(form) >= {"tif", "sem", "histogram", "reliability"}
    assert sum(form["histogram"]["counts"]) == 800
    assert form["reliability"]["value"] == pytest.approx(alpha, abs=1e-4)
    assert client.get(f"/analysis/papers/{world.paper.id}?run={world.old_run.id}").status_code == 200


def test_paper_report_excel_and_404s(session, client, login, world):
    login(world.analyst(session))
    book = _workbook(client.get(f"/analysis/papers/{world.paper.id}.xlsx"))
    assert book.sheetnames == ["概况", "信息曲线", "分数分布", "试题与信度"]
    items = _values(book["试题与信度"])
    assert items[0][:3] == ["卷", "题号", "试题编码"]
    assert len(items) == 1 + 24 and {r[0] for r in items[1:]} == {"A", "B"}
    assert all(r[8] is not None for r in items[1:])  # alpha-if-deleted filled
    dist = _values(book["分数分布"])
    assert sum(r[2] for r in dist[1:] if r[0] == "A") == 800
    assert len(_values(book["信息曲线"])) == 82
    assert client.get("/analysis/papers/999999").status_code == 404
    assert client.get("/analysis/papers/999999.json").status_code == 404
    assert client.get("/analysis/papers/999999.xlsx").status_code == 404
    assert client.get(f"/analysis/papers/{world.paper.id}?run=999999").status_code == 404


# ---------------------------------------------------------------- DIF report


@pytest.mark.parametrize("role", ANALYSTS)
def test_dif_report_page_highlights_class_c(session, client, login, world, role):
    login(world.analyst(session, role))
    resp = client.get(f"/analysis/runs/{world.run.id}/dif?group=性别&reference=男")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html[:500]
    _assert_csp_clean(html)
    assert 'id="dif-form"' in html and 'name="group"' in html and 'name="reference"' in html
    assert '<option value="地区"' in html
    code = world.items[world.DIF_ITEM].code
    assert re.search(rf'<tr class="ar-dif-C" data-code="{code}" data-class="C">', html)
    assert html.count('data-class="C"') == 1
    data = client.get(_chart_url(html, "dif-report")).get_json()
    assert set(data) >= {"run", "group", "reference", "comparisons"}
    assert data["group"] == "性别" and data["reference"] == "男"
    assert [c["focal"] for c in data["comparisons"]] == ["女"]
    by_code = {it["code"]: it for it in data["comparisons"][0]["items"]}
    assert by_code[code]["ets_class"] == "C"


def test_dif_report_defaults_and_refusals(session, client, login, world):
    login(world.analyst(session, Role.CENTRE_ADMIN))
    resp = client.get(f"/analysis/runs/{world.run.id}/dif")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert '<option value="性别" selected>' in html  # the first group by default
    region = client.get(f"/analysis/runs/{world.run.id}/dif?group=地区").get_data(as_text=True)
    assert region.count('class="card ar-comparison"') == 2  # two focal regions against the largest
    bad = client.get(f"/analysis/runs/{world.run.id}/dif?group=职业")
    assert bad.status_code == 400 and "没有分组「职业」" in bad.get_data(as_text=True)
    assert 'id="dif-form"' in bad.get_data(as_text=True)
    bad_ref = client.get(f"/analysis/runs/{world.run.id}/dif?group=性别&reference=无")
    assert bad_ref.status_code == 400
    assert client.get(f"/analysis/runs/{world.run.id}/dif.json?group=职业").status_code == 400
    assert client.get(f"/analysis/runs/{world.run.id}/dif.xlsx?group=职业").status_code == 400
    assert client.get("/analysis/runs/999999/dif").status_code == 404
    assert client.get("/analysis/runs/999999/dif.json").status_code == 404
    assert client.get("/analysis/runs/999999/dif.xlsx").status_code == 404


def test_dif_report_without_groups(session, client, login):
    world = AnalysisWorld(session, n=100, groups=False)
    login(world.analyst(session))
    resp = client.get(f"/analysis/runs/{world.run.id}/dif")
    assert resp.status_code == 400
    assert 'id="no-groups"' in resp.get_data(as_text=True)


def test_dif_report_excel(session, client, login, world):
    login(world.analyst(session))
    book = _workbook(client.get(f"/analysis/runs/{world.run.id}/dif.xlsx?group=性别&reference=男"))
    assert book.sheetnames == ["概况", "DIF"]
    summary = _values(book["概况"])
    assert ["分组", "性别"] in [r[:2] for r in summary] and ["参照组", "男"] in [r[:2] for r in summary]
    rows = _values(book["DIF"])
    assert rows[0][:8] == ["目标组", "试题编码", "α_MH", "MH D-DIF", "SE", "χ²", "p", "ETS 类别"]
    assert len(rows) == 1 + world.J
    c_rows = [r for r in rows[1:] if r[7] == "C"]
    assert [r[1] for r in c_rows] == [world.items[world.DIF_ITEM].code]


# ---------------------------------------------------------------- roles


@pytest.mark.parametrize("role", REFUSED)
def test_other_roles_are_refused(session, client, login, world, role):
    login(world.analyst(session, role))
    for name, url in _urls(world).items():
        resp = client.get(url)
        assert resp.status_code == 403, (name, resp.status_code)
        assert world.items[0].code not in resp.get_data(as_text=True)


def test_anonymous_is_sent_to_login(client, world):
    for url in _urls(world).values():
        resp = client.get(url)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_routes_declare_the_analyst_roles(app):
    expected = {"centre_admin", "item_reviewer"}
    names = ["item_report", "item_report_data", "item_report_xlsx", "paper_report", "paper_report_data",
             "paper_report_xlsx", "dif_report", "dif_report_data", "dif_report_xlsx"]
    for name in names:
        assert app.view_functions[f"analysis.{name}"].allowed_roles == expected, name


# ---------------------------------------------------------------- stored item reports


@pytest.mark.parametrize("route", ["item", "item_json", "item_xlsx"])
def test_item_report_routes_store_once_then_never_open_the_matrix(session, client, login, world, route,
                                                                  monkeypatch):
    """The world's runs predate the store: the first request computes and commits the figures,
    later requests (any of the three routes) are served from them without decompressing."""
    from grading.psychometrics import models

    login(world.centre)
    url = _urls(world)[route]
    first = client.get(url)
    assert first.status_code == 200, first.get_data(as_text=True)[:300]

    def refuse(blob):
        raise AssertionError("the response matrix was decompressed to serve a stored report")

    monkeypatch.setattr(models, "unpack_arrays", refuse)
    for other in ("item", "item_json", "item_xlsx"):
        assert client.get(_urls(world)[other]).status_code == 200, other
    second = client.get(url)
    assert second.status_code == 200
    if route == "item_json":
        assert second.get_json() == first.get_json()
    elif route == "item_xlsx":
        sheets = [[_values(ws) for ws in _workbook(resp).worksheets] for resp in (first, second)]
        assert sheets[0] == sheets[1]
    else:
        def strip(html: str) -> str:  # per-response tokens
            return re.sub(r'(nonce|value|content)="[^"]*"', "", html)
        assert strip(second.get_data(as_text=True)) == strip(first.get_data(as_text=True))
