"""Public disclosure (信息公开): filed institutions only, disclosed fields only, no login."""

from __future__ import annotations

from typing import Any

import pytest

from foundation.institutions import add_scope_entry, advance_filing, credit_code_check_char
from foundation.roles import Role
from tests.factories import make_institution, make_occupation, make_user


def _code(n: int) -> str:
    first17 = f"91220103{n:09d}"
    return first17 + credit_code_check_char(first17)


@pytest.fixture
def registry(session) -> dict[str, Any]:
    centre = make_user(session, Role.CENTRE_ADMIN, name="省中心经办人甲")
    lathe = make_occupation(session, name="车工", code="6-18-01-01", work_types=["普通车工", "数控车工"])
    welder = make_occupation(session, name="焊工", code="6-18-02-04")
    filed = make_institution(
        session, name="长春机械行业协会", tier="provincial", credit_code=_code(1),
        legal_representative="法人甲",
        address="长春市朝阳区人民大街 100 号", supervising_body="长春市人力资源和社会保障局",
        contact_name="联系人乙", contact_phone="0431-81234567", unit_details="省级行业协会，会员 300 家。",
        status="expert_assessment",
    )
    add_scope_entry(session, centre, filed.id, occupation_id=lathe.id, work_type_id=lathe.work_types[1].id,
                    lowest_level=5, highest_level=2)
    advance_filing(session, centre, filed.id, "filed", "专家评估通过（内部意见）", serial="000088")
    hidden = {
        "applied": make_institution(session, name="申报中协会", status="applied"),
        "suspended": make_institution(session, name="暂停中协会", status="suspended", serial="000089",
                                      code="S000022000089"),
        "exited": make_institution(session, name="已退出协会", status="exited", serial="000090",
                                   code="S000022000090"),
        "rejected": make_institution(session, name="不予备案协会", status="rejected"),
    }
    for i in range(3):
        inst = make_institution(session, name=f"焊接评价机构{i}", status="expert_assessment")
        add_scope_entry(session, centre, inst.id, occupation_id=welder.id, work_type_id=None,
                        lowest_level=5, highest_level=4)
        advance_filing(session, centre, inst.id, "filed", "")
    return {"filed": filed, "hidden": hidden}


def test_public_list_needs_no_login_and_shows_filed_only(session, client, registry):
    resp = client.get("/public/institutions")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "长春机械行业协会" in body and "S000022000088" in body
    assert "车工" in body and "数控车工" in body and "五级/初级工 至 二级/技师" in body
    assert "长春市朝阳区人民大街 100 号" in body and "联系人乙" in body and "0431-81234567" in body
    for name in ("申报中协会", "暂停中协会", "已退出协会", "不予备案协会"):
        assert name not in body
    # Never the credit code, the legal representative, filing reasons or staff.
    for secret in (_code(1), "法人甲", "内部意见", "省中心经办人甲"):
        assert secret not in body


def test_public_search_by_name_and_occupation(session, client, registry):
    body = client.get("/public/institutions?q=数控").get_data(as_text=True)
    assert "长春机械行业协会" in body and "焊接评价机构" not in body
    body = client.get("/public/institutions?q=焊工").get_data(as_text=True)
    assert "焊接评价机构0" in body and "长春机械行业协会" not in body
    body = client.get("/public/institutions?q=机械行业").get_data(as_text=True)
    assert "长春机械行业协会" in body
    body = client.get("/public/institutions?q=暂停中").get_data(as_text=True)
    assert "没有符合条件的已备案评价机构" in body


def test_public_list_paginates(app, session, client, registry):
    app.config["PAGE_SIZE"] = 2
    try:
        body = client.get("/public/institutions").get_data(as_text=True)
        assert "共 4 条" in body and "下一页" in body
        body = client.get("/public/institutions?page=2").get_data(as_text=True)
        assert "共 4 条" in body
    finally:
        app.config["PAGE_SIZE"] = 20


def test_public_detail(session, client, registry):
    filed = registry["filed"]
    resp = client.get(f"/public/institutions/{filed.id}")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "长春机械行业协会" in body and "S000022000088" in body and "省级行业协会，会员 300 家。" in body
    assert "长春市人力资源和社会保障局" in body and "数控车工" in body
    for secret in (_code(1), "法人甲", "内部意见", "省中心经办人甲"):
        assert secret not in body


def test_public_detail_404_for_unfiled(session, client, registry):
    for inst in registry["hidden"].values():
        assert client.get(f"/public/institutions/{inst.id}").status_code == 404
    assert client.get("/public/institutions/999999").status_code == 404


def test_public_pages_work_when_logged_in_too(session, client, login, registry):
    login(make_user(session, Role.CANDIDATE))
    assert client.get("/public/institutions").status_code == 200
