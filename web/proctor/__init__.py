"""监考 and 督考 pages: the proctor's rooms and live console, the room record (考场记录表) with
signatures and its PDF; the supervisor's batches, read-only console and supervision report
(督考报告) per sitting; the centre's read-only lists of every room record and supervision
report. The live part runs over the ``/proctor`` Socket.IO namespace (web/sockets/proctor.py)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("proctor", __name__, url_prefix="/proctor")
supervise_bp = Blueprint("supervise", __name__, url_prefix="/supervise")
oversight_bp = Blueprint("oversight", __name__, url_prefix="/oversight")

from web.proctor import views  # noqa: E402,F401
