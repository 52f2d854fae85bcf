"""Theory results in the live flow (理论知识考试成绩): a closed attempt becomes the theory
component result of its registration, and a candidate who never started is recorded absent.

* :func:`record_theory_result` is registered with :mod:`examroom.closing`: when an attempt
  closes (submitted, collected at time-up, terminated by a proctor) it is scored on its form's
  pinned item versions (:func:`examroom.attempts.score_closed_attempt`) and stored as the
  ``theory`` :class:`~grading.results.models.ComponentResult` of the registration (the
  :class:`~examroom.models.BatchCandidate` of that candidate in the attempt's batch) for that
  sitting, scaled to 100 (one decimal, half up; :func:`grading.results.records.scale_to_100`),
  ``sat_on`` the sitting's day in Beijing. With examiner-scored items (简答/计算/论述) left to
  mark, the result is ``pending`` with the points known so far and an anonymous marking code;
  it becomes ``scored`` when marking ends (:mod:`grading.results.marking`).
* It must not make closing fragile: a scoring failure stores a ``pending`` result whose note
  says so (nothing is lost: the answers are kept and the centre can score the attempt again,
  :func:`rescore`, ``flask grading rescore-theory ATTEMPT_ID``), and an
  attempt with no registration to attach a result to (the candidate was taken off the batch's
  list) is logged and audited (``component_result.unmatched``) instead of raising.
* :func:`record_absences` (run by the time-up job after it closes attempts): a candidate seated
  for a theory sitting of an acknowledged plan who has not started once nobody can start any
  more — the scheduled start plus the latest opening (``room_open_window.after_minutes``) plus
  late entry (``room_rules.late_entry_minutes``) — is recorded ``absent`` (缺考).

The results are written through :mod:`grading.results.records` (versions, violations).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from examroom.attempts import AttemptScore, score_closed_attempt
from examroom.closing import register_close_hook
from examroom.lifecycle import FINAL_STATUSES, Status
from examroom.models import (
    Attempt,
    Batch,
    BatchCandidate,
    BatchModule,
    BatchStatus,
    ExamSession,
    ModuleKind,
    Room,
    Seat,
)
from examroom.registration import registration_of
from foundation import audit
from foundation.accounts import User
from foundation.calendar import beijing_date
from foundation.db import as_utc, utcnow
from foundation.errors import NotFound, ValidationError
from foundation.roles import Role, require_role
from foundation.settings import get_rule
from grading.results import records
from grading.results.decision import Component
from grading.results.models import ComponentResult

__all__ = [
    "ABSENCE_HORIZON_DAYS",
    "absence_cutoff",
    "new_marking_code",
    "record_absences",
    "record_theory_result",
    "rescore",
    "theory_values",
]

log = logging.getLogger(__name__)

THEORY = Component.THEORY.value
#: Sittings older than this are not looked at for absences (the job runs every few seconds; a
#: server that was down for longer than this leaves them to a person).
ABSENCE_HORIZON_DAYS = 30
#: Marking codes: no 0/O, 1/I/L, so a code read aloud or copied is not mistaken.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_LENGTH = 8


def sitting_day(sitting: ExamSession) -> dt.date:
    return beijing_date(as_utc(sitting.starts_at))


def new_marking_code(session: Session, exam_session_id: int) -> str:
    """A fresh anonymous marking code (阅卷编号) for a script of the sitting: random, so it says
    nothing about the candidate, the seat or the order of submission."""
    while True:
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
        taken = session.scalar(select(ComponentResult.id).where(
            ComponentResult.exam_session_id == exam_session_id, ComponentResult.marking_code == code))
        if taken is None:
            return code


def theory_values(scored: AttemptScore) -> dict[str, Any]:
    """The result's columns from an attempt's scores: ``scored`` with the score out of 100, or
    ``pending`` with the points known so far while items await markers."""
    if scored.raw_max <= 0:
        return {"base_state": "pending", "score": None, "raw_score": None, "raw_max": None,
                "note": "试卷满分为 0，无法折算成绩，请核查试卷。"}
    if scored.pending:
        return {"base_state": "pending", "score": None, "raw_score": scored.auto_total, "raw_max": scored.raw_max,
                "note": f"客观题已评分（{scored.auto_total:g} 分），{len(scored.pending)} 道主观题待阅卷。"}
    total = scored.total
    assert total is not None
    return {"base_state": "scored", "score": records.scale_to_100(total, scored.raw_max), "raw_score": total,
            "raw_max": scored.raw_max, "note": ""}


_CLOSE_REASONS = {
    Status.SUBMITTED.value: "考生交卷，自动评分",
    Status.EXPIRED.value: "考试时间到，系统收卷并自动评分",
    Status.TERMINATED.value: "监考员终止考试，按已作答内容自动评分",
}


@register_close_hook
def record_theory_result(session: Session, attempt: Attempt, now: dt.datetime) -> None:
    """The close hook: score ``attempt`` and store it as its registration's theory result."""
    _record(session, attempt, now, reason=_CLOSE_REASONS.get(attempt.status, "收卷，自动评分"), actor=None)


