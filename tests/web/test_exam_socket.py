"""The candidate's exam namespace ``/exam`` through Flask-SocketIO's test client: connect
authorisation, durable answers (ack after commit, idempotent on seq), replay and the state."""

from __future__ import annotations

import datetime as dt
import json
import unittest.mock as mock

import pytest
from sqlalchemy import func, select

from examroom import proctoring
from examroom.models import AttemptEvent, Response, ResponseLog
from foundation.roles import Role
from tests.examroom.worlds import MIN, SECRET_ANALYSIS, SECRET_KEY_TEXT, T0, Exam
from tests.factories import make_user
from web.sockets import exam as exam_ns

NS = "/exam"


@pytest.fixture(scope="module")
def exam(module_session):
    """Built once for the module; each test runs in a savepoint of it (tests/conftest.py)."""
    return Exam(module_session)


@pytest.fixture
def clock(monkeypatch):
    """The namespace's clock, pinned inside the sitting."""
    current = {"now": T0 + 2 * MIN}
    monkeypatch.setattr(exam_ns, "now", lambda: current["now"])
    return current


def connect(app, client, login, user, attempt_id, device="device-one"):
    from web.extensions import socketio

    login(user)
    return socketio.test_client(app, namespace=NS, auth={"attempt_id": attempt_id, "device_id": device},
                                 flask_test_client=client)


@pytest.fixture
def candidate_socket(app, session, client, login, exam, clock):
    attempt = exam.started(0)
    session.flush()
    sock = connect(app, client, login, exam.candidates[0], attempt.id)
    assert sock.is_connected(NS)
    yield sock, attempt
    if sock.is_connected(NS):
        sock.disconnect(NS)


def stored(session, attempt):
    session.expire_all()
    return {r.position: (r.seq, json.loads(r.value_json))
            for r in session.scalars(select(Response).where(Response.attempt_id == attempt.id))}


def log_count(session, attempt):
    return session.scalar(select(func.count()).select_from(ResponseLog).where(ResponseLog.attempt_id == attempt.id))


def answer(attempt, position, seq, value, when=None):
    return {"attempt_id": attempt.id, "position": position, "seq": seq, "value": value,
            "client_time": (when or T0 + 2 * MIN).isoformat()}


# ---------------------------------------------------------------- connect


def test_a_candidate_connects_to_their_own_attempt_only(app, session, client, login, exam, clock):
    mine, theirs = exam.started(0), exam.attempt(1)
    session.flush()
    sock = connect(app, client, login, exam.candidates[0], mine.id)
    assert sock.is_connected(NS)
    sock.disconnect(NS)
    assert not connect(app, client, login, exam.candidates[0], theirs.id).is_connected(NS)
    assert not connect(app, client, login, exam.candidates[0], 10**9).is_connected(NS)
    from web.extensions import socketio

    login(exam.candidates[0])
    assert not socketio.test_client(app, namespace=NS, flask_test_client=client).is_connected(NS)  # no auth


def test_anonymous_and_staff_are_refused(app, session, client, login, exam, clock):
    from web.extensions import socketio

    mine = exam.started(0)
    session.flush()
    anonymous = socketio.test_client(app, namespace=NS, auth={"attempt_id": mine.id, "device_id": "device-one"},
                                     flask_test_client=app.test_client())
    assert not anonymous.is_connected(NS)
    assert not connect(app, client, login, exam.proctor1, mine.id).is_connected(NS)
    assert not connect(app, client, login, make_user(session, Role.CENTRE_ADMIN), mine.id).is_connected(NS)


# ---------------------------------------------------------------- answers


def test_an_answer_is_acked_after_it_is_stored(session, candidate_socket):
    sock, attempt = candidate_socket
    ack = sock.emit("answer", answer(attempt, 1, 1, "B"), namespace=NS, callback=True)
    assert ack == {"ok": True, "seq": 1, "result": "accepted", "server_time": (T0 + 2 * MIN).isoformat()}
    assert stored(session, attempt) == {1: (1, "B")}


