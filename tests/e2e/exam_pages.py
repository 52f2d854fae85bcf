"""What the browser journeys share: child-process scripts against the live server's database
(run them with tests.e2e.seeding.run_script) and the candidate's steps on the exam page."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

__all__ = ["BACKDATE", "READ", "answer_current", "candidate_login_and_enter", "journal"]

# Move the room's clock back 31 minutes (the sitting's start, the room's opening and the
# candidate's start), past the earliest-submit rule (30 minutes from the room's start).
BACKDATE = r"""
import datetime as dt, json, sys
from examroom.models import Attempt
from web import create_app
from web.extensions import db

app = create_app({"SOCKETIO_ASYNC_MODE": "threading"})
with app.app_context():
    s = db.session
    attempt = s.get(Attempt, int(sys.argv[1]))
    back = dt.timedelta(minutes=31)
    state = json.loads(attempt.state_json)
    for key in ("session_opened_at", "started_at"):
        state[key] = (dt.datetime.fromisoformat(state[key]) - back).isoformat()
    attempt.state_json = json.dumps(state, sort_keys=True)
    attempt.started_at = dt.datetime.fromisoformat(state["started_at"])
    attempt.exam_session.starts_at = attempt.exam_session.starts_at - back
    s.commit()
"""

# The attempt's status, stored answers and event kinds.
READ = r"""
import json, sys
from sqlalchemy import func, select
from examroom.models import Attempt, Response
from web import create_app
from web.extensions import db

app = create_app({"SOCKETIO_ASYNC_MODE": "threading"})
with app.app_context():
    s = db.session
    attempt = s.get(Attempt, int(sys.argv[1]))
    rows = s.scalar(select(func.count()).select_from(Response).where(Response.attempt_id == attempt.id))
    print(json.dumps({"status": attempt.status, "rows": rows,
                      "answers": {str(r.position): json.loads(r.value_json) for r in attempt.responses},
                      "events": [e.kind for e in attempt.events]}))
"""


def candidate_login_and_enter(page, base: str, seat: dict, room: str | None = None) -> int:
    """Log in as the seat's candidate, open 我的考试 and enter the sitting (checking that its row
    names ``room`` when given); returns the attempt id from the exam page's address."""
    page.goto(base + "/login")
    page.get_by_role("tab", name="考生登录").click()
    page.get_by_label("准考证号").fill(seat["ticket_no"])
    page.get_by_label("身份证号码").fill(seat["id_number"])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base + "/home")
    page.get_by_role("link", name="我的考试").first.click()
    page.wait_for_url(base + "/exam/")
    row = page.locator(f'tr[data-sitting="{seat["sitting_id"]}"]')
    if room is not None:
        expect(row).to_contain_text(room)
    row.get_by_role("button", name=re.compile("进入考场|继续作答")).click()
    page.wait_for_url(re.compile(r".*/exam/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def answer_current(page) -> tuple[int, object]:
    """Answer the item on screen; return its paper position and the value it should store."""
    position = int(page.locator("#view-answer").get_attribute("data-position"))
    widget = page.locator("#item-widget")
    if widget.locator("textarea").count():
        text = "断开电源，使用绝缘用具，保持安全距离。"
        widget.locator("textarea").fill(text)
        page.locator("#btn-next").focus()  # leaving the box saves at once
        return position, text
    inputs = widget.locator("input")
    if inputs.first.get_attribute("type") == "checkbox":
        inputs.nth(0).check()
        inputs.nth(2).check()
        return position, sorted([inputs.nth(0).get_attribute("value"), inputs.nth(2).get_attribute("value")])
    inputs.nth(1).check()
    return position, inputs.nth(1).get_attribute("value")


def journal(page, attempt_id: int) -> list:
    raw = page.evaluate(f"localStorage.getItem('exam.journal.{attempt_id}')")
    return json.loads(raw) if raw else []
