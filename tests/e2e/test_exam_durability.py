"""Durability of the ``/exam`` protocol against a real server process (issue 4 acceptance):

* ``kill -9`` of the server mid-exam and a restart lose no acked answer, every answer ends up
  stored with its latest value, and the remaining time after the restart is the one derived
  from the stored start and the allowed minutes;
* the server's time-up job submits an attempt whose deadline passed with no browser connected;
* a candidate can neither read nor write another candidate's attempt over a real client.

The server is ``python -m web.serve`` (gevent) in its own process group, on its own database
(a SQLite file, or ``<DATABASE_URL's db>_durability`` on PostgreSQL), set up as ``make run``
does: migrations, reference data, demo data (which includes the 30-seat demo room). The
candidates are :class:`web.exam_sim.SimCandidate`: real python-socketio clients that log in
over HTTP and keep a journal, as the exam page does.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import socketio
from sqlalchemy import create_engine, text

from tests.dbutil import fresh_database
from tests.e2e.conftest import ROOT, _flask, _free_port
from web.config import database_url
from web.exam_sim import SimCandidate, SimSeat, login

pytestmark = [
    pytest.mark.e2e,
    # The clients' websockets to the SIGKILLed process die unclosed inside python-engineio's
    # reader; that is the point of the test, not a leak of ours.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

DEMO_MINUTES = 60  # examroom.demo.DEMO_DURATION_MINUTES


class Server:
    """``python -m web.serve`` in its own process group, killable with SIGKILL and restartable."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log_path = env, port, log
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "web.serve", "--port", str(self.port)], cwd=ROOT,
                                         env=self.env, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as resp:  # noqa: S310 (loopback)
                    if resp.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("server did not start:\n" + self.log_path.read_text())
            time.sleep(0.2)

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("durability")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": fresh_database("durability", tmp),
        "FLASK_SECRET_KEY": "durability-secret-key",
        "FLASK_SESSION_COOKIE_SECURE": "false",
        "FLASK_REMEMBER_COOKIE_SECURE": "false",
        "FLASK_EXAM_TIMEUP_INTERVAL": "1",
    }
    env.pop("FLASK_SOCKETIO_MESSAGE_QUEUE", None)
    _flask(env, "db", "upgrade")
    _flask(env, "seed", "reference")
    _flask(env, "seed", "demo")
    _flask(env, "exam", "demo-reset")
    srv = Server(env, port, tmp / "server.log")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def _python(env: dict[str, str], code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


# The demo room, opened by its proctor now; the seats (ticket, ID number, attempt) to simulate.
OPEN_DEMO_ROOM = r"""
import datetime as dt, json
from sqlalchemy import select
from examroom import attempts as svc
from examroom.demo import DEMO_HUMAN_TICKET, DEMO_PROCTORS, demo_room
from foundation.accounts import User
from web import create_app
from web.extensions import db

app = create_app({"SOCKETIO_ASYNC_MODE": "threading"})
with app.app_context():
    s = db.session
    found = demo_room(s)
    proctor = s.scalar(select(User).where(User.username == DEMO_PROCTORS[0]))
    svc.open_room(s, proctor, found.room.id, dt.datetime.now(dt.UTC))
    seats = []
    tickets = {e.candidate_id: e.ticket_no for e in found.batch.candidates}
    for seat in found.room.seats:
        c = seat.candidate
        if c is not None and tickets[c.id] != DEMO_HUMAN_TICKET:
            a = svc.attempt_for_candidate(s, c, found.sitting.id)
            seats.append([tickets[c.id], c.id_number, a.id])
    s.commit()
    print(json.dumps({"seats": seats}))
"""


def _seats(server: Server) -> list[SimSeat]:
    if not hasattr(server, "seats"):
        raw = _python(server.env, OPEN_DEMO_ROOM)["seats"]
        server.seats = [SimSeat(t, i, a, label=t) for t, i, a in raw]  # type: ignore[attr-defined]
    return server.seats  # type: ignore[attr-defined,no-any-return]


def _engine(server: Server):  # noqa: ANN202
    return create_engine(database_url("", server.env["DATABASE_URL"], None))


def _stored(engine, attempt_id: int) -> dict[int, tuple[int, object]]:  # noqa: ANN001
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT position, seq, value_json FROM response WHERE attempt_id = :a"),
                            {"a": attempt_id}).all()
    return {pos: (seq, json.loads(value)) for pos, seq, value in rows}


