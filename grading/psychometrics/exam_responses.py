"""Response sets from exams (从认定批次生成作答数据): the theory answers of seated exams as a
:class:`~grading.psychometrics.models.ResponseSet` (source ``batch``) for calibration and DIF.

:func:`build_exam_response_set` takes either **one batch** (认定批次) or **a date range** of
theory sittings (Beijing calendar days, inclusive), and one blueprint (细目表):

* **rows** are attempts (:class:`examroom.models.Attempt`) that closed normally — submitted
  (已交卷) or collected at time-up (已到时收卷). Terminated attempts (已终止考试, a proctor
  ended them for misconduct) are left out, and so are attempts not yet closed; the counts are
  in the set's name and in the audit entry (a :class:`ResponseSet` has no description
  column). A candidate who sat twice in the range is two rows. Rows are ordered by sitting
  start, then attempt id;
* **columns** are the items of the chosen blueprint that appear on any of the attempts' forms
  (all parallel forms, all papers of the range), by item id in 试题编码 order. Only
  auto-scored types are columns (单选、多选、判断、填空): examiner-scored items have no
  dichotomous score here. Items of other blueprints on a form are ignored;
* **cells**: NaN where the item was not on the attempt's form (missing by design); 1 when the
  response earned the item's full points, else 0 — an unanswered presented item (including
  items an expired attempt never reached) is 0. The stored ``Response.score`` (written by
  :func:`examroom.attempts.score_attempt`) is used when present, otherwise the response is
  scored now with the item type and the version the form pinned (nothing is written back);
* **choices** as the import records them (:func:`grading.psychometrics.responses.encode_choice`): the
  option labels the candidate chose. Options are shuffled per candidate only in display order
  (:func:`examroom.attempts._render_item` keeps each option's label), so the stored value
  already names the original option;
* **groups** 性别、年龄段、地区、机构: gender from the ID number's 17th digit, the age band
  at the sitting's date from the birth date in the ID number, the province (GB/T 2260, the
  ID number's first two digits) and the batch's institution. An unreadable ID number gives
  empty (missing) labels.

A reviewer builds sets only for the blueprints of their assigned occupations (another
blueprint, or a batch whose theory papers use one, is :class:`NotFound`), and the columns are
only the items they may read (:mod:`itembank.access`).

Nothing to calibrate (no closed attempt, or none with an auto-scored item of the blueprint)
is refused with a Chinese message and nothing is written. The set is audited as
``response_set.batch``. No Flask.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from examroom.batches import session_date
from examroom.lifecycle import Status
from examroom.models import Attempt, Batch, BatchModule, ExamSession, ModuleKind, Response
from foundation.accounts import User
from foundation.calendar import BEIJING
from foundation.errors import NotFound, ValidationError
from foundation.idcard import id_number_problem
from foundation.roles import require_role
from grading.psychometrics.models import ResponseSet
from grading.psychometrics.responses import (
    ANALYSTS,
    MAX_EXAMINEES,
    MAX_ITEMS,
    MAX_NAME,
    clean_name,
    encode_choice,
    get_blueprint,
    store_response_set,
)
from itembank import access
from itembank.itemtypes import ItemType, get_type
from itembank.models import Blueprint, BlueprintNode, Item, Paper, PaperItem

__all__ = [
    "AGE_BANDS",
    "GROUP_NAMES",
    "MAX_RANGE_DAYS",
    "PROVINCES",
    "age_band",
    "build_exam_response_set",
    "exam_groups",
    "theory_blueprints_of_batch",
]

GROUP_NAMES = ("性别", "年龄段", "地区", "机构")
#: (lowest age, highest age, label); the middle bands match the simulated groups.
AGE_BANDS: tuple[tuple[int, int, str], ...] = (
    (0, 17, "17岁及以下"),
    (18, 30, "18–30岁"),
    (31, 45, "31–45岁"),
    (46, 60, "46–60岁"),
    (61, 200, "61岁及以上"),
)
#: GB/T 2260 province-level codes (ID number positions 1–2).
PROVINCES: dict[str, str] = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
    "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省", "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区", "46": "海南省",
    "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
    "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区", "65": "新疆维吾尔自治区",
    "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区",
}
#: The longest date range one set may cover.
MAX_RANGE_DAYS = 366

_CLOSED = (Status.SUBMITTED.value, Status.EXPIRED.value)
_UNFINISHED = (Status.NOT_STARTED.value, Status.WAITING.value, Status.IN_PROGRESS.value, Status.PAUSED.value)


# ---------------------------------------------------------------------------- groups


def age_band(birth: dt.date, on: dt.date) -> str:
    """The age band (see :data:`AGE_BANDS`) of someone born on ``birth`` at the date ``on``."""
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    for low, high, label in AGE_BANDS:
        if low <= age <= high:
            return label
    return ""


def exam_groups(id_number: str | None, on: dt.date, institution: str) -> tuple[str, str, str, str]:
    """(性别, 年龄段, 地区, 机构) of a candidate; "" for what the ID number does not tell."""
    v = (id_number or "").strip().upper()
    if id_number_problem(v) is not None:
        return "", "", "", institution
    gender = "男" if int(v[16]) % 2 == 1 else "女"
    birth = dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    return gender, age_band(birth, on), PROVINCES.get(v[:2], ""), institution


# ---------------------------------------------------------------------------- scope


def theory_blueprints_of_batch(session: Session, batch_id: int) -> list[Blueprint]:
    """The blueprints of the papers of a batch's theory sittings (usually exactly one)."""
    stmt = (select(Paper.blueprint_id).join(ExamSession, ExamSession.paper_id == Paper.id)
            .join(BatchModule, BatchModule.id == ExamSession.module_id)
            .where(BatchModule.batch_id == batch_id, BatchModule.kind == ModuleKind.THEORY.value)
            .distinct())
    return [session.get_one(Blueprint, bp_id) for bp_id in sorted(session.scalars(stmt))]


