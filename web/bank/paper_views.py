"""试卷 pages: the paper library (试卷库) list, the builder (组卷: it queues the assembly job,
:mod:`itembank.paper_jobs`), a paper's detail with its forms, blueprint coverage and
information curves, and the review workflow.

Centre admins and item reviewers see every paper; an institution admin sees only its own
institution's. Centre and institution admins assemble, submit and delete; centre admins and
item reviewers approve (lock) or return, never a paper they assembled themselves (the
service refuses it).
"""

from __future__ import annotations

import json
from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from foundation.accounts import User
from foundation.audit import AuditEntry
from foundation.errors import DomainError, ValidationError
from foundation.institutions import FilingStatus, Institution, ScopeBasis, check_in_scope
from foundation.occupations import Occupation
from foundation.roles import Role
from itembank import assembly
from itembank.itemtypes import ITEM_TYPES
from itembank.models import Blueprint, BlueprintMode, Paper, PaperForm, PaperItem, PaperStatus
from itembank.paper_jobs import ASSEMBLE, assembly_params
from itembank.papers import (
    APPROVERS,
    ASSEMBLERS,
    FORM_LABELS,
    MODE_LABELS,
    approve_paper,
    can_see_paper,
    check_paper_request,
    delete_paper,
    form_coverage,
    information_curves,
    marks_problem,
    return_paper,
    set_scale_to_100,
    submit_paper,
    visible_papers,
)
from itembank.sanitize import plain_text
from web.access import actor, roles_required
from web.bank import bp
from web.bank.paper_forms import (
    ACTIONS,
    LayoutRow,
    PaperActionForm,
    PaperBuilderForm,
    default_rows,
    fixed_texts,
    layout_rows,
    parse_builder,
)
from web.extensions import db
from web.jobs.views import start as start_job
from web.params import form_int

VIEWERS = (Role.CENTRE_ADMIN, Role.ITEM_REVIEWER, Role.INSTITUTION_ADMIN)
ITEM_VIEWERS = frozenset({Role.CENTRE_ADMIN.value, Role.QUESTION_WRITER.value, Role.ITEM_REVIEWER.value})
ACTION_ROLES = {"submit": ASSEMBLERS, "delete": ASSEMBLERS, "approve": APPROVERS, "return": APPROVERS,
                "scale": ASSEMBLERS, "unscale": ASSEMBLERS}
EDITABLE = (PaperStatus.DRAFT.value, PaperStatus.RETURNED.value)
STATUS_LABELS = {s.value: s.label for s in PaperStatus}
TYPE_LABELS = {code: t.label for code, t in ITEM_TYPES.items()}
AUDIT_LABELS = {"paper.assemble": "组卷", "paper.submit": "提交审核", "paper.approve": "审核通过并锁定",
                "paper.return": "退回修改", "paper.set_scale": "设置百分制折算"}
STEM_EXCERPT = 60


def _role_in(roles: tuple[Role, ...]) -> bool:
    return actor().role in {r.value for r in roles}


def _get_visible(paper_id: int) -> Paper:
    paper = db.session.get(Paper, paper_id)
    if paper is None:
        abort(404)
    if not can_see_paper(actor(), paper):
        abort(403)
    return paper


def _awaiting_me(me: User) -> Any:
    """Papers this user may review now: submitted, not assembled by them."""
    return and_(Paper.status == PaperStatus.SUBMITTED.value, Paper.created_by_id != me.id)


# ---------------------------------------------------------------- list (试卷库)


def _visible_query(me: User) -> Any:
    """The centre: all papers; an institution admin: its own; a reviewer: their assignments."""
    return visible_papers(me)


