"""Public disclosure (信息公开) of filed institutions: no login. Only the disclosed fields are
shown — name, unit details, address, supervising body, contact, occupations with 工种 and
level ranges, institution code — never credit codes, legal representatives, filing reasons
or staff."""

from __future__ import annotations

from flask import abort, current_app, render_template, request
from sqlalchemy.orm import selectinload

from foundation.errors import NotFound
from foundation.institutions import Institution, public_institution, public_institutions_query
from web.access import public
from web.extensions import db
from web.public import bp


@bp.get("/institutions")
@public
def institutions() -> str:
    q = request.args.get("q", "").strip()[:64]
    stmt = public_institutions_query(q).options(selectinload(Institution.scope_entries))
    page = db.paginate(stmt, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("public/institutions.html", page=page, q=q)


@bp.get("/institutions/<int:institution_id>")
@public
def institution_detail(institution_id: int) -> str:
    try:
        inst = public_institution(db.session, institution_id)
    except NotFound:
        abort(404)
    return render_template("public/institution_detail.html", inst=inst)
