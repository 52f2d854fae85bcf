"""Skill scoring in a real browser on a tablet-sized viewport (issue 13 point 4): three examiners
score one candidate alone; one loses the network mid-sheet, keeps typing (the draft stays in the
browser and the page says 未同步), and finishes after it returns (已保存, then signed); the
spread is over the rule, so the chief reconciles, first refused without a reason.

Then the decision (issue 13 acceptance): the candidate's theory result is already scored (seeded),
the institution admin opens the batch's results, decides, confirms by name on the page (which
releases the decision), and the candidate logs in and sees 合格 with the reasons on 我的成绩."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.logins import staff_login
from tests.e2e.seeding import run_script
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e

WAIT = 15_000
TABLET = {"width": 820, "height": 1180}  # a 10.9-inch tablet held upright

SKILL_DAY = r"""
import datetime as dt
import json
from grading.results import records
from tests.examroom.worlds import SkillDay
from web import create_app
from web.extensions import db

app = create_app({"SOCKETIO_ASYNC_MODE": "threading"})
with app.app_context():
    s = db.session
    day = SkillDay(s, n=1)
    reg = day.registrations[0]
    # Theory is already scored: the level-4 scheme needs it with skill (its writer, as the close hook would).
    records.create(s, registration_id=reg.id, person_id=reg.person_id, component="theory",
                   sat_on=dt.date(2026, 10, 16), base_state="scored", score=82, reason="理论知识考试已评分")
    s.commit()
    candidate = day.candidates[0]
    print(json.dumps({"sitting_id": day.sitting.id, "registration_id": reg.id, "batch_id": day.batch.id,
                      "examiners": [e.username for e in day.examiners], "criteria": [c.id for c in day.task.criteria],
                      "admin": day.world.admin.username, "admin_name": day.world.admin.name,
                      "ticket_no": reg.ticket_no, "id_number": candidate.id_number, "name": candidate.name}))
