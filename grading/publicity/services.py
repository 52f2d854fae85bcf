"""Publicity (公示), objections (异议), submission to the centre and the centre's review.

* :func:`open_publicity` — the institution admin publicises a batch's confirmed 合格 decisions
  (masked name and ID number, occupation, 工种, level, institution). The period starts on the
  first working day on or after the chosen date and lasts 5 working days (:func:`period`).
* :func:`submit_objection` — anyone, no login, while the entry's period is open; answers with a
  receipt number (:func:`find_objection`). A pending objection holds that entry only.
* :func:`answer_objection` — the institution answers in writing: dismissed (the entry is
  released), or upheld with what changes the entry: ``corrected`` (its data taken again from
  the person's record and re-publicised for another 5 working days, its own end date) or
  ``withdrawn`` (off the list: no submission, no certificate).
* :func:`submit` — after a clean publicity (ended, no pending objection) the institution
  submits its listed entries to the centre; the due date is the 10th working day after the end.
  A returned submission is resubmitted with the same call.
* :func:`review` — the centre approves, or returns naming entries with a reason each: only
  those reopen, the rest stay pending approval.
* :func:`publicise_and_approve` — the whole path at once with dates in the past (test worlds,
  the benchmark, demo data): each step is the service above, nothing bypassed.

Every service takes ``today`` (default: Beijing today) so that tests can move time; every write
is validated first, flushed (never committed) and audited.
"""

from __future__ import annotations

import datetime as dt
import secrets
import unicodedata
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from examroom.models import Batch, BatchCandidate, BatchStatus
from foundation import audit
from foundation.accounts import User
from foundation.calendar import WorkingCalendar, beijing_date, load_calendar
from foundation.db import utcnow
from foundation.errors import NotFound, ValidationError
from foundation.idcard import mask_id_number, mask_name
from foundation.names import refused_characters
from foundation.people import Person
from foundation.roles import Role, require_role
from grading.publicity.models import (
    EntryStatus,
    Objection,
    ObjectionStatus,
    Publicity,
    PublicityEntry,
    Submission,
    SubmissionEntry,
    SubmissionEntryStatus,
    SubmissionStatus,
)
from grading.results.models import LevelDecision

PERIOD_DAYS = 5  # working days of a publicity and of a re-publicised entry [N]
SUBMIT_WITHIN = 10  # working days after the end to submit to the centre [N]
RECENT_DAYS = 30  # ended publicities stay on the public list this many calendar days
MAX_OBJECTION = 1000
MIN_OBJECTION = 10
MAX_ANSWER = 2000
MAX_REASON = 500
RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def _today(today: dt.date | None) -> dt.date:
    return today or beijing_date(utcnow())


def period(cal: WorkingCalendar, start_on: dt.date) -> tuple[dt.date, dt.date]:
    """(first day, last day) of a publicity chosen to start on ``start_on``: the first working
    day on or after it, and the 5th working day counting that one."""
    first = cal.working_day_on_or_after(start_on)
    return first, cal.add_working_days(first, PERIOD_DAYS - 1)


def _own_publicity(session: Session, actor: User, publicity_id: int) -> Publicity:
    """The publicity, for its institution's admin or the centre (NotFound for anyone else)."""
    pub = session.get(Publicity, publicity_id)
    if pub is None or not (actor.role == Role.CENTRE_ADMIN.value or (
            actor.role == Role.INSTITUTION_ADMIN.value and actor.institution_id == pub.institution_id)):
        raise NotFound("公示不存在。")
    return pub


def get_publicity(session: Session, actor: User, publicity_id: int) -> Publicity:
    require_role(actor, Role.INSTITUTION_ADMIN, Role.CENTRE_ADMIN)
    return _own_publicity(session, actor, publicity_id)


# ------------------------------------------------------------------------------ opening


def qualified_decisions(session: Session, batch: Batch) -> list[LevelDecision]:
    """The batch's confirmed 合格 decisions at its level, in ticket order."""
    return list(session.scalars(
        select(LevelDecision).join(BatchCandidate, BatchCandidate.id == LevelDecision.registration_id)
        .where(LevelDecision.batch_id == batch.id, LevelDecision.state == "confirmed",
               LevelDecision.outcome == "qualified", LevelDecision.level == batch.level)
        .order_by(BatchCandidate.ticket_no)))


