"""Attempt services (作答): the persistence around the pure cores :mod:`examroom.lifecycle`
(the lifecycle and the derived clock) and :mod:`examroom.answers` (durable answers).

Every function takes the SQLAlchemy session, the acting user (or none for the server's own
jobs) and ``now`` explicitly; it validates before writing, flushes and never commits (the
caller commits, then acks). Lifecycle changes are written to the attempt's event log
(:class:`AttemptEvent`, for the proctor console and the room record) and to the audit chain.
Answers are not audited one by one: :class:`ResponseLog` is their record.

Authorisation: a candidate touches only their own attempt; a proctor acts only on attempts
of a room they are assigned to (:class:`BatchStaff` with that ``room_id``). Refusals raise
:class:`PermissionDenied`; transitions the rules forbid raise :class:`AttemptError`.

The deadline is never stored: ``state_json`` holds the :class:`AttemptState` (start, pauses,
extensions, closing times) and the remaining time is derived from it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from functools import partial
from typing import Any

from sqlalchemy import String, bindparam, insert, select, type_coerce, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from examroom import lifecycle as core
from examroom.answers import Decision, JournalEntry, Outcome, accept, latest_before
from examroom.batches import session_date
from examroom.closing import run_close_hooks
from examroom.events import ERRORS
from examroom.formcache import FormItem, form_items
from examroom.lifecycle import AttemptRules, AttemptState, Extension, Pause, Status
from examroom.models import (
    Attempt,
    AttemptEvent,
    AttemptEventKind,
    Batch,
    BatchCandidate,
    BatchModule,
    BatchStaff,
    BatchStatus,
    ExamSession,
    ModuleKind,
    Response,
    ResponseLog,
    Room,
    Seat,
    StaffRole,
)
from examroom.seating import shuffled_options, shuffled_order
from foundation import audit
from foundation.accounts import User
from foundation.calendar import BEIJING
from foundation.db import as_utc, rowcount, table_of
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.idcard import mask_id_number
from foundation.settings import get_rule
from itembank.itemtypes import get_type
from itembank.models import PaperForm

__all__ = [
    "apply_transition",
    "arrive_attempt",
    "attempt_for_candidate",
    "attempt_rules",
    "candidate_view",
    "expire_attempts",
    "expire_overdue",
    "insert_event",
    "is_room_proctor",
    "load_state",
    "log_event",
    "open_room",
    "overdue_ids",
    "own_row",
    "record_response",
    "record_signal",
    "remaining",
    "AttemptScore",
    "score_attempt",
    "score_closed_attempt",
    "start_attempt",
    "state_from_dict",
    "state_to_dict",
    "store_columns",
    "submit_attempt",
]

#: Event kinds a client or the socket layer may log through :func:`log_event`; lifecycle
#: kinds (start, pause, ...) are written only by the transitions themselves.
SIGNAL_KINDS = frozenset(
    {
        AttemptEventKind.CONNECT,
        AttemptEventKind.DISCONNECT,
        AttemptEventKind.FOCUS_LOSS,
        AttemptEventKind.PASTE_BLOCKED,
        AttemptEventKind.WARN,
        AttemptEventKind.INCIDENT,
        AttemptEventKind.MOVE_REQUESTED,
        AttemptEventKind.MOVE_APPROVED,
        AttemptEventKind.TAKEOVER_APPROVED,
    }
)

# --------------------------------------------------------------------------- state <-> JSON


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, Status):
        return value.value
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    return value


def state_to_dict(state: AttemptState) -> dict[str, Any]:
    """The stored JSON shape of an :class:`AttemptState` (datetimes as ISO 8601 UTC)."""
    return _plain(state)  # type: ignore[no-any-return]


def _when(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value).astimezone(dt.UTC)


_TIMES = ("arrived_at", "session_opened_at", "started_at", "submitted_at", "expired_at", "terminated_at",
          "last_event_at")


def state_from_dict(data: dict[str, Any]) -> AttemptState:
    """The inverse of :func:`state_to_dict`; an empty dict is a fresh attempt."""
    if not data:
        return AttemptState()
    args: dict[str, Any] = {k: v for k, v in data.items() if k not in (*_TIMES, "status", "pauses", "extensions")}
    args.update({k: _when(data.get(k)) for k in _TIMES})
    args["status"] = Status(data["status"])
    args["pauses"] = tuple(
        Pause(start=_when(p["start"]), end=_when(p.get("end")), paused_by=p.get("paused_by"),  # type: ignore[arg-type]
              resumed_by=p.get("resumed_by"))
        for p in data.get("pauses", ())
    )
    args["extensions"] = tuple(
        Extension(minutes=e["minutes"], reason=e["reason"], by=e["by"], at=_when(e["at"]))  # type: ignore[arg-type]
        for e in data.get("extensions", ())
    )
    return AttemptState(**args)


def load_state(attempt: Attempt) -> AttemptState:
    return state_from_dict(json.loads(attempt.state_json or "{}"))


# --------------------------------------------------------------------------- lookups


#: Seconds a server process may use the ``room_rules`` it read before (every event needs them;
#: a change by the centre reaches the other processes within this).
ROOM_RULES_MAX_AGE = 5.0


def attempt_rules(session: Session, exam_session: ExamSession) -> AttemptRules:
    """The sitting's clock: its scheduled start and duration with the configured room rules
    (late entry, earliest submit, whether a late opening moves the room's start)."""
    return _rules(session, exam_session.duration_minutes, exam_session.starts_at)


def _rules(session: Session, duration_minutes: int, starts_at: dt.datetime | None) -> AttemptRules:
    room_rules = get_rule(session, "room_rules", max_age=ROOM_RULES_MAX_AGE)
    return AttemptRules(
        duration_minutes=duration_minutes,
        late_entry_minutes=int(room_rules.get("late_entry_minutes", 15)),
        earliest_submit_minutes=int(room_rules.get("earliest_submit_minutes", 30)),
        grace_seconds=int(room_rules.get("grace_seconds", 120)),
        starts_at=None if starts_at is None else as_utc(starts_at),
        from_late_opening=bool(room_rules.get("from_late_opening", True)),
    )


def remaining(session: Session, attempt: Attempt, now: dt.datetime) -> float:
    """Seconds left to answer, derived from the stored state and the clock."""
    return core.remaining_seconds(load_state(attempt), attempt_rules(session, attempt.exam_session), now)


# The hot statements are built once (building a select with its options cost as much as running it).
# The sitting comes in the same round trip: every event needs its rules.
_ATTEMPT = select(Attempt).where(Attempt.id == bindparam("attempt_id")).options(
    joinedload(Attempt.exam_session, innerjoin=True))
_ATTEMPT_LOCKED = _ATTEMPT.with_for_update(of=Attempt)
#: What an answer needs of its attempt, as one narrow row (no ORM objects on the hottest path).
_ANSWER_ROW = (
    select(Attempt.id, Attempt.candidate_id, Attempt.paper_form_id, Attempt.status, Attempt.state_json,
           Attempt.device_id, ExamSession.duration_minutes, ExamSession.starts_at)
    .join(ExamSession, ExamSession.id == Attempt.exam_session_id)
    .where(Attempt.id == bindparam("attempt_id"))
    .with_for_update(of=Attempt)
)
_FINAL = frozenset(s.value for s in core.FINAL_STATUSES)
#: The client time as the database hands it over (SQLite: the stored text, in a fixed format
#: that sorts as the times do; PostgreSQL: a datetime, which psycopg parses in C). Parsing every
#: stored time through SQLAlchemy cost SQLite more than the rest of the answer; one is needed.
_STORED = select(Response.position, Response.seq, Response.value_json,
                 type_coerce(Response.client_time, String)).where(Response.attempt_id == bindparam("attempt_id"))
_LOGGED = select(ResponseLog.position, ResponseLog.value_json).where(
    ResponseLog.attempt_id == bindparam("attempt_id"), ResponseLog.seq == bindparam("seq"))
_INSERT_RESPONSE = insert(table_of(Response))
_UPDATE_RESPONSE = update(table_of(Response)).where(
    table_of(Response).c.attempt_id == bindparam("a_id"), table_of(Response).c.position == bindparam("pos"))
_INSERT_LOG = insert(table_of(ResponseLog))
_UPDATE_ATTEMPT = update(table_of(Attempt)).where(table_of(Attempt).c.id == bindparam("a_id"))
_INSERT_EVENT = insert(table_of(AttemptEvent))
_SITTING_VIEW = (
    select(Batch.name, BatchModule.kind, Batch.place, Room.name, Room.cols, Seat.row, Seat.col,
           BatchCandidate.ticket_no)
    .select_from(BatchModule).join(Batch, Batch.id == BatchModule.batch_id)
    .join(Room, Room.id == bindparam("room_id"))
    .outerjoin(Seat, Seat.id == bindparam("seat_id"))
    .outerjoin(BatchCandidate, (BatchCandidate.batch_id == Batch.id)
               & (BatchCandidate.candidate_id == bindparam("candidate_id")))
    .where(BatchModule.id == bindparam("module_id"))
)


def _valid_id(attempt_id: Any) -> int:
    if isinstance(attempt_id, bool) or not isinstance(attempt_id, int):
        raise NotFound("作答记录不存在。")
    return attempt_id


def _get(session: Session, attempt_id: int, *, lock: bool = False) -> Attempt:
    _valid_id(attempt_id)
    if not lock:  # already loaded in this transaction (the event's work usually has): no query
        loaded = session.identity_map.get(identity_key(Attempt, attempt_id))
        if loaded is not None and "exam_session" in loaded.__dict__:
            assert isinstance(loaded, Attempt)
            return loaded
    attempt = session.scalar(_ATTEMPT_LOCKED if lock else _ATTEMPT, {"attempt_id": attempt_id})
    if attempt is None:
        raise NotFound("作答记录不存在。")
    return attempt


def _own(session: Session, candidate: User, attempt_id: int, *, lock: bool = False) -> Attempt:
    attempt = _get(session, attempt_id, lock=lock)
    if candidate is None or attempt.candidate_id != candidate.id:
        raise PermissionDenied("只能查看和作答本人的试卷。")
    return attempt


def own_row(session: Session, candidate: User, stmt: Any, attempt_id: int) -> Any:
    """:func:`_own` for a narrow row: ``stmt`` selects ``candidate_id`` among its columns."""
    row = session.execute(stmt, {"attempt_id": _valid_id(attempt_id)}).one_or_none()
    if row is None:
        raise NotFound("作答记录不存在。")
    if candidate is None or row.candidate_id != candidate.id:
        raise PermissionDenied("只能查看和作答本人的试卷。")
    return row


def is_room_proctor(session: Session, user: User | None, room_id: int) -> bool:
    """Is ``user`` a proctor assigned to the room (the one check for every proctor action)?"""
    if user is None or user.role != StaffRole.PROCTOR.value:
        return False
    return session.scalar(select(BatchStaff.id).where(
        BatchStaff.user_id == user.id, BatchStaff.role == StaffRole.PROCTOR.value, BatchStaff.room_id == room_id,
    ).limit(1)) is not None


# --------------------------------------------------------------------------- writing


def _write_event(
    session: Session, attempt: Attempt, kind: AttemptEventKind, actor: User | None, data: dict[str, Any],
    now: dt.datetime,
) -> AttemptEvent:
    event = AttemptEvent(
        attempt_id=attempt.id,  # added directly: appending to attempt.events would load them all
        kind=kind.value,
        actor_id=actor.id if actor is not None else None,
        actor_name=actor.name if actor is not None else "系统",
        data_json=json.dumps(data, ensure_ascii=False, sort_keys=True),
        at=now,
    )
    session.add(event)
    return event


def store_columns(session: Session, attempt_id: int, **values: Any) -> None:
    """Write columns of the attempt row with a plain UPDATE; an ORM object of the attempt in
    the session is told the values are stored, so it shows them and does not write them again."""
    if rowcount(session.execute(_UPDATE_ATTEMPT, {"a_id": attempt_id, **values})) != 1:
        raise NotFound("作答记录不存在。")
    loaded = session.identity_map.get(identity_key(Attempt, attempt_id))
    if loaded is not None:
        for key, value in values.items():
            set_committed_value(loaded, key, value)


def insert_event(session: Session, attempt_id: int, kind: AttemptEventKind, actor: User | None,
                  data: dict[str, Any], now: dt.datetime) -> None:
    """Log an event with a plain INSERT (the hot paths: transitions, connections)."""
    session.execute(_INSERT_EVENT, {"attempt_id": attempt_id, "kind": kind.value,
                                    "actor_id": actor.id if actor is not None else None,
                                    "actor_name": actor.name if actor is not None else "系统",
                                    "data_json": json.dumps(data, ensure_ascii=False, sort_keys=True), "at": now})


def apply_transition(
    session: Session,
    attempt: Attempt,
    transition: Callable[[AttemptState], AttemptState],
    kind: AttemptEventKind,
    actor: User | None,
    now: dt.datetime,
    data: dict[str, Any] | None = None,
    *,
    audited: bool = True,
) -> AttemptState:
    """Run a pure transition (it raises before anything is written), then store the new state,
    log the event and audit the change. Also used by examroom.proctoring to store states that
    the pure room-wide helpers computed.

    The candidate's own transitions (arrive, start, submit) are recorded in the attempt's
    event log only, as their answers are in ResponseLog; the hash-chained audit log takes the
    proctors' and the system's. Its single head row serialises every entry, and a room-wide
    start puts thousands of candidate transitions through it in the same second.
    ``audited=False``: a room-wide action, audited once for the room by its caller."""
    now = core.require_aware(now)
    before = load_state(attempt)
    after = transition(before)
    if attempt.id is None or attempt in session.new:
        session.flush()
    # Plain statements (a unit-of-work flush of the two rows cost more than the rest of a
    # candidate's start).
    store_columns(session, attempt.id, state_json=json.dumps(state_to_dict(after), ensure_ascii=False, sort_keys=True),
                   status=after.status.value, started_at=after.started_at, submitted_at=after.closed_at)
    data = dict(data or {})
    insert_event(session, attempt.id, kind, actor, data, now)
    if audited and (actor is None or actor.id != attempt.candidate_id):
        audit.record(session, actor, f"attempt.{kind.value}", "attempt", attempt.id,
                     before={"status": before.status.value}, after={"status": after.status.value, **data}, at=now)
    if after.is_final and not before.is_final:
        run_close_hooks(session, attempt, now)  # scoring into the theory result (grading's hook)
    return after


# --------------------------------------------------------------------------- candidate


def is_filed_sitting(sitting: ExamSession) -> bool:
    """Whether the sitting's plan was acknowledged by the centre: only such sittings are held
    (a draft, filed-but-undecided or returned plan's rooms are never opened or entered)."""
    return sitting.module.batch.status == BatchStatus.ACKNOWLEDGED.value


def _require_filed(sitting: ExamSession) -> None:
    if not is_filed_sitting(sitting):
        raise ValidationError("该认定计划尚未经鉴定中心确认备案，本场考试不能进行。")


def open_window(session: Session, sitting: ExamSession) -> tuple[dt.datetime, dt.datetime]:
    """When the room of ``sitting`` may be opened (开考): from ``before_minutes`` before the
    scheduled start to ``after_minutes`` after it (rule ``room_open_window``), never outside the
    sitting's own day in Beijing."""
    rule = get_rule(session, "room_open_window")
    start = as_utc(sitting.starts_at)
    day = session_date(start)
    day_start = dt.datetime.combine(day, dt.time(0, 0), tzinfo=BEIJING)
    first = max(start - dt.timedelta(minutes=int(rule["before_minutes"])), day_start)
    last = min(start + dt.timedelta(minutes=int(rule["after_minutes"])),
               day_start + dt.timedelta(days=1) - dt.timedelta(seconds=1))
    return first, last


def _require_open_window(session: Session, sitting: ExamSession, now: dt.datetime) -> None:
    first, last = open_window(session, sitting)
    if not first <= now <= last:
        def local(t: dt.datetime) -> str:
            return t.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")

        raise ValidationError(f"本场考试计划于 {local(as_utc(sitting.starts_at))} 开考，"
                              f"只能在 {local(first)} 至 {local(last)} 之间开考。")


def attempt_for_candidate(session: Session, candidate: User, exam_session_id: int) -> Attempt:
    """The candidate's attempt at the sitting, created from their seat on first call (form,
    order seed and room come from the seat). Refused for a candidate without a seat there and
    for a sitting whose plan the centre has not acknowledged."""
    sitting = session.get(ExamSession, exam_session_id)
    if sitting is None:
        raise NotFound("考试场次不存在。")
    _require_filed(sitting)
    seat = session.scalar(
        select(Seat).join(Room, Seat.room_id == Room.id).where(
            Room.exam_session_id == sitting.id, Seat.candidate_id == candidate.id
        )
    )
    if seat is None:
        raise PermissionDenied("您没有本场考试的座位。")
    existing = session.scalar(
        select(Attempt).where(Attempt.exam_session_id == sitting.id, Attempt.candidate_id == candidate.id)
    )
    if existing is not None:
        return existing
    if sitting.paper_id is None or seat.form_label is None or seat.order_seed is None:
        raise ValidationError("本场考试尚未编排试卷和座位。")
    form = session.scalar(
        select(PaperForm).where(PaperForm.paper_id == sitting.paper_id, PaperForm.label == seat.form_label)
    )
    if form is None or not form.items:
        raise ValidationError("座位对应的卷别不存在或没有试题。")
    attempt = Attempt(
        exam_session_id=sitting.id, seat_id=seat.id, room_id=seat.room_id, candidate_id=candidate.id,
        paper_form_id=form.id, order_seed=seat.order_seed, status=Status.NOT_STARTED.value,
        state_json=json.dumps(state_to_dict(AttemptState()), sort_keys=True),
    )
    session.add(attempt)
    session.flush()
    audit.record(session, None, "attempt.create", "attempt", attempt.id,
                 after={"candidate_id": candidate.id, "exam_session_id": sitting.id, "form": form.label})
    return attempt


def arrive_attempt(session: Session, candidate: User, attempt_id: int, now: dt.datetime) -> Attempt:
    """The candidate confirmed their identity and waits for the proctor to open the session."""
    attempt = _own(session, candidate, attempt_id, lock=True)
    apply_transition(session, attempt, lambda s: core.arrive(s, now), AttemptEventKind.ARRIVE, candidate, now)
    return attempt


def start_attempt(session: Session, candidate: User, attempt_id: int, now: dt.datetime) -> Attempt:
    """The candidate starts answering (after the proctor opened the room, within late entry)."""
    attempt = _own(session, candidate, attempt_id, lock=True)
    rules = attempt_rules(session, attempt.exam_session)
    apply_transition(session, attempt, lambda s: core.start(s, rules, now), AttemptEventKind.START, candidate, now)
    return attempt


def _validator(items: tuple[FormItem, ...]) -> Callable[[int, Any], str | None]:
    def validate(position: int, value: Any) -> str | None:
        item = items[position - 1]
        try:
            get_type(item.item_type).clean_response(item.spec, value)
        except ValidationError as exc:
            return exc.message
        return None

    return validate


def record_response(
    session: Session, candidate: User, attempt_id: int, entry: JournalEntry, now: dt.datetime,
    received_at: dt.datetime, *, device_id: str | None = None,
) -> Decision:
    """Store one journalled answer change if :func:`examroom.answers.accept` says so.

    Idempotent on (attempt, seq): a duplicate or stale entry changes nothing and is acked; a
    seq once used for a different change is refused. The caller commits, then acks when
    ``decision.acked``. The attempt row is locked so that changes of one attempt serialise.
    With ``device_id`` (the sending computer), an answer to an attempt bound to another
    computer is refused ``superseded`` (the move to another computer: examroom.connections);
    once the paper is closed, another computer may look at it but never write (not even in
    the time-up grace window).

    The hottest path of the exam room: it reads narrow rows and writes with plain statements,
    no ORM objects (measured: docs/benchmarks.md). ORM objects of the attempt's answers that
    this session had loaded are expired, so they show the change."""
    row = own_row(session, candidate, _ANSWER_ROW, attempt_id)
    bound = device_id is None or row.device_id in (None, device_id)
    if not bound and row.status not in _FINAL:
        return Decision(Outcome.REFUSED, "superseded", ERRORS["superseded"])
    if str(entry.attempt_id) != str(row.id):
        return Decision(Outcome.REFUSED, "bad_attempt", "答案所属的试卷与当前试卷不一致。")
    items = form_items(session, row.paper_form_id)
    stored = _stored_answers(session, row.id)
    existing = {pos: (seq, json.loads(value_json)) for pos, (seq, value_json, _) in stored.items()}
    written_before = latest_before(((seq, raw) for seq, _, raw in stored.values()), entry.seq) if _is_seq(
        entry.seq) else None
    decision = accept(
        existing, entry, state=state_from_dict(json.loads(row.state_json or "{}")),
        rules=_rules(session, row.duration_minutes, row.starts_at), now=now, received_at=received_at,
        item_count=len(items),
        validate_value=_validator(items), from_bound_device=bound, written_before=_client_time(written_before),
    )
    if not decision.changes:
        return decision
    # Every logged change also set its item's Response.seq, and those only grow, so the highest
    # logged seq is the highest stored one: a newer seq (the usual case) cannot have been used.
    newest = max((seq for seq, _, _ in stored.values()), default=0)
    logged = None if entry.seq > newest else session.execute(
        _LOGGED, {"attempt_id": row.id, "seq": entry.seq}).one_or_none()
    if logged is not None:
        if logged.position == entry.item_position and json.loads(logged.value_json) == entry.value:
            return Decision(Outcome.DUPLICATE, "duplicate", "该答案已保存。")
        return Decision(Outcome.REFUSED, "seq_conflict", "该序号已用于其他答案，已拒绝。")
    change = {
        "seq": entry.seq,
        "value_json": json.dumps(entry.value, ensure_ascii=False, separators=(",", ":")),
        "client_time": core.require_aware(entry.client_time, "client_time"),
        "received_at": core.require_aware(received_at, "received_at"),
    }
    if entry.item_position in stored:
        session.execute(_UPDATE_RESPONSE, {"a_id": row.id, "pos": entry.item_position, **change})
    else:
        session.execute(_INSERT_RESPONSE, {"attempt_id": row.id, "position": entry.item_position,
                                           "paper_item_id": items[entry.item_position - 1].paper_item_id, **change})
    session.execute(_INSERT_LOG, {"attempt_id": row.id, "position": entry.item_position, **change})
    _expire_loaded_responses(session, row.id)
    return decision


def _expire_loaded_responses(session: Session, attempt_id: int) -> None:
    """Written with plain statements: the session's ORM view of the answers may be stale."""
    attempt = session.identity_map.get(identity_key(Attempt, attempt_id))
    if attempt is not None and "responses" in attempt.__dict__:
        session.expire(attempt, ["responses"])
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Response) and obj.attempt_id == attempt_id:
            session.expire(obj)


