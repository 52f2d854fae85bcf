from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import case, or_, select
from werkzeug.wrappers import Response

from examroom.models import Batch, BatchCandidate
from foundation.accounts import (
    CANDIDATE_CATEGORY_LABELS,
    User,
    can_manage,
    create_user,
    manageable_roles,
    update_user,
    visible_users_query,
)
from foundation.errors import DomainError
from foundation.institutions import Institution
from foundation.occupations import Occupation
from foundation.roles import Role
from itembank import access as bank_access
from web.access import actor, roles_required
from web.extensions import db
from web.params import form_int
from web.users import bp
from web.users.forms import AssignmentForm, EditUserForm, NewUserForm, RemoveAssignmentForm, ToggleActiveForm

ADMINS = (Role.CENTRE_ADMIN, Role.INSTITUTION_ADMIN)


def _institution_choices() -> list[tuple[str, str]]:
    rows = db.session.scalars(select(Institution).order_by(Institution.name)).all()
    return [("", "（不隶属机构）")] + [(str(i.id), i.name) for i in rows]


def _category_choices() -> list[tuple[str, str]]:
    return [(k.value, v) for k, v in CANDIDATE_CATEGORY_LABELS.items()]


def _get_manageable(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if not can_manage(actor(), Role(user.role), user.institution_id):
        abort(403)
    return user


@bp.get("/")
@roles_required(*ADMINS)
def index() -> str:
    me = actor()
    stmt = visible_users_query(me)
    q = request.args.get("q", "").strip()
    role = request.args.get("role", "")
    inst = request.args.get("institution", "")
    if q:
        by_ticket = select(BatchCandidate.candidate_id).where(BatchCandidate.ticket_no.icontains(q, autoescape=True))
        stmt = stmt.where(or_(User.name.icontains(q, autoescape=True), User.username.icontains(q, autoescape=True),
                              User.id.in_(by_ticket)))
    if role in {r.value for r in Role}:
        stmt = stmt.where(User.role == role)
    if (inst_id := form_int(inst)) is not None and me.role == Role.CENTRE_ADMIN:
        stmt = stmt.where(User.institution_id == inst_id)
    # Staff first, then candidates; within each, by role and creation order.
    stmt = stmt.order_by(case((User.role == Role.CANDIDATE.value, 1), else_=0), User.role, User.id)
    page = db.paginate(stmt, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template(
        "users/index.html",
        page=page,
        q=q,
        role=role,
        institution=inst,
        roles=list(Role),
        institutions=_institution_choices() if me.role == Role.CENTRE_ADMIN else [],
        can_create=bool(manageable_roles(me)),
        can_edit=lambda u: can_manage(me, Role(u.role), u.institution_id),
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*ADMINS)
def new() -> str | Response:
    me = actor()
    form = NewUserForm()
    form.role.choices = [(r.value, r.label) for r in manageable_roles(me)]
    form.institution_id.choices = _institution_choices() if me.role == Role.CENTRE_ADMIN else [("", "")]
    form.candidate_category.choices = _category_choices()
    if request.method == "GET" and request.args.get("role"):
        form.role.data = request.args["role"]
    if form.validate_on_submit():
        inst_id = form_int(form.institution_id.data)
        try:
            user = create_user(
                db.session, me, role=Role(form.role.data), name=form.name.data or "",
                institution_id=inst_id if me.role == Role.CENTRE_ADMIN else me.institution_id,
                username=form.username.data or None, password=form.password.data or None,
                id_number=form.id_number.data or None, id_type=form.id_type.data or None,
                candidate_category=form.candidate_category.data or None, phone=form.phone.data or None,
            )
        except DomainError as exc:
            db.session.rollback()
            if exc.field and exc.field in form:
                form[exc.field].errors = [*form[exc.field].errors, exc.message]
            flash(exc.message, "danger")
            return render_template("users/new.html", form=form), 400
        db.session.commit()
        flash(f"已创建账号：{user.name}（{user.role_label}）。", "success")
        return redirect(url_for("users.index"))
    return render_template("users/new.html", form=form), (400 if request.method == "POST" else 200)


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@roles_required(*ADMINS)
def edit(user_id: int) -> str | Response | tuple[str, int]:
    user = _get_manageable(user_id)
    form = EditUserForm(obj=user)
    form.candidate_category.choices = _category_choices()
    if form.validate_on_submit():
        try:
            update_user(
                db.session, actor(), user.id, name=form.name.data, phone=form.phone.data or "",
                password=form.password.data or None,
                candidate_category=form.candidate_category.data if user.role == Role.CANDIDATE else None,
            )
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return _render_edit(user, form, status=400)
        db.session.commit()
        flash("账号信息已保存。", "success")
        return redirect(url_for("users.edit", user_id=user.id))
    return _render_edit(user, form)


def _render_edit(user: User, form: EditUserForm, assignment_form: AssignmentForm | None = None,
                 status: int = 200) -> tuple[str, int]:
    context: dict[str, object] = {"form": form, "user": user, "toggle": ToggleActiveForm()}
    if user.role == Role.CANDIDATE:  # one ticket number per batch registration
        context["registrations"] = db.session.execute(
            select(Batch.name, BatchCandidate.ticket_no).join(Batch, Batch.id == BatchCandidate.batch_id)
            .where(BatchCandidate.candidate_id == user.id).order_by(BatchCandidate.id)
        ).all()
    if user.role in {r.value for r in bank_access.ASSIGNABLE}:
        rows = bank_access.assignments_of(db.session, user.id)
        names = {i.id: i.name for i in db.session.scalars(select(Institution))}
        context.update(
            assignments=[(a, bank_access.describe(a, names)) for a in rows],
            assignment_form=assignment_form or _assignment_form(user),
            remove_form=RemoveAssignmentForm(),
        )
    return render_template("users/edit.html", **context), status


def _assignment_form(user: User) -> AssignmentForm:
    form = AssignmentForm()
    occupations = db.session.scalars(select(Occupation).order_by(Occupation.code)).all()
    form.occupation_id.choices = [("", "请选择职业")] + [(str(o.id), f"{o.code} {o.name}") for o in occupations]
    if user.role == Role.ITEM_REVIEWER:
        institutions = db.session.scalars(select(Institution).order_by(Institution.name)).all()
        form.institution_id.choices = [("", bank_access.CENTRE_LABEL)] + [(str(i.id), i.name) for i in institutions]
    else:  # a writer's grant is always within the writer's own institution
        form.institution_id.choices = [("", "")]
    return form


@bp.post("/<int:user_id>/assignments")
@roles_required(*ADMINS)
def add_assignment(user_id: int) -> Response | tuple[str, int]:
    """Give a reviewer an (occupation, institution) pair (centre only), or a writer the
    permission to revise items of an occupation in the writer's institution."""
    user = _get_manageable(user_id)
    form = _assignment_form(user)
    if not form.validate_on_submit():
        flash("请选择职业。", "danger")
        return _render_edit(user, EditUserForm(obj=user), form, 400)
    occupation_id = int(form.occupation_id.data) if (form.occupation_id.data or "").isdigit() else 0
    institution_id = int(form.institution_id.data) if (form.institution_id.data or "").isdigit() else None
    if user.role == Role.QUESTION_WRITER:
        institution_id = user.institution_id
    try:
        bank_access.assign(db.session, actor(), user.id, occupation_id=occupation_id, institution_id=institution_id)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _render_edit(user, EditUserForm(obj=user), form, exc.status)
    db.session.commit()
    flash("已添加范围。", "success")
    return redirect(url_for("users.edit", user_id=user.id))


@bp.post("/<int:user_id>/assignments/<int:assignment_id>/delete")
@roles_required(*ADMINS)
def remove_assignment(user_id: int, assignment_id: int) -> Response:
    user = _get_manageable(user_id)
    if not RemoveAssignmentForm().validate_on_submit():
        abort(400)
    row = db.session.get(bank_access.BankAssignment, assignment_id)
    if row is None or row.user_id != user.id:
        abort(404)
    try:
        bank_access.unassign(db.session, actor(), assignment_id)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("users.edit", user_id=user.id))
    db.session.commit()
    flash("已移除范围。", "success")
    return redirect(url_for("users.edit", user_id=user.id))


@bp.post("/<int:user_id>/active")
@roles_required(*ADMINS)
def toggle_active(user_id: int) -> Response:
    user = _get_manageable(user_id)
    form = ToggleActiveForm()
    if not form.validate_on_submit():
        flash("请勾选确认后再提交。", "warning")
        return redirect(url_for("users.edit", user_id=user.id))
    try:
        update_user(db.session, actor(), user.id, active=not user.active)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("users.edit", user_id=user.id))
    db.session.commit()
    flash("账号已启用。" if user.active else "账号已停用。", "success")
    return redirect(url_for("users.edit", user_id=user.id))
