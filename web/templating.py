"""Template helpers: navigation, level names and Beijing-time formatting."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, request, url_for
from flask_login import current_user

from foundation.calendar import BEIJING
from foundation.db import as_utc
from foundation.idcard import mask_id_number
from foundation.levels import LEVEL_NAMES, level_range_name
from foundation.roles import ROLE_LABELS, Role


def beijing(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return as_utc(value).astimezone(BEIJING).strftime(fmt)


def role_label(value: str) -> str:
    try:
        return ROLE_LABELS[Role(value)]
    except ValueError:
        return value


def page_url(page: int) -> str:
    """The current URL with its query string kept and ``page`` replaced."""
    args = request.args.to_dict()
    args["page"] = str(page)
    return url_for(request.endpoint or "main.home", **(request.view_args or {}), **args)


def install_template_helpers(app: Flask) -> None:
    from web.nav import ROLE_INTROS, entries_for

    app.jinja_env.filters["beijing"] = beijing
    app.jinja_env.filters["level_name"] = lambda lv: LEVEL_NAMES.get(int(lv), str(lv)) if lv else ""
    app.jinja_env.filters["level_range"] = level_range_name
    app.jinja_env.filters["mask_id"] = mask_id_number
    app.jinja_env.filters["role_label"] = role_label
    app.jinja_env.globals["platform_name"] = "职业技能等级认定考评平台"
    app.jinja_env.globals["page_url"] = page_url
    app.jinja_env.globals["has_endpoint"] = lambda endpoint: endpoint in app.view_functions

    @app.context_processor
    def _nav() -> dict[str, Any]:
        if current_user.is_authenticated:
            return {"nav_entries": entries_for(current_user.role, menu_only=True), "role_intros": ROLE_INTROS}
        return {"nav_entries": [], "role_intros": ROLE_INTROS}