def _is_seq(seq: Any) -> bool:
    return isinstance(seq, int) and not isinstance(seq, bool)


def _stored_answers(session: Session, attempt_id: int) -> dict[int, tuple[int, str, Any]]:
    """position -> (seq, value JSON, raw client time: see :func:`_client_time`) of the
    attempt's stored answers, from one narrow read."""
    return {pos: (seq, value_json, client_time)
            for pos, seq, value_json, client_time in session.execute(_STORED, {"attempt_id": attempt_id})}


def _client_time(raw: Any) -> dt.datetime | None:
    """A client time as :data:`_STORED` returns it, as an aware UTC datetime."""
    if raw is None:
        return None
    return as_utc(raw if isinstance(raw, dt.datetime) else dt.datetime.fromisoformat(raw))


def _render_item(number: int, position: int, item: FormItem, seed: int) -> dict[str, Any]:
    """One item for the candidate: the pinned version's stem and the type's public view only;
    options reordered by the candidate's seed (labels kept: they are what a response names)."""
    public = item.public
    options = public.get("options")
    if isinstance(options, list) and options:
        public = {**public, "options": [options[k] for k in shuffled_options(len(options), seed, position)]}
    return {"number": number, "position": position, "points": item.points, "stem_html": item.stem_html, **public}


