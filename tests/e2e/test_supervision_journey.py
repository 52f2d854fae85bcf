"""Supervision in a real browser against the demo (issue 11 point 5): the centre sees the demo
batch's own and dispatched supervisors and reads every room record; the dispatched supervisor
watches the demo room read-only; the college's admin may not remove the centre's supervisor."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import screenshot
from tests.e2e.logins import staff_login

pytestmark = pytest.mark.e2e


def _logout(page) -> None:
    page.get_by_role("button", name="退出").click()


def test_centre_dispatched_and_internal_supervisors_on_the_demo(live_server, page):
    base = live_server.url
    staff_login(page, base, "centre")
    page.get_by_role("link", name="考场与督考").first.click()
    page.wait_for_url(base + "/oversight/rooms")
    row = page.locator("#oversight-rooms tbody tr", has_text="第1考场").first
    screenshot(page, "oversight_rooms")
    row.get_by_role("link", name="考场记录表").click()
    assert "考场记录表" in page.locator("h1").inner_text()
    page.goto(base + "/batches/")
    page.get_by_role("link", name="2026年电工四级理论知识认定（在线考试演示）").click()
    staff = page.locator('.bt-staff[data-role="supervisor"]')
    assert "中心选派" in staff.inner_text() and "钱督导" in staff.inner_text()
    assert page.locator("#dispatch-form").is_visible()
    page.locator("#staff").scroll_into_view_if_needed()
    screenshot(page, "batch_detail_centre")
    page.goto(base + "/oversight/reports")
    assert "督考报告" in page.locator("h1").inner_text()
    _logout(page)

    staff_login(page, base, "supervisor")
    page.goto(base + "/supervise/")
    assert "中心选派" in page.locator("#sv-batches").inner_text()
    page.locator("#sv-rooms").get_by_role("link", name="查看考场").first.click()
    page.locator('[data-mode="readonly"]').first.wait_for()  # count() does not wait for the navigation
    assert page.locator('[data-mode="readonly"]').count() == 1
    screenshot(page, "supervise_dispatched_console")
    _logout(page)

    staff_login(page, base, "qc_admin")
    page.goto(base + "/batches/")
    page.get_by_role("link", name="2026年电工四级理论知识认定（在线考试演示）").click()
    staff = page.locator('.bt-staff[data-role="supervisor"]')
    assert "中心选派" in staff.inner_text()
    assert staff.get_by_role("button", name="移除").count() == 0  # acknowledged, and never the centre's
    assert page.locator("#dispatch-form").count() == 0