def _aware(value: object) -> dt.datetime:
    when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _wait(predicate, timeout: float, what: str) -> None:  # noqa: ANN001
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_acked_answers_and_the_clock_survive_kill_9_and_a_restart(server):
    seats = _seats(server)[:10]
    stop = threading.Event()
    cands = [SimCandidate(server.url, seat, pace=(0.02, 0.1), changes=40, submit=False, focus_loss=0.0,
                          ack_timeout=5, wait_poll=0.5, stop=stop) for seat in seats]
    threads = [threading.Thread(target=c.run, daemon=True) for c in cands]
    for t in threads:
        t.start()
    try:
        # Mid-exam: everyone started and has answered a few times, nobody is done.
        _wait(lambda: all(c.made >= 5 for c in cands), 60, "every candidate answering")
        assert all(c.made < 40 for c in cands)
        sent_before_kill = sum(c.ledger.sent for c in cands)
        server.kill9()
        time.sleep(1.5)  # answers made meanwhile stay in the journals
        server.start()
        _wait(lambda: all(c.made >= 40 for c in cands), 120, "every candidate finishing after the restart")
        stop.set()
        for t in threads:
            t.join(10)
        assert not [c.error for c in cands if c.error]
        assert all(c.ledger.reconnects >= 1 for c in cands), "every client reconnected to the new process"
        assert sum(c.ledger.sent for c in cands) > sent_before_kill
        # Flush what is left in each journal (as the page does on its next connect).
        for c in cands:
            assert c.sync(), f"replay for {c.seat.ticket_no} failed"
            assert c.journal == {}, "every journal entry acked after the replay"

        engine = _engine(server)
        for c in cands:
            db_answers = _stored(engine, c.seat.attempt_id)
            assert db_answers == c.ledger.acked, f"attempt {c.seat.attempt_id}: stored != acked"
            assert not c.ledger.refused, c.ledger.refused

        # The clock after the restart: remaining = the room's start (the later of the sitting's
        # start and the room's opening) + allowed minutes - server time.
        with engine.connect() as conn:
            started = {a: max(_aware(begins), _aware(json.loads(state_json)["session_opened_at"]))
                       for a, begins, state_json in conn.execute(text(
                           "SELECT attempt.id, exam_session.starts_at, attempt.state_json FROM attempt"
                           " JOIN exam_session ON exam_session.id = attempt.exam_session_id"
                           " WHERE attempt.started_at IS NOT NULL")).all()}
        engine.dispose()
        for c in cands:
            ack = c.client.call("state", {"attempt_id": c.seat.attempt_id}, namespace="/exam", timeout=10)
            state = ack["state"]
            server_time = _aware(state["server_time"])
            expected = (started[c.seat.attempt_id] + dt.timedelta(minutes=DEMO_MINUTES) - server_time).total_seconds()
            assert abs(state["remaining_seconds"] - expected) <= 2
            local = (started[c.seat.attempt_id] + dt.timedelta(minutes=DEMO_MINUTES)
                     - dt.datetime.now(dt.UTC)).total_seconds()
            assert abs(state["remaining_seconds"] - local) <= 5  # same machine: only drift in between
            assert state["status"] == "in_progress"
            assert {int(k): (v["seq"], v["value"]) for k, v in state["answers"].items()} == c.ledger.acked
    finally:
        stop.set()
        for c in cands:
            c.close()
        gc.collect()  # collect the dead sockets here, under this test's warning filters


# A one-minute sitting started 40 s ago, room opened before that, candidate 0's attempt.
SHORT_SITTING = r"""
import datetime as dt, json
from examroom import attempts as svc
from tests.examroom.worlds import Exam
from tests.factories import ticket_no
from web import create_app
from web.extensions import db

app = create_app({"SOCKETIO_ASYNC_MODE": "threading"})
with app.app_context():
    s = db.session
    exam = Exam(s)
    now = dt.datetime.now(dt.UTC)
    exam.sitting.duration_minutes = 1
    exam.sitting.starts_at = now - dt.timedelta(minutes=2)
    s.flush()
    # Opened 40 s ago (after the scheduled start): the room's minute runs until 20 s from now.
    svc.open_room(s, exam.proctor1, exam.room1.id, now - dt.timedelta(seconds=40))
    attempt = exam.attempt(0)
    svc.start_attempt(s, exam.candidates[0], attempt.id, now - dt.timedelta(seconds=40))
    s.commit()
    c = exam.candidates[0]
    print(json.dumps({"attempt_id": attempt.id, "ticket_no": ticket_no(c), "id_number": c.id_number}))
"""


