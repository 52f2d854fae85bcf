"""Item HTML (题目 HTML): the allowlist sanitiser, text extraction and the TeX formula check.

Everything a question writer types (stems, options, reference answers) is untrusted HTML that
is later shown to candidates inside the exam page, so it is cleaned on the way in with nh3
(Rust ammonia) against a small allowlist. The allowlist and the reasons for each entry are
documented in ``docs/item-html.md``; keep the two in step.

Formulas are not HTML: nh3 drops ``<math>`` with its content, so formulas are stored as TeX
text between ``\\(`` and ``\\)`` (inline) or ``\\[`` and ``\\]`` (display) and typeset in the
browser. :func:`extract_tex` finds them and refuses commands that could reach the network,
define macros or otherwise surprise the renderer.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from html.parser import HTMLParser

import nh3

from foundation.errors import ValidationError

DEFAULT_IMAGE_PREFIXES: tuple[str, ...] = ("/itembank/images/",)
"""Where the platform serves item images; ``<img src>`` must start with one of these."""

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "p", "br",
        "b", "strong", "i", "em", "u", "sub", "sup", "span",
        "ul", "ol", "li",
        "table", "thead", "tbody", "tr", "th", "td",
        "img",
    }
)  # fmt: skip

ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "img": {"src", "alt", "width", "height"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}

ALLOWED_CLASSES: dict[str, set[str]] = {
    # 着重号 (dots under characters, e.g. "下列说法<span class="emphasis-dots">不正确</span>的是")
    # and an underlined blank for fill-in stems; the exam stylesheet defines both.
    "span": {"emphasis-dots", "blank"},
}

# Removed together with everything inside them (the default would keep their text).
# Must stay disjoint from ALLOWED_TAGS.
CLEAN_CONTENT_TAGS: frozenset[str] = frozenset(
    {
        "script", "style", "template", "noscript", "noembed", "noframes", "xmp", "plaintext",
        "iframe", "frame", "frameset", "object", "embed", "applet", "param",
        "svg", "math", "textarea", "select", "option", "title", "head",
    }
)  # fmt: skip

LINK_REL = "noopener noreferrer nofollow"

MAX_HTML_LENGTH = 50_000
MAX_TEX_LENGTH = 1_000
MAX_TEX_DEPTH = 32

FORBIDDEN_TEX_COMMANDS: frozenset[str] = frozenset(
    {
        # links and external resources
        "href", "url", "includegraphics", "input", "include", "require",
        # macro and environment definitions (unbounded expansion, redefinition of safe commands)
        "def", "gdef", "edef", "xdef", "let", "futurelet", "newcommand", "renewcommand",
        "providecommand", "newenvironment", "renewenvironment", "declaremathoperator",
        "csname", "expandafter", "catcode",
        # file and output primitives
        "write", "immediate", "openout", "openin", "read", "special",
        # HTML injection (KaTeX trust commands, MathJax html and action extensions)
        "htmlclass", "htmlid", "htmlstyle", "htmldata", "class", "cssid", "style", "data",
        "toggle", "mathtip", "texttip",
    }
)  # fmt: skip
"""Compared case-insensitively against control words (``\\name``) inside formulas."""

_SIZE_RE = re.compile(r"[1-9][0-9]{0,3}")  # image width/height in CSS pixels, 1..9999
_SPAN_RE = re.compile(r"[1-9][0-9]?")  # colspan/rowspan 1..99
# Platform image paths: plain path characters and an optional simple query string.
_IMAGE_PATH_RE = re.compile(r"[A-Za-z0-9._~/-]+(\?[A-Za-z0-9=&._-]*)?")
_TEX_TOKEN_RE = re.compile(r"\\\\|\\[()\[\]]")
_CONTROL_WORD_RE = re.compile(r"\\([A-Za-z]+)")
_DOLLAR_RE = re.compile(r"\$\$(.+?)\$\$", re.DOTALL)
_LINE_TAGS = frozenset({"p", "br", "li", "ul", "ol", "table", "thead", "tbody", "tr"})
_CELL_TAGS = frozenset({"th", "td"})


def _check_prefixes(prefixes: Sequence[str]) -> tuple[str, ...]:
    out = tuple(prefixes)
    if not out:
        raise ValueError("at least one image prefix is required")
    for prefix in out:
        local = prefix.startswith("/") and not prefix.startswith("//")
        if not (local or prefix.startswith("https://")) or not prefix.endswith("/"):
            raise ValueError(f"image prefix must be '/path/' or 'https://host/path/': {prefix!r}")
    return out


def _image_src_ok(value: str, prefixes: tuple[str, ...]) -> bool:
    for prefix in prefixes:
        if value.startswith(prefix):
            rest = value[len(prefix) :]
            return (
                _IMAGE_PATH_RE.fullmatch(rest) is not None
                and not rest.startswith("/")
                and "//" not in rest
                and ".." not in rest.split("?", 1)[0].split("/")
            )
    return False


@functools.lru_cache(maxsize=8)
def _cleaner(prefixes: tuple[str, ...]) -> nh3.Cleaner:
    def attribute_filter(tag: str, attr: str, value: str) -> str | None:
        # Runs after nh3's own checks, on the entity-decoded value. Must never raise:
        # nh3 would report the exception as unraisable and drop the attribute.
        if tag == "img" and attr == "src":
            return value if _image_src_ok(value, prefixes) else None
        if tag == "img" and attr in ("width", "height"):
            return value if _SIZE_RE.fullmatch(value) else None
        if attr in ("colspan", "rowspan"):
            return value if _SPAN_RE.fullmatch(value) else None
        return value

    absolute = any(p.startswith("https://") for p in prefixes)
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(CLEAN_CONTENT_TAGS),
        # "*": set() also removes ammonia's default generic attributes (title, lang).
        attributes={"*": set(), **{tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()}},
        attribute_filter=attribute_filter,
        strip_comments=True,
        link_rel=LINK_REL,
        allowed_classes={tag: set(names) for tag, names in ALLOWED_CLASSES.items()},
        url_schemes={"https"} if absolute else set(),
    )


def _tex_tokens(text: str) -> list[re.Match[str]]:
    """Delimiter tokens; ``\\\\`` (a TeX line break, as in ``\\\\[2pt]``) is consumed as a pair."""
    return [m for m in _TEX_TOKEN_RE.finditer(text) if m.group() != "\\\\"]


_OPENERS = {"\\(": "\\)", "\\[": "\\]"}


def _tex_spans(text: str) -> tuple[list[tuple[int, int]], bool]:
    """(start, end) of each formula body, and whether the delimiters were well formed."""
    spans: list[tuple[int, int]] = []
    closer: str | None = None
    start = 0
    for m in _tex_tokens(text):
        token = m.group()
        if closer is None:
            if token not in _OPENERS:
                return spans, False
            closer, start = _OPENERS[token], m.end()
        elif token == closer:
            spans.append((start, m.start()))
            closer = None
        else:
            return spans, False
    return spans, closer is None


def _escape_tex_lt(text: str) -> str:
    """Escape ``<`` inside formulas so ``\\(a<b\\)`` is not parsed as the start of a ``<b>`` tag.

    This only ever turns markup into text, so it cannot make the input less safe.
    """
    if "<" not in text:
        return text
    spans, _ = _tex_spans(text)
    if not spans:
        return text
    parts: list[str] = []
    pos = 0
    for start, end in spans:
        parts.append(text[pos:start])
        parts.append(text[start:end].replace("<", "&lt;"))
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def clean_html(text: str, *, image_prefixes: Sequence[str] = DEFAULT_IMAGE_PREFIXES) -> str:
    """Sanitise item HTML against the allowlist; never raises for any input string.

    Disallowed tags are removed but their text kept, except the tags in
    :data:`CLEAN_CONTENT_TAGS` which go with their content. All attributes not in the
    allowlist (``style``, ``on*``, ``id``, ``class`` outside :data:`ALLOWED_CLASSES`, ...)
    are dropped. ``<img src>`` survives only when it starts with one of ``image_prefixes``
    (default ``/itembank/images/``) followed by a plain path. ``<`` inside ``\\( \\)`` and
    ``\\[ \\]`` is escaped first so formulas like ``\\(a<b\\)`` survive as text.
    """
    return _cleaner(_check_prefixes(image_prefixes)).clean(_escape_tex_lt(text))


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._boundary(tag)

    def handle_endtag(self, tag: str) -> None:
        self._boundary(tag)

    def _boundary(self, tag: str) -> None:
        if tag in _LINE_TAGS:
            self.parts.append("\n")
        elif tag in _CELL_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        # A newline in HTML source is just whitespace; only markup makes lines.
        self.parts.append(data.replace("\r", " ").replace("\n", " "))


def plain_text(html: str) -> str:
    """Text content of item HTML for search, duplicate detection and plain-text exports.

    The input is sanitised first (so script and style content never counts as text) and
    entities are decoded. Paragraphs, line breaks, list items and table rows become lines
    (``"\\n"``), table cells are separated by a space, whitespace within a line collapses
    to one space and empty lines are dropped. TeX formulas stay as their source text.
    """
    parser = _TextExtractor()
    parser.feed(clean_html(html))
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)


def excerpt(html: str, limit: int = 80) -> str:
    """A one-line excerpt of item HTML for list pages, at most ``limit`` characters of text.

    The text is :func:`plain_text` on one line. A cut never falls inside a formula: a
    formula that starts before ``limit`` and ends after it is kept whole (so the result is
    at most ``limit`` characters plus the rest of that one formula plus "…"), and a stray or
    unclosed delimiter before the cut moves the cut in front of it, so the excerpt never
    holds an unbalanced ``\\(`` ``\\)`` ``\\[`` ``\\]`` and the list page can typeset it.
    """
    text = " ".join(plain_text(html).split())
    if len(text) <= limit:
        return text
    cut = limit
    closer: str | None = None
    start = 0
    for m in _tex_tokens(text):
        token = m.group()
        if closer is None:
            if m.start() >= cut:
                break
            if token not in _OPENERS:  # a stray closer: stop in front of it
                cut = m.start()
                break
            closer, start = _OPENERS[token], m.start()
        elif token == closer:
            closer = None
            cut = max(cut, m.end())  # a formula the cut fell inside is kept whole
        else:  # an opener inside a formula, or the wrong closer: stop in front of the formula
            cut = min(cut, start)
            closer = None
            break
    if closer is not None:  # a formula that never closes: stop in front of it
        cut = min(cut, start)
    if cut >= len(text):
        return text
    return text[:cut].rstrip() + "…"


def _check_braces(body: str) -> None:
    depth = 0
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            i += 2  # \{ and \} are literal braces
            continue
        if ch == "{":
            depth += 1
            if depth > MAX_TEX_DEPTH:
                raise ValidationError(f"公式嵌套层数过多（最多 {MAX_TEX_DEPTH} 层）。")
        elif ch == "}":
            depth -= 1
            if depth < 0:
                break
        i += 1
    if depth != 0:
        raise ValidationError(f"公式中的花括号不配对：{_excerpt(body)}")


def _excerpt(body: str, width: int = 30) -> str:
    body = body.strip()
    return body if len(body) <= width else body[:width] + "…"


def extract_tex(text: str) -> list[str]:
    """Formula bodies (without delimiters, stripped) in item HTML or plain text, in order.

    Raises :class:`~foundation.errors.ValidationError` (Chinese message) when delimiters do
    not pair up, a formula is longer than :data:`MAX_TEX_LENGTH` characters, braces do not
    balance or nest deeper than :data:`MAX_TEX_DEPTH`, or the text uses a command in
    :data:`FORBIDDEN_TEX_COMMANDS` or TeX's ``^^`` character notation. Commands are also
    checked inside ``$$ ... $$`` because renderers typeset that by default; elsewhere a
    backslash is ordinary text (``C:\\Windows\\Data`` is fine).
    """
    content = plain_text(text)
    spans, ok = _tex_spans(content)
    if not ok:
        raise ValidationError("公式定界符不配对：\\( 必须以 \\) 结束，\\[ 必须以 \\] 结束，且不能嵌套。")
    bodies = [content[start:end].strip() for start, end in spans]
    # $$...$$ is not our convention, but renderers typeset it by default: check it too.
    for body in [*bodies, *_DOLLAR_RE.findall(content)]:
        for m in _CONTROL_WORD_RE.finditer(body):
            if m.group(1).lower() in FORBIDDEN_TEX_COMMANDS:
                raise ValidationError(f"公式中不允许使用 \\{m.group(1)} 命令。")
    for body in bodies:
        if len(body) > MAX_TEX_LENGTH:
            raise ValidationError(f"公式过长：每个公式最多 {MAX_TEX_LENGTH} 个字符。")
        if "^^" in body:
            raise ValidationError("公式中不允许使用 ^^ 字符编码。")
        if not body.strip():
            raise ValidationError("公式内容不能为空。")
        _check_braces(body)
    return bodies


def clean_item_html(text: str, *, image_prefixes: Sequence[str] = DEFAULT_IMAGE_PREFIXES) -> str:
    """:func:`clean_html` plus the checks an editor should see as errors: length and TeX.

    This is what stems, options and reference answers go through before they are stored.
    """
    if len(text) > MAX_HTML_LENGTH:
        raise ValidationError(f"内容过长：最多 {MAX_HTML_LENGTH} 个字符。")
    cleaned = clean_html(text, image_prefixes=image_prefixes)
    extract_tex(cleaned)
    return cleaned
