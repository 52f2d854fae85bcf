"""认定批次 pages over :mod:`examroom.batches`, :mod:`examroom.candidate_import` and
:mod:`examroom.tickets`.

An institution admin sees and drafts their institution's batches; the centre admin sees all,
filters the plans awaiting its decision and acknowledges or returns them. Candidates download
their own admission tickets once the centre has acknowledged the plan.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from examroom import batches as svc
from examroom import candidate_import, stations, supervision, tickets
from examroom.models import (
    BATCH_STATUS_LABELS,
    EDITABLE_STATUSES,
    Batch,
    BatchCandidate,
    BatchModule,
    BatchStatus,
    ExamSession,
    ModuleKind,
    StaffRole,
)
from foundation.accounts import CANDIDATE_CATEGORY_LABELS, User
from foundation.calendar import BEIJING
from foundation.errors import DomainError, NotFound, PermissionDenied, RowErrors
from foundation.institutions import FilingStatus, Institution, ScopeBasis, check_in_scope
from foundation.levels import level_name
from foundation.occupations import Occupation, WorkType
from foundation.roles import Role
from grading.results import registrations as reg_svc
from grading.results.decision import Method
from itembank.models import Blueprint, BlueprintMode, Paper, PaperStatus, SkillTask
from web.access import actor, roles_required
from web.actions import found, perform
from web.batches import bp
from web.batches.forms import (
    BatchForm,
    CandidateForm,
    DecisionForm,
    DispatchForm,
    ImportForm,
    PanelForm,
    PlanForm,
    PostForm,
    RoomForm,
    SeatForm,
    SessionForm,
    SittingExaminerForm,
    StaffForm,
)
from web.batches.ticket_pdf import tickets_pdf
from web.downloads import PDF, XLSX, download
from web.extensions import db
from web.params import form_int
from web.photos import photos_of
from web.templating import beijing

C, IA, CA = Role.CENTRE_ADMIN, Role.INSTITUTION_ADMIN, Role.CANDIDATE
STATUS_LABELS = {s.value: label for s, label in BATCH_STATUS_LABELS.items()}
CATEGORY_LABELS = {c.value: label for c, label in CANDIDATE_CATEGORY_LABELS.items()}
METHOD_LABELS = {m.value: m.label for m in Method}
SETTABLE_METHODS = {m.value: m.label for m in reg_svc.SETTABLE_METHODS}


def _today() -> dt.date:
    # The working-day rule counts calendar days in the province: "today" is Beijing time.
    return dt.datetime.now(BEIJING).date()


def _get(batch_id: int) -> Batch:
    batch = db.session.get(Batch, batch_id)
    if batch is None:
        abort(404)
    if not svc.can_see_batch(actor(), batch):
        abort(403)
    return batch


def _sitting_of(batch: Batch, sitting_id: int) -> ExamSession:
    sitting = db.session.get(ExamSession, sitting_id)
    if sitting is None or sitting.module.batch_id != batch.id:
        abort(404)
    return sitting


def _form_errors(form: Any) -> str:
    errors = [e for msgs in form.errors.values() for e in msgs]
    return "；".join(str(e) for e in errors) or "表单无效，请刷新页面后重试。"


def _detail_url(batch: Batch, anchor: str = "") -> str:
    return url_for("batches.detail", batch_id=batch.id) + (f"#{anchor}" if anchor else "")


def _to_detail(batch: Batch, anchor: str = "") -> Response:
    return redirect(_detail_url(batch, anchor))


def _int(text: str | None) -> int | None:
    return form_int(text)


# ---------------------------------------------------------------- list


@bp.get("/")
@roles_required(C, IA)
def index() -> str:
    me = actor()
    q = request.args.get("q", "").strip()
    status = request.args.get("status", "")
    awaiting = request.args.get("awaiting") == "1" and me.role == C
    stmt = svc.visible_batches(me)
    if q:
        stmt = stmt.join(Institution, Institution.id == Batch.institution_id).join(
            Occupation, Occupation.id == Batch.occupation_id
        ).where(or_(*(c.icontains(q, autoescape=True) for c in (Batch.name, Institution.name, Occupation.name))))
    if status in STATUS_LABELS:
        stmt = stmt.where(Batch.status == status)
    if awaiting:
        stmt = stmt.where(Batch.status == BatchStatus.FILED.value)
    order = [Batch.filed_at.asc(), Batch.id.asc()] if awaiting else [Batch.created_at.desc(), Batch.id.desc()]
    stmt = stmt.options(selectinload(Batch.candidates), selectinload(Batch.modules).selectinload(BatchModule.sessions))
    page = db.paginate(stmt.order_by(*order), per_page=current_app.config["PAGE_SIZE"], error_out=False)
    waiting = 0
    if me.role == C:
        waiting = db.session.scalar(select(func.count(Batch.id)).where(Batch.status == BatchStatus.FILED.value)) or 0
    return render_template("batches/index.html", page=page, q=q, status=status, awaiting=awaiting,
                           statuses=STATUS_LABELS, waiting=waiting, is_centre=me.role == C,
                           can_create=me.role == IA, level_name=level_name)


# ---------------------------------------------------------------- create / edit the plan overview


def _targets(institution: Institution | None) -> list[tuple[str, str]]:
    """(value, label) of every occupation/工种/level the institution may run a batch for."""
    if institution is None or institution.status != FilingStatus.FILED.value:
        return []
    seen: dict[str, str] = {}
    for entry in sorted(institution.scope_entries, key=lambda e: (e.occupation.code, e.work_type_id or 0)):
        if entry.basis != ScopeBasis.FILED.value:
            continue
        occupation = entry.occupation
        work_types: list[WorkType | None] = [entry.work_type] if entry.work_type is not None \
            else [None, *occupation.work_types]
        for level in range(entry.lowest_level, entry.highest_level - 1, -1):
            if not occupation.highest_level <= level <= occupation.lowest_level:
                continue
            for wt in work_types:
                value = f"{occupation.id}:{wt.id if wt is not None else 0}:{level}"
                if value in seen:
                    continue
                try:
                    check_in_scope(db.session, institution, occupation.id, wt.id if wt is not None else None, level)
                except DomainError:
                    continue
                label = f"{occupation.code} {occupation.name}" + (f" / {wt.name}" if wt is not None else "")
                seen[value] = f"{label} · {level_name(level)}"
    return list(seen.items())


@bp.route("/new", methods=["GET", "POST"])
@roles_required(IA)
def new() -> str | Response | tuple[str, int]:
    me = actor()
    institution = db.session.get(Institution, me.institution_id) if me.institution_id else None
    targets = _targets(institution)
    form = BatchForm()
    form.target.choices = [SelectChoice("", "请选择")] + [SelectChoice(v, label) for v, label in targets]
    if form.validate_on_submit():
        parts = (form.target.data or "").split(":")
        if len(parts) != 3 or any(form_int(p, minimum=0) is None for p in parts):
            form.target.errors = ["请选择职业（工种）与等级。"]
            flash("请选择职业（工种）与等级。", "danger")
            return render_template("batches/new.html", form=form, targets=targets), 400
        occupation_id, work_type_id, level = (int(p) for p in parts)
        try:
            batch = svc.create_batch(
                db.session, me, institution_id=me.institution_id or 0, occupation_id=occupation_id,
                work_type_id=work_type_id or None, level=level, name=form.name.data or "",
                overview=form.overview.data or "", place=form.place.data or "",
            )
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return render_template("batches/new.html", form=form, targets=targets), 400
        db.session.commit()
        flash(f"已创建认定批次「{batch.name}」（草稿）。", "success")
        return _to_detail(batch)
    if request.method == "POST":
        flash(_form_errors(form), "danger")
    return render_template("batches/new.html", form=form, targets=targets), 400 if request.method == "POST" else 200


@bp.route("/<int:batch_id>/edit", methods=["GET", "POST"])
@roles_required(IA)
def edit(batch_id: int) -> str | Response | tuple[str, int]:
    batch = _get(batch_id)
    form = PlanForm(obj=batch) if request.method == "GET" else PlanForm()
    if form.validate_on_submit():
        try:
            svc.update_plan(db.session, actor(), batch.id, overview=form.overview.data or "",
                            place=form.place.data or "")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return render_template("batches/edit.html", form=form, batch=batch), 400
        db.session.commit()
        flash("认定计划概况已保存。", "success")
        return _to_detail(batch)
    if request.method == "POST":
        flash(_form_errors(form), "danger")
    return render_template("batches/edit.html", form=form, batch=batch), 400 if request.method == "POST" else 200


# ---------------------------------------------------------------- detail


def _papers_for(batch: Batch) -> list[Paper]:
    stmt = select(Paper).join(Blueprint, Blueprint.id == Paper.blueprint_id).where(
        Paper.institution_id == batch.institution_id, Blueprint.mode == BlueprintMode.THEORY.value,
        Blueprint.occupation_id == batch.occupation_id, Blueprint.level == batch.level,
    )
    stmt = stmt.where(Blueprint.work_type_id == batch.work_type_id) if batch.work_type_id else \
        stmt.where(Blueprint.work_type_id.is_(None))
    return list(db.session.scalars(stmt.order_by(Paper.created_at.desc(), Paper.id.desc())).unique())


def _staff_candidates(batch: Batch) -> list[User]:
    """Accounts the institution may assign: its own active proctors, examiners and supervisors
    (the centre's supervisors are dispatched by the centre)."""
    return list(db.session.scalars(select(User).where(
        User.active.is_(True), User.institution_id == batch.institution_id,
        User.role.in_([Role.PROCTOR.value, Role.EXAMINER.value, Role.SUPERVISOR.value]),
    ).order_by(User.role, User.name, User.id)))


def _sitting_label(sitting: ExamSession) -> str:
    return f"{beijing(sitting.starts_at)} {sitting.module.label}"


def _forms(batch: Batch) -> dict[str, Any]:
    session_form = SessionForm(formdata=None)
    session_form.paper_id.choices = [SelectChoice("", "（暂不指定）")] + [
        SelectChoice(str(p.id), f"{p.name}（{p.status_label}）") for p in _papers_for(batch)]
    session_form.place.data = ""
    if batch.level not in svc.REVIEW_LEVELS:  # 综合评审 is for levels 2–1 only
        session_form.module.choices = [c for c in session_form.module.choices if c.value != ModuleKind.REVIEW.value]
    theory = [s for s in batch.sessions if s.module.kind == ModuleKind.THEORY]
    room_form = RoomForm(formdata=None)
    room_form.exam_session_id.choices = [SelectChoice(str(s.id), _sitting_label(s)) for s in theory]
    staff_form = StaffForm(formdata=None)
    staff_form.user_id.choices = [SelectChoice("", "请选择")] + [
        SelectChoice(str(u.id), f"{Role(u.role).label} · {u.name}（{u.username}）") for u in _staff_candidates(batch)]
    staff_form.room_id.choices = [SelectChoice("", "（不分配考场）")] + [
        SelectChoice(str(r.id), f"{_sitting_label(s)} · {r.name}") for s in theory for r in s.rooms]
    pool = _batch_examiners(batch)
    panel_form = PanelForm(formdata=None)
    on_panel = {m.user_id for m in batch.panel}
    panel_form.user_id.choices = [SelectChoice("", "请选择")] + [
        SelectChoice(str(u.id), f"{u.name}（{u.username}）") for u in pool if u.id not in on_panel]
    dispatch_form = DispatchForm(formdata=None)
    dispatch_form.supervisor_id.choices = [SelectChoice("", "请选择")] + [
        SelectChoice(str(u.id), f"{u.name}（{u.username}）")
        for u in supervision.dispatchable_supervisors(db.session, batch)]
    return {"session_form": session_form, "room_form": room_form, "staff_form": staff_form,
            "dispatch_form": dispatch_form, "can_dispatch": supervision.can_dispatch(batch),
            "candidate_form": CandidateForm(formdata=None), "seat_form": SeatForm(formdata=None),
            "decision_form": DecisionForm(formdata=None), "theory_sittings": theory, "panel_form": panel_form,
            "batch_examiners": pool}


def _batch_examiners(batch: Batch) -> list[User]:
    """The batch's examiner list (考评员名单), the pool of the sitting groups and the panel."""
    seen: dict[int, User] = {}
    for row in batch.staff:
        if row.role == StaffRole.EXAMINER and row.user_id not in seen:
            seen[row.user_id] = row.user
    return list(seen.values())


def _skill_blocks(batch: Batch) -> list[dict[str, Any]]:
    """Each skill sitting's staffing (candidates, group, what the rule needs) for the page."""
    pool = _batch_examiners(batch)
    listed_elsewhere: dict[int, set[int]] = {}
    for sitting in svc.skill_sittings(batch):
        for row in sitting.listed_candidates:
            listed_elsewhere.setdefault(row.candidate_id, set()).add(sitting.id)
    blocks = []
    tasks = _usable_tasks(batch)
    for st in svc.skill_staffing(db.session, batch):
        in_group = {u.id for u in st.examiners}
        form = SittingExaminerForm(formdata=None)
        form.user_id.choices = [SelectChoice("", "请选择")] + [
            SelectChoice(str(u.id), f"{u.name}（{u.username}）") for u in pool if u.id not in in_group]
        mine = {row.candidate_id for row in st.sitting.listed_candidates}
        # Candidates this sitting may list: its own and those not listed for another sitting.
        choosable = [c for c in batch.candidates
                     if c.candidate_id in mine or not listed_elsewhere.get(c.candidate_id)]
        regs = {c.id: c for c in batch.candidates}
        station_rows = [(row.station_no, regs.get(row.registration_id)) for row in st.sitting.stations]
        chief = next((row.user for row in st.sitting.examiners if row.is_chief), None)
        blocks.append({"staffing": st, "when": svc.sitting_when(st.sitting), "form": form,
                       "listed": mine, "choosable": choosable, "tasks": tasks, "stations": station_rows,
                       "chief": chief})
    return blocks


def _usable_tasks(batch: Batch) -> list[SkillTask]:
    """Locked skill tasks a skill sitting of ``batch`` may name: the institution's own or the
    centre's, of a skill blueprint of the batch's occupation, 工种 and level."""
    return list(db.session.scalars(
        select(SkillTask).join(Blueprint, Blueprint.id == SkillTask.blueprint_id).where(
            SkillTask.status == PaperStatus.LOCKED.value,
            or_(SkillTask.institution_id == batch.institution_id, SkillTask.institution_id.is_(None)),
            Blueprint.mode == BlueprintMode.SKILL.value, Blueprint.occupation_id == batch.occupation_id,
            Blueprint.level == batch.level,
            Blueprint.work_type_id.is_(None) if batch.work_type_id is None
            else Blueprint.work_type_id == batch.work_type_id,
        ).order_by(SkillTask.name, SkillTask.id)))


def _seat_grid(room: Any) -> list[list[Any]]:
    grid: list[list[Any]] = [[None] * room.cols for _ in range(room.rows)]
    for seat in room.seats:
        if 1 <= seat.row <= room.rows and 1 <= seat.col <= room.cols:
            grid[seat.row - 1][seat.col - 1] = seat
    return grid


@bp.get("/<int:batch_id>")
@roles_required(C, IA)
def detail(batch_id: int) -> str:
    batch = _get(batch_id)
    me = actor()
    q = request.args.get("q", "").strip()
    stmt = select(BatchCandidate).join(User, User.id == BatchCandidate.candidate_id).where(
        BatchCandidate.batch_id == batch.id)
    if q:
        stmt = stmt.where(or_(*(c.icontains(q, autoescape=True) for c in (
            User.name, BatchCandidate.ticket_no, User.id_number, BatchCandidate.work_unit))))
    candidates = db.paginate(stmt.order_by(BatchCandidate.ticket_no, BatchCandidate.id),
                             per_page=current_app.config["PAGE_SIZE"], error_out=False)
    editable = svc.can_edit_batch(me, batch)
    # What filing today would break: shown while the plan may still be filed.
    problems = svc.plan_problems(db.session, batch, _today()) if batch.status in EDITABLE_STATUSES else []
    staff_by_role = {role.value: [s for s in batch.staff if s.role == role.value] for role in StaffRole}
    return render_template(
        "batches/detail.html", batch=batch, candidates=candidates, q=q, editable=editable,
        problems=problems, staffing=svc.staffing_problems(db.session, batch), staff_by_role=staff_by_role,
        staff_labels={r.value: r.label for r in StaffRole}, status_labels=STATUS_LABELS,
        category_labels=CATEGORY_LABELS, method_labels=METHOD_LABELS, settable_methods=SETTABLE_METHODS,
        is_centre=me.role == C, is_admin=me.role == IA and
        me.institution_id == batch.institution_id, seat_grid=_seat_grid, level_name=level_name,
        tickets={c.candidate_id: c.ticket_no for c in batch.candidates},
        lead_days=svc.lead_working_days(db.session), counts_exam_day=svc.counts_exam_day(db.session),
        room_max_seats=svc.room_max_seats(db.session), today=_today(), skill_blocks=_skill_blocks(batch),
        staffing_rules=svc.staffing_rules(db.session, batch.occupation),
        review_levels=svc.REVIEW_LEVELS, review_levels_text=svc.REVIEW_LEVELS_TEXT, **_forms(batch),
    )


# ---------------------------------------------------------------- sessions, rooms, staff, candidates


def _parse_start(date_text: str, time_text: str) -> dt.datetime | None:
    try:
        day = dt.date.fromisoformat(date_text.strip())
        clock = dt.time.fromisoformat(time_text.strip())
    except ValueError:
        return None
    return dt.datetime.combine(day, clock.replace(second=0, microsecond=0), tzinfo=BEIJING)


@bp.post("/<int:batch_id>/sessions")
@roles_required(IA)
def add_session(batch_id: int) -> Response:
    batch = _get(batch_id)
    form = SessionForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "danger")
        return _to_detail(batch, "sessions")
    starts_at = _parse_start(form.date.data or "", form.time.data or "")
    if starts_at is None:
        flash("请填写有效的考试日期（如 2026-12-20）和开考时间（如 09:00）。", "danger")
        return _to_detail(batch, "sessions")
    duration = _int(form.duration_minutes.data)
    sitting = perform(lambda: svc.add_session(
        db.session, actor(), batch.id, module=form.module.data or "", starts_at=starts_at,
        duration_minutes=duration if duration is not None else -1, place=form.place.data or "",
        paper_id=_int(form.paper_id.data),
    ), back=_detail_url(batch, "sessions"), missing_is_404=False)
    flash(f"已添加场次：{_sitting_label(sitting)}。", "success")
    return _to_detail(batch, "sessions")


