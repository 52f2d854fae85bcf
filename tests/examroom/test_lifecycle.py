"""The attempt state machine and its derived clock, with fixed datetimes (no sleeping, no real clock)."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta, timezone

import pytest

from examroom.lifecycle import (
    AttemptError,
    AttemptRules,
    AttemptState,
    BeforeStart,
    EarlySubmitRefused,
    IllegalTransition,
    InvalidArgument,
    LateEntryRefused,
    NaiveDatetime,
    NotYetDue,
    Status,
    TimeUp,
    arrive,
    deadline,
    earliest_submit_at,
    exam_start,
    expire,
    extend,
    extend_room,
    is_overdue,
    late_entry_until,
    open_room,
    open_session,
    pause,
    pause_room,
    remaining_seconds,
    resume,
    resume_room,
    start,
    submit,
    terminate,
)

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # the proctor opens the session
RULES = AttemptRules(duration_minutes=90)


def at(minutes: float = 0, seconds: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=seconds)


def waiting() -> AttemptState:
    return arrive(AttemptState(), at(-10))


def opened() -> AttemptState:
    return open_session(waiting(), at(0))


def started(minute: float = 0) -> AttemptState:
    return start(opened(), RULES, at(minute))


def paused() -> AttemptState:
    return pause(started(), at(20), "proctor", rules=RULES)


def submitted() -> AttemptState:
    return submit(started(), RULES, at(40))


def expired() -> AttemptState:
    return expire(started(), RULES, at(91))


def terminated() -> AttemptState:
    return terminate(started(), "携带手机", 2, "proctor", at(10))


STATES = {
    "not_started": AttemptState,
    "waiting": waiting,
    "opened": opened,
    "in_progress": started,
    "paused": paused,
    "submitted": submitted,
    "expired": expired,
    "terminated": terminated,
}


def later(state: AttemptState, minute: float = 50) -> datetime:
    """``minute`` into the session, or the state's last event if that is later."""
    return max(at(minute), state.last_event_at or at(minute))


ACTIONS = {
    "arrive": lambda s: arrive(s, later(s)),
    "open_session": lambda s: open_session(s, later(s)),
    "start": lambda s: start(s, RULES, later(s, 5)),
    "pause": lambda s: pause(s, later(s), "proctor", rules=RULES),
    "resume": lambda s: resume(s, later(s), "proctor"),
    "extend": lambda s: extend(s, 10, "网络故障", "proctor", later(s), rules=RULES),
    "submit": lambda s: submit(s, RULES, later(s)),
    "expire": lambda s: expire(s, RULES, later(s, 200)),
    "terminate": lambda s: terminate(s, "替考", 3, "proctor", later(s)),
}

