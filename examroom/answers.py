"""Durable-answer acceptance rules, pure.

This module owns the decision, for one answer change sent by a candidate's browser, of
whether it is stored, absorbed or refused — the server side of "never lose an answer"
(realtime spec): every change carries ``(attempt, seq)``; the browser journals it and
deletes it only on the server's ack; the server's write is idempotent on ``(attempt, seq)``
and an older seq never overwrites a newer one; answers journalled before the deadline and
delivered within a short grace window after a reconnect still count.

It does not write anything: :func:`accept` looks at what is stored for the attempt, the
attempt's state and the clock, and returns a :class:`Decision`. The caller stores the value
when ``decision.changes`` is true, commits, and then acks when ``decision.acked`` is true
(accepted, duplicate and stale changes are all acked so the browser can clear its journal;
refused ones get an error ack). No database, no Flask, no sockets.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from examroom.attempt import AttemptRules, AttemptState, Status, deadline, require_aware

__all__ = [
    "DEFAULT_MAX_VALUE_BYTES",
    "Decision",
    "JournalEntry",
    "Outcome",
    "ValueValidator",
    "accept",
    "value_size",
]

#: Largest JSON encoding (UTF-8 bytes) of one answer value. Long enough for a short essay answer.
DEFAULT_MAX_VALUE_BYTES = 8 * 1024

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


def _refused(code: str, message: str) -> Decision:
    return Decision(Outcome.REFUSED, code, message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def value_size(value: Any) -> int | None:
    """Bytes of the compact UTF-8 JSON encoding of ``value``; None when it is not JSON-able."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return None
    return len(text.encode("utf-8"))


def _validate(
    entry: JournalEntry, item_count: int, validate_value: ValueValidator | None, max_value_bytes: int
) -> Decision | None:
    if not _is_int(entry.seq) or entry.seq < 1:
        return _refused("bad_seq", "序号必须是不小于 1 的整数。")
    if not _is_int(entry.item_position) or not 1 <= entry.item_position <= item_count:
        return _refused("bad_item", f"题号超出范围：本试卷共 {item_count} 题。")
    if not isinstance(entry.client_time, datetime) or entry.client_time.utcoffset() is None:
        return _refused("bad_client_time", "作答时间缺失或缺少时区信息。")
    size = value_size(entry.value)
    if size is None:
        return _refused("bad_value", "答案格式无效。")
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
    state: AttemptState, rules: AttemptRules, entry: JournalEntry, now: datetime, received_at: datetime
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
        # A submission after time-up closes answering at the deadline, not at the submission.
        if _in_window(entry, min(state.submitted_at, due), received_at, rules):
            return None
        return _refused("submitted", "试卷已提交，不能再修改答案。")
    if status is Status.IN_PROGRESS and received_at <= due:
        return None
    # In progress past the deadline (the expiry job has not run yet) or expired.
    if _in_window(entry, due, received_at, rules):
        return None
    return _refused("time_up", "考试时间已到，答案未保存。")


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
) -> Decision:
    """Decide what to do with ``entry`` for the attempt whose stored answers are
    ``existing_by_item`` (item position → (seq, value)).

    Order of the rules:

    1. validation: seq ≥ 1, item position in 1..``item_count``, aware ``client_time``,
       JSON-able value of at most ``max_value_bytes``, shape accepted by ``validate_value``;
    2. sequence: the seq stored for this item → duplicate (acked again); an older seq → stale
       (acked, ignored); a seq already used by another item → refused. Duplicates and stale
       entries change nothing, so they are acked whatever the attempt's state, letting the
       browser clear its journal after a late reconnect;
    3. timing: refused before the start, while paused and once terminated; received by the
       deadline → accepted; afterwards (or after a submission) accepted only if journalled by
       the deadline (or the submission) and received within ``rules.grace_seconds`` of it.

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
    refused = _timing(state, rules, entry, now, received_at)
    if refused is not None:
        return refused
    return Decision(Outcome.ACCEPT, "accepted")
