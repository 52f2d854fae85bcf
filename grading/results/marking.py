"""Marking examiner-scored theory items (主观题阅卷): 简答、计算、论述 answers are marked by two
markers blind to each other, and by a third when the two differ by more than the rule allows.

Who marks: the institution admin names markers for a theory sitting (:func:`assign_marker`),
drawn from the batch's examiners. A marker sees only their **queue**
(:func:`queue`): the answers of the sitting's closed, scored attempts to examiner-scored items
that still need a mark and that they have not marked — while an answer has fewer than two
marks, every marker who has not marked it may take it; once two marks differ by more than
``theory_marking.third_marker_gap`` (default 3 points of that item), every marker who gave
neither may take the third mark. The first marker to submit takes the place; the others' pages
are refused with a message. A marker sees the item's stem, scoring points (评分要点, shown at
the paper's points) and reference answer, the answer and the anonymous marking code of the
script (阅卷编号), never the candidate's name, ID number, ticket or seat, and never another
marker's mark (:func:`marking_view`); an answer outside their queue that they did not mark is
refused.

The rule for the answer's final score (written to ``Response.score``):

* two marks at most ``third_marker_gap`` apart: their mean (to 0.01 point);
* two marks further apart: the third marker's mark (the third marker arbitrates).

The gap is read when the second mark is submitted, so a later change of the rule does not
reopen answers already settled (a correction reads it again). When every examiner-scored answer
of an attempt is final, the attempt is scored again (:func:`examroom.attempts.score_closed_attempt`)
and its theory result becomes ``scored`` with the score out of 100 (a new version).

**Corrections** (:func:`correct_mark`): a marker may correct their own submitted mark, with a
required reason, until the third marking has started or the result is final. In the states the
code keeps, that is: a first or second mark while the answer has no third mark (a third marker
is not recorded until they submit, so the third marking starts with the third mark), the third
mark itself at any time, and any mark only while the registration's level decision is not
confirmed (released). The correction is a new version of the mark (every version kept in
``response_mark_change``, audited ``response_mark.amend``); the answer is settled again (the
mean, or back to awaiting a third marker when the two marks now differ by more than the gap,
or settled by the mean when they no longer do) and the theory result follows as a new version
(back to ``pending`` while a third marker is awaited). The corrector sees only their own mark
and its versions, never another marker's, and the page does not say whether a third marker is
now needed.

Marks are entered on the item's points in the paper, 0 to those points, at most one decimal.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from examroom.attempts import score_closed_attempt
from examroom.formcache import form_items
from examroom.lifecycle import FINAL_STATUSES
from examroom.models import Attempt, BatchModule, BatchStaff, ExamSession, ModuleKind, Response, StaffRole
from foundation import audit
from foundation.accounts import User
from foundation.db import utcnow
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.roles import Role, require_role
from foundation.settings import get_rule
from grading.results import records
from grading.results.models import ComponentResult, LevelDecision, ResponseMark, ResponseMarkChange, TheoryMarker
from grading.results.theory import theory_values
from itembank.itemtypes import ITEM_TYPES, get_type
from itembank.models import Item, PaperItem

__all__ = [
    "MarkingView",
    "QueueEntry",
    "SittingProgress",
    "assign_marker",
    "correct_mark",
    "correction_refusal",
    "examiner_types",
    "final_score",
    "marker_sittings",
    "markers_of",
    "mark_history",
    "marking_view",
    "needs_third",
    "parse_points",
    "progress",
    "queue",
    "remove_marker",
    "submit_mark",
    "third_marker_gap",
]

_FINAL = tuple(s.value for s in FINAL_STATUSES)
_CENT = Decimal("0.01")


def examiner_types() -> tuple[str, ...]:
    """The item types an examiner scores (registered types whose ``auto_scored`` is false)."""
    return tuple(code for code, kind in ITEM_TYPES.items() if not kind.auto_scored)


def third_marker_gap(session: Session) -> Decimal:
    rule = get_rule(session, "theory_marking")
    return Decimal(str(rule.get("third_marker_gap", 3)))


def needs_third(first: Decimal, second: Decimal, gap: Decimal) -> bool:
    """Whether two marks of one answer call for a third marker: they differ by **more** than
    ``gap`` (exactly ``gap`` apart is still settled by the mean)."""
    return abs(first - second) > gap


def final_score(marks: Sequence[Decimal], gap: Decimal) -> Decimal | None:
    """The answer's final score from its marks in order, or None while it is not settled."""
    if len(marks) >= 3:
        return marks[2]
    if len(marks) == 2 and not needs_third(marks[0], marks[1], gap):
        return ((marks[0] + marks[1]) / 2).quantize(_CENT, rounding=ROUND_HALF_UP)
    return None


