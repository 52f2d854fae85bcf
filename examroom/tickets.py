"""Admission tickets (准考证): what a ticket says, assembled from the batch, the sitting, the
candidate and their seat. No drawing here (the web layer renders PDFs from :class:`Ticket`).

A ticket exists for every candidate on a batch's list and every sitting of the batch; a
theory sitting that has not been seated yet says so instead of a room and seat. Candidates
see their own tickets once the centre has acknowledged the plan.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from examroom.models import Batch, BatchCandidate, BatchStatus, ExamSession, ModuleKind, Room, Seat
from foundation.accounts import User
from foundation.calendar import BEIJING
from foundation.db import as_utc
from foundation.errors import NotFound
from foundation.idcard import mask_id_number
from foundation.levels import level_name
from foundation.settings import get_rule

TITLE = "职业技能等级认定准考证"

#: Statuses of a batch in which its candidates may download their own tickets.
CANDIDATE_VISIBLE = (BatchStatus.ACKNOWLEDGED.value,)


@dataclasses.dataclass(frozen=True)
class Ticket:
    title: str
    batch_name: str
    institution: str
    occupation: str  # 职业（工种）
    level: str
    module: str
    candidate_name: str
    id_number_masked: str
    ticket_no: str
    date: str  # 2026-12-20（星期日）
    time: str  # 09:00–10:30
    place: str
    room: str  # "" when not seated (or not a theory sitting)
    seat: str  # "3-4" (row-col), "" when not seated
    rules: tuple[str, ...]
    person_id: int | None = None  # whose photo the ticket shows (the web layer reads the store)

    @property
    def qr_payload(self) -> str:
        """What the ticket's QR code encodes: the ticket number (checked in at the door)."""
        return self.ticket_no

    @property
    def seat_text(self) -> str:
        if self.seat:
            row, col = self.seat.split("-")
            return f"{self.seat}（第 {row} 排第 {col} 座）"
        return "待编排" if self.room == "" and self.module == ModuleKind.THEORY.label else "--"


WEEKDAYS = "一二三四五六日"


def clock_rules(session: Session) -> tuple[str, ...]:
    """The room's clock in words, with the configured minutes: what the ticket prints and the
    exam page shows (both from here, so they say what examroom.lifecycle enforces)."""
    room_rules = get_rule(session, "room_rules")
    late = int(room_rules.get("late_entry_minutes", 15))
    earliest = int(room_rules.get("earliest_submit_minutes", 30))
    if room_rules.get("from_late_opening", True):
        anchor = "开考时刻为计划开考时间；监考员开考晚于计划开考时间的，以实际开考时刻为准。"
    else:
        anchor = "开考时刻为计划开考时间，监考员开考早晚均以此为准。"
    return (
        f"{anchor}考试时间从开考时刻起统一计算，全场同时结束，迟到考生不补时。",
        f"开考 {late} 分钟后不得入场；开考 {earliest} 分钟内不得交卷离场。",
    )


def exam_rules(session: Session) -> tuple[str, ...]:
    """The rules printed on every ticket (考场规则), with the configured minutes."""
    return (
        "考生须携带本准考证和本人有效居民身份证，提前 30 分钟到达考点，凭证入场，对号入座。",
        *clock_rules(session),
        "登录考试系统使用准考证号和身份证号码；不得代考，不得将账号交他人使用。",
        "除规定用品外，手机等电子设备须关机并交监考员统一保管，不得带至座位。",
        "考试期间不得切换窗口、复制粘贴或使用其他软件，系统将记录异常行为。",
        "服从监考员安排；违纪违规行为将按规定记入考场记录，并视情节取消成绩直至取消当年认定资格。",
    )


def _when(sitting: ExamSession) -> tuple[str, str]:
    start = as_utc(sitting.starts_at).astimezone(BEIJING)
    end = start + dt.timedelta(minutes=sitting.duration_minutes)
    return f"{start:%Y-%m-%d}（星期{WEEKDAYS[start.weekday()]}）", f"{start:%H:%M}–{end:%H:%M}"


