"""``python -m web.serve --workers 2``: two serving processes on one port (SO_REUSEPORT),
pushes between them through Redis, the attempt binding in the database.

The platform on PostgreSQL only (SQLite serves one process, and says so): a candidate and the
proctor console connected to *different* processes still see each other's changes live."""

from __future__ import annotations

import datetime as dt
import os
import queue
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import socketio

from tests.dbutil import fresh_database
from tests.e2e.conftest import REDIS_URL, ROOT, LiveServer, _flask, _free_port, stop_server
from tests.e2e.logins import http_login, wait_push
from tests.e2e.seeding import started_seat

pytestmark = pytest.mark.e2e

ON_POSTGRES = (os.environ.get("DATABASE_URL") or "").startswith("postgresql")


def _serve(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "web.serve", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def test_several_workers_are_refused_without_a_queue_or_on_sqlite(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}", "FLASK_SECRET_KEY": "workers"}
    env.pop("FLASK_SOCKETIO_MESSAGE_QUEUE", None)
    no_queue = _serve(env, "--workers", "2", "--port", str(_free_port()))
    assert no_queue.returncode == 2 and "消息队列" in no_queue.stderr
    on_sqlite = _serve({**env, "FLASK_SOCKETIO_MESSAGE_QUEUE": REDIS_URL}, "--workers", "2", "--port",
                       str(_free_port()))
    assert on_sqlite.returncode == 2 and "PostgreSQL" in on_sqlite.stderr


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, subprocess.Popen[bytes]]]:
    tmp = tmp_path_factory.mktemp("workers")
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": fresh_database("workers", tmp), "FLASK_SECRET_KEY": "workers-secret",
           "FLASK_SESSION_COOKIE_SECURE": "false", "FLASK_REMEMBER_COOKIE_SECURE": "false",
           "FLASK_SOCKETIO_MESSAGE_QUEUE": REDIS_URL, "FLASK_SOCKETIO_CHANNEL": f"skilleval-workers-{port}"}
    _flask(env, "db", "upgrade")
    _flask(env, "seed", "reference")
    _flask(env, "seed", "demo")
    log = open(tmp / "server.log", "w")  # noqa: SIM115  (closed below)
    server = subprocess.Popen([sys.executable, "-m", "web.serve", "--workers", "2", "--port", str(port)], cwd=ROOT,
                              env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while len(_workers(server.pid)) < 2 or not _answers(url):
        if server.poll() is not None or time.monotonic() > deadline:
            log.close()
            raise AssertionError("workers did not start:\n" + (tmp / "server.log").read_text())
        time.sleep(0.2)
    try:
        yield LiveServer(url=url, env=env, demo_output=""), server
    finally:
        stop_server(server, log)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as resp:  # noqa: S310 (loopback)
            return resp.status == 200
    except OSError:
        return False


def _children(pid: int, module: str) -> list[int]:
    """The supervisor's child processes running ``python -m <module>``."""
    try:
        pids = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    found = []
    for child in pids:
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if module.encode() in argv:
            found.append(child)
    return found


def _workers(pid: int) -> list[int]:
    """The serving processes (the embedded job worker, ``web.worker``, is a child too)."""
    return _children(pid, "web.serve")


def _worker_of(client: socketio.Client, workers: list[int]) -> int:
    """The serving process holding a client's websocket: the server side of the TCP
    connection (found in /proc/net/tcp by the client's local port) is a socket inode that
    belongs to exactly one worker's open files."""
    client_port = client.eio.ws.sock.getsockname()[1]
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port = int(fields[2].split(":")[1], 16)
        if remote_port == client_port and fields[3] == "01":  # ESTABLISHED, seen from the server
            inodes.add(fields[9])
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return pid
    raise AssertionError(f"no worker holds the connection from port {client_port}")


@pytest.mark.skipif(not ON_POSTGRES, reason="several serving processes need PostgreSQL (SQLite is refused above)")
def test_a_candidate_and_the_console_on_different_workers_see_each_other(two_workers):
    from tests.factories import PASSWORD

    live, server = two_workers
    workers = _workers(server.pid)
    assert len(workers) == 2
    assert len(_children(server.pid, "web.worker")) == 1  # one job worker beside them, not one per process
    seat = started_seat(live)
    attempt_id, room_id = seat["attempt_id"], seat["room_id"]
    seats: queue.Queue = queue.Queue()
    statuses: queue.Queue = queue.Queue()
    proctor = socketio.Client(reconnection=False, http_session=http_login(
        live.url, "/login", {"username": seat["proctor"], "password": PASSWORD}))
    proctor.on("seat", seats.put, namespace="/proctor")
    proctor.on("seats", lambda batch: [seats.put(s) for s in batch["seats"]], namespace="/proctor")
    http = http_login(live.url, "/login/candidate", {"ticket_no": seat["ticket_no"], "id_number": seat["id_number"]})
    candidate = None
    try:
        proctor.connect(live.url, namespaces=["/proctor"], transports=["websocket"], wait_timeout=10)
        assert proctor.call("watch", {"room_id": room_id}, namespace="/proctor", timeout=10)["ok"] is True
        console_worker = _worker_of(proctor, workers)
        # The kernel picks the process per connection: reconnect (the same computer takes
        # over its own attempt) until the candidate lands on the other one.
        for _ in range(40):
            candidate = socketio.Client(reconnection=False, http_session=http)
            candidate.on("status", statuses.put, namespace="/exam")
            candidate.connect(live.url, namespaces=["/exam"], transports=["websocket"], wait_timeout=10,
                              auth={"attempt_id": attempt_id, "device_id": "two-workers-test"})
            if _worker_of(candidate, workers) != console_worker:
                break
            candidate.disconnect()
            candidate = None
        assert candidate is not None, "40 connections all landed on the console's process"

        ack = candidate.call("answer", {"attempt_id": attempt_id, "position": 1, "seq": 1, "value": "B",
                                        "client_time": dt.datetime.now(dt.UTC).isoformat()},
                             namespace="/exam", timeout=10)
        assert ack["ok"] is True
        # The candidate's process marks the seat and publishes; the console's process delivers.
        answered = wait_push(seats, lambda s: s["attempt_id"] == attempt_id and s["answered"] == 1)
        assert answered["online"] is True and answered["room_id"] == room_id

        paused = proctor.call("pause", {"attempt_id": attempt_id}, namespace="/proctor", timeout=10)
        assert paused["ok"] is True
        status = wait_push(statuses, lambda p: p["attempt_id"] == attempt_id)  # crossed back through Redis
        assert status["reason"] == "paused"
        refused = candidate.call("answer", {"attempt_id": attempt_id, "position": 2, "seq": 2, "value": "D",
                                            "client_time": dt.datetime.now(dt.UTC).isoformat()},
                                 namespace="/exam", timeout=10)
        assert refused["ok"] is False and refused["code"] == "paused"  # the other process's state, from the db
    finally:
        for client in (candidate, proctor):
            if client is not None and client.connected:
                client.disconnect()
