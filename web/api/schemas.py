"""Serialisation and request validation for the JSON API (``web/api/views.py``).

Two kinds of functions live here, neither touching the database nor Flask's request:

* **model → dict**: ``blueprint_summary``, ``blueprint_detail``, ``item_summary``,
  ``item_detail``, ... return plain JSON-ready dicts in the shapes ``docs/openapi.yaml``
  describes. The API serves staff only, so item specs include their answer keys; never
  reuse these serialisers for anything a candidate can reach (use ``ItemType.public_view``).
* **request → arguments**: ``*_from_json`` and the query-argument parsers check the JSON
  shape and raise :class:`~foundation.errors.ValidationError` with ``field`` (the JSON path
  of the offending value, e.g. ``spec.options[1].html``) or :class:`RowErrors`, so a client
  learns exactly what to fix. The services validate the domain rules again.

Adding a resource: write its ``*_summary`` / ``*_detail`` / ``*_from_json`` in a new section
below (as papers do), then the views (see ``web/api/views.py``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from foundation.accounts import User
from foundation.audit import AuditEntry
from foundation.errors import RowErrors, ValidationError
from foundation.institutions import Institution
from foundation.jobs import Job, JobStatus
from foundation.levels import LEVEL_NAMES, level_name
from foundation.occupations import Occupation, WorkType
from itembank import sanitize
from itembank.blueprints import HealthReport, NodeSpec, PointCoverage, parent_code
from itembank.items import FieldDiff, ItemContent
from itembank.itemtypes import ITEM_TYPES, get_type
from itembank.models import (
    IMPORTANCE_LABELS,
    MODE_LABELS,
    Blueprint,
    BlueprintMode,
    BlueprintNode,
    EnemySet,
    Item,
    ItemEvent,
    ItemStatus,
    ItemVersion,
    Paper,
    PaperForm,
    PaperItem,
    PaperStatus,
)
from itembank.papers import FORM_LABELS, Section, parse_sections
from itembank.papers import MODE_LABELS as PAPER_MODE_LABELS
from itembank.papers import MODES as PAPER_MODES
from web.params import MAX_ID, query_int

Json = dict[str, Any]

MAX_PER_PAGE = 100
MAX_NODES = 5000
MAX_NODE_DEPTH = 6  # 5 range levels + points, as the blueprint rules allow
STEM_EXCERPT = 120
MAX_COMMENT = 2000
POINT_FILTER = re.compile(r"[A-Z](?:-[A-Z]){0,4}(?:-\d{1,3})?")


# ---------------------------------------------------------------- common


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 with offset; naive values (SQLite) are UTC as everything is stored in UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


def user_ref(user: User | None) -> Json | None:
    return None if user is None else {"id": user.id, "name": user.name}


def occupation_ref(occupation: Occupation) -> Json:
    return {"id": occupation.id, "code": occupation.code, "name": occupation.name}


def work_type_ref(work_type: WorkType | None) -> Json | None:
    return None if work_type is None else {"id": work_type.id, "name": work_type.name}


def page_json(items: list[Json], *, page: int, per_page: int, total: int) -> Json:
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def json_object(body: object) -> Mapping[str, Any]:
    """The request body must be a JSON object."""
    if not isinstance(body, Mapping):
        raise ValidationError("请求体必须是 JSON 对象（Content-Type: application/json）。")
    return body


def _reject_unknown(body: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(str(k) for k in body if k not in set(allowed))
    if unknown:
        raise ValidationError(f"不支持的字段：{'、'.join(unknown)}。", field=unknown[0])


def _int(value: object, field: str, what: str, *, required: bool = True) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{what}必须是整数。", field=field)
    if not -MAX_ID <= value <= MAX_ID:  # no column holds more (an id, a count, minutes)
        raise ValidationError(f"{what}超出范围。", field=field)
    return value


def _str(value: object, field: str, what: str, *, default: str | None = None) -> str:
    if value is None and default is not None:
        return default
    if not isinstance(value, str):
        raise ValidationError(f"{what}必须是字符串。", field=field)
    return value


def _level(value: object, field: str = "level") -> int:
    level = _int(value, field, "等级")
    if level not in LEVEL_NAMES:
        raise ValidationError("等级必须是 1 到 5 之间的整数（5 为五级/初级工，1 为一级/高级技师）。", field=field)
    return level


# ---------------------------------------------------------------- query arguments


def page_args(args: Mapping[str, str], default_per_page: int) -> tuple[int, int]:
    """``?page=`` (from 1) and ``?per_page=`` (1–100; larger values are capped at 100)."""
    page = int_arg(args, "page") or 1
    per_page = int_arg(args, "per_page") or default_per_page
    return page, min(per_page, MAX_PER_PAGE)


def int_arg(args: Mapping[str, str], name: str, *, minimum: int = 1) -> int | None:
    return query_int(args, name, minimum=minimum)


def choice_arg(args: Mapping[str, str], name: str, choices: Iterable[str]) -> str | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    allowed = list(choices)
    if raw not in allowed:
        raise ValidationError(f"参数 {name} 只能是：{'、'.join(allowed)}。", field=name)
    return raw


def level_arg(args: Mapping[str, str]) -> int | None:
    level = int_arg(args, "level")
    if level is not None and level not in LEVEL_NAMES:
        raise ValidationError("参数 level 必须是 1 到 5 之间的整数。", field="level")
    return level


def point_arg(args: Mapping[str, str]) -> tuple[int | None, str | None]:
    """``?point=``: a point's node id (digits) or a code prefix such as ``A-B`` (a range and
    everything under it), as on the item list page."""
    raw = (args.get("point") or "").strip()
    if not raw:
        return None, None
    if raw.isascii() and raw.isdigit():
        return int_arg(args, "point"), None
    code = raw.upper()
    if not POINT_FILTER.fullmatch(code):
        raise ValidationError("参数 point 应为鉴定点 id 或编码前缀（如 A-B）。", field="point")
    return None, code


def bool_arg(args: Mapping[str, str], name: str) -> bool:
    raw = (args.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ValidationError(f"参数 {name} 只能是 true 或 false。", field=name)


def float_arg(args: Mapping[str, str], name: str, low: float, high: float) -> float | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not low <= value <= high:
        raise ValidationError(f"参数 {name} 必须是 {low:g} 到 {high:g} 之间的数。", field=name)
    return value


# ---------------------------------------------------------------- blueprints


def blueprint_summary(bp: Blueprint, point_count: int) -> Json:
    return {
        "id": bp.id,
        "name": bp.name,
        "occupation": occupation_ref(bp.occupation),
        "work_type": work_type_ref(bp.work_type),
        "level": bp.level,
        "level_name": level_name(bp.level),
        "mode": bp.mode,
        "mode_label": MODE_LABELS[bp.mode],
        "target_label": bp.target_label,
        "point_count": point_count,
        "created_at": iso(bp.created_at),
        "updated_at": iso(bp.updated_at),
    }


def node_tree(nodes: Iterable[BlueprintNode]) -> list[Json]:
    """The nodes (in position order) nested by parent: ranges carry ``children``, points not."""
    by_parent: dict[int | None, list[BlueprintNode]] = {}
    for node in nodes:
        by_parent.setdefault(node.parent_id, []).append(node)

    def build(node: BlueprintNode) -> Json:
        out: Json = {"id": node.id, "code": node.code, "name": node.name, "is_point": node.is_point,
                     "importance": node.importance, "weight": float(node.weight)}
        if not node.is_point:
            out["children"] = [build(child) for child in by_parent.get(node.id, [])]
        return out

    return [build(root) for root in by_parent.get(None, [])]


def health_json(report: HealthReport) -> Json:
    return {"warnings": list(report.warnings), "point_count": report.point_count,
            "importance_counts": dict(report.importance_counts)}


def blueprint_detail(bp: Blueprint, report: HealthReport) -> Json:
    return {**blueprint_summary(bp, report.point_count), "nodes": node_tree(bp.nodes), "health": health_json(report)}


def coverage_json(bp: Blueprint, rows: list[PointCoverage], summary: Mapping[str, Any], minimum: int) -> Json:
    return {
        "blueprint_id": bp.id,
        "min_items_per_point": minimum,
        "points": [
            {"code": c.code, "name": c.name, "importance": c.importance,
             "importance_label": IMPORTANCE_LABELS.get(c.importance or "", ""),
             "approved": c.approved, "in_progress": c.in_progress, "short": c.short}
            for c in rows
        ],
        "summary": dict(summary),
    }


BLUEPRINT_CREATE_FIELDS = ("occupation_id", "work_type_id", "level", "mode", "name")


def blueprint_create_from_json(body: object) -> dict[str, Any]:
    """Keyword arguments for ``itembank.blueprints.create_blueprint``."""
    data = json_object(body)
    _reject_unknown(data, BLUEPRINT_CREATE_FIELDS)
    mode = data.get("mode", BlueprintMode.THEORY.value)
    if not isinstance(mode, str) or mode not in {m.value for m in BlueprintMode}:
        raise ValidationError("细目表类型只能是 theory（理论知识）或 skill（操作技能）。", field="mode")
    return {
        "occupation_id": _int(data.get("occupation_id"), "occupation_id", "职业"),
        "work_type_id": _int(data.get("work_type_id"), "work_type_id", "工种", required=False),
        "level": _level(data.get("level")),
        "mode": mode,
        "name": _str(data.get("name"), "name", "名称", default=""),
    }


NODE_FIELDS = frozenset({"code", "name", "importance", "weight", "children", "id", "is_point"})


def node_specs_from_json(body: object) -> list[NodeSpec]:
    """``{"nodes": [...]}`` as NodeSpecs in row order.

    Nodes may be a flat list (the codes carry the structure) or nested with ``children``,
    exactly as ``GET /blueprints/{id}`` returns them; rows are numbered from 1 depth-first,
    which is the index + 1 of a flat list. ``id`` and ``is_point`` are ignored. Shape
    problems are collected per row and raised together as RowErrors.
    """
    data = json_object(body)
    _reject_unknown(data, ("nodes",))
    raw = data.get("nodes")
    if not isinstance(raw, list):
        raise ValidationError("请提供细目表节点列表 nodes。", field="nodes")
    specs: list[NodeSpec] = []
    errors: list[tuple[int, str, str]] = []

    def walk(items: list[Any], parent: str | None, depth: int) -> None:
        for node in items:
            if len(specs) >= MAX_NODES:
                raise ValidationError(f"细目表节点最多 {MAX_NODES} 个。", field="nodes")
            row = len(specs) + 1
            if not isinstance(node, Mapping):
                errors.append((row, "节点", "每个节点必须是 JSON 对象。"))
                specs.append(NodeSpec("", ""))
                continue
            unknown = sorted(str(k) for k in node if k not in NODE_FIELDS)
            if unknown:
                errors.append((row, "节点", f"不支持的字段：{'、'.join(unknown)}。"))
            code, name = node.get("code"), node.get("name")
            importance, weight = node.get("importance"), node.get("weight", 0)
            if not isinstance(code, str):
                errors.append((row, "编码", "编码必须是字符串。"))
                code = ""
            if not isinstance(name, str):
                errors.append((row, "名称", "名称必须是字符串。"))
                name = ""
            if importance is not None and not isinstance(importance, str):
                errors.append((row, "重要程度", "重要程度只能是 X、Y、Z 或 null。"))
                importance = None
            if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
                errors.append((row, "比重", "鉴定比重必须是数字。"))
                weight = 0
            specs.append(NodeSpec(code, name, importance or None, float(weight)))
            if parent is not None and code and parent_code(code.strip().upper()) != parent:
                errors.append((row, "编码", f"「{code}」不是「{parent}」的下级，不能放在它的 children 中。"))
            children = node.get("children")
            if children is None:
                continue
            if not isinstance(children, list):
                errors.append((row, "children", "children 必须是节点列表。"))
            elif children and depth >= MAX_NODE_DEPTH:
                errors.append((row, "children", f"细目表最多 {MAX_NODE_DEPTH} 级。"))
            else:
                walk(children, code.strip().upper(), depth + 1)

    walk(raw, None, 1)
    if errors:
        raise RowErrors(errors)
    return specs


# ---------------------------------------------------------------- items


def _stem_text(version: ItemVersion | None) -> str:
    return "" if version is None else sanitize.excerpt(version.stem_html, STEM_EXCERPT)


def item_summary(item: Item) -> Json:
    version = item.current_version
    return {
        "id": item.id,
        "code": item.code,
        "type": item.item_type,
        "type_label": ITEM_TYPES[item.item_type].label if item.item_type in ITEM_TYPES else item.item_type,
        "level": item.level,
        "level_name": level_name(item.level),
        "status": item.status,
        "status_label": item.status_label,
        "point": {"id": item.point.id, "code": item.point.code, "name": item.point.name,
                  "blueprint_id": item.point.blueprint_id},
        "author": user_ref(item.author),
        "version": version.number if version else None,
        "stem_text": _stem_text(version),
        "is_pretest": item.is_pretest,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
    }


def version_summary(version: ItemVersion) -> Json:
    return {
        "number": version.number,
        "author": user_ref(version.author),
        "change_note": version.change_note,
        "frozen": version.frozen,
        "stem_text": _stem_text(version),
        "created_at": iso(version.created_at),
    }


def version_full(version: ItemVersion) -> Json:
    """A version's whole content, answer key included (staff only)."""
    return {
        **version_summary(version),
        "stem_html": version.stem_html,
        "spec": version.spec,
        "explanation_html": version.explanation_html,
        "source": version.source,
        "difficulty": version.difficulty,
    }


