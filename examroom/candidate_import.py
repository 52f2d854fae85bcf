"""考生名册 Excel import: the .xlsx template and the all-or-nothing import into a batch.

One row per candidate: 姓名, 身份证号, 性别, 手机号, 工作单位 and optionally 考生类别 and 评价方式
(认定考核, 考评结合 or 工作业绩评审; empty: 认定考核, or the registration's method unchanged). Every row
is checked before anything is written: the ID number's checksum (GB 11643), 性别 against the
ID number, the phone number, duplicates within the file and against the batch's list, a person
barred for the year by a tier-3 violation (:mod:`examroom.violations`), and an
existing account of the same ID number in the institution (reused when its name matches and it
is active) and the person of that ID number known from any institution (the names must match: a
new account links to that person, :mod:`foundation.people`). If any row is wrong,
:class:`~foundation.errors.RowErrors` lists every problem and
nothing is written. Otherwise new candidate accounts are created and everyone is put on the
list, each with a fresh admission ticket number for this batch (candidates log in with ticket
number plus ID number; :mod:`examroom.registration`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from examroom.batches import _editable_batch, add_candidates
from examroom.models import Batch
from examroom.violations import bar_message, barred
from foundation import audit
from foundation.accounts import CANDIDATE_CATEGORY_LABELS, CandidateCategory, User, create_user
from foundation.calendar import beijing_date
from foundation.db import utcnow
from foundation.errors import RowErrors, ValidationError
from foundation.idcard import id_number_problem, normalise_id_number
from foundation.names import name_problem
from foundation.people import IdType, Person
from foundation.roles import Role
from foundation.xlsx import (
    add_list_validation,
    add_notes,
    append_row,
    header_and_rows,
    new_cell,
    new_workbook,
    workbook_bytes,
    write_header,
)

COL_NAME = "姓名"
COL_ID = "身份证号"
COL_GENDER = "性别"
COL_PHONE = "手机号"
COL_UNIT = "工作单位"
COL_CATEGORY = "考生类别"
COL_METHOD = "评价方式"
IMPORT_COLUMNS = (COL_NAME, COL_ID, COL_GENDER, COL_PHONE, COL_UNIT, COL_CATEGORY, COL_METHOD)
REQUIRED_COLUMNS = (COL_NAME, COL_ID, COL_GENDER, COL_PHONE, COL_UNIT)
MAX_IMPORT_ROWS = 2000
SHEET_NAME = "考生名册"
MAX_NAME = 64
MAX_UNIT = 128
GENDERS = ("男", "女")
_CATEGORY_BY_LABEL = {label: cat.value for cat, label in CANDIDATE_CATEGORY_LABELS.items()}
_PHONE = re.compile(r"1\d{10}")
#: The evaluation methods a roster row may name (grading.results.decision.Method's labels; 竞赛选拔
#: is decided from competition results, not listed; tests/examroom/test_candidate_import.py
#: checks the two agree). Every stored scheme of these has components, so any of them may be set.
METHOD_LABELS = {"assessment": "认定考核", "combined": "考评结合", "performance": "工作业绩评审"}
_METHOD_BY_LABEL = {label: value for value, label in METHOD_LABELS.items()}


@dataclasses.dataclass(frozen=True)
class CandidateRow:
    """One checked row: who, and the existing account to reuse (None: create one)."""

    row: int
    name: str
    id_number: str
    phone: str
    work_unit: str
    category: str | None
    existing: User | None
    method: str | None = None


@dataclasses.dataclass(frozen=True)
class ImportResult:
    rows: int
    created: int
    reused: int
    tickets: tuple[str, ...]

    @property
    def message(self) -> str:
        return (f"导入完成：共 {self.rows} 名考生加入名册，其中新建考生账号 {self.created} 个，"
                f"沿用已有考生账号 {self.reused} 个。")


def gender_of(id_number: str) -> str:
    """男 or 女 from the 17th character of a valid 18-character ID number (odd: male)."""
    return "男" if int(id_number[16]) % 2 else "女"


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _header_key(value: Any) -> str:
    # Tolerate 「*姓名」 and 「身份证号（必填）」 style headers, and 身份证号码 / 手机号码 / 联系电话.
    text = re.sub(r"[（(].*?[）)]", "", _cell_text(value)).replace("*", "").replace(" ", "").strip()
    return {"身份证号码": COL_ID, "手机号码": COL_PHONE, "联系电话": COL_PHONE, "单位": COL_UNIT}.get(text, text)


# ---------------------------------------------------------------- checking


def check_row(
    values: dict[str, Any], *, existing: User | None, listed: dict[int, str]
) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """Check one candidate's fields; return (column, message) problems and the cleaned values.

    ``existing`` is the institution's candidate account with the same ID number, ``listed``
    maps the candidate ids already on the batch's list to their ticket numbers."""
    problems: list[tuple[str, str]] = []
    name = _cell_text(values.get(COL_NAME))
    if not name:
        problems.append((COL_NAME, "请填写姓名。"))
    elif len(name) > MAX_NAME:
        problems.append((COL_NAME, f"姓名不能超过 {MAX_NAME} 个字。"))
    elif problem := name_problem(name, "姓名"):
        problems.append((COL_NAME, problem))

    raw_id = values.get(COL_ID)
    id_number = normalise_id_number(_cell_text(raw_id))
    id_ok = False
    if isinstance(raw_id, (int, float)) and not isinstance(raw_id, bool):
        problems.append((COL_ID, "身份证号须以文本格式填写（数字格式会被 Excel 截断），请使用导入模板。"))
    elif not id_number:
        problems.append((COL_ID, "请填写身份证号。"))
    else:
        problem = id_number_problem(id_number)
        if problem:
            problems.append((COL_ID, problem))
        else:
            id_ok = True

    gender = _cell_text(values.get(COL_GENDER))
    if gender and gender not in GENDERS:
        problems.append((COL_GENDER, f"性别应填写「男」或「女」，当前为「{gender}」。"))
    elif gender and id_ok and gender != gender_of(id_number):
        problems.append((COL_GENDER, f"性别「{gender}」与身份证号不符（身份证号为{gender_of(id_number)}性）。"))

    phone = re.sub(r"[\s-]", "", _cell_text(values.get(COL_PHONE)))
    if not phone:
        problems.append((COL_PHONE, "请填写手机号。"))
    elif not _PHONE.fullmatch(phone):
        problems.append((COL_PHONE, f"手机号应为 11 位数字、以 1 开头，当前为「{phone}」。"))

    work_unit = _cell_text(values.get(COL_UNIT))
    if problem := name_problem(work_unit, "工作单位"):
        problems.append((COL_UNIT, problem))
    elif len(work_unit) > MAX_UNIT:
        problems.append((COL_UNIT, f"工作单位不能超过 {MAX_UNIT} 个字。"))

    category_text = _cell_text(values.get(COL_CATEGORY))
    category: str | None = None
    if category_text:
        category = _CATEGORY_BY_LABEL.get(category_text) or (
            category_text if category_text in {c.value for c in CandidateCategory} else None)
        if category is None:
            problems.append((COL_CATEGORY, f"无法识别的考生类别「{category_text}」，可填："
                             f"{'、'.join(CANDIDATE_CATEGORY_LABELS.values())}。"))

    method_text = _cell_text(values.get(COL_METHOD))
    method: str | None = None
    if method_text:
        method = _METHOD_BY_LABEL.get(method_text) or (method_text if method_text in METHOD_LABELS else None)
        if method is None:
            problems.append((COL_METHOD, f"无法识别的评价方式「{method_text}」，可填："
                             f"{'、'.join(METHOD_LABELS.values())}；留空为认定考核。"))

    if existing is not None:
        if existing.id in listed:
            problems.append((COL_ID, f"该考生已在本批次名册中（准考证号 {listed[existing.id]}）。"))
        elif name and existing.name != name:
            problems.append((COL_NAME, f"该身份证号已登记为本机构考生「{existing.name}」，与姓名「{name}」不一致。"))
        elif not existing.active:
            problems.append((COL_ID, f"考生「{existing.name}」的账号已停用，请先在账号管理中启用。"))
    cleaned = {"name": name, "id_number": id_number, "phone": phone, "work_unit": work_unit, "category": category,
               "method": method}
    return problems, cleaned