@bp.get("/papers")
@roles_required(*VIEWERS)
def papers() -> str:
    me = actor()
    is_approver = _role_in(APPROVERS)
    q = request.args.get("q", "").strip()
    status = request.args.get("status", "")
    blueprint = request.args.get("blueprint", "")
    institution = request.args.get("institution", "")
    review = request.args.get("review") == "1" and is_approver
    stmt = _visible_query(me)
    if q:
        stmt = stmt.where(Paper.name.icontains(q, autoescape=True))
    if status in STATUS_LABELS:
        stmt = stmt.where(Paper.status == status)
    if (blueprint_id := form_int(blueprint)) is not None:
        stmt = stmt.where(Paper.blueprint_id == blueprint_id)
    if (institution_id := form_int(institution)) is not None and me.role != Role.INSTITUTION_ADMIN:
        stmt = stmt.where(Paper.institution_id == institution_id)
    if review:
        stmt = stmt.where(_awaiting_me(me))
    order: list[Any] = [Paper.created_at.desc(), Paper.id.desc()]
    if me.role == Role.ITEM_REVIEWER:
        order.insert(0, case((_awaiting_me(me), 0), else_=1))
    stmt = stmt.options(selectinload(Paper.forms), joinedload(Paper.created_by))
    page = db.paginate(stmt.order_by(*order), per_page=current_app.config["PAGE_SIZE"], error_out=False)

    visible_ids = _visible_query(me).with_only_columns(Paper.blueprint_id).distinct()
    blueprints = db.session.scalars(
        select(Blueprint).join(Occupation, Occupation.id == Blueprint.occupation_id)
        .where(Blueprint.id.in_(visible_ids)).order_by(Occupation.code, Blueprint.level.desc(), Blueprint.id)
    ).all()
    inst_ids = {p.institution_id for p in page.items}
    institutions = {i.id: i.name for i in db.session.scalars(select(Institution).where(Institution.id.in_(inst_ids)))}
    institution_choices: list[tuple[int, str]] = []
    if me.role != Role.INSTITUTION_ADMIN:
        owners = _visible_query(me).with_only_columns(Paper.institution_id).distinct()
        institution_choices = [(i.id, i.name) for i in db.session.scalars(
            select(Institution).where(Institution.id.in_(owners)).order_by(Institution.name))]
    awaiting = db.session.scalar(
        _visible_query(me).where(_awaiting_me(me)).with_only_columns(func.count(Paper.id))
    ) if is_approver else 0
    return render_template(
        "bank/papers/index.html", page=page, q=q, status=status, blueprint=blueprint, institution=institution,
        review=review, statuses=STATUS_LABELS, blueprints=blueprints, institutions=institutions,
        institution_choices=institution_choices, mode_labels=MODE_LABELS, is_approver=is_approver,
        awaiting=awaiting, can_assemble=_role_in(ASSEMBLERS), me=me,
    )


# ---------------------------------------------------------------- builder (组卷)


def _filed_institutions() -> list[Institution]:
    return list(db.session.scalars(
        select(Institution).where(Institution.status == FilingStatus.FILED.value).order_by(Institution.name)
    ))


def _blueprints_in_scope(institution: Institution) -> list[Blueprint]:
    """Theory blueprints the institution may assemble papers from (its filed scope)."""
    if institution.status != FilingStatus.FILED.value:
        return []
    occupations = {e.occupation_id for e in institution.scope_entries if e.basis == ScopeBasis.FILED.value}
    if not occupations:
        return []
    candidates = db.session.scalars(
        select(Blueprint).join(Occupation, Occupation.id == Blueprint.occupation_id)
        .where(Blueprint.mode == BlueprintMode.THEORY.value, Blueprint.occupation_id.in_(occupations))
        .order_by(Occupation.code, Blueprint.level.desc(), Blueprint.id)
    ).all()
    allowed = []
    for blueprint in candidates:
        try:
            check_in_scope(db.session, institution, blueprint.occupation_id, blueprint.work_type_id, blueprint.level)
        except ValidationError:
            continue
        allowed.append(blueprint)
    return allowed