def diff_json(diffs: Iterable[FieldDiff]) -> list[Json]:
    return [{"field": d.field, "removed": list(d.removed), "added": list(d.added)} for d in diffs]


def event_json(event: ItemEvent) -> Json:
    return {
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "actor": user_ref(event.actor),
        "comment": event.comment,
        "at": iso(event.at),
    }


def item_detail(item: Item) -> Json:
    return {
        **item_summary(item),
        "current_version": version_full(item.current_version) if item.current_version else None,
        "irt": {"a": item.irt_a, "b": item.irt_b, "c": item.irt_c},
        "events": [event_json(e) for e in item.events],
    }


def duplicate_json(item: Item, similarity: float) -> Json:
    return {"similarity": round(similarity, 4), "item": item_summary(item)}


CONTENT_FIELDS = ("stem_html", "spec", "explanation_html", "source", "difficulty")
ITEM_CREATE_FIELDS = ("point_id", "type", "code", "is_pretest", *CONTENT_FIELDS)
ITEM_REVISE_FIELDS = (*CONTENT_FIELDS, "note")


def _html_field(value: object, field: str, what: str, *, required: bool) -> str:
    if value is None and not required:
        return ""
    text = _str(value, field, what)
    try:
        sanitize.clean_item_html(text)  # only to name the field; the service cleans and stores
    except ValidationError as exc:
        raise ValidationError(exc.message, field=field) from exc
    return text


