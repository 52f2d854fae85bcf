"""Competition recognition (竞赛选拔, issue 13 point 6): competitions, their results, the
recognition rules, and what the decision engine reads of them.

* **Competitions** are entered by the centre: name, class (:data:`COMPETITION_CLASSES`),
  organiser, occupation, dates, and whether the competition is filed (备案, with its filing
  number). Only a filed competition's results count; the engine says so for the others
  (``competition_not_filed``).
* **Results** are imported from Excel (the one reader, :func:`foundation.xlsx.header_and_rows`),
  all or nothing: every row is checked first (ID type and number, name against the person
  already known by that ID, at least one of rank / award / top percentage, contestant type,
  duplicates in the file and in the competition) and any problem refuses the whole file with a
  row-by-row Chinese report. Each row is a person (:func:`foundation.people.person_for`:
  created when new, so a later registration of that person finds the result).
* **Recognition rules** (认定规则) are a table the centre edits: class + one criterion (rank
  within, award, or within the top percentage) + contestant type (any) + current level (any)
  → conferred level.
* :func:`engine_inputs` gives the engine a person's competition results (of one occupation, up
  to a day) and every recognition rule. At most one promotion a year and the institution's scope
  are the engine's rules (``promotions``, ``scope``, ``current_level`` of the case): the days of
  the person's earlier competition promotions come from stored decisions and the scope from the
  registration's institution, not from here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation import audit
from foundation.accounts import User
from foundation.errors import NotFound, RowErrors, ValidationError
from foundation.levels import LEVEL_NAMES, level_name
from foundation.names import clean_name, name_problem
from foundation.occupations import Occupation, require_evaluable
from foundation.people import ID_TYPE_LABELS, IdType, Person, id_problem, normalise_number, person_for
from foundation.roles import Role, require_role
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
from grading.results.decision import CompetitionResult, RecognitionRule
from grading.results.models import (
    AWARDS,
    COMPETITION_CLASSES,
    CONTESTANT_TYPES,
    Competition,
    CompetitionEntry,
    CompetitionRule,
)

__all__ = [
    "AWARDS",
    "COMPETITION_CLASSES",
    "CONTESTANT_TYPES",
    "CompetitionInputs",
    "ImportResult",
    "add_rule",
    "create_competition",
    "delete_rule",
    "engine_inputs",
    "import_results",
    "import_template_bytes",
    "update_competition",
]

TENTH = Decimal("0.1")
MAX_IMPORT_ROWS = 5000
SHEET_NAME = "竞赛成绩"
COL_ID_TYPE = "证件类型"
COL_ID = "证件号码"
COL_NAME = "姓名"
COL_RANK = "名次"
COL_AWARD = "奖项"
COL_TOP = "排名前百分比"
COL_TYPE = "选手类型"
IMPORT_COLUMNS = (COL_ID_TYPE, COL_ID, COL_NAME, COL_RANK, COL_AWARD, COL_TOP, COL_TYPE)
REQUIRED_COLUMNS = (COL_ID, COL_NAME, COL_TYPE)
_ID_TYPE_BY_LABEL = {label: kind for kind, label in ID_TYPE_LABELS.items()}
CRITERIA = {"rank": "名次（前若干名）", "award": "奖项", "top_percent": "排名前百分比"}


# ---------------------------------------------------------------- competitions


@dataclasses.dataclass(frozen=True)
class CompetitionInput:
    name: str
    competition_class: str
    organiser: str
    occupation_id: int
    starts_on: dt.date
    ends_on: dt.date
    filed: bool = False
    filing_no: str = ""


def _name(value: object, label: str, field: str, max_len: int, *, required: bool = True) -> str:
    text = clean_name(value if isinstance(value, str) else "", label, field=field)
    if required and not text:
        raise ValidationError(f"请填写{label}。", field=field)
    if len(text) > max_len:
        raise ValidationError(f"{label}不能超过 {max_len} 个字。", field=field)
    return text


def _day(value: object, label: str, field: str) -> dt.date:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ValidationError(f"请填写{label}。", field=field)
    return value


def get_competition(session: Session, competition_id: int) -> Competition:
    row = session.get(Competition, competition_id)
    if row is None:
        raise NotFound("竞赛不存在。")
    return row


def _check_competition(session: Session, data: CompetitionInput, existing: Competition | None) -> dict[str, Any]:
    name = _name(data.name, "竞赛名称", "name", 128)
    clash = session.scalar(select(Competition).where(Competition.name == name))
    if clash is not None and clash is not existing:
        raise ValidationError(f"已有名为「{name}」的竞赛。", field="name")
    if data.competition_class not in COMPETITION_CLASSES:
        raise ValidationError("竞赛类别应为：" + "、".join(COMPETITION_CLASSES) + "。", field="competition_class")
    organiser = _name(data.organiser, "主办单位", "organiser", 128)
    occupation = session.get(Occupation, data.occupation_id) if isinstance(data.occupation_id, int) else None
    if occupation is None:
        raise ValidationError("请选择竞赛职业（工种）。", field="occupation_id")
    if existing is None or existing.occupation_id != occupation.id:
        require_evaluable(occupation)
    starts_on = _day(data.starts_on, "开始日期", "starts_on")
    ends_on = _day(data.ends_on, "结束日期", "ends_on")
    if ends_on < starts_on:
        raise ValidationError("结束日期不能早于开始日期。", field="ends_on")
    if not isinstance(data.filed, bool):
        raise ValidationError("请指明是否已备案。", field="filed")
    filing_no = _name(data.filing_no, "备案编号", "filing_no", 64, required=False)
    if data.filed and not filing_no:
        raise ValidationError("已备案的竞赛须填写备案编号。", field="filing_no")
    return {"name": name, "competition_class": data.competition_class, "organiser": organiser,
            "occupation_id": occupation.id, "starts_on": starts_on, "ends_on": ends_on, "filed": data.filed,
            "filing_no": filing_no}


def _audit_form(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in values.items()}


def create_competition(session: Session, actor: User, data: CompetitionInput) -> Competition:
    """File a competition in the register (centre only)."""
    require_role(actor, Role.CENTRE_ADMIN)
    values = _check_competition(session, data, None)
    row = Competition(created_by_id=actor.id, **values)
    session.add(row)
    session.flush()
    audit.record(session, actor, "competition.create", "competition", row.id, after=_audit_form(values))
    return row


def update_competition(session: Session, actor: User, competition_id: int, data: CompetitionInput) -> Competition:
    """Change a competition (centre only), e.g. mark it filed once its filing number is known."""
    require_role(actor, Role.CENTRE_ADMIN)
    row = get_competition(session, competition_id)
    values = _check_competition(session, data, row)
    before = _audit_form({k: getattr(row, k) for k in values})
    for key, value in values.items():
        setattr(row, key, value)
    session.flush()
    audit.record(session, actor, "competition.update", "competition", row.id, before=before,
                 after=_audit_form(values))
    return row


# ---------------------------------------------------------------- results import


@dataclasses.dataclass(frozen=True)
class ImportResult:
    rows: int
    new_people: int

    @property
    def message(self) -> str:
        return f"导入完成：共 {self.rows} 条竞赛成绩，其中新登记人员 {self.new_people} 名。"


@dataclasses.dataclass(frozen=True)
class _Row:
    row: int
    id_type: IdType
    id_number: str
    name: str
    rank: int | None
    award: str | None
    top_percent: Decimal | None
    contestant_type: str


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _header_key(value: Any) -> str:
    text = re.sub(r"[（(].*?[）)]", "", _text(value)).replace("*", "").replace(" ", "").strip()
    return {"身份证号": COL_ID, "身份证号码": COL_ID, "证件号": COL_ID, "排名": COL_RANK, "前百分比": COL_TOP,
            "选手类别": COL_TYPE, "参赛类别": COL_TYPE}.get(text, text)


def _rank(value: Any) -> tuple[int | None, str | None]:
    if value is None or _text(value) == "":
        return None, None
    if isinstance(value, bool):
        return None, "名次应为正整数。"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _text(value)
    text = re.sub(r"^第|名$", "", text)
    if not (text.isascii() and text.isdigit()) or len(text) > 6 or int(text) < 1:
        return None, f"名次应为正整数，当前为「{_text(value)}」。"
    return int(text), None


def _top(value: Any) -> tuple[Decimal | None, str | None]:
    if value is None or _text(value) == "":
        return None, None
    if isinstance(value, bool):
        return None, "排名前百分比应为 0 至 100 的数。"
    text = _text(value).removeprefix("前").removesuffix("%").removesuffix("％").strip()
    try:
        number = Decimal(text) if text.isascii() and len(text) <= 12 else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or not Decimal(0) < number <= Decimal(100):
        return None, f"排名前百分比应为大于 0、不超过 100 的数（如 10 表示前 10%），当前为「{_text(value)}」。"
    if number.quantize(TENTH) != number:
        return None, "排名前百分比最多保留一位小数。"
    return number.quantize(TENTH), None


def _check_rows(session: Session, competition: Competition, rows: Sequence[tuple[int, dict[str, Any]]]
                ) -> tuple[list[_Row], list[tuple[int, str, str]]]:
    errors: list[tuple[int, str, str]] = []
    good: list[_Row] = []
    seen: dict[tuple[str, str], int] = {}
    known_people: dict[tuple[str, str], Person] = {}
    keys: set[tuple[str, str]] = set()
    for _, values in rows:
        kind = _ID_TYPE_BY_LABEL.get(_text(values.get(COL_ID_TYPE)) or ID_TYPE_LABELS[IdType.RESIDENT_ID])
        if kind is not None:
            keys.add((kind.value, normalise_number(_text(values.get(COL_ID)))))
    numbers = {n for _, n in keys if n}
    if numbers:
        for person in session.scalars(select(Person).where(Person.id_number.in_(numbers))):
            known_people[(person.id_type, person.id_number)] = person
    entered = {e.person_id for e in session.scalars(
        select(CompetitionEntry).where(CompetitionEntry.competition_id == competition.id))}
    for number, values in rows:
        problems: list[tuple[str, str]] = []
        type_text = _text(values.get(COL_ID_TYPE)) or ID_TYPE_LABELS[IdType.RESIDENT_ID]
        kind = _ID_TYPE_BY_LABEL.get(type_text)
        if kind is None:
            choices = "、".join(ID_TYPE_LABELS.values())
            problems.append((COL_ID_TYPE, f"无法识别的证件类型「{type_text}」，可填：{choices}。"))
        raw_id = values.get(COL_ID)
        id_number = normalise_number(_text(raw_id))
        if isinstance(raw_id, (int, float)) and not isinstance(raw_id, bool) and kind is IdType.RESIDENT_ID:
            problems.append((COL_ID, "证件号码须以文本格式填写（数字格式会被 Excel 截断），请使用导入模板。"))
        elif kind is not None and (problem := id_problem(kind, id_number)):
            problems.append((COL_ID, problem))
        name = _text(values.get(COL_NAME))
        if not name:
            problems.append((COL_NAME, "请填写姓名。"))
        elif len(name) > 64:
            problems.append((COL_NAME, "姓名不能超过 64 个字。"))
        elif problem := name_problem(name, "姓名"):
            problems.append((COL_NAME, problem))
        rank, problem = _rank(values.get(COL_RANK))
        if problem:
            problems.append((COL_RANK, problem))
        award = _text(values.get(COL_AWARD)) or None
        if award is not None and award not in AWARDS:
            problems.append((COL_AWARD, f"无法识别的奖项「{award}」，可填：{'、'.join(AWARDS)}。"))
        top, problem = _top(values.get(COL_TOP))
        if problem:
            problems.append((COL_TOP, problem))
        if rank is None and award is None and top is None and not any(c in (COL_RANK, COL_AWARD, COL_TOP)
                                                                     for c, _ in problems):
            problems.append((COL_RANK, "名次、奖项、排名前百分比至少填写一项。"))
        contestant = _text(values.get(COL_TYPE))
        if contestant not in CONTESTANT_TYPES:
            problems.append((COL_TYPE, f"选手类型应为：{'、'.join(CONTESTANT_TYPES)}" +
                             (f"，当前为「{contestant}」。" if contestant else "。")))
        if kind is not None and id_number and not any(c == COL_ID for c, _ in problems):
            key = (kind.value, id_number)
            known = known_people.get(key)
            if key in seen:
                problems.append((COL_ID, f"与第 {seen[key]} 行的证件号码重复。"))
            else:
                seen[key] = number
            if known is not None and name and known.name != name:
                problems.append((COL_NAME, f"该证件号码已登记为「{known.name}」，与姓名「{name}」不一致。"))
            if known is not None and known.id in entered:
                problems.append((COL_ID, f"「{known.name}」在本竞赛已有成绩。"))
        if problems:
            errors.extend((number, column, message) for column, message in problems)
            continue
        assert kind is not None
        good.append(_Row(number, kind, id_number, name, rank, award, top, contestant))
    return good, errors


def _read_rows(data: bytes) -> list[tuple[int, dict[str, Any]]]:
    header, rows = header_and_rows(
        data, sheet_name=SHEET_NAME, header_key=_header_key, is_blank=lambda v: _text(v) == "",
        max_rows=MAX_IMPORT_ROWS, too_many=f"一次最多导入 {MAX_IMPORT_ROWS} 条竞赛成绩，请拆分文件后分批导入。",
    )
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ValidationError(f"缺少必需的列：{'、'.join(missing)}。第一行应为表头：{'、'.join(IMPORT_COLUMNS)}。")
    if not any(c in header for c in (COL_RANK, COL_AWARD, COL_TOP)):
        raise ValidationError(f"须有「{COL_RANK}」「{COL_AWARD}」「{COL_TOP}」中的至少一列。")
    if not rows:
        raise ValidationError("文件中只有表头，没有竞赛成绩。")
    index = {name: header.index(name) for name in IMPORT_COLUMNS if name in header}
    return [(number, {col: values[i] if i < len(values) else None for col, i in index.items()})
            for number, values in rows]


def import_results(session: Session, actor: User, competition_id: int, data: bytes) -> ImportResult:
    """Import a competition's results from an .xlsx file (centre only), all or nothing."""
    require_role(actor, Role.CENTRE_ADMIN)
    competition = get_competition(session, competition_id)
    rows = _read_rows(data)
    good, errors = _check_rows(session, competition, rows)
    if errors:
        raise RowErrors(errors)
    new_people = 0
    for r in good:
        known = session.scalar(select(Person.id).where(Person.id_type == r.id_type.value,
                                                        Person.id_number == r.id_number))
        person = person_for(session, actor, r.id_type, r.id_number, r.name)
        new_people += known is None
        session.add(CompetitionEntry(competition_id=competition.id, person_id=person.id, name=r.name, rank=r.rank,
                                     award=r.award, top_percent=r.top_percent, contestant_type=r.contestant_type))
    session.flush()
    result = ImportResult(rows=len(good), new_people=new_people)
    audit.record(session, actor, "competition.import", "competition", competition.id,
                 after={"rows": result.rows, "new_people": new_people})
    return result


