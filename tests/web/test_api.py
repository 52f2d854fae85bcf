"""The JSON API under /api/v1: endpoints, validation errors, roles, the review workflow,
pagination, CSRF, and docs/openapi.yaml agreeing with the routes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from foundation.audit import AuditEntry
from foundation.roles import Role
from itembank import enemies as enemy_svc
from itembank import items as item_svc
from itembank.items import code_prefix
from itembank.models import Blueprint, BlueprintNode, EnemySet, Item, ItemEvent, Paper, PaperForm, PaperItem
from tests.factories import assign, make_blueprint, make_occupation, make_user, single_choice

C, IA, QW, IR = Role.CENTRE_ADMIN, Role.INSTITUTION_ADMIN, Role.QUESTION_WRITER, Role.ITEM_REVIEWER
P, E, S, CA = Role.PROCTOR, Role.EXAMINER, Role.SUPERVISOR, Role.CANDIDATE
OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


# ---------------------------------------------------------------- helpers


def item_body(point_id: int, stem: str = "安全用电的基本原则是什么？", key: str = "B", **extra: Any) -> dict[str, Any]:
    content = single_choice(stem, key)
    return {"point_id": point_id, "type": "single_choice", "stem_html": content.stem_html, "spec": content.spec,
            "explanation_html": content.explanation_html, "source": content.source,
            "difficulty": content.difficulty, **extra}


def revise_body(stem: str, key: str = "B", **extra: Any) -> dict[str, Any]:
    body = item_body(0, stem, key, **extra)
    del body["point_id"], body["type"]
    return body


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def transition(client, item_id: int, action: str, comment: str | None = None):
    body = {"action": action} if comment is None else {"action": action, "comment": comment}
    return client.post(f"/api/v1/items/{item_id}/transitions", json=body)


@pytest.fixture
def people(session):
    return {
        "writer": make_user(session, QW),
        "other_writer": make_user(session, QW),
        "r1": make_user(session, IR),
        "r2": make_user(session, IR),
        "centre": make_user(session, C),
    }


@pytest.fixture
def blueprint(session, people):
    bp = make_blueprint(session, people["centre"])
    for reviewer in (people["r1"], people["r2"]):  # the centre writers' items of this occupation
        assign(session, reviewer, bp.occupation_id)
    return bp


def draft_item(session, writer, point_id: int, stem: str = "三相交流电的相序是什么？", **kw: Any) -> Item:
    return item_svc.create_item(session, writer, point_id=point_id, item_type="single_choice",
                                content=single_choice(stem), **kw)


# ---------------------------------------------------------------- blueprints


def test_list_blueprints_with_filters(session, client, login, people):
    occ = make_occupation(session)
    theory = make_blueprint(session, people["centre"], level=4)
    other = make_blueprint(session, people["centre"], level=3)
    from itembank.blueprints import create_blueprint

    skill = create_blueprint(session, people["centre"], occupation_id=occ.id, work_type_id=None, level=4, mode="skill")
    login(people["writer"])

    body = client.get("/api/v1/blueprints?per_page=100").get_json()
    ids = {b["id"] for b in body["items"]}
    assert {theory.id, other.id, skill.id} <= ids and body["page"] == 1 and body["per_page"] == 100
    row = next(b for b in body["items"] if b["id"] == theory.id)
    assert row["point_count"] == 6 and row["level_name"] == "四级/中级工" and row["mode"] == "theory"
    assert row["occupation"]["id"] == theory.occupation_id and row["work_type"] is None

    assert [b["id"] for b in client.get(f"/api/v1/blueprints?occupation={occ.id}").get_json()["items"]] == [skill.id]
    by_mode = client.get("/api/v1/blueprints?mode=skill&per_page=100").get_json()["items"]
    assert skill.id in {b["id"] for b in by_mode} and all(b["mode"] == "skill" for b in by_mode)
    by_level = client.get("/api/v1/blueprints?level=3&per_page=100").get_json()["items"]
    assert other.id in {b["id"] for b in by_level} and all(b["level"] == 3 for b in by_level)

    named = client.get(f"/api/v1/blueprints?q={occ.name}").get_json()["items"]
    assert [b["id"] for b in named] == [skill.id]
    assert client.get("/api/v1/blueprints?q=%25_").get_json()["items"] == []  # LIKE wildcards are literal

    bad = client.get("/api/v1/blueprints?mode=written")
    assert bad.status_code == 400 and bad.get_json()["field"] == "mode"
    assert client.get("/api/v1/blueprints?level=7").get_json()["field"] == "level"


def test_get_blueprint_returns_the_tree_and_health(client, login, people, blueprint):
    login(people["r1"])
    body = client.get(f"/api/v1/blueprints/{blueprint.id}").get_json()
    assert body["id"] == blueprint.id and body["name"] == blueprint.name
    assert [n["code"] for n in body["nodes"]] == ["A", "B"]
    a_a = body["nodes"][0]["children"][0]
    assert a_a["code"] == "A-A" and a_a["weight"] == 50
    assert [p["code"] for p in a_a["children"]] == ["A-A-001", "A-A-002", "A-A-003"]
    assert a_a["children"][0] == {"id": a_a["children"][0]["id"], "code": "A-A-001", "name": "鉴定点A1",
                                  "is_point": True, "importance": "X", "weight": 0}
    assert body["health"]["point_count"] == 6 and any("少于 200 个" in w for w in body["health"]["warnings"])
    missing = client.get("/api/v1/blueprints/999999")
    assert missing.status_code == 404 and missing.get_json() == {"error": "细目表不存在。", "status": 404}


def test_create_blueprint(session, client, login, people):
    occ = make_occupation(session, work_types=["甲工种"])
    assign(session, people["r1"], occ.id)  # a reviewer creates blueprints of their occupations
    login(people["r1"])
    resp = client.post("/api/v1/blueprints", json={"occupation_id": occ.id, "work_type_id": occ.work_types[0].id,
                                                   "level": 5, "mode": "skill"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert resp.headers["Location"].endswith(f"/api/v1/blueprints/{body['id']}")
    assert body["work_type"]["name"] == "甲工种" and body["mode_label"] == "操作技能" and body["nodes"] == []
    assert body["name"].endswith("鉴定要素细目表") and session.get(Blueprint, body["id"]) is not None
    again = client.post("/api/v1/blueprints", json={"occupation_id": occ.id, "work_type_id": occ.work_types[0].id,
                                                    "level": 5, "mode": "skill"})
    assert again.status_code == 400 and "已存在" in again.get_json()["error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"level": 4}, "occupation_id"),
        ({"occupation_id": "x", "level": 4}, "occupation_id"),
        ({"occupation_id": 999999, "level": 4}, "occupation_id"),
        ({"occupation_id": None, "level": 9}, "occupation_id"),
        ({"level": 9, "occupation_id": 0, "mode": "theory"}, "level"),
        ({"occupation_id": 0, "level": 4, "mode": "oral"}, "mode"),
        ({"occupation_id": 0, "level": 4, "colour": "red"}, "colour"),
        ({"occupation_id": 0, "level": 4, "work_type_id": 999999}, "work_type_id"),
    ],
)
def test_create_blueprint_validation(session, client, login, people, body, field):
    occ = make_occupation(session)
    body = {k: (occ.id if k == "occupation_id" and v == 0 else v) for k, v in body.items()}
    login(people["centre"])
    before = count(session, Blueprint)
    resp = client.post("/api/v1/blueprints", json=body)
    assert resp.status_code == 400
    error = resp.get_json()
    assert error["field"] == field and error["status"] == 400 and error["error"], error
    assert count(session, Blueprint) == before


def test_create_blueprint_needs_a_json_object(client, login, people):
    login(people["centre"])
    for resp in (client.post("/api/v1/blueprints", data="occupation_id=1"),
                 client.post("/api/v1/blueprints", json=[1, 2])):
        assert resp.status_code == 400 and "JSON" in resp.get_json()["error"]


def test_replace_nodes_round_trip_and_change(session, client, login, people, blueprint):
    login(people["centre"])
    tree = client.get(f"/api/v1/blueprints/{blueprint.id}").get_json()["nodes"]
    same = client.put(f"/api/v1/blueprints/{blueprint.id}/nodes", json={"nodes": tree})
    assert same.status_code == 200, same.get_json()
    assert same.get_json()["nodes"] == tree  # nested GET output is accepted unchanged; ids kept

    flat = [{"code": "A", "name": "基本要求", "weight": 30}, {"code": "A-A", "name": "职业道德", "weight": 30},
            {"code": "A-A-001", "name": "职业守则", "importance": "X"},
            {"code": "B", "name": "相关知识", "weight": 70}, {"code": "B-A", "name": "电工基础", "weight": 70},
            {"code": "B-A-001", "name": "欧姆定律", "importance": "x"},
            {"code": "B-A-002", "name": "基尔霍夫定律", "importance": "Y"}]
    resp = client.put(f"/api/v1/blueprints/{blueprint.id}/nodes", json={"nodes": flat})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["point_count"] == 3 and body["health"]["importance_counts"] == {"X": 2, "Y": 1}
    assert body["nodes"][1]["children"][0]["children"][0]["importance"] == "X"
    assert any("一般要素" in w for w in body["health"]["warnings"])
    session.expire_all()
    assert count(session, BlueprintNode, BlueprintNode.blueprint_id == blueprint.id) == 7


def test_replace_nodes_row_errors_change_nothing(session, client, login, people, blueprint):
    login(people["r2"])
    before = client.get(f"/api/v1/blueprints/{blueprint.id}").get_json()["nodes"]
    nodes = [{"code": "A", "name": "范围A", "weight": 100}, {"code": "A-A", "name": "范围A-A", "weight": 100},
             {"code": "A-A-001", "name": "点", "importance": "X"},
             {"code": "A-A-001", "name": "重复", "importance": "X"},
             {"code": "A-A-002", "name": "", "importance": "Q"}, {"code": "A-A-003", "name": "点", "weight": "10"},
             "not a node"]
    resp = client.put(f"/api/v1/blueprints/{blueprint.id}/nodes", json={"nodes": nodes})
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["status"] == 400 and "未导入任何数据" in body["error"]
    assert {"row": 6, "column": "比重", "message": "鉴定比重必须是数字。"} in body["errors"]
    assert {"row": 7, "column": "节点", "message": "每个节点必须是 JSON 对象。"} in body["errors"]
    assert {(e["row"], e["column"]) for e in body["errors"]} == {(6, "比重"), (7, "节点")}  # shape first

    nodes = nodes[:6]
    nodes[5] = {"code": "A-A-003", "name": "点", "importance": "X"}
    body = client.put(f"/api/v1/blueprints/{blueprint.id}/nodes", json={"nodes": nodes}).get_json()
    rows = {(e["row"], e["column"]) for e in body["errors"]}
    assert (4, "编码") in rows and (5, "名称") in rows and (5, "重要程度") in rows
    assert all(set(e) == {"row", "column", "message"} for e in body["errors"])
    assert client.get(f"/api/v1/blueprints/{blueprint.id}").get_json()["nodes"] == before


def test_replace_nodes_nested_mismatch_and_shape(client, login, people, blueprint):
    login(people["centre"])
    nested = [{"code": "A", "name": "范围A", "weight": 100, "children": [
        {"code": "B-A", "name": "错位", "weight": 100, "children": []}]}]
    body = client.put(f"/api/v1/blueprints/{blueprint.id}/nodes", json={"nodes": nested}).get_json()
    message = "「B-A」不是「A」的下级，不能放在它的 children 中。"
    assert body["errors"] == [{"row": 2, "column": "编码", "message": message}]
    resp = client.put(f"/api/v1/blueprints/{blueprint.id}/nodes", json={"nodes": {"A": 1}})
    assert resp.status_code == 400 and resp.get_json()["field"] == "nodes"
    assert client.put("/api/v1/blueprints/999999/nodes", json={"nodes": []}).status_code == 404


def test_replace_nodes_keeps_points_with_items(session, client, login, people, blueprint):
    draft_item(session, people["writer"], blueprint.points[0].id)
    login(people["centre"])
    tree = client.get(f"/api/v1/blueprints/{blueprint.id}").get_json()["nodes"]
    tree[0]["children"][0]["children"].pop(0)  # drop A-A-001, which has an item
    body = client.put(f"/api/v1/blueprints/{blueprint.id}/nodes", json={"nodes": tree}).get_json()
    message = "鉴定点「A-A-001」下已有 1 道试题，不能删除或改码。"
    assert body["errors"] == [{"row": 0, "column": "编码", "message": message}]


def test_coverage(session, client, login, people, blueprint):
    point = blueprint.points[0]
    item = draft_item(session, people["writer"], point.id)
    item_svc.submit_item(session, people["writer"], item.id)
    item_svc.review_item(session, people["r1"], item.id)
    item_svc.approve_item(session, people["r2"], item.id)
    draft_item(session, people["writer"], point.id, stem="变压器的工作原理是什么？")
    login(people["writer"])
    body = client.get(f"/api/v1/blueprints/{blueprint.id}/coverage").get_json()
    assert body["blueprint_id"] == blueprint.id and body["min_items_per_point"] == 4
    first = body["points"][0]
    assert first == {"code": "A-A-001", "name": "鉴定点A1", "importance": "X", "importance_label": "核心要素",
                     "approved": 1, "in_progress": 1, "short": True}
    assert len(body["points"]) == 6
    assert body["summary"] == {"points": 6, "short": 6, "by_importance": {"X": {"points": 6, "items": 1, "short": 6}}}


# ---------------------------------------------------------------- items


def test_create_and_get_item_with_key(session, client, login, people, blueprint):
    login(people["writer"])
    point = blueprint.points[1]
    resp = client.post("/api/v1/items", json=item_body(point.id, key="C", code="DG-0001", is_pretest=True))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert resp.headers["Location"].endswith(f"/api/v1/items/{body['id']}")
    assert body["code"] == "DG-0001" and body["status"] == "draft" and body["status_label"] == "草稿"
    assert body["level"] == 4 and body["type_label"] == "单选题" and body["is_pretest"] is True
    assert body["point"] == {"id": point.id, "code": point.code, "name": point.name, "blueprint_id": blueprint.id}
    assert body["author"] == {"id": people["writer"].id, "name": people["writer"].name}

    login(people["r1"])
    got = client.get(f"/api/v1/items/{body['id']}").get_json()
    version = got["current_version"]
    assert version["number"] == 1 and version["spec"]["key"] == ["C"]  # staff see the key
    assert version["stem_html"] == "<p>安全用电的基本原则是什么？</p>" and version["difficulty"] == 0.6
    assert got["events"] == [] and got["irt"] == {"a": None, "b": None, "c": None}
    assert count(session, AuditEntry, AuditEntry.action == "item.create", AuditEntry.target_id == str(body["id"])) == 1
    missing = client.get("/api/v1/items/999999")
    assert missing.status_code == 404 and missing.get_json() == {"error": "试题不存在。", "status": 404}


def test_created_item_html_is_sanitised(client, login, people, blueprint):
    login(people["writer"])
    body = item_body(blueprint.points[0].id)
    body["stem_html"] = '<p onclick="x()">题干<script>alert(1)</script></p>'
    resp = client.post("/api/v1/items", json=body)
    assert resp.status_code == 201
    assert resp.get_json()["code"] == code_prefix(blueprint.points[0]) + "001"  # no code given: the scheme
    assert resp.get_json()["current_version"]["stem_html"] == "<p>题干</p>"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.pop("point_id"), "point_id"),
        (lambda b: b.update(point_id="1"), "point_id"),
        (lambda b: b.update(point_id=-5), "point_id"),
        (lambda b: b.update(type="oral"), "type"),
        (lambda b: b.update(stem_html=""), "stem_html"),
        (lambda b: b.update(stem_html="<p>公式 \\(x^2</p>"), "stem_html"),
        (lambda b: b.update(stem_html=12), "stem_html"),
        (lambda b: b.pop("spec"), "spec"),
        (lambda b: b["spec"].update(key=["E"]), "spec.key"),
        (lambda b: b["spec"]["options"].pop(), "spec.options"),
        (lambda b: b["spec"]["options"][1].update(html=""), "spec.options[1].html"),
        (lambda b: b["spec"].update(colour="red"), "spec"),
        (lambda b: b.update(difficulty=1.5), "difficulty"),
        (lambda b: b.update(difficulty="easy"), "difficulty"),
        (lambda b: b.update(source="来" * 300), "source"),
        (lambda b: b.update(explanation_html="\\[ \\input{x} \\]"), "explanation_html"),
        (lambda b: b.update(code=""), "code"),
        (lambda b: b.update(is_pretest="yes"), "is_pretest"),
        (lambda b: b.update(author_id=1), "author_id"),
    ],
)
def test_create_item_validation(session, client, login, people, blueprint, change, field):
    login(people["writer"])
    body = item_body(blueprint.points[0].id)
    change(body)
    before = count(session, Item)
    resp = client.post("/api/v1/items", json=body)
    assert resp.status_code == 400, resp.get_json()
    error = resp.get_json()
    assert error["field"] == field and error["status"] == 400 and error["error"], error
    assert count(session, Item) == before


def test_create_item_refuses_a_range_and_a_taken_code(session, client, login, people, blueprint):
    draft_item(session, people["writer"], blueprint.points[0].id, code="TAKEN-1")
    range_node = next(n for n in blueprint.nodes if not n.is_point)
    login(people["writer"])
    resp = client.post("/api/v1/items", json=item_body(range_node.id))
    assert resp.status_code == 400 and resp.get_json()["field"] == "point_id"
    resp = client.post("/api/v1/items", json=item_body(blueprint.points[0].id, code="TAKEN-1"))
    assert resp.status_code == 400 and resp.get_json() == {"error": "试题编码 TAKEN-1 已存在。", "status": 400,
                                                           "field": "code"}


def test_list_items_filters(session, client, login, people, blueprint):
    other_bp = make_blueprint(session, people["centre"], level=3)
    mine = draft_item(session, people["writer"], blueprint.points[0].id, stem="接地电阻的测量方法？", code="Q-ALPHA")
    submitted = draft_item(session, people["writer"], blueprint.points[1].id, stem="漏电保护器的作用？")
    item_svc.submit_item(session, people["writer"], submitted.id)
    theirs = item_svc.create_item(session, people["other_writer"], point_id=other_bp.points[0].id,
                                  item_type="true_false", content=item_svc.ItemContent("<p>电流的单位是安培。</p>",
                                                                                      {"key": "√"}))
    third_bp = make_blueprint(session, people["centre"])
    for user in (people["r1"], people["r2"], people["writer"]):  # reviewers; the writer's revision grant
        assign(session, user, third_bp.occupation_id)
    revised = draft_item(session, people["other_writer"], third_bp.points[0].id, stem="熔断器的选择原则？")
    item_svc.submit_item(session, people["other_writer"], revised.id)
    item_svc.review_item(session, people["r1"], revised.id)
    item_svc.approve_item(session, people["r2"], revised.id)
    item_svc.revise_item(session, people["writer"], revised.id, single_choice("熔断器应如何选择？"))
    login(people["writer"])

    def ids(query: str) -> list[int]:
        resp = client.get(f"/api/v1/items?per_page=100&{query}")
        assert resp.status_code == 200, resp.get_json()
        return [i["id"] for i in resp.get_json()["items"]]

    assert ids(f"blueprint={blueprint.id}") == [submitted.id, mine.id]  # newest first
    assert ids(f"point={blueprint.points[1].id}") == [submitted.id]
    assert ids(f"blueprint={blueprint.id}&point=a-a") == [submitted.id, mine.id]  # code prefix: a range
    assert ids(f"blueprint={blueprint.id}&point=A-A-002") == [submitted.id]
    assert ids(f"blueprint={blueprint.id}&point=B") == []
    assert ids(f"occupation={other_bp.occupation_id}") == [theirs.id]
    assert ids(f"blueprint={other_bp.id}&level=3") == [theirs.id]
    assert ids(f"blueprint={blueprint.id}&level=3") == []
    assert ids(f"blueprint={other_bp.id}&type=true_false") == [theirs.id]
    assert ids(f"blueprint={blueprint.id}&status=submitted") == [submitted.id]
    assert ids("mine=1") == [revised.id, submitted.id, mine.id]  # wrote the item or one of its versions
    assert ids("mine=true&status=submitted") == [submitted.id]
    assert ids("q=q-alpha") == [mine.id]  # item code, case-insensitive
    assert ids("q=漏电保护") == [submitted.id]  # stem text
    assert ids("q=%25") == []  # a literal %, not a wildcard
    row = client.get(f"/api/v1/items?point={blueprint.points[0].id}").get_json()["items"][0]
    assert row["stem_text"] == "接地电阻的测量方法？" and row["version"] == 1 and "spec" not in row
    for query, field in [("type=oral", "type"), ("status=lost", "status"), ("mine=maybe", "mine"),
                         ("blueprint=x", "blueprint"), ("point=0", "point"), ("point=A-", "point"),
                         ("occupation=-1", "occupation"), ("level=0", "level")]:
        resp = client.get(f"/api/v1/items?{query}")
        assert resp.status_code == 400 and resp.get_json()["field"] == field, query


def test_pagination(session, client, login, people, blueprint):
    point = blueprint.points[2]
    made = [draft_item(session, people["writer"], point.id, stem=f"第{n}题：绝缘材料的耐压等级？") for n in range(7)]
    login(people["centre"])
    expected = [i.id for i in reversed(made)]
    first = client.get(f"/api/v1/items?point={point.id}&per_page=3").get_json()
    assert (first["page"], first["per_page"], first["total"]) == (1, 3, 7)
    assert [i["id"] for i in first["items"]] == expected[:3]
    third = client.get(f"/api/v1/items?point={point.id}&per_page=3&page=3").get_json()
    assert [i["id"] for i in third["items"]] == expected[6:] and third["page"] == 3
    beyond = client.get(f"/api/v1/items?point={point.id}&per_page=3&page=9").get_json()
    assert beyond["items"] == [] and beyond["total"] == 7
    capped = client.get(f"/api/v1/items?point={point.id}&per_page=500").get_json()
    assert capped["per_page"] == 100 and len(capped["items"]) == 7
    default = client.get(f"/api/v1/items?point={point.id}").get_json()
    assert default["per_page"] == 20
    for query, field in [("page=0", "page"), ("page=x", "page"), ("per_page=-1", "per_page")]:
        resp = client.get(f"/api/v1/items?{query}")
        assert resp.status_code == 400 and resp.get_json()["field"] == field
    blueprints = client.get("/api/v1/blueprints?per_page=1&page=1").get_json()
    assert len(blueprints["items"]) == 1 and blueprints["total"] >= 1


def test_revise_versions_and_diff(session, client, login, people, blueprint):
    login(people["writer"])
    item_id = client.post("/api/v1/items", json=item_body(blueprint.points[0].id)).get_json()["id"]
    draft = client.put(f"/api/v1/items/{item_id}", json=revise_body("第二稿：安全用电的原则？"))
    assert draft.status_code == 200 and draft.get_json()["version"] == 1  # unsubmitted drafts edit in place
    assert transition(client, item_id, "submit").status_code == 200
    locked = client.put(f"/api/v1/items/{item_id}", json=revise_body("审核中偷改？"))
    assert locked.status_code == 400 and "审核期间" in locked.get_json()["error"]

    login(people["r1"])
    assert transition(client, item_id, "return", "选项 C 有歧义").get_json()["status"] == "returned"
    login(people["other_writer"])
    assert client.put(f"/api/v1/items/{item_id}", json=revise_body("别人改？")).status_code == 403
    login(people["writer"])
    resp = client.put(f"/api/v1/items/{item_id}", json=revise_body("第三稿：安全用电的原则？", key="D", note="改题干"))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "draft" and body["version"] == 2 and body["current_version"]["spec"]["key"] == ["D"]
    assert [e["action"] for e in body["events"]] == ["submit", "return", "revise"]
    assert body["events"][1]["comment"] == "选项 C 有歧义"

    versions = client.get(f"/api/v1/items/{item_id}/versions").get_json()
    assert versions["item_id"] == item_id
    assert [(v["number"], v["frozen"], v["change_note"]) for v in versions["versions"]] == [
        (1, True, "新建"), (2, False, "改题干")]
    v2 = client.get(f"/api/v1/items/{item_id}/versions/2").get_json()
    assert v2["current"] is True and v2["spec"]["key"] == ["D"]
    stem = next(d for d in v2["diff_from_previous"] if d["field"] == "题干")
    assert stem == {"field": "题干", "removed": ["第二稿：安全用电的原则？"], "added": ["第三稿：安全用电的原则？"]}
    v1 = client.get(f"/api/v1/items/{item_id}/versions/1").get_json()
    assert v1["current"] is False and v1["diff_from_previous"] is None and v1["spec"]["key"] == ["B"]
    assert client.get(f"/api/v1/items/{item_id}/versions/3").status_code == 404

    bad = client.put(f"/api/v1/items/{item_id}", json={**revise_body("x？"), "type": "essay"})
    assert bad.status_code == 400 and bad.get_json()["field"] == "type"  # the type cannot change
    assert client.put("/api/v1/items/999999", json=revise_body("x？")).status_code == 404


def test_workflow_through_the_api(session, client, login, people, blueprint):
    login(people["writer"])
    item_id = client.post("/api/v1/items", json=item_body(blueprint.points[0].id)).get_json()["id"]
    assert transition(client, item_id, "submit").get_json()["status"] == "submitted"
    # The author may not review: refused by role (a writer) before the service is asked.
    refused = transition(client, item_id, "review")
    assert refused.status_code == 403 and refused.get_json()["status"] == 403

    login(people["r1"])
    reviewed = transition(client, item_id, "review", "题干清楚")
    assert reviewed.status_code == 200 and reviewed.get_json()["status"] == "reviewed"
    same = transition(client, item_id, "approve")
    assert same.status_code == 403 and same.get_json()["error"] == "审题人与终审人不能是同一人。"

    login(people["r2"])
    approved = transition(client, item_id, "approve", "同意")
    assert approved.status_code == 200
    body = approved.get_json()
    assert body["status"] == "approved"
    assert [(e["action"], e["from_status"], e["to_status"], e["actor"]["id"]) for e in body["events"]] == [
        ("submit", "draft", "submitted", people["writer"].id),
        ("review", "submitted", "reviewed", people["r1"].id),
        ("approve", "reviewed", "approved", people["r2"].id),
    ]
    again = transition(client, item_id, "approve")
    assert again.status_code == 400 and "不能终审" in again.get_json()["error"]

    login(people["centre"])
    assert transition(client, item_id, "submit").status_code == 403  # not a writer
    assert transition(client, item_id, "activate").get_json()["status"] == "active"
    no_reason = transition(client, item_id, "retire", "  ")
    assert no_reason.status_code == 400 and no_reason.get_json()["field"] == "comment"
    retired = transition(client, item_id, "retire", "内容过时").get_json()
    assert retired["status"] == "retired" and retired["events"][-1]["comment"] == "内容过时"


def test_self_review_is_refused_and_changes_nothing(session, client, login, people, blueprint):
    item = draft_item(session, people["writer"], blueprint.points[0].id)
    item_svc.submit_item(session, people["writer"], item.id)
    # A reviewer account that wrote a version of the item (as in tests/itembank/test_workflow.py).
    item.current_version.author_id = people["r1"].id
    session.flush()
    events = count(session, ItemEvent, ItemEvent.item_id == item.id)
    audits = count(session, AuditEntry, AuditEntry.target_type == "item")

    login(people["r1"])
    resp = transition(client, item.id, "review")
    assert resp.status_code == 403 and resp.get_json() == {"error": "命题员不能审核本人编写的试题。", "status": 403}
    assert transition(client, item.id, "return", "自己退回").status_code == 403
    session.expire_all()
    assert session.get(Item, item.id).status == "submitted"
    assert count(session, ItemEvent, ItemEvent.item_id == item.id) == events
    assert count(session, AuditEntry, AuditEntry.target_type == "item") == audits


@pytest.mark.parametrize(
    ("body", "field"),
    [({"action": "publish"}, "action"), ({}, "action"), ({"action": "return"}, "comment"),
     ({"action": "review", "comment": 5}, "comment"), ({"action": "review", "comment": "长" * 2001}, "comment"),
     ({"action": "review", "note": "x"}, "note")],
)
def test_transition_validation(session, client, login, people, blueprint, body, field):
    item = draft_item(session, people["writer"], blueprint.points[0].id)
    item_svc.submit_item(session, people["writer"], item.id)
    login(people["r1"])
    resp = client.post(f"/api/v1/items/{item.id}/transitions", json=body)
    assert resp.status_code == 400 and resp.get_json()["field"] == field
    session.expire_all()
    assert session.get(Item, item.id).status == "submitted"


def test_transition_roles_per_action(session, client, login, people, blueprint):
    item = draft_item(session, people["writer"], blueprint.points[0].id)
    login(people["writer"])
    for action in ("review", "approve", "return", "activate", "retire"):
        assert transition(client, item.id, action, "x").status_code == 403, action
    login(people["centre"])
    for action in ("submit", "review", "approve", "return"):
        assert transition(client, item.id, action, "x").status_code == 403, action
    login(people["r1"])
    assert transition(client, item.id, "submit").status_code == 403
    assert transition(client, 999999, "submit").status_code == 403  # role first, then the item
    login(people["writer"])
    assert transition(client, 999999, "submit").status_code == 404


def test_duplicates(session, client, login, people, blueprint):
    first = draft_item(session, people["writer"], blueprint.points[0].id, stem="三相异步电动机的旋转磁场是如何产生的？")
    twin = draft_item(session, people["other_writer"], blueprint.points[1].id,
                      stem="三相异步电动机的旋转磁场是如何产生的?")
    draft_item(session, people["writer"], blueprint.points[2].id, stem="兆欧表的使用注意事项有哪些？")
    login(people["r1"])
    body = client.get(f"/api/v1/items/{first.id}/duplicates").get_json()
    assert body["item_id"] == first.id
    assert [d["item"]["id"] for d in body["duplicates"]] == [twin.id] and body["duplicates"][0]["similarity"] >= 0.8
    assert client.get(f"/api/v1/items/{first.id}/duplicates?threshold=1").get_json()["duplicates"][0]["similarity"] \
        == 1.0
    bad = client.get(f"/api/v1/items/{first.id}/duplicates?threshold=2")
    assert bad.status_code == 400 and bad.get_json()["field"] == "threshold"


# ---------------------------------------------------------------- enemy sets (互斥题组)


@pytest.mark.slow
def test_enemy_sets_create_list_and_delete(session, client, login, people, blueprint):
    first = draft_item(session, people["writer"], blueprint.points[0].id, stem="电动机的同步转速由什么决定？")
    second = draft_item(session, people["writer"], blueprint.points[1].id, stem="同步转速公式中 p 表示什么？")
    third = draft_item(session, people["writer"], blueprint.points[2].id, stem="兆欧表的使用注意事项有哪些？")
    login(people["r1"])
    resp = client.post("/api/v1/enemy-sets", json={"name": "转速两题互相提示",
                                                  "item_codes": [second.code, first.code, first.code]})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["name"] == "转速两题互相提示" and body["blueprint_id"] == blueprint.id
    assert [i["code"] for i in body["items"]] == sorted([first.code, second.code])
    assert body["created_by"] == {"id": people["r1"].id, "name": people["r1"].name}
    assert "spec" not in body["items"][0] and "current_version" not in body["items"][0]
    set_id = body["id"]
    assert session.get(EnemySet, set_id) is not None

    unnamed = client.post("/api/v1/enemy-sets", json={"item_codes": [first.code, third.code]}).get_json()
    assert first.code in unnamed["name"] and third.code in unnamed["name"]

    login(people["writer"])  # writers read
    listed = client.get(f"/api/v1/enemy-sets?item={second.id}").get_json()
    assert [s["id"] for s in listed["items"]] == [set_id] and listed["total"] == 1
    assert {s["id"] for s in client.get(f"/api/v1/enemy-sets?item={first.id}").get_json()["items"]} == {
        set_id, unnamed["id"]}
    assert [s["id"] for s in client.get("/api/v1/enemy-sets?q=互相提示").get_json()["items"]] == [set_id]
    assert set_id in {s["id"] for s in client.get(f"/api/v1/enemy-sets?q={second.code.lower()}").get_json()["items"]}
    assert client.get(f"/api/v1/enemy-sets?blueprint={blueprint.id}&per_page=100").get_json()["total"] >= 2
    assert client.get("/api/v1/enemy-sets?item=x").get_json()["field"] == "item"
    refused = client.post("/api/v1/enemy-sets", json={"item_codes": [first.code, second.code]})
    assert refused.status_code == 403 and refused.get_json()["status"] == 403
    assert client.delete(f"/api/v1/enemy-sets/{set_id}").status_code == 403

    login(people["centre"])
    deleted = client.delete(f"/api/v1/enemy-sets/{set_id}")
    assert deleted.status_code == 200 and deleted.get_json() == {"id": set_id, "deleted": True}
    assert [s["id"] for s in client.get(f"/api/v1/enemy-sets?item={second.id}").get_json()["items"]] == []
    gone = client.delete(f"/api/v1/enemy-sets/{set_id}")
    assert gone.status_code == 404 and gone.get_json() == {"error": "互斥题组不存在。", "status": 404}
    actions = [e.action for e in session.scalars(select(AuditEntry).where(
        AuditEntry.target_type == "enemy_set", AuditEntry.target_id == str(set_id)))]
    assert actions == ["enemy_set.create", "enemy_set.delete"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "item_codes", "item_codes"),
        ({"item_codes": "A,B"}, "item_codes", "item_codes"),
        ({"item_codes": ["{first}", 5]}, "item_codes[1]", "非空字符串"),
        ({"item_codes": ["{first}", " "]}, "item_codes[1]", "非空字符串"),
        ({"item_codes": ["{first}"]}, "item_codes", "至少需要两道不同的试题"),
        ({"item_codes": ["{first}", "{first}"]}, "item_codes", "至少需要两道不同的试题"),
        ({"item_codes": ["{first}", "NOPE-1"]}, "item_codes", "NOPE-1 不存在"),
        ({"item_codes": ["{first}", "{other_bp}"]}, "item_codes", "同一细目表"),
        ({"item_codes": ["{first}", "{second}"], "name": 5}, "name", "字符串"),
        ({"item_codes": ["{first}", "{second}"], "name": "长" * 129}, "name", "128"),
        ({"item_codes": ["{first}", "{second}"], "colour": "red"}, "colour", "不支持的字段"),
    ],
)
def test_enemy_set_validation(session, client, login, people, blueprint, body, field, message):
    other_bp = make_blueprint(session, people["centre"])
    assign(session, people["r2"], other_bp.occupation_id)
    codes = {
        "first": draft_item(session, people["writer"], blueprint.points[0].id).code,
        "second": draft_item(session, people["writer"], blueprint.points[1].id, stem="另一道题？").code,
        "other_bp": draft_item(session, people["writer"], other_bp.points[0].id, stem="别的细目表的题？").code,
    }
    if isinstance(body.get("item_codes"), list):
        body = {**body, "item_codes": [c.format(**codes) if isinstance(c, str) else c for c in body["item_codes"]]}
    before = count(session, EnemySet)
    login(people["r2"])
    resp = client.post("/api/v1/enemy-sets", json=body)
    assert resp.status_code == 400, resp.get_json()
    assert resp.get_json()["field"] == field and message in resp.get_json()["error"]
    assert count(session, EnemySet) == before


# ---------------------------------------------------------------- authorisation

READ = {C, QW, IR}
API_ROLES: dict[str, set[Role]] = {
    "api.list_blueprints": READ,
    "api.get_blueprint": READ,
    "api.create_blueprint": {C, IR},
    "api.replace_blueprint_nodes": {C, IR},
    "api.blueprint_coverage": READ,
    "api.list_items": READ,
    "api.get_item": READ,
    "api.list_item_versions": READ,
    "api.get_item_version": READ,
    "api.create_item": {QW},
    "api.revise_item": {QW},
    "api.transition_item": READ,  # then per action: test_transition_roles_per_action
    "api.item_duplicates": READ,
    "api.list_enemy_sets": READ,
    "api.create_enemy_set": {C, IR},
    "api.delete_enemy_set": {C, IR},
    # Papers (tests/web/test_api_papers.py): institution admins only their own institution's.
    "api.list_papers": {C, IA, IR},
    "api.get_paper": {C, IA, IR},
    "api.paper_curves": {C, IA, IR},
    "api.paper_coverage": {C, IA, IR},
    "api.create_paper": {C, IA},
    "api.transition_paper": {C, IA, IR},  # then per action: submit C/IA, approve and return C/IR
    "api.delete_paper": {C, IA},
    # Jobs (the assembly job of POST /papers): every staff role; a job only to its starter
    # (object level: tests/web/test_paper_jobs.py).
    "api.get_job": {r for r in Role if r is not Role.CANDIDATE},
}


def _api_routes(app) -> list[tuple[str, str, Any]]:
    return [(rule.endpoint, method, rule) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]


def test_declared_roles_match_the_table(app):
    assert {endpoint for endpoint, _, _ in _api_routes(app)} == set(API_ROLES)
    for endpoint, roles in API_ROLES.items():
        assert app.view_functions[endpoint].allowed_roles == {r.value for r in roles}, endpoint


@pytest.fixture
def role_world(session):
    users = {role: make_user(session, role) for role in Role}
    bp = make_blueprint(session, users[C])
    assign(session, users[IR], bp.occupation_id, None, users[IA].institution_id)  # its items and the paper
    item = draft_item(session, users[QW], bp.points[0].id)  # the QW user is the author
    enemy = draft_item(session, users[QW], bp.points[1].id, stem="与上一题互相提示的题？")
    enemy_set = enemy_svc.create_enemy_set(session, users[C], "", [item.code, enemy.code])
    paper = role_world_paper(session, users, bp.id, item)
    return users, {"blueprint_id": bp.id, "item_id": item.id, "number": 1, "set_id": enemy_set.id,
                   "paper_id": paper.id, "job_id": 999_999}


def role_world_paper(session, users, blueprint_id: int, item: Item) -> Paper:
    """A draft paper of the institution admin's own institution (so that only the role decides)."""
    paper = Paper(name="权限测试卷", institution_id=users[IA].institution_id, blueprint_id=blueprint_id,
                  mode="type_counts", layout_json='[{"type": "single_choice", "count": 1, "points": 1.0}]',
                  created_by_id=users[C].id)
    paper.forms.append(PaperForm(label="A", items=[PaperItem(position=1, item_id=item.id,
                                                             item_version_id=item.current_version_id, points=1.0)]))
    session.add(paper)
    session.flush()
    return paper


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_each_role_against_every_api_route(app, session, client, login, role_world, role):
    users, values = role_world
    login(users[role])
    wrong = []
    for endpoint, method, rule in _api_routes(app):
        path = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]
        resp = client.get(path) if method == "GET" else client.open(path, method=method, json={})
        allowed = role in API_ROLES[endpoint]
        ok = resp.status_code not in (401, 403) if allowed else resp.status_code == 403
        if not ok or resp.mimetype != "application/json":
            wrong.append((endpoint, method, resp.status_code))
        if not allowed:
            assert resp.get_json() == {"error": "您没有访问此页面的权限。", "status": 403}
    assert not wrong, f"{role}: {wrong}"


