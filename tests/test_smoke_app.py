from __future__ import annotations

from foundation.roles import Role
from tests.factories import make_user


def test_login_page_renders_in_chinese(client):
    resp = client.get("/login")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "工作人员登录" in body and "考生登录" in body
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]


def test_staff_login_reaches_home(session, client, login):
    user = make_user(session, Role.CENTRE_ADMIN, name="王主任")
    login(user)
    resp = client.get("/home")
    assert resp.status_code == 200
    assert "王主任" in resp.get_data(as_text=True)
