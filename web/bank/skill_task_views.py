"""技能操作试题 pages: the list (paginated, searchable), writing and editing a task with its
documents and score-sheet criteria, review and lock, and printing each document.

Writers (命题员) write and edit; reviewers (审题员, in their assigned pairs) and the centre
approve or return; institution admins read their own and the centre's locked tasks (to name
one for a skill sitting and print its documents). The services in
:mod:`itembank.skill_tasks` decide every rule; views parse and render.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response
from wtforms import HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from foundation.errors import DomainError, NotFound
from foundation.institutions import Institution
from foundation.roles import Role
from itembank import skill_tasks as svc
from itembank.models import Blueprint, PaperStatus, SkillTask
from web.access import actor, roles_required
from web.bank import bp
from web.extensions import db
from web.params import form_int

C, IA, QW, IR = Role.CENTRE_ADMIN, Role.INSTITUTION_ADMIN, Role.QUESTION_WRITER, Role.ITEM_REVIEWER
READERS = (C, IA, QW, IR)
ACTION_ROLES: dict[str, tuple[Role, ...]] = {"submit": (QW,), "delete": (QW,), "approve": (C, IR), "return": (C, IR)}
STATUS_LABELS = {s.value: s.label for s in PaperStatus}
BLANK_ROWS = 3


class TaskForm(FlaskForm):
    blueprint_id = SelectField("操作技能细目表", validate_choice=False)
    name = StringField("试题名称", validators=[Length(max=128, message="试题名称最多 128 个字。")])
    duration_minutes = StringField("考核时长（分钟）", default="120")
    prep_notice_html = TextAreaField("准备通知单（场地、设备、工具、材料）")
    candidate_notice_html = TextAreaField("考生准备通知单")
    task_html = TextAreaField("试题/任务书")


class TaskActionForm(FlaskForm):
    action = HiddenField()
    comment = TextAreaField("审核意见", validators=[Length(max=2000, message="审核意见最多 2000 个字。")])


def _rows(source: Any) -> list[svc.CriterionSpec]:
    names, points = source.getlist("crit_name"), source.getlist("crit_points")
    standards, deductions = source.getlist("crit_standard"), source.getlist("crit_deductions")
    n = min(max(len(names), len(points), len(standards), len(deductions)), svc.MAX_CRITERIA + 10)

    def at(values: list[str], k: int) -> str:
        return values[k] if k < len(values) else ""

    return [svc.CriterionSpec(at(names, k), at(points, k), at(standards, k), at(deductions, k)) for k in range(n)]


def _content(form: TaskForm, rows: list[svc.CriterionSpec]) -> svc.TaskContent:
    duration = form_int(form.duration_minutes.data, minimum=0, maximum=100_000)
    return svc.TaskContent(
        name=form.name.data or "", duration_minutes=duration if duration is not None else -1,
        prep_notice_html=form.prep_notice_html.data or "", candidate_notice_html=form.candidate_notice_html.data or "",
        task_html=form.task_html.data or "", criteria=rows,
    )


def _points_total(rows: list[svc.CriterionSpec]) -> str:
    total = sum((svc.plain_decimal(r.points) or 0 for r in rows), start=0)
    return f"{total:g}" if not isinstance(total, int) else str(total)


def _task(task_id: int) -> SkillTask:
    try:
        return svc.read_task(db.session, actor(), task_id)
    except NotFound:
        abort(404)


def _render_form(form: TaskForm, rows: list[svc.CriterionSpec], task: SkillTask | None, status: int = 200
                 ) -> tuple[str, int]:
    blueprints = svc.skill_blueprints_for(db.session, actor()) if task is None else []
    form.blueprint_id.choices = [SelectChoice("", "请选择操作技能细目表")] + [
        SelectChoice(str(b.id), f"{b.occupation.code} {b.target_label}（{b.name}）") for b in blueprints]
    shown = rows + [svc.CriterionSpec("", "", "", "") for _ in range(max(0, BLANK_ROWS - len(rows)) or 1)]
    return render_template("bank/skill_tasks/form.html", form=form, rows=shown, task=task, blueprints=blueprints,
                           total=_points_total(rows)), status


@bp.get("/skill-tasks")
@roles_required(*READERS)
def skill_tasks() -> str:
    me = actor()
    q = request.args.get("q", "").strip()
    status = request.args.get("status", "")
    stmt = svc.visible_tasks(me)
    if q:
        stmt = stmt.where(SkillTask.name.icontains(q, autoescape=True))
    if status in STATUS_LABELS:
        stmt = stmt.where(SkillTask.status == status)
    stmt = stmt.options(joinedload(SkillTask.created_by)).order_by(SkillTask.created_at.desc(), SkillTask.id.desc())
    page = db.paginate(stmt, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    ids = {t.institution_id for t in page.items if t.institution_id is not None}
    institutions = {i.id: i.name for i in db.session.scalars(select(Institution).where(Institution.id.in_(ids)))}
    return render_template("bank/skill_tasks/index.html", page=page, q=q, status=status, statuses=STATUS_LABELS,
                           institutions=institutions, can_write=me.role == QW)


@bp.route("/skill-tasks/new", methods=["GET", "POST"])
@roles_required(QW)
def skill_task_new() -> Response | tuple[str, int]:
    form = TaskForm()
    if request.method == "GET":
        return _render_form(form, [], None)
    rows = _rows(request.form)
    if not form.validate_on_submit():
        flash("表单有误或已过期，请检查后重试。", "danger")
        return _render_form(form, rows, None, 400)
    try:
        task = svc.create_task(db.session, actor(), blueprint_id=form_int(form.blueprint_id.data) or 0,
                               content=_content(form, rows))
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _render_form(form, rows, None, 400)
    db.session.commit()
    flash("技能操作试题已保存为草稿。", "success")
    return redirect(url_for("bank.skill_task_detail", task_id=task.id))


@bp.route("/skill-tasks/<int:task_id>/edit", methods=["GET", "POST"])
@roles_required(QW)
def skill_task_edit(task_id: int) -> Response | tuple[str, int]:
    task = _task(task_id)
    if not svc.can_revise(db.session, actor(), task):
        abort(403)
    form = TaskForm(obj=None if request.method == "POST" else task)
    if request.method == "GET":
        form.duration_minutes.data = str(task.duration_minutes)
        return _render_form(form, list(svc.content_of(task).criteria), task)
    rows = _rows(request.form)
    if not form.validate_on_submit():
        flash("表单有误或已过期，请检查后重试。", "danger")
        return _render_form(form, rows, task, 400)
    try:
        svc.update_task(db.session, actor(), task.id, _content(form, rows))
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _render_form(form, rows, _task(task_id), 400)
    db.session.commit()
    flash("技能操作试题已保存。", "success")
    return redirect(url_for("bank.skill_task_detail", task_id=task_id))


def _render_detail(task: SkillTask, form: TaskActionForm, status: int = 200) -> tuple[str, int]:
    me = actor()
    institution = db.session.get(Institution, task.institution_id) if task.institution_id else None
    approver = db.session.get(type(me), task.approved_by_id) if task.approved_by_id else None
    own = me.id in (task.created_by_id, task.edited_by_id)
    return render_template(
        "bank/skill_tasks/detail.html", task=task, form=form, institution=institution, approver=approver,
        can_edit=svc.can_revise(db.session, me, task) and task.status in svc.EDITABLE,
        can_review=me.role in (C.value, IR.value) and task.status == PaperStatus.SUBMITTED.value and not own,
        own_waiting=me.role in (C.value, IR.value) and task.status == PaperStatus.SUBMITTED.value and own,
        documents=svc.DOCUMENTS,
    ), status


@bp.get("/skill-tasks/<int:task_id>")
@roles_required(*READERS)
def skill_task_detail(task_id: int) -> tuple[str, int]:
    return _render_detail(_task(task_id), TaskActionForm())


@bp.post("/skill-tasks/<int:task_id>/action")
@roles_required(C, QW, IR)
def skill_task_action(task_id: int) -> Response | tuple[str, int]:
    me = actor()
    task = _task(task_id)
    form = TaskActionForm()
    if not form.validate_on_submit():
        flash("表单有误或已过期，请刷新页面后重试。", "danger")
        return _render_detail(task, form, 400)
    action = form.action.data or ""
    if action not in ACTION_ROLES:
        abort(400)
    if me.role not in {r.value for r in ACTION_ROLES[action]}:
        abort(403)
    comment = (form.comment.data or "").strip()
    name = task.name
    try:
        if action == "submit":
            svc.submit_task(db.session, me, task.id)
            message = "技能操作试题已提交审核。"
        elif action == "approve":
            svc.approve_task(db.session, me, task.id, comment)
            message = "技能操作试题已审核通过并锁定。"
        elif action == "return":
            svc.return_task(db.session, me, task.id, comment)
            message = "技能操作试题已退回修改。"
        else:
            svc.delete_task(db.session, me, task.id)
            message = f"已删除技能操作试题：{name}。"
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _render_detail(_task(task_id), form, 400)
    db.session.commit()
    flash(message, "success")
    if action == "delete":
        return redirect(url_for("bank.skill_tasks"))
    return redirect(url_for("bank.skill_task_detail", task_id=task_id))


@bp.get("/skill-tasks/<int:task_id>/print/<doc>")
@roles_required(*READERS)
def skill_task_print(task_id: int, doc: str) -> str:
    task = _task(task_id)
    if doc not in svc.DOCUMENTS:
        abort(404)
    title, attr = svc.DOCUMENTS[doc]
    blueprint: Blueprint = task.blueprint
    return render_template("bank/skill_tasks/print.html", task=task, doc=doc, title=title,
                           body=getattr(task, attr) if attr else "", blueprint=blueprint)