def _sittings_stmt(blueprint_id: int) -> Any:
    return (select(ExamSession).join(BatchModule, BatchModule.id == ExamSession.module_id)
            .join(Paper, Paper.id == ExamSession.paper_id)
            .where(BatchModule.kind == ModuleKind.THEORY.value, Paper.blueprint_id == blueprint_id)
            .options(selectinload(ExamSession.module).selectinload(BatchModule.batch))
            .order_by(ExamSession.starts_at, ExamSession.id))


def _as_date(value: Any, what: str, field_name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError(f"请填写有效的{what}（如 2026-10-16）。", field=field_name)


@dataclass
class _Scope:
    sittings: list[ExamSession]
    label: str  # names the scope in the set's default name and messages
    details: dict[str, Any] = field(default_factory=dict)


def _scope(session: Session, actor: User, blueprint_id: int | None, batch_id: int | None, date_from: Any,
           date_to: Any) -> tuple[Blueprint, _Scope]:
    if batch_id is not None and (date_from is not None or date_to is not None):
        raise ValidationError("请选择一个认定批次，或填写日期范围，二者只能选其一。")
    if batch_id is not None:
        if isinstance(batch_id, bool) or not isinstance(batch_id, int):
            raise NotFound("认定批次不存在。")
        batch = session.get(Batch, batch_id)
        if batch is None:
            raise NotFound("认定批次不存在。")
        if blueprint_id is None:
            found = theory_blueprints_of_batch(session, batch.id)
            if not found:
                raise ValidationError(f"认定批次「{batch.name}」没有指定了试卷的理论知识考试场次，无法生成作答数据。")
            if len(found) > 1:
                raise ValidationError(f"认定批次「{batch.name}」的理论试卷属于多个细目表，请选择细目表。",
                                      field="blueprint_id")
            blueprint = get_blueprint(session, actor, found[0].id)
        else:
            blueprint = get_blueprint(session, actor, blueprint_id)
        sittings = list(session.scalars(_sittings_stmt(blueprint.id).where(BatchModule.batch_id == batch.id)))
        if not sittings:
            raise ValidationError(f"认定批次「{batch.name}」没有使用细目表「{blueprint.target_label}」试卷的"
                                  "理论知识考试场次，无法生成作答数据。")
        return blueprint, _Scope(sittings, f"认定批次「{batch.name}」", {"batch_id": batch.id})

    if date_from is None or date_to is None:
        raise ValidationError("请选择认定批次，或填写开始和结束日期。")
    start = _as_date(date_from, "开始日期", "date_from")
    end = _as_date(date_to, "结束日期", "date_to")
    if end < start:
        raise ValidationError("结束日期不能早于开始日期。", field="date_to")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ValidationError(f"日期范围最长 {MAX_RANGE_DAYS} 天，请缩小范围。", field="date_to")
    if blueprint_id is None:
        raise ValidationError("按日期范围生成时请选择细目表。", field="blueprint_id")
    blueprint = get_blueprint(session, actor, blueprint_id)
    # Beijing calendar days → UTC bounds (sittings are stored in UTC).
    lower = dt.datetime.combine(start, dt.time(), tzinfo=BEIJING).astimezone(dt.UTC)
    upper = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=BEIJING).astimezone(dt.UTC)
    stmt = _sittings_stmt(blueprint.id).where(ExamSession.starts_at >= lower, ExamSession.starts_at < upper)
    sittings = [s for s in session.scalars(stmt) if start <= session_date(s.starts_at) <= end]
    when = start.isoformat() if start == end else f"{start.isoformat()} 至 {end.isoformat()}"
    if not sittings:
        raise ValidationError(f"{when} 没有使用细目表「{blueprint.target_label}」试卷的理论知识考试场次，"
                              "无法生成作答数据。")
    return blueprint, _Scope(sittings, when, {"date_from": start.isoformat(), "date_to": end.isoformat()})


