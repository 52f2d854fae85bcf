"""Views of the theory-result pages: thin wrappers over ``grading.results.violations`` and
``grading.results.marking``; every route names its roles, and the services check the objects."""

from __future__ import annotations

from typing import Any, NoReturn

from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response

from examroom.models import BatchStaff, ExamSession, StaffRole
from foundation.errors import DomainError, NotFound, PermissionDenied
from foundation.roles import Role
from grading.results import marking
from grading.results.decision import Component
from grading.results.violations import MAX_RELEASE_REASON, TIER_NAMES, holds, release_hold
from web.access import actor, roles_required
from web.actions import perform
from web.extensions import db
from web.params import form_int
from web.theory import holds_bp, marking_bp

C, IA, E = Role.CENTRE_ADMIN, Role.INSTITUTION_ADMIN, Role.EXAMINER
COMPONENT_LABELS = {c.value: c.label for c in Component}


# ---------------------------------------------------------------------------- holds (centre)


@holds_bp.get("/", endpoint="index")
@roles_required(C)
def holds_index() -> str:
    return render_template("theory/holds.html", rows=holds(db.session, actor()), tier_names=TIER_NAMES,
                           max_reason=MAX_RELEASE_REASON, component_labels=COMPONENT_LABELS, form=FlaskForm())


@holds_bp.post("/<int:violation_id>/release", endpoint="release")
@roles_required(C)
def holds_release(violation_id: int) -> Response:
    if not FlaskForm().validate_on_submit():
        flash("表单已过期，请刷新页面后重试。", "danger")
        return redirect(url_for("holds.index"))
    violation = perform(lambda: release_hold(db.session, actor(), violation_id, request.form.get("reason", "")),
                        back=url_for("holds.index") + f"#hold-{violation_id}")
    flash("已解除暂缓，该考生的成绩恢复为评分结果。", "success")
    return redirect(url_for("holds.index") + f"#hold-{violation.id}")


# ---------------------------------------------------------------------------- marking (examiners)


def _refused(exc: DomainError) -> NoReturn:
    db.session.rollback()
    abort(404 if isinstance(exc, NotFound) else 403 if isinstance(exc, PermissionDenied) else 400)


@marking_bp.get("/", endpoint="index")
@roles_required(E)
def marking_index() -> str:
    return render_template("theory/marking_index.html", rows=marking.marker_sittings(db.session, actor()))


@marking_bp.get("/sittings/<int:sitting_id>", endpoint="queue")
@roles_required(E)
def marking_queue(sitting_id: int) -> str:
    try:
        waiting = marking.queue(db.session, actor(), sitting_id)
        done = marking.marked_by(db.session, actor(), sitting_id)
    except DomainError as exc:
        _refused(exc)
    sitting = db.session.get(ExamSession, sitting_id)
    return render_template("theory/marking_queue.html", sitting=sitting, waiting=waiting, done=done)


def _next_in_queue(sitting_id: int) -> Response:
    waiting = marking.queue(db.session, actor(), sitting_id)
    if waiting:
        return redirect(url_for("marking.response", response_id=waiting[0].response_id))
    flash("本场次暂无待您评阅的答卷。", "success")
    return redirect(url_for("marking.queue", sitting_id=sitting_id))


@marking_bp.route("/responses/<int:response_id>", methods=["GET", "POST"], endpoint="response")
@roles_required(E)
def marking_response(response_id: int) -> Response | tuple[str, int] | str:
    try:
        view = marking.marking_view(db.session, actor(), response_id)
    except DomainError as exc:
        _refused(exc)
    if request.method == "GET":
        return render_template("theory/marking_response.html", view=view, value="", form=FlaskForm())
    value = request.form.get("points", "")
    if not FlaskForm().validate_on_submit():
        flash("表单已过期，请刷新页面后重试。", "danger")
        return render_template("theory/marking_response.html", view=view, value=value, form=FlaskForm()), 400
    try:
        marking.submit_mark(db.session, actor(), response_id, value)
    except PermissionDenied as exc:
        _refused(exc)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return render_template("theory/marking_response.html", view=view, value=value, form=FlaskForm()), 400
    db.session.commit()
    flash(f"阅卷编号 {view.code} 第 {view.number} 题评分已提交。", "success")
    return _next_in_queue(view.sitting_id)


@marking_bp.post("/responses/<int:response_id>/correct", endpoint="correct")
@roles_required(E)
def marking_correct(response_id: int) -> Response | tuple[str, int]:
    """The marker corrects their own mark, with a reason (a new version)."""
    try:
        view = marking.marking_view(db.session, actor(), response_id)
    except DomainError as exc:
        _refused(exc)
    value, reason = request.form.get("points", ""), request.form.get("reason", "")

    def again(status: int) -> tuple[str, int]:
        return render_template("theory/marking_response.html", view=view, value="", form=FlaskForm(),
                               correction=value, reason=reason), status

    if not FlaskForm().validate_on_submit():
        flash("表单已过期，请刷新页面后重试。", "danger")
        return again(400)
    try:
        marking.correct_mark(db.session, actor(), response_id, value, reason)
    except PermissionDenied as exc:
        _refused(exc)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return again(400)
    db.session.commit()
    flash(f"阅卷编号 {view.code} 第 {view.number} 题评分已更正。", "success")
    return redirect(url_for("marking.response", response_id=response_id))


# ---------------------------------------------------------------------------- markers (institution admin)


def _examiners(sitting: ExamSession) -> list[Any]:
    return [s.user for s in db.session.scalars(select(BatchStaff).where(
        BatchStaff.batch_id == sitting.module.batch_id, BatchStaff.role == StaffRole.EXAMINER.value)
        .order_by(BatchStaff.id))]


@marking_bp.get("/sittings/<int:sitting_id>/markers", endpoint="markers")
@roles_required(IA)
def markers_page(sitting_id: int) -> str:
    try:
        current = marking.markers_of(db.session, actor(), sitting_id)
        counts = marking.progress(db.session, actor(), sitting_id)
    except DomainError as exc:
        _refused(exc)
    sitting = db.session.get(ExamSession, sitting_id)
    assert sitting is not None
    named = {m.user_id for m in current}
    return render_template("theory/markers.html", sitting=sitting, markers=current, progress=counts,
                           candidates=[u for u in _examiners(sitting) if u.id not in named], form=FlaskForm(),
                           gap=marking.third_marker_gap(db.session))


def _marker_change(sitting_id: int, change: Any, done: str) -> Response:
    back = url_for("marking.markers", sitting_id=sitting_id)
    if not FlaskForm().validate_on_submit():
        flash("表单已过期，请刷新页面后重试。", "danger")
        return redirect(back)
    perform(lambda: change(db.session, actor(), sitting_id, form_int(request.form.get("user_id"))), back=back,
            denied_is_403=True)
    flash(done, "success")
    return redirect(back)


@marking_bp.post("/sittings/<int:sitting_id>/markers/add", endpoint="add_marker")
@roles_required(IA)
def add_marker(sitting_id: int) -> Response:
    return _marker_change(sitting_id, marking.assign_marker, "已安排阅卷人。")


@marking_bp.post("/sittings/<int:sitting_id>/markers/remove", endpoint="remove_marker")
@roles_required(IA)
def remove_marker(sitting_id: int) -> Response:
    return _marker_change(sitting_id, marking.remove_marker, "已移出阅卷人。")
