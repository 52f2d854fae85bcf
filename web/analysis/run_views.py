"""题目分析 · 参数标定 pages: response sets (upload, simulate, or built from the closed theory
attempts of a batch or a date range — :mod:`grading.psychometrics.exam_responses`), calibration runs with a live
progress bar, and a run's results (parameters on the bank scale, statistics, review flags).

Starting a run queues it and a ``calibration.run`` background job
(:mod:`grading.psychometrics.calibration_job`), which the job worker executes (``web.worker``),
so the numeric work never blocks the (gevent) web server; the detail page polls
``status.json`` every second. ``flask grading run ID`` still executes a run by hand. The
launcher is configurable:
``app.config["ANALYSIS_RUN_LAUNCHER"]`` (a callable taking the run id) replaces it, and
``app.config["ANALYSIS_RUN_INLINE"] = True`` executes the run inside the request (tests).

Roles: centre admins and item reviewers (who act on the flags the runs raise). A reviewer
works only on the blueprints of their assigned occupations; the services enforce it
(:func:`grading.psychometrics.responses.get_blueprint`, :func:`grading.psychometrics.calibration.readable_run`, the list
clauses), and the pages only narrow their lists and pickers to the same rule. A run's item
table and report lists omit the items the reviewer may not read (:func:`grading.psychometrics.reports.run_report`).
"""

from __future__ import annotations

import math
from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import selectinload
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response
from wtforms import HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional

from examroom.models import Attempt, Batch, BatchModule, ExamSession, ModuleKind
from foundation.errors import DomainError, NotFound, PermissionDenied, ValidationError
from foundation.jobs import enqueue
from foundation.roles import Role
from grading.psychometrics import calibration_job, response_set_job
from grading.psychometrics.calibration import (
    LINKING_METHODS,
    MODELS,
    SANDBOX_NOTE,
    STATUS_LABELS,
    execute_run,
    fail_run_after,
    readable_run,
    run_clause,
    start_run,
)
from grading.psychometrics.exam_responses import build_exam_response_set
from grading.psychometrics.models import CalibrationRun, ItemParameter, ResponseSet
from grading.psychometrics.reports import run_report
from grading.psychometrics.responses import (
    ID_COLUMNS,
    MAX_EXAMINEES,
    MIN_SIMULATED,
    MISSING_DESIGNS,
    SOURCE_LABELS,
    clean_name,
    get_blueprint,
    response_set_clause,
    simulate_response_set,
)
from itembank import access
from itembank.models import ITEM_STATUS_LABELS, Blueprint, Item, Paper
from web.access import actor, roles_required
from web.analysis import bp
from web.extensions import db
from web.jobs.views import save_upload_file, start
from web.params import form_int
from web.uploads import large_upload

C, IR = Role.CENTRE_ADMIN, Role.ITEM_REVIEWER
ITEMS_PER_PAGE = 50
# Short labels for the compact start form of the response-set list.
MODEL_OPTIONS = {"2pl": "2PL", "1pl": "1PL", "rasch": "Rasch", "3pl": "3PL（含猜测参数）"}
LINKING_OPTIONS = {"stocking_lord": "Stocking–Lord 链接", "haebara": "Haebara 链接",
                   "mean_sigma": "均值/标准差链接", "mean_mean": "均值/均值链接"}


# ---------------------------------------------------------------------------- forms


class UploadForm(FlaskForm):
    mode = HiddenField(default="upload")
    blueprint_id = SelectField("细目表", validate_choice=False)
    name = StringField("名称", validators=[Length(max=128, message="名称不能超过 128 个字符。")])
    file = FileField("作答数据文件（.xlsx 或 .csv）", validators=[
        FileRequired("请选择要导入的文件。"),
        FileAllowed(["xlsx", "csv"], "只支持 .xlsx 或 .csv 文件。"),
    ])


class SimulateForm(FlaskForm):
    """Numbers are parsed by the view (Chinese messages), not by WTForms."""

    mode = HiddenField(default="simulate")
    blueprint_id = SelectField("细目表", validate_choice=False)
    name = StringField("名称（可留空）", validators=[Optional(), Length(max=128, message="名称不能超过 128 个字符。")])
    n_examinees = StringField("模拟人数", default="1000", validators=[Length(max=6)])
    seed = StringField("随机种子", default="1", validators=[Length(max=10)])
    missing_design = SelectField("缺失设计", validate_choice=False,
                                 choices=[SelectChoice(k, v) for k, v in MISSING_DESIGNS.items()])
    ability_mean = StringField("能力均值（题库量尺）", default="0", validators=[Length(max=8)])