@bp.post("/<int:batch_id>/rooms")
@roles_required(IA)
def add_room(batch_id: int) -> Response:
    batch = _get(batch_id)
    form = RoomForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "danger")
        return _to_detail(batch, "sessions")
    sitting_id, rows, cols = _int(form.exam_session_id.data), _int(form.rows.data), _int(form.cols.data)
    if sitting_id is None:
        flash("请选择理论知识考试场次。", "danger")
        return _to_detail(batch, "sessions")
    sitting = _sitting_of(batch, sitting_id)
    room = perform(lambda: svc.add_room(db.session, actor(), sitting.id, name=form.name.data or "",
                                        rows=rows if rows is not None else 0, cols=cols if cols is not None else 0),
                   back=_detail_url(batch, "sessions"), missing_is_404=False)
    flash(f"已添加考场「{room.name}」（{room.rows}×{room.cols}，{room.capacity} 个座位）。", "success")
    return _to_detail(batch, "sessions")


@bp.post("/<int:batch_id>/staff")
@roles_required(IA)
def add_staff(batch_id: int) -> Response:
    batch = _get(batch_id)
    form = StaffForm()
    user_id = _int(form.user_id.data) if form.validate_on_submit() else None
    if user_id is None:
        flash("请选择人员。", "danger")
        return _to_detail(batch, "staff")
    user = db.session.get(User, user_id)
    role = user.role if user is not None else ""
    row = perform(lambda: svc.assign_staff(db.session, actor(), batch.id, user_id=user_id, role=role,
                                           room_id=_int(form.room_id.data)),
                  back=_detail_url(batch, "staff"), missing_is_404=False)
    where = f"考场「{row.room.name}」" if row.room is not None else "本批次"
    flash(f"已将{row.role_label}「{row.user.name}」分配到{where}。", "success")
    return _to_detail(batch, "staff")