# --------------------------------------------------------------------------- lookups


def _sitting(session: Session, sitting_id: Any) -> ExamSession:
    if isinstance(sitting_id, bool) or not isinstance(sitting_id, int):
        raise NotFound("考试场次不存在。")
    sitting = session.get(ExamSession, sitting_id)
    if sitting is None:
        raise NotFound("考试场次不存在。")
    return sitting


def _admin_sitting(session: Session, actor: User, sitting_id: Any) -> ExamSession:
    require_role(actor, Role.INSTITUTION_ADMIN)
    sitting = _sitting(session, sitting_id)
    if sitting.module.batch.institution_id != actor.institution_id:
        raise PermissionDenied("只能安排本机构认定批次的阅卷人。")
    if sitting.module.kind != ModuleKind.THEORY.value:
        raise ValidationError("只有理论知识考试场次需要安排阅卷人。")
    return sitting


def is_marker(session: Session, user: User | None, sitting_id: int) -> bool:
    if user is None or not user.active or user.role != Role.EXAMINER.value:
        return False
    return session.scalar(select(TheoryMarker.id).where(
        TheoryMarker.exam_session_id == sitting_id, TheoryMarker.user_id == user.id)) is not None


def _require_marker(session: Session, user: User, sitting_id: int) -> None:
    if not is_marker(session, user, sitting_id):
        raise PermissionDenied("您不是该场次的阅卷人。")


# --------------------------------------------------------------------------- markers (institution admin)


def markers_of(session: Session, actor: User, sitting_id: int) -> list[TheoryMarker]:
    sitting = _admin_sitting(session, actor, sitting_id)
    return list(session.scalars(select(TheoryMarker).where(TheoryMarker.exam_session_id == sitting.id)
                                .order_by(TheoryMarker.id)))


def assign_marker(session: Session, actor: User, sitting_id: int, user_id: Any) -> TheoryMarker:
    """Name one of the batch's examiners as a marker of the theory sitting (any time: marking
    comes after the exam)."""
    sitting = _admin_sitting(session, actor, sitting_id)
    batch = sitting.module.batch
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise ValidationError("请选择阅卷人。", field="user_id")
    user = session.get(User, user_id)
    if user is None or user.role != Role.EXAMINER.value or not user.active:
        raise ValidationError("所选账号不是有效的考评员。", field="user_id")
    on_batch = session.scalar(select(BatchStaff.id).where(
        BatchStaff.batch_id == batch.id, BatchStaff.user_id == user.id, BatchStaff.role == StaffRole.EXAMINER.value))
    if on_batch is None:
        raise ValidationError(f"考评员「{user.name}」不是本批次的考评员，请先在认定计划中安排。", field="user_id")
    if session.scalar(select(TheoryMarker.id).where(TheoryMarker.exam_session_id == sitting.id,
                                                    TheoryMarker.user_id == user.id)) is not None:
        raise ValidationError(f"「{user.name}」已是本场次的阅卷人。", field="user_id")
    marker = TheoryMarker(exam_session_id=sitting.id, user_id=user.id, assigned_by_id=actor.id)
    session.add(marker)
    session.flush()
    audit.record(session, actor, "theory_marker.add", "exam_session", sitting.id,
                 after={"user_id": user.id, "name": user.name, "batch_id": batch.id})
    return marker


def remove_marker(session: Session, actor: User, sitting_id: int, user_id: Any) -> None:
    """Take a marker off the sitting; refused once they have marked (their marks stand)."""
    sitting = _admin_sitting(session, actor, sitting_id)
    marker = None
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        marker = session.scalar(select(TheoryMarker).where(TheoryMarker.exam_session_id == sitting.id,
                                                           TheoryMarker.user_id == user_id))
    if marker is None:
        raise NotFound("该阅卷人不在本场次。")
    marked = session.scalar(select(func.count(ResponseMark.id)).join(Response, Response.id == ResponseMark.response_id)
                            .join(Attempt, Attempt.id == Response.attempt_id)
                            .where(Attempt.exam_session_id == sitting.id, ResponseMark.marker_id == user_id)) or 0
    if marked:
        raise ValidationError(f"「{marker.user.name}」已评阅 {marked} 份答卷，不能移出阅卷人名单。")
    name = marker.user.name
    session.delete(marker)
    session.flush()
    audit.record(session, actor, "theory_marker.remove", "exam_session", sitting.id,
                 after={"user_id": user_id, "name": name})


