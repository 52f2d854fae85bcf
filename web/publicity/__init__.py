"""Publicity pages (公示): the public list, a publicity's entries, objections and the receipt
lookup (no login, rate-limited); the institution's publicities, objections with answer forms and
submissions; the centre's submission queue and review page, and the submission workbook."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("publicity", __name__, url_prefix="/publicity")

from web.publicity import views  # noqa: E402,F401
