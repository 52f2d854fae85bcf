"""互斥题组 pages: the list (search, pagination, read-only for writers), creating a set,
adding / removing items and deleting a set with confirmation, and the item page's section
with its suggestions."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from foundation.audit import AuditEntry
from foundation.roles import Role
from itembank import enemies as enemy_svc
from itembank import items as item_svc
from itembank.models import EnemySet
from tests.factories import assign, make_blueprint, make_user, single_choice

STEM = "三相异步电动机的同步转速与电源频率和磁极对数有关，下列说法哪项正确？"
NEAR = "三相异步电动机的同步转速与电源频率有关，下列哪项说法正确？"


def html(resp: Any) -> str:
    return resp.get_data(as_text=True)


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def rows(page: str) -> str:
    """The list's table (not the flash messages above it)."""
    start = page.index('id="enemy-list"')
    return page[start:page.index("</table>", start)]


@pytest.fixture
def people(session):
    return {
        "writer": make_user(session, Role.QUESTION_WRITER, name="命题员甲"),
        "r1": make_user(session, Role.ITEM_REVIEWER, name="审题员一"),
        "centre": make_user(session, Role.CENTRE_ADMIN, name="中心管理员"),
        "candidate": make_user(session, Role.CANDIDATE),
        "admin": make_user(session, Role.INSTITUTION_ADMIN),
    }


@pytest.fixture
def blueprint(session, people):
    bp = make_blueprint(session, people["centre"])
    assign(session, people["r1"], bp.occupation_id)  # the centre writers' items of this occupation
    return bp


@pytest.fixture
def items(session, people, blueprint):
    stems = [STEM, NEAR, "兆欧表使用前应如何检查？", "万用表测电阻前应如何调零？"]
    return [item_svc.create_item(session, people["writer"], point_id=blueprint.points[k].id,
                                 item_type="single_choice", content=single_choice(stem))
            for k, stem in enumerate(stems)]


def make_set(session, people, *members, name: str = "互相提示") -> EnemySet:
    return enemy_svc.create_enemy_set(session, people["r1"], name, [i.code for i in members])


# ---------------------------------------------------------------- create


def test_create_a_set_through_the_page(session, client, login, people, items):
    a, b = items[:2]
    login(people["r1"])
    form = html(client.get(f"/itembank/enemies/new?items={a.code},{b.code}"))
    assert f"{a.code}\n{b.code}</textarea>" in form and 'name="csrf_token"' in form

    resp = client.post("/itembank/enemies/new", data={"name": "转速两题", "item_codes": f"{a.code}\n {b.code}，"})
    enemy_set = session.scalar(select(EnemySet).where(EnemySet.name == "转速两题"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/itembank/enemies?set={enemy_set.id}")
    assert {m.item_id for m in enemy_set.members} == {a.id, b.id} and enemy_set.created_by_id == people["r1"].id
    entry = session.scalar(select(AuditEntry).where(AuditEntry.target_type == "enemy_set",
                                                    AuditEntry.target_id == str(enemy_set.id)))
    assert entry.action == "enemy_set.create" and entry.actor_id == people["r1"].id

    page = html(client.get(resp.headers["Location"]))
    assert "已创建互斥题组「转速两题」（2 道试题）" in page
    table = rows(page)
    assert "转速两题" in table and a.code in table and b.code in table and "审题员一" in table


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        ("{a}", "互斥题组至少需要两道不同的试题"),
        ("{a}, {a}", "互斥题组至少需要两道不同的试题"),
        ("", "互斥题组至少需要两道不同的试题"),
        ("{a}\nNOPE-9", "试题编码 NOPE-9 不存在"),
        ("{a}\n{stranger}", "互斥题组中的试题必须属于同一细目表"),
    ],
)
def test_create_errors_are_clear_and_write_nothing(session, client, login, people, items, codes, message):
    stranger = item_svc.create_item(session, people["writer"], point_id=make_blueprint(session).points[0].id,
                                    item_type="single_choice", content=single_choice("别处的题？"))
    before = count(session, EnemySet)
    login(people["centre"])
    item_codes = codes.format(a=items[0].code, stranger=stranger.code)
    resp = client.post("/itembank/enemies/new", data={"name": "x", "item_codes": item_codes})
    page = html(resp)
    assert resp.status_code == 400 and message in page
    assert 'class="field has-error"' in page and 'class="error"' in page
    assert count(session, EnemySet) == before


def test_a_long_name_is_refused(session, client, login, people, items):
    login(people["r1"])
    resp = client.post("/itembank/enemies/new", data={"name": "长" * 129,
                                                      "item_codes": f"{items[0].code},{items[1].code}"})
    assert resp.status_code == 400 and "互斥题组名称最多 128 个字" in html(resp)
    assert count(session, EnemySet) == 0


