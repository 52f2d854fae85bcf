"""试题 Excel import/export: the layout institutions already use, one row per item.

Columns (the first row is the header; column order does not matter, 「*题干」 or
「题干（必填）」 style headers are accepted):

========== ======== ===============================================================
列          必填      内容
========== ======== ===============================================================
试题编码     否       the idempotency key; empty on a first import (generated in the bank's scheme, DG4-001)
题型        是       单选题/多选题/判断题/填空题/简答题/计算题/论述题 or a registry code
鉴定点编码   是       a point (鉴定点) of the chosen blueprint, e.g. ``A-B-C-001``
题干        是       plain text (line breaks kept) or item HTML
选项A…选项F  选择题    options in order, without gaps; empty for other types
答案        是       see :data:`ANSWER_NOTATION`
难度        否       0–1 proportion correct, or 易/较易/中/较难/难 (.85/.7/.55/.4/.25)
解析        否       plain text or HTML
来源        否       free text
计分规则     否       多选题: 全对得分 | 少选得分 [比例] | 按比例得分; 填空题: 按顺序 | 不分顺序;
                     简答/计算/论述题: 字数上限 N
评分要点     否       简答/计算/论述题: one point per line (or separated by ；), each ending in
                     its marks, e.g. ``写出欧姆定律（2分）``; empty = one point 「按参考答案评分（10分）」
========== ======== ===============================================================

Answer notation (答案):

* 单选题: one option letter, ``B``.
* 多选题: the letters, ``ABD`` (``A,B,D``, ``A、B、D`` and spaces are accepted too).
* 判断题: ``√`` or ``×`` (also 对/错, 正确/错误, T/F).
* 填空题: blanks separated by ``；`` (or ``;``), alternative accepted answers of one
  blank separated by ``｜`` (or ``|``): ``欧姆定律；220｜220V｜220 V``. An answer can
  therefore not contain ``；;｜|``.
* 简答题/计算题/论述题: the reference answer (参考答案), plain text or HTML.

A cell is read as HTML when it contains an allowlisted tag (``<p>``, ``<br>``, ``<sub>``,
``<img>``, ...); otherwise it is plain text whose line breaks become ``<br>``. Everything then
goes through the same sanitiser and type registry as the editor (:func:`items.clean_content`).

:func:`import_items` is all-or-nothing: every row is checked first and any problem raises
:class:`~foundation.errors.RowErrors` listing (Excel row, column, Chinese message) with
nothing written. Two rows holding the same item (:func:`content_key`: type, stem, options,
answer and rules after sanitising and whitespace/width normalisation) are such a problem;
merely similar stems are only warned about (:class:`DuplicateWarning`). Rows whose 试题编码
exists are compared with the item's current version: unchanged rows are counted and left
alone, changed rows go through :func:`items.revise_item` (a new draft version when the current
one is frozen), new rows through :func:`items.create_item` (drafts), so the workflow rules and
the audit trail apply.
:func:`export_items_bytes` writes the same layout (plus read-only 状态/版本/细目表 columns),
so an export imports back unchanged.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, object_session

from foundation import audit
from foundation.errors import DomainError, RowErrors, ValidationError
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
from itembank import access, duplicates, sanitize, stem_index
from itembank.items import EDITABLE, ItemContent, clean_content, create_item, new_item_code, revise_item
from itembank.itemtypes import ITEM_TYPES, LABELS, ExaminerScored, ItemType, get_type
from itembank.models import Blueprint, BlueprintNode, Item, ItemStatus, ItemVersion

if TYPE_CHECKING:
    from sqlalchemy import Select

    from foundation.accounts import User
    from itembank.items import Cleaned


COL_CODE = "试题编码"
COL_TYPE = "题型"
COL_POINT = "鉴定点编码"
COL_STEM = "题干"
OPTION_LABELS = "ABCDEF"
OPTION_COLUMNS = tuple(f"选项{label}" for label in OPTION_LABELS)
COL_ANSWER = "答案"
COL_DIFFICULTY = "难度"
COL_EXPLANATION = "解析"
COL_SOURCE = "来源"
COL_RULE = "计分规则"
COL_SCORING = "评分要点"
# Written by the export for the reader's information; ignored by the import.
COL_STATUS = "状态"
COL_VERSION = "版本"
COL_BLUEPRINT = "细目表"

IMPORT_COLUMNS = (
    COL_CODE, COL_TYPE, COL_POINT, COL_STEM, *OPTION_COLUMNS, COL_ANSWER, COL_DIFFICULTY,
    COL_EXPLANATION, COL_SOURCE, COL_RULE, COL_SCORING,
)
EXPORT_COLUMNS = (*IMPORT_COLUMNS, COL_STATUS, COL_VERSION, COL_BLUEPRINT)
REQUIRED_COLUMNS = (COL_TYPE, COL_POINT, COL_STEM, COL_ANSWER)
SHEET_NAME = "试题"
EXAMPLE_SHEET = "示例"
MAX_IMPORT_ROWS = 2000
MAX_CODE_LENGTH = 64
CODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
DUPLICATE_THRESHOLD = duplicates.DEFAULT_THRESHOLD
DEFAULT_SCORING_POINT = "按参考答案评分"
DEFAULT_SCORING_MARKS = 10.0

DIFFICULTY_WORDS: Mapping[str, float] = {"易": 0.85, "较易": 0.7, "中": 0.55, "较难": 0.4, "难": 0.25}
_DIFFICULTY_ALIASES = {**DIFFICULTY_WORDS, "容易": 0.85, "中等": 0.55}

BLANK_SEPARATORS = "；;"
ALTERNATIVE_SEPARATORS = "｜|"
ANSWER_NOTATION = (
    "单选题填一个字母，如 B；多选题填全部正确字母，如 ABD；判断题填 √ 或 ×；"
    "填空题各空之间用「；」分隔，同一空的多个可接受答案用「｜」分隔，如「欧姆定律；220｜220V」；"
    "简答、计算、论述题填参考答案。"
)

# Tags of the item-HTML allowlist: a cell containing one of them is HTML, anything else is text.
_HTML_TAG_RE = re.compile(
    r"</?(?:p|br|b|strong|i|em|u|sub|sup|span|ul|ol|li|table|thead|tbody|tr|th|td|img)\b[^<>]*>",
    re.IGNORECASE,
)
_SCORING_POINT_RE = re.compile(r"^(?P<text>.*?)\s*[（(]\s*(?P<marks>\d+(?:\.\d+)?)\s*分?\s*[）)]$", re.DOTALL)
_SCORING_SPLIT_RE = re.compile(r"\s*\n\s*|(?<=[）)])\s*[；;]\s*")
_SUBSET_RE = re.compile(r"^少选(?:得分|得部分分)?(?:[:：]?\s*(?P<value>\d+(?:\.\d+)?)\s*(?P<pct>%)?)?$")
_MAX_LENGTH_RE = re.compile(r"^字数上限[:：]?\s*(?P<value>\d+)\s*字?$")


def _type_aliases() -> dict[str, str]:
    """What the 题型 cell may say (case-folded) -> type code: each registered type's code, label,
    label without 题, and its Excel format's extra aliases."""
    aliases: dict[str, str] = {}
    for code, kind in ITEM_TYPES.items():
        for alias in (code, kind.label, kind.label.removesuffix("题"), *excel_format(kind).aliases):
            aliases[alias.casefold()] = code
    return aliases