def rescore(session: Session, actor: User, attempt_id: Any, now: dt.datetime | None = None) -> ComponentResult:
    """The centre scores a closed attempt again (重新评分), e.g. after a scoring failure left its
    result pending with a note: the same scoring as at the close, stored as a new version of
    the result with the centre admin's name (nothing changes when the scores are the same).
    Audited ``component_result.rescore``."""
    require_role(actor, Role.CENTRE_ADMIN)
    if isinstance(attempt_id, bool) or not isinstance(attempt_id, int):
        raise NotFound("作答记录不存在。")
    attempt = session.scalar(select(Attempt).where(Attempt.id == attempt_id).with_for_update())
    if attempt is None:
        raise NotFound("作答记录不存在。")
    if attempt.status not in {s.value for s in FINAL_STATUSES}:
        raise ValidationError("试卷尚未收卷，不能评分。")
    now = now or utcnow()
    _record(session, attempt, now, reason="省中心重新评分", actor=actor)
    result = session.scalar(select(ComponentResult).where(ComponentResult.attempt_id == attempt.id))
    if result is None:
        raise ValidationError("该考生不在本批次名册中，无法生成理论成绩。")
    audit.record(session, actor, "component_result.rescore", "component_result", result.id,
                 after={"attempt_id": attempt.id, "state": result.state,
                        "score": None if result.score is None else str(result.score), "version": result.version},
                 at=now)
    return result


def _record(session: Session, attempt: Attempt, now: dt.datetime, *, reason: str, actor: User | None) -> None:
    sitting = attempt.exam_session
    batch_id = sitting.module.batch_id
    registration = registration_of(session, batch_id, attempt.candidate_id)
    if registration is None:
        log.warning("attempt %s closed but its candidate %s has no registration in batch %s",
                    attempt.id, attempt.candidate_id, batch_id)
        audit.record(session, None, "component_result.unmatched", "attempt", attempt.id,
                     after={"batch_id": batch_id, "candidate_id": attempt.candidate_id,
                            "note": "考生不在本批次名册中，未生成理论成绩"}, at=now)
        return
    try:
        with session.begin_nested():
            values = theory_values(score_closed_attempt(session, attempt))
    except Exception as exc:  # the close stands; the answers are kept for a later scoring
        log.exception("scoring attempt %s failed", attempt.id)
        values = {"base_state": "pending", "score": None, "raw_score": None, "raw_max": None,
                  "note": f"自动评分失败（{type(exc).__name__}），待重新评分。"}
    existing = session.scalar(select(ComponentResult).where(
        ComponentResult.registration_id == registration.id, ComponentResult.component == THEORY,
        ComponentResult.exam_session_id == sitting.id))
    code = None
    if values["base_state"] == "pending" and values["raw_max"] is not None:
        code = existing.marking_code if existing is not None and existing.marking_code else \
            new_marking_code(session, sitting.id)
    if existing is None:
        records.create(session, registration_id=registration.id, person_id=registration.person_id,
                       component=THEORY, sat_on=sitting_day(sitting), exam_session_id=sitting.id,
                       attempt_id=attempt.id, reason=reason, actor=actor, at=now, marking_code=code, **values)
        return
    existing.attempt_id = attempt.id
    existing.marking_code = code or existing.marking_code
    records.change(session, existing, reason=reason, actor=actor, at=now, **values)


