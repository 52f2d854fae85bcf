"""Every event of the ``/exam`` and ``/proctor`` namespaces fuzzed with arbitrary JSON through
Flask-SocketIO's test client (which encodes each packet with the server's JSON and decodes it
again, as the wire does): lone surrogates, huge and negative integers, floats (NaN too), deep
nesting, wrong types, extra keys, and near-valid payloads with one field replaced.

Properties: no event ever reaches ``server_error`` (the documented client retries that
forever), and a refused payload writes nothing. Examples are bounded so the file runs in well
under a minute; run it on PostgreSQL too (``DATABASE_URL``), where an out-of-range integer
and an unencodable string are database errors rather than Python ones.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from examroom import events as ev
from examroom.models import Attempt, AttemptEvent, Response, ResponseLog
from foundation.audit import AuditEntry
from tests.examroom.worlds import MIN, T0, Exam
from tests.web.socket_clients import candidate_socket, console_socket
from web.sockets import exam as exam_ns
from web.sockets import proctor as proctor_ns

pytestmark = pytest.mark.slow  # property tests: `make test` runs them, `make test-fast` leaves them out

EXAM = "/exam"
PROCTOR = "/proctor"



def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


#: Examples per event: the answer path gets the most (it has the most rules behind it).
EXAMPLES = {"answer": 80, "replay": 40}

# --------------------------------------------------------------------------- strategies

#: Any text, lone surrogates included (hypothesis leaves category Cs out by default).
any_text = st.text(st.characters(exclude_categories=()), max_size=30) | st.sampled_from(
    ["\ud800", "a\udfffb", "\ud83d", "选\udc00项", "", " ", "√", "×", "A", "AB", "2026-10-16T09:05:00+08:00",
     "2026-10-16T09:05:00\ud800+08:00", "x" * 10_000, "电" * 5_000])
scalars = (st.none() | st.booleans() | any_text
           | st.integers() | st.integers(min_value=2**31 - 2, max_value=2**31 + 2)
           | st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**53, 2**53 + 1, 2**63, 2**64, -(2**63) - 1, 10**30])
           | st.floats(allow_nan=True, allow_infinity=True))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(any_text, inner, max_size=4), max_leaves=12)


def _deep(depth: int, leaf: Any = "A", as_dict: bool = False) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"k": value} if as_dict else [value]
    return value


deep_values = st.builds(_deep, st.integers(min_value=30, max_value=1200), st.sampled_from(["A", "\ud800", 1, None]),
                        st.booleans())
anything = json_values | deep_values


def near(valid: dict[str, Any]) -> st.SearchStrategy[Any]:
    """``valid`` with one field replaced by anything, one key dropped or one key added."""
    keys = sorted(valid)
    replaced = st.builds(lambda k, v: {**valid, k: v}, st.sampled_from(keys), anything)
    dropped = st.builds(lambda k: {x: y for x, y in valid.items() if x != k}, st.sampled_from(keys))
    added = st.builds(lambda k, v: {**valid, k: v}, any_text, anything)
    return replaced | replaced | dropped | added


def payloads(valid: dict[str, Any]) -> st.SearchStrategy[Any]:
    return near(valid) | anything | st.just(valid)


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def server_errors(monkeypatch):
    """Every error ack either namespace builds, unacked events (``signal``) included."""
    seen: list[str] = []
    for module, name in ((exam_ns.ev, "error_ack"), (proctor_ns, "error_ack")):
        original = getattr(module, name)

        def spy(code, message=None, _original=original, **extra):
            seen.append(code)
            return _original(code, message, **extra)

        monkeypatch.setattr(module, name, spy)
    return seen


def _unlimited(ns: str) -> None:
    from web.extensions import socketio

    for conn in socketio.server.namespace_handlers[ns]._conns.values():
        conn["bucket"].rate, conn["bucket"].burst, conn["bucket"].tokens = 1e9, 1e9, 1e9


def _snapshot(session, attempt_id: int) -> tuple[Any, ...]:
    """What any event could write, in one query: row counts, and the attempt's own columns."""
    count = lambda model: select(func.count()).select_from(model).scalar_subquery()  # noqa: E731
    return tuple(session.execute(
        select(count(Response), count(ResponseLog), count(AttemptEvent), count(AuditEntry),
               Attempt.status, Attempt.state_json, Attempt.device_id).where(Attempt.id == attempt_id)).one())


def _emit(sock, event: str, payload: Any, ns: str, callback: bool = True) -> Any:
    try:
        return sock.emit(event, payload, namespace=ns, callback=callback)
    except RecursionError:  # nested too deep for a Socket.IO packet: never reaches a handler
        reject()


# --------------------------------------------------------------------------- /exam


@pytest.fixture
def exam_setup(app, session, monkeypatch):
    exam = Exam(session)
    attempt = exam.started(0)
    session.flush()
    clock = {"now": T0 + 2 * MIN}
    monkeypatch.setattr(exam_ns, "now", lambda: clock["now"])
    sock = candidate_socket(app, exam.candidates[0], attempt.id)
    _unlimited(EXAM)
    yield exam, attempt, sock, clock
    if sock.is_connected(EXAM):
        sock.disconnect(EXAM)


def _answer(attempt_id: int, seq: int = 1) -> dict[str, Any]:
    return {"attempt_id": attempt_id, "position": 1, "seq": seq, "value": "B",
            "client_time": (T0 + 2 * MIN).isoformat()}


