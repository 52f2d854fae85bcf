"""The candidate's exam protocol (namespace ``/exam``): event names, payload shapes and their
validation, defined once. ``docs/protocol.md`` documents the same names and codes.

Each ``validate_*`` function takes the raw payload of a client event and returns a typed
object, or raises :class:`PayloadError` (a stable ``code`` and a Simplified Chinese message).
No database, no Flask: the socket layer (:mod:`web.sockets.exam`) calls the services.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from examroom.answers import (
    DEFAULT_MAX_VALUE_BYTES,
    MAX_SEQ,
    SEQ_MESSAGE,
    VALUE_MESSAGE,
    JournalEntry,
    is_text,
    value_size,
)
from foundation.db import MAX_ID

__all__ = [
    "ERRORS",
    "EV_ANSWER",
    "EV_ARRIVE",
    "EV_REPLAY",
    "EV_SIGNAL",
    "EV_START",
    "EV_STATE",
    "EV_SUBMIT",
    "MAX_ID",
    "MAX_REPLAY_ENTRIES",
    "NAMESPACE",
    "SIGNALS",
    "AnswerPayload",
    "ConnectAuth",
    "PayloadError",
    "SignalPayload",
    "error_ack",
    "validate_answer",
    "validate_attempt_ref",
    "validate_connect",
    "validate_replay",
    "validate_signal",
]

NAMESPACE = "/exam"

EV_STATE = "state"
EV_ANSWER = "answer"
EV_REPLAY = "replay"
EV_ARRIVE = "arrive"
EV_START = "start"
EV_SUBMIT = "submit"
EV_SIGNAL = "signal"

#: Most entries one ``replay`` may carry (the whole message is also capped at 64 KB).
MAX_REPLAY_ENTRIES = 200
#: Largest id or item position a payload may name (foundation.db.MAX_ID): the database's ids
#: are 32-bit integers, and PostgreSQL refuses a larger bind value with an error.
#: Longest ``client_time`` string (ISO 8601 with microseconds and an offset is 32 characters).
MAX_TIME_TEXT = 40
#: Signals a page may report; mapped onto attempt event kinds.
SIGNALS = {"focus_loss": "focus_loss", "paste_blocked": "paste_blocked", "visibility": "focus_loss"}
MAX_SIGNAL_DETAIL = 200
#: The page's random, persistent id of the computer it runs on (see examroom.connections).
DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")

#: Error codes of the socket layer itself, with their messages. Codes of refused answers
#: (``bad_seq``, ``bad_value``, ``paused``, ``time_up`` ...) come from :mod:`examroom.answers`;
#: :func:`validate_answer` raises the field codes (``bad_seq``, ``bad_value``,
#: ``bad_client_time``) with their messages.
ERRORS: dict[str, str] = {
    "malformed": "消息格式错误，未处理。",
    "too_large": f"答案过长（超过 {DEFAULT_MAX_VALUE_BYTES} 字节），未保存。",
    "too_many": f"一次补发的答案不能超过 {MAX_REPLAY_ENTRIES} 条。",
    "wrong_attempt": "消息所属的试卷与本连接的试卷不一致。",
    "forbidden": "只能查看和作答本人的试卷。",
    "not_found": "作答记录不存在。",
    "rate_limited": "操作过于频繁，请稍后再试。",
    "not_allowed": "当前状态下不能进行该操作。",
    "invalid": "请求无效。",
    "server_error": "服务器暂时无法保存，请稍后重试（答案仍保留在本机）。",
    "superseded": "本试卷已在另一个窗口或另一台电脑上打开，此页面已停止作答。",
}


class PayloadError(Exception):
    """A client payload does not have the documented shape; nothing was done."""

    def __init__(self, code: str, message: str | None = None) -> None:
        self.code = code
        self.message = message or ERRORS.get(code, ERRORS["malformed"])
        super().__init__(self.message)


def error_ack(code: str, message: str | None = None, **extra: Any) -> dict[str, Any]:
    """The error acknowledgement shape: ``{"ok": false, "code", "error", ...}``."""
    return {"ok": False, "code": code, "error": message or ERRORS.get(code, ERRORS["malformed"]), **extra}


@dataclass(frozen=True, slots=True)
class ConnectAuth:
    attempt_id: int
    device_id: str


@dataclass(frozen=True, slots=True)
class AnswerPayload:
    attempt_id: int
    position: int
    seq: int
    value: Any
    client_time: dt.datetime

    def entry(self) -> JournalEntry:
        return JournalEntry(self.attempt_id, self.position, self.seq, self.value, self.client_time)


@dataclass(frozen=True, slots=True)
class SignalPayload:
    attempt_id: int
    kind: str  # an attempt event kind
    signal: str  # as sent by the page
    detail: str


def _int(value: Any, code: str = "malformed", message: str | None = None, maximum: int = MAX_ID) -> int:
    """An id, a position or a seq: a JSON integer (not a boolean) in 1..``maximum``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise PayloadError(code, message)
    return value


