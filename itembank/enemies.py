"""Enemy sets (互斥题组): items that must never appear together in one form.

Typical reasons: one item gives away another's answer, or two items test the same fact in
nearly the same words. Paper assembly (``itembank.papers.build_pool``) turns every set into
the engine's ``enemy_sets`` constraint, so at most one item of a set lands in any form.

Rules enforced here:

* only item reviewers and the centre admin manage sets (writers and the centre may read them);
* a set holds at least two distinct existing items, all under the same blueprint (a paper is
  assembled from one blueprint, so a cross-blueprint set would constrain nothing);
* an item may belong to several sets, but a new set that an existing set already covers
  (same items or a subset of them) is refused as redundant;
* removing an item that leaves fewer than two deletes the set;
* every change is in the audit trail (target type ``enemy_set``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import Session, selectinload

from foundation import audit
from foundation.accounts import User
from foundation.errors import NotFound, ValidationError
from foundation.names import clean_name
from foundation.roles import Role, require_role
from itembank import access
from itembank.items import find_duplicates
from itembank.models import BlueprintNode, EnemyMember, EnemySet, Item

EDITORS = (Role.CENTRE_ADMIN, Role.ITEM_REVIEWER)
READERS = (Role.CENTRE_ADMIN, Role.QUESTION_WRITER, Role.ITEM_REVIEWER)
MAX_NAME = 128
MAX_MEMBERS = 50
SUGGEST_THRESHOLD = 0.6  # lower than the duplicate warning (0.8): candidates, not verdicts
SUGGEST_LIMIT = 8
_CODE_SPLIT = re.compile(r"[\s,，、;；]+")


def split_codes(text: str) -> list[str]:
    """Item codes typed one per line or separated by commas, spaces, 、 or ；."""
    return [c for c in _CODE_SPLIT.split(text.strip()) if c]


# ---------------------------------------------------------------- reading


def get_enemy_set(session: Session, set_id: int, actor: User | None = None) -> EnemySet:
    """The set; with ``actor``, only if they may read every member (reviewers: their
    assignments, see :mod:`itembank.access`), else NotFound."""
    enemy_set = session.get(EnemySet, set_id)
    if enemy_set is None:
        raise NotFound("互斥题组不存在。")
    if actor is not None and (visible := access.item_clause(actor)) is not None:
        hidden = session.scalar(select(exists().where(
            EnemyMember.enemy_set_id == enemy_set.id, Item.id == EnemyMember.item_id, ~visible)))
        if hidden:
            raise NotFound("互斥题组不存在。")
    return enemy_set


def set_items(session: Session, sets: Iterable[EnemySet]) -> dict[int, list[Item]]:
    """The member items of each set (by set id), ordered by item code, in one query."""
    sets = list(sets)
    member_ids = {m.item_id for s in sets for m in s.members}
    if not member_ids:
        return {s.id: [] for s in sets}
    rows = session.scalars(select(Item).where(Item.id.in_(member_ids)).options(selectinload(Item.current_version)))
    by_id = {item.id: item for item in rows}
    return {s.id: sorted((by_id[m.item_id] for m in s.members if m.item_id in by_id), key=lambda i: i.code)
            for s in sets}


def enemy_set_query(*, q: str = "", blueprint_id: int | None = None, item_id: int | None = None,
                    set_id: int | None = None, viewer: User | None = None) -> Select[Any]:
    """Sets newest first, filtered as the list page and the API offer: ``q`` matches the set
    name or a member's item code (LIKE wildcards are literal), ``blueprint_id`` the members'
    blueprint, ``item_id`` a member; with ``viewer``, only sets whose every member they may read."""
    stmt = select(EnemySet).options(selectinload(EnemySet.members))
    if viewer is not None and (visible := access.item_clause(viewer)) is not None:
        stmt = stmt.where(~exists().where(EnemyMember.enemy_set_id == EnemySet.id, Item.id == EnemyMember.item_id,
                                          ~visible))
    if q:
        by_code = exists().where(EnemyMember.enemy_set_id == EnemySet.id, Item.id == EnemyMember.item_id,
                                 Item.code.icontains(q, autoescape=True))
        stmt = stmt.where(or_(EnemySet.name.icontains(q, autoescape=True), by_code))
    if blueprint_id is not None:
        stmt = stmt.where(exists().where(EnemyMember.enemy_set_id == EnemySet.id, Item.id == EnemyMember.item_id,
                                         BlueprintNode.id == Item.point_id,
                                         BlueprintNode.blueprint_id == blueprint_id))
    if item_id is not None:
        stmt = stmt.where(exists().where(EnemyMember.enemy_set_id == EnemySet.id, EnemyMember.item_id == item_id))
    if set_id is not None:
        stmt = stmt.where(EnemySet.id == set_id)
    return stmt.order_by(EnemySet.id.desc())


def enemy_sets_of(session: Session, item: Item) -> list[EnemySet]:
    """The sets ``item`` belongs to, oldest first."""
    stmt = (select(EnemySet).join(EnemyMember, EnemyMember.enemy_set_id == EnemySet.id)
            .where(EnemyMember.item_id == item.id).options(selectinload(EnemySet.members)).order_by(EnemySet.id))
    return list(session.scalars(stmt).unique())


def enemies_of(session: Session, item: Item) -> set[int]:
    """Ids of the items that share at least one set with ``item`` (not the item itself)."""
    mine = select(EnemyMember.enemy_set_id).where(EnemyMember.item_id == item.id)
    rows = session.scalars(select(EnemyMember.item_id).where(EnemyMember.enemy_set_id.in_(mine)))
    return set(rows) - {item.id}


def suggest_enemies(session: Session, item: Item, viewer: User | None = None) -> list[tuple[Item, float]]:
    """Near-duplicate stems under the same blueprint that are not yet enemies of ``item``,
    best match first: candidates a reviewer may want to put in a set with it."""
    if item.current_version is None:
        return []
    already = enemies_of(session, item)
    found = find_duplicates(session, item.current_version.stem_html, exclude_item_id=item.id,
                            threshold=SUGGEST_THRESHOLD, limit=SUGGEST_LIMIT + len(already), viewer=viewer,
                            blueprint_id=item.point.blueprint_id)  # the blueprint filter runs before the limit
    return [(other, sim) for other, sim in found if other.id not in already][:SUGGEST_LIMIT]


# ---------------------------------------------------------------- validation helpers


def _clean_name(name: str | None) -> str:
    name = (name or "").strip()
    if len(name) > MAX_NAME:
        raise ValidationError(f"互斥题组名称最多 {MAX_NAME} 个字。", field="name")
    return clean_name(name, "互斥题组名称", field="name")


def _default_name(codes: Sequence[str]) -> str:
    shown = "、".join(codes[:3]) + (f" 等 {len(codes)} 题" if len(codes) > 3 else "")
    return f"互斥：{shown}"[:MAX_NAME]


def _distinct_codes(codes: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for code in codes:
        code = (code or "").strip()
        if code:
            seen.setdefault(code, None)
    return list(seen)


def _items_by_codes(session: Session, codes: Sequence[str], field: str = "item_codes",
                    actor: User | None = None) -> list[Item]:
    """The items with these codes (that ``actor`` may read), in the given order; unknown codes
    are named in the error."""
    stmt = select(Item).where(Item.code.in_(list(codes)))
    if actor is not None and (visible := access.item_clause(actor)) is not None:
        stmt = stmt.where(visible)
    rows = {i.code: i for i in session.scalars(stmt)}
    missing = [c for c in codes if c not in rows]
    if missing:
        shown = "、".join(missing[:5]) + (f" 等 {len(missing)} 个" if len(missing) > 5 else "")
        raise ValidationError(f"试题编码 {shown} 不存在，请核对后重新输入。", field=field)
    return [rows[c] for c in codes]


def _blueprint_of(item: Item) -> int:
    return item.point.blueprint_id


def _check_same_blueprint(items: Sequence[Item], field: str = "item_codes") -> None:
    first = _blueprint_of(items[0])
    others = [i.code for i in items if _blueprint_of(i) != first]
    if others:
        raise ValidationError(
            f"互斥题组中的试题必须属于同一细目表：{items[0].code} 属于「{items[0].point.blueprint.name}」，"
            f"而 {'、'.join(others[:5])} 属于其他细目表。", field=field)


def _codes(session: Session, enemy_set: EnemySet) -> list[str]:
    return [i.code for i in set_items(session, [enemy_set])[enemy_set.id]]


def _covering_set(session: Session, item_ids: set[int], exclude_set_id: int | None = None) -> EnemySet | None:
    """An existing set that already contains every one of ``item_ids``."""
    any_id = next(iter(item_ids))
    stmt = (select(EnemySet).join(EnemyMember, EnemyMember.enemy_set_id == EnemySet.id)
            .where(EnemyMember.item_id == any_id).options(selectinload(EnemySet.members)).order_by(EnemySet.id))
    for candidate in session.scalars(stmt).unique():
        if candidate.id != exclude_set_id and item_ids <= {m.item_id for m in candidate.members}:
            return candidate
    return None


# ---------------------------------------------------------------- writing


def create_enemy_set(session: Session, actor: User, name: str | None, item_codes: Iterable[str]) -> EnemySet:
    """A new set of at least two distinct existing items of one blueprint."""
    require_role(actor, *EDITORS)
    name = _clean_name(name)
    codes = _distinct_codes(item_codes)
    if len(codes) < 2:
        raise ValidationError("互斥题组至少需要两道不同的试题，请输入至少两个试题编码。", field="item_codes")
    if len(codes) > MAX_MEMBERS:
        raise ValidationError(f"一个互斥题组最多 {MAX_MEMBERS} 道试题。", field="item_codes")
    items = _items_by_codes(session, codes, actor=actor)
    _check_same_blueprint(items)
    covering = _covering_set(session, {i.id for i in items})
    if covering is not None:
        raise ValidationError(f"这些试题已同在互斥题组「{covering.name}」中，无需重复设置。", field="item_codes")
    enemy_set = EnemySet(name=name or _default_name(codes), created_by_id=actor.id)
    enemy_set.members = [EnemyMember(item_id=i.id) for i in items]
    session.add(enemy_set)
    session.flush()
    audit.record(session, actor, "enemy_set.create", "enemy_set", enemy_set.id,
                 after={"name": enemy_set.name, "items": sorted(codes)})
    return enemy_set


def add_to_enemy_set(session: Session, actor: User, set_id: int, item_code: str) -> EnemySet:
    require_role(actor, *EDITORS)
    enemy_set = get_enemy_set(session, set_id, actor)
    code = (item_code or "").strip()
    if not code:
        raise ValidationError("请输入要加入的试题编码。", field="item_code")
    (item,) = _items_by_codes(session, [code], field="item_code", actor=actor)
    if any(m.item_id == item.id for m in enemy_set.members):
        raise ValidationError(f"试题 {code} 已在互斥题组「{enemy_set.name}」中。", field="item_code")
    if len(enemy_set.members) >= MAX_MEMBERS:
        raise ValidationError(f"一个互斥题组最多 {MAX_MEMBERS} 道试题。", field="item_code")
    members = set_items(session, [enemy_set])[enemy_set.id]
    _check_same_blueprint([*members, item], field="item_code")
    before = sorted(i.code for i in members)
    enemy_set.members.append(EnemyMember(item_id=item.id))
    session.flush()
    audit.record(session, actor, "enemy_set.add", "enemy_set", enemy_set.id,
                 before={"items": before}, after={"items": sorted([*before, item.code]), "added": item.code})
    return enemy_set


def remove_from_enemy_set(session: Session, actor: User, set_id: int, item_code: str) -> EnemySet | None:
    """Take one item out of a set; a set left with fewer than two items is deleted (returns None)."""
    require_role(actor, *EDITORS)
    enemy_set = get_enemy_set(session, set_id, actor)
    code = (item_code or "").strip()
    members = set_items(session, [enemy_set])[enemy_set.id]
    item = next((i for i in members if i.code == code), None)
    if item is None:
        raise ValidationError(f"试题 {code or '（未填写）'} 不在互斥题组「{enemy_set.name}」中。", field="item_code")
    before = [i.code for i in members]
    remaining = [c for c in before if c != code]
    if len(remaining) < 2:
        audit.record(session, actor, "enemy_set.remove", "enemy_set", enemy_set.id,
                     before={"name": enemy_set.name, "items": before},
                     after={"items": remaining, "removed": code, "deleted": True})
        session.delete(enemy_set)
        session.flush()
        return None
    member = next(m for m in enemy_set.members if m.item_id == item.id)
    enemy_set.members.remove(member)
    session.flush()
    audit.record(session, actor, "enemy_set.remove", "enemy_set", enemy_set.id,
                 before={"items": before}, after={"items": remaining, "removed": code})
    return enemy_set


def delete_enemy_set(session: Session, actor: User, set_id: int) -> None:
    require_role(actor, *EDITORS)
    enemy_set = get_enemy_set(session, set_id, actor)
    audit.record(session, actor, "enemy_set.delete", "enemy_set", enemy_set.id,
                 before={"name": enemy_set.name, "items": _codes(session, enemy_set)})
    session.delete(enemy_set)
    session.flush()
