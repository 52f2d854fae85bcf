from __future__ import annotations

from flask import Blueprint

bp = Blueprint("results", __name__, url_prefix="/results")

from web.results import views  # noqa: E402,F401
