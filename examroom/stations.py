"""Skill sittings on the day (操作技能考核现场): stations (工位) and the examiner group's chief (组长).

The institution admin gives each candidate of a skill sitting a numbered station and marks one
examiner of the sitting's group as its chief. Both are allowed whatever the plan's status (like
seating, they may change until the sitting), but not once scoring has begun: grading registers
a check (:func:`register_scoring_check`) that names the first score sheet of the sitting, since
this layer does not know score sheets. Every candidate is scored by the whole group, so the
avoidance rule (:mod:`examroom.avoidance`) is checked for every examiner against every
candidate given a station.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session

from examroom import avoidance
from examroom.batches import get_batch, sitting_registrations, sitting_when
from examroom.models import Batch, ExamSession, ModuleKind, SittingExaminer, SkillStation
from foundation import audit
from foundation.accounts import User
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.roles import Role, require_role

#: ``check(session, sitting)`` → a Chinese refusal when scoring of the sitting has begun, or None.
ScoringCheck = Callable[[Session, ExamSession], str | None]
_SCORING_CHECKS: list[ScoringCheck] = []


def register_scoring_check(check: ScoringCheck) -> ScoringCheck:
    """Add ``check`` (once) to those run before stations or the chief change; a decorator too."""
    if check not in _SCORING_CHECKS:
        _SCORING_CHECKS.append(check)
    return check


def _scoring_problem(session: Session, sitting: ExamSession) -> str | None:
    for check in _SCORING_CHECKS:
        problem = check(session, sitting)
        if problem:
            return problem
    return None


def skill_sitting(session: Session, exam_session_id: int) -> tuple[Batch, ExamSession]:
    """A skill sitting and its batch (no access check)."""
    sitting = session.get(ExamSession, exam_session_id)
    if sitting is None or sitting.module.kind != ModuleKind.SKILL:
        raise NotFound("操作技能考核场次不存在。")
    return get_batch(session, sitting.module.batch_id), sitting


def _admin_sitting(session: Session, actor: User, exam_session_id: int) -> tuple[Batch, ExamSession]:
    require_role(actor, Role.INSTITUTION_ADMIN)
    batch, sitting = skill_sitting(session, exam_session_id)
    if batch.institution_id != actor.institution_id:
        raise PermissionDenied("只能管理本机构的认定批次。")
    problem = _scoring_problem(session, sitting)
    if problem:
        raise ValidationError(problem)
    return batch, sitting


def assign_stations(session: Session, actor: User, exam_session_id: int,
                    registration_ids: Iterable[int] | None = None) -> list[SkillStation]:
    """Give the sitting's candidates stations 1, 2, … in the order of ``registration_ids``
    (every candidate of the sitting exactly once), or in admission-ticket order when None;
    replaces earlier stations. Refused: a list that is not exactly the sitting's candidates, a
    candidate of an examiner's own employer (回避), a sitting already being scored."""
    batch, sitting = _admin_sitting(session, actor, exam_session_id)
    registrations = sitting_registrations(batch, sitting)
    if not registrations:
        raise ValidationError(f"{sitting_when(sitting)} 的操作技能考核场次还没有考生。")
    by_id = {r.id: r for r in registrations}
    if registration_ids is None:
        order = sorted(registrations, key=lambda r: (r.ticket_no, r.id))
    else:
        ids = list(registration_ids)
        if len(set(ids)) != len(ids):
            raise ValidationError("考生重复列出。", field="registration_ids")
        unknown = [i for i in ids if i not in by_id]
        if unknown:
            raise ValidationError("所列考生不在该场次的考生名单中。", field="registration_ids")
        if len(ids) != len(registrations):
            raise ValidationError(f"该场次共有 {len(registrations)} 名考生，须全部安排工位（当前 {len(ids)} 名）。",
                                  field="registration_ids")
        order = [by_id[i] for i in ids]
    clash = avoidance.first_conflict([row.user for row in sitting.examiners], order)
    if clash is not None:
        raise ValidationError(avoidance.conflict_message(*clash))
    before = {s.registration_id: s.station_no for s in sitting.stations}
    sitting.stations.clear()
    session.flush()
    rows = [SkillStation(registration_id=r.id, station_no=k) for k, r in enumerate(order, start=1)]
    sitting.stations.extend(rows)
    session.flush()
    audit.record(session, actor, "batch.assign_stations", "batch", batch.id,
                 before={"session_id": sitting.id, "stations": before},
                 after={"session_id": sitting.id, "stations": {r.registration_id: r.station_no for r in rows}})
    return rows


def set_chief(session: Session, actor: User, exam_session_id: int, user_id: int) -> SittingExaminer:
    """Mark ``user_id`` (an examiner of the sitting's group) its chief (组长); any other chief
    of the group steps down."""
    batch, sitting = _admin_sitting(session, actor, exam_session_id)
    row = next((r for r in sitting.examiners if r.user_id == user_id), None)
    if row is None:
        raise ValidationError("所选考评员不在该场次的考评组中。", field="user_id")
    before = next((r.user_id for r in sitting.examiners if r.is_chief), None)
    for other in sitting.examiners:
        other.is_chief = other is row
    session.flush()
    audit.record(session, actor, "batch.set_chief_examiner", "batch", batch.id,
                 before={"session_id": sitting.id, "chief": before}, after={"session_id": sitting.id, "chief": user_id})
    return row


def chief_of(sitting: ExamSession) -> User | None:
    return next((r.user for r in sitting.examiners if r.is_chief), None)
