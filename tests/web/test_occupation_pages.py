"""职业目录 pages: who may see and change what, search, pagination, forms, import and export."""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import func, select

from foundation.occupations import Occupation, WorkType
from foundation.roles import Role
from tests.factories import make_occupation, make_user
from tests.foundation.sheets import xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def occupation_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Occupation))


def by_code(session, code: str) -> Occupation | None:
    session.expire_all()
    return session.scalar(select(Occupation).where(Occupation.code == code))


def upload(client, data: bytes, filename: str = "职业目录.xlsx"):
    return client.post(
        "/occupations/import", data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data"
    )


@pytest.fixture(autouse=True)
def _no_login_rate_limit(monkeypatch):
    """test_auth's strict app re-initialises the shared limiter with limits on, and that sticks
    for later tests; keep these pages independent of test order (each test logs in)."""
    from web.extensions import limiter

    monkeypatch.setattr(limiter, "enabled", False)


@pytest.fixture
def as_centre(session, login):
    return login(make_user(session, Role.CENTRE_ADMIN, name="省中心王主任"))


@pytest.fixture
def as_writer(session, login):
    return login(make_user(session, Role.QUESTION_WRITER, name="命题员李老师"))


def test_anonymous_is_sent_to_login(client):
    resp = client.get("/occupations/")
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"]
    assert client.get("/occupations/new").status_code == 302


def test_writer_can_read_but_not_change(session, as_writer):
    occ = make_occupation(session, code="6-18-01-01", name="车工", work_types=["普通车工", "数控车工"])
    resp = as_writer.get("/occupations/")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "车工" in body and "普通车工、数控车工" in body and "五级/初级工 至 一级/高级技师" in body
    assert "新增职业" not in body and "批量导入" not in body
    assert as_writer.get(f"/occupations/{occ.id}").status_code == 200
    assert as_writer.get("/occupations/new").status_code == 403
    assert as_writer.post("/occupations/new", data={"code": "6-31-01-03", "name": "电工"}).status_code == 403
    assert as_writer.get(f"/occupations/{occ.id}/edit").status_code == 403
    assert upload(as_writer, xlsx([["6-31-01-03", "电工", "", 5, 1, "否"]])).status_code == 403
    assert as_writer.get("/occupations/template").status_code == 403
    assert by_code(session, "6-31-01-03") is None


def test_candidate_is_forbidden(session, login):
    candidate = make_user(session, Role.CANDIDATE)
    assert login(candidate).get("/occupations/").status_code == 403


def test_list_search_and_filters(session, as_writer):
    make_occupation(session, code="6-18-01-01", name="车工", work_types=["数控车工"])
    make_occupation(session, code="6-31-01-03", name="电工")
    make_occupation(session, code="4-07-05-04", name="消防设施操作员", is_access_type=True)
    make_occupation(session, code="6-20-01-01", name="钳工", active=False)

    def listed(query: str) -> set[str]:
        body = as_writer.get(f"/occupations/?{query}").get_data(as_text=True)
        return {name for name in ("车工", "电工", "消防设施操作员", "钳工") if f">{name}</a>" in body}

    assert listed("q=电工") == {"电工"}
    assert listed("q=6-18") == {"车工"}
    assert listed("q=数控") == {"车工"}
    assert listed("access=yes") == {"消防设施操作员"}
    assert listed("access=no&active=yes") == {"车工", "电工"}
    assert listed("active=no") == {"钳工"}
    body = as_writer.get("/occupations/?access=yes").get_data(as_text=True)
    assert "准入类" in body


def test_list_is_paginated(session, as_writer):
    for n in range(25):
        make_occupation(session, code=f"6-88-{n:02d}-01", name=f"分页职业{n:02d}")
    first = as_writer.get("/occupations/?q=分页职业").get_data(as_text=True)
    second = as_writer.get("/occupations/?q=分页职业&page=2").get_data(as_text=True)
    assert first.count(">分页职业") == 20
    assert second.count(">分页职业") == 5
    assert "共 25 条" in first and "下一页" in first
    assert "page=2" in first and "q=" in first  # the page links keep the search


def test_centre_creates_occupation_through_the_form(session, as_centre):
    resp = as_centre.post("/occupations/new", data={
        "code": "6-18-01-01", "name": "车工", "lowest_level": "5", "highest_level": "1",
        "work_types": "普通车工\r\n数控车工\r\n", "note": "",
    })
    assert resp.status_code == 302
    occ = by_code(session, "6-18-01-01")
    assert occ is not None and [w.name for w in occ.work_types] == ["普通车工", "数控车工"]
    assert occ.is_access_type is False
    page = as_centre.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已添加职业" in page and "数控车工" in page


