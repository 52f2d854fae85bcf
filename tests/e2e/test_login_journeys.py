"""Real-browser login journeys against a server set up the way ``make run`` sets it up."""

from __future__ import annotations

import re

import pytest
import requests

from foundation.roles import ROLE_LABELS
from tests.e2e.conftest import screenshot
from tests.e2e.logins import staff_login

pytestmark = pytest.mark.e2e


def _demo_logins(output: str) -> list[tuple[str, str]]:
    """(role label, login) rows as `flask seed demo` printed them."""
    rows = []
    for line in output.splitlines():
        parts = line.split()
        if not line.startswith("  ") or len(parts) < 3:
            continue
        if len(parts) > 3 and parts[2] == "/":
            rows.append((parts[0], f"{parts[1]} / {parts[3]}"))
        else:
            rows.append((parts[0], parts[1]))
    return rows


def test_centre_admin_logs_in_sees_centre_areas_and_logs_out(live_server, page):
    base = live_server.url
    page.goto(base + "/")
    assert page.url == base + "/login"
    staff_login(page, base, "centre")
    assert page.locator(".role-badge").inner_text() == "省职业技能鉴定中心管理员"
    capabilities = page.locator("#capabilities h2").all_inner_texts()
    for area in ("机构备案", "账号管理", "职业目录", "工作日历", "操作日志"):
        assert area in capabilities
    screenshot(page, "home_centre_admin")
    page.get_by_role("link", name="操作日志", exact=True).first.click()
    page.get_by_role("link", name="校验哈希链").click()
    page.get_by_role("button", name="增量校验").click()  # the page runs a check only when asked
    assert "操作日志完整" in page.locator("#chain-ok").inner_text()
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(base + "/login")
    page.goto(base + "/home")
    assert page.url.startswith(base + "/login")


def test_institution_admin_manages_only_own_people(live_server, page):
    base = live_server.url
    staff_login(page, base, "jx_admin")
    assert "评价机构管理员" in page.locator(".role-badge").inner_text()
    assert page.locator("#capabilities h2").filter(has_text="操作日志").count() == 0
    page.get_by_role("link", name="账号管理", exact=True).first.click()
    rows = page.locator("table.table tbody tr")
    rows.first.wait_for()  # count() does not wait for the navigation the click started
    assert rows.count() > 0
    assert "吉林省汽车工业技师学院" not in page.locator("table.table").inner_text()
    screenshot(page, "users_institution_admin")
    # A centre-only page is refused on the server, not just hidden.
    resp = page.goto(base + "/audit/")
    assert resp.status == 403 and "没有访问此页面的权限" in page.content()


def test_candidate_logs_in_with_ticket_and_id(live_server, page):
    base = live_server.url
    ticket, id_number = next(
        login.split(" / ") for label, login in _demo_logins(live_server.demo_output) if label == "考生"
    )
    page.goto(base + "/login")
    page.get_by_role("tab", name="考生登录").click()
    page.get_by_label("准考证号").fill(ticket)
    page.get_by_label("身份证号码").fill("220102000000000000")
    page.get_by_role("button", name="登录").click()
    assert "准考证号或身份证号码错误" in page.locator(".flash").inner_text()
    page.get_by_label("准考证号").fill(ticket)
    page.get_by_label("身份证号码").fill(id_number)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base + "/home")
    profile = page.locator("#candidate-profile").inner_text()
    assert ticket in profile and id_number not in profile and id_number[-4:] in profile
    screenshot(page, "home_candidate")


def test_every_printed_demo_login_reaches_its_home(live_server):
    rows = _demo_logins(live_server.demo_output)
    labels = {label for label, _ in rows}
    assert set(ROLE_LABELS.values()) <= labels  # a login for every role with an account
    for label, login in rows:
        http = requests.Session()
        page = http.get(live_server.url + "/login", timeout=10).text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        if " / " in login:
            ticket, id_number = login.split(" / ")
            resp = http.post(live_server.url + "/login/candidate",
                             data={"ticket_no": ticket, "id_number": id_number, "csrf_token": token}, timeout=10)
        else:
            resp = http.post(live_server.url + "/login",
                             data={"username": login, "password": "Demo1234", "csrf_token": token}, timeout=10)
        assert resp.url.endswith("/home"), (label, login, resp.status_code)
        assert label in resp.text, (label, login)
