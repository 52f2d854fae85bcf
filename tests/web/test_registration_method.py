"""The roster's 评价方式 and 考生类别: one registration on its page, several at once with a
confirmation; another institution's admin and the centre are refused; refusals change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from foundation.audit import AuditEntry
from grading.results.models import LevelDecision
from tests.grading.results_worlds import ResultsWorld


@pytest.fixture
def w(session):
    world = ResultsWorld(session)
    world.batch_a = world.batch(world.a)
    world.regs = [world.register(world.batch_a, world.candidate(world.a, name=f"陈{k}")) for k in "一二三"]
    for reg in world.regs:
        world.result(reg, "theory", "2026-09-10", 80)
        world.result(reg, "skill", "2026-09-11", 70)
    return world


def _audits(session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry)
                          .where(AuditEntry.action == "registration.update")) or 0


def test_one_registration_on_its_page(session, client, login, w):
    login(w.admin_a)
    body = client.get(f"/batches/{w.batch_a.id}").get_data(as_text=True)
    assert f'data-registration="{w.regs[0].id}"' in body and 'data-method="assessment">认定考核' in body
    assert 'id="method-bulk"' in body
    page = f"/batches/{w.batch_a.id}/registrations/{w.regs[0].id}/method"
    body = client.get(page).get_data(as_text=True)
    assert 'id="registration-method-form"' in body and "考评结合" in body
    resp = client.post(page, data={"method": "combined", "category": "own_staff"}, follow_redirects=True)
    assert "已修改「陈一」的评价方式和考生类别：考评结合，本单位职工。" in resp.get_data(as_text=True)
    session.expire_all()
    assert (w.regs[0].method, w.regs[0].category) == ("combined", "own_staff") and _audits(session) == 1
    resp = client.post(page, data={"method": "competition", "category": "own_staff"})
    assert resp.status_code == 400 and "竞赛选拔按竞赛成绩" in resp.get_data(as_text=True)
    session.expire_all()
    assert w.regs[0].method == "combined" and _audits(session) == 1


def test_several_at_once_need_the_confirmation_and_are_all_or_nothing(session, client, login, w):
    login(w.admin_a)
    url = f"/batches/{w.batch_a.id}/registrations/method"
    ids = [str(r.id) for r in w.regs]
    resp = client.post(url, data={"registration_id": ids, "method": "performance"}, follow_redirects=True)
    assert "须勾选「确认修改所选考生」" in resp.get_data(as_text=True) and _audits(session) == 0
    client.post(f"/results/batches/{w.batch_a.id}/decide", data={})
    draft = session.scalar(select(LevelDecision).where(LevelDecision.registration_id == w.regs[2].id))
    client.post(f"/results/batches/{w.batch_a.id}/decisions/{draft.id}/confirm", data={})
    resp = client.post(url, data={"registration_id": ids, "method": "performance", "confirm": "1"},
                       follow_redirects=True)
    assert "「陈三」的认定结论已确认发布" in resp.get_data(as_text=True)
    session.expire_all()
    assert [r.method for r in w.regs] == ["assessment"] * 3 and _audits(session) == 0
    resp = client.post(url, data={"registration_id": ids[:2], "category": "dispatched", "confirm": "1"},
                       follow_redirects=True)
    assert "已修改 2 名考生" in resp.get_data(as_text=True)
    session.expire_all()
    assert [r.category for r in w.regs] == ["dispatched", "dispatched", "other"] and _audits(session) == 2


def test_another_institution_and_the_centre_are_refused(session, client, login, w):
    page = f"/batches/{w.batch_a.id}/registrations/{w.regs[0].id}/method"
    bulk = f"/batches/{w.batch_a.id}/registrations/method"
    login(w.admin_b)
    assert client.get(page).status_code == 403
    assert client.post(page, data={"method": "combined"}).status_code == 403
    assert client.post(bulk, data={"registration_id": [str(w.regs[0].id)], "method": "combined",
                                   "confirm": "1"}).status_code == 403
    login(w.centre)
    assert client.post(page, data={"method": "combined"}).status_code == 403
    body = client.get(f"/batches/{w.batch_a.id}").get_data(as_text=True)
    assert 'id="method-bulk"' not in body and "/method" not in body
    # A registration of another batch is not this batch's page.
    other = w.register(w.batch(w.a), w.candidate(w.a))
    login(w.admin_a)
    assert client.get(f"/batches/{w.batch_a.id}/registrations/{other.id}/method").status_code == 404
    assert client.post(bulk, data={"registration_id": [str(other.id)], "method": "combined",
                                   "confirm": "1"}).status_code == 404
    session.expire_all()
    assert w.regs[0].method == "assessment" and other.method == "assessment" and _audits(session) == 0