def _fill(entry: PublicityEntry, person: Person, batch: Batch) -> None:
    entry.name_masked = mask_name(person.name)
    entry.id_masked = mask_id_number(person.id_number)
    entry.occupation_name = batch.occupation.name
    entry.work_type_name = batch.work_type.name if batch.work_type else None
    entry.level = batch.level
    entry.institution_name = batch.institution.name


def open_publicity(session: Session, actor: User, batch_id: int, start_on: dt.date, *,
                   today: dt.date | None = None) -> Publicity:
    """Publicise the confirmed 合格 decisions of the actor's batch from ``start_on``."""
    require_role(actor, Role.INSTITUTION_ADMIN)
    today = _today(today)
    batch = session.get(Batch, batch_id)
    if batch is None or batch.institution_id != actor.institution_id:
        raise NotFound("认定批次不存在。")
    if batch.status != BatchStatus.ACKNOWLEDGED.value:
        raise ValidationError("该批次的认定计划尚未经省中心确认，不能公示。")
    if session.scalar(select(Publicity.id).where(Publicity.batch_id == batch.id)) is not None:
        raise ValidationError("该批次已经公示，不能重复公示。")
    if start_on < today:
        raise ValidationError("公示开始日期不能早于今天。", field="start_on")
    if start_on > today + dt.timedelta(days=60):
        raise ValidationError("公示开始日期不能晚于今天起 60 天。", field="start_on")
    decisions = qualified_decisions(session, batch)
    if not decisions:
        raise ValidationError("该批次没有已确认的“合格”认定结论，无需公示。")
    cal = load_calendar(session)
    starts_on, ends_on = period(cal, start_on)
    pub = Publicity(batch_id=batch.id, institution_id=batch.institution_id,
                    title=f"{batch.institution.name}{batch.name}合格人员公示", start_on=start_on,
                    starts_on=starts_on, ends_on=ends_on, submit_due_on=cal.add_working_days(ends_on, SUBMIT_WITHIN),
                    opened_by_id=actor.id)
    people = {p.id: p for p in session.scalars(select(Person).where(
        Person.id.in_([d.person_id for d in decisions])))}
    for decision in decisions:
        entry = PublicityEntry(registration_id=decision.registration_id, person_id=decision.person_id,
                               decision_id=decision.id, starts_on=starts_on, ends_on=ends_on,
                               status=EntryStatus.LISTED.value)
        _fill(entry, people[decision.person_id], batch)
        pub.entries.append(entry)
    session.add(pub)
    session.flush()
    audit.record(session, actor, "publicity.publish", "publicity", pub.id,
                 after={"batch": batch.id, "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat(),
                        "entries": len(decisions)})
    return pub


def publicities_of(session: Session, actor: User) -> list[Publicity]:
    """The actor's institution's publicities (the centre: all), newest first."""
    require_role(actor, Role.INSTITUTION_ADMIN, Role.CENTRE_ADMIN)
    stmt = select(Publicity).options(joinedload(Publicity.batch)).order_by(Publicity.id.desc())
    if actor.role != Role.CENTRE_ADMIN.value:
        stmt = stmt.where(Publicity.institution_id == actor.institution_id)
    return list(session.scalars(stmt))


def batches_to_publicise(session: Session, actor: User) -> list[tuple[Batch, int]]:
    """The actor's acknowledged batches without a publicity that have confirmed 合格 decisions,
    with how many."""
    require_role(actor, Role.INSTITUTION_ADMIN)
    rows = session.execute(
        select(Batch, func.count(LevelDecision.id)).join(LevelDecision, LevelDecision.batch_id == Batch.id)
        .where(Batch.institution_id == actor.institution_id, Batch.status == BatchStatus.ACKNOWLEDGED.value,
               LevelDecision.state == "confirmed", LevelDecision.outcome == "qualified",
               LevelDecision.level == Batch.level,
               ~select(Publicity.id).where(Publicity.batch_id == Batch.id).exists())
        .group_by(Batch.id).order_by(Batch.id.desc())).all()
    return [(b, n) for b, n in rows]


# ------------------------------------------------------------------------------ public pages


