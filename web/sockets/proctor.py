"""The proctor console's namespace ``/proctor`` (protocol: ``docs/protocol.md, Part 2``; services:
:mod:`examroom.proctoring`).

Proctors and supervisors connect with their login session. ``watch`` joins the room channel
``room:<id>`` (the ``seat`` pushes) after checking the viewer may watch that room. Actions are
acked events for proctors only; every event re-checks the user's assignment in the database,
runs in its own transaction, is committed before its ack, and only then pushes ``seat`` to the
consoles and ``status``/``superseded`` to the candidate's pages (``web.sockets.push``).
Malformed payloads get an error ack and change nothing. A token bucket limits each connection.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from flask import current_app, request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError as ConnectRefused  # not the builtin: it carries the message
from flask_socketio import Namespace, join_room, leave_room

from examroom import proctoring as pr
from examroom.answers import is_text
from examroom.lifecycle import AttemptError
from foundation.db import MAX_ID, utcnow
from foundation.errors import DomainError, NotFound, PermissionDenied
from web.extensions import db
from web.sockets import push
from web.sockets.exam import TokenBucket

__all__ = ["ERRORS", "ProctorNamespace", "now"]

NAMESPACE = push.PROCTOR_NS
WATCHER_ROLES = frozenset({"proctor", "supervisor"})
RATE_PER_SECOND = 10.0
BURST = 20.0

ERRORS: dict[str, str] = {
    "malformed": "消息格式错误，未处理。",
    "forbidden": "您没有该考场的操作权限。",
    "read_only": "督考员只能查看考场，不能操作。",
    "not_found": "考场或作答记录不存在。",
    "rate_limited": "操作过于频繁，请稍后再试。",
    "invalid": "请求无效。",
    "server_error": "服务器暂时无法处理，请稍后重试。",
}

#: Candidate-facing messages of the ``status`` pushes that carry one.
MESSAGES = {
    "paused": "考试已被监考员暂停，请等待恢复。",
    "resumed": "考试已恢复，请继续作答。",
    "opened": "监考员已开考，请开始作答。",
    "move_approved": "监考员已批准换机，作答已转移到另一台电脑。",
}


def now() -> dt.datetime:
    """The server clock (tests replace it)."""
    return utcnow()


class PayloadError(Exception):
    def __init__(self, code: str = "malformed", message: str | None = None) -> None:
        self.code = code
        self.message = message or ERRORS.get(code, ERRORS["malformed"])
        super().__init__(self.message)


def error_ack(code: str, message: str | None = None) -> dict[str, Any]:
    return {"ok": False, "code": code, "error": message or ERRORS.get(code, ERRORS["malformed"])}


# ------------------------------------------------------------------ payloads


def _dict(payload: Any, required: set[str], optional: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    if not isinstance(payload, dict) or not required <= set(payload) or not set(payload) <= required | optional:
        raise PayloadError()
    return payload


def _id(value: Any) -> int:
    """A room or attempt id: a JSON integer (not a boolean) in the database's 32-bit range."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise PayloadError()
    return value


def _str(value: Any, limit: int = pr.MAX_REASON) -> str:
    """Text of at most ``limit`` characters that UTF-8 can encode (no lone surrogate)."""
    if not isinstance(value, str) or len(value) > limit or not is_text(value):
        raise PayloadError()
    return value


def _small_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -10_000 <= value <= 10_000:
        raise PayloadError()
    return value


# ------------------------------------------------------------------ namespace


def _user() -> Any:
    if not current_user.is_authenticated or getattr(current_user, "role", None) not in WATCHER_ROLES:
        return None
    return current_user._get_current_object()  # type: ignore[attr-defined]


class _Refused(Exception):
    def __init__(self, ack: dict[str, Any]) -> None:
        super().__init__(ack.get("code"))
        self.ack = ack


def _domain_ack(exc: DomainError) -> dict[str, Any]:
    if isinstance(exc, PermissionDenied):
        code = "read_only" if isinstance(exc, pr.ReadOnly) else "forbidden"
    elif isinstance(exc, NotFound):
        code = "not_found"
    elif isinstance(exc, AttemptError):
        code = getattr(exc, "code", "invalid")
    else:
        code = "invalid"
    return error_ack(code, exc.message)


def _room_ack(out: pr.RoomOutcome) -> dict[str, Any]:
    return {"ok": True, "room_id": out.room_id, "changed": out.changed,
            "refused": [{"attempt_id": k, "error": v} for k, v in sorted(out.refused.items())]}


