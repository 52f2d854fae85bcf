"""The proctor console's ``/proctor`` namespace on a live gevent server with real python-socketio
clients: a proctor watching a room sees a ``seat`` update when a candidate answers, and a pause
sent from the console reaches the candidate's page as ``status``."""

from __future__ import annotations

import datetime as dt
import queue

import pytest
import socketio

from tests.e2e.logins import http_login, wait_push
from tests.e2e.seeding import started_seat

pytestmark = pytest.mark.e2e


def _setup(live_server) -> dict:
    return started_seat(live_server)


def test_the_console_sees_an_answer_and_a_pause_reaches_the_candidate(live_server):
    from tests.factories import PASSWORD

    seat = _setup(live_server)
    attempt_id, room_id = seat["attempt_id"], seat["room_id"]
    seats: queue.Queue = queue.Queue()
    statuses: queue.Queue = queue.Queue()

    proctor = socketio.Client(reconnection=False, http_session=http_login(
        live_server.url, "/login", {"username": seat["proctor"], "password": PASSWORD}))
    proctor.on("seat", seats.put, namespace="/proctor")  # after a proctor's action
    # candidate events arrive coalesced, once a second per room
    proctor.on("seats", lambda batch: [seats.put(s) for s in batch["seats"]], namespace="/proctor")
    candidate = socketio.Client(reconnection=False, http_session=http_login(
        live_server.url, "/login/candidate", {"ticket_no": seat["ticket_no"], "id_number": seat["id_number"]}))
    candidate.on("status", statuses.put, namespace="/exam")
    proctor.connect(live_server.url, namespaces=["/proctor"], wait_timeout=10)
    try:
        watch = proctor.call("watch", {"room_id": room_id}, namespace="/proctor", timeout=10)
        assert watch["ok"] is True
        mine = next(s for s in watch["snapshot"]["seats"] if s["attempt_id"] == attempt_id)
        assert mine["answered"] == 0
        candidate.connect(live_server.url, namespaces=["/exam"],
                          auth={"attempt_id": attempt_id, "device_id": "live-proctor-test"}, wait_timeout=10)
        online = wait_push(seats, lambda s: s["attempt_id"] == attempt_id and s["online"])
        assert online["status"] == "answering"
        ack = candidate.call("answer", {"attempt_id": attempt_id, "position": 1, "seq": 1, "value": "B",
                                        "client_time": dt.datetime.now(dt.UTC).isoformat()},
                             namespace="/exam", timeout=10)
        assert ack["ok"] is True
        answered = wait_push(seats, lambda s: s["attempt_id"] == attempt_id and s["answered"] == 1)
        assert answered["last_saved_at"] and answered["room_id"] == room_id

        paused = proctor.call("pause", {"attempt_id": attempt_id}, namespace="/proctor", timeout=10)
        assert paused["ok"] is True and paused["seat"]["status"] == "paused"
        status = wait_push(statuses, lambda p: p["attempt_id"] == attempt_id)
        assert status["reason"] == "paused" and status["message"]
        refused = candidate.call("answer", {"attempt_id": attempt_id, "position": 2, "seq": 2, "value": "D",
                                            "client_time": dt.datetime.now(dt.UTC).isoformat()},
                                 namespace="/exam", timeout=10)
        assert refused["ok"] is False and refused["code"] == "paused"
    finally:
        for client in (candidate, proctor):
            if client.connected:
                client.disconnect()
