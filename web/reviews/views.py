"""Review pages: a batch's reviews (业绩材料与评审进度), a registration's dossier and attachments,
one review's scoring page (members score, the chair records the minutes and confirms the
result), the examiner's panels (我的评审) and the centre's sub-items (评审评分细项).

Every object-level right is the services' (``grading.results.dossiers`` and ``panels``): what
a reader may not see answers 404, as if it did not exist."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import or_, select
from werkzeug.wrappers import Response

from examroom.models import Batch, BatchCandidate, ReviewPanelMember
from foundation.accounts import User
from foundation.calendar import BEIJING
from foundation.errors import DomainError, NotFound, PermissionDenied
from foundation.roles import Role
from grading.results import dossiers, panels
from grading.results.decision import Component, Method
from grading.results.dossiers import SECTION_LABELS, DossierInput
from grading.results.models import DossierAttachment
from web.access import actor, roles_required
from web.actions import found, perform
from web.downloads import download
from web.extensions import db
from web.params import form_int
from web.reviews import attachments_dir, bp
from web.reviews.forms import AttachmentForm, DossierForm, MinutesForm, PostForm

C, IA, E = Role.CENTRE_ADMIN, Role.INSTITUTION_ADMIN, Role.EXAMINER
COMPONENTS = "<any(performance, review):component>"
ATTACHMENT_CSP = "default-src 'none'; img-src 'self'; sandbox"
METHOD_LABELS = {m.value: m.label for m in Method}


def _today() -> dt.date:
    return dt.datetime.now(BEIJING).date()


def _folder() -> Any:
    return attachments_dir(current_app.config, current_app.instance_path)


def _stale() -> Response | None:
    if not PostForm().validate_on_submit():
        flash("表单已过期，请刷新页面后重试。", "danger")
        return redirect(request.referrer or url_for("main.home"))
    return None


def _may_see_batch(me: User, batch: Batch) -> bool:
    if me.role == C:
        return True
    if me.role == IA:
        return me.institution_id == batch.institution_id
    return dossiers.on_panel(me, batch)


# ---------------------------------------------------------------- lists


@bp.get("/")
@roles_required(E)
def index() -> str:
    return render_template("reviews/index.html", batches=panels.my_panels(db.session, actor()),
                           chair_of={m.batch_id for m in _chair_rows(actor())})


def _chair_rows(me: User) -> list[Any]:
    return list(db.session.scalars(select(ReviewPanelMember).where(ReviewPanelMember.user_id == me.id,
                                                                   ReviewPanelMember.is_chair.is_(True))))


@bp.get("/batches/<int:batch_id>")
@roles_required(C, IA, E)
def batch(batch_id: int) -> str:
    row = db.session.get(Batch, batch_id)
    me = actor()
    if row is None or not _may_see_batch(me, row):
        abort(404)
    methods = panels.panel_methods(db.session, row)
    q = request.args.get("q", "").strip()
    stmt = (select(BatchCandidate).join(User, User.id == BatchCandidate.candidate_id)
            .where(BatchCandidate.batch_id == row.id, BatchCandidate.method.in_(list(methods)))
            .order_by(BatchCandidate.id))
    if q:
        stmt = stmt.where(or_(User.name.icontains(q, autoescape=True),
                              BatchCandidate.ticket_no.icontains(q, autoescape=True)))
    page = db.paginate(stmt, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    rows = []
    for reg in page.items:
        dossier = dossiers.dossier_of(db.session, reg.id)
        rows.append({"reg": reg, "missing": dossiers.missing_parts(dossier, row.level),
                     "attachments": len(dossier.attachments) if dossier else 0,
                     "reviews": [(c, *panels.progress(db.session, reg.id, c)) for c in methods[reg.method]]})
    return render_template("reviews/batch.html", batch=row, page=page, rows=rows, q=q, members=len(row.panel),
                           is_admin=me.role == IA, is_member=me.role == E, method_labels=METHOD_LABELS)


# ---------------------------------------------------------------- the dossier


def _read(reg_id: int) -> tuple[BatchCandidate, Any]:
    return found(lambda: dossiers.read_dossier(db.session, actor(), reg_id))


def _dossier_page(reg: BatchCandidate, dossier: Any, form: DossierForm, status: int = 200) -> tuple[str, int]:
    me = actor()
    frozen = dossiers.is_frozen(db.session, reg.id)
    editable = me.role == IA and not frozen
    return render_template(
        "reviews/dossier.html", reg=reg, batch=reg.batch, dossier=dossier, form=form, editable=editable,
        frozen=frozen, upload=AttachmentForm(formdata=None), post_form=PostForm(),
        components=dossiers.panel_components(db.session, reg), section_labels=SECTION_LABELS,
        missing=dossiers.missing_parts(dossier, reg.batch.level), high=reg.batch.level in dossiers.REVIEW_LEVELS,
        method_labels=METHOD_LABELS,
    ), status


@bp.get("/registrations/<int:reg_id>/dossier")
@roles_required(C, IA, E)
def dossier(reg_id: int) -> tuple[str, int]:
    reg, row = _read(reg_id)
    form = DossierForm(formdata=None, obj=row)
    if row is not None and row.attested_on:
        form.attested_on.data = row.attested_on.isoformat()
    return _dossier_page(reg, row, form)


def _date(text: str | None, field: Any, label: str) -> dt.date | None | str:
    raw = (text or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return f"{label}格式应为「年-月-日」，如 2026-09-01。"


@bp.post("/registrations/<int:reg_id>/dossier")
@roles_required(IA)
def save_dossier(reg_id: int) -> Response | tuple[str, int]:
    reg, row = _read(reg_id)
    form = DossierForm()
    if not form.validate_on_submit():
        flash("请检查填写的内容：" + "；".join(e for errs in form.errors.values() for e in errs), "danger")
        return _dossier_page(reg, row, form, 400)
    day = _date(form.attested_on.data, form.attested_on, "鉴定日期")
    if isinstance(day, str):
        flash(day, "danger")
        return _dossier_page(reg, row, form, 400)
    data = DossierInput(products=form.products.data or "", problems_solved=form.problems_solved.data or "",
                        tasks=form.tasks.data or "", innovation=form.innovation.data or "",
                        mentoring=form.mentoring.data or "", attester_name=form.attester_name.data or "",
                        attester_position=form.attester_position.data or "",
                        attestation=form.attestation.data or "", attested_on=day)
    try:
        dossiers.save_dossier(db.session, actor(), reg.id, data, today=_today())
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _dossier_page(reg, row, form, 400)
    db.session.commit()
    flash("业绩材料已保存。", "success")
    return redirect(url_for("reviews.dossier", reg_id=reg.id))


@bp.post("/registrations/<int:reg_id>/attachments")
@roles_required(IA)
def upload(reg_id: int) -> Response:
    reg, _ = _read(reg_id)
    form = AttachmentForm()
    back = url_for("reviews.dossier", reg_id=reg.id) + "#attachments"
    if not form.validate_on_submit():
        flash("；".join(e for errs in form.errors.values() for e in errs) or "表单已过期，请刷新页面后重试。", "danger")
        return redirect(back)
    upload_file = form.file.data
    perform(lambda: dossiers.add_attachment(db.session, actor(), reg.id, section=form.section.data or "",
                                            filename=upload_file.filename or "",
                                            data=upload_file.stream.read(dossiers.MAX_ATTACHMENT_BYTES + 1),
                                            folder=_folder()),
            back=back, missing_is_404=False)
    flash("附件已上传。", "success")
    return redirect(back)


@bp.get("/attachments/<int:attachment_id>")
@roles_required(C, IA, E)
def attachment(attachment_id: int) -> Response:
    row, data = found(lambda: dossiers.read_attachment(db.session, actor(), attachment_id, _folder()))
    # Images are shown in the browser; PDFs are downloaded (a viewer plug-in would not run under
    # the sandboxing policy, and a file from outside is better opened outside the platform).
    resp = download(data, row.filename, row.mime, inline=row.mime.startswith("image/"))
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = ATTACHMENT_CSP
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.post("/attachments/<int:attachment_id>/remove")
@roles_required(IA)
def remove_attachment(attachment_id: int) -> Response:
    stale = _stale()
    if stale is not None:
        return stale
    row = db.session.get(DossierAttachment, attachment_id)
    if row is None:
        abort(404)  # as the service would say
    back = url_for("reviews.dossier", reg_id=row.dossier.registration_id) + "#attachments"
    perform(lambda: dossiers.remove_attachment(db.session, actor(), attachment_id), back=back)
    flash("附件已移除。", "success")
    return redirect(back)


# ---------------------------------------------------------------- one review


def _state(reg_id: int, component: str) -> panels.ReviewState:
    try:
        return panels.review_state(db.session, actor(), reg_id, component, _today())
    except NotFound:
        abort(404)
    except DomainError:  # a component this registration's scheme does not have
        abort(404)


def _review_page(state: panels.ReviewState, status: int = 200, *, values: dict[str, Any] | None = None,
                 minutes_form: MinutesForm | None = None) -> tuple[str, int]:
    me = actor()
    member = next((m for m in state.members if m.user_id == me.id), None)
    reg = state.registration
    if minutes_form is None:
        minutes_form = MinutesForm(formdata=None)
        if state.minutes is not None:
            minutes_form.held_on.data = state.minutes.held_on.isoformat()
            minutes_form.place.data = state.minutes.place
            minutes_form.duration_minutes.data = str(state.minutes.duration_minutes)
            minutes_form.record.data = state.minutes.record
        else:
            minutes_form.held_on.data = _today().isoformat()
    dossier = dossiers.dossier_of(db.session, reg.id)
    return render_template(
        "reviews/review.html", state=state, reg=reg, batch=reg.batch, component=state.component, member=member,
        is_chair=member is not None and member.is_chair, criteria=panels.criteria(db.session, state.component),
        values=values or {}, minutes_form=minutes_form, post_form=PostForm(), dossier=dossier,
        section_labels=SECTION_LABELS, rules=panels.panel_rules(db.session), fmt=panels.fmt_points,
    ), status


@bp.get(f"/registrations/<int:reg_id>/{COMPONENTS}")
@roles_required(C, IA, E)
def review(reg_id: int, component: str) -> tuple[str, int]:
    return _review_page(_state(reg_id, component))


@bp.post(f"/registrations/<int:reg_id>/{COMPONENTS}")
@roles_required(E)
def score(reg_id: int, component: str) -> Response | tuple[str, int]:
    state = _state(reg_id, component)
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    if not PostForm().validate_on_submit():
        flash("表单已过期，请刷新页面后重试。", "danger")
        return _review_page(state, 400, values=values)
    subs = {key[4:]: value for key, value in request.form.items() if key.startswith("sub_")}
    try:
        panels.score_review(db.session, actor(), reg_id, component, score=request.form.get("score", ""),
                            sub_scores=subs or None, comment=request.form.get("comment", ""), today=_today())
    except PermissionDenied:
        db.session.rollback()
        abort(403)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _review_page(_state(reg_id, component), 400, values=values)
    db.session.commit()
    flash("评分已保存。", "success")
    return redirect(url_for("reviews.review", reg_id=reg_id, component=component))


@bp.post(f"/registrations/<int:reg_id>/{COMPONENTS}/minutes")
@roles_required(E)
def minutes(reg_id: int, component: str) -> Response | tuple[str, int]:
    state = _state(reg_id, component)
    form = MinutesForm()
    if not form.validate_on_submit():
        flash("请检查填写的内容：" + "；".join(e for errs in form.errors.values() for e in errs), "danger")
        return _review_page(state, 400, minutes_form=form)
    day = _date(form.held_on.data, form.held_on, "评审日期")
    duration = form_int(form.duration_minutes.data or "", minimum=1, maximum=600)
    problem = (day if isinstance(day, str) else "请填写评审日期。" if day is None
               else "评审时长应为 1–600 分钟的整数。" if duration is None else None)
    if problem:
        flash(problem, "danger")
        return _review_page(state, 400, minutes_form=form)
    assert isinstance(day, dt.date) and duration is not None
    try:
        panels.record_minutes(db.session, actor(), reg_id, component, held_on=day, place=form.place.data or "",
                              duration_minutes=duration, record=form.record.data or "", today=_today())
    except PermissionDenied:
        db.session.rollback()
        abort(403)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _review_page(_state(reg_id, component), 400, minutes_form=form)
    db.session.commit()
    flash("评审记录已保存。", "success")
    return redirect(url_for("reviews.review", reg_id=reg_id, component=component) + "#minutes")


@bp.post(f"/registrations/<int:reg_id>/{COMPONENTS}/finalise")
@roles_required(E)
def finalise(reg_id: int, component: str) -> Response:
    _state(reg_id, component)
    stale = _stale()
    if stale is not None:
        return stale
    result = perform(lambda: panels.finalise(db.session, actor(), reg_id, component, today=_today()),
                     back=url_for("reviews.review", reg_id=reg_id, component=component) + "#minutes",
                     missing_is_404=False, denied_is_403=True)
    score_text = f"{result.score:.1f}" if result.score is not None else ""
    flash(f"评审结果已确认：{Component(component).label} {score_text} 分。", "success")
    return redirect(url_for("reviews.review", reg_id=reg_id, component=component))


# ---------------------------------------------------------------- the centre's sub-items


def _criteria_lines(component: Component) -> str:
    return "\n".join(f"{c.name}，{panels.fmt_points(c.points)}" for c in panels.criteria(db.session, component))


@bp.route("/criteria", methods=["GET", "POST"])
@roles_required(C)
def criteria() -> Response | tuple[str, int]:
    kinds = (Component.PERFORMANCE, Component.REVIEW)
    texts = {c.value: _criteria_lines(c) for c in kinds}
    status = 200
    if request.method == "POST":
        kind = request.form.get("component", "")
        text = request.form.get("lines", "")
        texts[kind] = text
        if not PostForm().validate_on_submit():
            flash("表单已过期，请刷新页面后重试。", "danger")
            status = 400
        elif kind not in texts:
            abort(404)
        else:
            items = []
            for line in text.replace("\r\n", "\n").split("\n"):
                if line.strip():
                    name, _, points = line.replace(",", "，").rpartition("，")
                    items.append((name.strip() or points.strip(), points.strip() if name.strip() else ""))
            try:
                panels.save_criteria(db.session, actor(), kind, items)
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "danger")
                status = 400
            else:
                db.session.commit()
                flash(f"「{Component(kind).label}」的评分细项已保存。", "success")
                return redirect(url_for("reviews.criteria"))
    return render_template("reviews/criteria.html", kinds=kinds, texts=texts, post_form=PostForm()), status
