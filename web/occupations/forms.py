from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from foundation.levels import ALL_LEVELS, LEVEL_NAMES

# value is an int (coerce=int); SelectChoice because tuple choices are deprecated in WTForms 3.3.
LEVEL_CHOICES = [SelectChoice(level, f"{level} · {LEVEL_NAMES[level]}") for level in ALL_LEVELS]


class OccupationForm(FlaskForm):
    code = StringField("职业编码", validators=[DataRequired("请输入职业编码。"), Length(max=16)])
    name = StringField("职业名称", validators=[DataRequired("请输入职业名称。"), Length(max=64)])
    lowest_level = SelectField("最低等级", coerce=int, choices=LEVEL_CHOICES, default=5)
    highest_level = SelectField("最高等级", coerce=int, choices=LEVEL_CHOICES, default=1)
    is_access_type = BooleanField("准入类职业资格（列入目录，但平台不开展技能等级认定）")
    work_types = TextAreaField("工种（每行一个，可留空）", validators=[Optional(), Length(max=4000)])
    note = TextAreaField("备注", validators=[Optional(), Length(max=2000)])


class ImportForm(FlaskForm):
    file = FileField(
        "Excel 文件（.xlsx）",
        validators=[
            FileRequired("请选择要导入的文件。"),
            FileAllowed(["xlsx"], "只支持 .xlsx 格式的 Excel 文件。"),
        ],
    )


class ToggleActiveForm(FlaskForm):
    confirm = BooleanField("我确认此操作", validators=[DataRequired("请勾选确认。")])
