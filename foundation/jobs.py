"""Background jobs (后台任务): heavy work (item imports and exports, paper assembly, calibration
runs, response-set imports, audit verification; later certificates) runs in a worker process,
never in the processes that serve pages and exam sockets.

A job is a row of the ``job`` table: its kind, parameters, who started it and the object it
concerns, its status (queued → running → done / failed), progress (0–100 and a stage text)
and its result (a JSON document, optionally a file kept under the instance folder) or a
readable Chinese error. The table is the queue: a worker claims the oldest queued job (on
PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so several workers never take the same one), runs
it and records the outcome. No broker is needed, so the same worker runs embedded (started by
``web.serve``) or alone (``python -m web.worker``), with or without Redis.

Job kinds are registered by the core that owns the work (:func:`register`): a function
``run(session, job, params, progress) -> Outcome``. It runs in a session of its own, which the
worker commits when it returns and rolls back when it raises, so a job's writes are all or
nothing. ``progress(pct, stage)`` records progress through a second session at once (the
job's own transaction may still be open). A :class:`~foundation.errors.DomainError` fails the
job with its message; any other exception fails it with a generic message (the traceback goes
to the worker's log).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from foundation.accounts import User
from foundation.db import SQLITE_BEGIN_IMMEDIATE, Base, retry_when_busy, utcnow
from foundation.errors import DomainError, NotFound, ValidationError

__all__ = [
    "FAILED_INTERNAL", "Job", "JobKind", "JobStatus", "Outcome", "ProgressFn", "claim", "enqueue",
    "fail", "finish", "kind_of", "progress", "recover_orphans", "register", "run_claimed", "run_next",
]

log = logging.getLogger(__name__)


class JobStatus:
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


STATUS_LABELS = {JobStatus.QUEUED: "排队中", JobStatus.RUNNING: "进行中",
                 JobStatus.DONE: "已完成", JobStatus.FAILED: "失败"}
FINISHED = (JobStatus.DONE, JobStatus.FAILED)
FAILED_INTERNAL = "任务执行时出现内部错误，请稍后重试或联系管理员。"
STAGE_MAX = 200
SQLITE_PROGRESS_WAIT_MS = 200
SQLITE_BUSY_MS = 10000  # as web.configure_engine sets it
#: Recording a job's outcome after a busy database: retried after these pauses (seconds), so a
#: job never stays "running" because its failure could not be written (SQLite, exam writes).
RECORD_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)


class Job(Base):
    """One piece of background work and its outcome."""

    __tablename__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(10), default=JobStatus.QUEUED, index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[str] = mapped_column(String(STAGE_MAX), default="")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    #: A result file, relative to the worker's files folder (see :func:`run_claimed`).
    result_path: Mapped[str | None] = mapped_column(String(255), default=None)
    result_name: Mapped[str | None] = mapped_column(String(255), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[str] = mapped_column(String(40), default="")
    worker_pid: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


ProgressFn = Callable[[int, str], None]


@dataclasses.dataclass
class Outcome:
    """What a job produced: a JSON-able ``result`` and, optionally, a file to download."""

    result: dict[str, Any] = dataclasses.field(default_factory=dict)
    file: bytes | None = None
    filename: str | None = None


RunFn = Callable[[Session, Job, dict[str, Any], ProgressFn], Outcome]


@dataclasses.dataclass(frozen=True)
class JobKind:
    kind: str
    label: str
    run: RunFn
    #: Who may read a job's progress and result besides its starter: ``(session, user, job)``.
    readable_by: Callable[[Session, User, Job], bool] | None = None
    #: SQLite: the job's transaction reads, then writes; it starts with BEGIN IMMEDIATE (holds
    #: the write lock from the start), or another process's write in between would refuse it.
    sqlite_immediate: bool = False


_KINDS: dict[str, JobKind] = {}


def register(kind: str, label: str, *, readable_by: Callable[[Session, User, Job], bool] | None = None,
             sqlite_immediate: bool = False) -> Callable[[RunFn], RunFn]:
    """Decorator: ``run`` executes jobs of ``kind`` (``label``: its Chinese name on the pages)."""

    def decorate(run: RunFn) -> RunFn:
        _KINDS[kind] = JobKind(kind, label, run, readable_by, sqlite_immediate)
        return run

    return decorate


def kind_of(kind: str) -> JobKind | None:
    return _KINDS.get(kind)


def may_read(session: Session, user: User, job: Job) -> bool:
    """A job's progress and result: its starter, or whom its kind allows."""
    if job.user_id is not None and job.user_id == user.id:
        return True
    spec = _KINDS.get(job.kind)
    return bool(spec and spec.readable_by and spec.readable_by(session, user, job))