def build_ticket(batch: Batch, sitting: ExamSession, entry: BatchCandidate, seat: Seat | None,
                 rules: tuple[str, ...]) -> Ticket:
    """The ticket of the registration ``entry`` for ``sitting``, with the number issued when
    the candidate joined the batch; pure (reads the given rows only)."""
    candidate = entry.candidate
    occupation = batch.occupation.name + (f"（{batch.work_type.name}）" if batch.work_type is not None else "")
    date, time = _when(sitting)
    return Ticket(
        title=TITLE,
        batch_name=batch.name,
        institution=batch.institution.name,
        occupation=occupation,
        level=level_name(batch.level),
        module=sitting.module.label,
        candidate_name=candidate.name,
        id_number_masked=mask_id_number(candidate.id_number or ""),
        ticket_no=entry.ticket_no,
        date=date,
        time=time,
        place=sitting.place,
        room=seat.room.name if seat is not None else "",
        seat=f"{seat.row}-{seat.col}" if seat is not None else "",
        rules=rules,
        person_id=entry.person_id,
    )


def _sitting(session: Session, batch_id: int, exam_session_id: int) -> ExamSession:
    sitting = session.get(ExamSession, exam_session_id)
    if sitting is None or sitting.module.batch_id != batch_id:
        raise NotFound("考试场次不存在。")
    return sitting


def _seats(session: Session, sitting: ExamSession) -> dict[int, Seat]:
    seats = session.scalars(select(Seat).join(Room).where(Room.exam_session_id == sitting.id,
                                                          Seat.candidate_id.is_not(None)))
    return {s.candidate_id: s for s in seats if s.candidate_id is not None}


def ticket_for(session: Session, batch_id: int, exam_session_id: int, candidate_id: int) -> Ticket:
    """One candidate's ticket for one sitting of the batch; NotFound when not on the list."""
    sitting = _sitting(session, batch_id, exam_session_id)
    batch = sitting.module.batch
    entry = next((c for c in batch.candidates if c.candidate_id == candidate_id), None)
    if entry is None:
        raise NotFound("该考生不在本批次名册中。")
    return build_ticket(batch, sitting, entry, _seats(session, sitting).get(candidate_id),
                        exam_rules(session))


def tickets_for_session(session: Session, batch_id: int, exam_session_id: int) -> list[Ticket]:
    """Every listed candidate's ticket for the sitting: seated ones by room and seat, then the
    rest by ticket number."""
    sitting = _sitting(session, batch_id, exam_session_id)
    batch = sitting.module.batch
    seats = _seats(session, sitting)
    rules = exam_rules(session)
    room_order = {room.id: k for k, room in enumerate(sitting.rooms)}

    def key(entry: BatchCandidate) -> tuple[int, int, int, str]:
        seat = seats.get(entry.candidate_id)
        if seat is None:
            return (len(room_order), 0, 0, entry.ticket_no)
        return (room_order.get(seat.room_id, 0), seat.row, seat.col, "")

    return [build_ticket(batch, sitting, c, seats.get(c.candidate_id), rules)
            for c in sorted(batch.candidates, key=key)]


def candidate_sittings(session: Session, candidate: User) -> list[tuple[Batch, ExamSession]]:
    """The sittings ``candidate`` holds a ticket for, earliest first (acknowledged plans only)."""
    batches = session.scalars(
        select(Batch).join(BatchCandidate).where(BatchCandidate.candidate_id == candidate.id,
                                                 Batch.status.in_(CANDIDATE_VISIBLE))
    ).unique().all()
    pairs = [(b, s) for b in batches for s in b.sessions]
    return sorted(pairs, key=lambda p: (as_utc(p[1].starts_at), p[1].id))


def own_ticket(session: Session, candidate: User, exam_session_id: int) -> Ticket:
    """The candidate's own ticket for a sitting; NotFound for anyone else's or before the
    centre acknowledged the plan."""
    for batch, sitting in candidate_sittings(session, candidate):
        if sitting.id == exam_session_id:
            return ticket_for(session, batch.id, sitting.id, candidate.id)
    raise NotFound("没有找到您在该场次的准考证。")
