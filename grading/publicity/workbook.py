"""The submission to the centre as an Excel workbook (what goes on to the national system): one
sheet per kind — 人员 (people), 成绩 (components), 认定结论 (decisions), 证书信息 (certificate data)
— and a 说明 sheet. Written with the one writer, :mod:`foundation.xlsx` (text never becomes a
formula). It is the centre's copy, so names and ID numbers are in full. Every sheet carries the
准考证号 and 证件号码 of the row's person, so the sheets join on either. The layout is documented
in ``docs/publicity.md``; a change of columns is a change of that document.

Rows: the submission's entries (withdrawn entries were never submitted), in ticket order;
成绩 has every current component result of the registration (one row per sitting).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from examroom.models import BatchCandidate
from foundation.accounts import User
from foundation.levels import level_name
from foundation.people import ID_TYPE_LABELS, IdType, Person
from foundation.xlsx import add_notes, append_row, new_workbook, workbook_bytes, write_header
from grading.publicity.models import Submission
from grading.results.decision import Component
from grading.results.models import ComponentResult, LevelDecision
from grading.results.sheets import STATE_LABELS, category_label, outcome_label, score_text

PEOPLE = ("序号", "准考证号", "姓名", "证件类型", "证件号码", "考生类别", "评价机构", "评价机构编码")
COMPONENTS = ("准考证号", "证件号码", "考核科目", "考核日期", "状态", "成绩")
DECISIONS = ("准考证号", "证件号码", "认定结论", "等级", "结论日期", "合格日期", "确认人", "确认时间")
CERTIFICATE_DATA = ("准考证号", "证件号码", "姓名", "证件类型", "职业编码", "职业名称", "工种", "等级",
                    "评价机构", "公示期", "审核状态", "退回理由")
SHEETS = {"人员": PEOPLE, "成绩": COMPONENTS, "认定结论": DECISIONS, "证书信息": CERTIFICATE_DATA}


def _component_label(code: str) -> str:
    try:
        return Component(code).label
    except ValueError:
        return code


@dataclass
class SubmissionRows:
    """What the workbook shows besides the submission itself, loaded in a fixed number of
    queries: the entries in ticket order, each registration and its person, the current
    component results and the confirmed decision per registration."""

    order: list[Any]  # SubmissionEntry, in ticket order
    regs: dict[int, Any]  # registration id → BatchCandidate
    persons: dict[int, Any]  # registration id → Person
    by_reg: dict[int, list[Any]]  # registration id → ComponentResult rows
    decisions: dict[int, Any]  # registration id → confirmed LevelDecision


def submission_xlsx(session: Session, submission: Submission) -> bytes:
    """The workbook of ``submission`` (a fixed number of queries)."""
    return submission_workbook_bytes(submission, load_rows(session, submission))


def load_rows(session: Session, submission: Submission) -> SubmissionRows:
    """The rows of :func:`submission_workbook_bytes` from the database."""
    reg_ids = [e.registration_id for e in submission.entries]
    regs = {r.id: r for r in session.scalars(select(BatchCandidate).where(BatchCandidate.id.in_(reg_ids))
                                             .options(joinedload(BatchCandidate.candidate).joinedload(User.person)))}
    order = sorted(submission.entries, key=lambda e: regs[e.registration_id].ticket_no)
    persons: dict[int, Person] = {}
    for reg_id, registration in regs.items():
        assert registration.candidate.person is not None
        persons[reg_id] = registration.candidate.person
    results = list(session.scalars(select(ComponentResult).where(ComponentResult.registration_id.in_(reg_ids))
                                   .order_by(ComponentResult.registration_id, ComponentResult.component,
                                             ComponentResult.sat_on)))
    decisions = {d.registration_id: d for d in session.scalars(select(LevelDecision).where(
        LevelDecision.registration_id.in_(reg_ids), LevelDecision.state == "confirmed"))}
    by_reg: dict[int, list[Any]] = {}
    for result in results:
        by_reg.setdefault(result.registration_id, []).append(result)
    return SubmissionRows(order, regs, persons, by_reg, decisions)


def submission_workbook_bytes(submission: Submission, rows: SubmissionRows) -> bytes:
    """The workbook's bytes from the submission and its loaded rows (no database)."""
    batch = submission.batch
    inst = batch.institution
    order, regs, persons, by_reg, decisions = rows.order, rows.regs, rows.persons, rows.by_reg, rows.decisions
    workbook, people = new_workbook("人员")
    write_header(people, PEOPLE, (6, 16, 12, 14, 22, 12, 30, 16))
    for k, e in enumerate(order, start=1):
        reg, person = regs[e.registration_id], persons[e.registration_id]
        append_row(people, [k, reg.ticket_no, person.name, ID_TYPE_LABELS[IdType(person.id_type)], person.id_number,
                            category_label(reg.category), inst.name, inst.code or ""])

    sheet = workbook.create_sheet("成绩")
    write_header(sheet, COMPONENTS, (16, 22, 14, 12, 10, 8))
    for e in order:
        reg, person = regs[e.registration_id], persons[e.registration_id]
        for r in by_reg.get(reg.id, []):
            append_row(sheet, [reg.ticket_no, person.id_number, _component_label(r.component), r.sat_on.isoformat(),
                               STATE_LABELS.get(r.state, r.state), score_text(r.score)])

    sheet = workbook.create_sheet("认定结论")
    write_header(sheet, DECISIONS, (16, 22, 10, 14, 12, 12, 12, 20))
    for e in order:
        reg, person = regs[e.registration_id], persons[e.registration_id]
        d = decisions.get(reg.id)
        if d is None:
            continue
        append_row(sheet, [reg.ticket_no, person.id_number, outcome_label(d.outcome), level_name(d.level),
                           d.decided_on.isoformat(), d.qualified_on.isoformat() if d.qualified_on else "",
                           d.confirmed_by_name or "",
                           d.confirmed_at.strftime("%Y-%m-%d %H:%M") if d.confirmed_at else ""])

    sheet = workbook.create_sheet("证书信息")
    write_header(sheet, CERTIFICATE_DATA, (16, 22, 12, 14, 14, 20, 16, 14, 30, 24, 10, 30))
    work_type = batch.work_type.name if batch.work_type else "--"
    for e in order:
        reg, person = regs[e.registration_id], persons[e.registration_id]
        p = e.entry
        append_row(sheet, [reg.ticket_no, person.id_number, person.name, ID_TYPE_LABELS[IdType(person.id_type)],
                           batch.occupation.code, batch.occupation.name, work_type,
                           level_name(batch.level), inst.name, f"{p.starts_on} 至 {p.ends_on}", e.status_label,
                           e.reason], wrap_multiline=True)

    pub = submission.publicity
    add_notes(workbook, [
        ("成绩及证书数据报送", ""),
        ("评价机构", inst.name),
        ("评价机构编码", inst.code or ""),
        ("认定批次", batch.name),
        ("职业（工种）", batch.occupation.name + (f"（{batch.work_type.name}）" if batch.work_type else "")),
        ("等级", level_name(batch.level)),
        ("公示期", f"{pub.starts_on} 至 {pub.ends_on}"),
        ("报送日期", submission.submitted_on.isoformat()),
        ("报送截止日期", submission.due_on.isoformat()),
        ("审核状态", submission.status_label),
        ("人数", str(len(order))),
        ("说明", "工作表：人员、成绩、认定结论、证书信息，各行以准考证号和证件号码关联。"
                "因异议成立撤销公示的人员不在报送范围内。证件号码为全文，仅供省中心使用。"),
    ], wrap=True)
    return workbook_bytes(workbook)
