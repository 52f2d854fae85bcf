"""Panels (评审专家组): 工作业绩评审 and 综合评审 scored by the batch's panel (issue 13 point 5).

The panel is the batch's :class:`~examroom.models.ReviewPanelMember` list (≥ 3, odd, one chair:
the staffing rules of :mod:`examroom.batches`). It scores every registration of the batch whose
scheme requires 工作业绩评审 or 综合评审 (:func:`grading.results.dossiers.panel_components`),
once the centre has acknowledged the batch's plan and the registration's dossier is complete.

* **Each member scores alone** (:func:`score_review`): 0–100 with one decimal, or, when the centre
  configured sub-items (评分细项, rule ``panel_criteria``) for the component, a score per
  sub-item, the total being their sum. A member may change their score until every member has
  scored; from then on the scores are final and every member sees all of them. Before that a
  member sees only their own, the chair included.
* **综合评审 opens only to those who passed theory and skill** (rule
  ``panel_rules.review_requires_passes``, on by default): each of theory and skill that the
  registration's scheme requires needs a scored result of the person (any batch: results follow
  the person) at or above the scheme's pass mark, sat on or before the day and still valid on it
  (12 months, the decision engine's ``validity_months``). Otherwise scoring, and confirming the
  result, are refused with the reason.
* **The chair records the minutes** (评审记录, :func:`record_minutes`): the day, the place, the
  duration and what was asked and concluded; a 综合评审 defence lasts at least
  ``panel_rules.defence_min_minutes`` (30) minutes per candidate, shorter minutes are refused.
* **The chair confirms the result** (:func:`finalise`) once every member has scored and the
  minutes are recorded: the score is the mean of the members' scores (rounded half up to one
  decimal), written as the registration's ``component_result`` (state ``scored``, sat on the
  minutes' day); after that nothing of that review changes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from examroom.models import Batch, BatchCandidate, BatchStatus, ExamSession, ModuleKind, ReviewPanelMember
from foundation import audit
from foundation.accounts import User
from foundation.calendar import beijing_date
from foundation.db import utcnow
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.names import clean_name
from foundation.roles import Role, require_role
from foundation.settings import get_rule, set_rule
from grading.results.decision import Component, Method, Rules, last_valid_day
from grading.results.dossiers import dossier_of, missing_parts, on_panel, panel_components, registration
from grading.results.models import ComponentResult, PanelMinutes, PanelScore
from grading.results.schemes import scheme_for

TENTH = Decimal("0.1")
MAX_RECORD = 5000
MAX_CRITERIA = 10


# ---------------------------------------------------------------- rules and sub-items


@dataclasses.dataclass(frozen=True)
class Criterion:
    """A sub-item (评分细项) of a member's score: its name and its points (配分)."""

    name: str
    points: Decimal


def panel_rules(session: Session) -> dict[str, Any]:
    stored = get_rule(session, "panel_rules")
    return {"review_requires_passes": bool(stored.get("review_requires_passes", True)),
            "defence_min_minutes": int(stored.get("defence_min_minutes", 30))}


def _component(value: Component | str) -> Component:
    if value not in (Component.PERFORMANCE.value, Component.REVIEW.value):
        raise ValidationError("评审科目应为工作业绩评审或综合评审。", field="component")
    return Component(value)


def criteria(session: Session, component: Component | str) -> tuple[Criterion, ...]:
    """The configured sub-items of ``component`` (empty: one score out of 100)."""
    kind = _component(component)
    stored = get_rule(session, "panel_criteria").get(kind.value) or []
    return tuple(Criterion(str(name), Decimal(str(points))) for name, points in stored)


def _decimal(text: object, label: str, field: str, high: Decimal) -> Decimal:
    raw = str(text).strip() if isinstance(text, (str, int, Decimal)) and not isinstance(text, bool) else ""
    try:
        value = Decimal(raw) if raw else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or not Decimal(0) <= value <= high:
        raise ValidationError(f"{label}应为 0 至 {_fmt(high)} 的数。", field=field)
    if value.quantize(TENTH) != value:
        raise ValidationError(f"{label}最多保留一位小数。", field=field)
    return value.quantize(TENTH)


def fmt_points(value: Decimal) -> str:
    """``60`` for 60.0, ``12.5`` for 12.5: points and scores as people write them."""
    return str(int(value)) if value == value.to_integral_value() else f"{value.normalize():f}"


