"""Forms of the blueprint pages (细目表): create, the row editor and the Excel upload."""

from __future__ import annotations

import dataclasses
import math

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from werkzeug.datastructures import MultiDict
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from itembank.blueprints import NodeSpec

MAX_EDITOR_ROWS = 3000
COL_CODE, COL_NAME, COL_IMPORTANCE, COL_WEIGHT = "编码", "名称", "重要程度", "比重"
_DASHES = str.maketrans({"－": "-", "–": "-", "—": "-", "‐": "-", "−": "-"})


class BlueprintForm(FlaskForm):
    # Choices are not enforced here: the service checks occupation, 工种, level and mode and
    # answers in Chinese, where WTForms would answer "Not a valid choice".
    occupation_id = SelectField("职业", validate_choice=False, validators=[DataRequired("请选择职业。")])
    work_type_id = SelectField("工种", validate_choice=False, validators=[Optional()])
    level = SelectField("等级", validate_choice=False, validators=[DataRequired("请选择等级。")])
    mode = SelectField("类型", validate_choice=False, validators=[DataRequired("请选择细目表类型。")])
    name = StringField("名称（可留空，自动生成）", validators=[Optional(), Length(max=128)])


class NodesForm(FlaskForm):
    """The editor posts parallel lists code/name/importance/weight; the form carries the CSRF
    token, :func:`parse_rows` reads the rows."""


class ImportForm(FlaskForm):
    file = FileField(
        "Excel 文件（.xlsx）",
        validators=[
            FileRequired("请选择要导入的文件。"),
            FileAllowed(["xlsx"], "只支持 .xlsx 格式的 Excel 文件。"),
        ],
    )


@dataclasses.dataclass
class EditorRow:
    """One row of the editor as typed, so a refused post is shown again exactly."""

    code: str = ""
    name: str = ""
    importance: str = ""
    weight: str = ""

    @property
    def blank(self) -> bool:
        return not (self.code or self.name or self.importance or self.weight)

    @property
    def depth(self) -> int:
        return min(self.code.count("-") + 1, 6) if self.code else 1


def rows_from_specs(nodes: list[NodeSpec]) -> list[EditorRow]:
    def weight(value: float) -> str:
        return str(int(value)) if float(value).is_integer() else f"{value:g}"

    return [EditorRow(n.code, n.name, n.importance or "", weight(n.weight)) for n in nodes]


def parse_rows(formdata: MultiDict[str, str]) -> tuple[list[EditorRow], list[int], list[NodeSpec],
                                                       list[tuple[int, str, str]]]:
    """The posted rows, the editor row number (from 1) of each node, the nodes and the errors.

    Blank rows are kept (so row numbers match what the user sees) but produce no node."""
    columns = [formdata.getlist(key) for key in ("code", "name", "importance", "weight")]
    count = max((len(c) for c in columns), default=0)

    def value(column: list[str], i: int) -> str:
        return column[i].strip() if i < len(column) else ""

    rows = [EditorRow(*(value(c, i) for c in columns)) for i in range(count)]
    errors: list[tuple[int, str, str]] = []
    if sum(not r.blank for r in rows) > MAX_EDITOR_ROWS:
        errors.append((0, "行数", f"一份细目表最多 {MAX_EDITOR_ROWS} 行。"))
        return rows, [], [], errors
    numbers: list[int] = []
    nodes: list[NodeSpec] = []
    for number, row in enumerate(rows, start=1):
        if row.blank:
            continue
        row.code = row.code.translate(_DASHES).replace(" ", "").upper()
        row.importance = row.importance.upper()
        weight = 0.0
        text = row.weight.replace("％", "%").removesuffix("%").strip()
        if text:
            try:
                weight = float(text)
            except ValueError:
                weight = math.nan
            if not math.isfinite(weight):
                errors.append((number, COL_WEIGHT, f"比重应为数字（如 20），当前为「{row.weight}」。"))
                weight = 0.0
        numbers.append(number)
        nodes.append(NodeSpec(row.code, row.name, row.importance or None, weight))
    return rows, numbers, nodes, errors


def editor_row_errors(errors: list[tuple[int, str, str]], numbers: list[int]) -> list[tuple[int, str, str]]:
    """replace_nodes numbers rows by their position among the nodes; map them to editor rows."""
    return [
        (numbers[position - 1] if 0 < position <= len(numbers) else 0, column, message)
        for position, column, message in errors
    ]
