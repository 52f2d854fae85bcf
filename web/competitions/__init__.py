"""竞赛选拔: the centre's register of competitions, their results (Excel import) and the
recognition rules; the rules are in ``grading.results.competitions``."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("competitions", __name__, url_prefix="/competitions")

from web.competitions import views  # noqa: E402,F401