def public_query(q: str, today: dt.date) -> Select[Publicity]:
    """Publicities the public sees: started, and open or ended within :data:`RECENT_DAYS`,
    searched by title, institution or occupation."""
    stmt = select(Publicity).where(Publicity.starts_on <= today,
                                   Publicity.ends_on >= today - dt.timedelta(days=RECENT_DAYS))
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Publicity.title.ilike(like), select(PublicityEntry.id).where(
            PublicityEntry.publicity_id == Publicity.id,
            or_(PublicityEntry.institution_name.ilike(like), PublicityEntry.occupation_name.ilike(like),
                PublicityEntry.work_type_name.ilike(like))).exists()))
    return stmt.order_by(Publicity.ends_on.desc(), Publicity.id.desc())


def public_publicity(session: Session, publicity_id: int, today: dt.date) -> Publicity:
    pub = session.get(Publicity, publicity_id)
    if pub is None or pub.starts_on > today or pub.ends_on < today - dt.timedelta(days=RECENT_DAYS):
        raise NotFound("公示不存在或已过期。")
    return pub


def public_entries_query(publicity_id: int, name: str = "") -> Select[PublicityEntry]:
    """A publicity's listed entries; ``name`` matches the full name exactly or the masked name."""
    stmt = select(PublicityEntry).where(PublicityEntry.publicity_id == publicity_id,
                                        PublicityEntry.status == EntryStatus.LISTED.value)
    if name:
        stmt = stmt.where(or_(PublicityEntry.name_masked.ilike(f"%{name}%"), select(Person.id).where(
            Person.id == PublicityEntry.person_id, Person.name == name).exists()))
    return stmt.order_by(PublicityEntry.id)


# ------------------------------------------------------------------------------ objections


def _plain(value: str, label: str, *, least: int, most: int, single_line: bool) -> str:
    """Plain text: NFC, line ends normalised, control and invisible format characters refused
    (a single-line field) or dropped (a text: all but line breaks), length-checked."""
    text = unicodedata.normalize("NFC", value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if single_line:
        if refused_characters(text):
            raise ValidationError(f"{label}不能包含换行、制表符等控制字符或不可见字符。")
    else:
        text = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) not in {"Cc", "Cf", "Cs"})
        while "\n\n\n" in text:
            text = text.replace("\n\n\n", "\n\n")
    if len(text) < least:
        raise ValidationError(f"请填写{label}。" if least <= 1 else f"{label}至少 {least} 个字。")
    if len(text) > most:
        raise ValidationError(f"{label}不能超过 {most} 个字。")
    return text


def _receipt(session: Session) -> str:
    while True:
        receipt = "YY" + "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(12))
        if session.scalar(select(Objection.id).where(Objection.receipt == receipt)) is None:
            return receipt


def submit_objection(session: Session, entry_id: int, objector_name: str, contact: str, text: str, *,
                     today: dt.date | None = None) -> Objection:
    """An objection (no login) to one entry while its period is open; returns it with its receipt."""
    today = _today(today)
    entry = session.get(PublicityEntry, entry_id)
    if entry is None or entry.withdrawn or entry.publicity.starts_on > today:
        raise NotFound("公示名单中没有该人员。")
    name = _plain(objector_name, "异议人姓名", least=1, most=32, single_line=True)
    reach = _plain(contact, "联系方式", least=5, most=64, single_line=True)
    body = _plain(text, "异议内容", least=MIN_OBJECTION, most=MAX_OBJECTION, single_line=False)
    if not entry.is_open(today):
        raise ValidationError(
            f"该人员的公示期为 {entry.starts_on} 至 {entry.ends_on}，现已不在公示期内，不能提出异议。")
    objection = Objection(entry_id=entry.id, receipt=_receipt(session), objector_name=name, contact=reach,
                          text=body, status=ObjectionStatus.PENDING.value)
    session.add(objection)
    session.flush()
    audit.record(session, None, "objection.submit", "objection", objection.receipt,
                 after={"publicity": entry.publicity_id, "entry": entry.id})
    return objection


def find_objection(session: Session, receipt: str) -> Objection | None:
    """The objection with this receipt number (the objector's lookup), or None."""
    receipt = (receipt or "").strip().upper()
    if not receipt or len(receipt) > 16:
        return None
    return session.scalar(select(Objection).where(Objection.receipt == receipt))


def objections_of(session: Session, actor: User, publicity_id: int) -> list[Objection]:
    pub = get_publicity(session, actor, publicity_id)
    return list(session.scalars(select(Objection).join(PublicityEntry).where(
        PublicityEntry.publicity_id == pub.id).options(joinedload(Objection.entry)).order_by(Objection.id)))