class ExamForm(FlaskForm):
    """从认定批次生成作答数据: one batch, or a date range of theory sittings with a blueprint.
    Dates are parsed by the service (Chinese messages)."""

    mode = HiddenField(default="exam")
    scope = SelectField("生成范围", validate_choice=False, default="batch",
                        choices=[SelectChoice("batch", "按认定批次"), SelectChoice("range", "按考试日期范围")])
    batch_id = SelectField("认定批次", validate_choice=False)
    date_from = StringField("开始日期", validators=[Length(max=10)])
    date_to = StringField("结束日期", validators=[Length(max=10)])
    blueprint_id = SelectField("细目表", validate_choice=False)
    name = StringField("名称（可留空）", validators=[Optional(), Length(max=128, message="名称不能超过 128 个字符。")])


#: The batch picker lists at most this many batches (newest first) with closed theory attempts.
EXAM_BATCH_CHOICES = 200


# ---------------------------------------------------------------------------- helpers


def _int(value: str | None) -> int | None:
    return form_int(value)  # bounded: an id no table holds is no id


def _blueprints() -> list[Blueprint]:
    """The blueprints the current user may analyse (a reviewer: their occupations)."""
    stmt = select(Blueprint).order_by(Blueprint.occupation_id, Blueprint.level.desc(), Blueprint.id)
    if (clause := access.blueprint_clause(actor())) is not None:
        stmt = stmt.where(clause)
    return list(db.session.scalars(stmt).unique())


def _blueprint_choices() -> list[SelectChoice]:
    return [SelectChoice("", "（请选择细目表）")] + [SelectChoice(str(b.id), b.target_label) for b in _blueprints()]


def _get_run(run_id: int) -> CalibrationRun:
    try:
        return readable_run(db.session, actor(), run_id)
    except NotFound:
        abort(404)


def _status_payload(run: CalibrationRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status,
        "status_label": STATUS_LABELS.get(run.status, run.status),
        "progress": run.progress,
        "stage": run.stage,
        "message": run.message,
        "finished": run.status in ("done", "failed"),
    }


