"""The rules page: the centre edits scope caps, filing windows and the province code."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from foundation.audit import AuditEntry
from foundation.errors import ValidationError
from foundation.institutions import add_scope_entry, scope_caps
from foundation.roles import Role
from foundation.settings import DEFAULT_RULES, get_rule
from tests.factories import make_institution, make_occupation, make_user
from web.rules.forms import cap_field_name


@pytest.fixture
def centre(session):
    return make_user(session, Role.CENTRE_ADMIN)


def _caps_post(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"section": "caps"}
    for key, value in DEFAULT_RULES["scope_caps"].items():
        data[cap_field_name(key)] = str(value)
    data[cap_field_name("enterprise:enterprise")] = ""
    for key, value in changes.items():
        data[cap_field_name(key.replace("__", ":"))] = value
    return data


def test_rules_page_shows_current_rules(session, client, login, centre):
    login(centre)
    resp = client.get("/rules/")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    for text in ("评价范围等级上限", "市级行业协会", "技师学院", "不另设上限（按自主评价范围）",
                 "备案申报窗口期", 'value="22"', "省份代码"):
        assert text in body, text


def test_editing_a_cap_takes_effect(session, client, login, centre):
    occ = make_occupation(session)
    inst = make_institution(session, tier="county")
    call = {"occupation_id": occ.id, "work_type_id": None, "lowest_level": 5, "highest_level": 3}
    with pytest.raises(ValidationError, match="县级行业协会的评价范围最高为四级/中级工"):
        add_scope_entry(session, centre, inst.id, **call)

    login(centre)
    resp = client.post("/rules/", data=_caps_post(association__county="3"))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert scope_caps(session)["association:county"] == 3
    assert "enterprise:enterprise" not in scope_caps(session)
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert last.action == "setting.update" and last.target_id == "scope_caps"
    assert add_scope_entry(session, centre, inst.id, **call).highest_level == 3
    assert "已保存" in client.get("/rules/").get_data(as_text=True)


def test_cap_validation_on_the_page(session, client, login, centre):
    login(centre)
    resp = client.post("/rules/", data=_caps_post(association__city="9"))
    assert resp.status_code == 400
    assert "市级行业协会的等级上限应为 1 到 5 之间的等级" in resp.get_data(as_text=True)
    resp = client.post("/rules/", data=_caps_post(school__university=""))
    assert resp.status_code == 400 and "请为高等学校选择评价等级上限" in resp.get_data(as_text=True)
    assert get_rule(session, "scope_caps") == DEFAULT_RULES["scope_caps"]


def test_filing_windows_on_the_page(session, client, login, centre):
    login(centre)
    data = {
        "section": "windows",
        "windows-0-month": "4", "windows-0-first": "1", "windows-0-last": "15",
        "windows-1-month": "10", "windows-1-first": "8", "windows-1-last": "20",
        "windows-2-month": "", "windows-2-first": "", "windows-2-last": "",
    }
    resp = client.post("/rules/", data=data)
    assert resp.status_code == 302
    assert get_rule(session, "filing_windows") == [[4, 1, 15], [10, 8, 20]]
    bad = {**data, "windows-1-first": "25"}
    resp = client.post("/rules/", data=bad)
    assert resp.status_code == 400 and "起始日不能晚于截止日" in resp.get_data(as_text=True)
    resp = client.post("/rules/", data={**data, "windows-0-month": "2", "windows-0-last": "30"})
    assert resp.status_code == 400 and "2月的日期应在 1 到 29 之间" in resp.get_data(as_text=True)
    resp = client.post("/rules/", data={"section": "windows", "windows-0-month": ""})
    assert resp.status_code == 400 and "至少需要设置一个备案受理期" in resp.get_data(as_text=True)
    assert get_rule(session, "filing_windows") == [[4, 1, 15], [10, 8, 20]]


def test_province_code_on_the_page(session, client, login, centre):
    login(centre)
    resp = client.post("/rules/", data={"section": "province", "province_code": "9x"})
    assert resp.status_code == 400 and "2 位数字" in resp.get_data(as_text=True)
    resp = client.post("/rules/", data={"section": "province", "province_code": "00"})
    assert resp.status_code == 400 and "不是有效的省级行政区划代码" in resp.get_data(as_text=True)
    assert get_rule(session, "province_code") == "22"
    resp = client.post("/rules/", data={"section": "province", "province_code": "23"})
    assert resp.status_code == 302
    assert get_rule(session, "province_code") == "23"


def test_unknown_section_refused(session, client, login, centre):
    login(centre)
    resp = client.post("/rules/", data={"section": "other"})
    assert resp.status_code == 400 and "未知的规则类别" in resp.get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.INSTITUTION_ADMIN, Role.SUPERVISOR, Role.QUESTION_WRITER])
def test_rules_page_centre_only(session, client, login, role):
    login(make_user(session, role))
    assert client.get("/rules/").status_code == 403
    assert client.post("/rules/", data={"section": "province", "province_code": "23"}).status_code == 403
    assert get_rule(session, "province_code") == "22"
