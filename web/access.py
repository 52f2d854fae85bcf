"""Server-side role checks for views. Every protected view declares its roles here, and the
role-by-route matrix test reads them back from ``view.allowed_roles``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, redirect, request, url_for
from flask_login import current_user

from foundation.accounts import User
from foundation.roles import Role

F = TypeVar("F", bound=Callable[..., Any])

STAFF_ROLES = tuple(r for r in Role if r is not Role.CANDIDATE)
ALL_ROLES = tuple(Role)
#: Paths answered in JSON: an anonymous call gets 401 (not a redirect to the login page) and
#: errors are ``{"error", "status"}`` (web/errors.py).
JSON_PATHS = ("/api/", "/exam/api/")


def is_json_path(path: str) -> bool:
    return path.startswith(JSON_PATHS)


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Refuse anonymous users (redirect to login) and users of other roles (403)."""
    allowed = frozenset(r.value for r in roles)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                if request.method == "GET" and not is_json_path(request.path):
                    return redirect(url_for("auth.login", next=request.full_path))
                abort(401)
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapper.allowed_roles = allowed  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def public(view: F) -> F:
    """Mark a view as intentionally open to everyone (社会公众)."""
    view.public = True  # type: ignore[attr-defined]
    return view


def actor() -> User:
    """The logged-in user as the domain model, for passing to services."""
    return current_user._get_current_object()  # type: ignore[no-any-return]
