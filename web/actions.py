"""One path for a view's service call: commit on success, a refusal flashed on the page it came from.

``perform(call, back=url)`` runs a form POST's service call (a closure over ``db.session`` and
the actor) and commits; on a :class:`~foundation.errors.DomainError` it rolls back and ends the
request: a :class:`~foundation.errors.NotFound` is a 404, any other refusal flashes its Chinese
message ("danger") and redirects to ``back``. The view says what was done and where to go next.
``found(call)`` is the read variant: the call's result, or a 404 when it raises NotFound.

Views whose refusal renders the form again with its errors (status 400) keep their own
``try``: they need the page's values, which the helper does not know."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import abort, flash, redirect

from foundation.errors import DomainError, NotFound, PermissionDenied
from web.extensions import db

T = TypeVar("T")


def perform(call: Callable[[], T], *, back: str, missing_is_404: bool = True, denied_is_403: bool = False) -> T:
    """``call()`` and commit; its result. On a refusal the session is rolled back and the request
    ends: NotFound is a 404 (with ``missing_is_404=False`` it is refused like the others: a row
    the page already checked), PermissionDenied is a 403 with ``denied_is_403``, and any other
    DomainError flashes its message and redirects to ``back``."""
    try:
        result = call()
    except DomainError as exc:
        db.session.rollback()
        if missing_is_404 and isinstance(exc, NotFound):
            abort(404)
        if denied_is_403 and isinstance(exc, PermissionDenied):
            abort(403)
        flash(exc.message, "danger")
        abort(redirect(back))
    db.session.commit()
    return result


def found(call: Callable[[], T], *, denied_is_403: bool = False) -> T:
    """``call()`` (a read); a 404 when it raises NotFound, a 403 on PermissionDenied with
    ``denied_is_403``."""
    try:
        return call()
    except NotFound:
        abort(404)
    except PermissionDenied:
        if denied_is_403:
            abort(403)
        raise
