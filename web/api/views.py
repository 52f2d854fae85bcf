"""JSON API views under /api/v1, described route by route in ``docs/openapi.yaml``.

Same rules as the pages: every view declares ``@roles_required`` (anonymous → 401, other
roles → 403), parses the request with ``web.api.schemas``, calls one service, commits, and
returns JSON. Errors are JSON too: domain errors through :func:`_domain_error` below
(``{"error", "status"}`` plus ``field`` or ``errors``), HTTP errors and CSRF failures through
``web/errors.py``. CSRF stays on: state-changing calls send the ``X-CSRFToken`` header.

Adding a resource: put its serialisers and request parsers in ``schemas.py``, its views in a
new section here (or a new module imported by ``web/api/__init__.py``), reusing ``_body``,
``_paginate`` and ``_created``; then document every route in ``docs/openapi.yaml``
(``tests/web/test_api.py`` checks that the two agree).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, request, url_for
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from foundation.accounts import User
from foundation.audit import AuditEntry
from foundation.errors import DomainError, NotFound, PermissionDenied, RowErrors, ValidationError
from foundation.institutions import Institution
from foundation.jobs import Job, JobStatus
from foundation.occupations import Occupation, WorkType
from foundation.roles import Role
from foundation.settings import get_rule
from itembank import access, paper_jobs
from itembank import blueprints as blueprint_svc
from itembank import enemies as enemy_svc
from itembank import items as item_svc
from itembank import papers as paper_svc
from itembank.itemtypes import ITEM_TYPES
from itembank.models import (
    Blueprint,
    BlueprintMode,
    BlueprintNode,
    EnemySet,
    Item,
    Paper,
    PaperForm,
    PaperItem,
)
from web.access import STAFF_ROLES, actor, roles_required
from web.api import bp, schemas
from web.extensions import db
from web.jobs.views import queue as queue_job
from web.jobs.views import readable_job

JsonResponse = dict[str, Any]
Created = tuple[dict[str, Any], int, dict[str, str]]

C, QW, IR = Role.CENTRE_ADMIN, Role.QUESTION_WRITER, Role.ITEM_REVIEWER
BANK_READERS = (C, QW, IR)
BLUEPRINT_EDITORS = blueprint_svc.EDITORS  # centre admin, item reviewer
ITEM_WRITERS = item_svc.WRITERS  # question writer
ENEMY_EDITORS = enemy_svc.EDITORS  # centre admin, item reviewer
IA = Role.INSTITUTION_ADMIN
PAPER_READERS = (C, IA, IR)  # an institution admin only its own institution's papers

# Who may ask for each workflow step; the services add the author/reviewer rules.
TRANSITION_ROLES: dict[str, tuple[Role, ...]] = {
    "submit": (QW,),
    "review": (IR,),
    "approve": (IR,),
    "return": (IR,),
    "activate": (C, IR),
    "retire": (C, IR),
}
# Paper workflow steps: the assemblers submit, the approvers approve or return (never a
# paper they assembled: the service refuses it).
PAPER_TRANSITION_ROLES: dict[str, tuple[Role, ...]] = {
    "submit": paper_svc.ASSEMBLERS,  # centre admin, institution admin
    "approve": paper_svc.APPROVERS,  # centre admin, item reviewer
    "return": paper_svc.APPROVERS,
}


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError) -> tuple[dict[str, Any], int]:
    db.session.rollback()
    body: dict[str, Any] = {"error": exc.message, "status": exc.status}
    if exc.field:
        body["field"] = exc.field
    if isinstance(exc, RowErrors):
        body["errors"] = [{"row": row, "column": column, "message": message} for row, column, message in exc.errors]
    return body, exc.status


def _body() -> object:
    """The JSON request body, or None (then the schema refuses it with a 400)."""
    return request.get_json(silent=True)


def _paginate(stmt: Select[Any], serialise: Callable[[list[Any]], list[dict[str, Any]]]) -> dict[str, Any]:
    """One page of ``stmt`` as ``{"items", "page", "per_page", "total"}``; ``serialise`` gets the rows."""
    page, per_page = schemas.page_args(request.args, current_app.config["PAGE_SIZE"])
    result = db.paginate(stmt, page=page, per_page=per_page, max_per_page=schemas.MAX_PER_PAGE, error_out=False)
    return schemas.page_json(serialise(list(result.items)), page=page, per_page=per_page, total=result.total or 0)


def _created(body: dict[str, Any], location: str) -> Created:
    return body, 201, {"Location": location}


# ---------------------------------------------------------------- blueprints (鉴定要素细目表)


def _point_counts(ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = db.session.execute(
        select(BlueprintNode.blueprint_id, func.count()).where(
            BlueprintNode.blueprint_id.in_(ids), BlueprintNode.is_point.is_(True)
        ).group_by(BlueprintNode.blueprint_id)
    ).all()
    return {bp_id: count for bp_id, count in rows}


def _blueprint_detail(blueprint: Blueprint) -> dict[str, Any]:
    report = blueprint_svc.health(db.session, blueprint.mode, blueprint_svc.node_specs(blueprint))
    return schemas.blueprint_detail(blueprint, report)


@bp.get("/blueprints")
@roles_required(*BANK_READERS)
def list_blueprints() -> JsonResponse:
    q = (request.args.get("q") or "").strip()
    occupation = schemas.int_arg(request.args, "occupation")
    level = schemas.level_arg(request.args)
    mode = schemas.choice_arg(request.args, "mode", [m.value for m in BlueprintMode])
    stmt = (select(Blueprint).join(Occupation, Occupation.id == Blueprint.occupation_id)
            .outerjoin(WorkType, WorkType.id == Blueprint.work_type_id))
    if (visible := access.blueprint_clause(actor())) is not None:
        stmt = stmt.where(visible)
    if q:
        stmt = stmt.where(or_(*(column.icontains(q, autoescape=True) for column in (
            Occupation.name, Occupation.code, WorkType.name, Blueprint.name))))
    if occupation is not None:
        stmt = stmt.where(Blueprint.occupation_id == occupation)
    if level is not None:
        stmt = stmt.where(Blueprint.level == level)
    if mode is not None:
        stmt = stmt.where(Blueprint.mode == mode)
    stmt = stmt.order_by(Occupation.code, WorkType.name.nulls_first(), Blueprint.level.desc(), Blueprint.mode,
                         Blueprint.id)

    def serialise(rows: list[Blueprint]) -> list[dict[str, Any]]:
        counts = _point_counts([b.id for b in rows])
        return [schemas.blueprint_summary(b, counts.get(b.id, 0)) for b in rows]

    return _paginate(stmt, serialise)


@bp.get("/blueprints/<int:blueprint_id>")
@roles_required(*BANK_READERS)
def get_blueprint(blueprint_id: int) -> JsonResponse:
    return _blueprint_detail(blueprint_svc.read_blueprint(db.session, actor(), blueprint_id))


@bp.post("/blueprints")
@roles_required(*BLUEPRINT_EDITORS)
def create_blueprint() -> Created:
    args = schemas.blueprint_create_from_json(_body())
    blueprint = blueprint_svc.create_blueprint(db.session, actor(), **args)
    db.session.commit()
    return _created(_blueprint_detail(blueprint), url_for("api.get_blueprint", blueprint_id=blueprint.id))


@bp.put("/blueprints/<int:blueprint_id>/nodes")
@roles_required(*BLUEPRINT_EDITORS)
def replace_blueprint_nodes(blueprint_id: int) -> JsonResponse:
    nodes = schemas.node_specs_from_json(_body())
    blueprint_svc.replace_nodes(db.session, actor(), blueprint_id, nodes)
    db.session.commit()
    blueprint = blueprint_svc.read_blueprint(db.session, actor(), blueprint_id)
    return _blueprint_detail(blueprint)


@bp.get("/blueprints/<int:blueprint_id>/coverage")
@roles_required(*BANK_READERS)
def blueprint_coverage(blueprint_id: int) -> JsonResponse:
    blueprint = blueprint_svc.read_blueprint(db.session, actor(), blueprint_id)
    rows = blueprint_svc.coverage(db.session, blueprint)
    minimum = get_rule(db.session, "blueprint_health")["min_items_per_point"]
    return schemas.coverage_json(blueprint, rows, blueprint_svc.coverage_summary(rows), minimum)


# ---------------------------------------------------------------- items (试题)


def _item_query() -> Select[Any]:
    """The pages' filters (:func:`itembank.items.item_query`), with unknown values refused
    instead of ignored."""
    args = request.args
    point_id, point_code = schemas.point_arg(args)
    numbers = {name: schemas.int_arg(args, name) for name in ("blueprint", "occupation")}
    level = schemas.level_arg(args)
    filters = {
        "q": args.get("q") or "",
        **{name: "" if value is None else str(value) for name, value in numbers.items()},
        "level": "" if level is None else str(level),
        "point": point_code or "",
        "point_id": "" if point_id is None else str(point_id),
        "type": schemas.choice_arg(args, "type", ITEM_TYPES) or "",
        "status": schemas.choice_arg(args, "status", schemas.ITEM_STATUSES) or "",
        "mine": "1" if schemas.bool_arg(args, "mine") else "",
    }
    return item_svc.item_query(filters, actor()).order_by(Item.id.desc())


@bp.get("/items")
@roles_required(*BANK_READERS)
def list_items() -> JsonResponse:
    return _paginate(_item_query(), lambda rows: [schemas.item_summary(i) for i in rows])


@bp.get("/items/<int:item_id>")
@roles_required(*BANK_READERS)
def get_item(item_id: int) -> JsonResponse:
    return schemas.item_detail(item_svc.read_item(db.session, actor(), item_id))


@bp.get("/items/<int:item_id>/versions")
@roles_required(*BANK_READERS)
def list_item_versions(item_id: int) -> JsonResponse:
    item = item_svc.read_item(db.session, actor(), item_id)
    return {"item_id": item.id, "versions": [schemas.version_summary(v) for v in item.versions]}


@bp.get("/items/<int:item_id>/versions/<int:number>")
@roles_required(*BANK_READERS)
def get_item_version(item_id: int, number: int) -> JsonResponse:
    item = item_svc.read_item(db.session, actor(), item_id)
    by_number = {v.number: v for v in item.versions}
    version = by_number.get(number)
    if version is None:
        raise NotFound("该版本不存在。")
    previous = by_number.get(number - 1)
    return {
        "item_id": item.id,
        **schemas.version_full(version),
        "current": version.id == item.current_version_id,
        "diff_from_previous": None if previous is None
        else schemas.diff_json(item_svc.version_diff(previous, version)),
    }


@bp.post("/items")
@roles_required(*ITEM_WRITERS)
def create_item() -> Created:
    args = schemas.item_create_from_json(_body())
    item = item_svc.create_item(db.session, actor(), **args)
    db.session.commit()
    return _created(schemas.item_detail(item), url_for("api.get_item", item_id=item.id))


@bp.put("/items/<int:item_id>")
@roles_required(*ITEM_WRITERS)
def revise_item(item_id: int) -> JsonResponse:
    item = item_svc.read_item(db.session, actor(), item_id)
    content, note = schemas.item_revise_from_json(_body(), item.item_type)
    item = item_svc.revise_item(db.session, actor(), item_id, content, note=note)
    db.session.commit()
    return schemas.item_detail(item)


def _run_transition(action: str, item_id: int, comment: str) -> Item:
    session, me = db.session, actor()
    if action == "submit":
        return item_svc.submit_item(session, me, item_id)
    if action == "review":
        return item_svc.review_item(session, me, item_id, comment)
    if action == "approve":
        return item_svc.approve_item(session, me, item_id, comment)
    if action == "return":
        return item_svc.return_item(session, me, item_id, comment)
    if action == "activate":
        return item_svc.activate_item(session, me, item_id)
    try:
        return item_svc.retire_item(session, me, item_id, comment)
    except ValidationError as exc:
        if exc.field == "reason":  # the service calls the retirement reason "reason"
            exc.field = "comment"
        raise


@bp.post("/items/<int:item_id>/transitions")
@roles_required(*BANK_READERS)
def transition_item(item_id: int) -> JsonResponse:
    action, comment = schemas.transition_from_json(_body())
    if actor().role not in {r.value for r in TRANSITION_ROLES[action]}:
        raise PermissionDenied("您没有执行此操作的权限。")
    item = _run_transition(action, item_id, comment)
    db.session.commit()
    return schemas.item_detail(item)


@bp.get("/items/<int:item_id>/duplicates")
@roles_required(*BANK_READERS)
def item_duplicates(item_id: int) -> JsonResponse:
    threshold = schemas.float_arg(request.args, "threshold", 0.5, 1.0)
    item = item_svc.read_item(db.session, actor(), item_id)
    assert item.current_version is not None
    kwargs: dict[str, Any] = {"exclude_item_id": item.id}
    if threshold is not None:
        kwargs["threshold"] = threshold
    found = item_svc.find_duplicates(db.session, item.current_version.stem_html, viewer=actor(), **kwargs)
    return {"item_id": item.id, "duplicates": [schemas.duplicate_json(other, sim) for other, sim in found]}


# ---------------------------------------------------------------- enemy sets (互斥题组)


def _enemy_sets_json(rows: list[EnemySet]) -> list[dict[str, Any]]:
    members = enemy_svc.set_items(db.session, rows)
    creator_ids = {s.created_by_id for s in rows if s.created_by_id is not None}
    creators: dict[int, User] = {}
    if creator_ids:
        creators = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(creator_ids)))}
    return [schemas.enemy_set_json(s, members[s.id], creators.get(s.created_by_id or 0)) for s in rows]


@bp.get("/enemy-sets")
@roles_required(*BANK_READERS)
def list_enemy_sets() -> JsonResponse:
    stmt = enemy_svc.enemy_set_query(
        q=(request.args.get("q") or "").strip(), blueprint_id=schemas.int_arg(request.args, "blueprint"),
        item_id=schemas.int_arg(request.args, "item"), viewer=actor(),
    )
    return _paginate(stmt, _enemy_sets_json)


@bp.post("/enemy-sets")
@roles_required(*ENEMY_EDITORS)
def create_enemy_set() -> tuple[JsonResponse, int]:
    args = schemas.enemy_set_create_from_json(_body())
    enemy_set = enemy_svc.create_enemy_set(db.session, actor(), args["name"], args["item_codes"])
    db.session.commit()
    return _enemy_sets_json([enemy_set])[0], 201


@bp.delete("/enemy-sets/<int:set_id>")
@roles_required(*ENEMY_EDITORS)
def delete_enemy_set(set_id: int) -> JsonResponse:
    enemy_svc.delete_enemy_set(db.session, actor(), set_id)
    db.session.commit()
    return {"id": set_id, "deleted": True}


# ---------------------------------------------------------------- papers (试卷)
#
# As on the paper pages (web/bank/paper_views.py): centre admins see every paper, an
# institution admin only its own institution's, an item reviewer only the papers of their
# assigned (occupation, institution) pairs (403 otherwise). Forms list items
# by reference only, never their content or key, since institution admins read them too.


def _load_paper(paper_id: int) -> Paper:
    """The paper with its forms and pinned items, if the caller may see it (404, then 403)."""
    paper = db.session.scalar(
        select(Paper).where(Paper.id == paper_id).options(
            selectinload(Paper.forms).selectinload(PaperForm.items).options(
                selectinload(PaperItem.item).selectinload(Item.point), selectinload(PaperItem.version),
            ),
            selectinload(Paper.created_by),
        )
    )
    if paper is None:
        raise NotFound("试卷不存在。")
    if not paper_svc.can_see_paper(actor(), paper):
        raise PermissionDenied("您无权访问该试卷。")
    return paper


def _paper_detail(paper: Paper) -> JsonResponse:
    institution = db.session.get(Institution, paper.institution_id)
    approved_by = db.session.get(User, paper.approved_by_id) if paper.approved_by_id else None
    history = db.session.scalars(
        select(AuditEntry).where(AuditEntry.target_type == "paper", AuditEntry.target_id == str(paper.id))
        .order_by(AuditEntry.seq)
    )
    return schemas.paper_detail(paper, institution, approved_by, history)


@bp.get("/papers")
@roles_required(*PAPER_READERS)
def list_papers() -> JsonResponse:
    me = actor()
    q = (request.args.get("q") or "").strip()
    status = schemas.choice_arg(request.args, "status", schemas.PAPER_STATUSES)
    blueprint = schemas.int_arg(request.args, "blueprint")
    institution = schemas.int_arg(request.args, "institution")
    stmt = paper_svc.visible_papers(me).options(selectinload(Paper.forms), selectinload(Paper.created_by))
    if me.role == Role.INSTITUTION_ADMIN:
        stmt = stmt.where(Paper.institution_id == me.institution_id)  # the filter is ignored
    elif institution is not None:
        stmt = stmt.where(Paper.institution_id == institution)
    if q:
        stmt = stmt.where(Paper.name.icontains(q, autoescape=True))
    if status is not None:
        stmt = stmt.where(Paper.status == status)
    if blueprint is not None:
        stmt = stmt.where(Paper.blueprint_id == blueprint)
    stmt = stmt.order_by(Paper.created_at.desc(), Paper.id.desc())

    def serialise(rows: list[Paper]) -> list[dict[str, Any]]:
        ids = {p.institution_id for p in rows}
        names = {i.id: i for i in db.session.scalars(select(Institution).where(Institution.id.in_(ids)))} \
            if ids else {}
        return [schemas.paper_summary(p, names.get(p.institution_id)) for p in rows]

    return _paginate(stmt, serialise)


@bp.get("/papers/<int:paper_id>")
@roles_required(*PAPER_READERS)
def get_paper(paper_id: int) -> JsonResponse:
    return _paper_detail(_load_paper(paper_id))


@bp.get("/papers/<int:paper_id>/curves")
@roles_required(*PAPER_READERS)
def paper_curves(paper_id: int) -> JsonResponse:
    paper = _load_paper(paper_id)
    return schemas.paper_curves_json(paper, paper_svc.information_curves(paper))


@bp.get("/papers/<int:paper_id>/coverage")
@roles_required(*PAPER_READERS)
def paper_coverage(paper_id: int) -> JsonResponse:
    paper = _load_paper(paper_id)
    return schemas.paper_coverage_json(paper, paper_svc.form_coverage(paper))


@bp.post("/papers")
@roles_required(*paper_svc.ASSEMBLERS)
def create_paper() -> Created:
    """Queue the assembly: 202 with the job (``Location``: its URL); the paper's id is in the
    job's result once it is done."""
    args = schemas.paper_create_from_json(_body())
    me = actor()
    if args["institution_id"] is None:
        if me.role != Role.INSTITUTION_ADMIN or me.institution_id is None:
            raise ValidationError("请指定评价机构 institution_id。", field="institution_id")
        args["institution_id"] = me.institution_id
    # Unknown ids are input errors naming the field (the service would answer 404 for both).
    if db.session.get(Institution, args["institution_id"]) is None:
        raise ValidationError("评价机构不存在。", field="institution_id")
    if db.session.get(Blueprint, args["blueprint_id"]) is None:
        raise ValidationError("细目表不存在。", field="blueprint_id")
    # What needs no item pool is refused at once; the pool and the solve run in a job
    # (itembank.paper_jobs), whose URL the 202 gives: GET it until it is finished.
    paper_svc.check_paper_request(
        db.session, me, institution_id=args["institution_id"], blueprint_id=args["blueprint_id"], name=args["name"],
        mode=args["mode"], n_forms=args["n_forms"], duration_minutes=args["duration_minutes"])
    job_id = queue_job(paper_jobs.ASSEMBLE, paper_jobs.assembly_params(**args),
                       object_type="blueprint", object_id=args["blueprint_id"])
    return _job_json(_readable_job(job_id)), 202, {"Location": url_for("api.get_job", job_id=job_id)}


