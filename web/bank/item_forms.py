"""Item editor forms and the translation between form fields and an item type's spec.

One form serves every item type: the editor shows the fieldsets of the chosen type and the
server reads only those. Numbers are parsed here (not by WTForms) so every message is
Chinese; everything else is validated by the services (itembank.items / itemtypes).
"""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from foundation.errors import ValidationError
from itembank.items import ItemContent
from itembank.itemtypes import FALSE_MARK, ITEM_TYPES, SCORING_RULES, TRUE_MARK
from itembank.models import ItemVersion

OPTION_LABELS = "ABCDEF"
SCORING_LABELS = {
    "all_or_nothing": "全部选对才得分",
    "subset": "少选得部分分（选错不得分）",
    "proportional": "按选对比例得分（选错不得分）",
}
_SPLIT_ANSWERS = re.compile(r"[|｜]")
_HTML_MAX = 50_000


# SelectChoice because tuple choices are deprecated in WTForms 3.3.
def type_choices() -> list[SelectChoice]:
    return [SelectChoice(code, t.label) for code, t in ITEM_TYPES.items()]


class ItemFields(FlaskForm):
    """The content fields common to creating and revising an item."""

    stem_html = TextAreaField("题干", validators=[Length(max=_HTML_MAX)])
    option_a = TextAreaField("选项 A", validators=[Length(max=_HTML_MAX)])
    option_b = TextAreaField("选项 B", validators=[Length(max=_HTML_MAX)])
    option_c = TextAreaField("选项 C", validators=[Length(max=_HTML_MAX)])
    option_d = TextAreaField("选项 D", validators=[Length(max=_HTML_MAX)])
    option_e = TextAreaField("选项 E", validators=[Length(max=_HTML_MAX)])
    option_f = TextAreaField("选项 F", validators=[Length(max=_HTML_MAX)])
    key = SelectMultipleField(
        "正确答案", choices=[SelectChoice(x, x) for x in OPTION_LABELS], validate_choice=False,
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
    )
    scoring = SelectField("多选题计分规则", choices=[SelectChoice(r, SCORING_LABELS[r]) for r in SCORING_RULES],
                          validate_choice=False)
    subset_credit = StringField("少选得分比例", validators=[Optional(), Length(max=10)])
    tf_key = RadioField("判断答案", choices=[SelectChoice(TRUE_MARK, "√ 正确"), SelectChoice(FALSE_MARK, "× 错误")],
                        validate_choice=False)
    blanks = TextAreaField("各空的参考答案", validators=[Length(max=20_000)])
    any_order = BooleanField("各空答案可不按顺序")
    reference_answer = TextAreaField("参考答案", validators=[Length(max=_HTML_MAX)])
    scoring_points = TextAreaField("评分要点", validators=[Length(max=_HTML_MAX)])
    max_length = StringField("作答字数上限", validators=[Optional(), Length(max=6)])
    explanation_html = TextAreaField("解析", validators=[Length(max=_HTML_MAX)])
    source = StringField("来源", validators=[Optional(), Length(max=255)])
    difficulty = StringField("预估难度（答对率）", validators=[Optional(), Length(max=10)])


class NewItemForm(ItemFields):
    point_id = SelectField("鉴定点", validate_choice=False)
    item_type = SelectField("题型", choices=type_choices, validate_choice=False)
    code = StringField("试题编码（留空自动生成）", validators=[Optional(), Length(max=64)])


class EditItemForm(ItemFields):
    change_note = StringField("修改说明", validators=[Optional(), Length(max=500)])


# ---------------------------------------------------------------- form -> content


def _number(text: str | None, what: str, field: str) -> float | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise ValidationError(f"{what}必须是数字。", field=field) from None
    return value / 100 if text.endswith("%") else value


def _options(form: ItemFields) -> list[dict[str, str]]:
    values = [(label, (form[f"option_{label.lower()}"].data or "")) for label in OPTION_LABELS]
    while values and not values[-1][1].strip():
        values.pop()
    return [{"label": label, "html": html} for label, html in values]


