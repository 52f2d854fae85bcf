"""Skill-operation tasks (技能操作试题): write, review and lock them, as papers are.

A task belongs to a skill blueprint (mode ``skill``: its occupation/工种 and level) and holds
three documents — 准备通知单 (site preparation), 考生准备通知单 (candidates' preparation) and
试题/任务书 (the task sheet), sanitised like item stems (:func:`itembank.sanitize.clean_item_html`)
— and the score-sheet template (评分记录表): criteria, each with 配分, 评分标准 and 扣分说明,
whose points total exactly 100.

Who does what (the item bank's scope, :mod:`itembank.access`):

* question writers (命题员) write tasks of blueprints inside their institution's filed scope
  (centre writers: any blueprint; their tasks belong to the centre) and revise a draft or
  returned task they wrote, or one of their institution with the occupation's grant;
* reviewers (审题员, in their assigned occupation × institution pairs) and the centre admin
  approve (lock) or return a submitted task, never one they wrote or last edited;
* institution admins read their institution's tasks and the centre's locked ones (to name one
  for a skill sitting, and to print its documents).

Workflow and states are the papers' (:class:`~itembank.models.PaperStatus`): draft →
submitted → locked, or returned with a comment; a locked task never changes (a flush guard).
Every step is audited.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, event, exists, false, or_, select, true
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import get_history

from foundation import audit
from foundation.accounts import User
from foundation.db import utcnow
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.institutions import Institution, check_in_scope
from foundation.names import clean_name
from foundation.roles import Role, require_role
from itembank import sanitize
from itembank.models import BankAssignment, Blueprint, BlueprintMode, PaperStatus, SkillCriterion, SkillTask

WRITERS = (Role.QUESTION_WRITER,)
APPROVERS = (Role.CENTRE_ADMIN, Role.ITEM_REVIEWER)
READERS = (Role.CENTRE_ADMIN, Role.INSTITUTION_ADMIN, Role.QUESTION_WRITER, Role.ITEM_REVIEWER)
EDITABLE = (PaperStatus.DRAFT.value, PaperStatus.RETURNED.value)
MAX_CRITERIA = 50
TOTAL_POINTS = Decimal(100)
DOCUMENTS = {
    "prep": ("准备通知单", "prep_notice_html"),
    "candidate": ("考生准备通知单", "candidate_notice_html"),
    "task": ("试题/任务书", "task_html"),
    "sheet": ("评分记录表", ""),
}


@dataclasses.dataclass(frozen=True)
class CriterionSpec:
    """One score-sheet row as typed: points as text (one decimal at most)."""

    name: str
    points: str
    standard: str
    deductions: str = ""


@dataclasses.dataclass(frozen=True)
class TaskContent:
    """What a writer edits (the form and the tests use the same shape)."""

    name: str
    duration_minutes: int
    prep_notice_html: str
    candidate_notice_html: str
    task_html: str
    criteria: Sequence[CriterionSpec]


@dataclasses.dataclass(frozen=True)
class CleanCriterion:
    name: str
    points: Decimal
    standard: str
    deductions: str


@dataclasses.dataclass(frozen=True)
class CleanTask:
    name: str
    duration_minutes: int
    prep_notice_html: str
    candidate_notice_html: str
    task_html: str
    criteria: tuple[CleanCriterion, ...]


def _long_text(value: str, label: str, limit: int, *, field: str, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError(f"请填写{label}。", field=field)
    if len(text) > limit:
        raise ValidationError(f"{label}不能超过 {limit} 个字。", field=field)
    return text


_PLAIN_DECIMAL = re.compile(r"-?[0-9]{1,6}(?:\.[0-9]{1,6})?")


def plain_decimal(raw: object) -> Decimal | None:
    """A number typed the plain way (``25``, ``8.5``; no exponent, no sign but minus), or None."""
    text = str(raw if raw is not None else "").strip()
    return Decimal(text) if _PLAIN_DECIMAL.fullmatch(text) else None


def parse_points(raw: str, row: int) -> Decimal:
    """配分 of row ``row``: a number above 0 and at most 100, with at most one decimal."""
    value = plain_decimal(raw)
    if value is None:
        raise ValidationError(f"第 {row} 项评分要素的配分不是有效的数字。", field="criteria")
    if not 0 < value <= TOTAL_POINTS:
        raise ValidationError(f"第 {row} 项评分要素的配分应大于 0 且不超过 100 分。", field="criteria")
    if value != value.quantize(Decimal("0.1")):
        raise ValidationError(f"第 {row} 项评分要素的配分最多保留一位小数。", field="criteria")
    return value.quantize(Decimal("0.1"))


def clean_content(content: TaskContent) -> CleanTask:
    """Validate and sanitise everything a writer sends; ValidationError in Chinese, first
    problem first. The criteria's points must total exactly 100."""
    name = _long_text(content.name, "试题名称", 128, field="name", required=True)
    clean_name(name, "试题名称", field="name")
    if not isinstance(content.duration_minutes, int) or not 10 <= content.duration_minutes <= 600:
        raise ValidationError("考核时长应为 10–600 分钟。", field="duration_minutes")
    prep = sanitize.clean_item_html(content.prep_notice_html or "")
    notice = sanitize.clean_item_html(content.candidate_notice_html or "")
    task = sanitize.clean_item_html(content.task_html or "")
    if not sanitize.plain_text(task).strip() and "src=" not in task:
        raise ValidationError("试题/任务书不能为空。", field="task_html")
    rows = [c for c in content.criteria if (c.name or "").strip() or (c.points or "").strip()
            or (c.standard or "").strip() or (c.deductions or "").strip()]
    if not rows:
        raise ValidationError("评分记录表至少需要一项评分要素。", field="criteria")
    if len(rows) > MAX_CRITERIA:
        raise ValidationError(f"评分要素最多 {MAX_CRITERIA} 项。", field="criteria")
    criteria = []
    for n, row in enumerate(rows, start=1):
        label = _long_text(row.name, f"第 {n} 项评分要素的名称", 200, field="criteria", required=True)
        clean_name(label, f"第 {n} 项评分要素的名称", field="criteria")
        points = parse_points(row.points, n)
        standard = _long_text(row.standard, f"第 {n} 项评分要素的评分标准", 2000, field="criteria", required=True)
        deductions = _long_text(row.deductions, f"第 {n} 项评分要素的扣分说明", 2000, field="criteria", required=False)
        criteria.append(CleanCriterion(label, points, standard, deductions))
    total = sum((c.points for c in criteria), Decimal(0))
    if total != TOTAL_POINTS:
        raise ValidationError(f"评分记录表各评分要素的配分合计须为 100 分（当前合计 {total.normalize():f} 分）。",
                              field="criteria")
    return CleanTask(name, content.duration_minutes, prep, notice, task, tuple(criteria))


