"""Reading uploaded .xlsx files for the all-or-nothing imports: open safely, then walk the
non-blank rows with Excel's own row numbers (the numbers users look rows up by)."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from typing import Any

import openpyxl
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
