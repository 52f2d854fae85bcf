from __future__ import annotations

from flask import Blueprint

bp = Blueprint("users", __name__, url_prefix="/users")

from web.users import views  # noqa: E402,F401
