"""Background job pages (后台任务): a job's progress page, its status as JSON (polled by the
page) and its result file. A job is visible to its starter and to whom its kind allows
(:func:`foundation.jobs.may_read`); anyone else gets 404, as if it did not exist.

:func:`start` is what a view calls to run heavy work as a job: queue it, commit, and redirect
to the progress page. With ``JOBS_INLINE`` (the tests) the job runs in the request instead."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Blueprint

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


def jobs_dir(config: Mapping[str, Any], instance_path: str) -> Path:
    """Where result files and uploads are kept (``JOBS_DIR``, default instance/jobs): the
    serving processes and the worker must see the same folder (one host, or a shared volume)."""
    return Path(config.get("JOBS_DIR") or Path(instance_path) / "jobs")

from web.jobs import views  # noqa: E402,F401
