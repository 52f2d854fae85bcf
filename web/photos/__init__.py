"""Candidate photos (照片): the authorised photo route, the candidate's own upload page, the
institution admin's upload on a candidate's account page and the zip import (a background job).
The store is outside the web root: ``PHOTO_DIR`` (default ``instance/photos``)."""

from __future__ import annotations

import os
from collections.abc import Iterable

from flask import Blueprint, current_app
from sqlalchemy import select

from foundation.people import Person
from foundation.photos import PhotoStore
from web.extensions import db

bp = Blueprint("photos", __name__)


def photo_store() -> PhotoStore:
    return PhotoStore(current_app.config.get("PHOTO_DIR") or os.path.join(current_app.instance_path, "photos"))


def photos_of(person_ids: Iterable[int | None]) -> dict[int, bytes]:
    """The photo bytes of those of ``person_ids`` who have one (for PDFs)."""
    ids = {i for i in person_ids if i is not None}
    if not ids:
        return {}
    store = photo_store()
    found = {}
    for person_id, sha in db.session.execute(select(Person.id, Person.photo_sha256).where(
            Person.id.in_(ids), Person.photo_sha256.is_not(None))):
        data = store.read(sha)
        if data is not None:
            found[person_id] = data
    return found


from web.photos import views  # noqa: E402,F401


def photo_paths_of(person_ids: Iterable[int]) -> dict[int, str]:
    """The paths of the stored photos (``.jpg`` files) of those of ``person_ids`` who have one;
    for the certificate PDF, whose renderer copies a JPEG file into the PDF without decoding it."""
    ids = set(person_ids)
    store = photo_store()
    found = {}
    for person_id, sha in db.session.execute(select(Person.id, Person.photo_sha256).where(
            Person.id.in_(ids), Person.photo_sha256.is_not(None))):
        path = store.path(sha)
        if path.exists():
            found[person_id] = str(path)
    return found


def photo_path_of(person_id: int) -> str | None:
    return photo_paths_of([person_id]).get(person_id)
