"""Views of the proctor console, the supervisor's pages and the centre's oversight lists (every
room record and supervision report, read-only). Object-level authorisation (which rooms a
proctor or supervisor may see) lives in :mod:`examroom.proctoring`; a missing room, sitting or
report is 404, one outside the user's assignment 403."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import SelectChoice, SelectField, TextAreaField

from examroom import proctoring as pr
from examroom.models import Batch, BatchModule, BatchStaff, ExamSession, Room
from foundation.accounts import User
from foundation.calendar import beijing_date
from foundation.db import utcnow
from foundation.errors import DomainError, NotFound, PermissionDenied
from foundation.institutions import Institution
from foundation.roles import Role
from web.access import actor, roles_required
from web.downloads import PDF, download
from web.extensions import db
from web.proctor import bp, oversight_bp, supervise_bp
from web.proctor.pdfs import record_pdf, report_pdf
from web.templating import beijing

P, S, C = Role.PROCTOR, Role.SUPERVISOR, Role.CENTRE_ADMIN


def now() -> dt.datetime:
    """The clock of these pages (tests replace it)."""
    return utcnow()


def _or_abort(call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except NotFound:
        abort(404)
    except PermissionDenied:
        abort(403)


def _room_rows(rooms: list[Any], current: dt.datetime) -> list[dict[str, Any]]:
    today = beijing_date(current)
    rows = []
    for room in rooms:
        sitting = room.exam_session
        starts = sitting.starts_at if sitting.starts_at.tzinfo else sitting.starts_at.replace(tzinfo=dt.UTC)
        rows.append({"room": room, "sitting": sitting, "batch": sitting.module.batch, "starts_at": starts,
                     "today": beijing_date(starts) == today,
                     "seated": sum(1 for s in room.seats if s.candidate_id)})
    return rows


# ---------------------------------------------------------------------------- proctor


@bp.get("/")
@roles_required(P)
def index() -> str:
    current = now()
    rooms = pr.proctor_rooms(db.session, actor(), current)
    return render_template("proctor/index.html", rows=_room_rows(rooms, current))


def _console(room_id: int, mode: str) -> str:
    snapshot = _or_abort(pr.room_snapshot, db.session, actor(), room_id)
    record = pr.room_record(db.session, actor(), room_id, now())
    grid = _grid(snapshot)
    return render_template("proctor/console.html", snap=snapshot, room=snapshot["room"], grid=grid, mode=mode,
                           feed=list(reversed(record["entries"]))[:30], tiers=pr.TIER_LABELS,
                           status_labels=pr.STATUS_LABELS)


def _grid(snapshot: dict[str, Any]) -> list[list[dict[str, Any] | None]]:
    room = snapshot["room"]
    by_pos = {(s["row"], s["col"]): s for s in snapshot["seats"]}
    return [[by_pos.get((r, c)) for c in range(1, room["cols"] + 1)] for r in range(1, room["rows"] + 1)]


@bp.get("/rooms/<int:room_id>")
@roles_required(P)
def console(room_id: int) -> str:
    return _console(room_id, "proctor")


@bp.get("/rooms/<int:room_id>/record")
@roles_required(P, S, C)
def record(room_id: int) -> str:
    rec = _or_abort(pr.room_record, db.session, actor(), room_id, now())
    return render_template("proctor/record.html", rec=rec, room=rec["room"], tiers=pr.TIER_LABELS)


@bp.get("/rooms/<int:room_id>/record.pdf")
@roles_required(P, S, C)
def record_download(room_id: int) -> Response:
    rec = _or_abort(pr.room_record, db.session, actor(), room_id, now())
    data = record_pdf(rec)
    name = f"考场记录表-{rec['room']['batch']}-{rec['room']['name']}.pdf"
    return download(data, name, PDF)


@bp.post("/rooms/<int:room_id>/sign")
@roles_required(P)
def sign(room_id: int) -> Response:
    try:
        pr.sign_room_record(db.session, actor(), room_id, now(), confirm_open=request.form.get("confirm") == "y")
        db.session.commit()
    except NotFound:
        db.session.rollback()
        abort(404)
    except PermissionDenied:
        db.session.rollback()
        abort(403)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        flash("已签名：考场记录表已由您签署。", "success")
    return redirect(url_for("proctor.record", room_id=room_id))


# ---------------------------------------------------------------------------- supervisor


@supervise_bp.get("/", endpoint="index")
@roles_required(S)
def supervise_index() -> str:
    current = now()
    user = actor()
    batches = pr.supervised_batches(db.session, user)
    rooms = pr.supervisor_rooms(db.session, user, current)
    sittings = pr.supervised_sittings(db.session, user)
    reports = {r.exam_session_id: r for r in db.session.scalars(
        select(pr.SupervisionReport).where(pr.SupervisionReport.supervisor_id == user.id))}
    dispatched = {s.batch_id for s in db.session.scalars(select(BatchStaff).where(
        BatchStaff.user_id == user.id, BatchStaff.role == S.value, BatchStaff.dispatched.is_(True)))}
    return render_template("proctor/supervise_index.html", batches=batches, rows=_room_rows(rooms, current),
                           sittings=sittings, reports=reports, dispatched=dispatched)


@supervise_bp.get("/rooms/<int:room_id>", endpoint="console")
@roles_required(S)
def supervise_console(room_id: int) -> str:
    return _console(room_id, "readonly")


class ReportForm(FlaskForm):
    findings = TextAreaField("督考情况", render_kw={"rows": 10, "maxlength": pr.MAX_FINDINGS})
    rating = SelectField("对评价机构组织实施情况的评价", validate_choice=False,
                         choices=[SelectChoice("", "（请选择）"), *(SelectChoice(k, v) for k, v in pr.RATINGS.items())])


@supervise_bp.route("/sittings/<int:sitting_id>/report", methods=["GET", "POST"])
@roles_required(S)
def report(sitting_id: int) -> Any:
    view = _or_abort(pr.supervision_report, db.session, actor(), sitting_id, now())
    form = ReportForm()
    if form.validate_on_submit():
        try:
            pr.submit_supervision_report(db.session, actor(), sitting_id, form.findings.data or "",
                                         form.rating.data or "", now())
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            flash("督考报告已提交。", "success")
            return redirect(url_for("supervise.report", sitting_id=sitting_id))
    return render_template("proctor/report.html", view=view, batch=view["batch"], form=form,
                           ratings=pr.RATINGS, console=True, back=url_for("supervise.index"),
                           pdf_url=url_for("supervise.report_download", sitting_id=sitting_id))


@supervise_bp.get("/sittings/<int:sitting_id>/report.pdf")
@roles_required(S)
def report_download(sitting_id: int) -> Response:
    view = _or_abort(pr.supervision_report, db.session, actor(), sitting_id, now())
    if view["report"] is None:
        flash("督考报告尚未提交。", "warning")
        return redirect(url_for("supervise.report", sitting_id=sitting_id))
    return _report_pdf(view)


def _report_pdf(view: dict[str, Any]) -> Response:
    day = beijing(view["sitting"].starts_at, "%Y%m%d-%H%M")
    return download(report_pdf(view), f"督考报告-{view['batch'].name}-{day}.pdf", PDF)


# ---------------------------------------------------------------------------- the centre's oversight


@oversight_bp.get("/rooms", endpoint="rooms")
@roles_required(C)
def oversight_rooms() -> str:
    """Every room of every batch (考场记录表 across institutions), newest sitting first."""
    q = request.args.get("q", "").strip()
    stmt = (select(Room).join(ExamSession, Room.exam_session_id == ExamSession.id)
            .join(BatchModule, ExamSession.module_id == BatchModule.id)
            .join(Batch, BatchModule.batch_id == Batch.id)
            .join(Institution, Batch.institution_id == Institution.id))
    if q:
        stmt = stmt.where(or_(*(c.icontains(q, autoescape=True) for c in (Batch.name, Institution.name, Room.name))))
    stmt = stmt.options(selectinload(Room.seats)).order_by(ExamSession.starts_at.desc(), Room.id)
    page = db.paginate(stmt, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("proctor/oversight_rooms.html", page=page, q=q,
                           rows=_room_rows(list(page.items), now()))


@oversight_bp.get("/reports", endpoint="reports")
@roles_required(C)
def oversight_reports() -> str:
    """Every supervision report, newest first."""
    q = request.args.get("q", "").strip()
    stmt = (select(pr.SupervisionReport).join(Batch, pr.SupervisionReport.batch_id == Batch.id)
            .join(Institution, Batch.institution_id == Institution.id)
            .join(User, pr.SupervisionReport.supervisor_id == User.id))
    if q:
        stmt = stmt.where(or_(*(c.icontains(q, autoescape=True) for c in (Batch.name, Institution.name, User.name))))
    stmt = stmt.order_by(pr.SupervisionReport.submitted_at.desc(), pr.SupervisionReport.id.desc())
    page = db.paginate(stmt, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("proctor/oversight_reports.html", page=page, q=q)


@oversight_bp.get("/reports/<int:report_id>", endpoint="report")
@roles_required(C)
def oversight_report(report_id: int) -> str:
    view = _or_abort(pr.report_view, db.session, actor(), report_id, now())
    return render_template("proctor/report.html", view=view, batch=view["batch"], form=None, ratings=pr.RATINGS,
                           console=False, back=url_for("oversight.reports"),
                           pdf_url=url_for("oversight.report_download", report_id=report_id))


@oversight_bp.get("/reports/<int:report_id>.pdf", endpoint="report_download")
@roles_required(C)
def oversight_report_download(report_id: int) -> Response:
    return _report_pdf(_or_abort(pr.report_view, db.session, actor(), report_id, now()))


@bp.app_template_filter("iso_beijing")
def iso_beijing(value: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Beijing time of an ISO 8601 string (the console's summaries carry ISO strings)."""
    from web.proctor.pdfs import bj

    return bj(value, fmt)
