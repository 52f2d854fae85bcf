"""Reading uploaded .xlsx files for the all-or-nothing imports: the one reader of the project.

Every import (items, blueprints, candidates, occupations, response sets) reads through
:func:`read_sheet` (or :func:`header_and_rows` on top of it). An uploaded spreadsheet is
hostile until proven otherwise, so:

1. the ZIP directory is checked here, in the serving process, before anything is inflated
   (:func:`foundation.xlsx_guard.check_archive`: entry count, uncompressed sizes, ratio);
2. the parse runs in a child process (``python -m foundation.xlsx_child``) that caps its own
   memory (``RLIMIT_AS``) and CPU time (``RLIMIT_CPU``), repeats the archive check, scans the
   sheet's XML for the declared dimension, the widest column and the last row (blank rows
   count), and only then lets openpyxl walk it; the parent kills it after a wall-clock limit.
   Under the gevent server ``subprocess`` is monkey-patched, so waiting for the child never
   blocks other requests or exam sockets;
3. rows come back as JSON lines (str/int/float/bool/None, dates and times tagged); a refusal,
   a crash, a timeout or the memory cap becomes a Chinese ValidationError before any import
   writes anything.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from foundation.errors import ValidationError
from foundation.xlsx_guard import NOT_XLSX, check_archive

DEFAULT_MAX_COLUMNS = 200
BLANK_ROW_ALLOWANCE = 1000  # rows beyond header + data rows a sheet may span (blank or styled rows)
CHILD_MEMORY_BYTES = 1024 * 1024 * 1024  # address space of the parsing child
CHILD_CPU_SECONDS = 60
CHILD_WALL_SECONDS = 90
MAX_PARALLEL_PARSES = 2  # children at once per serving process (the host has few cores)
_ROOT = Path(__file__).resolve().parents[1]
_parses = threading.BoundedSemaphore(MAX_PARALLEL_PARSES)  # gevent's under the patched server

TIMEOUT_ERROR = "解析文件超时，文件可能过大或已损坏，请删除多余内容或拆分文件后再上传。"
CRASH_ERROR = "解析文件失败（文件过大或已损坏），请删除多余内容或拆分文件后再上传。"
BUSY_ERROR = "服务器正在解析其他上传的文件，请稍后再试。"


def _decode(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    kind, raw = value
    if kind == "datetime":
        return dt.datetime.fromisoformat(raw)
    if kind == "date":
        return dt.date.fromisoformat(raw)
    if kind == "time":
        return dt.time.fromisoformat(raw)
    if kind == "timedelta":
        return dt.timedelta(seconds=raw)
    raise ValidationError(NOT_XLSX)


def read_sheet(
    data: bytes, *, sheet_name: str | None, max_rows: int, too_many: str,
    max_columns: int = DEFAULT_MAX_COLUMNS,
) -> list[tuple[int, tuple[Any, ...]]]:
    """The non-blank rows of the sheet ``sheet_name`` (else the first worksheet) with their Excel
    row numbers, parsed in a limited child process (see the module doc).

    ``max_rows`` bounds the non-blank rows (``too_many`` is the message); the sheet may span at
    most ``max_rows + BLANK_ROW_ALLOWANCE`` rows, blank ones included, and ``max_columns``
    columns. Raises ValidationError (Chinese) for anything refused or unreadable."""
    check_archive(data)  # cheap: the ZIP directory only
    args = {
        "sheet_name": sheet_name, "max_rows": max_rows + BLANK_ROW_ALLOWANCE, "max_columns": max_columns,
        "memory_bytes": CHILD_MEMORY_BYTES, "cpu_seconds": CHILD_CPU_SECONDS,
    }
    env = {"PATH": os.environ.get("PATH", os.defpath), "PYTHONPATH": str(_ROOT), "LC_ALL": "C.UTF-8",
           "PYTHONIOENCODING": "utf-8"}
    if not _parses.acquire(timeout=CHILD_WALL_SECONDS):
        raise ValidationError(BUSY_ERROR)
    try:
        child = subprocess.Popen(  # noqa: S603  (our own module, fixed arguments)
            [sys.executable, "-m", "foundation.xlsx_child", json.dumps(args)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=_ROOT, env=env,
        )
        try:
            out, _ = child.communicate(data, timeout=CHILD_WALL_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            raise ValidationError(TIMEOUT_ERROR) from None
    finally:
        _parses.release()
    return _collect(out, child.returncode, max_rows, too_many)


def _collect(out: bytes, returncode: int, max_rows: int, too_many: str) -> list[tuple[int, tuple[Any, ...]]]:
    lines = out.splitlines()
    try:
        last = json.loads(lines[-1]) if lines else None
    except ValueError:
        last = None
    if not isinstance(last, dict) or returncode != 0:
        if returncode in (-9, -24):  # SIGKILL / SIGXCPU: the CPU limit
            raise ValidationError(TIMEOUT_ERROR)
        raise ValidationError(CRASH_ERROR)
    if "error" in last:
        raise ValidationError(str(last["error"]))
    rows: list[tuple[int, tuple[Any, ...]]] = []
    for line in lines[:-1]:
        number, values = json.loads(line)
        rows.append((int(number), tuple(_decode(v) for v in values)))
        if len(rows) > max_rows:
            raise ValidationError(too_many)
    return rows


def header_and_rows(
    data: bytes, *, sheet_name: str, header_key: Callable[[Any], str], is_blank: Callable[[Any], bool],
    max_rows: int, too_many: str, max_columns: int = DEFAULT_MAX_COLUMNS,
) -> tuple[list[str], list[tuple[int, tuple[Any, ...]]]]:
    """The first non-blank row as the header (through ``header_key``) and the following
    non-blank rows with their Excel row numbers; an empty sheet is an error."""
    rows = [(n, v) for n, v in read_sheet(data, sheet_name=sheet_name, max_rows=max_rows + 1, too_many=too_many,
                                            max_columns=max_columns)
            if not all(is_blank(x) for x in v)]
    if not rows:
        raise ValidationError("文件中没有任何内容，请使用导入模板填写后上传。")
    header = [header_key(v) for v in rows[0][1]]
    if len(rows) - 1 > max_rows:
        raise ValidationError(too_many)
    return header, rows[1:]
