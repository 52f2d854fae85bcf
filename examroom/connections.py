"""One live computer per attempt (一人一机): binding an attempt to the device it is answered
on, and the move to another computer that needs the proctor's approval.

The exam page keeps a random ``device_id`` in its local storage, so a refresh, a crash or a
second tab on the same computer reconnects as the same device (the newest connection takes
over; the socket layer tells the older one to stop). A different device is refused until
the room's proctor approves the move (:func:`examroom.proctoring.approve_move` rebinds
``Attempt.device_id``). The binding lives in the database, so it survives a server restart
and holds across several server processes.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from examroom import attempt as core
from examroom.attempts import _insert_event, _own_row, _store_columns
from examroom.models import Attempt, AttemptEvent, AttemptEventKind
from foundation.accounts import User

__all__ = ["MOVE_PENDING_MESSAGE", "bind_device", "holds", "pending_move"]

_BIND_ROW = select(Attempt.candidate_id, Attempt.status, Attempt.device_id).where(
    Attempt.id == bindparam("attempt_id")).with_for_update(of=Attempt)
_BINDING = select(Attempt.device_id, Attempt.status).where(Attempt.id == bindparam("attempt_id"))

MOVE_PENDING_MESSAGE = "本试卷已在另一台电脑上作答。已向监考员申请换机，监考员批准后将自动继续。"


def pending_move(session: Session, attempt_id: int) -> str | None:
    """The device of the newest move request not yet followed by an approval, if any."""
    event = session.scalar(
        select(AttemptEvent)
        .where(AttemptEvent.attempt_id == attempt_id,
               AttemptEvent.kind.in_([AttemptEventKind.MOVE_REQUESTED.value, AttemptEventKind.MOVE_APPROVED.value]))
        .order_by(AttemptEvent.id.desc())
        .limit(1)
    )
    if event is None or event.kind != AttemptEventKind.MOVE_REQUESTED.value:
        return None
    return json.loads(event.data_json).get("device_id")


def bind_device(
    session: Session, candidate: User, attempt_id: int, device_id: str, sid: str, now: dt.datetime
) -> bool:
    """A candidate's page connects from ``device_id``. True: the attempt is (now) bound to it
    and a connect event is logged. False: it is bound to another computer, so the connection
    must be refused; a move request for the proctor is recorded (once per waiting device) and
    the caller commits it. Ownership is checked first (PermissionDenied / NotFound)."""
    now = core.require_aware(now)
    row = _own_row(session, candidate, _BIND_ROW, attempt_id)
    closed = row.status in {s.value for s in core.FINAL_STATUSES}
    if closed or row.device_id is None or row.device_id == device_id:
        if not closed and row.device_id != device_id:  # a closed paper may be looked at from anywhere
            _store_columns(session, attempt_id, device_id=device_id)
        _insert_event(session, attempt_id, AttemptEventKind.CONNECT, candidate, {"sid": sid, "device": device_id[:8]},
                      now)
        return True
    if pending_move(session, attempt_id) != device_id:
        _insert_event(session, attempt_id, AttemptEventKind.MOVE_REQUESTED, candidate,
                      {"device_id": device_id, "from": row.device_id[:8]}, now)
    return False


def holds(session: Session, attempt_id: int, device_id: str) -> bool:
    """Whether a connection from ``device_id`` may still act on the attempt: it is bound to
    that device (or to none), or it is closed (nothing can change any more). One indexed read,
    made on every event in the event's transaction (usually no query: the event's work has
    loaded the attempt), so a move approved in another server process takes effect here."""
    attempt = session.identity_map.get(identity_key(Attempt, attempt_id))
    if attempt is not None:
        bound, status = attempt.device_id, attempt.status
    else:  # not kept by the event's work: one narrow row, not an ORM load
        row = session.execute(_BINDING, {"attempt_id": attempt_id}).one_or_none()
        if row is None:
            return False
        bound, status = row
    return bound in (None, device_id) or status in {s.value for s in core.FINAL_STATUSES}
