"""题目分析 area: response sets, calibration runs with progress, item and paper reports, DIF."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("analysis", __name__, url_prefix="/analysis")

from web.analysis import report_views, run_views  # noqa: E402,F401
