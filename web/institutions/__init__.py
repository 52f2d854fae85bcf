from __future__ import annotations

from flask import Blueprint

bp = Blueprint("institutions", __name__, url_prefix="/institutions")

from web.institutions import views  # noqa: E402,F401
