"""试题批量导入与导出 pages: Excel import (question writers), the import template, and the
Excel / QTI 3.0 export of the item list's current filter.

Imports and exports run as background jobs (:mod:`itembank.transfer_jobs`) in the job worker,
not in the process serving pages and exam sockets: the form queues the job and the browser goes
to its progress page (:mod:`web.jobs`), which shows the counts, the row errors or the download.

Exports carry answer keys, so they are limited to the bank's staff (centre admin, question
writers, item reviewers), only the starter may download the file, and every export is written
to the audit trail. An export has no row cap: the items are streamed from the database in
batches (:func:`item_excel.stream_items`) into a streamed workbook, so time and memory grow
linearly with the filtered list.
"""

from __future__ import annotations

from flask import abort, render_template, request
from sqlalchemy import select
from werkzeug.wrappers import Response

from foundation.roles import Role
from itembank import transfer_jobs
from itembank.item_excel import (
    ANSWER_NOTATION,
    MAX_IMPORT_ROWS,
    item_template_bytes,
)
from itembank.itemtypes import ITEM_TYPES
from itembank.models import ITEM_STATUS_LABELS, Blueprint, BlueprintMode
from web.access import roles_required
from web.bank import bp
from web.bank.transfer_forms import ItemImportForm
from web.downloads import XLSX, download
from web.extensions import db
from web.jobs.views import save_upload, start
from web.params import form_int

C, QW, IR = Role.CENTRE_ADMIN, Role.QUESTION_WRITER, Role.ITEM_REVIEWER
FILTER_KEYS = ("q", "blueprint", "occupation", "level", "point", "type", "status", "mine")


def _int_arg(value: str | None) -> int | None:
    return form_int(value)  # bounded: an id no table holds is no id


def _theory_blueprints() -> list[Blueprint]:
    rows = db.session.scalars(select(Blueprint).where(Blueprint.mode == BlueprintMode.THEORY.value)
                              .order_by(Blueprint.occupation_id, Blueprint.level.desc(), Blueprint.id)).unique()
    return list(rows)


def _render_import(form: ItemImportForm, *, status: int = 200) -> tuple[str, int]:
    return render_template(
        "bank/transfer/import.html", form=form,
        answer_notation=ANSWER_NOTATION, max_rows=MAX_IMPORT_ROWS, blueprints=_theory_blueprints(),
        item_types=ITEM_TYPES, statuses=ITEM_STATUS_LABELS, levels=(5, 4, 3, 2, 1),
    ), status


@bp.route("/items/import", methods=["GET", "POST"])
@roles_required(QW)
def items_import() -> Response | tuple[str, int]:
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
    # Parsed, checked and written by the job worker (all or nothing, as before).
    upload = save_upload(form.file.data.read(), ".xlsx")
    return start(transfer_jobs.IMPORT, {"blueprint_id": blueprint.id, "upload": upload},
                 object_type="blueprint", object_id=blueprint.id)


@bp.get("/items/template")
@roles_required(QW, IR, C)
def items_template() -> Response:
    return download(item_template_bytes(), "试题导入模板.xlsx", XLSX)


@bp.post("/items/export")
@roles_required(QW, IR, C)
def items_export() -> Response:
    """Queue the export of the filtered list (the form's fields) as a job; its page offers the file."""
    fmt = request.form.get("format", "xlsx").strip() or "xlsx"
    if fmt not in transfer_jobs.FORMATS:
        abort(400)
    filters = {k: request.form.get(k, "").strip() for k in FILTER_KEYS}
    return start(transfer_jobs.EXPORT, {"format": fmt, "filters": {k: v for k, v in filters.items() if v}})
