"""操作日志: the centre browses the audit trail and verifies its hash chain."""

from __future__ import annotations

from flask import current_app, render_template, request
from sqlalchemy import or_, select

from foundation.audit import AuditEntry, verify_chain
from foundation.roles import Role
from web.access import roles_required
from web.audit import bp
from web.audit.labels import action_label, detail_rows
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
def verify() -> tuple[str, int]:
    report = verify_chain(db.session)
    broken = db.session.get(AuditEntry, report.first_broken_id) if report.first_broken_id else None
    return render_template("audit/verify.html", report=report, broken=broken), (200 if report.ok else 409)