def test_a_replayed_seq_is_a_duplicate_and_an_older_seq_is_stale(session, candidate_socket):
    sock, attempt = candidate_socket
    assert sock.emit("answer", answer(attempt, 1, 2, "B"), namespace=NS, callback=True)["result"] == "accepted"
    again = sock.emit("answer", answer(attempt, 1, 2, "B"), namespace=NS, callback=True)
    when = (T0 + 2 * MIN).isoformat()
    assert again == {"ok": True, "seq": 2, "result": "duplicate", "server_time": when}
    older = sock.emit("answer", answer(attempt, 1, 1, "A"), namespace=NS, callback=True)
    assert older == {"ok": True, "seq": 1, "result": "stale", "server_time": when}
    assert stored(session, attempt) == {1: (2, "B")}
    assert log_count(session, attempt) == 1


@pytest.mark.parametrize("payload", [
    "not a dict",
    {"attempt_id": 1},
    {"position": 1, "seq": 1, "value": "B"},
    "extra-key",
    "bool-seq",
    "naive-time",
    "oversized",
    "bad-position",
])
def test_malformed_or_oversized_answers_get_an_error_ack_and_store_nothing(session, candidate_socket, payload):
    sock, attempt = candidate_socket
    good = answer(attempt, 1, 1, "B")
    payload = {
        "extra-key": {**good, "score": 100},
        "bool-seq": {**good, "seq": True},
        "naive-time": {**good, "client_time": "2026-10-16T09:02:00"},
        "oversized": {**good, "value": "电" * 5000},
        "bad-position": {**good, "position": 99},
    }.get(payload, payload) if isinstance(payload, str) else payload
    ack = sock.emit("answer", payload, namespace=NS, callback=True)
    assert ack["ok"] is False and ack["code"] and ack["error"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in ack["error"])
    assert stored(session, attempt) == {}
    assert log_count(session, attempt) == 0


def test_another_attempt_in_the_payload_is_refused(session, exam, candidate_socket):
    sock, attempt = candidate_socket
    theirs = exam.attempt(1)
    session.flush()
    ack = sock.emit("answer", answer(theirs, 1, 1, "B"), namespace=NS, callback=True)
    assert ack["ok"] is False and ack["code"] == "wrong_attempt"
    assert stored(session, attempt) == {} and stored(session, theirs) == {}


def test_replay_processes_entries_in_seq_order(session, candidate_socket):
    sock, attempt = candidate_socket
    entries = [answer(attempt, 4, 3, "最后的答案"), answer(attempt, 4, 1, "第一"), answer(attempt, 4, 2, "第二")]
    ack = sock.emit("replay", {"attempt_id": attempt.id, "entries": entries}, namespace=NS, callback=True)
    assert ack["ok"] is True, ack
    assert [r["seq"] for r in ack["results"]] == [1, 2, 3]
    assert all(r["result"] == "accepted" for r in ack["results"])
    assert ack["state"]["answers"]["4"] == {"seq": 3, "value": "最后的答案"}
    assert stored(session, attempt) == {4: (3, "最后的答案")}
    # Replaying the same journal again changes nothing.
    again = sock.emit("replay", {"attempt_id": attempt.id, "entries": entries}, namespace=NS, callback=True)
    assert [r["result"] for r in again["results"]] == ["stale", "stale", "duplicate"]
    assert log_count(session, attempt) == 3


def test_state_is_authoritative_and_never_contains_a_key(session, candidate_socket):
    sock, attempt = candidate_socket
    sock.emit("answer", answer(attempt, 1, 1, "B"), namespace=NS, callback=True)
    ack = sock.emit("state", {"attempt_id": attempt.id}, namespace=NS, callback=True)
    assert ack["ok"] is True
    state = ack["state"]
    assert state["status"] == "in_progress" and state["answers"] == {"1": {"seq": 1, "value": "B"}}
    assert 0 < state["remaining_seconds"] <= 120 * 60
    text = json.dumps(ack, ensure_ascii=False)
    for secret in (SECRET_KEY_TEXT, SECRET_ANALYSIS, '"key"', "reference_answer", "scoring_points", "analysis"):
        assert secret not in text


