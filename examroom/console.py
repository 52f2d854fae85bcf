"""The proctor console's view of a room: one live summary per seat (placeholder; the console
work fills it in)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from examroom.models import Attempt, Response

__all__ = ["seat_summary_for"]


def seat_summary_for(session: Session, attempt_id: int) -> dict[str, Any] | None:
    """The live summary of the seat of ``attempt_id``: at least ``room_id`` and ``attempt_id``."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is None:
        return None
    answered = session.scalar(select(func.count()).select_from(Response).where(Response.attempt_id == attempt_id))
    return {"room_id": attempt.room_id, "attempt_id": attempt.id, "status": attempt.status,
            "answered": int(answered or 0)}
