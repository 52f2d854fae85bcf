"""Response sets (作答数据): import from Excel / CSV and simulation, for calibration and DIF.

A :class:`~grading.psychometrics.models.ResponseSet` is a matrix for one blueprint (细目表), examinees ×
items, stored whole as compressed arrays:

``scores``  float32, 1 = correct, 0 = wrong, NaN = the item was not presented;
``choices`` int8, the chosen option, -1 = none recorded (see :func:`encode_choice`);
``groups``  str, one column per group attribute (性别, 年龄段, 地区, 机构 …), "" = unknown.

Import layout (:func:`import_response_set`)
-------------------------------------------
An ``.xlsx`` file (first worksheet) or a CSV file (UTF-8, with or without BOM, or GB18030),
one row per examinee, the first non-empty row being the header:

* optional leading **group columns**: every header before the first item-code column is a
  group attribute (e.g. 性别、年龄段、地区、机构), kept as text for DIF analysis. A column
  headed 考生编号、准考证号、编号 or 序号 identifies the examinee and is ignored (not stored);
* then **one column per item**, headed with the item's 试题编码. Every header from the first
  item column on must be the code of an item of the chosen blueprint;
* cells: ``0`` / ``1`` (the score), or for objective items the response itself, scored
  against the item's key through the item-type registry — 单选题 a letter (``B``), 多选题 the
  letters (``ACD``), 判断题 ``√`` / ``×`` (对/错, T/F). An empty cell means the item was not
  presented (missing by design, e.g. another form). Partial credit is not accepted: the
  calibration is dichotomous, so a multiple-choice response counts as correct only if it
  earns the full points.

The import is all-or-nothing: any problem raises :class:`~foundation.errors.RowErrors`
listing (row, column, message) and nothing is written.

Choice codes (:func:`encode_choice` / :func:`decode_choice`)
------------------------------------------------------------
单选题: the option index (A = 0, B = 1 …); 判断题: 0 = √, 1 = ×; 多选题: a bit mask of the
chosen options (A = 1, B = 2, C = 4 …; ``AC`` = 5); -1 = no choice recorded (a 0/1 score was
given, or a type without options). The codes come from the item type
(:attr:`~itembank.itemtypes.ItemType.choice_alphabet`, ``multi_select``): any type registered with
a choice alphabet is coded the same way.

Simulation (:func:`simulate_response_set`) draws 2PL responses for the blueprint's active items
so that calibrations can be tried before real exams exist.

Who sees what
-------------
Analysts are the centre admin and item reviewers (:data:`ANALYSTS`). A reviewer works only on
the blueprints of the occupations the centre assigned them (:mod:`itembank.access`): for any
other blueprint, its response sets, runs and reports are :class:`NotFound`, and the lists
leave them out (:func:`response_set_clause`). Inside a blueprint, a reviewer's import accepts
only the codes of items they may read (another institution's item code is "unknown"), and a
reviewer's simulation draws responses only for items they may read.

Services take ``(session, actor, ...)``, validate before writing, flush (never commit) and
write the audit trail. No Flask.
"""

from __future__ import annotations

import csv
import io
import json
import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sqlalchemy import ColumnElement, false, select
from sqlalchemy.orm import Session

from foundation import audit, names
from foundation.accounts import User
from foundation.errors import NotFound, RowErrors, ValidationError
from foundation.roles import Role, require_role
from foundation.xlsx import BLANK_ROW_ALLOWANCE, read_sheet
from grading.psychometrics.models import ResponseSet, pack_arrays
from itembank import access
from itembank.irtmodel import difficulty_to_b, prob
from itembank.itemtypes import ITEM_TYPES, get_type
from itembank.models import Blueprint, BlueprintNode, Item, ItemStatus

__all__ = [
    "ANALYSTS",
    "ID_COLUMNS",
    "CheckedResponses",
    "MAX_EXAMINEES",
    "MissingDesign",
    "blueprint_items",
    "check_response_file",
    "clean_name",
    "decode_choice",
    "encode_choice",
    "get_blueprint",
    "import_response_set",
    "is_choice",
    "readable_response_set",
    "response_set_clause",
    "simulate_response_set",
    "store_checked",
    "store_response_set",
]

