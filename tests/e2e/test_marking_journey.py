"""Blind double marking in a real browser (issue 13 point 3): two markers mark one short answer
from their queues without seeing each other's mark or the candidate; their marks settle it at
the mean; a third marker is then refused the answer."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import screenshot
from tests.e2e.logins import staff_login
from tests.e2e.seeding import run_script
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e

#: A submitted theory sitting with one short answer to mark and three markers (tests/grading).
MARKING = r"""
import json
from tests.grading.theory_worlds import MarkingExam
from web import create_app
from web.extensions import db

app = create_app({"SOCKETIO_ASYNC_MODE": "threading"})
with app.app_context():
    s = db.session
    exam = MarkingExam(s, answered=(0,))
    response = exam.response(0)
    s.commit()
    print(json.dumps({"markers": [m.username for m in exam.markers], "response_id": response.id,
                      "code": exam.result(0).marking_code, "name": exam.candidates[0].name,
                      "id_number": exam.candidates[0].id_number}))
"""


def _logout(page) -> None:
    page.get_by_role("button", name="退出").click()


def test_two_markers_mark_blind_and_a_third_is_refused(live_server, page):
    base = live_server.url
    seeded = run_script(live_server, MARKING)
    first, second, third = seeded["markers"]
    answer_url = f"{base}/marking/responses/{seeded['response_id']}"

    staff_login(page, base, first, PASSWORD)
    page.get_by_role("link", name="阅卷").first.click()
    page.locator("#marking-sittings").get_by_role("link", name="进入阅卷").first.click()
    row = page.locator("#marking-queue tbody tr", has_text=seeded["code"])
    row.get_by_role("link", name="评分").click()
    page.wait_for_url(answer_url)
    body = page.locator("body").inner_text()
    assert "采用绝缘、屏护和保持安全距离" in body and "答出隔离" in body
    assert seeded["name"] not in body and seeded["id_number"] not in body
    screenshot(page, "marking_answer")
    page.get_by_label("评分").fill("4.7")
    page.get_by_role("button", name="提交评分").click()
    assert "评分已提交" in page.locator("body").inner_text()
    _logout(page)

    staff_login(page, base, second, PASSWORD)
    page.goto(answer_url)
    body = page.locator("body").inner_text()
    assert "4.7" not in body and page.locator("#own-mark").count() == 0
    page.get_by_label("评分").fill("4.1")
    page.get_by_role("button", name="提交评分").click()
    assert "评分已提交" in page.locator("body").inner_text()
    page.goto(answer_url)
    assert "4.1" in page.locator("#own-mark").inner_text() and "4.7" not in page.locator("body").inner_text()
    _logout(page)

    staff_login(page, base, third, PASSWORD)
    refused = page.goto(answer_url)
    assert refused is not None and refused.status == 403
