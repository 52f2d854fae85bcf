"""The candidate's exam namespace ``/exam`` (protocol: ``docs/protocol.md``; shapes:
:mod:`examroom.events`).

Durable answers: every answer is written and COMMITTED before its ack; writes are idempotent
on (attempt, seq), so a journal replayed after a reconnect changes nothing twice. Every event
re-checks that the logged-in candidate owns the connection's attempt; each event runs in its
own app context, hence its own ``db.session``, committed on success and rolled back on error.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, request, session
from flask_login import current_user
from flask_socketio import ConnectionRefusedError as ConnectRefused  # not the builtin: it carries the message
from flask_socketio import Namespace, join_room

from examroom import attempts as svc
from examroom import connections
from examroom import events as ev
from examroom.lifecycle import AttemptError
from examroom.models import Attempt, AttemptEventKind
from foundation.db import utcnow
from foundation.errors import DomainError, NotFound, PermissionDenied
from web.auth import CANDIDATE_BATCH_KEY
from web.extensions import db
from web.sockets import liveness, push

__all__ = ["ExamNamespace", "TokenBucket", "attempt_room", "now"]

#: Token bucket per connection: sustained events per second and burst size.
RATE_PER_SECOND = 20.0
BURST = 40.0


def now() -> dt.datetime:
    """The server clock (tests replace it)."""
    return utcnow()


def attempt_room(attempt_id: int) -> str:
    return f"attempt:{attempt_id}"


class TokenBucket:
    def __init__(self, rate: float = RATE_PER_SECOND, burst: float = BURST,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.at = burst, clock()

    def take(self) -> bool:
        t = self.clock()
        self.tokens = min(self.burst, self.tokens + (t - self.at) * self.rate)
        self.at = t
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


#: Lifecycle, state and replay events that may run at once in one process. They are the
#: heavy ones and come in storms (3,000 ``start`` in the second the rooms open); answers and
#: signals never wait for this gate, so a candidate already writing is not queued behind a
#: neighbouring room's start (measured: bench-exam, docs/benchmarks.md).
HEAVY_CONCURRENCY = 1

#: How long events may use the connection's checked account instead of loading it again (one
#: query per event saved, which matters in the synchronised start and the time-up burst); a
#: deactivated account is refused within this.
ACCOUNT_RECHECK_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class _Candidate:
    """The logged-in candidate as the events need it (services read ``id`` and ``name``; the
    exam page's state shows ``name`` and the masked ``id_number``; the ticket number is the
    attempt's batch registration's)."""

    id: int
    name: str
    id_number: str | None
    role: str = "candidate"

    @classmethod
    def of(cls, user: Any) -> _Candidate:
        return cls(user.id, user.name, user.id_number)


class _Refused(Exception):
    def __init__(self, ack: dict[str, Any]) -> None:
        super().__init__(ack.get("code"))
        self.ack = ack


def _candidate() -> Any:
    if not current_user.is_authenticated or getattr(current_user, "role", None) != "candidate":
        return None
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _domain_ack(exc: DomainError) -> dict[str, Any]:
    if isinstance(exc, PermissionDenied):
        code = "forbidden"
    elif isinstance(exc, NotFound):
        code = "not_found"
    elif isinstance(exc, AttemptError):
        code = getattr(exc, "code", "not_allowed")
    else:
        code = "invalid"
    return ev.error_ack(code, exc.message)


class ExamNamespace(Namespace):
    def __init__(self, namespace: str = ev.NAMESPACE) -> None:
        super().__init__(namespace)
        self._lock = threading.Lock()
        self._conns: dict[str, dict[str, Any]] = {}  # sid -> {"attempt_id", "user_id", "device_id", "bucket"}
        self._owners: dict[int, str] = {}  # attempt id -> the sid of its live connection in this process
        self._heavy = threading.BoundedSemaphore(HEAVY_CONCURRENCY)
        liveness.namespaces.add(self)

    # ------------------------------------------------------------------ connection

    def on_connect(self, auth: Any = None) -> bool:
        candidate = _candidate()
        if candidate is None:
            raise ConnectRefused("请以考生身份登录后再进入考试。")
        try:
            connect = ev.validate_connect(auth)
        except ev.PayloadError:
            raise ConnectRefused("连接缺少试卷编号或设备标识。") from None
        sid = request.sid  # type: ignore[attr-defined]
        attempt = db.session.get(Attempt, connect.attempt_id)
        if (attempt is not None and attempt.candidate_id == candidate.id
                and attempt.exam_session.module.batch_id != session.get(CANDIDATE_BATCH_KEY)):
            # A ticket number is one batch's (web.exam.views): another batch's exam needs its number.
            raise ConnectRefused("本场考试不属于您登录所用的准考证号，请使用本批次的准考证号重新登录。")
        try:
            # bind_device refuses an attempt that is not the candidate's own (ownership check).
            bound = connections.bind_device(db.session, candidate, connect.attempt_id, connect.device_id, sid, now(),
                                            liveness.instance_id())
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            raise ConnectRefused(exc.message) from None
        if not bound:  # another computer holds the attempt: the move request is recorded
            self._push_seat(connect.attempt_id)
            raise ConnectRefused(connections.MOVE_PENDING_MESSAGE, {"code": "move_pending"})
        with self._lock:
            self._conns[sid] = {"attempt_id": connect.attempt_id, "user_id": candidate.id,
                                "device_id": connect.device_id, "bucket": TokenBucket(),
                                "checked": (time.monotonic(), _Candidate.of(candidate))}
            self._owners[connect.attempt_id] = sid
        # The newest connection owns the attempt: older pages (another tab, or a process that
        # still holds a half-dead socket) are told to stop, through the queue if there is one.
        push.superseded(connect.attempt_id, sid, ev.ERRORS["superseded"])
        join_room(attempt_room(connect.attempt_id))
        self._push_seat(connect.attempt_id)
        return True

    def live_connections(self) -> list[tuple[str, int, Any]]:
        """``(sid, attempt_id, candidate)`` of the connections this process holds and owns."""
        with self._lock:
            return [(sid, conn["attempt_id"], conn["checked"][1]) for sid, conn in self._conns.items()
                    if self._owners.get(conn["attempt_id"]) == sid]

    def on_disconnect(self, reason: Any = None) -> None:
        sid = request.sid  # type: ignore[attr-defined]
        with self._lock:
            conn = self._conns.pop(sid, None)
            if conn is not None and self._owners.get(conn["attempt_id"]) == sid:
                del self._owners[conn["attempt_id"]]
        candidate = _candidate()
        if conn is None or candidate is None:
            return
        try:
            connections.release(db.session, sid)
            svc.record_signal(db.session, candidate, conn["attempt_id"], AttemptEventKind.DISCONNECT.value,
                              {"sid": sid}, now())
            db.session.commit()
        except Exception:  # noqa: BLE001  (a lost disconnect record must not break the server)
            db.session.rollback()
            return
        self._push_seat(conn["attempt_id"])

    # ------------------------------------------------------------------ plumbing

    def _guard(self, attempt_id: int | None = None) -> tuple[Any, int]:
        """The candidate and the connection's attempt, after the rate limit, ownership and the
        one-live-connection rule (this process's newest connection; the bound device is checked
        in :meth:`_run`). The account checked at most ACCOUNT_RECHECK_SECONDS ago (at connect,
        or by an earlier event) is used instead of loading it again."""
        sid = request.sid  # type: ignore[attr-defined]
        conn = self._conns.get(sid)
        if conn is None:
            raise _Refused(ev.error_ack("forbidden"))
        checked = conn.get("checked")
        if checked is not None and time.monotonic() - checked[0] < ACCOUNT_RECHECK_SECONDS:
            candidate = checked[1]
        else:
            user = _candidate()
            if user is None or user.id != conn["user_id"] or not user.active:
                raise _Refused(ev.error_ack("forbidden"))
            candidate = _Candidate.of(user)
            conn["checked"] = (time.monotonic(), candidate)
        if not conn["bucket"].take():
            raise _Refused(ev.error_ack("rate_limited"))
        if attempt_id is not None and attempt_id != conn["attempt_id"]:
            raise _Refused(ev.error_ack("wrong_attempt"))
        if self._owners.get(conn["attempt_id"]) != sid:
            raise _Refused(ev.error_ack("superseded"))
        return candidate, conn["attempt_id"]

    def _push_seat(self, attempt_id: int) -> None:
        """Update the proctor consoles after the event is committed (coalesced per room)."""
        push.seat_dirty(current_app._get_current_object(), db.session, attempt_id)  # type: ignore[attr-defined]

    def _run(self, work: Callable[[], dict[str, Any]], *, changes_seat: bool = True,
             heavy: bool = False, device_checked: bool = False) -> dict[str, Any]:
        """Run one event: commit on success (then update the consoles), roll back on any
        refusal or error. ``heavy`` events pass the process's gate (HEAVY_CONCURRENCY) first.
        ``device_checked``: the work itself refused a computer that no longer holds the attempt."""
        with self._heavy if heavy else contextlib.nullcontext():
            return self._commit(work, changes_seat, device_checked)

    def _commit(self, work: Callable[[], dict[str, Any]], changes_seat: bool, device_checked: bool
                ) -> dict[str, Any]:
        try:
            ack = work()
            conn = self._conns.get(request.sid)  # type: ignore[attr-defined]
            # The binding may have moved to another computer (approved in any process): checked
            # in the event's own transaction, on the attempt the work has usually loaded already.
            if (conn is not None and not device_checked
                    and not connections.holds(db.session, conn["attempt_id"], conn["device_id"])):
                raise _Refused(ev.error_ack("superseded"))
            db.session.commit()
            if changes_seat and conn is not None:
                self._push_seat(conn["attempt_id"])
            return ack
        except _Refused as exc:
            db.session.rollback()
            return exc.ack
        except ev.PayloadError as exc:
            db.session.rollback()
            return ev.error_ack(exc.code, exc.message)
        except DomainError as exc:
            db.session.rollback()
            return _domain_ack(exc)
        except Exception:  # noqa: BLE001  (the client keeps its journal and retries)
            db.session.rollback()
            current_app.logger.exception("exam event failed")
            return ev.error_ack("server_error")

    def _record(self, candidate: Any, attempt_id: int, answer: ev.AnswerPayload, received: dt.datetime
                ) -> dict[str, Any]:
        conn = self._conns.get(request.sid)  # type: ignore[attr-defined]
        decision = svc.record_response(db.session, candidate, attempt_id, answer.entry(), now(), received,
                                       device_id=None if conn is None else conn["device_id"])
        if not decision.acked:
            return ev.error_ack(decision.code, decision.message, seq=answer.seq)
        return {"ok": True, "seq": answer.seq, "result": "accepted" if decision.changes else decision.code,
                "server_time": now().isoformat()}

    # ------------------------------------------------------------------ events

    def on_state(self, payload: Any = None) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            candidate, attempt_id = self._guard(ev.validate_attempt_ref(payload))
            return {"ok": True, "state": svc.candidate_view(db.session, candidate, attempt_id, now())}

        return self._run(work, changes_seat=False, heavy=True)

    def on_answer(self, payload: Any = None) -> dict[str, Any]:
        received = now()

        def work() -> dict[str, Any]:
            answer = ev.validate_answer(payload)
            candidate, attempt_id = self._guard(answer.attempt_id)
            ack = self._record(candidate, attempt_id, answer, received)
            if not ack["ok"]:
                raise _Refused(ack)
            return ack

        return self._run(work, device_checked=True)

    def on_replay(self, payload: Any = None) -> dict[str, Any]:
        received = now()

        def work() -> dict[str, Any]:
            ref, answers = ev.validate_replay(payload)
            candidate, attempt_id = self._guard(ref)
            results = []
            for answer in answers:  # in seq order; each entry in its own savepoint
                with db.session.begin_nested():
                    results.append(self._record(candidate, attempt_id, answer, received))
            return {"ok": True, "results": results,
                    "state": svc.candidate_view(db.session, candidate, attempt_id, now())}

        return self._run(work, heavy=True)

    def _lifecycle(self, transition: Callable[..., Any], payload: Any) -> dict[str, Any]:
        """arrive, start or submit: the transition, then the new state for the page."""
        def work() -> dict[str, Any]:
            candidate, attempt_id = self._guard(ev.validate_attempt_ref(payload))
            # Kept for the event (g): the session holds ORM objects weakly, and the view and the
            # device check that follow would otherwise load the attempt again.
            g.attempt = transition(db.session, candidate, attempt_id, now())
            return {"ok": True, "state": svc.candidate_view(db.session, candidate, attempt_id, now())}

        return self._run(work, heavy=True)

    def on_arrive(self, payload: Any = None) -> dict[str, Any]:
        return self._lifecycle(svc.arrive_attempt, payload)

    def on_start(self, payload: Any = None) -> dict[str, Any]:
        return self._lifecycle(svc.start_attempt, payload)

    def on_submit(self, payload: Any = None) -> dict[str, Any]:
        return self._lifecycle(svc.submit_attempt, payload)

    def on_signal(self, payload: Any = None) -> None:
        def work() -> dict[str, Any]:
            signal = ev.validate_signal(payload)
            candidate, attempt_id = self._guard(signal.attempt_id)
            data = {"signal": signal.signal, **({"detail": signal.detail} if signal.detail else {})}
            svc.record_signal(db.session, candidate, attempt_id, signal.kind, data, now())
            return {"ok": True}

        self._run(work)  # not acked
