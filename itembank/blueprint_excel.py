"""鉴定要素细目表 Excel import/export: the .xlsx template, reading a file into node rows, the
all-or-nothing import into a blueprint, and the export (same layout, so it re-imports unchanged).

Layout: one sheet 「细目表」 with the header 编码 / 名称 / 重要程度 / 鉴定比重(%) and one row per
node (鉴定范围 or 鉴定点) in tree order, plus a 「说明」 sheet with the code rules. Every problem is
reported as (Excel row, column, Chinese message) in :class:`~foundation.errors.RowErrors`;
file-level problems (not an .xlsx, empty, no header) use row 0 or the header row.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy.orm import Session

from foundation.errors import RowErrors, ValidationError
from foundation.xlsx import (
    add_list_validation,
    add_notes,
    append_row,
    cell_text,
    new_cell,
    new_workbook,
    read_sheet,
    workbook_bytes,
    write_header,
)
from itembank.blueprints import HealthReport, NodeSpec, is_point_code, replace_nodes
from itembank.models import IMPORTANCE_LABELS, Blueprint

if TYPE_CHECKING:
    from foundation.accounts import User

SHEET_NAME = "细目表"
NOTES_SHEET = "说明"
COL_CODE = "编码"
COL_NAME = "名称"
COL_IMPORTANCE = "重要程度"
COL_WEIGHT = "鉴定比重(%)"
COLUMNS = (COL_CODE, COL_NAME, COL_IMPORTANCE, COL_WEIGHT)
# Header cells are matched loosely: 「*编码」, 「鉴定比重（%）」 and 「比重」 all count.
_HEADER_KEYS = {"编码": COL_CODE, "名称": COL_NAME, "重要程度": COL_IMPORTANCE, "鉴定比重": COL_WEIGHT,
                "比重": COL_WEIGHT}
# structure_errors (itembank.blueprints) names its columns a little differently.
_SERVICE_COLUMNS = {"比重": COL_WEIGHT}
MAX_ROWS = 5000
FILE_ROW = 0  # row number used for problems of the whole file or the whole tree

_DASHES = str.maketrans({"－": "-", "–": "-", "—": "-", "‐": "-", "−": "-"})
_IMPORTANCE_ALIASES = {
    "X": "X", "Y": "Y", "Z": "Z",
    **{label: code for code, label in IMPORTANCE_LABELS.items()},
    **{label.removesuffix("要素"): code for code, label in IMPORTANCE_LABELS.items()},
}

EXAMPLE_ROWS: tuple[tuple[str, str, str, float], ...] = (
    ("A", "基本要求", "", 20),
    ("A-A", "职业道德", "", 5),
    ("A-A-001", "职业道德基本知识", "X", 3),
    ("A-A-002", "职业守则", "X", 2),
    ("A-B", "基础知识", "", 15),
    ("A-B-001", "电工基础知识", "X", 0),
    ("A-B-002", "安全用电知识", "X", 0),
    ("A-B-003", "相关法律、法规知识", "Y", 0),
    ("B", "相关知识", "", 80),
    ("B-A", "电气设备安装", "", 50),
    ("B-A-A", "照明电路安装", "", 50),
    ("B-A-A-001", "照明电路配线", "X", 0),
    ("B-A-A-002", "灯具安装", "Z", 0),
    ("B-B", "电气设备维修", "", 30),
    ("B-B-001", "三相异步电动机维修", "X", 30),
)

NOTES: tuple[tuple[str, str], ...] = (
    ("项目", "填写说明"),
    (COL_CODE, "必填。鉴定范围用大写字母路径表示层级：第一级 A、B、C…，第二级 A-A、A-B…，第三级 A-B-C…，最多五级。"),
    ("", "鉴定点的编码为所属鉴定范围的路径加三位序号，如 A-B-001、A-B-C-001；鉴定点是树的末端，其下不能再有节点。"),
    ("", "编码在同一细目表内不能重复；每个编码的上级（去掉最后一段）必须已经存在，如 A-B-C 的上级是 A-B。"),
    (COL_NAME, "必填。鉴定范围或鉴定点的名称，如「基本要求」「安全用电知识」。"),
    (COL_IMPORTANCE, "鉴定点必填：X 为核心要素，Y 为一般要素，Z 为辅助要素（也可填「核心要素」等名称）。"),
    ("", "鉴定范围的重要程度可留空。"),
    (COL_WEIGHT, "鉴定比重，即该节点在试卷中所占的百分比，填数字（如 20 或 20%）。"),
    ("", "第一级鉴定范围的比重合计必须为 100；每个节点下级的比重合计必须等于该节点的比重。"),
    ("", "同一鉴定范围下的鉴定点可以全部填 0（不单独设比重），此时只由上级鉴定范围承担比重。"),
    ("", ""),
    ("健康度", "命题技术规程建议：核心要素（X）不少于鉴定点的 80%，一般要素（Y）不超过 15%，辅助要素（Z）不超过 5%；"),
    ("", "理论知识细目表每个等级的鉴定点不少于 200 个；每个鉴定点至少有 4 道已终审的试题。这些只提示，不阻止导入。"),
    ("", ""),
    ("导入规则", "导入会用文件内容整体替换该细目表的全部节点；已有试题的鉴定点不能删除或改码。"),
    ("", "任何一行有错误时，整份文件都不会导入，页面会列出所有错误的行号、列名和原因。"),
    ("", "导出的文件与本模板格式相同，修改后可直接再次导入。"),
)


# ---------------------------------------------------------------- reading


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _header_key(value: Any) -> str | None:
    text = _cell_text(value).replace("*", "").replace(" ", "").replace("（", "(").replace("）", ")")
    text = re.sub(r"\(.*?\)", "", text)
    return _HEADER_KEYS.get(text)


def _parse_weight(value: Any) -> float | None:
    """A number, 「20」 or 「20%」; empty is 0. None when it is not a number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0.0
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip().replace("％", "%").removesuffix("%").strip()
        try:
            number = float(text)
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def _load_sheet_rows(data: bytes) -> list[tuple[int, tuple[Any, ...]]]:
    """Non-empty rows of the blueprint sheet with their Excel row numbers, through the project's
    guarded reader; a file-level refusal is reported on row 0 (the file)."""
    try:
        rows = read_sheet(data, sheet_name=SHEET_NAME, max_rows=MAX_ROWS + 1,
                          too_many=f"一份细目表最多 {MAX_ROWS} 行，请检查文件内容。")
    except ValidationError as exc:
        raise RowErrors([(FILE_ROW, "文件", exc.message)]) from exc
    rows = [(number, values) for number, values in rows if not all(_cell_text(v) == "" for v in values)]
    if not rows:
        raise RowErrors([(FILE_ROW, "文件", "文件中没有任何内容，请使用导入模板填写后上传。")])
    return rows


