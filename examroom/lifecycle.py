"""The exam attempt as a pure state machine with an injected clock.

This module owns the life of one candidate's attempt (作答) in an online theory session:
entering the waiting room, the proctor opening the session, starting (late-entry rule),
pauses and resumes, time extensions, submission (earliest-submit rule), expiry at time-up
and termination for a violation. It also owns the derived clock: the deadline and the
remaining time are computed from what is stored (the room's start, allowed minutes, pauses,
extensions), never stored themselves.

One clock for the room: the rules belong to the sitting, not to each candidate's own start.
The room's start (开考时刻, :func:`exam_start`) is the sitting's scheduled start or, when the
proctor opens the room later and ``AttemptRules.from_late_opening`` says so (the default), the
opening. Late entry is refused after the room's start plus ``late_entry_minutes``; submission
is refused before the room's start plus ``earliest_submit_minutes``; the deadline is the
room's start plus the duration, plus the candidate's own extensions and paused time. A
candidate who starts late ends with the room; nobody starts before the room's start.

Nothing here reads the real clock, touches a database or imports Flask: every transition
takes ``now`` explicitly and returns a new :class:`AttemptState` or raises an
:class:`AttemptError` whose message is user-facing Simplified Chinese. Datetimes must be
timezone-aware; they are normalised to UTC.

Lifecycle::

    not_started ──arrive──▶ waiting
    not_started / waiting ──start (room opened, from its start, within late entry)──▶ in_progress
    in_progress ──pause──▶ paused ──resume──▶ in_progress
    in_progress ──submit──▶ submitted        in_progress ──expire (deadline passed)──▶ expired
    any non-final ──terminate──▶ terminated

``open_session`` records when the proctor opened the session; it does not change the status.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Generic, TypeVar

from foundation.errors import DomainError

__all__ = [
    "FINAL_STATUSES",
    "MAX_EXTENSION_MINUTES",
    "Actor",
    "AttemptError",
    "AttemptRules",
    "AttemptState",
    "BeforeStart",
    "EarlySubmitRefused",
    "Extension",
    "IllegalTransition",
    "InvalidArgument",
    "LateEntryRefused",
    "NaiveDatetime",
    "NotYetDue",
    "Pause",
    "RoomResult",
    "Status",
    "TimeUp",
    "apply_to_room",
    "arrive",
    "deadline",
    "earliest_submit_at",
    "exam_start",
    "expire",
    "extend",
    "extend_room",
    "is_overdue",
    "late_entry_until",
    "open_room",
    "open_session",
    "pause",
    "pause_room",
    "paused_seconds",
    "remaining_seconds",
    "require_aware",
    "resume",
    "resume_room",
    "start",
    "submit",
    "terminate",
]

#: Who performed a proctor action: a user id or a name, recorded as given.
Actor = int | str

MAX_EXTENSION_MINUTES = 120
VIOLATION_TIERS = (1, 2, 3, 4)


class Status(StrEnum):
    NOT_STARTED = "not_started"
    WAITING = "waiting"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    SUBMITTED = "submitted"
    EXPIRED = "expired"
    TERMINATED = "terminated"


FINAL_STATUSES = frozenset({Status.SUBMITTED, Status.EXPIRED, Status.TERMINATED})
_BEFORE_START = frozenset({Status.NOT_STARTED, Status.WAITING})

_STATUS_LABELS = {
    Status.NOT_STARTED: "未入场",
    Status.WAITING: "等待开考",
    Status.IN_PROGRESS: "作答中",
    Status.PAUSED: "已暂停",
    Status.SUBMITTED: "已交卷",
    Status.EXPIRED: "已到时收卷",
    Status.TERMINATED: "已终止考试",
}


# --------------------------------------------------------------------------- errors


class AttemptError(DomainError):
    """A transition was refused; the state is unchanged. ``code`` is stable for clients."""

    status = 409
    code = "attempt_error"


class IllegalTransition(AttemptError):
    code = "illegal_transition"


class LateEntryRefused(AttemptError):
    code = "late_entry"


class EarlySubmitRefused(AttemptError):
    code = "early_submit"


class BeforeStart(AttemptError):
    """The room is open but its start (the scheduled start) has not come yet."""

    code = "before_start"


class NotYetDue(AttemptError):
    code = "not_yet_due"


class TimeUp(AttemptError):
    code = "time_up"


class InvalidArgument(AttemptError):
    status = 400
    code = "invalid_argument"


class NaiveDatetime(InvalidArgument):
    code = "naive_datetime"


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class AttemptRules:
    """Room rules for one sitting (defaults from the domain spec, configurable by the centre).

    ``grace_seconds`` is how long after the deadline (or a submission) an answer journalled
    in the browser before it may still be delivered after a reconnect and count.
    ``starts_at`` is the sitting's scheduled start (normalised to UTC); ``from_late_opening``:
    when the room is opened after it, the room's clock starts at the opening instead (so a room
    opened late still gets its full time). Without ``starts_at`` the opening is the start.
    """

    duration_minutes: int
    late_entry_minutes: int = 15
    earliest_submit_minutes: int = 30
    grace_seconds: int = 120
    starts_at: datetime | None = None
    from_late_opening: bool = True

    def __post_init__(self) -> None:
        for name in ("duration_minutes", "late_entry_minutes", "earliest_submit_minutes", "grace_seconds"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidArgument(f"考试规则 {name} 必须是非负整数。", field=name)
        if self.duration_minutes < 1:
            raise InvalidArgument("考试时长至少 1 分钟。", field="duration_minutes")
        if not isinstance(self.from_late_opening, bool):
            raise InvalidArgument("考试规则 from_late_opening 必须是是或否。", field="from_late_opening")
        if self.starts_at is not None:
            object.__setattr__(self, "starts_at", require_aware(self.starts_at, "starts_at"))

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    @property
    def late_entry(self) -> timedelta:
        return timedelta(minutes=self.late_entry_minutes)

    @property
    def earliest_submit(self) -> timedelta:
        return timedelta(minutes=self.earliest_submit_minutes)

    @property
    def grace(self) -> timedelta:
        return timedelta(seconds=self.grace_seconds)


@dataclass(frozen=True, slots=True)
class Pause:
    """One pause; ``end`` is None while it lasts."""

    start: datetime
    end: datetime | None = None
    paused_by: Actor | None = None
    resumed_by: Actor | None = None

    def seconds(self, now: datetime | None = None) -> float:
        """Paused time; an open pause counts up to ``now`` (required for an open pause)."""
        end = self.end
        if end is None:
            if now is None:
                raise ValueError("an open pause needs `now` to be measured")
            end = now
        return max(0.0, (end - self.start).total_seconds())


@dataclass(frozen=True, slots=True)
class Extension:
    """Extra time granted by a proctor, with the reason recorded for the room record."""

    minutes: int
    reason: str
    by: Actor
    at: datetime


@dataclass(frozen=True, slots=True)
class AttemptState:
    """Everything stored about an attempt's lifecycle. Immutable: transitions return a new one."""

    status: Status = Status.NOT_STARTED
    arrived_at: datetime | None = None
    session_opened_at: datetime | None = None
    started_at: datetime | None = None
    pauses: tuple[Pause, ...] = ()
    extensions: tuple[Extension, ...] = ()
    submitted_at: datetime | None = None
    expired_at: datetime | None = None
    terminated_at: datetime | None = None
    terminated_reason: str | None = None
    terminated_tier: int | None = None
    terminated_by: Actor | None = None
    #: The latest instant any transition was applied; transitions refuse to go back in time.
    last_event_at: datetime | None = field(default=None)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def open_pause(self) -> Pause | None:
        if self.pauses and self.pauses[-1].end is None:
            return self.pauses[-1]
        return None

    @property
    def extension_minutes(self) -> int:
        return sum(e.minutes for e in self.extensions)

    @property
    def closed_at(self) -> datetime | None:
        """When answering stopped for good (submission, expiry or termination)."""
        return self.submitted_at or self.expired_at or self.terminated_at


