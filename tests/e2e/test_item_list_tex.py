"""Item lists typeset TeX: the demo bank's 串联 item shows its formula rendered by KaTeX in the
bank's item list never as raw ``\\( .. \\)`` source."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.logins import browser_login

pytestmark = pytest.mark.e2e


def test_item_lists_render_formulas(live_server, page):
    base = live_server.url
    browser_login(page, base, "reviewer1")
    page.goto(base + "/itembank/items?q=串联")
    cell = page.locator("#item-list tbody tr").filter(has_text="串联").locator("td").nth(1)
    expect(cell.locator(".katex").first).to_be_visible()
    assert "\\(" not in cell.inner_text()

    # The reviewer's queue uses the same excerpt and loads the same renderer.
    page.goto(base + "/itembank/review")
    expect(page.locator("#review-list")).to_be_visible()
    assert page.evaluate("typeof window.renderMathInElement") == "function"