def item_content_from_json(data: Mapping[str, Any], item_type: str) -> ItemContent:
    """The whole content of an item (stem and spec required; the rest optional).

    Errors name the JSON path: ``stem_html``, ``spec.key``, ``spec.options[2].html``, ...
    """
    kind = get_type(item_type)
    stem = _html_field(data.get("stem_html"), "stem_html", "题干", required=True)
    spec = data.get("spec")
    if not isinstance(spec, Mapping):
        raise ValidationError("题目数据 spec 必须是 JSON 对象。", field="spec")
    try:
        kind.validate(spec)  # only to name the field; the service validates and stores
    except ValidationError as exc:
        raise ValidationError(exc.message, field=f"spec.{exc.field}" if exc.field else "spec") from exc
    explanation = _html_field(data.get("explanation_html"), "explanation_html", "解析", required=False)
    source = _str(data.get("source"), "source", "来源", default="")
    difficulty = data.get("difficulty")
    if difficulty is not None and (isinstance(difficulty, bool) or not isinstance(difficulty, int | float)):
        raise ValidationError("难度系数必须是 0 与 1 之间的数（预估答对率，如 0.65）。", field="difficulty")
    return ItemContent(stem_html=stem, spec=dict(spec), explanation_html=explanation, source=source,
                       difficulty=None if difficulty is None else float(difficulty))