def _skill_sitting(batch: Batch, sitting_id: int) -> ExamSession:
    sitting = _sitting_of(batch, sitting_id)
    if sitting.module.kind != ModuleKind.SKILL:
        abort(404)
    return sitting


T = TypeVar("T")


def _posted(batch: Batch, anchor: str) -> Response | None:
    """None when the posted button form's CSRF token is valid; else the page with the reason."""
    if PostForm().validate_on_submit():
        return None
    flash("表单无效，请刷新页面后重试。", "danger")
    return _to_detail(batch, anchor)


def _apply(batch: Batch, anchor: str, work: Callable[[], T], done: Callable[[T], str], *,
           done_anchor: str | None = None, missing_is_404: bool = False) -> Response:
    """Run one service call of the batch page: on success commit, say ``done(result)`` and show
    ``done_anchor`` (default ``anchor``); on a refusal roll back and show its Chinese message at
    ``anchor`` (a NotFound is a 404 with ``missing_is_404``: the URL named a row that is not
    this batch's)."""
    try:
        result = work()
    except NotFound:
        db.session.rollback()
        if missing_is_404:
            abort(404)
        raise
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _to_detail(batch, anchor)
    db.session.commit()
    flash(done(result), "success")
    return _to_detail(batch, done_anchor or anchor)


