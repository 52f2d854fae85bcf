"""Skill-operation scoring (操作技能考核评分): score sheets, blind until signed, the mean, the
chief's reconciliation, absences, and the skill component result.

Each examiner of a skill sitting's group (考评组) scores each candidate with a station (工位)
alone, on the sitting's skill task's score-sheet template: points per criterion (0 to its 配分,
one decimal at most) and a deduction note. Drafts are saved as the examiner types; signing
(签名) makes the sheet final. Rules enforced here:

* **blind until signed**: a sheet is read by its own examiner only, until every examiner of
  the group has signed that candidate's sheet; then the group, the chief, the institution's
  admin and the centre read them all (:func:`read_sheet`, :func:`may_read_sheets`);
* **avoidance** (回避, :mod:`examroom.avoidance`): no sheet for a candidate of the examiner's
  own employer;
* **the score** is the mean of the signed sheets' totals, rounded half up to one decimal; when
  max − min of the totals exceeds rule ``skill_reconcile_spread`` (default 10 points) the
  chief examiner (组长) reconciles with a written reason (required) and the reconciled score
  stands;
* **the component result** (``component_result``, component ``skill``, one per registration
  and sitting): ``pending`` while sheets are outstanding or a reconciliation is due, ``scored``
  with the mean or the reconciled score, ``absent`` when the chief or the institution's admin
  marks the candidate absent (缺考) before anyone signed.

Every write is audited. The statistics of a group's examiners are in
:mod:`grading.results.examiner_stats` (pure) and :func:`group_matrix` (their input).
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from examroom import avoidance
from examroom.batches import session_date
from examroom.models import Batch, BatchCandidate, ExamSession, ModuleKind, SkillStation
from examroom.stations import register_scoring_check, skill_sitting
from foundation import audit
from foundation.accounts import User
from foundation.db import utcnow
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.roles import Role, require_role
from foundation.settings import get_rule
from grading.results.models import ComponentResult, ScoreSheet, SkillReconciliation
from itembank.models import SkillCriterion, SkillTask
from itembank.skill_tasks import plain_decimal

COMPONENT = "skill"
ONE_DECIMAL = Decimal("0.1")
MAX_NOTE = 500
MAX_COMMENT = 2000


# ---------------------------------------------------------------- who is who


def group_ids(sitting: ExamSession) -> list[int]:
    """The user ids of the sitting's examiner group."""
    return [row.user_id for row in sitting.examiners]


def is_chief(sitting: ExamSession, user: User) -> bool:
    return any(row.user_id == user.id and row.is_chief for row in sitting.examiners)


def _examiner_sitting(session: Session, actor: User, exam_session_id: int) -> tuple[Batch, ExamSession]:
    """The skill sitting, if ``actor`` is an active examiner of its group."""
    require_role(actor, Role.EXAMINER)
    batch, sitting = skill_sitting(session, exam_session_id)
    if actor.id not in group_ids(sitting):
        raise PermissionDenied("您不在该场次的考评组中。")
    return batch, sitting


def may_oversee(actor: User, batch: Batch) -> bool:
    """The institution's admin and the centre see a sitting's board (never unsigned sheets)."""
    if not actor.active:
        return False
    return actor.role == Role.CENTRE_ADMIN or (
        actor.role == Role.INSTITUTION_ADMIN and actor.institution_id == batch.institution_id)


def station_of(sitting: ExamSession, registration_id: int) -> SkillStation:
    row = next((s for s in sitting.stations if s.registration_id == registration_id), None)
    if row is None:
        raise NotFound("该考生未在本场次安排工位。")
    return row


def task_of(sitting: ExamSession) -> SkillTask:
    task = sitting.skill_task
    if task is None:
        raise ValidationError("该场次尚未指定技能操作试题，不能评分。")
    return task


# ---------------------------------------------------------------- marks