def pending_objections(session: Session, publicity_id: int) -> int:
    return session.scalar(select(func.count(Objection.id)).join(PublicityEntry).where(
        PublicityEntry.publicity_id == publicity_id, Objection.status == ObjectionStatus.PENDING.value)) or 0


def answer_objection(session: Session, actor: User, objection_id: int, outcome: str, answer: str,
                     action: str = "", *, today: dt.date | None = None) -> Objection:
    """The institution's written answer. ``outcome`` ``dismissed`` releases the entry (once no
    other objection to it is pending); ``upheld`` needs ``action``: ``corrected`` (data taken
    again from the person's record, re-publicised for another 5 working days from the next
    working day) or ``withdrawn`` (the entry leaves the list)."""
    require_role(actor, Role.INSTITUTION_ADMIN)
    today = _today(today)
    objection = session.get(Objection, objection_id)
    if objection is None or objection.entry.publicity.institution_id != actor.institution_id:
        raise NotFound("异议不存在。")
    if objection.status != ObjectionStatus.PENDING.value:
        raise ValidationError("该异议已答复。")
    if outcome not in (ObjectionStatus.UPHELD.value, ObjectionStatus.DISMISSED.value):
        raise ValidationError("请选择异议成立或不成立。")
    text = _plain(answer, "书面答复", least=1, most=MAX_ANSWER, single_line=False)
    if outcome == ObjectionStatus.UPHELD.value and action not in ("corrected", "withdrawn"):
        raise ValidationError("异议成立时请选择处理方式：更正后重新公示，或撤销该人员的公示。")
    if outcome == ObjectionStatus.DISMISSED.value:
        action = ""
    entry = objection.entry
    pub = entry.publicity
    if entry.withdrawn and action:
        raise ValidationError("该人员已撤销公示。")
    before = {"status": entry.status, "starts_on": entry.starts_on.isoformat(), "ends_on": entry.ends_on.isoformat()}
    objection.status, objection.answer, objection.action = outcome, text, action
    objection.answered_by_id, objection.answered_at = actor.id, utcnow()
    if action == "withdrawn":
        entry.status = EntryStatus.WITHDRAWN.value
        entry.note = f"{today} 因异议成立撤销公示（回执 {objection.receipt}）"
    elif action == "corrected":
        cal = load_calendar(session)
        person = session.get_one(Person, entry.person_id)
        _fill(entry, person, pub.batch)
        entry.starts_on, entry.ends_on = period(cal, cal.next_working_day(today))
        entry.republished += 1
        entry.note = f"{today} 因异议成立更正，重新公示至 {entry.ends_on}（回执 {objection.receipt}）"
        if entry.ends_on > pub.ends_on:
            pub.ends_on = entry.ends_on
            pub.submit_due_on = cal.add_working_days(pub.ends_on, SUBMIT_WITHIN)
    session.flush()
    audit.record(session, actor, "objection.answer", "objection", objection.receipt, before=before,
                 after={"outcome": outcome, "action": action, "entry": entry.id, "status": entry.status,
                        "ends_on": entry.ends_on.isoformat()})
    return objection


# ------------------------------------------------------------------------------ submission


def overdue(pub: Publicity, submission: Submission | None, today: dt.date) -> bool:
    """Not submitted by the due date: still unsubmitted after it, or first submitted after it."""
    if submission is None:
        return today > pub.submit_due_on
    return submission.submitted_on > submission.due_on


def submission_problems(session: Session, pub: Publicity, today: dt.date) -> list[str]:
    """Why the publicity cannot be submitted yet (empty: it can)."""
    problems = []
    if not pub.has_ended(today):
        problems.append(f"公示期至 {pub.ends_on} 结束，结束后才能报送。")
    pending = pending_objections(session, pub.id)
    if pending:
        problems.append(f"尚有 {pending} 件异议未答复。")
    if not any(not e.withdrawn for e in pub.entries):
        problems.append("公示名单中没有可报送的人员。")
    return problems


def submission_of(session: Session, publicity_id: int) -> Submission | None:
    return session.scalar(select(Submission).where(Submission.publicity_id == publicity_id)
                          .options(selectinload(Submission.entries).joinedload(SubmissionEntry.entry)))


