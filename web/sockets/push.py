"""Server → client pushes, from any process.

``socketio.emit`` goes through the message queue (Redis) when one is configured, so a push
made by the process that handled a proctor's action reaches a candidate connected to another
process. Pushes are hints: the durable truth is always the state a client fetches with an
acked event, so a lost push costs a refresh, never an answer.

* ``/exam``, room ``attempt:<id>``: ``status`` (something changed; fetch ``state``) and
  ``superseded`` (another connection now owns the attempt).
* ``/proctor``, room ``room:<room_id>``: ``seat`` (one seat's live summary changed, sent after
  a proctor's action) and ``seats`` (the seats that candidate events changed in the last
  interval, coalesced per process by :class:`SeatPusher`).

Call these only after the change is committed.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from typing import Any

from sqlalchemy.orm import Session

from web.extensions import socketio

__all__ = ["EXAM_NS", "PROCTOR_NS", "SeatPusher", "attempt_room", "candidate_changed", "room_channel",
           "seat_changed", "seat_dirty", "seat_pusher", "superseded"]

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


def seat_dirty(app: Any, session: Session, attempt_id: int) -> None:
    """A candidate-side change of one seat, after its commit: marked for the coalesced
    ``seats`` push (:class:`SeatPusher`, off the ack's path), or sent at once as ``seat`` when
    EXAM_PUSH_INLINE is set (the tests, whose sessions share one connection)."""
    if app.config.get("EXAM_PUSH_INLINE"):
        seat_changed(session, attempt_id)
    else:
        seat_pusher.mark(app, attempt_id)


class SeatPusher:
    """Coalesces the console updates caused by candidate events (answers, signals, connects).

    A candidate event only marks its attempt dirty (no query, no publish on the ack path).
    Every ``interval`` seconds one background task builds the summaries of all dirty seats
    with one batch of grouped queries, ends its read transaction, and sends one ``seats``
    message per room: at 3,000 candidates answering every 10–30 s that is about 100 small
    messages a second instead of 150 summaries and publishes, and a console is at most one
    interval behind."""

    def __init__(self) -> None:
        self._dirty: set[int] = set()
        self._lock = threading.Lock()
        self._task: Any = None

    def mark(self, app: Any, attempt_id: int) -> None:
        with self._lock:
            self._dirty.add(attempt_id)
            if self._task is None:
                self._task = socketio.start_background_task(self._loop, app)

    def take(self) -> list[int]:
        with self._lock:
            ids, self._dirty = sorted(self._dirty), set()
        return ids

    def flush(self, session: Session, attempt_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        """Build and send the summaries of ``attempt_ids``; returns them by room."""
        from examroom import console

        by_room: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for summary in console.seat_summaries(session, attempt_ids):
            by_room[summary["room_id"]].append(summary)
        session.rollback()  # end the read transaction before yielding to the network
        for room_id, seats in by_room.items():
            _emit("seats", {"room_id": room_id, "seats": seats}, namespace=PROCTOR_NS, to=room_channel(room_id))
        return by_room

    def _loop(self, app: Any) -> None:
        from web.extensions import db

        interval = float(app.config.get("EXAM_SEAT_PUSH_INTERVAL") or 1.0)
        while True:
            socketio.sleep(interval)
            ids = self.take()
            if not ids:
                continue
            with app.app_context():
                try:
                    self.flush(db.session, ids)
                except Exception:  # noqa: BLE001  (the next interval sends fresh summaries)
                    log.exception("seat push for %d attempts failed", len(ids))
                finally:
                    db.session.remove()


#: The process's pusher (one background task per serving process).
seat_pusher = SeatPusher()