_fmt = fmt_points


def check_criteria(items: Sequence[tuple[str, object]]) -> list[tuple[str, Decimal]]:
    """Validate sub-items: names given, not repeated, points above 0 with one decimal, at most
    :data:`MAX_CRITERIA`, totalling 100. An empty list is allowed (no sub-items)."""
    out: list[tuple[str, Decimal]] = []
    seen: set[str] = set()
    if len(items) > MAX_CRITERIA:
        raise ValidationError(f"评分细项最多 {MAX_CRITERIA} 项。", field="criteria")
    for i, (name, points) in enumerate(items, 1):
        label = clean_name(str(name), f"第 {i} 项细项名称", field="criteria")
        if not label:
            raise ValidationError(f"第 {i} 项细项缺少名称。", field="criteria")
        if len(label) > 32:
            raise ValidationError(f"细项名称「{label[:32]}…」不能超过 32 个字。", field="criteria")
        if label in seen:
            raise ValidationError(f"细项「{label}」重复。", field="criteria")
        seen.add(label)
        value = _decimal(points, f"细项「{label}」的分值", "criteria", Decimal(100))
        if value <= 0:
            raise ValidationError(f"细项「{label}」的分值应大于 0。", field="criteria")
        out.append((label, value))
    total = sum((p for _, p in out), Decimal(0))
    if out and total != Decimal(100):
        raise ValidationError(f"各细项分值合计须为 100 分（当前 {_fmt(total)} 分）。", field="criteria")
    return out


def save_criteria(session: Session, actor: User, component: Component | str,
                  items: Sequence[tuple[str, object]]) -> tuple[Criterion, ...]:
    """Set the sub-items of ``component`` (centre only); scores already given keep theirs."""
    require_role(actor, Role.CENTRE_ADMIN)
    kind = _component(component)
    checked = check_criteria(items)
    stored = dict(get_rule(session, "panel_criteria"))
    stored[kind.value] = [[name, _fmt(points)] for name, points in checked]
    set_rule(session, actor, "panel_criteria", stored)
    return criteria(session, kind)


# ---------------------------------------------------------------- who and what


def require_member(actor: User, batch: Batch) -> ReviewPanelMember:
    """The actor's panel row in ``batch``; anyone else is refused."""
    require_role(actor, Role.EXAMINER)
    row = next((m for m in batch.panel if m.user_id == actor.id), None)
    if row is None:
        raise PermissionDenied("您不是本批次评审专家组的成员。")
    return row


def my_panels(session: Session, actor: User) -> list[Batch]:
    """The batches on whose panel ``actor`` sits, newest first."""
    require_role(actor, Role.EXAMINER)
    return list(session.scalars(
        select(Batch).join(ReviewPanelMember, ReviewPanelMember.batch_id == Batch.id)
        .where(ReviewPanelMember.user_id == actor.id).order_by(Batch.id.desc())))


def review_problem(session: Session, reg: BatchCandidate, on: dt.date) -> str | None:
    """Why ``reg`` may not sit 综合评审 on ``on`` (theory and skill not passed and valid), or None."""
    if not panel_rules(session)["review_requires_passes"]:
        return None
    batch = reg.batch
    scheme = scheme_for(session, batch.occupation, batch.level, reg.method)
    engine = Rules()
    missing: list[str] = []
    for component in (c for c in engine.review_prerequisites if c in scheme.required):
        mark = scheme.pass_mark(component, engine)
        rows = session.scalars(select(ComponentResult).where(
            ComponentResult.person_id == reg.person_id, ComponentResult.component == component.value,
            ComponentResult.state == "scored", ComponentResult.sat_on <= on))
        if not any(r.score is not None and r.score >= mark
                   and on <= last_valid_day(r.sat_on, engine.validity_months) for r in rows):
            missing.append(f"「{component.label}」")
    if not missing:
        return None
    return (f"考生「{reg.candidate.name}」的综合评审尚未开放：须在{'、'.join(missing)}合格（且在有效期内）后参加。")