def _iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC; a naive value (SQLite hands those back) is the UTC it was stored as."""
    return None if value is None else as_utc(value).astimezone(dt.UTC).isoformat()


def _sitting_view(session: Session, attempt: Attempt, state: AttemptState, rules: AttemptRules,
                  candidate: User) -> dict[str, Any]:
    """What the exam page shows around the items: the sitting, the seat, the candidate's own
    identity (ID number masked) and the room rules with their instants (ISO 8601, UTC): the
    room's start and common end, the late-entry limit and the earliest submission, the same
    for every candidate of the room (:func:`examroom.lifecycle.exam_start`).
    The sitting's names come in one narrow query (every state, start and submit sends them)."""
    sitting = attempt.exam_session
    batch_name, kind, batch_place, room_name, room_cols, seat_row, seat_col, ticket_no = session.execute(
        _SITTING_VIEW, {"room_id": attempt.room_id, "seat_id": attempt.seat_id, "module_id": sitting.module_id,
                        "candidate_id": attempt.candidate_id}
    ).one()
    opened = state.session_opened_at
    begins = core.exam_start(state, rules)
    return {
        "title": f"{batch_name} · {ModuleKind(kind).label}",
        "starts_at": _iso(sitting.starts_at),
        "place": sitting.place or batch_place or "",
        "room": room_name,
        "seat": None if seat_row is None else {
            "row": seat_row, "col": seat_col, "number": (seat_row - 1) * room_cols + seat_col,
        },
        "candidate": {
            "name": candidate.name,
            "id_number": mask_id_number(candidate.id_number or ""),
            "ticket_no": ticket_no or "",  # the number of this batch's registration
        },
        "duration_minutes": rules.duration_minutes,
        "allowed_minutes": rules.duration_minutes + state.extension_minutes,
        "late_entry_minutes": rules.late_entry_minutes,
        "earliest_submit_minutes": rules.earliest_submit_minutes,
        "from_late_opening": rules.from_late_opening,
        "opened": opened is not None,
        "opened_at": _iso(opened),
        "begins_at": _iso(begins),
        "ends_at": _iso(None if begins is None else begins + rules.duration),
        "late_entry_until": _iso(core.late_entry_until(state, rules)),
        "started_at": _iso(state.started_at),
        "earliest_submit_at": _iso(core.earliest_submit_at(state, rules)),
    }


