"""Issue 11, point 8, live: a serving process is killed with ``kill -9`` while a candidate is
answering on it (no ``disconnect`` is ever written); the restarted server's heartbeat finds the
dead process's stale heartbeat and the proctor's live console turns the seat 离线.

Real processes, real sockets; short heartbeat settings so the test takes seconds."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import socketio

from tests.dbutil import fresh_database
from tests.e2e.conftest import ROOT, LiveServer, _flask, _free_port, stop_server
from tests.e2e.logins import http_login, wait_push
from tests.e2e.seeding import started_seat

pytestmark = pytest.mark.e2e


def _start(env: dict[str, str], port: int, log: Any) -> subprocess.Popen[bytes]:
    server = subprocess.Popen([sys.executable, "-m", "web.serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:  # noqa: S310
                if resp.status == 200:
                    return server
        except OSError:
            pass
        assert server.poll() is None and time.monotonic() < deadline, "server did not start"
        time.sleep(0.2)


@pytest.fixture
def crash_env(tmp_path: Any) -> Iterator[tuple[dict[str, str], Any]]:
    env = {**os.environ, "DATABASE_URL": fresh_database("crash", tmp_path), "FLASK_SECRET_KEY": "crash-secret",
           "FLASK_SESSION_COOKIE_SECURE": "false", "FLASK_REMEMBER_COOKIE_SECURE": "false",
           "FLASK_EXAM_HEARTBEAT_INTERVAL": "0.5", "FLASK_EXAM_INSTANCE_STALE_SECONDS": "3"}
    env.pop("FLASK_SOCKETIO_MESSAGE_QUEUE", None)  # one process at a time
    _flask(env, "db", "upgrade")
    _flask(env, "seed", "reference")
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115  (closed below)
    try:
        yield env, log
    finally:
        log.close()


def test_a_killed_processs_candidate_turns_offline_on_the_restarted_servers_console(crash_env):
    from tests.factories import PASSWORD

    env, log = crash_env
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    first = _start(env, port, log)
    seat = started_seat(LiveServer(url=url, env=env, demo_output=""))
    attempt_id, room_id = seat["attempt_id"], seat["room_id"]
    candidate = socketio.Client(reconnection=False, http_session=http_login(
        url, "/login/candidate", {"ticket_no": seat["ticket_no"], "id_number": seat["id_number"]}))
    proctor = None
    second = None
    try:
        candidate.connect(url, namespaces=["/exam"], transports=["websocket"], wait_timeout=10,
                          auth={"attempt_id": attempt_id, "device_id": "crash-test-device"})
        assert candidate.call("state", {"attempt_id": attempt_id}, namespace="/exam", timeout=10)["ok"] is True
        os.kill(first.pid, signal.SIGKILL)  # no disconnect is ever written by this process
        first.wait(timeout=10)

        second = _start(env, port, log)  # the restart: a new process with a new id
        seats: queue.Queue = queue.Queue()
        proctor = socketio.Client(reconnection=False, http_session=http_login(
            url, "/login", {"username": seat["proctor"], "password": PASSWORD}))
        proctor.on("seat", seats.put, namespace="/proctor")
        proctor.on("seats", lambda batch: [seats.put(s) for s in batch["seats"]], namespace="/proctor")
        proctor.connect(url, namespaces=["/proctor"], transports=["websocket"], wait_timeout=10)
        ack = proctor.call("watch", {"room_id": room_id}, namespace="/proctor", timeout=10)
        assert ack["ok"] is True
        watched = next(s for s in ack["snapshot"]["seats"] if s["attempt_id"] == attempt_id)
        if watched["status"] != "offline":  # not reaped yet: the live view is told when it is
            assert watched["status"] == "answering" and watched["online"] is True
            pushed = wait_push(seats, lambda s: s["attempt_id"] == attempt_id and s["status"] == "offline")
            assert pushed["online"] is False and pushed["last_event"]["label"] == "断线"
        again = proctor.call("watch", {"room_id": room_id}, namespace="/proctor", timeout=10)["snapshot"]
        final = next(s for s in again["seats"] if s["attempt_id"] == attempt_id)
        assert (final["status"], final["status_label"], final["online"]) == ("offline", "离线", False)
    finally:
        for client in (candidate, proctor):
            if client is not None and client.connected:
                client.disconnect()
        if second is not None:
            stop_server(second, open(os.devnull, "w"))  # noqa: SIM115  (closed by stop_server)
        if first.poll() is None:
            first.kill()