@dataclasses.dataclass(frozen=True)
class ReviewState:
    """What a panel page shows of one registration's review of one component."""

    registration: BatchCandidate
    component: Component
    members: list[ReviewPanelMember]
    mine: PanelScore | None
    scores: list[PanelScore]  # every member's, once all have scored; else only the reader's own
    all_scored: bool
    scored_count: int
    minutes: PanelMinutes | None
    mean: Decimal | None
    result: ComponentResult | None
    missing: list[str]  # what the dossier lacks
    closed_reason: str | None  # why scoring is not open (batch not acknowledged, 综合评审 gate)

    @property
    def finalised(self) -> bool:
        return self.minutes is not None and self.minutes.finalised_at is not None


def _scores(session: Session, registration_id: int, component: Component) -> list[PanelScore]:
    return list(session.scalars(select(PanelScore).where(
        PanelScore.registration_id == registration_id, PanelScore.component == component.value)
        .order_by(PanelScore.id)))


def _minutes(session: Session, registration_id: int, component: Component) -> PanelMinutes | None:
    return session.scalar(select(PanelMinutes).where(
        PanelMinutes.registration_id == registration_id, PanelMinutes.component == component.value))


def mean_of(scores: Sequence[Decimal]) -> Decimal:
    """The panel's score: the mean, rounded half up to one decimal."""
    return (sum(scores, Decimal(0)) / len(scores)).quantize(TENTH, rounding=ROUND_HALF_UP)


def _target(session: Session, registration_id: int, component: Component | str) -> tuple[BatchCandidate, Component]:
    reg = registration(session, registration_id)
    kind = _component(component)
    if kind not in panel_components(session, reg):
        raise ValidationError(f"考生「{reg.candidate.name}」的评价方案不含「{kind.label}」。", field="component")
    return reg, kind


def _closed_reason(session: Session, reg: BatchCandidate, component: Component, today: dt.date) -> str | None:
    batch = reg.batch
    if batch.status != BatchStatus.ACKNOWLEDGED.value:
        return f"认定批次「{batch.name}」的计划尚未经省中心确认，评审专家组还不能评分。"
    if component is Component.REVIEW:
        return review_problem(session, reg, today)
    return None


def review_state(session: Session, actor: User, registration_id: int, component: Component | str,
                 today: dt.date) -> ReviewState:
    """One review as ``actor`` may see it: a panel member (their own score; all once everyone
    scored), the institution's admin and the centre (every score once all have scored). Anyone
    else: the registration does not exist."""
    reg = registration(session, registration_id)
    batch = reg.batch
    member = on_panel(actor, batch)
    staff = actor.active and (actor.role == Role.CENTRE_ADMIN or (
        actor.role == Role.INSTITUTION_ADMIN and actor.institution_id == batch.institution_id))
    if not (member or staff):
        raise NotFound("报名记录不存在。")
    reg, kind = _target(session, registration_id, component)
    scores = _scores(session, reg.id, kind)
    members = list(batch.panel)
    member_ids = {m.user_id for m in members}
    done = {s.member_id for s in scores} >= member_ids and bool(member_ids)
    mine = next((s for s in scores if s.member_id == actor.id), None)
    minutes = _minutes(session, reg.id, kind)
    result = session.get(ComponentResult, minutes.result_id) if minutes and minutes.result_id else None
    shown = scores if done else ([mine] if mine is not None else [])
    return ReviewState(
        registration=reg, component=kind, members=members, mine=mine, scores=shown, all_scored=done,
        scored_count=len(scores), minutes=minutes,
        mean=mean_of([s.score for s in scores]) if done else None, result=result,
        missing=missing_parts(dossier_of(session, reg.id), batch.level),
        closed_reason=_closed_reason(session, reg, kind, today),
    )


# ---------------------------------------------------------------- scoring


def _check_score(session: Session, component: Component, score: object,
                 sub_scores: Mapping[str, object] | None) -> tuple[Decimal, list[list[str]]]:
    items = criteria(session, component)
    if not items:
        return _decimal(score, "评分", "score", Decimal(100)), []
    given = dict(sub_scores or {})
    parts: list[list[str]] = []
    total = Decimal(0)
    for item in items:
        value = _decimal(given.get(item.name, ""), f"「{item.name}」的得分", f"sub_{item.name}", item.points)
        parts.append([item.name, _fmt(item.points), _fmt(value)])
        total += value
    return total, parts


