"""认定批次 pages: the batch list, the plan (sessions, rooms and seating, candidates, staff),
filing with the centre and the centre's decision, and admission tickets (准考证)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("batches", __name__, url_prefix="/batches")

from web.batches import views  # noqa: E402,F401
