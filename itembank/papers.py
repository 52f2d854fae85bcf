"""Paper services (组卷与试卷库): assemble papers from the bank, review them, lock them.

Assembly modes: by blueprint weights (counts per assessment point and range, plus the layout's
item-type counts), by item-type counts alone, or a fixed list of items per form. Eligible
items: active, not pretest unless calibrated, and not used in the most recent locked papers of
the same blueprint (exposure control, configurable). Every form pins the item versions it used.

Workflow: draft → submitted → locked (approved by a reviewer who did not assemble it), or
returned with comments. A locked paper never changes: a flush-time guard refuses any edit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import numpy as np
from sqlalchemy import Select, event, func, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import get_history

from foundation import audit
from foundation.accounts import User
from foundation.db import utcnow
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.institutions import Institution, check_in_scope
from foundation.names import clean_name
from foundation.roles import Role, require_role
from foundation.settings import get_rule
from itembank import access, assembly, irtmodel
from itembank.itemtypes import ITEM_TYPES
from itembank.models import (
    Blueprint,
    BlueprintNode,
    EnemyMember,
    Item,
    ItemStatus,
    ItemVersion,
    Paper,
    PaperForm,
    PaperItem,
    PaperStatus,
)

ASSEMBLERS = (Role.CENTRE_ADMIN, Role.INSTITUTION_ADMIN)
APPROVERS = (Role.CENTRE_ADMIN, Role.ITEM_REVIEWER)
MODES = ("blueprint", "type_counts", "fixed")
MODE_LABELS = {"blueprint": "按细目表比重", "type_counts": "按题型数量", "fixed": "固定试卷"}
FORM_LABELS = "ABCDEFGH"
DEFAULT_DIFFICULTY = 0.55


@dataclasses.dataclass(frozen=True)
class Section:
    """One part of the layout, e.g. 160 single-choice items at 0.5 points."""

    item_type: str
    count: int
    points: float


def parse_sections(raw: list[dict[str, Any]]) -> list[Section]:
    sections = []
    seen = set()
    for n, row in enumerate(raw, start=1):
        kind = str(row.get("type", "")).strip()
        if kind not in ITEM_TYPES:
            raise ValidationError(f"第 {n} 部分的题型无效。", field="sections")
        if kind in seen:
            raise ValidationError(f"题型「{ITEM_TYPES[kind].label}」重复出现。", field="sections")
        seen.add(kind)
        try:
            count, points = int(row["count"]), float(row["points"])
        except (KeyError, TypeError, ValueError):
            raise ValidationError(f"第 {n} 部分的题数或分值不是数字。", field="sections") from None
        if not 1 <= count <= 500 or not 0 < points <= 100:
            raise ValidationError(f"第 {n} 部分：题数应为 1–500，分值应大于 0。", field="sections")
        sections.append(Section(kind, count, points))
    if not sections:
        raise ValidationError("试卷至少需要一种题型。", field="sections")
    return sections


@dataclasses.dataclass(frozen=True)
class BankPool:
    """The item pool of one blueprint, with the maps the engine's indices need."""

    pool: assembly.ItemPool
    items: list[Item]
    node_ids: list[int]
    node_codes: dict[int, str]