def _dict(payload: Any, keys: set[str], optional: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    if not isinstance(payload, dict) or not keys <= set(payload) or not set(payload) <= keys | optional:
        raise PayloadError("malformed")
    return payload


CLIENT_TIME_MESSAGE = "作答时间必须是带时区的 ISO 8601 时间。"


def _time(value: Any) -> dt.datetime:
    """ISO 8601 with a timezone (``2026-10-16T09:05:00+08:00`` or ``...Z``)."""
    if not isinstance(value, str) or len(value) > MAX_TIME_TEXT:
        raise PayloadError("bad_client_time", CLIENT_TIME_MESSAGE)
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:  # a lone surrogate too (UnicodeEncodeError is a ValueError)
        raise PayloadError("bad_client_time", CLIENT_TIME_MESSAGE) from None
    if when.utcoffset() is None:
        raise PayloadError("bad_client_time", "作答时间缺少时区信息。")
    return when


def _text(value: Any, limit: int) -> str:
    """A string of at most ``limit`` characters that UTF-8 can encode (no lone surrogate)."""
    if not isinstance(value, str) or len(value) > limit or not is_text(value):
        raise PayloadError("malformed")
    return value


def validate_connect(auth: Any) -> ConnectAuth:
    data = _dict(auth, {"attempt_id", "device_id"})
    device = data["device_id"]
    if not isinstance(device, str) or not DEVICE_ID.fullmatch(device):
        raise PayloadError("malformed")
    return ConnectAuth(_int(data["attempt_id"]), device)


def validate_attempt_ref(payload: Any) -> int:
    """``state``, ``arrive``, ``start`` and ``submit``: ``{"attempt_id": N}``."""
    return _int(_dict(payload, {"attempt_id"})["attempt_id"])


def validate_answer(payload: Any) -> AnswerPayload:
    """The one place an answer's fields are checked (``answer`` and each ``replay`` entry):
    the object's keys and ids → ``malformed``; ``seq`` an integer in 1..MAX_SEQ → ``bad_seq``;
    ``client_time`` → ``bad_client_time``; ``value`` plain JSON (no lone surrogate, no
    integer beyond ±2**53, no NaN, nested at most 8 deep) → ``bad_value``, at most 8 KB →
    ``too_large``. The item's own shape is checked later, against the paper."""
    data = _dict(payload, {"attempt_id", "position", "seq", "value", "client_time"})
    attempt_id, position = _int(data["attempt_id"]), _int(data["position"])
    seq = _int(data["seq"], "bad_seq", SEQ_MESSAGE, MAX_SEQ)
    client_time = _time(data["client_time"])
    size = value_size(data["value"])
    if size is None:
        raise PayloadError("bad_value", VALUE_MESSAGE)
    if size > DEFAULT_MAX_VALUE_BYTES:
        raise PayloadError("too_large")
    return AnswerPayload(attempt_id=attempt_id, position=position, seq=seq, value=data["value"],
                         client_time=client_time)


def validate_replay(payload: Any) -> tuple[int, list[AnswerPayload]]:
    """``{"attempt_id": N, "entries": [answer payload, ...]}``, returned in seq order.
    One malformed entry rejects the whole replay (nothing is stored)."""
    data = _dict(payload, {"attempt_id", "entries"})
    attempt_id = _int(data["attempt_id"])
    entries = data["entries"]
    if not isinstance(entries, list):
        raise PayloadError("malformed")
    if len(entries) > MAX_REPLAY_ENTRIES:
        raise PayloadError("too_many")
    parsed = [validate_answer(e) for e in entries]
    if any(p.attempt_id != attempt_id for p in parsed):
        raise PayloadError("wrong_attempt")
    return attempt_id, sorted(parsed, key=lambda p: p.seq)


def validate_signal(payload: Any) -> SignalPayload:
    data = _dict(payload, {"attempt_id", "signal"}, {"detail"})
    signal = data["signal"]
    if not isinstance(signal, str) or signal not in SIGNALS:
        raise PayloadError("malformed", "未知的信号类型。")
    detail = _text(data.get("detail", ""), MAX_SIGNAL_DETAIL)
    return SignalPayload(_int(data["attempt_id"]), SIGNALS[signal], signal, detail)
