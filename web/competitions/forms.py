"""Forms of the competition pages. Dates and numbers are read as text and parsed in the views,
so every message is Chinese; the services check the rest."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from foundation.levels import LEVEL_NAMES
from grading.results.competitions import AWARDS, COMPETITION_CLASSES, CONTESTANT_TYPES, CRITERIA

CLASS_CHOICES = [SelectChoice(c, c) for c in COMPETITION_CLASSES]
LEVEL_CHOICES = [SelectChoice(str(k), v) for k, v in LEVEL_NAMES.items()]


class CompetitionForm(FlaskForm):
    name = StringField("竞赛名称", validators=[DataRequired("请填写竞赛名称。"), Length(max=128)])
    competition_class = SelectField("竞赛类别", choices=CLASS_CHOICES, validate_choice=False)
    organiser = StringField("主办单位", validators=[DataRequired("请填写主办单位。"), Length(max=128)])
    occupation_id = SelectField("竞赛职业（工种）", validate_choice=False)
    starts_on = StringField("开始日期（年-月-日）", validators=[DataRequired("请填写开始日期。")])
    ends_on = StringField("结束日期（年-月-日）", validators=[DataRequired("请填写结束日期。")])
    filed = BooleanField("已备案（只有已备案竞赛的成绩可用于等级认定）")
    filing_no = StringField("备案编号", validators=[Optional(), Length(max=64)])


class ImportForm(FlaskForm):
    file = FileField("Excel 文件（.xlsx）", validators=[FileRequired("请选择要导入的文件。"),
                                                      FileAllowed(["xlsx"], "只支持 .xlsx 格式的 Excel 文件。")])


class RuleForm(FlaskForm):
    competition_class = SelectField("竞赛类别", choices=CLASS_CHOICES, validate_choice=False)
    criterion = SelectField("认定条件", choices=[SelectChoice(k, v) for k, v in CRITERIA.items()],
                            validate_choice=False)
    value = StringField("条件值（名次：前几名；奖项：" + "、".join(AWARDS) + "；百分比：前百分之几）",
                        validators=[DataRequired("请填写条件值。"), Length(max=16)])
    contestant_type = SelectField("选手类型", choices=[SelectChoice("", "不限")] + [
        SelectChoice(t, t) for t in CONTESTANT_TYPES], validate_choice=False)
    current_level = SelectField("现有等级", choices=[SelectChoice("", "不限")] + LEVEL_CHOICES, validate_choice=False)
    conferred_level = SelectField("认定等级", choices=LEVEL_CHOICES, validate_choice=False, default="2")


class PostForm(FlaskForm):
    """Only the CSRF token is checked here."""
