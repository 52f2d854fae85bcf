"""Forms of the item import page. The blueprint is chosen from a list the view fills in and
checked by the view, so every message is Chinese."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import SelectField


class ItemImportForm(FlaskForm):
    blueprint_id = SelectField("细目表", validate_choice=False)
    file = FileField(
        "Excel 文件（.xlsx）",
        validators=[
            FileRequired("请选择要导入的文件。"),
            FileAllowed(["xlsx"], "只支持 .xlsx 格式的 Excel 文件。"),
        ],
    )