# --------------------------------------------------------------------------- the answers to mark


@dataclass(frozen=True)
class _Answer:
    response_id: int
    attempt_id: int
    position: int
    paper_form_id: int
    code: str
    points: float
    marks: tuple[tuple[int, Decimal], ...]  # (marker id, points) in round order
    final: Decimal | None  # the stored final score


def _answers(session: Session, sitting_id: int, response_id: int | None = None) -> list[_Answer]:
    """The sitting's answers to examiner-scored items of closed attempts that were scored into
    a theory result, with their marks in order (one answer with ``response_id``)."""
    stmt = (
        select(Response.id, Response.attempt_id, Response.position, Attempt.paper_form_id,
               ComponentResult.marking_code, PaperItem.points, Response.score)
        .join(Attempt, Attempt.id == Response.attempt_id)
        .join(ComponentResult, ComponentResult.attempt_id == Attempt.id)
        .join(PaperItem, PaperItem.id == Response.paper_item_id)
        .join(Item, Item.id == PaperItem.item_id)
        .where(Attempt.exam_session_id == sitting_id, Attempt.status.in_(_FINAL),
               Item.item_type.in_(examiner_types()), ComponentResult.marking_code.is_not(None))
        .order_by(Response.position, ComponentResult.marking_code)
    )
    if response_id is not None:
        stmt = stmt.where(Response.id == response_id)
    rows = session.execute(stmt).all()
    marks: dict[int, list[tuple[int, Decimal]]] = {}
    if rows:
        for rid, marker_id, points in session.execute(
                select(ResponseMark.response_id, ResponseMark.marker_id, ResponseMark.points)
                .join(Response, Response.id == ResponseMark.response_id)
                .join(Attempt, Attempt.id == Response.attempt_id)
                .where(Attempt.exam_session_id == sitting_id,
                       *([ResponseMark.response_id == response_id] if response_id is not None else []))
                .order_by(ResponseMark.response_id, ResponseMark.round)):
            marks.setdefault(rid, []).append((marker_id, Decimal(points)))
    # A blank answer to an examiner-scored item was scored 0 at the close and has no marks: not
    # an answer to mark. Every other one is unsettled (no score yet) or has marks.
    return [_Answer(rid, aid, pos, form_id, code or "", float(points), tuple(marks.get(rid, [])),
                    None if score is None else Decimal(str(score)))
            for rid, aid, pos, form_id, code, points, score in rows
            if score is None or marks.get(rid)]


def _waiting_for(answer: _Answer, marker_id: int, gap: Decimal) -> bool:
    """Does the answer need a mark that this marker may give?"""
    if answer.final is not None or any(m == marker_id for m, _ in answer.marks):
        return False
    if len(answer.marks) < 2:
        return True
    return len(answer.marks) == 2 and needs_third(answer.marks[0][1], answer.marks[1][1], gap)


@dataclass(frozen=True)
class QueueEntry:
    """One answer in a marker's queue: only what anonymous marking may show."""

    response_id: int
    code: str
    number: int  # the item's position in the paper form
    item_type: str
    points: float
    third: bool  # the third marking of a disagreement


def _type_of(session: Session, answer: _Answer) -> str:
    return form_items(session, answer.paper_form_id)[answer.position - 1].item_type


def queue(session: Session, marker: User, sitting_id: int) -> list[QueueEntry]:
    """The answers waiting for this marker, by item then marking code."""
    sitting = _sitting(session, sitting_id)
    _require_marker(session, marker, sitting.id)
    gap = third_marker_gap(session)
    return [QueueEntry(a.response_id, a.code, a.position, get_type(_type_of(session, a)).label, a.points,
                       len(a.marks) == 2)
            for a in _answers(session, sitting.id) if _waiting_for(a, marker.id, gap)]


