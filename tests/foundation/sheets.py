"""Occupation-catalogue workbooks for the import tests (fixtures only, no tests)."""

from __future__ import annotations

import io

import openpyxl

HEADER = ["职业编码", "职业名称", "工种", "最低等级", "最高等级", "准入类"]


def xlsx(rows: list[list[object]], header: list[str] | None = HEADER, sheet_title: str = "职业目录") -> bytes:
    """An .xlsx built in memory: the header row, then ``rows``."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = sheet_title
    if header is not None:
        sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