# ---------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class _Cell:
    column: int
    item_type: ItemType
    code: str
    spec: dict[str, Any]
    points: float


def _form_columns(session: Session, actor: User, form_ids: Sequence[int], blueprint_id: int
                  ) -> tuple[list[Item], dict[int, dict[int, _Cell]]]:
    """The columns (auto-scored items of the blueprint over all forms that ``actor`` may read,
    by code) and, per form, its paper items that are columns: {form id: {paper item id: cell}}."""
    stmt = (select(PaperItem, Item).join(Item, Item.id == PaperItem.item_id)
            .join(BlueprintNode, BlueprintNode.id == Item.point_id)
            .where(PaperItem.form_id.in_(form_ids), BlueprintNode.blueprint_id == blueprint_id)
            .options(selectinload(PaperItem.version)))
    if (clause := access.item_clause(actor)) is not None:
        stmt = stmt.where(clause)
    rows = list(session.execute(stmt).unique())
    kept = [(pi, item) for pi, item in rows if get_type(item.item_type).auto_scored]
    items = sorted({item.id: item for _, item in kept}.values(), key=lambda i: (i.code, i.id))
    column = {item.id: k for k, item in enumerate(items)}
    forms: dict[int, dict[int, _Cell]] = {fid: {} for fid in form_ids}
    for pi, item in kept:
        forms[pi.form_id][pi.id] = _Cell(column[item.id], get_type(item.item_type), item.item_type,
                                         pi.version.spec, float(pi.points))
    return items, forms


def _score(cell: _Cell, row: Response | None) -> tuple[float, int]:
    """(1/0, choice code) of one presented item."""
    if row is None:
        return 0.0, -1
    value = json.loads(row.value_json)
    if row.score is not None and cell.points > 0:
        correct = float(row.score) >= cell.points - 0.005  # Numeric(6, 2)
    else:
        marks = cell.item_type.score(cell.spec, value, 1.0)
        correct = marks is not None and marks >= 1.0 - 1e-9
    choice = -1
    if cell.item_type.is_choice:
        try:
            cleaned = cell.item_type.clean_response(cell.spec, value)
        except ValidationError:
            cleaned = None
        if cleaned is not None:
            labels = cell.item_type.response_labels(cleaned)
            choice = encode_choice(cell.code, labels)
    return (1.0 if correct else 0.0), choice


# ---------------------------------------------------------------------------- the service


