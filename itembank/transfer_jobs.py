"""The item bank's background jobs (:mod:`foundation.jobs`): the Excel / QTI export of a
filtered item list and the Excel import into a blueprint. Both ran in the request before; in a
worker process they take no CPU from the processes that serve exams.

The export is audited when it is written (as before, with the count and the first codes); the
import stays all or nothing (the worker commits only when :func:`import_items` returned) and
audits itself. A refused import fails the job with the row errors in its result, for the page.
The uploaded file is kept under the instance folder by the web layer and removed by the job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from foundation.accounts import User
from foundation.calendar import BEIJING
from foundation.errors import PermissionDenied, ValidationError
from foundation.jobs import Job, Outcome, ProgressFn, register
from itembank.item_excel import ExportTally, export_items_bytes, import_items, record_export, stream_items
from itembank.items import item_query
from itembank.models import Blueprint, BlueprintMode, Item
from itembank.qti import export_qti_bytes

EXPORT = "item.export"
IMPORT = "item.import"
PROGRESS_EVERY = 200  # items between two progress reports of an export
FORMATS = {"xlsx": ("试题-{stamp}.xlsx", "Excel"), "qti": ("试题-QTI3-{stamp}.zip", "QTI 3.0")}


def _starter(session: Session, job: Job) -> User:
    user = session.get(User, job.user_id) if job.user_id is not None else None
    if user is None or not user.active:
        raise PermissionDenied("发起任务的账号已不可用。")
    return user


def _counted(items: Iterable[Item], total: int, progress: ProgressFn) -> Iterator[Item]:
    for n, item in enumerate(items, start=1):
        if n % PROGRESS_EVERY == 0:
            progress(5 + 90 * n // max(total, 1), f"已导出 {n} / {total} 道试题")
        yield item


@register(EXPORT, "导出试题")
def run_export(session: Session, job: Job, params: dict[str, Any], progress: ProgressFn) -> Outcome:
    """params: ``format`` (xlsx / qti) and ``filters`` (the item list's filter parameters)."""
    actor = _starter(session, job)
    fmt = params.get("format", "xlsx")
    if fmt not in FORMATS:
        raise ValidationError("不支持的导出格式。")
    filters = {str(k): str(v) for k, v in dict(params.get("filters") or {}).items()}
    stmt = item_query(filters, actor).order_by(Item.code)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    if not total:
        raise ValidationError("没有符合条件的试题可以导出。")
    progress(5, f"正在导出 {total} 道试题")
    items = ExportTally(_counted(stream_items(session, stmt), total, progress))
    data = export_qti_bytes(session, items) if fmt == "qti" else export_items_bytes(items)
    # End the long read before the audit write: on SQLite a read transaction that outlived
    # another connection's write (a progress report, an exam answer) may not write.
    session.commit()
    record_export(session, actor, fmt, items.count, items.codes, {k: v for k, v in filters.items() if v})
    name = FORMATS[fmt][0].format(stamp=dt.datetime.now(BEIJING).strftime("%Y%m%d-%H%M"))
    return Outcome({"count": items.count, "message": f"已导出 {items.count} 道试题（{FORMATS[fmt][1]}）。"},
                   data, name)


@register(IMPORT, "导入试题")
def run_import(session: Session, job: Job, params: dict[str, Any], progress: ProgressFn) -> Outcome:
    """params: ``blueprint_id`` and ``upload`` (the uploaded file's path, removed afterwards)."""
    upload = Path(str(params.get("upload", "")))
    # Reported before the job's transaction reads anything: on SQLite a transaction that read
    # before another connection's write (this report) could not write afterwards.
    progress(10, "正在校验并导入试题")
    try:
        actor = _starter(session, job)
        blueprint = session.get(Blueprint, int(params.get("blueprint_id") or 0))
        if blueprint is None or blueprint.mode != BlueprintMode.THEORY.value:
            raise ValidationError("请选择要导入的理论知识细目表。")
        try:
            data = upload.read_bytes()
        except OSError as exc:
            raise ValidationError("上传的文件已不存在，请重新上传。") from exc
        result = import_items(session, actor, blueprint, data)
    finally:
        upload.unlink(missing_ok=True)
    return Outcome({
        "message": result.message, "created": result.created, "updated": result.updated,
        "unchanged": result.unchanged, "blueprint_id": blueprint.id,
        "duplicates_warnings": [{"row": w.row, "similar_to": w.similar_to, "similarity": w.similarity,
                                 "in_bank": w.in_bank, "message": w.message} for w in result.duplicates_warnings],
    })