# ---------------------------------------------------------------------------- services


def enqueue(session: Session, actor: User | None, kind: str, params: Mapping[str, Any] | None = None, *,
            object_type: str = "", object_id: object = "") -> Job:
    """Queue a job of a registered ``kind``; the caller commits (then a worker picks it up)."""
    if kind not in _KINDS:
        raise ValidationError(f"未知的任务类型：{kind}")
    data = dict(params or {})
    try:
        json.dumps(data)
    except (TypeError, ValueError) as exc:
        raise ValidationError("任务参数无法保存。") from exc
    job = Job(kind=kind, status=JobStatus.QUEUED, progress=0, stage="等待执行", params=data,
              user_id=actor.id if actor is not None else None, object_type=object_type,
              object_id=str(object_id)[:40])
    session.add(job)
    session.flush()
    return job


def claim(session: Session, pid: int | None = None, *, job_id: int | None = None) -> int | None:
    """Take the oldest queued job (or job ``job_id`` if still queued) for this worker: status
    running, committed; its id (None when there is none). No transaction is left open."""
    stmt = select(Job).where(Job.status == JobStatus.QUEUED).order_by(Job.id).limit(1)
    if job_id is not None:
        stmt = stmt.where(Job.id == job_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    job = session.scalar(stmt)
    if job is None:
        session.rollback()
        return None
    claimed = job.id
    taken = session.execute(update(Job).where(Job.id == claimed, Job.status == JobStatus.QUEUED).values(
        status=JobStatus.RUNNING, started_at=utcnow(), worker_pid=pid or os.getpid(), stage="正在执行"))
    session.commit()
    if not getattr(taken, "rowcount", 1):
        return None  # another worker took it between our read and our write (SQLite)
    return claimed


def progress(session: Session, job_id: int, pct: int, stage: str) -> None:
    """Record progress (0–100, clamped) and commit ``session`` (a bookkeeping session)."""
    session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING).values(
        progress=max(0, min(100, int(pct))), stage=str(stage)[:STAGE_MAX]))
    session.commit()


def finish(session: Session, job_id: int, result: Mapping[str, Any] | None = None, *,
           result_path: str | None = None, result_name: str | None = None) -> None:
    session.execute(update(Job).where(Job.id == job_id).values(
        status=JobStatus.DONE, progress=100, stage="已完成", result=dict(result or {}),
        result_path=result_path, result_name=result_name, finished_at=utcnow()))
    session.commit()


def fail(session: Session, job_id: int, message: str, result: Mapping[str, Any] | None = None) -> None:
    session.execute(update(Job).where(Job.id == job_id).values(
        status=JobStatus.FAILED, stage="失败", error=message, result=dict(result) if result else None,
        finished_at=utcnow()))
    session.commit()


def get_job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound("没有这个任务。")
    return job


