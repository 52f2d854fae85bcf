"""The item bank as its people use it, in a real browser against the demo platform:
a writer creates an item with an image, a reviewer returns it, the writer fixes it, two
reviewers approve it, and an institution admin assembles it into a paper."""

from __future__ import annotations

import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.logins import browser_login

pytestmark = pytest.mark.e2e

STEM = "如图所示，测量电动机绕组绝缘电阻应使用哪种仪表？"
FIXED_STEM = "如图所示，测量三相电动机绕组对地绝缘电阻，应选用哪种仪表？"




def _png(tmp_path) -> str:
    path = tmp_path / "megger.png"
    Image.new("RGB", (120, 80), (40, 120, 200)).save(path)
    return str(path)


def _act(page, label: str, comment: str | None = None) -> None:
    box = page.locator(".action-box").filter(has=page.get_by_role("button", name=label))
    if comment is not None:
        box.locator("textarea").fill(comment)
    box.get_by_role("button", name=label).click()
    page.wait_for_load_state("networkidle")


def test_item_from_writing_to_an_assembled_paper(live_server, page, tmp_path):
    base = live_server.url
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations before each action

    # The writer writes an item with an image, previewed as the candidate will see it.
    browser_login(page, base, "writer1")
    page.goto(base + "/itembank/items/new")
    picker = page.locator("#blueprint-picker select[name=blueprint]")
    picker.select_option(picker.locator("option", has_text="电工").first.get_attribute("value"))
    page.locator("#blueprint-picker").get_by_role("button", name="选择细目表").click()
    page.get_by_label("鉴定点").select_option(index=1)
    page.get_by_label("题型").select_option("single_choice")
    stem = page.get_by_label("题干")
    stem.fill(f"<p>{STEM}</p>")
    stem.click()
    page.locator("[data-upload-input]").set_input_files(_png(tmp_path))
    expect(page.locator("#stem_html")).to_have_value(re.compile("/itembank/images/"))
    for letter, text in zip("ABCD", ["万用表", "兆欧表", "钳形电流表", "电能表"], strict=True):
        page.get_by_label(f"选项 {letter}", exact=True).fill(text)
    page.locator("input[name=key][value=B]").check()
    page.get_by_label("预估难度（答对率）").fill("0.7")
    preview = page.locator("#item-preview")
    preview.get_by_text("兆欧表").wait_for()
    assert preview.locator("img").count() == 1
    assert "正确答案" not in preview.inner_text()
    screenshot(page, "item_editor_preview")
    page.get_by_role("button", name="保存为草稿").click()
    page.wait_for_url(f"{base}/itembank/items/*")
    item_url = page.url
    code = re.search(r"试题\s+(\S+)", page.locator("h1").inner_text()).group(1)
    _act(page, "提交审核")
    assert "待审题" in page.content()

    # The first reviewer returns it with a comment.
    browser_login(page, base, "reviewer1")
    page.goto(base + "/itembank/review")
    assert code in page.content()  # waiting in the reviewer's queue
    page.goto(item_url)
    _act(page, "退回修改", "题干应写明“对地”绝缘电阻。")
    assert "退回修改" in page.content()

    # The writer fixes it: a new version, with the diff visible to reviewers.
    browser_login(page, base, "writer1")
    page.goto(item_url)
    assert "题干应写明“对地”绝缘电阻。" in page.content()
    page.get_by_role("link", name="修改").first.click()
    page.get_by_label("题干").fill(f"<p>{FIXED_STEM}</p>")
    page.get_by_role("button", name="保存为新版本").click()
    page.wait_for_url(item_url)
    _act(page, "提交审核")

    # Two different reviewers pass and approve it; the second also activates it.
    browser_login(page, base, "reviewer1")
    page.goto(item_url)
    assert "对地" in page.content()  # the version diff shows the fix
    _act(page, "审题通过")
    assert page.locator(".action-box").filter(has_text="终审通过").count() == 0  # not the same person twice
    browser_login(page, base, "reviewer2")
    page.goto(item_url)
    _act(page, "终审通过")
    page.goto(item_url)
    _act(page, "启用")
    page.goto(item_url)
    assert "已启用" in page.content()
    screenshot(page, "item_detail_active")

    # The technician college assembles a fixed paper with it.
    browser_login(page, base, "qc_admin")
    page.goto(base + "/itembank/papers/new")
    blueprint = page.get_by_label("细目表")
    blueprint.select_option(blueprint.locator("option", has_text="电工").first.get_attribute("value"))
    page.get_by_label("试卷名称").fill("电工四级 固定卷（浏览器测试）")
    page.get_by_label("组卷方式").select_option("fixed")
    rows = page.locator("select[name=section_type]")
    rows.first.select_option("single_choice")
    page.locator("input[name=section_count]").first.fill("1")
    page.locator("input[name=section_points]").first.fill("100")
    while page.locator("select[name=section_type]").count() > 1:
        page.locator("[data-remove-section]").last.click()
    page.get_by_label("平行卷数量").select_option("1")
    page.locator("#fixed_A").fill(code)
    page.get_by_role("button", name="开始组卷").click()
    page.wait_for_url(f"{base}/jobs/*")  # assembly runs as a job; its page reloads when it is done
    page.locator("#job-paper").click(timeout=60_000)
    page.wait_for_url(f"{base}/itembank/papers/*")
    assert code in page.content()
    screenshot(page, "paper_with_new_item")
