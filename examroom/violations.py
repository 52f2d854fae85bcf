"""Violations (违纪) as rows: what a proctor's termination or incident record writes, the yearly
bar a tier-3 violation puts on a person, and the hook through which results follow.

A proctor ends an attempt for a violation of tier 1–4 (:func:`examroom.proctoring.terminate`)
or records one without ending it (:func:`examroom.proctoring.record_incident`); both also write
a :class:`~examroom.models.Violation` of the registration (component ``theory``, the sitting,
the attempt and the attempt event it came from) through :func:`record_violation`. What a
violation does to results belongs to grading, which registers a hook here
(:func:`register_violation_hook`); each hook runs in a SAVEPOINT and a failure is logged,
never raised, so the proctor's action always stands.

The bar (domain rules, tier 3: 取消当次全部科目成绩，当年不得再次报考): a person with a
tier-3 violation may not be put on any batch's list from its day to 31 December of that year
(:func:`barred`; refused by :func:`examroom.batches.add_candidates` and the roster import).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from examroom.models import Attempt, Violation
from examroom.registration import registration_of
from foundation import audit
from foundation.accounts import User
from foundation.calendar import beijing_date
from foundation.db import as_utc

__all__ = [
    "BAR_TIER",
    "ViolationHook",
    "bar_message",
    "barred",
    "cn_date",
    "record_violation",
    "register_violation_hook",
    "run_violation_hooks",
]

log = logging.getLogger(__name__)

#: The tier whose violation bars the person for the rest of the calendar year.
BAR_TIER = 3

#: ``hook(session, violation, now)``: the violation has just been recorded (or its hold released).
ViolationHook = Callable[[Session, Violation, dt.datetime], None]
_VIOLATION_HOOKS: list[ViolationHook] = []


def register_violation_hook(hook: ViolationHook) -> ViolationHook:
    """Add ``hook`` (once) to the work run when a violation is recorded; usable as a decorator."""
    if hook not in _VIOLATION_HOOKS:
        _VIOLATION_HOOKS.append(hook)
    return hook


def run_violation_hooks(session: Session, violation: Violation, now: dt.datetime) -> None:
    for hook in _VIOLATION_HOOKS:
        try:
            with session.begin_nested():
                hook(session, violation, now)
        except Exception:  # the proctor's record must stand whatever a hook does
            log.exception("violation hook %s failed for violation %s", getattr(hook, "__name__", hook), violation.id)


def cn_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def record_violation(session: Session, actor: User, attempt: Attempt, tier: int, description: str,
                     event_id: int | None, now: dt.datetime) -> Violation | None:
    """Store a proctor's violation of a theory attempt as a row of its registration and run the
    hooks. The caller validated ``tier`` and ``description`` and audits the proctor's action;
    this adds ``violation.create``. An attempt whose candidate is not on the batch's list has
    no registration to hold it: logged, None (the attempt event is the record)."""
    sitting = attempt.exam_session
    registration = registration_of(session, sitting.module.batch_id, attempt.candidate_id)
    if registration is None:
        log.warning("violation on attempt %s not stored: no registration of candidate %s in batch %s",
                    attempt.id, attempt.candidate_id, sitting.module.batch_id)
        return None
    violation = Violation(
        registration_id=registration.id, person_id=registration.person_id, tier=tier, component="theory",
        occurred_on=beijing_date(as_utc(now)), exam_session_id=sitting.id, attempt_id=attempt.id,
        attempt_event_id=event_id, description=description, recorded_by_id=actor.id, created_at=now,
    )
    session.add(violation)
    session.flush()
    audit.record(session, actor, "violation.create", "violation", violation.id,
                 after={"registration_id": registration.id, "tier": tier, "component": "theory",
                        "occurred_on": violation.occurred_on.isoformat(), "attempt_id": attempt.id,
                        "description": description}, at=now)
    run_violation_hooks(session, violation, now)
    return violation


def barred(session: Session, person_ids: Iterable[int | None], today: dt.date) -> dict[int, Violation]:
    """The persons among ``person_ids`` barred on ``today`` (a tier-3 violation on a day of this
    calendar year up to today), each with the earliest such violation."""
    ids = sorted({p for p in person_ids if p is not None})
    if not ids:
        return {}
    found: dict[int, Violation] = {}
    for v in session.scalars(select(Violation).where(
            Violation.person_id.in_(ids), Violation.tier == BAR_TIER,
            Violation.occurred_on >= dt.date(today.year, 1, 1), Violation.occurred_on <= today)
            .order_by(Violation.occurred_on, Violation.id)):
        found.setdefault(v.person_id, v)
    return found


def bar_message(name: str, violation: Violation) -> str:
    day = violation.occurred_on
    return (f"「{name}」于 {cn_date(day)} 因三级违纪被取消当次全部科目成绩，"
            f"{day.year}年12月31日 前不得报名参加职业技能等级认定。")