def marked_by(session: Session, marker: User, sitting_id: int) -> list[tuple[QueueEntry, Decimal]]:
    """The answers this marker has marked, with their own mark (and nothing of anyone else's)."""
    sitting = _sitting(session, sitting_id)
    _require_marker(session, marker, sitting.id)
    out = []
    for a in _answers(session, sitting.id):
        own = next((p for m, p in a.marks if m == marker.id), None)
        if own is not None:
            out.append((QueueEntry(a.response_id, a.code, a.position, get_type(_type_of(session, a)).label,
                                   a.points, False), own))
    return out


@dataclass(frozen=True)
class SittingProgress:
    answers: int
    unmarked: int
    one_mark: int
    awaiting_third: int
    final: int


def _progress_of(answers: list[_Answer], gap: Decimal) -> SittingProgress:
    final = sum(1 for a in answers if a.final is not None)
    third = sum(1 for a in answers if a.final is None and len(a.marks) == 2
                and needs_third(a.marks[0][1], a.marks[1][1], gap))
    return SittingProgress(answers=len(answers), unmarked=sum(1 for a in answers if not a.marks and a.final is None),
                           one_mark=sum(1 for a in answers if len(a.marks) == 1 and a.final is None),
                           awaiting_third=third, final=final)


def progress(session: Session, actor: User, sitting_id: int) -> SittingProgress:
    """Counts for the institution admin: answers to mark, with no mark, one, awaiting the third, final."""
    sitting = _admin_sitting(session, actor, sitting_id)
    return _progress_of(_answers(session, sitting.id), third_marker_gap(session))


def marker_sittings(session: Session, marker: User) -> list[tuple[ExamSession, int, int]]:
    """The theory sittings the examiner marks, newest first, each with the answers waiting for
    them and those they have marked."""
    require_role(marker, Role.EXAMINER)
    sittings = session.scalars(select(ExamSession).join(TheoryMarker, TheoryMarker.exam_session_id == ExamSession.id)
                               .join(BatchModule, BatchModule.id == ExamSession.module_id)
                               .where(TheoryMarker.user_id == marker.id)
                               .order_by(ExamSession.starts_at.desc(), ExamSession.id.desc())).all()
    gap = third_marker_gap(session)
    out = []
    for sitting in sittings:
        answers = _answers(session, sitting.id)
        out.append((sitting, sum(1 for a in answers if _waiting_for(a, marker.id, gap)),
                    sum(1 for a in answers if any(m == marker.id for m, _ in a.marks))))
    return out


# --------------------------------------------------------------------------- one answer


@dataclass(frozen=True)
class MarkingView:
    """What the marking page shows: the script's code, the item (stem, scoring points at the
    paper's points, reference answer), the answer, the item's points and the marker's own mark
    (None before they mark). Never the candidate, never another marker's mark."""

    response_id: int
    sitting_id: int
    code: str
    number: int
    item_type: str
    stem_html: str
    scoring_points: list[dict[str, Any]]
    reference_html: str
    answer: str
    points: float
    own_mark: Decimal | None
    third: bool
    #: Why the marker's own mark may not be corrected now (None: it may; "" before they mark).
    correction_refused: str | None = ""
    #: The versions of the marker's own mark, oldest first (nothing of anyone else's).
    own_history: tuple[ResponseMarkChange, ...] = ()


def _answer_for(session: Session, marker: User, response_id: Any) -> tuple[_Answer, ExamSession]:
    if isinstance(response_id, bool) or not isinstance(response_id, int):
        raise NotFound("答卷不存在。")
    row = session.execute(select(Response.id, Attempt.exam_session_id)
                          .join(Attempt, Attempt.id == Response.attempt_id)
                          .where(Response.id == response_id)).one_or_none()
    if row is None:
        raise NotFound("答卷不存在。")
    sitting = _sitting(session, row.exam_session_id)
    _require_marker(session, marker, sitting.id)
    found = _answers(session, sitting.id, response_id)
    if not found:
        raise PermissionDenied("该答卷不在您的阅卷任务中。")
    return found[0], sitting


