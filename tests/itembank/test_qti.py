"""QTI 3.0 export: package structure, well-formed XML, interactions and correct responses per type."""

from __future__ import annotations

import hashlib
import io
import zipfile
from xml.etree import ElementTree as ET

import pytest

from foundation.roles import Role
from itembank import items as svc
from itembank import qti
from itembank.items import ItemContent
from itembank.models import ItemImage
from tests.factories import make_blueprint, make_user

NS = {"q": qti.QTI_NS, "cp": qti.CP_NS}
Q = f"{{{qti.QTI_NS}}}"


def parse(data: bytes) -> ET.Element:
    return ET.fromstring(data)  # noqa: S314 - our own output, parsed to check it


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture
def writer(session):
    return make_user(session, Role.QUESTION_WRITER)


@pytest.fixture
def point(session):
    return make_blueprint(session).points[0]


@pytest.fixture
def make(session, writer, point):
    def _make(code: str, item_type: str, stem: str, spec: dict, **content) -> object:
        return svc.create_item(session, writer, point_id=point.id, item_type=item_type, code=code,
                               content=ItemContent(stem_html=stem, spec=spec, **content))
    return _make


OPTIONS = ["甲", "乙", "丙", "丁"]


@pytest.fixture
def one_of_each(make):
    return [
        make("S-1", "single_choice", "<p>单选题干？</p>", {"options": OPTIONS, "key": "B"},
             explanation_html="<p>因为乙正确。</p>"),
        make("M-1", "multiple_choice", "多选题干？", {"options": [*OPTIONS, "戊"], "key": ["A", "C"]}),
        make("T-1", "true_false", "判断题干。", {"key": "×"}),
        make("F-1", "fill_in", '<p>电压是<span class="blank"></span>伏，频率是<span class="blank"></span>赫兹。</p>',
             {"blanks": [{"answers": ["220", "220V"]}, {"answers": ["50"]}]}),
        make("F-2", "fill_in", "欧姆定律的表达式是______。", {"blanks": [{"answers": ["I=U/R", "I = U / R"]}]}),
        make("E-1", "short_answer", "简述触电急救步骤。",
             {"reference_answer": "<p>脱离电源 &amp; 心肺复苏</p>",
              "scoring_points": [{"html": "脱离电源", "points": 2}, {"html": "心肺复苏", "points": 3}]}),
        make("E-2", "calculation", "求阻值。",
             {"reference_answer": "110 Ω", "scoring_points": [{"html": "结果", "points": 4}]}),
        make("E-3", "essay", "论述接地与接零。",
             {"reference_answer": "……", "scoring_points": [{"html": "论点", "points": 10}]}),
    ]


def item_docs(session, items) -> tuple[dict[str, bytes], dict[str, ET.Element]]:
    files = unzip(qti.export_qti_bytes(session, items))
    docs = {parse(data).get("label"): parse(data) for name, data in files.items() if name.startswith("items/")
            and name.endswith(".xml")}
    return files, docs


def declaration(doc: ET.Element, identifier: str = "RESPONSE") -> ET.Element:
    found = doc.find(f"q:qti-response-declaration[@identifier='{identifier}']", NS)
    assert found is not None
    return found


def correct_values(doc: ET.Element, identifier: str = "RESPONSE") -> list[str]:
    return [v.text for v in declaration(doc, identifier).findall("q:qti-correct-response/q:qti-value", NS)]


def template(doc: ET.Element) -> str | None:
    processing = doc.find("q:qti-response-processing", NS)
    return None if processing is None else processing.get("template")


def test_package_has_a_manifest_and_one_well_formed_item_per_item(session, one_of_each):
    files = unzip(qti.export_qti_bytes(session, one_of_each))
    manifest = parse(files["imsmanifest.xml"])
    assert manifest.tag == f"{{{qti.CP_NS}}}manifest"
    assert manifest.findtext("cp:metadata/cp:schemaversion", namespaces=NS) == "3.0.0"
    resources = manifest.findall("cp:resources/cp:resource", NS)
    assert len(resources) == len(one_of_each)
    for resource in resources:
        assert resource.get("type") == "imsqti_item_xmlv3p0"
        href = resource.get("href")
        assert href in files and resource.find("cp:file", NS).get("href") == href
        doc = parse(files[href])  # well formed
        assert doc.tag == f"{Q}qti-assessment-item"
        assert doc.get("time-dependent") == "false" and doc.get("adaptive") == "false"
        assert href == f"items/{doc.get('identifier')}.xml"
        assert doc.find("q:qti-item-body", NS) is not None
        assert files[href].startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert sorted(files) == sorted(["imsmanifest.xml", *(r.get("href") for r in resources)])
    # Deterministic: the same items give the same bytes.
    assert qti.export_qti_bytes(session, one_of_each) == qti.export_qti_bytes(session, one_of_each)