# ---------------------------------------------------------------- who may see and change a task


def task_clause(actor: User) -> ColumnElement[bool]:
    """A WHERE clause on :class:`SkillTask` for the tasks ``actor`` may read."""
    if not actor.active:
        return false()
    if actor.role == Role.CENTRE_ADMIN:
        return true()
    if actor.role == Role.QUESTION_WRITER:
        return SkillTask.institution_id.is_not_distinct_from(actor.institution_id)
    if actor.role == Role.INSTITUTION_ADMIN:
        return or_(SkillTask.institution_id == actor.institution_id,
                   and_(SkillTask.institution_id.is_(None), SkillTask.status == PaperStatus.LOCKED.value))
    if actor.role != Role.ITEM_REVIEWER:
        return false()
    a, b = aliased(BankAssignment), aliased(Blueprint)
    return exists(select(a.id).join(b, b.occupation_id == a.occupation_id).where(
        a.user_id == actor.id, b.id == SkillTask.blueprint_id,
        a.institution_id.is_not_distinct_from(SkillTask.institution_id),
    ))


def can_read(session: Session, actor: User, task: SkillTask) -> bool:
    if not actor.active:
        return False
    if actor.role == Role.CENTRE_ADMIN:
        return True
    if actor.role == Role.QUESTION_WRITER:
        return task.institution_id == actor.institution_id
    if actor.role == Role.INSTITUTION_ADMIN:
        return task.institution_id == actor.institution_id or (
            task.institution_id is None and task.status == PaperStatus.LOCKED.value)
    if actor.role != Role.ITEM_REVIEWER:
        return False
    return _has_pair(session, actor.id, task.blueprint.occupation_id, task.institution_id)


def _has_pair(session: Session, user_id: int, occupation_id: int, institution_id: int | None) -> bool:
    return session.scalar(select(exists().where(
        BankAssignment.user_id == user_id, BankAssignment.occupation_id == occupation_id,
        BankAssignment.institution_id.is_not_distinct_from(institution_id),
    ))) or False


