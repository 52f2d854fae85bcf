from __future__ import annotations

from flask import Blueprint

bp = Blueprint("schemes", __name__, url_prefix="/schemes")

from web.schemes import views  # noqa: E402,F401
