"""试题批量导入/导出 pages: the error table, success counts, duplicate warnings, the template,
Excel and QTI exports of the filtered list, and who may use them."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from sqlalchemy import func, select

from foundation.audit import AuditEntry
from foundation.roles import Role
from itembank import item_excel as xl
from itembank.models import Item, ItemVersion
from tests.factories import assign, make_blueprint, make_user
from tests.itembank.worlds import single, xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def _no_login_rate_limit(monkeypatch):
    from web.extensions import limiter

    monkeypatch.setattr(limiter, "enabled", False)


@pytest.fixture
def blueprint(session):
    return make_blueprint(session)


@pytest.fixture
def writer(session):
    return make_user(session, Role.QUESTION_WRITER, name="命题员李老师")


def upload(client, blueprint_id, data: bytes, filename: str = "试题.xlsx"):
    return client.post("/itembank/items/import", data={"blueprint_id": str(blueprint_id),
                                                       "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def export(client, **form):
    """POST the export form; the job runs (JOBS_INLINE) and the browser lands on its page."""
    return client.post("/itembank/items/export", data={k: str(v) for k, v in form.items()})


def job_page(client, resp):
    """Follow a queued job's redirect to its page."""
    assert resp.status_code == 302 and "/jobs/" in resp.headers["Location"], resp.get_data(as_text=True)[:500]
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200
    return page.get_data(as_text=True)


def exported(client, **form):
    """The file of an export job, through its page's download link."""
    resp = export(client, **form)
    html = job_page(client, resp)
    assert 'id="job-download"' in html, html[:2000]
    return client.get(resp.headers["Location"] + "/download")


def sheet_rows(data: bytes) -> list[tuple]:
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    try:
        return list(workbook["试题"].iter_rows(values_only=True))
    finally:
        workbook.close()


def counts(session) -> tuple[int, int]:
    session.expire_all()
    return (session.scalar(select(func.count(Item.id))), session.scalar(select(func.count(ItemVersion.id))))


