"""Demonstration exam room (演示考场): an acknowledged batch of the technician college for
电工 四级 with the locked demo paper (itembank demo), one theory sitting, one room
「第1考场」 of 5 × 6 = 30 seats holding the college's 30 demo candidates, two proctors in the
room, the college's own supervisor ``supervisor2`` in the plan and the centre's supervisor
``supervisor`` dispatched by the centre once the plan is acknowledged.

Why the technician college (吉林省汽车工业技师学院): the demo paper (电工四级理论知识 演示卷)
is that college's, and the batch rules only let a batch use its own institution's paper, list
its own candidates and assign its own proctors. So the room holds the college's candidates
(tickets 2026020001 … 2026020030, issued when they join the batch) and is proctored by
``proctor3`` and ``proctor4``.

Everything goes through :mod:`examroom.batches`, so the plan is valid by construction and in
the audit trail. The one liberty: the plan must be filed at least ``lead`` working days before
the sitting, so it is filed *as of* the latest allowed day before the sitting
(``file_plan(..., today=<that day>)``). ``flask exam demo-reset`` later moves the sitting to
"now" (a demo-only direct update, audited) so the room can be opened at any time.

Idempotent: running it again finds the batch and changes nothing. Runs after
``foundation.demo.seed_demo`` and ``itembank.demo.seed_item_bank``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from examroom import batches as svc
from examroom import supervision
from examroom.models import Attempt, Batch, ExamSession, Room, Seat
from foundation import audit
from foundation.accounts import User
from foundation.calendar import BEIJING
from foundation.db import Base, utcnow
from foundation.institutions import Institution
from foundation.occupations import Occupation
from itembank.models import Paper

__all__ = [
    "DEMO_BATCH_NAME",
    "DEMO_HUMAN_TICKET",
    "DEMO_PROCTORS",
    "DEMO_ROOM_NAME",
    "DemoRoom",
    "demo_room",
    "reset_demo_session",
    "seed_exam_demo",
]

DEMO_INSTITUTION = "吉林省汽车工业技师学院"
DEMO_OCCUPATION = "6-31-01-03"  # 电工
DEMO_LEVEL = 4
DEMO_PAPER = "电工四级理论知识 演示卷"
DEMO_BATCH_NAME = "2026年电工四级理论知识认定（在线考试演示）"
DEMO_ROOM_NAME = "第1考场"
DEMO_ROWS, DEMO_COLS = 5, 6
DEMO_PROCTORS = ("proctor3", "proctor4")
DEMO_SUPERVISOR = "supervisor2"  # the college's own
DEMO_DISPATCHED = "supervisor"  # the centre's, dispatched
#: The candidate a visitor logs in as; the simulated candidates leave this seat alone.
DEMO_TICKET_YEAR = 2026
DEMO_HUMAN_TICKET = "2026020001"  # the first ticket the demo batch issues (serial 000002, 2026)
DEMO_SEATING_SEED = 20261016
DEMO_DURATION_MINUTES = 60


@dataclass(frozen=True)
class DemoRoom:
    batch: Batch
    sitting: ExamSession
    room: Room


def _beijing_nine(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9, 0), tzinfo=BEIJING)


def demo_room(session: Session) -> DemoRoom | None:
    """The demo batch, its theory sitting and room, or None before ``seed demo``."""
    batch = session.scalar(
        select(Batch).join(Institution, Batch.institution_id == Institution.id)
        .where(Institution.name == DEMO_INSTITUTION, Batch.name == DEMO_BATCH_NAME)
    )
    if batch is None or not batch.sessions:
        return None
    sitting = batch.sessions[0]
    room = next((r for r in sitting.rooms if r.name == DEMO_ROOM_NAME), None)
    if room is None:
        return None
    return DemoRoom(batch, sitting, room)


def seed_exam_demo(session: Session, today: dt.date | None = None) -> list[str]:
    """Create (or find) the demo batch and room; return lines to print."""
    found = demo_room(session)
    if found is None:
        found = _create(session, today or utcnow().astimezone(BEIJING).date())
    seated = sum(1 for s in found.room.seats if s.candidate_id is not None)
    proctors = "、".join(DEMO_PROCTORS)
    return [
        f"在线考试演示：批次「{found.batch.name}」（{found.batch.status_label}），{found.room.name}"
        f"（编号 {found.room.id}，{found.room.rows}×{found.room.cols}，已安排 {seated} 名考生），"
        f"监考员 {proctors}，本机构督导员 {DEMO_SUPERVISOR}，中心选派督导员 {DEMO_DISPATCHED}。",
        f"演示考场的考生 {DEMO_HUMAN_TICKET} 留给访客；`flask exam demo-reset` 把场次移到现在，"
        f"`flask exam simulate --room demo` 让其余考生入场作答。",
    ]


def _one(session: Session, model: type[Any], **where: Any) -> Any:
    row = session.scalar(select(model).filter_by(**where))
    if row is None:
        raise RuntimeError(f"demo {model.__name__} {where} missing: run `flask --app web seed demo` first")
    return row


def _create(session: Session, day: dt.date) -> DemoRoom:
    school = _one(session, Institution, name=DEMO_INSTITUTION)
    occupation = _one(session, Occupation, code=DEMO_OCCUPATION)
    paper = _one(session, Paper, name=DEMO_PAPER)
    admin = _one(session, User, username="qc_admin")
    centre = _one(session, User, username="centre")
    proctors = [_one(session, User, username=u) for u in DEMO_PROCTORS]
    supervisor = _one(session, User, username=DEMO_SUPERVISOR)
    dispatched = _one(session, User, username=DEMO_DISPATCHED)
    candidates = list(session.scalars(
        select(User).where(User.role == "candidate", User.institution_id == school.id)
        .order_by(User.id).limit(DEMO_ROWS * DEMO_COLS)
    ))
    if len(candidates) < DEMO_ROWS * DEMO_COLS:
        raise RuntimeError("demo candidates missing: run `flask --app web seed demo` first")

    batch = svc.create_batch(
        session, admin, institution_id=school.id, occupation_id=occupation.id, work_type_id=None,
        level=DEMO_LEVEL, name=DEMO_BATCH_NAME, overview="在线理论知识考试演示：30 人标准化考场。",
        place="吉林省汽车工业技师学院 实训楼 3 楼机房",
    )
    sitting = svc.add_session(session, admin, batch.id, module="theory", starts_at=_beijing_nine(day),
                              duration_minutes=DEMO_DURATION_MINUTES, paper_id=paper.id)
    room = svc.add_room(session, admin, sitting.id, name=DEMO_ROOM_NAME, rows=DEMO_ROWS, cols=DEMO_COLS)
    # Tickets of the batch's year (its name says 2026), issued in the platform's format.
    listed = svc.add_candidates(session, admin, batch.id, [c.id for c in candidates], ticket_year=DEMO_TICKET_YEAR)
    if listed[0].ticket_no != DEMO_HUMAN_TICKET:
        raise RuntimeError(f"demo ticket {DEMO_HUMAN_TICKET} was not the first issued ({listed[0].ticket_no})")
    for proctor in proctors:
        svc.assign_staff(session, admin, batch.id, user_id=proctor.id, role="proctor", room_id=room.id)
    svc.assign_staff(session, admin, batch.id, user_id=supervisor.id, role="supervisor")
    svc.seat_session(session, admin, sitting.id, seed=DEMO_SEATING_SEED)
    # Filed on the latest day the filing rule allows before the sitting: the demo is created on
    # the day it is used, and a plan cannot be filed after the fact. The sitting's day may be a
    # weekend or a holiday (Beijing's Saturday starts at 16:00 UTC); latest_filing_day counts
    # back from a working day.
    filed_on = svc.latest_filing_day(session, day)
    svc.file_plan(session, admin, batch.id, today=filed_on)
    svc.acknowledge_plan(session, centre, batch.id, "演示批次，同意备案。")
    supervision.dispatch_supervisor(session, centre, batch.id, dispatched.id)
    session.flush()
    return DemoRoom(batch, sitting, room)


def _attempt_tables() -> list[tuple[Any, Any]]:
    """(table, column) of every table with a foreign key to ``attempt.id`` (responses, the
    answer log, events and whatever the console keeps per attempt)."""
    found = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "attempt" and fk.column.name == "id":
                found.append((table, fk.parent))
    return found


def reset_demo_session(session: Session, now: dt.datetime) -> list[str]:
    """Move the demo sitting to start at ``now`` and delete its attempts with everything
    recorded on them, so the room can be opened again. Demo only: refuses any other sitting
    (it is found by its fixed batch name). Returns what it did."""
    found = demo_room(session)
    if found is None:
        raise RuntimeError("没有找到演示考场：请先运行 `flask --app web seed demo`。")
    sitting = found.sitting
    ids = list(session.scalars(select(Attempt.id).where(Attempt.exam_session_id == sitting.id)))
    removed = 0
    if ids:
        for table, column in reversed(_attempt_tables()):
            session.execute(delete(table).where(column.in_(ids)))
        removed = len(ids)
        session.execute(delete(Attempt).where(Attempt.id.in_(ids)))
    before = sitting.starts_at
    sitting.starts_at = now.astimezone(dt.UTC).replace(second=0, microsecond=0)
    session.flush()
    session.expire_all()
    audit.record(session, None, "exam.demo_reset", "exam_session", sitting.id,
                 before={"starts_at": before.isoformat() if before else None, "attempts": removed},
                 after={"starts_at": sitting.starts_at.isoformat(), "attempts": 0})
    seats = session.scalars(select(Seat).where(Seat.room_id == found.room.id, Seat.candidate_id.is_not(None))).all()
    start_local = sitting.starts_at.replace(tzinfo=sitting.starts_at.tzinfo or dt.UTC).astimezone(BEIJING)
    return [
        f"演示场次（编号 {sitting.id}）开考时间已改为 {start_local:%Y-%m-%d %H:%M}（北京时间）。",
        f"已删除 {removed} 份作答记录及其答案、事件；{found.room.name}（编号 {found.room.id}）"
        f"共 {len(seats)} 名考生待入场。",
    ]