def item_create_from_json(body: object) -> dict[str, Any]:
    """Keyword arguments for ``itembank.items.create_item``."""
    data = json_object(body)
    _reject_unknown(data, ITEM_CREATE_FIELDS)
    point_id = _int(data.get("point_id"), "point_id", "鉴定点")
    item_type = data.get("type")
    if not isinstance(item_type, str) or item_type not in ITEM_TYPES:
        raise ValidationError(f"题型只能是：{'、'.join(ITEM_TYPES)}。", field="type")
    code = data.get("code")
    if code is not None and (not isinstance(code, str) or not code.strip() or len(code.strip()) > 64):
        raise ValidationError("试题编码必须是 1–64 个字符的字符串，或省略由系统生成。", field="code")
    is_pretest = data.get("is_pretest", False)
    if not isinstance(is_pretest, bool):
        raise ValidationError("is_pretest 必须是 true 或 false。", field="is_pretest")
    return {"point_id": point_id, "item_type": item_type, "content": item_content_from_json(data, item_type),
            "code": code, "is_pretest": is_pretest}


def item_revise_from_json(body: object, item_type: str) -> tuple[ItemContent, str]:
    """(content, change note) for ``itembank.items.revise_item``; the type cannot change."""
    data = json_object(body)
    _reject_unknown(data, ITEM_REVISE_FIELDS)
    note = _str(data.get("note"), "note", "修改说明", default="")
    return item_content_from_json(data, item_type), note.strip()