def test_choice_items_and_their_correct_responses(session, one_of_each):
    _, docs = item_docs(session, one_of_each)
    single = docs["S-1"]
    assert declaration(single).get("cardinality") == "single" and declaration(single).get("base-type") == "identifier"
    assert correct_values(single) == ["B"]
    interaction = single.find("q:qti-item-body/q:qti-choice-interaction", NS)
    assert interaction.get("max-choices") == "1" and interaction.get("response-identifier") == "RESPONSE"
    choices = interaction.findall("q:qti-simple-choice", NS)
    assert [c.get("identifier") for c in choices] == list("ABCD") and [c.text for c in choices] == OPTIONS
    assert template(single) == qti.MATCH_CORRECT
    outcomes = {o.get("identifier"): o for o in single.findall("q:qti-outcome-declaration", NS)}
    assert outcomes["SCORE"].get("base-type") == "float" and "MAXSCORE" in outcomes

    multiple = docs["M-1"]
    assert declaration(multiple).get("cardinality") == "multiple" and correct_values(multiple) == ["A", "C"]
    interaction = multiple.find("q:qti-item-body/q:qti-choice-interaction", NS)
    assert interaction.get("max-choices") == "0" and len(interaction.findall("q:qti-simple-choice", NS)) == 5
    assert template(multiple) == qti.MATCH_CORRECT

    tf = docs["T-1"]
    interaction = tf.find("q:qti-item-body/q:qti-choice-interaction", NS)
    assert interaction.get("max-choices") == "1"
    assert [c.get("identifier") for c in interaction.findall("q:qti-simple-choice", NS)] == ["TRUE", "FALSE"]
    assert correct_values(tf) == ["FALSE"] and template(tf) == qti.MATCH_CORRECT


def test_fill_in_items_use_text_entry_with_every_accepted_answer(session, one_of_each):
    _, docs = item_docs(session, one_of_each)
    two = docs["F-1"]
    body = two.find("q:qti-item-body", NS)
    entries = body.findall(".//q:qti-text-entry-interaction", NS)
    assert [e.get("response-identifier") for e in entries] == ["RESPONSE_1", "RESPONSE_2"]
    # The stem's blanks were replaced in place: the interactions sit inside the stem paragraph.
    assert body.find("q:div/q:p/q:qti-text-entry-interaction", NS) is not None
    assert body.find(".//q:span", NS) is None
    assert correct_values(two, "RESPONSE_1") == ["220"] and correct_values(two, "RESPONSE_2") == ["50"]
    keys = [e.get("map-key") for e in declaration(two, "RESPONSE_1").findall("q:qti-mapping/q:qti-map-entry", NS)]
    assert keys == ["220", "220V"] and declaration(two, "RESPONSE_1").get("base-type") == "string"
    processing = two.find("q:qti-response-processing", NS)
    assert processing.get("template") is None
    assert [m.get("identifier") for m in processing.iter(f"{Q}qti-map-response")] == ["RESPONSE_1", "RESPONSE_2"]

    one = docs["F-2"]
    entries = one.findall(".//q:qti-text-entry-interaction", NS)
    assert [e.get("response-identifier") for e in entries] == ["RESPONSE"]  # appended after the stem
    assert correct_values(one) == ["I=U/R"] and template(one) == qti.MAP_RESPONSE
    entries = declaration(one).findall("q:qti-mapping/q:qti-map-entry", NS)
    assert [e.get("map-key") for e in entries] == ["I=U/R", "I = U / R"]
    assert {e.get("case-sensitive") for e in entries} == {"false"}


