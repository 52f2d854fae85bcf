"""The candidate's ``/exam`` namespace on a live gevent server with a real python-socketio
client: an answer is acked after commit and read back through ``state``."""

from __future__ import annotations

import datetime as dt
import json
import re

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
