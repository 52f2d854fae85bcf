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