def can_revise(session: Session, actor: User, task: SkillTask) -> bool:
    """A writer revises a task they wrote or last edited, or, with a grant for its
    occupation, a task of their own institution (centre writers: the centre's)."""
    if not actor.active or actor.role != Role.QUESTION_WRITER:
        return False
    if task.institution_id != actor.institution_id:
        return False
    if actor.id in (task.created_by_id, task.edited_by_id):
        return True
    return _has_pair(session, actor.id, task.blueprint.occupation_id, task.institution_id)


def visible_tasks(actor: User) -> Select[SkillTask]:
    return select(SkillTask).where(task_clause(actor))


def read_task(session: Session, actor: User, task_id: int) -> SkillTask:
    """The task if ``actor`` may read it; NotFound otherwise (its existence is not confirmed)."""
    require_role(actor, *READERS)
    task = session.get(SkillTask, task_id)
    if task is None or not can_read(session, actor, task):
        raise NotFound("技能操作试题不存在。")
    return task


def skill_blueprints_for(session: Session, actor: User) -> list[Blueprint]:
    """The skill blueprints ``actor`` (a writer) may write tasks for: inside the writer's
    institution's filed scope; every skill blueprint for a centre writer."""
    blueprints = list(session.scalars(select(Blueprint).where(Blueprint.mode == BlueprintMode.SKILL.value)
                                      .order_by(Blueprint.occupation_id, Blueprint.level.desc(), Blueprint.id)))
    if actor.institution_id is None:
        return blueprints
    institution = session.get(Institution, actor.institution_id)
    allowed = []
    for bp in blueprints:
        try:
            if institution is not None:
                check_in_scope(session, institution, bp.occupation_id, bp.work_type_id, bp.level)
                allowed.append(bp)
        except ValidationError:
            continue
    return allowed


# ---------------------------------------------------------------- services


def _summary(task: SkillTask) -> dict[str, Any]:
    return {"name": task.name, "blueprint_id": task.blueprint_id, "institution_id": task.institution_id,
            "status": task.status, "duration_minutes": task.duration_minutes,
            "criteria": [{"name": c.name, "points": float(c.points)} for c in task.criteria]}


def _apply(session: Session, task: SkillTask, clean: CleanTask) -> None:
    task.name = clean.name
    task.duration_minutes = clean.duration_minutes
    task.prep_notice_html = clean.prep_notice_html
    task.candidate_notice_html = clean.candidate_notice_html
    task.task_html = clean.task_html
    if task.criteria:
        task.criteria.clear()
        session.flush()  # the old rows go before the new ones take their positions
    task.criteria.extend(
        SkillCriterion(position=k, name=c.name, points=float(c.points), standard=c.standard, deductions=c.deductions)
        for k, c in enumerate(clean.criteria, start=1)
    )


def create_task(session: Session, actor: User, *, blueprint_id: int, content: TaskContent) -> SkillTask:
    """A draft task of a skill blueprint inside the writer's scope."""
    require_role(actor, *WRITERS)
    blueprint = session.get(Blueprint, blueprint_id)
    if blueprint is None:
        raise ValidationError("请选择细目表。", field="blueprint_id")
    if blueprint.mode != BlueprintMode.SKILL.value:
        raise ValidationError("技能操作试题只能依据操作技能细目表编写。", field="blueprint_id")
    if actor.institution_id is not None:
        institution = session.get(Institution, actor.institution_id)
        assert institution is not None
        check_in_scope(session, institution, blueprint.occupation_id, blueprint.work_type_id, blueprint.level)
    clean = clean_content(content)
    task = SkillTask(blueprint_id=blueprint.id, institution_id=actor.institution_id, created_by_id=actor.id,
                     edited_by_id=actor.id, status=PaperStatus.DRAFT.value)
    session.add(task)
    _apply(session, task, clean)
    session.flush()
    audit.record(session, actor, "skill_task.create", "skill_task", task.id, after=_summary(task))
    return task


def update_task(session: Session, actor: User, task_id: int, content: TaskContent) -> SkillTask:
    """Change a draft or returned task (its writer, or a writer with the occupation's grant)."""
    require_role(actor, *WRITERS)
    task = read_task(session, actor, task_id)
    if not can_revise(session, actor, task):
        raise PermissionDenied("只有本题的命题员，或获本机构该职业修订授权的命题员，可以修改本题。")
    if task.status not in EDITABLE:
        raise ValidationError(f"技能操作试题处于「{task.status_label}」状态，不能修改。")
    clean = clean_content(content)
    before = _summary(task)
    _apply(session, task, clean)
    task.edited_by_id = actor.id
    session.flush()
    audit.record(session, actor, "skill_task.update", "skill_task", task.id, before=before, after=_summary(task))
    return task


