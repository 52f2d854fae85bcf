"""Request size limits: small by default, large only where a view says it takes large files.

Every request may carry at most ``MAX_CONTENT_LENGTH`` (16 MB): enough for any form, item
import or photo, and it keeps a stray huge body from being parsed anywhere. A view decorated
with :func:`large_upload` accepts up to ``LARGE_UPLOAD_MAX_BYTES`` instead (a province's
response file: 200,000 examinees × 100 items is about 42 MB as CSV). Werkzeug's form parser
spools file parts above 500 KB to a temporary file, so a large upload goes to disk as it
arrives, never whole into memory; the view then moves it to the job folder
(:func:`web.jobs.views.save_upload_file`) and a background job parses it.

The limit is set in a ``before_request`` hook registered ahead of the CSRF check, which is the
first to read the body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, request

F = TypeVar("F", bound=Callable[..., object])
_MARK = "large_upload"


def large_upload(view: F) -> F:
    """Mark a view as taking files up to ``LARGE_UPLOAD_MAX_BYTES`` (put it under the route
    decorator's wrappers; ``functools.wraps`` carries the mark outward)."""
    setattr(view, _MARK, True)
    return view


def takes_large_uploads(endpoint: str | None) -> bool:
    view = current_app.view_functions.get(endpoint or "")
    return bool(view is not None and getattr(view, _MARK, False))


def install_upload_limits(app: Flask) -> None:
    @app.before_request
    def _large_upload_limit() -> None:
        if takes_large_uploads(request.endpoint):
            request.max_content_length = current_app.config["LARGE_UPLOAD_MAX_BYTES"]
