from __future__ import annotations

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")

from web.audit import verify_job, views  # noqa: E402,F401  (verify_job registers its job kind)
