"""Writing stored component results (成绩) so that nothing is overwritten.

A :class:`~grading.results.models.ComponentResult` row is the current version of one
component of one registration at one sitting. Every writer goes through :func:`create` and
:func:`change`: the first writes version 1, the second a new version whenever the state, the
score, the raw score or the note changes, each with a
:class:`~grading.results.models.ComponentResultChange` row saying who (None: the system), when
and why. ``state`` is always derived here from ``base_state`` (what scoring says) and the
registration's violations (:func:`effective_state`), never set by a caller.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from examroom.models import Violation
from foundation.accounts import User
from foundation.db import utcnow
from grading.results.models import BASE_STATES, ComponentResult, ComponentResultChange

__all__ = ["VERSIONED", "change", "create", "effective_state", "scale_to_100", "state_under"]

#: The columns whose change makes a new version.
VERSIONED = ("base_state", "score", "raw_score", "raw_max", "note")

_TENTH = Decimal("0.1")


def scale_to_100(raw: float | Decimal, raw_max: float | Decimal) -> Decimal:
    """A raw score out of ``raw_max`` as a score out of 100, to one decimal place (四舍五入,
    half up: 59.95 is 60.0). A paper whose full marks are 100 keeps its raw score."""
    value = Decimal(str(raw)) * 100 / Decimal(str(raw_max))
    return min(Decimal(100), max(Decimal(0), value.quantize(_TENTH, rounding=ROUND_HALF_UP)))


def _same_sitting(violation: Violation, result: ComponentResult) -> bool:
    if violation.exam_session_id is not None and result.exam_session_id is not None:
        return violation.exam_session_id == result.exam_session_id
    return violation.occurred_on == result.sat_on


def state_under(result: ComponentResult, violations: Iterable[Violation]) -> str:
    """The state of ``result`` under its registration's violations (domain rules, 违纪等级):

    * ``held`` while a tier-4 violation of the registration is not released by the centre
      (暂缓: referred further; whatever else applies, nothing is decided meanwhile);
    * ``void`` for every result of the registration once it has a tier-3 violation (取消当次
      全部科目成绩: results recorded later too);
    * ``void`` for the result of the same component at the same sitting (or, without one, the
      same day) as a tier-1 or tier-2 violation (取消本科目成绩);
    * else ``base_state`` (what scoring says).
    """
    violations = list(violations)
    if any(v.tier == 4 and v.released_at is None for v in violations):
        return "held"
    for v in violations:
        if v.tier == 3:
            return "void"
        if v.tier in (1, 2) and v.component == result.component and _same_sitting(v, result):
            return "void"
    return result.base_state


def effective_state(session: Session, result: ComponentResult) -> str:
    """:func:`state_under` with the registration's stored violations."""
    return state_under(result, session.scalars(select(Violation).where(
        Violation.registration_id == result.registration_id)))


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _version_row(result: ComponentResult, actor: User | None, reason: str, at: dt.datetime) -> ComponentResultChange:
    return ComponentResultChange(
        result_id=result.id, version=result.version, state=result.state, base_state=result.base_state,
        score=result.score, raw_score=result.raw_score, raw_max=result.raw_max, note=result.note, reason=reason,
        actor_id=actor.id if actor is not None else None, actor_name=actor.name if actor is not None else "系统",
        at=at,
    )


def create(session: Session, *, registration_id: int, person_id: int, component: str, sat_on: dt.date,
           base_state: str, reason: str, actor: User | None = None, at: dt.datetime | None = None,
           exam_session_id: int | None = None, attempt_id: int | None = None, score: Any = None,
           raw_score: Any = None, raw_max: Any = None, note: str = "",
           marking_code: str | None = None) -> ComponentResult:
    """Record a new result (version 1) with its first change row."""
    assert base_state in BASE_STATES
    at = at or utcnow()
    result = ComponentResult(
        registration_id=registration_id, person_id=person_id, component=component, sat_on=sat_on,
        exam_session_id=exam_session_id, attempt_id=attempt_id, base_state=base_state, state=base_state,
        score=_decimal(score), raw_score=_decimal(raw_score), raw_max=_decimal(raw_max), note=note, version=1,
        marking_code=marking_code, created_at=at, updated_at=at,
    )
    session.add(result)
    session.flush()
    result.state = effective_state(session, result)
    session.add(_version_row(result, actor, reason, at))
    session.flush()
    return result


def change(session: Session, result: ComponentResult, *, reason: str, actor: User | None = None,
           at: dt.datetime | None = None, **values: Any) -> bool:
    """Apply ``values`` (columns of :data:`VERSIONED`) and re-derive the state (with no values:
    only re-derive it, after a violation or a release); when anything changed, the result moves
    to a new version with a change row. Returns whether it did."""
    unknown = set(values) - set(VERSIONED)
    assert not unknown, unknown
    before = {k: getattr(result, k) for k in (*VERSIONED, "state")}
    for key, value in values.items():
        setattr(result, key, _decimal(value) if key in ("score", "raw_score", "raw_max") else value)
    assert result.base_state in BASE_STATES
    with session.no_autoflush:  # the half-changed row (e.g. scored → pending) is not flushed before its state
        result.state = effective_state(session, result)
    after = {k: getattr(result, k) for k in (*VERSIONED, "state")}
    if after == before:
        return False
    at = at or utcnow()
    result.version += 1
    result.updated_at = at
    session.add(_version_row(result, actor, reason, at))
    session.flush()
    return True
