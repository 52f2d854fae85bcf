"""Server-side login sessions (登录会话): each login gets a random token kept in the signed
session cookie, and only its SHA-256 is stored here. A request is signed in only while its
token's row exists and has not expired, so deleting the row ends that session at once, even
for someone who copied the cookie before logging out (exam-room computers are shared).

One row per login, not a per-user version number: logging out on one computer ends that
computer's session only, while a password change, an administrator's reset or a deactivation
ends every session of the account (:func:`end_user_sessions`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from foundation.db import Base, utcnow

if TYPE_CHECKING:  # accounts ends an account's sessions, so this module sits below it
    from foundation.accounts import User

__all__ = ["LoginSession", "end_login_session", "end_user_sessions", "open_login_session", "session_user"]


class LoginSession(Base):
    """One signed-in browser: the hash of its token, whose account, until when."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    #: Loaded in the same statement as the session row (a joined load).
    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_login_session(session: Session, user: User, lifetime: dt.timedelta, now: dt.datetime | None = None) -> str:
    """Store a new session for ``user`` and return its token (for the cookie only). The
    account's expired rows are cleared on the way, so the table holds live sessions."""
    now = now or utcnow()
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(user_id=user.id, token_hash=_digest(token), created_at=now, expires_at=now + lifetime))
    session.flush()
    return token


def session_user(session: Session, user_id: int, token: str, now: dt.datetime | None = None) -> User | None:
    """The account of a live session (one statement), or None when the token was ended,
    expired, never existed or belongs to another account."""
    now = now or utcnow()
    row = session.scalar(select(LoginSession).where(
        LoginSession.user_id == user_id, LoginSession.token_hash == _digest(token), LoginSession.expires_at > now,
    ))
    return row.user if row is not None else None


def end_login_session(session: Session, token: str | None) -> None:
    """Logout: this browser's session only."""
    if token:
        session.execute(delete(LoginSession).where(LoginSession.token_hash == _digest(token)))


def end_user_sessions(session: Session, user_id: int) -> None:
    """Every session of the account: a password change or reset, a deactivation."""
    session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
