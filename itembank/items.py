"""Item services (试题): write, revise and move items through the review workflow.

Workflow: draft → submitted (author) → reviewed (审题, a reviewer) → approved (终审, a second
reviewer) → active → retired; a reviewer may return a submitted or reviewed item with
comments (returned), and the author then revises it. Rules enforced here:

* nobody who wrote any version of an item reviews, approves or returns it;
* the final approver is not the reviewer who passed the same version;
* a version is immutable once submitted: revising it (or an approved/active item) makes a
  new version, which must pass review again; papers pin the version they used.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from foundation import audit
from foundation.accounts import User
from foundation.db import MAX_ID
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.roles import Role, require_role
from itembank import access, duplicates, sanitize, stem_index
from itembank.itemtypes import ITEM_TYPES, get_type
from itembank.models import Blueprint, BlueprintNode, Item, ItemEvent, ItemStatus, ItemVersion

WRITERS = (Role.QUESTION_WRITER,)
REVIEWERS = (Role.ITEM_REVIEWER,)
EDITABLE = (ItemStatus.DRAFT.value, ItemStatus.RETURNED.value, ItemStatus.APPROVED.value, ItemStatus.ACTIVE.value)


@dataclasses.dataclass(frozen=True)
class ItemContent:
    """What a writer edits; the same shape for the form, the API and the Excel import."""

    stem_html: str
    spec: dict[str, Any]
    explanation_html: str = ""
    source: str = ""
    difficulty: float | None = None


@dataclasses.dataclass(frozen=True)
class Cleaned:
    stem_html: str
    spec_json: str
    explanation_html: str
    source: str
    difficulty: float | None
    minhash: bytes


def clean_content(item_type: str, content: ItemContent) -> Cleaned:
    """Validate and sanitise everything a writer sends; raises ValidationError in Chinese."""
    kind = get_type(item_type)
    stem = sanitize.clean_item_html(content.stem_html or "")  # sanitised, length- and TeX-checked
    if not sanitize.plain_text(stem).strip() and "src=" not in stem:
        raise ValidationError("题干不能为空。", field="stem_html")
    spec = kind.validate(content.spec)
    explanation = sanitize.clean_item_html(content.explanation_html or "")
    if content.difficulty is not None and not 0 < content.difficulty < 1:
        raise ValidationError("难度系数应在 0 与 1 之间（预估答对率，如 0.65）。", field="difficulty")
    source = (content.source or "").strip()
    if len(source) > 255:
        raise ValidationError("来源过长。", field="source")
    return Cleaned(stem, json.dumps(spec, ensure_ascii=False, sort_keys=True), explanation, source,
                   content.difficulty, duplicates.signature(stem).tobytes())


def get_item(session: Session, item_id: int) -> Item:
    """The item, with no access check: for code that already decided (use :func:`read_item`)."""
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound("试题不存在。")
    return item


def read_item(session: Session, actor: User, item_id: int) -> Item:
    """The item if ``actor`` may read it (see :mod:`itembank.access`), else NotFound."""
    return access.readable_item(session, actor, item_id)


def _version_summary(v: ItemVersion) -> dict[str, Any]:
    return {"version": v.number, "stem": sanitize.excerpt(v.stem_html), "difficulty": v.difficulty}


def _event(session: Session, item: Item, actor: User, action: str, before: str | None, comment: str = "") -> None:
    assert item.current_version_id is not None
    session.add(ItemEvent(item_id=item.id, version_id=item.current_version_id, action=action, from_status=before,
                          to_status=item.status, actor_id=actor.id, comment=comment))
    session.flush()
    audit.record(session, actor, f"item.{action}", "item", item.id,
                 before={"status": before}, after={"status": item.status, "comment": comment or None})


#: At most this many initials name the occupation (or 工种) in a generated item code.
CODE_PREFIX_LETTERS = 6


def code_prefix(point: BlueprintNode) -> str:
    """The bank's code prefix of an item on ``point``: the initials of its blueprint's 工种 (or,
    without one, occupation) in pinyin, then the level, e.g. ``DG4-`` for 电工 四级 (the demo
    bank's ``DG4-001``). Other characters count with their first letter or digit."""
    from pypinyin import Style, lazy_pinyin

    blueprint = point.blueprint
    name = blueprint.work_type.name if blueprint.work_type is not None else blueprint.occupation.name
    initials = "".join(next((c for c in part if c.isascii() and c.isalnum()), "")
                       for part in lazy_pinyin(name, style=Style.FIRST_LETTER))
    return f"{initials.upper()[:CODE_PREFIX_LETTERS] or 'IT'}{blueprint.level}-"


def new_item_code(session: Session, point: BlueprintNode, reserved: Collection[str] = ()) -> str:
    """The next free code in the bank's scheme: :func:`code_prefix` plus a serial of at
    least three digits, one past the highest serial with that prefix in the bank or in
    ``reserved`` (codes an import is about to use): ``DG4-001``, ``DG4-002``, ..."""
    prefix = code_prefix(point)
    stored = session.scalars(select(Item.code).where(Item.code.startswith(prefix, autoescape=True)))
    codes = [*stored, *(c for c in reserved if c.startswith(prefix))]
    serials = [int(c[len(prefix):]) for c in codes if c[len(prefix):].isascii() and c[len(prefix):].isdigit()]
    return f"{prefix}{max(serials, default=0) + 1:03d}"


def create_item(
    session: Session, actor: User, *, point_id: int, item_type: str, content: ItemContent,
    code: str | None = None, is_pretest: bool = False,
) -> Item:
    require_role(actor, *WRITERS)
    point = session.get(BlueprintNode, point_id)
    if point is None or not point.is_point:
        raise ValidationError("请选择一个鉴定点。", field="point_id")
    cleaned = clean_content(item_type, content)
    code = (code or new_item_code(session, point)).strip()
    if session.scalar(select(Item.id).where(Item.code == code)) is not None:
        raise ValidationError(f"试题编码 {code} 已存在。", field="code")
    item = Item(code=code, point_id=point.id, level=point.blueprint.level, item_type=item_type,
                status=ItemStatus.DRAFT.value, author_id=actor.id, institution_id=actor.institution_id,
                is_pretest=is_pretest)
    session.add(item)
    session.flush()
    version = _new_version(session, item, actor, cleaned, number=1, note="新建")
    audit.record(session, actor, "item.create", "item", item.id, after={"code": code, **_version_summary(version)})
    return item


def _new_version(session: Session, item: Item, actor: User, cleaned: Cleaned, *, number: int, note: str) -> ItemVersion:
    version = ItemVersion(number=number, stem_html=cleaned.stem_html, spec_json=cleaned.spec_json,
                          explanation_html=cleaned.explanation_html, source=cleaned.source,
                          difficulty=cleaned.difficulty, author_id=actor.id, change_note=note,
                          minhash=cleaned.minhash)
    item.versions.append(version)
    session.flush()
    item.current_version = version
    session.flush()
    stem_index.index_item(session, item)
    return version


def revise_item(session: Session, actor: User, item_id: int, content: ItemContent, *, note: str = "") -> Item:
    """Edit an item. A draft that was never submitted is edited in place; anything frozen
    (returned, approved, active) gets a new version that goes back to draft."""
    require_role(actor, *WRITERS)
    item = get_item(session, item_id)
    if item.status in (ItemStatus.DRAFT.value, ItemStatus.RETURNED.value) and actor.id not in _author_ids(item):
        raise PermissionDenied("只有本题的命题员可以修改草稿或退回的试题。")
    if not access.can_revise(session, actor, item):
        raise PermissionDenied("只有本题的命题员，或获本机构该职业修订授权的命题员，可以修订本题。")
    if item.status not in EDITABLE:
        raise ValidationError(f"试题处于「{item.status_label}」状态，审核期间不能修改。")
    cleaned = clean_content(item.item_type, content)
    current = item.current_version
    assert current is not None
    before = _version_summary(current)
    if not current.frozen:
        current.stem_html, current.spec_json = cleaned.stem_html, cleaned.spec_json
        current.explanation_html, current.source = cleaned.explanation_html, cleaned.source
        current.difficulty, current.minhash = cleaned.difficulty, cleaned.minhash
        current.change_note = note or current.change_note
        session.flush()
        stem_index.index_item(session, item)
        audit.record(session, actor, "item.edit", "item", item.id, before=before, after=_version_summary(current))
        return item
    previous = item.status
    _new_version(session, item, actor, cleaned, number=current.number + 1, note=note or "修订")
    item.status = ItemStatus.DRAFT.value
    session.flush()
    _event(session, item, actor, "revise", previous, note)
    return item


def _author_ids(item: Item) -> set[int]:
    return {item.author_id} | {v.author_id for v in item.versions}


def _require_not_author(item: Item, actor: User) -> None:
    if actor.id in _author_ids(item):
        raise PermissionDenied("命题员不能审核本人编写的试题。")


def submit_item(session: Session, actor: User, item_id: int) -> Item:
    require_role(actor, *WRITERS)
    item = get_item(session, item_id)
    if actor.id not in _author_ids(item):
        raise PermissionDenied("只有本题的命题员可以提交审核。")
    if item.status not in (ItemStatus.DRAFT.value, ItemStatus.RETURNED.value):
        raise ValidationError(f"试题处于「{item.status_label}」状态，不能提交。")
    if item.status == ItemStatus.RETURNED.value and item.current_version and item.current_version.frozen:
        raise ValidationError("请先按审核意见修改试题，再重新提交。")
    before = item.status
    assert item.current_version is not None
    item.current_version.frozen = True
    item.status = ItemStatus.SUBMITTED.value
    _event(session, item, actor, "submit", before)
    return item


def review_item(session: Session, actor: User, item_id: int, comment: str = "") -> Item:
    """审题: the first reviewer passes the submitted version."""
    require_role(actor, *REVIEWERS)
    item = read_item(session, actor, item_id)
    _require_not_author(item, actor)
    if item.status != ItemStatus.SUBMITTED.value:
        raise ValidationError(f"试题处于「{item.status_label}」状态，不能审题。")
    item.status = ItemStatus.REVIEWED.value
    _event(session, item, actor, "review", ItemStatus.SUBMITTED.value, comment)
    return item


def _reviewer_of_current(session: Session, item: Item) -> int | None:
    return session.scalar(select(ItemEvent.actor_id).where(
        ItemEvent.item_id == item.id, ItemEvent.version_id == item.current_version_id, ItemEvent.action == "review",
    ).order_by(ItemEvent.id.desc()).limit(1))


def approve_item(session: Session, actor: User, item_id: int, comment: str = "") -> Item:
    """终审: a second reviewer, never the one who passed this version."""
    require_role(actor, *REVIEWERS)
    item = read_item(session, actor, item_id)
    _require_not_author(item, actor)
    if item.status != ItemStatus.REVIEWED.value:
        raise ValidationError(f"试题处于「{item.status_label}」状态，不能终审。")
    if _reviewer_of_current(session, item) == actor.id:
        raise PermissionDenied("审题人与终审人不能是同一人。")
    item.status = ItemStatus.APPROVED.value
    _event(session, item, actor, "approve", ItemStatus.REVIEWED.value, comment)
    return item


def return_item(session: Session, actor: User, item_id: int, comment: str) -> Item:
    require_role(actor, *REVIEWERS)
    item = read_item(session, actor, item_id)
    _require_not_author(item, actor)
    if item.status not in (ItemStatus.SUBMITTED.value, ItemStatus.REVIEWED.value):
        raise ValidationError(f"试题处于「{item.status_label}」状态，不能退回。")
    if not comment.strip():
        raise ValidationError("退回时必须填写审核意见。", field="comment")
    before = item.status
    item.status = ItemStatus.RETURNED.value
    _event(session, item, actor, "return", before, comment.strip())
    return item


def activate_item(session: Session, actor: User, item_id: int) -> Item:
    require_role(actor, Role.CENTRE_ADMIN, *REVIEWERS)
    item = read_item(session, actor, item_id)
    if item.status != ItemStatus.APPROVED.value:
        raise ValidationError(f"只有已终审的试题可以启用（当前：{item.status_label}）。")
    item.status = ItemStatus.ACTIVE.value
    _event(session, item, actor, "activate", ItemStatus.APPROVED.value)
    return item


def retire_item(session: Session, actor: User, item_id: int, reason: str) -> Item:
    require_role(actor, Role.CENTRE_ADMIN, *REVIEWERS)
    item = read_item(session, actor, item_id)
    if item.status not in (ItemStatus.APPROVED.value, ItemStatus.ACTIVE.value):
        raise ValidationError(f"试题处于「{item.status_label}」状态，不能停用。")
    if not reason.strip():
        raise ValidationError("停用试题必须填写原因。", field="reason")
    before = item.status
    item.status = ItemStatus.RETIRED.value
    _event(session, item, actor, "retire", before, reason.strip())
    return item


# ---------------------------------------------------------------- queries

ITEM_FILTERS = ("q", "blueprint", "occupation", "level", "point", "point_id", "type", "status", "mine")


def _int(value: str) -> int | None:
    """A filter id or level: ASCII digits within MAX_ID, else no filter. ("²".isdigit() holds
    but int() refuses it; a larger number made the database fail instead of match nothing.)"""
    if not (value.isascii() and value.isdigit() and len(value) <= 10) or int(value) > MAX_ID:
        return None
    return int(value)


def item_query(filters: Mapping[str, str], actor: User) -> Select[Item]:
    """Items ``actor`` may read (:func:`itembank.access.item_clause`) matching the list filters
    (the pages and the export share it): text in the code or current stem, blueprint,
    occupation, level, point-code prefix or point id, type, status, and ``mine`` (items where ``actor``
    wrote any version). Unordered."""
    f = {k: (filters.get(k) or "").strip() for k in ITEM_FILTERS}
    stmt = (select(Item)
            .join(ItemVersion, ItemVersion.id == Item.current_version_id)
            .join(BlueprintNode, BlueprintNode.id == Item.point_id)
            .join(Blueprint, Blueprint.id == BlueprintNode.blueprint_id)
            .options(selectinload(Item.current_version), selectinload(Item.author)))
    actor_id = actor.id
    if (visible := access.item_clause(actor)) is not None:
        stmt = stmt.where(visible)
    if f["q"]:
        stmt = stmt.where(or_(Item.code.icontains(f["q"], autoescape=True),
                              ItemVersion.stem_html.icontains(f["q"], autoescape=True)))
    if (bp_id := _int(f["blueprint"])) is not None:
        stmt = stmt.where(Blueprint.id == bp_id)
    if (occ_id := _int(f["occupation"])) is not None:
        stmt = stmt.where(Blueprint.occupation_id == occ_id)
    if (level := _int(f["level"])) is not None:
        stmt = stmt.where(Item.level == level)
    if f["point"]:
        stmt = stmt.where(BlueprintNode.code.istartswith(f["point"], autoescape=True))
    if (point_id := _int(f["point_id"])) is not None:
        stmt = stmt.where(Item.point_id == point_id)
    if f["type"] in ITEM_TYPES:
        stmt = stmt.where(Item.item_type == f["type"])
    if f["status"] in {s.value for s in ItemStatus}:
        stmt = stmt.where(Item.status == f["status"])
    if f["mine"] == "1":
        # A second alias: the joined ItemVersion is the current one; this one is any version.
        wrote = aliased(ItemVersion)
        stmt = stmt.where(or_(Item.author_id == actor_id,
                              exists().where(wrote.item_id == Item.id, wrote.author_id == actor_id)))
    return stmt


# ---------------------------------------------------------------- versions and duplicates


def _version_lines(v: ItemVersion) -> dict[str, list[str]]:
    spec = v.spec
    options = [f"{o.get('label', '')}. {sanitize.plain_text(o.get('html', ''))}" for o in spec.get("options", [])]
    public_keys = {k: spec[k] for k in spec if k != "options"}
    return {
        "题干": sanitize.plain_text(v.stem_html).splitlines() or [""],
        "选项": options,
        "答案与评分": [json.dumps(public_keys, ensure_ascii=False, sort_keys=True)],
        "解析": sanitize.plain_text(v.explanation_html).splitlines(),
        "来源": [v.source],
        "难度": [f"{v.difficulty:g}" if v.difficulty is not None else "未填"],
    }


@dataclasses.dataclass(frozen=True)
class FieldDiff:
    field: str
    removed: list[str]
    added: list[str]


def version_diff(old: ItemVersion, new: ItemVersion) -> list[FieldDiff]:
    """What changed between two versions, field by field, in plain text a reviewer can read."""
    a, b = _version_lines(old), _version_lines(new)
    diffs = []
    for field in a:
        if a[field] == b[field]:
            continue
        lines = list(difflib.ndiff(a[field], b[field]))
        diffs.append(FieldDiff(field, [ln[2:] for ln in lines if ln.startswith("- ")],
                               [ln[2:] for ln in lines if ln.startswith("+ ")]))
    return diffs


def find_duplicates(session: Session, stem_html: str, *, exclude_item_id: int | None = None,
                    threshold: float = duplicates.DEFAULT_THRESHOLD, limit: int = 5,
                    viewer: User | None = None, blueprint_id: int | None = None) -> list[tuple[Item, float]]:
    """Near-duplicate stems among the bank's current versions, best match first (ties by
    id); only items ``viewer`` may read when a viewer is given, only items on
    ``blueprint_id`` when one is given. Reads the persistent index (:mod:`itembank.stem_index`):
    three statements whatever the bank's size."""
    where = []
    if viewer is not None and (visible := access.item_clause(viewer)) is not None:
        where.append(visible)
    excludes = [[exclude_item_id] if exclude_item_id is not None else []]
    found = stem_index.find_many(session, [stem_html], threshold=threshold, excludes=excludes, where=where,
                                 blueprint_id=blueprint_id)[0][:limit]
    if not found:
        return []
    items = {item.id: item for item in session.scalars(select(Item).where(Item.id.in_([i for i, _ in found])))}
    return [(items[item_id], sim) for item_id, sim in found]
