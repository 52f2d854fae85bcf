"""互斥题组 pages: the list of enemy sets, creating a set, and adding / removing items or
deleting a set; plus the ``enemy_panel`` template helper behind the item detail page's
「互斥题组」 section (bank/enemies/_item_section.html).

Centre admins and item reviewers manage sets; question writers may read them. The rules
(at least two distinct items of one blueprint, a set left with one item is deleted, the
audit trail) live in :mod:`itembank.enemies`.

Imported at the end of ``web/bank/item_views.py`` so its routes join the shared ``bank``
blueprint.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import HiddenField, StringField, TextAreaField

from foundation.accounts import User
from foundation.errors import DomainError
from itembank import enemies as svc
from itembank.models import Blueprint, BlueprintMode, EnemySet, Item
from web.access import actor, roles_required
from web.bank import bp
from web.extensions import db
from web.params import form_int

READERS = svc.READERS  # centre admin, question writer (read only), item reviewer
EDITORS = svc.EDITORS  # centre admin, item reviewer
ACTIONS = {"add": "加入试题", "remove": "移出试题", "delete": "删除题组"}


class EnemySetForm(FlaskForm):
    """New set: a name (optional) and item codes; the service checks everything."""

    name = StringField("题组名称")
    item_codes = TextAreaField("试题编码")
    from_item = HiddenField()  # created from an item's page: go back there


class EnemyActionForm(FlaskForm):
    action = HiddenField()
    item_code = StringField("试题编码")


def _int_arg(value: str | None) -> int | None:
    return form_int(value)  # bounded: an id no table holds is no id


def _can_manage(me: User) -> bool:
    return me.role in {r.value for r in EDITORS}


def _get_set(set_id: int) -> EnemySet:
    try:
        return svc.get_enemy_set(db.session, set_id, actor())
    except DomainError:
        abort(404)


# ---------------------------------------------------------------- list


def _render_list(status: int = 200, *, only_set: int | None = None,
                 add_form: EnemyActionForm | None = None) -> tuple[str, int]:
    me = actor()
    f = {k: request.args.get(k, "").strip() for k in ("q", "blueprint", "set")}
    set_id = only_set if only_set is not None else _int_arg(f["set"])
    stmt = svc.enemy_set_query(q=f["q"], blueprint_id=_int_arg(f["blueprint"]), set_id=set_id, viewer=me)
    page = db.paginate(stmt, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    members = svc.set_items(db.session, page.items)
    creator_ids = {s.created_by_id for s in page.items if s.created_by_id is not None}
    creators: dict[int, User] = {}
    if creator_ids:
        creators = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(creator_ids)))}
    blueprints = db.session.scalars(select(Blueprint).where(Blueprint.mode == BlueprintMode.THEORY.value)
                                    .order_by(Blueprint.occupation_id, Blueprint.level.desc(), Blueprint.id)).unique()
    return render_template(
        "bank/enemies/index.html", page=page, f=f, set_id=set_id, members=members, creators=creators,
        blueprints=list(blueprints), can_manage=_can_manage(me), add_form=add_form or EnemyActionForm(),
    ), status


@bp.get("/enemies")
@roles_required(*READERS)
def enemy_sets() -> tuple[str, int]:
    return _render_list()


# ---------------------------------------------------------------- create


@bp.route("/enemies/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def enemy_set_new() -> Response | tuple[str, int]:
    form = EnemySetForm()
    if request.method == "GET":
        form.item_codes.data = "\n".join(svc.split_codes(request.args.get("items", "")))
        form.name.data = request.args.get("name", "")
        form.from_item.data = request.args.get("from_item", "")
    if form.validate_on_submit():
        try:
            enemy_set = svc.create_enemy_set(db.session, actor(), form.name.data,
                                             svc.split_codes(form.item_codes.data or ""))
        except DomainError as exc:
            db.session.rollback()
            if exc.field and exc.field in form:
                form[exc.field].errors = [*form[exc.field].errors, exc.message]
            flash(exc.message, "danger")
            return render_template("bank/enemies/new.html", form=form), exc.status
        name, count = enemy_set.name, len(enemy_set.members)
        db.session.commit()
        flash(f"已创建互斥题组「{name}」（{count} 道试题）：组卷时这些试题不会出现在同一套试卷中。", "success")
        back = _int_arg(form.from_item.data)
        if back is not None and db.session.get(Item, back) is not None:
            return redirect(url_for("bank.item_detail", item_id=back) + "#enemy-sets")
        return redirect(url_for("bank.enemy_sets", set=enemy_set.id))
    if request.method == "POST":
        flash("表单已过期或来源无效，请刷新页面后重试。", "danger")
        return render_template("bank/enemies/new.html", form=form), 400
    return render_template("bank/enemies/new.html", form=form), 200


# ---------------------------------------------------------------- add / remove / delete


@bp.post("/enemies/<int:set_id>/action")
@roles_required(*EDITORS)
def enemy_set_action(set_id: int) -> Response | tuple[str, int]:
    enemy_set = _get_set(set_id)
    form = EnemyActionForm()
    if not form.validate_on_submit():
        flash("表单已过期或来源无效，请刷新页面后重试。", "danger")
        return _render_list(400, only_set=set_id)
    action = form.action.data or ""
    if action not in ACTIONS:
        flash("未知的操作。", "danger")
        return _render_list(400, only_set=set_id)
    me, code, name = actor(), (form.item_code.data or "").strip(), enemy_set.name
    try:
        if action == "add":
            svc.add_to_enemy_set(db.session, me, set_id, code)
            message = f"已将试题 {code} 加入互斥题组「{name}」。"
        elif action == "remove":
            left = svc.remove_from_enemy_set(db.session, me, set_id, code)
            message = (f"已将试题 {code} 移出互斥题组「{name}」。" if left is not None
                       else f"已将试题 {code} 移出；互斥题组「{name}」不足两道试题，已删除。")
        else:
            svc.delete_enemy_set(db.session, me, set_id)
            message = f"已删除互斥题组「{name}」。"
    except DomainError as exc:
        db.session.rollback()
        if exc.field == "item_code" and action == "add":
            form.item_code.errors = [*form.item_code.errors, exc.message]
        flash(exc.message, "danger")
        return _render_list(exc.status, only_set=set_id, add_form=form)
    db.session.commit()
    flash(message, "success")
    if db.session.get(EnemySet, set_id) is None:
        return redirect(url_for("bank.enemy_sets"))
    return redirect(url_for("bank.enemy_sets", set=set_id))


# ---------------------------------------------------------------- the item page's section


@bp.app_template_global("enemy_panel")
def enemy_panel(item: Item) -> dict[str, Any]:
    """What the item detail page shows about enemy sets: the item's sets with their other
    members, and near-duplicate stems that could become enemies (reading only)."""
    sets = svc.enemy_sets_of(db.session, item)
    return {
        "sets": sets,
        "members": svc.set_items(db.session, sets),
        "suggestions": svc.suggest_enemies(db.session, item, actor()),
        "can_manage": _can_manage(actor()),
        "threshold": svc.SUGGEST_THRESHOLD,
    }
