"""Forms of the rules page (规则配置). The meaning is checked by the validators in
``foundation.institutions``; choices are not enforced here so that every refusal is Chinese."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional

from foundation.institutions import TIER_LABELS, InstitutionKind, type_label
from foundation.levels import ALL_LEVELS, LEVEL_NAMES

NO_CAP = ""


def cap_field_name(key: str) -> str:
    return "cap_" + key.replace(":", "__")


def cap_keys() -> list[tuple[str, str, str]]:
    """(rule key, kind, tier) for every type the caps table lists."""
    return [(f"{k}:{t}", k, t) for k, tiers in TIER_LABELS.items() for t in tiers]


def caps_form_class() -> type[FlaskForm]:
    """One select per institution type and tier; enterprises may have no tier cap."""

    class CapsForm(FlaskForm):
        section = HiddenField(default="caps")

    for key, kind, tier in cap_keys():
        # SelectChoice because tuple choices are deprecated in WTForms 3.3.
        choices = [SelectChoice(str(lv), LEVEL_NAMES[lv]) for lv in reversed(ALL_LEVELS)]
        if kind == InstitutionKind.ENTERPRISE:
            choices = [SelectChoice(NO_CAP, "不另设上限（按自主评价范围）"), *choices]
        setattr(CapsForm, cap_field_name(key), SelectField(type_label(kind, tier), choices=choices,
                                                           validate_choice=False))
    return CapsForm


class WindowRow(Form):
    month = StringField("月", validators=[Optional(), Length(max=2)])
    first = StringField("起始日", validators=[Optional(), Length(max=2)])
    last = StringField("截止日", validators=[Optional(), Length(max=2)])


class WindowsForm(FlaskForm):
    section = HiddenField(default="windows")
    windows = FieldList(FormField(WindowRow), min_entries=1)


class ProvinceForm(FlaskForm):
    section = HiddenField(default="province")
    province_code = StringField("省份代码（2 位）", validators=[Optional(), Length(max=2)])