def _existing_accounts(session: Session, institution_id: int, id_numbers: Sequence[str]) -> dict[str, User]:
    if not id_numbers:
        return {}
    users = session.scalars(select(User).where(
        User.role == Role.CANDIDATE.value, User.institution_id == institution_id, User.id_number.in_(id_numbers),
    ))
    return {u.id_number: u for u in users if u.id_number}


def _people(session: Session, id_numbers: Sequence[str]) -> dict[str, Person]:
    """The people already known by these resident ID numbers (from any institution)."""
    if not id_numbers:
        return {}
    found = session.scalars(select(Person).where(
        Person.id_type == IdType.RESIDENT_ID.value, Person.id_number.in_(id_numbers)))
    return {p.id_number: p for p in found}


def _listed(batch: Batch) -> dict[int, str]:
    return {c.candidate_id: c.ticket_no for c in batch.candidates}


def check_rows(
    session: Session, batch: Batch, rows: Sequence[tuple[int, dict[str, Any]]]
) -> tuple[list[CandidateRow], list[tuple[int, str, str]]]:
    """Check every row against each other and the stored data; return the good rows and
    every (row, column, message) problem."""
    ids = [normalise_id_number(_cell_text(values.get(COL_ID))) for _, values in rows]
    existing = _existing_accounts(session, batch.institution_id, [i for i in ids if i])
    people = _people(session, [i for i in ids if i])
    listed = _listed(batch)
    known = [u.person_id for u in existing.values()] + [p.id for p in people.values()]
    bars = barred(session, known, beijing_date(utcnow()))
    errors: list[tuple[int, str, str]] = []
    good: list[CandidateRow] = []
    first_row: dict[str, int] = {}
    for number, values in rows:
        id_number = normalise_id_number(_cell_text(values.get(COL_ID)))
        account = existing.get(id_number)
        problems, cleaned = check_row(values, existing=account, listed=listed)
        person = people.get(id_number)
        if account is None and person is not None and cleaned["name"] and person.name != cleaned["name"]:
            problems.append((COL_NAME, f"该身份证号已登记为「{person.name}」，与姓名「{cleaned['name']}」不一致。"))
        person_id = account.person_id if account is not None else (person.id if person is not None else None)
        bar = bars.get(person_id) if person_id is not None else None
        if bar is not None:
            problems.append((COL_ID, bar_message(cleaned["name"] or (person.name if person else ""), bar)))
        if id_number and id_number in first_row:
            problems.append((COL_ID, f"与第 {first_row[id_number]} 行的身份证号重复。"))
        elif id_number:
            first_row[id_number] = number
        if problems:
            errors.extend((number, column, message) for column, message in problems)
            continue
        good.append(CandidateRow(row=number, existing=account, **cleaned))
    return good, errors


