"""题库 area: blueprints, items, images, import/export and papers, under /itembank.

One view module per sub-area; they share this blueprint so item HTML can reference images
at /itembank/images/<id>.<ext> (the prefix the sanitiser allows).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("bank", __name__, url_prefix="/itembank")

from web.bank import (  # noqa: E402,F401
    blueprint_views,
    image_views,
    item_views,
    paper_views,
    skill_task_views,
    transfer_views,
)
