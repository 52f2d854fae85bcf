"""Request size limits (web/uploads.py): every route keeps the small default; the response-set
import (marked @large_upload) takes large files, kept on disk and imported by a job.

The limits are lowered here (32 KB default, 256 KB large) so that the files stay small; the
mechanism is the same at 16 MB / 256 MB."""

from __future__ import annotations

import io

import numpy as np
import pytest
from sqlalchemy import func, select

from foundation.jobs import Job
from foundation.roles import Role
from grading.psychometrics.models import ResponseSet
from tests.factories import make_blueprint, make_user
from tests.grading.worlds import make_items

# Bodies stay under 500 KB: above it the test client spools the request to a temporary file it never
# closes when the app refuses the body unread (a ResourceWarning at some later garbage collection).
SMALL, LARGE = 32 * 1024, 256 * 1024
NEW = "/analysis/response-sets/new"


@pytest.fixture
def limits(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", SMALL)
    monkeypatch.setitem(app.config, "LARGE_UPLOAD_MAX_BYTES", LARGE)


def _csv(codes: list[str], rows: int, seed: int = 3) -> bytes:
    rng = np.random.default_rng(seed)
    lines = ["考生编号," + ",".join(codes)]
    lines += [f"K{r:07d}," + ",".join(str(v) for v in rng.integers(0, 2, len(codes))) for r in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def _post(client, url, fields, data, filename):
    return client.post(url, data={**fields, "up-file" if url == NEW else "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def test_a_file_over_the_default_limit_is_imported_on_the_response_set_page(session, client, login, limits):
    bp = make_blueprint(session)
    items = make_items(session, bp, 12, seed=4)
    centre = make_user(session, Role.CENTRE_ADMIN)
    login(centre)
    data = _csv([i.code for i in items], 4000)
    assert SMALL < len(data) < LARGE
    resp = _post(client, NEW, {"up-mode": "upload", "up-blueprint_id": str(bp.id), "up-name": "全省"}, data,
                 "responses.csv")
    assert resp.status_code == 302 and "/jobs/" in resp.headers["Location"]
    job = session.scalars(select(Job)).one()
    assert job.kind == "response_set.import" and job.status == "done", job.error
    rs = session.scalars(select(ResponseSet)).one()
    assert (rs.n_examinees, rs.n_items) == (4000, 12)
    assert "已导入作答数据「全省」：4000 人 × 12 题" in client.get(resp.headers["Location"]).get_data(as_text=True)


def test_the_same_body_is_refused_everywhere_else_and_the_large_limit_holds(session, client, login, limits):
    bp = make_blueprint(session)
    items = make_items(session, bp, 12, seed=4)
    writer = make_user(session, Role.QUESTION_WRITER)
    centre = make_user(session, Role.CENTRE_ADMIN)
    body = _csv([i.code for i in items], 4000)
    login(writer)
    resp = _post(client, "/itembank/items/import", {"blueprint_id": str(bp.id)}, body, "items.xlsx")
    assert resp.status_code == 413
    assert "上传的文件过大（本页最大 32 KB）" in resp.get_data(as_text=True)
    login(centre)
    huge = _csv([i.code for i in items], 12_000)
    assert LARGE < len(huge) < 500 * 1024
    resp = _post(client, NEW, {"up-mode": "upload", "up-blueprint_id": str(bp.id), "up-name": "全省"}, huge,
                 "responses.csv")
    assert resp.status_code == 413 and "本页最大 256 KB" in resp.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Job)) == 0
    assert session.scalar(select(func.count()).select_from(ResponseSet)) == 0


def test_only_the_response_set_import_takes_large_uploads(app):
    from web.uploads import takes_large_uploads

    with app.test_request_context():
        assert [e for e in app.view_functions if takes_large_uploads(e)] == ["analysis.response_set_new"]
