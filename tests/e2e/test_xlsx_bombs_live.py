"""Spreadsheet bombs against the live gevent server: each upload's import job (run by the
embedded job worker) fails with its message while ``/healthz`` keeps answering within a
second (before the guarded reader, the reported wide-row file froze every request, exam
sockets included, for 20 s)."""

from __future__ import annotations

import re
import time

import pytest

from tests.e2e.logins import http_login
from tests.e2e.polling import HealthPoller, wait_for_job
from tests.foundation import xlsx_bombs

pytestmark = pytest.mark.e2e

BOUND = 1.0  # seconds: the acceptance bound of the security issue (#12, point 1)


def test_bombs_are_refused_while_healthz_answers_within_a_second(live_server):
    base = live_server.url
    bombs = {
        # The two reported files, at their reported sizes.
        "wide_row": xlsx_bombs.wide_rows(20_000, sheet_title="试题"),
        "shared_string": xlsx_bombs.huge_shared_string(1024, sheet_title="试题"),
        "blank_rows": xlsx_bombs.blank_rows(1_000_000, sheet_title="试题"),
        "huge_dimension": xlsx_bombs.huge_dimension(sheet_title="试题"),
        "many_entries": xlsx_bombs.many_entries(sheet_title="试题"),
    }
    http = http_login(base, "/login", {"username": "writer1", "password": "Demo1234"})
    page = http.get(base + "/itembank/items/import", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    blueprint = next(v for v in re.findall(r'<option[^>]*value="(\d+)"', page))

    poller = HealthPoller(base)
    poller.start()
    try:
        time.sleep(0.5)
        for name, data in bombs.items():
            resp = http.post(base + "/itembank/items/import", timeout=120, data={
                "csrf_token": token, "blueprint_id": blueprint,
            }, files={"file": ("bomb.xlsx", data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")})
            assert resp.status_code == 200 and "/jobs/" in resp.url, name
            status = wait_for_job(http, resp.url)
            assert status["status"] == "failed", (name, status)
            assert xlsx_bombs.BOMBS[name][1] in status["error"], (name, status)
        time.sleep(0.5)
    finally:
        poller.stop.set()
        poller.join(timeout=60)
    assert not poller.failures, poller.failures
    assert len(poller.samples) > 10
    assert max(poller.samples) < BOUND, sorted(poller.samples)[-5:]


def test_the_import_page_uploads_with_progress_and_shows_the_answer(live_server, page, tmp_path):
    """The upload goes through upload_progress.js (an XHR, so the page can show progress), which
    then shows the answer page as a plain post would: the import job's page, which follows the
    job and shows the refusal."""
    from playwright.sync_api import expect

    from tests.e2e.logins import browser_login

    base = live_server.url
    bomb = tmp_path / "wide.xlsx"
    bomb.write_bytes(xlsx_bombs.wide_rows(20_000, sheet_title="试题"))
    browser_login(page, base, "writer1")
    page.goto(base + "/itembank/items/import")
    page.locator("#item-import-form select").select_option(index=1)
    page.locator("#item-import-form input[type=file]").set_input_files(str(bomb))
    kinds: list[str] = []
    page.on("request", lambda r: kinds.append(r.resource_type) if r.method == "POST" else None)
    page.get_by_role("button", name="上传并导入").click()
    expect(page.locator("#item-import-form [role=status]")).to_contain_text("正在")
    expect(page.get_by_text("列数过多")).to_be_visible(timeout=30_000)
    assert kinds == ["xhr"]
    assert re.fullmatch(re.escape(base) + r"/jobs/\d+", page.url), page.url
    expect(page.locator("#job-status[data-status=failed]")).to_be_visible()
