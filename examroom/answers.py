"""Durable-answer acceptance rules, pure.

This module owns the decision, for one answer change sent by a candidate's browser, of
whether it is stored, absorbed or refused — the server side of "never lose an answer"
(realtime spec): every change carries ``(attempt, seq)``; the browser journals it and
deletes it only on the server's ack; the server's write is idempotent on ``(attempt, seq)``
and an older seq never overwrites a newer one; answers journalled before the deadline and
delivered within a short grace window after a reconnect still count (a time-up only: 交卷
closes the paper at once).

It does not write anything: :func:`accept` looks at what is stored for the attempt, the
attempt's state and the clock, and returns a :class:`Decision`. The caller stores the value
when ``decision.changes`` is true, commits, and then acks when ``decision.acked`` is true
(accepted, duplicate and stale changes are all acked so the browser can clear its journal;
refused ones get an error ack). No database, no Flask, no sockets.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from examroom.lifecycle import AttemptRules, AttemptState, Status, deadline, require_aware

__all__ = [
    "DEFAULT_MAX_VALUE_BYTES",
    "MAX_SEQ",
    "MAX_VALUE_DEPTH",
    "MAX_VALUE_INT",
    "SEQ_MESSAGE",
    "VALUE_MESSAGE",
    "Decision",
    "JournalEntry",
    "Outcome",
    "latest_before",
    "ValueValidator",
    "accept",
    "is_plain_json",
    "is_text",
    "value_size",
]

#: Largest JSON encoding (UTF-8 bytes) of one answer value. Long enough for a short essay answer.
DEFAULT_MAX_VALUE_BYTES = 8 * 1024
#: Largest seq: the database stores it as a 32-bit integer (PostgreSQL refuses 2**31 and up).
MAX_SEQ = 2**31 - 1
#: Deepest nesting of lists and objects in an answer value (answers are a string or a list of
#: strings; a deep value would only exhaust the interpreter's recursion in json and the item types).
MAX_VALUE_DEPTH = 8
#: Integers in an answer value stay within what a browser's JSON can represent exactly.
MAX_VALUE_INT = 2**53

T = TypeVar("T")

#: ``validate(item_position, value)`` returns None when the value's shape fits the item,
#: or a Simplified Chinese message saying why not.
ValueValidator = Callable[[int, Any], "str | None"]


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One answer change as journalled by the browser.

    ``seq`` is ≥ 1, unique per attempt and increasing with every change the browser makes;
    ``item_position`` is the 1-based item number in the candidate's paper; ``client_time`` is
    when the browser journalled the change (timezone-aware).
    """

    attempt_id: int | str
    item_position: int
    seq: int
    value: Any
    client_time: datetime


