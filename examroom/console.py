"""The proctor console's view of a room: one live summary per seat.

A seat summary is what the console's seat grid shows for one seat and what the ``seat`` push
on ``/proctor`` carries (``web.sockets.push.seat_changed``). It is built from a handful of
aggregate queries, for one attempt (:func:`seat_summary_for`, called after every candidate
event) or for a whole room at once (:func:`room_seats`, the snapshot a console starts from):

* the answered count and the time of the last saved answer (``response``);
* per event kind, the count and the newest event id (``attempt_event``, grouped);
* the newest connect, move request and event of each attempt (fetched by id);
* the disconnects after the newest connect (usually none).

Status on the console (``status``), derived by :func:`seat_status`:

==========  ========  ==========================================================
code        label     when
==========  ========  ==========================================================
empty       空座      no candidate on the seat
absent      未入场    no attempt yet, or never connected and not started
connected   已连接    online, not started yet (identity confirmed or not)
answering   作答中    in progress and online
paused      已暂停    paused by a proctor (``online`` tells whether the page is there)
submitted   已交卷    submitted, or closed at time-up (``attempt_status`` = expired)
terminated  已终止    terminated by a proctor
offline     离线      not closed, has connected before, no live connection now
==========  ========  ==========================================================

Online means the newest ``connect`` event has no ``disconnect`` of the same socket after it
(so a takeover by a second tab, whose first tab then disconnects, stays online).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from examroom.models import Attempt, AttemptEvent, AttemptEventKind, Response, Room, Seat
from examroom.registration import tickets_for_rooms
from foundation.accounts import User
from foundation.db import as_utc
from foundation.idcard import mask_id_number
from itembank.models import PaperItem

__all__ = ["EVENT_LABELS", "STATUS_LABELS", "event_detail", "room_seats", "seat_status", "seat_summaries",
           "seat_summary_for", "summaries"]

STATUS_LABELS = {
    "empty": "空座",
    "absent": "未入场",
    "connected": "已连接",
    "answering": "作答中",
    "paused": "已暂停",
    "submitted": "已交卷",
    "terminated": "已终止",
    "offline": "离线",
}

EVENT_LABELS = {
    AttemptEventKind.CONNECT.value: "上线",
    AttemptEventKind.DISCONNECT.value: "断线",
    AttemptEventKind.FOCUS_LOSS.value: "离开考试页面",
    AttemptEventKind.PASTE_BLOCKED.value: "粘贴被拦截",
    AttemptEventKind.ARRIVE.value: "确认身份候考",
    AttemptEventKind.OPEN.value: "开考",
    AttemptEventKind.START.value: "开始作答",
    AttemptEventKind.PAUSE.value: "暂停",
    AttemptEventKind.RESUME.value: "恢复作答",
    AttemptEventKind.EXTEND.value: "延长时间",
    AttemptEventKind.WARN.value: "警告",
    AttemptEventKind.INCIDENT.value: "记录违纪",
    AttemptEventKind.TERMINATE.value: "终止考试",
    AttemptEventKind.SUBMIT.value: "交卷",
    AttemptEventKind.EXPIRE.value: "到时收卷",
    AttemptEventKind.MOVE_REQUESTED.value: "申请换机",
    AttemptEventKind.MOVE_APPROVED.value: "批准换机",
    AttemptEventKind.TAKEOVER_APPROVED.value: "批准接管",
}

_FINAL_SUBMITTED = frozenset({"submitted", "expired"})


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else as_utc(value).isoformat()


def _data(event: AttemptEvent | None) -> dict[str, Any]:
    if event is None:
        return {}
    try:
        data = json.loads(event.data_json or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def event_detail(kind: str, data: dict[str, Any]) -> str:
    """A short Chinese description of an event's data (reason, minutes, tier, message)."""
    parts: list[str] = []
    if kind == AttemptEventKind.EXTEND.value and data.get("minutes"):
        parts.append(f"{data['minutes']} 分钟")
    if data.get("tier"):
        parts.append(f"{data['tier']} 级")
    for key in ("reason", "message", "description", "signal"):
        value = data.get(key)
        if value and not (key == "signal" and value in ("focus_loss", "paste_blocked")):
            parts.append(str(value))
    if data.get("room"):
        parts.append("全场")
    return "；".join(parts)


def seat_status(attempt_status: str | None, *, online: bool, ever_connected: bool) -> str:
    """The console's status code of a seat with a candidate (see the module docstring)."""
    if attempt_status is None:
        return "connected" if online else "absent"
    if attempt_status in _FINAL_SUBMITTED:
        return "submitted"
    if attempt_status == "terminated":
        return "terminated"
    if attempt_status == "paused":
        return "paused"
    if online:
        return "answering" if attempt_status == "in_progress" else "connected"
    if ever_connected or attempt_status == "in_progress":
        return "offline"
    return "absent"