def submit(session: Session, actor: User, publicity_id: int, note: str = "", *,
           today: dt.date | None = None) -> Submission:
    """Submit the publicity's listed entries to the centre, or resubmit a returned submission
    (its returned entries become pending again; ``note`` says what was fixed)."""
    require_role(actor, Role.INSTITUTION_ADMIN)
    today = _today(today)
    pub = _own_publicity(session, actor, publicity_id)
    if pub.institution_id != actor.institution_id:
        raise NotFound("公示不存在。")
    text = _plain(note, "说明", least=0, most=MAX_REASON, single_line=False)
    existing = submission_of(session, pub.id)
    if existing is not None:
        if existing.status != SubmissionStatus.RETURNED.value:
            raise ValidationError("该批次的成绩及证书数据已报送，" + existing.status_label + "。")
        if not text:
            raise ValidationError("重新报送时请说明修改情况。")
        reopened = [e for e in existing.entries if e.status == SubmissionEntryStatus.RETURNED.value]
        for e in reopened:
            e.status = SubmissionEntryStatus.PENDING.value
        existing.status, existing.note, existing.round = SubmissionStatus.SUBMITTED.value, text, existing.round + 1
        existing.submitted_by_id, existing.submitted_at = actor.id, utcnow()
        session.flush()
        audit.record(session, actor, "submission.resubmit", "submission", existing.id,
                     after={"submission_round": existing.round, "entries": [e.registration_id for e in reopened]})
        return existing
    problems = submission_problems(session, pub, today)
    if problems:
        raise ValidationError("不能报送：" + "".join(problems))
    submission = Submission(publicity_id=pub.id, batch_id=pub.batch_id, institution_id=pub.institution_id,
                            due_on=pub.submit_due_on, submitted_on=today, status=SubmissionStatus.SUBMITTED.value,
                            note=text, submitted_by_id=actor.id)
    submission.entries = [SubmissionEntry(entry_id=e.id, registration_id=e.registration_id,
                                          status=SubmissionEntryStatus.PENDING.value)
                          for e in pub.entries if not e.withdrawn]
    session.add(submission)
    session.flush()
    audit.record(session, actor, "submission.submit", "submission", submission.id,
                 after={"publicity": pub.id, "entries": len(submission.entries),
                        "due_on": pub.submit_due_on.isoformat(), "overdue": today > pub.submit_due_on})
    return submission


def get_submission(session: Session, actor: User, submission_id: int) -> Submission:
    require_role(actor, Role.INSTITUTION_ADMIN, Role.CENTRE_ADMIN)
    sub = session.get(Submission, submission_id)
    if sub is None or not (actor.role == Role.CENTRE_ADMIN.value or actor.institution_id == sub.institution_id):
        raise NotFound("报送记录不存在。")
    return sub


def review(session: Session, actor: User, submission_id: int, *, approve: bool,
           reasons: Mapping[int, str] | None = None, today: dt.date | None = None) -> Submission:
    """The centre's review: approve every pending entry, or return naming entries
    (``reasons``: submission entry id → reason); only the named entries reopen."""
    require_role(actor, Role.CENTRE_ADMIN)
    sub = session.get(Submission, submission_id)
    if sub is None:
        raise NotFound("报送记录不存在。")
    if sub.status != SubmissionStatus.SUBMITTED.value:
        raise ValidationError("只有待审核的报送才能审核。")
    if approve:
        approved = [e for e in sub.entries if e.status == SubmissionEntryStatus.PENDING.value]
        for e in approved:
            e.status = SubmissionEntryStatus.APPROVED.value
        sub.status = SubmissionStatus.APPROVED.value
        sub.reviewed_by_id, sub.reviewed_at = actor.id, utcnow()
        session.flush()
        audit.record(session, actor, "submission.approve", "submission", sub.id,
                     after={"entries": [e.registration_id for e in approved]})
        return sub
    named = {k: v for k, v in (reasons or {}).items() if (v or "").strip()}
    if not named:
        raise ValidationError("退回时请至少为一名人员填写退回理由。")
    by_id = {e.id: e for e in sub.entries}
    cleaned = {}
    for entry_id, reason in named.items():
        named_entry = by_id.get(entry_id)
        if named_entry is None or named_entry.status != SubmissionEntryStatus.PENDING.value:
            raise ValidationError("退回的人员不在本次待审核的报送中。")
        cleaned[entry_id] = _plain(reason, "退回理由", least=1, most=MAX_REASON, single_line=False)
    for entry_id, reason in cleaned.items():
        by_id[entry_id].status, by_id[entry_id].reason = SubmissionEntryStatus.RETURNED.value, reason
    sub.status = SubmissionStatus.RETURNED.value
    sub.reviewed_by_id, sub.reviewed_at = actor.id, utcnow()
    session.flush()
    audit.record(session, actor, "submission.return", "submission", sub.id,
                 after={"entries": [by_id[i].registration_id for i in cleaned]})
    return sub


