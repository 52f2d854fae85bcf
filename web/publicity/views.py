"""Publicity pages: public (no login) and the institution's and centre's.

Public: ``/publicity`` (open and recently ended publicities, searchable, paginated),
``/publicity/<id>`` (its list, searchable by name, an objection link per entry while its period
is open), ``/publicity/entries/<id>/object`` (the objection form: CSRF, rate-limited per address
with ``OBJECTION_RATE_LIMIT``), ``/publicity/receipt`` (the answer by receipt number, GET,
rate-limited like ``/verify``).

Institution admin (own institution only) and centre (read-only except the review):
``/publicity/manage`` (my publicities, batches to publicise, the open form),
``/publicity/manage/<id>`` (entries, objections and answer forms, the submission),
``/publicity/submissions`` (the queue with due dates, overdue highlighted),
``/publicity/submissions/<id>`` (the review page: approve or return with reasons per entry) and
``/publicity/submissions/<id>.xlsx`` (the submission workbook)."""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from foundation.calendar import beijing_date
from foundation.db import utcnow
from foundation.errors import DomainError
from foundation.roles import Role
from grading.publicity import services
from grading.publicity.models import Objection, PublicityEntry
from grading.publicity.workbook import submission_xlsx
from web.access import actor, public, roles_required
from web.actions import found, perform
from web.downloads import download
from web.extensions import db, limiter
from web.params import form_int
from web.publicity import bp

C, IA = Role.CENTRE_ADMIN, Role.INSTITUTION_ADMIN
MAX_QUERY = 64


class PostForm(FlaskForm):
    """CSRF only; the fields are read from ``request.form``."""


def _today() -> dt.date:
    return beijing_date(utcnow())


def _objection_limit() -> str:
    return str(current_app.config["OBJECTION_RATE_LIMIT"])


def _verify_limit() -> str:
    return str(current_app.config["VERIFY_RATE_LIMIT"])


# ------------------------------------------------------------------------------ public