def _blanks(text: str) -> list[dict[str, list[str]]]:
    blanks = []
    for line in (text or "").splitlines():
        answers = [a.strip() for a in _SPLIT_ANSWERS.split(line) if a.strip()]
        if answers:
            blanks.append({"answers": answers})
    return blanks


def _scoring_points(text: str) -> list[dict[str, Any]]:
    points = []
    for n, line in enumerate((line for line in (text or "").splitlines() if line.strip()), start=1):
        parts = _SPLIT_ANSWERS.split(line, maxsplit=1)
        value = None
        if len(parts) == 2:
            try:
                value = float(parts[0].strip())
            except ValueError:
                value = None
        if value is None:
            raise ValidationError(f"第 {n} 个评分要点应写成“分值|要点内容”，如：2|答出欧姆定律的内容。",
                                  field="scoring_points")
        points.append({"points": value, "html": parts[1].strip()})
    return points


class FormFields:
    """The editor fields of one item type (registered by type code in :data:`FORM_FIELDS`):
    which fieldsets of ``bank/items/form.html`` it shows and how its spec is read from them."""

    #: Fieldsets of the editor shown for the type: options, options_ef (选项 E/F), multi (多选题
    #: 计分规则), tf, blanks, examiner.
    fieldsets: tuple[str, ...] = ()
    #: A service error's field -> the form field showing it (e.g. ``key`` -> ``tf_key``).
    error_fields: dict[str, str] = {}

    def spec(self, form: ItemFields, *, public_only: bool) -> dict[str, Any]:
        """The spec from the form; ``public_only`` leaves out keys and scoring."""
        raise NotImplementedError


class ChoiceFields(FormFields):
    def __init__(self, *, multi: bool) -> None:
        self.multi = multi
        self.fieldsets = ("options", "options_ef", "multi") if multi else ("options",)

    def spec(self, form: ItemFields, *, public_only: bool) -> dict[str, Any]:
        spec: dict[str, Any] = {"options": _options(form)}
        if public_only:
            return spec
        spec["key"] = list(form.key.data or [])
        if self.multi:
            spec["scoring"] = form.scoring.data or "all_or_nothing"
            if spec["scoring"] == "subset":
                credit = _number(form.subset_credit.data, "少选得分比例", "subset_credit")
                if credit is not None:
                    spec["subset_credit"] = credit
        return spec


class TrueFalseFields(FormFields):
    fieldsets = ("tf",)
    error_fields = {"key": "tf_key"}

    def spec(self, form: ItemFields, *, public_only: bool) -> dict[str, Any]:
        return {} if public_only else {"key": form.tf_key.data or ""}


class FillInFields(FormFields):
    fieldsets = ("blanks",)

    def spec(self, form: ItemFields, *, public_only: bool) -> dict[str, Any]:
        blanks = _blanks(form.blanks.data or "")
        if public_only:
            return {"blanks": [{"answers": []} for _ in blanks]}
        return {"blanks": blanks, "any_order": bool(form.any_order.data)}


class ExaminerFields(FormFields):
    fieldsets = ("examiner",)

    def spec(self, form: ItemFields, *, public_only: bool) -> dict[str, Any]:
        spec: dict[str, Any] = {}
        max_length = _number(form.max_length.data, "作答字数上限", "max_length")
        if max_length is not None:
            if max_length != int(max_length):
                raise ValidationError("作答字数上限必须是整数。", field="max_length")
            spec["max_length"] = int(max_length)
        if public_only:
            return spec
        spec["reference_answer"] = form.reference_answer.data or ""
        spec["scoring_points"] = _scoring_points(form.scoring_points.data or "")
        return spec


