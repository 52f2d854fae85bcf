"""The job queue's services (foundation.jobs): enqueue → claim → run → progress → done or
failed with a readable message, on SQLite and PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from foundation import jobs
from foundation.errors import PermissionDenied, ValidationError
from foundation.institutions import Institution
from foundation.jobs import Job, JobStatus, Outcome
from foundation.roles import Role
from tests.factories import make_institution, make_user
from web.extensions import db

SEEN: list[tuple[int, str]] = []


@jobs.register("test.ok", "测试任务")
def _ok(session, job, params, progress):
    for pct in (-5, 30, 60, 140):  # clamped to 0..100
        progress(pct, f"第 {pct} 步")
        SEEN.append(tuple(session.execute(select(Job.progress, Job.stage).where(Job.id == job.id)).one()))
    make_institution(session, code="S00009999999" + "1", serial="999990")  # a write, committed on success
    return Outcome({"message": "完成", "n": params["n"]}, b"file-bytes", "结果.txt")


@jobs.register("test.refused", "测试任务")
def _refused(session, job, params, progress):
    make_institution(session, code="S00009999999" + "2", serial="999991")
    raise PermissionDenied("无权执行这个任务。")


@jobs.register("test.crash", "测试任务")
def _crash(session, job, params, progress):
    make_institution(session, code="S00009999999" + "3", serial="999992")
    progress(50, "一半")
    return 1 / 0


def _institutions(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count(Institution.id)))


def _run(session, tmp_path):
    factory = db.session.session_factory
    return jobs.run_next(factory, tmp_path, pid=4242)


def test_a_job_runs_reports_progress_and_keeps_its_result(app, session, tmp_path):
    user = make_user(session, Role.CENTRE_ADMIN)
    job = jobs.enqueue(session, user, "test.ok", {"n": 3}, object_type="batch", object_id=7)
    session.commit()
    assert (job.status, job.progress, job.user_id) == (JobStatus.QUEUED, 0, user.id)
    before = _institutions(session)
    SEEN.clear()
    assert _run(session, tmp_path) == job.id
    assert _run(session, tmp_path) is None  # the queue is empty
    session.expire_all()
    job = session.get(Job, job.id)
    assert job.status == JobStatus.DONE and job.finished and job.progress == 100 and job.error is None
    assert job.result == {"message": "完成", "n": 3} and job.result_name == "结果.txt"
    assert (tmp_path / job.result_path).read_bytes() == b"file-bytes"
    assert job.worker_pid == 4242 and job.started_at is not None and job.finished_at is not None
    assert (job.object_type, job.object_id) == ("batch", "7")
    assert SEEN == [(0, "第 -5 步"), (30, "第 30 步"), (60, "第 60 步"), (100, "第 140 步")]
    assert _institutions(session) == before + 1


@pytest.mark.parametrize(("kind", "message"), [
    ("test.refused", "无权执行这个任务。"),  # a domain error: its own message
    ("test.crash", jobs.FAILED_INTERNAL),  # anything else: a readable generic one
])
def test_a_failing_job_is_failed_with_a_readable_message_and_writes_nothing(app, session, tmp_path, kind, message):
    user = make_user(session, Role.CENTRE_ADMIN)
    job = jobs.enqueue(session, user, kind)
    session.commit()
    before = _institutions(session)
    assert _run(session, tmp_path) == job.id
    session.expire_all()
    job = session.get(Job, job.id)
    assert job.status == JobStatus.FAILED and job.error == message and job.result_path is None
    assert _institutions(session) == before  # all or nothing
    assert list(tmp_path.iterdir()) == []


def test_jobs_run_oldest_first_and_only_once(app, session, tmp_path):
    user = make_user(session, Role.CENTRE_ADMIN)
    first, second = (jobs.enqueue(session, user, "test.refused") for _ in range(2))
    first_id, second_id = first.id, second.id
    session.commit()
    assert jobs.claim(session, 1) == first_id
    assert jobs.claim(session, 1) == second_id
    assert jobs.claim(session, 1) is None
    assert jobs.claim(session, 1, job_id=first_id) is None  # a running job is not claimed again


def test_enqueue_refuses_unknown_kinds_and_unstorable_params(session):
    user = make_user(session, Role.CENTRE_ADMIN)
    with pytest.raises(ValidationError, match="未知的任务类型"):
        jobs.enqueue(session, user, "no.such.kind")
    with pytest.raises(ValidationError, match="任务参数无法保存"):
        jobs.enqueue(session, user, "test.ok", {"n": object()})
    assert session.scalar(select(func.count(Job.id))) == 0


def test_orphaned_running_jobs_are_failed(session):
    user = make_user(session, Role.CENTRE_ADMIN)
    alive, dead = jobs.enqueue(session, user, "test.ok"), jobs.enqueue(session, user, "test.ok")
    alive.status = dead.status = JobStatus.RUNNING
    alive.worker_pid, dead.worker_pid = 1, 2
    session.flush()
    assert jobs.recover_orphans(session, lambda pid: pid == 1) == 1
    assert alive.status == JobStatus.RUNNING
    assert dead.status == JobStatus.FAILED and "中断" in dead.error


def test_only_the_starter_reads_a_job(session):
    starter, other = make_user(session, Role.CENTRE_ADMIN), make_user(session, Role.CENTRE_ADMIN)
    job = jobs.enqueue(session, starter, "test.ok")
    assert jobs.may_read(session, starter, job) and not jobs.may_read(session, other, job)