def build_pool(session: Session, blueprint: Blueprint, *, types: set[str] | None = None) -> BankPool:
    """The blueprint's active items (of ``types``, when given) as an assembly pool.

    A constant number of statements whatever the pool's size: the items with their current
    version's difficulty (one join, types filtered in SQL), recent papers' items, exposure
    counts and enemy sets each in one statement over the same item subquery (no ``IN`` list
    of ids, so no bind-parameter limit either)."""
    nodes = list(blueprint.nodes)
    index = {n.id: k for k, n in enumerate(nodes)}
    parents = np.array([index[n.parent_id] if n.parent_id in index else -1 for n in nodes], dtype=np.int64)
    in_pool = select(Item.id).join(BlueprintNode, BlueprintNode.id == Item.point_id).where(
        BlueprintNode.blueprint_id == blueprint.id, Item.status == ItemStatus.ACTIVE.value,
    )
    if types is not None:
        in_pool = in_pool.where(Item.item_type.in_(sorted(types)))
    stmt = (select(Item, ItemVersion.difficulty)
            .outerjoin(ItemVersion, ItemVersion.id == Item.current_version_id)
            .where(Item.id.in_(in_pool.scalar_subquery()))
            .order_by(Item.id))
    rows = session.execute(stmt).all()
    items: list[Item] = [row[0] for row in rows]
    difficulty = [row[1] for row in rows]
    recent = _recently_used(session, blueprint)
    overexposed = _overexposed(session, in_pool) if items else set()
    eligible = np.array([(not i.is_pretest or i.irt_a is not None) and i.id not in recent and i.id not in overexposed
                         for i in items], dtype=bool)
    a = np.array([i.irt_a if i.irt_a is not None else 1.0 for i in items], dtype=np.float64)
    b = np.array([
        i.irt_b if i.irt_b is not None else float(irtmodel.difficulty_to_b(d or DEFAULT_DIFFICULTY))
        for i, d in zip(items, difficulty, strict=True)
    ], dtype=np.float64)
    c = np.array([i.irt_c or 0.0 for i in items], dtype=np.float64)
    position = {item.id: k for k, item in enumerate(items)}
    groups: dict[int, list[int]] = {}
    if items:
        members = session.execute(select(EnemyMember.enemy_set_id, EnemyMember.item_id).where(
            EnemyMember.item_id.in_(in_pool.scalar_subquery())).order_by(EnemyMember.id))
        for set_id, item_id in members:
            groups.setdefault(set_id, []).append(position[item_id])
    pool = assembly.ItemPool(
        item_ids=np.array([i.id for i in items], dtype=np.int64),
        item_types=np.array([i.item_type for i in items], dtype=str),
        point=np.array([index[i.point_id] for i in items], dtype=np.int64),
        a=a, b=b, c=c, node_parent=parents, eligible=eligible,
        enemy_sets=[g for g in groups.values() if len(g) > 1],
    )
    return BankPool(pool, items, [n.id for n in nodes], {k: n.code for k, n in enumerate(nodes)})


def _recently_used(session: Session, blueprint: Blueprint) -> set[int]:
    """Items of the blueprint's ``assembly_recent_papers`` most recently locked papers."""
    n = int(get_rule(session, "assembly_recent_papers"))
    if n <= 0:
        return set()
    recent = select(Paper.id).where(
        Paper.blueprint_id == blueprint.id, Paper.status == PaperStatus.LOCKED.value,
    ).order_by(Paper.locked_at.desc()).limit(n)
    # The LIMIT is applied in a derived table: not every database takes one inside IN (...).
    recent_ids = select(recent.subquery().c.id)
    return set(session.scalars(select(PaperItem.item_id).join(PaperForm).where(PaperForm.paper_id.in_(recent_ids))))


def _overexposed(session: Session, item_ids: Select[int]) -> set[int]:
    """Items (of the ``item_ids`` subquery) already in as many locked papers as the exposure cap allows."""
    cap = int(get_rule(session, "assembly_exposure_cap"))
    rows = session.execute(
        select(PaperItem.item_id, func.count(func.distinct(PaperForm.paper_id)))
        .join(PaperForm, PaperForm.id == PaperItem.form_id).join(Paper, Paper.id == PaperForm.paper_id)
        .where(Paper.status == PaperStatus.LOCKED.value, PaperItem.item_id.in_(item_ids.scalar_subquery()))
        .group_by(PaperItem.item_id)
    ).all()
    return {item_id for item_id, used in rows if used >= cap}


def _type_names() -> dict[str, str]:
    return {code: t.label for code, t in ITEM_TYPES.items()}


@dataclasses.dataclass(frozen=True)
class PaperPlan:
    """An assembled paper not yet written: what :func:`plan_paper` chose and :func:`store_paper`
    writes. ``versions`` pins each chosen item's current version as read, so a store in a later
    transaction (the assembly job) can refuse items changed meanwhile."""

    institution_id: int
    blueprint_id: int
    name: str
    mode: str
    sections: tuple[Section, ...]
    duration_minutes: int
    cut_theta: float
    scale_to_100: bool
    chosen: tuple[tuple[int, ...], ...]
    versions: dict[int, int | None]
    report: dict[str, Any]

    @property
    def length(self) -> int:
        return sum(s.count for s in self.sections)


