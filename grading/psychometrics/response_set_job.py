"""The response-set import as a background job (:mod:`foundation.jobs`): the analysis page keeps
the uploaded file under the instance folder (streamed to disk, never read into a serving
process's memory) and queues ``response_set.import``; the job worker parses, checks and stores
it. A 200,000 × 100 CSV takes tens of seconds to check; in the worker it takes no CPU from the
processes that serve exams, and the page shows its progress.

All or nothing as before: the file is checked whole (:func:`check_response_file`), the read
transaction ends, and the set is stored in one short write transaction; a
refused file fails the job with the row errors in its result, for the page. The upload is
removed when the job ends, whatever the outcome.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from foundation.accounts import User
from foundation.db import immediate_transactions
from foundation.errors import PermissionDenied, ValidationError
from foundation.jobs import Job, Outcome, ProgressFn, register
from grading.psychometrics.responses import check_response_file, store_checked

IMPORT = "response_set.import"


@register(IMPORT, "导入作答数据")
def run_import(session: Session, job: Job, params: dict[str, Any], progress: ProgressFn) -> Outcome:
    """params: ``blueprint_id``, ``name`` and ``upload`` (the kept file's path)."""
    upload = Path(str(params.get("upload", "")))
    # Reported before the job's transaction reads anything (SQLite: a transaction that read
    # before another connection's write could not write afterwards).
    progress(5, "正在读取文件")
    try:
        actor = session.get(User, job.user_id) if job.user_id is not None else None
        if actor is None or not actor.active:
            raise PermissionDenied("发起任务的账号已不可用。")
        try:
            data = upload.read_bytes()
        except OSError as exc:
            raise ValidationError("上传的文件已不存在，请重新上传。") from exc
        sqlite = session.get_bind().dialect.name == "sqlite"
        # On SQLite the rows are checked without progress reports: another connection's write
        # (a report) during this read transaction would refuse its write later.
        checked = check_response_file(session, actor, int(params.get("blueprint_id") or 0),
                                      str(params.get("name") or ""), data, progress=None if sqlite else progress)
    finally:
        upload.unlink(missing_ok=True)
    # The long read ends before the write (on SQLite a read transaction that outlived another
    # connection's write, an exam answer, could not write); the write holds the lock briefly.
    session.commit()
    with immediate_transactions(session):  # SQLite: the write lock at once (no-op elsewhere)
        response_set = store_checked(session, actor, checked)
    return Outcome({
        "response_set_id": response_set.id,
        "message": f"已导入作答数据「{response_set.name}」：{response_set.n_examinees} 人 × "
                   f"{response_set.n_items} 题。可在「作答数据」中开始参数标定。",
    })
