"""Item images: serving stored images (staff: the images of the items they may read, see
``itembank.images.can_read_image``; candidates: only the images of the items they are
answering now) and the editor's upload endpoint (writers and reviewers),
which answers JSON."""

from __future__ import annotations

from flask import abort, jsonify, request
from sqlalchemy import or_, select
from werkzeug.wrappers import Response

from examroom.models import Attempt
from foundation.errors import DomainError
from foundation.roles import Role
from itembank import images
from itembank.images import UPLOADERS, URL_PREFIX, get_image, image_url, store_image
from itembank.models import ItemVersion, PaperItem
from web.access import ALL_ROLES, actor, roles_required
from web.bank import bp
from web.extensions import db

IMAGE_CSP = "default-src 'none'; img-src 'self'; sandbox"
CACHE_SECONDS = 365 * 24 * 3600
#: Attempt statuses in which a candidate sees their items (and so the items' images).
ANSWERING = ("in_progress", "paused")


def _candidate_may_see(candidate_id: int, image_id: int) -> bool:
    """Whether an item of the form of one of the candidate's attempts being answered right now
    references the image (in its stem or in its spec: options, ...). Before the start and after
    the end nothing is shown, so an exam's images cannot be fetched early or collected later."""
    needle = f"{URL_PREFIX}{image_id}."
    found = db.session.scalar(
        select(ItemVersion.id)
        .join(PaperItem, PaperItem.item_version_id == ItemVersion.id)
        .join(Attempt, Attempt.paper_form_id == PaperItem.form_id)
        .where(Attempt.candidate_id == candidate_id, Attempt.status.in_(ANSWERING),
               or_(ItemVersion.stem_html.contains(needle, autoescape=True),
                   ItemVersion.spec_json.contains(needle, autoescape=True)))
        .limit(1)
    )
    return found is not None


@bp.get("/images/<int:image_id>.<ext>")
@roles_required(*ALL_ROLES)
def image(image_id: int, ext: str) -> Response:
    try:
        img = get_image(db.session, image_id)
    except DomainError:
        abort(404)
    if ext != images.EXTENSIONS.get(img.mime):
        abort(404)
    me = actor()
    if me.role == Role.CANDIDATE.value:
        if not _candidate_may_see(me.id, img.id):
            abort(404)  # not one of their exam's images: not acknowledged to exist
    elif not images.can_read_image(db.session, me, img):
        abort(404)  # staff: only images of items they may read (itembank.images)
    resp = Response(img.data, mimetype=img.mime)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Disposition"] = f'inline; filename="{img.id}.{ext}"'
    resp.headers["Content-Security-Policy"] = IMAGE_CSP
    # Behind a login, so never in shared caches; the bytes of an id never change.
    resp.headers["Cache-Control"] = f"private, max-age={CACHE_SECONDS}, immutable"
    resp.set_etag(img.sha256)
    return resp.make_conditional(request)


@bp.post("/images")
@roles_required(*UPLOADERS)
def image_upload() -> tuple[Response, int] | Response:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return jsonify(error="请选择要上传的图片。"), 400
    try:
        img = store_image(db.session, actor(), upload.stream.read(images.MAX_IMAGE_BYTES + 1), upload.filename)
    except DomainError as exc:
        db.session.rollback()
        return jsonify(error=exc.message), exc.status
    db.session.commit()
    return jsonify(url=image_url(img), width=img.width, height=img.height, id=img.id)