def read_rows(data: bytes) -> list[tuple[int, NodeSpec]]:
    """The file's nodes, each with its Excel row number. Cells that cannot be read (a weight that
    is not a number, an unknown importance) raise RowErrors listing every such cell; the tree's
    structure is checked by replace_nodes."""
    rows = _load_sheet_rows(data)
    header_row, header_values = rows[0]
    index: dict[str, int] = {}
    for i, value in enumerate(header_values):
        key = _header_key(value)
        if key is not None and key not in index:
            index[key] = i
    missing = [c for c in COLUMNS if c not in index]
    if missing:
        raise RowErrors([(header_row, "表头", f"缺少必需的列：{'、'.join(missing)}。第一行应为表头："
                                               f"{'、'.join(COLUMNS)}。")])
    if len(rows) == 1:
        raise RowErrors([(header_row, "文件", "文件中只有表头，没有数据行。")])

    def cell(values: tuple[Any, ...], column: str) -> Any:
        i = index[column]
        return values[i] if i < len(values) else None

    errors: list[tuple[int, str, str]] = []
    nodes: list[tuple[int, NodeSpec]] = []
    for number, values in rows[1:]:
        code = _cell_text(cell(values, COL_CODE)).translate(_DASHES).replace(" ", "").upper()
        name = _cell_text(cell(values, COL_NAME))
        importance_text = _cell_text(cell(values, COL_IMPORTANCE)).replace(" ", "")
        importance: str | None = None
        if importance_text:
            importance = _IMPORTANCE_ALIASES.get(importance_text.upper()) or _IMPORTANCE_ALIASES.get(importance_text)
            if importance is None:
                errors.append((number, COL_IMPORTANCE,
                               f"重要程度「{importance_text}」无法识别，请填写 X（核心）、Y（一般）或 Z（辅助）。"))
        raw_weight = cell(values, COL_WEIGHT)
        weight = _parse_weight(raw_weight)
        if weight is None:
            shown = _cell_text(raw_weight)
            errors.append((number, COL_WEIGHT, f"鉴定比重应为数字（如 20 或 20%），当前为「{shown}」。"))
        nodes.append((number, NodeSpec(code, name, importance, weight if weight is not None else 0.0)))
    if errors:
        raise RowErrors(errors)
    return nodes


