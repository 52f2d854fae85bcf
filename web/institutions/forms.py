"""Forms of the institution registry (评价机构备案). Validation of meaning lives in
``foundation.institutions``; these forms only carry input and CSRF."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class DetailsForm(FlaskForm):
    name = StringField("机构名称", validators=[DataRequired("请输入机构名称。"), Length(max=128)])
    credit_code = StringField("统一社会信用代码", validators=[DataRequired("请输入统一社会信用代码。"),
                                                         Length(max=32)])
    legal_representative = StringField("法定代表人", validators=[DataRequired("请输入法定代表人。"),
                                                             Length(max=64)])
    address = StringField("地址", validators=[DataRequired("请输入地址。"), Length(max=255)])
    supervising_body = StringField("主管（监管服务）部门", validators=[Optional(), Length(max=128)])
    contact_name = StringField("联系人", validators=[DataRequired("请输入联系人。"), Length(max=64)])
    contact_phone = StringField("联系电话", validators=[DataRequired("请输入联系电话。"), Length(max=32)])
    unit_details = TextAreaField("单位基本情况", validators=[Optional(), Length(max=4000)])
    has_self_evaluation = BooleanField("已取得技能人才自主评价资格（仅企业）")


class ApplicationForm(DetailsForm):
    kind_tier = SelectField("机构类型与层级", validate_choice=False,
                            validators=[DataRequired("请选择机构类型与层级。")])
    ministry_code = StringField("人社部备案编码（证书编码第 2–5 位）", default="0000",
                                validators=[Optional(), Length(max=4)])


class AdvanceForm(FlaskForm):
    to_status = HiddenField(validators=[DataRequired("缺少目标状态。")])
    reason = TextAreaField("原因 / 意见", validators=[Optional(), Length(max=2000)])
    serial = StringField("机构序号（6 位，留空自动分配）", validators=[Optional(), Length(max=6)])


class ScopeForm(FlaskForm):
    # Choices are not enforced here: the service checks occupation, 工种 and levels and
    # answers in Chinese, where WTForms would answer "Not a valid choice".
    basis = SelectField("类别", validate_choice=False)
    occupation_id = SelectField("职业", validate_choice=False, validators=[DataRequired("请选择职业。")])
    work_type_id = SelectField("工种", validate_choice=False, validators=[Optional()])
    lowest_level = SelectField("最低等级", validate_choice=False)
    highest_level = SelectField("最高等级", validate_choice=False)


class RemoveScopeForm(FlaskForm):
    reason = TextAreaField("删除原因", validators=[Optional(), Length(max=2000)])