def marking_view(session: Session, marker: User, response_id: int) -> MarkingView:
    """The answer for its marker: in their queue, or one they have marked; else refused."""
    answer, sitting = _answer_for(session, marker, response_id)
    own = next((p for m, p in answer.marks if m == marker.id), None)
    if own is None and not _waiting_for(answer, marker.id, third_marker_gap(session)):
        raise PermissionDenied("该答卷不在您的阅卷任务中。")
    item = form_items(session, answer.paper_form_id)[answer.position - 1]
    spec = item.spec
    natural = sum(float(p["points"]) for p in spec.get("scoring_points", [])) or item.points
    factor = item.points / natural
    value = session.scalar(select(Response.value_json).where(Response.id == answer.response_id))
    text = _answer_text(value)
    refused = correction_refusal(session, answer, marker.id) if own is not None else ""
    history = tuple(mark_history(session, answer.response_id, marker.id)) if own is not None else ()
    return MarkingView(
        response_id=answer.response_id, sitting_id=sitting.id, code=answer.code, number=answer.position,
        item_type=get_type(item.item_type).label, stem_html=item.stem_html,
        scoring_points=[{"html": p["html"], "points": round(float(p["points"]) * factor, 2)}
                        for p in spec.get("scoring_points", [])],
        reference_html=str(spec.get("reference_answer", "")), answer=text, points=item.points, own_mark=own,
        third=own is None and len(answer.marks) == 2, correction_refused=refused, own_history=history,
    )


def _answer_text(value_json: str | None) -> str:
    value = json.loads(value_json) if value_json else None
    return value if isinstance(value, str) else ""


def parse_points(value: Any, maximum: float) -> Decimal:
    """A mark as typed: a number from 0 to the item's points, at most one decimal place."""
    top = Decimal(str(maximum)).normalize()
    message = f"评分应为 0 至 {top:f} 之间的数，最多一位小数。"
    if isinstance(value, bool) or value is None:
        raise ValidationError(message, field="points")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(message, field="points")
    text = value.strip() if isinstance(value, str) else str(value) if isinstance(value, int | float | Decimal) else None
    if not text or len(text) > 12:
        raise ValidationError(message, field="points")
    try:
        points = Decimal(text)
    except InvalidOperation:
        raise ValidationError(message, field="points") from None
    if not points.is_finite() or points < 0 or points > Decimal(str(maximum)) or points != points.quantize(
            Decimal("0.1")):
        raise ValidationError(message, field="points")
    return points.quantize(Decimal("0.1"))


def submit_mark(session: Session, marker: User, response_id: int, points: Any,
                now: dt.datetime | None = None) -> ResponseMark:
    """Record the marker's mark of an answer in their queue. The second mark settles the answer
    (mean) or calls for a third; the third settles it. When every examiner-scored answer of the
    attempt is settled, the theory result is scored (a new version)."""
    answer, sitting = _answer_for(session, marker, response_id)
    # Serialise the marks of one script: the completion check below must see every other mark.
    attempt = session.scalar(select(Attempt).where(Attempt.id == answer.attempt_id).with_for_update())
    assert attempt is not None
    answer = _answers(session, sitting.id, answer.response_id)[0]
    gap = third_marker_gap(session)
    if any(m == marker.id for m, _ in answer.marks):
        raise ValidationError("您已评阅该答卷，不能重复评分；如需更正，请在该答卷页面填写原因更正评分。")
    if not _waiting_for(answer, marker.id, gap):
        raise ValidationError("该答卷已由其他阅卷人完成评阅，请继续评阅下一份。")
    value = parse_points(points, answer.points)
    now = now or utcnow()
    mark = ResponseMark(response_id=answer.response_id, marker_id=marker.id, round=len(answer.marks) + 1,
                        points=value, marked_at=now)
    session.add(mark)
    session.flush()
    session.add(ResponseMarkChange(mark_id=mark.id, version=1, points=value, reason="", at=now))
    final = final_score([p for _, p in answer.marks] + [value], gap)
    if final is not None:
        session.execute(update(Response).where(Response.id == answer.response_id).values(score=float(final)))
    audit.record(session, marker, "response_mark.submit", "response", answer.response_id,
                 after={"round": mark.round, "points": str(value), "code": answer.code,
                        "settled": final is not None}, at=now)
    if final is not None:
        _complete(session, attempt, now)
    return mark


def _complete(session: Session, attempt: Attempt, now: dt.datetime) -> None:
    """Score the attempt again; once nothing awaits markers its theory result becomes scored."""
    scored = score_closed_attempt(session, attempt)
    if scored.pending:
        return
    result = session.scalar(select(ComponentResult).where(ComponentResult.attempt_id == attempt.id))
    if result is None:
        return
    records.change(session, result, reason="阅卷完成：主观题评分确定，成绩合成", at=now, **theory_values(scored))


