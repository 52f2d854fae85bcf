"""Proctoring services (监考与督考): the proctor's actions on one candidate or a whole room, the
seat map, the room record (考场记录表) with the proctors' signatures, and the supervisor's
report (督考报告).

Authorisation, checked on every call from the database:

* a proctor acts (and watches) only in rooms they are assigned to (:class:`BatchStaff` with
  role ``proctor`` and that ``room_id``);
* a supervisor watches any room of the batches they are on (role ``supervisor``: the
  institution's own, or dispatched by the centre, :mod:`examroom.supervision`) and never
  acts; they file one supervision report per sitting (场次);
* the centre admin reads every room record and every supervision report (read-only).

Like every service: validate first, then write, flush, audit; never commit. The per-attempt
lifecycle changes go through :mod:`examroom.attempts` (event log + audit per attempt); room-wide
actions (open, pause, resume, extend the room) run the pure room helpers of
:mod:`examroom.lifecycle` over every open attempt of the room, log the event on each attempt and
add one room-level audit entry naming what changed and what was refused (one entry, not one per
attempt: the audit chain has a single head row, and 100 rooms open in the same minute).

Nothing here pushes: the socket layer pushes after it commits (``web.sockets.push``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from examroom import attempts as svc
from examroom import connections, violations
from examroom import lifecycle as core
from examroom.console import EVENT_LABELS, STATUS_LABELS, event_detail, room_seats
from examroom.lifecycle import FINAL_STATUSES, AttemptState, RoomResult, Status
from examroom.models import (
    RATINGS,
    Attempt,
    AttemptEvent,
    AttemptEventKind,
    Batch,
    BatchModule,
    BatchStaff,
    ExamSession,
    Room,
    RoomRecordSignature,
    StaffRole,
    SupervisionReport,
)
from foundation import audit
from foundation.accounts import User
from foundation.calendar import BEIJING, beijing_date
from foundation.db import as_utc
from foundation.errors import NotFound, PermissionDenied, ValidationError

__all__ = [
    "MAX_FINDINGS",
    "MAX_REASON",
    "RATINGS",
    "ReadOnly",
    "TIER_LABELS",
    "RoomOutcome",
    "RoomRecordSignature",
    "SupervisionReport",
    "approve_move",
    "can_act",
    "can_watch",
    "extend",
    "extend_room",
    "open_room",
    "pause",
    "pause_room",
    "proctor_rooms",
    "record_incident",
    "require_proctor",
    "require_watch",
    "resume",
    "resume_room",
    "room_opened_at",
    "room_record",
    "room_snapshot",
    "require_record_reader",
    "sign_room_record",
    "submit_supervision_report",
    "read_report",
    "report_view",
    "supervised_batches",
    "supervised_sittings",
    "supervision_report",
    "supervisor_rooms",
    "terminate",
    "warn",
]

MAX_REASON = 200
MAX_FINDINGS = 5000

#: Violation tiers (违纪等级) of the domain rules, as the console and the record show them.
TIER_LABELS = {
    1: "一级：警告，不改正者取消本科目成绩",
    2: "二级：按作弊处理",
    3: "三级：取消全部科目成绩，当年不得再次报考",
    4: "四级：移交有关部门处理",
}
assert tuple(TIER_LABELS) == core.VIOLATION_TIERS

#: The supervisor's rating of the institution's conduct of the batch.

_OPEN = frozenset({Status.IN_PROGRESS.value, Status.PAUSED.value})
_FINAL = frozenset(s.value for s in FINAL_STATUSES)


class ReadOnly(PermissionDenied):
    """A supervisor tried to act: they only watch."""


# --------------------------------------------------------------------------- authorisation


def _room(session: Session, room_id: int) -> Room:
    if isinstance(room_id, bool) or not isinstance(room_id, int):
        raise NotFound("考场不存在。")
    room = session.get(Room, room_id)
    if room is None:
        raise NotFound("考场不存在。")
    return room


def _batch_of(room: Room) -> Batch:
    return room.exam_session.module.batch


def _is_supervisor(session: Session, user: User | None, batch_id: int) -> bool:
    if user is None or user.role != "supervisor":
        return False
    return session.scalar(select(BatchStaff.id).where(
        BatchStaff.user_id == user.id, BatchStaff.role == StaffRole.SUPERVISOR.value, BatchStaff.batch_id == batch_id,
    ).limit(1)) is not None


def can_act(session: Session, user: User | None, room_id: int) -> bool:
    """May ``user`` run the room's actions (a proctor assigned to it)?"""
    return svc.is_room_proctor(session, user, room_id)


