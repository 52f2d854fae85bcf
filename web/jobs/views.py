from __future__ import annotations

import mimetypes
import secrets
from pathlib import Path
from typing import Any

from flask import abort, current_app, jsonify, redirect, render_template, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

import grading.psychometrics.calibration_job  # noqa: F401  (registers the job kinds)
import grading.psychometrics.response_set_job  # noqa: F401
import itembank.paper_jobs  # noqa: F401
import itembank.transfer_jobs  # noqa: F401
from foundation import jobs
from foundation.jobs import Job
from web.access import STAFF_ROLES, actor, roles_required
from web.downloads import XLSX, ZIP, download
from web.extensions import db
from web.jobs import bp, jobs_dir

MIMETYPES = {".xlsx": XLSX, ".zip": ZIP}


def files_dir() -> Path:
    return jobs_dir(current_app.config, current_app.instance_path)


def save_upload(data: bytes, suffix: str) -> str:
    """Keep an uploaded file for a job (under the instance folder); its path for the params."""
    folder = files_dir() / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{secrets.token_hex(16)}{suffix}"
    path.write_bytes(data)
    return str(path)


def save_upload_file(file: FileStorage, suffix: str) -> str:
    """Like :func:`save_upload` for an uploaded file, copied in chunks from the parser's spool
    file (a large upload never sits whole in memory)."""
    folder = files_dir() / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{secrets.token_hex(16)}{suffix}"
    file.save(path)
    return str(path)


def queue(kind: str, params: dict[str, Any], *, object_type: str = "", object_id: object = "") -> int:
    """Queue a job for the current user and commit; its id (``JOBS_INLINE``: run it now)."""
    job = jobs.enqueue(db.session, actor(), kind, params, object_type=object_type, object_id=object_id)
    job_id = job.id
    db.session.commit()
    if current_app.config.get("JOBS_INLINE") and jobs.claim(db.session(), job_id=job_id) is not None:
        jobs.run_claimed(db.session.session_factory, job_id, files_dir())
    return job_id


def start(kind: str, params: dict[str, Any], *, object_type: str = "", object_id: object = "") -> Response:
    """Queue a job for the current user, commit, and redirect to its progress page."""
    return redirect(url_for("jobs.show", job_id=queue(kind, params, object_type=object_type, object_id=object_id)))


def readable_job(job_id: int) -> Job | None:
    """The job if the current user may read it (its starter, or whom its kind allows)."""
    job = db.session.get(Job, job_id)
    return job if job is not None and jobs.may_read(db.session, actor(), job) else None


def _job(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or not jobs.may_read(db.session, actor(), job):
        abort(404)
    return job


def status_payload(job: Job) -> dict[str, Any]:
    return {
        "id": job.id, "status": job.status, "status_label": job.status_label, "progress": job.progress,
        "stage": job.stage, "finished": job.finished, "error": job.error,
        "message": (job.result or {}).get("message") if job.status == jobs.JobStatus.DONE else job.error,
        "download_url": url_for("jobs.download_result", job_id=job.id) if job.result_path else None,
        "paper_url": url_for("bank.paper_detail", paper_id=job.result["paper_id"])
        if job.status == jobs.JobStatus.DONE and (job.result or {}).get("paper_id") else None,
    }


@bp.get("/<int:job_id>")
@roles_required(*STAFF_ROLES)
def show(job_id: int) -> str:
    job = _job(job_id)
    spec = jobs.kind_of(job.kind)
    return render_template("jobs/show.html", job=job, label=spec.label if spec else job.kind,
                           result=job.result or {}, status=status_payload(job))


@bp.get("/<int:job_id>/status.json")
@roles_required(*STAFF_ROLES)
def status(job_id: int) -> Response:
    response = jsonify(status_payload(_job(job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<int:job_id>/download")
@roles_required(*STAFF_ROLES)
def download_result(job_id: int) -> Response:
    job = _job(job_id)
    if job.status != jobs.JobStatus.DONE or not job.result_path:
        abort(404)
    try:
        data = (files_dir() / Path(job.result_path).name).read_bytes()
    except OSError:
        abort(404)
    name = job.result_name or job.result_path
    mimetype = MIMETYPES.get(Path(name).suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return download(data, name, mimetype)
