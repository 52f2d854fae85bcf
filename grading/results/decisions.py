"""Stored level decisions (等级认定结论): decide a batch from the database, confirm by name,
new versions with a reason, re-check requests (成绩复核).

* :func:`decide_batch` runs the engine on every registration of a batch
  (:func:`grading.results.cases.load_cases`, a fixed number of queries) and stores a **draft**
  version for each whose decision is new or changed; registrations still being scored are left
  for later. A registration that already has a **confirmed** decision gets a new version only
  with a written reason (:func:`redecide` for one, or the batch's reason for all).
* The institution admin confirms a draft (:func:`confirm_decision`) or every draft of a batch
  (:func:`confirm_batch`) by name: the name is stored with the version, the previously
  confirmed version becomes ``superseded``, and the decision is released to the candidate.
  A draft whose inputs changed since it was made is not confirmed (decide again first).
* Nothing is overwritten: every version stays, with its inputs (the engine's case), their
  fingerprint, who decided and who confirmed it, and every write is audited.
* A candidate may ask for a re-check within the configured working days of the release
  (:func:`request_recheck`); the institution answers in writing (:func:`answer_recheck`).

Who may do what: the centre reads every batch; an institution admin reads and writes only their
own institution's batches; a candidate only the released decisions of their person's registrations
(whichever of the person's accounts registered them).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Dialect, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from examroom.models import Batch, BatchCandidate
from foundation import audit
from foundation.accounts import User
from foundation.calendar import beijing_date, load_calendar
from foundation.db import table_of, utcnow
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.roles import Role, require_role
from foundation.settings import get_rule
from grading.results.cases import LoadedCase, load_cases
from grading.results.decision import Case, Component, decide
from grading.results.decision_json import dump_decision
from grading.results.models import RECHECK_ANSWERS, LevelDecision, RecheckRequest

__all__ = [
    "ConfirmReport",
    "DecideReport",
    "answer_recheck",
    "confirm_batch",
    "confirm_decision",
    "current_decisions",
    "decide_batch",
    "readable_batch",
    "recheck_deadline",
    "redecide",
    "released_decision",
    "request_recheck",
    "writable_batch",
]

MAX_REASON = 2000
RECHECK_ANSWER_LABELS = {"maintained": "维持原结论", "corrected": "更正（重新判定）"}


# ---------------------------------------------------------------- access


def readable_batch(session: Session, actor: User, batch_id: int) -> Batch:
    """The batch, if ``actor`` may read its results: the centre any, an institution admin their own."""
    require_role(actor, Role.CENTRE_ADMIN, Role.INSTITUTION_ADMIN)
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound("认定批次不存在。")
    if actor.role == Role.INSTITUTION_ADMIN and actor.institution_id != batch.institution_id:
        raise PermissionDenied("只能查看本机构认定批次的成绩与结论。")
    return batch


def writable_batch(session: Session, actor: User, batch_id: int) -> Batch:
    """The batch, if ``actor`` is the admin of the institution that evaluates it."""
    require_role(actor, Role.INSTITUTION_ADMIN)
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound("认定批次不存在。")
    if actor.institution_id != batch.institution_id:
        raise PermissionDenied("只能判定和确认本机构认定批次的结论（谁评价谁负责）。")
    return batch


def _reason_text(reason: str | None, *, required: bool) -> str:
    text = (reason or "").strip()
    if required and not text:
        raise ValidationError("该考生的结论已确认发布；重新判定须填写原因。", field="reason")
    if len(text) > MAX_REASON:
        raise ValidationError(f"原因不能超过 {MAX_REASON} 个字符。", field="reason")
    return text


# ---------------------------------------------------------------- reading


@dataclass(slots=True)
class Current:
    """A registration's current versions: its draft and its confirmed decision (either may be None)."""

    draft: LevelDecision | None = None
    confirmed: LevelDecision | None = None

    @property
    def latest(self) -> LevelDecision | None:
        versions = [d for d in (self.draft, self.confirmed) if d is not None]
        return max(versions, key=lambda d: d.version) if versions else None


def current_decisions(session: Session, registration_ids: Iterable[int]) -> dict[int, Current]:
    """The draft and confirmed versions of each registration (one query)."""
    ids = sorted(set(registration_ids))
    out: dict[int, Current] = {i: Current() for i in ids}
    if not ids:
        return out
    for row in session.scalars(select(LevelDecision).where(LevelDecision.registration_id.in_(ids),
                                                           LevelDecision.state != "superseded")):
        setattr(out[row.registration_id], row.state, row)
    return out