# ---------------------------------------------------------------- cell conversions


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "√" if value else "×"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def _header_key(value: Any) -> str:
    text = re.sub(r"[（(].*?[）)]", "", _cell_text(value))
    text = unicodedata.normalize("NFKC", text)
    return text.replace("*", "").replace(" ", "").strip()


def cell_to_html(text: str) -> str:
    """Item HTML from a cell: HTML as is, plain text escaped with line breaks as ``<br>``."""
    if _HTML_TAG_RE.search(text):
        return text
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "<br>".join(html.escape(line, quote=False) for line in lines)


# Text that the round trip of :func:`html_to_cell` provably leaves alone: no markup or entity
# characters, no control or non-breaking characters the sanitiser would rewrite, and no
# whitespace but single inner spaces (plain_text collapses and strips whitespace).
_SAFE_CHAR = r"[^\s<>&\x00-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffd\ufffe\uffff]"
_SAFE_TEXT_RE = re.compile(f"{_SAFE_CHAR}+(?: {_SAFE_CHAR}+)*")


def html_to_cell(stored: str) -> str:
    """What a cell shows for stored item HTML: plain text when that imports back to exactly
    the same HTML, the HTML itself otherwise (tables, images, emphasis...).

    Decided without parsing when the answer is certain (an export calls this for every stem,
    option, answer and scoring point): the round trip's HTML holds no tag but ``<br>``, so
    stored HTML with any other ``<`` is kept as it is; stored text of plain lines (joined by
    ``<br>``) without characters the round trip would rewrite is its own text. Everything else
    takes the full round trip (:func:`_html_to_cell_slow`), cached per distinct (short) HTML."""
    if not stored:
        return ""  # an empty explanation or answer: nothing to parse
    if "<" in stored.replace("<br>", ""):
        return stored
    lines = stored.split("<br>")
    # (a ``<br>`` inside a TeX formula, ``\\( … \\)``, is text to the sanitiser: full round trip)
    if (len(lines) == 1 or "\\" not in stored) and all(_SAFE_TEXT_RE.fullmatch(line) for line in lines):
        return "\n".join(lines)
    return _html_to_cell_cached(stored) if len(stored) <= _CACHED_HTML_LENGTH else _html_to_cell_slow(stored)


_CACHED_HTML_LENGTH = 1000  # longer HTML is rarely repeated; the cache stays a few MiB


@functools.lru_cache(maxsize=2048)
def _html_to_cell_cached(stored: str) -> str:
    return _html_to_cell_slow(stored)


def _html_to_cell_slow(stored: str) -> str:
    """:func:`html_to_cell` by the full round trip: sanitise, extract the text, rebuild."""
    text = sanitize.plain_text(stored)
    if not _HTML_TAG_RE.search(text) and sanitize.clean_html(cell_to_html(text)) == stored:
        return text
    return stored


def _labels(text: str) -> list[str]:
    cleaned = unicodedata.normalize("NFKC", text).upper()
    return [ch for ch in cleaned if ch not in " ,，、;；/"]


def parse_fill_in_answer(text: str) -> list[dict[str, list[str]]]:
    """``欧姆定律；220｜220V`` → ``[{"answers": ["欧姆定律"]}, {"answers": ["220", "220V"]}]``."""
    blanks = re.split(f"[{BLANK_SEPARATORS}]", text)
    return [{"answers": [a.strip() for a in re.split(f"[{ALTERNATIVE_SEPARATORS}]", blank)]} for blank in blanks]


def format_fill_in_answer(spec: Mapping[str, Any]) -> str:
    return "；".join("｜".join(str(a) for a in blank["answers"]) for blank in spec.get("blanks", ()))


def parse_difficulty(text: str) -> float | None:
    """A proportion correct strictly between 0 and 1 (``0.6``, ``60%``) or 易/较易/中/较难/难."""
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        return None
    if text in _DIFFICULTY_ALIASES:
        return _DIFFICULTY_ALIASES[text]
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValidationError(
            f"无法识别的难度「{text}」：请填写 0–1 之间的预估答对率（如 0.65），或「易、较易、中、较难、难」。"
        ) from None
    if not 0 < value < 1:
        raise ValidationError("难度应在 0 与 1 之间（预估答对率，如 0.65）。")
    return value


def _format_number(value: float) -> str:
    return f"{value:g}"


def parse_scoring_points(text: str) -> list[dict[str, Any]]:
    """``要点一（2分）；要点二（3分）`` (or one point per line) → the spec's scoring points."""
    if not text.strip():
        return [{"html": DEFAULT_SCORING_POINT, "points": DEFAULT_SCORING_MARKS}]
    points: list[dict[str, Any]] = []
    for i, part in enumerate(p for p in _SCORING_SPLIT_RE.split(text.strip()) if p.strip()):
        m = _SCORING_POINT_RE.match(part.strip())
        if m is None or not m.group("text").strip():
            raise ValidationError(
                f"第 {i + 1} 个评分要点「{part.strip()[:30]}」格式不正确：每个要点以分值结尾，"
                "如「写出欧姆定律（2分）」，多个要点分行或用「；」分隔。"
            )
        points.append({"html": cell_to_html(m.group("text").strip()), "points": float(m.group("marks"))})
    return points


