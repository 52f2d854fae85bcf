"""Institution registry pages: the centre's workflow, and an institution admin's own view."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from foundation.institutions import (
    FilingStep,
    Institution,
    ScopeEntry,
    add_scope_entry,
    advance_filing,
    credit_code_check_char,
    update_filing_windows,
)
from foundation.roles import Role
from tests.factories import make_institution, make_occupation, make_user
from web.templating import BEIJING


def _code(n: int) -> str:
    first17 = f"91220102{n:09d}"
    return first17 + credit_code_check_char(first17)


def _open_window_today(session: Any, centre: Any) -> None:
    """The pages use the real date; make the filing window cover this whole month."""
    today = dt.datetime.now(BEIJING).date()
    update_filing_windows(session, centre, [(today.month, 1, calendar.monthrange(2024, today.month)[1])])


def _close_window_today(session: Any, centre: Any) -> None:
    today = dt.datetime.now(BEIJING).date()
    other = today.month % 12 + 1
    update_filing_windows(session, centre, [(other, 1, 2)])


@pytest.fixture
def centre(session):
    return make_user(session, Role.CENTRE_ADMIN, name="省中心李科长")


def _form(**overrides: Any) -> dict[str, Any]:
    values = {
        "name": "吉林市电工行业协会",
        "kind_tier": "association:city",
        "credit_code": _code(70001),
        "ministry_code": "0000",
        "legal_representative": "赵六",
        "address": "吉林市船营区解放路 1 号",
        "supervising_body": "吉林市人力资源和社会保障局",
        "contact_name": "钱七",
        "contact_phone": "0432-62000000",
        "unit_details": "市级行业协会。",
    }
    values.update(overrides)
    return values


def test_centre_workflow_through_the_pages(session, client, login, centre):
    occ = make_occupation(session, name="电工", code="6-31-01-03")
    _open_window_today(session, centre)
    login(centre)

    resp = client.get("/institutions/new")
    assert resp.status_code == 200 and "登记评价机构申报" in resp.get_data(as_text=True)
    resp = client.post("/institutions/new", data=_form())
    assert resp.status_code == 302, resp.get_data(as_text=True)
    inst = session.scalar(select(Institution).where(Institution.name == "吉林市电工行业协会"))
    assert inst is not None and inst.status == "applied"
    detail_url = f"/institutions/{inst.id}"
    assert resp.headers["Location"].endswith(detail_url)

    body = client.get(detail_url).get_data(as_text=True)
    assert "受理，进入初审" in body and "data-confirm" in body and "登记申报" in body

    # Scope: a city association may go up to level 3 but not 2.
    resp = client.post(f"{detail_url}/scope", data={
        "basis": "filed", "occupation_id": occ.id, "work_type_id": "", "lowest_level": 5, "highest_level": 2,
    })
    assert resp.status_code == 400
    assert "市级行业协会的评价范围最高为三级/高级工，不能申报二级/技师。" in resp.get_data(as_text=True)
    resp = client.post(f"{detail_url}/scope", data={
        "basis": "filed", "occupation_id": occ.id, "work_type_id": "", "lowest_level": 5, "highest_level": 3,
    })
    assert resp.status_code == 302
    assert [(e.lowest_level, e.highest_level) for e in inst.scope_entries] == [(5, 3)]

    for to_status, reason in [("local_review", ""), ("expert_assessment", "初审合格")]:
        resp = client.post(f"{detail_url}/advance", data={"to_status": to_status, "reason": reason})
        assert resp.status_code == 302
    # Rejection without a reason is refused with a message and status 400.
    resp = client.post(f"{detail_url}/advance", data={"to_status": "rejected", "reason": ""})
    assert resp.status_code == 400 and "必须填写原因" in resp.get_data(as_text=True)
    resp = client.post(f"{detail_url}/advance", data={"to_status": "filed", "reason": "专家评估通过",
                                                      "serial": "000321"})
    assert resp.status_code == 302
    session.refresh(inst)
    assert inst.status == "filed" and inst.code == "S000022000321"

    body = client.get(detail_url).get_data(as_text=True)
    assert "S000022000321" in body
    assert "专家评估通过" in body and "省中心李科长" in body  # who and why in the timeline
    assert "暂停" in body and "退出" in body

    # Illegal transition through the page.
    resp = client.post(f"{detail_url}/advance", data={"to_status": "local_review", "reason": "x"})
    assert resp.status_code == 400 and "不能从「已备案」直接变更为「初审中」" in resp.get_data(as_text=True)

    # Removing the only filed row of a filed institution is refused; adding then removing works.
    entry = inst.scope_entries[0]
    resp = client.post(f"{detail_url}/scope/{entry.id}/remove", data={"reason": "调整"})
    assert resp.status_code == 400 and "至少保留一项" in resp.get_data(as_text=True)
    other = make_occupation(session, name="焊工", work_types=["电焊工"])
    resp = client.post(f"{detail_url}/scope", data={
        "basis": "filed", "occupation_id": other.id, "work_type_id": other.work_types[0].id,
        "lowest_level": 5, "highest_level": 4,
    })
    assert resp.status_code == 302
    steps = session.scalars(select(FilingStep).where(FilingStep.institution_id == inst.id)
                            .order_by(FilingStep.id)).all()
    assert steps[-1].reason == "评价范围变更：新增 焊工 / 电焊工（五级/初级工 至 四级/中级工）"
    added = session.scalar(select(ScopeEntry).where(ScopeEntry.occupation_id == other.id))
    resp = client.post(f"{detail_url}/scope/{added.id}/remove", data={"reason": ""})
    assert resp.status_code == 400 and "删除评价范围必须填写原因" in resp.get_data(as_text=True)
    resp = client.post(f"{detail_url}/scope/{added.id}/remove", data={"reason": "不再开展"})
    assert resp.status_code == 302
    # Requests run in their own session on the same connection: count in the database.
    assert session.scalar(select(func.count()).where(ScopeEntry.id == added.id)) == 0

    resp = client.post(f"{detail_url}/advance", data={"to_status": "suspended", "reason": "抽查不合格"})
    assert resp.status_code == 302
    session.refresh(inst)
    assert inst.status == "suspended"
    assert "恢复（解除暂停）" in client.get(detail_url).get_data(as_text=True)


def test_register_page_validation_and_window(session, client, login, centre):
    _open_window_today(session, centre)
    login(centre)
    before = session.scalar(select(func.count()).select_from(Institution))
    resp = client.post("/institutions/new", data=_form(credit_code="91220102000070001X"))
    assert resp.status_code == 400 and "校验位错误" in resp.get_data(as_text=True)
    resp = client.post("/institutions/new", data=_form(kind_tier="association:university"))
    assert resp.status_code == 400 and "行业协会的层级应为" in resp.get_data(as_text=True)
    resp = client.post("/institutions/new", data=_form(name=""))
    assert resp.status_code == 400 and "请输入机构名称" in resp.get_data(as_text=True)
    _close_window_today(session, centre)
    resp = client.post("/institutions/new", data=_form())
    assert resp.status_code == 400 and "不在备案受理期内" in resp.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Institution)) == before


def test_index_search_and_filters(session, client, login, centre):
    make_institution(session, name="长春汽车维修协会", status="applied")
    make_institution(session, name="吉林化工职业技能评价中心", kind="enterprise", tier="enterprise",
                     status="filed", serial="000610", code="Y000022000610", has_self_evaluation=True)
    login(centre)
    body = client.get("/institutions/").get_data(as_text=True)
    assert "长春汽车维修协会" in body and "吉林化工职业技能评价中心" in body
    body = client.get("/institutions/?q=Y000022000610").get_data(as_text=True)
    assert "吉林化工职业技能评价中心" in body and "长春汽车维修协会" not in body
    body = client.get("/institutions/?status=applied&kind=association&q=长春汽车").get_data(as_text=True)
    assert "长春汽车维修协会" in body and "吉林化工" not in body
    body = client.get("/institutions/?kind=enterprise&q=长春汽车").get_data(as_text=True)
    assert "没有符合条件的评价机构" in body


def test_edit_details_page(session, client, login, centre):
    inst = make_institution(session, name="旧协会", credit_code=_code(70002), legal_representative="甲",
                            address="旧址", contact_name="乙", contact_phone="0431-88888888")
    login(centre)
    assert client.get(f"/institutions/{inst.id}/edit").status_code == 200
    data = {"name": "新协会", "credit_code": _code(70002), "legal_representative": "甲", "address": "新址",
            "supervising_body": "", "contact_name": "乙", "contact_phone": "bad"}
    resp = client.post(f"/institutions/{inst.id}/edit", data=data)
    assert resp.status_code == 400 and "联系电话格式不正确" in resp.get_data(as_text=True)
    session.expire_all()
    assert inst.name == "旧协会"
    resp = client.post(f"/institutions/{inst.id}/edit", data={**data, "contact_phone": "0431-88888888"})
    assert resp.status_code == 302
    session.refresh(inst)
    assert inst.name == "新协会" and inst.address == "新址"


def test_unknown_institution_404(session, client, login, centre):
    login(centre)
    assert client.get("/institutions/999999").status_code == 404


CENTRE_ROUTES = [
    ("get", "/institutions/"),
    ("get", "/institutions/new"),
    ("post", "/institutions/new"),
    ("get", "/institutions/{id}"),
    ("get", "/institutions/{id}/edit"),
    ("post", "/institutions/{id}/edit"),
    ("post", "/institutions/{id}/advance"),
    ("post", "/institutions/{id}/scope"),
    ("post", "/institutions/{id}/scope/{entry}/remove"),
    ("get", "/rules/"),
    ("post", "/rules/"),
]


def test_institution_admin_gets_403_on_centre_routes_and_sees_only_own(session, client, login, centre):
    occ = make_occupation(session, name="茶艺师")
    own = make_institution(session, name="本机构茶艺协会", contact_name="本机构联系人")
    other = make_institution(session, name="他机构焊接协会", contact_name="他机构联系人")
    entry = add_scope_entry(session, centre, own.id, occupation_id=occ.id, work_type_id=None,
                            lowest_level=5, highest_level=4)
    other_entry = add_scope_entry(session, centre, other.id, occupation_id=occ.id, work_type_id=None,
                                  lowest_level=5, highest_level=3)
    advance_filing(session, centre, own.id, "local_review", "材料齐全（内部意见）")
    ia = make_user(session, Role.INSTITUTION_ADMIN, institution=own)
    login(ia)
    for method, path in CENTRE_ROUTES:
        for inst, e in ((own, entry), (other, other_entry)):
            url = path.format(id=inst.id, entry=e.id)
            resp = getattr(client, method)(url, data={})
            assert resp.status_code == 403, (method, url, resp.status_code)
    session.expire_all()
    assert other.status == "applied" and len(other.scope_entries) == 1

    resp = client.get("/institutions/mine")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "本机构茶艺协会" in body and "茶艺师" in body and "材料齐全（内部意见）" in body
    assert "他机构" not in body
    assert "data-confirm" not in body  # read-only: no action forms


def test_mine_is_for_institution_admins_only(session, client, login, centre):
    login(centre)
    assert client.get("/institutions/mine").status_code == 403
    login(make_user(session, Role.PROCTOR))
    assert client.get("/institutions/mine").status_code == 403
    assert client.get("/institutions/").status_code == 403


def test_anonymous_redirected_to_login(client):
    resp = client.get("/institutions/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert client.post("/institutions/1/advance", data={}).status_code == 401


def test_every_view_declares_access(app):
    for endpoint, view in app.view_functions.items():
        if endpoint.split(".")[0] in {"institutions", "rules", "public"}:
            assert getattr(view, "allowed_roles", None) or getattr(view, "public", False), endpoint
