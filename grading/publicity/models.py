"""Publicity tables.

* ``publicity`` — one per batch (公示): the chosen start date, the first working day on or after
  it (``starts_on``) and the end of the batch's period (``ends_on``, the 5th working day counting
  ``starts_on``); ``ends_on`` is the latest end of its listed entries once an entry is
  re-publicised. ``submit_due_on``: the 10th working day after ``ends_on``.
* ``publicity_entry`` — one person on it (a confirmed 合格 level decision): masked name and ID
  number, occupation, 工种, level, institution, as shown to the public; its own period
  (``starts_on``/``ends_on``, later than the publicity's after a correction re-publicises it) and
  its status ``listed`` or ``withdrawn``.
* ``objection`` — an objection to one entry: receipt number, objector's name and contact, text,
  ``pending`` / ``upheld`` / ``dismissed``, the written answer and (upheld) what changed the entry
  (``corrected``: re-publicised; ``withdrawn``).
* ``submission`` — the publicity's results and certificate data submitted to the centre: due
  date, status ``submitted`` / ``returned`` / ``approved``, the centre's decision.
* ``submission_entry`` — one listed entry in it: ``pending`` (awaiting review), ``returned``
  (named by the centre with a reason) or ``approved``.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from examroom.models import Batch, BatchCandidate
from foundation.db import Base, utcnow
from foundation.levels import level_name


class EntryStatus(enum.StrEnum):
    LISTED = "listed"
    WITHDRAWN = "withdrawn"


class ObjectionStatus(enum.StrEnum):
    PENDING = "pending"
    UPHELD = "upheld"
    DISMISSED = "dismissed"

    @property
    def label(self) -> str:
        return {"pending": "调查处理中", "upheld": "异议成立", "dismissed": "异议不成立"}[self.value]


class SubmissionStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"

    @property
    def label(self) -> str:
        return {"submitted": "待省中心审核", "returned": "已退回", "approved": "审核通过"}[self.value]


class SubmissionEntryStatus(enum.StrEnum):
    PENDING = "pending"
    RETURNED = "returned"
    APPROVED = "approved"

    @property
    def label(self) -> str:
        return {"pending": "待审核", "returned": "退回修改", "approved": "审核通过"}[self.value]


class Publicity(Base):
    """The publicity (公示) of a batch's qualified people."""

    __tablename__ = "publicity"
    __table_args__ = (
        UniqueConstraint("batch_id", name="uq_publicity_batch"),
        CheckConstraint("starts_on >= start_on", name="starts_after_chosen"),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        CheckConstraint("submit_due_on > ends_on", name="due_after_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    start_on: Mapped[dt.date] = mapped_column(Date)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date, index=True)
    submit_due_on: Mapped[dt.date] = mapped_column(Date)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    batch: Mapped[Batch] = relationship()
    entries: Mapped[list[PublicityEntry]] = relationship(
        back_populates="publicity", order_by="PublicityEntry.id", cascade="all, delete-orphan")

    def is_open(self, today: dt.date) -> bool:
        return self.starts_on <= today <= self.ends_on

    def has_ended(self, today: dt.date) -> bool:
        return today > self.ends_on

    def state_label(self, today: dt.date) -> str:
        if today < self.starts_on:
            return "未开始"
        return "公示中" if today <= self.ends_on else "已结束"


class PublicityEntry(Base):
    """One qualified person on a publicity, in the form shown to the public."""

    __tablename__ = "publicity_entry"
    __table_args__ = (
        UniqueConstraint("registration_id", name="uq_publicity_entry_registration"),
        CheckConstraint("status IN ('listed', 'withdrawn')", name="status_known"),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    publicity_id: Mapped[int] = mapped_column(ForeignKey("publicity.id", ondelete="CASCADE"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("batch_candidate.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("level_decision.id", ondelete="SET NULL"))
    name_masked: Mapped[str] = mapped_column(String(64))
    id_masked: Mapped[str] = mapped_column(String(18))
    occupation_name: Mapped[str] = mapped_column(String(128))
    work_type_name: Mapped[str | None] = mapped_column(String(128))
    level: Mapped[int]
    institution_name: Mapped[str] = mapped_column(String(128))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=EntryStatus.LISTED.value)
    #: How many times an upheld objection re-publicised it (0: the publicity's own period).
    republished: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(Text, default="")  # the latest correction or withdrawal

    publicity: Mapped[Publicity] = relationship(back_populates="entries")
    registration: Mapped[BatchCandidate] = relationship()

    @property
    def level_label(self) -> str:
        return level_name(self.level)

    @property
    def work_type_text(self) -> str:
        return self.work_type_name or "--"

    @property
    def withdrawn(self) -> bool:
        return self.status == EntryStatus.WITHDRAWN

    def is_open(self, today: dt.date) -> bool:
        return not self.withdrawn and self.starts_on <= today <= self.ends_on


class Objection(Base):
    """An objection (异议) to one publicity entry, and the institution's written answer."""

    __tablename__ = "objection"
    __table_args__ = (
        UniqueConstraint("receipt", name="uq_objection_receipt"),
        CheckConstraint("status IN ('pending', 'upheld', 'dismissed')", name="status_known"),
        CheckConstraint("status = 'pending' OR answered_at IS NOT NULL", name="answered_has_time"),
        CheckConstraint("action IN ('', 'corrected', 'withdrawn')", name="action_known"),
        Index("ix_objection_entry_status", "entry_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("publicity_entry.id", ondelete="CASCADE"))
    receipt: Mapped[str] = mapped_column(String(16))
    objector_name: Mapped[str] = mapped_column(String(64))
    contact: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=ObjectionStatus.PENDING.value)
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    answer: Mapped[str] = mapped_column(Text, default="")
    action: Mapped[str] = mapped_column(String(16), default="")
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    answered_at: Mapped[dt.datetime | None]

    entry: Mapped[PublicityEntry] = relationship()

    @property
    def status_label(self) -> str:
        return ObjectionStatus(self.status).label


class Submission(Base):
    """A publicity's results and certificate data, submitted to the centre for review."""

    __tablename__ = "submission"
    __table_args__ = (
        UniqueConstraint("publicity_id", name="uq_submission_publicity"),
        CheckConstraint("status IN ('submitted', 'returned', 'approved')", name="status_known"),
        CheckConstraint("status <> 'approved' OR reviewed_at IS NOT NULL", name="approved_has_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    publicity_id: Mapped[int] = mapped_column(ForeignKey("publicity.id", ondelete="CASCADE"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    due_on: Mapped[dt.date] = mapped_column(Date)
    submitted_on: Mapped[dt.date] = mapped_column(Date)  # the first submission's (Beijing) date
    status: Mapped[str] = mapped_column(String(16), default=SubmissionStatus.SUBMITTED.value, index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)  # 1 + the number of resubmissions
    note: Mapped[str] = mapped_column(Text, default="")  # the institution's note on the latest round
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    reviewed_at: Mapped[dt.datetime | None]

    publicity: Mapped[Publicity] = relationship()
    batch: Mapped[Batch] = relationship()
    entries: Mapped[list[SubmissionEntry]] = relationship(
        back_populates="submission", order_by="SubmissionEntry.id", cascade="all, delete-orphan")

    @property
    def status_label(self) -> str:
        return SubmissionStatus(self.status).label

    def overdue(self, today: dt.date) -> bool:
        """Submitted after its due date (the first submission's date counts)."""
        return self.submitted_on > self.due_on


class SubmissionEntry(Base):
    """One publicised person in a submission, with the centre's verdict on them."""

    __tablename__ = "submission_entry"
    __table_args__ = (
        UniqueConstraint("registration_id", name="uq_submission_entry_registration"),
        CheckConstraint("status IN ('pending', 'returned', 'approved')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("publicity_entry.id", ondelete="CASCADE"))
    registration_id: Mapped[int] = mapped_column(ForeignKey("batch_candidate.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=SubmissionEntryStatus.PENDING.value)
    reason: Mapped[str] = mapped_column(Text, default="")  # the centre's reason when returned

    submission: Mapped[Submission] = relationship(back_populates="entries")
    entry: Mapped[PublicityEntry] = relationship()

    @property
    def status_label(self) -> str:
        return SubmissionEntryStatus(self.status).label