def test_create_with_bad_input_shows_the_reason(session, as_centre):
    make_occupation(session, code="6-31-01-03", name="电工")
    resp = as_centre.post("/occupations/new", data={
        "code": "6-31-01-03", "name": "电工2", "lowest_level": "5", "highest_level": "1",
    })
    assert resp.status_code == 400
    assert "6-31-01-03 已存在" in resp.get_data(as_text=True)
    resp = as_centre.post("/occupations/new", data={
        "code": "6-31-01-04", "name": "测试", "lowest_level": "2", "highest_level": "4",
    })
    assert resp.status_code == 400
    assert "最高等级不能低于最低等级" in resp.get_data(as_text=True)
    assert by_code(session, "6-31-01-04") is None


def test_centre_edits_and_deactivates(session, as_centre):
    occ = make_occupation(session, code="6-31-01-03", name="电工", work_types=["维修电工"])
    form = as_centre.get(f"/occupations/{occ.id}/edit").get_data(as_text=True)
    assert "维修电工" in form
    resp = as_centre.post(f"/occupations/{occ.id}/edit", data={
        "code": "6-31-01-03", "name": "电工", "lowest_level": "5", "highest_level": "3",
        "work_types": "维修电工\n安装电工", "is_access_type": "y", "note": "省内试点",
    })
    assert resp.status_code == 302
    occ = by_code(session, "6-31-01-03")
    assert (occ.highest_level, occ.is_access_type, occ.note) == (3, True, "省内试点")
    assert [w.name for w in occ.work_types] == ["维修电工", "安装电工"]
    detail = as_centre.get(f"/occupations/{occ.id}").get_data(as_text=True)
    assert "属于准入类职业资格" in detail

    assert as_centre.post(f"/occupations/{occ.id}/active", data={}).status_code == 302
    assert by_code(session, "6-31-01-03").active is True  # not confirmed: nothing happens
    as_centre.post(f"/occupations/{occ.id}/active", data={"confirm": "y"})
    assert by_code(session, "6-31-01-03").active is False


def test_centre_imports_a_good_file(session, as_centre):
    data = xlsx([
        ["6-18-01-01", "车工", "普通车工", 5, 1, "否"],
        ["6-18-01-01", "车工", "数控车工", 5, 1, "否"],
        ["4-12-01-01", "汽车维修工", "汽车电器维修工", "五级/初级工", "一级/高级技师", "否"],
    ])
    resp = upload(as_centre, data)
    assert resp.status_code == 302
    page = as_centre.get(resp.headers["Location"]).get_data(as_text=True)
    assert "新增职业 2 个" in page
    assert occupation_count(session) == 2
    again = as_centre.get(upload(as_centre, data).headers["Location"]).get_data(as_text=True)
    assert "新增职业 0 个" in again and "无变化 2 个" in again
    assert occupation_count(session) == 2


def test_import_with_errors_lists_them_and_saves_nothing(session, as_centre):
    data = xlsx([
        ["6-18-01-01", "车工", "普通车工", 5, 1, "否"],
        ["6-31-01-03", "电工", "", "六级", 1, "否"],
    ])
    resp = upload(as_centre, data)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "第 3 行" in body and "最低等级" in body and "无法识别的等级「六级」" in body
    assert "未导入任何数据" in body
    assert occupation_count(session) == 0
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(WorkType)) == 0


def test_import_refuses_a_non_excel_file(session, as_centre):
    resp = upload(as_centre, b"code,name\n", filename="list.csv")
    assert resp.status_code == 400
    assert "只支持 .xlsx" in resp.get_data(as_text=True)
    resp = upload(as_centre, b"code,name\n", filename="disguised.xlsx")
    assert resp.status_code == 400
    assert "只支持 Excel 2007" in resp.get_data(as_text=True)
    assert occupation_count(session) == 0


def test_template_and_export_downloads(session, as_centre):
    resp = as_centre.get("/occupations/template")
    assert resp.status_code == 200 and resp.mimetype == XLSX
    assert openpyxl.load_workbook(io.BytesIO(resp.data)).sheetnames == ["职业目录", "说明"]

    make_occupation(session, code="6-18-01-01", name="车工", work_types=["普通车工", "数控车工"])
    make_occupation(session, code="6-31-01-03", name="电工")
    resp = as_centre.get("/occupations/export?q=车工")
    assert resp.status_code == 200 and resp.mimetype == XLSX
    rows = list(openpyxl.load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert [r[2] for r in rows[1:]] == ["普通车工", "数控车工"]
    assert {r[1] for r in rows[1:]} == {"车工"}


def test_writer_can_export(session, as_writer):
    make_occupation(session, code="6-31-01-03", name="电工")
    resp = as_writer.get("/occupations/export")
    assert resp.status_code == 200 and resp.mimetype == XLSX
