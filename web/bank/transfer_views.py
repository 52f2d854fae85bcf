"""试题批量导入与导出 pages: Excel import (question writers), the import template, and the
Excel / QTI 3.0 export of the item list's current filter.

Exports carry answer keys, so they are limited to the bank's staff (centre admin, question
writers, item reviewers) and every export is written to the audit trail. An export has no row
cap: the items are streamed from the database in batches (:func:`item_excel.stream_items`) into
a streamed workbook, so time and memory grow linearly with the filtered list.
"""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import Select, select
from werkzeug.wrappers import Response

from foundation.errors import DomainError, RowErrors
from foundation.roles import Role
from itembank.item_excel import (
    ANSWER_NOTATION,
    MAX_IMPORT_ROWS,
    ExportTally,
    ImportResult,
    export_items_bytes,
    import_items,
    item_template_bytes,
    record_export,
    stream_items,
)
from itembank.items import item_query
from itembank.itemtypes import ITEM_TYPES
from itembank.models import ITEM_STATUS_LABELS, Blueprint, BlueprintMode, Item
from itembank.qti import export_qti_bytes
from web.access import actor, roles_required
from web.bank import bp
from web.bank.transfer_forms import ItemImportForm
from web.downloads import XLSX, ZIP, download
from web.extensions import db
from web.params import form_int

C, QW, IR = Role.CENTRE_ADMIN, Role.QUESTION_WRITER, Role.ITEM_REVIEWER
FILTER_KEYS = ("q", "blueprint", "occupation", "level", "point", "type", "status", "mine")


def _int_arg(value: str | None) -> int | None:
    return form_int(value)  # bounded: an id no table holds is no id


def _theory_blueprints() -> list[Blueprint]:
    rows = db.session.scalars(select(Blueprint).where(Blueprint.mode == BlueprintMode.THEORY.value)
                              .order_by(Blueprint.occupation_id, Blueprint.level.desc(), Blueprint.id)).unique()
    return list(rows)


def _filters() -> dict[str, str]:
    return {k: request.args.get(k, "").strip() for k in FILTER_KEYS}


def _filtered_items(f: dict[str, str]) -> Select[tuple[Item]]:
    """The item list's query for the same filter parameters (see ``bank.items``)."""
    return item_query(f, actor()).order_by(Item.code)


def _render_import(form: ItemImportForm, *, errors: list[tuple[int, str, str]] | None = None,
                   result: ImportResult | None = None, status: int = 200) -> tuple[str, int]:
    return render_template(
        "bank/transfer/import.html", form=form, errors=errors or [], result=result,
        answer_notation=ANSWER_NOTATION, max_rows=MAX_IMPORT_ROWS, blueprints=_theory_blueprints(),
        item_types=ITEM_TYPES, statuses=ITEM_STATUS_LABELS, levels=(5, 4, 3, 2, 1),
    ), status


@bp.route("/items/import", methods=["GET", "POST"])
@roles_required(QW)
def items_import() -> tuple[str, int]:
    form = ItemImportForm()
    form.blueprint_id.choices = [("", "（请选择细目表）")] + [
        (str(b.id), b.name) for b in _theory_blueprints()
    ]
    if request.method == "GET" and _int_arg(request.args.get("blueprint")) is not None:
        form.blueprint_id.data = request.args["blueprint"].strip()
    if not form.validate_on_submit():
        return _render_import(form, status=400 if request.method == "POST" else 200)
    blueprint_id = _int_arg(form.blueprint_id.data)
    blueprint = db.session.get(Blueprint, blueprint_id) if blueprint_id is not None else None
    if blueprint is None or blueprint.mode != BlueprintMode.THEORY.value:
        form.blueprint_id.errors = ["请选择要导入的理论知识细目表。"]
        return _render_import(form, status=400)
    try:
        result = import_items(db.session, actor(), blueprint, form.file.data.read())
    except RowErrors as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _render_import(form, errors=exc.errors, status=400)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _render_import(form, status=400)
    db.session.commit()
    flash(result.message, "success")
    return _render_import(form, result=result)


@bp.get("/items/template")
@roles_required(QW, IR, C)
def items_template() -> Response:
    return download(item_template_bytes(), "试题导入模板.xlsx", XLSX)


@bp.get("/items/export")
@roles_required(QW, IR, C)
def items_export() -> Response:
    fmt = request.args.get("format", "xlsx").strip() or "xlsx"
    if fmt not in ("xlsx", "qti"):
        abort(400)
    f = _filters()
    back = url_for("bank.items", **{k: v for k, v in f.items() if v}) \
        if "bank.items" in current_app.view_functions else url_for("main.home")
    items = ExportTally(stream_items(db.session, _filtered_items(f)))
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M")
    if fmt == "qti":
        data, name, mimetype = export_qti_bytes(db.session, items), f"试题-QTI3-{stamp}.zip", ZIP
    else:
        data, name, mimetype = export_items_bytes(items), f"试题-{stamp}.xlsx", XLSX
    if not items.count:
        flash("没有符合条件的试题可以导出。", "warning")
        return redirect(back)
    try:
        record_export(db.session, actor(), fmt, items.count, items.codes, {k: v for k, v in f.items() if v})
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(back)
    db.session.commit()
    return download(data, name, mimetype)