def candidate_view(session: Session, candidate: User, attempt_id: int, now: dt.datetime) -> dict[str, Any]:
    """The authoritative state sent on every (re)connect: status, remaining seconds, the items
    in the candidate's shuffled order (only while answering or paused), the stored answers
    with their seq, and the sitting around them (title, place, room, seat, the candidate's
    masked identity, allowed minutes, whether the room is open, the room's start and end, the
    late-entry deadline and the earliest-submit time). Never contains keys, analyses, scores
    or other candidates' data."""
    attempt = _own(session, candidate, attempt_id)
    state = load_state(attempt)
    rules = attempt_rules(session, attempt.exam_session)
    items: list[dict[str, Any]] = []
    content = form_items(session, attempt.paper_form_id)
    if state.status in (Status.IN_PROGRESS, Status.PAUSED):
        order = shuffled_order(len(content), attempt.order_seed)
        items = [_render_item(k + 1, idx + 1, content[idx], attempt.order_seed) for k, idx in enumerate(order)]
    stored = _stored_answers(session, attempt.id)
    answers = {str(pos): {"seq": seq, "value": json.loads(value)} for pos, (seq, value, _) in stored.items()}
    newest = max(stored.values(), default=None, key=lambda s: s[0])
    return {
        "attempt_id": attempt.id,
        "status": state.status.value,
        "remaining_seconds": int(core.remaining_seconds(state, rules, now)),
        "server_time": core.require_aware(now).isoformat(),
        "item_count": len(content),
        "items": items,
        "answers": answers,
        "last_seq": 0 if newest is None else newest[0],
        "last_client_time": None if newest is None else _client_time(newest[2]).isoformat(),  # type: ignore[union-attr]
        **_sitting_view(session, attempt, state, rules, candidate),
    }


