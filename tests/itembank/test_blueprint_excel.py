"""细目表 Excel: template, reading, the all-or-nothing import with Excel row numbers, export."""

from __future__ import annotations

import io

import openpyxl
import pytest

from foundation.errors import RowErrors
from foundation.roles import Role
from itembank.blueprint_excel import (
    blueprint_template_bytes,
    export_blueprint_bytes,
    import_blueprint,
    read_blueprint_xlsx,
    to_excel_rows,
)
from itembank.blueprints import NodeSpec, create_blueprint, node_specs, structure_errors
from tests.factories import assign, blueprint_specs, make_blueprint, make_occupation, make_user
from tests.itembank.blueprint_sheets import spec_rows, xlsx


def errors_of(excinfo: pytest.ExceptionInfo[RowErrors]) -> list[tuple[int, str, str]]:
    return excinfo.value.errors


@pytest.fixture
def editor(session):
    return make_user(session, Role.ITEM_REVIEWER)


@pytest.fixture
def empty_blueprint(session, editor):
    occupation = make_occupation(session)
    assign(session, editor, occupation.id)  # a reviewer edits the blueprints of their occupations
    return create_blueprint(session, editor, occupation_id=occupation.id, work_type_id=None, level=4, mode="theory")


def test_template_has_header_valid_examples_and_rules():
    data = blueprint_template_bytes()
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook["细目表"]
    assert [c.value for c in sheet[1]] == ["编码", "名称", "重要程度", "鉴定比重(%)"]
    nodes = read_blueprint_xlsx(data)
    codes = [n.code for n in nodes]
    assert "A" in codes and "A-A" in codes and "B-A-A" in codes and "B-A-A-001" in codes
    assert {n.importance for n in nodes if n.code.count("-") and n.code[-1].isdigit()} <= {"X", "Y", "Z"}
    assert structure_errors(nodes) == []  # the examples themselves import cleanly
    notes = " ".join(str(c.value or "") for row in workbook["说明"].iter_rows() for c in row)
    for fragment in ("A-B-C", "A-B-C-001", "X 为核心要素", "Z 为辅助要素", "100", "合计必须等于"):
        assert fragment in notes


@pytest.mark.slow
def test_export_reimports_unchanged(session, editor, empty_blueprint):
    source = make_blueprint(session, ranges=4, points_per_range=4)
    data = export_blueprint_bytes(source)
    assert read_blueprint_xlsx(data) == node_specs(source)
    import_blueprint(session, editor, empty_blueprint.id, data)
    session.refresh(empty_blueprint)
    assert node_specs(empty_blueprint) == node_specs(source)
    # and once more: exporting the imported copy gives the same rows again
    assert read_blueprint_xlsx(export_blueprint_bytes(empty_blueprint)) == node_specs(source)


def test_fractional_weights_and_aliases_are_read():
    data = xlsx([
        ["a", "范围A", "", "62.5%"],
        ["A－001", "点一", "核心要素", 62.5],
        ["B", "范围B", None, "37.5"],
        ["B-001", "点二", "y", None],
    ])
    nodes = read_blueprint_xlsx(data)
    assert nodes == [
        NodeSpec("A", "范围A", None, 62.5),
        NodeSpec("A-001", "点一", "X", 62.5),
        NodeSpec("B", "范围B", None, 37.5),
        NodeSpec("B-001", "点二", "Y", 0.0),
    ]


def test_one_bad_row_names_the_excel_row_and_writes_nothing(session, editor):
    bp = make_blueprint(session)
    before = node_specs(bp)
    rows = spec_rows(blueprint_specs())
    rows[3][3] = "二十"  # Excel row 5 (header is row 1)
    with pytest.raises(RowErrors) as excinfo:
        import_blueprint(session, editor, bp.id, xlsx(rows))
    assert errors_of(excinfo) == [(5, "鉴定比重(%)", "鉴定比重应为数字（如 20 或 20%），当前为「二十」。")]
    session.expire_all()
    assert node_specs(bp) == before


def test_unknown_importance_is_a_row_error():
    rows = spec_rows(blueprint_specs())
    rows[2][2] = "W"
    with pytest.raises(RowErrors) as excinfo:
        read_blueprint_xlsx(xlsx(rows))
    assert [(r, c) for r, c, _ in errors_of(excinfo)] == [(4, "重要程度")]


def test_structure_errors_map_to_excel_rows(session, editor):
    bp = make_blueprint(session)
    assign(session, editor, bp.occupation_id)
    before = node_specs(bp)
    rows = spec_rows(blueprint_specs())  # 10 rows: Excel rows 2–11
    rows.append(["A-A-001", "重复的鉴定点", "X", 0])  # Excel row 12
    rows.append(["C-A-001", "没有上级", "X", 0])  # Excel row 13
    with pytest.raises(RowErrors) as excinfo:
        import_blueprint(session, editor, bp.id, xlsx(rows))
    found = {(row, column) for row, column, _ in errors_of(excinfo)}
    assert found == {(12, "编码"), (13, "编码")}
    assert any("与第 3 行重复" in m for _, _, m in errors_of(excinfo))  # the service's own position text
    session.expire_all()
    assert node_specs(bp) == before


def test_blank_rows_keep_excel_row_numbers(session, editor, empty_blueprint):
    rows: list[list[object]] = spec_rows(blueprint_specs())
    rows.insert(2, [None, None, None, None])  # Excel row 4 left blank
    rows[4][3] = 7  # now Excel row 6: A-A-002 weighted while its siblings are 0
    with pytest.raises(RowErrors) as excinfo:
        import_blueprint(session, editor, empty_blueprint.id, xlsx(rows))
    assert [(r, c) for r, c, _ in errors_of(excinfo)] == [(3, "鉴定比重(%)")]  # A-A, the parent, on row 3
    rows[4][3] = 0
    report = import_blueprint(session, editor, empty_blueprint.id, xlsx(rows))
    assert report.point_count == 6


def test_weight_sum_error_is_for_the_whole_tree(session, editor, empty_blueprint):
    rows = spec_rows(blueprint_specs())
    rows[0][3] = 40
    rows[1][3] = 40  # A and A-A agree, but the top level now sums to 90
    with pytest.raises(RowErrors) as excinfo:
        import_blueprint(session, editor, empty_blueprint.id, xlsx(rows))
    assert errors_of(excinfo) == [(0, "鉴定比重(%)", "第一级鉴定范围的比重合计为 90%，应为 100%。")]


def test_to_excel_rows_without_row_list_adds_the_header():
    assert to_excel_rows([(1, "编码", "x"), (0, "比重", "y")]) == [(2, "编码", "x"), (0, "鉴定比重(%)", "y")]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "空的"),
        (b"code,name\nA,x\n", ".xlsx"),
        (b"PK\x03\x04 not really a zip", "无法读取"),
        (xlsx([], header=[]), "没有任何内容"),
        (xlsx([["A", "范围A", "", 100]], header=["编码", "名称", "比重"]), "缺少必需的列：重要程度"),
        (xlsx([]), "只有表头"),
    ],
)
def test_file_level_problems_are_row_errors(data, fragment):
    with pytest.raises(RowErrors) as excinfo:
        read_blueprint_xlsx(data)
    assert any(fragment in message for _, _, message in errors_of(excinfo)), errors_of(excinfo)


def test_header_variants_and_other_sheet_names_are_accepted():
    rows = spec_rows(blueprint_specs())
    data = xlsx(rows, header=["*编码", "名称（必填）", "重要程度", "鉴定比重（%）"], sheet_title="Sheet1")
    assert read_blueprint_xlsx(data) == blueprint_specs()
