"""A candidate takes an exam in a real browser: identity, waiting room, the proctor opens the
room, answers saved over the socket, the network drops and returns without losing an answer,
a reload shows them, submission with confirmation. And the page's anti-cheating signals."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.exam_pages import BACKDATE, READ, answer_current, candidate_login_and_enter, journal
from tests.e2e.seeding import run_script

pytestmark = pytest.mark.e2e

# Child processes against the live server's database (the helpers of tests/examroom).
SETUP = r"""
import datetime as dt, itertools, json, sys
from examroom import attempts as svc
from tests import factories
from tests.examroom import worlds
from web import create_app
from web.extensions import db


# Six items: the four of tests/examroom plus a multiple choice and a second true/false.
worlds.ITEMS = [*worlds.ITEMS,
    ("multiple_choice", "下列哪些属于安全用具？",
     {"options": ["绝缘手套", "验电器", "普通手套", "绝缘靴"], "key": ["A", "B", "D"]}, 2),
    ("true_false", "可以带电更换熔断器。", {"key": "×"}, 1)]
app = create_app({"SOCKETIO_ASYNC_MODE": "threading"})
with app.app_context():
    s = db.session
    exam = worlds.Exam(s)
    now = dt.datetime.now(dt.UTC)
    exam.sitting.starts_at = now - dt.timedelta(minutes=1)  # opened now: the room's clock starts then
    s.flush()
    if sys.argv[1:] == ["open"]:
        svc.open_room(s, exam.proctor1, exam.room1.id, now)
    s.commit()
    c = exam.candidates[0]
    print(json.dumps({"ticket_no": _factories.ticket_no(c), "id_number": c.id_number, "sitting_id": exam.sitting.id,
                      "room_id": exam.room1.id, "proctor_id": exam.proctor1.id}))
"""

# The proctor opens the room (开考) and the candidates' pages are told (push `status` opened).
OPEN = r"""
import datetime as dt, json, sys
from examroom import attempts as svc
from foundation.accounts import User
from web import create_app
from web.extensions import db
from web.sockets import push

app = create_app({"SOCKETIO_ASYNC_MODE": "threading"})
with app.app_context():
    s = db.session
    proctor = s.get(User, int(sys.argv[1]))
    opened = svc.open_room(s, proctor, int(sys.argv[2]), dt.datetime.now(dt.UTC))
    s.commit()
    for attempt_id in opened:
        push.candidate_changed(attempt_id, "opened", "")
    print(json.dumps(opened))
