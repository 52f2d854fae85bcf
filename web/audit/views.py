"""操作日志: the centre browses the audit trail and verifies its hash chain."""

from __future__ import annotations

from flask import current_app, render_template, request
from sqlalchemy import or_, select
from werkzeug.wrappers import Response

from foundation.audit import AuditCheckpoint, AuditEntry, AuditHead
from foundation.roles import Role
from web.access import roles_required
from web.audit import bp, verify_job
from web.audit.labels import action_label, detail_rows
from web.extensions import db
from web.jobs.views import start


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


@bp.post("/verify")
@roles_required(Role.CENTRE_ADMIN)
def verify_run() -> Response:
    """Queue a verification (``mode`` "incremental", the default, or "full") as a background job
    (:mod:`web.audit.verify_job`); its page shows the progress and then the result."""
    full = request.form.get("mode") == "full"
    return start(verify_job.VERIFY, {"full": full})