# (state, action) -> resulting status, or (error type, message fragment)
TABLE = [
    ("not_started", "arrive", Status.WAITING),
    ("not_started", "open_session", Status.NOT_STARTED),
    ("not_started", "start", (IllegalTransition, "监考员尚未开考，请等待。")),
    ("not_started", "pause", (IllegalTransition, "当前状态为「未入场」，不能暂停。")),
    ("not_started", "resume", (IllegalTransition, "当前状态为「未入场」，不能恢复作答。")),
    ("not_started", "extend", Status.NOT_STARTED),
    ("not_started", "submit", (IllegalTransition, "当前状态为「未入场」，不能交卷。")),
    ("not_started", "expire", (IllegalTransition, "当前状态为「未入场」，不能到时收卷。")),
    ("not_started", "terminate", Status.TERMINATED),
    ("waiting", "arrive", (IllegalTransition, "当前状态为「等待开考」，不能进入候考。")),
    ("waiting", "start", (IllegalTransition, "监考员尚未开考，请等待。")),
    ("opened", "open_session", (IllegalTransition, "本场考试已开考，不能重复开考。")),
    ("opened", "start", Status.IN_PROGRESS),
    ("in_progress", "arrive", (IllegalTransition, "当前状态为「作答中」，不能进入候考。")),
    ("in_progress", "open_session", (IllegalTransition, "当前状态为「作答中」，不能开考。")),
    ("in_progress", "start", (IllegalTransition, "当前状态为「作答中」，不能开始作答。")),
    ("in_progress", "pause", Status.PAUSED),
    ("in_progress", "resume", (IllegalTransition, "当前状态为「作答中」，不能恢复作答。")),
    ("in_progress", "extend", Status.IN_PROGRESS),
    ("in_progress", "submit", Status.SUBMITTED),
    ("in_progress", "expire", Status.EXPIRED),
    ("in_progress", "terminate", Status.TERMINATED),
    ("paused", "pause", (IllegalTransition, "当前状态为「已暂停」，不能暂停。")),
    ("paused", "resume", Status.IN_PROGRESS),
    ("paused", "extend", Status.PAUSED),
    ("paused", "submit", (IllegalTransition, "当前状态为「已暂停」，不能交卷。")),
    ("paused", "expire", (IllegalTransition, "当前状态为「已暂停」，不能到时收卷。")),
    ("paused", "terminate", Status.TERMINATED),
    ("submitted", "pause", (IllegalTransition, "当前状态为「已交卷」，不能暂停。")),
    ("submitted", "extend", (IllegalTransition, "当前状态为「已交卷」，不能延长时间。")),
    ("submitted", "submit", (IllegalTransition, "当前状态为「已交卷」，不能交卷。")),
    ("submitted", "terminate", (IllegalTransition, "当前状态为「已交卷」，不能终止考试。")),
    ("expired", "resume", (IllegalTransition, "当前状态为「已到时收卷」，不能恢复作答。")),
    ("expired", "expire", (IllegalTransition, "当前状态为「已到时收卷」，不能到时收卷。")),
    ("expired", "extend", (IllegalTransition, "当前状态为「已到时收卷」，不能延长时间。")),
    ("terminated", "start", (IllegalTransition, "当前状态为「已终止考试」，不能开始作答。")),
    ("terminated", "submit", (IllegalTransition, "当前状态为「已终止考试」，不能交卷。")),
    ("terminated", "terminate", (IllegalTransition, "当前状态为「已终止考试」，不能终止考试。")),
]


@pytest.mark.parametrize(("state_name", "action", "expected"), TABLE, ids=[f"{s}-{a}" for s, a, _ in TABLE])
def test_transition_table(state_name, action, expected):
    before = STATES[state_name]()
    if isinstance(expected, Status):
        after = ACTIONS[action](before)
        assert after.status is expected
        assert after is not before
    else:
        error, message = expected
        with pytest.raises(error) as info:
            ACTIONS[action](before)
        assert info.value.message == message
        assert isinstance(info.value, AttemptError)


def test_states_are_immutable_and_transitions_return_new_ones():
    state = started()
    with pytest.raises(FrozenInstanceError):
        state.status = Status.SUBMITTED  # type: ignore[misc]
    after = pause(state, at(5), "proctor", rules=RULES)
    assert state.status is Status.IN_PROGRESS and state.pauses == ()
    assert after.status is Status.PAUSED and len(after.pauses) == 1


# --------------------------------------------------------------------------- entry and submit rules


def test_late_entry_allowed_at_exactly_fifteen_minutes():
    assert start(opened(), RULES, at(15)).started_at == at(15)


def test_late_entry_refused_one_second_after_the_window():
    with pytest.raises(LateEntryRefused) as info:
        start(opened(), RULES, at(15, 1))
    assert info.value.message == "开考 15 分钟后不得入场。"
    assert info.value.code == "late_entry"


def test_late_entry_window_is_configurable():
    rules = AttemptRules(duration_minutes=90, late_entry_minutes=5)
    start(opened(), rules, at(5))
    with pytest.raises(LateEntryRefused, match="开考 5 分钟后不得入场"):
        start(opened(), rules, at(5, 1))


def test_start_straight_from_not_started_once_opened():
    state = open_session(AttemptState(), at(0))
    assert start(state, RULES, at(1)).status is Status.IN_PROGRESS


def test_submit_refused_in_the_first_thirty_minutes():
    with pytest.raises(EarlySubmitRefused) as info:
        submit(started(), RULES, at(29, 59))
    assert info.value.message == "开考 30 分钟内不得交卷。"


def test_submit_allowed_at_exactly_thirty_minutes():
    state = submit(started(), RULES, at(30))
    assert state.status is Status.SUBMITTED and state.submitted_at == at(30)


def test_earliest_submit_counts_from_the_room_start_not_the_candidates_own():
    late = started(minute=10)
    with pytest.raises(EarlySubmitRefused):
        submit(late, RULES, at(29, 59))
    submit(late, RULES, at(30))


