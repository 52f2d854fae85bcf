"""What the results pages and transcripts (成绩单) show: a batch's registrations × components
with every sitting's state and score (missing and pending ones marked), their current
decisions, one registration's whole record, a candidate's released results; and the
transcripts as Excel (through :mod:`foundation.xlsx`, the one writer).

Reads only; who may read is checked by the callers through
:func:`grading.results.decisions.readable_batch` (institution and centre) or by the
candidate's own account (:func:`my_results`). Every list is read for a page of registrations
with a fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, joinedload

from examroom.models import Batch, BatchCandidate
from foundation.accounts import CANDIDATE_CATEGORY_LABELS, CandidateCategory, User
from foundation.levels import level_name
from foundation.xlsx import add_notes, append_row, new_workbook, workbook_bytes, write_header
from grading.results.decision import Component, Method, Outcome
from grading.results.decisions import Current, current_decisions, recheck_deadline
from grading.results.models import ComponentResult, LevelDecision, RecheckRequest
from grading.results.schemes import schemes_for_level

__all__ = [
    "BatchGrid",
    "Released",
    "Sitting",
    "batch_grid",
    "batch_transcript_bytes",
    "batch_transcript_xlsx",
    "my_results",
    "person_transcript_xlsx",
    "registration_query",
    "registration_record",
]

STATE_LABELS = {"pending": "待评定", "scored": "已评定", "absent": "缺考", "void": "作废", "held": "暂缓"}
DECISION_STATE_LABELS = {"draft": "草稿（未确认）", "confirmed": "已确认发布", "superseded": "已被新版本取代"}
METHOD_LABELS = {m.value: m.label for m in Method}


def outcome_label(outcome: str) -> str:
    return Outcome(outcome).label


def category_label(value: str) -> str:
    try:
        return CANDIDATE_CATEGORY_LABELS[CandidateCategory(value)]
    except ValueError:
        return value


def score_text(score: Decimal | float | int | None) -> str:
    if score is None:
        return ""
    value = Decimal(str(score))
    return str(int(value)) if value == value.to_integral_value() else f"{value.normalize():f}"


@dataclass(frozen=True, slots=True)
class Sitting:
    """One stored result of a component: the day, its state and score (None: absent, pending)."""

    sat_on: dt.date
    state: str
    score: Decimal | None

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def text(self) -> str:
        if self.state == "scored" or (self.score is not None and self.state in ("held", "void")):
            suffix = "" if self.state == "scored" else f"（{self.state_label}）"
            return f"{score_text(self.score)}{suffix}"
        return self.state_label


@dataclass(slots=True)
class GridRow:
    registration: BatchCandidate
    required: tuple[Component, ...]
    sittings: dict[Component, list[Sitting]]
    current: Current

    def cell(self, component: Component) -> list[Sitting]:
        return self.sittings.get(component, [])

    def missing(self, component: Component) -> bool:
        """A required component without any result in this batch (缺成绩)."""
        return component in self.required and not self.sittings.get(component)

    def pending(self, component: Component) -> bool:
        return any(s.state == "pending" for s in self.sittings.get(component, []))

    @property
    def method_label(self) -> str:
        return METHOD_LABELS.get(self.registration.method, self.registration.method)


@dataclass(slots=True)
class BatchGrid:
    """Registrations × components of a batch (one page of registrations)."""

    batch: Batch
    components: tuple[Component, ...]
    rows: list[GridRow]

    @property
    def missing_count(self) -> int:
        return sum(row.missing(c) for row in self.rows for c in self.components)


def registration_query(batch_id: int, q: str = "") -> Select[BatchCandidate]:
    """The batch's registrations in ticket order, filtered by name, ticket or ID number."""
    stmt = select(BatchCandidate).join(User, User.id == BatchCandidate.candidate_id).where(
        BatchCandidate.batch_id == batch_id)
    text = q.strip()
    if text:
        stmt = stmt.where(or_(User.name.icontains(text, autoescape=True),
                              BatchCandidate.ticket_no.icontains(text, autoescape=True),
                              User.id_number.icontains(text, autoescape=True)))
    return stmt.order_by(BatchCandidate.ticket_no, BatchCandidate.id)


def _required(session: Session, batch: Batch) -> dict[str, tuple[Component, ...]]:
    schemes = schemes_for_level(session, batch.occupation, batch.level)
    out = {m.value: s.required for m, s in schemes.items()}
    out[Method.COMPETITION.value] = ()
    return out


