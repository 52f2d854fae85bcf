"""Forms of the paper pages (组卷 / 试卷库): the builder and the workflow actions.

Numbers are read as text and parsed here, so every message is Chinese; the layout rows
(题型, 题数, 每题分值) are parallel lists read by :func:`parse_layout`, and the service
(:func:`itembank.papers.assemble_paper`) checks everything else.
"""

from __future__ import annotations

import dataclasses
import math
import re

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from foundation.errors import ValidationError
from itembank.itemtypes import ITEM_TYPES
from itembank.papers import FORM_LABELS, MODE_LABELS, Section, parse_sections

# The national level-4 default: 160 single choice × 0.5 + 40 true/false × 0.5 = 100 points.
DEFAULT_LAYOUT = (("single_choice", "160", "0.5"), ("true_false", "40", "0.5"))
MAX_LAYOUT_ROWS = len(ITEM_TYPES)
ACTIONS = ("submit", "approve", "return", "delete", "scale", "unscale")
_CODE_SPLIT = re.compile(r"[\s,，、;；]+")


class PaperBuilderForm(FlaskForm):
    """The builder's scalar fields; the layout rows and fixed codes are read separately."""

    institution_id = HiddenField()
    blueprint_id = SelectField("细目表", validate_choice=False)
    name = StringField("试卷名称", validators=[Length(max=128, message="试卷名称最多 128 个字。")])
    mode = SelectField("组卷方式", choices=[SelectChoice(k, v) for k, v in MODE_LABELS.items()],
                       validate_choice=False, default="blueprint")
    n_forms = SelectField("平行卷数量", choices=[
        SelectChoice(str(n), f"{n} 套（卷 {'、'.join(FORM_LABELS[:n])}）") for n in range(1, len(FORM_LABELS) + 1)
    ], validate_choice=False, default="1")
    duration_minutes = StringField("考试时长（分钟）", default="120")
    cut_theta = StringField("合格线能力值 θ", default="0")
    tif_tolerance = StringField("平行卷信息量容差（%，可留空）", validators=[Optional()])
    scale_to_100 = BooleanField("成绩按百分制折算（每套总分不是 100 分时勾选）")


class PaperActionForm(FlaskForm):
    action = HiddenField()
    comment = TextAreaField("审核意见", validators=[Length(max=2000, message="审核意见最多 2000 个字。")])


@dataclasses.dataclass
class LayoutRow:
    """One layout row as typed, so a refused post is shown again exactly."""

    item_type: str = ""
    count: str = ""
    points: str = ""

    @property
    def blank(self) -> bool:
        return not (self.item_type or self.count.strip() or self.points.strip())


@dataclasses.dataclass
class BuilderInput:
    """Everything the builder posted, parsed; ``rows`` and ``fixed_text`` for re-rendering."""

    rows: list[LayoutRow]
    fixed_text: dict[str, str]
    sections: list[Section] = dataclasses.field(default_factory=list)
    n_forms: int = 1
    duration_minutes: int = 120
    cut_theta: float = 0.0
    tif_tolerance: float | None = None
    fixed_codes: list[list[str]] | None = None


def default_rows() -> list[LayoutRow]:
    return [LayoutRow(*row) for row in DEFAULT_LAYOUT]


def layout_rows(formdata: MultiDict[str, str]) -> list[LayoutRow]:
    columns = [formdata.getlist(key) for key in ("section_type", "section_count", "section_points")]
    count = max((len(c) for c in columns), default=0)

    def value(column: list[str], i: int) -> str:
        return column[i].strip() if i < len(column) else ""

    return [LayoutRow(*(value(c, i) for c in columns)) for i in range(min(count, 50))]


def fixed_texts(formdata: MultiDict[str, str]) -> dict[str, str]:
    return {label: formdata.get(f"fixed_{label}", "") for label in FORM_LABELS}


def split_codes(text: str) -> list[str]:
    """Item codes separated by line breaks, spaces, commas or 、；."""
    return [c for c in _CODE_SPLIT.split(text.strip()) if c]


def _number(text: str | None, label: str, field: str, *, integer: bool = False) -> float:
    raw = (text or "").strip().replace("％", "%").removesuffix("%").strip()
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or (integer and not value.is_integer()):
        kind = "整数" if integer else "数字"
        raise ValidationError(f"{label}应为{kind}，当前为「{text or ''}」。", field=field)
    return value


def parse_builder(form: PaperBuilderForm, formdata: MultiDict[str, str]) -> BuilderInput:
    """Parse the posted builder; raises :class:`ValidationError` (Chinese) on bad input."""
    rows = layout_rows(formdata)
    parsed = BuilderInput(rows=rows, fixed_text=fixed_texts(formdata))
    raw = [{"type": r.item_type, "count": r.count, "points": r.points} for r in rows if not r.blank]
    parsed.sections = parse_sections(raw)
    parsed.n_forms = int(_number(form.n_forms.data, "平行卷数量", "n_forms", integer=True))
    parsed.duration_minutes = int(_number(form.duration_minutes.data, "考试时长", "duration_minutes", integer=True))
    parsed.cut_theta = _number(form.cut_theta.data, "合格线能力值 θ", "cut_theta")
    if not -4 <= parsed.cut_theta <= 4:
        raise ValidationError("合格线能力值 θ 应在 −4 到 4 之间。", field="cut_theta")
    if (form.tif_tolerance.data or "").strip():
        tolerance = _number(form.tif_tolerance.data, "信息量容差", "tif_tolerance")
        if not 0 < tolerance <= 100:
            raise ValidationError("信息量容差应大于 0、不超过 100（%）。", field="tif_tolerance")
        parsed.tif_tolerance = tolerance / 100
    if form.mode.data == "fixed":
        labels = FORM_LABELS[: max(1, min(parsed.n_forms, len(FORM_LABELS)))]
        parsed.fixed_codes = [split_codes(parsed.fixed_text[label]) for label in labels]
        empty = [label for label, codes in zip(labels, parsed.fixed_codes, strict=True) if not codes]
        if empty:
            raise ValidationError(f"固定试卷请为卷 {'、'.join(empty)} 填写试题编码。", field="fixed_codes")
    return parsed
