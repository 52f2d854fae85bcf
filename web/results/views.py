"""成绩与认定结论 pages over :mod:`grading.results.decisions` and :mod:`grading.results.sheets`.

The institution admin sees their batches' results by component, decides and confirms the
level decisions by name, answers re-check requests and downloads 成绩单 (Excel, PDF); the centre
reads every batch, changing nothing; a candidate sees their own results once released (我的成绩)
and may ask for a re-check.
"""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from examroom import batches as batch_svc
from examroom.models import Batch, BatchCandidate
from foundation.calendar import BEIJING
from foundation.institutions import Institution
from foundation.levels import level_name
from foundation.occupations import Occupation
from foundation.roles import Role
from grading.results import decisions as svc
from grading.results import sheets
from grading.results.cases import load_cases
from grading.results.decision import Component
from grading.results.models import LevelDecision, RecheckRequest
from web.access import actor, roles_required
from web.actions import found, perform
from web.downloads import PDF, XLSX, download
from web.extensions import db
from web.results import bp
from web.results.transcript_pdf import batch_transcript_pdf, person_transcript_pdf

C, IA, CA = Role.CENTRE_ADMIN, Role.INSTITUTION_ADMIN, Role.CANDIDATE
DECISION_FILTERS = {"": "全部", "undecided": "未判定", "draft": "待确认（草稿）", "confirmed": "已确认",
                    "stale": "依据已变化"}


def _today() -> dt.date:
    return dt.datetime.now(BEIJING).date()


def _batch(batch_id: int) -> Batch:
    return found(lambda: svc.readable_batch(db.session, actor(), batch_id), denied_is_403=True)


def _own(batch: Batch) -> bool:
    me = actor()
    return me.role == IA and me.institution_id == batch.institution_id


def _stale_fresh(batch: Batch, regs: list[BatchCandidate]) -> dict[int, str]:
    """Each registration's current input fingerprint ('' when it cannot be decided now)."""
    return {c.registration_id: c.fingerprint for c in load_cases(db.session, batch, _today(), [r.id for r in regs])}


def _url(batch: Batch, endpoint: str = "results.decisions", **args: object) -> str:
    return url_for(endpoint, batch_id=batch.id, **args)


def _back(batch: Batch, endpoint: str = "results.decisions", **args: object) -> Response:
    return redirect(_url(batch, endpoint, **args))


def _csrf_ok() -> bool:
    if FlaskForm().validate_on_submit():
        return True
    flash("表单已过期，请刷新页面后重试。", "danger")
    return False


# ---------------------------------------------------------------- lists