def can_watch(session: Session, user: User | None, room: Room) -> bool:
    """May ``user`` watch the room: its proctors, and the supervisors of its batch."""
    return svc.is_room_proctor(session, user, room.id) or _is_supervisor(session, user, _batch_of(room).id)


def _is_centre(user: User | None) -> bool:
    return user is not None and user.active and user.role == "centre_admin"


def require_record_reader(session: Session, user: User | None, room_id: int) -> Room:
    """The room, if ``user`` may read its record: those who watch it, and the centre."""
    room = _room(session, room_id)
    if not (_is_centre(user) or can_watch(session, user, room)):
        raise PermissionDenied("您没有查看该考场记录表的权限。")
    return room


def require_watch(session: Session, user: User | None, room_id: int) -> Room:
    room = _room(session, room_id)
    if not can_watch(session, user, room):
        raise PermissionDenied("您没有查看该考场的权限。")
    return room


def require_proctor(session: Session, user: User | None, room_id: int) -> Room:
    room = _room(session, room_id)
    if not svc.is_room_proctor(session, user, room.id):
        if user is not None and user.role == "supervisor":
            raise ReadOnly("督考员只能查看考场，不能操作。")
        raise PermissionDenied("您不是该考场的监考员。")
    return room


def _attempt_for_proctor(session: Session, proctor: User, attempt_id: int) -> Attempt:
    """The attempt, row-locked, after checking the actor proctors its room."""
    if isinstance(attempt_id, bool) or not isinstance(attempt_id, int):
        raise NotFound("作答记录不存在。")
    attempt = session.scalar(select(Attempt).where(Attempt.id == attempt_id).with_for_update())
    if attempt is None:
        raise NotFound("作答记录不存在。")
    require_proctor(session, proctor, attempt.room_id)
    return attempt


# --------------------------------------------------------------------------- lists of rooms


def _room_query() -> Any:
    return (select(Room).join(ExamSession, Room.exam_session_id == ExamSession.id)
            .join(BatchModule, ExamSession.module_id == BatchModule.id))


def _today_first(rooms: list[Room], today: dt.date) -> list[Room]:
    """Today's rooms first, then the coming ones (soonest first), then past ones (latest first)."""
    def key(room: Room) -> tuple[int, float]:
        starts = as_utc(room.exam_session.starts_at)
        day = beijing_date(starts)
        if day == today:
            return (0, starts.timestamp())
        if day > today:
            return (1, starts.timestamp())
        return (2, -starts.timestamp())

    return sorted(rooms, key=key)


def _beijing_today(now: dt.datetime) -> dt.date:
    return beijing_date(core.require_aware(now))


def proctor_rooms(session: Session, proctor: User, now: dt.datetime) -> list[Room]:
    """The rooms the proctor is assigned to, today's first."""
    rooms = list(session.scalars(_room_query().join(BatchStaff, BatchStaff.room_id == Room.id).where(
        BatchStaff.user_id == proctor.id, BatchStaff.role == StaffRole.PROCTOR.value)).unique())
    return _today_first(rooms, _beijing_today(now))


def supervised_batches(session: Session, supervisor: User) -> list[Batch]:
    """The batches the supervisor is assigned to, newest first."""
    return list(session.scalars(select(Batch).join(BatchStaff, BatchStaff.batch_id == Batch.id).where(
        BatchStaff.user_id == supervisor.id, BatchStaff.role == StaffRole.SUPERVISOR.value,
    ).order_by(Batch.id.desc())).unique())


def supervisor_rooms(session: Session, supervisor: User, now: dt.datetime) -> list[Room]:
    """Every room of every batch the supervisor is assigned to, today's first."""
    ids = [b.id for b in supervised_batches(session, supervisor)]
    if not ids:
        return []
    rooms = list(session.scalars(_room_query().where(BatchModule.batch_id.in_(ids))).unique())
    return _today_first(rooms, _beijing_today(now))