def _open_for_scoring(session: Session, actor: User, registration_id: int, component: Component | str,
                      today: dt.date) -> tuple[BatchCandidate, Component, list[PanelScore]]:
    reg = registration(session, registration_id)
    require_member(actor, reg.batch)
    reg, kind = _target(session, registration_id, component)
    reason = _closed_reason(session, reg, kind, today)
    if reason:
        raise ValidationError(reason)
    missing = missing_parts(dossier_of(session, reg.id), reg.batch.level)
    if missing:
        raise ValidationError(f"考生「{reg.candidate.name}」的业绩材料不完整（{'；'.join(missing)}），暂不能评审。")
    minutes = _minutes(session, reg.id, kind)
    if minutes is not None and minutes.finalised_at is not None:
        raise ValidationError("评审结果已确认，不能再评分。")
    return reg, kind, _scores(session, reg.id, kind)


def score_review(session: Session, actor: User, registration_id: int, component: Component | str, *,
                 score: object = None, sub_scores: Mapping[str, object] | None = None, comment: str = "",
          today: dt.date) -> PanelScore:
    """Record (or, until every member has scored, change) the actor's score of one review."""
    reg, kind, scores = _open_for_scoring(session, actor, registration_id, component, today)
    member_ids = {m.user_id for m in reg.batch.panel}
    mine = next((s for s in scores if s.member_id == actor.id), None)
    if mine is not None and {s.member_id for s in scores} >= member_ids:
        raise ValidationError("专家组成员均已评分，评分不能再修改。")
    total, parts = _check_score(session, kind, score, sub_scores)
    if not isinstance(comment, str) or len(comment.strip()) > 1000:
        raise ValidationError("评语不能超过 1000 个字。", field="comment")
    before = None if mine is None else {"score": _fmt(mine.score)}
    if mine is None:
        mine = PanelScore(registration_id=reg.id, component=kind.value, member_id=actor.id)
        session.add(mine)
    mine.score = total
    mine.sub_scores = parts
    mine.comment = comment.strip()
    mine.scored_at = utcnow()
    session.flush()
    audit.record(session, actor, "panel.score", "registration", reg.id, before=before,
                 after={"component": kind.value, "score": _fmt(total), "sub_scores": parts})
    return mine


# ---------------------------------------------------------------- minutes and the result


def _require_chair(session: Session, actor: User, registration_id: int, component: Component | str
                   ) -> tuple[BatchCandidate, Component]:
    reg = registration(session, registration_id)
    row = require_member(actor, reg.batch)
    if not row.is_chair:
        raise PermissionDenied("只有评审专家组组长可以填写评审记录、确认评审结果。")
    return _target(session, registration_id, component)


def record_minutes(session: Session, actor: User, registration_id: int, component: Component | str, *,
                   held_on: dt.date, place: str, duration_minutes: int, record: str, today: dt.date) -> PanelMinutes:
    """The chair writes (or corrects, until the result is confirmed) the review's minutes."""
    reg, kind = _require_chair(session, actor, registration_id, component)
    reason = _closed_reason(session, reg, kind, today)
    if reason:
        raise ValidationError(reason)
    minutes = _minutes(session, reg.id, kind)
    if minutes is not None and minutes.finalised_at is not None:
        raise ValidationError("评审结果已确认，评审记录不能再修改。")
    if not isinstance(held_on, dt.date) or isinstance(held_on, dt.datetime):
        raise ValidationError("请填写评审日期。", field="held_on")
    if held_on > today:
        raise ValidationError(f"评审日期（{held_on.isoformat()}）不能晚于今天。", field="held_on")
    place = clean_name(place if isinstance(place, str) else "", "评审地点", field="place")
    if not place:
        raise ValidationError("请填写评审地点。", field="place")
    if len(place) > 255:
        raise ValidationError("评审地点不能超过 255 个字。", field="place")
    if not isinstance(duration_minutes, int) or isinstance(duration_minutes, bool) or not 0 < duration_minutes <= 600:
        raise ValidationError("评审时长应为 1–600 分钟。", field="duration_minutes")
    least = panel_rules(session)["defence_min_minutes"]
    if kind is Component.REVIEW and duration_minutes < least:
        raise ValidationError(f"综合评审答辩每名考生不少于 {least} 分钟（记录为 {duration_minutes} 分钟）。",
                              field="duration_minutes")
    text = (record if isinstance(record, str) else "").replace("\r\n", "\n").strip()
    if not text:
        raise ValidationError("请填写评审记录（提问、答辩情况与评审意见）。", field="record")
    if len(text) > MAX_RECORD or "\x00" in text:
        raise ValidationError(f"评审记录不能超过 {MAX_RECORD} 个字。", field="record")
    before = None if minutes is None else {"held_on": minutes.held_on.isoformat(), "place": minutes.place,
                                           "minutes": minutes.duration_minutes}
    if minutes is None:
        minutes = PanelMinutes(registration_id=reg.id, component=kind.value, chair_id=actor.id)
        session.add(minutes)
    minutes.held_on, minutes.place, minutes.duration_minutes, minutes.record = held_on, place, duration_minutes, text
    minutes.chair_id = actor.id
    minutes.recorded_at = utcnow()
    session.flush()
    audit.record(session, actor, "panel.minutes", "registration", reg.id, before=before, after={
        "component": kind.value, "held_on": held_on.isoformat(), "place": place, "minutes": duration_minutes})
    return minutes