@bp.get("/")
@roles_required(C, IA)
def index() -> str:
    me = actor()
    q = request.args.get("q", "").strip()
    stmt = batch_svc.visible_batches(me).join(Institution, Institution.id == Batch.institution_id).join(
        Occupation, Occupation.id == Batch.occupation_id)
    if q:
        stmt = stmt.where(or_(*(c.icontains(q, autoescape=True) for c in (Batch.name, Institution.name,
                                                                            Occupation.name))))
    page = db.paginate(stmt.order_by(Batch.created_at.desc(), Batch.id.desc()),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    ids = [b.id for b in page.items]
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    if ids:
        for batch_id, n in db.session.execute(select(BatchCandidate.batch_id, func.count())
                                              .where(BatchCandidate.batch_id.in_(ids)).group_by(BatchCandidate.batch_id)):
            counts[batch_id]["registrations"] = n
        for batch_id, state, n in db.session.execute(
                select(LevelDecision.batch_id, LevelDecision.state, func.count())
                .where(LevelDecision.batch_id.in_(ids), LevelDecision.state != "superseded")
                .group_by(LevelDecision.batch_id, LevelDecision.state)):
            counts[batch_id][state] = n
        for batch_id, n in db.session.execute(
                select(RecheckRequest.batch_id, func.count())
                .where(RecheckRequest.batch_id.in_(ids), RecheckRequest.state == "open")
                .group_by(RecheckRequest.batch_id)):
            counts[batch_id]["rechecks"] = n
    return render_template("results/index.html", page=page, q=q, counts=counts, is_centre=me.role == C,
                           level_name=level_name)


@bp.get("/batches/<int:batch_id>")
@roles_required(C, IA)
def batch(batch_id: int) -> str:
    the_batch = _batch(batch_id)
    q = request.args.get("q", "").strip()
    page = db.paginate(sheets.registration_query(the_batch.id, q).options(joinedload(BatchCandidate.candidate)),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    grid = sheets.batch_grid(db.session, the_batch, list(page.items))
    return render_template("results/batch.html", batch=the_batch, page=page, q=q, grid=grid,
                           level_name=level_name, own=_own(the_batch), outcome_label=sheets.outcome_label)


@bp.get("/batches/<int:batch_id>/decisions")
@roles_required(C, IA)
def decisions(batch_id: int) -> str:
    the_batch = _batch(batch_id)
    q = request.args.get("q", "").strip()
    show = request.args.get("show", "")
    stmt = sheets.registration_query(the_batch.id, q).options(joinedload(BatchCandidate.candidate))
    current = select(LevelDecision.registration_id).where(LevelDecision.state != "superseded")
    if show == "undecided":
        stmt = stmt.where(BatchCandidate.id.not_in(current))
    elif show in ("draft", "confirmed"):
        stmt = stmt.where(BatchCandidate.id.in_(current.where(LevelDecision.state == show)))
    regs = list(db.session.scalars(stmt)) if show == "stale" else None
    if regs is not None:  # the fingerprints of every registration are needed to filter
        fresh = _stale_fresh(the_batch, regs)
        mine = svc.current_decisions(db.session, [r.id for r in regs])
        stale_ids = [r.id for r in regs if (d := mine[r.id].latest) is not None and fresh.get(r.id) != d.fingerprint]
        stmt = stmt.where(BatchCandidate.id.in_(stale_ids or [0]))
    page = db.paginate(stmt, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    items = list(page.items)
    current_rows = svc.current_decisions(db.session, [r.id for r in items])
    fresh = _stale_fresh(the_batch, items)
    drafts = db.session.scalar(select(func.count()).select_from(LevelDecision).where(
        LevelDecision.batch_id == the_batch.id, LevelDecision.state == "draft")) or 0
    open_rechecks = db.session.scalar(select(func.count()).select_from(RecheckRequest).where(
        RecheckRequest.batch_id == the_batch.id, RecheckRequest.state == "open")) or 0
    return render_template("results/decisions.html", batch=the_batch, page=page, q=q, show=show,
                           filters=DECISION_FILTERS, current=current_rows, fresh=fresh, drafts=drafts,
                           open_rechecks=open_rechecks, own=_own(the_batch), form=FlaskForm(),
                           outcome_label=sheets.outcome_label, level_name=level_name,
                           state_labels=sheets.DECISION_STATE_LABELS)


@bp.get("/batches/<int:batch_id>/registrations/<int:registration_id>")
@roles_required(C, IA)
def registration(batch_id: int, registration_id: int) -> str:
    the_batch = _batch(batch_id)
    record = sheets.registration_record(db.session, the_batch, registration_id)
    if record is None:
        abort(404)
    fresh = _stale_fresh(the_batch, [record.registration]).get(record.registration.id, "")
    return render_template("results/registration.html", batch=the_batch, record=record, fresh=fresh,
                           own=_own(the_batch), form=FlaskForm(), outcome_label=sheets.outcome_label,
                           level_name=level_name, state_labels=sheets.DECISION_STATE_LABELS,
                           answer_labels=svc.RECHECK_ANSWER_LABELS, components={c.value: c.label for c in Component})


@bp.get("/batches/<int:batch_id>/rechecks")
@roles_required(C, IA)
def rechecks(batch_id: int) -> str:
    the_batch = _batch(batch_id)
    show = request.args.get("show", "open")
    stmt = select(RecheckRequest).options(joinedload(RecheckRequest.decision)).where(
        RecheckRequest.batch_id == the_batch.id)
    if show in ("open", "answered"):
        stmt = stmt.where(RecheckRequest.state == show)
    page = db.paginate(stmt.order_by(RecheckRequest.requested_at.desc(), RecheckRequest.id.desc()),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    regs = {r.id: r for r in db.session.scalars(
        select(BatchCandidate).options(joinedload(BatchCandidate.candidate))
        .where(BatchCandidate.id.in_([x.registration_id for x in page.items] or [0])))}
    return render_template("results/rechecks.html", batch=the_batch, page=page, show=show, regs=regs,
                           level_name=level_name,
                           own=_own(the_batch), form=FlaskForm(), outcome_label=sheets.outcome_label,
                           answer_labels=svc.RECHECK_ANSWER_LABELS,
                           components={c.value: c.label for c in Component})


# ---------------------------------------------------------------- deciding and confirming


@bp.post("/batches/<int:batch_id>/decide")
@roles_required(IA)
def decide(batch_id: int) -> Response:
    the_batch = _batch(batch_id)
    if not _csrf_ok():
        return _back(the_batch)
    report = perform(lambda: svc.decide_batch(db.session, actor(), the_batch.id, _today(),
                                              reason=request.form.get("reason", "")),
                     back=_url(the_batch), missing_is_404=False)
    parts = [f"新判定 {len(report.created)} 人（草稿，待确认）", f"结论未变 {report.unchanged} 人"]
    if report.waiting:
        parts.append(f"成绩未齐暂不判定 {len(report.waiting)} 人")
    flash("；".join(parts) + "。", "success")
    if report.needs_reason:
        flash(f"有 {len(report.needs_reason)} 人的结论已确认发布且依据已变化："
              "须填写重新判定的原因后再判定。", "warning")
    return _back(the_batch)


@bp.post("/batches/<int:batch_id>/confirm")
@roles_required(IA)
def confirm_all(batch_id: int) -> Response:
    the_batch = _batch(batch_id)
    if not _csrf_ok():
        return _back(the_batch)
    report = perform(lambda: svc.confirm_batch(db.session, actor(), the_batch.id, _today()),
                     back=_url(the_batch), missing_is_404=False)
    flash(f"已由 {actor().name} 确认并发布 {len(report.confirmed)} 人的结论。", "success")
    if report.stale:
        flash(f"有 {len(report.stale)} 人的草稿作出后依据已变化，未确认：请重新判定后再确认。", "warning")
    return _back(the_batch)


@bp.post("/batches/<int:batch_id>/decisions/<int:decision_id>/confirm")
@roles_required(IA)
def confirm(batch_id: int, decision_id: int) -> Response:
    the_batch = _batch(batch_id)
    decision = db.session.get(LevelDecision, decision_id)
    if decision is None or decision.batch_id != the_batch.id:
        abort(404)
    if not _csrf_ok():
        return _back(the_batch)
    perform(lambda: svc.confirm_decision(db.session, actor(), decision.id, _today()),
            back=_url(the_batch, "results.registration", registration_id=decision.registration_id),
            missing_is_404=False)
    flash(f"已由 {actor().name} 确认并发布该考生的结论（第 {decision.version} 版）。", "success")
    return _back(the_batch, "results.registration", registration_id=decision.registration_id)


@bp.post("/batches/<int:batch_id>/registrations/<int:registration_id>/redecide")
@roles_required(IA)
def redecide(batch_id: int, registration_id: int) -> Response:
    the_batch = _batch(batch_id)
    reg = db.session.get(BatchCandidate, registration_id)
    if reg is None or reg.batch_id != the_batch.id:
        abort(404)
    if not _csrf_ok():
        return _back(the_batch, "results.registration", registration_id=reg.id)
    made = perform(lambda: svc.redecide(db.session, actor(), reg.id, _today(), request.form.get("reason", "")),
                   back=_url(the_batch, "results.registration", registration_id=reg.id), missing_is_404=False)
    flash(f"已重新判定：第 {made.version} 版（{sheets.outcome_label(made.outcome)}，草稿，待确认）。", "success")
    return _back(the_batch, "results.registration", registration_id=reg.id)


@bp.post("/batches/<int:batch_id>/rechecks/<int:recheck_id>/answer")
@roles_required(IA)
def answer_recheck(batch_id: int, recheck_id: int) -> Response:
    the_batch = _batch(batch_id)
    if not _csrf_ok():
        return _back(the_batch, "results.rechecks")
    perform(lambda: svc.answer_recheck(db.session, actor(), recheck_id, kind=request.form.get("kind", ""),
                                       answer=request.form.get("answer", ""), batch_id=the_batch.id),
            back=_url(the_batch, "results.rechecks"))
    flash("复核申请已答复，考生可在「我的成绩」中查看。", "success")
    return _back(the_batch, "results.rechecks")


# ---------------------------------------------------------------- 成绩单 (transcripts)


def _name(batch: Batch) -> str:
    return f"成绩单-{batch.institution.name}-{batch.name}"


@bp.get("/batches/<int:batch_id>/transcript.xlsx")
@roles_required(C, IA)
def batch_xlsx(batch_id: int) -> Response:
    the_batch = _batch(batch_id)
    return download(sheets.batch_transcript_xlsx(db.session, the_batch), _name(the_batch) + ".xlsx", XLSX)


@bp.get("/batches/<int:batch_id>/transcript.pdf")
@roles_required(C, IA)
def batch_pdf(batch_id: int) -> Response:
    the_batch = _batch(batch_id)
    return download(batch_transcript_pdf(db.session, the_batch), _name(the_batch) + ".pdf", PDF, inline=True)


def _record(batch_id: int, registration_id: int) -> sheets.Record:
    record = sheets.registration_record(db.session, _batch(batch_id), registration_id)
    if record is None:
        abort(404)
    return record


def _person_name(record: sheets.Record) -> str:
    return f"成绩单-{record.registration.candidate.name}-{record.registration.ticket_no}"


@bp.get("/batches/<int:batch_id>/registrations/<int:registration_id>/transcript.xlsx")
@roles_required(C, IA)
def person_xlsx(batch_id: int, registration_id: int) -> Response:
    record = _record(batch_id, registration_id)
    return download(sheets.person_transcript_xlsx(record), _person_name(record) + ".xlsx", XLSX)


@bp.get("/batches/<int:batch_id>/registrations/<int:registration_id>/transcript.pdf")
@roles_required(C, IA)
def person_pdf(batch_id: int, registration_id: int) -> Response:
    record = _record(batch_id, registration_id)
    return download(person_transcript_pdf(record), _person_name(record) + ".pdf", PDF, inline=True)


# ---------------------------------------------------------------- the candidate (我的成绩)


@bp.get("/mine")
@roles_required(CA)
def mine() -> str:
    return render_template("results/mine.html", items=sheets.my_results(db.session, actor()), today=_today(),
                           form=FlaskForm(), components=list(Component), outcome_label=sheets.outcome_label,
                           answer_labels=svc.RECHECK_ANSWER_LABELS,
                           component_labels={c.value: c.label for c in Component})


@bp.post("/mine/<int:registration_id>/recheck")
@roles_required(CA)
def request_recheck(registration_id: int) -> Response:
    if not _csrf_ok():
        return redirect(url_for("results.mine"))
    perform(lambda: svc.request_recheck(db.session, actor(), registration_id, _today(),
                                        components=request.form.getlist("components"),
                                        details=request.form.get("details", "")),
            back=url_for("results.mine"))
    flash("复核申请已提交，评价机构答复后将在此显示。", "success")
    return redirect(url_for("results.mine"))
