"""试题 pages: the list, the editor with its live preview, the detail page with workflow
actions, and the reviewers' queue.

Who may see items: the centre admin, question writers and item reviewers; a reviewer only
the items of their assigned (occupation, institution) pairs (``itembank.access``, 404 for
the others), and a writer edits an approved item only as its author or with a grant.
Answer keys are shown on these pages only; candidates never reach them (403), and the
preview renders the candidate partial from the type's ``public_view`` alone.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import aliased, selectinload
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from foundation.accounts import User
from foundation.errors import DomainError, ValidationError
from foundation.occupations import Occupation
from foundation.roles import Role
from itembank import access, sanitize
from itembank import items as svc
from itembank.itemtypes import ITEM_TYPES, get_type
from itembank.models import (
    ITEM_STATUS_LABELS,
    Blueprint,
    BlueprintMode,
    BlueprintNode,
    Item,
    ItemEvent,
    ItemStatus,
    ItemVersion,
)
from web.access import actor, roles_required
from web.bank import bp
from web.bank.item_forms import (
    SCORING_LABELS,
    EditItemForm,
    ItemFields,
    NewItemForm,
    attach_error,
    content_from_form,
    fieldset_types,
    fill_form,
    spec_from_form,
)
from web.extensions import db
from web.params import form_int

C, QW, IR = Role.CENTRE_ADMIN, Role.QUESTION_WRITER, Role.ITEM_REVIEWER
BANK_STAFF = (C, QW, IR)

EVENT_LABELS = {
    "submit": "提交审核",
    "review": "审题通过",
    "approve": "终审通过",
    "return": "退回修改",
    "activate": "启用",
    "retire": "停用",
    "revise": "修订（新版本）",
    "flag": "题目分析预警（退回审核）",
}


@dataclasses.dataclass(frozen=True)
class Action:
    name: str
    label: str
    confirm: str
    comment: str = ""  # "" none, "optional", "required"
    comment_label: str = "意见"
    danger: bool = False


ACTIONS: dict[str, Action] = {
    "submit": Action("submit", "提交审核", "提交后本版本不能再修改，确定提交审核？"),
    "review": Action("review", "审题通过", "确定审题通过，送交终审？", "optional", "审题意见（选填）"),
    "approve": Action("approve", "终审通过", "确定终审通过？通过后可启用入库。", "optional", "终审意见（选填）"),
    "return": Action("return", "退回修改", "确定退回命题员修改？", "required", "退回意见（必填）", danger=True),
    "activate": Action("activate", "启用", "确定启用该试题？启用后可被组卷选用。"),
    "retire": Action("retire", "停用", "确定停用该试题？停用后不再被组卷选用。", "required", "停用原因（必填）",
                     danger=True),
}


# ---------------------------------------------------------------- helpers


def _get_item(item_id: int) -> Item:
    """The item if the user may read it (reviewers: their assignments), else 404."""
    try:
        return svc.read_item(db.session, actor(), item_id)
    except DomainError:
        abort(404)


def _author_ids(item: Item) -> set[int]:
    return {item.author_id} | {v.author_id for v in item.versions}


def _reviewer_of_current(item: Item) -> int | None:
    return db.session.scalar(select(ItemEvent.actor_id).where(
        ItemEvent.item_id == item.id, ItemEvent.version_id == item.current_version_id, ItemEvent.action == "review",
    ).order_by(ItemEvent.id.desc()).limit(1))


def allowed_actions(item: Item, me: User) -> list[Action]:
    """The workflow buttons to show ``me``; the services decide again on POST."""
    role, status, authors = me.role, item.status, _author_ids(item)
    names: list[str] = []
    if role == QW and me.id in authors and status in (ItemStatus.DRAFT, ItemStatus.RETURNED):
        current = item.current_version
        if not (status == ItemStatus.RETURNED and current is not None and current.frozen):
            names.append("submit")
    if role == IR and me.id not in authors:
        if status == ItemStatus.SUBMITTED:
            names += ["review", "return"]
        elif status == ItemStatus.REVIEWED:
            if _reviewer_of_current(item) != me.id:
                names.append("approve")
            names.append("return")
    if role in (C, IR):
        if status == ItemStatus.APPROVED:
            names.append("activate")
        if status in (ItemStatus.APPROVED, ItemStatus.ACTIVE):
            names.append("retire")
    return [ACTIONS[n] for n in names]


def can_edit(item: Item, me: User) -> bool:
    if me.role != QW or item.status not in svc.EDITABLE:
        return False
    if item.status in (ItemStatus.DRAFT, ItemStatus.RETURNED):
        return me.id in _author_ids(item)
    return access.can_revise(db.session, me, item)


def _theory_blueprints() -> list[Blueprint]:
    rows = db.session.scalars(select(Blueprint).where(Blueprint.mode == BlueprintMode.THEORY.value)
                              .order_by(Blueprint.occupation_id, Blueprint.level.desc(), Blueprint.id)).unique()
    return list(rows)


def _point_choices(blueprint: Blueprint | None) -> list[SelectChoice]:
    """The blueprint's assessment points, grouped under their 鉴定范围."""
    choices = [SelectChoice("", "（请选择鉴定点）" if blueprint else "（请先选择细目表）")]
    if blueprint is not None:
        nodes = {n.id: n for n in blueprint.nodes}
        for p in blueprint.points:
            parent = nodes.get(p.parent_id) if p.parent_id is not None else None
            group = f"{parent.code} {parent.name}" if parent is not None else None
            choices.append(SelectChoice(str(p.id), f"{p.code} {p.name}（{p.importance or '-'}）", optgroup=group))
    return choices


