"""The 技能操作试题 pages: write with criteria rows, refused totals shown, review and lock,
print, list search, and who reads what."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from foundation.roles import Role
from itembank import skill_tasks as svc
from itembank.models import SkillTask
from tests.examroom.worlds import World
from tests.factories import make_user
from tests.itembank.worlds import SkillBank


@pytest.fixture
def bank(session):
    return SkillBank(session)


def _form(bank, points=("50", "30", "20", ""), **kw):
    data = {"blueprint_id": str(bank.bp.id), "name": "三相电动机控制线路安装", "duration_minutes": "150",
            "prep_notice_html": "<p>每工位：三相电动机一台。</p>", "candidate_notice_html": "<p>考生须穿绝缘鞋。</p>",
            "task_html": "<p>按原理图安装正反转控制线路。</p>",
            "crit_name": ["元件安装", "布线", "通电试车", ""], "crit_points": list(points),
            "crit_standard": ["元件布置合理", "布线横平竖直", "一次试车成功", ""],
            "crit_deductions": ["每处扣 2 分", "每处扣 1 分", "不成功扣 20 分", ""]}
    data.update(kw)
    return data


def test_a_writer_writes_a_task_and_a_reviewer_locks_it(session, client, login, bank):
    login(bank.writer)
    assert "操作技能细目表" in client.get("/itembank/skill-tasks/new").get_data(as_text=True)
    resp = client.post("/itembank/skill-tasks/new", data=_form(bank))
    assert resp.status_code == 302
    task = session.scalar(select(SkillTask).order_by(SkillTask.id.desc()))
    assert [c.name for c in task.criteria] == ["元件安装", "布线", "通电试车"] and task.total_points == 100
    page = client.get(f"/itembank/skill-tasks/{task.id}").get_data(as_text=True)
    assert "按原理图安装正反转控制线路" in page and "不成功扣 20 分" in page
    assert client.post(f"/itembank/skill-tasks/{task.id}/action", data={"action": "submit"}).status_code == 302
    assert client.post(f"/itembank/skill-tasks/{task.id}/action", data={"action": "approve"}).status_code == 403

    login(bank.reviewer)
    resp = client.post(f"/itembank/skill-tasks/{task.id}/action", data={"action": "approve", "comment": "同意"})
    assert resp.status_code == 302
    session.refresh(task)
    assert task.status == "locked"
    sheet = client.get(f"/itembank/skill-tasks/{task.id}/print/sheet").get_data(as_text=True)
    assert "评分记录表" in sheet and "考评员签名" in sheet and "元件布置合理" in sheet
    assert "每工位：三相电动机一台" in client.get(f"/itembank/skill-tasks/{task.id}/print/prep").get_data(as_text=True)
    assert client.get(f"/itembank/skill-tasks/{task.id}/print/other").status_code == 404


def test_a_total_other_than_100_is_refused_on_the_page_and_kept_as_typed(session, client, login, bank):
    login(bank.writer)
    before = session.scalar(select(func.count()).select_from(SkillTask))
    resp = client.post("/itembank/skill-tasks/new", data=_form(bank, points=("50", "30", "15", "")))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "配分合计须为 100 分（当前合计 95 分）" in page
    assert 'value="15"' in page and "布线横平竖直" in page
    assert session.scalar(select(func.count()).select_from(SkillTask)) == before


def test_the_list_searches_and_pages_within_scope(session, client, login, bank, app):
    from itembank.models import PaperStatus
    from tests.itembank.worlds import content

    for k in range(3):
        svc.create_task(session, bank.writer, blueprint_id=bank.bp.id, content=content(name=f"低压配电柜安装{k}"))
    svc.create_task(session, bank.writer, blueprint_id=bank.bp.id, content=content(name="照明线路检修"))
    login(bank.writer)
    page = client.get("/itembank/skill-tasks?q=配电柜").get_data(as_text=True)
    assert page.count("低压配电柜安装") == 3 and "照明线路检修" not in page
    app.config["PAGE_SIZE"], size = 2, app.config["PAGE_SIZE"]
    try:
        assert "共 4 条" in client.get("/itembank/skill-tasks").get_data(as_text=True)
    finally:
        app.config["PAGE_SIZE"] = size
    other = make_user(session, Role.INSTITUTION_ADMIN, institution=World(session).inst)
    login(other)
    assert "低压配电柜安装" not in client.get("/itembank/skill-tasks").get_data(as_text=True)
    task = session.scalar(select(SkillTask).where(SkillTask.name == "照明线路检修"))
    assert client.get(f"/itembank/skill-tasks/{task.id}").status_code == 404
    assert client.get(f"/itembank/skill-tasks/{task.id}/print/task").status_code == 404
    assert task.status == PaperStatus.DRAFT.value