@bp.post("/<int:batch_id>/sessions/<int:sitting_id>/examiners")
@roles_required(IA)
def add_sitting_examiner(batch_id: int, sitting_id: int) -> Response:
    batch = _get(batch_id)
    sitting = _skill_sitting(batch, sitting_id)
    form = SittingExaminerForm()
    user_id = _int(form.user_id.data) if form.validate_on_submit() else None
    if user_id is None:
        flash("请选择考评员。", "danger")
        return _to_detail(batch, f"sitting-{sitting.id}")
    return _apply(batch, f"sitting-{sitting.id}",
                  lambda: svc.assign_sitting_examiner(db.session, actor(), sitting.id, user_id=user_id),
                  lambda row: f"已将考评员「{row.user.name}」编入 {svc.sitting_when(sitting)} 的操作技能考核考评组。")


@bp.post("/<int:batch_id>/sessions/<int:sitting_id>/skill-task")
@roles_required(IA)
def set_sitting_task(batch_id: int, sitting_id: int) -> Response:
    batch = _get(batch_id)
    sitting = _skill_sitting(batch, sitting_id)
    anchor = f"sitting-{sitting.id}"
    task_id = _int(request.form.get("skill_task_id"))
    if task_id is None:
        flash("请选择技能操作试题。", "danger")
        return _to_detail(batch, anchor)
    return _posted(batch, anchor) or _apply(
        batch, anchor, lambda: svc.set_sitting_task(db.session, actor(), sitting.id, task_id),
        lambda row: f"已为 {svc.sitting_when(sitting)} 的操作技能考核场次指定试题「{row.skill_task.name}」。")


