from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from web.access import ALL_ROLES, public, roles_required
from web.main import bp
from web.nav import entries_for


@bp.get("/")
@public
def index() -> Response:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    return redirect(url_for("auth.login"))


@bp.get("/home")
@roles_required(*ALL_ROLES)
def home() -> str:
    return render_template("main/home.html", entries=entries_for(current_user.role))


@bp.get("/healthz")
@public
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@bp.get("/favicon.ico")
@public
def favicon() -> Response:
    """Browsers ask for /favicon.ico where a page names no icon (PDFs, downloads)."""
    return redirect(url_for("static", filename="favicon.svg"), 301)
