"""Batch services (认定批次): drafting the plan, filing it with the centre, the centre's decision.

Every service takes the session and the acting user, validates everything before it writes,
flushes but never commits, and appends one audit entry. The institution admin of the batch's
institution drafts and files; the centre admin acknowledges or returns. A plan is editable
while it is a draft or after it was returned.

Filing (:func:`file_plan`) checks, in this order, and refuses with a Chinese message naming
the first rule broken:

* the plan is complete: at least one sitting, one candidate;
* the first sitting is at least ``batch_filing_lead_working_days`` (default 10) working days
  after the filing day, counted on the stored calendar (holidays off, 调休 days on);
* every theory sitting has a locked paper of the institution for the batch's occupation,
  工种 and level;
* the 综合评审 module is planned exactly when the level is 2 or 1 (it is refused for levels
  5–3 when a sitting is added, and required for levels 2–1);
* staffing (``batch_staffing``, overridable per occupation code): every theory sitting has
  rooms seating every candidate, at least 1 proctor per 15 candidates and at least 2 per
  room; every skill sitting an examiner group (考评组) of at least 1 examiner per 5 of its
  candidates, at least 3 and an odd number; every candidate in one skill sitting; the
  综合评审 panel (its own list, not the examiners) at least 3, odd, with one chair; at least
  1 of the institution's own supervisors (those the centre dispatches do not count: they are
  the centre's spot checks).

The candidates of a skill sitting are the ones listed for it (:func:`assign_sitting_candidates`);
a batch whose skill module has a single sitting needs no list: that sitting takes every
candidate of the batch. Sitting examiners and panel members are drawn from the batch's
examiners (``assign_staff`` with role ``examiner``); one person may be on both lists.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from examroom import avoidance
from examroom.models import (
    EDITABLE_STATUSES,
    ROOM_SEATS_CEILING,
    Batch,
    BatchCandidate,
    BatchModule,
    BatchStaff,
    BatchStatus,
    BatchStep,
    ExamSession,
    ModuleKind,
    ReviewPanelMember,
    Room,
    Seat,
    SittingCandidate,
    SittingExaminer,
    StaffRole,
)
from examroom.registration import next_ticket_numbers, ticket_prefix
from examroom.seating import assign_seats, derive_seed, shuffled_order
from examroom.violations import bar_message, barred
from foundation import audit
from foundation.accounts import User
from foundation.calendar import BEIJING, add_working_days, beijing_date, is_working_day, working_days_between
from foundation.db import as_utc, utcnow
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.institutions import Institution, check_in_scope
from foundation.levels import LEVEL_NAMES, level_name
from foundation.names import clean_name
from foundation.occupations import Occupation
from foundation.roles import Role, require_role
from foundation.settings import get_rule
from itembank.models import Paper, PaperStatus, SkillTask

#: Sittings are planned in Beijing time; the working-day rule compares calendar days there.

#: The levels whose plan has (and must have) a 综合评审 module: 二级/技师 and 一级/高级技师.
REVIEW_LEVELS = (2, 1)
REVIEW_LEVELS_TEXT = "、".join(LEVEL_NAMES[level] for level in REVIEW_LEVELS)

STAFFING_KEYS = (
    "candidates_per_proctor",
    "min_proctors_per_room",
    "candidates_per_examiner",
    "min_examiners",
    "examiners_odd",
    "min_review_panel",
    "review_panel_odd",
    "min_supervisors",
)


# ---------------------------------------------------------------- rules and queries


def lead_working_days(session: Session) -> int:
    return int(get_rule(session, "batch_filing_lead_working_days"))


def counts_exam_day(session: Session) -> bool:
    """Whether the sitting's own day is one of the lead's working days (rule, default yes)."""
    return bool(get_rule(session, "batch_filing_counts_exam_day"))


def lead_before(session: Session, filed_on: dt.date, first_day: dt.date) -> int:
    """The working days between filing on ``filed_on`` and the first sitting on ``first_day``
    as the filing rule counts them (the filing day never, the exam day by the rule)."""
    last = first_day if counts_exam_day(session) else first_day - dt.timedelta(days=1)
    return working_days_between(session, filed_on, last)


def latest_filing_day(session: Session, first_day: dt.date) -> dt.date:
    """The last working day on which a plan whose first sitting is on ``first_day`` may be filed."""
    last = first_day if counts_exam_day(session) else first_day - dt.timedelta(days=1)
    # A non-working last day adds nothing to the count, so count back from a working day.
    while not is_working_day(session, last):
        last -= dt.timedelta(days=1)
    return add_working_days(session, last, -lead_working_days(session))


def room_max_seats(session: Session) -> int:
    return int(get_rule(session, "room_max_seats"))


def staffing_rules(session: Session, occupation: Occupation) -> dict[str, Any]:
    """The staffing rule for ``occupation``: the defaults with its per-occupation overrides."""
    raw = dict(get_rule(session, "batch_staffing"))
    overrides = (raw.pop("by_occupation", None) or {}).get(occupation.code, {})
    rules = {key: raw[key] for key in STAFFING_KEYS}
    rules.update({k: v for k, v in overrides.items() if k in STAFFING_KEYS})
    return rules


def get_batch(session: Session, batch_id: int) -> Batch:
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound("认定批次不存在。")
    return batch


def session_date(starts_at: dt.datetime) -> dt.date:
    """The calendar day (Beijing time) of a sitting."""
    return beijing_date(starts_at)


def first_session(batch: Batch) -> ExamSession | None:
    sessions = batch.sessions
    return sessions[0] if sessions else None


def visible_batches(actor: User) -> Any:
    """The batches ``actor`` may list: the centre sees all, an institution admin its own."""
    stmt = select(Batch)
    if actor.role == Role.CENTRE_ADMIN:
        return stmt
    if actor.role == Role.INSTITUTION_ADMIN:
        return stmt.where(Batch.institution_id == actor.institution_id)
    raise PermissionDenied("您没有查看认定批次的权限。")


def can_see_batch(actor: User, batch: Batch) -> bool:
    if not actor.active:
        return False
    if actor.role == Role.CENTRE_ADMIN:
        return True
    return actor.role == Role.INSTITUTION_ADMIN and actor.institution_id == batch.institution_id


def can_edit_batch(actor: User, batch: Batch) -> bool:
    """May ``actor`` change the plan now (the institution's admin, while draft or returned)?"""
    return (actor.active and actor.role == Role.INSTITUTION_ADMIN and actor.institution_id == batch.institution_id
            and batch.status in EDITABLE_STATUSES)


# ---------------------------------------------------------------- helpers


def _require_institution_admin(actor: User, institution_id: int) -> None:
    require_role(actor, Role.INSTITUTION_ADMIN)
    if actor.institution_id != institution_id:
        raise PermissionDenied("只能管理本机构的认定批次。")


def _editable_batch(session: Session, actor: User, batch_id: int) -> Batch:
    batch = get_batch(session, batch_id)
    _require_institution_admin(actor, batch.institution_id)
    if batch.status not in EDITABLE_STATUSES:
        raise ValidationError(f"认定批次「{batch.name}」{batch.status_label}，不能再修改计划。")
    return batch


def _text(value: str | None, label: str, max_len: int, *, required: bool, field: str, one_line: bool = True) -> str:
    """Trimmed text; one-line fields (names, places) also obey the name rule (foundation.names)."""
    text = (value or "").strip()
    if required and not text:
        raise ValidationError(f"请填写{label}。", field=field)
    if len(text) > max_len:
        raise ValidationError(f"{label}不能超过 {max_len} 个字。", field=field)
    return clean_name(text, label, field=field) if one_line else text


def _aware(value: dt.datetime, field: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise ValidationError("请填写有效的开考时间。", field=field)
    if value.tzinfo is None:
        raise ValidationError("开考时间必须带时区。", field=field)
    return value.astimezone(dt.UTC)


def _summary(batch: Batch) -> dict[str, Any]:
    return {
        "name": batch.name,
        "institution_id": batch.institution_id,
        "occupation_id": batch.occupation_id,
        "work_type_id": batch.work_type_id,
        "level": batch.level,
        "status": batch.status,
    }


def _add_step(batch: Batch, actor: User, to_status: str, reason: str = "") -> BatchStep:
    step = BatchStep(
        from_status=batch.status, to_status=to_status, actor_id=actor.id, actor_name=actor.name, reason=reason,
        at=utcnow(),
    )
    batch.steps.append(step)
    return step


def _paper_problem(batch: Batch, paper: Paper) -> str | None:
    """Why ``paper`` cannot serve the batch's theory module (lock aside), or None."""
    bp = paper.blueprint
    if paper.institution_id != batch.institution_id:
        return f"试卷「{paper.name}」不属于本机构。"
    if bp.mode != "theory":
        return f"试卷「{paper.name}」不是理论知识试卷。"
    if bp.occupation_id != batch.occupation_id or bp.work_type_id != batch.work_type_id or bp.level != batch.level:
        return f"试卷「{paper.name}」的细目表为「{bp.target_label}」，与本批次的职业（工种）或等级不符。"
    return None


# ---------------------------------------------------------------- drafting


def create_batch(
    session: Session,
    actor: User,
    *,
    institution_id: int,
    occupation_id: int,
    work_type_id: int | None,
    level: int,
    name: str,
    overview: str = "",
    place: str = "",
) -> Batch:
    """A draft batch of the actor's institution, inside its filed scope."""
    _require_institution_admin(actor, institution_id)
    name = _text(name, "批次名称", 128, required=True, field="name")
    overview = _text(overview, "认定工作概况", 4000, required=False, field="overview", one_line=False)
    place = _text(place, "认定地点", 255, required=False, field="place")
    institution = session.get(Institution, institution_id)
    if institution is None:
        raise NotFound("评价机构不存在。")
    # Refuses unfiled institutions, access-type or inactive occupations and anything out of scope.
    check_in_scope(session, institution, occupation_id, work_type_id, level)
    occupation = session.get(Occupation, occupation_id)
    assert occupation is not None  # checked by check_in_scope
    if not occupation.highest_level <= level <= occupation.lowest_level:
        raise ValidationError(f"「{occupation.name}」没有{level_name(level)}。", field="level")
    clash = session.scalar(select(Batch.id).where(Batch.institution_id == institution_id, Batch.name == name))
    if clash is not None:
        raise ValidationError(f"本机构已有名为「{name}」的认定批次。", field="name")
    batch = Batch(
        institution_id=institution_id, occupation_id=occupation_id, work_type_id=work_type_id or None, level=level,
        name=name, overview=overview, place=place, status=BatchStatus.DRAFT.value, created_by_id=actor.id,
    )
    session.add(batch)
    session.flush()
    audit.record(session, actor, "batch.create", "batch", batch.id, after=_summary(batch))
    return batch


def update_plan(session: Session, actor: User, batch_id: int, *, overview: str, place: str) -> Batch:
    """Change the plan's overview (认定工作概况) and place."""
    batch = _editable_batch(session, actor, batch_id)
    overview = _text(overview, "认定工作概况", 4000, required=False, field="overview", one_line=False)
    place = _text(place, "认定地点", 255, required=False, field="place")
    before = {"overview": batch.overview, "place": batch.place}
    batch.overview, batch.place = overview, place
    session.flush()
    audit.record(session, actor, "batch.update_plan", "batch", batch.id, before=before,
                 after={"overview": overview, "place": place})
    return batch


def add_session(
    session: Session,
    actor: User,
    batch_id: int,
    *,
    module: str,
    starts_at: dt.datetime,
    duration_minutes: int,
    place: str = "",
    paper_id: int | None = None,
    skill_task_id: int | None = None,
) -> ExamSession:
    """Add a sitting to the batch's ``module`` (created on first use). A theory sitting may
    name its paper now, a skill sitting its skill task; either must be locked by the time the
    plan is filed."""
    batch = _editable_batch(session, actor, batch_id)
    if module not in {m.value for m in ModuleKind}:
        raise ValidationError("考核模块无效。", field="module")
    if module == ModuleKind.REVIEW and batch.level not in REVIEW_LEVELS:
        raise ValidationError(f"综合评审只用于{REVIEW_LEVELS_TEXT}的认定，本批次为{level_name(batch.level)}。",
                              field="module")
    starts_at = _aware(starts_at, "starts_at")
    if not isinstance(duration_minutes, int) or not 0 < duration_minutes <= 600:
        raise ValidationError("考试时长应为 1–600 分钟。", field="duration_minutes")
    place = _text(place or batch.place, "考试地点", 255, required=True, field="place")
    if paper_id is not None:
        if module != ModuleKind.THEORY:
            raise ValidationError("只有理论知识考试场次需要指定试卷。", field="paper_id")
        paper = session.get(Paper, paper_id)
        if paper is None:
            raise ValidationError("试卷不存在。", field="paper_id")
        problem = _paper_problem(batch, paper)
        if problem:
            raise ValidationError(problem, field="paper_id")
    if skill_task_id is not None:
        if module != ModuleKind.SKILL:
            raise ValidationError("只有操作技能考核场次需要指定技能操作试题。", field="skill_task_id")
        _usable_task(session, batch, skill_task_id)
    mod = batch.module(module)
    if mod is None:
        mod = BatchModule(kind=module)
        batch.modules.append(mod)
    sitting = ExamSession(starts_at=starts_at, duration_minutes=duration_minutes, place=place, paper_id=paper_id,
                          skill_task_id=skill_task_id)
    mod.sessions.append(sitting)
    session.flush()
    audit.record(session, actor, "batch.add_session", "batch", batch.id, after={
        "session_id": sitting.id, "module": module, "starts_at": starts_at.isoformat(),
        "duration_minutes": duration_minutes, "place": place, "paper_id": paper_id, "skill_task_id": skill_task_id,
    })
    return sitting


def _task_problem(batch: Batch, task: SkillTask) -> str | None:
    """Why ``task`` cannot serve the batch's skill module (lock aside), or None: it is the
    institution's own or the centre's, of a skill blueprint of the batch's occupation, 工种 and level."""
    bp = task.blueprint
    if task.institution_id is not None and task.institution_id != batch.institution_id:
        return f"技能操作试题「{task.name}」不属于本机构。"
    if bp.occupation_id != batch.occupation_id or bp.work_type_id != batch.work_type_id or bp.level != batch.level:
        return f"技能操作试题「{task.name}」的细目表为「{bp.target_label}」，与本批次的职业（工种）或等级不符。"
    return None


def _usable_task(session: Session, batch: Batch, task_id: int) -> SkillTask:
    task = session.get(SkillTask, task_id)
    if task is None or (task.institution_id is not None and task.institution_id != batch.institution_id):
        raise ValidationError("技能操作试题不存在。", field="skill_task_id")
    problem = _task_problem(batch, task)
    if problem:
        raise ValidationError(problem, field="skill_task_id")
    return task


def set_sitting_task(session: Session, actor: User, exam_session_id: int, task_id: int) -> ExamSession:
    """Name the skill task of a skill sitting (while the plan is editable); it must be locked by
    the time the plan is filed."""
    batch, sitting = _skill_sitting_of(session, actor, exam_session_id)
    task = _usable_task(session, batch, task_id)
    before = sitting.skill_task_id
    sitting.skill_task_id = task.id
    session.flush()
    audit.record(session, actor, "batch.set_sitting_task", "batch", batch.id,
                 before={"session_id": sitting.id, "skill_task_id": before},
                 after={"session_id": sitting.id, "skill_task_id": task.id})
    return sitting


def _sitting_of(session: Session, actor: User, exam_session_id: int) -> tuple[Batch, ExamSession]:
    sitting = session.get(ExamSession, exam_session_id)
    if sitting is None:
        raise NotFound("考试场次不存在。")
    batch = _editable_batch(session, actor, sitting.module.batch_id)
    return batch, sitting


def add_room(session: Session, actor: User, exam_session_id: int, *, name: str, rows: int, cols: int) -> Room:
    """Add a room of ``rows`` × ``cols`` seats (at most rule ``room_max_seats``) to a sitting."""
    batch, sitting = _sitting_of(session, actor, exam_session_id)
    name = _text(name, "考场名称", 64, required=True, field="name")
    if not isinstance(rows, int) or not isinstance(cols, int) or rows < 1 or cols < 1:
        raise ValidationError("考场的行数和列数都至少为 1。", field="rows")
    cap = min(room_max_seats(session), ROOM_SEATS_CEILING)
    if rows * cols > cap:
        raise ValidationError(f"每个考场最多 {cap} 个座位（当前 {rows}×{cols}={rows * cols} 个）。", field="rows")
    if any(r.name == name for r in sitting.rooms):
        raise ValidationError(f"该场次已有名为「{name}」的考场。", field="name")
    room = Room(name=name, rows=rows, cols=cols)
    sitting.rooms.append(room)
    session.flush()
    audit.record(session, actor, "batch.add_room", "batch", batch.id,
                 after={"session_id": sitting.id, "room_id": room.id, "name": name, "rows": rows, "cols": cols})
    return room


def add_candidates(
    session: Session, actor: User, batch_id: int, candidate_ids: Iterable[int], *, ticket_year: int | None = None,
) -> list[BatchCandidate]:
    """Put candidate accounts of the batch's institution on its list, issuing each a new
    admission ticket number (:mod:`examroom.registration`; the year is this year in Beijing
    unless ``ticket_year`` says otherwise); all or nothing.

    Refused: an id listed twice, an account that is not an active candidate of the
    institution, a candidate already on the list, a person already on the list (through
    another account) or listed twice, a person barred for the year by a tier-3 violation
    (:func:`examroom.violations.barred`, counted on today's date in Beijing). Each
    registration records the account's person."""
    batch = _editable_batch(session, actor, batch_id)
    ids = list(candidate_ids)
    if not ids:
        raise ValidationError("请选择考生。", field="candidate_ids")
    seen: set[int] = set()
    for cid in ids:
        if cid in seen:
            raise ValidationError(f"考生（账号 {cid}）重复列出。", field="candidate_ids")
        seen.add(cid)
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}
    listed = {c.candidate_id: c.ticket_no for c in batch.candidates}
    listed_people: dict[int | None, str] = {c.person_id: c.ticket_no for c in batch.candidates}
    people: set[int | None] = set()
    for cid in ids:
        user = users.get(cid)
        if user is None or user.role != Role.CANDIDATE or user.institution_id != batch.institution_id:
            raise ValidationError(f"账号 {cid} 不是本机构的考生。", field="candidate_ids")
        if not user.active:
            raise ValidationError(f"考生「{user.name}」的账号已停用。", field="candidate_ids")
        if cid in listed:
            raise ValidationError(f"考生「{user.name}」（准考证号 {listed[cid]}）已在本批次名册中。",
                                  field="candidate_ids")
        if user.person_id in listed_people or user.person_id in people:
            ticket = listed_people.get(user.person_id)
            raise ValidationError(f"考生「{user.name}」已报名本批次" + (f"（准考证号 {ticket}）" if ticket else "")
                                  + "，同一人在同一批次只能报名一次。", field="candidate_ids")
        people.add(user.person_id)
    bars = barred(session, people, beijing_date(utcnow()))
    for cid in ids:
        bar = bars.get(users[cid].person_id)  # type: ignore[arg-type]
        if bar is not None:
            raise ValidationError(bar_message(users[cid].name, bar), field="candidate_ids")
    year = ticket_year if ticket_year is not None else utcnow().astimezone(BEIJING).year
    tickets = next_ticket_numbers(session, ticket_prefix(batch, year), len(ids))
    rows = [BatchCandidate(candidate_id=cid, person_id=users[cid].person_id, category=users[cid].candidate_category
                           or "other", ticket_no=ticket)
            for cid, ticket in zip(ids, tickets, strict=True)]
    batch.candidates.extend(rows)
    session.flush()
    audit.record(session, actor, "batch.add_candidates", "batch", batch.id,
                 after={"candidate_ids": ids, "tickets": tickets})
    return rows


def assign_staff(
    session: Session, actor: User, batch_id: int, *, user_id: int, role: str, room_id: int | None = None
) -> BatchStaff:
    """Assign a proctor (optionally to a room of the batch), an examiner or an internal
    supervisor, all of the batch's institution. The centre's supervisors are dispatched by the
    centre (:func:`examroom.supervision.dispatch_supervisor`), never chosen by the institution."""
    batch = _editable_batch(session, actor, batch_id)
    if role not in {r.value for r in StaffRole}:
        raise ValidationError("考务角色无效。", field="role")
    label = StaffRole(role).label
    user = session.get(User, user_id)
    if user is None or user.role != role or not user.active:
        raise ValidationError(f"所选账号不是有效的{label}。", field="user_id")
    if role == StaffRole.SUPERVISOR and user.institution_id is None:
        raise ValidationError(f"「{user.name}」是省职业技能鉴定中心的质量督导员，由中心选派，"
                              "评价机构不能自行安排；请安排本机构的质量督导员。", field="user_id")
    if user.institution_id != batch.institution_id:
        raise ValidationError(f"{label}「{user.name}」不属于本机构。", field="user_id")
    room: Room | None = None
    if room_id is not None:
        if role != StaffRole.PROCTOR:
            raise ValidationError("只有监考员分配到考场。", field="room_id")
        room = session.get(Room, room_id)
        if room is None or room.exam_session.module.batch_id != batch.id:
            raise ValidationError("考场不属于本批次。", field="room_id")
    for existing in batch.staff:
        if existing.user_id == user_id and existing.role == role and existing.room_id == room_id:
            where = f"考场「{room.name}」" if room is not None else "本批次"
            raise ValidationError(f"{label}「{user.name}」已分配到{where}。", field="user_id")
    if room is not None:
        busy = [s for s in batch.staff if s.user_id == user_id and s.room is not None
                and s.room.exam_session_id == room.exam_session_id]
        if busy:
            raise ValidationError(f"监考员「{user.name}」在该场次已分配到考场「{busy[0].room.name}」。",  # type: ignore[union-attr]
                                  field="room_id")
    row = BatchStaff(user_id=user_id, role=role, room_id=room_id)
    batch.staff.append(row)
    session.flush()
    audit.record(session, actor, "batch.assign_staff", "batch", batch.id,
                 after={"user_id": user_id, "role": role, "room_id": room_id})
    return row


# ---------------------------------------------------------------- skill sittings and the 综合评审 panel


def sitting_when(sitting: ExamSession) -> str:
    """A sitting's start in Beijing time, as messages name it (``2026-10-16 14:00``)."""
    return as_utc(sitting.starts_at).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def skill_sittings(batch: Batch) -> list[ExamSession]:
    skill = batch.module(ModuleKind.SKILL)
    return list(skill.sessions) if skill is not None else []


def sitting_candidate_ids(batch: Batch, sitting: ExamSession) -> list[int]:
    """The candidates of a skill sitting: those listed for it; a lone skill sitting without a
    list takes every candidate of the batch."""
    listed = [row.candidate_id for row in sitting.listed_candidates]
    if listed:
        return listed
    sittings = skill_sittings(batch)
    if len(sittings) == 1 and sittings[0] is sitting:
        return [c.candidate_id for c in batch.candidates]
    return []


def sitting_registrations(batch: Batch, sitting: ExamSession) -> list[BatchCandidate]:
    """The registrations of a skill sitting's candidates (:func:`sitting_candidate_ids`)."""
    ids = set(sitting_candidate_ids(batch, sitting))
    return [c for c in batch.candidates if c.candidate_id in ids]


def examiners_needed(rules: dict[str, Any], n: int) -> int:
    """Examiners a skill sitting of ``n`` candidates needs: 1 per ``candidates_per_examiner``,
    at least ``min_examiners``, rounded up to odd when ``examiners_odd``."""
    per = int(rules["candidates_per_examiner"])
    needed = max(math.ceil(n / per) if per > 0 else 0, int(rules["min_examiners"]))
    if rules["examiners_odd"] and needed % 2 == 0:
        needed += 1
    return needed


@dataclasses.dataclass(frozen=True)
class SittingStaffing:
    """One skill sitting's examiner group against its candidates (what the batch page shows)."""

    sitting: ExamSession
    candidates: int
    examiners: list[User]
    needed: int


def skill_staffing(session: Session, batch: Batch) -> list[SittingStaffing]:
    rules = staffing_rules(session, batch.occupation)
    out = []
    for sitting in skill_sittings(batch):
        n = len(sitting_candidate_ids(batch, sitting))
        out.append(SittingStaffing(sitting, n, [row.user for row in sitting.examiners], examiners_needed(rules, n)))
    return out


def _skill_sitting_of(session: Session, actor: User, exam_session_id: int) -> tuple[Batch, ExamSession]:
    batch, sitting = _sitting_of(session, actor, exam_session_id)
    if sitting.module.kind != ModuleKind.SKILL:
        raise ValidationError("只有操作技能考核场次配备考评组、安排考生。", field="exam_session_id")
    return batch, sitting


def _batch_examiner(batch: Batch, user_id: int) -> User:
    """An examiner on the batch's examiner list (考评员名单), still active."""
    row = next((s for s in batch.staff if s.role == StaffRole.EXAMINER and s.user_id == user_id), None)
    if row is None:
        raise ValidationError("所选人员不在本批次的考评员名单中，请先在考务人员中配备该考评员。", field="user_id")
    if not row.user.active:
        raise ValidationError(f"考评员「{row.user.name}」的账号已停用。", field="user_id")
    return row.user


def assign_sitting_examiner(session: Session, actor: User, exam_session_id: int, *, user_id: int) -> SittingExaminer:
    """Put an examiner of the batch into a skill sitting's examiner group (考评组)."""
    batch, sitting = _skill_sitting_of(session, actor, exam_session_id)
    user = _batch_examiner(batch, user_id)
    if any(row.user_id == user_id for row in sitting.examiners):
        raise ValidationError(f"考评员「{user.name}」已在 {sitting_when(sitting)} 的操作技能考核考评组中。",
                              field="user_id")
    clash = avoidance.first_conflict([user], sitting_registrations(batch, sitting))
    if clash is not None:
        raise ValidationError(avoidance.conflict_message(*clash), field="user_id")
    row = SittingExaminer(user_id=user_id)
    sitting.examiners.append(row)
    session.flush()
    audit.record(session, actor, "batch.assign_sitting_examiner", "batch", batch.id,
                 after={"session_id": sitting.id, "user_id": user_id})
    return row


def remove_sitting_examiner(session: Session, actor: User, exam_session_id: int, *, user_id: int) -> None:
    """Take an examiner out of a skill sitting's examiner group."""
    batch, sitting = _skill_sitting_of(session, actor, exam_session_id)
    row = next((r for r in sitting.examiners if r.user_id == user_id), None)
    if row is None:
        raise ValidationError("该考评员不在此场次的考评组中。", field="user_id")
    sitting.examiners.remove(row)
    session.flush()
    audit.record(session, actor, "batch.remove_sitting_examiner", "batch", batch.id,
                 before={"session_id": sitting.id, "user_id": user_id})


def assign_sitting_candidates(
    session: Session, actor: User, exam_session_id: int, candidate_ids: Iterable[int]
) -> list[SittingCandidate]:
    """Set the candidates of a skill sitting (replacing its list); all or nothing.

    Refused: an empty list, an id listed twice, a candidate not on the batch's list, a
    candidate already listed for another skill sitting of the batch."""
    batch, sitting = _skill_sitting_of(session, actor, exam_session_id)
    ids = list(candidate_ids)
    if not ids:
        raise ValidationError("请选择该场次的考生。", field="candidate_ids")
    if len(set(ids)) != len(ids):
        raise ValidationError("考生重复列出。", field="candidate_ids")
    on_list = {c.candidate_id: c for c in batch.candidates}
    elsewhere = {row.candidate_id: other for other in skill_sittings(batch) if other is not sitting
                 for row in other.listed_candidates}
    for cid in ids:
        if cid not in on_list:
            raise ValidationError(f"账号 {cid} 不在本批次考生名册中。", field="candidate_ids")
        if cid in elsewhere:
            entry = on_list[cid]
            raise ValidationError(f"考生「{entry.candidate.name}」（准考证号 {entry.ticket_no}）已安排在 "
                                  f"{sitting_when(elsewhere[cid])} 的操作技能考核场次。", field="candidate_ids")
    clash = avoidance.first_conflict([row.user for row in sitting.examiners], [on_list[cid] for cid in ids])
    if clash is not None:
        raise ValidationError(avoidance.conflict_message(*clash), field="candidate_ids")
    if sitting.stations:
        raise ValidationError("该场次已分配工位，请先清除工位再调整考生。", field="candidate_ids")
    before = [row.candidate_id for row in sitting.listed_candidates]
    sitting.listed_candidates.clear()
    session.flush()
    rows = [SittingCandidate(candidate_id=cid) for cid in ids]
    sitting.listed_candidates.extend(rows)
    session.flush()
    audit.record(session, actor, "batch.assign_sitting_candidates", "batch", batch.id,
                 before={"session_id": sitting.id, "candidate_ids": before},
                 after={"session_id": sitting.id, "candidate_ids": ids})
    return rows


def add_panel_member(session: Session, actor: User, batch_id: int, *, user_id: int, chair: bool = False
                     ) -> ReviewPanelMember:
    """Put an examiner of the batch on its panel (评审专家组), as its chair (组长) if ``chair``;
    one chair. The panel holds the 综合评审 of levels 2–1 and the 工作业绩评审 of a batch whose
    plan has that module (grading.results.panels scores both)."""
    batch = _editable_batch(session, actor, batch_id)
    if batch.level not in REVIEW_LEVELS and batch.module(ModuleKind.PERFORMANCE) is None:
        raise ValidationError(f"综合评审只用于{REVIEW_LEVELS_TEXT}的认定，本批次为{level_name(batch.level)}；"
                              "本批次也未安排工作业绩评审，不设评审专家组。")
    user = _batch_examiner(batch, user_id)
    if any(m.user_id == user_id for m in batch.panel):
        raise ValidationError(f"「{user.name}」已在综合评审专家组中。", field="user_id")
    if not isinstance(chair, bool):
        raise ValidationError("请指明是否担任组长。", field="chair")
    current = next((m for m in batch.panel if m.is_chair), None)
    if chair and current is not None:
        raise ValidationError(f"综合评审专家组已有组长「{current.user.name}」。", field="chair")
    row = ReviewPanelMember(user_id=user_id, is_chair=chair)
    batch.panel.append(row)
    session.flush()
    audit.record(session, actor, "batch.add_panel_member", "batch", batch.id,
                 after={"user_id": user_id, "chair": chair})
    return row


def remove_panel_member(session: Session, actor: User, batch_id: int, *, user_id: int) -> None:
    """Take a member (the chair too) off the batch's 综合评审 panel."""
    batch = _editable_batch(session, actor, batch_id)
    row = next((m for m in batch.panel if m.user_id == user_id), None)
    if row is None:
        raise ValidationError("该人员不在综合评审专家组中。", field="user_id")
    batch.panel.remove(row)
    session.flush()
    audit.record(session, actor, "batch.remove_panel_member", "batch", batch.id,
                 before={"user_id": user_id, "chair": row.is_chair})
def remove_staff(session: Session, actor: User, batch_id: int, staff_id: int) -> None:
    """Take a proctor, examiner or internal supervisor off the plan (while it is editable).
    A supervisor dispatched by the centre is the centre's to withdraw."""
    batch = get_batch(session, batch_id)
    _require_institution_admin(actor, batch.institution_id)
    row = next((s for s in batch.staff if s.id == staff_id), None)
    if row is None:  # before the status: another batch's row is not found, whatever this batch's state
        raise NotFound("该考务人员安排不存在。")
    _editable_batch(session, actor, batch_id)
    if row.dispatched:
        raise PermissionDenied(f"质量督导员「{row.user.name}」由省职业技能鉴定中心选派，评价机构不能移除。")
    before = {"staff_id": row.id, "user_id": row.user_id, "role": row.role, "room_id": row.room_id}
    batch.staff.remove(row)
    session.flush()
    audit.record(session, actor, "batch.remove_staff", "batch", batch.id, before=before)


# ---------------------------------------------------------------- seating


def seat_session(session: Session, actor: User, exam_session_id: int, seed: int) -> list[Seat]:
    """Seat every candidate of the batch in the theory sitting's rooms (编排座位), replacing any
    earlier seating: candidates are spread over the rooms in an order shuffled by ``seed`` and
    seated by :func:`examroom.seating.assign_seats` with the paper's forms, so that no two
    adjacent seats share a form. Each seat stores its candidate's item/option order seed.
    Allowed in every status (seating may change until the sitting); refused for a sitting
    that is not theory, without a paper with forms, without candidates or without enough seats."""
    sitting = session.get(ExamSession, exam_session_id)
    if sitting is None:
        raise NotFound("考试场次不存在。")
    batch = sitting.module.batch
    _require_institution_admin(actor, batch.institution_id)
    if sitting.module.kind != ModuleKind.THEORY:
        raise ValidationError("只有理论知识考试场次编排座位。")
    if not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ValidationError("座位编排种子须为非负整数。", field="seed")
    if sitting.paper is None or not sitting.paper.forms:
        raise ValidationError("该场次尚未指定试卷，无法分配卷别。")
    ids = sorted(c.candidate_id for c in batch.candidates)
    if not ids:
        raise ValidationError("本批次名册中还没有考生。")
    seats_total = sum(room.capacity for room in sitting.rooms)
    if seats_total < len(ids):
        raise ValidationError(f"考场座位共 {seats_total} 个，不足以安排 {len(ids)} 名考生。")
    forms = [f.label for f in sitting.paper.forms]
    order = [ids[k] for k in shuffled_order(len(ids), derive_seed(seed, "rooms", sitting.id))]
    for room in sitting.rooms:
        room.seats.clear()
    session.flush()
    created: list[Seat] = []
    start = 0
    for room in sitting.rooms:
        chunk = order[start : start + room.capacity]
        start += len(chunk)
        grid = assign_seats(chunk, room.rows, room.cols, forms, derive_seed(seed, "room", room.id))
        for r, line in enumerate(grid):
            for c, cell in enumerate(line):
                if cell is not None:
                    seat = Seat(row=r + 1, col=c + 1, candidate_id=cell.candidate_id, form_label=cell.form,
                                order_seed=cell.order_seed)
                    room.seats.append(seat)
                    created.append(seat)
    session.flush()
    audit.record(session, actor, "batch.seat_session", "batch", batch.id,
                 after={"session_id": sitting.id, "seed": seed, "seats": len(created)})
    return created


# ---------------------------------------------------------------- filing


def plan_problems(session: Session, batch: Batch, today: dt.date) -> list[str]:
    """Every rule the plan breaks if filed on ``today``, in order; empty when it may be filed."""
    problems: list[str] = []
    sittings = batch.sessions
    n = len(batch.candidates)
    if not sittings:
        return ["认定计划至少须安排 1 场考试。"]
    if n == 0:
        problems.append("认定计划须附考生名册（至少 1 名考生）。")

    lead = lead_working_days(session)
    first_day = session_date(sittings[0].starts_at)
    have = lead_before(session, today, first_day)
    if have < lead:
        shown = max(have, 0)
        counting = "（含考试当天）" if counts_exam_day(session) else "（不含考试当天）"
        problems.append(f"首场考试须在报备后至少 {lead} 个工作日{counting}举行（当前仅 {shown} 个工作日）。")

    theory = batch.module(ModuleKind.THEORY)
    for sitting in theory.sessions if theory is not None else []:
        when = session_date(sitting.starts_at).isoformat()
        paper = sitting.paper
        if paper is None:
            problems.append(f"{when} 的理论知识考试场次未指定试卷。")
        elif paper.status != PaperStatus.LOCKED:
            problems.append(f"{when} 的理论知识考试试卷「{paper.name}」尚未审核锁定。")
        else:
            problem = _paper_problem(batch, paper)
            if problem:
                problems.append(problem)

    for sitting in skill_sittings(batch):
        when = sitting_when(sitting)
        task = sitting.skill_task
        if task is None:
            problems.append(f"{when} 的操作技能考核场次未指定技能操作试题。")
        elif task.status != PaperStatus.LOCKED:
            problems.append(f"{when} 的操作技能考核试题「{task.name}」尚未审核锁定。")
        else:
            problem = _task_problem(batch, task)
            if problem:
                problems.append(problem)
        clash = avoidance.first_conflict([row.user for row in sitting.examiners], sitting_registrations(batch, sitting))
        if clash is not None:
            problems.append(avoidance.conflict_message(*clash))

    problems.extend(module_problems(batch))
    problems.extend(staffing_problems(session, batch))
    return problems


def module_problems(batch: Batch) -> list[str]:
    """综合评审 is planned for levels 2–1 and only for them."""
    review = batch.module(ModuleKind.REVIEW)
    planned = review is not None and bool(review.sessions)
    if batch.level in REVIEW_LEVELS and not planned:
        return [f"{level_name(batch.level)}的认定须安排综合评审场次。"]
    if batch.level not in REVIEW_LEVELS and review is not None:
        return [f"综合评审只用于{REVIEW_LEVELS_TEXT}的认定，本批次为{level_name(batch.level)}，不设综合评审。"]
    return []


def staffing_problems(session: Session, batch: Batch) -> list[str]:
    """The staffing rules the batch breaks (考务人员配备), each naming the rule."""
    rules = staffing_rules(session, batch.occupation)
    n = len(batch.candidates)
    problems: list[str] = []
    per_proctor = int(rules["candidates_per_proctor"])
    per_room = int(rules["min_proctors_per_room"])
    theory = batch.module(ModuleKind.THEORY)
    for sitting in theory.sessions if theory is not None else []:
        when = session_date(sitting.starts_at).isoformat()
        seats = sum(room.capacity for room in sitting.rooms)
        if seats < n:
            problems.append(f"{when} 的理论知识考试考场座位共 {seats} 个，不足以安排 {n} 名考生。")
        proctors: set[int] = set()
        for room in sitting.rooms:
            in_room = {s.user_id for s in batch.staff if s.role == StaffRole.PROCTOR and s.room_id == room.id}
            proctors |= in_room
            if len(in_room) < per_room:
                problems.append(
                    f"理论知识考试每个考场至少配备 {per_room} 名监考员"
                    f"（{when} 考场「{room.name}」仅 {len(in_room)} 名）。"
                )
        needed = math.ceil(n / per_proctor) if per_proctor > 0 else 0
        if len(proctors) < needed:
            problems.append(
                f"理论知识考试每 {per_proctor} 名考生至少配备 1 名监考员（{when} 场次 {n} 名考生须至少 "
                f"{needed} 名，当前仅 {len(proctors)} 名）。"
            )

    if batch.module(ModuleKind.SKILL) is not None:
        per_examiner = int(rules["candidates_per_examiner"])
        minimum = int(rules["min_examiners"])
        odd = bool(rules["examiners_odd"])
        sittings = skill_sittings(batch)
        for st in skill_staffing(session, batch):
            when, have = sitting_when(st.sitting), len(st.examiners)
            if len(sittings) > 1 and st.candidates == 0:
                problems.append(f"{when} 的操作技能考核场次尚未安排考生。")
            if have < st.needed:
                problems.append(
                    f"操作技能考核考评员与考生配比不低于 1:{per_examiner}，且不少于 {minimum} 名"
                    f"{'、为奇数' if odd else ''}（{when} 场次 {st.candidates} 名考生须至少 {st.needed} 名，"
                    f"当前 {have} 名）。"
                )
            elif odd and have % 2 == 0:
                problems.append(f"操作技能考核考评员人数须为奇数（{when} 场次当前 {have} 名）。")
        placed = {cid for sitting in sittings for cid in sitting_candidate_ids(batch, sitting)}
        missing = [c for c in batch.candidates if c.candidate_id not in placed]
        if sittings and missing:
            problems.append(f"每名考生须安排到一个操作技能考核场次（尚有 {len(missing)} 名未安排，"
                            f"如「{missing[0].candidate.name}」）。")
    if batch.module(ModuleKind.REVIEW) is not None or batch.module(ModuleKind.PERFORMANCE) is not None:
        what = "综合评审" if batch.module(ModuleKind.REVIEW) is not None else "工作业绩评审"
        panel = int(rules["min_review_panel"])
        odd = bool(rules["review_panel_odd"])
        members = len(batch.panel)
        if members < panel or (odd and members % 2 == 0):
            problems.append(
                f"{what}专家组不少于 {panel} 人{'且为奇数' if odd else ''}（当前 {members} 人）。"
            )
        chairs = sum(1 for m in batch.panel if m.is_chair)
        if chairs != 1:
            problems.append(f"{what}专家组须指定 1 名组长（当前 {chairs} 名）。")
    # The plan names the institution's own supervisors; the centre's dispatched ones do not count.
    supervisors = len({s.user_id for s in batch.staff if s.role == StaffRole.SUPERVISOR and not s.dispatched})
    min_supervisors = int(rules["min_supervisors"])
    if supervisors < min_supervisors:
        problems.append(f"每个认定批次至少须安排 {min_supervisors} 名本机构的质量督导员（当前 {supervisors} 名）。")
    return problems


def file_plan(session: Session, actor: User, batch_id: int, today: dt.date) -> Batch:
    """File the plan (计划报备) with the centre on ``today``; refused with the first rule broken."""
    batch = _editable_batch(session, actor, batch_id)
    if not isinstance(today, dt.date) or isinstance(today, dt.datetime):
        raise ValidationError("请提供有效的报备日期。", field="today")
    # Scope may have changed since the draft (suspension, scope removal, access-type occupation).
    check_in_scope(session, batch.institution, batch.occupation_id, batch.work_type_id, batch.level)
    problems = plan_problems(session, batch, today)
    if problems:
        raise ValidationError(problems[0])
    before = batch.status
    _add_step(batch, actor, BatchStatus.FILED.value)
    batch.status = BatchStatus.FILED.value
    batch.filed_at = utcnow()
    batch.filed_on = today
    session.flush()
    first = first_session(batch)
    audit.record(session, actor, "batch.file", "batch", batch.id, before={"status": before}, after={
        "status": batch.status, "filed_on": today.isoformat(),
        "first_session": first.starts_at.isoformat() if first is not None else None,
        "candidates": len(batch.candidates),
    })
    return batch


def _decide(session: Session, actor: User, batch_id: int, to: BatchStatus, reason: str) -> Batch:
    require_role(actor, Role.CENTRE_ADMIN)
    batch = get_batch(session, batch_id)
    if batch.status != BatchStatus.FILED:
        raise ValidationError(f"认定批次「{batch.name}」{batch.status_label}，只能处理已报备的计划。")
    before = batch.status
    _add_step(batch, actor, to.value, reason)
    batch.status = to.value
    batch.decided_at = utcnow()
    session.flush()
    action = "batch.acknowledge" if to == BatchStatus.ACKNOWLEDGED else "batch.return"
    audit.record(session, actor, action, "batch", batch.id, before={"status": before},
                 after={"status": batch.status, "reason": reason})
    return batch


def acknowledge_plan(session: Session, actor: User, batch_id: int, comment: str = "") -> Batch:
    """The centre acknowledges a filed plan (备案确认)."""
    require_role(actor, Role.CENTRE_ADMIN)
    comment = _text(comment, "意见", 2000, required=False, field="comment", one_line=False)
    return _decide(session, actor, batch_id, BatchStatus.ACKNOWLEDGED, comment)


def return_plan(session: Session, actor: User, batch_id: int, reason: str) -> Batch:
    """The centre returns a filed plan with its reasons; the institution may edit and refile."""
    require_role(actor, Role.CENTRE_ADMIN)
    reason = _text(reason, "退回理由", 2000, required=True, field="reason", one_line=False)
    return _decide(session, actor, batch_id, BatchStatus.RETURNED, reason)
