from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.wrappers import Response

from examroom.photo_access import can_view_photo
from foundation import photos
from foundation.errors import DomainError, ValidationError
from foundation.people import Person
from foundation.photos import PHOTO_IMPORT, PHOTO_RULES, get_person, photo_of, set_photo
from foundation.roles import Role
from web.access import ALL_ROLES, actor, roles_required
from web.actions import perform
from web.extensions import db
from web.jobs.views import save_upload, start
from web.photos import bp, photo_store

PHOTO_CSP = "default-src 'none'; img-src 'self'; sandbox"
#: A zip of photos may be larger than the app-wide request limit.
MAX_ZIP_REQUEST = photos.MAX_ZIP_BYTES + 1024 * 1024


class PhotoForm(FlaskForm):
    photo = FileField("照片")


class ZipForm(FlaskForm):
    file = FileField("照片压缩包（ZIP）")


def _read_upload(field: str, limit: int) -> bytes:
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        raise ValidationError("请选择照片文件。", field=field)
    return upload.stream.read(limit + 1)


@bp.get("/people/<int:person_id>/photo.jpg")
@roles_required(*ALL_ROLES)
def person_photo(person_id: int) -> Response:
    """A person's photo, only for whom :func:`examroom.photo_access.can_view_photo` allows;
    anyone else, and a person without a photo, get the same 404."""
    if not can_view_photo(db.session, actor(), person_id):
        abort(404)
    person = db.session.get(Person, person_id)
    data = photo_of(photo_store(), person)
    if data is None:
        abort(404)
    resp = Response(data, mimetype="image/jpeg")
    resp.headers["Content-Security-Policy"] = PHOTO_CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.route("/me/photo", methods=["GET", "POST"])
@roles_required(Role.CANDIDATE)
def my_photo() -> str | Response | tuple[str, int]:
    me = actor()
    form = PhotoForm()
    if me.person_id is None:
        abort(404)
    person = get_person(db.session, me.person_id)
    if form.validate_on_submit():
        try:
            set_photo(db.session, me, photo_store(), person, _read_upload("photo", photos.MAX_PHOTO_BYTES))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return render_template("photos/mine.html", form=form, person=person, rules=PHOTO_RULES), 400
        db.session.commit()
        flash("照片已上传。", "success")
        return redirect(url_for("photos.my_photo"))
    return render_template("photos/mine.html", form=form, person=person, rules=PHOTO_RULES)


@bp.post("/people/<int:person_id>/photo")
@roles_required(Role.INSTITUTION_ADMIN)
def upload_for_person(person_id: int) -> Response:
    """The institution admin's upload, from a candidate's account page (``user`` names it)."""
    back = request.args.get("user", type=int)
    target = url_for("users.edit", user_id=back) if back else url_for("photos.import_zip")
    form = PhotoForm()
    if not form.validate_on_submit():
        abort(400)
    person = db.session.get(Person, person_id)
    if person is None or not photos.may_set_photo(db.session, actor(), person):
        abort(404)  # not one of this institution's candidates: not acknowledged to exist
    perform(lambda: set_photo(db.session, actor(), photo_store(), person,
                              _read_upload("photo", photos.MAX_PHOTO_BYTES)),
            back=target, missing_is_404=False)
    flash("照片已上传。", "success")
    return redirect(target)


@bp.route("/photos/import", methods=["GET", "POST"])
@roles_required(Role.INSTITUTION_ADMIN)
def import_zip() -> str | Response | tuple[str, int]:
    if request.method == "POST":
        request.max_content_length = MAX_ZIP_REQUEST
    form = ZipForm()
    if form.validate_on_submit():
        try:
            data = _read_upload("file", photos.MAX_ZIP_BYTES)
            if len(data) > photos.MAX_ZIP_BYTES:
                raise ValidationError(f"压缩包过大：最大 {photos.MAX_ZIP_BYTES // (1024 * 1024)} MB。")
            if not data.startswith(b"PK"):
                raise ValidationError("请上传 ZIP 格式的照片压缩包。")
        except DomainError as exc:
            flash(exc.message, "danger")
            return render_template("photos/import.html", form=form, rules=PHOTO_RULES), 400
        return start(PHOTO_IMPORT, {"upload": save_upload(data, ".zip"), "photo_dir": str(photo_store().root)},
                     object_type="institution", object_id=actor().institution_id)
    return render_template("photos/import.html", form=form, rules=PHOTO_RULES)
