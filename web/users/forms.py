from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from foundation.people import IdType


class NewUserForm(FlaskForm):
    role = SelectField("角色", validators=[DataRequired("请选择角色。")])
    name = StringField("姓名", validators=[DataRequired("请输入姓名。"), Length(max=64)])
    institution_id = SelectField("所属机构", coerce=str, validators=[Optional()])
    username = StringField("用户名", validators=[Optional(), Length(max=64)])
    password = PasswordField("初始密码", validators=[Optional(), Length(max=128)])
    id_type = SelectField("证件类型", choices=[SelectChoice(t.value, t.label) for t in IdType],
                          default=IdType.RESIDENT_ID.value, validators=[Optional()])
    id_number = StringField("证件号码", validators=[Optional(), Length(max=40)])  # full-width digits count double
    candidate_category = SelectField("考生类别", validators=[Optional()])
    phone = StringField("联系电话", validators=[Optional(), Length(max=32)])


class EditUserForm(FlaskForm):
    name = StringField("姓名", validators=[DataRequired("请输入姓名。"), Length(max=64)])
    phone = StringField("联系电话", validators=[Optional(), Length(max=32)])
    password = PasswordField("重置密码（留空不修改）", validators=[Optional(), Length(max=128)])
    candidate_category = SelectField("考生类别", validators=[Optional()])


class ToggleActiveForm(FlaskForm):
    confirm = BooleanField("我确认此操作", validators=[DataRequired("请勾选确认。")])


class AssignmentForm(FlaskForm):
    """One (occupation, institution) pair of a reviewer, or one occupation of a writer."""

    occupation_id = SelectField("职业", validators=[DataRequired("请选择职业。")])
    # Checked by the service (reviewers: an existing institution; writers: always their own).
    institution_id = SelectField("评价机构", coerce=str, validators=[Optional()], validate_choice=False)


class RemoveAssignmentForm(FlaskForm):
    pass
