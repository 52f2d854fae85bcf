"""Item HTML sanitising: XSS payloads lose every executable vector, item markup survives."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from foundation.errors import ValidationError
from itembank.sanitize import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_CLASSES,
    ALLOWED_TAGS,
    MAX_HTML_LENGTH,
    MAX_TEX_LENGTH,
    clean_html,
    clean_item_html,
    extract_tex,
    plain_text,
)

SAFE = "<p>安全内容<b>加粗</b></p>"

PAYLOADS = {
    # <script>
    "script": "<script>alert(1)</script>",
    "script-src-upper": "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "script-split": "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "script-double-lt": "<<script>script>alert(1)<</script>/script>",
    # event handlers on various tags
    "img-onerror": '<img src="/itembank/images/a.png" onerror="alert(1)">',
    "body-onload": "<body onload=alert(1)>",
    "p-onclick": '<p onclick="alert(1)">x</p>',
    "b-onmouseover": "<b onmouseover=alert(1)>x</b>",
    "table-handlers": "<table onmouseover=alert(1)><tr><td onclick=alert(1)>x</td></tr></table>",
    "span-onfocus-autofocus": "<span onfocus=alert(1) tabindex=0 autofocus contenteditable>x</span>",
    "img-onload-upper": '<IMG SRC="/itembank/images/a.png" ONLOAD="alert(1)">',
    "details-ontoggle": "<details open ontoggle=alert(1)><summary>x</summary></details>",
    "video-onerror": "<video><source onerror=alert(1)></video>",
    # javascript: and vbscript: URLs, plain and obfuscated
    "a-javascript": '<a href="javascript:alert(1)">x</a>',
    "a-javascript-mixed-case": '<a href="JaVaScRiPt:alert(1)">x</a>',
    "a-javascript-tab-entity": '<a href="jav&#x09;ascript:alert(1)">x</a>',
    "a-javascript-decimal-entities": (
        '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>'
    ),
    "a-javascript-hex-no-semicolon": '<a href="&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A;alert(1)">x</a>',
    "a-javascript-leading-space-newline": '<a href=" \n javascript:alert(1)">x</a>',
    "img-javascript-newline": '<img src="java\nscript:alert(1)">',
    "img-javascript-colon-entity": '<img src="javascript&colon;alert(1)">',
    "img-vbscript": '<img src="vbscript:msgbox(1)">',
    "a-vbscript-mixed-case": '<a href="VbScRiPt:msgbox(1)">x</a>',
    # data: URLs
    "img-data-svg": '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    "img-data-png": '<img src="data:image/png;base64,iVBORw0KGgo=">',
    "a-data-html": '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    # SVG
    "svg-script": "<svg><script>alert(1)</script></svg>",
    "svg-onload": "<svg onload=alert(1)>",
    "svg-xlink": '<svg><a xlink:href="javascript:alert(1)"><text x="0" y="10">x</text></a></svg>',
    "svg-animate": "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    # MathML
    "math-xlink": '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">x</maction></math>',
    "math-href": '<math href="javascript:alert(1)"><mi>x</mi></math>',
    "math-mglyph-style": "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    # embedding and document-level tags
    "iframe": '<iframe src="javascript:alert(1)"></iframe>',
    "iframe-srcdoc": '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "object": '<object data="javascript:alert(1)"></object>',
    "embed": '<embed src="javascript:alert(1)">',
    "base": '<base href="javascript:alert(1)//">',
    "form": '<form action="javascript:alert(1)"><input type="submit" value="x"></form>',
    "button-formaction": "<button formaction=javascript:alert(1)>x</button>",
    "meta-refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "link-stylesheet": '<link rel="stylesheet" href="javascript:alert(1)">',
    # CSS
    "style-expression": '<p style="width: expression(alert(1))">x</p>',
    "style-url-javascript": '<span style="background:url(javascript:alert(1))">x</span>',
    "style-block": "<style>body{background:url(javascript:alert(1))}</style>",
    "style-block-import": "<style>@import 'https://evil.example/x.css';</style>",
    # malformed markup
    "unclosed-tags": "<p>未闭合 <b>加粗 <i>斜体",
    "img-unterminated": "<img src=x onerror=alert(1)//",
    "nested-quotes": '<img src="/itembank/images/a.png" alt="x" " onerror="alert(1)">',
    "quote-break-out": '<img """><script>alert(1)</script>">',
    "comment-script": "<!--><script>alert(1)</script>-->",
    "comment-bang": "<!-- --!><script>alert(1)</script>",
    "noscript-mxss": '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "textarea-script": "<textarea><script>alert(1)</script></textarea>",
    "title-script": "<title><script>alert(1)</script></title>",
    "template-script": "<template><script>alert(1)</script></template>",
    "slash-attr": "<img/src=x/onerror=alert(1)>",
    # external and sneaky image URLs
    "img-external": '<img src="https://evil.example/x.png">',
    "img-protocol-relative": '<img src="//evil.example/x.png">',
    "img-traversal": '<img src="/itembank/images/../../admin/x.png">',
    "img-traversal-entities": '<img src="/itembank/images/&#x2e;&#x2e;/x.png">',
    "img-double-slash": '<img src="/itembank/images//evil.example/x.png">',
    "img-prefix-lookalike": '<img src="/itembank/imagesX/a.png">',
    "img-backslash": '<img src="/itembank/images/\\\\evil.example\\x.png">',
    # attributes outside the allowlist
    "id-class-data": '<p id="login" class="evil" data-x="1" title="t" dir="rtl" lang="en">x</p>',
}