def test_signals_are_logged_and_floods_are_refused(session, candidate_socket, monkeypatch):
    sock, attempt = candidate_socket
    sock.emit("signal", {"attempt_id": attempt.id, "signal": "focus_loss"}, namespace=NS)
    session.expire_all()
    kinds = [e.kind for e in session.scalars(select(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id))]
    assert "focus_loss" in kinds and "connect" in kinds
    from web.extensions import socketio

    for conn in socketio.server.namespace_handlers[NS]._conns.values():  # freeze the refill:
        conn["bucket"].clock = lambda: 0.0  # the flood is then refused however slow the database
        conn["bucket"].at = 0.0
    acks = [sock.emit("state", {"attempt_id": attempt.id}, namespace=NS, callback=True) for _ in range(60)]
    assert any(a.get("code") == "rate_limited" for a in acks)
    assert acks[0]["ok"] is True


def test_submit_before_the_earliest_time_is_refused_with_an_error_ack(session, candidate_socket, clock):
    sock, attempt = candidate_socket
    ack = sock.emit("submit", {"attempt_id": attempt.id}, namespace=NS, callback=True)
    assert ack["ok"] is False and ack["error"]
    clock["now"] = T0 + 40 * MIN
    ack = sock.emit("submit", {"attempt_id": attempt.id}, namespace=NS, callback=True)
    assert ack["ok"] is True and ack["state"]["status"] == "submitted"


def test_arrive_then_start_through_the_socket(app, session, client, login, exam, clock):
    attempt = exam.attempt(2)
    session.flush()
    sock = connect(app, client, login, exam.candidates[2], attempt.id)
    assert sock.is_connected(NS)
    ack = sock.emit("arrive", {"attempt_id": attempt.id}, namespace=NS, callback=True)
    assert ack["ok"] is True and ack["state"]["status"] == "waiting" and ack["state"]["items"] == []
    refused = sock.emit("answer", answer(attempt, 1, 1, "B"), namespace=NS, callback=True)
    assert refused["ok"] is False and refused["code"] == "not_started"
    from examroom import attempts as svc

    svc.open_room(session, exam.proctor1, exam.room1.id, T0)
    session.flush()
    ack = sock.emit("start", {"attempt_id": attempt.id}, namespace=NS, callback=True)
    assert ack["ok"] is True and ack["state"]["status"] == "in_progress" and len(ack["state"]["items"]) == 4
    sock.disconnect(NS)


# ---------------------------------------------------------------- one live connection per attempt


def _events(sock, name):
    return [p["args"][0] for p in sock.get_received(NS) if p["name"] == name]


def test_a_connection_without_a_device_id_is_refused(app, session, client, login, exam, clock):
    from web.extensions import socketio

    attempt = exam.started(0)
    session.flush()
    login(exam.candidates[0])
    for auth in ({"attempt_id": attempt.id}, {"attempt_id": attempt.id, "device_id": "short"},
                 {"attempt_id": attempt.id, "device_id": "bad device id!"}):
        assert not socketio.test_client(app, namespace=NS, auth=auth, flask_test_client=client).is_connected(NS)