EXAM_EVENTS = [ev.EV_STATE, ev.EV_ANSWER, ev.EV_REPLAY, ev.EV_ARRIVE, ev.EV_START, ev.EV_SUBMIT, ev.EV_SIGNAL]


def _exam_payloads(event: str, attempt_id: int) -> st.SearchStrategy[Any]:
    ref = {"attempt_id": attempt_id}
    if event == ev.EV_ANSWER:  # the four items are two single choices, a true/false and a short answer
        any_item = st.builds(lambda position, value: {**_answer(attempt_id), "position": position, "value": value},
                             st.integers(min_value=1, max_value=4), anything)
        return payloads(_answer(attempt_id)) | any_item | st.builds(
            lambda seq: _answer(attempt_id, seq), st.integers() | st.sampled_from([2**31 - 1, 2**31, 2**63]))
    if event == ev.EV_REPLAY:
        entry = near(_answer(attempt_id)) | st.just(_answer(attempt_id))
        return payloads({**ref, "entries": [_answer(attempt_id)]}) | st.builds(
            lambda entries: {**ref, "entries": entries}, st.lists(entry, max_size=5))
    if event == ev.EV_SIGNAL:
        return payloads({**ref, "signal": "focus_loss", "detail": "切换窗口"})
    return payloads(ref)


@pytest.mark.parametrize(("event", "when"), [(e, "answering") for e in EXAM_EVENTS] + [
    (e, "closed") for e in (ev.EV_STATE, ev.EV_ANSWER, ev.EV_REPLAY, ev.EV_SIGNAL)])
def test_no_exam_event_reaches_server_error_and_refusals_write_nothing(session, exam_setup, server_errors,
                                                                       event, when):
    exam, attempt, sock, clock = exam_setup
    if when == "closed":  # submitted: every write is refused, viewing still works
        clock["now"] = T0 + 40 * MIN
        assert sock.emit("submit", {"attempt_id": attempt.id}, namespace=EXAM, callback=True)["ok"] is True

    @fuzz(EXAMPLES.get(event, 20))
    @given(payload=_exam_payloads(event, attempt.id))
    def check(payload: Any) -> None:
        server_errors.clear()
        before = _snapshot(session, attempt.id)
        ack = _emit(sock, event, payload, EXAM, callback=event != ev.EV_SIGNAL)
        assert "server_error" not in server_errors, (event, payload)
        after = _snapshot(session, attempt.id)
        if event == ev.EV_SIGNAL:
            try:
                ev.validate_signal(payload)
            except ev.PayloadError:
                assert after == before, payload
            return
        assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), (payload, ack)
        if not ack["ok"]:
            assert ack["code"] and ack["error"], ack
            assert after == before, (payload, ack)
        json.dumps(ack)  # the ack itself can be sent

    check()


# --------------------------------------------------------------------------- /proctor


PROCTOR_EVENTS = ["watch", "unwatch", "open", "pause_room", "resume_room", "pause", "resume", "extend", "warn",
                  "incident", "terminate", "approve_move"]


def _proctor_valid(event: str, room_id: int, attempt_id: int) -> dict[str, Any]:
    return {
        "watch": {"room_id": room_id}, "unwatch": {"room_id": room_id}, "open": {"room_id": room_id},
        "pause_room": {"room_id": room_id, "reason": "停电"}, "resume_room": {"room_id": room_id, "reason": "来电"},
        "pause": {"attempt_id": attempt_id, "reason": "设备故障"}, "resume": {"attempt_id": attempt_id},
        "extend": {"attempt_id": attempt_id, "minutes": 5, "reason": "设备故障"},
        "warn": {"attempt_id": attempt_id, "message": "请勿交头接耳"},
        "incident": {"attempt_id": attempt_id, "tier": 1, "description": "夹带纸条"},
        "terminate": {"attempt_id": attempt_id, "reason": "替考", "tier": 3},
        "approve_move": {"attempt_id": attempt_id},
    }[event]


@pytest.mark.parametrize("event", PROCTOR_EVENTS)
def test_no_proctor_event_reaches_server_error_and_refusals_write_nothing(app, session, monkeypatch,
                                                                          server_errors, event):
    exam = Exam(session)
    attempt = exam.started(0)
    session.flush()
    monkeypatch.setattr(proctor_ns, "now", lambda: T0 + 5 * MIN)
    monkeypatch.setattr(exam_ns, "now", lambda: T0 + 5 * MIN)
    sock = console_socket(app, exam.proctor1)
    assert sock.is_connected(PROCTOR)
    _unlimited(PROCTOR)
    valid = _proctor_valid(event, exam.room1.id, attempt.id)

    @fuzz(12)
    @given(payload=near(valid) | anything)
    def check(payload: Any) -> None:
        server_errors.clear()
        before = _snapshot(session, attempt.id)
        ack = _emit(sock, event, payload, PROCTOR)
        assert "server_error" not in server_errors, (event, payload)
        assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), (payload, ack)
        if not ack["ok"]:
            assert ack["code"] and ack["error"], ack
            assert _snapshot(session, attempt.id) == before, (payload, ack)
        json.dumps(ack)

    try:
        check()
    finally:
        sock.disconnect(PROCTOR)