def test_time_up_submits_an_attempt_with_no_browser_connected(server):
    seat = _python(server.env, SHORT_SITTING)
    attempt_id = seat["attempt_id"]
    sim = SimCandidate(server.url, SimSeat(seat["ticket_no"], seat["id_number"], attempt_id), ack_timeout=10)
    sim.connect()
    try:
        assert sim.sync()
        assert sim.status == "in_progress" and 0 < sim.state["remaining_seconds"] <= 20
        assert sim.answer(sim.state["items"][0])
    finally:
        sim.close()  # the browser is gone
    engine = _engine(server)

    def closed() -> bool:
        with engine.connect() as conn:
            return conn.execute(text("SELECT status FROM attempt WHERE id = :a"), {"a": attempt_id}).scalar() != \
                "in_progress"

    _wait(closed, 40, "the time-up job")
    with engine.connect() as conn:
        status, submitted_at, started_at = conn.execute(
            text("SELECT status, submitted_at, started_at FROM attempt WHERE id = :a"), {"a": attempt_id}).one()
        kinds = [k for (k,) in conn.execute(text(
            "SELECT kind FROM attempt_event WHERE attempt_id = :a ORDER BY id"), {"a": attempt_id}).all()]
        actor = conn.execute(text("SELECT actor_name FROM attempt_event WHERE attempt_id = :a AND kind = 'expire'"),
                             {"a": attempt_id}).scalar()
    assert status == "expired"
    assert _aware(submitted_at) >= _aware(started_at) + dt.timedelta(minutes=1)  # at the deadline, not before
    assert kinds[-1] == "expire" and "disconnect" in kinds and actor == "系统"
    assert len(_stored(engine, attempt_id)) == 1  # the answer made before time-up is kept
    engine.dispose()

    # Coming back later: the page learns the exam is over; answering is refused.
    back = SimCandidate(server.url, SimSeat(seat["ticket_no"], seat["id_number"], attempt_id), ack_timeout=10)
    back.connect()
    try:
        assert back.sync()
        assert back.status == "expired" and back.state["remaining_seconds"] == 0
    finally:
        back.close()


def test_a_candidate_can_neither_read_nor_write_another_attempt(server):
    mine, theirs = _seats(server)[20], _seats(server)[21]
    http = login(server.url, mine.ticket_no, mine.id_number)

    # Connecting to another candidate's attempt is refused at the handshake.
    intruder = socketio.Client(reconnection=False, http_session=http)
    with pytest.raises(socketio.exceptions.ConnectionError):
        intruder.connect(server.url, namespaces=["/exam"], transports=["websocket"], wait_timeout=10,
                         auth={"attempt_id": theirs.attempt_id, "device_id": "intruder-device-1"})
    intruder.disconnect()

    # Connected to one's own attempt, naming the other attempt in events gets error acks.
    client = socketio.Client(reconnection=False, http_session=http)
    client.connect(server.url, namespaces=["/exam"], transports=["websocket"], wait_timeout=10,
                   auth={"attempt_id": mine.attempt_id, "device_id": f"sim-{mine.attempt_id:08d}"})
    try:
        ref = {"attempt_id": theirs.attempt_id}
        now = dt.datetime.now(dt.UTC).isoformat()
        read = client.call("state", ref, namespace="/exam", timeout=10)
        write = client.call("answer", {**ref, "position": 1, "seq": 1, "value": "A", "client_time": now},
                            namespace="/exam", timeout=10)
        replay = client.call("replay", {**ref, "entries": [
            {**ref, "position": 1, "seq": 1, "value": "A", "client_time": now}]}, namespace="/exam", timeout=10)
        start = client.call("start", ref, namespace="/exam", timeout=10)
        submit = client.call("submit", ref, namespace="/exam", timeout=10)
        for ack in (read, write, replay, start, submit):
            assert ack["ok"] is False and ack["code"] == "wrong_attempt", ack
            assert "state" not in ack and "answers" not in json.dumps(ack)
        # An entry of the other attempt inside a replay of one's own is refused as a whole.
        mixed = client.call("replay", {"attempt_id": mine.attempt_id, "entries": [
            {**ref, "position": 1, "seq": 1, "value": "A", "client_time": now}]}, namespace="/exam", timeout=10)
        assert mixed["ok"] is False
        own = client.call("state", {"attempt_id": mine.attempt_id}, namespace="/exam", timeout=10)
        assert own["ok"] and own["state"]["attempt_id"] == mine.attempt_id
        assert '"key"' not in json.dumps(own)
    finally:
        client.disconnect()
        http.close()
    engine = _engine(server)
    with engine.connect() as conn:
        events = conn.execute(text("SELECT COUNT(*) FROM attempt_event WHERE attempt_id = :a AND kind = 'connect'"),
                              {"a": theirs.attempt_id}).scalar()
    assert _stored(engine, theirs.attempt_id) == {}
    assert events == 0  # the refused handshake left nothing on the other attempt
    engine.dispose()