_DANGER = re.compile(
    r"<\s*(script|svg|math|iframe|object|embed|base|form|meta|link|style|input|button|textarea|template)"
    r"|javascript:|vbscript:|data:|expression\(|xlink:|srcdoc|formaction|http-equiv|\son[a-z]+\s*=|\sstyle\s*=",
    re.IGNORECASE,
)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_safe(out: str) -> None:
    assert not _DANGER.search(out), out
    collector = _Collector()
    collector.feed(out)
    collector.close()
    for tag, attrs in collector.tags:
        assert tag in ALLOWED_TAGS, (tag, out)
        for name, value in attrs:
            assert not name.startswith("on"), out
            if name == "class":
                assert set((value or "").split()) <= ALLOWED_CLASSES.get(tag, set()), out
            else:
                assert name in ALLOWED_ATTRIBUTES.get(tag, set()), (tag, name, out)
            if tag == "img" and name == "src":
                assert value is not None and value.startswith("/itembank/images/"), out
                assert ".." not in value and "//" not in value, out
            lowered = (value or "").lower().replace("\n", "").replace("\t", "")
            for scheme in ("javascript:", "vbscript:", "data:", "http:", "https:"):
                assert scheme not in lowered, out


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_payload_loses_every_executable_vector_and_safe_content_survives(payload):
    out = clean_html(SAFE + payload)
    assert out.startswith(SAFE), out
    assert_safe(out)


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_cleaning_is_idempotent(payload):
    once = clean_html(SAFE + payload)
    assert clean_html(once) == once


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ('<img src="/itembank/images/a.png" onerror="alert(1)">', '<img src="/itembank/images/a.png">'),
        ('<p onclick="alert(1)">x</p>', "<p>x</p>"),
        ('<a href="javascript:alert(1)">链接文字</a>', "链接文字"),
        ('<p style="color:red">红字</p>', "<p>红字</p>"),
        ("<p>未闭合 <b>加粗", "<p>未闭合 <b>加粗</b></p>"),
        ('<img src="https://evil.example/x.png" alt="外链">', '<img alt="外链">'),
        ("<font color=red>保留文字</font>", "保留文字"),
        ("<script>alert(1)</script>后文", "后文"),
        ("<math><mi>x</mi></math>后文", "后文"),
    ],
)
def test_exact_output_of_representative_payloads(payload, expected):
    assert clean_html(payload) == expected


def test_allowed_item_markup_survives_unchanged():
    html = (
        '<p>下列说法<span class="emphasis-dots">不正确</span>的是<span class="blank"></span>。<br>'
        "<b>粗</b><strong>强</strong><i>斜</i><em>重</em><u>下划线</u>H<sub>2</sub>O x<sup>2</sup></p>"
        "<ul><li>一</li></ul><ol><li>二</li></ol>"
        '<table><thead><tr><th colspan="2">表头</th></tr></thead>'
        '<tbody><tr><td rowspan="2">甲</td><td>乙</td></tr></tbody></table>'
        '<p><img src="/itembank/images/2024/ab12.png?v=3" alt="电路图" width="320" height="200"></p>'
    )
    assert clean_html(html) == html
    assert_safe(clean_html(html))


def test_disallowed_classes_and_bad_sizes_are_dropped():
    out = clean_html(
        '<span class="blank evil">x</span><img src="/itembank/images/a.png" width="100%" height="99999">'
        '<table><tbody><tr><td colspan="0" rowspan="1000">x</td></tr></tbody></table>'
    )
    assert out == (
        '<span class="blank">x</span><img src="/itembank/images/a.png">'
        "<table><tbody><tr><td>x</td></tr></tbody></table>"
    )