def test_submit_allowed_at_any_time_once_time_is_up():
    rules = AttemptRules(duration_minutes=20)
    state = start(opened(), rules, at(0))
    with pytest.raises(EarlySubmitRefused):
        submit(state, rules, at(20))  # the deadline instant itself is not past yet
    assert submit(state, rules, at(20, 1)).status is Status.SUBMITTED


def test_earliest_submit_is_configurable():
    rules = AttemptRules(duration_minutes=90, earliest_submit_minutes=0)
    assert submit(start(opened(), rules, at(0)), rules, at(0)).status is Status.SUBMITTED


# --------------------------------------------------------------------------- clock


def test_deadline_and_remaining_without_pauses():
    state = started()
    assert deadline(state, RULES) == at(90)
    assert remaining_seconds(state, RULES, at(0)) == 90 * 60
    assert remaining_seconds(state, RULES, at(60)) == 30 * 60


def test_remaining_before_the_start_is_what_starting_now_would_leave():
    assert deadline(opened(), RULES) is None
    assert remaining_seconds(waiting(), RULES, at(-5)) == 90 * 60  # the room not open yet
    assert remaining_seconds(opened(), RULES, at(0)) == 90 * 60
    assert remaining_seconds(opened(), RULES, at(3)) == 87 * 60  # the room's clock runs
    extended = extend(opened(), 10, "视力障碍考生", "proctor", at(1), rules=RULES)
    assert remaining_seconds(extended, RULES, at(3)) == 97 * 60


def test_remaining_is_frozen_during_an_open_pause():
    state = paused()  # paused at minute 20 with 70 minutes left
    assert remaining_seconds(state, RULES, at(20)) == 70 * 60
    assert remaining_seconds(state, RULES, at(45)) == 70 * 60
    assert remaining_seconds(state, RULES, at(500)) == 70 * 60
    assert deadline(state, RULES, at(45)) == at(115)  # the open pause extends the deadline while it lasts
    assert not is_overdue(state, RULES, at(500))


def test_deadline_of_an_open_pause_needs_now():
    with pytest.raises(ValueError, match="open pause"):
        deadline(paused(), RULES)


def test_remaining_across_pauses_and_extensions():
    state = started()
    state = pause(state, at(10), "监考员甲", rules=RULES)
    state = resume(state, at(15), "监考员甲")  # 5 min paused
    state = extend(state, 10, "停电", "监考员甲", at(20), rules=RULES)
    state = pause(state, at(30), "监考员乙", rules=RULES)
    state = resume(state, at(32, 30), "监考员乙")  # 2.5 min paused
    assert deadline(state, RULES) == at(90 + 5 + 10 + 2.5)
    assert remaining_seconds(state, RULES, at(60)) == (107.5 - 60) * 60
    assert [(p.start, p.end, p.paused_by, p.resumed_by) for p in state.pauses] == [
        (at(10), at(15), "监考员甲", "监考员甲"),
        (at(30), at(32, 30), "监考员乙", "监考员乙"),
    ]
    assert [(e.minutes, e.reason, e.by) for e in state.extensions] == [(10, "停电", "监考员甲")]


def test_remaining_with_a_closed_and_an_open_pause_and_an_extension():
    state = pause(started(), at(10), "p", rules=RULES)
    state = resume(state, at(20), "p")
    state = extend(state, 5, "设备故障", "p", at(25), rules=RULES)
    state = pause(state, at(30), "p", rules=RULES)
    # At minute 30: 90 + 10 + 5 - 30 = 75 minutes left, frozen while paused.
    assert remaining_seconds(state, RULES, at(30)) == 75 * 60
    assert remaining_seconds(state, RULES, at(50)) == 75 * 60
    state = resume(state, at(50), "p")
    assert remaining_seconds(state, RULES, at(60)) == 65 * 60


def test_remaining_is_never_negative_and_zero_once_closed():
    state = started()
    assert remaining_seconds(state, RULES, at(200)) == 0
    assert remaining_seconds(submitted(), RULES, at(41)) == 0
    assert remaining_seconds(terminated(), RULES, at(11)) == 0


def test_expire_only_after_the_deadline():
    state = started()
    with pytest.raises(NotYetDue) as info:
        expire(state, RULES, at(90))
    assert info.value.message == "考试时间未到，不能收卷。"
    assert not is_overdue(state, RULES, at(90))
    assert is_overdue(state, RULES, at(90, 1))
    after = expire(state, RULES, at(90, 1))
    assert after.status is Status.EXPIRED and after.expired_at == at(90, 1)
    assert not is_overdue(after, RULES, at(200))