def released_decision(session: Session, registration_id: int) -> LevelDecision | None:
    """The confirmed (released) version of a registration's decision, if any."""
    return session.scalar(select(LevelDecision).where(LevelDecision.registration_id == registration_id,
                                                      LevelDecision.state == "confirmed"))


# ---------------------------------------------------------------- deciding


@dataclass(slots=True)
class DecideReport:
    """What one run of :func:`decide_batch` did."""

    created: list[tuple[int, int, str]] = field(default_factory=list)  # (registration, version, outcome)
    unchanged: int = 0
    waiting: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)  # not decidable yet, and why
    needs_reason: list[int] = field(default_factory=list)  # confirmed, changed, no reason given


def _content(outcome: str, qualified_on: dt.date | None, resit_until: dt.date | None, reasons: Any,
             fingerprint: str) -> tuple[Any, ...]:
    return outcome, qualified_on, resit_until, reasons, fingerprint


class _JsonText(TypeDecorator[Any]):
    """A JSON column's value already serialised (by :func:`json.dumps`, as the column's own
    serialiser writes it): registrations sharing a decision share its text, written once."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> None:
        return None


_INSERT = table_of(LevelDecision).insert().values(reasons=bindparam("reasons", type_=_JsonText()))


def _decision(case: Case, today: dt.date) -> tuple[dict[str, Any], str, dt.date | None, dt.date | None]:
    """The engine's decision as stored (JSON values), its reasons as the column's JSON text,
    and its two dates as dates."""
    decision = dump_decision(decide(case, today))
    qualified_on = dt.date.fromisoformat(decision["qualified_on"]) if decision["qualified_on"] else None
    resit_until = dt.date.fromisoformat(decision["resit_until"]) if decision["resit_until"] else None
    return decision, json.dumps(decision["reasons"]), qualified_on, resit_until


def _new_versions(session: Session, actor: User, batch: Batch, loaded: Sequence[LoadedCase], today: dt.date,
                  reason: str, *, single: bool) -> tuple[DecideReport, list[dict[str, Any]], list[int]]:
    """The rows to insert and the drafts they supersede (nothing written yet)."""
    report = DecideReport()
    current = current_decisions(session, [c.registration_id for c in loaded])
    rows: list[dict[str, Any]] = []
    superseded: list[int] = []
    now = utcnow()
    # The engine is pure: registrations with equal inputs (equal keys) share one decision.
    decided: dict[Hashable, tuple[dict[str, Any], str, dt.date | None, dt.date | None]] = {}
    for item in loaded:
        if item.case is None:
            report.waiting.append((item.registration_id, item.problems))
            continue
        shared = decided.get(item.key) if item.key is not None else None
        if shared is None:
            shared = _decision(item.case, today)
            if item.key is not None:
                decided[item.key] = shared
        decision, reasons, qualified_on, resit_until = shared
        mine = current[item.registration_id]
        latest = mine.latest
        new = _content(decision["outcome"], qualified_on, resit_until, decision["reasons"], item.fingerprint)
        if latest is not None and new == _content(latest.outcome, latest.qualified_on, latest.resit_until,
                                                  latest.reasons, latest.fingerprint):
            report.unchanged += 1
            continue
        if mine.confirmed is not None and not reason:
            if single:
                _reason_text(reason, required=True)
            report.needs_reason.append(item.registration_id)
            continue
        version = latest.version + 1 if latest is not None else 1
        if mine.draft is not None:
            superseded.append(mine.draft.id)
        rows.append({
            "registration_id": item.registration_id, "batch_id": batch.id, "person_id": item.person_id,
            "version": version, "state": "draft", "outcome": decision["outcome"], "level": decision["level"],
            "decided_on": today, "qualified_on": qualified_on, "resit_until": resit_until,
            "reasons": reasons, "inputs_json": item.inputs_json, "fingerprint": item.fingerprint,
            "reason": reason,
            "decided_by_id": actor.id, "decided_by_name": actor.name, "decided_at": now,
        })
        report.created.append((item.registration_id, version, decision["outcome"]))
    return report, rows, superseded


def _write(session: Session, rows: list[dict[str, Any]], superseded: list[int]) -> None:
    if superseded:  # first: a registration has at most one draft at a time
        session.execute(update(LevelDecision).where(LevelDecision.id.in_(superseded))
                        .values(state="superseded", superseded_at=utcnow()))
    if rows:  # one executemany of the table's INSERT (the ORM's bulk path costs more per row)
        session.execute(_INSERT, rows)
    session.flush()


def decide_batch(session: Session, actor: User, batch_id: int, today: dt.date, *, reason: str = "") -> DecideReport:
    """Decide every registration of the batch as of ``today`` and store the new or changed
    decisions as drafts (one audit entry for the run). With ``reason``, registrations whose
    confirmed decision changed get a new version too; without, they are listed in
    ``needs_reason`` and left alone."""
    batch = writable_batch(session, actor, batch_id)
    why = _reason_text(reason, required=False)
    loaded = load_cases(session, batch, today)
    report, rows, superseded = _new_versions(session, actor, batch, loaded, today, why, single=False)
    _write(session, rows, superseded)
    audit.record(session, actor, "decision.decide", "batch", batch.id, after={
        "decided_on": today.isoformat(), "reason": why, "count": len(rows),
        "versions": [{"registration_id": r, "version": v, "outcome": o} for r, v, o in report.created],
        "waiting": [r for r, _ in report.waiting], "needs_reason": report.needs_reason,
    })
    return report


def _registration(session: Session, registration_id: int) -> BatchCandidate:
    reg = session.get(BatchCandidate, registration_id)
    if reg is None:
        raise NotFound("报名记录不存在。")
    return reg


def redecide(session: Session, actor: User, registration_id: int, today: dt.date, reason: str) -> LevelDecision:
    """Decide one registration again; a new version (with ``reason``, required once a decision
    was confirmed) when its decision or its inputs changed."""
    reg = _registration(session, registration_id)
    batch = writable_batch(session, actor, reg.batch_id)
    why = _reason_text(reason, required=False)
    loaded = load_cases(session, batch, today, [reg.id])
    report, rows, superseded = _new_versions(session, actor, batch, loaded, today, why, single=True)
    if report.waiting:
        raise ValidationError("暂不能判定：" + "；".join(report.waiting[0][1]))
    if not rows:
        raise ValidationError("成绩、违纪、方案和规则均未变化，结论与现有版本相同，无需重新判定。")
    _write(session, rows, superseded)
    made = session.scalar(select(LevelDecision).where(LevelDecision.registration_id == reg.id,
                                                      LevelDecision.state == "draft"))
    assert made is not None
    audit.record(session, actor, "decision.decide", "registration", reg.id, after={
        "decided_on": today.isoformat(), "reason": why, "version": made.version, "outcome": made.outcome})
    return made


# ---------------------------------------------------------------- confirming


@dataclass(slots=True)
class ConfirmReport:
    confirmed: list[tuple[int, int]] = field(default_factory=list)  # (registration, version)
    stale: list[int] = field(default_factory=list)  # drafts whose inputs changed since: decide again


def _confirm(session: Session, actor: User, drafts: Sequence[LevelDecision], fingerprints: dict[int, str],
             report: ConfirmReport) -> None:
    now = utcnow()
    fresh = [d for d in drafts if fingerprints.get(d.registration_id) == d.fingerprint]
    report.stale.extend(d.registration_id for d in drafts if d not in fresh)
    if not fresh:
        return
    ids = [d.registration_id for d in fresh]
    session.execute(update(LevelDecision).where(LevelDecision.registration_id.in_(ids),
                                                LevelDecision.state == "confirmed")
                    .values(state="superseded", superseded_at=now))
    session.flush()
    for draft in fresh:
        draft.state = "confirmed"
        draft.confirmed_by_id = actor.id
        draft.confirmed_by_name = actor.name
        draft.confirmed_at = now
        report.confirmed.append((draft.registration_id, draft.version))
    session.flush()


def confirm_decision(session: Session, actor: User, decision_id: int, today: dt.date) -> LevelDecision:
    """Confirm one draft by name (谁评价谁负责) and release it to the candidate."""
    draft = session.get(LevelDecision, decision_id)
    if draft is None:
        raise NotFound("结论不存在。")
    batch = writable_batch(session, actor, draft.batch_id)
    if draft.state != "draft":
        raise ValidationError("只能确认草稿状态的结论（该版本已确认或已被新版本取代）。")
    loaded = load_cases(session, batch, today, [draft.registration_id])
    report = ConfirmReport()
    _confirm(session, actor, [draft], {c.registration_id: c.fingerprint for c in loaded}, report)
    if report.stale:
        raise ValidationError("该结论作出后，成绩、违纪、方案或规则已有变化；请先重新判定，再确认。")
    audit.record(session, actor, "decision.confirm", "registration", draft.registration_id, after={
        "version": draft.version, "outcome": draft.outcome, "confirmed_by": actor.name})
    return draft


def confirm_batch(session: Session, actor: User, batch_id: int, today: dt.date) -> ConfirmReport:
    """Confirm every draft of the batch whose inputs are unchanged since it was made."""
    batch = writable_batch(session, actor, batch_id)
    drafts = list(session.scalars(select(LevelDecision).where(LevelDecision.batch_id == batch.id,
                                                              LevelDecision.state == "draft")
                                  .order_by(LevelDecision.registration_id)))
    if not drafts:
        raise ValidationError("本批次没有待确认的结论。")
    loaded = load_cases(session, batch, today, [d.registration_id for d in drafts])
    report = ConfirmReport()
    _confirm(session, actor, drafts, {c.registration_id: c.fingerprint for c in loaded}, report)
    audit.record(session, actor, "decision.confirm", "batch", batch.id, after={
        "count": len(report.confirmed), "confirmed_by": actor.name,
        "versions": [{"registration_id": r, "version": v} for r, v in report.confirmed], "stale": report.stale})
    return report


# ---------------------------------------------------------------- re-checks (复核)


def recheck_deadline(session: Session, decision: LevelDecision) -> dt.date:
    """The last day a re-check of the released ``decision`` may be asked for: the configured
    number of working days after the Beijing day of its confirmation."""
    assert decision.confirmed_at is not None
    days = int(get_rule(session, "results_rules")["recheck_working_days"])
    return load_calendar(session).add_working_days(beijing_date(decision.confirmed_at), days)


def request_recheck(session: Session, actor: User, registration_id: int, today: dt.date, *,
                    components: Sequence[str], details: str) -> RecheckRequest:
    """A candidate asks for a re-check of their own released decision: of a registration of
    their person (results follow the person, so any of the person's accounts may ask)."""
    require_role(actor, Role.CANDIDATE)
    reg = session.get(BatchCandidate, registration_id)
    if reg is None or (reg.candidate_id != actor.id and (actor.person_id is None or reg.person_id != actor.person_id)):
        raise NotFound("报名记录不存在。")
    released = released_decision(session, reg.id)
    if released is None:
        raise ValidationError("成绩和结论尚未发布，暂不能申请复核。")
    deadline = recheck_deadline(session, released)
    if today > deadline:
        days = int(get_rule(session, "results_rules")["recheck_working_days"])
        raise ValidationError(f"复核申请须在结论发布后 {days} 个工作日内提出"
                              f"（截止 {deadline.year}年{deadline.month}月{deadline.day}日），已超过期限。")
    if session.scalar(select(RecheckRequest.id).where(RecheckRequest.decision_id == released.id)) is not None:
        raise ValidationError("已对本次发布的结论申请过复核，请等待答复。")
    known = {c.value for c in Component}
    chosen = list(dict.fromkeys(components))
    if any(c not in known for c in chosen):
        raise ValidationError("请选择要复核的科目。", field="components")
    text = (details or "").strip()
    if not text:
        raise ValidationError("请写明复核的理由。", field="details")
    if len(text) > MAX_REASON:
        raise ValidationError(f"复核理由不能超过 {MAX_REASON} 个字符。", field="details")
    request = RecheckRequest(decision_id=released.id, registration_id=reg.id, batch_id=reg.batch_id,
                             candidate_id=actor.id, components=chosen, details=text, requested_on=today)
    session.add(request)
    session.flush()
    audit.record(session, actor, "recheck.request", "registration", reg.id, after={
        "version": released.version, "components": chosen, "reason": text})
    return request


def answer_recheck(session: Session, actor: User, recheck_id: int, *, kind: str, answer: str,
                   batch_id: int | None = None) -> RecheckRequest:
    """The institution answers a re-check in writing: the decision stands (``maintained``) or
    is corrected (``corrected``: the institution then re-decides, a new version with a reason)."""
    request = session.get(RecheckRequest, recheck_id)
    if request is None or (batch_id is not None and request.batch_id != batch_id):
        raise NotFound("复核申请不存在。")
    writable_batch(session, actor, request.batch_id)
    if request.state != "open":
        raise ValidationError("该复核申请已答复。")
    if kind not in RECHECK_ANSWERS:
        raise ValidationError("请选择复核结果（维持原结论或更正）。", field="kind")
    text = (answer or "").strip()
    if not text:
        raise ValidationError("请填写书面答复。", field="answer")
    if len(text) > MAX_REASON:
        raise ValidationError(f"答复不能超过 {MAX_REASON} 个字符。", field="answer")
    request.state = "answered"
    request.answer_kind = kind
    request.answer = text
    request.answered_by_id = actor.id
    request.answered_by_name = actor.name
    request.answered_at = utcnow()
    session.flush()
    audit.record(session, actor, "recheck.answer", "registration", request.registration_id, after={
        "kind": kind, "answer": text, "answered_by": actor.name})
    return request