def test_tex_is_kept_as_text_even_with_less_than():
    html = "<p>若 \\(a<b\\) 且 \\(b > c\\)，则 \\[ \\frac{a}{c} \\leq 1 \\]</p>"
    out = clean_html(html)
    assert out == "<p>若 \\(a&lt;b\\) 且 \\(b &gt; c\\)，则 \\[ \\frac{a}{c} \\leq 1 \\]</p>"
    assert extract_tex(out) == ["a<b", "b > c", "\\frac{a}{c} \\leq 1"]


def test_configurable_image_prefix():
    html = '<img src="https://static.example.cn/ib/a.png"><img src="/itembank/images/b.png">'
    out = clean_html(html, image_prefixes=["https://static.example.cn/ib/"])
    assert out == '<img src="https://static.example.cn/ib/a.png"><img>'
    out = clean_html(html, image_prefixes=["/media/", "/itembank/images/"])
    assert out == '<img><img src="/itembank/images/b.png">'


@pytest.mark.parametrize("prefix", ["", "itembank/", "//cdn.example/", "http://cdn.example/", "/no-trailing-slash"])
def test_bad_image_prefix_is_a_programming_error(prefix):
    with pytest.raises(ValueError):
        clean_html("x", image_prefixes=[prefix])


def test_plain_text():
    html = "<p>第一段&nbsp;<b>加粗</b>&lt;文字&gt;</p><p>第二段</p><ul><li>甲</li><li>乙</li></ul><script>x()</script>"
    assert plain_text(html) == "第一段 加粗<文字>\n第二段\n甲\n乙"
    assert plain_text("<p>甲<br>乙</p>\n\n<table><tr><td>1</td><td>2</td></tr></table>") == "甲\n乙\n1 2"
    assert plain_text("H<sub>2</sub>O") == "H2O"
    assert plain_text("") == ""
    assert plain_text("纯文本") == "纯文本"
    assert plain_text("<p>源码\n换行</p>") == "源码 换行"


def test_extract_tex_finds_inline_and_display_formulas():
    text = "电阻 \\(R = \\frac{U}{I}\\)，功率 \\[P = I^2 R\\]，换行 \\[ a \\\\[2pt] b \\]"
    assert extract_tex(text) == ["R = \\frac{U}{I}", "P = I^2 R", "a \\\\[2pt] b"]
    assert extract_tex("<p>没有公式</p>") == []
    assert extract_tex("路径 C:\\Windows\\Data 与 \\Url 不是公式") == []


@pytest.mark.parametrize(
    "command",
    ["href", "url", "includegraphics", "def", "gdef", "newcommand", "renewcommand", "let", "input", "csname",
     "htmlClass", "require", "class", "style", "HREF"],
)  # fmt: skip
def test_extract_tex_refuses_unsafe_commands(command):
    with pytest.raises(ValidationError) as info:
        extract_tex(f"见 \\({{\\{command}{{javascript:alert(1)}}{{x}}}}\\)")
    assert f"\\{command}" in info.value.message
    assert "不允许" in info.value.message


def test_extract_tex_checks_double_dollar_regions_too():
    with pytest.raises(ValidationError, match="href"):
        extract_tex("$$\\href{javascript:alert(1)}{点我}$$")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("\\(a + b", "不配对"),
        ("a + b\\)", "不配对"),
        ("\\(a \\[b\\] c\\)", "不配对"),
        ("\\[a\\)", "不配对"),
        ("\\(\\frac{a}{b\\)", "花括号"),
        ("\\(a}{b\\)", "花括号"),
        ("\\(x^^5c\\)", "^^"),
        ("\\(  \\)", "不能为空"),
        ("\\(" + "{" * 40 + "x" + "}" * 40 + "\\)", "嵌套"),
        ("\\(" + "x+" * MAX_TEX_LENGTH + "\\)", "过长"),
    ],
)
def test_extract_tex_refuses_malformed_formulas(text, message):
    with pytest.raises(ValidationError) as info:
        extract_tex(text)
    assert message in info.value.message


def test_escaped_braces_do_not_count():
    assert extract_tex("\\(\\left\\{ x \\right.\\)") == ["\\left\\{ x \\right."]


def test_clean_item_html_sanitises_and_checks():
    assert clean_item_html('<p onclick="x()">\\(a<b\\)</p>') == "<p>\\(a&lt;b\\)</p>"
    with pytest.raises(ValidationError, match="过长"):
        clean_item_html("字" * (MAX_HTML_LENGTH + 1))
    with pytest.raises(ValidationError, match="url"):
        clean_item_html("<p>\\(\\url{https://evil.example}\\)</p>")
