from __future__ import annotations

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")

from web.audit import views  # noqa: E402,F401
