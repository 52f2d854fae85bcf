"""Batch models (认定批次): the batch and its plan, modules, sittings, rooms and seats,
candidates, staff and the filing steps.

A batch is drafted by an institution admin, filed with the centre (计划报备) at least the
configured number of working days before its first sitting, and acknowledged or returned
by the centre. Constraint names carry their table name because PostgreSQL names are
schema-wide (check constraints get the ``ck_<table>_`` prefix from the naming convention).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from examroom.lifecycle import Status as AttemptStatus
from foundation.accounts import User
from foundation.db import Base, utcnow
from foundation.institutions import Institution
from foundation.names import name_info
from foundation.occupations import Occupation, WorkType
from itembank.models import Paper, PaperForm, SkillTask

#: No room, whatever the rule ``room_max_seats`` (default 30, the notice's standard room of about
#: 30 seats) says, holds more seats than this; the database refuses a larger grid.
ROOM_SEATS_CEILING = 60


def _values(enum_cls: type[enum.StrEnum]) -> str:
    return ", ".join(f"'{m.value}'" for m in enum_cls)


class BatchStatus(enum.StrEnum):
    DRAFT = "draft"
    FILED = "filed"
    ACKNOWLEDGED = "acknowledged"
    RETURNED = "returned"

    @property
    def label(self) -> str:
        return BATCH_STATUS_LABELS[self]


BATCH_STATUS_LABELS = {
    BatchStatus.DRAFT: "草稿",
    BatchStatus.FILED: "已报备",
    BatchStatus.ACKNOWLEDGED: "中心已确认",
    BatchStatus.RETURNED: "已退回",
}

#: Statuses in which the institution may still edit the plan.
EDITABLE_STATUSES = (BatchStatus.DRAFT.value, BatchStatus.RETURNED.value)


class ModuleKind(enum.StrEnum):
    THEORY = "theory"  # 理论知识考试
    SKILL = "skill"  # 操作技能考核
    PERFORMANCE = "performance"  # 工作业绩评审
    REVIEW = "review"  # 综合评审

    @property
    def label(self) -> str:
        return MODULE_LABELS[self]


MODULE_LABELS = {
    ModuleKind.THEORY: "理论知识考试",
    ModuleKind.SKILL: "操作技能考核",
    ModuleKind.PERFORMANCE: "工作业绩评审",
    ModuleKind.REVIEW: "综合评审",
}


class StaffRole(enum.StrEnum):
    PROCTOR = "proctor"
    EXAMINER = "examiner"
    SUPERVISOR = "supervisor"

    @property
    def label(self) -> str:
        return STAFF_ROLE_LABELS[self]


STAFF_ROLE_LABELS = {
    StaffRole.PROCTOR: "监考员",
    StaffRole.EXAMINER: "考评员",
    StaffRole.SUPERVISOR: "质量督导员",
}


class Batch(Base):
    """One evaluation batch (认定批次) of an institution: one occupation/工种 and level."""

    __tablename__ = "batch"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),
        CheckConstraint(f"status IN ({_values(BatchStatus)})", name="status_known"),
        CheckConstraint("status = 'draft' OR filed_at IS NOT NULL", name="filed_has_time"),
        UniqueConstraint("institution_id", "name", name="uq_batch_institution_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    occupation_id: Mapped[int] = mapped_column(ForeignKey("occupation.id"), index=True)
    work_type_id: Mapped[int | None] = mapped_column(ForeignKey("work_type.id"))
    level: Mapped[int]
    name: Mapped[str] = mapped_column(String(128), info=name_info("批次名称"))
    status: Mapped[str] = mapped_column(String(16), default=BatchStatus.DRAFT.value, index=True)
    overview: Mapped[str] = mapped_column(Text, default="")  # 认定工作概况
    place: Mapped[str] = mapped_column(String(255), default="", info=name_info("认定地点"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    filed_at: Mapped[dt.datetime | None]
    filed_on: Mapped[dt.date | None]  # the calendar day the plan was filed (the 10-working-day basis)
    decided_at: Mapped[dt.datetime | None]

    institution: Mapped[Institution] = relationship(lazy="joined")
    occupation: Mapped[Occupation] = relationship(lazy="joined")
    work_type: Mapped[WorkType | None] = relationship(lazy="joined")
    modules: Mapped[list[BatchModule]] = relationship(
        back_populates="batch", cascade="all, delete-orphan", order_by="BatchModule.id"
    )
    candidates: Mapped[list[BatchCandidate]] = relationship(
        back_populates="batch", cascade="all, delete-orphan", order_by="BatchCandidate.id"
    )
    staff: Mapped[list[BatchStaff]] = relationship(
        back_populates="batch", cascade="all, delete-orphan", order_by="BatchStaff.id"
    )
    steps: Mapped[list[BatchStep]] = relationship(
        back_populates="batch", cascade="all, delete-orphan", order_by="BatchStep.id"
    )
    panel: Mapped[list[ReviewPanelMember]] = relationship(
        back_populates="batch", cascade="all, delete-orphan", order_by="ReviewPanelMember.id"
    )

    @property
    def status_label(self) -> str:
        return BatchStatus(self.status).label

    @property
    def sessions(self) -> list[ExamSession]:
        """Every sitting of every module, earliest first."""
        return sorted((s for m in self.modules for s in m.sessions), key=lambda s: (s.starts_at, s.id or 0))

    def module(self, kind: str) -> BatchModule | None:
        return next((m for m in self.modules if m.kind == kind), None)

    def __repr__(self) -> str:
        return f"<Batch {self.id} {self.name} {self.status}>"


class BatchModule(Base):
    """A module of the batch (考核模块): theory, skill, performance review, comprehensive review."""

    __tablename__ = "batch_module"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_values(ModuleKind)})", name="kind_known"),
        UniqueConstraint("batch_id", "kind", name="uq_batch_module_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))

    batch: Mapped[Batch] = relationship(back_populates="modules")
    sessions: Mapped[list[ExamSession]] = relationship(
        back_populates="module", cascade="all, delete-orphan", order_by="ExamSession.starts_at"
    )

    @property
    def label(self) -> str:
        return ModuleKind(self.kind).label


class ExamSession(Base):
    """One sitting (场次) of a module: when, how long, where; a theory sitting names its paper."""

    __tablename__ = "exam_session"
    __table_args__ = (CheckConstraint("duration_minutes > 0 AND duration_minutes <= 600", name="duration_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("batch_module.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[dt.datetime]
    duration_minutes: Mapped[int] = mapped_column(Integer)
    place: Mapped[str] = mapped_column(String(255), default="", info=name_info("考试地点"))
    paper_id: Mapped[int | None] = mapped_column(ForeignKey("paper.id"), index=True)
    #: A skill sitting's task (技能操作试题): locked by the time the plan is filed.
    skill_task_id: Mapped[int | None] = mapped_column(ForeignKey("skill_task.id"), index=True)

    module: Mapped[BatchModule] = relationship(back_populates="sessions")
    paper: Mapped[Paper | None] = relationship()
    skill_task: Mapped[SkillTask | None] = relationship()
    rooms: Mapped[list[Room]] = relationship(
        back_populates="exam_session", cascade="all, delete-orphan", order_by="Room.id"
    )
    examiners: Mapped[list[SittingExaminer]] = relationship(
        back_populates="exam_session", cascade="all, delete-orphan", order_by="SittingExaminer.id"
    )
    listed_candidates: Mapped[list[SittingCandidate]] = relationship(
        back_populates="exam_session", cascade="all, delete-orphan", order_by="SittingCandidate.id"
    )
    stations: Mapped[list[SkillStation]] = relationship(
        back_populates="exam_session", cascade="all, delete-orphan", order_by="SkillStation.station_no"
    )


class Room(Base):
    """An exam room (考场) of a sitting: a grid of at most rule ``room_max_seats`` seats."""

    __tablename__ = "room"
    __table_args__ = (
        CheckConstraint("rows >= 1 AND cols >= 1", name="grid_positive"),
        CheckConstraint(f"rows * cols <= {ROOM_SEATS_CEILING}", name="seats_max"),
        UniqueConstraint("exam_session_id", "name", name="uq_room_session_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_session_id: Mapped[int] = mapped_column(ForeignKey("exam_session.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64), info=name_info("考场名称"))
    rows: Mapped[int] = mapped_column(Integer)
    cols: Mapped[int] = mapped_column(Integer)

    exam_session: Mapped[ExamSession] = relationship(back_populates="rooms")
    seats: Mapped[list[Seat]] = relationship(
        back_populates="room", cascade="all, delete-orphan", order_by="(Seat.row, Seat.col)"
    )

    @property
    def capacity(self) -> int:
        return self.rows * self.cols


class Seat(Base):
    """A seat (座位) in a room, 1-based row and column, with its candidate, form and order seed."""

    __tablename__ = "seat"
    __table_args__ = (
        CheckConstraint("row >= 1 AND col >= 1", name="position_positive"),
        UniqueConstraint("room_id", "row", "col", name="uq_seat_position"),
        UniqueConstraint("room_id", "candidate_id", name="uq_seat_candidate"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"), index=True)
    row: Mapped[int] = mapped_column(Integer)
    col: Mapped[int] = mapped_column(Integer)
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    form_label: Mapped[str | None] = mapped_column(String(4))
    # Seed of the candidate's item and option order (examroom.seating.shuffled_order/options).
    order_seed: Mapped[int | None] = mapped_column(BigInteger)

    room: Mapped[Room] = relationship(back_populates="seats")
    candidate: Mapped[User | None] = relationship()


# The evaluation methods of grading.results.decision.Method (this layer may not import grading;
# tests/examroom/test_registrations.py checks the two agree).
REGISTRATION_METHODS = ("assessment", "combined", "performance", "competition")


class BatchCandidate(Base):
    """A registration (报名): one person on the batch's list (考生名册) for the batch's
    occupation (工种) and level, with a category and an evaluation method, and the admission
    ticket number (准考证号) issued when they joined it: one per registration, never reused,
    and unique across all batches because the candidate logs in with it (see
    :mod:`examroom.registration`). ``person_id`` is the account's person, so a person is on a
    batch's list at most once whichever account registered them."""

    __tablename__ = "batch_candidate"
    __table_args__ = (
        UniqueConstraint("batch_id", "candidate_id", name="uq_batch_candidate_once"),
        UniqueConstraint("batch_id", "person_id", name="uq_batch_candidate_person_once"),
        UniqueConstraint("ticket_no", name="uq_batch_candidate_ticket_no"),
        CheckConstraint("method IN (" + ", ".join(f"'{m}'" for m in REGISTRATION_METHODS) + ")",
                        name="method_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    method: Mapped[str] = mapped_column(String(16), default="assessment")
    ticket_no: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(32))
    work_unit: Mapped[str | None] = mapped_column(String(128), info=name_info("工作单位"))  # as listed for this batch

    batch: Mapped[Batch] = relationship(back_populates="candidates")
    candidate: Mapped[User] = relationship(lazy="joined")


@event.listens_for(BatchCandidate, "before_insert")
def _registration_person(_mapper: Mapper[BatchCandidate], connection: Connection, target: BatchCandidate) -> None:
    """A registration is always of its account's person (filled in when the writer left it out)."""
    if target.person_id is None:
        target.person_id = connection.scalar(select(User.person_id).where(User.id == target.candidate_id))


class BatchStaff(Base):
    """A proctor, examiner or supervisor of the batch; proctors may be tied to one room.

    Supervisors are of two kinds: the institution's own (internal, named in its plan by its
    admin) and the centre's, ``dispatched`` to the batch by the centre admin at any time for
    spot checks (examroom.supervision); the institution neither adds nor removes those."""

    __tablename__ = "batch_staff"
    __table_args__ = (
        CheckConstraint(f"role IN ({_values(StaffRole)})", name="role_known"),
        CheckConstraint("room_id IS NULL OR role = 'proctor'", name="room_only_for_proctors"),
        CheckConstraint("NOT dispatched OR role = 'supervisor'", name="dispatched_only_supervisors"),
        UniqueConstraint("batch_id", "user_id", "role", "room_id", name="uq_batch_staff_assignment"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"), index=True)
    #: A centre supervisor dispatched by the centre (选派), not chosen by the institution.
    dispatched: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    batch: Mapped[Batch] = relationship(back_populates="staff")
    user: Mapped[User] = relationship(lazy="joined")
    room: Mapped[Room | None] = relationship()

    @property
    def role_label(self) -> str:
        return StaffRole(self.role).label


class SittingExaminer(Base):
    """An examiner of a skill sitting's group (考评组), drawn from the batch's examiners.

    The staffing rule (1:5, at least 3, odd) is checked per skill sitting against the
    candidates of that sitting (:func:`examroom.batches.sitting_candidate_ids`). One examiner of
    the group may be its chief (组长), who reconciles a spread of the score sheets."""

    __tablename__ = "sitting_examiner"
    __table_args__ = (UniqueConstraint("exam_session_id", "user_id", name="uq_sitting_examiner_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_session_id: Mapped[int] = mapped_column(ForeignKey("exam_session.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    is_chief: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    exam_session: Mapped[ExamSession] = relationship(back_populates="examiners")
    user: Mapped[User] = relationship(lazy="joined")


class SittingCandidate(Base):
    """A candidate of the batch listed for one skill sitting (a batch whose skill module has
    several sittings splits its candidates among them; a lone skill sitting takes them all)."""

    __tablename__ = "sitting_candidate"
    __table_args__ = (UniqueConstraint("exam_session_id", "candidate_id", name="uq_sitting_candidate_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_session_id: Mapped[int] = mapped_column(ForeignKey("exam_session.id", ondelete="CASCADE"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)

    exam_session: Mapped[ExamSession] = relationship(back_populates="listed_candidates")
    candidate: Mapped[User] = relationship(lazy="joined")


class SkillStation(Base):
    """A candidate's station (工位, numbered from 1) at a skill sitting; ``registration_id`` is
    the candidate's registration (batch_candidate) in the sitting's batch."""

    __tablename__ = "skill_station"
    __table_args__ = (
        UniqueConstraint("exam_session_id", "station_no", name="uq_skill_station_number"),
        UniqueConstraint("exam_session_id", "registration_id", name="uq_skill_station_registration"),
        CheckConstraint("station_no >= 1", name="station_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_session_id: Mapped[int] = mapped_column(ForeignKey("exam_session.id", ondelete="CASCADE"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("batch_candidate.id", ondelete="CASCADE"), index=True)
    station_no: Mapped[int] = mapped_column(Integer)

    exam_session: Mapped[ExamSession] = relationship(back_populates="stations")
    registration: Mapped[BatchCandidate] = relationship(lazy="joined")


class ReviewPanelMember(Base):
    """A member of the batch's 综合评审 panel (专家组), its own list apart from the skill
    examiners (an examiner may be on both); one member chairs it (组长)."""

    __tablename__ = "review_panel_member"
    __table_args__ = (UniqueConstraint("batch_id", "user_id", name="uq_review_panel_member_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    is_chair: Mapped[bool] = mapped_column(default=False)

    batch: Mapped[Batch] = relationship(back_populates="panel")
    user: Mapped[User] = relationship(lazy="joined")


class BatchStep(Base):
    """One step of the plan's filing: who moved the batch, when and why."""

    __tablename__ = "batch_step"
    __table_args__ = (CheckConstraint(f"to_status IN ({_values(BatchStatus)})", name="to_status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_name: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    batch: Mapped[Batch] = relationship(back_populates="steps")


# ---------------------------------------------------------------- attempts (作答)


class Attempt(Base):
    """One candidate's attempt (作答) at a theory sitting, on the form of their seat.

    ``state_json`` is the stored :class:`examroom.lifecycle.AttemptState` (start, pauses,
    extensions, closing times); the deadline and the remaining time are derived from it and
    never stored. ``status`` mirrors the state's status for queries (the expiry job, the
    proctor console)."""

    __tablename__ = "attempt"
    __table_args__ = (
        UniqueConstraint("exam_session_id", "candidate_id", name="uq_attempt_candidate"),
        UniqueConstraint("seat_id", name="uq_attempt_seat"),
        CheckConstraint(f"status IN ({_values(AttemptStatus)})", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_session_id: Mapped[int] = mapped_column(ForeignKey("exam_session.id", ondelete="CASCADE"), index=True)
    seat_id: Mapped[int | None] = mapped_column(ForeignKey("seat.id", ondelete="SET NULL"))
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    paper_form_id: Mapped[int] = mapped_column(ForeignKey("paper_form.id"), index=True)
    order_seed: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="not_started", index=True)
    state_json: Mapped[str] = mapped_column(Text, default="{}")
    started_at: Mapped[dt.datetime | None]
    submitted_at: Mapped[dt.datetime | None]  # when answering closed: submitted, expired or terminated
    score: Mapped[float | None] = mapped_column(Numeric(8, 2, asdecimal=False))
    #: The browser (a random id the exam page keeps in its storage) the attempt is answered on.
    #: Set by the first connection; another device connects only after the proctor approves
    #: the move (换机), which rebinds it.
    device_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    exam_session: Mapped[ExamSession] = relationship()
    room: Mapped[Room] = relationship()
    seat: Mapped[Seat | None] = relationship()
    candidate: Mapped[User] = relationship()
    paper_form: Mapped[PaperForm] = relationship()
    responses: Mapped[list[Response]] = relationship(
        back_populates="attempt", cascade="all, delete-orphan", order_by="Response.position"
    )
    events: Mapped[list[AttemptEvent]] = relationship(
        back_populates="attempt", cascade="all, delete-orphan", order_by="AttemptEvent.id"
    )


class Response(Base):
    """The latest accepted answer to one item of an attempt (``position`` is the item's
    1-based position in the form). ``score`` is set by scoring, None for examiner items."""

    __tablename__ = "response"
    __table_args__ = (
        UniqueConstraint("attempt_id", "position", name="uq_response_position"),
        CheckConstraint("seq >= 1", name="seq_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    paper_item_id: Mapped[int] = mapped_column(ForeignKey("paper_item.id"))
    seq: Mapped[int] = mapped_column(Integer)
    value_json: Mapped[str] = mapped_column(Text)
    client_time: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime]
    score: Mapped[float | None] = mapped_column(Numeric(6, 2, asdecimal=False))

    attempt: Mapped[Attempt] = relationship(back_populates="responses")


class ResponseLog(Base):
    """Every accepted answer change, once per (attempt, seq): the idempotence record."""

    __tablename__ = "response_log"
    __table_args__ = (
        UniqueConstraint("attempt_id", "seq", name="uq_response_log_seq"),
        CheckConstraint("seq >= 1", name="seq_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    value_json: Mapped[str] = mapped_column(Text)
    client_time: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime]


class AttemptEventKind(enum.StrEnum):
    CONNECT = "connect"
    DISCONNECT = "disconnect"
    FOCUS_LOSS = "focus_loss"
    PASTE_BLOCKED = "paste_blocked"
    ARRIVE = "arrive"
    OPEN = "open"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    EXTEND = "extend"
    WARN = "warn"
    INCIDENT = "incident"
    TERMINATE = "terminate"
    SUBMIT = "submit"
    EXPIRE = "expire"
    MOVE_REQUESTED = "move_requested"
    MOVE_APPROVED = "move_approved"
    TAKEOVER_APPROVED = "takeover_approved"


class AttemptEvent(Base):
    """Something that happened to an attempt, for the proctor console and the room record."""

    __tablename__ = "attempt_event"
    __table_args__ = (CheckConstraint(f"kind IN ({_values(AttemptEventKind)})", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_name: Mapped[str] = mapped_column(String(64), default="系统")
    data_json: Mapped[str] = mapped_column(Text, default="{}")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    attempt: Mapped[Attempt] = relationship(back_populates="events")


#: Supervisors' ratings of an institution's conduct of a batch (督考评价).
RATINGS = {"excellent": "优秀", "good": "良好", "adequate": "合格", "poor": "不合格"}


class RoomRecordSignature(Base):
    """A proctor's signature of a room's record (考场记录表). ``digest`` is the SHA-256 of the
    record's content when it was signed, so a later change to the record shows."""

    __tablename__ = "room_record_signature"
    __table_args__ = (UniqueConstraint("room_id", "proctor_id", name="uq_room_record_signature_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"), index=True)
    proctor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    signed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    digest: Mapped[str] = mapped_column(String(64))
    #: The attempts still open when the proctor signed (after confirming), for the record.
    open_attempts: Mapped[int] = mapped_column(default=0)

    proctor: Mapped[User] = relationship(lazy="joined")


class SupervisionReport(Base):
    """A supervisor's report (督考报告) on one sitting (场次) of a batch: findings and a rating,
    submitted once per sitting and supervisor. ``batch_id`` is the sitting's batch (kept for
    the lists)."""

    __tablename__ = "supervision_report"
    __table_args__ = (
        UniqueConstraint("exam_session_id", "supervisor_id", name="uq_supervision_report_sitting_once"),
        CheckConstraint("rating IN ('excellent', 'good', 'adequate', 'poor')", name="rating_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"), index=True)
    exam_session_id: Mapped[int] = mapped_column(ForeignKey("exam_session.id", ondelete="CASCADE"), index=True)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    findings: Mapped[str] = mapped_column(Text)
    rating: Mapped[str] = mapped_column(String(16))
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    supervisor: Mapped[User] = relationship(lazy="joined")
    batch: Mapped[Batch] = relationship()
    exam_session: Mapped[ExamSession] = relationship()

    @property
    def rating_label(self) -> str:
        return RATINGS.get(self.rating, self.rating)


class ServerInstance(Base):
    """One running serving process (see :mod:`examroom.connections`): it registers at start,
    refreshes ``heartbeat_at`` every few seconds, and is reaped by the other processes (or
    by its successor after a restart) once the heartbeat is stale, e.g. after ``kill -9``."""

    __tablename__ = "server_instance"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random hex, new at every start
    host: Mapped[str] = mapped_column(String(255), default="")
    pid: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class ExamConnection(Base):
    """A live exam-page connection and the serving process that holds it: inserted with the
    ``connect`` event, deleted with the ``disconnect`` event. No foreign key to the process:
    a process reaped while alive (a long stall) re-registers and restores its rows."""

    __tablename__ = "exam_connection"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"), index=True)
    instance_id: Mapped[str] = mapped_column(String(32), index=True)
    connected_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Violation(Base):
    """A violation (违纪) of a registration, tier 1–4 (the domain's tiers): recorded by a proctor
    in a theory room (ending the attempt or as an incident) or by an examiner at a skill sitting.
    Grading reads it: tiers 1–2 void the ``component`` of that sitting, tier 3 voids every
    component of the registration's batch and bars the person from registering for the rest of
    the calendar year of ``occurred_on``, tier 4 holds the result until the centre deals with it.
    ``attempt_event_id`` links a proctor's record to the attempt event it came from (one
    violation per event). A tier-4 hold ends when the centre releases it: ``released_at``,
    ``released_by_id`` and ``release_reason`` (the row is otherwise never changed)."""

    __tablename__ = "violation"
    __table_args__ = (
        CheckConstraint("tier BETWEEN 1 AND 4", name="tier_range"),
        CheckConstraint("released_at IS NULL OR tier = 4", name="release_only_holds"),
        UniqueConstraint("attempt_event_id", name="uq_violation_attempt_event"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("batch_candidate.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    tier: Mapped[int] = mapped_column(Integer)
    component: Mapped[str | None] = mapped_column(String(16))  # theory, skill …; required for tiers 1–2
    occurred_on: Mapped[dt.date]
    exam_session_id: Mapped[int | None] = mapped_column(ForeignKey("exam_session.id", ondelete="SET NULL"))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempt.id", ondelete="SET NULL"))
    attempt_event_id: Mapped[int | None] = mapped_column(ForeignKey("attempt_event.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    released_at: Mapped[dt.datetime | None]
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    release_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

