"""Institution registry pages: the centre's list, registration, detail with the filing
workflow and the scope; an institution admin's read-only view of their own institution."""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from foundation.calendar import BEIJING
from foundation.errors import DomainError
from foundation.institutions import (
    BASIS_LABELS,
    GROUND_BASIS,
    KIND_LABELS,
    STATUS_LABELS,
    FilingStatus,
    Institution,
    ScopeBasis,
    ScopeEntry,
    add_scope_entry,
    advance_filing,
    allowed_transitions,
    describe_windows,
    filing_windows,
    institution_of,
    kind_tier_choices,
    reason_required,
    register_application,
    registry_query,
    remove_scope_entry,
    scope_by_basis,
    scope_entry_label,
    transition_label,
    update_institution_details,
)
from foundation.levels import ALL_LEVELS, LEVEL_NAMES
from foundation.occupations import Occupation
from foundation.roles import Role
from web.access import actor, roles_required
from web.extensions import db
from web.institutions import bp
from web.institutions.forms import AdvanceForm, ApplicationForm, DetailsForm, RemoveScopeForm, ScopeForm
from web.params import form_int

CENTRE = Role.CENTRE_ADMIN


def _today() -> dt.date:
    # Filing windows are calendar days in the province, so "today" is Beijing time.
    return dt.datetime.now(BEIJING).date()


def _get(institution_id: int) -> Institution:
    inst = db.session.get(Institution, institution_id)
    if inst is None:
        abort(404)
    return inst


def _scope_form(inst: Institution, formdata: bool = True) -> ScopeForm:
    form = ScopeForm() if formdata else ScopeForm(formdata=None)
    bases = [ScopeBasis.FILED.value]
    if inst.kind in GROUND_BASIS:
        bases.append(GROUND_BASIS[inst.kind])
    # SelectChoice because tuple choices are deprecated in WTForms 3.3.
    form.basis.choices = [SelectChoice(b, BASIS_LABELS[ScopeBasis(b)]) for b in bases]
    occupations = db.session.scalars(
        select(Occupation).where(Occupation.active.is_(True)).order_by(Occupation.code)
    ).unique().all()
    form.occupation_id.choices = [SelectChoice("", "请选择职业")] + [
        SelectChoice(str(o.id), f"{o.code} {o.name}" + ("（准入类，不可评价）" if o.is_access_type else ""))
        for o in occupations
    ]
    form.work_type_id.choices = [SelectChoice("", "（不区分工种）")] + [
        SelectChoice(str(w.id), f"{o.name} / {w.name}") for o in occupations for w in o.work_types
    ]
    levels = [SelectChoice(str(lv), LEVEL_NAMES[lv]) for lv in ALL_LEVELS]
    form.lowest_level.choices = levels
    form.highest_level.choices = levels
    if not form.is_submitted():
        form.lowest_level.data = "5"
        form.highest_level.data = "5"
    return form


def _int(value: str | None) -> int:
    # Unparseable input becomes 0, which the service refuses with a Chinese message.
    return form_int(value) or 0


def _detail_context(inst: Institution, scope_form: ScopeForm | None = None) -> dict[str, object]:
    transitions = [
        {
            "to": to,
            "label": transition_label(inst.status, to),
            "reason_required": reason_required(inst.status, to),
            "first_filing": to == FilingStatus.FILED and inst.code is None,
            "danger": to in (FilingStatus.REJECTED, FilingStatus.SUSPENDED, FilingStatus.EXITED),
        }
        for to in allowed_transitions(inst)
    ]
    return {
        "inst": inst,
        "scope": scope_by_basis(inst),
        "basis_labels": {b.value: label for b, label in BASIS_LABELS.items()},
        "status_labels": {s.value: label for s, label in STATUS_LABELS.items()},
        "scope_entry_label": scope_entry_label,
        "transitions": transitions,
        "advance_form": AdvanceForm(formdata=None),
        "scope_form": scope_form or _scope_form(inst, formdata=False),
        "remove_form": RemoveScopeForm(formdata=None),
        "scope_editable": inst.status not in (FilingStatus.EXITED, FilingStatus.REJECTED),
    }