def run_claimed(session_factory: Callable[[], Session], job_id: int, files_dir: Path) -> None:
    """Execute a claimed job: its function in a fresh session (committed on success, then the
    outcome recorded in it; rolled back on failure, then the failure recorded), progress through
    a second session. Never raises for the job's own errors, so a worker survives any job.

    SQLite: a transaction that read before another connection wrote cannot write any more, so
    the job's transaction begins after the job row is read, and a kind that reads then writes
    asks for BEGIN IMMEDIATE (:attr:`JobKind.sqlite_immediate`). While the job holds the write
    lock, a progress write would wait the whole busy timeout; the progress session waits at
    most :data:`SQLITE_PROGRESS_WAIT_MS` and skips that report instead (progress is best
    effort). PostgreSQL has none of this: progress shows throughout. The outcome (done or
    failed) is written again after a busy database (:data:`RECORD_RETRY_DELAYS`): on SQLite, with
    an exam writing answers, a lost write left the job "running" for ever."""
    work = session_factory()
    book = session_factory()
    sqlite = book.get_bind().dialect.name == "sqlite"
    try:
        job = work.get(Job, job_id)
        if job is None:
            return
        spec = _KINDS.get(job.kind)
        if spec is None:
            fail(work, job_id, f"未知的任务类型：{job.kind}")
            return
        params = dict(job.params or {})
        work.commit()  # the job's own transaction starts below
        if sqlite:
            book.execute(text(f"PRAGMA busy_timeout = {SQLITE_PROGRESS_WAIT_MS}"))
            book.commit()
            if spec.sqlite_immediate:
                work.connection(execution_options={SQLITE_BEGIN_IMMEDIATE: True})

        def report(pct: int, stage: str) -> None:
            try:
                progress(book, job_id, pct, stage)
            except Exception:  # a busy database must not fail the job
                book.rollback()
                log.info("job %s: progress %s%% not recorded (database busy)", job_id, pct)

        try:
            outcome = spec.run(work, job, params, report)
            work.commit()
        except DomainError as exc:
            work.rollback()
            rows = getattr(exc, "errors", None)  # RowErrors: the rows to correct, for the page
            message, result = exc.message, {"errors": [list(r) for r in rows]} if rows else None
            retry_when_busy(work, lambda: fail(work, job_id, message, result), delays=RECORD_RETRY_DELAYS)
            return
        except Exception:
            work.rollback()
            log.exception("job %s (%s) failed", job_id, job.kind)
            retry_when_busy(work, lambda: fail(work, job_id, FAILED_INTERNAL), delays=RECORD_RETRY_DELAYS)
            return
        path = None
        if outcome.file is not None:
            files_dir.mkdir(parents=True, exist_ok=True)
            path = f"job-{job_id}-{secrets.token_hex(8)}"
            (files_dir / path).write_bytes(outcome.file)
        retry_when_busy(work, lambda: finish(work, job_id, outcome.result, result_path=path,
                                             result_name=outcome.filename), delays=RECORD_RETRY_DELAYS)
    finally:
        if sqlite:  # the connection goes back to the pool: restore the usual wait
            book.rollback()
            book.execute(text(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}"))
            book.commit()
        work.close()
        book.close()


def recover_orphans(session: Session, alive: Callable[[int], bool]) -> int:
    """Fail running jobs whose worker process is gone (killed or crashed mid-job); the count.
    ``alive(pid)``: whether that worker still runs (one host: the embedded worker's check)."""
    orphans = [j for j in session.scalars(select(Job).where(Job.status == JobStatus.RUNNING))
               if j.worker_pid is None or not alive(j.worker_pid)]
    for job in orphans:
        job.status, job.stage, job.finished_at = JobStatus.FAILED, "失败", utcnow()
        job.error = "执行任务的进程已中断，请重新发起。"
    session.commit()
    return len(orphans)


def run_next(session_factory: Callable[[], Session], files_dir: Path, pid: int | None = None) -> int | None:
    """Claim and run the oldest queued job; its id, or None when the queue was empty."""
    session = session_factory()
    try:
        job_id = claim(session, pid)
    finally:
        session.close()
    if job_id is not None:
        run_claimed(session_factory, job_id, files_dir)
    return job_id

