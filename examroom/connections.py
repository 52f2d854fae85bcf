"""One live computer per attempt (一人一机): binding an attempt to the device it is answered
on, and the move to another computer that needs the proctor's approval.

The exam page keeps a random ``device_id`` in its local storage, so a refresh, a crash or a
second tab on the same computer reconnects as the same device (the newest connection takes
over; the socket layer tells the older one to stop). A different device is refused until
the room's proctor approves the move (:func:`examroom.proctoring.approve_move` rebinds
``Attempt.device_id``). The binding lives in the database, so it survives a server restart
and holds across several server processes.

Liveness (is the candidate's page connected?) must also hold across processes and survive a
crash: a process killed with ``kill -9`` never records the ``disconnect`` of its sockets. So
every serving process registers a :class:`ServerInstance` row with a random id when it starts
and refreshes its ``heartbeat_at`` every few seconds (:func:`heartbeat`); each live exam-page
connection has an :class:`ExamConnection` row naming its process, written with the ``connect``
event and deleted with the ``disconnect`` event. :func:`reap_lost`, run by every process after
its heartbeat, claims the processes whose heartbeat is older than the staleness threshold
(deleting their row, so exactly one reaper wins) and writes, for each connection they held,
the ``disconnect`` event that the dead process never wrote. The console derives ``online``
from the events as before, so the seat turns 离线 within the threshold plus one heartbeat.
A restart is a new process with a new id: the old id goes stale and is reaped the same way.
A process that was only stalled past the threshold finds its row gone at its next heartbeat,
registers again and restores its live connections (:func:`restore`). Nothing is added to the
answer path; a connect or disconnect costs one more indexed row write.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from examroom import lifecycle as core
from examroom.attempts import insert_event, own_row, store_columns
from examroom.models import Attempt, AttemptEvent, AttemptEventKind, ExamConnection, ServerInstance
from foundation.accounts import User
from foundation.db import rowcount, table_of

__all__ = ["LOST_REASON", "MOVE_PENDING_MESSAGE", "bind_device", "heartbeat", "holds", "pending_move", "reap_lost",
           "register_instance", "release", "restore"]

_BIND_ROW = select(Attempt.candidate_id, Attempt.status, Attempt.device_id).where(
    Attempt.id == bindparam("attempt_id")).with_for_update(of=Attempt)
_BINDING = select(Attempt.device_id, Attempt.status).where(Attempt.id == bindparam("attempt_id"))

_INSERT_CONNECTION = insert(table_of(ExamConnection))
_DELETE_CONNECTION = delete(table_of(ExamConnection)).where(ExamConnection.sid == bindparam("conn_sid"))

#: The reason written on the ``disconnect`` events of a lost process's connections.
LOST_REASON = "服务进程中断，连接已失效"

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
    device = json.loads(event.data_json).get("device_id")
    return str(device) if device is not None else None


def bind_device(
    session: Session, candidate: User, attempt_id: int, device_id: str, sid: str, now: dt.datetime,
    instance_id: str | None = None,
) -> bool:
    """A candidate's page connects from ``device_id``. True: the attempt is (now) bound to it
    and a connect event is logged. False: it is bound to another computer, so the connection
    must be refused; a move request for the proctor is recorded (once per waiting device) and
    the caller commits it. Ownership is checked first (PermissionDenied / NotFound).
    ``instance_id``: the serving process that holds the connection (its liveness row)."""
    now = core.require_aware(now)
    row = own_row(session, candidate, _BIND_ROW, attempt_id)
    closed = row.status in {s.value for s in core.FINAL_STATUSES}
    if closed or row.device_id is None or row.device_id == device_id:
        if not closed and row.device_id != device_id:  # a closed paper may be looked at from anywhere
            store_columns(session, attempt_id, device_id=device_id)
        insert_event(session, attempt_id, AttemptEventKind.CONNECT, candidate, {"sid": sid, "device": device_id[:8]},
                      now)
        if instance_id is not None:
            session.execute(_INSERT_CONNECTION, {"sid": sid, "attempt_id": attempt_id, "instance_id": instance_id,
                                                 "connected_at": now})
        return True
    if pending_move(session, attempt_id) != device_id:
        insert_event(session, attempt_id, AttemptEventKind.MOVE_REQUESTED, candidate,
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


# --------------------------------------------------------------------------- liveness


def release(session: Session, sid: str) -> None:
    """The connection ``sid`` closed: its liveness row goes (the caller logs the disconnect)."""
    session.execute(_DELETE_CONNECTION, {"conn_sid": sid})


def register_instance(session: Session, instance_id: str, now: dt.datetime, *, host: str = "", pid: int = 0) -> None:
    """A serving process starts (or comes back after being reaped): its row, heartbeat now."""
    now = core.require_aware(now)
    session.execute(delete(ServerInstance).where(ServerInstance.id == instance_id))
    session.add(ServerInstance(id=instance_id, host=host[:255], pid=pid, started_at=now, heartbeat_at=now))
    session.flush()


def heartbeat(session: Session, instance_id: str, now: dt.datetime) -> bool:
    """Refresh the process's heartbeat. False: its row is gone (another process reaped it
    after a stall): the caller registers again and restores its live connections."""
    now = core.require_aware(now)
    result = session.execute(update(ServerInstance).where(ServerInstance.id == instance_id)
                             .values(heartbeat_at=now).execution_options(synchronize_session=False))
    return bool(rowcount(result))


def restore(session: Session, instance_id: str, live: Iterable[tuple[str, int, User]], now: dt.datetime) -> list[int]:
    """After :func:`heartbeat` found the process reaped: its connections (``(sid, attempt_id,
    candidate)``) are still open, so their rows come back and a new ``connect`` event follows the
    reaper's ``disconnect``. Returns the attempt ids (their seats changed)."""
    now = core.require_aware(now)
    session.execute(delete(ExamConnection).where(ExamConnection.instance_id == instance_id)
                    .execution_options(synchronize_session=False))
    attempts = []
    for sid, attempt_id, candidate in live:
        session.execute(_INSERT_CONNECTION, {"sid": sid, "attempt_id": attempt_id, "instance_id": instance_id,
                                             "connected_at": now})
        insert_event(session, attempt_id, AttemptEventKind.CONNECT, candidate, {"sid": sid, "restored": True}, now)
        attempts.append(attempt_id)
    return sorted(set(attempts))


