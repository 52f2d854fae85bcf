"""Logout, a password change and deactivation end sessions on the server (security issue #12,
point 5): a session cookie copied before logout is useless afterwards, on HTTP at once and on a
live Socket.IO connection within the account re-check bound (ACCOUNT_RECHECK_SECONDS)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from foundation.accounts import update_user
from foundation.login_sessions import LoginSession
from foundation.roles import Role
from tests.examroom.worlds import MIN, T0, Exam
from tests.factories import PASSWORD, make_user, ticket_no
from web.sockets import exam as exam_ns
from web.sockets import proctor as proctor_ns

COOKIE = "skilleval_session"


def copy_of(app, browser):
    """Another browser holding a copy of ``browser``'s session cookie (taken from its jar)."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, browser.get_cookie(COOKIE).value)
    return thief


def staff_browser(app, user, password=PASSWORD):
    browser = app.test_client()
    assert browser.post("/login", data={"username": user.username, "password": password}).status_code == 302
    return browser


def candidate_browser(app, user):
    browser = app.test_client()
    resp = browser.post("/login/candidate", data={"ticket_no": ticket_no(user), "id_number": user.id_number})
    assert resp.status_code == 302
    return browser


def live_sessions(session, user):
    return session.scalar(select(func.count()).select_from(LoginSession).where(LoginSession.user_id == user.id))


# ---------------------------------------------------------------- HTTP


@pytest.mark.parametrize("role", [Role.CENTRE_ADMIN, Role.PROCTOR, Role.CANDIDATE])
def test_a_cookie_copied_before_logout_is_useless_after_it(app, session, role):
    user = make_user(session, role)
    browser = candidate_browser(app, user) if role == Role.CANDIDATE else staff_browser(app, user)
    thief = copy_of(app, browser)
    assert thief.get("/home").status_code == 200  # the copy works while the login is live
    browser.post("/logout")
    assert thief.get("/home").status_code == 302  # sent to the login page
    assert live_sessions(session, user) == 0


def test_logging_out_on_one_computer_keeps_the_other_session(app, session):
    user = make_user(session, Role.PROCTOR)
    exam_room_pc, office_pc = staff_browser(app, user), staff_browser(app, user)
    assert live_sessions(session, user) == 2
    exam_room_pc.post("/logout")
    assert exam_room_pc.get("/home").status_code == 302
    assert office_pc.get("/home").status_code == 200