def test_anonymous_gets_401_everywhere(app, client, role_world):
    _, values = role_world
    for endpoint, method, rule in _api_routes(app):
        path = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]
        resp = client.get(path) if method == "GET" else client.open(path, method=method, json={})
        assert resp.status_code == 401 and resp.get_json() == {"error": "请先登录。", "status": 401}, endpoint


def test_unknown_api_path_and_method_are_json(client, login, people):
    login(people["centre"])
    assert client.get("/api/v1/exams").get_json() == {"error": "页面不存在。", "status": 404}
    resp = client.delete("/api/v1/items")
    assert resp.status_code == 405 and resp.get_json()["status"] == 405


# ---------------------------------------------------------------- CSRF


def test_state_changing_calls_need_the_csrf_header(app, session, client, login, people, blueprint, monkeypatch):
    login(people["writer"])  # logged in while CSRF is off (as conftest configures the app)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    before = count(session, Item)
    refused = client.post("/api/v1/items", json=item_body(blueprint.points[0].id))
    assert refused.status_code == 400
    assert refused.get_json() == {"error": "表单已过期或来源无效，请刷新页面后重试。", "status": 400}
    assert count(session, Item) == before
    assert client.put(f"/api/v1/blueprints/{blueprint.id}/nodes", json={"nodes": []}).status_code == 400
    assert client.get("/api/v1/items").status_code == 200  # reads need no token

    page = client.get("/home").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    wrong = client.post("/api/v1/items", json=item_body(blueprint.points[0].id), headers={"X-CSRFToken": "x" + token})
    assert wrong.status_code == 400 and count(session, Item) == before
    accepted = client.post("/api/v1/items", json=item_body(blueprint.points[0].id), headers={"X-CSRFToken": token})
    assert accepted.status_code == 201, accepted.get_json()
    assert count(session, Item) == before + 1