def _sitting_on(batch: Batch, component: Component, day: dt.date) -> ExamSession | None:
    module = batch.module(ModuleKind.REVIEW if component is Component.REVIEW else ModuleKind.PERFORMANCE)
    if module is None:
        return None
    return next((s for s in module.sessions if beijing_date(s.starts_at) == day), None)


def finalise(session: Session, actor: User, registration_id: int, component: Component | str, *,
             today: dt.date) -> ComponentResult:
    """The chair confirms the review: every member has scored and the minutes are recorded; the
    mean becomes the registration's component result."""
    reg, kind = _require_chair(session, actor, registration_id, component)
    minutes = _minutes(session, reg.id, kind)
    if minutes is not None and minutes.finalised_at is not None:
        raise ValidationError("评审结果已确认。")
    if minutes is None:
        raise ValidationError("请先填写评审记录。")
    batch = reg.batch
    scores = _scores(session, reg.id, kind)
    waiting = [m.user.name for m in batch.panel if m.user_id not in {s.member_id for s in scores}]
    if waiting:
        raise ValidationError(f"专家组成员尚未全部评分（未评分：{'、'.join(waiting)}）。")
    if kind is Component.REVIEW:
        problem = review_problem(session, reg, minutes.held_on)
        if problem:
            raise ValidationError(problem)
    mean = mean_of([s.score for s in scores])
    sitting = _sitting_on(batch, kind, minutes.held_on)
    result = ComponentResult(
        registration_id=reg.id, person_id=reg.person_id, component=kind.value,
        exam_session_id=sitting.id if sitting is not None else None, sat_on=minutes.held_on, state="scored",
        score=mean, note=f"评审专家组 {len(scores)} 人评分的平均分",
    )
    session.add(result)
    session.flush()
    minutes.result_id = result.id
    minutes.finalised_at = utcnow()
    session.flush()
    audit.record(session, actor, "panel.finalise", "registration", reg.id, after={
        "component": kind.value, "score": _fmt(mean), "members": len(scores), "result_id": result.id,
        "sat_on": minutes.held_on.isoformat()})
    return result


def panel_methods(session: Session, batch: Batch) -> dict[str, tuple[Component, ...]]:
    """The evaluation methods whose registrations in ``batch`` the panel reviews, each with
    its panel components (the batch's occupation and level decide the scheme)."""
    out: dict[str, tuple[Component, ...]] = {}
    for method in (m.value for m in Method if m is not Method.COMPETITION):
        required = scheme_for(session, batch.occupation, batch.level, method).required
        components = tuple(c for c in (Component.PERFORMANCE, Component.REVIEW) if c in required)
        if components:
            out[method] = components
    return out


def batch_reviews(session: Session, batch: Batch) -> list[tuple[BatchCandidate, tuple[Component, ...]]]:
    """The batch's registrations a panel reviews, with their panel components, in list order."""
    methods = panel_methods(session, batch)
    return [(reg, methods[reg.method]) for reg in batch.candidates if reg.method in methods]


def progress(session: Session, registration_id: int, component: Component
             ) -> tuple[int, PanelMinutes | None, ComponentResult | None]:
    """(members who scored, the minutes, the confirmed result) of one review, for lists."""
    scored = len(_scores(session, registration_id, component))
    minutes = _minutes(session, registration_id, component)
    result = session.get(ComponentResult, minutes.result_id) if minutes and minutes.result_id else None
    return scored, minutes, result

