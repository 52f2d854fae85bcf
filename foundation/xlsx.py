"""The one reader of uploaded .xlsx files (for the all-or-nothing imports) and the one writer of
.xlsx exports (see "writing" below).

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
import io
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from openpyxl.cell.cell import ERROR_CODES, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidation

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


# ---------------------------------------------------------------- writing
#
# Every export and template goes through these functions, so every workbook the platform hands
# out follows two rules.
#
# Text stays text: a str is stored as a text cell, never a formula (「=HYPERLINK(…)」, 「=cmd|…」
# in a name stays text), never an error value (「#N/A」) and never a character XML cannot carry.
#
# Rows are streamed: :func:`new_workbook` makes a write-only workbook (openpyxl's
# ``Workbook(write_only=True)``), whose sheets write each appended row out and keep no cells, so
# an export's time and memory grow linearly with its rows (an in-memory sheet asked for its
# ``max_row`` per row scans every cell: quadratic). A write-only sheet has no random access:
# cells are built (:func:`new_cell`, styled there) and appended in order, column widths and
# frozen panes are set before the first row (:func:`write_header`), data validations may be
# added any time before saving (:func:`add_list_validation`), and a sheet is written once.
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="A61B29")
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")
NOTES_SHEET = "说明"

# What XML 1.0 cannot hold (openpyxl refuses the C0 controls; U+FFFE/U+FFFF and lone surrogates
# would make a file Excel and openpyxl cannot open). Tab and line feed are kept.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Characters that start a formula when the cell is edited in Excel or pasted elsewhere; text
# cells starting with one get Excel's quote prefix (the 「'」 a user would type) as well.
_FORMULA_START = frozenset("=+-@＝＋－＠")


def cell_text(value: str) -> str:
    """``value`` as it is stored in a text cell: line ends as line feeds (XML reads a carriage
    return back as a line feed anyway) and characters XML cannot hold removed."""
    return _NOT_XML.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def set_cell(cell: Cell, value: Any) -> Cell:
    """Give ``cell`` the value: a str always as a text cell (data type ``s``), whatever it
    starts with; numbers, dates, booleans and None as they are."""
    if isinstance(value, str):
        text = cell_text(value)
        cell.value = text
        cell.data_type = "s"  # openpyxl would make 「=…」 a formula and 「#N/A」 an error
        if text[:1] in _FORMULA_START:
            cell.quotePrefix = True
    else:
        cell.value = value
    return cell


def new_cell(sheet: Any, value: Any, *, font: Font | None = None, fill: PatternFill | None = None,
             alignment: Alignment | None = None, number_format: str | None = None) -> Cell:
    """A cell for :func:`append_row` (normal and write-only worksheets alike). A styled cell
    whose value is None is still written (an empty cell with a fill or a text format)."""
    cell = set_cell(Cell(sheet, row=1, column=1), value)  # placed by append, as WriteOnlyCell
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if alignment is not None:
        cell.alignment = alignment
    if number_format is not None:
        cell.number_format = number_format
    return cell


def append_row(sheet: Any, values: Sequence[Any], *, wrap_multiline: bool = False) -> None:
    """Append one row; values that are already cells (:func:`new_cell`) keep their style.
    ``wrap_multiline``: text with a line break is wrapped and top-aligned.

    Only values that need it become a :class:`Cell` here (text openpyxl would read as a formula
    or an error, text that gets the quote prefix or wraps): other text, numbers, dates and None
    are handed to openpyxl as they are, which stores them exactly as :func:`set_cell` would and,
    on a write-only sheet, without building a cell object per value. An empty string before
    the row's last column writes no cell at all: it reads back as None either way."""
    row: list[Any] = []
    last = len(values) - 1
    for i, value in enumerate(values):
        if isinstance(value, str):
            if not value and i < last:
                row.append(None)  # no cell: reads back as an empty string cell does (None)
                continue
            text = cell_text(value)
            multiline = wrap_multiline and "\n" in text
            if multiline or text[:1] in _FORMULA_START or text in ERROR_CODES:
                row.append(new_cell(sheet, text, alignment=WRAP if multiline else None))
            else:
                row.append(text)
        elif value is None or isinstance(value, Cell | int | float | dt.date | dt.time | dt.timedelta):
            row.append(value)
        else:
            row.append(new_cell(sheet, value))
    sheet.append(row)


def write_header(sheet: Any, columns: Sequence[str], widths: Mapping[str, float] | Sequence[float] = (), *,
                 default_width: float = 14, font: Font = HEADER_FONT, fill: PatternFill | None = HEADER_FILL,
                 freeze: bool = True) -> None:
    """The header row in the platform's style (white bold on red) as the sheet's first row,
    column widths by column name or position, and the panes frozen below it. Call it before
    any other row (write-only worksheets need widths and panes first)."""
    for i, column in enumerate(columns, start=1):
        if isinstance(widths, Mapping):
            width = widths.get(column, default_width)
        else:
            width = widths[i - 1] if i - 1 < len(widths) else default_width
        sheet.column_dimensions[get_column_letter(i)].width = width
    if freeze:
        sheet.freeze_panes = "A2"
    append_row(sheet, [new_cell(sheet, column, font=font, fill=fill) for column in columns])


def add_notes(workbook: Workbook, lines: Iterable[Sequence[str]], *, title: str = NOTES_SHEET,
              widths: tuple[float, float] = (14, 90), wrap: bool = False) -> Any:
    """The 说明 (instructions) sheet: two columns, the first line bold; ``wrap`` wraps the
    second column of the other lines."""
    notes = workbook.create_sheet(title)
    notes.column_dimensions["A"].width = widths[0]
    notes.column_dimensions["B"].width = widths[1]
    for number, line in enumerate(lines):
        if number == 0:
            append_row(notes, [new_cell(notes, text, font=BOLD) for text in line])
        else:
            append_row(notes, [new_cell(notes, text, alignment=WRAP if wrap and i == 1 else None)
                               for i, text in enumerate(line)])
    return notes


def new_workbook(sheet_title: str) -> tuple[Workbook, Any]:
    """A streaming (write-only) workbook whose first sheet is called ``sheet_title``; further
    sheets come from ``workbook.create_sheet(title)`` and are streamed too (see "writing")."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    return workbook, sheet


def add_list_validation(sheet: Any, choices: Sequence[str], ref: str) -> DataValidation:
    """A drop-down of ``choices`` on the cells ``ref`` (e.g. ``"C2:C5001"``), blanks allowed.
    Works on write-only sheets (validations are written after the rows)."""
    validation = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True)
    validation.add(ref)
    sheet.data_validations.append(validation)
    return validation


def workbook_bytes(workbook: Workbook) -> bytes:
    """The .xlsx file's bytes."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