TRANSITIONS = ("submit", "review", "approve", "return", "activate", "retire")


def transition_from_json(body: object) -> tuple[str, str]:
    """(action, comment) of ``POST /items/{id}/transitions``."""
    data = json_object(body)
    _reject_unknown(data, ("action", "comment"))
    action = data.get("action")
    if not isinstance(action, str) or action not in TRANSITIONS:
        raise ValidationError(f"action 只能是：{'、'.join(TRANSITIONS)}。", field="action")
    comment = _str(data.get("comment"), "comment", "审核意见", default="")
    if len(comment) > MAX_COMMENT:
        raise ValidationError(f"意见过长（最多 {MAX_COMMENT} 字）。", field="comment")
    return str(action), comment


ITEM_STATUSES = tuple(s.value for s in ItemStatus)


# ---------------------------------------------------------------- enemy sets (互斥题组)

ENEMY_SET_CREATE_FIELDS = ("name", "item_codes")
MAX_ENEMY_CODES = 50


def enemy_set_json(enemy_set: EnemySet, items: list[Item], created_by: User | None) -> Json:
    """A set with its member items (summaries: no spec, no key), ordered by item code."""
    return {
        "id": enemy_set.id,
        "name": enemy_set.name,
        "blueprint_id": items[0].point.blueprint_id if items else None,
        "items": [item_summary(i) for i in items],
        "created_by": user_ref(created_by),
        "created_at": iso(enemy_set.created_at),
    }


def enemy_set_create_from_json(body: object) -> dict[str, Any]:
    """``{"name", "item_codes"}`` for ``itembank.enemies.create_enemy_set`` (name optional)."""
    data = json_object(body)
    _reject_unknown(data, ENEMY_SET_CREATE_FIELDS)
    name = _str(data.get("name"), "name", "题组名称", default="")
    codes = data.get("item_codes")
    if not isinstance(codes, list) or not codes:
        raise ValidationError("请提供试题编码列表 item_codes（至少两道不同的试题）。", field="item_codes")
    if len(codes) > MAX_ENEMY_CODES:
        raise ValidationError(f"一个互斥题组最多 {MAX_ENEMY_CODES} 道试题。", field="item_codes")
    for k, code in enumerate(codes):
        if not isinstance(code, str) or not code.strip():
            raise ValidationError("试题编码必须是非空字符串。", field=f"item_codes[{k}]")
    return {"name": name, "item_codes": [c.strip() for c in codes]}


# ---------------------------------------------------------------- papers (试卷)
#
# Papers are read by institution admins too, who must never see item content: a paper's
# forms list each item by id, code, type, point and pinned version number only (no stem,
# no spec, no key). Fetch an item through /items/{id} (writers, reviewers, centre) for more.

PAPER_STATUSES = tuple(s.value for s in PaperStatus)
PAPER_CREATE_FIELDS = ("institution_id", "blueprint_id", "name", "mode", "sections", "n_forms",
                       "duration_minutes", "cut_theta", "tif_tolerance", "fixed_codes", "scale_to_100")