# --------------------------------------------------------------------------- helpers


def require_aware(now: datetime, name: str = "now") -> datetime:
    """Refuse naive datetimes; return the instant in UTC."""
    if not isinstance(now, datetime):
        raise InvalidArgument(f"{name} 必须是时间。", field=name)
    if now.tzinfo is None or now.utcoffset() is None:
        raise NaiveDatetime("时间缺少时区信息，系统只接受带时区的时间（UTC）。", field=name)
    return now.astimezone(UTC)


def _clock(state: AttemptState, now: datetime) -> datetime:
    now = require_aware(now)
    if state.last_event_at is not None and now < state.last_event_at:
        raise InvalidArgument("操作时间早于该场次上一次记录的时间，已拒绝。", field="now")
    return now


def _refuse(state: AttemptState, action: str) -> IllegalTransition:
    return IllegalTransition(f"当前状态为「{_STATUS_LABELS[state.status]}」，不能{action}。")


def _require_actor(by: Actor | None) -> None:
    if by is None or (isinstance(by, str) and not by.strip()):
        raise InvalidArgument("必须记录操作人。", field="by")


def _close_open_pause(state: AttemptState, now: datetime, by: Actor | None) -> tuple[Pause, ...]:
    if state.open_pause is None:
        return state.pauses
    return (*state.pauses[:-1], replace(state.pauses[-1], end=now, resumed_by=by))