def format_scoring_points(spec: Mapping[str, Any]) -> str:
    points = spec.get("scoring_points", ())
    if len(points) == 1 and points[0]["html"] == DEFAULT_SCORING_POINT \
            and float(points[0]["points"]) == DEFAULT_SCORING_MARKS:
        return ""
    return "\n".join(f"{html_to_cell(p['html'])}（{_format_number(float(p['points']))}分）" for p in points)


# ---------------------------------------------------------------- per-type formats


class ExcelFormat:
    """How one item type's 答案, 计分规则 and 评分要点 cells read and write (registered by type
    code in :data:`EXCEL_FORMATS`). The base class is a type with no rules and no options."""

    #: Extra spellings of the type in the 题型 cell (besides code, label and label without 题).
    aliases: tuple[str, ...] = ()
    #: What the 答案 cell holds, for the "请填写…" message.
    answer_hint = "正确答案"
    #: The type reads the 评分要点 column.
    scoring_points = False

    def parse_rule(self, kind: ItemType, text: str) -> dict[str, Any]:
        """The (non-empty, NFKC, spaceless) 计分规则 cell as spec fields; ``ValidationError``."""
        raise ValidationError(f"{kind.label}不需要填写计分规则。")

    def format_rule(self, kind: ItemType, spec: Mapping[str, Any]) -> str:
        return ""

    def parse_answer(self, kind: ItemType, answer: str, *, options: list[str], rule: dict[str, Any],
                     scoring: str) -> dict[str, Any]:
        """The spec from the (non-empty) 答案 cell, the options and rule already read and the
        评分要点 text; ``ValidationError`` whose ``field`` names the column (default 答案)."""
        raise NotImplementedError

    def format_answer(self, kind: ItemType, spec: Mapping[str, Any]) -> str:
        raise NotImplementedError

    def format_scoring(self, kind: ItemType, spec: Mapping[str, Any]) -> str:
        return ""


class ChoiceExcel(ExcelFormat):
    """单选题/多选题: the option letters (``B``, ``ABD``); 多选题 rules 全对/少选/按比例得分."""

    def __init__(self, *aliases: str) -> None:
        self.aliases = aliases

    def parse_rule(self, kind: ItemType, text: str) -> dict[str, Any]:
        if not kind.multi_select:
            return super().parse_rule(kind, text)
        if text in ("全对得分", "全对才得分", "all_or_nothing"):
            return {"scoring": "all_or_nothing"}
        if text in ("按比例得分", "按比例", "proportional"):
            return {"scoring": "proportional"}
        if text == "subset":
            return {"scoring": "subset"}
        m = _SUBSET_RE.match(text)
        if m:
            out: dict[str, Any] = {"scoring": "subset"}
            if m.group("value"):
                value = float(m.group("value"))
                out["subset_credit"] = value / 100 if m.group("pct") or value >= 1 else value
            return out
        raise ValidationError(
            "多选题的计分规则填写「全对得分」「少选得分」（可加比例，如「少选得分0.5」）或「按比例得分」。"
        )

    def format_rule(self, kind: ItemType, spec: Mapping[str, Any]) -> str:
        if not kind.multi_select:
            return ""
        rule = spec.get("scoring", "all_or_nothing")
        if rule == "subset":
            return f"少选得分 {_format_number(float(spec.get('subset_credit', 0.5)))}"
        return "按比例得分" if rule == "proportional" else ""

    def parse_answer(self, kind: ItemType, answer: str, *, options: list[str], rule: dict[str, Any],
                     scoring: str) -> dict[str, Any]:
        labels = _labels(answer)
        bad = [x for x in labels if x not in LABELS]
        if bad or not labels:
            example = "ABD" if kind.multi_select else "B"
            raise ValidationError(f"答案「{answer}」格式不正确：{kind.label}的答案填选项字母，如 {example}。")
        return {"options": options, "key": labels, **rule}

    def format_answer(self, kind: ItemType, spec: Mapping[str, Any]) -> str:
        return "".join(spec.get("key", ()))


class TrueFalseExcel(ExcelFormat):
    """判断题: √ or × (the type reads 对/错, T/F ... too)."""

    def parse_answer(self, kind: ItemType, answer: str, *, options: list[str], rule: dict[str, Any],
                     scoring: str) -> dict[str, Any]:
        return {"key": answer}

    def format_answer(self, kind: ItemType, spec: Mapping[str, Any]) -> str:
        return str(spec.get("key", ""))


class FillInExcel(ExcelFormat):
    """填空题: ``欧姆定律；220｜220V``; rules 按顺序/不分顺序."""

    def parse_rule(self, kind: ItemType, text: str) -> dict[str, Any]:
        if text in ("按顺序", "顺序"):
            return {"any_order": False}
        if text in ("不分顺序", "不按顺序", "答案可不按顺序", "any_order"):
            return {"any_order": True}
        raise ValidationError("填空题的计分规则填写「按顺序」或「不分顺序」。")

    def format_rule(self, kind: ItemType, spec: Mapping[str, Any]) -> str:
        return "不分顺序" if spec.get("any_order") else ""

    def parse_answer(self, kind: ItemType, answer: str, *, options: list[str], rule: dict[str, Any],
                     scoring: str) -> dict[str, Any]:
        return {"blanks": parse_fill_in_answer(answer), **rule}

    def format_answer(self, kind: ItemType, spec: Mapping[str, Any]) -> str:
        return format_fill_in_answer(spec)


class ExaminerExcel(ExcelFormat):
    """简答/计算/论述题: the reference answer, 评分要点 and the rule 字数上限 N."""

    answer_hint = "参考答案"
    scoring_points = True

    def parse_rule(self, kind: ItemType, text: str) -> dict[str, Any]:
        m = _MAX_LENGTH_RE.match(text)
        if m:
            return {"max_length": int(m.group("value"))}
        raise ValidationError("简答、计算、论述题的计分规则填写「字数上限 N」，如「字数上限 3000」。")

    def format_rule(self, kind: ItemType, spec: Mapping[str, Any]) -> str:
        default = int(getattr(kind, "default_max_length", ExaminerScored.default_max_length))
        max_length = int(spec.get("max_length", default))
        return "" if max_length == default else f"字数上限 {max_length}"

    def parse_answer(self, kind: ItemType, answer: str, *, options: list[str], rule: dict[str, Any],
                     scoring: str) -> dict[str, Any]:
        try:
            scoring_points = parse_scoring_points(scoring)
        except ValidationError as exc:
            raise ValidationError(exc.message, field=COL_SCORING) from None
        return {"reference_answer": cell_to_html(answer), "scoring_points": scoring_points, **rule}

    def format_answer(self, kind: ItemType, spec: Mapping[str, Any]) -> str:
        return html_to_cell(spec.get("reference_answer", ""))

    def format_scoring(self, kind: ItemType, spec: Mapping[str, Any]) -> str:
        return format_scoring_points(spec)


