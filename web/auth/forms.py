from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class StaffLoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名。"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码。"), Length(max=128)])


class CandidateLoginForm(FlaskForm):
    ticket_no = StringField("准考证号", validators=[DataRequired("请输入准考证号。"), Length(max=32)])
    id_number = StringField("身份证号码", validators=[DataRequired("请输入身份证号码。"), Length(max=18)])


class ChangePasswordForm(FlaskForm):
    old_password = PasswordField("原密码", validators=[DataRequired("请输入原密码。")])
    new_password = PasswordField("新密码", validators=[DataRequired("请输入新密码。"), Length(min=8, max=128)])
    confirm = PasswordField(
        "确认新密码",
        validators=[DataRequired("请再次输入新密码。"), EqualTo("new_password", "两次输入的新密码不一致。")],
    )
