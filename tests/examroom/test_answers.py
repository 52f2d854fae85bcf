"""Durable-answer acceptance rules, with fixed datetimes (no sleeping, no real clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from examroom.answers import (
    DEFAULT_MAX_VALUE_BYTES,
    Decision,
    JournalEntry,
    Outcome,
    accept,
    latest_before,
    value_size,
)
from examroom.lifecycle import (
    AttemptRules,
    AttemptState,
    NaiveDatetime,
    arrive,
    expire,
    open_session,
    pause,
    resume,
    start,
    submit,
    terminate,
)

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
RULES = AttemptRules(duration_minutes=60, grace_seconds=120)
ITEMS = 50


def at(minutes: float = 0, seconds: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=seconds)


def started() -> AttemptState:
    return start(open_session(arrive(AttemptState(), at(-5)), at(0)), RULES, at(0))


def entry(seq: int = 1, item: int = 1, value: Any = "A", client_time: datetime | None = None) -> JournalEntry:
    return JournalEntry(attempt_id=7, item_position=item, seq=seq, value=value, client_time=client_time or at(10))


def decide(
    e: JournalEntry,
    existing: dict[int, tuple[int, Any]] | None = None,
    *,
    state: AttemptState | None = None,
    received_at: datetime | None = None,
    **kwargs: Any,
) -> Decision:
    received = received_at or e.client_time
    return accept(
        existing or {},
        e,
        state=state or started(),
        rules=RULES,
        now=received,
        received_at=received,
        item_count=ITEMS,
        **kwargs,
    )


class Store:
    """A tiny in-memory stand-in for the caller: stores on ACCEPT, as a service would."""

    def __init__(self, state: AttemptState) -> None:
        self.state = state
        self.answers: dict[int, tuple[int, Any]] = {}

    def send(self, e: JournalEntry, received_at: datetime) -> Decision:
        decision = accept(
            self.answers, e, state=self.state, rules=RULES, now=received_at, received_at=received_at, item_count=ITEMS
        )
        if decision.changes:
            self.answers[e.item_position] = (e.seq, e.value)
        return decision


# --------------------------------------------------------------------------- sequence rules


def test_first_answer_is_accepted():
    decision = decide(entry())
    assert decision.outcome is Outcome.ACCEPT
    assert decision.acked and decision.changes


def test_repeated_seq_is_a_duplicate_acked_without_change():
    decision = decide(entry(seq=4, value="B"), {1: (4, "B")})
    assert decision.outcome is Outcome.DUPLICATE
    assert decision.acked and not decision.changes
    assert decision.message == "该答案已保存。"


def test_repeated_seq_with_another_value_is_refused():
    decision = decide(entry(seq=4, value="C"), {1: (4, "B")})
    assert decision.outcome is Outcome.REFUSED and decision.code == "seq_conflict"
    assert not decision.acked


def test_seq_already_used_by_another_item_is_refused():
    decision = decide(entry(seq=4, item=2), {1: (4, "B")})
    assert decision.outcome is Outcome.REFUSED
    assert decision.message == "该序号已用于其他题目，已拒绝。"


def test_older_seq_never_overwrites_a_newer_one():
    decision = decide(entry(seq=2, value="A"), {1: (5, "D")})
    assert decision.outcome is Outcome.STALE
    assert decision.acked and not decision.changes


def test_newer_seq_overwrites():
    assert decide(entry(seq=6, value="A"), {1: (5, "D")}).outcome is Outcome.ACCEPT


def test_out_of_order_arrival_keeps_the_latest_change():
    store = Store(started())
    changes = {1: "A", 2: "B", 3: "C"}
    outcomes = [store.send(entry(seq=s, value=changes[s], client_time=at(10, s)), at(11)).outcome for s in (3, 1, 2)]
    assert outcomes == [Outcome.ACCEPT, Outcome.STALE, Outcome.STALE]
    assert store.answers == {1: (3, "C")}


def test_replaying_a_whole_journal_twice_changes_nothing_the_second_time():
    store = Store(started())
    journal = [entry(seq=s, item=(s % 3) + 1, value=f"v{s}", client_time=at(10, s)) for s in range(1, 10)]
    first = [store.send(e, at(12)).outcome for e in journal]
    snapshot = dict(store.answers)
    second = [store.send(e, at(13)).outcome for e in journal]
    assert first == [Outcome.ACCEPT] * 9
    assert store.answers == snapshot == {1: (9, "v9"), 2: (7, "v7"), 3: (8, "v8")}
    assert [o for o in second if o is Outcome.DUPLICATE] == [Outcome.DUPLICATE] * 3
    assert all(o in (Outcome.DUPLICATE, Outcome.STALE) for o in second)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("e", "code", "message"),
    [
        (entry(seq=0), "bad_seq", "序号必须是 1 至 2147483647 之间的整数。"),
        (entry(seq=True), "bad_seq", "序号必须是 1 至 2147483647 之间的整数。"),  # type: ignore[arg-type]
        (entry(seq=2**31), "bad_seq", "序号必须是 1 至 2147483647 之间的整数。"),  # PostgreSQL's integer
        (entry(seq=1.0), "bad_seq", "序号必须是 1 至 2147483647 之间的整数。"),  # type: ignore[arg-type]
        (entry(item=0), "bad_item", "题号超出范围：本试卷共 50 题。"),
        (entry(item=51), "bad_item", "题号超出范围：本试卷共 50 题。"),
        (entry(value={1, 2}), "bad_value", "答案格式无效。"),
        (entry(value=float("nan")), "bad_value", "答案格式无效。"),
        (entry(value="\ud800"), "bad_value", "答案格式无效。"),  # a lone surrogate: JSON.stringify emits it
        (entry(value=["A", {"\udfff": 1}]), "bad_value", "答案格式无效。"),
        (entry(value=2**53 + 1), "bad_value", "答案格式无效。"),
        (entry(value=[[[[[[[[["A"]]]]]]]]]), "bad_value", "答案格式无效。"),  # nested deeper than 8
    ],
)
def test_malformed_entries_are_refused(e, code, message):
    decision = decide(e, received_at=at(10))
    assert (decision.outcome, decision.code, decision.message) == (Outcome.REFUSED, code, message)


def test_item_range_boundaries():
    assert decide(entry(item=1)).changes
    assert decide(entry(item=ITEMS)).changes


def test_seq_boundaries():
    assert decide(entry(seq=1)).changes
    assert decide(entry(seq=2**31 - 1)).changes


def test_value_boundaries():
    assert decide(entry(value=None)).changes  # null: the candidate cleared the answer
    assert decide(entry(value=[[[[[[[["A"]]]]]]]])).changes  # 8 deep
    assert decide(entry(value=[-(2**53), 2**53, 1.5, True, {"k": "选项"}, "😀"])).changes


def test_naive_client_time_is_refused():
    decision = decide(entry(client_time=datetime(2026, 6, 1, 9, 10)), received_at=at(10))
    assert decision.code == "bad_client_time"


def test_naive_server_times_raise():
    with pytest.raises(NaiveDatetime):
        accept({}, entry(), state=started(), rules=RULES, now=at(10), received_at=datetime(2026, 6, 1), item_count=9)


def test_payload_size_limit():
    assert value_size("选A") == len('"选A"'.encode())
    just_fits = "x" * (DEFAULT_MAX_VALUE_BYTES - 2)
    assert decide(entry(value=just_fits)).changes
    too_big = decide(entry(value=just_fits + "x"))
    assert too_big.code == "too_large"
    assert decide(entry(value="答" * 10), max_value_bytes=20).code == "too_large"  # bytes, not characters


def test_value_shape_is_checked_by_the_callers_callback():
    def choices(position: int, value: Any) -> str | None:
        if not isinstance(value, list) or not set(value) <= {"A", "B", "C", "D"}:
            return f"第 {position} 题的答案必须是选项列表。"
        return None

    assert decide(entry(value=["A", "C"]), validate_value=choices).changes
    decision = decide(entry(item=3, value="E"), validate_value=choices)
    assert decision.outcome is Outcome.REFUSED
    assert decision.message == "第 3 题的答案必须是选项列表。"


# --------------------------------------------------------------------------- timing


def test_before_the_start_and_while_paused_writes_are_refused():
    waiting = open_session(arrive(AttemptState(), at(-5)), at(0))
    assert decide(entry(client_time=at(0)), state=waiting).message == "考试尚未开始，不能作答。"
    paused = pause(started(), at(10), "p", rules=RULES)
    decision = decide(entry(client_time=at(9)), state=paused, received_at=at(10, 30))
    assert (decision.outcome, decision.code) == (Outcome.REFUSED, "paused")
    assert decision.message == "考试已暂停，请等待监考员恢复后再作答。"


def test_writes_after_a_resume_count_against_the_moved_deadline():
    state = resume(pause(started(), at(10), "p", rules=RULES), at(20), "p")  # deadline now 70
    assert decide(entry(client_time=at(69)), state=state, received_at=at(70)).changes


def test_received_at_the_deadline_is_accepted_without_grace():
    assert decide(entry(client_time=at(60)), received_at=at(60)).changes


def test_after_the_deadline_without_a_journalled_time_before_it_is_refused():
    decision = decide(entry(client_time=at(60, 1)), received_at=at(60, 5))
    assert (decision.outcome, decision.code) == (Outcome.REFUSED, "time_up")
    assert decision.message == "考试时间已到，答案未保存。"


def test_journalled_before_the_deadline_and_delivered_within_grace_counts():
    e = entry(client_time=at(59, 50))
    assert decide(e, received_at=at(61)).changes  # not yet expired by the job
    assert decide(e, received_at=at(62)).changes  # last instant of the 120 s window
    assert decide(e, received_at=at(62, 1)).code == "time_up"


def test_grace_replays_to_an_expired_attempt():
    expired = expire(started(), RULES, at(60, 30))
    e = entry(client_time=at(59, 59))
    assert decide(e, state=expired, received_at=at(61, 59)).changes
    assert decide(e, state=expired, received_at=at(62, 1)).code == "time_up"
    assert decide(entry(client_time=at(60, 10)), state=expired, received_at=at(60, 40)).code == "time_up"


def test_a_submission_after_time_up_closes_answering_at_the_deadline():
    submitted = submit(started(), RULES, at(65))  # submitted late, e.g. before the time-up job ran
    assert decide(entry(client_time=at(59)), state=submitted, received_at=at(61)).changes
    assert decide(entry(client_time=at(64)), state=submitted, received_at=at(65, 30)).code == "submitted"


SUBMITTED = submit(started(), RULES, at(40))  # 交卷 20 minutes before the deadline (60)
SUBMITTED_LATE = submit(started(), RULES, at(65))  # after the deadline, before the time-up job ran
EXPIRED = expire(started(), RULES, at(60, 30))
OVERDUE = started()  # past the deadline, the time-up job has not run yet


@pytest.mark.parametrize(
    ("state", "client_time", "received_at", "bound", "code"),
    [
        # 交卷 closes the paper at once: any client time, any delay, any computer.
        (SUBMITTED, at(39, 58), at(40, 1), True, "submitted"),
        (SUBMITTED, at(39, 58), at(41), True, "submitted"),
        (SUBMITTED, at(10), at(40, 0.5), True, "submitted"),
        (SUBMITTED, at(-30), at(40, 1), True, "submitted"),  # dated before the attempt started
        (SUBMITTED, at(40, 1), at(40, 2), True, "submitted"),
        (SUBMITTED, at(39, 58), at(40, 1), False, "submitted"),
        # A submission after the deadline is a time-up: grace for what was journalled by the deadline.
        (SUBMITTED_LATE, at(59), at(61), True, "accept"),
        (SUBMITTED_LATE, at(59), at(61), False, "submitted"),  # another computer never writes
        (SUBMITTED_LATE, at(60, 1), at(61), True, "submitted"),
        (SUBMITTED_LATE, at(59), at(62, 1), True, "submitted"),
        # Expired: the grace window, for the bound computer only.
        (EXPIRED, at(59, 59), at(61, 59), True, "accept"),
        (EXPIRED, at(59, 59), at(62), True, "accept"),  # the window's last instant
        (EXPIRED, at(59, 59), at(62, 1), True, "time_up"),
        (EXPIRED, at(60, 10), at(60, 40), True, "time_up"),
        (EXPIRED, at(59, 59), at(60, 40), False, "time_up"),
        (EXPIRED, at(-1), at(60, 40), True, "bad_client_time"),  # dated before the start
        (OVERDUE, at(59, 50), at(61), True, "accept"),
        (OVERDUE, at(59, 50), at(61), False, "time_up"),
        (OVERDUE, at(60, 1), at(61), True, "time_up"),
        # Answering: the client time is not checked against the clock, only against the start.
        (started(), at(0), at(0), True, "accept"),  # the start itself
        (started(), at(0, -0.001), at(1), True, "bad_client_time"),
        (started(), at(-30), at(10), True, "bad_client_time"),
        (started(), at(59), at(60), True, "accept"),
        (started(), at(59), at(60), False, "accept"),  # the caller refuses another computer first
    ],
)
def test_closing_and_client_time_rules(state, client_time, received_at, bound, code):
    decision = decide(entry(seq=9, client_time=client_time), state=state, received_at=received_at,
                      from_bound_device=bound)
    assert (decision.code if decision.code != "accepted" else "accept") == code
    assert decision.changes is (code == "accept")
    messages = {"submitted": "试卷已提交，不能再修改答案。", "time_up": "考试时间已到，答案未保存。",
                "bad_client_time": "作答时间早于开始作答的时间，已拒绝。", "accept": ""}
    assert decision.message == messages[code]


# Stored: item → (seq, value), and the client times of those changes by seq. The page stamps
# its changes in seq order.
STORED = {2: (5, "B"), 3: (2, "C")}
TIMES = [(5, at(30)), (2, at(20))]


@pytest.mark.parametrize(
    ("seq", "item", "client_time", "outcome"),
    [
        (6, 1, at(30), "accept"),  # a new seq, journalled with the last acknowledged write
        (6, 1, at(31), "accept"),
        (6, 1, at(29, 59), "bad_client_time"),  # before the last acknowledged write
        (6, 1, at(1), "bad_client_time"),
        (4, 1, at(25), "accept"),  # a lower seq delivered late (out of order): after seq 2's time
        (4, 1, at(31), "accept"),  # (later than seq 5's own time: not refused, the lower bound only)
        (4, 1, at(19), "bad_client_time"),  # before seq 2, which the page journalled earlier
        (1, 1, at(1), "accept"),  # nothing stored below it
        (5, 2, at(1), "duplicate"),  # the sequence rules come first: a duplicate is acked
        (1, 2, at(1), "stale"),
    ],
)
def test_client_time_is_not_earlier_than_an_acknowledged_lower_seq(seq, item, client_time, outcome):
    decision = decide(entry(seq=seq, item=item, value="B", client_time=client_time), STORED, received_at=at(40),
                      written_before=latest_before(TIMES, seq))
    assert decision.code == {"accept": "accepted"}.get(outcome, outcome)
    if outcome == "bad_client_time":
        assert decision.message == "作答时间早于已保存的上一次修改，已拒绝。"
        assert not decision.acked


def test_latest_before_orders_raw_values_as_the_database_returns_them():
    assert latest_before([], 3) is None
    assert latest_before([(5, at(30)), (2, at(20)), (1, at(25))], 3) == at(25)
    assert latest_before([(5, at(30)), (2, at(20))], 2) is None  # strictly lower seqs only
    sqlite_text = [(1, "2026-06-01 09:20:00.000000"), (2, "2026-06-01 09:05:00.500000")]
    assert latest_before(sqlite_text, 9) == "2026-06-01 09:20:00.000000"


def test_a_forged_client_time_in_the_grace_window_cannot_precede_the_last_write():
    stored, before = {1: (5, "B")}, at(59, 50)
    forged = decide(entry(seq=6, item=2, client_time=at(59, 40)), stored, state=EXPIRED, received_at=at(61),
                    written_before=before)
    assert forged.code == "bad_client_time"
    assert decide(entry(seq=6, item=2, client_time=at(59, 55)), stored, state=EXPIRED, received_at=at(61),
                  written_before=before).changes


def test_terminated_attempts_refuse_writes_even_within_grace():
    terminated = terminate(started(), "替考", 3, "p", at(30))
    decision = decide(entry(client_time=at(29)), state=terminated, received_at=at(30, 5))
    assert (decision.outcome, decision.code) == (Outcome.REFUSED, "terminated")
    assert decision.message == "考试已被终止，答案不再保存。"


def test_duplicates_and_stale_entries_are_acked_even_after_closing():
    """A browser reconnecting late must be able to clear its journal of what was stored."""
    terminated = terminate(started(), "替考", 3, "p", at(30))
    stored = {1: (4, "B")}
    assert decide(entry(seq=4, value="B"), stored, state=terminated, received_at=at(90)).outcome is Outcome.DUPLICATE
    assert decide(entry(seq=3, value="A"), stored, state=terminated, received_at=at(90)).outcome is Outcome.STALE