EXCEL_FORMATS: dict[str, ExcelFormat] = {
    "single_choice": ChoiceExcel("单项选择题"),
    "multiple_choice": ChoiceExcel("多项选择题"),
    "true_false": TrueFalseExcel(),
    "fill_in": FillInExcel(),
    "short_answer": ExaminerExcel(),
    "calculation": ExaminerExcel(),
    "essay": ExaminerExcel(),
}
"""The Excel format of each item type by code; a new type registers its format here."""


def excel_format(kind: ItemType) -> ExcelFormat:
    try:
        return EXCEL_FORMATS[kind.code]
    except KeyError:
        raise ValueError(f"no Excel format for item type {kind.code}") from None


def parse_rule(item_type: str, text: str) -> dict[str, Any]:
    """The 计分规则 cell as spec fields for ``item_type``."""
    text = unicodedata.normalize("NFKC", text).strip().replace(" ", "")
    if not text:
        return {}
    kind = get_type(item_type)
    return excel_format(kind).parse_rule(kind, text)


def format_rule(item_type: str, spec: Mapping[str, Any]) -> str:
    kind = ITEM_TYPES.get(item_type)
    return excel_format(kind).format_rule(kind, spec) if kind is not None else ""


# ---------------------------------------------------------------- reading the file


def _read_rows(data: bytes) -> tuple[dict[str, int], list[tuple[int, tuple[Any, ...]]]]:
    """Header positions and the non-empty data rows with their Excel row numbers."""
    header, rows = header_and_rows(
        data, sheet_name=SHEET_NAME, header_key=_header_key,
        is_blank=lambda v: _cell_text(v) == "", max_rows=MAX_IMPORT_ROWS,
        too_many=f"一次最多导入 {MAX_IMPORT_ROWS} 道试题，请拆分文件后分批导入。",
    )
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        if name in IMPORT_COLUMNS and name not in index:
            index[name] = i
    missing = [c for c in REQUIRED_COLUMNS if c not in index]
    if missing:
        raise ValidationError(f"缺少必需的列：{'、'.join(missing)}。第一行应为表头：{'、'.join(IMPORT_COLUMNS)}。")
    if not rows:
        raise ValidationError("文件中只有表头，没有试题。")
    return index, rows


@dataclasses.dataclass
class _Row:
    number: int
    code: str | None
    item_type: str
    point: BlueprintNode
    content: ItemContent
    cleaned: Cleaned
    existing: Item | None
    action: str  # "create" | "update" | "unchanged"


@dataclasses.dataclass(frozen=True)
class DuplicateWarning:
    """A stem of the file resembles another row's or an item already in the bank."""

    row: int
    similar_to: str  # "第 N 行" or an item code
    similarity: float
    in_bank: bool

    @property
    def message(self) -> str:
        where = f"题库中的试题 {self.similar_to}" if self.in_bank else f"本文件{self.similar_to}"
        return f"题干与{where}相似（相似度 {self.similarity:.0%}），请确认不是重题。"


@dataclasses.dataclass(frozen=True)
class ImportResult:
    """What an import did, per item (one row is one item)."""

    created: int
    updated: int
    unchanged: int
    duplicates_warnings: list[DuplicateWarning]

    @property
    def message(self) -> str:
        text = f"导入完成：新增试题 {self.created} 道，修改 {self.updated} 道，无变化 {self.unchanged} 道。"
        if self.duplicates_warnings:
            text += f"另有 {len(self.duplicates_warnings)} 条疑似重题提示，请核对。"
        return text


_FIELD_COLUMNS = (
    ("options[", None),  # handled specially: options[i] → 选项X
    ("options", OPTION_COLUMNS[0]),
    ("key", COL_ANSWER),
    ("blanks", COL_ANSWER),
    ("reference_answer", COL_ANSWER),
    ("scoring_points", COL_SCORING),
    ("scoring", COL_RULE),
    ("subset_credit", COL_RULE),
    ("any_order", COL_RULE),
    ("max_length", COL_RULE),
    ("analysis", COL_EXPLANATION),
    ("stem_html", COL_STEM),
    ("difficulty", COL_DIFFICULTY),
    ("source", COL_SOURCE),
    ("type", COL_TYPE),
)


def _column_of(field: str | None) -> str:
    """The Excel column a registry/service error field refers to."""
    if not field:
        return COL_ANSWER
    m = re.match(r"options\[(\d+)\]", field)
    if m:
        i = int(m.group(1))
        return OPTION_COLUMNS[i] if i < len(OPTION_COLUMNS) else OPTION_COLUMNS[-1]
    for prefix, column in _FIELD_COLUMNS:
        if column is not None and field.startswith(prefix):
            return column
    return COL_ANSWER


