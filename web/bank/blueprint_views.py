"""细目表 pages: list, create, the tree with its health and coverage dashboard, the row editor,
and Excel import/export. Centre admins and item reviewers change blueprints; question writers
read them (they write items against the points)."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from foundation.errors import DomainError, RowErrors
from foundation.levels import ALL_LEVELS, LEVEL_NAMES
from foundation.occupations import Occupation, WorkType, normalise_code
from foundation.roles import Role
from foundation.settings import get_rule
from itembank.access import blueprint_clause
from itembank.blueprint_excel import blueprint_template_bytes, export_blueprint_bytes, import_blueprint
from itembank.blueprints import (
    HealthReport,
    coverage,
    coverage_summary,
    create_blueprint,
    health,
    node_specs,
    parent_code,
    read_blueprint,
    replace_nodes,
)
from itembank.models import (
    IMPORTANCE_LABELS,
    MODE_LABELS,
    BankAssignment,
    Blueprint,
    BlueprintNode,
    Item,
    ItemStatus,
)
from web.access import actor, roles_required
from web.bank import bp
from web.bank.blueprint_forms import (
    BlueprintForm,
    EditorRow,
    ImportForm,
    NodesForm,
    editor_row_errors,
    parse_rows,
    rows_from_specs,
)
from web.downloads import XLSX, download
from web.extensions import db
from web.params import form_int

VIEWERS = (Role.CENTRE_ADMIN, Role.QUESTION_WRITER, Role.ITEM_REVIEWER)
EDITORS = (Role.CENTRE_ADMIN, Role.ITEM_REVIEWER)
READY = (ItemStatus.APPROVED.value, ItemStatus.ACTIVE.value)
BLANK_EDITOR_ROWS = 5


def _get(blueprint_id: int) -> Blueprint:
    """The blueprint if the user may read it (reviewers: their occupations), else 404."""
    try:
        return read_blueprint(db.session, actor(), blueprint_id)
    except DomainError:
        abort(404)


def _can_edit() -> bool:
    return actor().role in {r.value for r in EDITORS}


def _min_items() -> int:
    return int(get_rule(db.session, "blueprint_health")["min_items_per_point"])


def _file_name(blueprint: Blueprint, suffix: str = "") -> str:
    # target labels hold 「/」 (工种, level names), which no file name may contain.
    return re.sub(r'[\\/:*?"<>|]+', "-", f"{blueprint.name}{suffix}") + ".xlsx"


def _flash_health(report: HealthReport) -> None:
    for warning in report.warnings:
        flash(f"健康度提示：{warning}", "warning")


# ---------------------------------------------------------------- list


def _list_query(q: str, level: str, mode: str) -> Any:
    stmt = (
        select(Blueprint)
        .join(Occupation, Occupation.id == Blueprint.occupation_id)
        .outerjoin(WorkType, WorkType.id == Blueprint.work_type_id)
    )
    if (visible := blueprint_clause(actor())) is not None:
        stmt = stmt.where(visible)
    if q:
        stmt = stmt.where(or_(
            Occupation.name.icontains(q, autoescape=True),
            Occupation.code.icontains(normalise_code(q), autoescape=True),
            WorkType.name.icontains(q, autoescape=True),
            Blueprint.name.icontains(q, autoescape=True),
        ))
    if (level_no := form_int(level)) in LEVEL_NAMES:
        stmt = stmt.where(Blueprint.level == level_no)
    if mode in MODE_LABELS:
        stmt = stmt.where(Blueprint.mode == mode)
    return stmt.order_by(Occupation.code, WorkType.name.nulls_first(), Blueprint.level.desc(), Blueprint.mode,
                         Blueprint.id)


def _point_stats(blueprint_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per blueprint: its number of points and of points short of approved items."""
    stats: dict[int, dict[str, int]] = defaultdict(lambda: {"points": 0, "gaps": 0})
    if not blueprint_ids:
        return stats
    minimum = _min_items()
    rows = db.session.execute(
        select(BlueprintNode.blueprint_id, BlueprintNode.id, func.count(Item.id))
        .outerjoin(Item, and_(Item.point_id == BlueprintNode.id, Item.status.in_(READY)))
        .where(BlueprintNode.blueprint_id.in_(blueprint_ids), BlueprintNode.is_point.is_(True))
        .group_by(BlueprintNode.blueprint_id, BlueprintNode.id)
    ).all()
    for blueprint_id, _, count in rows:
        stats[blueprint_id]["points"] += 1
        stats[blueprint_id]["gaps"] += int(count < minimum)
    return stats


