"""The session cookie is decoded once per Socket.IO connection (its saved environ), and still
checked as Flask checks it: a forged or expired cookie gives an empty session."""

from __future__ import annotations

import time

import pytest
from flask import session as flask_session
from werkzeug.test import EnvironBuilder

from web.sessions import ConnectionSessionInterface


@pytest.fixture
def cookie(app):
    with app.test_request_context("/"):
        return app.session_interface.get_signing_serializer(app).dumps({"_user_id": "7:abc", "csrf_token": "t"})


def _environ(app, cookie_value):
    """A fresh WSGI environ carrying the cookie (as a Socket.IO connection keeps its own)."""
    name = app.config["SESSION_COOKIE_NAME"]
    return EnvironBuilder(path="/", headers={"Cookie": f"{name}={cookie_value}"}).get_environ()


def _open(app, environ):
    with app.request_context(environ):
        return dict(flask_session)


def test_the_app_uses_it(app):
    assert isinstance(app.session_interface, ConnectionSessionInterface)


def test_one_decode_per_environ(app, cookie, monkeypatch):
    environ = _environ(app, cookie)
    decodes = []
    real = ConnectionSessionInterface.get_signing_serializer

    def counting(self, app_):
        decodes.append(1)
        return real(self, app_)

    monkeypatch.setattr(ConnectionSessionInterface, "get_signing_serializer", counting)
    first, second = _open(app, environ), _open(app, environ)
    assert first == second == {"_user_id": "7:abc", "csrf_token": "t"}
    assert len(decodes) == 1
    assert _open(app, _environ(app, cookie)) == first and len(decodes) == 2  # another request decodes


def test_each_event_gets_its_own_session_object(app, cookie):
    environ = _environ(app, cookie)
    with app.request_context(environ):
        flask_session["scratch"] = 1
    assert "scratch" not in _open(app, environ)


def test_a_forged_cookie_gives_an_empty_session(app, cookie):
    forged = cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")
    assert _open(app, _environ(app, forged)) == {}


def test_an_expired_cookie_stops_working_on_a_live_connection(app, cookie, monkeypatch):
    environ = _environ(app, cookie)
    assert _open(app, environ)["_user_id"] == "7:abc"
    later = time.time() + app.permanent_session_lifetime.total_seconds() + 5
    monkeypatch.setattr(time, "time", lambda: later)
    assert _open(app, environ) == {}


def test_socket_events_route_without_raising(app):
    """Every Socket.IO event pushes a request context on the connection's environ; its path
    must match a rule, or each event raises a NotFound kept in a reference cycle."""
    for path in ("/socket.io/", "/socket.io"):
        environ = EnvironBuilder(path=path, query_string="EIO=4&transport=websocket").get_environ()
        with app.request_context(environ) as ctx:
            assert ctx.request.routing_exception is None
