"""The child process that parses one uploaded .xlsx: ``python -m foundation.xlsx_child LIMITS``.

It caps its own address space and CPU time first (``resource.setrlimit``), reads the file from
stdin, runs the :mod:`foundation.xlsx_guard` checks, then walks the sheet with openpyxl
(read-only) and writes one JSON line per non-blank row, ``[excel_row, [cells...]]``, and a final
``{"ok": true}`` or ``{"error": "中文消息"}``. Cells are str/int/float/bool/None, or a tagged
list for dates and times (see :func:`encode`). The parent (:func:`foundation.xlsx.read_sheet`)
enforces the wall-clock limit and turns a killed or crashed child into a Chinese error.

Nothing here touches the database or the application: a hostile file can at worst exhaust
this process's own limits.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
import warnings
from collections.abc import Iterator
from typing import Any, BinaryIO

from foundation.errors import ValidationError
from foundation.xlsx_guard import NOT_XLSX, SheetLimits, check_archive, check_sheet, sheet_part

MEMORY_ERROR = "解析文件所需内存超出限制，文件可能过大或已损坏，请删除多余内容或拆分文件后再上传。"


def encode(value: Any) -> Any:
    """A cell value as JSON: scalars as they are, dates and times as tagged lists."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dt.datetime):
        return ["datetime", value.isoformat()]
    if isinstance(value, dt.date):
        return ["date", value.isoformat()]
    if isinstance(value, dt.time):
        return ["time", value.isoformat()]
    if isinstance(value, dt.timedelta):
        return ["timedelta", value.total_seconds()]
    return str(value)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def rows(data: bytes, sheet_name: str | None, limits: SheetLimits) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """The sheet's non-blank rows with Excel row numbers, after the guard's checks."""
    import openpyxl  # here, so that a refused file never pays for importing it

    archive = check_archive(data)
    part = sheet_part(archive, sheet_name)
    extent = check_sheet(archive, part, limits)
    try:
        with warnings.catch_warnings():
            # Files saved by other spreadsheet programs make openpyxl warn about styles and
            # extensions it ignores; the data is still read correctly.
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            if sheet_name is not None and sheet_name in workbook.sheetnames:
                sheet = workbook[sheet_name]
            else:
                sheet = workbook.worksheets[0]
            if getattr(sheet, "_worksheet_path", part) != part:  # the scan must have seen this sheet
                raise ValidationError(NOT_XLSX)
            # Bounds from the scan, not from the file's own claims: rows padded to the widest
            # real cell, and no filler rows after the last real one.
            width = max(extent.columns, 1)
            for number, values in enumerate(
                sheet.iter_rows(min_row=1, max_row=max(extent.rows, 1), max_col=width, values_only=True), start=1
            ):
                if number > limits.max_rows:
                    raise ValidationError(f"工作表的行数过多（超过 {limits.max_rows} 行），请拆分文件后再上传。")
                if not all(_blank(v) for v in values):
                    yield number, tuple(values)
        workbook.close()
    except ValidationError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise ValidationError(NOT_XLSX) from exc


def _limit_resources(memory_bytes: int, cpu_seconds: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))


def run(args: dict[str, Any], data: bytes, out: BinaryIO) -> None:
    limits = SheetLimits(max_rows=int(args["max_rows"]), max_columns=int(args["max_columns"]))
    try:
        for number, values in rows(data, args.get("sheet_name"), limits):
            out.write(json.dumps([number, [encode(v) for v in values]], ensure_ascii=False).encode() + b"\n")
        out.write(b'{"ok": true}\n')
    except ValidationError as exc:
        out.write(json.dumps({"error": exc.message}, ensure_ascii=False).encode() + b"\n")
    except MemoryError:
        out.write(json.dumps({"error": MEMORY_ERROR}, ensure_ascii=False).encode() + b"\n")


def main() -> None:
    args = json.loads(sys.argv[1])
    _limit_resources(int(args["memory_bytes"]), int(args["cpu_seconds"]))
    # openpyxl imports numpy when it can, only to recognise numpy scalars when writing; in this
    # short-lived reader that would cost about a second per upload.
    sys.modules["numpy"] = None  # type: ignore[assignment]
    data = sys.stdin.buffer.read()
    run(args, data, sys.stdout.buffer)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
