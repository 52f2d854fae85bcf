from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, g, make_response, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from examroom.registration import authenticate_candidate
from foundation import audit
from foundation.accounts import User, authenticate_staff, change_own_password
from foundation.errors import DomainError
from foundation.login_sessions import end_login_session, open_login_session
from web.access import STAFF_ROLES, actor, public, roles_required
from web.auth import CANDIDATE_BATCH_KEY, CANDIDATE_TICKET_KEY, LOGIN_TOKEN_KEY, bp, throttle
from web.auth.forms import CandidateLoginForm, ChangePasswordForm, StaffLoginForm
from web.extensions import db, limiter


def _address_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT_PER_ADDRESS"])


def _throttled(refused: throttle.Refusal, render: Callable[[], str]) -> Response:
    """429 with Retry-After and the wait in words; nothing was checked, nothing counted."""
    flash(refused.message, "danger")
    resp = make_response(render(), 429)
    resp.headers["Retry-After"] = str(refused.retry_after)
    g.retry_after = refused.retry_after  # the header the message states (web.security.keep_retry_after)
    return resp


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("main.home")


def _sign_in(user: User) -> None:
    """A fresh session (no fixation) backed by a new server-side login session."""
    session.clear()
    token = open_login_session(db.session, user, current_app.permanent_session_lifetime)
    login_user(user)
    session[LOGIN_TOKEN_KEY] = token
    session.permanent = True


def _start_session(user: User, kind: str, **remember: Any) -> Response:
    _sign_in(user)
    session.update(remember)
    audit.record(db.session, user, f"auth.login.{kind}", "user", user.id)
    db.session.commit()
    return redirect(_safe_next(request.args.get("next")))


@bp.get("/login")
@public
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    tab = request.args.get("tab", "staff")
    return render_template("auth/login.html", staff_form=StaffLoginForm(), candidate_form=CandidateLoginForm(), tab=tab)


# Attempts per address are bounded only against floods (a room shares one NAT address);
# guessing is bounded by counting failures (web/auth/throttle.py).
@bp.post("/login")
@public
@limiter.limit(_address_limit)
def login_staff() -> str | Response | tuple[str, int]:
    form = StaffLoginForm()

    def page() -> str:
        return render_template("auth/login.html", staff_form=form, candidate_form=CandidateLoginForm(), tab="staff")

    if form.validate_on_submit():
        account, address = form.username.data or "", get_remote_address()
        refused = throttle.refusal("staff", account, address)
        if refused is not None:
            return _throttled(refused, page)
        user = authenticate_staff(db.session, account, form.password.data or "")
        if user is not None:
            throttle.note_success("staff", account, address)
            return _start_session(user, "staff")
        db.session.rollback()
        throttle.note_failure("staff", account, address)
        flash("用户名或密码错误，或账号已停用。", "danger")
    return page(), 400


@bp.post("/login/candidate")
@public
@limiter.limit(_address_limit)
def login_candidate() -> str | Response | tuple[str, int]:
    form = CandidateLoginForm()

    def page() -> str:
        return render_template("auth/login.html", staff_form=StaffLoginForm(), candidate_form=form, tab="candidate")

    if form.validate_on_submit():
        account, address = form.ticket_no.data or "", get_remote_address()
        refused = throttle.refusal("candidate", account, address)
        if refused is not None:
            return _throttled(refused, page)
        found = authenticate_candidate(db.session, account, form.id_number.data or "")
        if found is not None:
            throttle.note_success("candidate", account, address)
            return _start_session(found.user, "candidate",
                                  **{CANDIDATE_BATCH_KEY: found.batch_id, CANDIDATE_TICKET_KEY: found.ticket_no})
        db.session.rollback()
        throttle.note_failure("candidate", account, address)
        flash("准考证号或身份证号码错误。", "danger")
    return page(), 400


@bp.post("/logout")
@public
def logout() -> Response:
    if current_user.is_authenticated:
        audit.record(db.session, actor(), "auth.logout", "user", current_user.id)
    # Ends this browser's login on the server: a copy of the cookie is useless from now on.
    end_login_session(db.session, session.get(LOGIN_TOKEN_KEY))
    db.session.commit()
    logout_user()
    session.clear()
    flash("您已安全退出。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def change_password() -> str | Response:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            change_own_password(db.session, actor(), form.old_password.data or "", form.new_password.data or "")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            # The change ended every session of the account; this browser continues in a new one.
            _sign_in(actor())
            db.session.commit()
            flash("密码已修改，其他设备上的登录已失效。", "success")
            return redirect(url_for("main.home"))
    return render_template("auth/password.html", form=form)
