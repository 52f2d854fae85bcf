"""Blueprint services (鉴定要素细目表): build and replace the tree, check its structure (errors)
and its health (warnings), and measure item coverage per assessment point.

Codes: ranges are letter paths (``A``, ``A-B``, ``A-B-C``), points are their range's path plus a
3-digit serial (``A-B-C-001``). Depth: 1–5 range levels, so a tree is 2–6 levels with its points.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from foundation import audit
from foundation.accounts import User
from foundation.errors import NotFound, RowErrors, ValidationError
from foundation.levels import check_level_range
from foundation.names import name_problem
from foundation.occupations import Occupation, WorkType, require_evaluable
from foundation.roles import Role, require_role
from foundation.settings import get_rule
from itembank import access
from itembank.models import Blueprint, BlueprintMode, BlueprintNode, Item, ItemStatus

EDITORS = (Role.CENTRE_ADMIN, Role.ITEM_REVIEWER)
RANGE_CODE = re.compile(r"[A-Z](?:-[A-Z]){0,4}")
POINT_CODE = re.compile(r"(?P<parent>[A-Z](?:-[A-Z]){0,4})-(?P<serial>\d{3})")
# Weights are entered with two decimals: three ranges of 33.33 % must still add up to 100.
WEIGHT_TOLERANCE = 0.05


@dataclasses.dataclass(frozen=True)
class NodeSpec:
    """One row of a blueprint: a range or a point."""

    code: str
    name: str
    importance: str | None = None
    weight: float = 0.0


@dataclasses.dataclass(frozen=True)
class HealthReport:
    warnings: list[str]
    point_count: int
    importance_counts: dict[str, int]


def parent_code(code: str) -> str | None:
    match = POINT_CODE.fullmatch(code)
    if match:
        return match.group("parent")
    return code.rsplit("-", 1)[0] if "-" in code else None


def is_point_code(code: str) -> bool:
    return POINT_CODE.fullmatch(code) is not None


def structure_errors(nodes: list[NodeSpec]) -> list[tuple[int, str, str]]:
    """Broken structure, as (row number from 1, column, message): each one refuses the tree."""
    errors: list[tuple[int, str, str]] = []
    seen: dict[str, int] = {}
    for row, node in enumerate(nodes, start=1):
        code = node.code.strip()
        if not code:
            errors.append((row, "编码", "编码不能为空。"))
            continue
        if not (RANGE_CODE.fullmatch(code) or is_point_code(code)):
            errors.append((row, "编码", f"编码「{code}」格式不正确：鉴定范围用字母路径（如 A-B），"
                                        "鉴定点用范围路径加三位序号（如 A-B-C-001）。"))
            continue
        if code in seen:
            errors.append((row, "编码", f"编码「{code}」与第 {seen[code]} 行重复。"))
            continue
        seen[code] = row
        if not node.name.strip():
            errors.append((row, "名称", "名称不能为空。"))
        elif problem := name_problem(node.name.strip(), "名称"):
            errors.append((row, "名称", problem))
        if node.weight < 0 or node.weight > 100:
            errors.append((row, "比重", "鉴定比重应在 0 到 100 之间。"))
        if is_point_code(code) and node.importance not in ("X", "Y", "Z"):
            errors.append((row, "重要程度", "鉴定点必须标明重要程度 X、Y 或 Z。"))
        if node.importance is not None and node.importance not in ("X", "Y", "Z"):
            errors.append((row, "重要程度", "重要程度只能是 X、Y 或 Z。"))
    codes = {n.code.strip() for n in nodes}
    for row, node in enumerate(nodes, start=1):
        parent = parent_code(node.code.strip())
        if parent is not None and parent not in codes and node.code.strip() in seen:
            errors.append((row, "编码", f"「{node.code}」的上级「{parent}」不存在。"))
    if errors:
        return errors
    children: dict[str | None, list[NodeSpec]] = defaultdict(list)
    for node in nodes:
        children[parent_code(node.code)].append(node)
    if not any(is_point_code(n.code) for n in nodes):
        errors.append((0, "鉴定点", "细目表至少需要一个鉴定点。"))
    for node in nodes:
        if not is_point_code(node.code) and not children.get(node.code):
            errors.append((seen[node.code], "编码", f"鉴定范围「{node.code}」下没有任何鉴定范围或鉴定点。"))
    top = sum(n.weight for n in children[None])
    if abs(top - 100) > WEIGHT_TOLERANCE:
        errors.append((0, "比重", f"第一级鉴定范围的比重合计为 {top:g}%，应为 100%。"))
    for parent, kids in children.items():
        if parent is None:
            continue
        # Points may be unweighted (all 0): then only the ranges above them carry weights.
        if all(is_point_code(k.code) for k in kids) and all(k.weight == 0 for k in kids):
            continue
        total = sum(k.weight for k in kids)
        own = next(n.weight for n in nodes if n.code == parent)
        if abs(total - own) > WEIGHT_TOLERANCE:
            errors.append((seen[parent], "比重",
                           f"「{parent}」的比重为 {own:g}%，其下级合计为 {total:g}%，两者应相等。"))
    return errors


def health(session: Session, mode: str, nodes: list[NodeSpec]) -> HealthReport:
    """Warnings from the configurable health rules (命题技术规程): never refuse the tree."""
    rules = get_rule(session, "blueprint_health")
    points = [n for n in nodes if is_point_code(n.code)]
    counts = Counter(n.importance or "?" for n in points)
    total = max(len(points), 1)
    warnings = []
    if counts["X"] / total < rules["x_min_share"]:
        warnings.append(f"核心要素（X）占 {counts['X'] / total:.0%}，低于 {rules['x_min_share']:.0%}。")
    if counts["Y"] / total > rules["y_max_share"]:
        warnings.append(f"一般要素（Y）占 {counts['Y'] / total:.0%}，高于 {rules['y_max_share']:.0%}。")
    if counts["Z"] / total > rules["z_max_share"]:
        warnings.append(f"辅助要素（Z）占 {counts['Z'] / total:.0%}，高于 {rules['z_max_share']:.0%}。")
    if mode == BlueprintMode.THEORY and len(points) < rules["theory_min_points"]:
        warnings.append(f"理论知识鉴定点共 {len(points)} 个，少于 {rules['theory_min_points']} 个。")
    return HealthReport(warnings=warnings, point_count=len(points), importance_counts=dict(counts))


def create_blueprint(
    session: Session, actor: User, *, occupation_id: int, work_type_id: int | None, level: int, mode: str,
    name: str = "",
) -> Blueprint:
    require_role(actor, *EDITORS)
    occupation = session.get(Occupation, occupation_id)
    if occupation is None:
        raise ValidationError("所选职业不存在。", field="occupation_id")
    access.require_occupation(session, actor, occupation.id)
    require_evaluable(occupation)
    if work_type_id is not None:
        wt = session.get(WorkType, work_type_id)
        if wt is None or wt.occupation_id != occupation.id:
            raise ValidationError("所选工种不属于该职业。", field="work_type_id")
    check_level_range(level, level)
    if not occupation.highest_level <= level <= occupation.lowest_level:
        raise ValidationError(f"「{occupation.name}」没有该等级。", field="level")
    if mode not in {m.value for m in BlueprintMode}:
        raise ValidationError("细目表类型只能是理论知识或操作技能。", field="mode")
    clash = session.scalar(select(Blueprint).where(
        Blueprint.occupation_id == occupation_id, Blueprint.work_type_id.is_(None) if work_type_id is None
        else Blueprint.work_type_id == work_type_id, Blueprint.level == level, Blueprint.mode == mode))
    if clash is not None:
        raise ValidationError("该职业（工种）、等级和类型的细目表已存在。")
    bp = Blueprint(occupation_id=occupation_id, work_type_id=work_type_id, level=level, mode=mode,
                   name=name.strip(), created_by_id=actor.id)
    session.add(bp)
    session.flush()
    if not bp.name:
        bp.name = f"{bp.target_label} 鉴定要素细目表"
    audit.record(session, actor, "blueprint.create", "blueprint", bp.id, after={"name": bp.name})
    return bp


def get_blueprint(session: Session, blueprint_id: int) -> Blueprint:
    bp = session.get(Blueprint, blueprint_id)
    if bp is None:
        raise NotFound("细目表不存在。")
    return bp


def read_blueprint(session: Session, actor: User, blueprint_id: int) -> Blueprint:
    """The blueprint if ``actor`` may read it (reviewers: their occupations), else NotFound."""
    bp = session.get(Blueprint, blueprint_id)
    if bp is None or not access.can_read_blueprint(session, actor, bp):
        raise NotFound("细目表不存在。")
    return bp


def node_specs(blueprint: Blueprint) -> list[NodeSpec]:
    return [NodeSpec(n.code, n.name, n.importance, float(n.weight)) for n in blueprint.nodes]


def replace_nodes(session: Session, actor: User, blueprint_id: int, nodes: list[NodeSpec]) -> HealthReport:
    """Replace the whole tree at once. Structure errors refuse it (nothing changes); points
    that items are already bound to must keep their codes."""
    require_role(actor, *EDITORS)
    bp = read_blueprint(session, actor, blueprint_id)
    nodes = [NodeSpec(n.code.strip().upper(), n.name.strip(), (n.importance or None) and n.importance.strip().upper(),
                      float(n.weight)) for n in nodes]
    errors = structure_errors(nodes)
    new_codes = {n.code for n in nodes}
    used = session.execute(
        select(BlueprintNode.code, func.count(Item.id)).join(Item, Item.point_id == BlueprintNode.id)
        .where(BlueprintNode.blueprint_id == bp.id).group_by(BlueprintNode.code)
    ).all()
    for code, count in used:
        if code not in new_codes:
            errors.append((0, "编码", f"鉴定点「{code}」下已有 {count} 道试题，不能删除或改码。"))
    if errors:
        raise RowErrors(errors)
    before = [dataclasses.asdict(n) for n in node_specs(bp)]
    existing = {n.code: n for n in bp.nodes}
    by_code: dict[str, BlueprintNode] = {}
    for position, spec in enumerate(nodes):
        node = existing.pop(spec.code, None)
        if node is None:
            node = BlueprintNode(code=spec.code)
            bp.nodes.append(node)
        node.name, node.importance, node.weight = spec.name, spec.importance, spec.weight
        node.is_point, node.position = is_point_code(spec.code), position
        by_code[spec.code] = node
    for stale in existing.values():
        bp.nodes.remove(stale)
    session.flush()
    for spec in nodes:
        parent = parent_code(spec.code)
        by_code[spec.code].parent_id = by_code[parent].id if parent else None
    session.flush()
    audit.record(session, actor, "blueprint.replace_nodes", "blueprint", bp.id, before={"nodes": len(before)},
                 after={"nodes": len(nodes), "points": sum(1 for n in nodes if is_point_code(n.code))})
    return health(session, bp.mode, nodes)


@dataclasses.dataclass(frozen=True)
class PointCoverage:
    code: str
    name: str
    importance: str | None
    approved: int  # approved or active items
    in_progress: int
    short: bool


def coverage(session: Session, blueprint: Blueprint) -> list[PointCoverage]:
    """Approved items per assessment point against the ≥ N rule (gaps flagged)."""
    minimum = get_rule(session, "blueprint_health")["min_items_per_point"]
    ready = (ItemStatus.APPROVED.value, ItemStatus.ACTIVE.value)
    rows = session.execute(
        select(Item.point_id, Item.status, func.count()).join(BlueprintNode, BlueprintNode.id == Item.point_id)
        .where(BlueprintNode.blueprint_id == blueprint.id).group_by(Item.point_id, Item.status)
    ).all()
    approved: Counter[int] = Counter()
    progress: Counter[int] = Counter()
    for point_id, status, count in rows:
        if status in ready:
            approved[point_id] += count
        elif status != ItemStatus.RETIRED.value:
            progress[point_id] += count
    return [
        PointCoverage(p.code, p.name, p.importance, approved[p.id], progress[p.id], approved[p.id] < minimum)
        for p in blueprint.points
    ]


def coverage_summary(items: list[PointCoverage]) -> dict[str, Any]:
    by_importance: dict[str, dict[str, int]] = defaultdict(lambda: {"points": 0, "items": 0, "short": 0})
    for c in items:
        key = c.importance or "?"
        by_importance[key]["points"] += 1
        by_importance[key]["items"] += c.approved
        by_importance[key]["short"] += int(c.short)
    return {"points": len(items), "short": sum(c.short for c in items), "by_importance": dict(by_importance)}
