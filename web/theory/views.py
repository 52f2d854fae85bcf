"""Views of the theory-result pages: thin wrappers over ``grading.results.violations`` and
``grading.results.marking``; every route names its roles, and the services check the objects."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from foundation.errors import DomainError, NotFound
from foundation.roles import Role
from grading.results.decision import Component
from grading.results.violations import MAX_RELEASE_REASON, TIER_NAMES, holds, release_hold
from web.access import actor, roles_required
from web.extensions import db
from web.theory import holds_bp

C = Role.CENTRE_ADMIN
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
    try:
        violation = release_hold(db.session, actor(), violation_id, request.form.get("reason", ""))
    except NotFound:
        db.session.rollback()
        abort(404)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("holds.index") + f"#hold-{violation_id}")
    db.session.commit()
    flash("已解除暂缓，该考生的成绩恢复为评分结果。", "success")
    return redirect(url_for("holds.index") + f"#hold-{violation.id}")