SECTION_FIELDS = ("type", "count", "points")
PAPER_TRANSITIONS = ("submit", "approve", "return")
PAPER_HISTORY_ACTIONS = {"paper.assemble": "assemble", "paper.submit": "submit", "paper.approve": "approve",
                         "paper.return": "return"}
MAX_PAPER_NAME = 128
MAX_SECTIONS = 20
MAX_FIXED_CODES = 3500  # 7 item types × 500 items, the largest layout parse_sections allows


def _type_label(item_type: str) -> str:
    return ITEM_TYPES[item_type].label if item_type in ITEM_TYPES else item_type


def institution_ref(institution: Institution | None) -> Json | None:
    return None if institution is None else {"id": institution.id, "name": institution.name}


def paper_summary(paper: Paper, institution: Institution | None) -> Json:
    layout = paper.layout
    return {
        "id": paper.id,
        "name": paper.name,
        "status": paper.status,
        "status_label": paper.status_label,
        "mode": paper.mode,
        "mode_label": PAPER_MODE_LABELS.get(paper.mode, paper.mode),
        "institution": institution_ref(institution),
        "blueprint": {"id": paper.blueprint.id, "name": paper.blueprint.name,
                      "target_label": paper.blueprint.target_label},
        "form_labels": [f.label for f in paper.forms],
        "item_count": sum(int(s["count"]) for s in layout),
        "total_points": paper.total_points,
        "scale_to_100": paper.scale_to_100,
        "duration_minutes": paper.duration_minutes,
        "cut_theta": paper.cut_theta,
        "created_by": user_ref(paper.created_by),
        "created_at": iso(paper.created_at),
        "locked_at": iso(paper.locked_at),
    }


def paper_item_json(pi: PaperItem) -> Json:
    """One item of a form: reference data only, never content or key."""
    return {
        "position": pi.position,
        "item_id": pi.item_id,
        "code": pi.item.code,
        "type": pi.item.item_type,
        "type_label": _type_label(pi.item.item_type),
        "point_code": pi.item.point.code,
        "points": float(pi.points),
        "version": pi.version.number,
    }


def paper_form_json(form: PaperForm) -> Json:
    items = [paper_item_json(pi) for pi in form.items]
    return {"label": form.label, "item_count": len(items), "total_points": sum(i["points"] for i in items),
            "items": items}


def _report(paper: Paper) -> Json:
    try:
        report = json.loads(paper.assembly_report_json or "{}")
    except ValueError:
        return {}
    return report if isinstance(report, dict) else {}


def paper_history_json(entries: Iterable[AuditEntry]) -> list[Json]:
    """The workflow steps from the audit trail, oldest first, from the latest assembly on
    (ids of deleted papers can be reused, as on the page)."""
    rows = [e for e in entries if e.action in PAPER_HISTORY_ACTIONS]
    starts = [k for k, e in enumerate(rows) if e.action == "paper.assemble"]
    rows = rows[starts[-1]:] if starts else rows
    out = []
    for e in rows:
        after = e.after if isinstance(e.after, dict) else {}
        out.append({"action": PAPER_HISTORY_ACTIONS[e.action], "actor": {"id": e.actor_id, "name": e.actor_name},
                    "comment": after.get("comment") or None, "at": iso(e.at)})
    return out


def paper_detail(paper: Paper, institution: Institution | None, approved_by: User | None,
                 history: Iterable[AuditEntry]) -> Json:
    return {
        **paper_summary(paper, institution),
        "approved_by": user_ref(approved_by),
        "layout": [{"type": s["type"], "type_label": _type_label(s["type"]), "count": int(s["count"]),
                    "points": float(s["points"]), "subtotal": int(s["count"]) * float(s["points"])}
                   for s in paper.layout],
        "assembly_report": _report(paper),
        "forms": [paper_form_json(f) for f in paper.forms],
        "history": paper_history_json(history),
    }


def paper_curves_json(paper: Paper, curves: Mapping[str, Any]) -> Json:
    return {"paper_id": paper.id, "cut_theta": paper.cut_theta, "theta": list(curves["theta"]),
            "forms": dict(curves["forms"])}