_WIDTHS = {COL_ID_TYPE: 16, COL_ID: 24, COL_NAME: 12, COL_RANK: 8, COL_AWARD: 10, COL_TOP: 14, COL_TYPE: 10}


def import_template_bytes() -> bytes:
    """The results template: header, an example row, the ID column as text, drop-downs and a 说明 sheet."""
    workbook, sheet = new_workbook(SHEET_NAME)
    write_header(sheet, IMPORT_COLUMNS, _WIDTHS)
    example = [ID_TYPE_LABELS[IdType.RESIDENT_ID], "220102199001010017", "张三", 1, "金牌", None, "职工"]
    for row in range(MAX_IMPORT_ROWS):
        values = example if row == 0 else [None] * len(example)
        append_row(sheet, [new_cell(sheet, v, number_format="@") if col == 1 else v for col, v in enumerate(values)])
    last = MAX_IMPORT_ROWS + 1
    add_list_validation(sheet, list(ID_TYPE_LABELS.values()), f"A2:A{last}")
    add_list_validation(sheet, list(AWARDS), f"E2:E{last}")
    add_list_validation(sheet, list(CONTESTANT_TYPES), f"G2:G{last}")
    add_notes(workbook, (
        ("列名", "填写说明"),
        (COL_ID_TYPE, "选填，留空为居民身份证。可填：" + "、".join(ID_TYPE_LABELS.values()) + "。"),
        (COL_ID, "必填。以文本格式填写；居民身份证校验出生日期和校验位。"),
        (COL_NAME, "必填。与证件一致；该证件号码已登记的，姓名须一致。"),
        (COL_RANK, "名次、奖项、排名前百分比至少填写一项。名次为正整数。"),
        (COL_AWARD, "可填：" + "、".join(AWARDS) + "。"),
        (COL_TOP, "大于 0、不超过 100 的数，如 10 表示排名前 10%。"),
        (COL_TYPE, "必填。可填：" + "、".join(CONTESTANT_TYPES) + "。"),
        ("", ""),
        ("导入规则", "同一人在同一竞赛只能有一条成绩；文件内证件号码重复或已有成绩均视为错误。"),
        ("", "任何一行有错误时，整份文件都不会导入，页面会列出所有错误的行号、列名和原因。"),
        ("", "只有已备案竞赛的成绩可以用于等级认定。"),
    ))
    return workbook_bytes(workbook)


