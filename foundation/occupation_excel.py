"""职业目录 Excel import/export: the .xlsx import template, import and export.

This module owns the catalogue's Excel layout (columns, level names, 是/否 flags) and its
all-or-nothing rule: an import file is checked completely first, and if any row is wrong every
problem is reported (:class:`~foundation.errors.RowErrors`) and nothing is written. The
catalogue itself (models, validation, services) lives in :mod:`foundation.occupations`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from foundation import audit
from foundation.errors import RowErrors, ValidationError
from foundation.levels import ALL_LEVELS, LEVEL_NAMES
from foundation.occupations import (
    MAX_NOTE,
    Occupation,
    WorkType,
    code_problem,
    find_by_code,
    insert_occupation,
    level_range_conflict,
    level_range_problem,
    name_problem,
    normalise_code,
    occupation_summary,
    work_type_problem,
)
from foundation.roles import Role, require_role
from foundation.xlsx import (
    add_list_validation,
    add_notes,
    append_row,
    header_and_rows,
    new_workbook,
    workbook_bytes,
    write_header,
)

if TYPE_CHECKING:
    from foundation.accounts import User


# ---------------------------------------------------------------- Excel import / export

COL_CODE = "职业编码"
COL_NAME = "职业名称"
COL_WORK_TYPE = "工种"
COL_LOWEST = "最低等级"
COL_HIGHEST = "最高等级"
COL_ACCESS = "准入类"
COL_NOTE = "备注"
COL_STATUS = "状态"
IMPORT_COLUMNS = (COL_CODE, COL_NAME, COL_WORK_TYPE, COL_LOWEST, COL_HIGHEST, COL_ACCESS, COL_NOTE)
# 准入类 is required so that a file without it can never silently turn an access-type
# occupation evaluable; 工种 and 备注 may be left out (import only ever adds 工种).
REQUIRED_COLUMNS = (COL_CODE, COL_NAME, COL_LOWEST, COL_HIGHEST, COL_ACCESS)
MAX_IMPORT_ROWS = 5000
SHEET_NAME = "职业目录"


def _level_aliases() -> dict[str, int]:
    aliases: dict[str, int] = {}
    for level, label in LEVEL_NAMES.items():
        grade, title = label.split("/")
        for alias in (str(level), f"{level}级", label, grade, title, title.removesuffix("工")):
            aliases.setdefault(alias, level)
    return aliases


LEVEL_ALIASES = _level_aliases()
_YES = {"是", "y", "yes", "true", "1", "√", "准入类"}
_NO = {"否", "n", "no", "false", "0", "×", "x"}


def parse_level(text: str) -> int | None:
    """1–5 or a display name such as 「五级/初级工」, 「五级」 or 「初级工」."""
    cleaned = text.strip().replace("／", "/").replace(" ", "")
    return LEVEL_ALIASES.get(cleaned)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _header_key(value: Any) -> str:
    # Tolerate 「*职业编码」 and 「职业编码（必填）」 style headers.
    text = re.sub(r"[（(].*?[）)]", "", _cell_text(value))
    return text.replace("*", "").replace(" ", "").strip()


@dataclasses.dataclass(frozen=True)
class ImportResult:
    """What an import did; the counts are per occupation (职业), not per row."""

    created: int
    updated: int
    unchanged: int
    rows: int

    @property
    def message(self) -> str:
        return (
            f"导入完成：共 {self.rows} 行数据，新增职业 {self.created} 个，更新 {self.updated} 个，"
            f"无变化 {self.unchanged} 个。"
        )


@dataclasses.dataclass
class _Group:
    """All rows of one 职业编码 in the file."""

    row: int
    code: str
    name: str
    lowest: int
    highest: int
    is_access_type: bool
    note: str | None
    work_types: list[str] = dataclasses.field(default_factory=list)


def _read_rows(file_bytes: bytes) -> tuple[list[str], list[tuple[int, tuple[Any, ...]]]]:
    """The header row and the non-empty data rows (with their Excel row numbers)."""
    header, rows = header_and_rows(
        file_bytes, sheet_name=SHEET_NAME, header_key=_header_key,
        is_blank=lambda v: _cell_text(v) == "", max_rows=MAX_IMPORT_ROWS,
        too_many=f"一次最多导入 {MAX_IMPORT_ROWS} 行，请拆分文件后分批导入。",
    )
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ValidationError(
            f"缺少必需的列：{'、'.join(missing)}。第一行应为表头：{'、'.join(IMPORT_COLUMNS)}。"
        )
    if not rows:
        raise ValidationError("文件中只有表头，没有数据行。")
    return header, rows


def _parse_groups(
    session: Session, header: list[str], rows: list[tuple[int, tuple[Any, ...]]]
) -> tuple[list[_Group], list[tuple[int, str, str]]]:
    index = {name: header.index(name) for name in IMPORT_COLUMNS if name in header}
    errors: list[tuple[int, str, str]] = []
    groups: dict[str, _Group] = {}
    seen_work_types: dict[tuple[str, str], int] = {}

    def cell(values: tuple[Any, ...], column: str) -> str:
        i = index.get(column)
        return _cell_text(values[i]) if i is not None and i < len(values) else ""

    for number, values in rows:
        row_errors: list[tuple[int, str, str]] = []
        code = normalise_code(cell(values, COL_CODE))
        problem = code_problem(code)
        if problem:
            row_errors.append((number, COL_CODE, problem))
        name = cell(values, COL_NAME)
        problem = name_problem(name)
        if problem:
            row_errors.append((number, COL_NAME, problem))
        levels: dict[str, int | None] = {}
        for column in (COL_LOWEST, COL_HIGHEST):
            text = cell(values, column)
            levels[column] = parse_level(text) if text else None
            if not text:
                row_errors.append((number, column, f"请填写{column}（1–5 或「五级/初级工」等名称）。"))
            elif levels[column] is None:
                row_errors.append(
                    (number, column, f"无法识别的等级「{text}」，请填写 1–5 或「五级/初级工」等名称。")
                )
        lowest, highest = levels[COL_LOWEST], levels[COL_HIGHEST]
        if lowest is not None and highest is not None:
            problem = level_range_problem(lowest, highest)
            if problem:
                row_errors.append((number, COL_HIGHEST, problem))
        flag_text = cell(values, COL_ACCESS)
        flag: bool | None = None
        if flag_text.lower() in _YES:
            flag = True
        elif flag_text.lower() in _NO:
            flag = False
        else:
            row_errors.append((number, COL_ACCESS, f"准入类应填写「是」或「否」，当前为「{flag_text}」。"
                               if flag_text else "请填写准入类：「是」或「否」。"))
        work_type = cell(values, COL_WORK_TYPE)
        if work_type:
            problem = work_type_problem(work_type)
            if problem:
                row_errors.append((number, COL_WORK_TYPE, problem))
        note = cell(values, COL_NOTE) or None
        if note and len(note) > MAX_NOTE:
            row_errors.append((number, COL_NOTE, f"备注不能超过 {MAX_NOTE} 个字。"))
        if row_errors:
            errors.extend(row_errors)
            continue
        assert lowest is not None and highest is not None and flag is not None
        group = groups.get(code)
        if group is None:
            group = groups[code] = _Group(number, code, name, lowest, highest, flag, note)
        else:
            # Several rows of one code only add 工种; everything else must say the same thing.
            for column, mine, theirs in (
                (COL_NAME, name, group.name),
                (COL_LOWEST, lowest, group.lowest),
                (COL_HIGHEST, highest, group.highest),
                (COL_ACCESS, flag, group.is_access_type),
            ):
                if mine != theirs:
                    errors.append((number, column, f"与第 {group.row} 行（同一职业编码）的{column}不一致。"))
            if note and group.note and note != group.note:
                errors.append((number, COL_NOTE, f"与第 {group.row} 行（同一职业编码）的备注不一致。"))
            group.note = group.note or note
        if work_type:
            first = seen_work_types.get((code, work_type))
            if first is not None:
                errors.append((number, COL_WORK_TYPE, f"工种「{work_type}」与第 {first} 行重复。"))
            else:
                seen_work_types[(code, work_type)] = number
                group.work_types.append(work_type)

    # Checks against what is already stored: narrowing a range must not strand scopes.
    for group in groups.values():
        existing = find_by_code(session, group.code)
        if existing is None:
            continue
        conflict = level_range_conflict(session, existing, group.lowest, group.highest)
        if conflict:
            errors.append((group.row, COL_LOWEST, conflict))
    errors.sort(key=lambda e: e[0])
    return list(groups.values()), errors


def import_occupations(session: Session, actor: User, file_bytes: bytes) -> ImportResult:
    """Import the catalogue from an .xlsx file, all or nothing.

    One row per (occupation, optional 工种). Existing occupations (matched by 职业编码) are
    updated and gain the new 工种 (none is removed); new codes are created. If any row is
    wrong, :class:`RowErrors` lists every problem and nothing is written.
    """
    require_role(actor, Role.CENTRE_ADMIN)
    header, rows = _read_rows(file_bytes)
    groups, errors = _parse_groups(session, header, rows)
    if errors:
        raise RowErrors(errors)
    has_note = COL_NOTE in header
    created = updated = unchanged = 0
    for group in groups:
        existing = find_by_code(session, group.code)
        if existing is None:
            insert_occupation(
                session, actor, "occupation.import", code=group.code, name=group.name,
                lowest_level=group.lowest, highest_level=group.highest, is_access_type=group.is_access_type,
                work_types=group.work_types, note=group.note, extra={"row": group.row},
            )
            created += 1
            continue
        before = occupation_summary(existing)
        existing.name = group.name
        existing.lowest_level = group.lowest
        existing.highest_level = group.highest
        existing.is_access_type = group.is_access_type
        if has_note and group.note:
            existing.note = group.note
        present = {w.name for w in existing.work_types}
        existing.work_types.extend(WorkType(name=n) for n in group.work_types if n not in present)
        session.flush()
        after = occupation_summary(existing)
        if after == before:
            unchanged += 1
            continue
        updated += 1
        audit.record(session, actor, "occupation.import", "occupation", existing.id, before=before,
                     after={**after, "row": group.row})
    return ImportResult(created=created, updated=updated, unchanged=unchanged, rows=len(rows))


_WIDTHS = {COL_CODE: 14, COL_NAME: 22, COL_WORK_TYPE: 22, COL_LOWEST: 16, COL_HIGHEST: 16, COL_ACCESS: 10,
           COL_NOTE: 40, COL_STATUS: 10}


def import_template_bytes() -> bytes:
    """The import template: header row, example rows, drop-downs and a 说明 (instructions) sheet."""
    workbook, sheet = new_workbook(SHEET_NAME)
    write_header(sheet, IMPORT_COLUMNS, _WIDTHS)
    append_row(sheet, ["6-18-01-01", "车工", "普通车工", LEVEL_NAMES[5], LEVEL_NAMES[1], "否", ""])
    append_row(sheet, ["6-18-01-01", "车工", "数控车工", LEVEL_NAMES[5], LEVEL_NAMES[1], "否", ""])
    add_list_validation(sheet, [LEVEL_NAMES[lv] for lv in ALL_LEVELS], f"D2:E{MAX_IMPORT_ROWS + 1}")
    add_list_validation(sheet, ("是", "否"), f"F2:F{MAX_IMPORT_ROWS + 1}")

    add_notes(workbook, (
        ("列名", "填写说明"),
        (COL_CODE, "必填。《职业分类大典（2015年版）》编码，格式「大类-中类-小类-细类」，如 6-31-01-03。"),
        (COL_NAME, "必填。职业名称，如「电工」。"),
        (COL_WORK_TYPE, "选填。一行填写一个工种；同一职业有多个工种时，每个工种占一行，其他列重复填写。"),
        (COL_LOWEST, "必填。填 1–5（5 为五级/初级工，1 为一级/高级技师），或「五级/初级工」等名称。"),
        (COL_HIGHEST, "必填。写法同最低等级；最高等级的数字不能大于最低等级，如 5 至 1、5 至 3。"),
        (COL_ACCESS, "必填。「是」表示准入类职业资格：列入目录，但平台不开展技能等级认定；否则填「否」。"),
        (COL_NOTE, "选填。"),
        ("", ""),
        ("导入规则", "按职业编码匹配：已有职业被更新，新编码被新增；已有工种保留，文件中的新工种被追加。"),
        ("", "同一职业编码的多行，其职业名称、等级和准入类必须一致。"),
        ("", "任何一行有错误时，整份文件都不会导入，页面会列出所有错误的行号、列名和原因。"),
    ))
    return workbook_bytes(workbook)


def export_occupations_bytes(session: Session, occupations: Iterable[Occupation]) -> bytes:
    """The given occupations as an .xlsx in the import layout (one row per 工种), so an export
    can be edited and imported again."""
    workbook, sheet = new_workbook(SHEET_NAME)
    write_header(sheet, (*IMPORT_COLUMNS, COL_STATUS), _WIDTHS)
    for occupation in occupations:
        base = [occupation.code, occupation.name]
        tail = [
            LEVEL_NAMES[occupation.lowest_level],
            LEVEL_NAMES[occupation.highest_level],
            "是" if occupation.is_access_type else "否",
            occupation.note or "",
            "启用" if occupation.active else "停用",
        ]
        for name in [w.name for w in occupation.work_types] or [""]:
            append_row(sheet, [*base, name, *tail])
    return workbook_bytes(workbook)