@bp.post("/papers/<int:paper_id>/transitions")
@roles_required(*PAPER_READERS)
def transition_paper(paper_id: int) -> JsonResponse:
    action, comment = schemas.paper_transition_from_json(_body())
    me = actor()
    if me.role not in {r.value for r in PAPER_TRANSITION_ROLES[action]}:
        raise PermissionDenied("您没有执行此操作的权限。")
    paper = _load_paper(paper_id)
    if action == "submit":
        paper_svc.submit_paper(db.session, me, paper.id)
    elif action == "approve":
        paper_svc.approve_paper(db.session, me, paper.id, comment.strip())
    else:
        paper_svc.return_paper(db.session, me, paper.id, comment)
    db.session.commit()
    return _paper_detail(_load_paper(paper_id))


@bp.delete("/papers/<int:paper_id>")
@roles_required(*paper_svc.ASSEMBLERS)
def delete_paper(paper_id: int) -> JsonResponse:
    paper = _load_paper(paper_id)
    paper_svc.delete_paper(db.session, actor(), paper.id)
    db.session.commit()
    return {"id": paper_id, "deleted": True}


# ---------------------------------------------------------------- jobs (后台任务)
#
# Heavy work the API starts runs as a background job (today: paper assembly). A job is
# visible to its starter only (and to whom its kind allows), as on the pages; anyone else
# gets 404.


def _readable_job(job_id: int) -> Job:
    job = readable_job(job_id)
    if job is None:
        raise NotFound("没有这个任务。")
    return job


def _job_json(job: Job) -> JsonResponse:
    links: dict[str, str] = {}
    paper_id = (job.result or {}).get("paper_id") if job.status == JobStatus.DONE else None
    if paper_id:
        links["paper_url"] = url_for("api.get_paper", paper_id=paper_id)
    return schemas.job_json(job, url_for("api.get_job", job_id=job.id), **links)


@bp.get("/jobs/<int:job_id>")
@roles_required(*STAFF_ROLES)
def get_job(job_id: int) -> JsonResponse:
    return _job_json(_readable_job(job_id))
