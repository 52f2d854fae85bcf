"""Stored results: evaluation schemes (评价方案: occupation × level × method → required
components and pass marks, service in :mod:`grading.results.schemes`), component results
(成绩), level decisions with their versions (等级认定结论, service in
:mod:`grading.results.decisions`) and re-check requests (成绩复核)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from foundation.db import Base, utcnow
from foundation.occupations import Occupation

# The methods a scheme table row can have: grading.results.decision.Method without 竞赛选拔
# (a competition has no components to configure).
SCHEME_METHODS = ("assessment", "combined", "performance")


class EvaluationScheme(Base):
    """One scheme. ``occupation_id`` None is the default for every occupation; a row for an
    occupation overrides it for that occupation. ``components`` is the list of required
    component names (``grading.results.decision.Component``), ``pass_marks`` maps each of them
    to its pass mark out of 100 as a decimal string (``"60"``, ``"72.5"``)."""

    __tablename__ = "evaluation_scheme"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),
        CheckConstraint("method IN (" + ", ".join(f"'{m}'" for m in SCHEME_METHODS) + ")", name="method_known"),
        UniqueConstraint("occupation_id", "level", "method", name="uq_evaluation_scheme_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occupation_id: Mapped[int | None] = mapped_column(ForeignKey("occupation.id", ondelete="CASCADE"), index=True)
    level: Mapped[int]
    method: Mapped[str] = mapped_column(String(16))
    components: Mapped[list[str]] = mapped_column(JSON)
    pass_marks: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    occupation: Mapped[Occupation | None] = relationship(lazy="joined")


# The states of a stored component result (成绩):
#   pending  — taken, not yet fully scored (examiner-marked items or score sheets outstanding)
#   scored   — final score out of 100 in ``score``
#   absent   — registered for the sitting and did not take it (缺考; counts as an attempt)
#   void     — cancelled by a violation (tier 1–2: this subject; tier 3: every component of the batch)
#   held     — withheld by a tier-4 violation until the centre deals with it (暂缓)
RESULT_STATES = ("pending", "scored", "absent", "void", "held")


class ComponentResult(Base):
    """One component (考核科目: theory, skill, 综合评审 …) of one registration at one sitting,
    scored out of 100. The decision engine reads these as
    :class:`grading.results.decision.ComponentResult`. ``person_id`` repeats the registration's
    person so that carry-over, re-sits and bans are one indexed lookup across batches.
    ``attempt_id`` links a theory result to the closed exam attempt it was scored from (at most
    one result per attempt); ``raw_score``/``raw_max`` are the paper's own points before
    scaling to 100."""

    __tablename__ = "component_result"
    __table_args__ = (
        CheckConstraint("state IN (" + ", ".join(f"'{s}'" for s in RESULT_STATES) + ")", name="state_known"),
        CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)", name="score_range"),
        CheckConstraint("state <> 'scored' OR score IS NOT NULL", name="scored_has_score"),
        UniqueConstraint("attempt_id", name="uq_component_result_attempt"),
        UniqueConstraint("registration_id", "component", "exam_session_id", name="uq_component_result_sitting"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("batch_candidate.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    component: Mapped[str] = mapped_column(String(16))
    exam_session_id: Mapped[int | None] = mapped_column(ForeignKey("exam_session.id", ondelete="SET NULL"),
                                                        index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempt.id", ondelete="SET NULL"))
    sat_on: Mapped[dt.date]
    state: Mapped[str] = mapped_column(String(16), default="pending")
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    raw_score: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    raw_max: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# The states of a stored level decision (等级认定结论):
#   draft      — computed by the engine, not yet confirmed by the institution
#   confirmed  — confirmed by name by the institution admin; released to the candidate
#   superseded — replaced by a later version (a draft by a newer draft, a confirmed decision by
#                the confirmation of a newer one); kept, never overwritten
DECISION_STATES = ("draft", "confirmed", "superseded")
DECISION_OUTCOMES = ("qualified", "failed", "resit", "held")


class LevelDecision(Base):
    """One version of a registration's level decision (等级认定结论), as the engine gave it.

    ``reasons`` are the readable reasons exactly as :func:`grading.results.decision_json.dump_decision`
    writes them; ``inputs_json`` is the engine's input (the case as ``python -m grading.decide``
    reads it, without ``today``, which is ``decided_on``) as the canonical JSON text that
    ``fingerprint`` (SHA-256) was taken of, so a later change of any input (a score, a
    violation, the scheme, a rule) shows; kept as text so it is serialised once. ``batch_id`` and
    ``person_id`` repeat the registration's for the batch lists and the person's promotions.
    A registration has at most one draft and at most one confirmed version at a time; a
    version after a confirmed one carries the ``reason`` it was made for."""

    __tablename__ = "level_decision"
    __table_args__ = (
        CheckConstraint("state IN (" + ", ".join(f"'{s}'" for s in DECISION_STATES) + ")", name="state_known"),
        CheckConstraint("outcome IN (" + ", ".join(f"'{s}'" for s in DECISION_OUTCOMES) + ")",
                        name="outcome_known"),
        CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("state = 'draft' OR confirmed_at IS NOT NULL OR superseded_at IS NOT NULL",
                        name="settled_has_time"),
        CheckConstraint("confirmed_at IS NULL OR confirmed_by_name IS NOT NULL", name="confirmed_has_name"),
        UniqueConstraint("registration_id", "version", name="uq_level_decision_version"),
        Index("uq_level_decision_current", "registration_id", "state", unique=True,
              sqlite_where=text("state <> 'superseded'"), postgresql_where=text("state <> 'superseded'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("batch_candidate.id", ondelete="CASCADE"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    version: Mapped[int]
    state: Mapped[str] = mapped_column(String(16), default="draft")
    outcome: Mapped[str] = mapped_column(String(16))
    level: Mapped[int]
    decided_on: Mapped[dt.date]
    qualified_on: Mapped[dt.date | None]
    resit_until: Mapped[dt.date | None]
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    inputs_json: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_by_name: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    confirmed_by_name: Mapped[str | None] = mapped_column(String(64))
    confirmed_at: Mapped[dt.datetime | None]
    superseded_at: Mapped[dt.datetime | None]

    @property
    def inputs(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.inputs_json)
        return value


RECHECK_STATES = ("open", "answered")
# How the institution answered a re-check: the result stands (维持), or it was corrected (更正:
# the institution re-decides, which makes a new version of the decision with a reason).
RECHECK_ANSWERS = ("maintained", "corrected")


class RecheckRequest(Base):
    """A candidate's request for a re-check (成绩复核) of a released decision, made within the
    configured working days of its release, and the institution's written answer. One request
    per released decision version."""

    __tablename__ = "recheck_request"
    __table_args__ = (
        CheckConstraint("state IN (" + ", ".join(f"'{s}'" for s in RECHECK_STATES) + ")", name="state_known"),
        CheckConstraint("answer_kind IS NULL OR answer_kind IN (" + ", ".join(f"'{s}'" for s in RECHECK_ANSWERS)
                        + ")", name="answer_known"),
        CheckConstraint("state = 'open' OR (answer_kind IS NOT NULL AND answered_at IS NOT NULL)",
                        name="answered_complete"),
        UniqueConstraint("decision_id", name="uq_recheck_request_decision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("level_decision.id", ondelete="CASCADE"))
    registration_id: Mapped[int] = mapped_column(ForeignKey("batch_candidate.id", ondelete="CASCADE"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    components: Mapped[list[str]] = mapped_column(JSON)  # the components the candidate asks about
    details: Mapped[str] = mapped_column(Text)  # what the candidate asks, in their words
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    requested_on: Mapped[dt.date]
    state: Mapped[str] = mapped_column(String(16), default="open")
    answer_kind: Mapped[str | None] = mapped_column(String(16))
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    answered_by_name: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[dt.datetime | None]

    decision: Mapped[LevelDecision] = relationship()