def _int_arg(value: str | None) -> int | None:
    return form_int(value)  # bounded: an id no table holds is no id


def _flash_duplicates(item: Item) -> None:
    assert item.current_version is not None
    found = svc.find_duplicates(db.session, item.current_version.stem_html, exclude_item_id=item.id,
                                viewer=actor())
    if found:
        best = max(sim for _, sim in found)
        codes = "、".join(dup.code for dup, _ in found)
        flash(f"发现 {len(found)} 道题干相似的试题（{codes}，最高相似度 {best:.0%}），"
              "请在下方“相似试题”中核对是否重题。", "warning")


def _editor_context(form: ItemFields, item_type: str) -> dict[str, Any]:
    return {
        "form": form,
        "item_type": item_type,
        "item_types": ITEM_TYPES,
        "fieldsets": fieldset_types(),
        "scoring_labels": SCORING_LABELS,
    }


# ---------------------------------------------------------------- list


@bp.get("/items")
@roles_required(*BANK_STAFF)
def items() -> str:
    me = actor()
    f = {k: request.args.get(k, "").strip() for k in ("q", "blueprint", "occupation", "level", "point", "type",
                                                       "status", "mine")}
    stmt = svc.item_query(f, me)
    page = db.paginate(stmt.order_by(Item.id.desc()), per_page=current_app.config["PAGE_SIZE"], error_out=False)
    occupations = db.session.scalars(
        select(Occupation).where(Occupation.id.in_(select(Blueprint.occupation_id))).order_by(Occupation.code)
    ).all()
    return render_template(
        "bank/items/index.html", page=page, f=f, blueprints=_theory_blueprints(), occupations=occupations,
        item_types=ITEM_TYPES, statuses=ITEM_STATUS_LABELS, levels=(5, 4, 3, 2, 1),
        excerpt=lambda item: sanitize.excerpt(item.current_version.stem_html) if item.current_version else "",
        can_create=me.role == QW,
    )


# ---------------------------------------------------------------- create, edit, preview


@bp.route("/items/new", methods=["GET", "POST"])
@roles_required(QW)
def item_new() -> str | Response | tuple[str, int]:
    form = NewItemForm()
    blueprints = _theory_blueprints()
    blueprint: Blueprint | None = None
    point_arg = _int_arg(request.form.get("point_id") if request.method == "POST" else request.args.get("point"))
    point = db.session.get(BlueprintNode, point_arg) if point_arg is not None else None
    if point is not None and point.is_point:
        blueprint = point.blueprint
        if request.method == "GET":
            form.point_id.data = str(point.id)
    elif (bp_id := _int_arg(request.args.get("blueprint"))) is not None:
        blueprint = db.session.get(Blueprint, bp_id)
    elif len(blueprints) == 1:
        blueprint = blueprints[0]
    form.point_id.choices = _point_choices(blueprint)
    if request.method == "GET" and request.args.get("type") in ITEM_TYPES:
        form.item_type.data = request.args["type"]
    item_type = form.item_type.data if form.item_type.data in ITEM_TYPES else "single_choice"
    form.item_type.data = item_type
    context = {**_editor_context(form, item_type), "blueprints": blueprints, "blueprint": blueprint}
    if form.validate_on_submit():
        try:
            point_id = _int_arg(form.point_id.data)
            if point_id is None:
                raise ValidationError("请选择一个鉴定点。", field="point_id")
            item = svc.create_item(db.session, actor(), point_id=point_id, item_type=item_type,
                                   content=content_from_form(form, item_type), code=form.code.data or None)
        except DomainError as exc:
            db.session.rollback()
            if isinstance(exc, ValidationError):
                attach_error(form, exc, item_type)
            flash(exc.message, "danger")
            return render_template("bank/items/form.html", mode="new", **context), exc.status
        _flash_duplicates(item)
        db.session.commit()
        flash(f"试题 {item.code} 已保存为草稿；核对无误后请提交审核。", "success")
        return redirect(url_for("bank.item_detail", item_id=item.id))
    status = 400 if request.method == "POST" else 200
    return render_template("bank/items/form.html", mode="new", **context), status