def test_expire_respects_pauses_and_extensions():
    state = pause(started(), at(10), "p", rules=RULES)
    state = resume(state, at(20), "p")
    state = extend(state, 15, "网络中断", "p", at(30), rules=RULES)
    with pytest.raises(NotYetDue):
        expire(state, RULES, at(115))
    assert expire(state, RULES, at(115, 1)).status is Status.EXPIRED


def test_no_pause_or_extension_once_time_is_up():
    state = started()
    with pytest.raises(TimeUp, match="考试时间已到，不能暂停。"):
        pause(state, at(91), "p", rules=RULES)
    with pytest.raises(TimeUp, match="考试时间已到，不能延长时间。"):
        extend(state, 5, "迟到", "p", at(91), rules=RULES)


# --------------------------------------------------------------------------- one clock for the room
# The sitting is scheduled for T0. ``scheduled(...)`` counts from T0 whenever the room opens;
# ``later_of(...)`` (the default rule) from the opening when the room is opened after T0.


def scheduled(**kw) -> AttemptRules:
    return AttemptRules(duration_minutes=90, starts_at=T0, from_late_opening=False, **kw)


def later_of(**kw) -> AttemptRules:
    return AttemptRules(duration_minutes=90, starts_at=T0, **kw)


def opened_at(minute: float) -> AttemptState:
    return open_session(arrive(AttemptState(), at(minute - 20)), at(minute))


def test_the_default_rule_counts_from_the_later_of_schedule_and_opening():
    assert AttemptRules(duration_minutes=90, starts_at=T0).from_late_opening is True


@pytest.mark.parametrize("rules", [scheduled(), later_of()], ids=["scheduled", "later"])
@pytest.mark.parametrize("minute", [0, 0.5, 1, 7, 14, 15])
def test_a_late_starter_ends_with_the_room(rules, minute):
    state = start(opened_at(0), rules, at(minute))
    assert state.started_at == at(minute)
    assert deadline(state, rules) == at(90)
    assert remaining_seconds(state, rules, at(minute)) == (90 - minute) * 60
    assert not is_overdue(state, rules, at(90))
    assert is_overdue(state, rules, at(90, 1))
    assert expire(state, rules, at(90, 1)).status is Status.EXPIRED
    with pytest.raises(NotYetDue):
        expire(state, rules, at(90))


# (rule, room opened at minute, the room's start, the last minute a candidate may start)
ANCHORS = [
    (scheduled(), 0, 0, 15),
    (later_of(), 0, 0, 15),
    (scheduled(), 5, 0, 15),  # opened late: the schedule still rules
    (later_of(), 5, 5, 20),  # opened late: the room gets its full time from the opening
    (scheduled(), -10, 0, 15),  # opened early: the room waits for the schedule
    (later_of(), -10, 0, 15),
    (scheduled(), 14, 0, 15),
    (later_of(), 14, 14, 29),
]


@pytest.mark.parametrize(("rules", "opened_min", "begin", "last"), ANCHORS)
def test_the_room_start_and_the_windows_follow_the_rule(rules, opened_min, begin, last):
    room = opened_at(opened_min)
    assert exam_start(room, rules) == at(begin)
    assert late_entry_until(room, rules) == at(last)
    assert earliest_submit_at(room, rules) == at(begin + 30)
    # late entry: the window's last instant is allowed, one second later is not
    assert start(room, rules, at(last)).started_at == at(last)
    with pytest.raises(LateEntryRefused, match="开考 15 分钟后不得入场"):
        start(room, rules, at(last, 1))
    # the deadline is the room's start + duration for everyone who started
    for minute in {max(begin, opened_min), last}:
        assert deadline(start(room, rules, at(minute)), rules) == at(begin + 90)
    # earliest submit from the room's start, whoever started when
    for minute in {max(begin, opened_min), last}:
        state = start(room, rules, at(minute))
        with pytest.raises(EarlySubmitRefused, match="开考 30 分钟内不得交卷"):
            submit(state, rules, at(begin + 30, -1))
        assert submit(state, rules, at(begin + 30)).submitted_at == at(begin + 30)