def test_the_first_device_binds_the_attempt_and_another_computer_needs_the_proctor(
        app, session, client, login, exam, clock):
    attempt = exam.started(0)
    session.flush()
    first = connect(app, client, login, exam.candidates[0], attempt.id, device="computer-A")
    assert first.is_connected(NS)
    session.expire_all()
    assert attempt.device_id == "computer-A"

    other = connect(app, client, login, exam.candidates[0], attempt.id, device="computer-B")
    assert not other.is_connected(NS)  # refused: the move waits for the proctor
    again = connect(app, client, login, exam.candidates[0], attempt.id, device="computer-B")
    assert not again.is_connected(NS)
    requests = session.scalars(select(AttemptEvent).where(
        AttemptEvent.attempt_id == attempt.id, AttemptEvent.kind == "move_requested")).all()
    assert len(requests) == 1  # recorded once per waiting device, not once per retry
    assert json.loads(requests[0].data_json)["device_id"] == "computer-B"
    # the first computer keeps answering meanwhile
    assert first.emit("answer", answer(attempt, 1, 1, "B"), namespace=NS, callback=True)["ok"] is True

    # the proctor approves the move: the attempt is rebound (examroom.proctoring does this)
    attempt.device_id = "computer-B"
    session.flush()
    moved = connect(app, client, login, exam.candidates[0], attempt.id, device="computer-B")
    assert moved.is_connected(NS)
    stale = first.emit("answer", answer(attempt, 2, 2, "D"), namespace=NS, callback=True)
    assert stale["ok"] is False and stale["code"] == "superseded"
    assert stored(session, attempt) == {1: (1, "B")}


def test_a_second_tab_on_the_same_computer_takes_over_and_the_first_is_told_to_stop(
        app, session, client, login, exam, clock):
    attempt = exam.started(0)
    session.flush()
    tab1 = connect(app, client, login, exam.candidates[0], attempt.id, device="computer-A")
    tab1.get_received(NS)
    tab2 = connect(app, client, login, exam.candidates[0], attempt.id, device="computer-A")
    assert tab2.is_connected(NS)
    pushes = _events(tab1, "superseded")
    assert pushes and pushes[-1]["attempt_id"] == attempt.id and pushes[-1]["owner"]
    assert pushes[-1]["message"] == exam_ns.ev.ERRORS["superseded"]
    refused = tab1.emit("answer", answer(attempt, 1, 1, "A"), namespace=NS, callback=True)
    assert refused["code"] == "superseded"
    assert tab2.emit("answer", answer(attempt, 1, 2, "C"), namespace=NS, callback=True)["ok"] is True
    assert stored(session, attempt) == {1: (2, "C")}


def test_a_closed_paper_can_be_looked_at_from_another_computer(app, session, client, login, exam, clock):
    attempt = exam.started(0)
    attempt.device_id = "computer-A"
    session.flush()
    proctoring.terminate(session, exam.proctor1, attempt.id, "替考", 4, T0 + 3 * MIN)
    session.flush()
    sock = connect(app, client, login, exam.candidates[0], attempt.id, device="computer-C")
    assert sock.is_connected(NS)
    ack = sock.emit("state", {"attempt_id": attempt.id}, namespace=NS, callback=True)
    assert ack["ok"] is True, ack
    assert ack["state"]["status"] == "terminated"
    session.expire_all()
    assert attempt.device_id == "computer-A"


# ---------------------------------------------------------------- the time-up job


def test_the_time_up_job_submits_an_overdue_attempt_and_tells_a_connected_page(
        app, session, client, login, exam, clock, monkeypatch):
    from web.sockets import timeup

    watched, unwatched = exam.started(0), exam.started(1)
    session.flush()
    sock = connect(app, client, login, exam.candidates[0], watched.id)
    sock.get_received(NS)
    late = T0 + 24 * 60 * MIN
    monkeypatch.setattr(timeup, "utcnow", lambda: late)
    closed = timeup.run_once(app)
    assert set(closed) == {watched.id, unwatched.id}  # with or without a browser
    session.expire_all()
    assert watched.status == unwatched.status == "expired"
    pushes = _events(sock, "status")
    assert pushes == [{"attempt_id": watched.id, "reason": "expired", "message": "考试时间已到，系统已自动交卷。"}]
    assert timeup.run_once(app) == []  # nothing closed twice