@bp.route("/items/<int:item_id>/edit", methods=["GET", "POST"])
@roles_required(QW)
def item_edit(item_id: int) -> str | Response | tuple[str, int]:
    item = _get_item(item_id)
    me = actor()
    if item.status in (ItemStatus.DRAFT, ItemStatus.RETURNED) and me.id not in _author_ids(item):
        abort(403)
    if item.status in svc.EDITABLE and not access.can_revise(db.session, me, item):
        abort(403)
    if not can_edit(item, me):
        flash(f"试题处于「{item.status_label}」状态，审核期间不能修改。", "warning")
        return redirect(url_for("bank.item_detail", item_id=item.id))
    current = item.current_version
    assert current is not None
    form = EditItemForm()
    if request.method == "GET":
        fill_form(form, current)
    context = {**_editor_context(form, item.item_type), "item": item, "current": current}
    if form.validate_on_submit():
        before = current.number
        try:
            svc.revise_item(db.session, me, item.id, content_from_form(form, item.item_type),
                            note=(form.change_note.data or "").strip())
        except DomainError as exc:
            db.session.rollback()
            if isinstance(exc, ValidationError):
                attach_error(form, exc, item.item_type)
            flash(exc.message, "danger")
            return render_template("bank/items/form.html", mode="edit", **context), exc.status
        _flash_duplicates(item)
        db.session.commit()
        number = item.current_version.number if item.current_version else before
        if number != before:
            flash(f"已生成新版本 v{number}，试题回到草稿状态；请核对后重新提交审核。", "success")
        else:
            flash("草稿已保存。", "success")
        return redirect(url_for("bank.item_detail", item_id=item.id))
    status = 400 if request.method == "POST" else 200
    return render_template("bank/items/form.html", mode="edit", **context), status


@bp.post("/items/preview")
@roles_required(QW, IR)
def item_preview() -> str:
    """The candidate's view of the editor's current content, sanitised exactly as on save.

    Falls back to a lenient view (sanitised HTML, no key at all) while the item is incomplete,
    listing what still fails validation."""
    form = ItemFields(meta={"csrf": False})  # the CSRF token is checked by CSRFProtect for every POST
    item_type = request.form.get("item_type", "")
    errors: list[str] = []
    math_ok = True
    try:
        kind = get_type(item_type)
    except ValidationError as exc:
        return render_template("bank/items/_preview.html", errors=[exc.message], view=None, stem_html="",
                               math_ok=False)
    try:
        cleaned = svc.clean_content(item_type, content_from_form(form, item_type))
        stem_html, view = cleaned.stem_html, kind.public_view(json.loads(cleaned.spec_json))
    except ValidationError as exc:
        errors.append(exc.message)
        stem_html = sanitize.clean_html(form.stem_html.data or "")
        try:
            sanitize.clean_item_html(form.stem_html.data or "")
        except ValidationError:
            math_ok = False  # never hand a refused formula to the renderer
        try:
            lenient = spec_from_form(form, item_type, public_only=True)
        except ValidationError:
            lenient = {}
        for option in lenient.get("options", []):
            option["html"] = sanitize.clean_html(option["html"])
            try:
                sanitize.clean_item_html(option["html"])
            except ValidationError:
                math_ok = False
        view = kind.public_view(lenient)
    return render_template("bank/items/_preview.html", errors=errors, view=view, stem_html=stem_html,
                           math_ok=math_ok)


# ---------------------------------------------------------------- detail and actions