def reap_lost(session: Session, now: dt.datetime, stale_after: dt.timedelta) -> list[int]:
    """Close the connections of lost processes: those whose heartbeat is older than
    ``stale_after`` (claimed by deleting their row: with several reapers one wins) and those
    naming no registered process at all (older than ``stale_after``). Each gets the
    ``disconnect`` event its process never wrote (actor 系统). Returns the attempt ids whose
    seats changed; the caller commits, then updates the consoles."""
    now = core.require_aware(now)
    cutoff = now - stale_after
    claimed = []
    for instance_id in session.scalars(select(ServerInstance.id).where(ServerInstance.heartbeat_at < cutoff)).all():
        result = session.execute(delete(ServerInstance).where(ServerInstance.id == instance_id,
                                                              ServerInstance.heartbeat_at < cutoff)
                                 .execution_options(synchronize_session=False))
        if rowcount(result):
            claimed.append(instance_id)
    lost = or_(ExamConnection.instance_id.in_(claimed),
               and_(ExamConnection.instance_id.not_in(select(ServerInstance.id)), ExamConnection.connected_at < cutoff))
    rows = session.execute(delete(ExamConnection).where(lost).returning(ExamConnection.sid, ExamConnection.attempt_id)
                           .execution_options(synchronize_session=False)).all()
    for sid, attempt_id in sorted(rows, key=lambda r: (r.attempt_id, r.sid)):
        insert_event(session, attempt_id, AttemptEventKind.DISCONNECT, None, {"sid": sid, "reason": LOST_REASON},
                      now)
    return sorted({attempt_id for _, attempt_id in rows})