def _parse_mark(raw: Any, criterion: SkillCriterion, row: int) -> Decimal | None:
    """Points awarded for ``criterion``: None when blank, else 0..配分, one decimal at most."""
    if raw is None or not str(raw).strip():
        return None
    value = plain_decimal(raw)
    if value is None:
        raise ValidationError(f"第 {row} 项「{criterion.name}」的得分不是有效的数字。", field=f"mark_{criterion.id}")
    if not 0 <= value <= Decimal(str(criterion.points)):
        raise ValidationError(f"第 {row} 项「{criterion.name}」的得分应在 0 到 {criterion.points:g} 分之间。",
                              field=f"mark_{criterion.id}")
    if value != value.quantize(ONE_DECIMAL):
        raise ValidationError(f"第 {row} 项「{criterion.name}」的得分最多保留一位小数。", field=f"mark_{criterion.id}")
    return value.quantize(ONE_DECIMAL)


@dataclasses.dataclass(frozen=True)
class CleanMarks:
    marks: dict[str, str]
    notes: dict[str, str]
    comment: str
    total: Decimal | None  # None unless every criterion has a mark
    missing: list[str]


def clean_marks(task: SkillTask, marks: dict[str, Any], notes: dict[str, Any], comment: str) -> CleanMarks:
    """Validate a sheet's marks against the task's criteria (unknown keys are refused)."""
    if not isinstance(marks, dict) or not isinstance(notes, dict):
        raise ValidationError("评分数据格式不正确。")
    known = {str(c.id) for c in task.criteria}
    stray = (set(marks) | set(notes)) - known
    if stray:
        raise ValidationError("评分数据含有不属于本评分记录表的项目。")
    out: dict[str, str] = {}
    out_notes: dict[str, str] = {}
    missing: list[str] = []
    total = Decimal(0)
    for row, criterion in enumerate(task.criteria, start=1):
        key = str(criterion.id)
        value = _parse_mark(marks.get(key), criterion, row)
        if value is None:
            missing.append(criterion.name)
        else:
            out[key] = f"{value:f}"
            total += value
        note = notes.get(key)
        note_text = str(note).strip() if note is not None else ""
        if len(note_text) > MAX_NOTE:
            raise ValidationError(f"第 {row} 项的扣分说明不能超过 {MAX_NOTE} 个字。", field=f"note_{key}")
        if note_text:
            out_notes[key] = note_text
    comment_text = str(comment or "").strip()
    if len(comment_text) > MAX_COMMENT:
        raise ValidationError(f"评语不能超过 {MAX_COMMENT} 个字。", field="comment")
    return CleanMarks(out, out_notes, comment_text, None if missing else total, missing)


# ---------------------------------------------------------------- sheets


def _registration(batch: Batch, registration_id: int) -> BatchCandidate:
    row = next((c for c in batch.candidates if c.id == registration_id), None)
    if row is None:
        raise NotFound("考生不存在。")
    return row


def _result(session: Session, sitting: ExamSession, registration_id: int) -> ComponentResult | None:
    return session.scalar(select(ComponentResult).where(
        ComponentResult.registration_id == registration_id, ComponentResult.component == COMPONENT,
        ComponentResult.exam_session_id == sitting.id))


def sheets_of(session: Session, sitting: ExamSession, registration_id: int) -> list[ScoreSheet]:
    return list(session.scalars(select(ScoreSheet).where(
        ScoreSheet.exam_session_id == sitting.id, ScoreSheet.registration_id == registration_id)
        .order_by(ScoreSheet.id)))


def all_signed(session: Session, sitting: ExamSession, registration_id: int) -> bool:
    """Every examiner of the group has signed the candidate's sheet."""
    signed = {s.examiner_id for s in sheets_of(session, sitting, registration_id) if s.signed}
    group = set(group_ids(sitting))
    return bool(group) and group <= signed


