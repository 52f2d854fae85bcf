"""The job worker is a process of its own: ``python -m web.worker`` runs queued jobs, and
``python -m web.serve`` starts one as its child, so the process serving pages and exam sockets
never executes a job. Each test gets its own database (jobs must be committed for real)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from foundation import jobs
from foundation.db import Base
from foundation.jobs import Job, JobStatus
from foundation.roles import Role
from itembank import item_excel as xl
from itembank import transfer_jobs
from tests.conftest import TEST_CONFIG
from tests.dbutil import fresh_database
from tests.factories import make_blueprint, make_user
from tests.itembank.worlds import single, xlsx
from web import create_app
from web.extensions import db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def world(tmp_path):
    """A database of its own holding one item and a queued export of it; the env to reach it."""
    uri = fresh_database("jobs_worker", tmp_path)
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": uri})
    with app.app_context():
        Base.metadata.create_all(db.engine)
        session = Session(db.engine)
        writer = make_user(session, Role.QUESTION_WRITER)
        xl.import_items(session, writer, make_blueprint(session), xlsx([single("W-1")]))
        job_id = jobs.enqueue(session, writer, transfer_jobs.EXPORT, {"format": "xlsx"}).id
        session.commit()
        session.close()
    env = {**os.environ, "DATABASE_URL": uri, "FLASK_SECRET_KEY": "worker-test", "FLASK_JOBS_DIR": str(tmp_path),
           "FLASK_JOBS_POLL_SECONDS": "0.1", "ACCESS_LOG": "0"}
    yield app, job_id, env, tmp_path
    with app.app_context():
        db.engine.dispose()


def _job(app, job_id: int) -> Job:
    with app.app_context(), Session(db.engine) as session:
        job = session.get(Job, job_id)
        session.expunge(job)
        return job


def test_the_worker_process_runs_queued_jobs(world):
    app, job_id, env, files = world
    worker = subprocess.run([sys.executable, "-m", "web.worker", "--once"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert worker.returncode == 0, worker.stderr
    job = _job(app, job_id)
    assert job.status == JobStatus.DONE, (job.error, worker.stderr[-3000:])
    assert job.worker_pid not in (None, os.getpid())
    assert job.result["count"] == 1 and (files / job.result_path).read_bytes()[:2] == b"PK"


def _healthz(url: str, deadline: float) -> int:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 (loopback)
                return int(resp.status)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_the_server_starts_a_worker_child_and_never_runs_a_job_itself(world):
    app, job_id, env, _ = world
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "web.serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while (job := _job(app, job_id)).status != JobStatus.DONE and time.monotonic() < deadline:
            assert server.poll() is None
            time.sleep(0.2)
        assert job.status == JobStatus.DONE, job.error
        assert job.worker_pid not in (server.pid, os.getpid())
        assert _parent_of(job.worker_pid) == server.pid  # the embedded worker, a child of the server
        assert _healthz(f"http://127.0.0.1:{port}/healthz", deadline=time.monotonic() + 60) == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    deadline = time.monotonic() + 10  # the worker sees its parent gone and exits
    while Path(f"/proc/{job.worker_pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{job.worker_pid}").exists() or "Z" in Path(f"/proc/{job.worker_pid}/stat").read_text()
