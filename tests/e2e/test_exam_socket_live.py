"""The candidate's ``/exam`` namespace on a live gevent server with a real python-socketio
client: an answer is acked after commit and read back through ``state``."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
import requests
import socketio

from tests.e2e.seeding import started_seat

pytestmark = pytest.mark.e2e


def _seated_candidate(live_server) -> dict:
    return started_seat(live_server)


def _candidate_http(base: str, ticket_no: str, id_number: str) -> requests.Session:
    http = requests.Session()
    page = http.get(base + "/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = http.post(base + "/login/candidate", data={"ticket_no": ticket_no, "id_number": id_number,
                                                      "csrf_token": token}, timeout=10)
    assert resp.status_code == 200 and "/login" not in resp.url, resp.url
    return http


def test_an_answer_is_acked_and_read_back_through_state(live_server):
    seat = _seated_candidate(live_server)
    attempt_id = seat["attempt_id"]
    client = socketio.Client(reconnection=False,
                             http_session=_candidate_http(live_server.url, seat["ticket_no"], seat["id_number"]))
    client.connect(live_server.url, namespaces=["/exam"], auth={"attempt_id": attempt_id, "device_id": "live-device-1"},
                   wait_timeout=10)
    try:
        server_time = client.call("state", {"attempt_id": attempt_id}, namespace="/exam",
                                  timeout=10)["state"]["server_time"]
        payload = {"attempt_id": attempt_id, "position": 1, "seq": 1, "value": "B", "client_time": server_time}
        ack = client.call("answer", payload, namespace="/exam", timeout=10)
        server_time = dt.datetime.fromisoformat(ack.pop("server_time"))  # for the page's clock estimate
        assert abs((server_time - dt.datetime.now(dt.UTC)).total_seconds()) < 60
        assert ack == {"ok": True, "seq": 1, "result": "accepted"}
        again = client.call("answer", payload, namespace="/exam", timeout=10)
        assert again["result"] == "duplicate"
        state = client.call("state", {"attempt_id": attempt_id}, namespace="/exam", timeout=10)["state"]
        assert state["answers"] == {"1": {"seq": 1, "value": "B"}}
        assert state["status"] == "in_progress" and state["remaining_seconds"] > 80 * 60
        assert '"key"' not in json.dumps(state)
    finally:
        client.disconnect()


def test_a_second_computer_is_refused_with_the_move_pending_message(live_server):
    """The refusal carries its Chinese message and code to a real client (the page relies on
    ``data.code == "move_pending"`` to keep retrying until the proctor approves)."""
    seat = _seated_candidate(live_server)
    attempt_id = seat["attempt_id"]
    first = socketio.Client(reconnection=False,
                            http_session=_candidate_http(live_server.url, seat["ticket_no"], seat["id_number"]))
    first.connect(live_server.url, namespaces=["/exam"], auth={"attempt_id": attempt_id, "device_id": "computer-AAA"},
                  wait_timeout=10)
    try:
        second = socketio.Client(reconnection=False,
                                 http_session=_candidate_http(live_server.url, seat["ticket_no"], seat["id_number"]))
        refusals = []
        second.on("connect_error", lambda data: refusals.append(data), namespace="/exam")
        try:
            second.connect(live_server.url, namespaces=["/exam"],
                           auth={"attempt_id": attempt_id, "device_id": "computer-BBB"}, wait_timeout=10)
        except socketio.exceptions.ConnectionError:
            pass
        assert refusals and refusals[0]["message"].startswith("本试卷已在另一台电脑上作答")
        assert refusals[0]["data"] == {"code": "move_pending"}
        assert not second.connected
    finally:
        first.disconnect()


#: Like ``seeding.STARTED_SEAT``, but started 40 minutes ago, so the paper may be submitted.
SUBMITTABLE_SEAT = r"""
import datetime as dt, json
from examroom import attempts as svc
from tests.examroom.worlds import Exam
from web import create_app
from web.extensions import db

