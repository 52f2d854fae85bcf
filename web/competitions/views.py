"""竞赛选拔 pages (centre only): the competitions list, filing and editing a competition, its
results and their Excel import, and the recognition rules (认定规则)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func, or_, select
from werkzeug.wrappers import Response

from foundation.errors import DomainError, RowErrors
from foundation.levels import level_name
from foundation.occupations import Occupation
from foundation.people import Person
from foundation.roles import Role
from grading.results import competitions as svc
from grading.results.competitions import COMPETITION_CLASSES, CompetitionInput, RuleInput
from grading.results.models import Competition, CompetitionEntry
from web.access import actor, roles_required
from web.actions import perform
from web.competitions import bp
from web.competitions.forms import CompetitionForm, ImportForm, PostForm, RuleForm
from web.downloads import XLSX, download
from web.extensions import db
from web.params import form_int

C = Role.CENTRE_ADMIN


def _get(competition_id: int) -> Competition:
    row = db.session.get(Competition, competition_id)
    if row is None:
        abort(404)
    return row


def _occupation_choices(form: CompetitionForm) -> None:
    occupations = db.session.scalars(select(Occupation).where(Occupation.active.is_(True))
                                     .order_by(Occupation.code))
    form.occupation_id.choices = [("", "请选择")] + [(str(o.id), f"{o.code} {o.name}") for o in occupations]


@bp.get("/")
@roles_required(C)
def index() -> str:
    q = request.args.get("q", "").strip()
    cls = request.args.get("class", "")
    filed = request.args.get("filed", "")
    stmt = select(Competition).join(Occupation, Occupation.id == Competition.occupation_id)
    if q:
        stmt = stmt.where(or_(*(c.icontains(q, autoescape=True)
                                for c in (Competition.name, Competition.organiser, Occupation.name))))
    if cls in COMPETITION_CLASSES:
        stmt = stmt.where(Competition.competition_class == cls)
    if filed in ("1", "0"):
        stmt = stmt.where(Competition.filed.is_(filed == "1"))
    page = db.paginate(stmt.order_by(Competition.ends_on.desc(), Competition.id.desc()),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    ids = [c.id for c in page.items]
    entries = dict(db.session.execute(  # type: ignore[arg-type]
        select(CompetitionEntry.competition_id, func.count(CompetitionEntry.id))
        .where(CompetitionEntry.competition_id.in_(ids)).group_by(CompetitionEntry.competition_id)).all()) \
        if ids else {}
    return render_template("competitions/index.html", page=page, q=q, cls=cls, filed=filed, classes=COMPETITION_CLASSES,
                           entries=entries)


def _parse_day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((text or "").strip())
    except ValueError:
        return None


def _input(form: CompetitionForm) -> CompetitionInput | str:
    starts_on, ends_on = _parse_day(form.starts_on.data), _parse_day(form.ends_on.data)
    if starts_on is None or ends_on is None:
        return "日期格式应为「年-月-日」，如 2026-06-12。"
    return CompetitionInput(
        name=form.name.data or "", competition_class=form.competition_class.data or "",
        organiser=form.organiser.data or "", occupation_id=form_int(form.occupation_id.data) or 0,
        starts_on=starts_on, ends_on=ends_on, filed=bool(form.filed.data), filing_no=form.filing_no.data or "")


def _save(form: CompetitionForm, existing: Competition | None) -> Response | None:
    """Validate and save; None when refused (the message is flashed)."""
    if not form.validate_on_submit():
        flash("请检查填写的内容：" + "；".join(e for errs in form.errors.values() for e in errs), "danger")
        return None
    data = _input(form)
    if isinstance(data, str):
        flash(data, "danger")
        return None
    try:
        if existing is None:
            row = svc.create_competition(db.session, actor(), data)
        else:
            row = svc.update_competition(db.session, actor(), existing.id, data)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return None
    row_id = row.id
    db.session.commit()
    flash("竞赛已保存。", "success")
    return redirect(url_for("competitions.detail", competition_id=row_id))


@bp.route("/new", methods=["GET", "POST"])
@roles_required(C)
def new() -> Response | tuple[str, int]:
    form = CompetitionForm()
    _occupation_choices(form)
    if request.method == "POST":
        done = _save(form, None)
        if done is not None:
            return done
        return render_template("competitions/form.html", form=form, competition=None), 400
    return render_template("competitions/form.html", form=form, competition=None), 200


@bp.route("/<int:competition_id>/edit", methods=["GET", "POST"])
@roles_required(C)
def edit(competition_id: int) -> Response | tuple[str, int]:
    row = _get(competition_id)
    if request.method == "POST":
        form = CompetitionForm()
        _occupation_choices(form)
        done = _save(form, row)
        if done is not None:
            return done
        return render_template("competitions/form.html", form=form, competition=row), 400
    form = CompetitionForm(formdata=None, obj=row)
    _occupation_choices(form)
    form.occupation_id.data = str(row.occupation_id)
    form.starts_on.data, form.ends_on.data = row.starts_on.isoformat(), row.ends_on.isoformat()
    return render_template("competitions/form.html", form=form, competition=row), 200


@bp.get("/<int:competition_id>")
@roles_required(C)
def detail(competition_id: int) -> str:
    row = _get(competition_id)
    q = request.args.get("q", "").strip()
    stmt = (select(CompetitionEntry).join(Person, Person.id == CompetitionEntry.person_id)
            .where(CompetitionEntry.competition_id == row.id))
    if q:
        stmt = stmt.where(or_(CompetitionEntry.name.icontains(q, autoescape=True),
                              Person.id_number.icontains(q, autoescape=True)))
    order = [CompetitionEntry.rank.is_(None), CompetitionEntry.rank, CompetitionEntry.id]
    page = db.paginate(stmt.order_by(*order), per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("competitions/detail.html", competition=row, page=page, q=q)


@bp.route("/<int:competition_id>/import", methods=["GET", "POST"])
@roles_required(C)
def import_results(competition_id: int) -> Response | tuple[str, int]:
    row = _get(competition_id)
    form = ImportForm()
    errors: list[Any] = []
    if form.validate_on_submit():
        try:
            result = svc.import_results(db.session, actor(), row.id, form.file.data.read())
        except RowErrors as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            errors = exc.errors
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(result.message, "success")
            return redirect(url_for("competitions.detail", competition_id=competition_id))
        return render_template("competitions/import.html", form=form, competition=row, errors=errors), 400
    if request.method == "POST":
        flash("；".join(e for errs in form.errors.values() for e in errs) or "表单已过期，请刷新页面后重试。", "danger")
        return render_template("competitions/import.html", form=form, competition=row, errors=[]), 400
    return render_template("competitions/import.html", form=form, competition=row, errors=[]), 200


@bp.get("/template")
@roles_required(C)
def template() -> Response:
    return download(svc.import_template_bytes(), "竞赛成绩导入模板.xlsx", XLSX)


@bp.route("/rules", methods=["GET", "POST"])
@roles_required(C)
def rules() -> Response | tuple[str, int]:
    form = RuleForm()
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            flash("请检查填写的内容：" + "；".join(e for errs in form.errors.values() for e in errs), "danger")
            status = 400
        else:
            data = RuleInput(
                competition_class=form.competition_class.data or "", criterion=form.criterion.data or "",
                value=form.value.data or "", conferred_level=form_int(form.conferred_level.data, maximum=5) or 0,
                contestant_type=form.contestant_type.data or None,
                current_level=form_int(form.current_level.data, maximum=5) if form.current_level.data else None)
            try:
                svc.add_rule(db.session, actor(), data)
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "danger")
                status = 400
            else:
                db.session.commit()
                flash("认定规则已添加。", "success")
                return redirect(url_for("competitions.rules"))
    rows = [(r, svc.engine_rule(r).describe()) for r in svc.rules(db.session)]
    return render_template("competitions/rules.html", form=form, rows=rows, level_name=level_name,
                           post_form=PostForm()), status


@bp.post("/rules/<int:rule_id>/delete")
@roles_required(C)
def delete_rule(rule_id: int) -> Response:
    if not PostForm().validate_on_submit():
        flash("表单已过期，请刷新页面后重试。", "danger")
        return redirect(url_for("competitions.rules"))
    perform(lambda: svc.delete_rule(db.session, actor(), rule_id), back=url_for("competitions.rules"))
    flash("认定规则已删除。", "success")
    return redirect(url_for("competitions.rules"))
