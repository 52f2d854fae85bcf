"""理论成绩 pages: the centre's list of tier-4 holds (暂缓) with their release (``/holds``), and
marking of examiner-scored theory items (阅卷, ``/marking``): the institution admin names the
markers of a theory sitting, markers mark their queue of anonymised answers. The rules are in
``grading.results.violations`` and ``grading.results.marking``."""

from __future__ import annotations

from flask import Blueprint

holds_bp = Blueprint("holds", __name__, url_prefix="/holds")
marking_bp = Blueprint("marking", __name__, url_prefix="/marking")

from web.theory import views  # noqa: E402,F401