def submit_attempt(session: Session, candidate: User, attempt_id: int, now: dt.datetime) -> Attempt:
    """The candidate submits (交卷), subject to the earliest-submit rule."""
    attempt = _own(session, candidate, attempt_id, lock=True)
    rules = attempt_rules(session, attempt.exam_session)
    apply_transition(session, attempt, lambda s: core.submit(s, rules, now), AttemptEventKind.SUBMIT, candidate, now)
    return attempt


_OWNER = select(Attempt.id, Attempt.candidate_id).where(Attempt.id == bindparam("attempt_id"))


def record_signal(
    session: Session, candidate: User, attempt_id: int, kind: str, data: dict[str, Any] | None, now: dt.datetime
) -> None:
    """:func:`log_event` for the candidate's own page (focus loss, blocked paste, disconnect):
    one narrow read and one plain INSERT, no ORM objects (thousands of pages send these)."""
    event_kind = _signal_kind(kind)
    row = own_row(session, candidate, _OWNER, attempt_id)
    insert_event(session, row.id, event_kind, candidate, dict(data or {}), core.require_aware(now))


def _signal_kind(kind: str) -> AttemptEventKind:
    try:
        event_kind = AttemptEventKind(kind)
    except ValueError:
        raise ValidationError("未知的事件类型。", field="kind") from None
    if event_kind not in SIGNAL_KINDS:
        raise ValidationError("该事件只能由考试状态变更产生。", field="kind")
    return event_kind