def build_exam_response_set(
    session: Session,
    actor: User,
    *,
    blueprint_id: int | None = None,
    batch_id: int | None = None,
    date_from: dt.date | str | None = None,
    date_to: dt.date | str | None = None,
    name: str | None = None,
) -> ResponseSet:
    """Build a response set (source ``batch``) from the closed theory attempts of one batch or
    of the sittings in ``date_from``–``date_to`` (Beijing days, inclusive), for one blueprint.

    With a batch the blueprint may be omitted when the batch's theory papers share one.
    Layout, scoring, choices and groups: see the module docstring. Raises
    :class:`ValidationError` / :class:`NotFound` (Chinese) and writes nothing when there is
    nothing to calibrate. Audited as ``response_set.batch``.
    """
    require_role(actor, *ANALYSTS)
    if name is not None and name.strip():
        name = clean_name(name)
    blueprint, scope = _scope(session, actor, blueprint_id, batch_id, date_from, date_to)
    sitting_ids = [s.id for s in scope.sittings]
    sitting_of = {s.id: s for s in scope.sittings}

    status_counts: dict[str, int] = {}
    for status, in session.execute(select(Attempt.status).where(Attempt.exam_session_id.in_(sitting_ids))):
        status_counts[status] = status_counts.get(status, 0) + 1
    terminated = status_counts.get(Status.TERMINATED.value, 0)
    unfinished = sum(status_counts.get(s, 0) for s in _UNFINISHED)
    excluded_note = "；".join(
        text for n, text in ((terminated, f"已排除终止考试 {terminated} 人"),
                             (unfinished, f"未收卷 {unfinished} 人未计入")) if n)

    attempts = list(session.scalars(
        select(Attempt).where(Attempt.exam_session_id.in_(sitting_ids), Attempt.status.in_(_CLOSED))
        .options(selectinload(Attempt.candidate))
    ))
    if not attempts:
        extra = f"（{excluded_note}）" if excluded_note else ""
        raise ValidationError(f"{scope.label}没有已交卷或到时收卷的理论考试作答{extra}，无法生成作答数据。")
    attempts.sort(key=lambda a: (sitting_of[a.exam_session_id].starts_at, a.id))

    form_ids = sorted({a.paper_form_id for a in attempts})
    items, forms = _form_columns(session, actor, form_ids, blueprint.id)
    presented = [a for a in attempts if forms[a.paper_form_id]]
    if not items or not presented:
        raise ValidationError(f"{scope.label}的作答中没有细目表「{blueprint.target_label}」下可自动评分的试题"
                              "（单选、多选、判断、填空），无法生成作答数据。")
    if len(presented) > MAX_EXAMINEES:
        raise ValidationError(f"一次最多 {MAX_EXAMINEES} 名考生的作答，请缩小日期范围。")
    if len(items) > MAX_ITEMS:
        raise ValidationError(f"一次最多 {MAX_ITEMS} 道试题的作答，请缩小日期范围。")

    row_of = {a.id: r for r, a in enumerate(presented)}
    responses: dict[int, dict[int, Response]] = {a.id: {} for a in presented}
    stmt = (select(Response).join(Attempt, Attempt.id == Response.attempt_id)
            .where(Attempt.exam_session_id.in_(sitting_ids), Attempt.status.in_(_CLOSED)))
    for response in session.scalars(stmt):
        if response.attempt_id in responses:
            responses[response.attempt_id][response.paper_item_id] = response

    n, j = len(presented), len(items)
    scores = np.full((n, j), np.nan, dtype=np.float32)
    choices = np.full((n, j), -1, dtype=np.int8)
    groups = np.full((n, len(GROUP_NAMES)), "", dtype=object)
    for attempt in presented:
        r = row_of[attempt.id]
        answered = responses[attempt.id]
        for paper_item_id, cell in forms[attempt.paper_form_id].items():
            scores[r, cell.column], choices[r, cell.column] = _score(cell, answered.get(paper_item_id))
        sitting = sitting_of[attempt.exam_session_id]
        groups[r] = exam_groups(attempt.candidate.id_number, session_date(sitting.starts_at),
                                sitting.module.batch.institution.name)

    if not name:
        base = f"{scope.label} {blueprint.occupation.name}理论作答"
        suffix = f"（{excluded_note}）" if excluded_note else ""
        name = base[: MAX_NAME - len(suffix)] + suffix
    without_items = len(attempts) - n
    details: dict[str, Any] = {
        **scope.details, "sessions": sitting_ids, "attempts": n, "submitted": sum(
            1 for a in presented if a.status == Status.SUBMITTED.value),
        "expired": sum(1 for a in presented if a.status == Status.EXPIRED.value),
        "terminated_excluded": terminated, "unfinished_excluded": unfinished,
        "without_blueprint_items": without_items, "forms": form_ids,
    }
    return store_response_set(session, actor, name=name, source="batch", blueprint=blueprint, items=items,
                              scores=scores, choices=choices, group_names=GROUP_NAMES, groups=groups.astype(str),
                              details=details)
