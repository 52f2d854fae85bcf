"""Papers in the JSON API (/api/v1/papers): assembly, the paper library, curves and coverage,
the review workflow, per-role and per-institution authorisation, and no item content or key
in any response (institution admins read papers too)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from foundation.audit import AuditEntry
from foundation.institutions import ScopeEntry
from foundation.roles import Role
from itembank import papers as paper_svc
from itembank.models import Paper, PaperForm, PaperItem
from itembank.papers import Section
from tests.factories import assign, make_institution, make_user
from tests.itembank.worlds import Bank

C, IA, QW, IR = Role.CENTRE_ADMIN, Role.INSTITUTION_ADMIN, Role.QUESTION_WRITER, Role.ITEM_REVIEWER
ITEM_FIELDS = {"position", "item_id", "code", "type", "type_label", "point_code", "points", "version"}
CONTENT_KEYS = {"spec", "key", "stem_html", "stem_text", "stem", "options", "explanation_html",
                "reference_answer", "scoring_points", "analysis"}


@pytest.fixture(scope="module")
def bank(module_session) -> Bank:
    """Built once for the module; each test runs in a savepoint of it (tests/conftest.py)."""
    return Bank(module_session)  # 6 points × 4 active items (2 single choice, 2 true/false), a filed institution


def paper_body(bank: Bank, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "blueprint_id": bank.bp.id, "name": "电工四级理论A卷", "mode": "blueprint",
        "sections": [{"type": "single_choice", "count": 6, "points": 1}, {"type": "true_false", "count": 6,
                                                                           "points": 1.5}],
        "scale_to_100": True,  # 15 points a form
    }
    body.update(extra)
    return body


def assembled(client, resp):
    """POST /papers answers 202 with the assembly job (run in the request under JOBS_INLINE);
    the finished job names the paper: its detail, as GET /papers/{id} returns it."""
    assert resp.status_code == 202, resp.get_json()
    job = resp.get_json()
    assert job["kind"] == "paper.assemble" and resp.headers["Location"].endswith(f"/api/v1/jobs/{job['id']}")
    assert job["url"] == resp.headers["Location"]
    done = client.get(job["url"]).get_json()
    assert done["status"] == "done", done
    assert done["paper_url"] == f"/api/v1/papers/{done['result']['paper_id']}"
    paper = client.get(done["paper_url"])
    assert paper.status_code == 200
    return paper


def failed_job(client, resp) -> dict:
    assert resp.status_code == 202, resp.get_json()
    done = client.get(resp.headers["Location"]).get_json()
    assert done["status"] == "failed" and done["result"] is None and "paper_url" not in done, done
    return done


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def transition(client, paper_id: int, action: str, comment: str | None = None):
    body = {"action": action} if comment is None else {"action": action, "comment": comment}
    return client.post(f"/api/v1/papers/{paper_id}/transitions", json=body)


def assemble(session, bank: Bank, actor=None, **kw: Any) -> Paper:
    args: dict[str, Any] = {"mode": "type_counts", "sections": [Section("true_false", 4, 1.0)]}
    args.update(kw)
    return bank.assemble(session, actor, **args)


def content_keys(node: Any) -> set[str]:
    """Every key anywhere in a JSON value that would carry item content or a key."""
    found: set[str] = set()
    if isinstance(node, dict):
        found |= CONTENT_KEYS & set(node)
        for value in node.values():
            found |= content_keys(value)
    elif isinstance(node, list):
        for value in node:
            found |= content_keys(value)
    return found


def assert_no_item_content(bank: Bank, resp) -> None:
    assert not content_keys(resp.get_json()), content_keys(resp.get_json())
    text = resp.get_data(as_text=True)
    decoded = json.dumps(resp.get_json(), ensure_ascii=False)
    for item in bank.items:
        version = item.current_version
        stem = version.stem_html.removeprefix("<p>").removesuffix("</p>")
        assert stem not in decoded and stem not in text
        for option in version.spec.get("options", []):
            html = option["html"] if isinstance(option, dict) else option
            assert html not in decoded


# ---------------------------------------------------------------- assemble and read


def test_assemble_get_curves_and_coverage(session, client, login, bank):
    login(bank.admin)  # an institution admin: institution_id defaults to their own
    resp = assembled(client, client.post("/api/v1/papers", json=paper_body(bank, n_forms=2, duration_minutes=90,
                                                                           cut_theta=0.5)))
    body = resp.get_json()
    assert body["status"] == "draft" and body["status_label"] == "草稿" and body["mode_label"] == "按细目表比重"
    assert body["institution"] == {"id": bank.inst.id, "name": bank.inst.name}
    assert body["blueprint"]["id"] == bank.bp.id and body["form_labels"] == ["A", "B"]
    assert body["item_count"] == 12 and body["total_points"] == 15 and body["duration_minutes"] == 90
    assert body["cut_theta"] == 0.5 and body["locked_at"] is None and body["approved_by"] is None
    assert body["created_by"] == {"id": bank.admin.id, "name": bank.admin.name}
    assert body["layout"] == [
        {"type": "single_choice", "type_label": "单选题", "count": 6, "points": 1.0, "subtotal": 6.0},
        {"type": "true_false", "type_label": "判断题", "count": 6, "points": 1.5, "subtotal": 9.0},
    ]
    assert body["assembly_report"]["status"] and len(body["assembly_report"]["tif"]) == 2
    assert [h["action"] for h in body["history"]] == ["assemble"]
    assert body["history"][0]["actor"] == {"id": bank.admin.id, "name": bank.admin.name}

    session.expire_all()
    paper = session.get(Paper, body["id"])
    for form_json, form in zip(body["forms"], paper.forms, strict=True):
        assert form_json["label"] == form.label and form_json["item_count"] == 12
        assert form_json["total_points"] == 15
        first = form_json["items"][0]
        assert set(first) == ITEM_FIELDS
        pinned = form.items[0]
        assert first == {"position": 1, "item_id": pinned.item_id, "code": pinned.item.code,
                         "type": "single_choice", "type_label": "单选题", "point_code": pinned.item.point.code,
                         "points": 1.0, "version": pinned.version.number}
        assert [i["position"] for i in form_json["items"]] == list(range(1, 13))
    assert_no_item_content(bank, resp)

    login(bank.r1)  # reviewers read every paper, by reference only as well
    got = client.get(f"/api/v1/papers/{body['id']}")
    assert got.status_code == 200 and got.get_json()["forms"] == body["forms"]
    assert_no_item_content(bank, got)

    login(bank.admin)
    curves = client.get(f"/api/v1/papers/{body['id']}/curves").get_json()
    assert curves["paper_id"] == body["id"] and curves["cut_theta"] == 0.5 and len(curves["theta"]) == 81
    assert set(curves["forms"]) == {"A", "B"} and max(curves["forms"]["A"]["tif"]) > 0
    assert len(curves["forms"]["B"]["sem"]) == 81
    coverage = client.get(f"/api/v1/papers/{body['id']}/coverage").get_json()
    assert coverage["paper_id"] == body["id"] and coverage["blueprint_id"] == bank.bp.id
    assert set(coverage["forms"]) == {"A", "B"} and sum(coverage["forms"]["A"].values()) == 12
    assert [p["code"] for p in coverage["points"]] == [p.code for p in bank.bp.points]
    assert sum(p["counts"]["B"] for p in coverage["points"]) == 12
    range_a = sum(n for code, n in coverage["forms"]["A"].items() if code.startswith("A-"))
    assert range_a == 6  # ranges A and B weigh 50 % each
    assert content_keys(curves) == set() and content_keys(coverage) == set()
    assert count(session, AuditEntry, AuditEntry.action == "paper.assemble",
                 AuditEntry.target_id == str(body["id"])) == 1
    missing = client.get("/api/v1/papers/999999")
    assert missing.status_code == 404 and missing.get_json() == {"error": "试卷不存在。", "status": 404}


def test_centre_names_the_institution_and_modes(session, client, login, bank):
    login(bank.centre)
    resp = client.post("/api/v1/papers", json=paper_body(bank))
    assert resp.status_code == 400 and resp.get_json()["field"] == "institution_id"
    typed = assembled(client, client.post("/api/v1/papers", json=paper_body(
        bank, institution_id=bank.inst.id, mode="type_counts", sections=[{"type": "true_false", "count": 5,
                                                                          "points": 2}])))
    assert {i["type"] for i in typed.get_json()["forms"][0]["items"]} == {"true_false"}

    codes = [i.code for i in bank.items if i.item_type == "single_choice"]
    fixed = assembled(client, client.post("/api/v1/papers", json=paper_body(
        bank, institution_id=bank.inst.id, mode="fixed", sections=[{"type": "single_choice", "count": 2, "points": 5}],
        fixed_codes=[codes[:2], codes[2:4]])))
    body = fixed.get_json()
    assert body["form_labels"] == ["A", "B"] and body["assembly_report"] == {"status": "fixed"}
    assert {i["code"] for i in body["forms"][1]["items"]} == set(codes[2:4])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.pop("blueprint_id"), "blueprint_id"),
        (lambda b: b.update(blueprint_id="1"), "blueprint_id"),
        (lambda b: b.update(blueprint_id=999_999), "blueprint_id"),
        (lambda b: b.update(institution_id=999_999), "institution_id"),
        (lambda b: b.update(institution_id=True), "institution_id"),
        (lambda b: b.pop("name"), "name"),
        (lambda b: b.update(name="  "), "name"),
        (lambda b: b.update(name="长" * 129), "name"),
        (lambda b: b.update(mode="random"), "mode"),
        (lambda b: b.pop("sections"), "sections"),
        (lambda b: b.update(sections=[]), "sections"),
        (lambda b: b.update(sections={"single_choice": 6}), "sections"),
        (lambda b: b["sections"].append("true_false"), "sections[2]"),
        (lambda b: b["sections"][0].update(type="oral"), "sections[0].type"),
        (lambda b: b["sections"][1].update(count="6"), "sections[1].count"),
        (lambda b: b["sections"][1].update(count=0), "sections[1].count"),
        (lambda b: b["sections"][1].update(count=501), "sections[1].count"),
        (lambda b: b["sections"][0].update(points=0), "sections[0].points"),
        (lambda b: b["sections"][0].update(points="1"), "sections[0].points"),
        (lambda b: b["sections"][0].update(colour="red"), "sections[0].colour"),
        (lambda b: b["sections"][1].update(type="single_choice"), "sections"),  # a type twice
        (lambda b: b.update(n_forms=9), "n_forms"),
        (lambda b: b.update(n_forms=1.5), "n_forms"),
        (lambda b: b.update(duration_minutes=5), "duration_minutes"),
        (lambda b: b.update(cut_theta=5), "cut_theta"),
        (lambda b: b.update(cut_theta="0"), "cut_theta"),
        (lambda b: b.update(tif_tolerance=5), "tif_tolerance"),
        (lambda b: b.update(tif_tolerance=0), "tif_tolerance"),
        (lambda b: b.update(fixed_codes=[["X"]]), "fixed_codes"),  # not a fixed paper
        (lambda b: b.update(mode="fixed"), "fixed_codes"),
        (lambda b: b.update(mode="fixed", fixed_codes=[[]]), "fixed_codes[0]"),
        (lambda b: b.update(mode="fixed", fixed_codes=[["A", 5]]), "fixed_codes[0][1]"),
        (lambda b: b.update(mode="fixed", fixed_codes=[["A"]], n_forms=2), "fixed_codes"),
        (lambda b: b.update(colour="red"), "colour"),
    ],
)
def test_assemble_validation_names_the_field_and_writes_nothing(session, client, login, bank, change, field):
    body = paper_body(bank)
    change(body)
    before = (count(session, Paper), count(session, PaperForm), count(session, PaperItem))
    login(bank.admin)
    resp = client.post("/api/v1/papers", json=body)
    assert resp.status_code == 400, resp.get_json()
    error = resp.get_json()
    assert error["field"] == field and error["status"] == 400 and error["error"], error
    assert (count(session, Paper), count(session, PaperForm), count(session, PaperItem)) == before


def test_assemble_needs_a_json_object(client, login, bank):
    login(bank.admin)
    for resp in (client.post("/api/v1/papers", data="name=x"), client.post("/api/v1/papers", json=[1])):
        assert resp.status_code == 400 and "JSON" in resp.get_json()["error"]


def test_infeasible_assembly_explains_the_shortfall_and_writes_nothing(session, client, login, bank):
    """Found by the solver, so in the job: it fails with the reason, nothing written."""
    before = (count(session, Paper), count(session, PaperForm), count(session, PaperItem),
              count(session, AuditEntry, AuditEntry.target_type == "paper"))
    login(bank.admin)
    error = failed_job(client, client.post("/api/v1/papers", json=paper_body(
        bank, sections=[{"type": "single_choice", "count": 30, "points": 1}])))
    assert any(word in error["error"] for word in ("需要", "无解", "只有")), error
    unknown = failed_job(client, client.post("/api/v1/papers", json=paper_body(
        bank, mode="fixed", sections=[{"type": "single_choice", "count": 1, "points": 1}], fixed_codes=[["NOPE-1"]])))
    assert "NOPE-1" in unknown["error"] and "不是该细目表下已启用的试题" in unknown["error"]
    assert (count(session, Paper), count(session, PaperForm), count(session, PaperItem),
            count(session, AuditEntry, AuditEntry.target_type == "paper")) == before


def test_scope_is_enforced(session, client, login, bank):
    unscoped = make_institution(session, status="filed", code="S000022990003", serial="990003")
    login(bank.centre)
    resp = client.post("/api/v1/papers", json=paper_body(bank, institution_id=unscoped.id))
    assert resp.status_code == 400 and "评价范围" in resp.get_json()["error"]
    assert count(session, Paper) == 0


# ---------------------------------------------------------------- the library (list)


def test_list_filters_and_institution_admins_see_their_own(session, client, login, bank):
    other = make_institution(session, status="filed", code="S000022990004", serial="990004")
    session.add(ScopeEntry(institution_id=other.id, occupation_id=bank.bp.occupation_id, lowest_level=5,
                           highest_level=3))
    session.flush()
    mine = assemble(session, bank, name="本机构一卷")
    submitted = assemble(session, bank, name="本机构二卷")
    paper_svc.submit_paper(session, bank.admin, submitted.id)
    theirs = assemble(session, bank, bank.centre, institution_id=other.id, name="他机构卷")
    assign(session, bank.r1, bank.bp.occupation_id, other.id)  # the reviewer covers both institutions

    def ids(query: str = "") -> list[int]:
        resp = client.get(f"/api/v1/papers?per_page=100&{query}")
        assert resp.status_code == 200, resp.get_json()
        return [p["id"] for p in resp.get_json()["items"]]

    login(bank.r1)
    assert ids() == [theirs.id, submitted.id, mine.id]  # newest first
    assert ids(f"institution={other.id}") == [theirs.id]
    assert ids("status=submitted") == [submitted.id]
    assert ids(f"blueprint={bank.bp.id}&status=draft") == [theirs.id, mine.id]
    assert ids("q=二卷") == [submitted.id]
    assert ids("q=%25") == []  # a literal %, not a wildcard
    row = client.get("/api/v1/papers?q=他机构").get_json()["items"][0]
    assert row["institution"] == {"id": other.id, "name": other.name} and row["form_labels"] == ["A"]
    assert row["item_count"] == 4 and row["status_label"] == "草稿" and "forms" not in row
    page = client.get("/api/v1/papers?per_page=2&page=2").get_json()
    assert (page["total"], page["per_page"], [p["id"] for p in page["items"]]) == (3, 2, [mine.id])
    for query, field in [("status=lost", "status"), ("blueprint=x", "blueprint"), ("institution=0", "institution"),
                         ("page=0", "page")]:
        resp = client.get(f"/api/v1/papers?{query}")
        assert resp.status_code == 400 and resp.get_json()["field"] == field, query

    login(bank.admin)
    assert ids() == [submitted.id, mine.id]
    assert ids(f"institution={other.id}") == [submitted.id, mine.id]  # ignored: always their own
    outsider = make_user(session, IA)  # another institution's admin
    login(outsider)
    assert ids() == [] and ids(f"institution={bank.inst.id}") == []


# ---------------------------------------------------------------- object-level authorisation


def test_another_institutions_admin_gets_403_on_the_paper(session, client, login, bank):
    paper = assemble(session, bank)
    outsider = make_user(session, IA)
    login(outsider)
    for path in (f"/api/v1/papers/{paper.id}", f"/api/v1/papers/{paper.id}/curves",
                 f"/api/v1/papers/{paper.id}/coverage"):
        resp = client.get(path)
        assert resp.status_code == 403 and resp.get_json() == {"error": "您无权访问该试卷。", "status": 403}, path
    assert transition(client, paper.id, "submit").status_code == 403
    assert client.delete(f"/api/v1/papers/{paper.id}").status_code == 403
    refused = client.post("/api/v1/papers", json=paper_body(bank, institution_id=bank.inst.id))
    assert refused.status_code == 403 and refused.get_json()["error"] == "只能为本机构组卷。"
    session.expire_all()
    assert session.get(Paper, paper.id).status == "draft" and count(session, Paper) == 1


# ---------------------------------------------------------------- workflow


def test_workflow_submit_return_resubmit_approve(session, client, login, bank):
    paper = assemble(session, bank)
    login(bank.admin)
    submitted = transition(client, paper.id, "submit")
    assert submitted.status_code == 200 and submitted.get_json()["status"] == "submitted"
    assert transition(client, paper.id, "approve").status_code == 403  # institution admins do not approve
    assert transition(client, paper.id, "return", "x").status_code == 403
    again = transition(client, paper.id, "submit")
    assert again.status_code == 400 and "不能提交审核" in again.get_json()["error"]

    login(bank.r1)
    no_comment = transition(client, paper.id, "return", "  ")
    assert no_comment.status_code == 400 and no_comment.get_json()["field"] == "comment"
    returned = transition(client, paper.id, "return", "判断题偏易")
    assert returned.status_code == 200 and returned.get_json()["status"] == "returned"
    assert transition(client, paper.id, "submit").status_code == 403  # reviewers do not submit

    login(bank.admin)
    assert transition(client, paper.id, "submit").get_json()["status"] == "submitted"
    login(bank.r2)
    approved = transition(client, paper.id, "approve", "同意入库")
    assert approved.status_code == 200
    body = approved.get_json()
    assert body["status"] == "locked" and body["status_label"] == "已审核锁定" and body["locked_at"]
    assert body["approved_by"] == {"id": bank.r2.id, "name": bank.r2.name}
    assert [(h["action"], h["actor"]["id"], h["comment"]) for h in body["history"]] == [
        ("assemble", bank.admin.id, None), ("submit", bank.admin.id, None), ("return", bank.r1.id, "判断题偏易"),
        ("submit", bank.admin.id, None), ("approve", bank.r2.id, "同意入库"),
    ]
    locked_again = transition(client, paper.id, "approve")
    assert locked_again.status_code == 400 and "不能审核" in locked_again.get_json()["error"]

    login(bank.admin)
    refused = client.delete(f"/api/v1/papers/{paper.id}")
    assert refused.status_code == 400 and refused.get_json()["error"] == "只能删除草稿或退回的试卷。"
    assert client.get("/api/v1/papers?status=locked").get_json()["total"] == 1
    session.expire_all()
    assert session.get(Paper, paper.id).status == "locked"


def test_the_assembler_cannot_approve(session, client, login, bank):
    login(bank.centre)
    paper_id = assembled(client, client.post("/api/v1/papers", json=paper_body(
        bank, institution_id=bank.inst.id))).get_json()["id"]
    assert transition(client, paper_id, "submit").status_code == 200
    own = transition(client, paper_id, "approve", "自己通过")
    assert own.status_code == 403 and own.get_json() == {"error": "组卷人不能审核本人组的试卷。", "status": 403}
    session.expire_all()
    assert session.get(Paper, paper_id).status == "submitted"
    assert count(session, AuditEntry, AuditEntry.action == "paper.approve") == 0

    other_centre = make_user(session, C)
    login(other_centre)
    assert transition(client, paper_id, "approve").get_json()["status"] == "locked"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"action": "publish"}, "action"), ({}, "action"), ({"action": "delete"}, "action"),
     ({"action": "return"}, "comment"), ({"action": "return", "comment": 5}, "comment"),
     ({"action": "approve", "comment": "长" * 2001}, "comment"), ({"action": "approve", "note": "x"}, "note")],
)
def test_transition_validation(session, client, login, bank, body, field):
    paper = assemble(session, bank)
    paper_svc.submit_paper(session, bank.admin, paper.id)
    login(bank.r1)
    resp = client.post(f"/api/v1/papers/{paper.id}/transitions", json=body)
    assert resp.status_code == 400 and resp.get_json()["field"] == field
    session.expire_all()
    assert session.get(Paper, paper.id).status == "submitted"


def test_transition_roles_first_then_the_paper(client, login, bank):
    login(bank.r1)
    assert transition(client, 999_999, "submit").status_code == 403  # role first, then the paper
    assert transition(client, 999_999, "approve").status_code == 404
    login(bank.admin)
    assert transition(client, 999_999, "approve").status_code == 403
    assert transition(client, 999_999, "submit").status_code == 404


def test_delete(session, client, login, bank):
    paper = assemble(session, bank)
    login(bank.r1)
    refused = client.delete(f"/api/v1/papers/{paper.id}")
    assert refused.status_code == 403 and refused.get_json() == {"error": "您没有访问此页面的权限。", "status": 403}
    login(bank.admin)
    deleted = client.delete(f"/api/v1/papers/{paper.id}")
    assert deleted.status_code == 200 and deleted.get_json() == {"id": paper.id, "deleted": True}
    assert client.get(f"/api/v1/papers/{paper.id}").status_code == 404
    gone = client.delete(f"/api/v1/papers/{paper.id}")
    assert gone.status_code == 404 and gone.get_json() == {"error": "试卷不存在。", "status": 404}
    session.expire_all()
    assert count(session, Paper) == 0 and count(session, PaperForm) == 0
    assert count(session, AuditEntry, AuditEntry.action == "paper.delete") == 1


def test_bank_roles_without_papers_are_refused(session, client, login, bank):
    paper = assemble(session, bank)
    login(bank.writer)  # question writers use the item routes, not the paper routes
    for resp in (client.get("/api/v1/papers"), client.get(f"/api/v1/papers/{paper.id}"),
                 client.post("/api/v1/papers", json=paper_body(bank)), transition(client, paper.id, "submit")):
        assert resp.status_code == 403 and resp.get_json() == {"error": "您没有访问此页面的权限。", "status": 403}


def test_state_changing_paper_calls_need_the_csrf_header(app, session, client, login, bank, monkeypatch):
    paper = assemble(session, bank)
    login(bank.admin)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    for resp in (client.post("/api/v1/papers", json=paper_body(bank)), transition(client, paper.id, "submit"),
                 client.delete(f"/api/v1/papers/{paper.id}")):
        assert resp.status_code == 400
        assert resp.get_json() == {"error": "表单已过期或来源无效，请刷新页面后重试。", "status": 400}
    assert client.get(f"/api/v1/papers/{paper.id}").status_code == 200  # reads need no token
    session.expire_all()
    assert count(session, Paper) == 1 and session.get(Paper, paper.id).status == "draft"


def test_scale_to_100_in_the_api(session, client, login, bank):
    login(bank.admin)
    for bad in ("yes", 1, None, []):
        resp = client.post("/api/v1/papers", json=paper_body(bank, scale_to_100=bad))
        assert resp.status_code == 400 and resp.get_json()["field"] == "scale_to_100", bad
    unscaled = assembled(client, client.post("/api/v1/papers", json=paper_body(bank, scale_to_100=False,
                                                                                 name="未折算")))
    assert unscaled.get_json()["scale_to_100"] is False
    refused = transition(client, unscaled.get_json()["id"], "submit")
    assert refused.status_code == 400 and "满分为 15 分" in refused.get_json()["error"]
    scaled = assembled(client, client.post("/api/v1/papers", json=paper_body(bank, name="已折算")))
    assert scaled.get_json()["scale_to_100"] is True
    assert transition(client, scaled.get_json()["id"], "submit").status_code == 200