def summaries(session: Session, attempts: Sequence[Attempt]) -> dict[int, dict[str, Any]]:
    """The live summary of each attempt's seat, keyed by attempt id (a few grouped queries)."""
    if not attempts:
        return {}
    ids = [a.id for a in attempts]
    answered: dict[int, tuple[int, dt.datetime | None]] = {
        aid: (int(n), last)
        for aid, n, last in session.execute(
            select(Response.attempt_id, func.count(), func.max(Response.received_at))
            .where(Response.attempt_id.in_(ids)).group_by(Response.attempt_id)
        )
    }
    counts: dict[int, dict[str, tuple[int, int]]] = {aid: {} for aid in ids}
    for aid, kind, n, newest in session.execute(
        select(AttemptEvent.attempt_id, AttemptEvent.kind, func.count(), func.max(AttemptEvent.id))
        .where(AttemptEvent.attempt_id.in_(ids)).group_by(AttemptEvent.attempt_id, AttemptEvent.kind)
    ):
        counts[aid][kind] = (int(n), int(newest))

    def last_id(aid: int, kind: str) -> int | None:
        entry = counts[aid].get(kind)
        return entry[1] if entry else None

    wanted: set[int] = set()
    for aid in ids:
        for kind in (AttemptEventKind.CONNECT.value, AttemptEventKind.MOVE_REQUESTED.value):
            if (eid := last_id(aid, kind)) is not None:
                wanted.add(eid)
        if counts[aid]:
            wanted.add(max(e[1] for e in counts[aid].values()))
    rows = {e.id: e for e in session.scalars(select(AttemptEvent).where(AttemptEvent.id.in_(wanted)))} if wanted \
        else {}

    # Disconnects after the newest connect, for the attempts where one exists.
    need = {aid: cid for aid in ids if (cid := last_id(aid, "connect")) is not None
            and (last_id(aid, "disconnect") or 0) > cid}
    closed_sids: dict[int, set[Any]] = {aid: set() for aid in need}
    if need:
        for aid, eid, data_json in session.execute(
            select(AttemptEvent.attempt_id, AttemptEvent.id, AttemptEvent.data_json).where(
                AttemptEvent.attempt_id.in_(list(need)), AttemptEvent.kind == AttemptEventKind.DISCONNECT.value,
                AttemptEvent.id > min(need.values()))
        ):
            if eid > need[aid]:
                try:
                    closed_sids[aid].add(json.loads(data_json or "{}").get("sid"))
                except (ValueError, AttributeError):
                    closed_sids[aid].add(None)

    form_ids = {a.paper_form_id for a in attempts}
    item_counts = dict(session.execute(
        select(PaperItem.form_id, func.count()).where(PaperItem.form_id.in_(form_ids)).group_by(PaperItem.form_id)
    ).all())

    out: dict[int, dict[str, Any]] = {}
    for a in attempts:
        c = counts[a.id]
        connect_id = last_id(a.id, "connect")
        online = False
        if connect_id is not None:
            sid = _data(rows.get(connect_id)).get("sid")
            closed = closed_sids.get(a.id, set())
            online = not (None in closed or sid in closed)
        pending = None
        move_id = last_id(a.id, AttemptEventKind.MOVE_REQUESTED.value)
        if move_id is not None and move_id > (last_id(a.id, AttemptEventKind.MOVE_APPROVED.value) or 0) \
                and a.status not in ("submitted", "expired", "terminated"):
            request = rows.get(move_id)
            device = str(_data(request).get("device_id") or "")
            if device and device != (a.device_id or ""):
                pending = {"device": device[:8], "requested_at": _iso(request.at if request else None)}
        latest = rows.get(max(e[1] for e in c.values())) if c else None
        n_answered, last_saved = answered.get(a.id, (0, None))
        out[a.id] = {
            "room_id": a.room_id,
            "attempt_id": a.id,
            "seat_id": a.seat_id,
            "attempt_status": a.status,
            "status": seat_status(a.status, online=online, ever_connected=connect_id is not None),
            "online": online,
            "answered": n_answered,
            "item_count": int(item_counts.get(a.paper_form_id, 0)),
            "last_saved_at": _iso(last_saved),
            "focus_losses": c.get(AttemptEventKind.FOCUS_LOSS.value, (0, 0))[0],
            "paste_blocked": c.get(AttemptEventKind.PASTE_BLOCKED.value, (0, 0))[0],
            "warnings": c.get(AttemptEventKind.WARN.value, (0, 0))[0],
            "incidents": c.get(AttemptEventKind.INCIDENT.value, (0, 0))[0],
            "pending_move": pending,
            "opened": AttemptEventKind.OPEN.value in c,
            "last_event": None if latest is None else _event(latest, a.candidate_id),
        }
    return out