"""

def _run(live_server, script: str, *args: object) -> dict | list | None:
    return run_script(live_server, script, *args)


def test_a_candidate_takes_the_exam_through_a_network_drop(live_server, browser):
    base = live_server.url
    seat = _run(live_server, SETUP)
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        attempt_id = candidate_login_and_enter(page, base, seat, room="第1考场")

        # Identity, then the waiting room until the proctor opens the room.
        identity = page.locator("#view-identity")
        expect(identity).to_be_visible()
        expect(identity).to_contain_text(seat["ticket_no"])
        expect(identity).to_contain_text(seat["id_number"][-4:])
        expect(identity).not_to_contain_text(seat["id_number"])
        page.get_by_role("button", name="确认身份").click()
        expect(page.locator("#view-waiting")).to_be_visible()
        expect(page.locator("#waiting-text")).to_contain_text("请等待监考员开考")
        expect(page.get_by_role("button", name="开始作答")).to_be_hidden()
        assert attempt_id in _run(live_server, OPEN, seat["proctor_id"], seat["room_id"])
        start = page.get_by_role("button", name="开始作答")
        expect(start).to_be_visible(timeout=30_000)
        start.click()
        expect(page.locator("#view-answer")).to_be_visible()
        expect(page.locator("#exam-clock")).to_be_visible()
        expect(page.locator("#exam-grid button")).to_have_count(6)
        screenshot(page, "exam_answering")

        expected: dict[str, object] = {}
        for _ in range(3):
            position, value = answer_current(page)
            expected[str(position)] = value
            page.get_by_role("button", name="下一题 →").click()
        expect(page.locator("#exam-save")).to_have_text("已保存")
        expect(page.locator("#count-answered")).to_have_text("3")

        # The network drops: the banner shows, answers go to the journal.
        context.set_offline(True)
        expect(page.locator("#exam-offline")).to_be_visible()
        for k in range(2):
            position, value = answer_current(page)
            expected[str(position)] = value
            if k == 0:
                page.keyboard.press("ArrowRight")
        expect(page.locator("#exam-save")).to_contain_text("未同步 2 条")
        assert sorted(str(e["position"]) for e in journal(page, attempt_id)) == sorted(list(expected)[3:])
        expect(page.locator("#count-answered")).to_have_text("5")
        screenshot(page, "exam_offline")

        # Back online: the journal drains and the server holds all five answers.
        context.set_offline(False)
        expect(page.locator("#exam-save")).to_have_text("已保存", timeout=30_000)
        expect(page.locator("#exam-offline")).to_be_hidden()
        assert journal(page, attempt_id) == []
        stored = _run(live_server, READ, attempt_id)
        assert stored["answers"] == expected

        # A reload shows the answers from the server.
        page.reload()
        expect(page.locator("#view-answer")).to_be_visible()
        expect(page.locator("#count-answered")).to_have_text("5")
        expect(page.locator("#count-unanswered")).to_have_text("1")

        # Submit with confirmation (after the earliest-submit time).
        _run(live_server, BACKDATE, attempt_id)
        page.get_by_role("button", name="交卷", exact=True).click()
        dialog = page.locator("#dlg-submit")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("已答 5 题，未答 1 题")
        page.get_by_role("button", name="确认交卷").click()
        expect(page.locator("#view-end")).to_be_visible()
        expect(page.locator("#end-title")).to_have_text("试卷已提交")
        final = _run(live_server, READ, attempt_id)
        assert final["status"] == "submitted" and final["answers"] == expected
        screenshot(page, "exam_submitted")
    finally:
        context.close()


def test_copy_paste_is_blocked_and_a_focus_loss_is_recorded(live_server, browser):
    base = live_server.url
    seat = _run(live_server, SETUP, "open")
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        attempt_id = candidate_login_and_enter(page, base, seat, room="第1考场")
        page.get_by_role("button", name="确认身份").click()
        page.get_by_role("button", name="开始作答").click()
        expect(page.locator("#view-answer")).to_be_visible()

        page.locator("#item-stem").click(button="right")  # context menu
        expect(page.locator("#exam-notice")).to_contain_text("禁止复制")
        page.locator("#item-stem").dblclick()
        page.keyboard.press("Control+C")
        page.locator("#exam-notice-close").click()

        # Leaving the page: the window loses focus.
        other = context.new_page()
        other.goto(base + "/healthz")
        other.bring_to_front()
        page.evaluate("window.dispatchEvent(new Event('blur'))")  # headless windows keep focus
        expect(page.locator("#exam-notice")).to_contain_text("离开了考试页面")

        def kinds() -> list[str]:
            return _run(live_server, READ, attempt_id)["events"]

        for _ in range(50):
            events = kinds()
            if "paste_blocked" in events and "focus_loss" in events:
                break
            page.wait_for_timeout(200)
        assert "paste_blocked" in events and "focus_loss" in events, events
    finally:
        context.close()


def test_keyboard_use_and_one_live_connection_per_attempt(live_server, browser):
    base = live_server.url
    seat = _run(live_server, SETUP, "open")
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        attempt_id = candidate_login_and_enter(page, base, seat, room="第1考场")
        page.get_by_role("button", name="确认身份").click()
        page.get_by_role("button", name="开始作答").click()
        expect(page.locator("#view-answer")).to_be_visible()

        # Keys: ? help, → next, a number picks an option, F flags, G goes to a number.
        page.keyboard.press("?")
        expect(page.locator("#dlg-help")).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.locator("#dlg-help")).to_be_hidden()
        page.keyboard.press("ArrowRight")
        expect(page.locator("#item-number")).to_have_text("2")
        while page.locator("#item-widget textarea").count():  # a choice item for the number keys
            page.keyboard.press("ArrowRight")
        page.keyboard.press("2")
        expect(page.locator("#item-widget input").nth(1)).to_be_checked()
        expect(page.locator("#count-answered")).to_have_text("1")
        page.keyboard.press("f")
        expect(page.locator("#count-flagged")).to_have_text("1")
        expect(page.locator("#exam-grid .exam-cell.flagged")).to_have_count(1)
        page.keyboard.press("g")
        page.locator("#goto-number").fill("1")
        page.keyboard.press("Enter")
        expect(page.locator("#item-number")).to_have_text("1")
        expect(page.locator("#exam-save")).to_have_text("已保存")

        # A second tab on the same computer takes over; the first one stops.
        second = context.new_page()
        second.goto(f"{base}/exam/{attempt_id}")
        expect(second.locator("#view-answer")).to_be_visible(timeout=30_000)
        expect(second.locator("#count-answered")).to_have_text("1")
        expect(page.locator("#view-blocked")).to_be_visible(timeout=15_000)
        expect(page.get_by_role("button", name="在本窗口继续作答")).to_be_visible()

        # Another computer (its own storage, so its own device id) waits for the proctor.
        other = browser.new_context(locale="zh-CN")
        try:
            elsewhere = other.new_page()
            candidate_login_and_enter(elsewhere, base, seat, room="第1考场")
            expect(elsewhere.locator("#view-blocked")).to_be_visible(timeout=15_000)
            expect(elsewhere.locator("#blocked-message")).to_contain_text("另一台电脑")
        finally:
            other.close()
        assert "move_requested" in _run(live_server, READ, attempt_id)["events"]
    finally:
        context.close()
