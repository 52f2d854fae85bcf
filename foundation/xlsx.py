"""Reading uploaded .xlsx files for the all-or-nothing imports: open safely, then walk the
non-blank rows with Excel's own row numbers (the numbers users look rows up by)."""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import openpyxl
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook

from foundation.errors import ValidationError


def open_workbook(data: bytes) -> Workbook:
    """A read-only workbook, or a clear Chinese error for anything that is not a usable .xlsx."""
    if not data:
        raise ValidationError("上传的文件是空的。")
    if not data.startswith(b"PK\x03\x04"):
        raise ValidationError("只支持 Excel 2007 及以上的 .xlsx 文件，请使用导入模板填写后上传。")
    try:
        with warnings.catch_warnings():
            # Files saved by other spreadsheet programs make openpyxl warn about styles and
            # extensions it ignores; the data is still read correctly.
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise ValidationError("无法读取该文件，请确认它是有效的 .xlsx 文件。") from exc


def header_and_rows(
    workbook: Workbook, *, sheet_name: str, header_key: Callable[[Any], str], is_blank: Callable[[Any], bool],
    max_rows: int, too_many: str,
) -> tuple[list[str], list[tuple[int, tuple[Any, ...]]]]:
    """The first non-blank row as the header (through ``header_key``) and the following
    non-blank rows with their Excel row numbers. Closes the workbook; an empty sheet is an error."""
    try:
        sheet = workbook[sheet_name] if sheet_name in workbook.sheetnames else workbook.worksheets[0]
        header: list[str] | None = None
        rows: list[tuple[int, tuple[Any, ...]]] = []
        # min_row=1 so that the numbers are Excel's even when the stored dimension starts lower.
        for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            if all(is_blank(v) for v in values):
                continue
            if header is None:
                header = [header_key(v) for v in values]
                continue
            rows.append((number, tuple(values)))
            if len(rows) > max_rows:
                raise ValidationError(too_many)
        if header is None:
            raise ValidationError("文件中没有任何内容，请使用导入模板填写后上传。")
        return header, rows
    finally:
        workbook.close()


# ---------------------------------------------------------------- writing
#
# Every export and template goes through these functions, so every workbook the platform hands
# out follows one rule: a str is stored as a text cell, never a formula (「=HYPERLINK(…)」,
# 「=cmd|…」 in a name stays text), never an error value (「#N/A」) and never a character XML
# cannot carry. Cells are built before they are appended, so the same calls work on write-only
# worksheets and each row costs the same however long the sheet already is.

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
             alignment: Alignment | None = None) -> Cell:
    """A cell for :func:`append_row` (normal and write-only worksheets alike)."""
    cell = set_cell(Cell(sheet, row=1, column=1), value)  # placed by append, as WriteOnlyCell
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if alignment is not None:
        cell.alignment = alignment
    return cell


def append_row(sheet: Any, values: Sequence[Any], *, wrap_multiline: bool = False) -> None:
    """Append one row; values that are already cells (:func:`new_cell`) keep their style.
    ``wrap_multiline``: text with a line break is wrapped and top-aligned."""
    cells = []
    for value in values:
        if isinstance(value, Cell):
            cells.append(value)
            continue
        multiline = wrap_multiline and isinstance(value, str) and ("\n" in value or "\r" in value)
        cells.append(new_cell(sheet, value, alignment=WRAP if multiline else None))
    sheet.append(cells)


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
    """A workbook whose first sheet is called ``sheet_title``."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title
    return workbook, sheet


def workbook_bytes(workbook: Workbook) -> bytes:
    """The .xlsx file's bytes."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
