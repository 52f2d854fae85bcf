"""Login and logout (登录): staff by username and password, candidates by admission ticket
number plus ID number. Rate-limited, CSRF-protected, session renewed on login."""

from __future__ import annotations

import hmac

from flask import Blueprint, Flask, session

from web.extensions import db, login_manager

bp = Blueprint("auth", __name__)

#: The session-cookie key holding this browser's login-session token (foundation.login_sessions).
LOGIN_TOKEN_KEY = "login_token"  # noqa: S105  (a key name, not a secret)

#: Where a candidate's session keeps the batch and ticket number they logged in with (a
#: ticket number is one batch registration's): the home page shows that number and the exam
#: pages only that batch's sittings.
CANDIDATE_BATCH_KEY = "candidate_batch_id"
CANDIDATE_TICKET_KEY = "candidate_ticket_no"  # noqa: S105  (a key name, not a secret)


def init_login(app: Flask) -> None:
    from foundation.accounts import User
    from foundation.login_sessions import session_user

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(session_token: str) -> User | None:
        user_id, _, fingerprint = session_token.partition(":")
        token = session.get(LOGIN_TOKEN_KEY)
        if not user_id.isdigit() or not isinstance(token, str):
            return None
        # The login must still be live on the server (ended by logout, password change,
        # deactivation): one statement, as the plain user load was.
        user = session_user(db.session, int(user_id), token)
        if user is None or not user.active:
            return None
        # A changed password invalidates sessions opened with the old one.
        if not hmac.compare_digest(fingerprint, user.credential_fingerprint):
            return None
        return user


from web.auth import views  # noqa: E402,F401