# --------------------------------------------------------------------------- helpers


def _text(value: Any, label: str, field_name: str, *, required: bool, limit: int = MAX_REASON) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(f"{label}格式无效。", field=field_name)
    text: str = value.strip()
    if required and not text:
        raise ValidationError(f"请填写{label}。", field=field_name)
    if len(text) > limit:
        raise ValidationError(f"{label}不能超过 {limit} 个字。", field=field_name)
    return text


def _tier(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in core.VIOLATION_TIERS:
        raise ValidationError("违纪等级必须是 1 至 4 级。", field="tier")
    return value


def _store(session: Session, attempt: Attempt, new_state: AttemptState, kind: AttemptEventKind, actor: User,
           now: dt.datetime, data: dict[str, Any], *, audited: bool = True) -> None:
    """Persist a state already computed by a pure transition (its event; its audit entry unless
    a room-wide action audits once for the room)."""
    svc.apply_transition(session, attempt, lambda _s: new_state, kind, actor, now, data, audited=audited)


def _apply_one(session: Session, proctor: User, attempt_id: int, kind: AttemptEventKind,
               transition: Callable[[AttemptState, Attempt], AttemptState], now: dt.datetime,
               data: dict[str, Any]) -> Attempt:
    attempt = _attempt_for_proctor(session, proctor, attempt_id)
    new_state = transition(svc.load_state(attempt), attempt)
    _store(session, attempt, new_state, kind, proctor, now, data)
    return attempt


@dataclass(frozen=True)
class RoomOutcome:
    """A room-wide action: the attempts it changed and, for the others, why not."""

    room_id: int
    changed: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


def _apply_room(session: Session, proctor: User, room_id: int, kind: AttemptEventKind,
                run: Callable[[dict[int, AttemptState], Any], RoomResult[int]], now: dt.datetime,
                data: dict[str, Any]) -> RoomOutcome:
    now = core.require_aware(now)
    room = require_proctor(session, proctor, room_id)
    attempts = list(session.scalars(select(Attempt).where(
        Attempt.room_id == room.id, Attempt.status.not_in(_FINAL)).order_by(Attempt.id).with_for_update()))
    rules = svc.attempt_rules(session, room.exam_session)
    result = run({a.id: svc.load_state(a) for a in attempts}, rules)
    data = {**data, "room": True}
    for a in attempts:
        if a.id in result.changed:
            _store(session, a, result.states[a.id], kind, proctor, now, data, audited=False)
    refused = {k: e.message for k, e in result.refused.items()}
    audit.record(session, proctor, f"room.{kind.value}", "room", room.id,
                 after={**data, "changed": list(result.changed), "refused": sorted(refused)}, at=now)
    return RoomOutcome(room.id, list(result.changed), refused)


# --------------------------------------------------------------------------- actions on one attempt


def pause(session: Session, proctor: User, attempt_id: int, now: dt.datetime, reason: str = "") -> Attempt:
    """Pause one candidate (reason optional, kept in the room record)."""
    reason = _text(reason, "暂停原因", "reason", required=False)
    return _apply_one(session, proctor, attempt_id, AttemptEventKind.PAUSE,
                      lambda s, a: core.pause(s, now, proctor.id, rules=svc.attempt_rules(session, a.exam_session)),
                      now, {"reason": reason} if reason else {})


def resume(session: Session, proctor: User, attempt_id: int, now: dt.datetime, reason: str = "") -> Attempt:
    reason = _text(reason, "恢复说明", "reason", required=False)
    return _apply_one(session, proctor, attempt_id, AttemptEventKind.RESUME,
                      lambda s, a: core.resume(s, now, proctor.id), now, {"reason": reason} if reason else {})


def extend(session: Session, proctor: User, attempt_id: int, minutes: int, reason: str,
           now: dt.datetime) -> Attempt:
    """Extend one candidate's time (1–120 minutes, reason required)."""
    reason = _text(reason, "延长原因", "reason", required=True)
    return _apply_one(session, proctor, attempt_id, AttemptEventKind.EXTEND,
                      lambda s, a: core.extend(s, minutes, reason, proctor.id, now,
                                               rules=svc.attempt_rules(session, a.exam_session)),
                      now, {"minutes": minutes, "reason": reason})


def terminate(session: Session, proctor: User, attempt_id: int, reason: str, tier: int,
              now: dt.datetime) -> Attempt:
    """End a candidate's exam for a violation of the given tier (reason required). The close
    scores the attempt (grading's close hook); the violation is then stored as a row of the
    registration (:func:`examroom.violations.record_violation`), which the results follow."""
    reason = _text(reason, "终止原因", "reason", required=True)
    tier = _tier(tier)
    now = core.require_aware(now)
    attempt = _apply_one(session, proctor, attempt_id, AttemptEventKind.TERMINATE,
                         lambda s, a: core.terminate(s, reason, tier, proctor.id, now), now,
                         {"reason": reason, "tier": tier})
    event_id = session.scalar(select(func.max(AttemptEvent.id)).where(
        AttemptEvent.attempt_id == attempt.id, AttemptEvent.kind == AttemptEventKind.TERMINATE.value))
    violations.record_violation(session, proctor, attempt, tier, reason, event_id, now)
    return attempt


def _log(session: Session, proctor: User, attempt: Attempt, kind: AttemptEventKind, data: dict[str, Any],
         now: dt.datetime, *, before: Any = None) -> AttemptEvent:
    event = svc.log_event(session, proctor, attempt.id, kind.value, data, now)
    audit.record(session, proctor, f"attempt.{kind.value}", "attempt", attempt.id, before=before,
                 after=data, at=now)
    return event


def warn(session: Session, proctor: User, attempt_id: int, message: str, now: dt.datetime) -> AttemptEvent:
    """Warn a candidate: the message is shown on their page and kept in the room record."""
    message = _text(message, "警告内容", "message", required=True)
    now = core.require_aware(now)
    attempt = _attempt_for_proctor(session, proctor, attempt_id)
    if attempt.status in _FINAL:
        raise ValidationError("该考生的作答已结束，不能再发出警告。", field="message")
    return _log(session, proctor, attempt, AttemptEventKind.WARN, {"message": message}, now)


def record_incident(session: Session, proctor: User, attempt_id: int, tier: int, description: str,
                    now: dt.datetime) -> AttemptEvent:
    """Record a violation (违纪) of tier 1–4 for the room record and as a row of the
    registration (:func:`examroom.violations.record_violation`), which the results follow; it
    does not end the exam."""
    tier = _tier(tier)
    description = _text(description, "违纪情况", "description", required=True)
    now = core.require_aware(now)
    attempt = _attempt_for_proctor(session, proctor, attempt_id)
    event = _log(session, proctor, attempt, AttemptEventKind.INCIDENT, {"tier": tier, "description": description},
                 now)
    violations.record_violation(session, proctor, attempt, tier, description, event.id, now)
    return event


def approve_move(session: Session, proctor: User, attempt_id: int, now: dt.datetime) -> Attempt:
    """Approve the candidate's move to another computer (换机): the attempt is bound to the
    requesting device; the old computer's page is told to stop by the caller's push."""
    now = core.require_aware(now)
    attempt = _attempt_for_proctor(session, proctor, attempt_id)
    if attempt.status in _FINAL:
        raise ValidationError("该考生的作答已结束，无需换机。")
    device = connections.pending_move(session, attempt.id)
    if not device or device == attempt.device_id:
        raise ValidationError("该考生没有待批准的换机申请。")
    before = {"device_id": attempt.device_id}
    attempt.device_id = device
    session.flush()
    _log(session, proctor, attempt, AttemptEventKind.MOVE_APPROVED, {"device_id": device, "from": before["device_id"]},
         now, before=before)
    return attempt


# --------------------------------------------------------------------------- room-wide actions


def open_room(session: Session, proctor: User, room_id: int, now: dt.datetime) -> RoomOutcome:
    """Open the sitting in the room (开考) for every seated candidate."""
    room = require_proctor(session, proctor, room_id)
    opened = svc.open_room(session, proctor, room.id, now)  # audited there, once for the room
    if not opened:
        first = room_opened_at(session, room.id)
        if first is not None:
            raise ValidationError(f"本考场已于 {as_utc(first).astimezone(BEIJING):%H:%M} 开考，不能重复开考。")
        raise ValidationError("本考场没有可开考的考生。")
    return RoomOutcome(room.id, opened, {})


def room_opened_at(session: Session, room_id: int) -> dt.datetime | None:
    """When the room was opened (开考): its first ``open`` event (None: not opened yet)."""
    first = session.scalar(select(func.min(AttemptEvent.at)).join(Attempt, AttemptEvent.attempt_id == Attempt.id)
                           .where(Attempt.room_id == room_id, AttemptEvent.kind == AttemptEventKind.OPEN.value))
    return None if first is None else as_utc(first)


def pause_room(session: Session, proctor: User, room_id: int, now: dt.datetime, reason: str = "") -> RoomOutcome:
    """Pause every answering candidate of the room (e.g. a power cut)."""
    reason = _text(reason, "暂停原因", "reason", required=False)
    return _apply_room(session, proctor, room_id, AttemptEventKind.PAUSE,
                       lambda states, rules: core.pause_room(states, now, proctor.id, rules=rules), now,
                       {"reason": reason} if reason else {})


def resume_room(session: Session, proctor: User, room_id: int, now: dt.datetime, reason: str = "") -> RoomOutcome:
    reason = _text(reason, "恢复说明", "reason", required=False)
    return _apply_room(session, proctor, room_id, AttemptEventKind.RESUME,
                       lambda states, rules: core.resume_room(states, now, proctor.id), now,
                       {"reason": reason} if reason else {})


def extend_room(session: Session, proctor: User, room_id: int, minutes: int, reason: str,
                now: dt.datetime) -> RoomOutcome:
    """Extend every open attempt of the room by the same minutes, with one reason."""
    reason = _text(reason, "延长原因", "reason", required=True)
    return _apply_room(session, proctor, room_id, AttemptEventKind.EXTEND,
                       lambda states, rules: core.extend_room(states, minutes, reason, proctor.id, now, rules=rules),
                       now, {"minutes": minutes, "reason": reason})


# --------------------------------------------------------------------------- seat map


def _room_info(room: Room) -> dict[str, Any]:
    sitting = room.exam_session
    batch = _batch_of(room)
    return {
        "id": room.id, "name": room.name, "rows": room.rows, "cols": room.cols,
        "sitting_id": sitting.id, "starts_at": as_utc(sitting.starts_at).isoformat(),
        "duration_minutes": sitting.duration_minutes, "place": sitting.place or batch.place,
        "batch_id": batch.id, "batch": batch.name, "institution": batch.institution.name,
        "occupation": batch.occupation.name, "work_type": batch.work_type.name if batch.work_type else "",
        "level": batch.level,
    }


def _counts(seats: list[dict[str, Any]]) -> dict[str, int]:
    counts = {code: 0 for code in STATUS_LABELS}
    for seat in seats:
        counts[seat["status"]] += 1
    counts["expected"] = sum(1 for s in seats if s["candidate_id"])
    return counts


def room_snapshot(session: Session, viewer: User, room_id: int) -> dict[str, Any]:
    """The seat map of a room for its proctors and supervisors: the room (with ``opened_at``,
    None before 开考), every seat's live summary (see :mod:`examroom.console`) and the count
    per status."""
    room = require_watch(session, viewer, room_id)
    seats = room_seats(session, room)
    opened_at = room_opened_at(session, room.id)
    info = {**_room_info(room), "opened_at": None if opened_at is None else opened_at.isoformat()}
    return {"room": info, "seats": seats, "counts": _counts(seats), "can_act": can_act(session, viewer, room.id)}


# --------------------------------------------------------------------------- room record


_RECORD_KINDS = (
    AttemptEventKind.OPEN, AttemptEventKind.PAUSE, AttemptEventKind.RESUME, AttemptEventKind.EXTEND,
    AttemptEventKind.WARN, AttemptEventKind.INCIDENT, AttemptEventKind.TERMINATE, AttemptEventKind.MOVE_APPROVED,
    AttemptEventKind.TAKEOVER_APPROVED, AttemptEventKind.EXPIRE,
)


def _open_attempts(session: Session, room: Room, attempts: list[Attempt], now: dt.datetime) -> int:
    """Attempts still able to change: answering or paused, or waiting within the late-entry
    window (or before the room was opened)."""
    rules = svc.attempt_rules(session, room.exam_session)
    n = 0
    for a in attempts:
        if a.status in _OPEN:
            n += 1
        elif a.status in (Status.NOT_STARTED.value, Status.WAITING.value):
            until = core.late_entry_until(svc.load_state(a), rules)
            if until is None or now <= until:
                n += 1
    return n


def _record_content(session: Session, room: Room, now: dt.datetime) -> dict[str, Any]:
    attempts = list(session.scalars(select(Attempt).where(Attempt.room_id == room.id).order_by(Attempt.id)))
    seats = room_seats(session, room, attempts)
    by_attempt = {s["attempt_id"]: s for s in seats if s["attempt_id"]}
    proctors = [
        {"id": s.user.id, "name": s.user.name}
        for s in session.scalars(select(BatchStaff).where(
            BatchStaff.room_id == room.id, BatchStaff.role == StaffRole.PROCTOR.value).order_by(BatchStaff.id))
    ]
    present_statuses = {a.id for a in attempts if a.status != Status.NOT_STARTED.value}
    candidates = []
    absentees = []
    for s in seats:
        if not s["candidate_id"]:
            continue
        row = {"row": s["row"], "col": s["col"], "name": s["name"], "ticket_no": s["ticket_no"],
               "id_masked": s["id_masked"], "form": s["form"], "status": s["status"],
               "status_label": s["status_label"], "attempt_status": s["attempt_status"],
               "answered": s["answered"], "focus_losses": s["focus_losses"], "paste_blocked": s["paste_blocked"],
               "warnings": s["warnings"], "incidents": s["incidents"]}
        candidates.append(row)
        if s["attempt_id"] not in present_statuses:
            absentees.append(row)
    expected = len(candidates)
    statuses = [a.status for a in attempts]
    counts = {
        "expected": expected,
        "present": expected - len(absentees),
        "absent": len(absentees),
        "submitted": statuses.count(Status.SUBMITTED.value),
        "expired": statuses.count(Status.EXPIRED.value),
        "terminated": statuses.count(Status.TERMINATED.value),
        "answering": sum(1 for st in statuses if st in _OPEN),
    }
    events = session.scalars(select(AttemptEvent).join(Attempt, AttemptEvent.attempt_id == Attempt.id).where(
        Attempt.room_id == room.id, AttemptEvent.kind.in_([k.value for k in _RECORD_KINDS]),
    ).order_by(AttemptEvent.at, AttemptEvent.id))
    entries: list[dict[str, Any]] = []
    grouped: dict[tuple[Any, ...], dict[str, Any]] = {}
    for e in events:
        data = json.loads(e.data_json or "{}")
        key = (e.kind, as_utc(e.at).isoformat(), e.actor_id, e.data_json)
        seat = by_attempt.get(e.attempt_id, {})
        who = {"name": seat.get("name", ""), "row": seat.get("row"), "col": seat.get("col"),
               "ticket_no": seat.get("ticket_no", "")}
        entry = grouped.get(key)
        if entry is None:
            detail = event_detail(e.kind, {k: v for k, v in data.items() if k not in ("room", "device_id", "from")})
            if e.kind == AttemptEventKind.INCIDENT.value or e.kind == AttemptEventKind.TERMINATE.value:
                detail = f"{TIER_LABELS.get(data.get('tier'), '')}；{data.get('description') or data.get('reason', '')}"
            entry = grouped[key] = {
                "at": as_utc(e.at).isoformat(), "kind": e.kind, "label": EVENT_LABELS.get(e.kind, e.kind),
                "actor": e.actor_name, "detail": detail, "room_wide": bool(data.get("room")),
                "tier": data.get("tier"), "candidates": [],
            }
            entries.append(entry)
        entry["candidates"].append(who)
    for entry in entries:
        if entry["kind"] == AttemptEventKind.OPEN.value or entry["kind"] == AttemptEventKind.EXPIRE.value \
                or (entry["room_wide"] and len(entry["candidates"]) > 1):
            entry["who"] = f"全场 {len(entry['candidates'])} 人"
        else:
            entry["who"] = "、".join(f"{c['name']}（{c['row']}排{c['col']}座）" if c["row"] else c["name"]
                                    for c in entry["candidates"])
    return {
        "room": _room_info(room),
        "paper": room.exam_session.paper.name if room.exam_session.paper else "",
        "proctors": proctors,
        "counts": counts,
        "candidates": candidates,
        "absentees": absentees,
        "entries": entries,
        "open_attempts": _open_attempts(session, room, attempts, now),
    }


def _digest(content: dict[str, Any]) -> str:
    stable = {k: v for k, v in content.items() if k != "open_attempts"}
    return hashlib.sha256(json.dumps(stable, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()


def room_record(session: Session, viewer: User, room_id: int, now: dt.datetime) -> dict[str, Any]:
    """The room record (考场记录表) assembled from the attempts' events: the room and sitting,
    the proctors, the counts of expected, present, absent, submitted and terminated candidates,
    the absentees, every candidate's line, and the chronological list of openings, pauses,
    extensions, warnings, incidents, terminations, moves and time-up closings with their
    times and actors; plus the signatures (each marked stale if the record changed since).
    Read by the room's proctors, the batch's supervisors and the centre."""
    now = core.require_aware(now)
    room = require_record_reader(session, viewer, room_id)
    content = _record_content(session, room, now)
    digest = _digest(content)
    signatures = session.scalars(select(RoomRecordSignature).where(RoomRecordSignature.room_id == room.id)
                                 .order_by(RoomRecordSignature.signed_at, RoomRecordSignature.id))
    content["digest"] = digest
    content["signatures"] = [
        {"proctor_id": s.proctor_id, "name": s.proctor.name, "signed_at": as_utc(s.signed_at).isoformat(),
         "current": s.digest == digest, "open_attempts": s.open_attempts}
        for s in signatures
    ]
    signed = {s["proctor_id"] for s in content["signatures"]}
    content["unsigned"] = [p for p in content["proctors"] if p["id"] not in signed]
    content["can_sign"] = (svc.is_room_proctor(session, viewer, room.id) and viewer is not None
                           and viewer.id not in signed)
    return content


def sign_room_record(session: Session, proctor: User, room_id: int, now: dt.datetime, *,
                     confirm_open: bool = False) -> RoomRecordSignature:
    """The proctor signs the room record. Allowed once per proctor; while candidates are still
    answering (or may still enter), only after the proctor confirms (``confirm_open``)."""
    now = core.require_aware(now)
    room = require_proctor(session, proctor, room_id)
    exists = session.scalar(select(RoomRecordSignature.id).where(
        RoomRecordSignature.room_id == room.id, RoomRecordSignature.proctor_id == proctor.id))
    if exists is not None:
        raise ValidationError("您已签署本考场记录表。")
    content = _record_content(session, room, now)
    if content["open_attempts"] and not confirm_open:
        raise ValidationError(f"本考场还有 {content['open_attempts']} 名考生未结束作答，请确认后再签名。",
                              field="confirm")
    signature = RoomRecordSignature(room_id=room.id, proctor_id=proctor.id, signed_at=now,
                                    digest=_digest(content), open_attempts=content["open_attempts"])
    session.add(signature)
    session.flush()
    audit.record(session, proctor, "room_record.sign", "room", room.id,
                 after={"digest": signature.digest, "open_attempts": signature.open_attempts}, at=now)
    return signature


# --------------------------------------------------------------------------- supervision report


def supervised_sittings(session: Session, supervisor: User) -> list[ExamSession]:
    """Every sitting of every batch the supervisor is on, earliest first."""
    ids = [b.id for b in supervised_batches(session, supervisor)]
    if not ids:
        return []
    return list(session.scalars(select(ExamSession).join(BatchModule, ExamSession.module_id == BatchModule.id)
                                .where(BatchModule.batch_id.in_(ids))
                                .order_by(ExamSession.starts_at, ExamSession.id)))


def _supervised(session: Session, supervisor: User, exam_session_id: int) -> ExamSession:
    if isinstance(exam_session_id, bool) or not isinstance(exam_session_id, int):
        raise NotFound("考试场次不存在。")
    sitting = session.get(ExamSession, exam_session_id)
    if sitting is None:
        raise NotFound("考试场次不存在。")
    if not _is_supervisor(session, supervisor, sitting.module.batch_id):
        raise PermissionDenied("您不是该批次的督考员。")
    return sitting


def _own_report(session: Session, supervisor: User, sitting: ExamSession) -> SupervisionReport | None:
    return session.scalar(select(SupervisionReport).where(
        SupervisionReport.exam_session_id == sitting.id, SupervisionReport.supervisor_id == supervisor.id))


def _sitting_rooms(session: Session, sitting: ExamSession, now: dt.datetime) -> list[dict[str, Any]]:
    rooms = []
    for room in sitting.rooms:
        content = _record_content(session, room, now)
        rooms.append({"room": content["room"], "counts": content["counts"],
                      "incidents": sum(1 for e in content["entries"] if e["kind"] in ("incident", "terminate")),
                      "warnings": sum(1 for e in content["entries"] if e["kind"] == "warn")})
    return rooms


def supervision_report(session: Session, supervisor: User, exam_session_id: int,
                       now: dt.datetime) -> dict[str, Any]:
    """What the supervisor's report page on one sitting shows: the batch and sitting, each room's
    record counts and the report once submitted (None before)."""
    now = core.require_aware(now)
    sitting = _supervised(session, supervisor, exam_session_id)
    report = _own_report(session, supervisor, sitting)
    return {"batch": sitting.module.batch, "sitting": sitting, "rooms": _sitting_rooms(session, sitting, now),
            "report": report, "can_submit": report is None and now >= as_utc(sitting.starts_at)}


def submit_supervision_report(session: Session, supervisor: User, exam_session_id: int, findings: str,
                              rating: str, now: dt.datetime) -> SupervisionReport:
    """File the supervisor's report on a sitting (once per sitting, after it has started)."""
    now = core.require_aware(now)
    sitting = _supervised(session, supervisor, exam_session_id)
    findings = _text(findings, "督考情况", "findings", required=True, limit=MAX_FINDINGS)
    if rating not in RATINGS:
        raise ValidationError("请选择对评价机构组织实施情况的评价。", field="rating")
    if now < as_utc(sitting.starts_at):
        raise ValidationError("本场考试开始后才能提交督考报告。")
    if _own_report(session, supervisor, sitting) is not None:
        raise ValidationError("您已提交本场次的督考报告，不能重复提交。")
    batch_id = sitting.module.batch_id
    report = SupervisionReport(batch_id=batch_id, exam_session_id=sitting.id, supervisor_id=supervisor.id,
                               findings=findings, rating=rating, submitted_at=now)
    session.add(report)
    session.flush()
    audit.record(session, supervisor, "supervision_report.submit", "supervision_report", report.id,
                 after={"batch_id": batch_id, "exam_session_id": sitting.id, "rating": rating,
                        "findings": findings}, at=now)
    return report


def read_report(session: Session, viewer: User, report_id: int) -> SupervisionReport:
    """A submitted report, for the centre (every report) or the supervisor who wrote it."""
    if isinstance(report_id, bool) or not isinstance(report_id, int):
        raise NotFound("督考报告不存在。")
    report = session.get(SupervisionReport, report_id)
    if report is None:
        raise NotFound("督考报告不存在。")
    if not (_is_centre(viewer) or (viewer is not None and viewer.active and viewer.id == report.supervisor_id)):
        raise PermissionDenied("您没有查看该督考报告的权限。")
    return report


def report_view(session: Session, viewer: User, report_id: int, now: dt.datetime) -> dict[str, Any]:
    """The report page's content for a reader of :func:`read_report` (the same shape as
    :func:`supervision_report`, which the PDF takes)."""
    now = core.require_aware(now)
    report = read_report(session, viewer, report_id)
    sitting = report.exam_session
    return {"batch": report.batch, "sitting": sitting, "rooms": _sitting_rooms(session, sitting, now),
            "report": report, "can_submit": False}