@dataclass(frozen=True)
class QueueRow:
    """A publicity in a submission list: its submission (if any), due date and overdue flag."""

    publicity: Publicity
    submission: Submission | None
    overdue: bool
    ended: bool


def queue(session: Session, actor: User, *, today: dt.date | None = None, everything: bool = False
          ) -> list[QueueRow]:
    """Institution: its publicities with their submissions. Centre: every publicity that has
    ended or been submitted, overdue and unapproved first (the review queue); ``everything``:
    every publicity, newest first."""
    require_role(actor, Role.INSTITUTION_ADMIN, Role.CENTRE_ADMIN)
    today = _today(today)
    pubs = publicities_of(session, actor)
    subs = {s.publicity_id: s for s in session.scalars(select(Submission).where(
        Submission.publicity_id.in_([p.id for p in pubs])))}
    rows = [QueueRow(p, subs.get(p.id), overdue(p, subs.get(p.id), today), p.has_ended(today)) for p in pubs]
    if actor.role == Role.CENTRE_ADMIN.value and not everything:
        rows = [r for r in rows if r.submission is not None or r.ended]
        rows.sort(key=lambda r: (r.submission is not None and r.submission.status == SubmissionStatus.APPROVED,
                                 not r.overdue, r.publicity.submit_due_on))
    return rows


# ------------------------------------------------------------------------------ the chain


def chain_states(session: Session, registration_ids: Sequence[int], today: dt.date | None = None
                 ) -> dict[int, list[str]]:
    """For each registration id, what the publicity and the centre's review still lack for
    issuance (Chinese reasons, empty: nothing). Three queries, whatever the number of ids."""
    today = _today(today)
    ids = list(registration_ids)
    entries = {e.registration_id: e for e in session.scalars(
        select(PublicityEntry).where(PublicityEntry.registration_id.in_(ids)))} if ids else {}
    pending: dict[int, int] = defaultdict(int)
    if entries:
        for entry_id, n in session.execute(select(Objection.entry_id, func.count()).where(
                Objection.entry_id.in_([e.id for e in entries.values()]),
                Objection.status == ObjectionStatus.PENDING.value).group_by(Objection.entry_id)):
            pending[entry_id] = n
    approved = set(session.scalars(select(SubmissionEntry.registration_id).join(Submission).where(
        SubmissionEntry.registration_id.in_(ids), SubmissionEntry.status == SubmissionEntryStatus.APPROVED.value,
        Submission.status == SubmissionStatus.APPROVED.value))) if ids else set()
    out: dict[int, list[str]] = {}
    for reg_id in ids:
        problems = []
        entry = entries.get(reg_id)
        if entry is None:
            problems.append("尚未公示。")
        elif entry.withdrawn:
            problems.append("因异议成立已撤销公示。")
        elif today <= entry.ends_on or pending[entry.id]:
            problems.append("公示未结束或存在未处理的异议。")
        if reg_id not in approved:
            problems.append("成绩及证书数据尚未经省中心审核通过。")
        out[reg_id] = problems
    return out


# ------------------------------------------------------------------------------ the whole path


def publicise_and_approve(session: Session, admin: User, centre: User, batch_id: int, *,
                          start_on: dt.date = dt.date(2026, 11, 2)) -> Submission:
    """Open the batch's publicity on ``start_on`` (a date in the past), let it end without
    objection, submit the day after it ends and approve that day: each step through the services
    above with ``today`` set to its date. For test worlds, the benchmark and demo data."""
    pub = open_publicity(session, admin, batch_id, start_on, today=start_on)
    after = load_calendar(session).next_working_day(pub.ends_on)
    submission = submit(session, admin, pub.id, today=after)
    return review(session, centre, submission.id, approve=True, today=after)