#: Who may import or simulate response sets and run calibrations.
ANALYSTS = (Role.CENTRE_ADMIN, Role.ITEM_REVIEWER)
#: Headers of an examinee identifier column: read past, never stored.
ID_COLUMNS = frozenset({"考生编号", "准考证号", "编号", "序号"})
PROGRESS_ROWS = 5_000  # rows between two progress reports of an import
MAX_EXAMINEES = 200_000  # a province's candidates of one occupation and level in a year (issue 16)
MAX_ITEMS = 1_000
MAX_COLUMNS = MAX_ITEMS + 64  # one per item plus the examinee and group columns
MIN_SIMULATED = 50
MAX_NAME = 128
MAX_GROUP_VALUE = 64
MAX_ROW_ERRORS = 200  # stop collecting after this many; the message still says how many were found

MissingDesign = Literal["none", "two_forms"]
MISSING_DESIGNS: dict[str, str] = {"none": "全部试题（无缺失）", "two_forms": "两套平行卷（约三分之一为共同题）"}

SOURCE_LABELS: dict[str, str] = {"import": "导入", "batch": "考试批次", "simulation": "模拟"}

_SIM_GROUPS: dict[str, tuple[str, ...]] = {
    "性别": ("男", "女"),
    "年龄段": ("18–30岁", "31–45岁", "46–60岁"),
    "地区": ("长春市", "吉林市", "四平市", "通化市", "延边州"),
    "机构": ("评价机构甲", "评价机构乙", "评价机构丙"),
}


# ---------------------------------------------------------------------------- choice codes


def is_choice(item_type: str) -> bool:
    """Whether responses to ``item_type`` are stored as choice codes."""
    kind = ITEM_TYPES.get(item_type)
    return kind is not None and kind.is_choice


def encode_choice(item_type: str, labels: Sequence[str]) -> int:
    """Choice code of a cleaned response (see the module docstring); -1 if not representable."""
    kind = ITEM_TYPES.get(item_type)
    if not labels or kind is None or not kind.is_choice:
        return -1
    alphabet = kind.choice_alphabet
    if kind.multi_select:
        mask = sum(1 << alphabet.index(label) for label in labels)
        return mask if mask <= 127 else -1  # int8: options A–G
    return alphabet.index(labels[0])


def decode_choice(item_type: str, code: int) -> str | None:
    """The response text of a choice code: ``"B"``, ``"AC"``, ``"√"``; None for -1."""
    code = int(code)
    kind = ITEM_TYPES.get(item_type)
    if code < 0 or kind is None or not kind.is_choice:
        return None
    alphabet = kind.choice_alphabet
    if kind.multi_select:
        return "".join(label for i, label in enumerate(alphabet) if code & (1 << i)) or None
    return alphabet[code] if code < len(alphabet) else None


# ---------------------------------------------------------------------------- helpers


def get_blueprint(session: Session, actor: User, blueprint_id: int) -> Blueprint:
    """The blueprint if ``actor`` may analyse it (a reviewer: one of their occupations), or
    :class:`NotFound` (Chinese message; :func:`itembank.access.readable_blueprint`)."""
    return access.readable_blueprint(session, actor, blueprint_id)


def response_set_clause(actor: User) -> ColumnElement[bool] | None:
    """A WHERE clause on :class:`ResponseSet` for the sets ``actor`` may see; None: all.

    The rule is :func:`itembank.access.blueprint_clause` (a reviewer: the blueprints of their
    assigned occupations); roles other than the analysts see none."""
    if not actor.active or actor.role not in {r.value for r in ANALYSTS}:
        return false()
    clause = access.blueprint_clause(actor)
    if clause is None:
        return None
    return ResponseSet.blueprint_id.in_(select(Blueprint.id).where(clause))


def readable_response_set(session: Session, actor: User, response_set_id: int) -> ResponseSet:
    """The response set if ``actor`` may see it (its blueprint), or :class:`NotFound`."""
    response_set = session.get(ResponseSet, response_set_id)
    if response_set is None or not actor.active or actor.role not in {r.value for r in ANALYSTS} \
            or not access.can_read_blueprint(session, actor, response_set.blueprint):
        raise NotFound("作答数据不存在。")
    return response_set


def blueprint_items(session: Session, blueprint_id: int, *, active_only: bool = False,
                    actor: User | None = None) -> list[Item]:
    """Items of a blueprint (through their assessment point), by code; with ``actor``, only
    the items that actor may read (:func:`itembank.access.item_clause`)."""
    stmt = (select(Item).join(BlueprintNode, BlueprintNode.id == Item.point_id)
            .where(BlueprintNode.blueprint_id == blueprint_id).order_by(Item.code))
    if active_only:
        stmt = stmt.where(Item.status == ItemStatus.ACTIVE.value)
    if actor is not None and (clause := access.item_clause(actor)) is not None:
        stmt = stmt.where(clause)
    return list(session.scalars(stmt).unique())