def _form_errors(form: object) -> str:
    errors = [e for msgs in form.errors.values() for e in msgs]  # type: ignore[attr-defined]
    return "；".join(str(e) for e in errors) or "表单无效，请刷新页面后重试。"


def _refuse_detail(inst_id: int, message: str, scope_form: ScopeForm | None = None) -> tuple[str, int]:
    flash(message, "danger")
    inst = _get(inst_id)
    return render_template("institutions/detail.html", **_detail_context(inst, scope_form)), 400


@bp.get("/")
@roles_required(CENTRE)
def index() -> str:
    q = request.args.get("q", "").strip()
    status = request.args.get("status", "")
    kind = request.args.get("kind", "")
    page = db.paginate(
        registry_query(search=q, status=status, kind=kind),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    return render_template(
        "institutions/index.html",
        page=page,
        q=q,
        status=status,
        kind=kind,
        statuses=[(s.value, label) for s, label in STATUS_LABELS.items()],
        kinds=[(k.value, label) for k, label in KIND_LABELS.items()],
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(CENTRE)
def new() -> str | Response | tuple[str, int]:
    form = ApplicationForm()
    form.kind_tier.choices = [SelectChoice("", "请选择")] + [
        SelectChoice(value, label) for value, label in kind_tier_choices()
    ]
    if form.validate_on_submit():
        kind, _, tier = (form.kind_tier.data or "").partition(":")
        try:
            inst = register_application(
                db.session, actor(),
                name=form.name.data or "", kind=kind, tier=tier,
                credit_code=form.credit_code.data or "",
                legal_representative=form.legal_representative.data or "",
                address=form.address.data or "", supervising_body=form.supervising_body.data or None,
                contact_name=form.contact_name.data or "", contact_phone=form.contact_phone.data or "",
                unit_details=form.unit_details.data or None,
                has_self_evaluation=bool(form.has_self_evaluation.data),
                ministry_code=(form.ministry_code.data or "0000").strip(),
                today=_today(),
            )
        except DomainError as exc:
            db.session.rollback()
            _attach_error(form, exc)
            flash(exc.message, "danger")
            return _render_new(form, 400)
        db.session.commit()
        flash(f"已登记申报：{inst.name}。", "success")
        return redirect(url_for("institutions.detail", institution_id=inst.id))
    return _render_new(form, 400 if request.method == "POST" else 200)


def _render_new(form: ApplicationForm, status: int) -> tuple[str, int]:
    windows = describe_windows(filing_windows(db.session))
    return render_template("institutions/new.html", form=form, windows=windows, today=_today()), status


def _attach_error(form: object, exc: DomainError) -> None:
    target = "kind_tier" if exc.field in ("kind", "tier") else exc.field
    if target and target in form:  # type: ignore[operator]
        field = form[target]  # type: ignore[index]
        field.errors = [*field.errors, exc.message]


@bp.get("/<int:institution_id>")
@roles_required(CENTRE)
def detail(institution_id: int) -> str:
    return render_template("institutions/detail.html", **_detail_context(_get(institution_id)))


@bp.route("/<int:institution_id>/edit", methods=["GET", "POST"])
@roles_required(CENTRE)
def edit(institution_id: int) -> str | Response | tuple[str, int]:
    inst = _get(institution_id)
    form = DetailsForm(obj=inst)
    if form.validate_on_submit():
        self_eval = bool(form.has_self_evaluation.data) if inst.kind == "enterprise" else None
        try:
            update_institution_details(
                db.session, actor(), inst.id,
                name=form.name.data or "", credit_code=form.credit_code.data or "",
                legal_representative=form.legal_representative.data or "",
                address=form.address.data or "", supervising_body=form.supervising_body.data or "",
                contact_name=form.contact_name.data or "", contact_phone=form.contact_phone.data or "",
                unit_details=form.unit_details.data or "",
                has_self_evaluation=self_eval,
            )
        except DomainError as exc:
            db.session.rollback()
            _attach_error(form, exc)
            flash(exc.message, "danger")
            return render_template("institutions/edit.html", form=form, inst=_get(institution_id)), 400
        db.session.commit()
        flash("机构信息已保存。", "success")
        return redirect(url_for("institutions.detail", institution_id=inst.id))
    status = 400 if request.method == "POST" else 200
    return render_template("institutions/edit.html", form=form, inst=inst), status


@bp.post("/<int:institution_id>/advance")
@roles_required(CENTRE)
def advance(institution_id: int) -> Response | tuple[str, int]:
    inst = _get(institution_id)
    form = AdvanceForm()
    if not form.validate_on_submit():
        return _refuse_detail(inst.id, _form_errors(form))
    before = inst.status_label
    try:
        advance_filing(db.session, actor(), inst.id, form.to_status.data or "", form.reason.data or "",
                       serial=(form.serial.data or "").strip() or None)
    except DomainError as exc:
        db.session.rollback()
        return _refuse_detail(institution_id, exc.message)
    db.session.commit()
    message = f"「{inst.name}」已由{before}变更为{inst.status_label}。"
    if inst.status == FilingStatus.FILED and inst.code:
        message += f"评价机构编码：{inst.code}。"
    flash(message, "success")
    return redirect(url_for("institutions.detail", institution_id=inst.id))


@bp.post("/<int:institution_id>/scope")
@roles_required(CENTRE)
def add_scope(institution_id: int) -> Response | tuple[str, int]:
    inst = _get(institution_id)
    form = _scope_form(inst)
    if not form.validate_on_submit():
        return _refuse_detail(inst.id, _form_errors(form), form)
    wt = form.work_type_id.data
    try:
        entry = add_scope_entry(
            db.session, actor(), inst.id,
            occupation_id=_int(form.occupation_id.data), work_type_id=_int(wt) or None,
            lowest_level=_int(form.lowest_level.data), highest_level=_int(form.highest_level.data),
            basis=form.basis.data or ScopeBasis.FILED.value,
        )
    except DomainError as exc:
        db.session.rollback()
        return _refuse_detail(institution_id, exc.message, form)
    label = f"{BASIS_LABELS[ScopeBasis(entry.basis)]}：{scope_entry_label(entry)}"
    db.session.commit()
    flash(f"已新增{label}。", "success")
    return redirect(url_for("institutions.detail", institution_id=inst.id) + "#scope")


@bp.post("/<int:institution_id>/scope/<int:entry_id>/remove")
@roles_required(CENTRE)
def remove_scope(institution_id: int, entry_id: int) -> Response | tuple[str, int]:
    inst = _get(institution_id)
    entry = db.session.get(ScopeEntry, entry_id)
    if entry is None or entry.institution_id != inst.id:
        abort(404)
    form = RemoveScopeForm()
    if not form.validate_on_submit():
        return _refuse_detail(inst.id, _form_errors(form))
    label = scope_entry_label(entry)
    try:
        remove_scope_entry(db.session, actor(), entry.id, form.reason.data or "")
    except DomainError as exc:
        db.session.rollback()
        return _refuse_detail(institution_id, exc.message)
    db.session.commit()
    flash(f"已删除：{label}。", "success")
    return redirect(url_for("institutions.detail", institution_id=inst.id) + "#scope")


@bp.get("/mine")
@roles_required(Role.INSTITUTION_ADMIN)
def mine() -> str:
    try:
        inst = institution_of(actor())
    except DomainError:
        abort(404)
    return render_template(
        "institutions/mine.html",
        inst=inst,
        scope=scope_by_basis(inst),
        basis_labels={b.value: label for b, label in BASIS_LABELS.items()},
        status_labels={s.value: label for s, label in STATUS_LABELS.items()},
        scope_entry_label=scope_entry_label,
    )