def _scope_message(institution: Institution | None, blueprints: list[Blueprint]) -> str:
    if institution is None or blueprints:
        return ""
    if institution.status != FilingStatus.FILED.value:
        return f"「{institution.name}」当前状态为{institution.status_label}，只有已备案的机构才能组卷。"
    return (f"「{institution.name}」的备案评价范围内还没有理论知识细目表，暂时无法组卷。"
            "请联系省中心为评价范围内的职业（工种）和等级建立细目表。")


def _builder_institution(me: User, form: PaperBuilderForm) -> Institution | None:
    if me.role == Role.INSTITUTION_ADMIN:
        return db.session.get(Institution, me.institution_id) if me.institution_id else None
    raw = form.institution_id.data if request.method == "POST" else request.args.get("institution_id", "")
    if (institution_id := form_int(raw)) is None:
        return None
    institution = db.session.get(Institution, institution_id)
    return institution if institution is not None and institution.status == FilingStatus.FILED.value else None


def _render_builder(form: PaperBuilderForm, institution: Institution | None, rows: list[LayoutRow],
                    fixed_text: dict[str, str], status: int = 200) -> tuple[str, int]:
    me = actor()
    blueprints = _blueprints_in_scope(institution) if institution is not None else []
    form.blueprint_id.choices = [SelectChoice("", "请选择细目表")] + [
        SelectChoice(str(b.id), f"{b.occupation.code} {b.target_label}（{b.name}）") for b in blueprints
    ]
    if institution is not None:
        form.institution_id.data = str(institution.id)
    return render_template(
        "bank/papers/new.html", form=form, institution=institution, blueprints=blueprints,
        scope_message=_scope_message(institution, blueprints),
        institutions=_filed_institutions() if me.role == Role.CENTRE_ADMIN else [],
        rows=rows, fixed_text=fixed_text, item_types=TYPE_LABELS, form_labels=FORM_LABELS,
        total_items=sum(_safe_int(r.count) for r in rows if r.item_type),
        total_points=sum(_safe_int(r.count) * _safe_float(r.points) for r in rows if r.item_type),
    ), status


def _safe_int(text: str) -> int:
    return form_int(text, minimum=0) or 0


def _safe_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


@bp.route("/papers/new", methods=["GET", "POST"])
@roles_required(*ASSEMBLERS)
def paper_new() -> str | Response | tuple[str, int]:
    me = actor()
    form = PaperBuilderForm()
    institution = _builder_institution(me, form)
    if request.method == "GET":
        return _render_builder(form, institution, default_rows(), fixed_texts(request.args))
    rows, fixed_text = layout_rows(request.form), fixed_texts(request.form)
    if not form.validate_on_submit():
        flash("表单有误或已过期，请检查后重试。", "danger")
        return _render_builder(form, institution, rows, fixed_text, 400)
    if institution is None:
        flash("请选择已备案的评价机构。", "danger")
        return _render_builder(form, institution, rows, fixed_text, 400)
    try:
        parsed = parse_builder(form, request.form)
        blueprint_id = form_int(form.blueprint_id.data) or 0
        if not blueprint_id:
            raise ValidationError("请选择细目表。", field="blueprint_id")
        args = assembly_params(
            institution_id=institution.id, blueprint_id=blueprint_id, name=form.name.data or "",
            mode=form.mode.data or "", sections=parsed.sections, n_forms=parsed.n_forms,
            duration_minutes=parsed.duration_minutes, cut_theta=parsed.cut_theta,
            tif_tolerance=parsed.tif_tolerance, fixed_codes=parsed.fixed_codes,
            scale_to_100=bool(form.scale_to_100.data),
        )
        # What needs no item pool is refused at once; the pool and the solve run in the job.
        check_paper_request(db.session, me, institution_id=institution.id, blueprint_id=blueprint_id,
                            name=args["name"], mode=args["mode"], n_forms=parsed.n_forms,
                            duration_minutes=parsed.duration_minutes)
    except DomainError as exc:
        db.session.rollback()
        if exc.field and exc.field in form:
            form[exc.field].errors = [*form[exc.field].errors, exc.message]
        flash(exc.message, "danger")
        institution = _builder_institution(me, form)
        return _render_builder(form, institution, rows, fixed_text, 400)
    return start_job(ASSEMBLE, args, object_type="blueprint", object_id=blueprint_id)


