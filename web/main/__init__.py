from __future__ import annotations

from flask import Blueprint

bp = Blueprint("main", __name__)

from web.main import views  # noqa: E402,F401