def log_event(
    session: Session, actor: User, attempt_id: int, kind: str, data: dict[str, Any] | None, now: dt.datetime
) -> AttemptEvent:
    """Record a signal (connect, focus loss, warning, incident, move approval, ...) for the
    console and the room record. The candidate may log on their own attempt; a proctor on the
    attempts of their rooms. Lifecycle kinds are refused: only transitions write those."""
    event_kind = _signal_kind(kind)
    attempt = _get(session, attempt_id)
    if attempt.candidate_id != actor.id and not is_room_proctor(session, actor, attempt.room_id):
        raise PermissionDenied("无权为该试卷记录事件。")
    event = _write_event(session, attempt, event_kind, actor, dict(data or {}), core.require_aware(now))
    session.flush()
    return event


# --------------------------------------------------------------------------- proctor


def open_room(session: Session, proctor: User, room_id: int, now: dt.datetime) -> list[int]:
    """The proctor opens the session in their room (开考): every seated candidate's attempt is
    created if needed and opened; returns the ids of the attempts opened. One audit entry for
    the room names them (each attempt's event log has its own open event); the seats, their
    candidates and their attempts are read in three queries (100 rooms open in the same minute)."""
    room = session.get(Room, room_id)
    if room is None:
        raise NotFound("考场不存在。")
    if not is_room_proctor(session, proctor, room.id):
        raise PermissionDenied("您不是该考场的监考员。")
    now = core.require_aware(now)
    _require_filed(room.exam_session)
    _require_open_window(session, room.exam_session, now)
    seats = session.scalars(
        select(Seat).where(Seat.room_id == room.id, Seat.candidate_id.is_not(None))
        .options(joinedload(Seat.candidate)).order_by(Seat.id)
    ).all()
    existing = {a.candidate_id: a for a in session.scalars(
        select(Attempt).where(Attempt.exam_session_id == room.exam_session_id,
                              Attempt.candidate_id.in_([seat.candidate_id for seat in seats]))
        .options(joinedload(Attempt.exam_session, innerjoin=True)).with_for_update(of=Attempt)
    )}
    opened: list[int] = []
    for seat in seats:
        assert seat.candidate_id is not None and seat.candidate is not None  # seated ones only, above
        attempt = existing.get(seat.candidate_id) or attempt_for_candidate(session, seat.candidate,
                                                                           room.exam_session_id)
        state = load_state(attempt)
        if state.status in (Status.NOT_STARTED, Status.WAITING) and state.session_opened_at is None:
            apply_transition(session, attempt, lambda s: core.open_session(s, now), AttemptEventKind.OPEN, proctor,
                             now, audited=False)
            opened.append(attempt.id)
    if opened:
        audit.record(session, proctor, "room.open", "room", room.id, after={"opened": opened}, at=now)
    return opened