# --------------------------------------------------------------------------- derived clock


def paused_seconds(state: AttemptState, now: datetime | None = None) -> float:
    """Total paused time; an open pause counts up to ``now``."""
    if now is not None:
        now = require_aware(now)
    return sum(p.seconds(now) for p in state.pauses)


def exam_start(state: AttemptState, rules: AttemptRules) -> datetime | None:
    """The room's start (开考时刻), from which every candidate's clock counts: the scheduled
    start, or the room's opening when that is later and ``rules.from_late_opening``; without
    a scheduled start, the opening. None while it is not known yet (the room not opened and
    the opening could still move it)."""
    opened = state.session_opened_at
    if rules.starts_at is None:
        return opened
    if not rules.from_late_opening:
        return rules.starts_at
    return None if opened is None else max(rules.starts_at, opened)


def late_entry_until(state: AttemptState, rules: AttemptRules) -> datetime | None:
    """The last instant ``start`` is accepted: the room's start plus the late-entry minutes."""
    begin = exam_start(state, rules)
    return None if begin is None else begin + rules.late_entry


def earliest_submit_at(state: AttemptState, rules: AttemptRules) -> datetime | None:
    """The first instant ``submit`` is accepted: the room's start plus the earliest-submit minutes."""
    begin = exam_start(state, rules)
    return None if begin is None else begin + rules.earliest_submit


def _allowed(state: AttemptState, rules: AttemptRules) -> timedelta:
    return rules.duration + timedelta(minutes=state.extension_minutes)


def deadline(state: AttemptState, rules: AttemptRules, now: datetime | None = None) -> datetime | None:
    """``room's start + duration + own extensions + own paused time``; None before the start.

    The same instant for the whole room, moved only by the candidate's own extensions and
    pauses: a candidate who started late ends with the others. An open pause extends the
    deadline while it lasts, so for a paused attempt ``now`` is required (the deadline then
    moves with the clock and the remaining time stays frozen).
    """
    if state.started_at is None:
        return None
    begin = exam_start(state, rules) or state.started_at  # a state built without an opening
    return begin + _allowed(state, rules) + timedelta(seconds=paused_seconds(state, now))


def remaining_seconds(state: AttemptState, rules: AttemptRules, now: datetime) -> float:
    """Seconds left to answer: before the start, what starting now would leave (the full
    allowance until the room's start, less the time since); frozen while paused; zero once
    the attempt is closed; never negative."""
    now = require_aware(now)
    if state.status in _BEFORE_START:
        begin = exam_start(state, rules)
        late = timedelta(0) if begin is None or now <= begin else now - begin
        return max(0.0, (_allowed(state, rules) - late).total_seconds())
    if state.is_final:
        return 0.0
    due = deadline(state, rules, now)
    assert due is not None
    return max(0.0, (due - now).total_seconds())


def is_overdue(state: AttemptState, rules: AttemptRules, now: datetime) -> bool:
    """True when the attempt is still open but its deadline has passed (the expiry job's test)."""
    now = require_aware(now)
    if state.status not in (Status.IN_PROGRESS, Status.PAUSED):
        return False
    due = deadline(state, rules, now)
    return due is not None and now > due


# --------------------------------------------------------------------------- transitions