def _transition(session: Session, actor: User, task: SkillTask, to: PaperStatus, action: str,
                comment: str = "") -> None:
    before = task.status
    task.status = to.value
    session.flush()
    audit.record(session, actor, f"skill_task.{action}", "skill_task", task.id, before={"status": before},
                 after={"status": task.status, "comment": comment or None})


def submit_task(session: Session, actor: User, task_id: int) -> SkillTask:
    require_role(actor, *WRITERS)
    task = read_task(session, actor, task_id)
    if not can_revise(session, actor, task):
        raise PermissionDenied("只有本题的命题员可以提交审核。")
    if task.status not in EDITABLE:
        raise ValidationError(f"技能操作试题处于「{task.status_label}」状态，不能提交审核。")
    _check_total(task)
    _transition(session, actor, task, PaperStatus.SUBMITTED, "submit")
    return task


def _check_total(task: SkillTask) -> None:
    total = sum((Decimal(str(c.points)) for c in task.criteria), Decimal(0))
    if total != TOTAL_POINTS:
        raise ValidationError(f"评分记录表各评分要素的配分合计须为 100 分（当前合计 {total.normalize():f} 分）。",
                              field="criteria")


def _to_review(session: Session, actor: User, task_id: int) -> SkillTask:
    require_role(actor, *APPROVERS)
    task = read_task(session, actor, task_id)
    if actor.id in (task.created_by_id, task.edited_by_id):
        raise PermissionDenied("命题员不能审核本人编写的技能操作试题。")
    if task.status != PaperStatus.SUBMITTED.value:
        raise ValidationError(f"技能操作试题处于「{task.status_label}」状态，不能审核。")
    return task


def approve_task(session: Session, actor: User, task_id: int, comment: str = "") -> SkillTask:
    """Approve and lock (入库): from then on the task never changes."""
    task = _to_review(session, actor, task_id)
    _check_total(task)  # checked again at lock: nothing may reach the bank otherwise
    comment = _long_text(comment, "审核意见", 2000, field="comment", required=False)
    task.approved_by_id = actor.id
    task.locked_at = utcnow()
    task.review_comment = comment
    _transition(session, actor, task, PaperStatus.LOCKED, "approve", comment)
    return task


def return_task(session: Session, actor: User, task_id: int, comment: str) -> SkillTask:
    task = _to_review(session, actor, task_id)
    comment = _long_text(comment, "审核意见", 2000, field="comment", required=False)
    if not comment:
        raise ValidationError("退回时必须填写审核意见。", field="comment")
    task.review_comment = comment
    _transition(session, actor, task, PaperStatus.RETURNED, "return", comment)
    return task


def delete_task(session: Session, actor: User, task_id: int) -> None:
    require_role(actor, *WRITERS)
    task = read_task(session, actor, task_id)
    if not can_revise(session, actor, task):
        raise PermissionDenied("只有本题的命题员可以删除本题。")
    if task.status not in EDITABLE:
        raise ValidationError("只能删除草稿或退回的技能操作试题。")
    audit.record(session, actor, "skill_task.delete", "skill_task", task.id, before=_summary(task))
    session.delete(task)
    session.flush()


def content_of(task: SkillTask) -> TaskContent:
    """The task as the edit form shows it."""
    return TaskContent(
        name=task.name, duration_minutes=task.duration_minutes, prep_notice_html=task.prep_notice_html,
        candidate_notice_html=task.candidate_notice_html, task_html=task.task_html,
        criteria=[CriterionSpec(c.name, f"{c.points:g}", c.standard, c.deductions) for c in task.criteria],
    )


# ---------------------------------------------------------------- the lock


def _was_locked(task: SkillTask) -> bool:
    history = get_history(task, "locked_at")
    before = list(history.deleted or history.unchanged)
    return bool(before) and before[0] is not None


@event.listens_for(Session, "before_flush")
def _guard_locked_tasks(session: Session, _context: Any, _instances: Any) -> None:
    """A locked task never changes, whatever code path tries."""
    for obj in list(session.dirty) + list(session.deleted) + list(session.new):
        task: SkillTask | None = None
        if isinstance(obj, SkillTask):
            if obj in session.new or (not session.is_modified(obj) and obj not in session.deleted):
                continue
            task = obj
        elif isinstance(obj, SkillCriterion):
            # A row taken off its task's list has lost the relationship but keeps the key.
            task = obj.task or (session.get(SkillTask, obj.task_id) if obj.task_id is not None else None)
        if task is not None and task.id is not None and _was_locked(task):
            raise PermissionDenied("技能操作试题已审核锁定，不能修改或删除。")
