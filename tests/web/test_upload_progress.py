"""Every import form uploads through upload_progress.js (progress, then 「正在检查并解析文件…」)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
IMPORT_PAGES = ["bank/transfer/import.html", "bank/blueprints/import.html", "batches/import.html",
                "occupations/import.html", "analysis/runs/response_set_new.html", "photos/import.html",
                "competitions/import.html", "reviews/dossier.html"]
#: Photo uploads (at most 2 MB, one picture): plain forms, no progress script needed.
PHOTO_FORMS = ["photos/mine.html", "users/edit.html"]


@pytest.mark.parametrize("name", IMPORT_PAGES)
def test_import_forms_are_progress_enabled(name):
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    assert re.search(r'<form[^>]*enctype="multipart/form-data"[^>]*data-upload-progress', text, re.S)
    assert "js/upload_progress.js" in text


def test_every_multipart_form_is_listed():
    """A new upload form must be added here (and get the script) deliberately."""
    found = sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")
                   if 'enctype="multipart/form-data"' in p.read_text(encoding="utf-8"))
    assert found == sorted(IMPORT_PAGES + PHOTO_FORMS)


def test_the_script_is_served_from_static(client):
    resp = client.get("/static/js/upload_progress.js")
    assert resp.status_code == 200 and b"XMLHttpRequest" in resp.data
    resp.close()
