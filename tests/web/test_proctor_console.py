"""The proctor console: the ``/proctor`` namespace through Flask-SocketIO's test client (watch,
actions, refusals, pushes reaching a candidate on ``/exam``), and the console, room-record and
supervision pages with their PDFs."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from examroom import attempts as svc
from examroom import proctoring as pr
from examroom.models import AttemptEvent
from foundation.audit import AuditEntry
from foundation.roles import Role
from tests.examroom.worlds import MIN, T0, Exam
from tests.factories import make_user
from tests.web.socket_clients import EXAM, NS, call, candidate_socket, console_socket, http_as, login_as, supervisor_of
from web.sockets import exam as exam_ns
from web.sockets import proctor as proctor_ns


@pytest.fixture(scope="module")
def exam(module_session):
    """Built once for the module; each test runs in a savepoint of it (tests/conftest.py)."""
    return Exam(module_session)


@pytest.fixture
def clock(monkeypatch):
    current = {"now": T0 + 5 * MIN}
    monkeypatch.setattr(exam_ns, "now", lambda: current["now"])
    monkeypatch.setattr(proctor_ns, "now", lambda: current["now"])
    return current


def received(sock, ns, name):
    return [p["args"][0] for p in sock.get_received(ns) if p["name"] == name]


def kinds(session, attempt):
    session.expire_all()
    return [e.kind for e in session.scalars(select(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id)
                                            .order_by(AttemptEvent.id))]


@pytest.fixture
def live(app, session, exam, clock):
    """Room 1 opened, candidate 0 answering and connected on /exam, proctor 1 watching."""
    attempt = exam.started(0)
    session.flush()
    cand = candidate_socket(app, exam.candidates[0], attempt.id)
    proctor = console_socket(app, exam.proctor1)
    assert proctor.is_connected(NS)
    ack = call(proctor, "watch", {"room_id": exam.room1.id})
    assert ack["ok"] is True
    cand.get_received(EXAM)
    proctor.get_received(NS)
    yield cand, proctor, attempt, ack["snapshot"]
    for sock, ns in ((cand, EXAM), (proctor, NS)):
        if sock.is_connected(ns):
            sock.disconnect(ns)


# ---------------------------------------------------------------- connect and watch


def test_only_proctors_and_supervisors_connect(app, session, exam, clock):
    from web.extensions import socketio

    assert not socketio.test_client(app, namespace=NS, flask_test_client=app.test_client()).is_connected(NS)
    for user in (exam.candidates[0], make_user(session, Role.CENTRE_ADMIN)):
        assert not console_socket(app, user).is_connected(NS)
    for user in (exam.proctor1, supervisor_of(session, exam)):
        sock = console_socket(app, user)
        assert sock.is_connected(NS)
        sock.disconnect(NS)


def test_watch_acks_the_seat_map_and_is_authorised(app, session, exam, clock):
    exam.started(0)
    session.flush()
    sock = console_socket(app, exam.proctor1)
    ack = call(sock, "watch", {"room_id": exam.room1.id})
    assert ack["ok"] is True and ack["snapshot"]["can_act"] is True
    seats = ack["snapshot"]["seats"]
    assert len(seats) == 4 and {s["status"] for s in seats} <= {"absent", "offline"}
    assert ack["snapshot"]["room"]["rows"] == 2
    assert call(sock, "watch", {"room_id": exam.room2.id})["code"] == "forbidden"
    assert call(sock, "watch", {"room_id": 10**9})["code"] == "not_found"
    for bad in ({}, {"room_id": "1"}, {"room_id": True}, {"room_id": exam.room1.id, "x": 1}, [1], "room"):
        ack = call(sock, "watch", bad)
        assert ack == {"ok": False, "code": "malformed", "error": "消息格式错误，未处理。"}
    sup = console_socket(app, supervisor_of(session, exam))
    snap = call(sup, "watch", {"room_id": exam.room2.id})
    assert snap["ok"] is True and snap["snapshot"]["can_act"] is False


# ---------------------------------------------------------------- actions and pushes


def test_a_pause_is_committed_acked_and_pushed_to_the_candidate_and_the_consoles(session, exam, live):
    cand, proctor, attempt, _ = live
    ack = call(proctor, "pause", {"attempt_id": attempt.id, "reason": "考生身体不适"})
    assert ack["ok"] is True and ack["seat"]["status"] == "paused" and ack["seat"]["attempt_id"] == attempt.id
    session.expire_all()
    assert attempt.status == "paused"
    assert received(cand, EXAM, "status") == [
        {"attempt_id": attempt.id, "reason": "paused", "message": "考试已被监考员暂停，请等待恢复。"}]
    seats = received(proctor, NS, "seat")
    assert seats and seats[-1]["status"] == "paused" and seats[-1]["status_label"] == "已暂停"
    # The candidate's next answer is refused as paused; resume lets it through.
    payload = {"attempt_id": attempt.id, "position": 1, "seq": 1, "value": "B",
               "client_time": (T0 + 5 * MIN).isoformat()}
    assert cand.emit("answer", payload, namespace=EXAM, callback=True)["code"] == "paused"
    assert call(proctor, "resume", {"attempt_id": attempt.id})["seat"]["status"] == "answering"
    assert received(cand, EXAM, "status")[-1]["reason"] == "resumed"
    assert cand.emit("answer", payload, namespace=EXAM, callback=True)["ok"] is True


def test_a_candidates_answer_updates_the_watching_console(session, exam, live):
    cand, proctor, attempt, _ = live
    payload = {"attempt_id": attempt.id, "position": 2, "seq": 1, "value": "D",
               "client_time": (T0 + 5 * MIN).isoformat()}
    assert cand.emit("answer", payload, namespace=EXAM, callback=True)["ok"] is True
    cand.emit("signal", {"attempt_id": attempt.id, "signal": "visibility"}, namespace=EXAM)
    seats = received(proctor, NS, "seat")
    assert seats[0]["answered"] == 1 and seats[0]["last_saved_at"]
    assert seats[-1]["focus_losses"] == 1 and seats[-1]["status"] == "answering"


def test_candidate_events_are_coalesced_into_one_seats_message_per_room(app, session, exam, live, monkeypatch):
    """In production an event only marks its seat; the pusher sends the room's changed seats
    together (web.sockets.push.SeatPusher), built from one batch of queries."""
    from web.sockets.push import SeatPusher

    cand, proctor, attempt, _ = live
    other = exam.started(1)
    session.flush()
    pusher = SeatPusher()
    monkeypatch.setattr(pusher, "mark", lambda app_, aid: pusher._dirty.add(aid))  # no background task here
    app.config["EXAM_PUSH_INLINE"] = False
    monkeypatch.setattr("web.sockets.push.seat_pusher", pusher)
    try:
        for seq in (1, 2, 3):
            payload = {"attempt_id": attempt.id, "position": 2, "seq": seq, "value": "ABCD"[seq],
                       "client_time": (T0 + 5 * MIN).isoformat()}
            assert cand.emit("answer", payload, namespace=EXAM, callback=True)["ok"] is True
    finally:
        app.config["EXAM_PUSH_INLINE"] = True
    assert received(proctor, NS, "seat") == []  # nothing sent on the ack path
    pusher._dirty.add(other.id)
    ids = pusher.take()
    assert ids == sorted({attempt.id, other.id}) and pusher.take() == []
    from web.extensions import db

    with app.app_context():  # a request-like session: its rollback ends only its own read
        pusher.flush(db.session, ids)
    batches = received(proctor, NS, "seats")
    assert len(batches) == 1 and batches[0]["room_id"] == exam.room1.id
    by_attempt = {s["attempt_id"]: s for s in batches[0]["seats"]}
    assert set(by_attempt) == {attempt.id, other.id}
    assert by_attempt[attempt.id]["answered"] == 1 and by_attempt[attempt.id]["status"] == "answering"
    assert by_attempt[attempt.id]["name"] == exam.candidates[0].name


def test_warn_extend_incident_terminate(session, exam, live):
    cand, proctor, attempt, _ = live
    ack = call(proctor, "warn", {"attempt_id": attempt.id, "message": "请勿左顾右盼"})
    assert ack["ok"] is True and ack["seat"]["warnings"] == 1
    assert received(cand, EXAM, "status")[-1] == {"attempt_id": attempt.id, "reason": "warned",
                                                   "message": "监考员警告：请勿左顾右盼"}
    ack = call(proctor, "extend", {"attempt_id": attempt.id, "minutes": 10, "reason": "设备故障"})
    assert ack["ok"] is True
    assert received(cand, EXAM, "status")[-1]["reason"] == "extended"
    assert call(proctor, "incident", {"attempt_id": attempt.id, "tier": 1, "description": "偷看"})["seat"][
        "incidents"] == 1
    assert call(proctor, "terminate", {"attempt_id": attempt.id, "reason": "", "tier": 2})["code"] == "invalid"
    ack = call(proctor, "terminate", {"attempt_id": attempt.id, "reason": "使用手机", "tier": 2})
    assert ack["ok"] is True and ack["seat"]["status"] == "terminated"
    assert received(cand, EXAM, "status")[-1]["reason"] == "terminated"
    session.expire_all()
    assert svc.load_state(attempt).extension_minutes == 10 and attempt.status == "terminated"
    again = call(proctor, "pause", {"attempt_id": attempt.id})
    assert again["ok"] is False and again["code"] == "illegal_transition"


def test_room_wide_actions(app, session, exam, live):
    cand, proctor, attempt, _ = live
    other = exam.started(1)
    session.flush()
    ack = call(proctor, "pause_room", {"room_id": exam.room1.id, "reason": "停电"})
    assert ack["ok"] is True and sorted(ack["changed"]) == sorted([attempt.id, other.id])
    assert {r["attempt_id"] for r in ack["refused"]} == {exam.attempt(2).id, exam.attempt(3).id}
    assert received(cand, EXAM, "status")[-1]["message"] == "考试已暂停：停电。请等待监考员恢复。"
    batches = received(proctor, NS, "seats")  # the room's changed seats in one message
    assert [{s["attempt_id"] for s in b["seats"]} for b in batches] == [{attempt.id, other.id}]
    ack = call(proctor, "extend", {"room_id": exam.room1.id, "minutes": 15, "reason": "停电补时"})
    assert ack["ok"] is True and len(ack["changed"]) == 4
    assert call(proctor, "resume_room", {"room_id": exam.room1.id})["ok"] is True
    session.expire_all()
    assert attempt.status == other.status == "in_progress"
    assert call(proctor, "open", {"room_id": exam.room1.id})["code"] == "invalid"  # opened already


def test_move_approval_supersedes_the_old_computer(app, session, exam, live):
    cand, proctor, attempt, _ = live
    from web.extensions import socketio

    other = socketio.test_client(app, namespace=EXAM, auth={"attempt_id": attempt.id, "device_id": "device-two"},
                                 flask_test_client=http_as(app, exam.candidates[0]))
    assert not other.is_connected(EXAM)
    assert received(proctor, NS, "seat")[-1]["pending_move"]["device"] == "device-t"
    ack = call(proctor, "approve_move", {"attempt_id": attempt.id})
    assert ack["ok"] is True and ack["seat"]["pending_move"] is None
    assert received(cand, EXAM, "superseded") == [
        {"attempt_id": attempt.id, "owner": "", "message": "监考员已批准换机，作答已转移到另一台电脑。"}]
    moved = candidate_socket(app, exam.candidates[0], attempt.id, device="device-two")
    assert moved.is_connected(EXAM)
    assert call(proctor, "approve_move", {"attempt_id": attempt.id})["code"] == "invalid"


# ---------------------------------------------------------------- refusals change nothing


def test_supervisors_and_other_rooms_proctors_cannot_act(app, session, exam, live):
    cand, proctor, attempt, _ = live
    sup = console_socket(app, supervisor_of(session, exam))
    assert call(sup, "watch", {"room_id": exam.room1.id})["ok"] is True
    before = kinds(session, attempt)
    for event, payload in (("pause", {"attempt_id": attempt.id}), ("pause_room", {"room_id": exam.room1.id}),
                           ("terminate", {"attempt_id": attempt.id, "reason": "x", "tier": 1}),
                           ("warn", {"attempt_id": attempt.id, "message": "x"})):
        ack = call(sup, event, payload)
        assert ack == {"ok": False, "code": "read_only", "error": "督考员只能查看考场，不能操作。"}
    stranger = console_socket(app, exam.proctor2)
    assert call(stranger, "pause", {"attempt_id": attempt.id})["code"] == "forbidden"
    assert call(stranger, "pause_room", {"room_id": exam.room1.id})["code"] == "forbidden"
    assert call(stranger, "watch", {"room_id": exam.room1.id})["code"] == "forbidden"
    session.expire_all()
    assert kinds(session, attempt) == before and attempt.status == "in_progress"
    assert received(cand, EXAM, "status") == []


@pytest.mark.parametrize("event,payload", [
    ("pause", {}),
    ("pause", {"attempt_id": "1"}),
    ("pause", {"attempt_id": True}),
    ("pause", "attempt"),
    ("pause", {"attempt_id": 1, "reason": 5}),
    ("pause", {"attempt_id": 1, "reason": "长" * 201}),
    ("pause_room", {"room_id": 1, "extra": 1}),
    ("extend", {"attempt_id": 1, "room_id": 1, "minutes": 5, "reason": "x"}),
    ("extend", {"attempt_id": 1, "minutes": "5", "reason": "x"}),
    ("extend", {"attempt_id": 1, "minutes": 5}),
    ("warn", {"attempt_id": 1}),
    ("incident", {"attempt_id": 1, "tier": "1", "description": "x"}),
    ("terminate", {"attempt_id": 1, "reason": "x"}),
    ("approve_move", {"attempt_id": 1, "device_id": "x"}),
    ("open", None),
])
def test_malformed_actions_get_an_error_ack_and_change_nothing(session, exam, live, event, payload):
    cand, proctor, attempt, _ = live
    if isinstance(payload, dict):
        real = {"attempt_id": attempt.id, "room_id": exam.room1.id}  # 1 stands for the real id
        payload = {k: real[k] if k in real and v == 1 and type(v) is int else v for k, v in payload.items()}
    before = kinds(session, attempt)
    audits = session.scalar(select(func.count()).select_from(AuditEntry))
    ack = call(proctor, event, payload)
    assert ack["ok"] is False and ack["code"] == "malformed" and ack["error"]
    assert kinds(session, attempt) == before
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == audits
    assert received(cand, EXAM, "status") == []


def test_a_flood_of_events_is_rate_limited(app, session, exam, clock, monkeypatch):
    monkeypatch.setattr(proctor_ns, "BURST", 3.0)
    monkeypatch.setattr(proctor_ns, "RATE_PER_SECOND", 0.001)
    sock = console_socket(app, exam.proctor1)
    acks = [call(sock, "watch", {"room_id": exam.room1.id}) for _ in range(5)]
    assert [a["ok"] for a in acks[:3]] == [True] * 3
    assert [a.get("code") for a in acks[3:]] == ["rate_limited"] * 2


# ---------------------------------------------------------------- pages


def test_proctor_index_lists_their_rooms_and_the_console_renders_the_grid(client, session, exam):
    exam.started(0)
    session.flush()
    login_as(client, exam.proctor1)
    html = client.get("/proctor/").get_data(as_text=True)
    assert exam.room1.name in html and f"/proctor/rooms/{exam.room1.id}" in html
    assert f"/proctor/rooms/{exam.room2.id}\"" not in html
    html = client.get(f"/proctor/rooms/{exam.room1.id}").get_data(as_text=True)
    assert 'data-mode="proctor"' in html and "js/proctor_console.js" in html and "socket.io.min.js" in html
    assert exam.candidates[0].name in html
    assert "开考" in html and "全场暂停" in html and "终止考试" in html
    assert html.count('class="pc-seat ') == 4
    assert client.get(f"/proctor/rooms/{exam.room2.id}").status_code == 403
    assert client.get("/proctor/rooms/999999").status_code == 404


def test_the_supervisor_console_is_read_only(client, session, exam):
    login_as(client, supervisor_of(session, exam))
    html = client.get("/supervise/").get_data(as_text=True)
    assert exam.room1.name in html and exam.room2.name in html
    html = client.get(f"/supervise/rooms/{exam.room1.id}").get_data(as_text=True)
    assert 'data-mode="readonly"' in html and "全场暂停" not in html and "终止考试" not in html
    other = make_user(session, Role.SUPERVISOR)
    login_as(client, other)
    assert client.get(f"/supervise/rooms/{exam.room1.id}").status_code == 403


def test_room_record_page_pdf_and_signing(client, session, exam):
    a0 = exam.started(0)
    pr.warn(session, exam.proctor1, a0.id, "请勿交谈", T0 + 3 * MIN)
    session.flush()
    login_as(client, exam.proctor1)
    url = f"/proctor/rooms/{exam.room1.id}/record"
    html = client.get(url).get_data(as_text=True)
    assert "考场记录表" in html and "请勿交谈" in html and exam.candidates[3].name in html  # absent
    pdf = client.get(url + ".pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    resp = client.post(f"/proctor/rooms/{exam.room1.id}/sign", data={})
    assert resp.status_code == 302
    assert session.scalar(select(func.count()).select_from(pr.RoomRecordSignature)) == 0  # not confirmed
    resp = client.post(f"/proctor/rooms/{exam.room1.id}/sign", data={"confirm": "y"}, follow_redirects=True)
    assert "已签名" in resp.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(pr.RoomRecordSignature)) == 1
    login_as(client, exam.proctor2)
    assert client.get(url).status_code == 403
    assert client.post(f"/proctor/rooms/{exam.room1.id}/sign", data={"confirm": "y"}).status_code == 403
    login_as(client, supervisor_of(session, exam))
    assert client.get(url).status_code == 200


def test_supervision_report_form_and_pdf(client, session, exam, monkeypatch):
    from web.proctor import views

    monkeypatch.setattr(views, "now", lambda: T0 + 100 * MIN)
    sup = supervisor_of(session, exam)
    login_as(client, sup)
    url = f"/supervise/sittings/{exam.sitting.id}/report"
    html = client.get(url).get_data(as_text=True)
    assert "督考报告" in html and exam.room1.name in html
    resp = client.post(url, data={"findings": "", "rating": "good"})
    assert "请填写督考情况" in resp.get_data(as_text=True)
    resp = client.post(url, data={"findings": "考场秩序良好。", "rating": "good"}, follow_redirects=True)
    assert "督考报告已提交" in resp.get_data(as_text=True)
    report = session.scalar(select(pr.SupervisionReport))
    assert report.findings == "考场秩序良好。" and report.rating == "good"
    pdf = client.get(url + ".pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    login_as(client, make_user(session, Role.SUPERVISOR))
    assert client.get(url).status_code == 403


def test_nav_has_the_console_entries(client, session, exam):
    login_as(client, exam.proctor1)
    assert 'href="/proctor/"' in client.get("/home").get_data(as_text=True)
    login_as(client, supervisor_of(session, exam))
    assert 'href="/supervise/"' in client.get("/home").get_data(as_text=True)


# ---------------------------------------------------------------- liveness (issue 11, point 8)


def test_a_connection_is_held_by_its_process_and_released_on_disconnect(app, session, exam, live):
    from examroom.models import ExamConnection
    from web.sockets import liveness

    cand, _proctor, attempt, _snap = live
    session.expire_all()
    rows = session.execute(select(ExamConnection.attempt_id, ExamConnection.instance_id)).all()
    assert rows == [(attempt.id, liveness.instance_id())]
    cand.disconnect(EXAM)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(ExamConnection)) == 0


def test_a_crashed_processs_candidate_turns_offline_on_the_live_console(app, session, exam, live, monkeypatch):
    """The candidate's connection is held by a process that was killed -9 (its heartbeat is an
    hour old, no disconnect was written); the next heartbeat of a living process reaps it and
    the watching console is told: the seat shows 离线."""
    from examroom import connections
    from examroom.models import ExamConnection
    from foundation.db import utcnow
    from web.sockets import liveness

    cand, proctor, attempt, snap = live
    assert next(s for s in snap["seats"] if s["attempt_id"] == attempt.id)["status"] == "answering"
    session.execute(ExamConnection.__table__.update().values(instance_id="killed"))
    connections.register_instance(session, "killed", utcnow() - dt.timedelta(hours=1))
    connections.register_instance(session, liveness.instance_id(), utcnow())
    session.commit()
    assert liveness.beat_once(app) == [attempt.id]
    seats = received(proctor, NS, "seat")
    assert [(s["attempt_id"], s["status"], s["status_label"], s["online"]) for s in seats] == [
        (attempt.id, "offline", "离线", False)]
    ack = call(proctor, "watch", {"room_id": exam.room1.id})
    assert next(s for s in ack["snapshot"]["seats"] if s["attempt_id"] == attempt.id)["status"] == "offline"
    assert liveness.beat_once(app) == []  # reaped once


# ---------------------------------------------------------------- the console tells the truth (issue 11, point 8)


def _open_button(html):
    import re

    return re.search(r'<button[^>]*data-room-action="open"[^>]*>[^<]*</button>', html).group(0)


def test_the_open_button_is_offered_until_the_room_is_opened(client, session, exam):
    login_as(client, exam.proctor1)
    url = f"/proctor/rooms/{exam.room1.id}"
    button = _open_button(client.get(url).get_data(as_text=True))
    assert ">开考<" in button and "disabled" not in button
    exam.started(0)  # opens room 1 at T0 (09:00 Beijing)
    session.flush()
    button = _open_button(client.get(url).get_data(as_text=True))
    assert ">已开考<" in button and "disabled" in button and "09:00:00" in button


def test_a_second_open_is_refused_with_the_time_it_was_opened(session, exam, live):
    _cand, proctor, _attempt, snap = live
    assert dt.datetime.fromisoformat(snap["room"]["opened_at"]) == T0
    assert all(s["opened"] for s in snap["seats"])
    ack = call(proctor, "open", {"room_id": exam.room1.id})
    assert ack == {"ok": False, "code": "invalid", "error": "本考场已于 09:00 开考，不能重复开考。"}


def test_a_room_never_opened_has_no_opened_at(app, session, exam, clock):
    sock = console_socket(app, exam.proctor1)
    snap = call(sock, "watch", {"room_id": exam.room1.id})["snapshot"]
    assert snap["room"]["opened_at"] is None and not any(s["opened"] for s in snap["seats"])


CLOSING = {
    "submitted": lambda session, exam, a: svc.submit_attempt(session, exam.candidates[0], a.id, T0 + 40 * MIN),
    "expired": lambda session, exam, a: svc.expire_attempts(session, [a.id], T0 + 200 * MIN),
    "terminated": lambda session, exam, a: pr.terminate(session, exam.proctor1, a.id, "替考", 3, T0 + 6 * MIN),
}


@pytest.mark.parametrize("closing", sorted(CLOSING))
def test_a_closed_paper_refuses_pause_resume_extend_warn_and_terminate(app, session, exam, live, clock, closing):
    _cand, proctor, attempt, _ = live
    CLOSING[closing](session, exam, attempt)
    session.commit()
    before = kinds(session, attempt)
    clock["now"] = T0 + 300 * MIN if closing == "expired" else T0 + 41 * MIN
    for event, payload in (
        ("pause", {"attempt_id": attempt.id}),
        ("resume", {"attempt_id": attempt.id}),
        ("extend", {"attempt_id": attempt.id, "minutes": 10, "reason": "补时"}),
        ("warn", {"attempt_id": attempt.id, "message": "请勿交谈"}),
        ("terminate", {"attempt_id": attempt.id, "reason": "替考", "tier": 3}),
    ):
        ack = call(proctor, event, payload)
        assert ack["ok"] is False and ack["error"], (event, ack)
    assert kinds(session, attempt) == before


def test_the_feed_marks_room_wide_and_own_events(session, exam, live):
    cand, proctor, attempt, _ = live
    cand.emit("signal", {"attempt_id": attempt.id, "signal": "focus_loss"}, namespace=EXAM)
    own = call(proctor, "watch", {"room_id": exam.room1.id})["snapshot"]
    event = next(s for s in own["seats"] if s["attempt_id"] == attempt.id)["last_event"]
    assert (event["label"], event["own"], event["room"]) == ("离开考试页面", True, False)
    ack = call(proctor, "pause_room", {"room_id": exam.room1.id, "reason": "停电"})
    assert ack["ok"] is True
    event = received(proctor, NS, "seat")[-1]["last_event"]  # one seat changed: a "seat" push
    assert (event["label"], event["detail"], event["room"], event["own"]) == ("暂停", "停电", True, False)
    assert event["actor"] == exam.proctor1.name