@pytest.mark.parametrize("rules", [scheduled(), later_of()], ids=["scheduled", "later"])
def test_nobody_starts_before_the_room_start(rules):
    room = opened_at(-10)
    for when in (at(-10), at(-5), at(0, -1)):
        with pytest.raises(BeforeStart) as info:
            start(room, rules, when)
        assert info.value.code == "before_start"
    with pytest.raises(BeforeStart, match="距开考还有 5 分钟"):
        start(room, rules, at(-5))
    assert start(room, rules, at(0)).started_at == at(0)


def test_the_room_start_is_unknown_before_opening_only_when_an_opening_could_move_it():
    assert exam_start(waiting(), later_of()) is None
    assert late_entry_until(waiting(), later_of()) is None
    assert exam_start(waiting(), scheduled()) == T0
    assert earliest_submit_at(waiting(), scheduled()) == at(30)
    assert exam_start(waiting(), RULES) is None  # no scheduled start: the opening is the start
    assert exam_start(opened_at(3), RULES) == at(3)


@pytest.mark.parametrize("rules", [scheduled(), later_of()], ids=["scheduled", "later"])
def test_pauses_and_extensions_stay_individual(rules):
    room = opened_at(0)
    on_time = start(room, rules, at(0))
    late = start(room, rules, at(12))
    extended = extend(late, 10, "视力障碍考生", "proctor", at(20), rules=rules)
    paused_ = resume(pause(on_time, at(30), "proctor", rules=rules), at(37), "proctor")
    assert deadline(on_time, rules) == at(90)
    assert deadline(late, rules) == at(90)
    assert deadline(extended, rules) == at(100)
    assert deadline(paused_, rules) == at(97)
    assert remaining_seconds(extended, rules, at(60)) == 40 * 60
    assert remaining_seconds(paused_, rules, at(60)) == 37 * 60
    assert is_overdue(paused_, rules, at(97, 1)) and not is_overdue(paused_, rules, at(97))
    # an extension before the start counts for a late starter too
    early_ext = start(extend(room, 5, "迟到补时经批准", "proctor", at(3), rules=rules), rules, at(8))
    assert deadline(early_ext, rules) == at(95)


@pytest.mark.parametrize("rules", [scheduled(), later_of()], ids=["scheduled", "later"])
def test_remaining_before_the_start_counts_down_with_the_room(rules):
    room = opened_at(0)
    assert remaining_seconds(room, rules, at(0)) == 90 * 60
    assert remaining_seconds(room, rules, at(14)) == 76 * 60
    assert remaining_seconds(opened_at(-10), rules, at(-5)) == 90 * 60


def test_starting_is_refused_once_the_room_time_is_up():
    rules = AttemptRules(duration_minutes=10, late_entry_minutes=15, starts_at=T0)
    room = opened_at(0)
    assert start(room, rules, at(9, 59)).status is Status.IN_PROGRESS
    with pytest.raises(TimeUp):
        start(room, rules, at(10))


def test_grace_is_still_only_after_time_up_for_a_late_starter():
    rules = later_of()
    state = start(opened_at(0), rules, at(14))
    with pytest.raises(EarlySubmitRefused):
        submit(state, rules, at(29))
    assert submit(state, rules, at(30)).status is Status.SUBMITTED


def test_scheduled_start_must_be_aware_and_is_kept_in_utc():
    with pytest.raises(NaiveDatetime):
        AttemptRules(duration_minutes=90, starts_at=datetime(2026, 6, 1, 9, 0))
    beijing = timezone(timedelta(hours=8))
    rules = AttemptRules(duration_minutes=90, starts_at=datetime(2026, 6, 1, 17, 0, tzinfo=beijing))
    assert rules.starts_at == T0 and rules.starts_at.tzinfo is UTC
    with pytest.raises(InvalidArgument):
        AttemptRules(duration_minutes=90, from_late_opening="yes")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("minutes", "reason", "message"),
    [
        (0, "停电", "延长时间必须是 1 至 120 分钟的整数。"),
        (121, "停电", "延长时间必须是 1 至 120 分钟的整数。"),
        (True, "停电", "延长时间必须是 1 至 120 分钟的整数。"),
        (5, "", "延长考试时间必须填写原因。"),
        (5, "   ", "延长考试时间必须填写原因。"),
    ],
)
def test_extend_arguments(minutes, reason, message):
    with pytest.raises(InvalidArgument) as info:
        extend(started(), minutes, reason, "p", at(10), rules=RULES)
    assert info.value.message == message


def test_extend_bounds_are_inclusive():
    assert extend(started(), 1, "停电", "p", at(10), rules=RULES).extension_minutes == 1
    assert extend(started(), 120, "停电", "p", at(10), rules=RULES).extension_minutes == 120


