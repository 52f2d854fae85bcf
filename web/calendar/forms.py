from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from foundation.calendar import KIND_LABELS, MAX_YEAR, MIN_YEAR

_BAD_DATE = "请按“年-月-日”格式填写有效日期，例如 2026-02-14。"
_BAD_INT = "请填写整数。"

# The calculator spans at most this many working days either way (about four years).
MAX_CALC_DAYS = 1000


def _supported_year(form: Any, field: DateField) -> None:
    # Keeps the arithmetic far from date.min/date.max and catches typos such as 0226.
    if field.data is not None and not MIN_YEAR <= field.data.year <= MAX_YEAR:
        raise ValidationError(f"日期应在 {MIN_YEAR}–{MAX_YEAR} 年之间。")


def _date(label: str, required: str) -> DateField:
    return DateField(
        label, validators=[InputRequired(required), _supported_year], invalid_value_message=_BAD_DATE
    )


class DayForm(FlaskForm):
    """Add or change one entry (centre admin)."""

    day = _date("日期", "请选择日期。")
    kind = SelectField(
        "类型",
        choices=[SelectChoice(value, label) for value, label in KIND_LABELS.items()],
        validators=[DataRequired("请选择类型。")],
        validate_choice=False,  # the service refuses unknown kinds, with a Chinese message
    )
    name = StringField(
        "名称", validators=[DataRequired("请填写名称。"), Length(max=64, message="名称不能超过 64 个字。")]
    )


class DeleteDayForm(FlaskForm):
    """Only the CSRF token: the date is in the URL."""


class _GetForm(FlaskForm):
    """The calculator reads the query string; a GET carries no CSRF token and changes nothing."""

    class Meta:
        csrf = False

    year = HiddenField()


class AddDaysForm(_GetForm):
    calc_start = _date("起始日期", "请选择起始日期。")
    calc_n = IntegerField(
        "工作日数",
        validators=[
            InputRequired("请填写工作日数。"),
            NumberRange(-MAX_CALC_DAYS, MAX_CALC_DAYS, message=f"工作日数应在 ±{MAX_CALC_DAYS} 以内。"),
        ],
        invalid_value_message=_BAD_INT,
    )


class BetweenForm(_GetForm):
    span_start = _date("起始日期", "请选择起始日期。")
    span_end = _date("结束日期", "请选择结束日期。")