def check_paper_request(
    session: Session, actor: User, *, institution_id: int, blueprint_id: int, name: str, mode: str,
    n_forms: int = 1, duration_minutes: int = 120,
) -> tuple[Institution, Blueprint]:
    """The checks of an assembly request that need no item pool (role, institution, blueprint,
    scope, mode, name, counts): cheap, so a page or the API reports them at once before queueing
    the assembly job. Raises the same errors :func:`assemble_paper` does."""
    require_role(actor, *ASSEMBLERS)
    if actor.role == Role.INSTITUTION_ADMIN and actor.institution_id != institution_id:
        raise PermissionDenied("只能为本机构组卷。")
    institution = session.get(Institution, institution_id)
    blueprint = session.get(Blueprint, blueprint_id)
    if institution is None or blueprint is None:
        raise NotFound("机构或细目表不存在。")
    if blueprint.mode != "theory":
        raise ValidationError("只有理论知识细目表可以组卷。")
    check_in_scope(session, institution, blueprint.occupation_id, blueprint.work_type_id, blueprint.level)
    if mode not in MODES:
        raise ValidationError("组卷方式无效。", field="mode")
    if not name.strip():
        raise ValidationError("请填写试卷名称。", field="name")
    clean_name(name, "试卷名称", field="name")
    if not 1 <= n_forms <= len(FORM_LABELS):
        raise ValidationError(f"平行卷数量应为 1–{len(FORM_LABELS)}。", field="n_forms")
    if not 10 <= duration_minutes <= 600:
        raise ValidationError("考试时长应为 10–600 分钟。", field="duration_minutes")
    return institution, blueprint


def plan_paper(
    session: Session, actor: User, *, institution_id: int, blueprint_id: int, name: str, mode: str,
    sections: list[Section], n_forms: int = 1, duration_minutes: int = 120, cut_theta: float = 0.0,
    tif_tolerance: float | None = None, fixed_codes: list[list[str]] | None = None, scale_to_100: bool = False,
) -> PaperPlan:
    """Check the request, build the pool and solve: the forms chosen, nothing written."""
    institution, blueprint = check_paper_request(
        session, actor, institution_id=institution_id, blueprint_id=blueprint_id, name=name, mode=mode,
        n_forms=n_forms, duration_minutes=duration_minutes)
    length = sum(s.count for s in sections)
    bank = build_pool(session, blueprint, types={s.item_type for s in sections})
    type_counts = {s.item_type: s.count for s in sections}
    if mode == "fixed":
        chosen, report = _fixed_forms(bank, sections, fixed_codes or [], length)
    else:
        node_counts: dict[int, int] = {}
        if mode == "blueprint":
            weights = {k: float(n.weight) for k, n in enumerate(blueprint.nodes) if n.weight}
            node_counts = assembly.blueprint_counts(weights, form_length=length, node_parent=bank.pool.node_parent)
        spec = assembly.AssemblySpec(
            form_length=length, n_forms=n_forms, mode="both" if mode == "blueprint" else "type_counts",
            node_counts=node_counts, type_counts=type_counts, cut_theta=cut_theta, tif_tolerance=tif_tolerance,
            tif_tolerance_kind="relative",
        )
        try:
            result = assembly.assemble(bank.pool, spec, node_codes=bank.node_codes, type_names=_type_names())
        except (assembly.AssemblyInfeasible, ValueError) as exc:
            raise ValidationError(str(exc)) from None
        except assembly.AssemblyError as exc:
            raise ValidationError(f"组卷未能在时限内找到可行方案：{exc}") from None
        chosen = [[int(bank.pool.item_ids[i]) for i in form.items] for form in result.forms]
        report = {"objective": result.objective, "gap": result.mip_gap, "status": result.status,
                  "theta": [float(t) for t in result.theta], "tif": [[float(v) for v in f.tif] for f in result.forms],
                  "seconds": sum(g.build_seconds + g.solve_seconds for g in result.groups)}
    by_id = {i.id: i for i in bank.items}
    return PaperPlan(
        institution_id=institution.id, blueprint_id=blueprint.id, name=name.strip(), mode=mode,
        sections=tuple(sections), duration_minutes=duration_minutes, cut_theta=cut_theta,
        scale_to_100=bool(scale_to_100), chosen=tuple(tuple(ids) for ids in chosen),
        versions={i: by_id[i].current_version_id for ids in chosen for i in ids}, report=report,
    )


