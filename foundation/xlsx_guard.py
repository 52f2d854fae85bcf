"""Checks on an uploaded .xlsx before openpyxl sees it: the defences against spreadsheet bombs.

An .xlsx is a ZIP of XML parts. A few hundred kilobytes can declare a gigabyte of shared
strings, or put one cell in column XFD on every row so that a reader pads each row to 16,384
cells, or hold a million empty rows. Everything here is pure (bytes in, a Chinese
:class:`~foundation.errors.ValidationError` out) and bounded by the archive's own caps:

* :func:`check_archive` reads only the ZIP directory: the entry count (from the end record,
  before any entry is listed), each entry's declared uncompressed size and compression ratio,
  the total, and the shared-strings part. ``zipfile`` (which openpyxl uses too) never inflates
  an entry beyond its declared size, so these declared sizes bound what any later reader sees.
* :func:`check_sheet` streams the one worksheet an import reads through expat and refuses a
  DTD (entity expansion), a declared ``<dimension>`` beyond the limits, any cell past the column
  limit and any row past the row limit. Blank rows count: the limit is on the sheet's extent,
  so a million empty rows are refused at the first row beyond it.

:mod:`foundation.xlsx` runs :func:`check_archive` in the serving process (it costs a directory
read) and both checks again in the parsing child (:mod:`foundation.xlsx_child`).
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
from dataclasses import dataclass
from xml.etree import ElementTree
from xml.parsers import expat

from foundation.errors import ValidationError

MAX_ENTRIES = 500  # a workbook has a dozen parts; a few hundred with many sheets and images
MAX_ENTRY_BYTES = 100 * 1024 * 1024  # one part, uncompressed
MAX_TOTAL_BYTES = 200 * 1024 * 1024  # all parts, uncompressed
MAX_SHARED_STRINGS_BYTES = 32 * 1024 * 1024  # openpyxl loads all shared strings into memory
MAX_RATIO = 200  # uncompressed / compressed, for parts over RATIO_FLOOR (XML compresses ~5–30×)
RATIO_FLOOR = 1024 * 1024
MAX_META_BYTES = 4 * 1024 * 1024  # workbook.xml and its relationships, read to find the sheet
_CHUNK = 64 * 1024
_DIRECTORY_BYTES_PER_ENTRY = 256  # a directory record: 46 bytes, the part name, rarely extras

NOT_XLSX = "无法读取该文件，请确认它是有效的 .xlsx 文件。"
_MB = 1024 * 1024


@dataclass(frozen=True)
class SheetLimits:
    """How far one import's worksheet may extend: rows (header and blank rows included) and
    columns (A = 1)."""

    max_rows: int
    max_columns: int


def column_letter(index: int) -> str:
    letters = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + (ord(ch) - 64)
    return index


def _entry_count(data: bytes) -> int:
    """The number of entries the end-of-central-directory record declares (no listing)."""
    tail = data[-(65536 + 22):]
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise ValidationError(NOT_XLSX)
    total, directory_size = struct.unpack("<HI", tail[at + 10 : at + 16])
    if total == 0xFFFF:  # ZIP64: no workbook needs it
        raise ValidationError(_too_many_entries(total))
    if directory_size > MAX_ENTRIES * _DIRECTORY_BYTES_PER_ENTRY:
        # zipfile lists entries until the directory's declared size is used up, whatever the
        # count says: a small count over a huge directory would still be listed in full.
        raise ValidationError(_too_many_entries(directory_size // 46))
    return int(total)


def _too_many_entries(count: int) -> str:
    return f"文件中的部件过多（{count} 个，最多 {MAX_ENTRIES} 个），不是正常的 Excel 文件，已拒绝。"


def check_archive(data: bytes) -> zipfile.ZipFile:
    """The opened archive once its directory is within the caps; a Chinese error otherwise."""
    if not data:
        raise ValidationError("上传的文件是空的。")
    if not data.startswith(b"PK\x03\x04"):
        raise ValidationError("只支持 Excel 2007 及以上的 .xlsx 文件，请使用导入模板填写后上传。")
    count = _entry_count(data)
    if count > MAX_ENTRIES:
        raise ValidationError(_too_many_entries(count))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise ValidationError(NOT_XLSX) from exc
    if len(infos) > MAX_ENTRIES:
        raise ValidationError(_too_many_entries(len(infos)))
    total = 0
    for info in infos:
        size = info.file_size
        total += size
        if info.filename.lower().endswith("sharedstrings.xml") and size > MAX_SHARED_STRINGS_BYTES:
            raise ValidationError(f"文件中的文字内容过大（解压后超过 {MAX_SHARED_STRINGS_BYTES // _MB} MB），"
                                  "请删除多余的内容或拆分文件后再上传。")
        if size > MAX_ENTRY_BYTES:
            raise ValidationError(f"文件解压后过大（其中 {info.filename} 超过 {MAX_ENTRY_BYTES // _MB} MB），"
                                  "请删除多余的内容或拆分文件后再上传。")
        ratio = size // max(info.compress_size, 1)
        if size > RATIO_FLOOR and ratio > MAX_RATIO:
            raise ValidationError(f"文件的压缩比异常（{info.filename} 压缩了 {ratio} 倍），"
                                  "可能是恶意构造的文件，已拒绝。")
    if total > MAX_TOTAL_BYTES:
        raise ValidationError(f"文件解压后总大小超过 {MAX_TOTAL_BYTES // _MB} MB，请拆分文件后再上传。")
    return archive


# ---------------------------------------------------------------- finding the worksheet

_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _small_xml(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    try:
        info = archive.getinfo(name)
    except KeyError as exc:
        raise ValidationError(NOT_XLSX) from exc
    if info.file_size > MAX_META_BYTES:
        raise ValidationError(NOT_XLSX)
    raw = archive.read(info)
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise ValidationError(NOT_XLSX)
    try:
        return ElementTree.fromstring(raw)  # noqa: S314  (size-capped, DTDs refused above)
    except ElementTree.ParseError as exc:
        raise ValidationError(NOT_XLSX) from exc


def sheet_part(archive: zipfile.ZipFile, sheet_name: str | None) -> str:
    """The ZIP name of the worksheet openpyxl would read: ``sheet_name`` if the workbook has it,
    else the first worksheet (as ``workbook.worksheets[0]``)."""
    workbook_name = "xl/workbook.xml"
    for rel in _small_xml(archive, "_rels/.rels"):
        if rel.get("Type", "").endswith("/officeDocument"):
            workbook_name = rel.get("Target", workbook_name).lstrip("/")
    base = posixpath.dirname(workbook_name)
    rels_name = posixpath.join(base, "_rels", posixpath.basename(workbook_name) + ".rels")
    targets: dict[str, tuple[str, str]] = {}
    for rel in _small_xml(archive, rels_name):
        target = rel.get("Target", "")
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
        targets[rel.get("Id", "")] = (rel.get("Type", ""), path)
    sheets: list[tuple[str, str]] = []
    for sheet in _small_xml(archive, workbook_name).iter(f"{_NS_MAIN}sheet"):
        kind, path = targets.get(sheet.get(f"{_NS_REL}id", ""), ("", ""))
        if kind.endswith("/worksheet"):
            sheets.append((sheet.get("name", ""), path))
    if not sheets:
        raise ValidationError("文件中没有工作表，请使用导入模板填写后上传。")
    for name, path in sheets:
        if name == sheet_name:
            return path
    return sheets[0][1]


# ---------------------------------------------------------------- scanning the worksheet

_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})")


class _Stop(Exception):  # noqa: N818  (control flow out of expat callbacks)
    def __init__(self, message: str) -> None:
        self.message = message


@dataclass
class SheetExtent:
    """What the scan found: the last row number and the widest column holding a cell."""

    rows: int = 0
    columns: int = 0


def _too_many_rows(limit: int) -> str:
    return f"工作表的行数过多（超过 {limit} 行，空行也计算在内），请删除多余的空行或拆分文件后再上传。"


def _too_many_columns(column: int, limit: int) -> str:
    return (f"工作表的列数过多（用到了第 {column_letter(column)} 列，最多 {limit} 列，即 A–{column_letter(limit)}），"
            "请删除多余的列后再上传。")


def check_sheet(archive: zipfile.ZipFile, part: str, limits: SheetLimits) -> SheetExtent:
    """Stream the worksheet's XML and refuse it at the first sign of a bomb (see the module doc)."""
    extent = SheetExtent()
    state = {"row": 0, "col": 0}
    parser = expat.ParserCreate()

    def refuse_dtd(*_: object) -> None:
        raise _Stop(NOT_XLSX)

    def start(name: str, attrs: dict[str, str]) -> None:
        local = name.rpartition(":")[2]
        if local == "c":
            ref = attrs.get("r")
            if ref:
                m = _REF.fullmatch(ref)
                if not m:
                    raise _Stop(NOT_XLSX)
                column = column_index(m.group(1).upper())
            else:
                column = state["col"] + 1
            state["col"] = column
            if column > limits.max_columns:
                raise _Stop(_too_many_columns(column, limits.max_columns))
            extent.columns = max(extent.columns, column)
        elif local == "row":
            ref = attrs.get("r")
            if ref:
                try:
                    number = int(float(ref))
                except ValueError as exc:
                    raise _Stop(NOT_XLSX) from exc
            else:
                number = state["row"] + 1
            state["row"], state["col"] = number, 0
            if number > limits.max_rows:
                raise _Stop(_too_many_rows(limits.max_rows))
            extent.rows = max(extent.rows, number)
        elif local == "dimension":
            ref = attrs.get("ref", "")
            corners = [_REF.fullmatch(p) for p in ref.split(":")] if ref else []
            if any(c is None for c in corners):
                return  # openpyxl ignores a dimension it cannot read; so does the scan
            rows = max((int(c.group(2)) for c in corners if c), default=0)
            columns = max((column_index(c.group(1).upper()) for c in corners if c), default=0)
            if rows > limits.max_rows or columns > limits.max_columns:
                raise _Stop(f"工作表声明的范围过大（{ref}），最多 {limits.max_rows} 行、"
                            f"{limits.max_columns} 列；请删除多余的行和列后再上传。")

    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    try:
        with archive.open(part) as stream:
            while chunk := stream.read(_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except _Stop as stop:
        raise ValidationError(stop.message) from None
    except (expat.ExpatError, zipfile.BadZipFile, KeyError, OSError, EOFError) as exc:
        raise ValidationError(NOT_XLSX) from exc
    return extent