def batch_grid(session: Session, batch: Batch, registrations: Sequence[BatchCandidate]) -> BatchGrid:
    """The grid for ``registrations`` (of ``batch``): four queries whatever their number."""
    required = _required(session, batch)
    ids = [r.id for r in registrations]
    sittings: dict[int, dict[Component, list[Sitting]]] = defaultdict(lambda: defaultdict(list))
    known = {c.value: c for c in Component}
    if ids:
        for reg_id, component, sat_on, state, score in session.execute(
                select(ComponentResult.registration_id, ComponentResult.component, ComponentResult.sat_on,
                       ComponentResult.state, ComponentResult.score)
                .where(ComponentResult.registration_id.in_(ids))
                .order_by(ComponentResult.sat_on, ComponentResult.id)):
            if component in known:
                sittings[reg_id][known[component]].append(Sitting(sat_on, state, score))
    methods = {r.method for r in registrations} or {Method.ASSESSMENT.value}
    present = {c for reg_id in ids for c in sittings[reg_id]}
    wanted = {c for m in methods for c in required.get(m, ())} | present
    components = tuple(c for c in Component if c in wanted)
    current = current_decisions(session, ids)
    rows = [GridRow(r, required.get(r.method, ()), dict(sittings[r.id]), current[r.id]) for r in registrations]
    return BatchGrid(batch, components, rows)


# ---------------------------------------------------------------- one registration


@dataclass(slots=True)
class Record:
    """One registration's whole record for the institution: its batch results, every decision
    version (newest first) and its re-check requests."""

    registration: BatchCandidate
    batch: Batch
    grid: BatchGrid
    versions: list[LevelDecision]
    rechecks: list[RecheckRequest]

    @property
    def latest(self) -> LevelDecision | None:
        return self.versions[0] if self.versions else None

    @property
    def released(self) -> LevelDecision | None:
        return next((v for v in self.versions if v.state == "confirmed"), None)


def registration_record(session: Session, batch: Batch, registration_id: int) -> Record | None:
    """The record of a registration of ``batch`` (None if it is not one of its registrations)."""
    reg = session.scalar(select(BatchCandidate).options(joinedload(BatchCandidate.candidate))
                         .where(BatchCandidate.id == registration_id, BatchCandidate.batch_id == batch.id))
    if reg is None:
        return None
    versions = list(session.scalars(select(LevelDecision).where(LevelDecision.registration_id == reg.id)
                                    .order_by(LevelDecision.version.desc())))
    rechecks = list(session.scalars(select(RecheckRequest).where(RecheckRequest.registration_id == reg.id)
                                    .order_by(RecheckRequest.requested_at.desc())))
    return Record(reg, batch, batch_grid(session, batch, [reg]), versions, rechecks)


# ---------------------------------------------------------------- the candidate's own


@dataclass(slots=True)
class Released:
    """One of a candidate's registrations: its released decision (None before release), the
    results that decision was made from, and the re-check state."""

    registration: BatchCandidate
    batch: Batch
    decision: LevelDecision | None
    results: list[dict[str, Any]] = field(default_factory=list)
    recheck: RecheckRequest | None = None
    recheck_until: dt.date | None = None

    @property
    def level_label(self) -> str:
        return level_name(self.batch.level)


def my_results(session: Session, candidate: User) -> list[Released]:
    """The registrations of the candidate's person, newest first, each with its released
    decision only: before the institution confirms a decision the candidate sees no score and
    no outcome. Results follow the person, not the account: the registrations of the person's
    other accounts (another institution's, another year's) are listed too, but only once their
    decision is released; this account's own registrations are listed from the start."""
    mine = BatchCandidate.candidate_id == candidate.id
    person = or_(mine, BatchCandidate.person_id == candidate.person_id) if candidate.person_id is not None else mine
    regs = list(session.scalars(select(BatchCandidate).options(joinedload(BatchCandidate.batch))
                                .where(person).order_by(BatchCandidate.id.desc())))
    ids = [r.id for r in regs]
    released = {d.registration_id: d for d in session.scalars(
        select(LevelDecision).where(LevelDecision.registration_id.in_(ids), LevelDecision.state == "confirmed"))} \
        if ids else {}
    regs = [r for r in regs if r.candidate_id == candidate.id or r.id in released]
    rechecks = {r.decision_id: r for r in session.scalars(
        select(RecheckRequest).where(RecheckRequest.decision_id.in_([d.id for d in released.values()])))} \
        if released else {}
    out = []
    for reg in regs:
        decision = released.get(reg.id)
        item = Released(reg, reg.batch, decision)
        if decision is not None:
            item.results = decision.inputs.get("results", [])
            item.recheck = rechecks.get(decision.id)
            item.recheck_until = recheck_deadline(session, decision)
        out.append(item)
    return out


