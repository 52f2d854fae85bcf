"""From publicity to a verified certificate in a real browser (issue 14 acceptance): the
institution opens a publicity, a visitor objects from the public page and gets a receipt, the
institution answers (dismissed) and the visitor reads the answer by the receipt, the period
ends, the institution submits, the centre approves, the institution issues, and the visitor
verifies the certificate on /verify by number and name.

Moving time: a publicity lasts 5 working days, so the test cannot wait for it. Two seeding
scripts change the live database's dates, and nothing else: :data:`START_TODAY` makes the
publicity start today even when the test runs on a rest day (the service would start it on the
next working day), and :data:`END_PERIOD` shifts the publicity and its entries 30 days into the
past, as if the period had ended (the submission's due date moves with it)."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import screenshot
from tests.e2e.logins import staff_login
from tests.e2e.seeding import run_script
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e

#: A filed institution, its admin, the centre and an acknowledged batch of two candidates with
#: confirmed 合格 decisions, not publicised yet (tests/grading/certificate_worlds.py).
WORLD = r"""
import json
from tests.grading.certificate_worlds import CertWorld
from web import create_app
from web.extensions import db

app = create_app({"SOCKETIO_ASYNC_MODE": "threading"})
with app.app_context():
    s = db.session
    world = CertWorld(s, n=0)
    batch = world.make_batch(n=2, qualified=False)
    regs = world.registrations(batch)
    for reg in regs:
        world.confirm(reg, "qualified")
    s.commit()
    print(json.dumps({"admin": world.admin.username, "centre": world.centre.username, "batch_id": batch.id,
                      "batch": batch.name, "names": [r.candidate.name for r in regs]}))
"""

START_TODAY = r"""
import sys
from sqlalchemy import select
from foundation.calendar import beijing_date
from foundation.db import utcnow
from grading.publicity.models import Publicity
from web import create_app
from web.extensions import db

app = create_app({"SOCKETIO_ASYNC_MODE": "threading"})
with app.app_context():
    s = db.session
    pub = s.scalar(select(Publicity).where(Publicity.batch_id == int(sys.argv[1])))
    today = beijing_date(utcnow())
    pub.start_on = pub.starts_on = min(pub.starts_on, today)
    for e in pub.entries:
        e.starts_on = pub.starts_on
    s.commit()
"""

END_PERIOD = r"""
import datetime as dt, sys
from sqlalchemy import select
from grading.publicity.models import Publicity
from web import create_app
from web.extensions import db

app = create_app({"SOCKETIO_ASYNC_MODE": "threading"})
with app.app_context():
    s = db.session
    pub = s.scalar(select(Publicity).where(Publicity.batch_id == int(sys.argv[1])))
    back = dt.timedelta(days=30)
    pub.start_on, pub.starts_on, pub.ends_on = pub.start_on - back, pub.starts_on - back, pub.ends_on - back
    pub.submit_due_on -= back
    for e in pub.entries:
        e.starts_on, e.ends_on = e.starts_on - back, e.ends_on - back
    s.commit()
"""


def _logout(page) -> None:
    page.get_by_role("button", name="退出").click()


def test_publicity_objection_review_issue_and_verify(live_server, page):
    base = live_server.url
    seeded = run_script(live_server, WORLD)
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations (data-confirm)

    # The institution opens the publicity (start date: today, the form's default).
    staff_login(page, base, seeded["admin"], PASSWORD)
    page.get_by_role("link", name="公示与报送").first.click()
    row = page.locator("#to-publicise tr", has_text=seeded["batch"])
    row.get_by_role("button", name="发布公示").click()
    assert "已发布公示" in page.locator("body").inner_text()
    screenshot(page, "publicity_opened")
    _logout(page)
    run_script(live_server, START_TODAY, seeded["batch_id"])

    # A visitor finds it on the public page and objects to the first person.
    page.goto(base + "/publicity")
    page.get_by_role("link", name=re.compile(seeded["batch"])).click()
    body = page.locator("#publicity-entries").inner_text()
    assert seeded["names"][0] not in body  # masked
    page.locator("#publicity-entries tbody tr").first.get_by_role("link", name="提出异议").click()
    page.get_by_label("异议人姓名").fill("王五")
    page.get_by_label("联系方式").fill("13800000000")
    page.get_by_label("异议内容").fill("该考生实际未参加操作技能考核，请核实。")
    page.get_by_role("button", name="提交异议").click()
    receipt = page.locator("#receipt-number").inner_text().strip()
    assert receipt.startswith("YY")
    screenshot(page, "publicity_receipt")

    # The institution answers in writing: dismissed.
    staff_login(page, base, seeded["admin"], PASSWORD)
    page.get_by_role("link", name="公示与报送").first.click()
    page.get_by_role("link", name=re.compile(seeded["batch"])).first.click()
    form = page.locator(".answer-form").first
    form.get_by_label("调查结论").select_option("dismissed")
    form.get_by_label("书面答复").fill("经核查签到表和考场录像，该考生按时参加了操作技能考核，异议不成立。")
    form.get_by_role("button", name="提交答复").click()
    assert "已答复异议" in page.locator("body").inner_text()
    _logout(page)

    # The visitor reads the answer by the receipt number.
    page.goto(base + "/publicity/receipt")
    page.get_by_label("回执号").fill(receipt)
    page.get_by_role("button", name="查询").click()
    assert page.locator("#objection-status").inner_text() == "异议不成立"
    assert "异议不成立" in page.locator("#objection-answer").inner_text()

    # The period ends (dates moved into the past), the institution submits to the centre.
    run_script(live_server, END_PERIOD, seeded["batch_id"])
    staff_login(page, base, seeded["admin"], PASSWORD)
    page.get_by_role("link", name="公示与报送").first.click()
    page.get_by_role("link", name=re.compile(seeded["batch"])).first.click()
    page.get_by_role("button", name="报送省中心审核").click()
    assert "已报送省中心审核" in page.locator("body").inner_text()
    _logout(page)

    # The centre approves.
    staff_login(page, base, seeded["centre"], PASSWORD)
    page.goto(base + "/publicity/submissions")
    page.locator("#submission-queue tr", has_text=seeded["batch"]).get_by_role("link", name="审核").click()
    page.get_by_role("button", name="审核通过").click()
    assert page.locator("#submission-state").inner_text() == "审核通过"
    screenshot(page, "publicity_approved")
    _logout(page)

    # The institution issues the batch's certificates.
    staff_login(page, base, seeded["admin"], PASSWORD)
    page.goto(f"{base}/certificates/batches/{seeded['batch_id']}")
    page.get_by_role("button", name=re.compile("为全部可发证人员发证")).click()
    assert "已颁发 2 本证书" in page.locator("body").inner_text()
    row = page.locator("#issuance tbody tr", has_text=seeded["names"][0])
    number = row.get_by_role("link").first.inner_text().strip()
    assert len(number) == 22
    _logout(page)

    # The visitor verifies it by number and name.
    page.goto(base + "/verify")
    page.get_by_label("证书编号").fill(number)
    page.get_by_label("持证人姓名").fill(seeded["names"][0])
    page.get_by_role("button", name="查询").click()
    assert page.locator("#verify-status").inner_text() == "有效"
    screenshot(page, "publicity_verified")
