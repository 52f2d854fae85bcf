"""Spreadsheet bombs: every import refuses them with a clear message and writes nothing; the
guard's checks on their own; the parse happens in a limited child process."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from examroom import candidate_import
from examroom.models import BatchCandidate
from foundation import xlsx, xlsx_guard
from foundation.audit import AuditEntry
from foundation.errors import RowErrors, ValidationError
from foundation.occupation_excel import import_occupations
from foundation.occupations import Occupation
from foundation.roles import Role
from grading.psychometrics import responses
from grading.psychometrics.models import ResponseSet
from itembank import blueprint_excel, item_excel
from itembank.models import BlueprintNode, Item
from tests.examroom.worlds import World
from tests.factories import make_blueprint, make_user
from tests.foundation import xlsx_bombs

# ---------------------------------------------------------------- every import entry point


def _items(session: Any) -> tuple[Callable[[bytes], Any], Any]:
    writer, blueprint = make_user(session, Role.QUESTION_WRITER), make_blueprint(session)
    return (lambda data: item_excel.import_items(session, writer, blueprint, data)), Item


def _blueprint(session: Any) -> tuple[Callable[[bytes], Any], Any]:
    blueprint = make_blueprint(session)
    editor = make_user(session, Role.CENTRE_ADMIN)
    return (lambda data: blueprint_excel.import_blueprint(session, editor, blueprint.id, data)), BlueprintNode


def _candidates(session: Any) -> tuple[Callable[[bytes], Any], Any]:
    world = World(session)
    batch = world.batch()
    return (lambda data: candidate_import.import_candidates(session, world.admin, batch.id, data)), BatchCandidate


def _occupations(session: Any) -> tuple[Callable[[bytes], Any], Any]:
    centre = make_user(session, Role.CENTRE_ADMIN)
    return (lambda data: import_occupations(session, centre, data)), Occupation


def _responses(session: Any) -> tuple[Callable[[bytes], Any], Any]:
    blueprint = make_blueprint(session)
    analyst = make_user(session, Role.CENTRE_ADMIN)  # an analyst who reaches every blueprint
    return (lambda data: responses.import_response_set(session, analyst, blueprint.id, "作答", data)), ResponseSet


IMPORTERS = {"items": _items, "blueprint": _blueprint, "candidates": _candidates, "occupations": _occupations,
             "responses": _responses}


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    return {name: build() for name, (build, _) in xlsx_bombs.BOMBS.items()}


def _refusal(exc: ValidationError) -> str:
    if isinstance(exc, RowErrors):
        return " ".join(message for _, _, message in exc.errors)
    return exc.message


@pytest.mark.parametrize("bomb", list(xlsx_bombs.BOMBS))
@pytest.mark.parametrize("importer", list(IMPORTERS))
def test_every_import_refuses_every_bomb_and_writes_nothing(session, bombs, importer, bomb):
    run, model = IMPORTERS[importer](session)
    session.flush()
    before = (session.scalar(select(func.count()).select_from(model)),
              session.scalar(select(func.count(AuditEntry.id))))
    with pytest.raises(ValidationError) as refused:
        run(bombs[bomb])
    assert xlsx_bombs.BOMBS[bomb][1] in _refusal(refused.value)
    assert (session.scalar(select(func.count()).select_from(model)),
            session.scalar(select(func.count(AuditEntry.id)))) == before


# ---------------------------------------------------------------- the guard on its own


def _archive(data: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(data))


LIMITS = xlsx_guard.SheetLimits(max_rows=100, max_columns=20)


@pytest.mark.parametrize("column", [21, 27, 200, 703, 16_384])
@pytest.mark.parametrize("row", [1, 2, 50])
def test_any_cell_past_the_column_limit_is_refused(row, column):
    letters = xlsx_guard.column_letter(column).encode()

    def rows():
        for r in range(1, 60):
            cells = b'<c r="A%d"><v>1</v></c>' % r
            if r == row:
                cells += b'<c r="%s%d"><v>1</v></c>' % (letters, r)
            yield b'<row r="%d">%s</row>' % (r, cells)
    data = xlsx_bombs.rewrite(xlsx_bombs.base(), {xlsx_bombs.SHEET: xlsx_bombs._sheet(rows)})
    archive = _archive(data)
    with pytest.raises(ValidationError, match=f"用到了第 {letters.decode()} 列"):
        xlsx_guard.check_sheet(archive, xlsx_guard.sheet_part(archive, None), LIMITS)


@pytest.mark.parametrize("cells", [20, 21])
def test_cells_without_references_are_counted_as_openpyxl_counts_them(cells):
    def rows():
        yield b"<row>" + b"<c><v>1</v></c>" * cells + b"</row>"
    data = xlsx_bombs.rewrite(xlsx_bombs.base(), {xlsx_bombs.SHEET: xlsx_bombs._sheet(rows)})
    archive = _archive(data)
    if cells <= LIMITS.max_columns:
        extent = xlsx_guard.check_sheet(archive, xlsx_guard.sheet_part(archive, None), LIMITS)
        assert (extent.rows, extent.columns) == (1, cells)
    else:
        with pytest.raises(ValidationError, match="列数过多"):
            xlsx_guard.check_sheet(archive, xlsx_guard.sheet_part(archive, None), LIMITS)


@pytest.mark.parametrize("last_row", [100, 101])
def test_blank_rows_count_toward_the_row_limit(last_row):
    def rows():
        yield b'<row r="1"><c r="A1"><v>1</v></c></row>'
        yield b'<row r="%d"/>' % last_row
    data = xlsx_bombs.rewrite(xlsx_bombs.base(), {xlsx_bombs.SHEET: xlsx_bombs._sheet(rows)})
    archive = _archive(data)
    if last_row <= LIMITS.max_rows:
        assert xlsx_guard.check_sheet(archive, xlsx_guard.sheet_part(archive, None), LIMITS).rows == last_row
    else:
        with pytest.raises(ValidationError, match="空行也计算在内"):
            xlsx_guard.check_sheet(archive, xlsx_guard.sheet_part(archive, None), LIMITS)


def test_a_dtd_is_refused_before_any_entity_is_expanded():
    def rows():
        yield b""
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
              b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
              b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>')
    data = xlsx_bombs.rewrite(xlsx_bombs.base(), {xlsx_bombs.SHEET: lambda: [laughs]})
    with pytest.raises(ValidationError, match="无法读取该文件"):
        xlsx.read_sheet(data, sheet_name=None, max_rows=10, too_many="")


def test_the_named_sheet_is_the_one_scanned():
    workbook = openpyxl.Workbook()
    workbook.active.title = "说明"
    workbook.active.append(["x"])
    wide = workbook.create_sheet("试题")
    wide.cell(row=1, column=300, value="far")
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    assert xlsx.read_sheet(data, sheet_name="说明", max_rows=10, too_many="") == [(1, ("x",))]
    with pytest.raises(ValidationError, match="范围过大（KN1:KN1）"):
        xlsx.read_sheet(data, sheet_name="试题", max_rows=10, too_many="")


@pytest.mark.slow
def test_the_shared_strings_cap_holds_at_the_reported_size():
    """The report's bomb: a gigabyte of shared strings. Refused from the ZIP directory alone."""
    data = xlsx_bombs.huge_shared_string(megabytes=1024)
    with pytest.raises(ValidationError, match="文字内容过大"):
        xlsx_guard.check_archive(data)


