from __future__ import annotations

from flask import Blueprint

bp = Blueprint("public", __name__, url_prefix="/public")

from web.public import views  # noqa: E402,F401
