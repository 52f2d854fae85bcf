"""On the live server (migrated, seeded, served as ``make run`` does): a session cookie copied
before logout stops working at once on HTTP and on a live ``/proctor`` Socket.IO connection,
and cannot open a new one (security issue #12, point 5). The exam namespace's 30-second bound
is tested with Flask-SocketIO's test client (tests/web/test_session_revocation.py)."""

from __future__ import annotations

import re

import pytest
import requests
import socketio

from tests.e2e.seeding import started_seat

pytestmark = pytest.mark.e2e


def _token(http: requests.Session, url: str) -> str:
    """The CSRF token every page carries in its ``csrf-token`` meta tag."""
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', http.get(url, timeout=10).text).group(1)


def test_a_copied_cookie_dies_with_logout_on_http_and_on_the_proctor_socket(live_server):
    from tests.factories import PASSWORD

    seat = started_seat(live_server)
    base = live_server.url
    owner = requests.Session()
    resp = owner.post(base + "/login", data={"username": seat["proctor"], "password": PASSWORD,
                                             "csrf_token": _token(owner, base + "/login")}, timeout=10)
    assert resp.status_code == 200 and "/login" not in resp.url
    thief = requests.Session()
    thief.cookies.update(owner.cookies)
    assert "/login" not in thief.get(base + "/home", timeout=10).url

    console = socketio.Client(reconnection=False, http_session=thief)
    console.connect(base, namespaces=["/proctor"], wait_timeout=10)
    try:
        assert console.call("watch", {"room_id": seat["room_id"]}, namespace="/proctor", timeout=10)["ok"] is True
        owner.post(base + "/logout", data={"csrf_token": _token(owner, base + "/home")}, timeout=10)
        assert "/login" in thief.get(base + "/home", timeout=10).url
        ack = console.call("watch", {"room_id": seat["room_id"]}, namespace="/proctor", timeout=10)
        assert ack["ok"] is False and ack["code"] == "forbidden"
    finally:
        console.disconnect()
    again = socketio.Client(reconnection=False, http_session=thief)
    with pytest.raises(socketio.exceptions.ConnectionError):
        again.connect(base, namespaces=["/proctor"], wait_timeout=10)