def clean_name(name: str) -> str:
    """A response set's name, stripped; :class:`ValidationError` if empty or too long."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("请填写作答数据的名称。", field="name")
    if len(name) > MAX_NAME:
        raise ValidationError(f"名称不能超过 {MAX_NAME} 个字符。", field="name")
    return names.clean_name(name, "作答数据名称", field="name")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return unicodedata.normalize("NFKC", str(value)).strip()


def _header(value: Any) -> str:
    return _text(value).replace("*", "").strip()


def store_response_set(session: Session, actor: User, *, name: str, source: str, blueprint: Blueprint,
                       items: Sequence[Item], scores: np.ndarray, choices: np.ndarray, group_names: Sequence[str],
                       groups: np.ndarray, details: dict[str, Any]) -> ResponseSet:
    """Write a validated response set (the arrays packed) and audit ``response_set.<source>``.

    Callers (import, simulation, :mod:`grading.psychometrics.exam_responses`) have checked everything; this
    only writes and flushes.
    """
    n_examinees, n_items = scores.shape
    response_set = ResponseSet(
        name=name, source=source, blueprint_id=blueprint.id, n_examinees=n_examinees, n_items=n_items,
        item_ids_json=json.dumps([i.id for i in items]),
        group_names_json=json.dumps(list(group_names), ensure_ascii=False),
        data=pack_arrays(scores=scores.astype(np.float32), choices=choices.astype(np.int8),
                         groups=groups.astype(str)),
        created_by_id=actor.id,
    )
    session.add(response_set)
    session.flush()
    audit.record(session, actor, f"response_set.{source}", "response_set", response_set.id, after={
        "name": name, "blueprint_id": blueprint.id, "examinees": n_examinees, "items": n_items,
        "groups": list(group_names), **details,
    })
    return response_set


# ---------------------------------------------------------------------------- import


def _read_table(data: bytes) -> list[tuple[int, list[Any]]]:
    """Non-empty rows (row number, cells) of an xlsx or CSV file."""
    if not data:
        raise ValidationError("上传的文件是空的。")
    rows: list[tuple[int, list[Any]]] = []
    if data.startswith(b"PK\x03\x04"):
        table = read_sheet(data, sheet_name=None, max_rows=MAX_EXAMINEES + 1, max_columns=MAX_COLUMNS,
                           too_many=f"一次最多导入 {MAX_EXAMINEES} 名考生的作答，请拆分文件。")
        return [(number, list(values)) for number, values in table if not all(_text(v) == "" for v in values)]
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationError("无法识别文件编码，请上传 .xlsx 文件或 UTF-8 编码的 CSV 文件。")
    if "\x00" in text:
        raise ValidationError("只支持 .xlsx 文件或 CSV 文本文件。")
    # The same bounds as the .xlsx reader: blank lines count toward the row limit, and a line
    # may not be wider than the sheet could be.
    span = MAX_EXAMINEES + 1 + BLANK_ROW_ALLOWANCE
    for number, cells in enumerate(csv.reader(io.StringIO(text)), start=1):
        if number > span:
            raise ValidationError(f"文件的行数过多（超过 {span} 行，空行也计算在内），"
                                  "请删除多余的空行或拆分文件后再上传。")
        if len(cells) > MAX_COLUMNS:
            raise ValidationError(f"第 {number} 行的列数过多（{len(cells)} 列，最多 {MAX_COLUMNS} 列），"
                                  "请删除多余的列后再上传。")
        if all(_text(v) == "" for v in cells):
            continue
        rows.append((number, list(cells)))
        if len(rows) > MAX_EXAMINEES + 1:
            raise ValidationError(f"一次最多导入 {MAX_EXAMINEES} 名考生的作答，请拆分文件。")
    return rows


@dataclass(frozen=True)
class _Column:
    index: int
    header: str
    item: Item | None = None  # None: a group column


@dataclass(frozen=True)
class _Layout:
    groups: list[_Column]
    items: list[_Column]
    unheaded: list[int]  # columns without a header: any value under them is an error


def _layout(session: Session, actor: User, blueprint: Blueprint, header: list[Any],
            errors: list[tuple[int, str, str]], header_row: int) -> _Layout:
    """Group columns and item columns of the header row. Codes of items ``actor`` may not
    read are unknown codes (their existence is not confirmed)."""
    names = [_header(v) for v in header]
    candidates = {n for n in names if n}
    known: dict[str, Item] = {}
    if candidates:
        stmt = select(Item).where(Item.code.in_(candidates))
        if (clause := access.item_clause(actor)) is not None:
            stmt = stmt.where(clause)
        for item in session.scalars(stmt):
            known[item.code] = item
    first_item = next((i for i, n in enumerate(names) if n in known), None)
    if first_item is None:
        raise ValidationError("表头中没有找到任何试题编码：请在分组列（如 性别、年龄段）之后，"
                              "每道试题一列，表头填写试题编码。")
    groups: list[_Column] = []
    unheaded: list[int] = []
    for i, name in enumerate(names[:first_item]):
        if not name:
            unheaded.append(i)
        elif name in ID_COLUMNS:
            continue
        elif name in {g.header for g in groups}:
            errors.append((header_row, name, f"分组列「{name}」重复。"))
        else:
            groups.append(_Column(i, name))
    items: list[_Column] = []
    seen: set[str] = set()
    for i in range(first_item, len(names)):
        name = names[i]
        if not name:
            unheaded.append(i)
            continue
        column_item = known.get(name)
        if column_item is None:
            errors.append((header_row, name, f"未知的试题编码「{name}」（试题列之后的每一列都应是试题编码）。"))
        elif column_item.point.blueprint_id != blueprint.id:
            errors.append((header_row, name, f"试题 {name} 不属于细目表「{blueprint.name}」。"))
        elif name in seen:
            errors.append((header_row, name, f"试题 {name} 的列重复。"))
        else:
            seen.add(name)
            items.append(_Column(i, name, column_item))
    if len(items) > MAX_ITEMS:
        errors.append((header_row, "", f"一次最多导入 {MAX_ITEMS} 道试题的作答。"))
    return _Layout(groups, items, unheaded)


def _score_cell(item: Item, spec: dict[str, Any], value: Any) -> tuple[float, int]:
    """(score 0/1, choice code) of one cell; raises ValidationError with a Chinese message."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value in (0, 1):
            return float(value), -1
        if isinstance(value, float) and math.isnan(value):
            raise ValidationError("作答不能是 NaN。")
        raise ValidationError(f"得分只能是 0 或 1（现为 {_text(value)}）；如为客观题，也可填写所选选项。")
    text = _text(value)
    if text in ("0", "1", "0.0", "1.0"):
        return float(text[0]), -1
    kind = get_type(item.item_type)
    if not kind.is_choice:
        raise ValidationError(f"{kind.label}只能填写得分 0 或 1（现为「{text}」）。")
    try:
        cleaned = kind.clean_response(spec, text)
    except ValidationError as exc:
        raise ValidationError(f"无法识别的作答「{text}」：{exc.message}") from None
    if cleaned is None:
        raise ValidationError(f"无法识别的作答「{text}」。")
    labels = kind.response_labels(cleaned)
    marks = kind.score(spec, cleaned, 1.0)
    return (1.0 if marks is not None and marks >= 1.0 - 1e-9 else 0.0), encode_choice(item.item_type, labels)