def test_changing_ones_password_ends_every_other_session_and_keeps_this_one(app, session):
    user = make_user(session, Role.QUESTION_WRITER)
    here, elsewhere = staff_browser(app, user), staff_browser(app, user)
    copied = copy_of(app, here)
    resp = here.post("/account/password", data={"old_password": PASSWORD, "new_password": "Qilin-Gate-73",
                                                 "confirm": "Qilin-Gate-73"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    assert here.get("/home").status_code == 200
    assert elsewhere.get("/home").status_code == 302
    assert copied.get("/home").status_code == 302  # a copy of this browser's old cookie too
    assert live_sessions(session, user) == 1


@pytest.mark.parametrize("change", [{"password": "Qilin-Gate-73"}, {"active": False}])
def test_an_administrators_reset_or_deactivation_ends_every_session(app, session, change):
    centre = make_user(session, Role.CENTRE_ADMIN)
    user = make_user(session, Role.QUESTION_WRITER)
    browser = staff_browser(app, user)
    update_user(session, centre, user.id, **change)
    session.flush()
    assert live_sessions(session, user) == 0
    assert browser.get("/home").status_code == 302


def test_a_cookie_without_a_live_login_session_is_refused(app, session):
    """A cookie signed with the key and naming the account, but whose login session was never
    opened (or was forged from an old cookie's user id), signs nobody in."""
    user = make_user(session, Role.CENTRE_ADMIN)
    browser = staff_browser(app, user)
    with browser.session_transaction() as sess:
        sess["login_token"] = "not-a-real-token"
    assert browser.get("/home").status_code == 302
    with browser.session_transaction() as sess:
        sess.pop("login_token")
    assert browser.get("/home").status_code == 302


def test_an_expired_login_session_signs_nobody_in(app, session):
    user = make_user(session, Role.CENTRE_ADMIN)
    browser = staff_browser(app, user)
    session.execute(LoginSession.__table__.update().where(LoginSession.user_id == user.id)
                    .values(expires_at=T0))
    assert browser.get("/home").status_code == 302


# ---------------------------------------------------------------- Socket.IO


@pytest.fixture
def exam(session):
    return Exam(session)


@pytest.fixture
def clock(monkeypatch):
    current = {"now": T0 + 2 * MIN}
    monkeypatch.setattr(exam_ns, "now", lambda: current["now"])
    monkeypatch.setattr(proctor_ns, "now", lambda: current["now"])
    return current


def _answer(attempt, seq, value):
    return {"attempt_id": attempt.id, "position": 1, "seq": seq, "value": value,
            "client_time": (T0 + 2 * MIN).isoformat()}


def test_a_copied_cookie_loses_the_exam_socket_at_the_next_account_check(app, session, exam, clock, monkeypatch):
    from web.extensions import socketio

    attempt = exam.started(0)
    session.flush()
    browser = candidate_browser(app, exam.candidates[0])
    thief = copy_of(app, browser)
    sock = socketio.test_client(app, namespace="/exam", auth={"attempt_id": attempt.id, "device_id": "device-one"},
                                flask_test_client=thief)
    assert sock.is_connected("/exam")
    assert sock.emit("answer", _answer(attempt, 1, "A"), namespace="/exam", callback=True)["ok"] is True
    browser.post("/logout")
    # Within ACCOUNT_RECHECK_SECONDS the connection uses the account it checked (no query per
    # answer); once that bound has passed, the ended login refuses every event.
    monkeypatch.setattr(exam_ns, "ACCOUNT_RECHECK_SECONDS", 0.0)
    for event, payload in (("answer", _answer(attempt, 2, "B")), ("state", {"attempt_id": attempt.id})):
        ack = sock.emit(event, payload, namespace="/exam", callback=True)
        assert ack["ok"] is False and ack["code"] == "forbidden", event
    sock.disconnect("/exam")
    again = socketio.test_client(app, namespace="/exam", auth={"attempt_id": attempt.id, "device_id": "device-one"},
                                 flask_test_client=thief)
    assert not again.is_connected("/exam")


def test_the_exam_socket_keeps_the_checked_account_within_the_bound(app, session, exam, clock):
    """The bound is kept, not tightened: no extra read per answer on the exam hot path."""
    from web.extensions import socketio

    attempt = exam.started(0)
    session.flush()
    browser = candidate_browser(app, exam.candidates[0])
    sock = socketio.test_client(app, namespace="/exam", auth={"attempt_id": attempt.id, "device_id": "device-one"},
                                flask_test_client=copy_of(app, browser))
    browser.post("/logout")
    assert sock.emit("answer", _answer(attempt, 1, "A"), namespace="/exam", callback=True)["ok"] is True
    sock.disconnect("/exam")


def test_a_copied_cookie_loses_the_proctor_console_at_once(app, session, exam, clock):
    from web.extensions import socketio

    browser = staff_browser(app, exam.proctor1)
    sock = socketio.test_client(app, namespace="/proctor", flask_test_client=copy_of(app, browser))
    assert sock.is_connected("/proctor")
    assert sock.emit("watch", {"room_id": exam.room1.id}, namespace="/proctor", callback=True)["ok"] is True
    browser.post("/logout")
    ack = sock.emit("watch", {"room_id": exam.room1.id}, namespace="/proctor", callback=True)
    assert ack["ok"] is False and ack["code"] == "forbidden"
    sock.disconnect("/proctor")