# ---------------------------------------------------------------- writing


def _write(session: Session, actor: User, batch: Batch, rows: Sequence[CandidateRow], *, source: str) -> ImportResult:
    new_rows = [r for r in rows if r.existing is None]
    accounts: list[User] = []
    for r in rows:
        user = r.existing
        if user is None:
            user = create_user(
                session, actor, role=Role.CANDIDATE, name=r.name, institution_id=batch.institution_id,
                id_number=r.id_number, candidate_category=r.category, phone=r.phone,
            )
        accounts.append(user)
    listed = add_candidates(session, actor, batch.id, [u.id for u in accounts])
    for entry, r in zip(listed, rows, strict=True):
        entry.work_unit = r.work_unit or None
        if r.category:
            entry.category = r.category
        if r.method:
            entry.method = r.method
    session.flush()
    result = ImportResult(rows=len(rows), created=len(new_rows), reused=len(rows) - len(new_rows),
                          tickets=tuple(entry.ticket_no for entry in listed))
    audit.record(session, actor, "batch.import_candidates", "batch", batch.id, after={
        "source": source, "rows": result.rows, "created": result.created, "reused": result.reused,
    })
    return result


def _read_rows(file_bytes: bytes) -> list[tuple[int, dict[str, Any]]]:
    header, rows = header_and_rows(
        file_bytes, sheet_name=SHEET_NAME, header_key=_header_key,
        is_blank=lambda v: _cell_text(v) == "", max_rows=MAX_IMPORT_ROWS,
        too_many=f"一次最多导入 {MAX_IMPORT_ROWS} 名考生，请拆分文件后分批导入。",
    )
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ValidationError(
            f"缺少必需的列：{'、'.join(missing)}。第一行应为表头：{'、'.join(IMPORT_COLUMNS)}。"
        )
    if not rows:
        raise ValidationError("文件中只有表头，没有考生数据。")
    index = {name: header.index(name) for name in IMPORT_COLUMNS if name in header}
    return [(number, {col: values[i] if i < len(values) else None for col, i in index.items()})
            for number, values in rows]


