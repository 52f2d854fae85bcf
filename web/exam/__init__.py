"""考试 area for candidates, under /exam: their seated sittings (我的考试) and the exam page.

The exam page is a shell: everything on it (identity, instructions, items, answers, the
clock) comes over the ``/exam`` socket namespace (docs/protocol.md), driven by
``static/js/exam_client.js`` (protocol and journal) and ``static/js/exam_page.js`` (UI).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("exam", __name__, url_prefix="/exam")

from web.exam import views  # noqa: E402,F401