def _endpoint_url(endpoint: str, **values: Any) -> str | None:
    """``url_for`` if the endpoint exists and accepts these values, else None (areas that other
    engineers build may not be registered, or may take other arguments)."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


# ---------------------------------------------------------------------------- launching runs


def _run_inline(run_id: int) -> None:
    """Execute in this process (tests, or a deployment without worker processes)."""
    try:
        execute_run(db.session, run_id, progress=lambda _pct, _stage: db.session.commit())
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return
    except Exception as exc:
        db.session.rollback()
        current_app.logger.exception("calibration run %s failed", run_id)
        fail_run_after(db.session, run_id, exc)  # a readable message: busy database or internal error
        db.session.commit()
        return
    db.session.commit()


def launch_run(run_id: int) -> None:
    launcher = current_app.config.get("ANALYSIS_RUN_LAUNCHER")
    if callable(launcher):
        launcher(run_id)
    elif current_app.config.get("ANALYSIS_RUN_INLINE"):
        _run_inline(run_id)
    else:
        enqueue(db.session, actor(), calibration_job.RUN, {"run_id": run_id},
                object_type="calibration_run", object_id=run_id)
        db.session.commit()


# ---------------------------------------------------------------------------- pages


@bp.get("/")
@roles_required(C, IR)
def runs() -> str:
    return _runs_page("sets" if request.args.get("tab") == "sets" else "runs")


def _runs_page(tab: str) -> str:
    q = request.args.get("q", "").strip()
    blueprint = request.args.get("blueprint", "").strip()
    status = request.args.get("status", "").strip()
    source = request.args.get("source", "").strip()
    per_page = current_app.config["PAGE_SIZE"]
    sets_clause = response_set_clause(actor())
    runs_clause = run_clause(actor())
    n_sets = select(func.count()).select_from(ResponseSet)
    n_runs = select(func.count()).select_from(CalibrationRun)
    if sets_clause is not None:
        n_sets = n_sets.where(sets_clause)
    if runs_clause is not None:
        n_runs = n_runs.where(runs_clause)
    context: dict[str, Any] = {
        "tab": tab, "q": q, "blueprint": blueprint, "status": status, "source": source,
        "blueprints": _blueprints(), "status_labels": STATUS_LABELS, "source_labels": SOURCE_LABELS,
        "models": MODEL_OPTIONS, "linking_methods": LINKING_METHODS, "linking_options": LINKING_OPTIONS,
        "n_sets": db.session.scalar(n_sets),
        "n_runs": db.session.scalar(n_runs),
    }
    if tab == "runs":
        stmt = (select(CalibrationRun).join(ResponseSet, ResponseSet.id == CalibrationRun.response_set_id)
                .options(selectinload(CalibrationRun.response_set), selectinload(CalibrationRun.created_by))
                .order_by(CalibrationRun.id.desc()))
        if runs_clause is not None:
            stmt = stmt.where(runs_clause)
        if q:
            stmt = stmt.where(ResponseSet.name.icontains(q, autoescape=True))
        if status in STATUS_LABELS:
            stmt = stmt.where(CalibrationRun.status == status)
        if (bp_id := _int(blueprint)) is not None:
            stmt = stmt.where(ResponseSet.blueprint_id == bp_id)
        context["page"] = db.paginate(stmt, per_page=per_page, error_out=False)
    else:
        stmt = select(ResponseSet).options(selectinload(ResponseSet.created_by)).order_by(ResponseSet.id.desc())
        if sets_clause is not None:
            stmt = stmt.where(sets_clause)
        if q:
            stmt = stmt.where(ResponseSet.name.icontains(q, autoescape=True))
        if (bp_id := _int(blueprint)) is not None:
            stmt = stmt.where(ResponseSet.blueprint_id == bp_id)
        if source in SOURCE_LABELS:
            stmt = stmt.where(ResponseSet.source == source)
        page = db.paginate(stmt, per_page=per_page, error_out=False)
        ids = [rs.id for rs in page.items]
        latest: dict[int, CalibrationRun] = {}
        if ids:
            newest = (select(func.max(CalibrationRun.id)).where(CalibrationRun.response_set_id.in_(ids))
                      .group_by(CalibrationRun.response_set_id))
            for run in db.session.scalars(select(CalibrationRun).where(CalibrationRun.id.in_(newest))):
                latest[run.response_set_id] = run
        context.update(page=page, latest=latest)
    return render_template("analysis/runs/index.html", **context)


def _exam_batch_choices() -> list[SelectChoice]:
    """Batches with at least one submitted or expired theory attempt, newest first (for a
    reviewer: on a paper of a blueprint of their occupations)."""
    closed = (select(Attempt.id).join(ExamSession, ExamSession.id == Attempt.exam_session_id)
              .join(BatchModule, BatchModule.id == ExamSession.module_id)
              .where(BatchModule.batch_id == Batch.id, BatchModule.kind == ModuleKind.THEORY.value,
                     Attempt.status.in_(("submitted", "expired"))))
    if (clause := access.blueprint_clause(actor())) is not None:
        closed = (closed.join(Paper, Paper.id == ExamSession.paper_id)
                  .join(Blueprint, Blueprint.id == Paper.blueprint_id).where(clause))
    batches = db.session.scalars(select(Batch).where(exists(closed)).order_by(Batch.id.desc())
                                 .limit(EXAM_BATCH_CHOICES)).unique()
    return [SelectChoice("", "（请选择认定批次）")] + [
        SelectChoice(str(b.id), f"{b.name}（{b.institution.name}）") for b in batches]


def _render_new(upload: UploadForm, simulate: SimulateForm, exam: ExamForm | None = None, *,
                errors: list[tuple[int, str, str]] | None = None, active: str = "",
                status: int = 200) -> tuple[str, int]:
    if exam is None:
        exam = ExamForm(prefix="ex", formdata=None)
    if not exam.batch_id.choices:
        exam.batch_id.choices = _exam_batch_choices()
    if not exam.blueprint_id.choices:
        exam.blueprint_id.choices = [SelectChoice("", "（按批次时可不选：取该批次试卷的细目表）"),
                                     *_blueprint_choices()[1:]]
    return render_template(
        "analysis/runs/response_set_new.html", upload=upload, simulate=simulate, exam=exam, errors=errors or [],
        active=active, id_columns=sorted(ID_COLUMNS), max_examinees=MAX_EXAMINEES, min_simulated=MIN_SIMULATED,
        exam_batch_limit=EXAM_BATCH_CHOICES,
    ), status


def _build_from_exams(upload: UploadForm, simulate: SimulateForm) -> Response | tuple[str, int]:
    """The 从认定批次生成作答数据 form: build a ``batch`` response set from closed attempts."""
    exam = ExamForm(prefix="ex")
    if not exam.validate_on_submit():
        return _render_new(upload, simulate, exam, active="exam", status=400)
    by_batch = exam.scope.data != "range"
    batch_id = _int(exam.batch_id.data)
    blueprint_id = _int(exam.blueprint_id.data)
    if by_batch and batch_id is None:
        exam.batch_id.errors = [*exam.batch_id.errors, "请选择认定批次。"]
        return _render_new(upload, simulate, exam, active="exam", status=400)
    try:
        if by_batch:
            response_set = build_exam_response_set(db.session, actor(), batch_id=batch_id,
                                                   blueprint_id=blueprint_id, name=exam.name.data or None)
        else:
            response_set = build_exam_response_set(
                db.session, actor(), blueprint_id=blueprint_id, date_from=(exam.date_from.data or "").strip(),
                date_to=(exam.date_to.data or "").strip(), name=exam.name.data or None)
    except (NotFound, PermissionDenied):
        raise  # outside the reviewer's assignments: the error page (web.errors)
    except DomainError as exc:
        db.session.rollback()
        if exc.field and exc.field in exam:
            exam[exc.field].errors = [*exam[exc.field].errors, exc.message]
        flash(exc.message, "danger")
        return _render_new(upload, simulate, exam, active="exam", status=400)
    db.session.commit()
    flash(f"已从考试作答生成作答数据「{response_set.name}」：{response_set.n_examinees} 人 × "
          f"{response_set.n_items} 题。可在下方开始参数标定。", "success")
    return redirect(url_for("analysis.runs", tab="sets"))


def _queue_import(upload: UploadForm, simulate: SimulateForm, blueprint_id: int) -> Response | tuple[str, int]:
    """Check what can be checked at once (who, which blueprint, the name), keep the file (streamed
    to disk) and queue its import (:mod:`grading.psychometrics.response_set_job`); the job's page
    shows the progress, the row errors or the new set."""
    try:
        get_blueprint(db.session, actor(), blueprint_id)  # NotFound outside the reviewer's assignments
        name = clean_name(upload.name.data or "")
    except ValidationError as exc:
        upload.name.errors = [*upload.name.errors, exc.message]
        return _render_new(upload, simulate, active="upload", status=400)
    suffix = ".csv" if (upload.file.data.filename or "").lower().endswith(".csv") else ".xlsx"
    path = save_upload_file(upload.file.data, suffix)
    return start(response_set_job.IMPORT, {"blueprint_id": blueprint_id, "name": name, "upload": path},
                 object_type="blueprint", object_id=blueprint_id)


@bp.route("/response-sets/new", methods=["GET", "POST"])
@roles_required(C, IR)
@large_upload
def response_set_new() -> Response | tuple[str, int]:
    upload = UploadForm(prefix="up")
    simulate = SimulateForm(prefix="sim")
    choices = _blueprint_choices()
    upload.blueprint_id.choices = choices
    simulate.blueprint_id.choices = choices
    if request.method == "GET":
        exam = ExamForm(prefix="ex", formdata=None)
        if (bp_id := _int(request.args.get("blueprint"))) is not None:
            upload.blueprint_id.data = simulate.blueprint_id.data = exam.blueprint_id.data = str(bp_id)
        if (batch_id := _int(request.args.get("batch"))) is not None:
            exam.batch_id.data = str(batch_id)
        return _render_new(upload, simulate, exam, active="exam" if batch_id is not None else "")

    if request.form.get("ex-mode") == "exam":
        return _build_from_exams(upload, simulate)
    mode = "simulate" if request.form.get("sim-mode") == "simulate" else "upload"
    form: UploadForm | SimulateForm = simulate if mode == "simulate" else upload
    if not form.validate_on_submit():
        return _render_new(upload, simulate, active=mode, status=400)
    blueprint_id = _int(form.blueprint_id.data)
    if blueprint_id is None or db.session.get(Blueprint, blueprint_id) is None:
        form.blueprint_id.errors = [*form.blueprint_id.errors, "请选择细目表。"]
        return _render_new(upload, simulate, active=mode, status=400)
    if mode == "upload":
        return _queue_import(upload, simulate, blueprint_id)
    n = _int(simulate.n_examinees.data)
    seed = _int(simulate.seed.data)
    try:
        mean = float((simulate.ability_mean.data or "0").strip())
    except ValueError:
        mean = math.nan
    if n is None:
        simulate.n_examinees.errors = [f"请填写 {MIN_SIMULATED}–{MAX_EXAMINEES} 之间的整数。"]
    if seed is None:
        simulate.seed.errors = ["随机种子应为非负整数。"]
    if not math.isfinite(mean):
        simulate.ability_mean.errors = ["请填写数字，如 0 或 0.5。"]
    if n is None or seed is None or not math.isfinite(mean):
        return _render_new(upload, simulate, active=mode, status=400)
    try:
        response_set = simulate_response_set(
            db.session, actor(), blueprint_id, n, seed, simulate.missing_design.data or "none",  # type: ignore[arg-type]
            name=(simulate.name.data or "").strip() or None, ability_mean=mean,
        )
    except (NotFound, PermissionDenied):
        raise  # outside the reviewer's assignments: the error page (web.errors)
    except DomainError as exc:
        db.session.rollback()
        if exc.field and exc.field in form:
            form[exc.field].errors = [*form[exc.field].errors, exc.message]
        flash(exc.message, "danger")
        return _render_new(upload, simulate, active=mode, status=400)
    db.session.commit()
    flash(f"已生成作答数据「{response_set.name}」：{response_set.n_examinees} 人 × {response_set.n_items} 题。"
          "可在下方开始参数标定。", "success")
    return redirect(url_for("analysis.runs", tab="sets"))


@bp.post("/runs")
@roles_required(C, IR)
def run_new() -> Response | tuple[str, int]:
    response_set_id = _int(request.form.get("response_set_id"))
    model = request.form.get("model", "2pl")
    linking = request.form.get("linking_method", "stocking_lord")
    if response_set_id is None:
        flash("请选择要标定的作答数据。", "danger")
        return _runs_page("sets"), 400
    try:
        run = start_run(db.session, actor(), response_set_id, model=model, linking_method=linking)
    except (NotFound, PermissionDenied):
        raise  # unknown, or outside the reviewer's assignments: the error page (web.errors)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _runs_page("sets"), 400
    db.session.commit()
    run_id = run.id
    launch_run(run_id)
    return redirect(url_for("analysis.run_detail", run_id=run_id))


@bp.get("/runs/<int:run_id>")
@roles_required(C, IR)
def run_detail(run_id: int) -> str:
    run = _get_run(run_id)
    q = request.args.get("q", "").strip()
    flagged = request.args.get("flagged") == "1"
    page = None
    if run.status == "done":
        is_flagged = ItemParameter.flags_json != "[]"
        stmt = (select(ItemParameter).join(Item, Item.id == ItemParameter.item_id)
                .where(ItemParameter.run_id == run.id)
                .options(selectinload(ItemParameter.item))
                .order_by(case((is_flagged, 0), else_=1), Item.code))
        if (clause := access.item_clause(actor())) is not None:
            stmt = stmt.where(clause)  # a reviewer: the items they may read only
        if q:
            stmt = stmt.where(Item.code.icontains(q, autoescape=True))
        if flagged:
            stmt = stmt.where(is_flagged)
        page = db.paginate(stmt, per_page=ITEMS_PER_PAGE, error_out=False)
    return render_template(
        "analysis/runs/detail.html", run=run, report=run_report(db.session, actor(), run), page=page, q=q,
        flagged=flagged,
        status_labels=STATUS_LABELS, models=MODELS, linking_methods=LINKING_METHODS,
        item_status_labels=ITEM_STATUS_LABELS, source_labels=SOURCE_LABELS, sandbox_note=SANDBOX_NOTE,
        item_url=lambda item_id: _endpoint_url("bank.item_detail", item_id=item_id),
        report_url=lambda item_id: _endpoint_url("analysis.item_report", item_id=item_id),
        status_json=_status_payload(run),
    )


@bp.get("/runs/<int:run_id>/status.json")
@roles_required(C, IR)
def run_status(run_id: int) -> Response:
    run = _get_run(run_id)
    response = jsonify(_status_payload(run))
    response.headers["Cache-Control"] = "no-store"
    return response
