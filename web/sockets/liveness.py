"""The serving process's liveness job (see :mod:`examroom.connections`, "Liveness"; and
docs/architecture.md): register the process when it starts, then every
``EXAM_HEARTBEAT_INTERVAL`` seconds refresh its heartbeat and reap the processes whose heartbeat
is older than ``EXAM_INSTANCE_STALE_SECONDS`` (their candidates turn 离线 on the consoles).

``python -m web.serve`` and the gunicorn entry point start it in every serving process, after
the fork: the process id is random and new at every start.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
import weakref
from typing import Any

from flask import Flask

from examroom import connections
from foundation.db import utcnow
from web.extensions import db, socketio
from web.sockets import push

__all__ = ["beat_once", "instance_id", "namespaces", "start"]

log = logging.getLogger(__name__)

#: The exam namespaces of this process (one per app), whose live connections a reaped but
#: living process restores.
namespaces: weakref.WeakSet[Any] = weakref.WeakSet()

_lock = threading.Lock()
_instance: dict[str, Any] = {"id": None, "pid": None}


def instance_id() -> str:
    """This serving process's id: random, new in every process (a forked child gets its own)."""
    with _lock:
        if _instance["id"] is None or _instance["pid"] != os.getpid():
            _instance["id"], _instance["pid"] = uuid.uuid4().hex, os.getpid()
        return str(_instance["id"])


def _register(app: Flask) -> None:
    with app.app_context():
        try:
            connections.register_instance(db.session, instance_id(), utcnow(), host=socket.gethostname(),
                                          pid=os.getpid())
            db.session.commit()
        finally:
            db.session.remove()


def beat_once(app: Flask) -> list[int]:
    """One heartbeat: refresh (or re-register and restore the live connections), reap the lost
    processes, commit, then update the consoles. Returns the attempt ids whose seats changed."""
    stale = dt.timedelta(seconds=float(app.config.get("EXAM_INSTANCE_STALE_SECONDS") or 30))
    changed: list[int] = []
    with app.app_context():
        try:
            me, now = instance_id(), utcnow()
            if not connections.heartbeat(db.session, me, now):
                log.warning("serving process %s was reaped while alive: registering again", me)
                connections.register_instance(db.session, me, now, host=socket.gethostname(), pid=os.getpid())
                live = [c for ns in list(namespaces) for c in ns.live_connections()]
                changed += connections.restore(db.session, me, live, now)
            db.session.commit()
            reaped = connections.reap_lost(db.session, now, stale)
            db.session.commit()
            if reaped:
                log.info("closed the connections of lost serving processes: attempts %s", reaped)
            changed = sorted({*changed, *reaped})
            for attempt_id in changed:
                push.seat_dirty(app, db.session, attempt_id)
        except Exception:
            db.session.rollback()
            raise
        finally:
            db.session.remove()
    return changed


def _loop(app: Flask, interval: float) -> None:
    while True:
        socketio.sleep(interval)
        try:
            beat_once(app)
        except Exception:  # noqa: BLE001  (keep the job alive; the next beat retries)
            log.exception("liveness job failed")


def start(app: Flask) -> Any | None:
    """Register this process and start its heartbeat (a background task of the Socket.IO
    server). ``EXAM_HEARTBEAT_INTERVAL`` 0 turns it off (connections are then never reaped)."""
    interval = float(app.config.get("EXAM_HEARTBEAT_INTERVAL") or 0)
    if interval <= 0:
        return None
    _register(app)
    return socketio.start_background_task(_loop, app, interval)
