"""The bank's object-level refusals over HTTP (pages and /api/v1), with two institutions:
another institution's ids in URLs and payloads are 404/403 and change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from foundation.accounts import User
from foundation.audit import AuditEntry
from foundation.roles import Role
from itembank import access
from itembank.images import image_url
from itembank.models import BankAssignment, ItemStatus
from tests.factories import PASSWORD, make_user
from tests.itembank.worlds import AccessWorld


@pytest.fixture
def world(session):
    return AccessWorld(session)


def _status(session, item) -> str:
    session.expire(item)
    return item.status


# ---------------------------------------------------------------- reviewers


def test_reviewer_gets_404_for_another_institutions_item_everywhere(session, client, login, world):
    login(world.reviewer("A"))
    theirs, submitted = world.active["B"], world.submitted["B"]
    for path in (f"/itembank/items/{theirs.id}", f"/api/v1/items/{theirs.id}",
                 f"/api/v1/items/{theirs.id}/versions", f"/api/v1/items/{theirs.id}/versions/1",
                 f"/api/v1/items/{theirs.id}/duplicates"):
        resp = client.get(path)
        assert resp.status_code == 404, path
        assert "B" not in (resp.get_json() or {}).get("key", ""), path
    for item, action in ((theirs, "retire"), (submitted, "review"), (submitted, "return")):
        before = _status(session, item)
        resp = client.post(f"/api/v1/items/{item.id}/transitions", json={"action": action, "comment": "越权"})
        assert resp.status_code == 404, (action, resp.get_json())
        resp = client.post(f"/itembank/items/{item.id}/action", data={"action": action, "comment": "越权"})
        assert resp.status_code == 404, action
        assert _status(session, item) == before
    # Their own institution's item is there, key included.
    resp = client.get(f"/api/v1/items/{world.active['A'].id}")
    assert resp.status_code == 200 and resp.get_json()["id"] == world.active["A"].id


def test_reviewer_lists_and_queue_hold_only_their_pairs(session, client, login, world):
    login(world.reviewer("A"))
    listed = {i["id"] for i in client.get("/api/v1/items?per_page=100").get_json()["items"]}
    assert listed == {world.active["A"].id, world.submitted["A"].id, world.other_item.id}
    page = client.get("/itembank/items").get_data(as_text=True)
    assert world.active["A"].code in page and world.active["B"].code not in page
    queue = client.get("/itembank/review").get_data(as_text=True)
    assert world.submitted["A"].code in queue and world.submitted["B"].code not in queue
    job = client.post("/itembank/items/export", data={"format": "qti"})
    export = client.get(job.headers["Location"] + "/download")  # the job ran in the request (JOBS_INLINE)
    assert export.status_code == 200
    names = export.get_data()
    assert world.active["B"].code.encode() not in names and world.active["A"].code.encode() in names


def test_reviewer_cannot_read_or_approve_another_institutions_paper(session, client, login, world):
    login(world.reviewer("A"))
    locked_b = world.paper["B"]
    for path in (f"/api/v1/papers/{locked_b.id}", f"/api/v1/papers/{locked_b.id}/coverage",
                 f"/itembank/papers/{locked_b.id}", f"/itembank/papers/{locked_b.id}/curves.json"):
        assert client.get(path).status_code == 403, path
    resp = client.post(f"/api/v1/papers/{locked_b.id}/transitions", json={"action": "approve"})
    assert resp.status_code == 403
    resp = client.post(f"/itembank/papers/{locked_b.id}/action", data={"action": "approve"})
    assert resp.status_code == 403
    session.expire(locked_b)
    assert locked_b.status == "submitted"
    listed = {p["id"] for p in client.get("/api/v1/papers?per_page=100").get_json()["items"]}
    assert listed == {world.paper["A"].id}
    assert client.get(f"/api/v1/papers?institution={world.inst['B'].id}").get_json()["items"] == []
    assert client.get(f"/api/v1/papers/{world.paper['A'].id}").status_code == 200  # locked, their own


def test_reviewer_without_the_occupation_gets_404_for_its_blueprint(session, client, login, world):
    expert = make_user(session, Role.ITEM_REVIEWER)
    access.assign(session, world.centre, expert.id, occupation_id=world.bp.occupation_id,
                  institution_id=world.inst["A"].id)
    login(expert)
    other = world.other_bp
    for path in (f"/itembank/blueprints/{other.id}", f"/api/v1/blueprints/{other.id}",
                 f"/api/v1/blueprints/{other.id}/coverage", f"/itembank/blueprints/{other.id}/edit",
                 f"/itembank/blueprints/{other.id}/export"):
        assert client.get(path).status_code == 404, path
    resp = client.put(f"/api/v1/blueprints/{other.id}/nodes", json={"nodes": []})
    assert resp.status_code == 404
    listed = {b["id"] for b in client.get("/api/v1/blueprints?per_page=100").get_json()["items"]}
    assert listed == {world.bp.id}
    form = client.get("/itembank/blueprints/new").get_data(as_text=True)
    mine, theirs = world.bp.occupation, other.occupation
    assert f"{mine.code} {mine.name}" in form and f"{theirs.code} {theirs.name}" not in form


# ---------------------------------------------------------------- writers


def test_writers_cannot_revise_items_they_may_not(session, client, login, world):
    item = world.active["A"]
    body = {"stem_html": "<p>被改写的题干？</p>",
            "spec": {"options": [{"label": x, "html": f"改{x}"} for x in "ABCD"], "key": ["A"]}}
    # A colleague of the same institution reads the item but may not revise it (403); another
    # institution's writer cannot even read it (404).
    for outsider, refused in ((world.colleague["A"], 403), (world.writer["B"], 404)):
        login(outsider)
        assert client.put(f"/api/v1/items/{item.id}", json=body).status_code == refused
        assert client.get(f"/itembank/items/{item.id}/edit").status_code == refused
        assert client.post(f"/itembank/items/{item.id}/edit", data={"stem_html": "<p>改</p>"}).status_code == refused
        assert _status(session, item) == ItemStatus.ACTIVE
    login(world.writer["A"])  # the author
    assert client.put(f"/api/v1/items/{item.id}", json=body).status_code == 200
    assert _status(session, item) == ItemStatus.DRAFT


# ---------------------------------------------------------------- images


def test_item_images_follow_item_access(session, client, login, world):
    url_a, url_b = image_url(world.image["A"]), image_url(world.image["B"])
    for user in (world.proctor, world.examiner, world.supervisor, world.admin["A"]):
        login(user)
        assert client.get(url_a).status_code == 404 and client.get(url_b).status_code == 404
    login(world.reviewer("A"))
    assert client.get(url_a).status_code == 200 and client.get(url_b).status_code == 404
    login(world.centre)
    assert client.get(url_b).status_code == 200


# ---------------------------------------------------------------- who creates and assigns reviewers


def test_an_institution_admin_cannot_create_a_reviewer(session, client, login, world):
    login(world.admin["A"])
    assert "审题员" not in client.get("/users/new").get_data(as_text=True)
    resp = client.post("/users/new", data={"role": "item_reviewer", "name": "机构审题员", "username": "own_rev",
                                           "password": PASSWORD})
    assert resp.status_code == 400
    assert session.scalar(select(User).where(User.username == "own_rev")) is None


def test_assignment_section_centre_for_reviewers_admins_for_own_writers(session, client, login, world):
    expert = make_user(session, Role.ITEM_REVIEWER, name="专家甲")
    count = lambda uid: session.scalar(select(func.count()).select_from(BankAssignment)  # noqa: E731
                                       .where(BankAssignment.user_id == uid))
    login(world.admin["A"])
    resp = client.post(f"/users/{expert.id}/assignments", data={"occupation_id": str(world.bp.occupation_id),
                                                                "institution_id": str(world.inst["A"].id)})
    assert resp.status_code == 403 and count(expert.id) == 0
    resp = client.post(f"/users/{world.writer['B'].id}/assignments",
                       data={"occupation_id": str(world.bp.occupation_id)})
    assert resp.status_code == 403 and count(world.writer["B"].id) == 0
    resp = client.post(f"/users/{world.colleague['A'].id}/assignments",
                       data={"occupation_id": str(world.bp.occupation_id), "institution_id": str(world.inst["B"].id)})
    assert resp.status_code == 302
    (grant,) = access.assignments_of(session, world.colleague["A"].id)
    assert grant.institution_id == world.inst["A"].id  # the payload's institution is not taken
    page = client.get(f"/users/{world.colleague['A'].id}").get_data(as_text=True)
    assert "修订授权" in page and world.bp.occupation.name in page

    login(world.centre)
    page = client.get(f"/users/{expert.id}").get_data(as_text=True)
    assert "审题范围" in page and "尚未分配审题范围" in page
    resp = client.post(f"/users/{expert.id}/assignments", data={"occupation_id": str(world.bp.occupation_id),
                                                                "institution_id": str(world.inst["B"].id)})
    assert resp.status_code == 302
    (row,) = access.assignments_of(session, expert.id)
    assert (row.occupation_id, row.institution_id) == (world.bp.occupation_id, world.inst["B"].id)
    assert world.inst["B"].name in client.get(f"/users/{expert.id}").get_data(as_text=True)
    # Removing through another user's URL is refused; through the right one it is audited.
    assert client.post(f"/users/{world.writer['A'].id}/assignments/{row.id}/delete").status_code == 404
    assert client.post(f"/users/{expert.id}/assignments/{row.id}/delete").status_code == 302
    assert count(expert.id) == 0
    actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.target_id == str(expert.id))))
    assert {"bank_assignment.create", "bank_assignment.delete"} <= actions