def store_paper(session: Session, actor: User, plan: PaperPlan) -> Paper:
    """Write a planned paper, its forms and pinned versions, and the ``paper.assemble`` audit
    entry. Refuses when a chosen item is no longer active or has a new current version since
    the plan read it (possible when the two run in separate transactions, as the job does)."""
    require_role(actor, *ASSEMBLERS)
    ids = sorted(plan.versions)
    items = {i.id: i for i in session.scalars(
        select(Item).where(Item.id.in_(ids)).options(joinedload(Item.point)))} if ids else {}
    changed = [i for i in ids if i not in items or items[i].status != ItemStatus.ACTIVE.value
               or items[i].current_version_id != plan.versions[i]]
    if changed:
        raise ValidationError("组卷期间有试题被修改或停用，请重新组卷。")
    sections = list(plan.sections)
    paper = Paper(name=plan.name, institution_id=plan.institution_id, blueprint_id=plan.blueprint_id,
                  mode=plan.mode,
                  layout_json=json.dumps([dataclasses.asdict(s) | {"type": s.item_type} for s in sections],
                                         ensure_ascii=False),
                  duration_minutes=plan.duration_minutes, cut_theta=plan.cut_theta, created_by_id=actor.id,
                  scale_to_100=plan.scale_to_100,
                  assembly_report_json=json.dumps(plan.report, ensure_ascii=False))
    session.add(paper)
    order = {s.item_type: k for k, s in enumerate(sections)}
    points = {s.item_type: s.points for s in sections}
    for label, form_ids in zip(FORM_LABELS, plan.chosen, strict=False):
        form = PaperForm(label=label)
        paper.forms.append(form)
        ranked = sorted((items[i] for i in form_ids), key=lambda it: (order[it.item_type], it.point.code, it.id))
        for position, item in enumerate(ranked, start=1):
            form.items.append(PaperItem(position=position, item_id=item.id, item_version_id=item.current_version_id,
                                        points=points[item.item_type]))
    session.flush()
    audit.record(session, actor, "paper.assemble", "paper", paper.id,
                 after={"name": paper.name, "mode": plan.mode, "forms": len(plan.chosen), "items": plan.length})
    return paper


def assemble_paper(
    session: Session, actor: User, *, institution_id: int, blueprint_id: int, name: str, mode: str,
    sections: list[Section], n_forms: int = 1, duration_minutes: int = 120, cut_theta: float = 0.0,
    tif_tolerance: float | None = None, fixed_codes: list[list[str]] | None = None, scale_to_100: bool = False,
) -> Paper:
    """Assemble a paper and its parallel forms; nothing is written if assembly fails. A paper
    whose full marks are not 100 must declare ``scale_to_100`` before it can be submitted.
    The pages and the API run this as a job (:mod:`itembank.paper_jobs`), in two transactions."""
    plan = plan_paper(session, actor, institution_id=institution_id, blueprint_id=blueprint_id, name=name,
                      mode=mode, sections=sections, n_forms=n_forms, duration_minutes=duration_minutes,
                      cut_theta=cut_theta, tif_tolerance=tif_tolerance, fixed_codes=fixed_codes,
                      scale_to_100=scale_to_100)
    return store_paper(session, actor, plan)


def _fixed_forms(bank: BankPool, sections: list[Section], codes: list[list[str]], length: int
                 ) -> tuple[list[list[int]], dict[str, Any]]:
    if not codes or not any(codes):
        raise ValidationError("固定试卷请逐卷填写试题编码。", field="fixed_codes")
    by_code = {i.code: i.id for i in bank.items}
    spec = assembly.AssemblySpec(form_length=length, mode="type_counts",
                                 type_counts={s.item_type: s.count for s in sections})
    forms = []
    for label, form_codes in zip(FORM_LABELS, codes, strict=False):
        missing = [c for c in form_codes if c not in by_code]
        if missing:
            raise ValidationError(f"卷 {label}：试题 {'、'.join(missing[:5])} 不是该细目表下已启用的试题。",
                                  field="fixed_codes")
        ids = [by_code[c] for c in form_codes]
        problems = assembly.check_fixed_paper(bank.pool, ids, spec, node_codes=bank.node_codes,
                                              type_names=_type_names())
        if problems:
            raise ValidationError(f"卷 {label}：{problems[0]}", field="fixed_codes")
        forms.append(ids)
    return forms, {"status": "fixed"}


def get_paper(session: Session, paper_id: int) -> Paper:
    paper = session.get(Paper, paper_id)
    if paper is None:
        raise NotFound("试卷不存在。")
    return paper


