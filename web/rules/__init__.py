from __future__ import annotations

from flask import Blueprint

bp = Blueprint("rules", __name__, url_prefix="/rules")

from web.rules import views  # noqa: E402,F401
