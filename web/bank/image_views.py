"""Item images: serving stored images (all roles, candidates see them in exams) and the
editor's upload endpoint (writers and reviewers), which answers JSON."""

from __future__ import annotations

from flask import abort, jsonify, request
from werkzeug.wrappers import Response

from foundation.errors import DomainError
from itembank import images
from itembank.images import UPLOADERS, get_image, image_url, store_image
from web.access import ALL_ROLES, actor, roles_required
from web.bank import bp
from web.extensions import db

IMAGE_CSP = "default-src 'none'; img-src 'self'; sandbox"
CACHE_SECONDS = 365 * 24 * 3600


@bp.get("/images/<int:image_id>.<ext>")
@roles_required(*ALL_ROLES)
def image(image_id: int, ext: str) -> Response:
    try:
        img = get_image(db.session, image_id)
    except DomainError:
        abort(404)
    if ext != images.EXTENSIONS.get(img.mime):
        abort(404)
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