FORM_FIELDS: dict[str, FormFields] = {
    "single_choice": ChoiceFields(multi=False),
    "multiple_choice": ChoiceFields(multi=True),
    "true_false": TrueFalseFields(),
    "fill_in": FillInFields(),
    "short_answer": ExaminerFields(),
    "calculation": ExaminerFields(),
    "essay": ExaminerFields(),
}
"""The editor fields of each item type by code; a new type registers its fields here."""

_UNKNOWN_TYPE_FIELDS = ExaminerFields()  # an unknown type's spec is read as before; the service rejects the type


def form_fields(item_type: str) -> FormFields:
    return FORM_FIELDS.get(item_type, _UNKNOWN_TYPE_FIELDS)


def fieldset_types() -> dict[str, list[str]]:
    """Fieldset -> the type codes showing it (for the editor template)."""
    out: dict[str, list[str]] = {}
    for code in ITEM_TYPES:
        for name in form_fields(code).fieldsets:
            out.setdefault(name, []).append(code)
    return out


def spec_from_form(form: ItemFields, item_type: str, *, public_only: bool = False) -> dict[str, Any]:
    """The type's spec from the form. ``public_only`` leaves out keys and scoring (for the
    lenient preview of an incomplete item), so nothing secret can reach a preview."""
    return form_fields(item_type).spec(form, public_only=public_only)


def content_from_form(form: ItemFields, item_type: str) -> ItemContent:
    return ItemContent(
        stem_html=form.stem_html.data or "",
        spec=spec_from_form(form, item_type),
        explanation_html=form.explanation_html.data or "",
        source=(form.source.data or "").strip(),
        difficulty=_number(form.difficulty.data, "预估难度", "difficulty"),
    )


# ---------------------------------------------------------------- version -> form


def _fmt(value: float) -> str:
    return f"{value:g}"


def fill_form(form: ItemFields, version: ItemVersion) -> None:
    """Prefill the editor from a stored version (for revising)."""
    spec = version.spec
    form.stem_html.data = version.stem_html
    form.explanation_html.data = version.explanation_html
    form.source.data = version.source
    form.difficulty.data = _fmt(version.difficulty) if version.difficulty is not None else ""
    for option in spec.get("options", []):
        label = str(option.get("label", "")).lower()
        if f"option_{label}" in form:
            form[f"option_{label}"].data = option.get("html", "")
    if "options" in spec:
        form.key.data = list(spec.get("key", []))
        form.scoring.data = spec.get("scoring", "all_or_nothing")
        if "subset_credit" in spec:
            form.subset_credit.data = _fmt(spec["subset_credit"])
    elif isinstance(spec.get("key"), str):
        form.tf_key.data = spec["key"]
    if "blanks" in spec:
        form.blanks.data = "\n".join(" | ".join(b.get("answers", [])) for b in spec["blanks"])
        form.any_order.data = bool(spec.get("any_order"))
    if "reference_answer" in spec:
        form.reference_answer.data = spec["reference_answer"]
        form.scoring_points.data = "\n".join(f"{_fmt(p['points'])}|{p['html']}" for p in spec.get("scoring_points", []))
    if "max_length" in spec:
        form.max_length.data = str(spec["max_length"])


# ---------------------------------------------------------------- errors -> fields


def attach_error(form: ItemFields, exc: ValidationError, item_type: str = "") -> None:
    """Show a service's error beside the field it names (``options[2].html`` -> 选项 C)."""
    field = exc.field or ""
    name = field.split("[", 1)[0].split(".", 1)[0]
    if name == "options" and "[" in field:
        try:
            index = int(field.split("[", 1)[1].split("]", 1)[0])
            name = f"option_{OPTION_LABELS[index].lower()}"
        except (ValueError, IndexError):
            name = "option_a"
    elif name == "options":
        name = "option_a"
    elif name in form_fields(item_type).error_fields:
        name = form_fields(item_type).error_fields[name]
    elif name in ("analysis",):
        name = "explanation_html"
    elif name == "type":
        name = "item_type"
    if name and name in form:
        form[name].errors = [*form[name].errors, exc.message]
