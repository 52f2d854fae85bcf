"""Adding an item type means writing one class and its adapters, registered beside the
built-in ones: a toy type defined here round-trips Excel export -> import, exports to QTI,
scores in a response file and renders in the editor, without editing any other module.
And no module outside the type registry and its adapter modules compares an item type's
code to a literal (source scan)."""

from __future__ import annotations

import ast
import io
import json
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np
import openpyxl
import pytest
from sqlalchemy import select

from foundation.errors import ValidationError
from foundation.roles import Role
from grading.psychometrics import responses as rsp
from itembank import item_excel as xl
from itembank import qti
from itembank.itemtypes import ITEM_TYPES, ItemType, register_type
from itembank.models import Item, ItemVersion
from tests.factories import assign, make_blueprint, make_user
from web.bank import item_forms

ROOT = Path(__file__).resolve().parents[2]
SIGNALS = ("红", "黄", "绿")


# ---------------------------------------------------------------- the toy type and its adapters


class Signal(ItemType):
    """信号题: pick one of 红/黄/绿. Spec ``{"key": "红"}``."""

    code = "toy_signal"
    label = "信号题"
    auto_scored = True
    choice_alphabet = SIGNALS

    def validate(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        if set(spec) - {"key"} or spec.get("key") not in SIGNALS:
            raise ValidationError("信号题的答案必须是红、黄或绿。", field="key")
        return {"key": spec["key"]}

    def score(self, spec: Mapping[str, Any], response: object, points: float) -> float | None:
        return float(points) if response == spec["key"] else 0.0

    def public_view(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {"type": self.code, "choices": list(SIGNALS)}

    def clean_response(self, spec: Mapping[str, Any], response: object) -> Any:
        if response in (None, ""):
            return None
        if response not in SIGNALS:
            raise ValidationError("只能回答红、黄或绿。", field="response")
        return response

    def key_labels(self, spec: Mapping[str, Any]) -> list[str]:
        return [str(spec["key"])]


class SignalExcel(xl.ExcelFormat):
    aliases = ("信号",)

    def parse_answer(self, kind: ItemType, answer: str, *, options: list[str], rule: dict[str, Any],
                     scoring: str) -> dict[str, Any]:
        return {"key": answer}

    def format_answer(self, kind: ItemType, spec: Mapping[str, Any]) -> str:
        return str(spec["key"])


def signal_qti(kind: ItemType, version: ItemVersion, root: ET.Element, html: qti.HtmlWriter
               ) -> tuple[qti.BodyPart, ET.Element | None]:
    return qti._choices(version, root, html, single=True, as_html=False,
                        choices=[(f"S{i}", s) for i, s in enumerate(SIGNALS)],
                        correct=[f"S{SIGNALS.index(version.spec['key'])}"])


class SignalFields(item_forms.FormFields):
    fieldsets = ("blanks",)  # the key is typed into the blanks box

    def spec(self, form: item_forms.ItemFields, *, public_only: bool) -> dict[str, Any]:
        return {} if public_only else {"key": (form.blanks.data or "").strip()}


@pytest.fixture
def signal(monkeypatch: pytest.MonkeyPatch) -> Iterator[ItemType]:
    kind = register_type(Signal())
    monkeypatch.setitem(xl.EXCEL_FORMATS, kind.code, SignalExcel())
    monkeypatch.setitem(qti.QTI_WRITERS, kind.code, signal_qti)
    monkeypatch.setitem(item_forms.FORM_FIELDS, kind.code, SignalFields())
    try:
        yield kind
    finally:
        del ITEM_TYPES[kind.code]


def signal_item(session, blueprint, key: str, code: str, status: str = "active") -> Item:
    writer = make_user(session, Role.QUESTION_WRITER)
    item = Item(code=code, point_id=blueprint.points[0].id, level=blueprint.level, item_type="toy_signal",
                status=status, author_id=writer.id)
    session.add(item)
    session.flush()
    version = ItemVersion(item_id=item.id, number=1, stem_html="<p>停车应看哪种信号灯？</p>",
                          spec_json=json.dumps({"key": key}, ensure_ascii=False), author_id=writer.id, frozen=True)
    session.add(version)
    session.flush()
    item.current_version_id = version.id
    session.flush()
    return item


def sheet_bytes(rows: list[list[Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------- the round trips


def test_a_registered_type_round_trips_excel(session, signal):
    blueprint = make_blueprint(session)
    writer = make_user(session, Role.QUESTION_WRITER)
    exported = xl.export_items_bytes([signal_item(session, blueprint, "红", "SIG-1", status="draft")])
    row = dict(zip(xl.EXPORT_COLUMNS, xl.item_row(session.scalars(select(Item)).one()), strict=True))
    assert (row["题型"], row["答案"], row["计分规则"]) == ("信号题", "红", "")

    wb = openpyxl.load_workbook(io.BytesIO(exported))
    sheet = wb[xl.SHEET_NAME]
    sheet.append(["", "信号", blueprint.points[0].code, "路口应看哪种信号灯？", *[""] * 6, "绿"])
    buffer = io.BytesIO()
    wb.save(buffer)
    result = xl.import_items(session, writer, blueprint, buffer.getvalue())
    assert (result.created, result.updated, result.unchanged) == (1, 0, 1)
    new = session.scalars(select(Item).where(Item.code != "SIG-1")).one()
    assert new.item_type == "toy_signal" and new.current_version.spec == {"key": "绿"}


def test_a_registered_type_exports_to_qti(session, signal):
    item = signal_item(session, make_blueprint(session), "黄", "SIG-2")
    with zipfile.ZipFile(io.BytesIO(qti.export_qti_bytes(session, [item]))) as archive:
        xml = archive.read(f"items/{qti.item_identifier(item.code)}.xml").decode()
    assert 'identifier="S0">红' in xml and "qti-choice-interaction" in xml
    assert "<qti-value>S1</qti-value>" in xml  # the key 黄


def test_a_registered_type_scores_and_codes_in_a_response_file(session, signal):
    blueprint = make_blueprint(session)
    item = signal_item(session, blueprint, "绿", "SIG-3")
    reviewer = make_user(session, Role.ITEM_REVIEWER)
    assign(session, reviewer, blueprint.occupation_id)
    data = sheet_bytes([["考生编号", item.code], ["K1", "绿"], ["K2", "红"], ["K3", 1]])
    arrays = rsp.import_response_set(session, reviewer, blueprint.id, "信号", data).arrays()
    np.testing.assert_array_equal(arrays["scores"][:, 0], [1, 0, 1])
    np.testing.assert_array_equal(arrays["choices"][:, 0], [2, 0, -1])
    assert [rsp.decode_choice("toy_signal", c) for c in (0, 1, 2, -1)] == ["红", "黄", "绿", None]


def test_a_registered_type_renders_and_saves_through_the_editor(client, session, login, signal):
    blueprint = make_blueprint(session)
    writer = make_user(session, Role.QUESTION_WRITER)
    login(writer)
    page = client.get("/itembank/items/new?type=toy_signal").get_data(as_text=True)
    assert 'value="toy_signal"' in page and "信号题" in page
    assert 'data-types="fill_in toy_signal"' in page  # the blanks fieldset, shown for the toy type
    resp = client.post("/itembank/items/new", data={
        "point_id": str(blueprint.points[0].id), "item_type": "toy_signal",
        "stem_html": "<p>停车应看哪种信号灯？</p>", "blanks": "红"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    item = session.scalars(select(Item).where(Item.item_type == "toy_signal")).one()
    assert item.current_version.spec == {"key": "红"}


# ---------------------------------------------------------------- no type branches elsewhere

# The registry itself, and the load-test client that answers from the public wire format as the
# candidate's browser does (it sees JSON, not the registry). Adapter modules key their registries
# by code (dict keys, not comparisons), so they need no exemption.
ALLOWED = {"itembank/itemtypes.py", "web/exam_sim.py"}
PACKAGES = ("foundation", "itembank", "examroom", "grading", "web")


def _type_codes() -> set[str]:
    return set(ITEM_TYPES)


def _is_literal_of(node: ast.AST, codes: set[str]) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in codes
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_is_literal_of(e, codes) for e in node.elts)
    return False


def literal_type_comparisons(source: str, codes: set[str]) -> list[int]:
    """Lines comparing anything to an item type code literal (==, !=, in, not in)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_is_literal_of(o, codes) for o in operands):
                lines.append(node.lineno)
    return lines


def test_the_scan_finds_type_branches():
    codes = _type_codes()
    found = literal_type_comparisons(
        'if t == "true_false": pass\nif kind.code in ("single_choice", "x"): pass\n'
        'if "essay" != t: pass\nif t == "other": pass\n', codes)
    assert found == [1, 2, 3]


def test_no_module_outside_the_registry_branches_on_a_type_code():
    codes = _type_codes()
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in ALLOWED:
                continue
            for line in literal_type_comparisons(path.read_text(encoding="utf-8"), codes):
                offenders.append(f"{rel}:{line}")
    assert offenders == []