@dataclass(frozen=True)
class CheckedResponses:
    """A response file that passed every check, ready to store (:func:`store_checked`)."""

    blueprint: Blueprint
    name: str
    items: list[Item]
    scores: np.ndarray
    choices: np.ndarray
    group_names: list[str]
    groups: np.ndarray


def import_response_set(session: Session, actor: User, blueprint_id: int, name: str, data: bytes,
                        progress: Callable[[int, str], None] | None = None) -> ResponseSet:
    """Import examinees' responses for one blueprint (layout in the module docstring).
    ``progress(percent, stage)`` hears how far the rows are checked (the background job's page).

    All-or-nothing: raises :class:`RowErrors` (row, column, message) for unknown item codes,
    items of another blueprint, bad values; nothing is written then. Audited.
    """
    return store_checked(session, actor, check_response_file(session, actor, blueprint_id, name, data, progress))


def store_checked(session: Session, actor: User, checked: CheckedResponses) -> ResponseSet:
    return store_response_set(session, actor, name=checked.name, source="import", blueprint=checked.blueprint,
                              items=checked.items, scores=checked.scores, choices=checked.choices,
                              group_names=checked.group_names, groups=checked.groups,
                              details={"rows": int(checked.scores.shape[0])})


def check_response_file(session: Session, actor: User, blueprint_id: int, name: str, data: bytes,
                        progress: Callable[[int, str], None] | None = None) -> CheckedResponses:
    """Every check of :func:`import_response_set`, reading but never writing (a background
    job ends its read transaction between this and the write)."""
    require_role(actor, *ANALYSTS)
    blueprint = get_blueprint(session, actor, blueprint_id)
    name = clean_name(name)
    rows = _read_table(data)
    if not rows:
        raise ValidationError("文件中没有任何内容。")
    header_row, header = rows[0]
    body = rows[1:]
    if not body:
        raise ValidationError("文件中只有表头，没有考生作答。")
    errors: list[tuple[int, str, str]] = []
    layout = _layout(session, actor, blueprint, header, errors, header_row)
    group_cols, item_cols = layout.groups, layout.items
    if errors:
        raise RowErrors(errors[:MAX_ROW_ERRORS])

    n, j = len(body), len(item_cols)
    scores = np.full((n, j), np.nan, dtype=np.float32)
    choices = np.full((n, j), -1, dtype=np.int8)
    groups = np.full((n, len(group_cols)), "", dtype=object)
    specs = {c.item.id: (c.item.current_version.spec if c.item.current_version else {})
             for c in item_cols if c.item is not None}
    width = len(header)
    found = 0

    def error(row: int, column: str, message: str) -> None:
        nonlocal found
        found += 1
        if len(errors) < MAX_ROW_ERRORS:
            errors.append((row, column, message))

    for r, (number, cells) in enumerate(body):
        if progress is not None and r and r % PROGRESS_ROWS == 0:
            progress(10 + 80 * r // n, f"已校验 {r} / {n} 名考生的作答")
        extra = [k for k in [*layout.unheaded, *range(width, len(cells))] if k < len(cells) and _text(cells[k])]
        if extra:
            error(number, f"第 {extra[0] + 1} 列", "该列没有表头。")
        for g, col in enumerate(group_cols):
            value = _text(cells[col.index]) if col.index < len(cells) else ""
            if len(value) > MAX_GROUP_VALUE:
                error(number, col.header, f"分组取值不能超过 {MAX_GROUP_VALUE} 个字符。")
            groups[r, g] = value
        for k, col in enumerate(item_cols):
            cell = cells[col.index] if col.index < len(cells) else None
            if _text(cell) == "":
                continue
            assert col.item is not None
            try:
                scores[r, k], choices[r, k] = _score_cell(col.item, specs[col.item.id], cell)
            except ValidationError as exc:
                error(number, col.header, exc.message)
        if not any(_text(cells[c.index]) for c in item_cols if c.index < len(cells)):
            error(number, "", "该考生没有任何作答。")
    if found:
        if found > len(errors):
            errors.append((0, "", f"另有 {found - len(errors)} 处错误未列出。"))
        raise RowErrors(errors)
    return CheckedResponses(blueprint=blueprint, name=name, items=[c.item for c in item_cols if c.item is not None],
                            scores=scores, choices=choices, group_names=[c.header for c in group_cols],
                            groups=groups.astype(str))


# ---------------------------------------------------------------------------- simulation


def simulate_response_set(
    session: Session,
    actor: User,
    blueprint_id: int,
    n_examinees: int,
    seed: int,
    missing_design: MissingDesign = "none",
    *,
    name: str | None = None,
    ability_mean: float = 0.0,
    ability_sd: float = 1.0,
    use_bank_parameters: bool = True,
) -> ResponseSet:
    """Simulated 2PL responses for the blueprint's active items (source ``simulation``); for
    a reviewer, the active items they may read.

    True parameters: an item's calibrated bank parameters when it has them and
    ``use_bank_parameters`` (so a re-simulation reflects the bank scale); otherwise
    ``a ~ U(0.8, 2)`` and ``b = difficulty_to_b(a-priori difficulty)`` (0.5 if none given).
    Abilities ``θ ~ N(ability_mean, ability_sd²)`` on the bank scale — a shifted mean gives
    a group the linking step has to recover. ``missing_design="two_forms"``: every third item
    (by code) is common to two forms, the others alternate between form A and form B, and
    each examinee takes one form at random; items of the other form are NaN. Objective items
    also get a chosen option (the key if correct, a random distractor if not), and every
    examinee random 性别、年龄段、地区、机构 attributes. Deterministic for a given ``seed``.
    """
    require_role(actor, *ANALYSTS)
    blueprint = get_blueprint(session, actor, blueprint_id)
    if isinstance(n_examinees, bool) or not isinstance(n_examinees, int) \
            or not MIN_SIMULATED <= n_examinees <= MAX_EXAMINEES:
        raise ValidationError(f"模拟人数应在 {MIN_SIMULATED} 到 {MAX_EXAMINEES} 之间。", field="n_examinees")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ValidationError("随机种子应为 0 到 4294967295 之间的整数。", field="seed")
    if missing_design not in MISSING_DESIGNS:
        raise ValidationError("未知的缺失设计。", field="missing_design")
    if not (math.isfinite(ability_mean) and -3 <= ability_mean <= 3):
        raise ValidationError("能力均值应在 -3 到 3 之间。", field="ability_mean")
    if not (math.isfinite(ability_sd) and 0.2 <= ability_sd <= 3):
        raise ValidationError("能力标准差应在 0.2 到 3 之间。", field="ability_sd")
    items = blueprint_items(session, blueprint.id, active_only=True, actor=actor)
    needed = 6 if missing_design == "two_forms" else 3
    if len(items) < needed:
        raise ValidationError(
            f"细目表「{blueprint.name}」下已启用的试题只有 {len(items)} 道，至少需要 {needed} 道才能模拟。")
    if len(items) > MAX_ITEMS:
        raise ValidationError(f"一次最多模拟 {MAX_ITEMS} 道试题。")
    name = clean_name(name or f"模拟作答（{n_examinees} 人，种子 {seed}）")

    rng = np.random.default_rng(seed)
    j = len(items)
    prior_a = rng.uniform(0.8, 2.0, j)
    difficulty = np.array([(i.current_version.difficulty if i.current_version and i.current_version.difficulty
                            else 0.5) for i in items])
    prior_b = difficulty_to_b(difficulty)
    from_bank = np.array([use_bank_parameters and i.irt_a is not None and i.irt_b is not None for i in items])
    a = np.where(from_bank, [i.irt_a if i.irt_a is not None else 1.0 for i in items], prior_a)
    b = np.where(from_bank, [i.irt_b if i.irt_b is not None else 0.0 for i in items], prior_b)
    c = np.where(from_bank, [i.irt_c or 0.0 for i in items], 0.0)

    theta = rng.normal(ability_mean, ability_sd, n_examinees)
    p = prob(theta, a, b, c)
    scores = (rng.random((n_examinees, j)) < p).astype(np.float32)

    if missing_design == "two_forms":
        form_of_item = np.full(j, -1)  # -1 common, 0 form A, 1 form B
        unique = np.flatnonzero(np.arange(j) % 3 != 0)
        form_of_item[unique] = np.arange(unique.size) % 2
        form_of_examinee = rng.integers(0, 2, n_examinees)
        presented = (form_of_item[None, :] == -1) | (form_of_item[None, :] == form_of_examinee[:, None])
        scores[~presented] = np.nan

    choices = np.full((n_examinees, j), -1, dtype=np.int8)
    for k, item in enumerate(items):
        kind = ITEM_TYPES.get(item.item_type)
        if kind is None or not kind.is_choice or item.current_version is None:
            continue
        spec = item.current_version.spec
        options = kind.choice_labels(spec)
        key = kind.key_labels(spec)
        if not options or not key:
            continue
        key_code = encode_choice(item.item_type, key)
        if kind.multi_select:
            wrong = [encode_choice(item.item_type, [o]) for o in options]  # one option chosen: wrong
            wrong = [w for w in wrong if w != key_code]
        else:
            wrong = [encode_choice(item.item_type, [o]) for o in options if o not in key]
        if not wrong:
            continue
        col = scores[:, k]
        picks = rng.choice(np.array(wrong, dtype=np.int16), size=n_examinees).astype(np.int8)
        choices[:, k] = np.where(col == 1, key_code, np.where(col == 0, picks, -1))

    group_names = list(_SIM_GROUPS)
    groups = np.empty((n_examinees, len(group_names)), dtype=object)
    for g, values in enumerate(_SIM_GROUPS.values()):
        groups[:, g] = rng.choice(np.array(values), size=n_examinees)
    return store_response_set(session, actor, name=name, source="simulation", blueprint=blueprint, items=items,
                  scores=scores, choices=choices, group_names=group_names, groups=groups.astype(str),
                  details={"seed": seed, "missing_design": missing_design, "ability_mean": ability_mean,
                           "ability_sd": ability_sd, "from_bank": int(from_bank.sum())})