# --------------------------------------------------------------------------- corrections

MAX_CORRECTION_REASON = 500


def mark_history(session: Session, response_id: int, marker_id: int) -> list[ResponseMarkChange]:
    """The versions of one marker's mark of an answer, oldest first."""
    return list(session.scalars(
        select(ResponseMarkChange).join(ResponseMark, ResponseMark.id == ResponseMarkChange.mark_id)
        .where(ResponseMark.response_id == response_id, ResponseMark.marker_id == marker_id)
        .order_by(ResponseMarkChange.version)))


def _released(session: Session, attempt_id: int) -> bool:
    """Whether the level decision of the attempt's registration is confirmed (released)."""
    return session.scalar(select(LevelDecision.id).join(
        ComponentResult, ComponentResult.registration_id == LevelDecision.registration_id).where(
        ComponentResult.attempt_id == attempt_id, LevelDecision.state == "confirmed").limit(1)) is not None


def correction_refusal(session: Session, answer: _Answer, marker_id: int) -> str | None:
    """Why this marker may not correct their mark of ``answer`` now (None: they may)."""
    rounds = [m for m, _ in answer.marks]
    if marker_id not in rounds:
        return "您尚未评阅该答卷，没有可更正的评分。"
    if rounds.index(marker_id) < 2 and len(rounds) >= 3:
        return "该答卷已有第三位阅卷人评分，前两位阅卷人的评分不能再更正。"
    if _released(session, answer.attempt_id):
        return "该考生的认定结论已确认发布，评分不能再更正；如有异议，请由评价机构通过成绩复核处理。"
    return None


def correct_mark(session: Session, marker: User, response_id: int, points: Any, reason: str,
                 now: dt.datetime | None = None) -> ResponseMark:
    """Correct the marker's own submitted mark (a new version, with ``reason``), while
    :func:`correction_refusal` allows; the answer is settled again and the theory result follows."""
    answer, sitting = _answer_for(session, marker, response_id)
    attempt = session.scalar(select(Attempt).where(Attempt.id == answer.attempt_id).with_for_update())
    assert attempt is not None
    answer = _answers(session, sitting.id, answer.response_id)[0]
    refused = correction_refusal(session, answer, marker.id)
    if refused is not None:
        raise ValidationError(refused)
    why = (reason or "").strip()
    if not why:
        raise ValidationError("请填写更正评分的原因。", field="reason")
    if len(why) > MAX_CORRECTION_REASON:
        raise ValidationError(f"更正原因不能超过 {MAX_CORRECTION_REASON} 个字。", field="reason")
    value = parse_points(points, answer.points)
    mark = session.scalar(select(ResponseMark).where(ResponseMark.response_id == answer.response_id,
                                                     ResponseMark.marker_id == marker.id))
    assert mark is not None
    before = Decimal(mark.points)
    if value == before:
        raise ValidationError("新评分与原评分相同，无需更正。", field="points")
    now = now or utcnow()
    mark.points = value
    mark.version += 1
    session.add(ResponseMarkChange(mark_id=mark.id, version=mark.version, points=value, reason=why, at=now))
    session.flush()
    marks = [value if m == marker.id else p for m, p in answer.marks]
    final = final_score(marks, third_marker_gap(session))
    session.execute(update(Response).where(Response.id == answer.response_id)
                    .values(score=None if final is None else float(final)))
    audit.record(session, marker, "response_mark.amend", "response", answer.response_id,
                 before={"points": str(before), "version": mark.version - 1},
                 after={"round": mark.round, "points": str(value), "version": mark.version, "reason": why,
                        "code": answer.code, "settled": final is not None}, at=now)
    _rescore(session, attempt, now, "阅卷人更正主观题评分，成绩重新合成")
    return mark


def _rescore(session: Session, attempt: Attempt, now: dt.datetime, reason: str) -> None:
    """Score the attempt again and bring its theory result up to date (pending while any
    examiner-scored answer waits), a new version when anything changed."""
    scored = score_closed_attempt(session, attempt)
    result = session.scalar(select(ComponentResult).where(ComponentResult.attempt_id == attempt.id))
    if result is not None:
        records.change(session, result, reason=reason, at=now, **theory_values(scored))
