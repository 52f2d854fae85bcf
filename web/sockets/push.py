"""Server → client pushes, from any process.

``socketio.emit`` goes through the message queue (Redis) when one is configured, so a push
made by the process that handled a proctor's action reaches a candidate connected to another
process. Pushes are hints: the durable truth is always the state a client fetches with an
acked event, so a lost push costs a refresh, never an answer.

* ``/exam``, room ``attempt:<id>``: ``status`` (something changed; fetch ``state``) and
  ``superseded`` (another connection now owns the attempt).
* ``/proctor``, room ``room:<room_id>``: ``seat`` (one seat's live summary changed).

Call these only after the change is committed.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from web.extensions import socketio

__all__ = ["EXAM_NS", "PROCTOR_NS", "attempt_room", "candidate_changed", "room_channel", "seat_changed",
           "superseded"]

EXAM_NS = "/exam"
PROCTOR_NS = "/proctor"

log = logging.getLogger(__name__)

#: Why a ``status`` push was sent (the page shows ``message`` when there is one).
REASONS = frozenset({"opened", "paused", "resumed", "extended", "warned", "terminated", "expired",
                     "submitted", "move_approved"})


def attempt_room(attempt_id: int) -> str:
    return f"attempt:{attempt_id}"


def room_channel(room_id: int) -> str:
    return f"room:{room_id}"


def _emit(event: str, data: dict[str, Any], *, namespace: str, to: str) -> None:
    try:
        socketio.emit(event, data, namespace=namespace, to=to)
    except Exception:  # noqa: BLE001  (a push is a hint; the change is already committed)
        log.exception("push %s to %s%s failed", event, namespace, to)


def candidate_changed(attempt_id: int, reason: str, message: str = "") -> None:
    """Tell the candidate's page(s) that their attempt changed: they answer with ``state``."""
    if reason not in REASONS:
        raise ValueError(f"unknown push reason {reason!r}")
    _emit("status", {"attempt_id": attempt_id, "reason": reason, "message": message},
          namespace=EXAM_NS, to=attempt_room(attempt_id))


def superseded(attempt_id: int, owner_sid: str, message: str) -> None:
    """Every connection of the attempt except ``owner_sid`` must stop: another one took over."""
    _emit("superseded", {"attempt_id": attempt_id, "owner": owner_sid, "message": message},
          namespace=EXAM_NS, to=attempt_room(attempt_id))


def seat_changed(session: Session, attempt_id: int) -> None:
    """Send the live summary of one seat to the consoles watching its room."""
    from examroom import console  # the summary is the console's business

    try:
        summary = console.seat_summary_for(session, attempt_id)
    except Exception:  # noqa: BLE001
        log.exception("seat summary for attempt %s failed", attempt_id)
        return
    if summary is None:
        return
    _emit("seat", summary, namespace=PROCTOR_NS, to=room_channel(summary["room_id"]))
