"""操作日志: the centre browses the audit trail and verifies its hash chain."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

from flask import Response, current_app, render_template, request, stream_template
from flask_login import current_user
from sqlalchemy import or_, select

from foundation import audit
from foundation.audit import AuditCheckpoint, AuditEntry, AuditHead, ChainReport
from foundation.roles import Role
from web.access import roles_required
from web.audit import bp
from web.audit.labels import action_label, describe_break, detail_rows
from web.extensions import db


@bp.get("/")
@roles_required(Role.CENTRE_ADMIN)
def index() -> str:
    q = request.args.get("q", "").strip()
    action = request.args.get("action", "").strip()
    stmt = select(AuditEntry)
    if q:
        stmt = stmt.where(or_(*(column.icontains(q, autoescape=True) for column in (
            AuditEntry.actor_name, AuditEntry.target_id, AuditEntry.target_type))))
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action))
    stmt = stmt.order_by(AuditEntry.seq.desc())
    page = db.paginate(stmt, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    actions = db.session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).all()
    return render_template("audit/index.html", page=page, q=q, action=action, actions=actions,
                           action_label=action_label, detail_rows=detail_rows)


@bp.get("/verify")
@roles_required(Role.CENTRE_ADMIN)
def verify() -> str:
    """The chain's state: its length and the latest checkpoints, with the two verifications."""
    head = db.session.get(AuditHead, 1)
    checkpoints = db.session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.number.desc()).limit(10)).all()
    return render_template("audit/verify.html", head=head, checkpoints=checkpoints)


@dataclasses.dataclass
class _Outcome:
    report: ChainReport | None = None
    checkpoint: AuditCheckpoint | None = None
    broken: AuditEntry | None = None
    message: str = ""


@bp.post("/verify")
@roles_required(Role.CENTRE_ADMIN)
def verify_run() -> Response:
    """Run a verification (``mode`` "incremental", the default, or "full") and stream the page:
    a progress bar after each chunk of the log, then the result. The status is always 200
    (it is sent before the result is known); the result is in the page."""
    full = request.form.get("mode") == "full"
    outcome = _Outcome()

    def steps() -> Iterator[audit.Progress]:
        run = audit.verification_steps(db.session, full=full)
        while True:
            try:
                step = next(run)
            except StopIteration as done:
                outcome.report = done.value
                break
            yield step
            time.sleep(0)  # under gevent: let the exam sockets run between chunks
        outcome.checkpoint = audit.append_checkpoint(db.session, current_user, outcome.report)
        db.session.commit()
        if not outcome.report.ok:
            outcome.message = describe_break(outcome.report)
            if outcome.report.first_broken_id:
                outcome.broken = db.session.get(AuditEntry, outcome.report.first_broken_id)

    return Response(stream_template("audit/verify_run.html", full=full, steps=steps(), outcome=outcome),
                    mimetype="text/html")
