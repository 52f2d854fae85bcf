"""评价方案: the centre lists and edits the evaluation schemes (required components and pass
marks per occupation × level × method); the rules and the audit are in
``grading.results.schemes``."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response

from foundation.errors import DomainError
from foundation.levels import level_name
from foundation.occupations import Occupation
from foundation.roles import Role
from grading.results.decision import Component, Method
from grading.results.schemes import (
    LEVELS,
    METHODS,
    default_table,
    delete_override,
    overrides,
    pass_mark,
    save_scheme,
    scheme_for,
)
from web.access import actor, roles_required
from web.actions import perform
from web.extensions import db
from web.params import parse_int
from web.schemes import bp


def _occupations() -> list[Occupation]:
    return list(db.session.scalars(select(Occupation).order_by(Occupation.code)))


@bp.get("/")
@roles_required(Role.CENTRE_ADMIN)
def index() -> str:
    return render_template(
        "schemes/index.html", defaults=default_table(db.session), own=overrides(db.session),
        occupations=_occupations(), levels=LEVELS, methods=METHODS, level_name=level_name,
        pass_mark=pass_mark, components=list(Component), form=FlaskForm(),
    )


def _target() -> tuple[Occupation | None, int, Method]:
    """The scheme the page edits, from the query string: 404 for an unknown occupation, level or method."""
    occupation_id = parse_int(request.args.get("occupation_id", ""))
    occupation = db.session.get(Occupation, occupation_id) if occupation_id is not None else None
    if request.args.get("occupation_id") and occupation is None:
        abort(404)
    level = parse_int(request.args.get("level", ""), minimum=1, maximum=5)
    method = request.args.get("method", "")
    if level is None or method not in {m.value for m in METHODS}:
        abort(404)
    return occupation, level, Method(method)


def _render(occupation: Occupation | None, level: int, method: Method, values: dict[str, Any],
            status: int = 200) -> tuple[str, int]:
    return render_template(
        "schemes/edit.html", occupation=occupation, level=level, method=method, values=values,
        components=list(Component), level_label=level_name(level), form=FlaskForm(),
    ), status


@bp.route("/edit", methods=["GET", "POST"])
@roles_required(Role.CENTRE_ADMIN)
def edit() -> Response | tuple[str, int]:
    occupation, level, method = _target()
    if request.method == "GET":
        scheme = scheme_for(db.session, occupation, level, method)
        values = {"components": [c.value for c in scheme.required],
                  "marks": {c.value: str(pass_mark(scheme, c)) for c in Component}}
        return _render(occupation, level, method, values)
    chosen = request.form.getlist("components")
    marks = {c.value: request.form.get(f"pass_mark_{c.value}", "") for c in Component}
    values = {"components": chosen, "marks": marks}
    if not FlaskForm().validate_on_submit():
        flash("表单已过期，请刷新页面后重试。", "danger")
        return _render(occupation, level, method, values, 400)
    try:
        save_scheme(db.session, actor(), occupation_id=occupation.id if occupation else None, level=level,
                    method=method, components=chosen, pass_marks={c: marks[c] for c in chosen if c in marks})
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _render(occupation, level, method, values, 400)
    db.session.commit()
    who = f"职业「{occupation.name}」" if occupation else "默认"
    flash(f"{who}{level_name(level)}{method.label}评价方案已保存。", "success")
    return redirect(url_for("schemes.index"))


@bp.post("/<int:scheme_id>/delete")
@roles_required(Role.CENTRE_ADMIN)
def delete(scheme_id: int) -> Response:
    if not FlaskForm().validate_on_submit():
        flash("表单已过期，请刷新页面后重试。", "danger")
        return redirect(url_for("schemes.index"))
    perform(lambda: delete_override(db.session, actor(), scheme_id), back=url_for("schemes.index"))
    flash("该职业的评价方案已删除，改用默认方案。", "success")
    return redirect(url_for("schemes.index"))
