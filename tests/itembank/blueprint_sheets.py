"""Blueprint (细目表) workbooks for the import tests (fixtures only, no tests)."""

from __future__ import annotations

import io

import openpyxl

from itembank.blueprint_excel import COLUMNS
from itembank.blueprints import NodeSpec


def xlsx(rows: list[list[object]], header: list[str] | None = None, *, sheet_title: str = "细目表") -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = sheet_title
    sheet.append(list(COLUMNS) if header is None else header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def spec_rows(nodes: list[NodeSpec]) -> list[list[object]]:
    return [[n.code, n.name, n.importance or "", n.weight] for n in nodes]