# --------------------------------------------------------------------------- absences


def absence_cutoff(session: Session) -> dt.timedelta:
    """How long after a sitting's scheduled start nobody can start any more: the latest
    opening of a room plus late entry."""
    window = get_rule(session, "room_open_window")
    room_rules = get_rule(session, "room_rules")
    return dt.timedelta(minutes=int(window["after_minutes"]) + int(room_rules.get("late_entry_minutes", 15)))


def record_absences(session: Session, now: dt.datetime) -> list[int]:
    """Record 缺考 for every candidate seated for a theory sitting of an acknowledged plan who
    has not started by the cutoff (:func:`absence_cutoff`) and has no theory result for it yet.
    Returns the new results' ids. One audit entry per sitting."""
    now = as_utc(now).astimezone(dt.UTC)  # sittings are stored in UTC (SQLite compares the text)
    latest = now - absence_cutoff(session)
    earliest = now - dt.timedelta(days=ABSENCE_HORIZON_DAYS)
    rows = session.execute(
        select(BatchCandidate.id, BatchCandidate.person_id, ExamSession.id, ExamSession.starts_at, Attempt.id)
        .select_from(Seat)
        .join(Room, Room.id == Seat.room_id)
        .join(ExamSession, ExamSession.id == Room.exam_session_id)
        .join(BatchModule, BatchModule.id == ExamSession.module_id)
        .join(Batch, Batch.id == BatchModule.batch_id)
        .join(BatchCandidate, and_(BatchCandidate.batch_id == Batch.id,
                                   BatchCandidate.candidate_id == Seat.candidate_id))
        .outerjoin(Attempt, and_(Attempt.exam_session_id == ExamSession.id, Attempt.candidate_id == Seat.candidate_id))
        .outerjoin(ComponentResult, and_(ComponentResult.registration_id == BatchCandidate.id,
                                         ComponentResult.component == THEORY,
                                         ComponentResult.exam_session_id == ExamSession.id))
        .where(BatchModule.kind == ModuleKind.THEORY.value, Batch.status == BatchStatus.ACKNOWLEDGED.value,
               ExamSession.starts_at > earliest, ExamSession.starts_at <= latest,
               ComponentResult.id.is_(None),
               (Attempt.id.is_(None)) | Attempt.status.in_((Status.NOT_STARTED.value, Status.WAITING.value)))
        .order_by(ExamSession.id, BatchCandidate.id)
    ).all()
    created: list[int] = []
    by_sitting: dict[int, list[int]] = {}
    for registration_id, person_id, sitting_id, starts_at, attempt_id in rows:
        result = records.create(
            session, registration_id=registration_id, person_id=person_id, component=THEORY,
            sat_on=beijing_date(as_utc(starts_at)), exam_session_id=sitting_id, attempt_id=attempt_id,
            base_state="absent", note="缺考：开考后未入场作答。", reason="考试结束时未入场作答，记为缺考", at=now)
        created.append(result.id)
        by_sitting.setdefault(sitting_id, []).append(registration_id)
    for sitting_id, registrations in by_sitting.items():
        audit.record(session, None, "component_result.absent", "exam_session", sitting_id,
                     after={"registrations": registrations, "count": len(registrations)}, at=now)
    return created