def open_sheet(session: Session, actor: User, exam_session_id: int, registration_id: int) -> ScoreSheet:
    """The examiner's own sheet for a candidate of the sitting (created as an empty draft)."""
    batch, sitting = _examiner_sitting(session, actor, exam_session_id)
    registration = _registration(batch, registration_id)
    station_of(sitting, registration_id)
    task_of(sitting)
    if avoidance.same_employer(actor, registration):
        raise PermissionDenied(avoidance.conflict_message(actor, registration))
    result = _result(session, sitting, registration_id)
    sheet = session.scalar(select(ScoreSheet).where(
        ScoreSheet.exam_session_id == sitting.id, ScoreSheet.registration_id == registration_id,
        ScoreSheet.examiner_id == actor.id))
    if sheet is not None:
        return sheet
    if result is not None and result.state == "absent":
        raise ValidationError("该考生已记为缺考，不能评分。")
    sheet = ScoreSheet(exam_session_id=sitting.id, registration_id=registration_id, examiner_id=actor.id,
                       marks={}, notes={}, comment="", revision=0)
    session.add(sheet)
    session.flush()
    _settle(session, batch, sitting, registration)
    audit.record(session, actor, "score_sheet.create", "score_sheet", sheet.id,
                 after={"session_id": sitting.id, "registration_id": registration_id})
    return sheet


def _own_sheet(session: Session, actor: User, sheet_id: int) -> tuple[Batch, ExamSession, ScoreSheet]:
    require_role(actor, Role.EXAMINER)
    sheet = session.get(ScoreSheet, sheet_id)
    if sheet is None or sheet.examiner_id != actor.id:
        raise NotFound("评分记录表不存在。")
    batch, sitting = _examiner_sitting(session, actor, sheet.exam_session_id)
    return batch, sitting, sheet


def save_draft(session: Session, actor: User, sheet_id: int, *, marks: dict[str, Any], notes: dict[str, Any],
               comment: str, revision: int) -> tuple[ScoreSheet, bool]:
    """Store a draft of the examiner's own unsigned sheet. ``revision`` is the page's counter:
    a draft older than (or as old as) the stored one is ignored, so drafts replayed from the
    browser's storage after a lost connection never undo newer ones. Returns the sheet and
    whether this draft was stored. Not audited entry by entry (the signature is)."""
    _batch, sitting, sheet = _own_sheet(session, actor, sheet_id)
    if sheet.signed:
        raise ValidationError("评分记录表已签名，不能再修改。")
    if not isinstance(revision, int) or isinstance(revision, bool) or not 0 < revision < 2**31:
        raise ValidationError("草稿版本号无效。", field="revision")
    clean = clean_marks(task_of(sitting), marks, notes, comment)
    if revision <= sheet.revision:
        return sheet, False
    sheet.marks, sheet.notes, sheet.comment = clean.marks, clean.notes, clean.comment
    sheet.total = clean.total
    sheet.revision = revision
    session.flush()
    return sheet, True


def sign_sheet(session: Session, actor: User, sheet_id: int, *, marks: dict[str, Any], notes: dict[str, Any],
               comment: str) -> ScoreSheet:
    """Sign (签名) the examiner's own sheet with these marks: every criterion must be scored.
    Final: the sheet never changes again. When the group has all signed, the candidate's
    skill result follows (:func:`_settle`)."""
    batch, sitting, sheet = _own_sheet(session, actor, sheet_id)
    if sheet.signed:
        raise ValidationError("评分记录表已签名，不能重复签名。")
    registration = _registration(batch, sheet.registration_id)
    if avoidance.same_employer(actor, registration):
        raise PermissionDenied(avoidance.conflict_message(actor, registration))
    result = _result(session, sitting, sheet.registration_id)
    if result is not None and result.state == "absent":
        raise ValidationError("该考生已记为缺考，不能评分。")
    clean = clean_marks(task_of(sitting), marks, notes, comment)
    if clean.total is None:
        missing = f"「{clean.missing[0]}」等 {len(clean.missing)} 项"
        raise ValidationError(f"请为每一项评分要素打分后再签名（尚缺{missing}）。")
    sheet.marks, sheet.notes, sheet.comment, sheet.total = clean.marks, clean.notes, clean.comment, clean.total
    sheet.signed_at = utcnow()
    session.flush()
    audit.record(session, actor, "score_sheet.sign", "score_sheet", sheet.id,
                 after={"session_id": sitting.id, "registration_id": sheet.registration_id,
                        "total": f"{clean.total:f}"})
    _settle(session, batch, sitting, registration)
    return sheet


