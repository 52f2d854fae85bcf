"""操作技能考核评分 area, under /skill: an examiner's sittings and score sheets (tablet pages that
keep drafts through a lost connection), the sitting's board with the chief's reconciliation and
absences, and the examiner statistics for the institution and the centre."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("skill", __name__, url_prefix="/skill")

from web.skill import views  # noqa: E402,F401