# --------------------------------------------------------------------------- server jobs


class _RulesBySitting(dict[int, AttemptRules]):
    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def of(self, sitting: ExamSession) -> AttemptRules:
        rules = self.get(sitting.id)
        if rules is None:
            rules = self[sitting.id] = attempt_rules(self.session, sitting)
        return rules


def overdue_ids(session: Session, now: dt.datetime) -> list[int]:
    """The answering attempts whose deadline has passed, from one narrow unlocked scan (the
    job runs every few seconds over every answering attempt: at 3,000 candidates a locked
    load per attempt cost a quarter of a core). The room's start is never before the
    scheduled start and extensions and pauses only move a deadline later, so while the
    scheduled start plus the duration has not passed the sitting's attempts are skipped
    without parsing their state. Nothing is locked: :func:`expire_attempts` re-checks under
    the lock."""
    now = core.require_aware(now)
    rules = _RulesBySitting(session)
    rows = session.execute(
        select(Attempt.id, Attempt.state_json, ExamSession)
        .join(ExamSession, ExamSession.id == Attempt.exam_session_id)
        .where(Attempt.status == Status.IN_PROGRESS.value).order_by(Attempt.id)
    ).all()
    return [aid for aid, state_json, sitting in rows
            if _may_be_due(rules.of(sitting), now)
            and core.is_overdue(state_from_dict(json.loads(state_json or "{}")), rules.of(sitting), now)]


def _may_be_due(rules: AttemptRules, now: dt.datetime) -> bool:
    """False when no attempt of the sitting can be overdue yet (the room's start is never
    before the scheduled start; without one, every attempt is checked)."""
    return rules.starts_at is None or rules.starts_at + rules.duration < now