def _render_detail(item: Item, status: int = 200) -> tuple[str, int]:
    me = actor()
    versions = list(item.versions)
    current = item.current_version
    assert current is not None
    shown = current
    if (number := _int_arg(request.args.get("version"))) is not None:
        shown = next((v for v in versions if v.number == number), current)
    kind = get_type(item.item_type)
    diffs = {new.id: svc.version_diff(old, new) for old, new in itertools.pairwise(versions)}
    events = db.session.scalars(select(ItemEvent).where(ItemEvent.item_id == item.id)
                                .options(selectinload(ItemEvent.actor)).order_by(ItemEvent.id)).all()
    version_numbers = {v.id: v.number for v in versions}
    return render_template(
        "bank/items/detail.html", item=item, kind=kind, current=current, shown=shown, spec=shown.spec,
        view=kind.public_view(shown.spec), versions=versions, diffs=diffs, events=events,
        version_numbers=version_numbers, event_labels=EVENT_LABELS, status_labels=ITEM_STATUS_LABELS,
        duplicates=svc.find_duplicates(db.session, current.stem_html, exclude_item_id=item.id, viewer=me),
        actions=allowed_actions(item, me), can_edit=can_edit(item, me), scoring_labels=SCORING_LABELS,
        is_author=me.id in _author_ids(item),
    ), status


@bp.get("/items/<int:item_id>")
@roles_required(*BANK_STAFF)
def item_detail(item_id: int) -> tuple[str, int]:
    return _render_detail(_get_item(item_id))


@bp.post("/items/<int:item_id>/action")
@roles_required(*BANK_STAFF)
def item_action(item_id: int) -> Response | tuple[str, int]:
    item = _get_item(item_id)
    name = request.form.get("action", "")
    comment = (request.form.get("comment") or "").strip()
    if name not in ACTIONS:
        flash("未知的操作。", "danger")
        return _render_detail(item, 400)
    if len(comment) > 2000:
        flash("意见过长（最多 2000 字）。", "danger")
        return _render_detail(item, 400)
    me = actor()
    before = item.status
    try:
        if name == "submit":
            svc.submit_item(db.session, me, item.id)
        elif name == "review":
            svc.review_item(db.session, me, item.id, comment)
        elif name == "approve":
            svc.approve_item(db.session, me, item.id, comment)
        elif name == "return":
            svc.return_item(db.session, me, item.id, comment)
        elif name == "activate":
            svc.activate_item(db.session, me, item.id)
        else:
            svc.retire_item(db.session, me, item.id, comment)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _render_detail(_get_item(item_id), exc.status)
    db.session.commit()
    flash(f"{ACTIONS[name].label}：试题 {item.code} 现为「{item.status_label}」。", "success")
    if name in ("review", "approve", "return"):  # back to the queue the reviewer came from
        return redirect(url_for("bank.review_queue", stage=before))
    return redirect(url_for("bank.item_detail", item_id=item.id))


# ---------------------------------------------------------------- review queue


@bp.get("/review")
@roles_required(IR)
def review_queue() -> str:
    me = actor()
    stage = request.args.get("stage", ItemStatus.SUBMITTED.value)
    if stage not in (ItemStatus.SUBMITTED.value, ItemStatus.REVIEWED.value):
        stage = ItemStatus.SUBMITTED.value
    q = request.args.get("q", "").strip()

    def queue(status: str) -> Any:
        version = aliased(ItemVersion)
        wrote = exists().where(version.item_id == Item.id, version.author_id == me.id)
        stmt = select(Item).where(Item.status == status, Item.author_id != me.id, ~wrote)
        if (visible := access.item_clause(me)) is not None:
            stmt = stmt.where(visible)
        if status == ItemStatus.REVIEWED.value:
            passed = exists().where(ItemEvent.item_id == Item.id, ItemEvent.version_id == Item.current_version_id,
                                    ItemEvent.action == "review", ItemEvent.actor_id == me.id)
            stmt = stmt.where(~passed)
        return stmt

    counts = {s: db.session.scalar(select(func.count()).select_from(queue(s).subquery())) or 0
              for s in (ItemStatus.SUBMITTED.value, ItemStatus.REVIEWED.value)}
    stmt = queue(stage).join(ItemVersion, ItemVersion.id == Item.current_version_id)
    if q:
        stmt = stmt.where(or_(Item.code.icontains(q, autoescape=True),
                              ItemVersion.stem_html.icontains(q, autoescape=True)))
    stmt = stmt.options(selectinload(Item.current_version), selectinload(Item.author)).order_by(Item.updated_at,
                                                                                                Item.id)
    page = db.paginate(stmt, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template(
        "bank/items/review.html", page=page, stage=stage, counts=counts, q=q, item_types=ITEM_TYPES,
        excerpt=lambda item: sanitize.excerpt(item.current_version.stem_html) if item.current_version else "",
    )


from web.bank import enemy_views  # noqa: E402,F401
