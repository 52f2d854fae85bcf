"""Item pages: editor, preview, images, detail, workflow actions, review queue and the list."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from PIL import Image

from foundation.roles import Role
from itembank import images
from itembank import items as svc
from itembank.items import ItemContent, code_prefix
from itembank.models import Item, ItemImage, ItemStatus
from tests.factories import assign, make_blueprint, make_user, single_choice

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def png_bytes(size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = (0, 128, 255)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def sc_form(point_id: int | None, stem: str = "<p>三相异步电动机的同步转速与下列哪项有关？</p>", key: str = "B",
            **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "item_type": "single_choice",
        "stem_html": stem,
        "option_a": "电源电压",
        "option_b": "电源频率和磁极对数",
        "option_c": "负载大小",
        "option_d": "转子电阻",
        "key": [key],
        "scoring": "all_or_nothing",
        "explanation_html": "<p>n = 60f/p。</p>",
        "source": "国家职业技能标准",
        "difficulty": "0.6",
    }
    if point_id is not None:
        data["point_id"] = str(point_id)
    data.update(extra)
    return data


def html(resp: Any) -> str:
    return resp.get_data(as_text=True)


def queue(client: Any, stage: str = "submitted") -> str:
    """The rows of the review queue (not the flash messages above it)."""
    page = html(client.get(f"/itembank/review?stage={stage}"))
    return page[page.index('id="review-list"'):page.index("</table>", page.index('id="review-list"'))]


def upload(client: Any, data: bytes, filename: str) -> Any:
    resp = client.post("/itembank/images", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data", headers={"Accept": "application/json"})
    resp.close()
    return resp


@pytest.fixture
def people(session):
    return {
        "writer": make_user(session, Role.QUESTION_WRITER, name="命题员甲"),
        "writer2": make_user(session, Role.QUESTION_WRITER, name="命题员乙"),
        "r1": make_user(session, Role.ITEM_REVIEWER, name="审题员一"),
        "r2": make_user(session, Role.ITEM_REVIEWER, name="审题员二"),
        "centre": make_user(session, Role.CENTRE_ADMIN),
        "candidate": make_user(session, Role.CANDIDATE),
        "proctor": make_user(session, Role.PROCTOR),
    }


@pytest.fixture
def blueprint(session, people):
    bp = make_blueprint(session)
    for reviewer in (people["r1"], people["r2"]):  # the centre writers' items of this occupation
        assign(session, reviewer, bp.occupation_id)
    return bp


@pytest.fixture
def point(blueprint):
    return blueprint.points[0]


def new_item(session, writer, point, stem: str = "安全用电的基本原则是什么？", submit: bool = False) -> Item:
    item = svc.create_item(session, writer, point_id=point.id, item_type="single_choice", content=single_choice(stem))
    if submit:
        svc.submit_item(session, writer, item.id)
    session.flush()
    return item


# ---------------------------------------------------------------- images


def test_image_upload_accepts_png_and_refuses_fakes(client, login, people, monkeypatch):
    # A smaller limit keeps request bodies in memory in the test client (no temporary files).
    monkeypatch.setattr(images, "MAX_IMAGE_BYTES", 100_000)
    login(people["writer"])
    resp = upload(client, png_bytes((64, 48)), "电路.png")
    assert resp.status_code == 200, html(resp)
    body = resp.get_json()
    assert re.fullmatch(r"/itembank/images/\d+\.png", body["url"]) and (body["width"], body["height"]) == (64, 48)

    for data, name in [(b"hello, I am text\n" * 20, "fake.png"), (SVG, "x.svg"),
                       (png_bytes() + b"\0" * 100_000, "big.png")]:
        resp = upload(client, data, name)
        assert resp.status_code == 400, name
        assert resp.is_json and resp.get_json()["error"], name
    assert "SVG" in upload(client, SVG, "x.svg").get_json()["error"]
    assert "过大" in upload(client, b"\x89PNG" + b"\0" * 150_000, "big.png").get_json()["error"]
    assert upload(client, b"", "").status_code == 400


def test_image_is_served_with_safe_headers(client, login, people):
    login(people["r1"])
    url = upload(client, png_bytes(), "a.png").get_json()["url"]
    resp = client.get(url)
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    assert resp.data.startswith(b"\x89PNG")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Security-Policy"] == "default-src 'none'; img-src 'self'; sandbox"
    assert resp.headers["Content-Disposition"].startswith("inline; filename=")
    assert "max-age=31536000" in resp.headers["Cache-Control"] and "private" in resp.headers["Cache-Control"]
    etag = resp.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url.replace(".png", ".jpg")).status_code == 404
    assert client.get("/itembank/images/999999.png").status_code == 404


def test_anonymous_cannot_fetch_or_upload_images(client, session, people):
    img = ItemImage(sha256="0" * 64, mime="image/png", width=1, height=1, size=4, data=b"\x89PNG",
                    uploaded_by_id=people["writer"].id)
    session.add(img)
    session.flush()
    resp = client.get(f"/itembank/images/{img.id}.png")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert upload(client, png_bytes(), "a.png").status_code == 401


def test_candidate_gets_403_on_item_pages_and_404_for_images_outside_their_paper(
        client, session, login, people, point):
    item = new_item(session, people["writer"], point)
    login(people["writer"])
    url = upload(client, png_bytes(), "a.png").get_json()["url"]
    login(people["candidate"])
    for method, path in [
        ("GET", "/itembank/items"), ("GET", "/itembank/items/new"), ("POST", "/itembank/items/new"),
        ("GET", f"/itembank/items/{item.id}"), ("GET", f"/itembank/items/{item.id}/edit"),
        ("POST", f"/itembank/items/{item.id}/edit"), ("POST", f"/itembank/items/{item.id}/action"),
        ("POST", "/itembank/items/preview"), ("GET", "/itembank/review"), ("POST", "/itembank/images"),
    ]:
        resp = client.open(path, method=method, data=sc_form(point.id))
        assert resp.status_code == 403, (method, path, resp.status_code)
    # only images of items in the candidate's open attempt are served (tests/web/test_exam_pages.py)
    assert client.get(url).status_code == 404
    login(people["writer"])
    assert client.get(url).status_code == 200


def test_other_staff_roles_are_refused_item_pages(client, session, login, people, point):
    item = new_item(session, people["writer"], point)
    login(people["proctor"])
    for path in ("/itembank/items", f"/itembank/items/{item.id}", "/itembank/review"):
        assert client.get(path).status_code == 403
    login(people["centre"])
    assert client.get("/itembank/items").status_code == 200
    assert client.get(f"/itembank/items/{item.id}").status_code == 200
    assert client.get("/itembank/items/new").status_code == 403
    assert client.get("/itembank/review").status_code == 403
    assert client.post("/itembank/items/preview", data=sc_form(None)).status_code == 403
    assert upload(client, png_bytes(), "a.png").status_code == 403


# ---------------------------------------------------------------- editor and preview


def test_new_item_page_offers_the_blueprint_points(client, login, people, blueprint, point):
    login(people["writer"])
    page = html(client.get(f"/itembank/items/new?blueprint={blueprint.id}"))
    for p in blueprint.points:
        assert f'value="{p.id}"' in page and p.code in page
    page = html(client.get(f"/itembank/items/new?point={point.id}"))
    assert re.search(rf'<option selected value="{point.id}">|<option value="{point.id}" selected', page)
    assert 'id="item-preview"' in page and "js/item_editor.js" in page and "katex.min.js" in page
    assert "<script>" not in page and "style=" not in page  # CSP: no inline script or style


def test_writer_creates_an_item_with_an_uploaded_image(client, session, login, people, point):
    login(people["writer"])
    body = upload(client, png_bytes((120, 80)), "接线图.png").get_json()
    stem = (f'<p>如图所示电路，开关闭合后电流表的读数是多少？</p>'
            f'<p><img src="{body["url"]}" alt="电路图" width="120" height="80"></p>')
    resp = client.post("/itembank/items/new", data=sc_form(point.id, stem=stem, key="C"))
    assert resp.status_code == 302, html(resp)
    item = session.query(Item).filter_by(author_id=people["writer"].id).one()
    assert resp.headers["Location"].endswith(f"/itembank/items/{item.id}")
    assert item.status == ItemStatus.DRAFT and item.item_type == "single_choice" and item.point_id == point.id
    assert item.code == code_prefix(point) + "001"  # the bank's scheme, as the demo's DG4-001
    assert body["url"] in item.current_version.stem_html
    assert item.current_version.spec["key"] == ["C"]
    page = html(client.get(f"/itembank/items/{item.id}"))
    assert f'src="{body["url"]}"' in page
    assert client.get(body["url"]).status_code == 200


def test_invalid_item_is_not_saved_and_the_error_is_shown(client, session, login, people, point):
    login(people["writer"])
    resp = client.post("/itembank/items/new", data=sc_form(point.id, key=[]) | {"key": []})
    assert resp.status_code == 400
    assert "正确答案" in html(resp)
    resp = client.post("/itembank/items/new", data=sc_form(None))
    assert resp.status_code == 400 and "请选择一个鉴定点" in html(resp)
    assert session.query(Item).count() == 0


def test_fill_in_and_examiner_items_through_the_form(client, session, login, people, point):
    login(people["writer"])
    resp = client.post("/itembank/items/new", data={
        "point_id": str(point.id), "item_type": "fill_in",
        "stem_html": ('<p>我国民用交流电的额定电压为<span class="blank"></span>伏，'
                      '频率为<span class="blank"></span>赫兹。</p>'),
        "blanks": "220 | 220V\n50｜50Hz", "any_order": "",
    })
    assert resp.status_code == 302, html(resp)
    resp = client.post("/itembank/items/new", data={
        "point_id": str(point.id), "item_type": "short_answer",
        "stem_html": "<p>简述触电急救的基本步骤。</p>",
        "reference_answer": "<p>先断电，再施救。</p>", "scoring_points": "2|使触电者脱离电源\n3|进行心肺复苏",
        "max_length": "800",
    })
    assert resp.status_code == 302, html(resp)
    fill, short = session.query(Item).order_by(Item.id).all()
    assert fill.current_version.spec["blanks"] == [{"answers": ["220", "220V"]}, {"answers": ["50", "50Hz"]}]
    assert short.current_version.spec["scoring_points"][1] == {"html": "进行心肺复苏", "points": 3.0}
    assert short.current_version.spec["max_length"] == 800
    fill_page = html(client.get(f"/itembank/items/{fill.id}"))
    assert "220 ｜ 220V" in fill_page and "第 2 空" in fill_page and 'name="response"' in fill_page
    short_page = html(client.get(f"/itembank/items/{short.id}"))
    assert "先断电，再施救" in short_page and "进行心肺复苏" in short_page and 'maxlength="800"' in short_page
    # The edit page gives the same fields back.
    page = html(client.get(f"/itembank/items/{short.id}/edit"))
    assert "3|进行心肺复苏" in page and 'value="800"' in page
    resp = client.post("/itembank/items/new", data={
        "point_id": str(point.id), "item_type": "short_answer", "stem_html": "<p>题干</p>",
        "reference_answer": "<p>答案</p>", "scoring_points": "没有分值的要点",
    })
    assert resp.status_code == 400 and "分值|要点内容" in html(resp)


XSS_STEM = ('<p onclick="alert(0)">下列说法<span class="emphasis-dots">不正确</span>的是\\( R = \\frac{U}{I} \\)'
            '<script>alert(1)</script><img src="https://evil.example/x.png" onerror="alert(2)">'
            '<a href="javascript:alert(3)">链接</a></p>')


def test_preview_sanitises_and_never_contains_the_key(client, login, people, point):
    login(people["writer"])
    data = sc_form(point.id, stem=XSS_STEM, key="C", option_c="<b onmouseover=alert(4)>正确答案选项</b>",
                   explanation_html="<p>解析机密内容</p>")
    resp = client.post("/itembank/items/preview", data=data)
    assert resp.status_code == 200
    out = html(resp)
    for bad in ("<script", "alert(", "onerror", "onclick", "onmouseover", "javascript:", "evil.example", "<a "):
        assert bad not in out, bad
    assert "emphasis-dots" in out and "\\frac{U}{I}" in out and "<b>正确答案选项</b>" in out
    assert "candidate-view" in out and "尚未通过检查" not in out
    # No trace of the key or the analysis: no preselected option, no key text.
    assert "checked" not in out and "解析机密内容" not in out and "正确答案：" not in out
    assert 'data-math="on"' in out


@pytest.mark.parametrize(("fields", "secrets"), [
    ({"item_type": "true_false", "stem_html": "<p>接地线可以用缠绕法连接。</p>", "tf_key": "×",
      "explanation_html": "解析秘密甲"}, ["解析秘密甲", "checked"]),
    ({"item_type": "fill_in", "stem_html": '<p>电阻的单位是<span class="blank"></span>。</p>',
      "blanks": "欧姆秘密答案 | Ω"}, ["欧姆秘密答案", "Ω"]),
    ({"item_type": "essay", "stem_html": "<p>论述电气安全管理制度。</p>",
      "reference_answer": "<p>参考答案秘密乙</p>", "scoring_points": "5|要点秘密丙"}, ["参考答案秘密乙", "要点秘密丙"]),
    ({"item_type": "multiple_choice", "stem_html": "<p>哪些属于安全电压？</p>", "option_a": "36V", "option_b": "24V",
      "option_c": "220V", "option_d": "12V", "key": ["A", "B", "D"], "scoring": "subset", "subset_credit": "0.5"},
     ["checked", "0.5", "subset"]),
])
def test_preview_of_every_type_hides_keys(client, login, people, fields, secrets):
    login(people["r1"])
    out = html(client.post("/itembank/items/preview", data=fields))
    assert "candidate-view" in out and "尚未通过检查" not in out, out
    for secret in secrets:
        assert secret not in out, secret


def test_preview_of_an_incomplete_item_still_sanitises(client, login, people):
    login(people["writer"])
    out = html(client.post("/itembank/items/preview", data={
        "item_type": "single_choice", "stem_html": "<p>只写了题干<script>alert(1)</script>\\( \\href{x}{y} \\)</p>",
        "option_a": "<img src=x onerror=alert(2)>甲", "key": ["A"],
    }))
    assert "尚未通过检查" in out and "只写了题干" in out and "甲" in out
    assert "<script" not in out and "onerror" not in out and "checked" not in out
    assert 'data-math="off"' in out  # a refused formula is never handed to KaTeX


# ---------------------------------------------------------------- workflow through the pages


def action(client: Any, item: Item, name: str, comment: str = "") -> Any:
    return client.post(f"/itembank/items/{item.id}/action", data={"action": name, "comment": comment})


def test_return_revise_resubmit_review_approve_journey(client, session, login, people, point):
    writer, r1, r2 = people["writer"], people["r1"], people["r2"]
    login(writer)
    resp = client.post("/itembank/items/new", data=sc_form(point.id, stem="<p>电动机铭牌上的额定功率是指什么？</p>"))
    assert resp.status_code == 302
    item = session.query(Item).one()
    page = html(client.get(f"/itembank/items/{item.id}"))
    assert 'value="submit"' in page and 'value="review"' not in page
    assert action(client, item, "submit").status_code == 302
    session.refresh(item)
    assert item.status == ItemStatus.SUBMITTED

    login(r1)
    assert item.code in queue(client)
    page = html(client.get(f"/itembank/items/{item.id}"))
    assert 'value="review"' in page and 'value="return"' in page and "正确答案" in page
    assert action(client, item, "return").status_code == 400  # a comment is required
    session.refresh(item)
    assert item.status == ItemStatus.SUBMITTED
    assert action(client, item, "return", "选项 C 表述不严谨，请修改。").status_code == 302
    session.refresh(item)
    assert item.status == ItemStatus.RETURNED

    login(writer)
    page = html(client.get(f"/itembank/items/{item.id}"))
    assert "选项 C 表述不严谨" in page and 'value="submit"' not in page  # revise first
    assert action(client, item, "submit").status_code == 400
    edit = html(client.get(f"/itembank/items/{item.id}/edit"))
    assert "电动机铭牌上的额定功率是指什么" in edit and "生成新版本 v2" in edit
    resp = client.post(f"/itembank/items/{item.id}/edit", data=sc_form(
        None, stem="<p>电动机铭牌上的额定功率是指电动机轴上输出的什么功率？</p>", option_c="输入的视在功率",
        change_note="按审题意见修改选项 C"))
    assert resp.status_code == 302, html(resp)
    session.refresh(item)
    assert item.status == ItemStatus.DRAFT and item.current_version.number == 2
    page = html(client.get(f"/itembank/items/{item.id}"))
    assert "v2 与 v1 的差异" in page and "负载大小" in page and "输入的视在功率" in page
    assert "按审题意见修改选项 C" in page
    old = html(client.get(f"/itembank/items/{item.id}?version=1"))
    assert "历史版本" in old and "电动机铭牌上的额定功率是指什么？" in old
    assert action(client, item, "submit").status_code == 302

    login(r1)
    assert action(client, item, "review", "题干清楚").status_code == 302
    session.refresh(item)
    assert item.status == ItemStatus.REVIEWED
    assert item.code not in queue(client, "reviewed")  # r1 passed it
    assert action(client, item, "approve").status_code == 403  # not the same reviewer twice
    session.refresh(item)
    assert item.status == ItemStatus.REVIEWED

    login(r2)
    assert item.code in queue(client, "reviewed")
    assert action(client, item, "approve", "同意入库").status_code == 302
    session.refresh(item)
    assert item.status == ItemStatus.APPROVED
    history = html(client.get(f"/itembank/items/{item.id}"))
    for text in ("提交审核", "退回修改", "修订（新版本）", "审题通过", "终审通过", "同意入库", "审题员一", "审题员二"):
        assert text in history, text
    assert [e.action for e in item.events] == ["submit", "return", "revise", "submit", "review", "approve"]

    login(people["centre"])
    assert action(client, item, "activate").status_code == 302
    assert action(client, item, "retire").status_code == 400  # a reason is required
    assert action(client, item, "retire", "内容过时").status_code == 302
    session.refresh(item)
    assert item.status == ItemStatus.RETIRED


def test_self_review_by_post_is_refused_and_changes_nothing(client, session, login, people, point):
    item = new_item(session, people["writer"], point, submit=True)
    # r1 also wrote a version of this item (e.g. under a writer assignment): never reviews it.
    item.versions[0].author_id = people["r1"].id
    session.flush()
    login(people["r1"])
    page = html(client.get(f"/itembank/items/{item.id}"))
    assert 'value="review"' not in page and "您是本题的命题人" in page
    for name in ("review", "return", "approve"):
        resp = action(client, item, name, "自己审自己")
        assert resp.status_code in (400, 403), name
    session.refresh(item)
    assert item.status == ItemStatus.SUBMITTED and [e.action for e in item.events] == ["submit"]
    # The writer cannot review either (wrong role), whatever the form says.
    login(people["writer"])
    assert action(client, item, "review").status_code == 403
    assert action(client, item, "bogus").status_code == 400
    session.refresh(item)
    assert item.status == ItemStatus.SUBMITTED


def test_review_queue_excludes_own_items(client, session, login, people, point):
    theirs = new_item(session, people["writer"], point, stem="变压器的工作原理基于什么定律？", submit=True)
    own = new_item(session, people["writer2"], point, stem="熔断器在电路中起什么保护作用？", submit=True)
    own.versions[0].author_id = people["r1"].id  # r1 wrote a version of it
    draft = new_item(session, people["writer"], point, stem="兆欧表测量绝缘电阻时应如何接线？")
    session.flush()
    login(people["r1"])
    rows = queue(client)
    assert theirs.code in rows and own.code not in rows and draft.code not in rows
    assert "待审题（1）" in html(client.get("/itembank/review"))
    login(people["r2"])
    rows = queue(client)
    assert theirs.code in rows and own.code in rows and "待审题（2）" in html(client.get("/itembank/review"))


def test_other_writer_cannot_edit_a_draft(client, session, login, people, point):
    item = new_item(session, people["writer"], point)
    login(people["writer2"])
    assert client.get(f"/itembank/items/{item.id}/edit").status_code == 403
    assert client.post(f"/itembank/items/{item.id}/edit", data=sc_form(None)).status_code == 403
    assert action(client, item, "submit").status_code == 403
    login(people["writer"])
    resp = client.post(f"/itembank/items/{item.id}/edit", data=sc_form(None, stem="<p>草稿直接修改后的题干内容</p>"))
    assert resp.status_code == 302
    session.refresh(item)
    assert item.current_version.number == 1 and "草稿直接修改" in item.current_version.stem_html


def test_submitted_item_cannot_be_edited(client, session, login, people, point):
    item = new_item(session, people["writer"], point, submit=True)
    login(people["writer"])
    resp = client.get(f"/itembank/items/{item.id}/edit")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/itembank/items/{item.id}")


def test_near_duplicates_are_flagged_on_save_but_not_blocked(client, session, login, people, point):
    first = new_item(session, people["writer2"], point, stem="在潮湿场所使用手持电动工具时，应选用哪一类工具？")
    login(people["writer"])
    resp = client.post("/itembank/items/new", data=sc_form(
        point.id, stem="<p>在潮湿场所使用手持电动工具时，应该选用哪一类工具？</p>"), follow_redirects=True)
    assert resp.status_code == 200
    page = html(resp)
    assert "题干相似" in page and f'/itembank/items/{first.id}"' in page and first.code in page
    assert session.query(Item).count() == 2


# ---------------------------------------------------------------- the list


def test_list_search_filter_and_pagination(client, session, login, people, blueprint):
    points = blueprint.points
    writer, other = people["writer"], people["writer2"]
    subjects = ["变压器", "电动机", "继电器", "接触器", "熔断器", "断路器", "电容器", "电抗器", "互感器", "避雷器",
                "发电机", "整流器", "逆变器", "电焊机", "照明灯", "插座板", "配电箱", "电能表", "电流表", "电压表",
                "绝缘靴", "验电笔", "接地线", "漏电开关", "电缆头"]
    made = []
    for n, subject in enumerate(subjects):
        author = writer if n % 2 == 0 else other
        item = svc.create_item(session, author, point_id=points[n % len(points)].id, item_type="single_choice",
                               content=single_choice(f"关于{subject}的日常维护，下列做法正确的是第{n}种？"))
        made.append(item)
    tf = svc.create_item(session, writer, point_id=points[0].id, item_type="true_false",
                         content=ItemContent(stem_html="<p>带电作业时可以不戴绝缘手套。</p>", spec={"key": "×"}))
    svc.submit_item(session, writer, tf.id)
    session.flush()
    login(people["r1"])

    page1 = html(client.get("/itembank/items"))
    assert "共 26 条" in page1 and page1.count("/itembank/items/") >= 20
    page2 = html(client.get("/itembank/items?page=2"))
    assert "共 26 条" in page2 and made[0].code in page2 and made[-1].code not in page2

    found = html(client.get("/itembank/items", query_string={"q": "互感器"}))
    assert "共 1 条" in found and made[8].code in found
    assert "共 1 条" in html(client.get("/itembank/items", query_string={"q": made[3].code.lower()}))
    assert "共 0 条" in html(client.get("/itembank/items", query_string={"q": "100%_"}))
    assert "共 1 条" in html(client.get("/itembank/items", query_string={"type": "true_false"}))
    assert "共 1 条" in html(client.get("/itembank/items", query_string={"status": "submitted"}))
    assert "共 25 条" in html(client.get("/itembank/items", query_string={"status": "draft"}))
    assert "共 26 条" in html(client.get("/itembank/items", query_string={"blueprint": blueprint.id, "level": 4}))
    assert "共 0 条" in html(client.get("/itembank/items", query_string={"level": 3}))
    assert "共 26 条" in html(client.get("/itembank/items",
                                         query_string={"occupation": blueprint.occupation_id}))
    by_point = html(client.get("/itembank/items", query_string={"point": points[1].code}))
    expected = sum(1 for n in range(len(subjects)) if n % len(points) == 1)
    assert f"共 {expected} 条" in by_point
    assert "共 26 条" in html(client.get("/itembank/items", query_string={"point": points[0].code[:1]})) \
        or points[0].code[:1] != points[-1].code[:1]

    login(writer)
    mine = html(client.get("/itembank/items", query_string={"mine": "1"}))
    assert "共 14 条" in mine and made[1].code not in mine
    assert "新建试题" in mine