@bp.post("/<int:batch_id>/sessions/<int:sitting_id>/stations")
@roles_required(IA)
def assign_stations(batch_id: int, sitting_id: int) -> Response:
    batch = _get(batch_id)
    sitting = _skill_sitting(batch, sitting_id)
    anchor = f"sitting-{sitting.id}"
    return _posted(batch, anchor) or _apply(
        batch, anchor, lambda: stations.assign_stations(db.session, actor(), sitting.id),
        lambda rows: f"已按准考证号为 {len(rows)} 名考生分配工位。")


@bp.post("/<int:batch_id>/sessions/<int:sitting_id>/chief")
@roles_required(IA)
def set_chief_examiner(batch_id: int, sitting_id: int) -> Response:
    batch = _get(batch_id)
    sitting = _skill_sitting(batch, sitting_id)
    anchor = f"sitting-{sitting.id}"
    user_id = _int(request.form.get("user_id"))
    if user_id is None:
        flash("请选择组长。", "danger")
        return _to_detail(batch, anchor)
    return _posted(batch, anchor) or _apply(
        batch, anchor, lambda: stations.set_chief(db.session, actor(), sitting.id, user_id),
        lambda row: f"已指定「{row.user.name}」为考评组组长。")


@bp.post("/<int:batch_id>/sessions/<int:sitting_id>/examiners/<int:user_id>/remove")
@roles_required(IA)
def remove_sitting_examiner(batch_id: int, sitting_id: int, user_id: int) -> Response:
    batch = _get(batch_id)
    sitting = _skill_sitting(batch, sitting_id)
    if not any(row.user_id == user_id for row in sitting.examiners):
        abort(404)  # no such member of this sitting's group
    anchor = f"sitting-{sitting.id}"
    return _posted(batch, anchor) or _apply(
        batch, anchor, lambda: svc.remove_sitting_examiner(db.session, actor(), sitting.id, user_id=user_id),
        lambda _: "已将该考评员移出考评组。")


