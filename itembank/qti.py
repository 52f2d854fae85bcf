"""QTI 3.0 export (1EdTech Question and Test Interoperability 3.0) of a set of items.

:func:`export_qti_bytes` writes an IMS content package (zip): ``imsmanifest.xml`` (namespace
``http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1``) with one ``imsqti_item_xmlv3p0``
resource per item at ``items/<identifier>.xml``, and the item images (``webcontent``
resources under ``items/images/``) the items depend on. Each item is a
``qti-assessment-item`` in the namespace ``http://www.imsglobal.org/xsd/imsqtiasi_v3p0``
(schema location ``imsqti_asiv3p0_v1p0.xsd`` at purl.imsglobal.org; the schema itself is
not shipped or fetched) holding the item's current version:

=============== ==================================================================================
type            item body and scoring
=============== ==================================================================================
单选题           ``qti-choice-interaction`` max-choices 1, ``identifier`` cardinality single, match_correct
多选题           ``qti-choice-interaction`` max-choices 0, cardinality multiple, match_correct
                (all or nothing: the platform's 少选/按比例 partial-credit rules are not exported)
判断题           two ``qti-simple-choice`` (``TRUE`` √, ``FALSE`` ×), cardinality single, match_correct
填空题           one ``qti-text-entry-interaction`` per blank (in place of the stem's
                ``<span class="blank">`` when their number agrees, otherwise after the stem); each
                blank a string response whose ``qti-correct-response`` is the first accepted answer
                and whose ``qti-mapping`` maps every accepted answer (case-insensitive) to 1; one
                blank uses the map_response template, several get rules averaging the blanks.
                Answers are compared as written (the platform's NFKC/space normalisation and
                「不分顺序」 are not expressible in the templates).
简答/计算/论述题   ``qti-extended-text-interaction`` (format plain), SCORE ``external-scored="human"``
                with ``normal-maximum`` = the scoring points' total, and a
                ``qti-rubric-block view="scorer"`` with the reference answer and scoring points
=============== ==================================================================================

Auto-scored items declare ``SCORE`` (0 by default) and ``MAXSCORE`` 1. Item HTML (already
sanitised) is parsed into elements, so the XML is well formed: ``<br>`` becomes ``<br/>``,
entities are decoded and re-escaped, ``<u>`` becomes ``<span class="qti-underline">`` (the
QTI shared vocabulary), TeX stays as text. The answer analysis (解析) goes into the scorer
rubric block, never into candidate-visible content.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from html.parser import HTMLParser
from xml.etree import ElementTree as ET

from sqlalchemy import select
from sqlalchemy.orm import Session

from itembank import sanitize
from itembank.itemtypes import TRUE_MARK, ExaminerScored, ItemType, get_type
from itembank.models import Item, ItemImage, ItemVersion

QTI_NS = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
CP_NS = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS = "http://www.w3.org/XML/1998/namespace"
ITEM_SCHEMA = "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0_v1p0.xsd"
CP_SCHEMA = "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqtiv3p0_imscpv1p2_v1p0.xsd"
RP_TEMPLATES = "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/"
MATCH_CORRECT = RP_TEMPLATES + "match_correct.xml"
MAP_RESPONSE = RP_TEMPLATES + "map_response.xml"
ITEM_RESOURCE_TYPE = "imsqti_item_xmlv3p0"
IMAGE_RESOURCE_TYPE = "webcontent"
RESPONSE = "RESPONSE"
TRUE_ID, FALSE_ID = "TRUE", "FALSE"
MANIFEST = "imsmanifest.xml"
ITEM_DIR = "items"
IMAGE_DIR = "images"  # relative to ITEM_DIR, so item XML says src="images/3.png"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed: the same items give the same bytes

_IMAGE_SRC_RE = re.compile(r"^/itembank/images/(?P<id>\d+)\.(?P<ext>[A-Za-z0-9]{1,5})(?:\?.*)?$")
_BLANK_SPAN_RE = re.compile(r"<span\b[^>]*\bclass=\"[^\"]*\bblank\b[^\"]*\"")
_VOID = frozenset({"br", "img", "hr"})
_KEEP_ATTRS: Mapping[str, frozenset[str]] = {
    "img": frozenset({"src", "alt", "width", "height"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan"}),
    "span": frozenset({"class"}),
}


def q(tag: str) -> str:
    """A QTI element name in the tree being built. Elements are built unqualified under a root
    carrying ``xmlns`` (Python 3.11's ``default_namespace`` refuses unqualified attributes), so
    the serialised XML has every element in the QTI namespace without a prefix."""
    return tag


_cp = q


def _sub(parent: ET.Element, tag: str, attrib: Mapping[str, str] | None = None, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, q(tag), dict(attrib or {}))
    if text is not None:
        el.text = text
    return el


def _append_text(parent: ET.Element, text: str) -> None:
    if not text:
        return
    if len(parent):
        last = parent[-1]
        last.tail = (last.tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def _num(value: float) -> str:
    return f"{float(value):g}"


# ---------------------------------------------------------------- item HTML → QTI elements


class _HtmlToQti(HTMLParser):
    """Builds QTI-namespaced XHTML elements under ``parent`` from sanitised item HTML."""

    def __init__(self, parent: ET.Element, image_src: Callable[[str], str],
                 blank: Callable[[ET.Element], ET.Element] | None = None) -> None:
        super().__init__(convert_charrefs=True)
        self.image_src = image_src
        self.blank = blank
        # (html tag, element or None while inside a replaced blank span)
        self.stack: list[tuple[str, ET.Element | None]] = [("", parent)]

    def _open(self, tag: str, attrs: list[tuple[str, str | None]], *, void: bool) -> None:
        parent = self.stack[-1][1]
        if parent is None:  # content of a blank that became an interaction
            if not void:
                self.stack.append((tag, None))
            return
        values = {k: v or "" for k, v in attrs if k in _KEEP_ATTRS.get(tag, ())}
        if tag == "span" and self.blank is not None and "blank" in values.get("class", "").split():
            self.blank(parent)
            if not void:
                self.stack.append((tag, None))
            return
        name = tag
        if tag == "u":
            name, values = "span", {"class": "qti-underline"}
        if tag == "img":
            values["src"] = self.image_src(values.get("src", ""))
            values.setdefault("alt", "")
        element = ET.SubElement(parent, q(name), values)
        if not void:
            self.stack.append((tag, element))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open(tag, attrs, void=tag in _VOID)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open(tag, attrs, void=True)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        parent = self.stack[-1][1]
        if parent is not None:
            _append_text(parent, data)


def html_into(parent: ET.Element, item_html: str, *, image_src: Callable[[str], str] = lambda s: s,
              blank: Callable[[ET.Element], ET.Element] | None = None) -> ET.Element:
    """Append sanitised item HTML to ``parent`` as QTI elements; returns ``parent``."""
    parser = _HtmlToQti(parent, image_src, blank)
    parser.feed(sanitize.clean_html(item_html or ""))
    parser.close()
    return parent


# ---------------------------------------------------------------- one item


def item_identifier(code: str) -> str:
    """An NCName for the item: ``ITEM-`` + its code with other characters as ``_``."""
    return "ITEM-" + re.sub(r"[^A-Za-z0-9._-]", "_", code)


def _title(version: ItemVersion) -> str:
    text = " ".join(sanitize.plain_text(version.stem_html).split())
    return text if len(text) <= 60 else text[:59] + "…"


def _response_declaration(parent: ET.Element, identifier: str, cardinality: str, base_type: str,
                          correct: Sequence[str] = ()) -> ET.Element:
    decl = _sub(parent, "qti-response-declaration",
                {"identifier": identifier, "cardinality": cardinality, "base-type": base_type})
    if correct:
        values = _sub(decl, "qti-correct-response")
        for value in correct:
            _sub(values, "qti-value", text=value)
    return decl


def _outcome(parent: ET.Element, identifier: str, default: float | None,
             extra: Mapping[str, str] | None = None) -> None:
    decl = _sub(parent, "qti-outcome-declaration",
                {"identifier": identifier, "cardinality": "single", "base-type": "float", **(extra or {})})
    if default is not None:
        _sub(_sub(decl, "qti-default-value"), "qti-value", text=_num(default))


def assessment_item(item: Item, version: ItemVersion | None = None, *,
                    image_src: Callable[[str], str] = lambda s: s, identifier: str | None = None) -> ET.Element:
    """The ``qti-assessment-item`` element of ``version`` (default: the current version): the
    type's declarations, item body and response processing (:func:`qti_writer`), and the
    analysis in the body's rubric block."""
    version = version or item.current_version
    if version is None:
        raise ValueError(f"item {item.code} has no version")
    kind = get_type(item.item_type)
    root = _item_root(item, version, identifier)
    html = _html_writer(image_src)
    body_part, processing = qti_writer(kind)(kind, version, root, html)
    body = _sub(root, "qti-item-body")
    body_part(body)
    _append_analysis(body, version.spec.get("analysis") or version.explanation_html, html)
    if processing is not None:
        root.append(processing)
    return root


def _item_root(item: Item, version: ItemVersion, identifier: str | None) -> ET.Element:
    """The empty ``qti-assessment-item`` with its namespace, identifier, title and language."""
    return ET.Element(q("qti-assessment-item"), {
        "xmlns": QTI_NS,
        f"{{{XSI_NS}}}schemaLocation": f"{QTI_NS} {ITEM_SCHEMA}",
        "identifier": identifier or item_identifier(item.code),
        "title": _title(version) or item.code,
        "label": item.code,
        f"{{{XML_NS}}}lang": "zh-CN",
        "adaptive": "false",
        "time-dependent": "false",
    })


def _append_analysis(body: ET.Element, analysis: str | None, html: HtmlWriter) -> None:
    """解析 (the spec's analysis, else the explanation) at the end of the body's rubric block
    (the one a type wrote, or a new one); nothing when it has no text."""
    if not (analysis and sanitize.plain_text(analysis).strip()):
        return
    block = body.find(q("qti-rubric-block"))
    content = block.find(q("qti-content-body")) if block is not None else None
    if content is None:
        content = _rubric(body)
    _sub(content, "p", text="解析：")
    html(_sub(content, "div"), analysis)


# ---------------------------------------------------------------- per-type writers

HtmlWriter = Callable[..., ET.Element]
BodyPart = Callable[[ET.Element], None]
QtiWriter = Callable[[ItemType, ItemVersion, ET.Element, HtmlWriter], tuple[BodyPart, ET.Element | None]]
"""Writes one type's response and outcome declarations into the ``qti-assessment-item`` and
returns the writer of its item body and its ``qti-response-processing`` (``None``: scored by
a person). ``HtmlWriter(parent, item_html)`` puts item HTML into an element."""


def _choices(version: ItemVersion, root: ET.Element, html: HtmlWriter, *, single: bool,
             choices: Sequence[tuple[str, str]], correct: Sequence[str], as_html: bool,
             ) -> tuple[BodyPart, ET.Element | None]:
    _response_declaration(root, RESPONSE, "single" if single else "multiple", "identifier", correct)
    _outcome(root, "SCORE", 0)
    _outcome(root, "MAXSCORE", 1)

    def choice_body(body: ET.Element) -> None:
        html(_sub(body, "div"), version.stem_html)
        interaction = _sub(body, "qti-choice-interaction", {
            "response-identifier": RESPONSE, "shuffle": "false",
            "max-choices": "1" if single else "0", "min-choices": "0",
        })
        for ident, content in choices:
            choice = _sub(interaction, "qti-simple-choice", {"identifier": ident})
            if as_html:
                html(choice, content)
            else:
                choice.text = content

    return choice_body, ET.Element(q("qti-response-processing"), {"template": MATCH_CORRECT})


def choice_qti(kind: ItemType, version: ItemVersion, root: ET.Element, html: HtmlWriter,
               ) -> tuple[BodyPart, ET.Element | None]:
    """单选题/多选题: a ``qti-choice-interaction`` over the options."""
    spec = version.spec
    return _choices(version, root, html, single=not kind.multi_select, as_html=True,
                    choices=[(o["label"], o["html"]) for o in spec["options"]], correct=list(spec["key"]))


def true_false_qti(kind: ItemType, version: ItemVersion, root: ET.Element, html: HtmlWriter,
                   ) -> tuple[BodyPart, ET.Element | None]:
    """判断题: two simple choices ``TRUE`` √ / ``FALSE`` ×."""
    correct = [TRUE_ID if version.spec["key"] == TRUE_MARK else FALSE_ID]
    return _choices(version, root, html, single=True, as_html=False,
                    choices=[(TRUE_ID, "√ 正确"), (FALSE_ID, "× 错误")], correct=correct)


def fill_in_qti(kind: ItemType, version: ItemVersion, root: ET.Element, html: HtmlWriter,
                ) -> tuple[BodyPart, ET.Element | None]:
    """填空题: one ``qti-text-entry-interaction`` per blank."""
    blanks = version.spec["blanks"]
    ids = [RESPONSE] if len(blanks) == 1 else [f"{RESPONSE}_{i}" for i in range(1, len(blanks) + 1)]
    for ident, blank in zip(ids, blanks, strict=True):
        decl = _response_declaration(root, ident, "single", "string", [str(blank["answers"][0])])
        mapping = _sub(decl, "qti-mapping", {"default-value": "0", "lower-bound": "0", "upper-bound": "1"})
        for answer in blank["answers"]:
            _sub(mapping, "qti-map-entry", {"map-key": str(answer), "mapped-value": "1", "case-sensitive": "false"})
    _outcome(root, "SCORE", 0)
    _outcome(root, "MAXSCORE", 1)

    def fill_in_body(body: ET.Element) -> None:
        pending = iter(ids)

        def entry(parent: ET.Element) -> ET.Element:
            return _sub(parent, "qti-text-entry-interaction",
                        {"response-identifier": next(pending), "expected-length": "15"})

        inline = len(_BLANK_SPAN_RE.findall(version.stem_html)) == len(ids)
        html(_sub(body, "div"), version.stem_html, blank=entry if inline else None)
        if not inline:
            line = _sub(body, "p")
            for n, _ in enumerate(ids, start=1):
                _append_text(line, f"（{n}）" if len(ids) > 1 else "")
                entry(line)

    if len(ids) == 1:
        return fill_in_body, ET.Element(q("qti-response-processing"), {"template": MAP_RESPONSE})
    processing = ET.Element(q("qti-response-processing"))
    setter = _sub(processing, "qti-set-outcome-value", {"identifier": "SCORE"})
    divide = _sub(setter, "qti-divide")
    total = _sub(divide, "qti-sum")
    for ident in ids:
        _sub(total, "qti-map-response", {"identifier": ident})
    _sub(divide, "qti-base-value", {"base-type": "float"}, text=_num(len(ids)))
    return fill_in_body, processing


def extended_text_qti(kind: ItemType, version: ItemVersion, root: ET.Element, html: HtmlWriter,
                      ) -> tuple[BodyPart, ET.Element | None]:
    """简答/计算/论述题: a ``qti-extended-text-interaction``, scored by a person with the rubric."""
    spec = version.spec
    maximum = sum(float(p["points"]) for p in spec["scoring_points"])
    default_length = int(getattr(kind, "default_max_length", ExaminerScored.default_max_length))
    _response_declaration(root, RESPONSE, "single", "string")
    _outcome(root, "SCORE", None, {"external-scored": "human", "normal-maximum": _num(maximum)})
    _outcome(root, "MAXSCORE", maximum)

    def extended_body(body: ET.Element) -> None:
        html(_sub(body, "div"), version.stem_html)
        _sub(body, "qti-extended-text-interaction", {
            "response-identifier": RESPONSE, "format": "plain",
            "expected-length": str(int(spec.get("max_length", default_length))),
        })
        content = _rubric(body)
        _sub(content, "p", text="参考答案：")
        html(_sub(content, "div"), spec["reference_answer"])
        _sub(content, "p", text="评分要点：")
        points = _sub(content, "ol")
        for point in spec["scoring_points"]:
            li = html(_sub(points, "li"), point["html"])
            _append_text(li, f"（{_num(point['points'])}分）")

    return extended_body, None


QTI_WRITERS: dict[str, QtiWriter] = {
    "single_choice": choice_qti,
    "multiple_choice": choice_qti,
    "true_false": true_false_qti,
    "fill_in": fill_in_qti,
    "short_answer": extended_text_qti,
    "calculation": extended_text_qti,
    "essay": extended_text_qti,
}
"""The QTI writer of each item type by code; a new type registers its writer here."""


def qti_writer(kind: ItemType) -> QtiWriter:
    try:
        return QTI_WRITERS[kind.code]
    except KeyError:
        raise ValueError(f"no QTI mapping for item type {kind.code}") from None


def _rubric(body: ET.Element) -> ET.Element:
    """A scorer-only rubric block; returns its ``qti-content-body``."""
    block = _sub(body, "qti-rubric-block", {"use": "scoring", "view": "scorer"})
    return _sub(block, "qti-content-body")


def _html_writer(image_src: Callable[[str], str]) -> Callable[..., ET.Element]:
    def write(parent: ET.Element, item_html: str,
              blank: Callable[[ET.Element], ET.Element] | None = None) -> ET.Element:
        return html_into(parent, item_html, image_src=image_src, blank=blank)

    return write


_CONTENT_HOLDERS = frozenset(q(t) for t in ("qti-simple-choice", "qti-content-body", "qti-prompt"))


def _indent(element: ET.Element, level: int = 0, *, structural: Callable[[str], bool]) -> None:
    """Pretty-print the structure but never touch mixed (XHTML) content, where whitespace shows."""
    if not len(element) or not structural(element.tag):
        return
    pad = "\n" + "  " * (level + 1)
    if not (element.text or "").strip():
        element.text = pad
    for child in element:
        _indent(child, level + 1, structural=structural)
        if not (child.tail or "").strip():
            child.tail = pad
    last = element[-1]
    if last.tail == pad:
        last.tail = "\n" + "  " * level


def _qti_structure(tag: str) -> bool:
    return tag.startswith("qti-") and tag not in _CONTENT_HOLDERS


def to_bytes(element: ET.Element) -> bytes:
    """Serialise with an XML declaration, indenting the structure (not the XHTML content)."""
    _indent(element, structural=_qti_structure if element.tag.startswith("qti-") else lambda _tag: True)
    body = ET.tostring(element, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


# ---------------------------------------------------------------- the package


def _image_ids(version: ItemVersion) -> set[int]:
    spec = version.spec
    fragments = [version.stem_html, version.explanation_html or "", spec.get("reference_answer", ""),
                 spec.get("analysis", ""), *(o.get("html", "") for o in spec.get("options", ())),
                 *(p.get("html", "") for p in spec.get("scoring_points", ()))]
    found: set[int] = set()
    for fragment in fragments:
        for src in re.findall(r"<img\b[^>]*\bsrc=\"([^\"]+)\"", fragment or ""):
            m = _IMAGE_SRC_RE.match(src)
            if m:
                found.add(int(m.group("id")))
    return found


def _image_name(image: ItemImage, ext: str) -> str:
    return f"{image.id}.{ext.lower()}"


def _manifest(identifier: str, resources: list[tuple[str, str, list[str], list[str]]]) -> ET.Element:
    """``resources``: (identifier, type, files, dependencies), the first file is the href."""
    root = ET.Element(_cp("manifest"), {
        "xmlns": CP_NS,
        "identifier": identifier,
        f"{{{XSI_NS}}}schemaLocation": f"{CP_NS} {CP_SCHEMA}",
    })
    metadata = ET.SubElement(root, _cp("metadata"))
    ET.SubElement(metadata, _cp("schema")).text = "QTI Package"
    ET.SubElement(metadata, _cp("schemaversion")).text = "3.0.0"
    ET.SubElement(root, _cp("organizations"))
    holder = ET.SubElement(root, _cp("resources"))
    for ident, kind, files, deps in resources:
        resource = ET.SubElement(holder, _cp("resource"), {"identifier": ident, "type": kind, "href": files[0]})
        for href in files:
            ET.SubElement(resource, _cp("file"), {"href": href})
        for dep in deps:
            ET.SubElement(resource, _cp("dependency"), {"identifierref": dep})
    return root


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def export_qti_bytes(session: Session, items: Iterable[Item]) -> bytes:
    """The items' current versions as a QTI 3.0 content package (zip bytes)."""
    chosen = [i for i in items if i.current_version is not None]
    wanted: set[int] = set()
    for item in chosen:
        assert item.current_version is not None
        wanted |= _image_ids(item.current_version)
    images = {img.id: img for img in session.scalars(select(ItemImage).where(ItemImage.id.in_(wanted)))} \
        if wanted else {}
    used_images: dict[int, str] = {}  # image id → path inside ITEM_DIR

    def image_src(src: str) -> str:
        m = _IMAGE_SRC_RE.match(src)
        if m and int(m.group("id")) in images:
            image = images[int(m.group("id"))]
            path = f"{IMAGE_DIR}/{_image_name(image, m.group('ext'))}"
            used_images[image.id] = path
            return path
        return src

    buffer = io.BytesIO()
    resources: list[tuple[str, str, list[str], list[str]]] = []
    identifiers: set[str] = set()
    digest = hashlib.sha256()
    with zipfile.ZipFile(buffer, "w") as archive:
        for item in chosen:
            assert item.current_version is not None
            identifier = item_identifier(item.code)
            if identifier in identifiers:
                identifier = f"{identifier}-{item.id}"
            identifiers.add(identifier)
            element = assessment_item(item, image_src=image_src, identifier=identifier)
            data = to_bytes(element)
            digest.update(data)
            path = f"{ITEM_DIR}/{identifier}.xml"
            _write(archive, path, data)
            deps = sorted(i for i in _image_ids(item.current_version) if i in used_images)
            resources.append((f"RES-{identifier}", ITEM_RESOURCE_TYPE, [path], [f"IMG-{i}" for i in deps]))
        for image_id, path in sorted(used_images.items()):
            full = f"{ITEM_DIR}/{path}"
            _write(archive, full, images[image_id].data)
            resources.append((f"IMG-{image_id}", IMAGE_RESOURCE_TYPE, [full], []))
        manifest = _manifest(f"MANIFEST-{digest.hexdigest()[:16]}", resources)
        _write(archive, MANIFEST, to_bytes(manifest))
    return buffer.getvalue()

