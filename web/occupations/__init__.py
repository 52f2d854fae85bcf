from __future__ import annotations

from flask import Blueprint

bp = Blueprint("occupations", __name__, url_prefix="/occupations")

from web.occupations import views  # noqa: E402,F401
