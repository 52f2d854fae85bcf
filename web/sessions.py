"""The signed-cookie session, decoded once per Socket.IO connection instead of once per event.

Flask-SocketIO (``manage_session=False``) pushes a request context for every event on the
connection's saved WSGI environ, and Flask opens the session each time: verify the cookie's
HMAC, decode and parse it, the same cookie on every answer of the exam. This interface keeps
the decoded data in that environ (an HTTP request has an environ of its own, so it decodes
once, as before) and serves a fresh session object from it while the cookie is unchanged and
not past the session lifetime. The signature is checked exactly as Flask does; an expired or
forged cookie still gives an empty session.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature

__all__ = ["ConnectionSessionInterface"]

_MEMO = "web.session_memo"


class ConnectionSessionInterface(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        cookie = request.cookies.get(self.get_cookie_name(app))
        memo: tuple[str, dict[str, Any], float] | None = request.environ.get(_MEMO)
        if memo is not None and cookie and memo[0] == cookie and time.time() < memo[2]:
            return self.session_class(memo[1])
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        if not cookie:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data, signed_at = serializer.loads(cookie, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        request.environ[_MEMO] = (cookie, data, signed_at.timestamp() + max_age)
        return self.session_class(data)
