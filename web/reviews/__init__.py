"""业绩评审与综合评审: dossiers (业绩材料) and their attachments, the panel's scoring pages, the
chair's minutes, and the centre's sub-items; the rules are in ``grading.results.dossiers`` and
``grading.results.panels``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Blueprint

bp = Blueprint("reviews", __name__, url_prefix="/reviews")


def attachments_dir(config: Mapping[str, Any], instance_path: str) -> Path:
    """Where dossier attachments are kept (``ATTACHMENTS_DIR``, default instance/attachments):
    outside the static folder, so no URL reaches a file except through the checked route."""
    return Path(config.get("ATTACHMENTS_DIR") or Path(instance_path) / "attachments")


from web.reviews import views  # noqa: E402,F401
