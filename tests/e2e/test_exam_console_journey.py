"""Issue 4, browser acceptance: a candidate takes a short exam while the proctor's console, in a
second browser context, shows the answered count rise, a focus loss, a pause and an extension;
then the candidate's network drops, they answer offline, the network returns, and nothing is
lost. Finally the candidate submits and the console shows the seat as submitted."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.exam_pages import BACKDATE, READ, answer_current, candidate_login_and_enter, journal
from tests.e2e.seeding import run_script

pytestmark = pytest.mark.e2e

WAIT = 20_000  # ms: the machine is shared and sometimes loaded
EXTEND_MINUTES = 5
EXTEND_REASON = "机房停电补时"

# A seated sitting of six items starting now, not opened yet; the room's first proctor logs in
# with the factories' password (child process against the live server's database).
SETUP = r"""
import datetime as dt, json
from tests.examroom import worlds
from web import create_app
from web.extensions import db

worlds.ITEMS = [*worlds.ITEMS,
    ("multiple_choice", "下列哪些属于安全用具？",
     {"options": ["绝缘手套", "验电器", "普通手套", "绝缘靴"], "key": ["A", "B", "D"]}, 2),
    ("true_false", "可以带电更换熔断器。", {"key": "×"}, 1)]
app = create_app({"SOCKETIO_ASYNC_MODE": "threading"})
with app.app_context():
    s = db.session
    exam = worlds.Exam(s)
    exam.sitting.starts_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)  # the room's clock starts at 开考
    s.flush()
    s.commit()
    seat = exam.room1.seats[0]
    c = seat.candidate
    print(json.dumps({"ticket_no": _factories.ticket_no(c), "id_number": c.id_number, "name": c.name,
                      "sitting_id": exam.sitting.id, "room_id": exam.room1.id, "seat_id": seat.id,
                      "seat_label": f"{seat.row}排{seat.col}座", "proctor": exam.proctor1.username}))