def test_examiner_scored_items_use_extended_text_and_a_scorer_rubric(session, one_of_each):
    _, docs = item_docs(session, one_of_each)
    for code in ("E-1", "E-2", "E-3"):
        doc = docs[code]
        assert doc.find(".//q:qti-extended-text-interaction", NS).get("response-identifier") == "RESPONSE"
        assert declaration(doc).get("base-type") == "string" and correct_values(doc) == []
        assert doc.find("q:qti-response-processing", NS) is None
        score = doc.find("q:qti-outcome-declaration[@identifier='SCORE']", NS)
        assert score.get("external-scored") == "human"
    e1 = docs["E-1"]
    assert e1.find("q:qti-outcome-declaration[@identifier='SCORE']", NS).get("normal-maximum") == "5"
    rubric = e1.find("q:qti-item-body/q:qti-rubric-block", NS)
    assert rubric.get("view") == "scorer"
    text = "".join(rubric.itertext())
    assert "脱离电源 & 心肺复苏" in text and "心肺复苏（3分）" in text
    assert docs["E-3"].find(".//q:qti-extended-text-interaction", NS).get("expected-length") == "5000"


def test_analysis_is_only_in_the_scorer_rubric(session, one_of_each):
    _, docs = item_docs(session, one_of_each)
    body = docs["S-1"].find("q:qti-item-body", NS)
    rubric = body.find("q:qti-rubric-block", NS)
    assert rubric.get("view") == "scorer" and "因为乙正确" in "".join(rubric.itertext())
    visible = "".join(t for child in body if child is not rubric for t in child.itertext())
    assert "因为乙正确" not in visible


def test_item_html_becomes_well_formed_xml(session, make):
    stem = ('<p>第一行<br>第二行 &amp; <u>下划线</u> H<sub>2</sub>O \\(a<b\\)</p>'
            '<table><tr><td colspan="2">表格</td></tr></table><ul><li>条目</li></ul>')
    item = make("H-1", "single_choice", stem, {"options": ["<b>粗</b>", "x &lt; y", "丙", "丁"], "key": "A"})
    files, docs = item_docs(session, [item])
    raw = files["items/ITEM-H-1.xml"].decode()
    assert "<br />" in raw and "&amp;" in raw and "a&lt;b" in raw
    div = docs["H-1"].find("q:qti-item-body/q:div", NS)
    assert div.find("q:p/q:br", NS) is not None
    assert div.find("q:p/q:span", NS).get("class") == "qti-underline"
    assert div.find("q:p/q:sub", NS).text == "2"
    assert div.find("q:table/q:tbody/q:tr/q:td", NS).get("colspan") == "2"
    assert "\\(a<b\\)" in "".join(div.itertext())
    choices = docs["H-1"].findall(".//q:qti-simple-choice", NS)
    assert choices[0].find("q:b", NS).text == "粗" and choices[1].text == "x < y"


def test_images_are_packaged_as_dependencies(session, writer, make):
    png = b"\x89PNG\r\n\x1a\nfake"
    image = ItemImage(sha256=hashlib.sha256(png).hexdigest(), mime="image/png", width=1, height=1, size=len(png),
                      data=png, uploaded_by_id=writer.id)
    session.add(image)
    session.flush()
    item = make("I-1", "true_false", f'<p>看图判断：<img src="/itembank/images/{image.id}.png" alt="电路图"></p>',
                {"key": "√"})
    files, docs = item_docs(session, [item])
    path = f"items/images/{image.id}.png"
    assert files[path] == png
    img = docs["I-1"].find(".//q:img", NS)
    assert img.get("src") == f"images/{image.id}.png" and img.get("alt") == "电路图"
    manifest = parse(files["imsmanifest.xml"])
    item_res = manifest.find("cp:resources/cp:resource[@type='imsqti_item_xmlv3p0']", NS)
    image_res = manifest.find("cp:resources/cp:resource[@type='webcontent']", NS)
    assert image_res.get("href") == path
    assert item_res.find("cp:dependency", NS).get("identifierref") == image_res.get("identifier")


def test_identifiers_are_ncnames():
    assert qti.item_identifier("IT3F2A") == "ITEM-IT3F2A"
    assert qti.item_identifier("2024/电工 01") == "ITEM-2024____01"
