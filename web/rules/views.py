"""The rules page (规则配置), edited by the centre admin: scope caps, filing windows and the
province code (validated in ``foundation.institutions``) and every other rule, field by field,
as ``foundation.rule_fields`` describes them; ``set_rule`` audits each change."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from foundation.errors import DomainError
from foundation.institutions import (
    filing_windows,
    province_code,
    scope_caps,
    update_filing_windows,
    update_province_code,
    update_scope_caps,
)
from foundation.roles import Role
from foundation.rule_fields import SECTIONS, SECTIONS_BY_KEY, current_values, update_rule_section
from foundation.settings import RULE_LABELS
from web.access import actor, roles_required
from web.extensions import db
from web.rules import bp
from web.rules.forms import NO_CAP, ProvinceForm, WindowsForm, cap_field_name, cap_keys, caps_form_class

BLANK_WINDOW_ROWS = 2


def _caps_form(posted: bool) -> FlaskForm:
    cls = caps_form_class()
    if posted:
        return cls()
    caps = scope_caps(db.session)
    data = {cap_field_name(key): str(caps[key]) if key in caps else NO_CAP for key, _k, _t in cap_keys()}
    return cls(formdata=None, data=data)


def _windows_form(posted: bool) -> WindowsForm:
    if posted:
        return WindowsForm()
    rows = [{"month": str(m), "first": str(a), "last": str(b)} for m, a, b in filing_windows(db.session)]
    form = WindowsForm(formdata=None, data={"windows": rows})
    for _ in range(BLANK_WINDOW_ROWS):
        form.windows.append_entry()
    return form


def _province_form(posted: bool) -> ProvinceForm:
    if posted:
        return ProvinceForm()
    return ProvinceForm(formdata=None, data={"province_code": province_code(db.session)})


def _field_sections(section: str) -> list[tuple[Any, dict[str, Any]]]:
    """Each field section with the values to show: what was posted for the one being saved
    (so a refused form keeps the user's input), the stored values for the others."""
    out = []
    for s in SECTIONS:
        if s.key == section:
            values: dict[str, Any] = {f.name: request.form.get(f.name, "") if f.kind != "bool"
                                      else f.name in request.form for f in s.fields}
        else:
            values = current_values(db.session, s)
        out.append((s, values))
    return out


def _render(section: str, status: int = 200) -> tuple[str, int]:
    caps_form = _caps_form(section == "caps")
    cap_rows = [(caps_form[cap_field_name(key)], kind) for key, kind, _tier in cap_keys()]
    return render_template(
        "rules/index.html",
        caps_form=caps_form,
        cap_rows=cap_rows,
        windows_form=_windows_form(section == "windows"),
        province_form=_province_form(section == "province"),
        field_sections=_field_sections(section),
        labels=RULE_LABELS,
    ), status


def _save(section: str) -> str:
    """Run the validator of ``section``; return the success message."""
    me = actor()
    if section in SECTIONS_BY_KEY:
        changed = update_rule_section(db.session, me, section, request.form)
        title = SECTIONS_BY_KEY[section].title
        return f"「{title}」已保存。" if changed else f"「{title}」没有变化。"
    if section == "caps":
        form: Any = caps_form_class()()
        caps = {key: (form[cap_field_name(key)].data or None) for key, _k, _t in cap_keys()}
        update_scope_caps(db.session, me, caps)
        return "评价范围等级上限已保存，此后新增的评价范围按新上限审核。"
    if section == "windows":
        form = WindowsForm()
        rows = [
            (row.form.month.data or "", row.form.first.data or "", row.form.last.data or "")
            for row in form.windows
        ]
        rows = [r for r in rows if any(v.strip() for v in r)]  # blank rows are "no window"
        update_filing_windows(db.session, me, rows)  # type: ignore[arg-type]
        return "备案受理期已保存。"
    form = ProvinceForm()
    update_province_code(db.session, me, form.province_code.data or "")
    return "省份代码已保存；已分配的评价机构编码不变，新备案机构使用新代码。"


@bp.route("/", methods=["GET", "POST"])
@roles_required(Role.CENTRE_ADMIN)
def index() -> Response | tuple[str, int]:
    if request.method == "GET":
        return _render("")
    section = request.form.get("section", "")
    checks: dict[str, Any] = {"caps": caps_form_class(), "windows": WindowsForm, "province": ProvinceForm}
    checks.update({key: FlaskForm for key in SECTIONS_BY_KEY})  # CSRF here, the values in the service
    check = checks.get(section)
    if check is None:
        flash("未知的规则类别。", "danger")
        return _render("", 400)
    form = check()
    if not form.validate_on_submit():
        errors = [str(e) for msgs in form.errors.values() for e in msgs if isinstance(e, str)]
        flash("；".join(errors) or "表单无效，请刷新页面后重试。", "danger")
        return _render(section, 400)
    try:
        message = _save(section)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _render(section, 400)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("rules.index"))