@bp.get("/blueprints")
@roles_required(*VIEWERS)
def blueprints() -> str:
    q = request.args.get("q", "").strip()
    level = request.args.get("level", "")
    mode = request.args.get("mode", "")
    page = db.paginate(_list_query(q, level, mode), per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template(
        "bank/blueprints/index.html", page=page, q=q, level=level, mode=mode,
        levels=[(lv, LEVEL_NAMES[lv]) for lv in ALL_LEVELS], modes=MODE_LABELS,
        stats=_point_stats([b.id for b in page.items]), can_edit=_can_edit(),
    )


# ---------------------------------------------------------------- create


def _blueprint_form() -> BlueprintForm:
    form = BlueprintForm()
    stmt = select(Occupation).where(Occupation.active.is_(True), Occupation.is_access_type.is_(False))
    if actor().role == Role.ITEM_REVIEWER:  # only their assigned occupations (the service refuses others)
        stmt = stmt.where(Occupation.id.in_(select(BankAssignment.occupation_id)
                                            .where(BankAssignment.user_id == actor().id)))
    occupations = db.session.scalars(
        stmt.options(selectinload(Occupation.work_types)).order_by(Occupation.code)
    ).all()
    form.occupation_id.choices = [SelectChoice("", "请选择职业")] + [
        SelectChoice(str(o.id), f"{o.code} {o.name}（{o.level_range_label}）") for o in occupations
    ]
    # data-occupation lets blueprint_editor.js show only the chosen occupation's 工种.
    form.work_type_id.choices = [SelectChoice("", "（不区分工种）")] + [
        SelectChoice(str(w.id), f"{o.name} / {w.name}", render_kw={"data-occupation": str(o.id)})
        for o in occupations for w in o.work_types
    ]
    form.level.choices = [SelectChoice(str(lv), LEVEL_NAMES[lv]) for lv in ALL_LEVELS]
    form.mode.choices = [SelectChoice(k, v) for k, v in MODE_LABELS.items()]
    if not form.is_submitted():
        form.level.data = "4"
    return form


def _int(value: str | None) -> int:
    # Unparseable input becomes 0, which the service refuses with a Chinese message.
    return form_int(value) or 0


@bp.route("/blueprints/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def blueprint_new() -> str | Response | tuple[str, int]:
    form = _blueprint_form()
    if form.validate_on_submit():
        try:
            blueprint = create_blueprint(
                db.session, actor(), occupation_id=_int(form.occupation_id.data),
                work_type_id=_int(form.work_type_id.data) or None, level=_int(form.level.data),
                mode=form.mode.data or "", name=form.name.data or "",
            )
        except DomainError as exc:
            db.session.rollback()
            if exc.field and exc.field in form:
                form[exc.field].errors = [*form[exc.field].errors, exc.message]
            flash(exc.message, "danger")
            return render_template("bank/blueprints/new.html", form=form), 400
        db.session.commit()
        flash(f"已创建细目表：{blueprint.name}。请录入鉴定范围和鉴定点，或从 Excel 导入。", "success")
        return redirect(url_for("bank.blueprint_detail", blueprint_id=blueprint.id))
    status = 400 if request.method == "POST" else 200
    return render_template("bank/blueprints/new.html", form=form), status


# ---------------------------------------------------------------- detail and coverage


def _chart_data(blueprint: Blueprint, approved: dict[str, int], minimum: int) -> list[dict[str, Any]]:
    """Approved items per range that holds points, against what the ≥ N rule asks for."""
    ranges: dict[str, dict[str, Any]] = {}
    names = {n.code: n.name for n in blueprint.nodes}
    for point in blueprint.points:
        code = parent_code(point.code) or point.code
        entry = ranges.setdefault(code, {"code": code, "name": names.get(code, ""), "points": 0,
                                         "approved": 0, "required": 0, "gaps": 0})
        count = approved.get(point.code, 0)
        entry["points"] += 1
        entry["approved"] += count
        entry["required"] += minimum
        entry["gaps"] += int(count < minimum)
    return list(ranges.values())


@bp.get("/blueprints/<int:blueprint_id>")
@roles_required(*VIEWERS)
def blueprint_detail(blueprint_id: int) -> str:
    blueprint = _get(blueprint_id)
    minimum = _min_items()
    points = coverage(db.session, blueprint)
    summary = coverage_summary(points)
    only_gaps = request.args.get("gaps") == "1"
    return render_template(
        "bank/blueprints/detail.html",
        blueprint=blueprint,
        report=health(db.session, blueprint.mode, node_specs(blueprint)) if blueprint.nodes else None,
        points=[p for p in points if p.short] if only_gaps else points,
        only_gaps=only_gaps,
        summary=summary,
        total_items=sum(p.approved for p in points),
        minimum=minimum,
        importance_labels=IMPORTANCE_LABELS,
        chart=_chart_data(blueprint, {p.code: p.approved for p in points}, minimum),
        can_edit=_can_edit(),
    )


# ---------------------------------------------------------------- editor


def _render_editor(blueprint: Blueprint, form: NodesForm, rows: list[EditorRow],
                   errors: list[tuple[int, str, str]], status: int = 200) -> tuple[str, int]:
    by_row: dict[int, list[str]] = defaultdict(list)
    for row, column, message in errors:
        by_row[row].append(f"{column}：{message}")
    return render_template(
        "bank/blueprints/edit.html", blueprint=blueprint, form=form, rows=rows, errors=errors,
        row_errors=by_row, importance_labels=IMPORTANCE_LABELS,
    ), status


@bp.route("/blueprints/<int:blueprint_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def blueprint_edit(blueprint_id: int) -> str | Response | tuple[str, int]:
    blueprint = _get(blueprint_id)
    form = NodesForm()
    if request.method == "GET":
        rows = rows_from_specs(node_specs(blueprint)) + [EditorRow() for _ in range(BLANK_EDITOR_ROWS)]
        return _render_editor(blueprint, form, rows, [])
    if not form.validate_on_submit():
        flash("表单已过期，请刷新页面后重试。", "danger")
        return _render_editor(blueprint, form, rows_from_specs(node_specs(blueprint)), [], 400)
    rows, numbers, nodes, errors = parse_rows(request.form)
    if errors:
        flash(f"保存失败：共 {len(errors)} 处错误，细目表未作任何修改。", "danger")
        return _render_editor(blueprint, form, rows, errors, 400)
    try:
        report = replace_nodes(db.session, actor(), blueprint.id, nodes)
    except RowErrors as exc:
        db.session.rollback()
        flash(f"保存失败：共 {len(exc.errors)} 处错误，细目表未作任何修改。", "danger")
        return _render_editor(_get(blueprint_id), form, rows, editor_row_errors(exc.errors, numbers), 400)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _render_editor(_get(blueprint_id), form, rows, [], 400)
    db.session.commit()
    flash(f"细目表已保存：共 {len(nodes)} 个节点，其中鉴定点 {report.point_count} 个。", "success")
    _flash_health(report)
    return redirect(url_for("bank.blueprint_detail", blueprint_id=blueprint.id))


# ---------------------------------------------------------------- Excel


@bp.route("/blueprints/<int:blueprint_id>/import", methods=["GET", "POST"])
@roles_required(*EDITORS)
def blueprint_import(blueprint_id: int) -> str | Response | tuple[str, int]:
    blueprint = _get(blueprint_id)
    form = ImportForm()
    if form.validate_on_submit():
        try:
            report = import_blueprint(db.session, actor(), blueprint.id, form.file.data.read())
        except RowErrors as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return render_template("bank/blueprints/import.html", blueprint=_get(blueprint_id), form=form,
                                   errors=exc.errors), 400
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return render_template("bank/blueprints/import.html", blueprint=_get(blueprint_id), form=form,
                                   errors=[]), 400
        db.session.commit()
        flash(f"导入完成：鉴定点 {report.point_count} 个。", "success")
        _flash_health(report)
        return redirect(url_for("bank.blueprint_detail", blueprint_id=blueprint.id))
    status = 400 if request.method == "POST" else 200
    return render_template("bank/blueprints/import.html", blueprint=blueprint, form=form, errors=[]), status


@bp.get("/blueprints/<int:blueprint_id>/export")
@roles_required(*VIEWERS)
def blueprint_export(blueprint_id: int) -> Response:
    blueprint = _get(blueprint_id)
    data = export_blueprint_bytes(blueprint)
    return download(data, _file_name(blueprint), XLSX)


@bp.get("/blueprints/template")
@roles_required(*VIEWERS)
def blueprint_template() -> Response:
    return download(blueprint_template_bytes(), "鉴定要素细目表导入模板.xlsx", XLSX)