@bp.get("", strict_slashes=False)
@public
def public_index() -> str:
    q = request.args.get("q", "").strip()[:MAX_QUERY]
    today = _today()
    page = db.paginate(services.public_query(q, today), per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("publicity/public_index.html", page=page, q=q, today=today)


@bp.get("/<int:publicity_id>")
@public
def public_detail(publicity_id: int) -> str:
    today = _today()
    pub = found(lambda: services.public_publicity(db.session, publicity_id, today))
    name = request.args.get("name", "").strip()[:MAX_QUERY]
    page = db.paginate(services.public_entries_query(pub.id, name), per_page=current_app.config["PAGE_SIZE"],
                       error_out=False)
    return render_template("publicity/public_detail.html", pub=pub, page=page, name=name, today=today)


def _public_entry(entry_id: int) -> PublicityEntry:
    entry = db.session.get(PublicityEntry, entry_id)
    if entry is None or entry.withdrawn or entry.publicity.starts_on > _today():
        abort(404)
    return entry


@bp.route("/entries/<int:pub_entry_id>/object", methods=["GET", "POST"])
@public
@limiter.limit(_objection_limit, methods=["POST"])
def object_to(pub_entry_id: int) -> str | Response:
    form = PostForm()
    values = {"objector_name": "", "contact": "", "text": ""}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        entry = _public_entry(pub_entry_id)
        values = {k: request.form.get(k, "")[:4000] for k in values}
        try:
            objection = services.submit_objection(db.session, entry.id, values["objector_name"], values["contact"],
                                                  values["text"])
            receipt = objection.receipt
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            entry = _public_entry(pub_entry_id)
            return render_template("publicity/object.html", entry=entry, form=form, values=values, error=exc.message,
                                   today=_today())
        return render_template("publicity/object_done.html", receipt=receipt, entry=entry)
    entry = _public_entry(pub_entry_id)
    return render_template("publicity/object.html", entry=entry, form=form, values=values, error=None, today=_today())


@bp.get("/receipt")
@public
@limiter.limit(_verify_limit)
def receipt() -> str:
    number = request.args.get("receipt", "").strip()[:32]
    objection = services.find_objection(db.session, number) if number else None
    return render_template("publicity/receipt.html", number=number, objection=objection)


# ------------------------------------------------------------------------------ institution and centre


@bp.get("/manage")
@roles_required(C, IA)
def manage() -> str:
    me = actor()
    rows = services.queue(db.session, me, everything=True)
    to_open = services.batches_to_publicise(db.session, me) if me.role == IA else []
    return render_template("publicity/manage.html", rows=rows, to_open=to_open, form=PostForm(), today=_today(),
                           default_start=_today())


@bp.post("/manage/open")
@roles_required(IA)
def open_publicity() -> Response:
    form = PostForm()
    if not form.validate_on_submit():
        abort(400)
    batch_id = form_int(request.form.get("batch_id"))
    try:
        start = dt.date.fromisoformat(request.form.get("start_on", ""))
    except ValueError:
        flash("请填写公示开始日期。", "danger")
        return redirect(url_for("publicity.manage"))
    if batch_id is None:
        abort(404)
    pub = perform(lambda: services.open_publicity(db.session, actor(), batch_id, start),
                  back=url_for("publicity.manage"))
    flash(f"已发布公示：{pub.starts_on} 至 {pub.ends_on}。", "success")
    return redirect(url_for("publicity.admin_detail", publicity_id=pub.id))


@bp.get("/manage/<int:publicity_id>")
@roles_required(C, IA)
def admin_detail(publicity_id: int) -> str:
    pub = found(lambda: services.get_publicity(db.session, actor(), publicity_id))
    objections = found(lambda: services.objections_of(db.session, actor(), publicity_id))
    today = _today()
    submission = services.submission_of(db.session, pub.id)
    return render_template("publicity/admin_detail.html", pub=pub, objections=objections, submission=submission,
                           problems=services.submission_problems(db.session, pub, today) if submission is None else [],
                           overdue=services.overdue(pub, submission, today), form=PostForm(), today=today)


@bp.post("/manage/objections/<int:objection_id>/answer")
@roles_required(IA)
def answer(objection_id: int) -> Response:
    form = PostForm()
    if not form.validate_on_submit():
        abort(400)
    objection = db.session.get(Objection, objection_id)
    if objection is None or objection.entry.publicity.institution_id != actor().institution_id:
        abort(404)
    publicity_id = objection.entry.publicity_id
    back = url_for("publicity.admin_detail", publicity_id=publicity_id)
    perform(lambda: services.answer_objection(db.session, actor(), objection_id, request.form.get("outcome", ""),
                                              request.form.get("answer", ""), request.form.get("action", "")),
            back=back)
    flash("已答复异议。", "success")
    return redirect(back)


@bp.post("/manage/<int:publicity_id>/submit")
@roles_required(IA)
def submit(publicity_id: int) -> Response:
    form = PostForm()
    if not form.validate_on_submit():
        abort(400)
    back = url_for("publicity.admin_detail", publicity_id=publicity_id)
    perform(lambda: services.submit(db.session, actor(), publicity_id, request.form.get("note", "")), back=back)
    flash("已报送省中心审核。", "success")
    return redirect(back)


@bp.get("/submissions")
@roles_required(C, IA)
def submissions() -> str:
    return render_template("publicity/submissions.html", rows=services.queue(db.session, actor()), today=_today())


@bp.get("/submissions/<int:submission_id>")
@roles_required(C, IA)
def submission(submission_id: int) -> str:
    sub = found(lambda: services.get_submission(db.session, actor(), submission_id))
    return render_template("publicity/submission.html", sub=sub, form=PostForm(),
                           overdue=services.overdue(sub.publicity, sub, _today()))


@bp.post("/submissions/<int:submission_id>/review")
@roles_required(C)
def review(submission_id: int) -> Response:
    form = PostForm()
    if not form.validate_on_submit():
        abort(400)
    approve = request.form.get("decision") == "approve"
    reasons: dict[int, str] = {}
    for key, value in request.form.items():
        if key.startswith("reason-") and value.strip():
            entry_id = form_int(key.removeprefix("reason-"))
            if entry_id is None:
                abort(400)
            reasons[entry_id] = value
    back = url_for("publicity.submission", submission_id=submission_id)
    perform(lambda: services.review(db.session, actor(), submission_id, approve=approve, reasons=reasons), back=back)
    flash("已审核通过。" if approve else "已退回所列人员。", "success")
    return redirect(back)


@bp.get("/submissions/<int:submission_id>.xlsx")
@roles_required(C, IA)
def submission_workbook(submission_id: int) -> Response:
    sub = found(lambda: services.get_submission(db.session, actor(), submission_id))
    return download(submission_xlsx(db.session, sub), f"成绩及证书数据报送-{sub.batch.name}.xlsx",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
