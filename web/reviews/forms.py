"""Forms of the review pages. Numbers and dates are read as text and parsed in the views, so
every message is Chinese; the services check the rest."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from grading.results.dossiers import SECTION_LABELS


class DossierForm(FlaskForm):
    products = TextAreaField("产品（作品）", validators=[Optional(), Length(max=5000)])
    problems_solved = TextAreaField("解决的技术问题", validators=[Optional(), Length(max=5000)])
    tasks = TextAreaField("完成的工作任务", validators=[Optional(), Length(max=5000)])
    innovation = TextAreaField("技术革新与创新（二级、一级）", validators=[Optional(), Length(max=5000)])
    mentoring = TextAreaField("传技带徒（二级、一级）", validators=[Optional(), Length(max=5000)])
    attester_name = StringField("鉴定人姓名", validators=[Optional(), Length(max=64)])
    attester_position = StringField("鉴定人职务", validators=[Optional(), Length(max=64)])
    attestation = TextAreaField("单位鉴定意见", validators=[Optional(), Length(max=5000)])
    attested_on = StringField("鉴定日期（年-月-日）", validators=[Optional()])


class AttachmentForm(FlaskForm):
    section = SelectField("材料类别", choices=[SelectChoice(k, v) for k, v in SECTION_LABELS.items()],
                          validate_choice=False)
    file = FileField("文件（PDF、PNG 或 JPEG，不超过 10 MB）", validators=[FileRequired("请选择要上传的文件。")])


class MinutesForm(FlaskForm):
    held_on = StringField("评审日期（年-月-日）")
    place = StringField("评审地点", validators=[Optional(), Length(max=255)])
    duration_minutes = StringField("评审时长（分钟）")
    record = TextAreaField("评审记录（提问、答辩情况与评审意见）", validators=[Optional(), Length(max=5000)])


class PostForm(FlaskForm):
    """Only the CSRF token is checked here."""