@bp.post("/<int:batch_id>/sessions/<int:sitting_id>/candidates")
@roles_required(IA)
def set_sitting_candidates(batch_id: int, sitting_id: int) -> Response:
    batch = _get(batch_id)
    sitting = _skill_sitting(batch, sitting_id)
    anchor = f"sitting-{sitting.id}"
    if (refused := _posted(batch, anchor)) is not None:
        return refused
    ids = [_int(v) for v in request.form.getlist("candidate_id")]
    if any(i is None for i in ids):
        flash("考生选择无效，请刷新页面后重试。", "danger")
        return _to_detail(batch, anchor)
    chosen = [i for i in ids if i is not None]
    return _apply(batch, anchor, lambda: svc.assign_sitting_candidates(db.session, actor(), sitting.id, chosen),
                  lambda rows: f"已安排 {svc.sitting_when(sitting)} 的操作技能考核场次考生 {len(rows)} 名。")


@bp.post("/<int:batch_id>/panel")
@roles_required(IA)
def add_panel_member(batch_id: int) -> Response:
    batch = _get(batch_id)
    form = PanelForm()
    user_id = _int(form.user_id.data) if form.validate_on_submit() else None
    if user_id is None:
        flash("请选择考评员。", "danger")
        return _to_detail(batch, "panel")
    return _apply(batch, "panel",
                  lambda: svc.add_panel_member(db.session, actor(), batch.id, user_id=user_id,
                                               chair=bool(form.chair.data)),
                  lambda row: f"已将「{row.user.name}」加入综合评审专家组{'（组长）' if row.is_chair else ''}。")


@bp.post("/<int:batch_id>/panel/<int:user_id>/remove")
@roles_required(IA)
def remove_panel_member(batch_id: int, user_id: int) -> Response:
    batch = _get(batch_id)
    if not any(m.user_id == user_id for m in batch.panel):
        abort(404)  # no such member of this batch's panel
    return _posted(batch, "panel") or _apply(
        batch, "panel", lambda: svc.remove_panel_member(db.session, actor(), batch.id, user_id=user_id),
        lambda _: "已将该人员移出综合评审专家组。")


@bp.post("/<int:batch_id>/staff/<int:staff_id>/remove")
@roles_required(IA)
def remove_staff(batch_id: int, staff_id: int) -> Response:
    batch = _get(batch_id)
    return _posted(batch, "staff") or _apply(
        batch, "staff", lambda: svc.remove_staff(db.session, actor(), batch.id, staff_id),
        lambda _: "已从认定计划中移除该考务人员。", missing_is_404=True)


@bp.post("/<int:batch_id>/supervisors")
@roles_required(C)
def dispatch_supervisor(batch_id: int) -> Response:
    batch = _get(batch_id)
    form = DispatchForm()
    supervisor_id = _int(form.supervisor_id.data) if form.validate_on_submit() else None
    if supervisor_id is None:
        flash("请选择质量督导员。", "danger")
        return _to_detail(batch, "dispatch")
    return _apply(batch, "dispatch",
                  lambda: supervision.dispatch_supervisor(db.session, actor(), batch.id, supervisor_id),
                  lambda row: f"已选派质量督导员「{row.user.name}」到本批次。", done_anchor="staff")


@bp.post("/<int:batch_id>/supervisors/<int:staff_id>/withdraw")
@roles_required(C)
def withdraw_supervisor(batch_id: int, staff_id: int) -> Response:
    batch = _get(batch_id)
    return _posted(batch, "staff") or _apply(
        batch, "staff", lambda: supervision.withdraw_supervisor(db.session, actor(), batch.id, staff_id),
        lambda _: "已撤回选派的质量督导员。", missing_is_404=True)