class Outcome(StrEnum):
    ACCEPT = "accept"  # store it, then ack
    DUPLICATE = "duplicate"  # already stored with this seq: ack again, change nothing
    STALE = "stale"  # a newer seq is stored for this item: ack, change nothing
    REFUSED = "refused"  # error ack, change nothing


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with one journal entry. ``code`` is stable for clients; ``message`` is
    user-facing Simplified Chinese (empty when accepted)."""

    outcome: Outcome
    code: str
    message: str = ""

    @property
    def acked(self) -> bool:
        """True when the browser may delete the entry from its journal."""
        return self.outcome is not Outcome.REFUSED

    @property
    def changes(self) -> bool:
        """True when the caller must store the value (before acking)."""
        return self.outcome is Outcome.ACCEPT


SEQ_MESSAGE = f"序号必须是 1 至 {MAX_SEQ} 之间的整数。"
VALUE_MESSAGE = "答案格式无效。"


def _refused(code: str, message: str) -> Decision:
    return Decision(Outcome.REFUSED, code, message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_text(value: Any) -> bool:
    """A string that UTF-8 can encode: no lone surrogate (``"\\ud800"`` is valid JSON, and
    ``JSON.stringify`` emits it for half an emoji, but no database or file can store it)."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_plain_json(value: Any, max_depth: int = MAX_VALUE_DEPTH) -> bool:
    """``value`` is made of null, booleans, integers within ±2**53, finite floats, encodable
    strings, lists and string-keyed objects, nested at most ``max_depth`` deep. Iterative, so
    no value can exhaust the recursion limit."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if node is None or isinstance(node, bool):
            continue
        if isinstance(node, int):
            if not -MAX_VALUE_INT <= node <= MAX_VALUE_INT:
                return False
        elif isinstance(node, float):
            if not math.isfinite(node):
                return False
        elif isinstance(node, str):
            if not is_text(node):
                return False
        elif isinstance(node, list | dict):
            if depth >= max_depth:
                return False
            if isinstance(node, dict):
                if not all(is_text(key) for key in node):
                    return False
                node = node.values()
            stack.extend((child, depth + 1) for child in node)
        else:
            return False
    return True


def value_size(value: Any) -> int | None:
    """Bytes of the compact UTF-8 JSON encoding of ``value``; None when it is not plain JSON
    (:func:`is_plain_json`)."""
    if not is_plain_json(value):
        return None
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return len(text.encode("utf-8"))
    except (TypeError, ValueError, RecursionError):
        return None


def _validate(
    entry: JournalEntry, item_count: int, validate_value: ValueValidator | None, max_value_bytes: int
) -> Decision | None:
    if not _is_int(entry.seq) or not 1 <= entry.seq <= MAX_SEQ:
        return _refused("bad_seq", SEQ_MESSAGE)
    if not _is_int(entry.item_position) or not 1 <= entry.item_position <= item_count:
        return _refused("bad_item", f"题号超出范围：本试卷共 {item_count} 题。")
    if not isinstance(entry.client_time, datetime) or entry.client_time.utcoffset() is None:
        return _refused("bad_client_time", "作答时间缺失或缺少时区信息。")
    size = value_size(entry.value)
    if size is None:
        return _refused("bad_value", VALUE_MESSAGE)
    if size > max_value_bytes:
        return _refused("too_large", f"答案过长（超过 {max_value_bytes} 字节），未保存。")
    if validate_value is not None:
        problem = validate_value(entry.item_position, entry.value)
        if problem is not None:
            return _refused("bad_value", problem)
    return None


def _sequence(existing_by_item: Mapping[int, tuple[int, Any]], entry: JournalEntry) -> Decision | None:
    """Idempotence on (attempt, seq) and last-writer-by-seq per item."""
    stored = existing_by_item.get(entry.item_position)
    if stored is not None:
        stored_seq, stored_value = stored
        if entry.seq == stored_seq:
            if stored_value == entry.value:
                return Decision(Outcome.DUPLICATE, "duplicate", "该答案已保存。")
            return _refused("seq_conflict", "同一序号的答案内容不一致，已拒绝。")
        if entry.seq < stored_seq:
            return Decision(Outcome.STALE, "stale", "已保存更新的答案，本次修改被忽略。")
    for position, (stored_seq, _value) in existing_by_item.items():
        if stored_seq == entry.seq and position != entry.item_position:
            return _refused("seq_conflict", "该序号已用于其他题目，已拒绝。")
    return None


def _in_window(entry: JournalEntry, closes_at: datetime, received_at: datetime, rules: AttemptRules) -> bool:
    """Journalled while still open and delivered within the grace window after closing."""
    return require_aware(entry.client_time) <= closes_at and received_at <= closes_at + rules.grace


def _timing(
    state: AttemptState, rules: AttemptRules, entry: JournalEntry, now: datetime, received_at: datetime,
    from_bound_device: bool,
) -> Decision | None:
    status = state.status
    if status is Status.TERMINATED:
        return _refused("terminated", "考试已被终止，答案不再保存。")
    if status in (Status.NOT_STARTED, Status.WAITING):
        return _refused("not_started", "考试尚未开始，不能作答。")
    if status is Status.PAUSED:
        return _refused("paused", "考试已暂停，请等待监考员恢复后再作答。")
    due = deadline(state, rules, now)
    assert due is not None
    if status is Status.SUBMITTED:
        assert state.submitted_at is not None
        # 交卷 closes the paper at once. Only a submission made after time was already up (in
        # the seconds before the time-up job ran) is a time-up, with its grace window.
        if state.submitted_at > due and from_bound_device and _in_window(entry, due, received_at, rules):
            return None
        return _refused("submitted", "试卷已提交，不能再修改答案。")
    if status is Status.IN_PROGRESS and received_at <= due:
        return None
    # Time is up: in progress past the deadline (the time-up job has not run yet) or expired.
    # The grace window is for the computer the paper was answered on, not for another one.
    if from_bound_device and _in_window(entry, due, received_at, rules):
        return None
    return _refused("time_up", "考试时间已到，答案未保存。")


def latest_before(times_by_seq: Iterable[tuple[int, T]], seq: int) -> T | None:
    """The latest of the client times of stored changes with a seq lower than ``seq`` (for a
    new seq: the last acknowledged write), or None. ``times_by_seq`` gives (seq, client time);
    the times need only be ordered, so a caller may pass them as the database returned them
    and convert the one that is picked."""
    return max((when for stored_seq, when in times_by_seq if stored_seq < seq), default=None)  # type: ignore[type-var]


def _client_time(entry: JournalEntry, state: AttemptState, written_before: datetime | None) -> Decision | None:
    """A change cannot have been journalled before the candidate started, nor before a change
    with a lower seq that is already stored (the page stamps its changes in seq order)."""
    when = require_aware(entry.client_time)
    if state.started_at is not None and when < state.started_at:
        return _refused("bad_client_time", "作答时间早于开始作答的时间，已拒绝。")
    if written_before is not None and when < require_aware(written_before, "written_before"):
        return _refused("bad_client_time", "作答时间早于已保存的上一次修改，已拒绝。")
    return None


def accept(
    existing_by_item: Mapping[int, tuple[int, Any]],
    entry: JournalEntry,
    *,
    state: AttemptState,
    rules: AttemptRules,
    now: datetime,
    received_at: datetime,
    item_count: int,
    validate_value: ValueValidator | None = None,
    max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
    from_bound_device: bool = True,
    written_before: datetime | None = None,
) -> Decision:
    """Decide what to do with ``entry`` for the attempt whose stored answers are
    ``existing_by_item`` (item position → (seq, value)); ``written_before`` is
    :func:`latest_before` of the stored changes' client times for this entry's seq.

    Order of the rules:

    1. validation: seq in 1..``MAX_SEQ``, item position in 1..``item_count``, aware
       ``client_time``, plain JSON value (:func:`is_plain_json`) of at most
       ``max_value_bytes``, shape accepted by ``validate_value``;
    2. sequence: the seq stored for this item → duplicate (acked again); an older seq → stale
       (acked, ignored); a seq already used by another item → refused. Duplicates and stale
       entries change nothing, so they are acked whatever the attempt's state, letting the
       browser clear its journal after a late reconnect;
    3. timing: refused before the start, while paused and once terminated or submitted (交卷
       closes the paper at once); received by the deadline → accepted; after the deadline
       (in progress or expired) accepted only if journalled by the deadline, received within
       ``rules.grace_seconds`` of it and sent from the computer the attempt is bound to
       (``from_bound_device``). A submission made after the deadline counts as a time-up;
    4. client time: refused when earlier than the attempt's start or than ``written_before``,
       the client time of a stored change with a lower seq (the last acknowledged write, for
       a new seq).

    ``received_at`` is when the server received the message, ``now`` when it is decided
    (used for the deadline of a paused attempt). The caller checks that ``entry.attempt_id``
    is the attempt of ``state`` and that the sender owns it.
    """
    now = require_aware(now)
    received_at = require_aware(received_at, "received_at")
    problem = _validate(entry, item_count, validate_value, max_value_bytes)
    if problem is not None:
        return problem
    absorbed = _sequence(existing_by_item, entry)
    if absorbed is not None:
        return absorbed
    refused = _timing(state, rules, entry, now, received_at, from_bound_device) or _client_time(
        entry, state, written_before)
    if refused is not None:
        return refused
    return Decision(Outcome.ACCEPT, "accepted")