# ---------------------------------------------------------------- docs/openapi.yaml


def _openapi() -> dict[str, Any]:
    return yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_openapi_document_is_valid():
    """The whole document against the OpenAPI 3.1 schema (openapi-spec-validator)."""
    from openapi_spec_validator import validate

    validate(_openapi())


def _resolve(doc: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_openapi_documents_every_api_route(app):
    doc = _openapi()
    assert doc["openapi"].startswith("3.1")
    routes: dict[str, set[str]] = {}
    endpoints: dict[tuple[str, str], str] = {}
    for endpoint, method, rule in _api_routes(app):
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        routes.setdefault(path, set()).add(method.lower())
        endpoints[(path, method.lower())] = endpoint.removeprefix("api.")
    documented = {path: {m for m in ops if m in ("get", "post", "put", "patch", "delete")}
                  for path, ops in doc["paths"].items()}
    assert documented == routes

    schemes = doc["components"]["securitySchemes"]
    assert schemes["sessionCookie"]["in"] == "cookie" and schemes["csrfToken"]["name"] == "X-CSRFToken"
    assert doc["security"] == [{"sessionCookie": []}]
    for path, ops in doc["paths"].items():
        for method in documented[path]:
            op = ops[method]
            assert op["operationId"] == endpoints[(path, method)], (path, method)
            declared = {p["name"] for p in map(lambda p: _resolve(doc, p), op.get("parameters", []))
                        if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), (path, method)
            assert {"401", "403"} <= set(op["responses"]), (path, method)
            if method != "get":
                assert op["security"] == [{"sessionCookie": [], "csrfToken": []}], (path, method)
                if method != "delete":  # a DELETE names its target in the path and sends no body
                    assert op["requestBody"]["required"] is True
            ok = next(code for code in op["responses"] if code.startswith("2"))
            assert "application/json" in _resolve(doc, op["responses"][ok])["content"]


def test_openapi_refs_resolve():
    doc = _openapi()
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    assert refs
    for ref in refs:
        _resolve(doc, {"$ref": ref})  # KeyError names a broken reference
    error = doc["components"]["schemas"]["Error"]
    assert error["required"] == ["error", "status"]