@pytest.mark.parametrize(
    ("reason", "tier", "message"),
    [("", 1, "终止考试必须填写原因。"), ("替考", 0, "违纪等级必须是 1 至 4。"), ("替考", 5, "违纪等级必须是 1 至 4。")],
)
def test_terminate_arguments(reason, tier, message):
    with pytest.raises(InvalidArgument) as info:
        terminate(started(), reason, tier, "p", at(10))
    assert info.value.message == message


def test_terminate_records_reason_tier_and_closes_an_open_pause():
    state = terminate(paused(), " 夹带资料 ", 1, "监考员甲", at(25))
    assert state.status is Status.TERMINATED
    assert (state.terminated_reason, state.terminated_tier, state.terminated_by) == ("夹带资料", 1, "监考员甲")
    assert state.pauses[-1].end == at(25) and state.closed_at == at(25)


def test_proctor_actions_need_an_actor():
    with pytest.raises(InvalidArgument, match="必须记录操作人"):
        pause(started(), at(5), "", rules=RULES)


def test_naive_datetimes_are_refused():
    with pytest.raises(NaiveDatetime) as info:
        start(opened(), RULES, datetime(2026, 6, 1, 9, 1))
    assert info.value.message == "时间缺少时区信息，系统只接受带时区的时间（UTC）。"
    with pytest.raises(NaiveDatetime):
        remaining_seconds(started(), RULES, datetime(2026, 6, 1, 9, 1))


def test_other_timezones_are_normalised_to_utc():
    beijing = timezone(timedelta(hours=8))
    state = start(opened(), RULES, datetime(2026, 6, 1, 17, 5, tzinfo=beijing))
    assert state.started_at == at(5) and state.started_at.tzinfo is UTC


def test_transitions_refuse_to_go_back_in_time():
    with pytest.raises(InvalidArgument, match="早于"):
        resume(paused(), at(19), "p")


def test_rules_validate_themselves():
    with pytest.raises(InvalidArgument):
        AttemptRules(duration_minutes=0)
    with pytest.raises(InvalidArgument):
        AttemptRules(duration_minutes=60, grace_seconds=-1)


# --------------------------------------------------------------------------- room-wide


def room() -> dict[int, AttemptState]:
    state = opened()
    return {
        1: start(state, RULES, at(0)),
        2: start(state, RULES, at(2)),
        3: submit(start(state, RULES, at(0)), RULES, at(30)),
        4: state,  # never started
    }


def test_open_room():
    result = open_room({1: waiting(), 2: AttemptState(), 3: opened()}, at(0))
    assert result.changed == (1, 2)
    assert set(result.refused) == {3}
    assert all(s.session_opened_at == at(0) for s in result.states.values())


def test_pause_and_resume_room():
    paused_room = pause_room(room(), at(40), "监考员甲", rules=RULES)
    assert paused_room.changed == (1, 2)
    assert set(paused_room.refused) == {3, 4}
    assert paused_room.refused[3].message == "当前状态为「已交卷」，不能暂停。"
    assert paused_room.states[3] == room()[3]
    assert remaining_seconds(paused_room.states[1], RULES, at(55)) == 50 * 60
    assert remaining_seconds(paused_room.states[2], RULES, at(55)) == 50 * 60  # started late, ends with the room

    resumed = resume_room(paused_room.states, at(50), "监考员甲")
    assert resumed.changed == (1, 2)
    assert deadline(resumed.states[1], RULES) == at(100)
    assert deadline(resumed.states[2], RULES) == at(100)


def test_extend_room():
    result = extend_room(room(), 10, "全场停电", "监考员甲", at(40), rules=RULES)
    assert result.changed == (1, 2, 4)
    assert set(result.refused) == {3}
    assert deadline(result.states[1], RULES) == at(100)
    assert deadline(result.states[2], RULES) == at(100)
    assert remaining_seconds(result.states[4], RULES, at(40)) == 60 * 60  # 100 minutes from the room's start


def test_extend_room_refuses_bad_arguments_once():
    with pytest.raises(InvalidArgument, match="必须填写原因"):
        extend_room(room(), 10, "", "p", at(40), rules=RULES)


def test_room_wide_actions_refuse_naive_datetimes():
    with pytest.raises(NaiveDatetime):
        pause_room(room(), datetime(2026, 6, 1, 9, 40), "p", rules=RULES)