#: Events that the proctor's room-wide action (or the room's opening) wrote on every attempt.
_ROOM_KINDS = frozenset({AttemptEventKind.OPEN.value})


def _event(event: AttemptEvent, candidate_id: int) -> dict[str, Any]:
    """A seat's newest event as the console's feed shows it: ``room`` marks one line of a
    room-wide action (the console shows it once for the room, not once per seat); ``own``
    marks the candidate's own event (the console does not repeat their name as the actor)."""
    data = _data(event)
    room = bool(data.pop("room", False)) or event.kind in _ROOM_KINDS
    return {
        "id": event.id, "kind": event.kind, "label": EVENT_LABELS.get(event.kind, event.kind),
        "detail": event_detail(event.kind, data), "at": _iso(event.at), "actor": event.actor_name,
        "room": room, "own": event.actor_id is not None and event.actor_id == candidate_id,
    }


def _person(seat: Seat | None, candidate: User | None, ticket_no: str) -> dict[str, Any]:
    return {
        "row": seat.row if seat else None,
        "col": seat.col if seat else None,
        "form": seat.form_label if seat else None,
        "candidate_id": candidate.id if candidate else None,
        "person_id": candidate.person_id if candidate else None,  # the seat detail's photo
        "name": candidate.name if candidate else "",
        "id_masked": mask_id_number(candidate.id_number or "") if candidate else "",
        "ticket_no": ticket_no if candidate else "",  # of the registration in the room's batch
    }


def seat_summary_for(session: Session, attempt_id: int) -> dict[str, Any] | None:
    """The live summary of the seat of ``attempt_id`` (None if there is no such attempt): the
    ``room_id`` and ``attempt_id``, the seat and candidate, and the status fields above."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is None:
        return None
    summary = summaries(session, [attempt])[attempt.id]
    tickets = tickets_for_rooms(session, [attempt.room_id])
    summary.update(_person(attempt.seat, attempt.candidate, tickets.get((attempt.room_id, attempt.candidate_id), "")))
    summary["status_label"] = STATUS_LABELS[summary["status"]]
    return summary


def seat_summaries(session: Session, attempt_ids: Iterable[int]) -> list[dict[str, Any]]:
    """The live summaries of many seats at once (the coalesced console push): the same shape
    as :func:`seat_summary_for`, from one batch of grouped queries whatever the number."""
    ids = sorted(set(attempt_ids))
    if not ids:
        return []
    attempts = list(session.scalars(
        select(Attempt).where(Attempt.id.in_(ids)).options(selectinload(Attempt.seat), selectinload(Attempt.candidate))
    ))
    live = summaries(session, attempts)
    tickets = tickets_for_rooms(session, {a.room_id for a in attempts})
    out = []
    for attempt in attempts:
        summary = live[attempt.id]
        summary.update(_person(attempt.seat, attempt.candidate,
                               tickets.get((attempt.room_id, attempt.candidate_id), "")))
        summary["status_label"] = STATUS_LABELS[summary["status"]]
        out.append(summary)
    return out


def room_seats(session: Session, room: Room, attempts: Iterable[Attempt] | None = None) -> list[dict[str, Any]]:
    """Every seat of the room in (row, col) order, with its live summary; empty seats and
    seated candidates without an attempt yet are included (``attempt_id`` None)."""
    if attempts is None:
        attempts = session.scalars(select(Attempt).where(Attempt.room_id == room.id))
    by_seat = {a.seat_id: a for a in attempts}
    live = summaries(session, list(by_seat.values()))
    tickets = tickets_for_rooms(session, [room.id])
    seats: list[dict[str, Any]] = []
    for seat in room.seats:
        attempt = by_seat.get(seat.id)
        if attempt is not None:
            summary = dict(live[attempt.id])
        else:
            summary = {
                "room_id": room.id, "attempt_id": None, "seat_id": seat.id, "attempt_status": None,
                "status": "absent" if seat.candidate_id else "empty", "online": False, "answered": 0,
                "item_count": 0, "last_saved_at": None, "focus_losses": 0, "paste_blocked": 0, "warnings": 0,
                "incidents": 0, "pending_move": None, "opened": False, "last_event": None,
            }
        summary.update(_person(seat, seat.candidate, tickets.get((room.id, seat.candidate_id or 0), "")))
        summary["status_label"] = STATUS_LABELS[summary["status"]]
        seats.append(summary)
    return seats