def arrive(state: AttemptState, now: datetime) -> AttemptState:
    """The candidate confirmed their identity and waits for the session to open."""
    now = _clock(state, now)
    if state.status is not Status.NOT_STARTED:
        raise _refuse(state, "进入候考")
    return replace(state, status=Status.WAITING, arrived_at=now, last_event_at=now)


def open_session(state: AttemptState, now: datetime) -> AttemptState:
    """The proctor opened the session (开考): starting is allowed from now on."""
    now = _clock(state, now)
    if state.status not in _BEFORE_START:
        raise _refuse(state, "开考")
    if state.session_opened_at is not None:
        raise IllegalTransition("本场考试已开考，不能重复开考。")
    return replace(state, session_opened_at=now, last_event_at=now)


def start(state: AttemptState, rules: AttemptRules, now: datetime) -> AttemptState:
    """The candidate starts answering; refused before the session opens, before the room's
    start (a room opened ahead of the scheduled start waits for it), after the late-entry
    window (its last instant is still allowed) and once the room's time is up."""
    now = _clock(state, now)
    if state.status not in _BEFORE_START:
        raise _refuse(state, "开始作答")
    if state.session_opened_at is None:
        raise IllegalTransition("监考员尚未开考，请等待。")
    begin = exam_start(state, rules)
    assert begin is not None  # the room is open
    if now < begin:
        minutes = math.ceil((begin - now).total_seconds() / 60)
        raise BeforeStart(f"考试尚未开始（距开考还有 {minutes} 分钟），请等待。")
    if now > begin + rules.late_entry:
        raise LateEntryRefused(f"开考 {rules.late_entry_minutes} 分钟后不得入场。")
    if now >= begin + _allowed(state, rules):
        raise TimeUp("考试时间已到，不能开始作答。")
    return replace(state, status=Status.IN_PROGRESS, started_at=now, last_event_at=now)


def pause(state: AttemptState, now: datetime, by: Actor, *, rules: AttemptRules) -> AttemptState:
    """A proctor pauses the attempt; the deadline moves while the pause lasts. ``rules`` is
    needed to refuse a pause once time is up (it would otherwise revive an overdue attempt)."""
    now = _clock(state, now)
    _require_actor(by)
    if state.status is not Status.IN_PROGRESS:
        raise _refuse(state, "暂停")
    if is_overdue(state, rules, now):
        raise TimeUp("考试时间已到，不能暂停。")
    pauses = (*state.pauses, Pause(start=now, paused_by=by))
    return replace(state, status=Status.PAUSED, pauses=pauses, last_event_at=now)


def resume(state: AttemptState, now: datetime, by: Actor) -> AttemptState:
    """A proctor resumes a paused attempt; the paused time is added to the deadline."""
    now = _clock(state, now)
    _require_actor(by)
    if state.status is not Status.PAUSED:
        raise _refuse(state, "恢复作答")
    return replace(state, status=Status.IN_PROGRESS, pauses=_close_open_pause(state, now, by), last_event_at=now)


def _check_extension(minutes: int, reason: str, by: Actor) -> None:
    _require_actor(by)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_EXTENSION_MINUTES:
        raise InvalidArgument(f"延长时间必须是 1 至 {MAX_EXTENSION_MINUTES} 分钟的整数。", field="minutes")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidArgument("延长考试时间必须填写原因。", field="reason")


def extend(
    state: AttemptState, minutes: int, reason: str, by: Actor, now: datetime, *, rules: AttemptRules
) -> AttemptState:
    """A proctor grants extra time (1–120 minutes, reason required). Allowed before the start
    and while answering or paused, not once time is up (``rules`` is needed for that test)."""
    now = _clock(state, now)
    _check_extension(minutes, reason, by)
    if state.is_final:
        raise _refuse(state, "延长时间")
    if is_overdue(state, rules, now):
        raise TimeUp("考试时间已到，不能延长时间。")
    extensions = (*state.extensions, Extension(minutes=minutes, reason=reason.strip(), by=by, at=now))
    return replace(state, extensions=extensions, last_event_at=now)