def _normalise_point_code(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().upper().replace(" ", "").replace("—", "-")


def _existing_items(session: Session, codes: Sequence[str]) -> dict[str, Item]:
    found: dict[str, Item] = {}
    unique = sorted(set(codes))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        for item in session.scalars(select(Item).where(Item.code.in_(chunk))):
            found[item.code] = item
    return found


@dataclasses.dataclass
class _FileChecks:
    """What checking a row needs beyond the row: the file's columns, the blueprint's nodes, the
    bank's items named in the file, and what earlier rows already claimed."""

    actor: User
    blueprint: Blueprint
    index: dict[str, int]  # column name → position
    nodes: dict[str, BlueprintNode]  # the blueprint's nodes by code
    existing_by_code: dict[str, Item]
    type_aliases: dict[str, str]
    first_row_of_code: dict[str, int] = dataclasses.field(default_factory=dict)
    first_row_of_content: dict[str, int] = dataclasses.field(default_factory=dict)  # by :func:`content_key`

    def cell(self, values: tuple[Any, ...], column: str) -> str:
        """A row's cell as text ("" for a column the file lacks or a short row)."""
        i = self.index.get(column)
        return _cell_text(values[i]) if i is not None and i < len(values) else ""


def _parse_rows(
    session: Session, actor: User, blueprint: Blueprint, index: dict[str, int],
    rows: list[tuple[int, tuple[Any, ...]]],
) -> tuple[list[_Row], list[tuple[int, str, str]]]:
    """Every row checked: the rows to import, and the problems (row, column, message) by row."""
    checks = _file_checks(session, actor, blueprint, index, rows)
    errors: list[tuple[int, str, str]] = []
    parsed: list[_Row] = []
    for number, values in rows:
        row = _parse_row(checks, number, values, errors)
        if row is not None:
            parsed.append(row)
    errors.sort(key=lambda e: e[0])
    return parsed, errors


def _file_checks(
    session: Session, actor: User, blueprint: Blueprint, index: dict[str, int],
    rows: list[tuple[int, tuple[Any, ...]]],
) -> _FileChecks:
    """The blueprint's nodes and, in one read, the bank's items whose codes the file names."""
    nodes = {node.code: node for node in blueprint.nodes}
    checks = _FileChecks(actor, blueprint, index, nodes, {}, {})
    codes_in_file = [unicodedata.normalize("NFKC", checks.cell(v, COL_CODE)) for _, v in rows]
    checks.existing_by_code = _existing_items(session, [c for c in codes_in_file if c])
    checks.type_aliases = _type_aliases()
    return checks


def _parse_row(
    checks: _FileChecks, number: int, values: tuple[Any, ...], errors: list[tuple[int, str, str]],
) -> _Row | None:
    """One row: each cell checked (every problem reported), then the item as a whole — its
    content, not a repeat of an earlier row, and a change its importer may make. None after
    adding the problems to ``errors``."""
    row_errors: list[tuple[int, str, str]] = []
    fail = functools.partial(_add_error, row_errors, number)
    cell = functools.partial(checks.cell, values)
    code = _row_code(checks, number, cell, fail)
    existing = checks.existing_by_code.get(code) if code else None
    item_type = _row_type(checks, cell, code, existing, fail)
    point = _row_point(checks, cell, code, existing, fail)
    stem_html, explanation_html = _row_texts(cell, fail)
    difficulty, source = _row_metadata(cell, fail)
    spec = _row_spec(item_type, cell, existing, fail)
    if row_errors or item_type is None or point is None or spec is None:
        errors.extend(row_errors)
        return None
    content = ItemContent(stem_html=stem_html, spec=spec, explanation_html=explanation_html,
                          source=source, difficulty=difficulty)
    try:
        cleaned = clean_content(item_type, content)
    except ValidationError as exc:
        errors.append((number, _column_of(exc.field), exc.message))
        return None
    repeated = _repeated_item(checks, number, item_type, cleaned)
    if repeated:
        errors.append((number, COL_STEM, repeated))
        return None
    action, problem = _row_action(existing, cleaned, checks.actor)
    if problem:
        errors.append((number, COL_CODE, problem))
        return None
    return _Row(number, code, item_type, point, content, cleaned, existing, action)


def _row_code(checks: _FileChecks, number: int, cell: Callable[[str], str],
              fail: Callable[[str, str], None]) -> str | None:
    """试题编码: None when empty; well-formed and not named by an earlier row."""
    code = unicodedata.normalize("NFKC", cell(COL_CODE)) or None
    if code is not None:
        if len(code) > MAX_CODE_LENGTH or not CODE_RE.fullmatch(code):
            fail(COL_CODE, f"试题编码只能由字母、数字、「-」「_」「.」组成，且不超过 {MAX_CODE_LENGTH} 个字符。")
        elif code in checks.first_row_of_code:
            fail(COL_CODE, f"试题编码 {code} 与第 {checks.first_row_of_code[code]} 行重复。")
        else:
            checks.first_row_of_code[code] = number
    return code


def _row_type(checks: _FileChecks, cell: Callable[[str], str], code: str | None, existing: Item | None,
              fail: Callable[[str, str], None]) -> str | None:
    """题型: a known type (label or code), the existing item's own type."""
    type_text = unicodedata.normalize("NFKC", cell(COL_TYPE)).replace(" ", "")
    item_type = checks.type_aliases.get(type_text.casefold()) if type_text else None
    if not type_text:
        fail(COL_TYPE, "请填写题型。")
    elif item_type is None:
        names = "、".join(k.label for k in ITEM_TYPES.values())
        fail(COL_TYPE, f"无法识别的题型「{type_text}」，请填写：{names}。")
    elif existing is not None and existing.item_type != item_type:
        fail(COL_TYPE, f"试题 {code} 原为{get_type(existing.item_type).label}，导入不能修改题型。")
    return item_type


def _row_point(checks: _FileChecks, cell: Callable[[str], str], code: str | None, existing: Item | None,
               fail: Callable[[str, str], None]) -> BlueprintNode | None:
    """鉴定点编码: a point (not a range) of the blueprint, the existing item's own point."""
    point_code = _normalise_point_code(cell(COL_POINT))
    point = checks.nodes.get(point_code) if point_code else None
    if not point_code:
        fail(COL_POINT, "请填写鉴定点编码。")
    elif point is None:
        fail(COL_POINT, f"鉴定点 {point_code} 不在细目表「{checks.blueprint.name}」中。")
    elif not point.is_point:
        fail(COL_POINT, f"{point_code} 是鉴定范围，不是鉴定点，请填写其下的鉴定点编码。")
        point = None
    if point is not None and existing is not None and existing.point_id != point.id:
        if existing.point.blueprint_id != checks.blueprint.id:
            fail(COL_CODE, f"试题编码 {code} 已被其他细目表的试题使用。")
        else:
            fail(COL_POINT, f"试题 {code} 原属鉴定点 {existing.point.code}，导入不能修改鉴定点。")
    return point


def _row_texts(cell: Callable[[str], str], fail: Callable[[str, str], None]) -> tuple[str, str]:
    """题干 (required) and 解析 as item HTML that the sanitiser accepts."""
    stem_text = cell(COL_STEM)
    stem_html = cell_to_html(stem_text)
    if not stem_text:
        fail(COL_STEM, "请填写题干。")
    else:
        try:
            sanitize.clean_item_html(stem_html)
        except ValidationError as exc:
            fail(COL_STEM, exc.message)
    explanation_html = cell_to_html(cell(COL_EXPLANATION))
    try:
        sanitize.clean_item_html(explanation_html)
    except ValidationError as exc:
        fail(COL_EXPLANATION, exc.message)
    return stem_html, explanation_html


def _row_metadata(cell: Callable[[str], str], fail: Callable[[str, str], None]) -> tuple[float | None, str]:
    """难度 (:func:`parse_difficulty`) and 来源 (at most 255 characters)."""
    difficulty: float | None = None
    try:
        difficulty = parse_difficulty(cell(COL_DIFFICULTY))
    except ValidationError as exc:
        fail(COL_DIFFICULTY, exc.message)
    source = cell(COL_SOURCE)
    if len(source) > 255:
        fail(COL_SOURCE, "来源不能超过 255 个字符。")
    return difficulty, source


def _row_spec(item_type: str | None, cell: Callable[[str], str], existing: Item | None,
              fail: Callable[[str, str], None]) -> dict[str, Any] | None:
    """选项, 答案, 计分规则, 评分要点 → the type's spec (:func:`_build_spec`), keeping the analysis
    the editor stored on the existing item (the sheet has no column for it)."""
    if item_type is None:
        return None
    spec = _build_spec(item_type, cell, fail)
    if spec is not None and existing is not None and existing.current_version is not None:
        analysis = existing.current_version.spec.get("analysis")
        if analysis and existing.item_type == item_type:
            spec["analysis"] = analysis
    return spec


def _repeated_item(checks: _FileChecks, number: int, item_type: str, cleaned: Cleaned) -> str | None:
    """Why the row repeats an earlier row's item (:func:`content_key`), or None (then the row
    is the first with this content)."""
    same = content_key(item_type, cleaned)
    if same in checks.first_row_of_content:
        return (f"第 {number} 行与第 {checks.first_row_of_content[same]} 行是完全相同的试题"
                "（题型、题干、选项和答案都相同），请删除其中一行。")
    checks.first_row_of_content[same] = number
    return None


def _row_action(existing: Item | None, cleaned: Cleaned, actor: User) -> tuple[str, str | None]:
    """create, update or unchanged; with why ``actor`` may not make the update, if so."""
    if existing is None:
        return "create", None
    if _same_content(existing.current_version, cleaned):
        return "unchanged", None
    return "update", _revise_problem(existing, actor)


def _normalised(value: Any) -> Any:
    """Strings in NFKC with runs of whitespace as one space, recursively."""
    if isinstance(value, str):
        return " ".join(unicodedata.normalize("NFKC", value).split())
    if isinstance(value, list):
        return [_normalised(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalised(v) for k, v in value.items()}
    return value


def content_key(item_type: str, cleaned: Cleaned) -> str:
    """What makes two rows the same item: the type, the stem and the spec (options, key or
    reference answer, scoring rule and points), after sanitising and whitespace/width
    normalisation. Explanation, source, difficulty and point do not make a different item."""
    return json.dumps([item_type, _normalised(cleaned.stem_html), _normalised(json.loads(cleaned.spec_json))],
                      ensure_ascii=False, sort_keys=True)


def _add_error(errors: list[tuple[int, str, str]], number: int, column: str, message: str) -> None:
    errors.append((number, column, message))


def _build_spec(
    item_type: str, cell: Callable[[str], str], fail: Callable[[str, str], None],
) -> dict[str, Any] | None:
    """The type's spec from the row, or None after reporting the problems with ``fail``."""
    ok = True
    options: list[str] = []
    gap: str | None = None
    for label, column in zip(OPTION_LABELS, OPTION_COLUMNS, strict=True):
        text = cell(column)
        if not text:
            gap = gap or label
            continue
        if gap is not None:
            fail(column, f"选项须按 A、B、C… 依次填写，选项{gap}为空时不能填写选项{label}。")
            ok = False
        options.append(cell_to_html(text))
    answer = cell(COL_ANSWER)
    rule_text = cell(COL_RULE)
    scoring_text = cell(COL_SCORING)
    rule: dict[str, Any] = {}
    try:
        rule = parse_rule(item_type, rule_text)
    except ValidationError as exc:
        fail(COL_RULE, exc.message)
        ok = False
    kind = get_type(item_type)
    fmt = excel_format(kind)
    if not kind.has_options and options:
        fail(OPTION_COLUMNS[0], f"{kind.label}不填写选项，请清空选项列（答案填写在「答案」列）。")
        ok = False
    if scoring_text and not fmt.scoring_points:
        fail(COL_SCORING, f"{kind.label}不需要填写评分要点。")
        ok = False
    if not answer:
        fail(COL_ANSWER, f"请填写{fmt.answer_hint}。{ANSWER_NOTATION}")
        return None
    if not ok:
        return None
    try:
        return fmt.parse_answer(kind, answer, options=options, rule=rule, scoring=scoring_text)
    except ValidationError as exc:
        fail(exc.field or COL_ANSWER, exc.message)
        return None


def _same_content(current: ItemVersion | None, cleaned: Cleaned) -> bool:
    if current is None:
        return False
    return (
        current.stem_html == cleaned.stem_html
        and json.loads(current.spec_json) == json.loads(cleaned.spec_json)
        and current.explanation_html == cleaned.explanation_html
        and (current.source or "") == cleaned.source
        and current.difficulty == cleaned.difficulty
    )


def _revise_problem(item: Item, actor: User) -> str | None:
    """Why :func:`items.revise_item` would refuse ``actor`` (checked before anything is written)."""
    if item.status not in EDITABLE:
        return f"试题 {item.code} 处于「{item.status_label}」状态，审核期间不能通过导入修改。"
    if item.status in (ItemStatus.DRAFT.value, ItemStatus.RETURNED.value):
        authors = {item.author_id} | {v.author_id for v in item.versions}
        if actor.id not in authors:
            return f"试题 {item.code} 是他人的草稿或退回修改的试题，只有其命题员可以修改。"
    if not access.can_revise(object_session(item), actor, item):  # type: ignore[arg-type]
        return f"试题 {item.code} 不是您编写的试题，且您没有本机构该职业的修订授权。"
    return None


# ---------------------------------------------------------------- near duplicates


def _duplicate_warnings(session: Session, rows: list[_Row]) -> list[DuplicateWarning]:
    """Stems of new or changed rows resembling an earlier such row or a current bank item.

    The bank part is one batched lookup in the persistent index (:mod:`itembank.stem_index`);
    the rows are checked against the rows before them in one index that grows row by row."""
    pending = [r for r in rows if r.action != "unchanged"]
    if not pending:
        return []
    queries = [duplicates.query_of(r.cleaned.stem_html) for r in pending]  # each stem hashed once
    in_bank = stem_index.find_many(
        session, [r.cleaned.stem_html for r in pending], threshold=DUPLICATE_THRESHOLD, queries=queries,
        excludes=[[r.existing.id] if r.existing is not None else [] for r in pending])
    hit_ids = sorted({item_id for hits in in_bank for item_id, _ in hits[:3]})
    codes: dict[int, str] = {}
    for start in range(0, len(hit_ids), stem_index.CHUNK):
        for item_id, code in session.execute(select(Item.id, Item.code).where(
                Item.id.in_(hit_ids[start:start + stem_index.CHUNK]))):
            codes[item_id] = code
    found: list[DuplicateWarning] = []
    in_file = duplicates.DuplicateIndex([])
    for row, query, bank_hits in zip(pending, queries, in_bank, strict=True):
        for other_row, sim in in_file.find_query(query, DUPLICATE_THRESHOLD)[:3]:
            found.append(DuplicateWarning(row.number, f"第 {other_row} 行", sim, in_bank=False))
        for hit, sim in bank_hits[:3]:
            found.append(DuplicateWarning(row.number, codes[hit], sim, in_bank=True))
        in_file.add_query(row.number, query)
    return found


# ---------------------------------------------------------------- import


def import_items(session: Session, actor: User, blueprint: Blueprint, data: bytes) -> ImportResult:
    """Import items into ``blueprint`` from an .xlsx file, all or nothing (see the module doc)."""
    require_role(actor, Role.QUESTION_WRITER)
    index, rows = _read_rows(data)
    parsed, errors = _parse_rows(session, actor, blueprint, index, rows)
    if errors:
        raise RowErrors(errors)
    warnings_found = _duplicate_warnings(session, parsed)
    created = updated = unchanged = 0
    current: _Row | None = None
    named = {r.code for r in parsed if r.code}  # a generated code never takes one a later row names
    try:
        with session.begin_nested():  # belt and braces: a refusal mid-way undoes the earlier rows
            for current in parsed:
                if current.action == "create":
                    code = current.code or new_item_code(session, current.point, named)
                    create_item(session, actor, point_id=current.point.id, item_type=current.item_type,
                                content=current.content, code=code)
                    created += 1
                elif current.action == "update":
                    assert current.existing is not None
                    revise_item(session, actor, current.existing.id, current.content, note="Excel 批量导入修订")
                    updated += 1
                else:
                    unchanged += 1
    except DomainError as exc:
        row = current.number if current is not None else 0
        column = _column_of(exc.field) if exc.field else COL_CODE
        raise RowErrors([(row, column, exc.message)]) from exc
    audit.record(session, actor, "item.import", "blueprint", blueprint.id, after={
        "created": created, "updated": updated, "unchanged": unchanged, "rows": len(parsed),
        "duplicate_warnings": len(warnings_found),
    })
    return ImportResult(created, updated, unchanged, warnings_found)


# ---------------------------------------------------------------- template and export

_WIDTHS = {COL_CODE: 16, COL_TYPE: 10, COL_POINT: 14, COL_STEM: 48, COL_ANSWER: 18, COL_DIFFICULTY: 8,
           COL_EXPLANATION: 30, COL_SOURCE: 18, COL_RULE: 14, COL_SCORING: 30, COL_STATUS: 10, COL_VERSION: 6,
           COL_BLUEPRINT: 30}


def _write_header(sheet: Any, columns: Sequence[str]) -> None:
    write_header(sheet, columns, _WIDTHS, default_width=16)


def _append(sheet: Any, values: Sequence[Any]) -> None:
    """Append a data row: text stays text (never a formula), multi-line text wraps."""
    append_row(sheet, values, wrap_multiline=True)


EXAMPLE_ROWS: tuple[tuple[Any, ...], ...] = (
    ("", "单选题", "A-A-001", "电流通过导体时产生的热量与（  ）成正比。",
     "电流", "电流的平方", "电压", "时间的平方", "", "", "B", "中", "焦耳定律：Q = I²Rt。", "国家职业技能标准", "", ""),
    ("", "多选题", "A-A-001", "下列属于安全电压等级的有（  ）。",
     "42 V", "36 V", "24 V", "220 V", "", "", "ABC", 0.6, "", "", "少选得分 0.5", ""),
    ("", "判断题", "A-A-002", "使用万用表测量电阻时，必须先断开被测电路的电源。",
     "", "", "", "", "", "", "√", "易", "", "", "", ""),
    ("", "填空题", "A-A-002", "欧姆定律的表达式是______，我国民用交流电的电压是______伏。",
     "", "", "", "", "", "", "I=U/R｜I = U/R；220｜220V", "较易", "", "", "", ""),
    ("", "简答题", "A-A-003", "简述触电急救的基本步骤。",
     "", "", "", "", "", "", "迅速脱离电源；判断意识和呼吸；进行心肺复苏并呼救。", "较难", "", "", "",
     "脱离电源（2分）\n判断伤员状况（1分）\n正确实施心肺复苏（2分）"),
    ("", "计算题", "A-A-003", "某电阻两端电压为 220 V，通过的电流为 2 A，求该电阻的阻值。",
     "", "", "", "", "", "", "R = U / I = 220 / 2 = 110 Ω", 0.55, "", "", "", "写出公式（2分）；计算结果正确（2分）"),
    ("", "论述题", "A-A-003", "论述电气设备接地与接零保护的区别及各自的适用场合。",
     "", "", "", "", "", "", "接地保护适用于中性点不接地系统……；接零保护适用于中性点直接接地系统……", "难", "", "",
     "字数上限 3000", ""),
)

_NOTES: tuple[tuple[str, str], ...] = (
    ("列名", "填写说明"),
    (COL_CODE, "选填。试题的唯一编码，用于重复导入时识别同一道题。首次导入可留空，由系统生成；"
               "修改已有试题时，请先导出，在导出的文件上修改后再导入。"),
    (COL_TYPE, "必填。单选题、多选题、判断题、填空题、简答题、计算题、论述题（也可填「单选」「判断」等简称）。"),
    (COL_POINT, "必填。导入时所选细目表中的鉴定点编码，如 A-B-C-001（须是鉴定点，不能是鉴定范围）。"),
    (COL_STEM, "必填。题干文字；单元格内换行会保留。公式用 \\( … \\) 或 \\[ … \\] 书写。"
               "需要表格、图片等格式时可直接填写试题 HTML（如 <p>…</p>）。"),
    ("选项A…选项F", "单选题填 4 个选项（A–D）；多选题填 4–6 个选项；须从 A 开始依次填写，中间不能空。其他题型留空。"),
    (COL_ANSWER, "必填。" + ANSWER_NOTATION),
    (COL_DIFFICULTY, "选填。预估答对率（0–1 之间，如 0.65），或填「易」「较易」「中」「较难」「难」，"
                     "分别按 0.85、0.7、0.55、0.4、0.25 记录。"),
    (COL_EXPLANATION, "选填。答案解析，仅命题、审题人员可见。"),
    (COL_SOURCE, "选填。试题来源，如「国家职业技能标准」。"),
    (COL_RULE, "选填。多选题：「全对得分」（默认）、「少选得分」（少选得一半，可写比例如「少选得分 0.5」）"
               "或「按比例得分」；填空题：「按顺序」（默认）或「不分顺序」；"
               "简答、计算、论述题：「字数上限 N」。其他题型留空。"),
    (COL_SCORING, "简答、计算、论述题选填。每个评分要点一行（或用「；」分隔），以分值结尾，如「写出欧姆定律（2分）」；"
                  "留空时记为一个要点「按参考答案评分（10分）」。阅卷时按试卷分值折算。"),
    ("", ""),
    ("导入规则", "任何一行有错误时，整份文件都不会导入，页面会列出所有错误的行号、列名和原因。"),
    ("", "按试题编码匹配：编码已存在且内容相同的试题不做任何改动；内容有变化的试题会被修改"
         "（已提交审核过的版本会生成新版本，重新进入草稿状态）；新编码或未填编码的行新增为草稿。"),
    ("", "已提交审题、待终审或已停用的试题不能通过导入修改。导入不能修改已有试题的题型和鉴定点。"),
    ("", "文件中两行的题型、题干、选项和答案完全相同时，整份文件不会导入，请删除重复的行。"),
    ("", "与文件中其他行或题库中已有试题题干相似的，导入后会列出疑似重题提示，请核对。"),
    ("", f"「{EXAMPLE_SHEET}」工作表中有各题型的填写示例；请在「{SHEET_NAME}」工作表中填写，"
         f"一次最多 {MAX_IMPORT_ROWS} 道。"),
    ("", "导出文件末尾的状态、版本、细目表三列仅供查看，导入时忽略。"),
)


def item_template_bytes() -> bytes:
    """The import template: an empty 试题 sheet with drop-downs, a 说明 sheet and a 示例 sheet."""
    workbook, sheet = new_workbook(SHEET_NAME)
    _write_header(sheet, IMPORT_COLUMNS)
    type_col = get_column_letter(IMPORT_COLUMNS.index(COL_TYPE) + 1)
    add_list_validation(sheet, [k.label for k in ITEM_TYPES.values()], f"{type_col}2:{type_col}{MAX_IMPORT_ROWS + 1}")

    add_notes(workbook, _NOTES, widths=(16, 100), wrap=True)

    examples = workbook.create_sheet(EXAMPLE_SHEET)
    _write_header(examples, IMPORT_COLUMNS)
    for values in EXAMPLE_ROWS:
        _append(examples, values)
    return workbook_bytes(workbook)


def item_row(item: Item) -> list[Any]:
    """One export row (:data:`EXPORT_COLUMNS`) for the item's current version."""
    version = item.current_version
    if version is None:
        raise ValueError(f"item {item.code} has no version")
    spec = version.spec
    kind = get_type(item.item_type)
    options = [html_to_cell(o["html"]) for o in spec.get("options", ())][: len(OPTION_COLUMNS)]
    options += [""] * (len(OPTION_COLUMNS) - len(options))
    fmt = excel_format(kind)
    answer = fmt.format_answer(kind, spec)
    scoring = fmt.format_scoring(kind, spec)
    return [
        item.code, kind.label, item.point.code, html_to_cell(version.stem_html), *options, answer,
        version.difficulty if version.difficulty is not None else "", html_to_cell(version.explanation_html or ""),
        version.source or "", fmt.format_rule(kind, spec), scoring,
        ItemStatus(item.status).label, version.number, item.point.blueprint.name,
    ]


def export_items_bytes(items: Iterable[Item]) -> bytes:
    """The items' current versions as .xlsx in the import layout; re-importing it changes nothing.
    Written row by row to a write-only sheet (:func:`foundation.xlsx.new_workbook`): memory and
    time grow linearly with the items, and ``items`` may be a stream (one row at a time)."""
    workbook, sheet = new_workbook(SHEET_NAME)
    _write_header(sheet, EXPORT_COLUMNS)
    for item in items:
        if item.current_version is not None:
            _append(sheet, item_row(item))
    return workbook_bytes(workbook)


EXPORT_BATCH = 500  # items an export loads from the database at a time
AUDIT_CODES = 50  # item codes an export's audit entry names


def stream_items(session: Session, stmt: Select[Item]) -> Iterator[Item]:
    """The items of ``stmt`` (e.g. :func:`itembank.items.item_query`) loaded :data:`EXPORT_BATCH`
    at a time, with the point and blueprint each export row names: an export holds one batch of
    items, however many it writes."""
    stmt = stmt.options(joinedload(Item.point).joinedload(BlueprintNode.blueprint))
    yield from session.scalars(stmt.execution_options(yield_per=EXPORT_BATCH))


@dataclasses.dataclass
class ExportTally:
    """The items an export streams, passed through: counts them and keeps the first
    :data:`AUDIT_CODES` codes for :func:`record_export`."""

    items: Iterable[Item]
    count: int = 0
    codes: list[str] = dataclasses.field(default_factory=list)

    def __iter__(self) -> Iterator[Item]:
        for item in self.items:
            self.count += 1
            if len(self.codes) < AUDIT_CODES:
                self.codes.append(item.code)
            yield item


def record_export(session: Session, actor: User, fmt: str, count: int, codes: Sequence[str],
                  filters: Mapping[str, str] | None = None) -> None:
    """Audit an export of ``count`` items (with their answer keys) by the bank's staff;
    ``codes``: the first of them (at most :data:`AUDIT_CODES` are kept)."""
    require_role(actor, Role.CENTRE_ADMIN, Role.QUESTION_WRITER, Role.ITEM_REVIEWER)
    audit.record(session, actor, "item.export", "item", "-", after={
        "format": fmt, "count": count, "filters": dict(filters or {}), "codes": list(codes[:AUDIT_CODES]),
    })