def read_blueprint_xlsx(data: bytes) -> list[NodeSpec]:
    """The nodes of an .xlsx in the template layout. Structure (codes, parents, weight sums) is
    checked on import by :func:`itembank.blueprints.replace_nodes`."""
    return [spec for _, spec in read_rows(data)]


def import_blueprint(session: Session, actor: User, blueprint_id: int, data: bytes) -> HealthReport:
    """Replace the blueprint's tree with the file's rows, all or nothing.

    Every error names its Excel row (row 0: the file or the tree as a whole); nothing is
    written unless the whole file is valid. Returns the health warnings of the new tree."""
    numbered = read_rows(data)
    try:
        return replace_nodes(session, actor, blueprint_id, [spec for _, spec in numbered])
    except RowErrors as exc:
        raise RowErrors(to_excel_rows(exc.errors, [number for number, _ in numbered])) from exc


def to_excel_rows(errors: list[tuple[int, str, str]], excel_rows: list[int] | None = None
                  ) -> list[tuple[int, str, str]]:
    """Map replace_nodes' positions (1-based in the node list; 0 for the whole tree) to Excel
    rows. Without ``excel_rows`` the file is assumed to have no blank rows: position + 1."""
    mapped = []
    for position, column, message in errors:
        if position <= 0:
            row = FILE_ROW
        elif excel_rows is not None and position <= len(excel_rows):
            row = excel_rows[position - 1]
        else:
            row = position + 1
        mapped.append((row, _SERVICE_COLUMNS.get(column, column), message))
    return mapped


# ---------------------------------------------------------------- writing

_RANGE_FONT = Font(bold=True)
_WIDTHS = (16, 40, 10, 14)


def _new_workbook(title: str = "") -> tuple[Workbook, Any]:
    workbook, sheet = new_workbook(SHEET_NAME)
    write_header(sheet, COLUMNS, _WIDTHS)
    add_list_validation(sheet, ("X", "Y", "Z"), f"C2:C{MAX_ROWS + 1}")
    if title:
        workbook.properties.title = cell_text(title)
    return workbook, sheet


def _append_node(sheet: Any, code: str, name: str, importance: str | None, weight: float) -> None:
    number = int(weight) if float(weight).is_integer() else float(weight)
    # Indentation and bold are presentation only: the values re-import unchanged.
    font = None if is_point_code(code) else _RANGE_FONT
    append_row(sheet, [
        new_cell(sheet, code, font=font),
        new_cell(sheet, name, font=font, alignment=Alignment(indent=code.count("-"))),
        importance or "",
        number,
    ])


def blueprint_template_bytes() -> bytes:
    """The import template: header, example ranges and points, and the 说明 sheet."""
    workbook, sheet = _new_workbook("鉴定要素细目表导入模板")
    for code, name, importance, weight in EXAMPLE_ROWS:
        _append_node(sheet, code, name, importance or None, weight)
    add_notes(workbook, NOTES, title=NOTES_SHEET, widths=(14, 110))
    return workbook_bytes(workbook)


def export_blueprint_bytes(blueprint: Blueprint) -> bytes:
    """The blueprint's tree in the template layout (tree order), ready to edit and re-import."""
    workbook, sheet = _new_workbook(blueprint.name)
    for node in blueprint.nodes:
        _append_node(sheet, node.code, node.name, node.importance, float(node.weight))
    add_notes(workbook, NOTES, title=NOTES_SHEET, widths=(14, 110))
    return workbook_bytes(workbook)