def may_read_sheets(session: Session, actor: User, sitting: ExamSession, batch: Batch, registration_id: int) -> bool:
    """Whether ``actor`` may read every sheet of this candidate: only once all have signed, and
    then the group's examiners, the institution's admin and the centre."""
    if not all_signed(session, sitting, registration_id):
        return False
    if actor.active and actor.role == Role.EXAMINER and actor.id in group_ids(sitting):
        return True
    return may_oversee(actor, batch)


def read_sheet(session: Session, actor: User, sheet_id: int) -> ScoreSheet:
    """A sheet, for its own examiner at any time; for anyone else allowed to see the sitting,
    only once every examiner of the group has signed that candidate's sheet."""
    sheet = session.get(ScoreSheet, sheet_id)
    if sheet is None:
        raise NotFound("评分记录表不存在。")
    if actor.active and sheet.examiner_id == actor.id:
        return sheet
    batch, sitting = skill_sitting(session, sheet.exam_session_id)
    in_group = actor.role == Role.EXAMINER and actor.id in group_ids(sitting)
    if not (actor.active and (in_group or may_oversee(actor, batch))):
        raise NotFound("评分记录表不存在。")
    if not all_signed(session, sitting, sheet.registration_id):
        raise PermissionDenied("考评组全部考评员签名之前，不能查看其他考评员的评分记录表。")
    return sheet


@dataclasses.dataclass(frozen=True, slots=True)
class OwnSheet:
    """One of an examiner's own score sheets, for 我的评分记录表."""

    sheet: ScoreSheet
    sitting: ExamSession
    registration: BatchCandidate
    station_no: int | None


def own_sheets(session: Session, examiner: User) -> list[OwnSheet]:
    """Every score sheet the examiner has opened (drafts and signed), newest sitting first:
    their own only, so nothing of another examiner's shows."""
    require_role(examiner, Role.EXAMINER)
    rows = session.execute(
        select(ScoreSheet, ExamSession, BatchCandidate, SkillStation.station_no)
        .join(ExamSession, ExamSession.id == ScoreSheet.exam_session_id)
        .join(BatchCandidate, BatchCandidate.id == ScoreSheet.registration_id)
        .outerjoin(SkillStation, (SkillStation.exam_session_id == ScoreSheet.exam_session_id)
                   & (SkillStation.registration_id == ScoreSheet.registration_id))
        .where(ScoreSheet.examiner_id == examiner.id)
        .order_by(ExamSession.starts_at.desc(), ExamSession.id.desc(), SkillStation.station_no, ScoreSheet.id)).all()
    return [OwnSheet(sheet, sitting, reg, station) for sheet, sitting, reg, station in rows]


# ---------------------------------------------------------------- the score


def round_half_up(value: Decimal) -> Decimal:
    return value.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def spread_limit(session: Session) -> Decimal:
    return Decimal(str(get_rule(session, "skill_reconcile_spread")))


@dataclasses.dataclass(frozen=True)
class CandidateScore:
    """Where a candidate's scoring stands at a sitting (what the board shows)."""

    registration: BatchCandidate
    station_no: int | None
    examiners: int
    signed: int
    totals: list[Decimal]  # the signed sheets' totals (only shown once all have signed)
    mean: Decimal | None
    spread: Decimal | None
    needs_reconciliation: bool
    reconciliation: SkillReconciliation | None
    result: ComponentResult | None

    @property
    def complete(self) -> bool:
        return self.examiners > 0 and self.signed >= self.examiners