# ---------------------------------------------------------------- detail


def _load(paper_id: int) -> Paper:
    paper = db.session.scalar(
        select(Paper).where(Paper.id == paper_id).options(
            selectinload(Paper.forms).selectinload(PaperForm.items).options(
                joinedload(PaperItem.item), joinedload(PaperItem.version),
            ),
        )
    )
    if paper is None:
        abort(404)
    if not can_see_paper(actor(), paper):
        abort(403)
    return paper


def _coverage_rows(paper: Paper) -> list[dict[str, Any]]:
    """Per blueprint node: its weight, the count its weight asks for, and each form's count."""
    nodes = list(paper.blueprint.nodes)
    index = {n.id: k for k, n in enumerate(nodes)}
    parents = [index[n.parent_id] if n.parent_id in index else -1 for n in nodes]
    weights = {k: float(n.weight) for k, n in enumerate(nodes) if n.weight}
    length = sum(int(s["count"]) for s in paper.layout)
    targets: dict[int, int] = {}
    if weights and length:
        try:
            targets = assembly.blueprint_counts(weights, form_length=length, node_parent=parents)
        except ValueError:
            targets = {}
    counts = form_coverage(paper)
    rows = []
    for k, node in enumerate(nodes):
        per_form = {}
        for label, by_point in counts.items():
            if node.is_point:
                per_form[label] = by_point.get(node.code, 0)
            else:
                prefix = node.code + "-"
                per_form[label] = sum(n for code, n in by_point.items() if code.startswith(prefix))
        target = targets.get(k)
        rows.append({
            "code": node.code, "name": node.name, "depth": min(node.depth, 6), "is_point": node.is_point,
            "importance": node.importance, "weight": float(node.weight or 0), "target": target,
            "counts": per_form, "off": target is not None and any(v != target for v in per_form.values()),
        })
    return rows


def _item_url(item_id: int) -> str | None:
    """The item's page, for roles that may see items, once the item pages exist."""
    if actor().role not in ITEM_VIEWERS or "bank.item_detail" not in current_app.view_functions:
        return None
    try:
        return url_for("bank.item_detail", item_id=item_id)
    except BuildError:
        return None


def _form_rows(paper: Paper) -> list[dict[str, Any]]:
    show_stems = actor().role in ITEM_VIEWERS
    forms = []
    for form in paper.forms:
        items = []
        for pi in form.items:
            stem = plain_text(pi.version.stem_html) if show_stems else ""
            items.append({
                "position": pi.position, "code": pi.item.code, "type": TYPE_LABELS.get(pi.item.item_type,
                                                                                       pi.item.item_type),
                "point": pi.item.point.code, "points": pi.points, "version": pi.version.number,
                "url": _item_url(pi.item_id),
                "stem": stem if len(stem) <= STEM_EXCERPT else stem[:STEM_EXCERPT] + "…",
            })
        forms.append({"label": form.label, "items": items, "total": sum(i["points"] for i in items)})
    return forms


def _history(paper: Paper) -> list[dict[str, Any]]:
    """The paper's workflow steps from the audit trail (ids of deleted papers can be reused)."""
    entries = list(db.session.scalars(
        select(AuditEntry).where(AuditEntry.target_type == "paper", AuditEntry.target_id == str(paper.id),
                                 AuditEntry.action.in_(AUDIT_LABELS)).order_by(AuditEntry.seq)
    ))
    starts = [k for k, e in enumerate(entries) if e.action == "paper.assemble"]
    entries = entries[starts[-1]:] if starts else entries
    return [{"at": e.at, "who": e.actor_name, "action": AUDIT_LABELS[e.action],
             "comment": (e.after or {}).get("comment") if isinstance(e.after, dict) else None} for e in entries]