# ---------------------------------------------------------------- transcripts (成绩单) as Excel


def _sittings_text(sittings: list[Sitting]) -> str:
    return "；".join(f"{s.text}（{s.sat_on:%m-%d}）" if len(sittings) > 1 else s.text for s in sittings)


def _decision_columns(current: Current) -> list[Any]:
    shown = current.confirmed or current.draft
    if shown is None:
        return ["未判定", "", None, "", ""]
    state = "已确认" if shown.state == "confirmed" else "草稿（未确认）"
    confirmed_at = shown.confirmed_at.strftime("%Y-%m-%d %H:%M") if shown.confirmed_at else ""
    return [outcome_label(shown.outcome), state, shown.decided_on, shown.confirmed_by_name or "", confirmed_at]


def batch_transcript_xlsx(session: Session, batch: Batch) -> bytes:
    """成绩单 of the whole batch: one row per registration, every component's results and the
    decision (the confirmed one, else the draft, marked), full ID numbers (the evaluating
    institution's and the centre's copy)."""
    regs = list(session.scalars(registration_query(batch.id).options(joinedload(BatchCandidate.candidate))))
    return batch_transcript_bytes(batch, batch_grid(session, batch, regs))


def batch_transcript_bytes(batch: Batch, grid: BatchGrid) -> bytes:
    """The workbook of :func:`batch_transcript_xlsx` from the batch's grid."""
    columns = ["序号", "准考证号", "姓名", "证件号码", "考生类别", "评价方式",
               *[c.label for c in grid.components], "结论", "结论状态", "判定日期", "确认人", "确认时间"]
    workbook, sheet = new_workbook("成绩单")
    write_header(sheet, columns, {"证件号码": 22, "准考证号": 16, "确认时间": 18})
    for k, row in enumerate(grid.rows, start=1):
        reg = row.registration
        cells = [_sittings_text(row.cell(c)) or ("缺成绩" if row.missing(c) else "") for c in grid.components]
        append_row(sheet, [k, reg.ticket_no, reg.candidate.name, reg.candidate.id_number or "",
                           category_label(reg.category), row.method_label, *cells, *_decision_columns(row.current)])
    target = batch.occupation.name + (f"（{batch.work_type.name}）" if batch.work_type else "")
    add_notes(workbook, [
        ("项目", "内容"), ("评价机构", batch.institution.name), ("认定批次", batch.name),
        ("职业（工种）", target), ("等级", level_name(batch.level)),
        ("说明", "各科满分 100 分；同一科目多次考核的成绩按日期列出。结论以「已确认」者为准，"
                 "「草稿」为尚未经机构确认的判定结果。"),
    ])
    return workbook_bytes(workbook)


def person_transcript_xlsx(record: Record) -> bytes:
    """成绩单 of one registration: its results, the decision shown (confirmed, else the draft,
    marked) with its reasons, and who confirmed it."""
    reg, batch = record.registration, record.batch
    shown = record.released or record.latest
    workbook, sheet = new_workbook("个人成绩单")
    write_header(sheet, ["项目", "内容"], [16, 80])
    target = batch.occupation.name + (f"（{batch.work_type.name}）" if batch.work_type else "")
    for label, value in (("姓名", reg.candidate.name), ("证件号码", reg.candidate.id_number or ""),
                         ("准考证号", reg.ticket_no), ("评价机构", batch.institution.name), ("认定批次", batch.name),
                         ("职业（工种）", target), ("等级", level_name(batch.level)),
                         ("评价方式", METHOD_LABELS.get(reg.method, reg.method))):
        append_row(sheet, [label, value])
    row = record.grid.rows[0]
    for component in record.grid.components:
        text = _sittings_text(row.cell(component)) or ("缺成绩" if row.missing(component) else "—")
        append_row(sheet, [component.label, text])
    if shown is None:
        append_row(sheet, ["结论", "尚未判定"])
    else:
        state = "已确认" if shown.state == "confirmed" else "草稿（未确认）"
        append_row(sheet, ["结论", f"{outcome_label(shown.outcome)}（第 {shown.version} 版，{state}）"])
        append_row(sheet, ["判定日期", shown.decided_on])
        if shown.confirmed_by_name:
            append_row(sheet, ["确认人", shown.confirmed_by_name])
        for k, reason in enumerate(shown.reasons, start=1):
            append_row(sheet, [f"理由 {k}", reason["text"]], wrap_multiline=True)
    return workbook_bytes(workbook)
