"""The calibration pages (题目分析 · 参数标定): response sets (upload with row errors, simulate),
starting a run and polling its status until done, the results table, the launcher, roles."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from sqlalchemy import func, select

from foundation.roles import Role
from grading.psychometrics import calibration as cal
from grading.psychometrics import responses as rsp
from grading.psychometrics.models import CalibrationRun, ResponseSet
from tests.factories import assign, make_blueprint, make_user
from tests.grading.worlds import flip_column, make_items, xlsx_bytes

NEW = "/analysis/response-sets/new"


@pytest.fixture
def inline(app, monkeypatch):
    monkeypatch.setitem(app.config, "ANALYSIS_RUN_INLINE", True)
    monkeypatch.delitem(app.config, "ANALYSIS_RUN_LAUNCHER", raising=False)


@pytest.fixture
def world(session):
    bp = make_blueprint(session)
    items = make_items(session, bp, 12, seed=9)
    reviewer = make_user(session, Role.ITEM_REVIEWER)
    assign(session, reviewer, bp.occupation_id)  # the centre's items of this occupation
    return {"bp": bp, "items": items, "reviewer": reviewer, "centre": make_user(session, Role.CENTRE_ADMIN)}


def _assert_csp_clean(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert " style=" not in html and "<style" not in html, "inline style"


def _simulate(client, bp_id, n=800, seed=9, **extra):
    data = {"sim-mode": "simulate", "sim-blueprint_id": str(bp_id), "sim-n_examinees": str(n),
            "sim-seed": str(seed), "sim-missing_design": "none", "sim-ability_mean": "0", "sim-name": ""}
    data.update(extra)
    return client.post(NEW, data=data)


def _poll(client, run_id, limit=30):
    seen = []
    for _ in range(limit):
        data = client.get(f"/analysis/runs/{run_id}/status.json").get_json()
        seen.append(data["status"])
        if data["finished"]:
            return data, seen
    raise AssertionError(f"run {run_id} did not finish: {seen}")


def test_simulate_start_run_and_poll_until_done(session, client, login, world, inline):
    login(world["reviewer"])
    page = client.get(NEW)
    assert page.status_code == 200
    _assert_csp_clean(page.get_data(as_text=True))

    resp = _simulate(client, world["bp"].id)
    assert resp.status_code == 302 and "tab=sets" in resp.headers["Location"]
    rs = session.scalars(select(ResponseSet).where(ResponseSet.blueprint_id == world["bp"].id)).one()
    assert (rs.source, rs.n_examinees, rs.n_items) == ("simulation", 800, 12)
    miskeyed = world["items"][4]
    flip_column(session, rs, miskeyed.id)

    sets = client.get("/analysis/?tab=sets").get_data(as_text=True)
    assert rs.name in sets and 'name="response_set_id"' in sets and "未标定" in sets
    _assert_csp_clean(sets)

    resp = client.post("/analysis/runs", data={"response_set_id": str(rs.id), "model": "2pl",
                                               "linking_method": "stocking_lord"})
    assert resp.status_code == 302
    run_id = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    data, _ = _poll(client, run_id)
    assert data["status"] == "done" and data["progress"] == 100 and data["status_label"] == "已完成"

    html = client.get(f"/analysis/runs/{run_id}").get_data(as_text=True)
    _assert_csp_clean(html)
    assert 'id="param-table"' in html and "定义题库量尺" in html and "已收敛" in html
    row = re.search(rf'<tr class="ar-flagged" data-item="{miskeyed.code}">(.*?)</tr>', html, re.S)
    assert row and "请核对答案" in row.group(1)
    assert f'/itembank/items/{miskeyed.id}"' in row.group(1)
    assert "js/analysis_runs.js" in html
    flagged_only = client.get(f"/analysis/runs/{run_id}?flagged=1").get_data(as_text=True)
    classes = re.findall(r'<tr class="([^"]*)" data-item=', flagged_only)
    assert classes and set(classes) == {"ar-flagged"} and miskeyed.code in flagged_only
    # Simulated responses are a sandbox: the page says so, and the flagged item stays in use
    # with no bank parameters (the results are kept on the run only).
    assert 'id="run-sandbox"' in html and "模拟数据：结果仅供演示，不更新试题" in html
    assert "模拟结果，未写入题库" in row.group(1) and "模拟数据不退回审核" in html
    assert "模拟数据：结果仅供演示，不更新试题" in data["message"]
    session.expire_all()
    assert miskeyed.status == "active" and miskeyed.irt_a is None
    assert all(i.status == "active" and i.irt_b is None for i in world["items"])
    assert "标定结果仅供演示，不更新试题" in client.get("/analysis/?tab=sets").get_data(as_text=True)

    runs = client.get("/analysis/").get_data(as_text=True)
    assert f"#{run_id}" in runs and "ar-status-done" in runs


def test_queued_run_polls_until_the_worker_finishes(app, session, client, login, world, runner, monkeypatch):
    launched: list[int] = []
    monkeypatch.setitem(app.config, "ANALYSIS_RUN_LAUNCHER", launched.append)
    login(world["centre"])
    rs = rsp.simulate_response_set(session, world["centre"], world["bp"].id, 500, 3)
    session.flush()
    resp = client.post("/analysis/runs", data={"response_set_id": str(rs.id), "model": "rasch",
                                               "linking_method": "haebara"})
    assert resp.status_code == 302
    run = session.scalars(select(CalibrationRun).where(CalibrationRun.response_set_id == rs.id)).one()
    assert launched == [run.id]

    status = client.get(f"/analysis/runs/{run.id}/status.json")
    assert status.headers["Cache-Control"] == "no-store"
    assert status.get_json() == {"id": run.id, "status": "queued", "status_label": "排队中", "progress": 0,
                                 "stage": "等待开始", "message": "", "finished": False}
    html = client.get(f"/analysis/runs/{run.id}").get_data(as_text=True)
    assert 'data-status="queued"' in html and "<progress" in html and 'id="param-table"' not in html

    # A second start while one is queued is refused.
    again = client.post("/analysis/runs", data={"response_set_id": str(rs.id)})
    assert again.status_code == 400 and "排队或运行中" in again.get_data(as_text=True)

    # The worker (what the launcher starts) executes it; the page's poll then sees it finish.
    result = runner.invoke(args=["grading", "run", str(run.id)])
    assert result.exit_code == 0, result.output
    data, _ = _poll(client, run.id)
    assert data["status"] == "done"
    html = client.get(f"/analysis/runs/{run.id}").get_data(as_text=True)
    assert 'id="param-table"' in html and "Rasch" in html


def test_a_started_run_is_queued_as_a_job_for_the_worker(app, session, client, login, world, monkeypatch):
    from foundation.jobs import Job
    from grading.psychometrics import calibration_job

    monkeypatch.delitem(app.config, "ANALYSIS_RUN_INLINE", raising=False)
    monkeypatch.delitem(app.config, "ANALYSIS_RUN_LAUNCHER", raising=False)
    login(world["reviewer"])
    rs = rsp.simulate_response_set(session, world["reviewer"], world["bp"].id, 200, 1)
    session.flush()
    resp = client.post("/analysis/runs", data={"response_set_id": str(rs.id)})
    assert resp.status_code == 302
    run = session.scalars(select(CalibrationRun).where(CalibrationRun.response_set_id == rs.id)).one()
    job = session.scalars(select(Job).where(Job.kind == calibration_job.RUN)).one()
    assert job.params == {"run_id": run.id} and job.status == "queued" and job.user_id == world["reviewer"].id
    assert run.status == "queued"


def test_the_job_worker_executes_a_queued_run(app, session, world, tmp_path):
    from foundation import jobs
    from foundation.jobs import Job
    from grading.psychometrics import calibration_job
    from web.extensions import db

    rs = rsp.simulate_response_set(session, world["reviewer"], world["bp"].id, 200, 1)
    run = cal.start_run(session, world["reviewer"], rs.id)
    job = jobs.enqueue(session, world["reviewer"], calibration_job.RUN, {"run_id": run.id})
    session.commit()
    assert jobs.run_next(db.session.session_factory, tmp_path) == job.id
    session.expire_all()
    assert session.get(CalibrationRun, run.id).status == "done"
    assert session.get(Job, job.id).status == "done" and session.get(Job, job.id).result["run_id"] == run.id


def _upload(client, bp_id, data, name="第一批", filename="responses.xlsx"):
    return client.post(NEW, data={"up-mode": "upload", "up-blueprint_id": str(bp_id), "up-name": name,
                                  "up-file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def test_upload_with_a_bad_row_shows_errors_and_writes_nothing(session, client, login, world):
    """The file is kept and imported by a background job (run inline here); its page lists the
    row errors, or says what was imported."""
    a, b, c = world["items"][:3]
    login(world["centre"])
    data = xlsx_bytes([["性别", a.code, b.code, c.code], ["男", "B", 1, 0], ["女", "Z", 1, "x"]])
    resp = _upload(client, world["bp"].id, data)
    assert resp.status_code == 302 and "/jobs/" in resp.headers["Location"]
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'id="import-errors"' in html and "导入失败" in html
    assert "第 3 行" in html and a.code in html and c.code in html
    assert session.scalar(select(func.count()).select_from(ResponseSet)) == 0

    good = xlsx_bytes([["性别", a.code, b.code, c.code], ["男", "B", 1, 0], ["女", "A", 0, ""]])
    resp = _upload(client, world["bp"].id, good)
    assert resp.status_code == 302
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已导入作答数据「第一批」：2 人 × 3 题" in html
    rs = session.scalars(select(ResponseSet)).one()
    assert rs.group_names == ["性别"]
    np.testing.assert_array_equal(rs.arrays()["scores"], [[1, 1, 0], [0, 0, np.nan]])


def test_an_upload_is_refused_at_once_for_a_bad_name_and_queues_nothing(session, client, login, world):
    from foundation.jobs import Job

    login(world["centre"])
    a = world["items"][0]
    for name in ("", "  ", "名" * 200, "第一\t批"):
        resp = _upload(client, world["bp"].id, xlsx_bytes([[a.code], [1]]), name=name)
        assert resp.status_code == 400
    assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_form_errors_are_chinese_and_status_400(session, client, login, world):
    login(world["reviewer"])
    resp = _simulate(client, world["bp"].id, n="abc", seed="-1")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "之间的整数" in html and "随机种子应为非负整数" in html
    resp = _simulate(client, "")
    assert resp.status_code == 400 and "请选择细目表" in resp.get_data(as_text=True)
    resp = _simulate(client, world["bp"].id, n="10")
    assert resp.status_code == 400 and "模拟人数应在" in resp.get_data(as_text=True)
    resp = client.post(NEW, data={"up-mode": "upload", "up-blueprint_id": str(world["bp"].id), "up-name": "x"},
                       content_type="multipart/form-data")
    assert resp.status_code == 400 and "请选择要导入的文件" in resp.get_data(as_text=True)
    assert client.post("/analysis/runs", data={}).status_code == 400
    assert client.get("/analysis/runs/999999").status_code == 404
    assert client.get("/analysis/runs/999999/status.json").status_code == 404


def test_failed_run_shows_its_message(session, client, login, world, inline):
    login(world["reviewer"])
    rs = rsp.simulate_response_set(session, world["reviewer"], world["bp"].id, 50, 2)
    arrays = rs.arrays()
    arrays["scores"][10:] = np.nan
    from grading.psychometrics.models import pack_arrays

    rs.data = pack_arrays(**arrays)
    session.flush()
    resp = client.post("/analysis/runs", data={"response_set_id": str(rs.id)})
    run_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    data, _ = _poll(client, run_id)
    assert data["status"] == "failed" and "至少需要 30 人" in data["message"]
    html = client.get(f"/analysis/runs/{run_id}").get_data(as_text=True)
    assert "ar-status-failed" in html and "至少需要 30 人" in html


@pytest.mark.parametrize("role", [Role.QUESTION_WRITER, Role.CANDIDATE, Role.PROCTOR, Role.INSTITUTION_ADMIN])
def test_other_roles_are_refused(session, client, login, world, role):
    rs = rsp.simulate_response_set(session, world["reviewer"], world["bp"].id, 100, 1)
    run = cal.start_run(session, world["reviewer"], rs.id)
    session.flush()
    login(make_user(session, role))
    for path in ("/analysis/", NEW, f"/analysis/runs/{run.id}", f"/analysis/runs/{run.id}/status.json"):
        assert client.get(path).status_code == 403, path
    assert _simulate(client, world["bp"].id).status_code == 403
    assert client.post("/analysis/runs", data={"response_set_id": str(rs.id)}).status_code == 403
    assert session.scalar(select(func.count()).select_from(CalibrationRun)) == 1


def test_anonymous_is_sent_to_login(client):
    resp = client.get("/analysis/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert client.post("/analysis/runs", data={}).status_code == 401


def test_lists_filter_and_paginate(session, client, login, world, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    login(world["centre"])
    for seed in range(3):
        rs = rsp.simulate_response_set(session, world["centre"], world["bp"].id, 100, seed, name=f"模拟 {seed}")
        cal.start_run(session, world["centre"], rs.id)
    session.flush()
    html = client.get("/analysis/?tab=sets").get_data(as_text=True)
    assert "共 3 条" in html and "模拟 2" in html and "模拟 0" not in html
    assert "模拟 0" in client.get("/analysis/?tab=sets&page=2").get_data(as_text=True)
    only = client.get("/analysis/?tab=sets&q=模拟 1").get_data(as_text=True)
    assert "共 1 条" in only
    runs = client.get("/analysis/?status=queued").get_data(as_text=True)
    assert "共 3 条" in runs and "ar-status-queued" in runs
    assert "共 0 条" in client.get("/analysis/?status=done").get_data(as_text=True)
