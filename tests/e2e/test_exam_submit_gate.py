"""确认交卷 waits for the earliest-submit time of the room's clock (issue 11 points 3 and 8): in a
real browser, the confirm button is disabled with the rule's words until the room's start plus
the earliest-submit minutes, then enabled, and the submission goes through. The rule is set to
one minute and the sitting's clock is shifted so that the instant comes a few seconds later."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from examroom.attempts import ROOM_RULES_MAX_AGE
from tests.e2e.conftest import screenshot
from tests.e2e.exam_pages import READ, candidate_login_and_enter
from tests.e2e.seeding import run_script

pytestmark = pytest.mark.e2e

# The room opened 45 s ago, the candidate started 40 s ago, earliest submit after 1 minute:
# 确认交卷 opens about 25 s from now.
SETUP = r"""
import datetime as dt, json
from examroom import attempts as svc
from foundation.settings import DEFAULT_RULES, set_rule
from tests.examroom.worlds import Exam
from web import create_app
from tests.factories import ticket_no
from web.extensions import db

app = create_app({"SOCKETIO_ASYNC_MODE": "threading"})
with app.app_context():
    s = db.session
    exam = Exam(s)
    set_rule(s, exam.world.centre, "room_rules", {**DEFAULT_RULES["room_rules"], "earliest_submit_minutes": 1})
    now = dt.datetime.now(dt.UTC)
    exam.sitting.starts_at = now - dt.timedelta(seconds=35)
    s.flush()
    svc.open_room(s, exam.proctor1, exam.room1.id, now - dt.timedelta(seconds=35))
    attempt = exam.attempt(0)
    svc.start_attempt(s, exam.candidates[0], attempt.id, now - dt.timedelta(seconds=30))
    s.commit()
    c = exam.candidates[0]
    print(json.dumps({"attempt_id": attempt.id, "ticket_no": ticket_no(c), "id_number": c.id_number,
                      "sitting_id": exam.sitting.id}))
"""


def test_confirm_submit_is_disabled_until_the_earliest_submit_time(live_server, browser):
    base = live_server.url
    seat = run_script(live_server, SETUP)
    # The server (shared by the e2e modules) may use the room rules it read up to
    # ROOM_RULES_MAX_AGE ago: wait until the new earliest-submit minutes reach it.
    time.sleep(ROOM_RULES_MAX_AGE + 1)
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        attempt_id = candidate_login_and_enter(page, base, seat)
        assert attempt_id == seat["attempt_id"]
        expect(page.locator("#view-answer")).to_be_visible()
        page.get_by_role("button", name="交卷", exact=True).click()
        dialog = page.locator("#dlg-submit")
        expect(dialog).to_be_visible()
        ok = page.get_by_role("button", name="确认交卷")
        gate = page.locator("#dlg-submit-gate")
        expect(ok).to_be_disabled()
        expect(gate).to_be_visible()
        expect(gate).to_contain_text("开考 1 分钟内不得交卷")
        expect(gate).to_contain_text("起方可交卷")
        screenshot(page, "exam_submit_gate")
        assert run_script(live_server, READ, attempt_id)["status"] == "in_progress"
        # The instant comes while the dialog is open: the button opens by itself.
        expect(ok).to_be_enabled(timeout=45_000)
        expect(gate).to_be_hidden()
        ok.click()
        expect(page.locator("#view-end")).to_be_visible()
        expect(page.locator("#end-title")).to_have_text("试卷已提交")
        assert run_script(live_server, READ, attempt_id)["status"] == "submitted"
    finally:
        context.close()