# ---------------------------------------------------------------- recognition rules


@dataclasses.dataclass(frozen=True)
class RuleInput:
    competition_class: str
    criterion: str  # "rank", "award" or "top_percent"
    value: str
    conferred_level: int
    contestant_type: str | None = None
    current_level: int | None = None


def _level(value: object, label: str, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value not in LEVEL_NAMES:
        raise ValidationError(f"请选择{label}。", field=field)
    return value


def check_rule(data: RuleInput) -> dict[str, Any]:
    """The columns of a recognition rule, or a ValidationError naming the field."""
    if data.competition_class not in COMPETITION_CLASSES:
        raise ValidationError("竞赛类别应为：" + "、".join(COMPETITION_CLASSES) + "。", field="competition_class")
    values: dict[str, Any] = {"competition_class": data.competition_class, "max_rank": None, "award": None,
                              "top_percent": None}
    text = (data.value or "").strip() if isinstance(data.value, str) else ""
    if data.criterion == "rank":
        rank, problem = _rank(text)
        if problem or rank is None:
            raise ValidationError("名次应为正整数（前若干名）。", field="value")
        values["max_rank"] = rank
    elif data.criterion == "award":
        if text not in AWARDS:
            raise ValidationError("奖项应为：" + "、".join(AWARDS) + "。", field="value")
        values["award"] = text
    elif data.criterion == "top_percent":
        top, problem = _top(text)
        if problem or top is None:
            raise ValidationError(problem or "请填写排名前百分比。", field="value")
        values["top_percent"] = top
    else:
        raise ValidationError("请选择认定条件（名次、奖项或排名前百分比）。", field="criterion")
    if data.contestant_type not in (None, *CONTESTANT_TYPES):
        raise ValidationError("选手类型应为：" + "、".join(CONTESTANT_TYPES) + "，或不限。", field="contestant_type")
    values["contestant_type"] = data.contestant_type
    values["current_level"] = (None if data.current_level is None
                               else _level(data.current_level, "现有等级", "current_level"))
    conferred = _level(data.conferred_level, "认定等级", "conferred_level")
    if values["current_level"] is not None and conferred >= values["current_level"]:
        raise ValidationError(f"认定等级须高于现有等级（{level_name(values['current_level'])}）。",
                              field="conferred_level")
    values["conferred_level"] = conferred
    return values


def add_rule(session: Session, actor: User, data: RuleInput) -> CompetitionRule:
    """Add a recognition rule (centre only); the same rule twice is refused."""
    require_role(actor, Role.CENTRE_ADMIN)
    values = check_rule(data)
    same = session.scalars(select(CompetitionRule).where(CompetitionRule.competition_class == values[
        "competition_class"]))
    for row in same:
        if all(getattr(row, k) == v for k, v in values.items()):
            raise ValidationError("已有相同的认定规则。")
    row = CompetitionRule(created_by_id=actor.id, **values)
    session.add(row)
    session.flush()
    audit.record(session, actor, "recognition_rule.create", "recognition_rule", row.id,
                 after={k: str(v) if isinstance(v, Decimal) else v for k, v in values.items()})
    return row


def delete_rule(session: Session, actor: User, rule_id: int) -> None:
    require_role(actor, Role.CENTRE_ADMIN)
    row = session.get(CompetitionRule, rule_id)
    if row is None:
        raise NotFound("认定规则不存在。")
    before = {"competition_class": row.competition_class, "describe": engine_rule(row).describe()}
    session.delete(row)
    session.flush()
    audit.record(session, actor, "recognition_rule.delete", "recognition_rule", rule_id, before=before)


def rules(session: Session) -> list[CompetitionRule]:
    return list(session.scalars(select(CompetitionRule).order_by(
        CompetitionRule.competition_class, CompetitionRule.conferred_level, CompetitionRule.id)))


# ---------------------------------------------------------------- what the engine reads


def engine_rule(row: CompetitionRule) -> RecognitionRule:
    return RecognitionRule(
        competition_class=row.competition_class, conferred_level=row.conferred_level,
        contestant_type=row.contestant_type, current_level=row.current_level, max_rank=row.max_rank,
        award=row.award, top_percent=Decimal(row.top_percent).quantize(TENTH) if row.top_percent is not None else None,
    )


def engine_result(entry: CompetitionEntry) -> CompetitionResult:
    c = entry.competition
    return CompetitionResult(
        name=c.name, competition_class=c.competition_class, contestant_type=entry.contestant_type, on=c.ends_on,
        filed=bool(c.filed), rank=entry.rank, award=entry.award,
        top_percent=Decimal(entry.top_percent).quantize(TENTH) if entry.top_percent is not None else None,
    )


@dataclasses.dataclass(frozen=True)
class CompetitionInputs:
    """The engine's ``competitions`` and ``recognition_rules`` for one person (see
    :func:`engine_inputs`); pass them to :class:`grading.results.decision.Case` as they are."""

    competitions: tuple[CompetitionResult, ...]
    recognition_rules: tuple[RecognitionRule, ...]


def engine_inputs(session: Session, person_id: int, *, on: dt.date, occupation_id: int | None = None
                  ) -> CompetitionInputs:
    """A person's competition results and every recognition rule, for the decision engine.

    ``on`` is the decision day: results of competitions ending after it are left out (the
    engine refuses dates after its day). ``occupation_id`` keeps only competitions of that
    occupation (a registration's); None keeps all. Unfiled competitions are included: the
    engine explains that they do not count. Ordered by the competition's last day."""
    stmt = (select(CompetitionEntry).join(Competition, Competition.id == CompetitionEntry.competition_id)
            .where(CompetitionEntry.person_id == person_id, Competition.ends_on <= on)
            .order_by(Competition.ends_on, Competition.id))
    if occupation_id is not None:
        stmt = stmt.where(Competition.occupation_id == occupation_id)
    results = tuple(engine_result(e) for e in session.scalars(stmt))
    return CompetitionInputs(competitions=results, recognition_rules=tuple(engine_rule(r) for r in rules(session)))
