"""Results follow violations (违纪对成绩的影响), and the centre releases tier-4 holds.

The rules are :func:`grading.results.records.state_under`: tier 1–2 void the result of that
component at that sitting, tier 3 voids every result of the registration (those recorded later
too; the person is also barred from registering for the rest of the calendar year, which
:mod:`examroom.violations` enforces), tier 4 holds every result of the registration (暂缓) until
the centre releases the hold. Every result writer re-derives the state, so results recorded
after a violation are born void or held; :func:`follow_violation` (registered as examroom's
violation hook) re-derives the registration's existing results when a violation is recorded.
Each change is a new version of the result naming the violation; the score is kept, so a
released hold brings the scored state back.

:func:`release_hold` is the centre's service (省中心解除暂缓): a reason is required, the release
is stored on the violation and audited, and the results get new versions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from examroom.models import Batch, BatchCandidate, Violation
from examroom.violations import cn_date, register_violation_hook
from foundation import audit
from foundation.accounts import User
from foundation.db import as_utc, utcnow
from foundation.errors import NotFound, ValidationError
from foundation.roles import Role, require_role
from grading.results import records
from grading.results.models import ComponentResult

__all__ = ["MAX_RELEASE_REASON", "TIER_NAMES", "HoldRow", "follow_violation", "holds", "release_hold"]

MAX_RELEASE_REASON = 500
TIER_NAMES = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}


def _follow(session: Session, registration_id: int, *, reason: str, actor: User | None,
            at: dt.datetime) -> list[ComponentResult]:
    """Re-derive the state of every result of the registration; returns those that changed."""
    changed = []
    for result in session.scalars(select(ComponentResult).where(ComponentResult.registration_id == registration_id)
                                  .order_by(ComponentResult.id)):
        if records.change(session, result, reason=reason, actor=actor, at=at):
            changed.append(result)
    return changed


@register_violation_hook
def follow_violation(session: Session, violation: Violation, now: dt.datetime) -> None:
    """The violation hook: the registration's results take the violation into account."""
    actor = session.get(User, violation.recorded_by_id) if violation.recorded_by_id is not None else None
    reason = f"{TIER_NAMES[violation.tier]}违纪（{cn_date(violation.occurred_on)}）：{violation.description}"
    _follow(session, violation.registration_id, reason=reason, actor=actor, at=now)


def _reason(value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError("解除暂缓的理由格式无效。", field="reason")
    text = value.strip()
    if not text:
        raise ValidationError("请填写解除暂缓的理由（如有关部门的处理结论）。", field="reason")
    if len(text) > MAX_RELEASE_REASON:
        raise ValidationError(f"解除暂缓的理由不能超过 {MAX_RELEASE_REASON} 个字。", field="reason")
    return text


def release_hold(session: Session, actor: User, violation_id: int, reason: Any,
                 now: dt.datetime | None = None) -> Violation:
    """The centre releases a tier-4 hold (解除暂缓) with a reason: the violation records who,
    when and why, and the registration's results return to what scoring and the other
    violations say, each as a new version. Audited ``violation.release``."""
    require_role(actor, Role.CENTRE_ADMIN)
    if isinstance(violation_id, bool) or not isinstance(violation_id, int):
        raise NotFound("违纪记录不存在。")
    violation = session.get(Violation, violation_id)
    if violation is None:
        raise NotFound("违纪记录不存在。")
    if violation.tier != 4:
        raise ValidationError(f"该违纪为{TIER_NAMES.get(violation.tier, '')}违纪，成绩未被暂缓，无需解除。")
    if violation.released_at is not None:
        raise ValidationError(f"该暂缓已于 {cn_date(as_utc(violation.released_at).date())} 解除，不能重复解除。")
    text = _reason(reason)
    now = now or utcnow()
    violation.released_at = now
    violation.released_by_id = actor.id
    violation.release_reason = text
    session.flush()
    changed = _follow(session, violation.registration_id, reason=f"省中心解除暂缓：{text}", actor=actor, at=now)
    audit.record(session, actor, "violation.release", "violation", violation.id,
                 before={"released": False}, after={"released": True, "reason": text,
                                                    "results": [r.id for r in changed]}, at=now)
    return violation


@dataclass(frozen=True)
class HoldRow:
    """One tier-4 violation on the centre's page, with whose results it holds."""

    violation: Violation
    registration: BatchCandidate
    batch: Batch
    candidate: User
    results: list[ComponentResult]
    released_by: User | None


def holds(session: Session, actor: User) -> list[HoldRow]:
    """Every tier-4 violation, holds still in force first (newest first), then released ones."""
    require_role(actor, Role.CENTRE_ADMIN)
    rows = session.execute(
        select(Violation, BatchCandidate, Batch, User)
        .join(BatchCandidate, BatchCandidate.id == Violation.registration_id)
        .join(Batch, Batch.id == BatchCandidate.batch_id)
        .join(User, User.id == BatchCandidate.candidate_id)
        .where(Violation.tier == 4)
        .order_by(Violation.released_at.is_not(None), Violation.created_at.desc(), Violation.id.desc())
    ).all()
    registration_ids = [r.id for _, r, _, _ in rows]
    by_registration: dict[int, list[ComponentResult]] = {}
    for result in session.scalars(select(ComponentResult).where(
            ComponentResult.registration_id.in_(registration_ids)).order_by(ComponentResult.sat_on,
                                                                             ComponentResult.id)):
        by_registration.setdefault(result.registration_id, []).append(result)
    return [HoldRow(v, r, b, u, by_registration.get(r.id, []),
                    session.get(User, v.released_by_id) if v.released_by_id is not None else None)
            for v, r, b, u in rows]