def _expire(state: AttemptState, *, rules: AttemptRules, now: dt.datetime) -> AttemptState:
    return core.expire(state, rules, now)


def expire_attempts(session: Session, attempt_ids: list[int], now: dt.datetime) -> list[int]:
    """Close those of ``attempt_ids`` that are still answering and overdue, each re-read under
    its row lock (a candidate's submit may have won the race). Returns the ids closed."""
    now = core.require_aware(now)
    rules = _RulesBySitting(session)
    closed: list[int] = []
    for attempt_id in attempt_ids:
        attempt = _get(session, attempt_id, lock=True)
        if attempt.status != Status.IN_PROGRESS.value:
            continue
        sitting_rules = rules.of(attempt.exam_session)
        if core.is_overdue(load_state(attempt), sitting_rules, now):
            apply_transition(session, attempt, partial(_expire, rules=sitting_rules, now=now),
                             AttemptEventKind.EXPIRE, None, now)
            closed.append(attempt.id)
    return closed


def expire_overdue(session: Session, now: dt.datetime) -> list[int]:
    """The server's time-up job (到时收卷): close every answering attempt whose deadline has
    passed, whether or not a browser is connected. Returns the ids closed. (The serving
    job, web/sockets/timeup.py, closes them in chunks, committing between them.)"""
    return expire_attempts(session, overdue_ids(session, now), now)


@dataclass(frozen=True)
class AttemptScore:
    """The scores of a closed attempt on its form's pinned item versions: ``scores`` maps each
    1-based position to its points (0 for a blank or missing answer; an examiner-scored item's
    final mark once markers have given it, else None), ``pending`` lists the positions still
    awaiting markers, ``raw_max`` is the form's full marks (the sum of its items' points)."""

    scores: dict[int, float | None]
    pending: tuple[int, ...]
    raw_max: float

    @property
    def auto_total(self) -> float:
        """The points known so far (every position that is not pending)."""
        return round(sum(s for s in self.scores.values() if s is not None), 2)

    @property
    def total(self) -> float | None:
        """The attempt's raw score, None while an item awaits markers."""
        return None if self.pending else self.auto_total


_SCORABLE = select(Response.id, Response.position, Response.value_json, Response.score).where(
    Response.attempt_id == bindparam("attempt_id"))
_SET_RESPONSE_SCORE = update(table_of(Response)).where(table_of(Response).c.id == bindparam("r_id")).values(
    score=bindparam("r_score"))


def score_closed_attempt(session: Session, attempt: Attempt) -> AttemptScore:
    """Score a closed attempt (no audit entry: the caller records what it made of it). Each
    stored answer of an auto-scored item gets its score, a blank examiner-scored answer 0; a
    non-blank examiner-scored answer keeps the final mark markers stored (None until then).
    ``attempt.score`` becomes the raw total, or None while markers are outstanding. Narrow
    reads and plain UPDATEs (the time-up job scores whole rooms); safe to run again."""
    if attempt.status not in _FINAL:
        raise ValidationError("试卷尚未收卷，不能评分。")
    items = form_items(session, attempt.paper_form_id)
    stored = {row.position: row for row in session.execute(_SCORABLE, {"attempt_id": attempt.id})}
    scores: dict[int, float | None] = {}
    pending: list[int] = []
    changes: list[dict[str, Any]] = []
    for position, item in enumerate(items, start=1):
        row = stored.get(position)
        value = json.loads(row.value_json) if row is not None else None
        score = get_type(item.item_type).score(item.spec, value, item.points)  # None: an examiner's
        if score is None:
            score = None if row is None or row.score is None else float(row.score)  # the markers' final mark
            if score is None:
                pending.append(position)
        elif row is not None and (row.score is None or float(row.score) != score):
            changes.append({"r_id": row.id, "r_score": score})
        scores[position] = score
    if changes:
        session.execute(_SET_RESPONSE_SCORE, changes)
        _expire_loaded_responses(session, attempt.id)
    result = AttemptScore(scores=scores, pending=tuple(pending), raw_max=round(sum(i.points for i in items), 2))
    if attempt.score != result.total:
        store_columns(session, attempt.id, score=result.total)
    return result


def score_attempt(session: Session, attempt_id: int) -> dict[str, Any]:
    """Auto-score a closed attempt with the item types (:func:`score_closed_attempt`, audited).
    Returns per-position scores, the auto total, the positions awaiting an examiner and the
    attempt's score (the total once nothing awaits an examiner)."""
    attempt = _get(session, attempt_id, lock=True)
    if attempt.status not in {s.value for s in core.FINAL_STATUSES}:
        raise ValidationError("试卷尚未收卷，不能评分。")
    result = score_closed_attempt(session, attempt)
    pending = list(result.pending)
    audit.record(session, None, "attempt.score", "attempt", attempt.id,
                 after={"auto_total": result.auto_total, "pending": pending})
    return {"scores": result.scores, "auto_total": result.auto_total, "pending": pending, "score": attempt.score}