def test_import_page_shows_the_form_and_the_template_link(session, login, writer, blueprint):
    client = login(writer)
    page = client.get(f"/itembank/items/import?blueprint={blueprint.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="item-import-form"' in html and "/itembank/items/template" in html
    assert f'<option selected value="{blueprint.id}">' in html or f'value="{blueprint.id}" selected' in html
    assert "｜" in html  # the answer notation is explained


def test_import_errors_are_listed_and_nothing_is_saved(session, login, writer, blueprint):
    client = login(writer)
    before = counts(session)
    rows = [single("P-1", stem="第一道题？"), single("P-2", stem="第二道不同的题？", 答案="X"),
            single("P-3", stem="第三道完全不同的题？")]
    html = job_page(client, upload(client, blueprint.id, xlsx(rows)))
    assert "失败" in html and 'id="import-errors"' in html
    assert "<th>行号</th><th>列</th><th>错误</th>" in html
    assert "<td>第 3 行</td><td>答案</td>" in html
    assert "未导入任何数据" in html
    assert counts(session) == before


def test_import_success_shows_counts_and_duplicate_warnings(session, login, writer, blueprint):
    stem = "在潮湿环境中使用手持电动工具时，应当选用哪一类工具？"
    xl.import_items(session, writer, blueprint, xlsx([single("OLD-1", stem=stem)]))
    client = login(writer)
    rows = [single("OLD-1", stem=stem),
            single("NEW-1", stem="在潮湿环境中使用手持电动工具时，应当选用哪类工具?"),
            single("NEW-2", stem="车床主轴的转速如何调整？")]
    html = job_page(client, upload(client, blueprint.id, xlsx(rows)))
    assert "导入完成：新增试题 2 道，修改 0 道，无变化 1 道。" in html
    assert 'id="duplicate-warnings"' in html and "题库中的试题 OLD-1" in html
    session.expire_all()
    new = session.scalar(select(Item).where(Item.code == "NEW-1"))
    assert new.status == "draft" and new.author_id == writer.id


def test_import_needs_a_blueprint_and_an_xlsx(session, login, writer, blueprint):
    client = login(writer)
    resp = client.post("/itembank/items/import", data={"blueprint_id": "", "file": (io.BytesIO(xlsx([single()])),
                                                                                   "a.xlsx")},
                       content_type="multipart/form-data")
    assert resp.status_code == 400 and "请选择要导入的理论知识细目表" in resp.get_data(as_text=True)
    resp = upload(client, blueprint.id, b"not excel", filename="a.csv")
    assert resp.status_code == 400 and "只支持 .xlsx" in resp.get_data(as_text=True)
    assert counts(session) == (0, 0)


def test_template_download_for_bank_staff(session, login):
    for role in (Role.QUESTION_WRITER, Role.ITEM_REVIEWER, Role.CENTRE_ADMIN):
        client = login(make_user(session, role))
        resp = client.get("/itembank/items/template")
        assert resp.status_code == 200 and resp.mimetype == XLSX
        workbook = openpyxl.load_workbook(io.BytesIO(resp.data), read_only=True)
        assert workbook.sheetnames == ["试题", "说明", "示例"]
        workbook.close()


def test_export_xlsx_and_qti_of_the_filtered_list(session, login, writer, blueprint):
    tf = {"试题编码": "TF-1", "题型": "判断题", "鉴定点编码": "A-A-002", "题干": "判断题干。", "答案": "×"}
    xl.import_items(session, writer, blueprint, xlsx([single("SC-1"), tf]))
    other = make_blueprint(session)
    xl.import_items(session, writer, other, xlsx([single("SC-9", stem="另一细目表的题目，内容完全不同？")]))
    reviewer = make_user(session, Role.ITEM_REVIEWER)
    assign(session, reviewer, blueprint.occupation_id)
    assign(session, reviewer, other.occupation_id)
    client = login(reviewer)

    resp = exported(client, format="xlsx", blueprint=blueprint.id)
    assert resp.status_code == 200 and resp.mimetype == XLSX
    rows = sheet_rows(resp.data)
    assert [r[0] for r in rows[1:]] == ["SC-1", "TF-1"]

    resp = exported(client, format="qti", type="true_false")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(resp.data)).namelist()
    assert sorted(names) == ["imsmanifest.xml", "items/ITEM-TF-1.xml"]

    resp = exported(client, q="SC-9")  # xlsx by default
    assert resp.status_code == 200
    rows = sheet_rows(resp.data)
    assert [r[0] for r in rows[1:]] == ["SC-9"]

    session.expire_all()
    exports = session.scalars(select(AuditEntry).where(AuditEntry.action == "item.export")).all()
    assert [e.after["format"] for e in exports] == ["xlsx", "qti", "xlsx"] and exports[1].after["count"] == 1

    assert export(client, format="pdf").status_code == 400
    html = job_page(client, export(client, q="没有这样的题"))
    assert "没有符合条件的试题可以导出。" in html and 'id="job-download"' not in html


def test_reviewer_may_not_import(session, login, blueprint):
    client = login(make_user(session, Role.ITEM_REVIEWER))
    assert client.get("/itembank/items/import").status_code == 403
    assert upload(client, blueprint.id, xlsx([single()])).status_code == 403
    assert counts(session) == (0, 0)


@pytest.mark.parametrize("role", [Role.INSTITUTION_ADMIN, Role.PROCTOR, Role.EXAMINER, Role.SUPERVISOR])
def test_other_staff_are_refused(session, login, role, blueprint):
    client = login(make_user(session, role))
    assert client.get("/itembank/items/template").status_code == 403
    assert export(client, format="xlsx").status_code == 403


def test_candidate_gets_403_everywhere(session, login, writer, blueprint):
    xl.import_items(session, writer, blueprint, xlsx([single("C-1")]))
    client = login(make_user(session, Role.CANDIDATE))
    assert client.get("/itembank/items/import").status_code == 403
    assert upload(client, blueprint.id, xlsx([single()])).status_code == 403
    assert client.get("/itembank/items/template").status_code == 403
    for fmt in ("xlsx", "qti"):
        assert export(client, format=fmt).status_code == 403
    assert counts(session) == (1, 1)


def test_anonymous_is_sent_to_login(client):
    for url in ("/itembank/items/import", "/itembank/items/template"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