"""


def _tablet(browser):
    context = browser.new_context(locale="zh-CN", viewport=TABLET, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    return context, page


def _fill(page, criteria, points):
    for criterion, value in zip(criteria, points, strict=False):
        page.locator(f"input[name='mark_{criterion}']").fill(str(value))


def _sign(page):
    page.locator("#sign-button").click()
    expect(page.locator(".flash-success")).to_contain_text("已签名提交", timeout=WAIT)


def test_three_examiners_score_one_candidate_one_offline_the_chief_reconciles_and_the_candidate_is_qualified(
        live_server, browser):
    base = live_server.url
    seed = run_script(live_server, SKILL_DAY)
    sheet_url = f"{base}/skill/sittings/{seed['sitting_id']}/candidates/{seed['registration_id']}"
    criteria = seed["criteria"]
    chief, second, third = seed["examiners"]
    contexts = []
    try:
        # The chief scores first and signs: 25 + 25 + 20 + 10 = 80.
        context, page = _tablet(browser)
        contexts.append(context)
        staff_login(page, base, chief, PASSWORD)
        page.goto(sheet_url)
        box = page.locator(f"input[name='mark_{criteria[0]}']").bounding_box()
        assert box is not None and box["height"] >= 44  # a finger-sized target
        _fill(page, criteria, (25, 25, 20, 10))
        expect(page.locator("#sync-state")).to_have_text("已保存", timeout=WAIT)
        expect(page.locator("#sheet-total")).to_have_text("80")
        screenshot(page, "skill_sheet_tablet")
        _sign(page)

        # The second examiner loses the network half-way through and goes on typing.
        context2, page2 = _tablet(browser)
        contexts.append(context2)
        staff_login(page2, base, second, PASSWORD)
        page2.goto(sheet_url)
        _fill(page2, criteria[:2], (20, 20))
        expect(page2.locator("#sync-state")).to_have_text("已保存", timeout=WAIT)
        context2.set_offline(True)
        _fill(page2, criteria[2:], (15, 10))
        page2.locator(f"input[name='note_{criteria[2]}']").fill("未做通电前检查")
        expect(page2.locator("#sync-state")).to_contain_text("未同步", timeout=WAIT)
        kept = page2.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('score-sheet:'))"
                              ".map(k => JSON.parse(localStorage.getItem(k)))")
        assert kept and kept[0]["marks"][str(criteria[3])] == "10" and kept[0]["notes"][str(criteria[2])]
        screenshot(page2, "skill_sheet_offline")
        page2.locator("#sign-button").click()  # refused in the page while offline
        expect(page2.locator("#sync-state")).to_contain_text("签名须在联网时提交")
        context2.set_offline(False)
        expect(page2.locator("#sync-state")).to_have_text("已保存", timeout=WAIT)
        page2.reload()  # what the server kept: everything typed offline
        expect(page2.locator(f"input[name='mark_{criteria[3]}']")).to_have_value("10.0")
        expect(page2.locator(f"input[name='note_{criteria[2]}']")).to_have_value("未做通电前检查")
        expect(page2.locator("#sheet-total")).to_have_text("65")
        _sign(page2)

        # Before the third examiner signs, nobody sees the others' sheets.
        page.goto(f"{base}/skill/sittings/{seed['sitting_id']}")
        expect(page.locator(".skill-candidate")).to_contain_text("全组签名前不显示")
        assert "65.0" not in page.locator("#skill-board").inner_text()

        context3, page3 = _tablet(browser)
        contexts.append(context3)
        staff_login(page3, base, third, PASSWORD)
        page3.goto(sheet_url)
        _fill(page3, criteria, (25, 25, 25, 15))
        expect(page3.locator("#sheet-total")).to_have_text("90")
        _sign(page3)

        # Spread 90 − 65 = 25 > 10: the chief reconciles, with a reason.
        page.goto(f"{base}/skill/sittings/{seed['sitting_id']}")
        card = page.locator(".skill-candidate")
        expect(card).to_contain_text("待组长复核")
        expect(card.locator(".skill-sheets")).to_contain_text("65.0")
        card.locator("input[name=score]").fill("78")
        card.get_by_role("button", name="提交复核").click()
        expect(page.locator(".flash-danger")).to_contain_text("复核须填写书面理由", timeout=WAIT)
        card = page.locator(".skill-candidate")
        card.locator("input[name=score]").fill("78")
        card.locator("textarea[name=reason]").fill("第二位考评员未见到考生通电前的检查，复看后按 78 分评定。")
        card.get_by_role("button", name="提交复核").click()
        expect(page.locator(".skill-candidate")).to_contain_text("成绩 78.0 分", timeout=WAIT)
        screenshot(page, "skill_board_reconciled")

        # The institution admin: the batch's results by component, then the decision confirmed by name.
        context4, admin = _tablet(browser)
        contexts.append(context4)
        admin.set_viewport_size({"width": 1280, "height": 900})
        staff_login(admin, base, seed["admin"], PASSWORD)
        admin.goto(f"{base}/results/batches/{seed['batch_id']}")
        row = admin.locator(f"tr[data-registration='{seed['registration_id']}']")
        expect(row).to_contain_text("82")
        expect(row).to_contain_text("78")
        admin.get_by_role("link", name="认定结论").first.click()
        admin.get_by_role("button", name="判定全部考生").click()
        row = admin.locator(f"#decision-list tr[data-registration='{seed['registration_id']}']")
        expect(row).to_contain_text("合格", timeout=WAIT)
        expect(admin.locator("#draft-count")).to_have_text("1")
        admin.get_by_role("button", name="以本人名义确认全部草稿").click()  # the page asks; the dialog is accepted
        expect(admin.locator("#draft-count")).to_have_text("0", timeout=WAIT)
        row = admin.locator(f"#decision-list tr[data-registration='{seed['registration_id']}']")
        expect(row).to_contain_text(seed["admin_name"])
        screenshot(admin, "results_decision_confirmed")

        # The candidate logs in and sees 合格 with the reasons.
        context5, cand = _tablet(browser)
        contexts.append(context5)
        cand.goto(base + "/login")
        cand.get_by_role("tab", name="考生登录").click()
        cand.get_by_label("准考证号").fill(seed["ticket_no"])
        cand.get_by_label("身份证号码").fill(seed["id_number"])
        cand.get_by_role("button", name="登录").click()
        cand.wait_for_url(base + "/home")
        cand.get_by_role("link", name="我的成绩").first.click()
        card = cand.locator(f".rs-mine[data-registration='{seed['registration_id']}']")
        expect(card.locator(".rs-outcome")).to_contain_text("合格", timeout=WAIT)
        expect(card.locator(".rs-outcome")).not_to_contain_text("不合格")
        expect(card.locator(".rs-outcome")).to_contain_text(seed["admin_name"])
        expect(card).to_contain_text("「技能操作考核」78 分，达到合格线 60 分")
        expect(card).to_contain_text("「理论知识考试」82 分，达到合格线 60 分")
        screenshot(cand, "results_candidate_qualified")
    finally:
        for context in contexts:
            context.close()
