"""Login and logout (登录): staff by username and password, candidates by admission ticket
number plus ID number. Rate-limited, CSRF-protected, session renewed on login."""

from __future__ import annotations

import hmac

from flask import Blueprint, Flask

from web.extensions import db, login_manager

bp = Blueprint("auth", __name__)


def init_login(app: Flask) -> None:
    from foundation.accounts import User

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(session_token: str) -> User | None:
        user_id, _, fingerprint = session_token.partition(":")
        if not user_id.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not user.active:
            return None
        # A changed password invalidates sessions opened with the old one.
        if not hmac.compare_digest(fingerprint, user.credential_fingerprint):
            return None
        return user


from web.auth import views  # noqa: E402,F401