def test_the_time_up_job_closes_a_room_in_chunks_committing_each(app, session, exam, monkeypatch):
    """A room-wide time-up is closed a chunk per transaction, so candidates' events run between."""
    from sqlalchemy import event

    from web.sockets import timeup

    started = [exam.started(k) for k in range(4)]
    session.flush()
    monkeypatch.setattr(timeup, "CHUNK", 3)
    monkeypatch.setattr(timeup, "utcnow", lambda: T0 + 24 * 60 * MIN)
    ends: list[str] = []
    engine = session.get_bind().engine
    listener = lambda *a: ends.append(a[2]) if "SAVEPOINT" in str(a[2]) else None  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        closed = timeup.run_once(app)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert sorted(closed) == sorted(a.id for a in started)
    # The job's own transactions are savepoints here (tests/conftest.py): two chunks committed.
    assert sum(s.startswith("RELEASE SAVEPOINT") for s in ends) >= 2
    session.expire_all()
    assert {a.status for a in started} == {"expired"}


def test_a_deactivated_candidate_is_refused_once_the_account_is_checked_again(
        session, candidate_socket, monkeypatch):
    """Events use the account checked at connect for ACCOUNT_RECHECK_SECONDS (no query per
    event in the bursts); after that the account is loaded again and a deactivation bites."""
    sock, attempt = candidate_socket
    candidate = session.get(type(attempt.candidate), attempt.candidate_id)
    candidate.active = False
    session.flush()
    ack = sock.emit("answer", answer(attempt, 1, 1, "A"), namespace=NS, callback=True)
    assert ack["ok"] is True  # within the window: the account checked at connect
    monkeypatch.setattr(exam_ns, "ACCOUNT_RECHECK_SECONDS", 0.0)
    for event, payload in (("answer", answer(attempt, 1, 2, "B")), ("state", {"attempt_id": attempt.id})):
        ack = sock.emit(event, payload, namespace=NS, callback=True)
        assert ack["ok"] is False and ack["code"] == "forbidden", event
    assert stored(session, attempt)[1] == (1, "A")


def test_answers_pass_while_the_heavy_events_wait_at_the_gate(session, candidate_socket):
    """A storm of starts (or states, submits, replays) waits at the process's gate; answers
    never do, so a candidate who is writing is not queued behind a room that just opened."""
    import threading

    from web.extensions import socketio

    sock, attempt = candidate_socket
    gate = socketio.server.namespace_handlers[NS]._heavy
    results: dict[str, dict] = {}

    def send(name: str, event: str, payload: dict) -> threading.Thread:
        thread = threading.Thread(target=lambda: results.__setitem__(
            name, sock.emit(event, payload, namespace=NS, callback=True)), daemon=True)
        thread.start()
        return thread

    assert gate.acquire(timeout=5)  # as if a start were running
    try:
        state = send("state", "state", {"attempt_id": attempt.id})
        state.join(0.5)
        assert state.is_alive() and "state" not in results  # waits its turn
        writing = send("answer", "answer", answer(attempt, 1, 1, "B"))
        writing.join(10)
        assert not writing.is_alive() and results["answer"]["ok"] is True  # did not wait
    finally:
        gate.release()
    state.join(10)
    assert results["state"]["ok"] is True and results["state"]["state"]["answers"]["1"]["seq"] == 1


def test_an_unexpected_error_is_logged_with_its_traceback(candidate_socket, monkeypatch, caplog):
    sock, attempt = candidate_socket

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(exam_ns.svc, "record_response", broken)
    ack = sock.emit("answer", answer(attempt, 1, 1, "A"), namespace=NS, callback=True)
    assert ack["ok"] is False and ack["code"] == "server_error"
    failed = [r for r in caplog.records if r.getMessage() == "exam event failed"]
    assert failed and failed[0].exc_info and "disk on fire" in str(failed[0].exc_info[1])


# ---------------------------------------------------------------- answers stop at 交卷 (issue #11, point 1)


def _replay(sock, attempt, *entries):
    return sock.emit("replay", {"attempt_id": attempt.id, "entries": list(entries)}, namespace=NS, callback=True)


