"""The candidate's sittings and exam page. Only candidates; an attempt only by its owner."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, session, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from examroom import attempts as svc
from examroom import tickets
from examroom.models import Attempt, Batch, BatchModule, BatchStatus, ExamSession, Room, Seat
from foundation.db import as_utc
from foundation.errors import DomainError, NotFound
from foundation.roles import Role
from web.access import actor, roles_required
from web.auth import CANDIDATE_BATCH_KEY
from web.exam import bp
from web.extensions import db

STATUS_LABELS = {
    "not_started": "未入场",
    "waiting": "候考中",
    "in_progress": "作答中",
    "paused": "已暂停",
    "submitted": "已交卷",
    "expired": "已到时收卷",
    "terminated": "已终止",
}
FINAL = {"submitted", "expired", "terminated"}


def _login_batch() -> int | None:
    """The batch whose ticket number the candidate logged in with (web.auth.views)."""
    value = session.get(CANDIDATE_BATCH_KEY)
    return value if isinstance(value, int) else None


def _sittings(candidate_id: int) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(Seat, Room, ExamSession)
        .join(Room, Seat.room_id == Room.id)
        .join(ExamSession, Room.exam_session_id == ExamSession.id)
        .join(BatchModule, ExamSession.module_id == BatchModule.id)
        .join(Batch, BatchModule.batch_id == Batch.id)
        # Only sittings of plans the centre acknowledged are held (and shown).
        .where(Seat.candidate_id == candidate_id, Batch.status == BatchStatus.ACKNOWLEDGED.value,
               # A ticket number is one batch's: only that batch's sittings are reached with it.
               Batch.id == _login_batch())
        .order_by(ExamSession.starts_at, ExamSession.id)
    ).all()
    attempts = {
        a.exam_session_id: a
        for a in db.session.scalars(select(Attempt).where(Attempt.candidate_id == candidate_id))
    }
    out = []
    for seat, room, sitting in rows:
        attempt = attempts.get(sitting.id)
        status = attempt.status if attempt is not None else "not_started"
        batch = sitting.module.batch
        out.append({
            "sitting": sitting,
            "title": f"{batch.name} · {sitting.module.label}",
            "place": sitting.place or batch.place or "",
            "room": room.name,
            "seat": f"{(seat.row - 1) * room.cols + seat.col} 号（第 {seat.row} 排第 {seat.col} 列）",
            "status": status,
            "status_label": STATUS_LABELS.get(status, status),
            "final": status in FINAL,
            "attempt": attempt,
        })
    return out


@bp.get("/")
@roles_required(Role.CANDIDATE)
def index() -> str:
    return render_template("exam/index.html", sittings=_sittings(actor().id))


@bp.post("/sittings/<int:sitting_id>/enter")
@roles_required(Role.CANDIDATE)
def enter(sitting_id: int) -> Response:
    sitting = db.session.get(ExamSession, sitting_id)
    if sitting is None or sitting.module.batch_id != _login_batch():
        abort(404)
    try:
        attempt = svc.attempt_for_candidate(db.session, actor(), sitting_id)
    except NotFound:
        db.session.rollback()
        abort(404)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("exam.index"))
    db.session.commit()
    return redirect(url_for("exam.page", attempt_id=attempt.id))


@bp.get("/api/attempts")
@roles_required(Role.CANDIDATE)
def api_attempts() -> list[dict[str, Any]]:
    """The logged-in candidate's seated sittings and their attempt ids, as JSON, for a client
    of the /exam socket (docs/protocol.md §1). Only the candidate's own rows; no answer keys.
    ``attempt_id`` is null until the attempt exists (the room opened, or ``enter`` posted)."""
    return [{
        "sitting_id": s["sitting"].id,
        "title": s["title"],
        "starts_at": as_utc(s["sitting"].starts_at).isoformat(),
        "duration_minutes": s["sitting"].duration_minutes,
        "room": s["room"],
        "status": s["status"],
        "attempt_id": None if s["attempt"] is None else s["attempt"].id,
        "enter": url_for("exam.enter", sitting_id=s["sitting"].id),
    } for s in _sittings(actor().id)]


@bp.get("/<int:attempt_id>")
@roles_required(Role.CANDIDATE)
def page(attempt_id: int) -> str:
    attempt = db.session.get(Attempt, attempt_id)
    if (attempt is None or attempt.candidate_id != actor().id
            or attempt.exam_session.module.batch_id != _login_batch()):
        abort(404)  # another candidate's (or another batch's) attempt is not even acknowledged to exist
    # Until the paper is closed the page offers no site navigation (no link out of the exam).
    return render_template("exam/page.html", attempt=attempt, in_exam=attempt.status not in FINAL,
                           clock_rules=tickets.clock_rules(db.session))
