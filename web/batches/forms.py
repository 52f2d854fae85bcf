"""Forms of the batch pages (认定批次). Selects take their choices in the views; numbers are
read as text and parsed in the views so every message is Chinese; the services check the rest."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from examroom.models import MODULE_LABELS
from foundation.accounts import CANDIDATE_CATEGORY_LABELS


class BatchForm(FlaskForm):
    target = SelectField("职业（工种）与等级", validate_choice=False)
    name = StringField("批次名称", validators=[DataRequired("请填写批次名称。"), Length(max=128)])
    place = StringField("认定地点", validators=[Optional(), Length(max=255)])
    overview = TextAreaField("认定工作概况", validators=[Optional(), Length(max=4000)])


class PlanForm(FlaskForm):
    place = StringField("认定地点", validators=[Optional(), Length(max=255)])
    overview = TextAreaField("认定工作概况", validators=[Optional(), Length(max=4000)])


class SessionForm(FlaskForm):
    module = SelectField("考核模块", choices=[SelectChoice(k.value, v) for k, v in MODULE_LABELS.items()],
                         validate_choice=False, default="theory")
    date = StringField("考试日期", validators=[DataRequired("请填写考试日期。")])
    time = StringField("开考时间", validators=[DataRequired("请填写开考时间。")])
    duration_minutes = StringField("时长（分钟）", validators=[DataRequired("请填写考试时长。")], default="90")
    place = StringField("考试地点（留空沿用认定地点）", validators=[Optional(), Length(max=255)])
    paper_id = SelectField("试卷（理论知识考试）", validate_choice=False)


class RoomForm(FlaskForm):
    exam_session_id = SelectField("场次", validate_choice=False)
    name = StringField("考场名称", validators=[DataRequired("请填写考场名称。"), Length(max=64)])
    rows = StringField("行数", validators=[DataRequired("请填写行数。")], default="5")
    cols = StringField("列数", validators=[DataRequired("请填写列数。")], default="6")


class StaffForm(FlaskForm):
    user_id = SelectField("人员", validate_choice=False)
    room_id = SelectField("考场（仅监考员）", validate_choice=False)


class SittingExaminerForm(FlaskForm):
    user_id = SelectField("考评员", validate_choice=False)


class PanelForm(FlaskForm):
    user_id = SelectField("考评员", validate_choice=False)
    chair = BooleanField("担任组长")


class PostForm(FlaskForm):
    """A bare form for buttons and checkbox lists: only the CSRF token is checked here."""
class DispatchForm(FlaskForm):
    supervisor_id = SelectField("质量督导员", validate_choice=False)


class CandidateForm(FlaskForm):
    name = StringField("姓名", validators=[DataRequired("请填写姓名。"), Length(max=64)])
    id_number = StringField("身份证号", validators=[DataRequired("请填写身份证号。"), Length(max=18)])
    gender = SelectField("性别", choices=[SelectChoice("", "（按身份证号）"), SelectChoice("男", "男"),
                                        SelectChoice("女", "女")], validate_choice=False)
    phone = StringField("手机号", validators=[DataRequired("请填写手机号。"), Length(max=20)])
    work_unit = StringField("工作单位", validators=[Optional(), Length(max=128)])
    category = SelectField("考生类别", choices=[SelectChoice("", "（沿用账号 / 社会人员）")] + [
        SelectChoice(k.value, v) for k, v in CANDIDATE_CATEGORY_LABELS.items()], validate_choice=False)


class ImportForm(FlaskForm):
    file = FileField(
        "Excel 文件（.xlsx）",
        validators=[
            FileRequired("请选择要导入的文件。"),
            FileAllowed(["xlsx"], "只支持 .xlsx 格式的 Excel 文件。"),
        ],
    )


class SeatForm(FlaskForm):
    seed = StringField("编排种子（留空随机生成）", validators=[Optional(), Length(max=19)])


class DecisionForm(FlaskForm):
    decision = SelectField("处理", choices=[SelectChoice("acknowledge", "确认备案"), SelectChoice("return", "退回")],
                           validate_choice=False)
    reason = TextAreaField("意见 / 退回理由", validators=[Optional(), Length(max=2000)])