def paper_coverage_json(paper: Paper, by_form: Mapping[str, Mapping[str, int]]) -> Json:
    """``forms`` is ``form_coverage`` (points with at least one item); ``points`` lists every
    assessment point of the blueprint with its count in each form, zeros included."""
    return {
        "paper_id": paper.id,
        "blueprint_id": paper.blueprint_id,
        "forms": {label: dict(counts) for label, counts in by_form.items()},
        "points": [
            {"code": n.code, "name": n.name, "importance": n.importance,
             "counts": {label: counts.get(n.code, 0) for label, counts in by_form.items()}}
            for n in paper.blueprint.nodes if n.is_point
        ],
    }


def _number(value: object, field: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"{what}必须是数字。", field=field)
    return float(value)


def _sections_from_json(raw: object) -> list[Section]:
    if not isinstance(raw, list) or not raw:
        raise ValidationError("请提供试卷结构 sections（每种题型的题数与每题分值）。", field="sections")
    if len(raw) > MAX_SECTIONS:
        raise ValidationError(f"试卷结构最多 {MAX_SECTIONS} 部分。", field="sections")
    rows: list[dict[str, Any]] = []
    for k, row in enumerate(raw):
        path = f"sections[{k}]"
        if not isinstance(row, Mapping):
            raise ValidationError("试卷结构的每一部分必须是 JSON 对象。", field=path)
        unknown = sorted(str(key) for key in row if key not in SECTION_FIELDS)
        if unknown:
            raise ValidationError(f"不支持的字段：{'、'.join(unknown)}。", field=f"{path}.{unknown[0]}")
        kind = row.get("type")
        if not isinstance(kind, str) or kind not in ITEM_TYPES:
            raise ValidationError(f"题型只能是：{'、'.join(ITEM_TYPES)}。", field=f"{path}.type")
        count = _int(row.get("count"), f"{path}.count", "题数")
        if count is None or not 1 <= count <= 500:
            raise ValidationError("题数应为 1–500。", field=f"{path}.count")
        points = _number(row.get("points"), f"{path}.points", "每题分值")
        if not 0 < points <= 100:
            raise ValidationError("每题分值应大于 0、不超过 100。", field=f"{path}.points")
        rows.append({"type": kind, "count": count, "points": points})
    return parse_sections(rows)  # the service's own rules (a type once only)


def _fixed_codes_from_json(raw: object) -> list[list[str]]:
    if not isinstance(raw, list) or not raw:
        raise ValidationError("固定试卷请提供 fixed_codes：每套一个试题编码列表。", field="fixed_codes")
    if len(raw) > len(FORM_LABELS):
        raise ValidationError(f"最多 {len(FORM_LABELS)} 套平行卷。", field="fixed_codes")
    forms: list[list[str]] = []
    for k, codes in enumerate(raw):
        if not isinstance(codes, list) or not codes:
            raise ValidationError(f"请为卷 {FORM_LABELS[k]} 填写试题编码列表。", field=f"fixed_codes[{k}]")
        if len(codes) > MAX_FIXED_CODES:
            raise ValidationError(f"每套最多 {MAX_FIXED_CODES} 道试题。", field=f"fixed_codes[{k}]")
        for j, code in enumerate(codes):
            if not isinstance(code, str) or not code.strip():
                raise ValidationError("试题编码必须是非空字符串。", field=f"fixed_codes[{k}][{j}]")
        forms.append([c.strip() for c in codes])
    return forms


