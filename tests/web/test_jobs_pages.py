"""The job pages (/jobs/<id>): only the job's starter reads its progress and result; anyone
else, of any role, gets 404 as if the job did not exist."""

from __future__ import annotations

import pytest

from foundation import jobs
from foundation.roles import Role
from itembank import item_excel as xl
from itembank import transfer_jobs
from tests.factories import make_blueprint, make_user
from tests.itembank.worlds import single, xlsx

STAFF = [r for r in Role if r is not Role.CANDIDATE]


@pytest.fixture
def export_job(session, client, login):
    writer = make_user(session, Role.QUESTION_WRITER)
    xl.import_items(session, writer, make_blueprint(session), xlsx([single("J-1")]))
    resp = login(writer).post("/itembank/items/export", data={"format": "xlsx"})
    assert resp.status_code == 302
    return resp.headers["Location"]


def test_the_starter_sees_progress_result_and_file(session, client, export_job):
    status = client.get(export_job + "/status.json").get_json()
    assert status["status"] == "done" and status["progress"] == 100 and status["finished"]
    assert status["message"] == "已导出 1 道试题（Excel）。" and status["download_url"] == export_job + "/download"
    html = client.get(export_job).get_data(as_text=True)
    assert "导出试题" in html and 'id="job-download"' in html and "已完成" in html
    file = client.get(export_job + "/download")
    assert file.status_code == 200 and file.data[:2] == b"PK"


@pytest.mark.parametrize("role", STAFF)
def test_anyone_else_gets_404(session, client, login, export_job, role):
    login(make_user(session, role))
    for suffix in ("", "/status.json", "/download"):
        assert client.get(export_job + suffix).status_code == 404, suffix


def test_a_failed_or_unfinished_job_has_no_download(session, client, login):
    writer = make_user(session, Role.QUESTION_WRITER)
    job = jobs.enqueue(session, writer, transfer_jobs.EXPORT, {"format": "xlsx"})
    session.flush()
    login(writer)
    assert client.get(f"/jobs/{job.id}/status.json").get_json()["status"] == "queued"
    assert client.get(f"/jobs/{job.id}/download").status_code == 404
    resp = client.post("/itembank/items/export", data={"q": "没有这样的题"})  # fails: nothing to export
    assert client.get(resp.headers["Location"] + "/download").status_code == 404
    assert client.get(resp.headers["Location"] + "/status.json").get_json()["error"] == "没有符合条件的试题可以导出。"
