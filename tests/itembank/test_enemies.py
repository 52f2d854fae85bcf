"""Enemy sets (互斥题组): the services' rules, the audit trail, suggestions, and paper assembly
keeping a set's items apart."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from foundation.audit import AuditEntry
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.roles import Role
from itembank import enemies as svc
from itembank import items as item_svc
from itembank import papers as paper_svc
from itembank.models import EnemyMember, EnemySet
from itembank.papers import Section
from tests.factories import assign, make_blueprint, make_user, single_choice
from tests.itembank.worlds import Bank

STEM = "三相异步电动机的同步转速与电源频率和磁极对数有关，下列说法哪项正确？"
NEAR = "三相异步电动机的同步转速与电源频率有关，下列哪项说法正确？"  # Jaccard ≈ 0.63 with STEM
TWIN = "三相异步电动机的同步转速与电源频率和磁极对数有关，下列说法哪项错误？"  # ≈ 0.88
FAR = "变压器的空载损耗主要是铁损，下列说法哪项正确？"


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def audits(session, set_id: int | None = None) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.target_type == "enemy_set")
    if set_id is not None:
        stmt = stmt.where(AuditEntry.target_id == str(set_id))
    return list(session.scalars(stmt.order_by(AuditEntry.seq)))


@pytest.fixture
def people(session):
    return {
        "writer": make_user(session, Role.QUESTION_WRITER),
        "r1": make_user(session, Role.ITEM_REVIEWER),
        "centre": make_user(session, Role.CENTRE_ADMIN),
        "admin": make_user(session, Role.INSTITUTION_ADMIN),
    }


@pytest.fixture
def blueprint(session, people):
    bp = make_blueprint(session, people["centre"])
    assign(session, people["r1"], bp.occupation_id)  # the centre writers' items of this occupation
    return bp


@pytest.fixture
def items(session, people, blueprint):
    """Five draft items under one blueprint, on different points."""
    stems = [STEM, NEAR, FAR, "兆欧表使用前应如何检查？", "万用表测电阻前应如何调零？"]
    return [item_svc.create_item(session, people["writer"], point_id=blueprint.points[k].id,
                                 item_type="single_choice", content=single_choice(stem))
            for k, stem in enumerate(stems)]


def codes(*items) -> list[str]:
    return [i.code for i in items]


# ---------------------------------------------------------------- create


def test_create_enemy_set_with_members_and_audit(session, people, items):
    a, b, c = items[:3]
    enemy_set = svc.create_enemy_set(session, people["r1"], "  转速题互相提示 ",
                                     [b.code, a.code, f" {a.code} ", c.code])
    assert enemy_set.name == "转速题互相提示" and enemy_set.created_by_id == people["r1"].id
    assert {m.item_id for m in enemy_set.members} == {a.id, b.id, c.id}  # duplicates counted once
    assert [i.code for i in svc.set_items(session, [enemy_set])[enemy_set.id]] == sorted(codes(a, b, c))
    (entry,) = audits(session, enemy_set.id)
    assert entry.action == "enemy_set.create" and entry.actor_id == people["r1"].id
    assert entry.after == {"name": "转速题互相提示", "items": sorted(codes(a, b, c))}

    unnamed = svc.create_enemy_set(session, people["centre"], "", codes(items[3], items[4]))
    assert unnamed.name == f"互斥：{items[3].code}、{items[4].code}"


@pytest.mark.parametrize("who", ["writer", "admin"])
def test_only_reviewers_and_the_centre_manage_sets(session, people, items, who):
    with pytest.raises(PermissionDenied):
        svc.create_enemy_set(session, people[who], "x", codes(*items[:2]))
    enemy_set = svc.create_enemy_set(session, people["r1"], "x", codes(*items[:2]))
    with pytest.raises(PermissionDenied):
        svc.add_to_enemy_set(session, people[who], enemy_set.id, items[2].code)
    with pytest.raises(PermissionDenied):
        svc.remove_from_enemy_set(session, people[who], enemy_set.id, items[0].code)
    with pytest.raises(PermissionDenied):
        svc.delete_enemy_set(session, people[who], enemy_set.id)
    people["r1"].active = False
    session.flush()
    with pytest.raises(PermissionDenied):
        svc.delete_enemy_set(session, people["r1"], enemy_set.id)
    assert len(enemy_set.members) == 2


def test_create_validates_before_writing(session, people, blueprint, items):
    other_bp = make_blueprint(session, people["centre"])
    assign(session, people["r1"], other_bp.occupation_id)
    stranger = item_svc.create_item(session, people["writer"], point_id=other_bp.points[0].id,
                                    item_type="single_choice", content=single_choice("别的细目表的题？"))
    a, b = items[:2]
    before_sets, before_audits = count(session, EnemySet), len(audits(session))
    cases = [
        ([a.code], "至少需要两道不同的试题"),
        ([a.code, a.code, " "], "至少需要两道不同的试题"),
        ([], "至少需要两道不同的试题"),
        ([a.code, "NOPE-1", "NOPE-2"], "NOPE-1、NOPE-2 不存在"),
        ([a.code, b.code, stranger.code], "同一细目表"),
    ]
    for item_codes, message in cases:
        with pytest.raises(ValidationError, match=message) as caught:
            svc.create_enemy_set(session, people["r1"], "x", item_codes)
        assert caught.value.field == "item_codes"
    with pytest.raises(ValidationError, match="128") as caught:
        svc.create_enemy_set(session, people["r1"], "长" * 129, codes(a, b))
    assert caught.value.field == "name"
    with pytest.raises(ValidationError, match="最多 50"):
        svc.create_enemy_set(session, people["r1"], "x", [a.code] + [f"X{k}" for k in range(60)])
    assert count(session, EnemySet) == before_sets and len(audits(session)) == before_audits


def test_an_item_may_be_in_several_sets_but_covered_sets_are_refused(session, people, items):
    a, b, c = items[:3]
    first = svc.create_enemy_set(session, people["r1"], "甲乙", codes(a, b))
    second = svc.create_enemy_set(session, people["r1"], "甲丙", codes(a, c))
    assert [s.id for s in svc.enemy_sets_of(session, a)] == [first.id, second.id]
    assert [s.id for s in svc.enemy_sets_of(session, b)] == [first.id]
    assert svc.enemies_of(session, a) == {b.id, c.id}
    with pytest.raises(ValidationError, match="已同在互斥题组「甲乙」中"):
        svc.create_enemy_set(session, people["centre"], "again", codes(b, a))
    bigger = svc.create_enemy_set(session, people["centre"], "甲乙丙", codes(a, b, c))  # a superset is new
    with pytest.raises(ValidationError, match="已同在互斥题组"):
        svc.create_enemy_set(session, people["centre"], "subset", codes(b, c))
    assert len(svc.enemy_sets_of(session, a)) == 3 and bigger.id in {s.id for s in svc.enemy_sets_of(session, c)}


# ---------------------------------------------------------------- add, remove, delete


def test_add_to_enemy_set(session, people, blueprint, items):
    a, b, c = items[:3]
    enemy_set = svc.create_enemy_set(session, people["r1"], "组", codes(a, b))
    svc.add_to_enemy_set(session, people["centre"], enemy_set.id, f" {c.code} ")
    assert {m.item_id for m in enemy_set.members} == {a.id, b.id, c.id}
    entry = audits(session, enemy_set.id)[-1]
    assert entry.action == "enemy_set.add" and entry.before == {"items": sorted(codes(a, b))}
    assert entry.after == {"items": sorted(codes(a, b, c)), "added": c.code}

    elsewhere_bp = make_blueprint(session)
    assign(session, people["r1"], elsewhere_bp.occupation_id)
    stranger = item_svc.create_item(session, people["writer"], point_id=elsewhere_bp.points[0].id,
                                    item_type="single_choice", content=single_choice("别处的题？"))
    for code, message in [(a.code, "已在互斥题组"), ("NOPE", "NOPE 不存在"), ("", "请输入"),
                          (stranger.code, "同一细目表")]:
        with pytest.raises(ValidationError, match=message) as caught:
            svc.add_to_enemy_set(session, people["r1"], enemy_set.id, code)
        assert caught.value.field == "item_code"
    with pytest.raises(NotFound):
        svc.add_to_enemy_set(session, people["r1"], 999_999, c.code)
    assert len(enemy_set.members) == 3 and len(audits(session, enemy_set.id)) == 2


def test_remove_and_the_set_is_deleted_below_two(session, people, items):
    a, b, c = items[:3]
    enemy_set = svc.create_enemy_set(session, people["r1"], "组", codes(a, b, c))
    set_id = enemy_set.id
    with pytest.raises(ValidationError, match="不在互斥题组") as caught:
        svc.remove_from_enemy_set(session, people["r1"], set_id, items[3].code)
    assert caught.value.field == "item_code"

    left = svc.remove_from_enemy_set(session, people["r1"], set_id, c.code)
    assert left is enemy_set and {m.item_id for m in enemy_set.members} == {a.id, b.id}
    assert audits(session, set_id)[-1].after == {"items": sorted(codes(a, b)), "removed": c.code}

    assert svc.remove_from_enemy_set(session, people["centre"], set_id, a.code) is None
    assert session.get(EnemySet, set_id) is None
    assert count(session, EnemyMember, EnemyMember.enemy_set_id == set_id) == 0
    last = audits(session, set_id)[-1]
    assert last.action == "enemy_set.remove" and last.before == {"name": "组", "items": sorted(codes(a, b))}
    assert last.after == {"items": [b.code], "removed": a.code, "deleted": True}
    assert svc.enemy_sets_of(session, b) == []
    with pytest.raises(NotFound, match="互斥题组不存在"):
        svc.remove_from_enemy_set(session, people["r1"], set_id, b.code)


def test_delete_enemy_set(session, people, items):
    a, b = items[:2]
    enemy_set = svc.create_enemy_set(session, people["r1"], "组", codes(a, b))
    set_id = enemy_set.id
    svc.delete_enemy_set(session, people["centre"], set_id)
    assert session.get(EnemySet, set_id) is None
    assert count(session, EnemyMember, EnemyMember.enemy_set_id == set_id) == 0
    entry = audits(session, set_id)[-1]
    assert entry.action == "enemy_set.delete" and entry.before == {"name": "组", "items": sorted(codes(a, b))}
    with pytest.raises(NotFound):
        svc.delete_enemy_set(session, people["centre"], set_id)
    assert session.get(type(a), a.id) is not None  # the items stay


def test_split_codes():
    assert svc.split_codes(" A1\nB2, C3，D4、E5；F6 G7\r\n\n") == ["A1", "B2", "C3", "D4", "E5", "F6", "G7"]
    assert svc.split_codes("   ") == []


def test_query_filters(session, people, blueprint, items):
    a, b, c = items[:3]
    first = svc.create_enemy_set(session, people["r1"], "转速_题组%", codes(a, b))
    second = svc.create_enemy_set(session, people["r1"], "其他", codes(b, c))

    def ids(**kw):
        return [s.id for s in session.scalars(svc.enemy_set_query(**kw))]

    assert ids(item_id=a.id) == [first.id] and ids(item_id=b.id) == [second.id, first.id]
    assert ids(q="转速_题组") == [first.id] and ids(q="组%") == [first.id] and ids(q="速%题") == []
    assert ids(q=c.code.lower()) == [second.id]
    assert set(ids(blueprint_id=blueprint.id)) == {first.id, second.id}
    assert ids(blueprint_id=make_blueprint(session).id) == []
    assert ids(set_id=first.id) == [first.id]


# ---------------------------------------------------------------- suggestions


def test_suggest_enemies(session, people, blueprint, items):
    base, near, far = items[:3]
    twin = item_svc.create_item(session, people["writer"], point_id=blueprint.points[5].id,
                                item_type="single_choice", content=single_choice(TWIN))
    elsewhere = item_svc.create_item(session, people["writer"], point_id=make_blueprint(session).points[0].id,
                                     item_type="single_choice", content=single_choice(STEM))
    found = svc.suggest_enemies(session, base)
    assert [i.id for i, _ in found] == [twin.id, near.id]  # best first; same blueprint only; not itself
    assert 0.6 <= found[1][1] < 0.8 and found[0][1] >= 0.8
    assert elsewhere.id not in {i.id for i, _ in found} and far.id not in {i.id for i, _ in found}
    # Below the duplicate warning threshold, so only the suggestion finds it.
    assert near.id not in {i.id for i, _ in item_svc.find_duplicates(session, base.current_version.stem_html,
                                                                     exclude_item_id=base.id)}

    svc.create_enemy_set(session, people["r1"], "", codes(base, twin))
    assert [i.id for i, _ in svc.suggest_enemies(session, base)] == [near.id]  # already enemies drop out
    assert base.id not in {i.id for i, _ in svc.suggest_enemies(session, twin)}


# ---------------------------------------------------------------- paper assembly


def test_an_enemy_set_keeps_its_items_apart_in_assembled_papers(session):
    bank = Bank(session)
    reviewer = bank.r1
    singles = [i for i in bank.items if i.item_type == "single_choice" and i.point.code.startswith("A")]
    assert len(singles) == 6
    enemy_set = svc.create_enemy_set(session, reviewer, "A 范围单选互相提示", codes(*singles))
    pool = paper_svc.build_pool(session, bank.bp, types={"single_choice"})
    positions = {int(i): k for k, i in enumerate(pool.pool.item_ids)}
    assert [sorted(g) for g in pool.pool.enemy_sets] == [sorted(positions[i.id] for i in singles)]

    # 12 singles in the bank, 6 of them enemies: two forms of 4 need exactly one enemy each.
    paper = bank.assemble(session, mode="type_counts", sections=[Section("single_choice", 4, 1.0)], n_forms=2)
    enemy_ids = {i.id for i in singles}
    for form in paper.forms:
        chosen = {pi.item_id for pi in form.items}
        assert len(chosen) == 4 and len(chosen & enemy_ids) <= 1

    # Asking for more than the set allows is refused, and nothing is written.
    papers_before = count(session, type(paper))
    with pytest.raises(ValidationError):
        bank.assemble(session, mode="type_counts", sections=[Section("single_choice", 8, 1.0)])
    assert count(session, type(paper)) == papers_before

    # Once the set is deleted the same request succeeds.
    svc.delete_enemy_set(session, reviewer, enemy_set.id)
    freed = bank.assemble(session, mode="type_counts", sections=[Section("single_choice", 8, 1.0)])
    assert len(freed.forms[0].items) == 8