@bp.post("/<int:batch_id>/candidates")
@roles_required(IA)
def add_candidate(batch_id: int) -> Response:
    batch = _get(batch_id)
    form = CandidateForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "danger")
        return _to_detail(batch, "candidates")
    result = perform(lambda: candidate_import.add_candidate(
        db.session, actor(), batch.id, name=form.name.data or "", id_number=form.id_number.data or "",
        gender=form.gender.data or "", phone=form.phone.data or "", work_unit=form.work_unit.data or "",
        category=form.category.data or "",
    ), back=_detail_url(batch, "candidates"), missing_is_404=False)
    if result.created:
        flash(f"已新建考生账号并加入名册，准考证号 {result.tickets[0]}。", "success")
    else:
        flash(f"已将本机构已有的考生账号加入名册，本批次准考证号 {result.tickets[0]}。", "success")
    return _to_detail(batch, "candidates")


def _registration_of(batch: Batch, registration_id: int) -> BatchCandidate:
    reg = db.session.get(BatchCandidate, registration_id)
    if reg is None or reg.batch_id != batch.id:
        abort(404)
    return reg


@bp.route("/<int:batch_id>/registrations/<int:registration_id>/method", methods=["GET", "POST"])
@roles_required(IA)
def registration_method(batch_id: int, registration_id: int) -> str | Response | tuple[str, int]:
    """One registration's evaluation method and category (评价方式、考生类别)."""
    batch = _get(batch_id)
    reg = _registration_of(batch, registration_id)
    if request.method == "GET":
        return render_template("batches/registration_method.html", batch=batch, reg=reg, form=PostForm(),
                               methods=SETTABLE_METHODS, categories=CATEGORY_LABELS, method_labels=METHOD_LABELS)
    if (refused := _posted(batch, "candidates")) is not None:
        return refused
    try:
        change = reg_svc.set_registration(db.session, actor(), reg.id, method=request.form.get("method", ""),
                                          category=request.form.get("category", ""))
    except PermissionDenied:
        db.session.rollback()
        abort(403)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return render_template("batches/registration_method.html", batch=batch, reg=reg, form=PostForm(),
                               methods=SETTABLE_METHODS, categories=CATEGORY_LABELS,
                               method_labels=METHOD_LABELS), 400
    db.session.commit()
    flash(f"已修改「{reg.candidate.name}」的评价方式和考生类别：{METHOD_LABELS.get(reg.method, reg.method)}，"
          f"{CATEGORY_LABELS.get(reg.category, reg.category)}。" if change.changed else "评价方式和考生类别未变化。",
          "success")
    return _to_detail(batch, "candidates")


@bp.post("/<int:batch_id>/registrations/method")
@roles_required(IA)
def registrations_method(batch_id: int) -> Response:
    """Several registrations' method and/or category at once, after a confirmation."""
    batch = _get(batch_id)
    if (refused := _posted(batch, "candidates")) is not None:
        return refused
    ids = [_int(v) for v in request.form.getlist("registration_id")]
    if any(i is None for i in ids):
        flash("考生选择无效，请刷新页面后重试。", "danger")
        return _to_detail(batch, "candidates")
    if request.form.get("confirm") != "1":
        flash("批量修改须勾选「确认修改所选考生」。未作任何修改。", "danger")
        return _to_detail(batch, "candidates")
    chosen = [i for i in ids if i is not None]
    changes = perform(lambda: reg_svc.set_registrations(db.session, actor(), batch.id, chosen,
                                                        method=request.form.get("method", ""),
                                                        category=request.form.get("category", "")),
                      back=_detail_url(batch, "candidates"), denied_is_403=True)
    done = sum(1 for c in changes if c.changed)
    flash(f"已修改 {done} 名考生的评价方式或考生类别（所选 {len(changes)} 名，其余未变化）。", "success")
    return _to_detail(batch, "candidates")


@bp.route("/<int:batch_id>/candidates/import", methods=["GET", "POST"])
@roles_required(IA)
def import_candidates(batch_id: int) -> str | Response | tuple[str, int]:
    batch = _get(batch_id)
    form = ImportForm()
    if form.validate_on_submit():
        try:
            result = candidate_import.import_candidates(db.session, actor(), batch.id, form.file.data.read())
            db.session.commit()
        except RowErrors as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return render_template("batches/import.html", form=form, batch=batch, errors=exc.errors), 400
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return render_template("batches/import.html", form=form, batch=batch, errors=[]), 400
        except IntegrityError:
            # Another import took the same new ticket numbers (or accounts) at the same moment.
            db.session.rollback()
            flash("另一项导入正在同时分配准考证号，本次导入未写入任何数据，请重新导入。", "danger")
            return render_template("batches/import.html", form=form, batch=batch, errors=[]), 409
        flash(result.message, "success")
        return _to_detail(batch, "candidates")
    if request.method == "POST":
        flash(_form_errors(form), "danger")
    status = 400 if request.method == "POST" else 200
    return render_template("batches/import.html", form=form, batch=batch, errors=[]), status


@bp.get("/candidates-template")
@roles_required(IA)
def candidates_template() -> Response:
    data = candidate_import.import_template_bytes()
    return download(data, "考生名册导入模板.xlsx", XLSX)