"""


# ------------------------------------------------------------------ helpers


def _proctor_login_and_open_console(page, base: str, seat: dict) -> None:
    from tests.factories import PASSWORD

    page.goto(base + "/login")
    page.get_by_label("用户名").fill(seat["proctor"])
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base + "/home")
    page.goto(base + "/proctor/")
    page.locator(f'a[href="/proctor/rooms/{seat["room_id"]}"]').click()
    page.wait_for_url(f"{base}/proctor/rooms/{seat['room_id']}")


def _answer_and_next(page, expected: dict[str, object]) -> None:
    position, value = answer_current(page)
    expected[str(position)] = value
    page.get_by_role("button", name="下一题 →").click()


def _clock_seconds(text: str) -> int:
    """Seconds of the countdown as exam_page.js prints it: ``mm:ss`` or ``h:mm:ss``."""
    parts = [int(p) for p in text.strip().split(":")]
    seconds = 0
    for p in parts:
        seconds = seconds * 60 + p
    return seconds


def _clock_text(seconds: int) -> str:
    h, m, s = seconds // 3600, (seconds % 3600) // 60, seconds % 60
    return (f"{h}:{m:02d}" if h else f"{m:02d}") + f":{s:02d}"


def _clock_between(low: int, high: int) -> re.Pattern[str]:
    """A pattern matching the countdown text for any value in [low, high] seconds."""
    return re.compile("^(" + "|".join(re.escape(_clock_text(v)) for v in range(low, high + 1)) + ")$")


# ------------------------------------------------------------------ the journey


def test_the_console_follows_a_candidate_through_pause_extension_and_a_network_drop(live_server, browser):
    base = live_server.url
    seat = run_script(live_server, SETUP)
    proctor_ctx = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    candidate_ctx = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    try:
        # ---- the proctor opens the console: the seat map is live, the candidate not arrived.
        console = proctor_ctx.new_page()
        confirms: list[str] = []

        def accept(dialog) -> None:
            confirms.append(dialog.message)
            dialog.accept()

        console.on("dialog", accept)
        _proctor_login_and_open_console(console, base, seat)
        expect(console.locator("[data-conn]")).to_have_text("实时连接正常", timeout=WAIT)
        cell = console.locator(f'[data-seat-id="{seat["seat_id"]}"]')
        state = cell.locator(".pc-state")
        meta = cell.locator(".pc-meta")
        expect(cell).to_contain_text(seat["name"])
        expect(state).to_have_text("未入场")

        # ---- the candidate logs in, confirms identity and waits; the seat shows them connected.
        exam = candidate_ctx.new_page()
        attempt_id = candidate_login_and_enter(exam, base, seat)
        expect(exam.locator("#view-identity")).to_be_visible(timeout=WAIT)
        exam.get_by_role("button", name="确认身份").click()
        expect(exam.locator("#view-waiting")).to_be_visible(timeout=WAIT)
        expect(exam.get_by_role("button", name="开始作答")).to_be_hidden()
        expect(state).to_have_text("已连接", timeout=WAIT)

        # ---- 开考 from the console; the candidate's page offers the start and they begin.
        open_button = console.get_by_role("button", name="开考", exact=True)
        open_button.click()
        expect(console.locator("[data-result]")).to_contain_text("开考：", timeout=WAIT)
        assert any("确认开考" in m for m in confirms), confirms
        # Once open, 开考 is no longer offered (here, and after a reload); the feed has one line
        # for the room's opening, not one per seat.
        expect(open_button).to_have_count(0)
        expect(console.locator('[data-room-action="open"]')).to_be_disabled()
        expect(console.locator('[data-room-action="open"]')).to_have_text("已开考")
        opened = console.locator("[data-feed] li").filter(has_text="开考")
        expect(opened).to_have_count(1, timeout=WAIT)
        expect(opened).to_contain_text("全场 4 人", timeout=WAIT)
        start = exam.get_by_role("button", name="开始作答")
        expect(start).to_be_visible(timeout=WAIT)
        start.click()
        expect(exam.locator("#view-answer")).to_be_visible(timeout=WAIT)
        expect(exam.locator("#exam-grid button")).to_have_count(6)
        # During the exam the page has no site navigation: no link leaves it.
        expect(exam.locator("nav")).to_have_count(0)
        expect(exam.locator("header")).to_contain_text(seat["name"])
        expect(exam.locator("a:visible")).to_have_count(0)
        expect(state).to_have_text("作答中", timeout=WAIT)
        expect(meta).to_have_text(re.compile(r"^已答 0/6"), timeout=WAIT)

        # ---- each saved answer raises the seat's answered count: 1, then 2.
        expected: dict[str, object] = {}
        _answer_and_next(exam, expected)
        expect(meta).to_have_text(re.compile(r"^已答 1/6 · \d\d:\d\d:\d\d$"), timeout=WAIT)
        _answer_and_next(exam, expected)
        expect(meta).to_have_text(re.compile(r"^已答 2/6 · \d\d:\d\d:\d\d$"), timeout=WAIT)
        expect(exam.locator("#exam-save")).to_have_text("已保存", timeout=WAIT)
        screenshot(console, "console_journey_live_seats")

        # ---- a focus loss: the candidate switches to another tab. Headless Chromium emulates
        # focus for every page, so turn that off for the exam page to get the real window blur.
        focus_badge = cell.locator(".pc-b-focus")
        expect(focus_badge).to_have_count(0)
        cdp = candidate_ctx.new_cdp_session(exam)
        cdp.send("Emulation.setFocusEmulationEnabled", {"enabled": False})
        other = candidate_ctx.new_page()
        other.goto(base + "/healthz")
        other.bring_to_front()
        expect(exam.locator("#exam-notice")).to_contain_text("离开了考试页面", timeout=WAIT)
        other.close()
        exam.bring_to_front()
        cdp.send("Emulation.setFocusEmulationEnabled", {"enabled": True})
        cdp.detach()
        exam.locator("#exam-notice-close").click()
        expect(focus_badge).to_have_text("离开 1", timeout=WAIT)
        # The candidate's own event names them once (as who, not again as the actor).
        left = console.locator("[data-feed] li").filter(has_text="离开考试页面")
        expect(left).to_have_count(1, timeout=WAIT)
        expect(left).to_contain_text(f"{seat['name']}（{seat['seat_label']}）")
        assert left.inner_text().count(seat["name"]) == 1, left.inner_text()

        # ---- the proctor pauses the candidate from the side panel.
        panel = console.locator("[data-panel]")
        cell.click()
        expect(panel.locator("[data-panel-info]")).to_contain_text(seat["ticket_no"])
        expect(panel.locator("[data-panel-info]")).to_contain_text("离开页面1 次")
        panel.get_by_role("button", name="暂停", exact=True).click()
        expect(exam.locator("#exam-pause")).to_be_visible(timeout=WAIT)
        expect(exam.locator("#exam-pause")).to_contain_text("考试已暂停")
        expect(state).to_have_text("已暂停", timeout=WAIT)
        expect(panel.locator("[data-result]")).to_contain_text("已暂停")
        screenshot(exam, "console_journey_candidate_paused")
        screenshot(console, "console_journey_seat_paused")

        # ... and resumes them.
        panel.get_by_role("button", name="恢复", exact=True).click()
        expect(exam.locator("#exam-pause")).to_be_hidden(timeout=WAIT)
        expect(state).to_have_text("作答中", timeout=WAIT)

        # ---- the proctor extends the candidate's time with a reason: the countdown jumps.
        clock = exam.locator("#exam-clock")
        expect(clock).to_be_visible()
        before = _clock_seconds(clock.inner_text())
        panel.get_by_label("原因").fill(EXTEND_REASON)
        panel.get_by_label("延长分钟数").fill(str(EXTEND_MINUTES))
        panel.get_by_role("button", name="延长时间").click()
        expect(panel.locator("[data-result]")).to_contain_text("已延长时间", timeout=WAIT)
        assert any(f"延长 {EXTEND_MINUTES} 分钟" in m for m in confirms), confirms
        # The clock keeps ticking meanwhile (allow up to a minute of it), and each resync with the
        # server's clock may shift it by the push's delivery delay (allow a few seconds).
        target = before + EXTEND_MINUTES * 60
        expect(clock).to_have_text(_clock_between(target - 60, target + 10), timeout=WAIT)
        extended = console.locator("[data-feed] li").filter(has_text="延长时间")
        expect(extended).to_have_count(1, timeout=WAIT)
        expect(extended).to_contain_text(
            f"延长时间 {seat['name']}（{seat['seat_label']}）：{EXTEND_MINUTES} 分钟；{EXTEND_REASON}")

        # ---- the network drops: the page says so, the answers wait in the local journal.
        candidate_ctx.set_offline(True)
        expect(exam.locator("#exam-offline")).to_be_visible(timeout=WAIT)
        expect(state).to_have_text("离线", timeout=WAIT)
        _answer_and_next(exam, expected)
        _answer_and_next(exam, expected)
        expect(exam.locator("#exam-save")).to_have_text("离线 · 未同步 2 条")
        expect(exam.locator("#count-answered")).to_have_text("4")
        assert sorted(str(e["position"]) for e in journal(exam, attempt_id)) == sorted(list(expected)[2:])
        expect(meta).to_have_text(re.compile(r"^已答 2/6"))  # the server has not seen them
        screenshot(exam, "console_journey_candidate_offline")

        # ---- the network returns: the journal drains and the console catches up.
        candidate_ctx.set_offline(False)
        expect(exam.locator("#exam-save")).to_have_text("已保存", timeout=30_000)
        expect(exam.locator("#exam-offline")).to_be_hidden()
        assert journal(exam, attempt_id) == []
        expect(meta).to_have_text(re.compile(r"^已答 4/6"), timeout=WAIT)
        expect(state).to_have_text("作答中", timeout=WAIT)

        # Nothing is lost: every answer given is stored, with its value, and nothing else.
        stored = run_script(live_server, READ, attempt_id)
        assert stored["answers"] == expected
        assert stored["rows"] == len(expected) == 4
        for kind in ("focus_loss", "pause", "resume", "extend"):
            assert kind in stored["events"], stored["events"]

        # ---- the candidate submits (past the earliest-submit time); the seat shows 已交卷.
        run_script(live_server, BACKDATE, attempt_id)
        exam.get_by_role("button", name="交卷", exact=True).click()
        dialog = exam.locator("#dlg-submit")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("已答 4 题，未答 2 题")
        exam.get_by_role("button", name="确认交卷").click()
        expect(exam.locator("#end-title")).to_have_text("试卷已提交", timeout=WAIT)
        expect(state).to_have_text("已交卷", timeout=WAIT)
        expect(console.locator('[data-count="submitted"]')).to_have_text("1")
        # The submitted seat's panel offers no pause, resume, extension, warning or termination.
        cell.click()
        expect(panel.locator("[data-panel-info]")).to_contain_text("已交卷")
        for name in ("暂停", "恢复", "延长时间", "警告", "终止考试"):
            expect(panel.get_by_role("button", name=name, exact=True)).to_have_count(0)
        expect(panel.get_by_role("button", name="记录违纪")).to_be_visible()
        expect(panel.locator("[data-panel-closed]")).to_be_visible()
        screenshot(console, "console_journey_submitted")
        final = run_script(live_server, READ, attempt_id)
        assert final["status"] == "submitted" and final["answers"] == expected
    finally:
        candidate_ctx.close()
        proctor_ctx.close()