# ---------------------------------------------------------------- roles


def test_writer_reads_but_cannot_change(session, client, login, people, items):
    enemy_set = make_set(session, people, *items[:2])
    login(people["writer"])
    page = html(client.get("/itembank/enemies"))
    assert enemy_set.name in rows(page) and items[0].code in rows(page)
    assert "新建互斥题组" not in page and "data-confirm" not in page
    assert f"/itembank/enemies/{enemy_set.id}/action" not in page
    assert client.get("/itembank/enemies/new").status_code == 403
    assert client.post("/itembank/enemies/new", data={"item_codes": f"{items[2].code},{items[3].code}"}
                       ).status_code == 403
    for data in ({"action": "delete"}, {"action": "remove", "item_code": items[0].code},
                 {"action": "add", "item_code": items[2].code}):
        assert client.post(f"/itembank/enemies/{enemy_set.id}/action", data=data).status_code == 403
    session.expire_all()
    assert len(session.get(EnemySet, enemy_set.id).members) == 2
    assert count(session, EnemySet) == 1


@pytest.mark.parametrize("who", ["candidate", "admin"])
def test_other_roles_are_refused_everywhere(session, client, login, people, items, who):
    enemy_set = make_set(session, people, *items[:2])
    login(people[who])
    assert client.get("/itembank/enemies").status_code == 403
    assert client.get(f"/itembank/enemies?set={enemy_set.id}").status_code == 403
    assert client.get("/itembank/enemies/new").status_code == 403
    assert client.post("/itembank/enemies/new", data={"item_codes": f"{items[2].code},{items[3].code}"}
                       ).status_code == 403
    assert client.post(f"/itembank/enemies/{enemy_set.id}/action", data={"action": "delete"}).status_code == 403
    assert client.post("/itembank/enemies/999999/action", data={"action": "delete"}).status_code == 403
    assert client.get(f"/itembank/items/{items[0].id}").status_code == 403
    assert count(session, EnemySet) == 1


def test_anonymous_is_sent_to_login(client, items):
    assert client.get("/itembank/enemies").headers["Location"].startswith("/login")
    assert client.post("/itembank/enemies/new", data={}).status_code == 401


# ---------------------------------------------------------------- add, remove, delete


def test_add_remove_and_delete_with_confirmation(session, client, login, people, items):
    a, b, c, d = items
    enemy_set = make_set(session, people, a, b, name="甲乙")
    set_id = enemy_set.id
    login(people["centre"])
    page = html(client.get(f"/itembank/enemies?set={set_id}"))
    action = f'action="/itembank/enemies/{set_id}/action"'
    assert page.count(action) == 4  # remove ×2, add, delete
    assert f"移出后该题组不足两道试题，将被删除。确定将试题 {a.code} 移出吗？" in page
    assert 'data-confirm="确定将该试题加入互斥题组「甲乙」吗？"' in page
    assert "确定删除互斥题组「甲乙」吗？删除后这些试题可能被组入同一套试卷。" in page

    url = f"/itembank/enemies/{set_id}/action"
    resp = client.post(url, data={"action": "add", "item_code": c.code})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/itembank/enemies?set={set_id}")
    assert f"已将试题 {c.code} 加入互斥题组「甲乙」。" in html(client.get(resp.headers["Location"]))
    page = html(client.get(f"/itembank/enemies?set={set_id}"))
    assert f"确定将试题 {a.code} 移出互斥题组「甲乙」吗？" in page  # three members: not deleted by a removal

    refused = client.post(url, data={"action": "add", "item_code": "NOPE-1"})
    assert refused.status_code == 400 and "试题编码 NOPE-1 不存在" in html(refused)
    assert 'value="NOPE-1"' in html(refused)  # what was typed is kept next to the message
    again = client.post(url, data={"action": "add", "item_code": a.code})
    assert again.status_code == 400 and f"试题 {a.code} 已在互斥题组「甲乙」中。" in html(again)
    assert client.post(url, data={"action": "explode"}).status_code == 400
    not_member = client.post(url, data={"action": "remove", "item_code": d.code})
    assert not_member.status_code == 400 and "不在互斥题组「甲乙」中" in html(not_member)

    resp = client.post(url, data={"action": "remove", "item_code": c.code})
    assert resp.status_code == 302
    session.expire_all()
    assert {m.item_id for m in session.get(EnemySet, set_id).members} == {a.id, b.id}

    resp = client.post(url, data={"action": "remove", "item_code": b.code})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/itembank/enemies")
    assert "互斥题组「甲乙」不足两道试题，已删除" in html(client.get(resp.headers["Location"]))
    session.expire_all()
    assert session.get(EnemySet, set_id) is None
    assert client.post(url, data={"action": "delete"}).status_code == 404

    other_id = make_set(session, people, c, d, name="丙丁").id
    login(people["r1"])
    resp = client.post(f"/itembank/enemies/{other_id}/action", data={"action": "delete"})
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(EnemySet, other_id) is None
    actions = [e.action for e in session.scalars(select(AuditEntry).where(
        AuditEntry.target_type == "enemy_set").order_by(AuditEntry.seq))]
    assert actions == ["enemy_set.create", "enemy_set.add", "enemy_set.remove", "enemy_set.remove",
                       "enemy_set.create", "enemy_set.delete"]