# ---------------------------------------------------------------- seating


@bp.post("/<int:batch_id>/sessions/<int:sitting_id>/seat")
@roles_required(IA)
def seat(batch_id: int, sitting_id: int) -> Response:
    batch = _get(batch_id)
    sitting = _sitting_of(batch, sitting_id)
    form = SeatForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "danger")
        return _to_detail(batch, f"sitting-{sitting.id}")
    seeded = any(room.seats for room in sitting.rooms)
    if seeded and request.form.get("reseat") != "1":
        flash("该场次已编排座位，重新编排须确认。", "warning")
        return _to_detail(batch, f"sitting-{sitting.id}")
    text = (form.seed.data or "").strip()
    if text and not re.fullmatch(r"\d{1,19}", text):
        flash("座位编排种子须为非负整数。", "danger")
        return _to_detail(batch, f"sitting-{sitting.id}")
    seed = int(text) if text else secrets.randbits(62)
    seats = perform(lambda: svc.seat_session(db.session, actor(), sitting.id, seed),
                    back=_detail_url(batch, f"sitting-{sitting.id}"), missing_is_404=False)
    flash(f"已{'重新' if seeded else ''}编排座位：{len(seats)} 名考生，编排种子 {seed}（凭种子可复现）。", "success")
    return _to_detail(batch, f"sitting-{sitting.id}")


# ---------------------------------------------------------------- filing and the centre's decision


@bp.post("/<int:batch_id>/file")
@roles_required(IA)
def file(batch_id: int) -> Response:
    batch = _get(batch_id)
    try:
        svc.file_plan(db.session, actor(), batch.id, _today())
    except DomainError as exc:
        db.session.rollback()
        flash(f"未能报备：{exc.message}", "danger")
        return _to_detail(batch, "filing")
    db.session.commit()
    flash(f"认定计划「{batch.name}」已报备省中心，等待确认。", "success")
    return _to_detail(batch)


@bp.post("/<int:batch_id>/decide")
@roles_required(C)
def decide(batch_id: int) -> Response:
    batch = _get(batch_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "danger")
        return _to_detail(batch, "filing")
    try:
        if form.decision.data == "acknowledge":
            svc.acknowledge_plan(db.session, actor(), batch.id, form.reason.data or "")
            message = f"已确认认定计划「{batch.name}」的备案。"
        elif form.decision.data == "return":
            svc.return_plan(db.session, actor(), batch.id, form.reason.data or "")
            message = f"已退回认定计划「{batch.name}」，机构可修改后重新报备。"
        else:
            flash("请选择处理方式。", "danger")
            return _to_detail(batch, "filing")
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _to_detail(batch, "filing")
    db.session.commit()
    flash(message, "success")
    return _to_detail(batch)


# ---------------------------------------------------------------- admission tickets (准考证)


def _pdf(data: bytes, name: str) -> Response:
    return download(data, name, PDF, inline=True)


@bp.get("/<int:batch_id>/sessions/<int:sitting_id>/tickets.pdf")
@roles_required(C, IA)
def session_tickets(batch_id: int, sitting_id: int) -> Response:
    batch = _get(batch_id)
    sitting = _sitting_of(batch, sitting_id)
    items = tickets.tickets_for_session(db.session, batch.id, sitting.id)
    day = beijing(sitting.starts_at, "%Y%m%d-%H%M")
    return _pdf(tickets_pdf(items, title=f"{batch.name} 准考证",
                            photos=photos_of(t.person_id for t in items)), f"准考证-{batch.name}-{day}.pdf")


@bp.get("/<int:batch_id>/sessions/<int:sitting_id>/tickets/<int:candidate_id>.pdf")
@roles_required(C, IA)
def candidate_ticket(batch_id: int, sitting_id: int, candidate_id: int) -> Response:
    batch = _get(batch_id)
    sitting = _sitting_of(batch, sitting_id)
    ticket = found(lambda: tickets.ticket_for(db.session, batch.id, sitting.id, candidate_id))
    return _pdf(tickets_pdf([ticket], title=f"准考证 {ticket.ticket_no}", photos=photos_of([ticket.person_id])),
                f"准考证-{ticket.ticket_no}.pdf")


@bp.get("/tickets")
@roles_required(CA)
def my_tickets() -> str:
    pairs = tickets.candidate_sittings(db.session, actor())
    return render_template("batches/my_tickets.html", pairs=pairs)


@bp.get("/tickets/<int:sitting_id>.pdf")
@roles_required(CA)
def my_ticket_pdf(sitting_id: int) -> Response:
    try:
        ticket = tickets.own_ticket(db.session, actor(), sitting_id)
    except NotFound:
        abort(404)
    return _pdf(tickets_pdf([ticket], title=f"准考证 {ticket.ticket_no}", photos=photos_of([ticket.person_id])),
                f"准考证-{ticket.ticket_no}.pdf")

