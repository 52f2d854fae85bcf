"""题目分析报告 pages: the item report, the paper report and the DIF report, each with a JSON
endpoint for its charts (drawn by ``static/js/analysis_charts.js``) and an Excel download.

Staff only: the centre admin and item reviewers (the analysts). The item report shows the
answer key in its distractor table, which is why no other role reaches any of these routes.
Reviewers read only inside their assignments: the loaders in :mod:`grading.psychometrics.reports` refuse
runs, items and papers outside them and omit the rows of items the reviewer may not read.
The item report's figures read off the response matrix are stored per run and item
(:mod:`grading.psychometrics.report_store`); a run made before the store gets them computed
and committed on the first view of each item. Otherwise the reports only read; the builders
live in :mod:`grading.psychometrics.reports` and
:mod:`grading.psychometrics.report_excel`.
"""

from __future__ import annotations

from flask import abort, flash, jsonify, render_template, request
from werkzeug.wrappers import Response

from foundation.errors import ValidationError
from foundation.roles import Role
from grading.psychometrics import report_excel, reports
from itembank.itemtypes import ITEM_TYPES
from itembank.models import ITEM_STATUS_LABELS
from web.access import actor, roles_required
from web.analysis import bp
from web.downloads import XLSX, download
from web.extensions import db
from web.params import form_int

ANALYSTS = (Role.CENTRE_ADMIN, Role.ITEM_REVIEWER)
TYPE_LABELS = {code: t.label for code, t in ITEM_TYPES.items()}


def _run_arg() -> int | None:
    """``?run=<id>``: absent or empty means the default run; anything else must be an id."""
    raw = request.args.get("run", "").strip()
    if not raw:
        return None
    if (run_id := form_int(raw)) is None:
        abort(404)
    return run_id


def _xlsx(data: bytes, name: str) -> Response:
    return download(data, name, XLSX)


def _item_report(item_id: int) -> reports.ItemReport:
    """The item report; commits the matrix figures it computed for a run that had none stored
    (a run made before the store: computed once, served from the store afterwards)."""
    report = reports.item_report(db.session, actor(), item_id, _run_arg())
    db.session.commit()
    return report


def _safe_name(text: str) -> str:
    return "".join("_" if ch in '\\/:*?"<>|' else ch for ch in text)[:80]


# ---------------------------------------------------------------- item report


@bp.get("/items/<int:item_id>")
@roles_required(*ANALYSTS)
def item_report(item_id: int) -> str:
    report = _item_report(item_id)
    return render_template("analysis/reports/item.html", report=report, item=report.item,
                           type_label=TYPE_LABELS.get(report.item.item_type, report.item.item_type),
                           status_label=ITEM_STATUS_LABELS.get(report.item.status, report.item.status))


@bp.get("/items/<int:item_id>.json")
@roles_required(*ANALYSTS)
def item_report_data(item_id: int) -> Response:
    return jsonify(_item_report(item_id).chart_data())


@bp.get("/items/<int:item_id>.xlsx")
@roles_required(*ANALYSTS)
def item_report_xlsx(item_id: int) -> Response:
    report = _item_report(item_id)
    suffix = f"-标定{report.run.id}" if report.run else ""
    return _xlsx(report_excel.item_report_xlsx(report), f"题目分析-{_safe_name(report.item.code)}{suffix}.xlsx")


# ---------------------------------------------------------------- paper report


@bp.get("/papers/<int:paper_id>")
@roles_required(*ANALYSTS)
def paper_report(paper_id: int) -> str:
    report = reports.paper_report(db.session, actor(), paper_id, _run_arg())
    return render_template("analysis/reports/paper.html", report=report, paper=report.paper)


@bp.get("/papers/<int:paper_id>.json")
@roles_required(*ANALYSTS)
def paper_report_data(paper_id: int) -> Response:
    return jsonify(reports.paper_report(db.session, actor(), paper_id, _run_arg()).chart_data())


@bp.get("/papers/<int:paper_id>.xlsx")
@roles_required(*ANALYSTS)
def paper_report_xlsx(paper_id: int) -> Response:
    report = reports.paper_report(db.session, actor(), paper_id, _run_arg())
    return _xlsx(report_excel.paper_report_xlsx(report), f"试卷分析-{_safe_name(report.paper.name)}.xlsx")


# ---------------------------------------------------------------- DIF report


def _dif_args() -> tuple[str | None, str | None]:
    return (request.args.get("group", "").strip() or None, request.args.get("reference", "").strip() or None)


def _dif_refused(run_id: int, exc: ValidationError) -> tuple[str, int]:
    """The form alone, with the reason, when the chosen group or reference cannot be used."""
    flash(exc.message, "danger")
    choices = reports.dif_choices(db.session, actor(), run_id)
    group, reference = _dif_args()
    return render_template("analysis/reports/dif.html", report=None, run=choices.run, choices=choices,
                           group=group or "", reference=reference or ""), 400


@bp.get("/runs/<int:run_id>/dif")
@roles_required(*ANALYSTS)
def dif_report(run_id: int) -> str | tuple[str, int]:
    group, reference = _dif_args()
    try:
        report = reports.dif_report(db.session, actor(), run_id, group, reference)
    except ValidationError as exc:
        return _dif_refused(run_id, exc)
    choices = reports.dif_choices(db.session, actor(), run_id)
    return render_template("analysis/reports/dif.html", report=report, run=report.run, choices=choices,
                           group=report.group, reference=report.reference)


@bp.get("/runs/<int:run_id>/dif.json")
@roles_required(*ANALYSTS)
def dif_report_data(run_id: int) -> Response | tuple[Response, int]:
    group, reference = _dif_args()
    try:
        report = reports.dif_report(db.session, actor(), run_id, group, reference)
    except ValidationError as exc:
        return jsonify({"error": exc.message, "status": 400}), 400
    return jsonify(report.chart_data())


@bp.get("/runs/<int:run_id>/dif.xlsx")
@roles_required(*ANALYSTS)
def dif_report_xlsx(run_id: int) -> Response | tuple[str, int]:
    group, reference = _dif_args()
    try:
        report = reports.dif_report(db.session, actor(), run_id, group, reference)
    except ValidationError as exc:
        return _dif_refused(run_id, exc)
    name = f"DIF-标定{run_id}-{_safe_name(report.group)}-参照{_safe_name(report.reference)}.xlsx"
    return _xlsx(report_excel.dif_report_xlsx(report), name)
