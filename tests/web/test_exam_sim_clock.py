"""The simulated candidate's estimate of the server clock (as the exam page does it,
docs/protocol.md "Clock"): the quickest round trip wins, so a slow ack does not move the
deadline."""

from __future__ import annotations

import datetime as dt

from web.exam_sim import SimCandidate, SimSeat

EPOCH = 1_800_000_000.0  # the server's clock, in seconds


def iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()


def test_the_deadline_follows_the_quickest_round_trip_not_the_slowest():
    cand = SimCandidate("http://127.0.0.1:1", SimSeat("T", "ID", 7))
    # start: sent at local 100, the server decided at EPOCH (remaining 180 s), but the ack
    # waited in the server's send queue and arrived at local 120.
    cand._clock_sample(100.0, 120.0, iso(EPOCH))
    cand._take_state({"status": "in_progress", "remaining_seconds": 180, "server_time": iso(EPOCH),
                      "last_seq": 0})
    assert abs(cand._deadline - (110.0 + 180)) < 1e-3  # midpoint guess: off by up to 10 s
    # a quick answer ack: sent at local 130.00, back at 130.02, server time EPOCH + 30.01
    cand._clock_sample(130.0, 130.02, iso(EPOCH + 30.01))
    assert abs(cand._deadline - (100.0 + 180)) < 1e-3  # the true deadline on the local clock
    cand._clock_sample(140.0, 149.0, iso(EPOCH + 48))  # a slow one later changes nothing
    assert abs(cand._deadline - (100.0 + 180)) < 1e-3


class _Scripted(SimCandidate):
    """A simulated candidate whose acks come from a script instead of a server."""

    def __init__(self, replies):
        super().__init__("http://127.0.0.1:1", SimSeat("T", "ID", 7), wait_poll=0.01)
        self.replies, self.sent = replies, []
        self._sleep = lambda seconds: False  # no waiting in the test

    def connect(self):
        self.status = "not_started"

    def _call(self, event, payload, phase):
        self.sent.append(event)
        if not self.replies:
            self.stop.set()
            return None
        return self.replies.pop(0)(event)


def _state(status, opened=False):
    return {"ok": True, "state": {"status": status, "remaining_seconds": 60, "server_time": iso(EPOCH),
                                  "last_seq": 0, "items": [], "opened": opened}}


def test_a_lost_arrive_ack_is_followed_by_a_state_read_not_a_storm_of_arrives():
    """The server committed the arrival but the ack timed out: the candidate reads the state
    (now waiting) before anything else, instead of re-sending arrive, which the server refuses
    as illegal_transition, in a tight loop (seen in bench-exam: 3,000 such loops)."""
    cand = _Scripted([
        lambda e: _state("not_started"),  # the first sync
        lambda e: None,  # arrive: no ack
        lambda e: _state("waiting"),  # the state read that follows
        lambda e: _state("waiting", opened=True),  # the next state read: the room is open
        lambda e: _state("in_progress"),  # start
    ])
    cand._run()
    assert cand.sent[:5] == ["state", "arrive", "state", "state", "start"]
    assert cand.sent.count("arrive") == 1


def test_while_the_room_is_closed_the_candidate_asks_for_the_state_not_start():
    """As the exam page: a waiting candidate polls `state` (every wait_poll, or on a push) and
    sends `start` only once the state says the room is open."""
    cand = _Scripted([lambda e: _state("waiting")] * 4 + [lambda e: _state("waiting", opened=True),
                                                          lambda e: _state("in_progress")])
    cand._run()
    assert cand.sent[:6] == ["state"] * 5 + ["start"]


def test_a_refused_arrive_that_cannot_pass_stops_the_candidate():
    cand = _Scripted([lambda e: _state("not_started"), lambda e: {"ok": False, "code": "forbidden",
                                                                  "error": "无权"}])
    cand._run()
    assert cand.error == "arrive refused: forbidden" and cand.sent == ["state", "arrive"]


def test_a_room_opened_ahead_of_its_start_is_waited_for_not_given_up():
    """`start` before the room's start is refused `before_start` (one clock for the room): the
    simulated candidate reads the state and tries again later instead of stopping."""
    before = {"ok": False, "code": "before_start", "error": "考试尚未开始（距开考还有 3 分钟），请等待。"}
    cand = _Scripted([lambda e: _state("waiting", opened=True), lambda e: before,
                      lambda e: _state("waiting", opened=True), lambda e: _state("in_progress")])
    cand._run()
    assert cand.error is None
    assert cand.sent[:4] == ["state", "start", "state", "start"]