def candidate_score(session: Session, sitting: ExamSession, registration: BatchCandidate) -> CandidateScore:
    group = set(group_ids(sitting))
    signed = [s for s in sheets_of(session, sitting, registration.id) if s.signed and s.examiner_id in group]
    totals = [Decimal(s.total) for s in signed if s.total is not None]
    complete = bool(group) and len(signed) >= len(group)
    mean = round_half_up(sum(totals, Decimal(0)) / len(totals)) if complete and totals else None
    spread = (max(totals) - min(totals)) if complete and totals else None
    reconciliation = session.scalar(select(SkillReconciliation).where(
        SkillReconciliation.exam_session_id == sitting.id, SkillReconciliation.registration_id == registration.id))
    station = next((s.station_no for s in sitting.stations if s.registration_id == registration.id), None)
    needs = spread is not None and spread > spread_limit(session) and reconciliation is None
    return CandidateScore(registration, station, len(group), len(signed), totals, mean, spread, needs,
                          reconciliation, _result(session, sitting, registration.id))


def _settle(session: Session, batch: Batch, sitting: ExamSession, registration: BatchCandidate) -> ComponentResult:
    """Bring the candidate's skill component result up to date with the sheets."""
    result = _result(session, sitting, registration.id)
    if result is None:
        result = ComponentResult(registration_id=registration.id, person_id=registration.person_id,
                                 component=COMPONENT, exam_session_id=sitting.id,
                                 sat_on=session_date(sitting.starts_at), state="pending", note="")
        session.add(result)
    if result.state == "absent":
        return result
    status = candidate_score(session, sitting, registration)
    if status.reconciliation is not None:
        result.state, result.score = "scored", status.reconciliation.score
        result.note = f"组长复核：{status.reconciliation.reason}"
    elif status.mean is None:
        result.state, result.score = "pending", None
        result.note = f"评分中：已签名 {status.signed}/{status.examiners}"
    elif status.needs_reconciliation:
        result.state, result.score = "pending", None
        result.note = f"待组长复核：评分最大差 {status.spread:f} 分，超过 {spread_limit(session):f} 分"
    else:
        result.state, result.score = "scored", status.mean
        result.note = f"{status.signed} 名考评员评分的平均分"
    session.flush()
    return result


def reconcile(session: Session, actor: User, exam_session_id: int, registration_id: int, *, score: str,
              reason: str) -> SkillReconciliation:
    """The chief examiner's reconciled score (组长复核) with a written reason (required), allowed
    only when every sheet is signed and their spread exceeds the rule; the score stands."""
    batch, sitting = _examiner_sitting(session, actor, exam_session_id)
    if not is_chief(sitting, actor):
        raise PermissionDenied("只有考评组组长可以复核评分。")
    registration = _registration(batch, registration_id)
    reason_text = (reason or "").strip()
    if not reason_text:
        raise ValidationError("复核须填写书面理由。", field="reason")
    if len(reason_text) > MAX_COMMENT:
        raise ValidationError(f"复核理由不能超过 {MAX_COMMENT} 个字。", field="reason")
    value = plain_decimal(score)
    if value is None or not 0 <= value <= 100:
        raise ValidationError("复核成绩应为 0 到 100 之间的数。", field="score")
    if value != value.quantize(ONE_DECIMAL):
        raise ValidationError("复核成绩最多保留一位小数。", field="score")
    status = candidate_score(session, sitting, registration)
    if status.reconciliation is not None:
        raise ValidationError("该考生的评分已经复核。")
    if status.mean is None or status.spread is None:
        raise ValidationError("考评组全部考评员签名后才能复核。")
    if not status.needs_reconciliation:
        raise ValidationError(f"各考评员评分最大差 {status.spread:f} 分，未超过 {spread_limit(session):f} 分，"
                              "成绩取平均分，无需复核。")
    row = SkillReconciliation(exam_session_id=sitting.id, registration_id=registration.id, chief_id=actor.id,
                              score=value.quantize(ONE_DECIMAL), mean=status.mean, spread=status.spread,
                              reason=reason_text)
    session.add(row)
    session.flush()
    audit.record(session, actor, "skill.reconcile", "component_result", registration.id,
                 before={"session_id": sitting.id, "mean": f"{status.mean:f}", "spread": f"{status.spread:f}"},
                 after={"score": f"{row.score:f}", "reason": reason_text})
    _settle(session, batch, sitting, registration)
    return row