def test_csrf_is_required(app, session, client, login, people, items, monkeypatch):
    login(people["r1"])
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    resp = client.post("/itembank/enemies/new", data={"item_codes": f"{items[0].code},{items[1].code}"})
    assert resp.status_code == 400 and count(session, EnemySet) == 0


# ---------------------------------------------------------------- list


def test_list_search_filters_and_pagination(app, session, client, login, people, items):
    a, b, c, d = items
    first = make_set(session, people, a, b, name="转速题组")
    make_set(session, people, c, d, name="仪表题组")
    other_bp = make_blueprint(session)
    assign(session, people["r1"], other_bp.occupation_id)
    extra = [item_svc.create_item(session, people["writer"], point_id=other_bp.points[k % 6].id,
                                  item_type="single_choice", content=single_choice(f"第{k}道填充题？"))
             for k in range(46)]
    for k in range(23):
        make_set(session, people, extra[2 * k], extra[2 * k + 1], name=f"批量题组{k:02d}")
    login(people["writer"])

    page = html(client.get("/itembank/enemies"))
    assert "共 25 条" in page and "下一页" in page and "批量题组22" in rows(page)
    assert "转速题组" not in rows(page)  # newest first: on page 2
    assert "转速题组" in rows(html(client.get("/itembank/enemies?page=2")))

    by_code = rows(html(client.get(f"/itembank/enemies?q={b.code}")))
    assert "转速题组" in by_code and "仪表题组" not in by_code and "批量" not in by_code
    assert "仪表题组" in rows(html(client.get("/itembank/enemies?q=仪表")))
    assert "共 0 条" in html(client.get("/itembank/enemies?q=%25_"))  # wildcards are literal
    by_bp = html(client.get(f"/itembank/enemies?blueprint={other_bp.id}"))
    assert "共 23 条" in by_bp and "转速题组" not in rows(by_bp)
    only = html(client.get(f"/itembank/enemies?set={first.id}"))
    assert "共 1 条" in only and "显示全部" in only and "转速题组" in rows(only)


# ---------------------------------------------------------------- the item page's section


def test_item_detail_lists_sets_and_suggestions(session, client, login, people, items):
    base, near, c, d = items
    enemy_set = make_set(session, people, base, c, name="甲丙互斥")
    login(people["r1"])
    page = html(client.get(f"/itembank/items/{base.id}"))
    section = page[page.index('id="enemy-sets"'):page.index('id="history"')]
    assert f'href="/itembank/enemies?set={enemy_set.id}">甲丙互斥</a>' in section and c.code in section
    suggestions = section[section.index('id="enemy-suggestions"'):]
    assert near.code in suggestions and c.code not in suggestions and d.code not in suggestions
    assert f"确定将试题 {base.code} 与 {near.code} 设为互斥题组吗？" in suggestions
    assert f'value="{base.code},{near.code}"' in suggestions
    assert f"/itembank/enemies/new?items={base.code}&amp;from_item={base.id}" in section

    resp = client.post("/itembank/enemies/new", data={"item_codes": f"{base.code},{near.code}",
                                                      "from_item": str(base.id)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/itembank/items/{base.id}#enemy-sets")
    page = html(client.get(f"/itembank/items/{base.id}"))
    section = page[page.index('id="enemy-sets"'):page.index('id="history"')]
    assert f"互斥：{base.code}、{near.code}" in section or f"互斥：{near.code}、{base.code}" in section
    assert 'id="enemy-suggestions"' not in section and "尚未与本题互斥的试题" in section

    login(people["writer"])  # read-only: the sets, no buttons
    page = html(client.get(f"/itembank/items/{near.id}"))
    section = page[page.index('id="enemy-sets"'):page.index('id="history"')]
    assert base.code in section and "设为互斥" not in section and "新建包含本题的互斥题组" not in section


def test_item_without_sets_or_suggestions(session, client, login, people, items):
    login(people["centre"])
    page = html(client.get(f"/itembank/items/{items[3].id}"))
    assert "本题尚未加入任何互斥题组。" in page and "未发现题干相似度不低于 60%" in page
    assert re.search(r'id="new-enemy-set-for-item"', page)