def _render_detail(paper: Paper, action_form: PaperActionForm | None = None, status: int = 200) -> tuple[str, int]:
    me = actor()
    institution = db.session.get(Institution, paper.institution_id)
    approved_by = db.session.get(User, paper.approved_by_id) if paper.approved_by_id else None
    try:
        report: dict[str, Any] = dict(json.loads(paper.assembly_report_json or "{}"))
    except ValueError:
        report = {}
    layout = [{"type": TYPE_LABELS.get(s["type"], s["type"]), "count": s["count"], "points": s["points"],
               "subtotal": s["count"] * s["points"]} for s in paper.layout]
    is_assembler_role = _role_in(ASSEMBLERS)
    is_approver_role = _role_in(APPROVERS)
    submitted = paper.status == PaperStatus.SUBMITTED.value
    return render_template(
        "bank/papers/detail.html", paper=paper, institution=institution, approved_by=approved_by,
        report=report, layout=layout, mode_labels=MODE_LABELS, forms=_form_rows(paper),
        coverage=_coverage_rows(paper), form_labels=[f.label for f in paper.forms],
        history=_history(paper), action_form=action_form or PaperActionForm(),
        can_submit=is_assembler_role and paper.status in EDITABLE,
        marks_problem=marks_problem(paper) if paper.status != PaperStatus.LOCKED.value else None,
        can_delete=is_assembler_role and paper.status in EDITABLE,
        can_review=is_approver_role and submitted and paper.created_by_id != me.id,
        own_paper_waiting=is_approver_role and submitted and paper.created_by_id == me.id,
        show_stems=me.role in ITEM_VIEWERS,
    ), status


@bp.get("/papers/<int:paper_id>")
@roles_required(*VIEWERS)
def paper_detail(paper_id: int) -> tuple[str, int]:
    return _render_detail(_load(paper_id))


@bp.get("/papers/<int:paper_id>/curves.json")
@roles_required(*VIEWERS)
def paper_curves(paper_id: int) -> Response:
    paper = _load(paper_id)
    data = information_curves(paper)
    data["cut_theta"] = paper.cut_theta
    data["name"] = paper.name
    return jsonify(data)


@bp.post("/papers/<int:paper_id>/action")
@roles_required(*VIEWERS)
def paper_action(paper_id: int) -> Response | tuple[str, int]:
    me = actor()
    paper = _get_visible(paper_id)
    form = PaperActionForm()
    if not form.validate_on_submit():
        flash("表单有误或已过期，请刷新页面后重试。", "danger")
        return _render_detail(_load(paper_id), form, 400)
    action = form.action.data or ""
    if action not in ACTIONS:
        abort(400)
    if me.role not in {r.value for r in ACTION_ROLES[action]}:
        abort(403)
    comment = (form.comment.data or "").strip()
    try:
        if action == "submit":
            submit_paper(db.session, me, paper.id)
            message = "试卷已提交审核。"
        elif action == "approve":
            approve_paper(db.session, me, paper.id, comment)
            message = "试卷已审核通过并锁定，入试卷库。"
        elif action == "return":
            return_paper(db.session, me, paper.id, comment)
            message = "试卷已退回修改。"
        elif action in ("scale", "unscale"):
            set_scale_to_100(db.session, me, paper.id, action == "scale")
            message = "已声明成绩按百分制折算。" if action == "scale" else "已取消百分制折算。"
        else:
            name = paper.name
            delete_paper(db.session, me, paper.id)
            message = f"已删除试卷：{name}。"
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        if exc.field and exc.field in form:
            form[exc.field].errors = [*form[exc.field].errors, exc.message]
        return _render_detail(_load(paper_id), form, 400)
    db.session.commit()
    flash(message, "success")
    if action == "delete":
        return redirect(url_for("bank.papers"))
    return redirect(url_for("bank.paper_detail", paper_id=paper_id))
