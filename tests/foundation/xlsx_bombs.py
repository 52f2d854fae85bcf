"""Hostile .xlsx files built in the tests (never stored): each one a small upload that asks a
naive reader for far more time or memory than its size suggests.

Each builder starts from a real openpyxl workbook and rewrites parts of the ZIP, so everything
but the hostile part is what Excel would accept.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable, Iterator

import openpyxl

SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"
_HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
         b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')


def base(sheet_title: str = "Sheet") -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = sheet_title
    sheet.append(["表头"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rewrite(data: bytes, parts: dict[str, Callable[[], Iterable[bytes]]], extra_entries: int = 0,
            level: int = 9) -> bytes:
    """``data`` with the named parts replaced (streamed, so a part may be far larger than memory
    would like) and ``extra_entries`` empty files added."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as target:
        names = [i.filename for i in source.infolist()]
        for name in names + [n for n in parts if n not in names]:
            if name in parts:
                with target.open(name, "w") as stream:
                    for chunk in parts[name]():
                        stream.write(chunk)
            else:
                target.writestr(name, source.read(name))
        for k in range(extra_entries):
            target.writestr(f"customXml/item{k}.xml", b"")
    return out.getvalue()


def _sheet(rows: Callable[[], Iterator[bytes]], dimension: bytes = b"") -> Callable[[], Iterator[bytes]]:
    def parts() -> Iterator[bytes]:
        yield _HEAD + dimension + b"<sheetData>"
        yield from rows()
        yield b"</sheetData></worksheet>"
    return parts


def _batched(lines: Iterator[bytes], size: int = 4096) -> Iterator[bytes]:
    batch: list[bytes] = []
    for line in lines:
        batch.append(line)
        if len(batch) == size:
            yield b"".join(batch)
            batch = []
    yield b"".join(batch)


def wide_rows(n: int = 20_000, sheet_title: str = "Sheet") -> bytes:
    """The reported bomb: ``n`` rows, each with a cell in XFD (column 16,384)."""
    def rows() -> Iterator[bytes]:
        yield b'<row r="1"><c r="A1" t="inlineStr"><is><t>header</t></is></c></row>'
        yield from _batched(b'<row r="%d"><c r="A%d" t="n"><v>1</v></c><c r="XFD%d" t="n"><v>1</v></c></row>'
                            % (i, i, i) for i in range(2, n + 2))
    return rewrite(base(sheet_title), {SHEET: _sheet(rows)})


def huge_shared_string(megabytes: int = 64, sheet_title: str = "Sheet") -> bytes:
    """One shared string of ``megabytes`` MB (deflate level 1 to build it fast: about 1:220;
    level 9 would make 1 GB a 1 MB file, as in the report, but takes half a minute)."""
    def strings() -> Iterator[bytes]:
        yield (b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
               b'spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>')
        block = b"A" * (1024 * 1024)
        for _ in range(megabytes):
            yield block
        yield b"</t></si></sst>"
    return rewrite(base(sheet_title), {STRINGS: strings}, level=1)


def many_entries(n: int = 5000, sheet_title: str = "Sheet") -> bytes:
    return rewrite(base(sheet_title), {}, extra_entries=n)


def blank_rows(n: int = 1_000_000, sheet_title: str = "Sheet") -> bytes:
    """A header and then ``n`` empty rows (each still a ``<row>`` element, as styling leaves)."""
    def rows() -> Iterator[bytes]:
        yield b'<row r="1"><c r="A1" t="inlineStr"><is><t>header</t></is></c></row>'
        yield from _batched(b'<row r="%d" spans="1:1"/>' % i for i in range(2, n + 2))
    return rewrite(base(sheet_title), {SHEET: _sheet(rows)})


def huge_dimension(sheet_title: str = "Sheet") -> bytes:
    """A small sheet whose declared ``<dimension>`` is the whole grid (A1:XFD1048576)."""
    def rows() -> Iterator[bytes]:
        yield b'<row r="1"><c r="A1" t="inlineStr"><is><t>header</t></is></c></row>'
    return rewrite(base(sheet_title), {SHEET: _sheet(rows, b'<dimension ref="A1:XFD1048576"/>')})


def compressed_bloat(megabytes: int = 8, sheet_title: str = "Sheet") -> bytes:
    """A sheet within every size cap whose XML is padded with whitespace (ratio ≫ 200)."""
    def rows() -> Iterator[bytes]:
        yield b'<row r="1"><c r="A1" t="inlineStr"><is><t>header</t></is></c></row>'
        for _ in range(megabytes):
            yield b" " * (1024 * 1024)
    return rewrite(base(sheet_title), {SHEET: _sheet(rows)})


# Each bomb with the words its refusal must contain.
BOMBS: dict[str, tuple[Callable[..., bytes], str]] = {
    "wide_row": (wide_rows, "列数过多"),
    "shared_string": (huge_shared_string, "文字内容过大"),
    "many_entries": (many_entries, "部件过多"),
    "blank_rows": (blank_rows, "行数过多"),
    "huge_dimension": (huge_dimension, "声明的范围过大"),
    "compression_ratio": (compressed_bloat, "压缩比异常"),
}