def mark_absent(session: Session, actor: User, exam_session_id: int, registration_id: int) -> ComponentResult:
    """Mark a candidate absent (缺考) at the sitting: the group's chief or the institution's
    admin, before any examiner has signed the candidate's sheet."""
    batch, sitting = skill_sitting(session, exam_session_id)
    if actor.role == Role.EXAMINER:
        _examiner_sitting(session, actor, exam_session_id)
        if not is_chief(sitting, actor):
            raise PermissionDenied("只有考评组组长或机构管理员可以记录缺考。")
    else:
        require_role(actor, Role.INSTITUTION_ADMIN)
        if actor.institution_id != batch.institution_id:
            raise PermissionDenied("只能管理本机构的认定批次。")
    registration = _registration(batch, registration_id)
    station_of(sitting, registration_id)
    if any(s.signed for s in sheets_of(session, sitting, registration_id)):
        raise ValidationError("已有考评员签名评分，不能再记为缺考。")
    result = _settle(session, batch, sitting, registration)
    if result.state == "absent":
        raise ValidationError("该考生已记为缺考。")
    before = result.state
    result.state, result.score, result.note = "absent", None, "缺考"
    session.flush()
    audit.record(session, actor, "skill.mark_absent", "component_result", result.id,
                 before={"state": before}, after={"state": "absent", "session_id": sitting.id,
                                                  "registration_id": registration_id})
    return result


def board(session: Session, sitting: ExamSession) -> list[CandidateScore]:
    """Every candidate with a station at the sitting, by station."""
    regs = {c.id: c for c in sitting.module.batch.candidates}
    return [candidate_score(session, sitting, regs[s.registration_id]) for s in sitting.stations
            if s.registration_id in regs]


# ---------------------------------------------------------------- statistics input


def group_matrix(session: Session, sitting: ExamSession) -> tuple[list[User], list[BatchCandidate], np.ndarray]:
    """The signed totals of a sitting as a (candidates × examiners) matrix, NaN where a sheet is
    missing; only candidates whose sheets the group has all signed (nothing blind leaks)."""
    examiners = [row.user for row in sitting.examiners]
    column = {u.id: k for k, u in enumerate(examiners)}
    regs = {c.id: c for c in sitting.module.batch.candidates}
    rows: list[BatchCandidate] = []
    values: list[list[float]] = []
    for station in sitting.stations:
        registration = regs.get(station.registration_id)
        if registration is None or not all_signed(session, sitting, registration.id):
            continue
        line = [float("nan")] * len(examiners)
        for sheet in sheets_of(session, sitting, registration.id):
            if sheet.signed and sheet.examiner_id in column and sheet.total is not None:
                line[column[sheet.examiner_id]] = float(sheet.total)
        rows.append(registration)
        values.append(line)
    matrix = np.array(values, dtype=np.float64).reshape(len(values), len(examiners))
    return examiners, rows, matrix


@register_scoring_check
def _scoring_begun(session: Session, sitting: ExamSession) -> str | None:
    """Stations and the chief stay as they are once any score sheet of the sitting exists."""
    if sitting.module.kind != ModuleKind.SKILL or sitting.id is None:
        return None
    found = session.scalar(select(ScoreSheet.id).where(ScoreSheet.exam_session_id == sitting.id).limit(1))
    return "该场次已开始评分，不能再调整工位或组长。" if found is not None else None