# ---------------------------------------------------------------- the child process


def _workbook(rows: list[list[Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    for values in rows:
        workbook.active.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_cells_come_back_from_the_child_with_their_types():
    when = dt.datetime(2026, 12, 7, 8, 30)
    data = _workbook([["文字", 3, 2.5, True, when, dt.date(2026, 1, 2), dt.time(9, 15)], [], [None, "  "],
                      ["下一行", None]])
    rows = xlsx.read_sheet(data, sheet_name=None, max_rows=10, too_many="")
    assert rows[0] == (1, ("文字", 3, 2.5, True, when, dt.datetime(2026, 1, 2), dt.time(9, 15)))
    assert rows[1][0] == 4 and rows[1][1][0] == "下一行"  # blank rows skipped, Excel numbers kept
    assert len(rows) == 2


def test_too_many_non_blank_rows_use_the_importers_message():
    data = _workbook([[i] for i in range(12)])
    with pytest.raises(ValidationError, match="最多 10 行"):
        xlsx.read_sheet(data, sheet_name=None, max_rows=10, too_many="最多 10 行")


def _many_strings(megabytes: int) -> bytes:
    """Within every cap (random text barely compresses), but openpyxl holds all of it in memory."""
    import base64
    import random

    rng = random.Random(7)  # noqa: S311  (test data)

    def strings():
        yield (b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
               b'spreadsheetml/2006/main">')
        for _ in range(megabytes * 16):
            yield b"".join(b"<si><t>%s</t></si>" % base64.b64encode(rng.randbytes(48)) for _ in range(1000))
        yield b"</sst>"
    return xlsx_bombs.rewrite(_workbook([["x"]]), {xlsx_bombs.STRINGS: strings}, level=1)


@pytest.mark.slow
def test_a_child_over_its_memory_limit_is_a_clear_error(monkeypatch):
    data = _many_strings(24)
    xlsx_guard.check_archive(data)  # nothing the directory shows is wrong
    monkeypatch.setattr(xlsx, "CHILD_MEMORY_BYTES", 40 * 1024 * 1024)  # the parse needs about 60 MB
    with pytest.raises(ValidationError, match="文件过大或已损坏|内存超出限制"):
        xlsx.read_sheet(data, sheet_name=None, max_rows=10, too_many="")


def test_a_child_past_the_wall_clock_limit_is_killed(monkeypatch):
    monkeypatch.setattr(xlsx, "CHILD_WALL_SECONDS", 0.01)
    with pytest.raises(ValidationError, match="解析文件超时"):
        xlsx.read_sheet(_workbook([["x"]]), sheet_name=None, max_rows=10, too_many="")


def test_the_reader_is_the_only_one():
    """No import module loads workbooks itself: they all go through foundation.xlsx."""
    import inspect

    for module in (item_excel, blueprint_excel, candidate_import, responses):
        assert "load_workbook" not in inspect.getsource(module)
    from foundation import occupation_excel
    assert "load_workbook" not in inspect.getsource(occupation_excel)


@pytest.mark.parametrize(("text", "words"), [
    ("考生编号,IT1\n" + "\n" * (responses.MAX_EXAMINEES + 2000), "空行也计算在内"),
    ("考生编号" + ",x" * (responses.MAX_COLUMNS + 1) + "\n", "列数过多"),
])
def test_csv_response_files_have_the_same_bounds(session, text, words):
    run, model = _responses(session)
    with pytest.raises(ValidationError, match=words):
        run(text.encode())
    assert session.scalar(select(func.count()).select_from(model)) == 0


def test_an_entry_count_that_understates_the_directory_is_refused(monkeypatch):
    """zipfile lists by directory size, not by the end record's count: a forged small count
    over thousands of entries must not be listed in the server."""
    data = bytearray(xlsx_bombs.many_entries(5000))
    at = data.rfind(b"PK\x05\x06")
    data[at + 8 : at + 12] = (3).to_bytes(2, "little") * 2  # entries on this disk, entries in all

    def listed(*_: Any) -> None:
        raise AssertionError("the directory was listed")
    monkeypatch.setattr(xlsx_guard.zipfile, "ZipFile", listed)
    with pytest.raises(ValidationError, match="部件过多"):
        xlsx_guard.check_archive(bytes(data))


def test_a_normal_import_is_parsed_in_a_child_process(session, monkeypatch):
    import subprocess

    from tests.itembank.worlds import ALL_TYPES
    from tests.itembank.worlds import xlsx as item_xlsx

    spawned: list[list[str]] = []
    real = subprocess.Popen

    def popen(args, *rest, **kwargs):
        spawned.append(list(args))
        return real(args, *rest, **kwargs)
    monkeypatch.setattr(subprocess, "Popen", popen)
    run, model = _items(session)
    result = run(item_xlsx(ALL_TYPES))
    assert result.created == len(ALL_TYPES)
    assert [args[1:3] for args in spawned] == [["-m", "foundation.xlsx_child"]]