def can_see_paper(actor: User, paper: Paper) -> bool:
    """The centre: every paper; an institution admin: its own; a reviewer: the papers of
    their assigned (occupation, institution) pairs (:mod:`itembank.access`)."""
    session = Session.object_session(paper)
    assert session is not None
    return access.can_see_paper(session, actor, paper)


def visible_papers(actor: User) -> Select[Paper]:
    """The papers ``actor`` may see, for the lists (pages and API)."""
    return select(Paper).where(access.paper_clause(actor))


def _transition(session: Session, actor: User, paper: Paper, to: PaperStatus, action: str, comment: str = "") -> None:
    before = paper.status
    paper.status = to.value
    session.flush()
    audit.record(session, actor, f"paper.{action}", "paper", paper.id, before={"status": before},
                 after={"status": paper.status, "comment": comment or None})


def _paper_to_assemble(session: Session, actor: User, paper_id: int) -> Paper:
    """The paper, if ``actor`` is an assembler who may see it."""
    require_role(actor, *ASSEMBLERS)
    paper = get_paper(session, paper_id)
    if not can_see_paper(actor, paper):
        raise PermissionDenied("您无权操作该试卷。")
    return paper


def _paper_to_review(session: Session, actor: User, paper_id: int) -> Paper:
    """The paper, if ``actor`` is an approver who may see it."""
    require_role(actor, *APPROVERS)
    paper = get_paper(session, paper_id)
    if not can_see_paper(actor, paper):
        raise PermissionDenied("您无权审核该试卷。")
    return paper


def marks_problem(paper: Paper) -> str | None:
    """Why ``paper`` is not scored out of 100 (百分制), or None. Each form's full marks (the sum
    of its items' points) must be 100, unless the paper declares that scores are scaled to 100;
    the forms must then still have the same full marks, so that one factor serves them all."""
    totals = {form.label: round(float(sum(pi.points for pi in form.items)), 2) for form in paper.forms}
    if not totals:
        return f"试卷「{paper.name}」没有试题。"
    distinct = sorted(set(totals.values()))
    if len(distinct) > 1:
        shown = "、".join(f"{label} 卷 {total:g} 分" for label, total in sorted(totals.items()))
        return f"试卷「{paper.name}」各卷满分不同（{shown}），平行卷的满分必须一致。"
    total = distinct[0]
    if total <= 0:
        return f"试卷「{paper.name}」满分为 0 分。"
    if abs(total - 100) > 0.005 and not paper.scale_to_100:
        return (f"试卷「{paper.name}」满分为 {total:g} 分：理论知识考试按百分制计分，请调整各题型分值使满分为 100 分，"
                "或声明成绩按百分制折算。")
    return None


def _require_marks(paper: Paper) -> None:
    problem = marks_problem(paper)
    if problem:
        raise ValidationError(problem, field="sections")


def set_scale_to_100(session: Session, actor: User, paper_id: int, scale: bool) -> Paper:
    """Declare (or withdraw) that the paper's scores are scaled to 100; drafts and returned papers only."""
    paper = _paper_to_assemble(session, actor, paper_id)
    if paper.status not in (PaperStatus.DRAFT.value, PaperStatus.RETURNED.value):
        raise ValidationError(f"试卷处于「{paper.status_label}」状态，不能修改计分方式。")
    before = paper.scale_to_100
    paper.scale_to_100 = bool(scale)
    session.flush()
    audit.record(session, actor, "paper.set_scale", "paper", paper.id, before={"scale_to_100": before},
                 after={"scale_to_100": paper.scale_to_100})
    return paper


def submit_paper(session: Session, actor: User, paper_id: int) -> Paper:
    paper = _paper_to_assemble(session, actor, paper_id)
    if paper.status not in (PaperStatus.DRAFT.value, PaperStatus.RETURNED.value):
        raise ValidationError(f"试卷处于「{paper.status_label}」状态，不能提交审核。")
    _require_marks(paper)
    _transition(session, actor, paper, PaperStatus.SUBMITTED, "submit")
    return paper


