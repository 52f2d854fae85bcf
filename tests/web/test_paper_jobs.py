"""Paper assembly as a background job (issue 16 point 7): the builder and ``POST /api/v1/papers``
only queue ``paper.assemble``; the job worker builds the pool, solves and writes the paper in a
second transaction, audited as the starter. The job and its result are the starter's only."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from foundation import jobs
from foundation.audit import AuditEntry
from foundation.errors import ValidationError
from foundation.jobs import Job
from foundation.roles import Role
from itembank import items as item_svc
from itembank import paper_jobs
from itembank.models import Item, Paper
from itembank.papers import Section, plan_paper, store_paper
from tests.factories import make_user
from tests.itembank.worlds import Bank
from web.extensions import db


@pytest.fixture
def bank(session) -> Bank:
    return Bank(session)


def body(bank: Bank, **extra):
    data = {"blueprint_id": bank.bp.id, "name": "电工四级理论A卷", "mode": "blueprint", "n_forms": 2,
            "sections": [{"type": "single_choice", "count": 6, "points": 1}, {"type": "true_false", "count": 6,
                                                                               "points": 1.5}],
            "scale_to_100": True}
    data.update(extra)
    return data


def papers(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count(Paper.id)))


def test_the_api_queues_the_assembly_and_the_worker_writes_it_as_the_starter(app, session, client, login, bank,
                                                                             tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)  # as in production: the request only queues
    login(bank.admin)
    resp = client.post("/api/v1/papers", json=body(bank))
    assert resp.status_code == 202, resp.get_json()
    queued = resp.get_json()
    assert queued["status"] == "queued" and queued["result"] is None and queued["finished"] is False
    assert papers(session) == 0  # nothing assembled in the request
    job = session.get(Job, queued["id"])
    assert job.kind == paper_jobs.ASSEMBLE and job.user_id == bank.admin.id
    assert job.params["institution_id"] == bank.inst.id  # an institution admin's own, filled in

    assert jobs.run_next(db.session.session_factory, tmp_path) == queued["id"]
    done = client.get(resp.headers["Location"]).get_json()
    assert done["status"] == "done" and done["progress"] == 100 and done["finished"] is True, done
    paper_id = done["result"]["paper_id"]
    assert done["result"]["forms"] == 2 and "组卷完成" in done["result"]["message"]
    assert done["paper_url"] == f"/api/v1/papers/{paper_id}"
    paper = client.get(done["paper_url"]).get_json()
    assert paper["created_by"]["id"] == bank.admin.id and paper["form_labels"] == ["A", "B"]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "paper.assemble")).one()
    assert entry.actor_id == bank.admin.id and entry.target_id == str(paper_id)

    # Only the starter reads the job: anyone else, even the centre, gets 404 as if it did not exist.
    for other in (bank.centre, make_user(session, Role.INSTITUTION_ADMIN, institution_id=bank.inst.id)):
        login(other)
        missing = client.get(f"/api/v1/jobs/{queued['id']}")
        assert missing.status_code == 404 and missing.get_json() == {"error": "没有这个任务。", "status": 404}
        assert client.get(f"/jobs/{queued['id']}").status_code == 404
    login(bank.admin)
    assert client.get("/api/v1/jobs/999999").status_code == 404


def test_cheap_errors_are_refused_at_once_and_queue_nothing(app, session, client, login, bank, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    login(bank.admin)
    before = session.scalar(select(func.count(Job.id)))
    blank = client.post("/api/v1/papers", json=body(bank, name="   "))
    assert blank.status_code == 400 and blank.get_json()["field"] == "name"
    page = client.post("/itembank/papers/new", data={
        "institution_id": str(bank.inst.id), "blueprint_id": str(bank.bp.id), "name": "", "mode": "blueprint",
        "section_type": ["single_choice"], "section_count": ["3"], "section_points": ["1"], "n_forms": "1",
        "duration_minutes": "120", "cut_theta": "0", "tif_tolerance": ""})
    assert page.status_code == 400 and "请填写试卷名称" in page.get_data(as_text=True)
    assert session.scalar(select(func.count(Job.id))) == before


def test_the_page_queues_the_job_and_its_page_links_the_paper(app, session, client, login, bank, tmp_path,
                                                             monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    login(bank.centre)
    resp = client.post("/itembank/papers/new", data={
        "institution_id": str(bank.inst.id), "blueprint_id": str(bank.bp.id), "name": "页面组卷",
        "mode": "type_counts", "section_type": ["true_false"], "section_count": ["4"], "section_points": ["1"],
        "n_forms": "1", "duration_minutes": "120", "cut_theta": "0", "tif_tolerance": "", "scale_to_100": "y"})
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/jobs/")
    waiting = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "排队中" in waiting and 'id="job-paper"' not in waiting
    job_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert jobs.run_next(db.session.session_factory, tmp_path) == job_id
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    paper = session.scalars(select(Paper)).one()
    assert paper.name == "页面组卷" and paper.created_by_id == bank.centre.id
    assert f'id="job-paper" href="/itembank/papers/{paper.id}"' in html and "组卷完成：页面组卷" in html


def test_the_store_refuses_items_changed_since_the_plan(session, bank):
    """The job plans in one transaction and stores in another: an item retired in between
    must not land on a paper."""
    plan = plan_paper(session, bank.admin, institution_id=bank.inst.id, blueprint_id=bank.bp.id, name="两段组卷",
                      mode="type_counts", sections=[Section("true_false", 4, 1.0)], scale_to_100=True)
    chosen = session.get(Item, plan.chosen[0][0])
    item_svc.retire_item(session, bank.centre, chosen.id, "过时")
    with pytest.raises(ValidationError, match="组卷期间有试题被修改或停用"):
        store_paper(session, bank.admin, plan)