def test_after_a_voluntary_submit_no_write_is_accepted_from_any_computer(app, session, client, login, exam,
                                                                          candidate_socket, clock):
    sock, attempt = candidate_socket
    assert sock.emit("answer", answer(attempt, 1, 1, "A"), namespace=NS, callback=True)["result"] == "accepted"
    clock["now"] = T0 + 40 * MIN
    assert sock.emit("submit", {"attempt_id": attempt.id}, namespace=NS, callback=True)["ok"] is True
    clock["now"] = T0 + 40 * MIN + dt.timedelta(seconds=5)  # well inside the old 120 s window
    for when in (T0 + 39 * MIN, T0 + 2 * MIN, T0 - 60 * MIN):  # before the submit, even before the start
        ack = sock.emit("answer", answer(attempt, 2, 2, "D", when), namespace=NS, callback=True)
        assert ack["ok"] is False and ack["code"] == "submitted" and ack["seq"] == 2, ack
        ack = _replay(sock, attempt, answer(attempt, 1, 3, "C", when), answer(attempt, 3, 4, "√", when))
        assert [r["code"] for r in ack["results"]] == ["submitted", "submitted"], ack
        assert ack["state"]["status"] == "submitted"
    # What was stored is still acked (the page clears its journal), and changes nothing.
    assert sock.emit("answer", answer(attempt, 1, 1, "A"), namespace=NS, callback=True)["result"] == "duplicate"
    sock.disconnect(NS)
    other = connect(app, client, login, exam.candidates[0], attempt.id, device="computer-Z")
    assert other.is_connected(NS)  # a closed paper may be viewed from another computer ...
    state = other.emit("state", {"attempt_id": attempt.id}, namespace=NS, callback=True)
    assert state["ok"] is True and state["state"]["status"] == "submitted"
    refused = other.emit("answer", answer(attempt, 2, 5, "D", T0 + 39 * MIN), namespace=NS, callback=True)
    assert refused["ok"] is False and refused["code"] == "submitted"  # ... but never written
    assert stored(session, attempt) == {1: (1, "A")}
    assert log_count(session, attempt) == 1


def test_the_grace_window_after_time_up_is_for_the_bound_computer_only(app, session, client, login, exam,
                                                                       candidate_socket, clock):
    from web.sockets import timeup

    sock, attempt = candidate_socket
    due = T0 + 90 * MIN  # the room's end: its start T0 plus 90 minutes, whenever this candidate started
    timeup_at = due + dt.timedelta(seconds=3)
    clock["now"] = timeup_at
    with mock.patch.object(timeup, "utcnow", lambda: timeup_at):
        assert timeup.run_once(app) == [attempt.id]
    clock["now"] = due + dt.timedelta(seconds=60)
    journalled = due - dt.timedelta(seconds=10)
    sock.disconnect(NS)
    other = connect(app, client, login, exam.candidates[0], attempt.id, device="computer-Z")
    assert other.is_connected(NS)
    refused = other.emit("answer", answer(attempt, 1, 1, "A", journalled), namespace=NS, callback=True)
    assert refused["ok"] is False and refused["code"] == "time_up"
    replayed = _replay(other, attempt, answer(attempt, 1, 1, "A", journalled))
    assert replayed["results"][0]["code"] == "time_up" and replayed["state"]["status"] == "expired"
    other.disconnect(NS)
    mine = connect(app, client, login, exam.candidates[0], attempt.id, device="device-one")
    ack = _replay(mine, attempt, answer(attempt, 1, 1, "A", journalled))
    assert ack["results"][0]["result"] == "accepted"  # journalled in time on the bound computer
    late = mine.emit("answer", answer(attempt, 2, 2, "B", due + dt.timedelta(seconds=1)), namespace=NS,
                     callback=True)
    assert late["code"] == "time_up"
    assert stored(session, attempt) == {1: (1, "A")}