def approve_paper(session: Session, actor: User, paper_id: int, comment: str = "", *,
                  now: dt.datetime | None = None) -> Paper:
    """Approve and lock (入试卷库). The approver did not assemble the paper."""
    paper = _paper_to_review(session, actor, paper_id)
    if paper.created_by_id == actor.id:
        raise PermissionDenied("组卷人不能审核本人组的试卷。")
    if paper.status != PaperStatus.SUBMITTED.value:
        raise ValidationError(f"试卷处于「{paper.status_label}」状态，不能审核。")
    _require_marks(paper)  # checked again at lock: nothing may reach the bank otherwise
    paper.approved_by_id = actor.id
    paper.locked_at = now or utcnow()
    _transition(session, actor, paper, PaperStatus.LOCKED, "approve", comment)
    return paper


def return_paper(session: Session, actor: User, paper_id: int, comment: str) -> Paper:
    paper = _paper_to_review(session, actor, paper_id)
    if paper.status != PaperStatus.SUBMITTED.value:
        raise ValidationError(f"试卷处于「{paper.status_label}」状态，不能退回。")
    if not comment.strip():
        raise ValidationError("退回时必须填写审核意见。", field="comment")
    _transition(session, actor, paper, PaperStatus.RETURNED, "return", comment.strip())
    return paper


def delete_paper(session: Session, actor: User, paper_id: int) -> None:
    paper = _paper_to_assemble(session, actor, paper_id)
    if paper.status not in (PaperStatus.DRAFT.value, PaperStatus.RETURNED.value):
        raise ValidationError("只能删除草稿或退回的试卷。")
    audit.record(session, actor, "paper.delete", "paper", paper.id, before={"name": paper.name})
    session.delete(paper)
    session.flush()


def information_curves(paper: Paper, theta: np.ndarray | None = None) -> dict[str, Any]:
    """Test information and SEM per form over a θ grid, from the pinned items' parameters."""
    grid = np.linspace(-4, 4, 81) if theta is None else theta
    out: dict[str, Any] = {"theta": [round(float(t), 3) for t in grid], "forms": {}}
    for form in paper.forms:
        items = [pi.item for pi in form.items]
        a = np.array([i.irt_a if i.irt_a is not None else 1.0 for i in items])
        b = np.array([i.irt_b if i.irt_b is not None else float(irtmodel.difficulty_to_b(
            pi.version.difficulty or DEFAULT_DIFFICULTY)) for i, pi in zip(items, form.items, strict=True)])
        c = np.array([i.irt_c or 0.0 for i in items])
        tif = irtmodel.test_information(grid, a, b, c) if items else np.zeros_like(grid)
        out["forms"][form.label] = {
            "tif": [round(float(v), 4) for v in tif],
            "sem": [round(float(1 / np.sqrt(v)), 4) if v > 0 else None for v in tif],
        }
    return out


def form_coverage(paper: Paper) -> dict[str, dict[str, int]]:
    """Items per assessment point in each form (blueprint coverage of the paper)."""
    out: dict[str, dict[str, int]] = {}
    for form in paper.forms:
        counts: dict[str, int] = {}
        for pi in form.items:
            counts[pi.item.point.code] = counts.get(pi.item.point.code, 0) + 1
        out[form.label] = counts
    return out


# ---------------------------------------------------------------- the lock


def _was_locked(paper: Paper) -> bool:
    history = get_history(paper, "locked_at")
    before = list(history.deleted or history.unchanged)
    return bool(before) and before[0] is not None


@event.listens_for(Session, "before_flush")
def _guard_locked_papers(session: Session, _context: Any, _instances: Any) -> None:
    """A locked paper (试卷库) never changes, whatever code path tries."""
    for obj in list(session.dirty) + list(session.deleted):
        paper: Paper | None = None
        if isinstance(obj, Paper):
            paper = obj
        elif isinstance(obj, PaperForm):
            paper = obj.paper
        elif isinstance(obj, PaperItem):
            paper = obj.form.paper if obj.form is not None else None
        if paper is None:
            continue
        if isinstance(obj, Paper) and not session.is_modified(obj) and obj not in session.deleted:
            continue
        if _was_locked(paper):
            raise PermissionDenied("试卷已审核锁定，不能修改或删除。")
    for obj in session.new:
        if isinstance(obj, PaperItem | PaperForm):
            form_paper = obj.paper if isinstance(obj, PaperForm) else (obj.form.paper if obj.form else None)
            if form_paper is not None and form_paper.id is not None and _was_locked(form_paper):
                raise PermissionDenied("试卷已审核锁定，不能修改或删除。")