app = create_app({"SOCKETIO_ASYNC_MODE": "threading"})
with app.app_context():
    s = db.session
    exam = Exam(s)
    now = dt.datetime.now(dt.UTC)
    exam.sitting.starts_at = now - dt.timedelta(minutes=42)
    s.flush()
    svc.open_room(s, exam.proctor1, exam.room1.id, now - dt.timedelta(minutes=41))
    attempt = exam.attempt(0)
    svc.start_attempt(s, exam.candidates[0], attempt.id, now - dt.timedelta(minutes=40))
    s.commit()
    c = exam.candidates[0]
    print(json.dumps({"attempt_id": attempt.id, "ticket_no": _factories.ticket_no(c), "id_number": c.id_number,
                      "started_at": (now - dt.timedelta(minutes=40)).isoformat()}))
"""


def _connect(live_server, seat, device: str) -> socketio.Client:
    client = socketio.Client(reconnection=False,
                             http_session=_candidate_http(live_server.url, seat["ticket_no"], seat["id_number"]))
    client.connect(live_server.url, namespaces=["/exam"], auth={"attempt_id": seat["attempt_id"], "device_id": device},
                   wait_timeout=10)
    return client


def test_bad_values_get_their_documented_codes_and_a_submitted_paper_is_never_written(live_server):
    """Issue #11 points 1 and 2 probed over the real wire (python-socketio's JSON, which
    escapes a lone surrogate as ``\\ud800`` just as ``JSON.stringify`` does)."""
    from tests.e2e.seeding import run_script

    seat = run_script(live_server, SUBMITTABLE_SEAT)
    attempt_id = seat["attempt_id"]
    ref = {"attempt_id": attempt_id}
    started = dt.datetime.fromisoformat(seat["started_at"])
    client = _connect(live_server, seat, "live-device-A")
    try:
        def answer(position: int, seq: Any, value: Any, when: dt.datetime | str) -> dict:
            payload = {**ref, "position": position, "seq": seq, "value": value,
                       "client_time": when if isinstance(when, str) else when.isoformat()}
            return client.call("answer", payload, namespace="/exam", timeout=10)

        now = dt.datetime.now(dt.UTC)
        probes = [
            (answer(1, 2**31, "B", now), "bad_seq"),
            (answer(1, 2**63, "B", now), "bad_seq"),
            (answer(1, True, "B", now), "bad_seq"),
            (answer(1, 1, "\ud800", now), "bad_value"),
            (answer(4, 1, {"\udfff": ["x"]}, now), "bad_value"),
            (answer(1, 1, [[[[[[[[[[["A"]]]]]]]]]]], now), "bad_value"),
            (answer(1, 1, "B", "2026-10-16T09:02:00\ud800+08:00"), "bad_client_time"),
            (answer(1, 1, "B", started - dt.timedelta(seconds=1)), "bad_client_time"),
        ]
        for ack, code in probes:
            assert ack["ok"] is False and ack["code"] == code and ack["error"], (code, ack)
        assert answer(2, 3, "D", now)["result"] == "accepted"
        backwards = answer(3, 4, "√", now - dt.timedelta(seconds=30))  # before the last acknowledged write
        assert backwards["ok"] is False and backwards["code"] == "bad_client_time"
        assert answer(1, 2**31 - 1, "B", now)["result"] == "accepted"

        submitted = client.call("submit", ref, namespace="/exam", timeout=10)
        assert submitted["ok"] is True and submitted["state"]["status"] == "submitted", submitted
        for when in (now, started + dt.timedelta(minutes=1), started - dt.timedelta(minutes=5)):
            ack = answer(2, 6, "D", when)
            assert ack["ok"] is False and ack["code"] == "submitted", ack
            replay = client.call("replay", {**ref, "entries": [
                {**ref, "position": 3, "seq": 7, "value": "√", "client_time": when.isoformat()}]},
                namespace="/exam", timeout=10)
            assert replay["results"][0]["code"] == "submitted", replay
    finally:
        client.disconnect()
    other = _connect(live_server, seat, "live-device-B")  # another computer may look at a closed paper ...
    try:
        state = other.call("state", ref, namespace="/exam", timeout=10)["state"]
        assert state["status"] == "submitted"
        assert state["answers"] == {"1": {"seq": 2**31 - 1, "value": "B"}, "2": {"seq": 3, "value": "D"}}
        ack = other.call("answer", {**ref, "position": 2, "seq": 8, "value": "D",
                                    "client_time": dt.datetime.now(dt.UTC).isoformat()}, namespace="/exam", timeout=10)
        assert ack["ok"] is False and ack["code"] == "submitted"  # ... but never write to it
    finally:
        other.disconnect()