def test_a_client_time_before_the_start_or_the_last_acknowledged_write_is_refused(session, candidate_socket):
    sock, attempt = candidate_socket  # started at T0 + 1 min
    before_start = sock.emit("answer", answer(attempt, 1, 1, "A", T0), namespace=NS, callback=True)
    assert before_start["ok"] is False and before_start["code"] == "bad_client_time", before_start
    assert sock.emit("answer", answer(attempt, 1, 2, "B", T0 + 2 * MIN), namespace=NS, callback=True)["ok"]
    backwards = sock.emit("answer", answer(attempt, 2, 3, "C", T0 + 1.5 * MIN), namespace=NS, callback=True)
    assert backwards["ok"] is False and backwards["code"] == "bad_client_time"
    replay = _replay(sock, attempt, answer(attempt, 2, 3, "C", T0 + 1.5 * MIN), answer(attempt, 2, 4, "D", T0))
    assert [r["code"] for r in replay["results"]] == ["bad_client_time", "bad_client_time"]
    state = replay["state"]
    assert state["last_seq"] == 2 and state["last_client_time"] == (T0 + 2 * MIN).astimezone(dt.UTC).isoformat()
    assert stored(session, attempt) == {1: (2, "B")}


# ---------------------------------------------------------------- bad values get a clear error (issue #11, point 2)


@pytest.mark.parametrize(("change", "code"), [
    ({"seq": 2**31}, "bad_seq"),  # PostgreSQL's integer ends at 2**31 - 1
    ({"seq": 2**63}, "bad_seq"),
    ({"seq": True}, "bad_seq"),
    ({"seq": 1.0}, "bad_seq"),
    ({"seq": "1"}, "bad_seq"),
    ({"value": "\ud800"}, "bad_value"),  # what JSON.stringify makes of half an emoji
    ({"value": ["A", {"\udfff": "B"}]}, "bad_value"),
    ({"value": [[[[[[[[[[["A"]]]]]]]]]]]}, "bad_value"),
    ({"value": 10**40}, "bad_value"),
    ({"client_time": "2026-10-16T09:02:00\ud800+08:00"}, "bad_client_time"),
    ({"client_time": "2026-10-16T09:02:00"}, "bad_client_time"),
    ({"client_time": 1760000000}, "bad_client_time"),
    ({"position": 2**31}, "malformed"),
    ({"attempt_id": 2**40}, "malformed"),
])
def test_out_of_range_and_unencodable_answers_get_a_documented_code(session, candidate_socket, change, code):
    sock, attempt = candidate_socket
    payload = {**answer(attempt, 1, 1, "B"), **change}
    ack = sock.emit("answer", payload, namespace=NS, callback=True)
    assert ack["ok"] is False and ack["code"] == code, ack
    whole = _replay(sock, attempt, answer(attempt, 2, 1, "A"), payload)
    assert whole["ok"] is False and whole["code"] == code  # one bad entry refuses the whole replay
    assert stored(session, attempt) == {} and log_count(session, attempt) == 0


def test_the_largest_seq_is_stored(session, candidate_socket):
    sock, attempt = candidate_socket
    ack = sock.emit("answer", answer(attempt, 1, 2**31 - 1, "B"), namespace=NS, callback=True)
    assert ack["ok"] is True and ack["result"] == "accepted"
    assert stored(session, attempt) == {1: (2**31 - 1, "B")}


def test_signals_with_bad_values_are_dropped_without_a_server_error(session, candidate_socket, monkeypatch):
    sock, attempt = candidate_socket
    codes: list[str] = []
    original = exam_ns.ev.error_ack
    monkeypatch.setattr(exam_ns.ev, "error_ack", lambda code, *a, **k: codes.append(code) or original(code, *a, **k))
    for bad in ({"signal": []}, {"signal": "focus_loss", "detail": "\ud800"}, {"signal": {"a": 1}},
                {"signal": "focus_loss", "detail": "x" * 201}):
        sock.emit("signal", {"attempt_id": attempt.id, **bad}, namespace=NS)
    assert codes == ["malformed"] * 4
    session.expire_all()
    kinds = [e.kind for e in session.scalars(select(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id))]
    assert "focus_loss" not in kinds