def submit(state: AttemptState, rules: AttemptRules, now: datetime) -> AttemptState:
    """The candidate submits (交卷). Refused in the first ``earliest_submit_minutes`` after
    the room's start (wall-clock, the exact boundary is allowed) unless time is already up."""
    now = _clock(state, now)
    if state.status is not Status.IN_PROGRESS:
        raise _refuse(state, "交卷")
    assert state.started_at is not None
    earliest = earliest_submit_at(state, rules) or state.started_at + rules.earliest_submit
    if now < earliest and not is_overdue(state, rules, now):
        raise EarlySubmitRefused(f"开考 {rules.earliest_submit_minutes} 分钟内不得交卷。")
    return replace(state, status=Status.SUBMITTED, submitted_at=now, last_event_at=now)


def expire(state: AttemptState, rules: AttemptRules, now: datetime) -> AttemptState:
    """The server closes an attempt whose deadline has passed (到时收卷), browser or not."""
    now = _clock(state, now)
    if state.status is not Status.IN_PROGRESS:
        raise _refuse(state, "到时收卷")
    if not is_overdue(state, rules, now):
        raise NotYetDue("考试时间未到，不能收卷。")
    return replace(state, status=Status.EXPIRED, expired_at=now, last_event_at=now)


def terminate(state: AttemptState, reason: str, tier: int, by: Actor, now: datetime) -> AttemptState:
    """A proctor ends the attempt for a violation of tier 1–4 (违纪等级); an open pause is closed."""
    now = _clock(state, now)
    _require_actor(by)
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidArgument("终止考试必须填写原因。", field="reason")
    if not isinstance(tier, int) or isinstance(tier, bool) or tier not in VIOLATION_TIERS:
        raise InvalidArgument("违纪等级必须是 1 至 4。", field="tier")
    if state.is_final:
        raise _refuse(state, "终止考试")
    return replace(
        state,
        status=Status.TERMINATED,
        pauses=_close_open_pause(state, now, by),
        terminated_at=now,
        terminated_reason=reason.strip(),
        terminated_tier=tier,
        terminated_by=by,
        last_event_at=now,
    )


# --------------------------------------------------------------------------- room-wide

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class RoomResult(Generic[K]):
    """The outcome of one transition applied to every attempt of a room.

    ``states`` holds every attempt (new state where applied, unchanged where refused);
    ``changed`` the keys that changed; ``refused`` the error for each attempt it did not apply to.
    """

    states: dict[K, AttemptState]
    changed: tuple[K, ...]
    refused: dict[K, AttemptError]


def apply_to_room(
    states: Mapping[K, AttemptState], transition: Callable[[AttemptState], AttemptState]
) -> RoomResult[K]:
    """Apply ``transition`` to each attempt independently; a refusal does not stop the others."""
    new: dict[K, AttemptState] = {}
    changed: list[K] = []
    refused: dict[K, AttemptError] = {}
    for key, state in states.items():
        try:
            new[key] = transition(state)
        except AttemptError as exc:
            new[key] = state
            refused[key] = exc
        else:
            changed.append(key)
    return RoomResult(states=new, changed=tuple(changed), refused=refused)


def open_room(states: Mapping[K, AttemptState], now: datetime) -> RoomResult[K]:
    """Open the session for every attempt of the room."""
    now = require_aware(now)
    return apply_to_room(states, lambda s: open_session(s, now))


def pause_room(states: Mapping[K, AttemptState], now: datetime, by: Actor, *, rules: AttemptRules) -> RoomResult[K]:
    """Pause every attempt that is answering; others are reported in ``refused``."""
    now = require_aware(now)
    _require_actor(by)
    return apply_to_room(states, lambda s: pause(s, now, by, rules=rules))


def resume_room(states: Mapping[K, AttemptState], now: datetime, by: Actor) -> RoomResult[K]:
    """Resume every paused attempt of the room."""
    now = require_aware(now)
    _require_actor(by)
    return apply_to_room(states, lambda s: resume(s, now, by))


def extend_room(
    states: Mapping[K, AttemptState], minutes: int, reason: str, by: Actor, now: datetime, *, rules: AttemptRules
) -> RoomResult[K]:
    """Extend every open attempt of the room by the same minutes, with one reason.
    Invalid arguments are raised once instead of being reported per attempt."""
    now = require_aware(now)
    _check_extension(minutes, reason, by)
    return apply_to_room(states, lambda s: extend(s, minutes, reason, by, now, rules=rules))
