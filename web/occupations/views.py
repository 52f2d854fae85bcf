"""职业目录 pages: every staff role reads the catalogue; only the centre admin changes it."""

from __future__ import annotations

import re
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from foundation.errors import DomainError, RowErrors
from foundation.occupation_excel import export_occupations_bytes, import_occupations, import_template_bytes
from foundation.occupations import (
    Occupation,
    create_occupation,
    occupation_query,
    set_occupation_active,
    update_occupation,
)
from foundation.roles import Role
from web.access import STAFF_ROLES, actor, roles_required
from web.downloads import XLSX, download
from web.extensions import db
from web.occupations import bp
from web.occupations.forms import ImportForm, OccupationForm, ToggleActiveForm

CENTRE = Role.CENTRE_ADMIN


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def _filters() -> dict[str, str]:
    return {
        "q": request.args.get("q", "").strip(),
        "access": request.args.get("access", ""),
        "active": request.args.get("active", ""),
    }


def _filtered_query(filters: dict[str, str]) -> Any:
    stmt = occupation_query(
        q=filters["q"], access_type=_yes_no(filters["access"]), active=_yes_no(filters["active"])
    )
    return stmt.options(selectinload(Occupation.work_types))


def _get(occupation_id: int) -> Occupation:
    occupation = db.session.get(Occupation, occupation_id)
    if occupation is None:
        abort(404)
    return occupation


def _split_work_types(text: str | None) -> list[str]:
    """The textarea allows one 工种 per line; pasted lists separated by 、，; are split too."""
    return [part.strip() for part in re.split(r"[\r\n,，、;；]+", text or "") if part.strip()]


def _form_values(form: OccupationForm) -> dict[str, Any]:
    return {
        "code": form.code.data or "",
        "name": form.name.data or "",
        "lowest_level": form.lowest_level.data,
        "highest_level": form.highest_level.data,
        "is_access_type": bool(form.is_access_type.data),
        "work_types": _split_work_types(form.work_types.data),
        "note": form.note.data or "",
    }


def _refused(form: OccupationForm, exc: DomainError, template: str, **context: Any) -> tuple[str, int]:
    db.session.rollback()
    if exc.field and exc.field in form:
        form[exc.field].errors = [*form[exc.field].errors, exc.message]
    flash(exc.message, "danger")
    return render_template(template, form=form, **context), 400


@bp.get("/")
@roles_required(*STAFF_ROLES)
def index() -> str:
    filters = _filters()
    page = db.paginate(_filtered_query(filters), per_page=current_app.config["PAGE_SIZE"], error_out=False)
    export_args = {k: v for k, v in filters.items() if v}
    return render_template("occupations/index.html", page=page, export_args=export_args, **filters)


@bp.get("/<int:occupation_id>")
@roles_required(*STAFF_ROLES)
def detail(occupation_id: int) -> str:
    occupation = _get(occupation_id)
    return render_template("occupations/detail.html", occupation=occupation, toggle=ToggleActiveForm())


@bp.route("/new", methods=["GET", "POST"])
@roles_required(CENTRE)
def new() -> str | Response | tuple[str, int]:
    form = OccupationForm()
    if form.validate_on_submit():
        try:
            occupation = create_occupation(db.session, actor(), **_form_values(form))
        except DomainError as exc:
            return _refused(form, exc, "occupations/form.html", occupation=None)
        db.session.commit()
        flash(f"已添加职业：{occupation.code} {occupation.name}。", "success")
        return redirect(url_for("occupations.detail", occupation_id=occupation.id))
    status = 400 if request.method == "POST" else 200
    return render_template("occupations/form.html", form=form, occupation=None), status


@bp.route("/<int:occupation_id>/edit", methods=["GET", "POST"])
@roles_required(CENTRE)
def edit(occupation_id: int) -> str | Response | tuple[str, int]:
    occupation = _get(occupation_id)
    # Plain data rather than obj=: the model's work_types are rows, the form edits their names.
    form = OccupationForm(data={
        "code": occupation.code,
        "name": occupation.name,
        "lowest_level": occupation.lowest_level,
        "highest_level": occupation.highest_level,
        "is_access_type": occupation.is_access_type,
        "work_types": "\n".join(w.name for w in occupation.work_types),
        "note": occupation.note or "",
    })
    if form.validate_on_submit():
        try:
            update_occupation(db.session, actor(), occupation.id, **_form_values(form))
        except DomainError as exc:
            return _refused(form, exc, "occupations/form.html", occupation=occupation)
        db.session.commit()
        flash("职业信息已保存。", "success")
        return redirect(url_for("occupations.detail", occupation_id=occupation.id))
    status = 400 if request.method == "POST" else 200
    return render_template("occupations/form.html", form=form, occupation=occupation), status


@bp.post("/<int:occupation_id>/active")
@roles_required(CENTRE)
def toggle_active(occupation_id: int) -> Response:
    occupation = _get(occupation_id)
    if not ToggleActiveForm().validate_on_submit():
        flash("请勾选确认后再提交。", "warning")
        return redirect(url_for("occupations.detail", occupation_id=occupation.id))
    try:
        set_occupation_active(db.session, actor(), occupation.id, not occupation.active)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("occupations.detail", occupation_id=occupation.id))
    db.session.commit()
    flash("职业已启用。" if occupation.active else "职业已停用，不能再用于新的认定。", "success")
    return redirect(url_for("occupations.detail", occupation_id=occupation.id))


@bp.route("/import", methods=["GET", "POST"])
@roles_required(CENTRE)
def import_xlsx() -> str | Response | tuple[str, int]:
    form = ImportForm()
    if form.validate_on_submit():
        try:
            result = import_occupations(db.session, actor(), form.file.data.read())
        except RowErrors as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return render_template("occupations/import.html", form=form, errors=exc.errors), 400
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return render_template("occupations/import.html", form=form, errors=[]), 400
        db.session.commit()
        flash(result.message, "success")
        return redirect(url_for("occupations.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("occupations/import.html", form=form, errors=[]), status


@bp.get("/template")
@roles_required(CENTRE)
def template() -> Response:
    data = import_template_bytes()
    name = "职业目录导入模板.xlsx"
    return download(data, name, XLSX)


@bp.get("/export")
@roles_required(*STAFF_ROLES)
def export() -> Response:
    occupations = db.session.scalars(_filtered_query(_filters())).all()
    data = export_occupations_bytes(db.session, occupations)
    return download(data, "职业目录.xlsx", XLSX)
