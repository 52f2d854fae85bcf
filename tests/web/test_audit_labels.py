"""操作日志 in Chinese: every action code the services write has a readable label, and the
page shows labels and formatted details instead of codes and raw JSON."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from examroom.models import AttemptEventKind
from foundation import audit
from foundation.roles import Role
from tests.factories import make_user
from web.audit.labels import action_label, detail_rows, has_label

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("foundation", "itembank", "examroom", "grading", "web")

#: Codes built at run time, with every value they take.
DYNAMIC = {
    "attempt.{}": [k.value for k in AttemptEventKind],
    "room.{}": ["open", "pause", "resume", "extend"],
    "item.{}": ["revise", "submit", "review", "approve", "return", "activate", "retire"],
    "paper.{}": ["submit", "approve", "return"],
    "auth.login.{}": ["staff", "candidate"],
    "response_set.{}": ["import", "simulation", "batch"],
}


def _literal_actions() -> set[str]:
    """The third argument of every ``record(...)`` call that is a string literal, and every
    string literal assigned to a variable named ``action`` (``action = "batch.acknowledge" if ...``)."""
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                    args = list(node.args)
                    if name in ("record", "insert_occupation") and len(args) >= 3:
                        arg = args[2]
                        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                            found.add(arg.value)
                if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "action"
                                                        for t in node.targets):
                    for sub in ast.walk(node.value):
                        if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and "." in sub.value:
                            found.add(sub.value)
    return found


def test_the_scan_finds_the_actions():
    found = _literal_actions()
    assert {"batch.file", "user.create", "setting.update", "batch.acknowledge", "calendar_day.create"} <= found
    assert len(found) > 40


def test_every_action_written_has_a_chinese_label():
    codes = _literal_actions() | {pattern.format(v) for pattern, values in DYNAMIC.items() for v in values}
    missing = sorted(c for c in codes if not has_label(c))
    assert not missing, f"add these to web/audit/labels.py: {missing}"


def test_labels_and_details():
    assert action_label("batch.file") == "认定批次：报备"
    assert action_label("auth.login.candidate") == "登录：考生登录"
    assert action_label("nobody.knows") == "nobody.knows"
    assert detail_rows(json.dumps({"status": "filed", "minutes": 5, "ok": True, "x": None})) == [
        ("状态", "filed"), ("分钟", "5"), ("ok", "是"), ("x", "—")]
    long = detail_rows(json.dumps({"opened": list(range(200))}))
    assert long[0][0] == "已开考" and long[0][1].endswith("…") and len(long[0][1]) == 161
    assert detail_rows(None) == [] and detail_rows("[1, 2]") == [("", "[1, 2]")]


@pytest.mark.parametrize("hostile", ["<script>alert(1)</script>", "\u202e反转", "'\"&"])
def test_the_page_shows_labels_and_escaped_details(session, client, login, hostile):
    centre = make_user(session, Role.CENTRE_ADMIN)
    audit.record(session, centre, "batch.file", "batch", 7, before={"status": "draft"},
                 after={"status": "filed", "comment": hostile})
    session.flush()
    login(centre)
    body = client.get("/audit/?action=batch.").get_data(as_text=True)
    assert "认定批次：报备" in body and "<dt>状态</dt><dd>draft</dd>" in body
    assert "<script>alert(1)</script>" not in body
    assert '>认定批次：报备</option>' in body  # the filter's choices are labelled too
