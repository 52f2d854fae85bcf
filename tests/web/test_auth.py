"""Login, logout, CSRF, rate limit, cookie flags and the socket handshake."""

from __future__ import annotations

import re

import pytest

from foundation.audit import AuditEntry
from foundation.roles import Role
from tests.factories import PASSWORD, make_user, ticket_no


def test_staff_login_wrong_password_is_refused(session, client):
    user = make_user(session, Role.PROCTOR)
    resp = client.post("/login", data={"username": user.username, "password": "wrong-pass1"})
    assert resp.status_code == 400
    assert "用户名或密码错误" in resp.get_data(as_text=True)
    assert client.get("/home").status_code == 302


def test_inactive_account_cannot_log_in(session, client):
    user = make_user(session, Role.EXAMINER, active=False)
    resp = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert resp.status_code == 400


def test_candidate_logs_in_with_ticket_and_id_number(session, client):
    cand = make_user(session, Role.CANDIDATE, name="李考生")
    bad = client.post("/login/candidate", data={"ticket_no": ticket_no(cand), "id_number": "11010519491231002X"})
    assert bad.status_code == 400 and "准考证号或身份证号码错误" in bad.get_data(as_text=True)
    ok = client.post("/login/candidate", data={"ticket_no": ticket_no(cand), "id_number": cand.id_number.lower()})
    assert ok.status_code == 302
    home = client.get("/home").get_data(as_text=True)
    assert "李考生" in home and ticket_no(cand) in home
    assert cand.id_number not in home  # shown masked only


def test_candidate_cannot_use_staff_form_and_staff_cannot_use_candidate_form(session, client):
    cand = make_user(session, Role.CANDIDATE)
    assert client.post("/login", data={"username": ticket_no(cand), "password": cand.id_number}).status_code == 400


def test_login_and_logout_are_audited_and_logout_needs_post(session, client, login):
    user = make_user(session, Role.SUPERVISOR)
    login(user)
    actions = [e.action for e in session.query(AuditEntry).filter_by(actor_id=user.id)]
    assert "auth.login.staff" in actions
    assert client.get("/logout").status_code == 405
    client.post("/logout")
    assert client.get("/home").status_code == 302


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_next_parameter_cannot_redirect_off_site(session, client, target):
    user = make_user(session, Role.CENTRE_ADMIN)
    resp = client.post("/login?next=" + target, data={"username": user.username, "password": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == "/home"


def test_next_parameter_keeps_local_path(session, client):
    user = make_user(session, Role.CENTRE_ADMIN)
    resp = client.post("/login?next=/users/", data={"username": user.username, "password": PASSWORD})
    assert resp.headers["Location"] == "/users/"


def test_session_cookie_flags(session, client):
    user = make_user(session, Role.CENTRE_ADMIN)
    resp = client.post("/login", data={"username": user.username, "password": PASSWORD})
    cookie = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("skilleval_session="))
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie


def test_security_headers_on_every_page(client):
    resp = client.get("/login")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp


@pytest.fixture
def strict_app(app_like) -> object:
    """The same database, with CSRF and rate limiting switched on as in production."""
    return app_like(WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=True, LOGIN_FAILURE_LIMIT="3 per minute")


def test_csrf_token_is_required_on_login(strict_app, session):
    user = make_user(session, Role.CENTRE_ADMIN)
    session.commit()
    client = strict_app.test_client()
    refused = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert refused.status_code == 400 and "表单已过期" in refused.get_data(as_text=True)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    accepted = client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token})
    assert accepted.status_code == 302


def test_login_is_rate_limited(strict_app, session):
    user = make_user(session, Role.CENTRE_ADMIN)
    session.commit()
    client = strict_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    wrong = {"username": user.username, "password": "wrong-pass1", "csrf_token": token}
    codes = [client.post("/login", data=wrong).status_code for _ in range(4)]
    assert codes == [400, 400, 400, 429]
    # Even the right password is refused from this address until the window passes.
    right = client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token})
    assert right.status_code == 429 and "登录失败次数过多" in right.get_data(as_text=True)
    # Another account from the same address (a shared exam-room NAT) is not locked out.
    other = make_user(session, Role.PROCTOR)
    session.commit()
    resp = client.post("/login", data={"username": other.username, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302


def test_socket_connection_requires_login(app, session, client, login):
    from web.extensions import socketio

    anonymous = socketio.test_client(app, flask_test_client=app.test_client())
    assert not anonymous.is_connected()
    user = make_user(session, Role.PROCTOR)
    login(user)
    signed_in = socketio.test_client(app, flask_test_client=client)
    assert signed_in.is_connected()
    signed_in.disconnect()


def test_password_change_and_deactivation_end_other_sessions(app, session, login):
    from foundation.accounts import update_user

    centre = make_user(session, Role.CENTRE_ADMIN)
    user = make_user(session, Role.QUESTION_WRITER)
    other_browser = app.test_client()
    other_browser.post("/login", data={"username": user.username, "password": PASSWORD})
    assert other_browser.get("/home").status_code == 200
    update_user(session, centre, user.id, password="Qilin-Gate-73")
    session.flush()
    assert other_browser.get("/home").status_code == 302  # sent back to the login page
    other_browser.post("/login", data={"username": user.username, "password": "Qilin-Gate-73"})
    assert other_browser.get("/home").status_code == 200
    update_user(session, centre, user.id, active=False)
    session.flush()
    assert other_browser.get("/home").status_code == 302


def test_csp_allows_no_inline_script_or_style(client):
    csp = client.get("/login").headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
