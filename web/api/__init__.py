"""JSON API under /api/v1 (described in docs/openapi.yaml), with the pages' authorisation."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from web.api import views  # noqa: E402,F401