class ProctorNamespace(Namespace):
    def __init__(self, namespace: str = NAMESPACE) -> None:
        super().__init__(namespace)
        self._lock = threading.Lock()
        self._conns: dict[str, dict[str, Any]] = {}  # sid -> {"user_id", "bucket", "rooms"}

    # ------------------------------------------------------------------ connection

    def on_connect(self, auth: Any = None) -> bool:
        user = _user()
        if user is None:
            raise ConnectRefused("请以监考员或督考员身份登录。")
        with self._lock:
            self._conns[request.sid] = {"user_id": user.id, "bucket": TokenBucket(RATE_PER_SECOND, BURST),  # type: ignore[attr-defined]
                                        "rooms": set()}
        return True

    def on_disconnect(self, reason: Any = None) -> None:
        with self._lock:
            self._conns.pop(request.sid, None)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ plumbing

    def _guard(self, *, act: bool = False) -> Any:
        """The logged-in watcher of this connection, after the rate limit; ``act``: proctors only
        (the services check the room assignment again)."""
        conn = self._conns.get(request.sid)  # type: ignore[attr-defined]
        user = _user()
        if conn is None or user is None or user.id != conn["user_id"]:
            raise _Refused(error_ack("forbidden"))
        if not conn["bucket"].take():
            raise _Refused(error_ack("rate_limited"))
        if act and user.role != "proctor":
            raise _Refused(error_ack("read_only"))
        return user

    def _run(self, work: Callable[[], tuple[dict[str, Any], Callable[[], None] | None]]) -> dict[str, Any]:
        """Run one event: commit, then push (after the commit), then ack. Roll back on error."""
        try:
            ack, after = work()
            db.session.commit()
        except _Refused as exc:
            db.session.rollback()
            return exc.ack
        except PayloadError as exc:
            db.session.rollback()
            return error_ack(exc.code, exc.message)
        except DomainError as exc:
            db.session.rollback()
            return _domain_ack(exc)
        except Exception:  # noqa: BLE001
            db.session.rollback()
            current_app.logger.exception("proctor event failed")
            return error_ack("server_error")
        if after is not None:
            try:
                after()
            finally:
                db.session.rollback()  # end the read transaction of the pushes' summaries
        return ack

    @staticmethod
    def _pushes(attempt_ids: list[int], reason: str | None, message: str = "") -> Callable[[], None]:
        def run() -> None:
            if reason is not None:
                for attempt_id in attempt_ids:
                    push.candidate_changed(attempt_id, reason, message)
            if len(attempt_ids) == 1:
                push.seat_changed(db.session, attempt_ids[0])
            elif attempt_ids:  # a room-wide action: the room's seats in one message, one batch of queries
                push.seat_pusher.flush(db.session, attempt_ids)

        return run

    def _single(self, attempt_id: int, reason: str | None, message: str = "") -> tuple[dict[str, Any], Any]:
        from examroom import console

        return ({"ok": True, "seat": console.seat_summary_for(db.session, attempt_id)},
                self._pushes([attempt_id], reason, message))

    # ------------------------------------------------------------------ watching

    def on_watch(self, payload: Any = None) -> dict[str, Any]:
        def work() -> tuple[dict[str, Any], None]:
            user = self._guard()
            room_id = _id(_dict(payload, {"room_id"})["room_id"])
            snapshot = pr.room_snapshot(db.session, user, room_id)
            join_room(push.room_channel(room_id))
            self._conns[request.sid]["rooms"].add(room_id)  # type: ignore[attr-defined]
            return {"ok": True, "snapshot": snapshot}, None

        return self._run(work)

    def on_unwatch(self, payload: Any = None) -> dict[str, Any]:
        def work() -> tuple[dict[str, Any], None]:
            self._guard()
            room_id = _id(_dict(payload, {"room_id"})["room_id"])
            leave_room(push.room_channel(room_id))
            self._conns[request.sid]["rooms"].discard(room_id)  # type: ignore[attr-defined]
            return {"ok": True}, None

        return self._run(work)

    # ------------------------------------------------------------------ room-wide actions

    def on_open(self, payload: Any = None) -> dict[str, Any]:
        def work() -> tuple[dict[str, Any], Any]:
            user = self._guard(act=True)
            room_id = _id(_dict(payload, {"room_id"})["room_id"])
            out = pr.open_room(db.session, user, room_id, now())
            return _room_ack(out), self._pushes(out.changed, "opened", MESSAGES["opened"])

        return self._run(work)

    def on_pause_room(self, payload: Any = None) -> dict[str, Any]:
        def work() -> tuple[dict[str, Any], Any]:
            user = self._guard(act=True)
            data = _dict(payload, {"room_id"}, {"reason"})
            room_id, reason = _id(data["room_id"]), _str(data.get("reason", ""))
            out = pr.pause_room(db.session, user, room_id, now(), reason)
            message = f"考试已暂停：{reason.strip()}。请等待监考员恢复。" if reason.strip() else MESSAGES["paused"]
            return _room_ack(out), self._pushes(out.changed, "paused", message)

        return self._run(work)

    def on_resume_room(self, payload: Any = None) -> dict[str, Any]:
        def work() -> tuple[dict[str, Any], Any]:
            user = self._guard(act=True)
            data = _dict(payload, {"room_id"}, {"reason"})
            room_id, reason = _id(data["room_id"]), _str(data.get("reason", ""))
            out = pr.resume_room(db.session, user, room_id, now(), reason)
            return _room_ack(out), self._pushes(out.changed, "resumed", MESSAGES["resumed"])

        return self._run(work)

    # ------------------------------------------------------------------ one candidate

    def on_pause(self, payload: Any = None) -> dict[str, Any]:
        def work() -> tuple[dict[str, Any], Any]:
            user = self._guard(act=True)
            data = _dict(payload, {"attempt_id"}, {"reason"})
            attempt_id, reason = _id(data["attempt_id"]), _str(data.get("reason", ""))
            pr.pause(db.session, user, attempt_id, now(), reason)
            return self._single(attempt_id, "paused", MESSAGES["paused"])

        return self._run(work)

    def on_resume(self, payload: Any = None) -> dict[str, Any]:
        def work() -> tuple[dict[str, Any], Any]:
            user = self._guard(act=True)
            data = _dict(payload, {"attempt_id"}, {"reason"})
            attempt_id, reason = _id(data["attempt_id"]), _str(data.get("reason", ""))
            pr.resume(db.session, user, attempt_id, now(), reason)
            return self._single(attempt_id, "resumed", MESSAGES["resumed"])

        return self._run(work)

    def on_extend(self, payload: Any = None) -> dict[str, Any]:
        """``{"attempt_id"|"room_id", "minutes", "reason"}``: exactly one of the two ids."""
        def work() -> tuple[dict[str, Any], Any]:
            user = self._guard(act=True)
            if not isinstance(payload, dict):
                raise PayloadError()
            target = "room_id" if "room_id" in payload else "attempt_id"
            data = _dict(payload, {target, "minutes", "reason"})
            target_id, minutes, reason = _id(data[target]), _small_int(data["minutes"]), _str(data["reason"])
            user = user
            message = f"监考员为您延长考试时间 {minutes} 分钟。"
            if target == "room_id":
                out = pr.extend_room(db.session, user, target_id, minutes, reason, now())
                return _room_ack(out), self._pushes(out.changed, "extended", message)
            pr.extend(db.session, user, target_id, minutes, reason, now())
            return self._single(target_id, "extended", message)

        return self._run(work)

    def on_warn(self, payload: Any = None) -> dict[str, Any]:
        def work() -> tuple[dict[str, Any], Any]:
            user = self._guard(act=True)
            data = _dict(payload, {"attempt_id", "message"})
            attempt_id, message = _id(data["attempt_id"]), _str(data["message"])
            pr.warn(db.session, user, attempt_id, message, now())
            return self._single(attempt_id, "warned", f"监考员警告：{message.strip()}")

        return self._run(work)

    def on_incident(self, payload: Any = None) -> dict[str, Any]:
        def work() -> tuple[dict[str, Any], Any]:
            user = self._guard(act=True)
            data = _dict(payload, {"attempt_id", "tier", "description"})
            attempt_id = _id(data["attempt_id"])
            tier, description = _small_int(data["tier"]), _str(data["description"])
            pr.record_incident(db.session, user, attempt_id, tier, description, now())
            return self._single(attempt_id, None)

        return self._run(work)

    def on_terminate(self, payload: Any = None) -> dict[str, Any]:
        def work() -> tuple[dict[str, Any], Any]:
            user = self._guard(act=True)
            data = _dict(payload, {"attempt_id", "reason", "tier"})
            attempt_id, reason, tier = _id(data["attempt_id"]), _str(data["reason"]), _small_int(data["tier"])
            pr.terminate(db.session, user, attempt_id, reason, tier, now())
            return self._single(attempt_id, "terminated", f"您的考试已被监考员终止：{reason.strip()}")

        return self._run(work)

    def on_approve_move(self, payload: Any = None) -> dict[str, Any]:
        def work() -> tuple[dict[str, Any], Any]:
            user = self._guard(act=True)
            attempt_id = _id(_dict(payload, {"attempt_id"})["attempt_id"])
            pr.approve_move(db.session, user, attempt_id, now())
            ack, seat_push = self._single(attempt_id, None)

            def after() -> None:
                push.superseded(attempt_id, "", MESSAGES["move_approved"])
                seat_push()

            return ack, after

        return self._run(work)
