"""HTTP security headers applied to every response."""

from __future__ import annotations

from flask import Flask, Response, g


def keep_retry_after(app: Flask) -> None:
    """A login refused by the failure throttle says how long to wait, and its ``Retry-After``
    must say the same. Flask-Limiter's header injection rewrites ``Retry-After`` on every
    response of a limited route as ``int(reset - now)``, which truncates 60 to 59 half the time.
    Registered before the limiter, this hook runs after its injection and puts the throttle's
    value back (the view leaves it in ``g.retry_after``)."""

    @app.after_request
    def _retry_after(response: Response) -> Response:
        value = g.pop("retry_after", None)
        if value is not None:
            response.headers["Retry-After"] = str(value)
        return response


def install_security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", app.config["CONTENT_SECURITY_POLICY"])
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response