def import_candidates(session: Session, actor: User, batch_id: int, file_bytes: bytes) -> ImportResult:
    """Import the batch's candidate list from an .xlsx file, all or nothing."""
    batch = _editable_batch(session, actor, batch_id)
    rows = _read_rows(file_bytes)
    good, errors = check_rows(session, batch, rows)
    if errors:
        raise RowErrors(errors)
    return _write(session, actor, batch, good, source="xlsx")


def add_candidate(
    session: Session, actor: User, batch_id: int, *, name: str, id_number: str, gender: str = "", phone: str,
    work_unit: str = "", category: str = "",
) -> ImportResult:
    """Add one candidate from the page's form, with the same checks as one import row."""
    batch = _editable_batch(session, actor, batch_id)
    values = {COL_NAME: name, COL_ID: id_number, COL_GENDER: gender, COL_PHONE: phone, COL_UNIT: work_unit,
              COL_CATEGORY: CANDIDATE_CATEGORY_LABELS.get(CandidateCategory(category)) if category in
              {c.value for c in CandidateCategory} else category}
    good, errors = check_rows(session, batch, [(0, values)])
    if errors:
        _, column, message = errors[0]
        raise ValidationError(message, field={COL_NAME: "name", COL_ID: "id_number", COL_GENDER: "gender",
                                              COL_PHONE: "phone", COL_UNIT: "work_unit"}.get(column, "category"))
    return _write(session, actor, batch, good, source="form")


# ---------------------------------------------------------------- template

_WIDTHS = {COL_NAME: 12, COL_ID: 24, COL_GENDER: 8, COL_PHONE: 16, COL_UNIT: 32, COL_CATEGORY: 20, COL_METHOD: 16}


def import_template_bytes() -> bytes:
    """The import template: header, one example row, text-formatted ID and phone columns,
    drop-downs for 性别 and 考生类别, and a 说明 sheet."""
    workbook, sheet = new_workbook(SHEET_NAME)
    write_header(sheet, IMPORT_COLUMNS, _WIDTHS)
    example = ["张三", "220102199001010017", "男", "13800000000", "长春市某某机械有限公司",
               CANDIDATE_CATEGORY_LABELS[CandidateCategory.OWN_STAFF], METHOD_LABELS["assessment"]]
    for row in range(MAX_IMPORT_ROWS):  # 身份证号, 手机号 (B, D): text, so Excel keeps all 18 digits
        values = example if row == 0 else [None] * len(example)
        append_row(sheet, [new_cell(sheet, v, number_format="@") if col in (1, 3) else v
                           for col, v in enumerate(values)])
    add_list_validation(sheet, ("男", "女"), f"C2:C{MAX_IMPORT_ROWS + 1}")
    add_list_validation(sheet, list(CANDIDATE_CATEGORY_LABELS.values()), f"F2:F{MAX_IMPORT_ROWS + 1}")
    add_list_validation(sheet, list(METHOD_LABELS.values()), f"G2:G{MAX_IMPORT_ROWS + 1}")

    add_notes(workbook, (
        ("列名", "填写说明"),
        (COL_NAME, "必填。与身份证一致。"),
        (COL_ID, "必填。18 位居民身份证号码，以文本格式填写；系统校验出生日期和校验位。"),
        (COL_GENDER, "选填。「男」或「女」，须与身份证号一致。"),
        (COL_PHONE, "必填。11 位手机号码。"),
        (COL_UNIT, "选填。考生的工作单位。"),
        (COL_CATEGORY, "选填。" + "、".join(CANDIDATE_CATEGORY_LABELS.values()) + "；留空为社会人员。"),
        (COL_METHOD, "选填。" + "、".join(METHOD_LABELS.values()) + "；留空为认定考核。"
                     "导入后也可在批次的考生名册中修改（认定结论确认发布前）。"),
        ("", ""),
        ("导入规则", "本机构已有相同身份证号的考生账号时沿用该账号（姓名须一致），否则新建考生账号并分配准考证号。"),
        ("", "考生使用准考证号和身份证号码登录考试系统。"),
        ("", "文件中身份证号重复、或考生已在本批次名册中，均视为错误。"),
        ("", "任何一行有错误时，整份文件都不会导入，页面会列出所有错误的行号、列名和原因。"),
    ))
    return workbook_bytes(workbook)