def paper_create_from_json(body: object) -> dict[str, Any]:
    """Keyword arguments for ``itembank.papers.assemble_paper``; ``institution_id`` may be
    None (the view fills in an institution admin's own institution)."""
    data = json_object(body)
    _reject_unknown(data, PAPER_CREATE_FIELDS)
    institution_id = _int(data.get("institution_id"), "institution_id", "评价机构", required=False)
    blueprint_id = _int(data.get("blueprint_id"), "blueprint_id", "细目表")
    name = _str(data.get("name"), "name", "试卷名称").strip()
    if not name:
        raise ValidationError("请填写试卷名称。", field="name")
    if len(name) > MAX_PAPER_NAME:
        raise ValidationError(f"试卷名称最多 {MAX_PAPER_NAME} 个字。", field="name")
    mode = data.get("mode", "blueprint")
    if not isinstance(mode, str) or mode not in PAPER_MODES:
        raise ValidationError(f"组卷方式只能是：{'、'.join(PAPER_MODES)}。", field="mode")
    sections = _sections_from_json(data.get("sections"))
    n_forms = _int(data.get("n_forms"), "n_forms", "平行卷数量", required=False)
    if n_forms is not None and not 1 <= n_forms <= len(FORM_LABELS):
        raise ValidationError(f"平行卷数量应为 1–{len(FORM_LABELS)}。", field="n_forms")
    duration = _int(data.get("duration_minutes"), "duration_minutes", "考试时长", required=False)
    if duration is not None and not 10 <= duration <= 600:
        raise ValidationError("考试时长应为 10–600 分钟。", field="duration_minutes")
    cut_theta = 0.0
    if data.get("cut_theta") is not None:
        cut_theta = _number(data["cut_theta"], "cut_theta", "合格线能力值 θ")
        if not -4 <= cut_theta <= 4:
            raise ValidationError("合格线能力值 θ 应在 −4 到 4 之间。", field="cut_theta")
    tolerance: float | None = None
    if data.get("tif_tolerance") is not None:
        tolerance = _number(data["tif_tolerance"], "tif_tolerance", "信息量容差")
        if not 0 < tolerance <= 1:
            raise ValidationError("信息量容差是相对值，应大于 0、不超过 1（如 0.05 即 5%）。", field="tif_tolerance")
    fixed_codes: list[list[str]] | None = None
    if mode == "fixed":
        fixed_codes = _fixed_codes_from_json(data.get("fixed_codes"))
        if n_forms is not None and n_forms != len(fixed_codes):
            raise ValidationError(f"平行卷数量为 {n_forms}，但 fixed_codes 给出了 {len(fixed_codes)} 套。",
                                  field="fixed_codes")
        n_forms = len(fixed_codes)
    elif data.get("fixed_codes") is not None:
        raise ValidationError("只有固定试卷（mode 为 fixed）才能指定 fixed_codes。", field="fixed_codes")
    scale_to_100 = data.get("scale_to_100", False)
    if not isinstance(scale_to_100, bool):
        raise ValidationError("scale_to_100 必须是 true 或 false。", field="scale_to_100")
    return {
        "institution_id": institution_id, "blueprint_id": blueprint_id, "name": name, "mode": mode,
        "sections": sections, "n_forms": n_forms or 1, "duration_minutes": 120 if duration is None else duration,
        "cut_theta": cut_theta, "tif_tolerance": tolerance, "fixed_codes": fixed_codes,
        "scale_to_100": scale_to_100,
    }


def paper_transition_from_json(body: object) -> tuple[str, str]:
    """(action, comment) of ``POST /papers/{id}/transitions``."""
    data = json_object(body)
    _reject_unknown(data, ("action", "comment"))
    action = data.get("action")
    if not isinstance(action, str) or action not in PAPER_TRANSITIONS:
        raise ValidationError(f"action 只能是：{'、'.join(PAPER_TRANSITIONS)}。", field="action")
    comment = _str(data.get("comment"), "comment", "审核意见", default="")
    if len(comment) > MAX_COMMENT:
        raise ValidationError(f"意见过长（最多 {MAX_COMMENT} 字）。", field="comment")
    return str(action), comment


# ---------------------------------------------------------------- jobs (后台任务)


def job_json(job: Job, url: str, **links: str) -> Json:
    """A background job's state and, once done, its result (for paper assembly ``paper_id``;
    ``links`` adds e.g. ``paper_url``). A failed job carries its Chinese ``error`` and, for a
    refused import, the row ``errors``."""
    result = dict(job.result or {})
    rows = result.pop("errors", None) if job.status == JobStatus.FAILED else None
    body: Json = {
        "id": job.id, "kind": job.kind, "status": job.status, "status_label": job.status_label,
        "progress": job.progress, "stage": job.stage, "finished": job.finished, "url": url,
        "created_at": iso(job.created_at), "finished_at": iso(job.finished_at),
        "result": result if job.status == JobStatus.DONE else None,
        "error": job.error if job.status == JobStatus.FAILED else None,
    }
    if rows:
        body["errors"] = [{"row": r[0], "column": r[1], "message": r[2]} for r in rows]
    body.update(links)
    return body
