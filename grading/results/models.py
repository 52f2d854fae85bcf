"""Stored results: evaluation schemes (评价方案: occupation × level × method → required
components and pass marks, service in :mod:`grading.results.schemes`), component results
(成绩) with their versions, theory marking, skill score sheets, work-performance dossiers and
panels (:mod:`grading.results.dossiers`, :mod:`grading.results.panels`), competitions
(:mod:`grading.results.competitions`), level decisions with their versions (等级认定结论, service in
:mod:`grading.results.decisions`) and re-check requests (成绩复核)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from foundation.accounts import User
from foundation.db import Base, utcnow
from foundation.names import name_info
from foundation.occupations import Occupation
from foundation.people import Person

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
#: The states scoring alone gives (``base_state``); void and held come from violations on top.
BASE_STATES = ("pending", "scored", "absent")

RESULT_STATE_LABELS = {"pending": "待评分", "scored": "已评分", "absent": "缺考", "void": "成绩作废",
                       "held": "暂缓（待中心处理）"}


class ComponentResult(Base):
    """One component (考核科目: theory, skill, 综合评审 …) of one registration at one sitting,
    scored out of 100. The decision engine reads these as
    :class:`grading.results.decision.ComponentResult`. ``person_id`` repeats the registration's
    person so that carry-over, re-sits and bans are one indexed lookup across batches.
    ``attempt_id`` links a theory result to the closed exam attempt it was scored from (at most
    one result per attempt); ``raw_score``/``raw_max`` are the paper's own points before
    scaling to 100.

    ``base_state`` is what scoring alone says (pending, scored, absent); ``state`` is what holds
    after the registration's violations (void, held) are applied on top, so lifting a hold
    brings the scored state back. Every change of state, score or note makes a new
    ``version`` and a :class:`ComponentResultChange` row with who, when and why; the row here
    is the current version and the changes are never edited. ``marking_code`` is the
    anonymous code (阅卷编号) markers see instead of the candidate (theory papers with
    examiner-scored items)."""

    __tablename__ = "component_result"
    __table_args__ = (
        CheckConstraint("state IN (" + ", ".join(f"'{s}'" for s in RESULT_STATES) + ")", name="state_known"),
        CheckConstraint("base_state IN (" + ", ".join(f"'{s}'" for s in BASE_STATES) + ")",
                        name="base_state_known"),
        CheckConstraint("version >= 1", name="version_positive"),
        UniqueConstraint("exam_session_id", "marking_code", name="uq_component_result_marking_code"),
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
    base_state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    marking_code: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def state_label(self) -> str:
        return RESULT_STATE_LABELS.get(self.state, self.state)


class ComponentResultChange(Base):
    """One version of a component result (成绩变更记录): the values it then had, who made it
    (None: the system, e.g. scoring at the close), when and why. Version 1 is the first
    recording; rows are only ever added."""

    __tablename__ = "component_result_change"
    __table_args__ = (UniqueConstraint("result_id", "version", name="uq_component_result_change_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("component_result.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    base_state: Mapped[str] = mapped_column(String(16))
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    raw_score: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    raw_max: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    note: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(64), default="系统")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TheoryMarker(Base):
    """A marker (阅卷人) of a theory sitting's examiner-scored items (简答/计算/论述): one of the
    batch's examiners, named by the institution admin."""

    __tablename__ = "theory_marker"
    __table_args__ = (UniqueConstraint("exam_session_id", "user_id", name="uq_theory_marker_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_session_id: Mapped[int] = mapped_column(ForeignKey("exam_session.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")


class ResponseMark(Base):
    """One marker's mark (评分) of one answer to an examiner-scored item, in the order the marks
    came (``round`` 1 and 2: the two blind marks; 3: the third marker's, when the two differed
    by more than the rule allows). ``points`` is the current version (``version``): its marker
    may correct it with a reason while the rules of :func:`grading.results.marking.correct_mark`
    allow, each version kept as a :class:`ResponseMarkChange` row. The answer's final score is
    written to :attr:`examroom.models.Response.score` (:mod:`grading.results.marking`)."""

    __tablename__ = "response_mark"
    __table_args__ = (
        UniqueConstraint("response_id", "marker_id", name="uq_response_mark_marker"),
        UniqueConstraint("response_id", "round", name="uq_response_mark_round"),
        CheckConstraint("round BETWEEN 1 AND 3", name="round_range"),
        CheckConstraint("points >= 0", name="points_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"), index=True)
    marker_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    points: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    marked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class ResponseMarkChange(Base):
    """One version of a marker's mark (评分更正记录): the points, when, and why (version 1: the
    submitted mark, no reason; later versions: the marker's corrections with their reasons).
    Rows are only ever added."""

    __tablename__ = "response_mark_change"
    __table_args__ = (
        UniqueConstraint("mark_id", "version", name="uq_response_mark_change_version"),
        CheckConstraint("points >= 0", name="points_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mark_id: Mapped[int] = mapped_column(ForeignKey("response_mark.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    points: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ScoreSheet(Base):
    """One examiner's score sheet (评分记录表) for one candidate at one skill sitting.

    ``marks`` maps a criterion id (as text) to the points awarded, a decimal string (``"8.5"``);
    ``notes`` maps a criterion id to the examiner's deduction note. A draft is saved as the
    examiner types (``revision`` is the page's own counter of the latest draft accepted, so a
    draft sent late from the browser's storage never overwrites a newer one); ``signed_at``
    set means signed (签名): final, never changed again. Nobody but its examiner reads a sheet
    until every examiner of the group has signed the candidate's (:mod:`grading.results.skill`)."""

    __tablename__ = "score_sheet"
    __table_args__ = (
        UniqueConstraint("exam_session_id", "registration_id", "examiner_id", name="uq_score_sheet_once"),
        CheckConstraint("total IS NULL OR (total >= 0 AND total <= 100)", name="total_range"),
        CheckConstraint("signed_at IS NULL OR total IS NOT NULL", name="signed_has_total"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_session_id: Mapped[int] = mapped_column(ForeignKey("exam_session.id", ondelete="CASCADE"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("batch_candidate.id", ondelete="CASCADE"), index=True)
    examiner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    marks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")
    total: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    revision: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    signed_at: Mapped[dt.datetime | None]

    examiner: Mapped[User] = relationship(lazy="joined")

    @property
    def signed(self) -> bool:
        return self.signed_at is not None


class SkillReconciliation(Base):
    """The chief examiner's reconciled score (组长复核) of a candidate whose signed sheets spread
    more than the rule allows, with the written reason; the reconciled score stands."""

    __tablename__ = "skill_reconciliation"
    __table_args__ = (
        UniqueConstraint("exam_session_id", "registration_id", name="uq_skill_reconciliation_once"),
        CheckConstraint("score >= 0 AND score <= 100", name="score_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_session_id: Mapped[int] = mapped_column(ForeignKey("exam_session.id", ondelete="CASCADE"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("batch_candidate.id", ondelete="CASCADE"), index=True)
    chief_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    score: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    mean: Mapped[Decimal] = mapped_column(Numeric(5, 1))  # the mean of the signed sheets it replaced
    spread: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    chief: Mapped[User] = relationship(lazy="joined")

# ---------------------------------------------------------------- work-performance dossiers and panels
#
# Issue 13 point 5: the 业绩材料 of a registration, its attachments, the panel members' scores
# and the chair's minutes (评审记录). The rules are in grading.results.dossiers and
# grading.results.panels.

#: The components a panel (评审专家组) scores: 工作业绩评审 and 综合评审.
PANEL_COMPONENTS = ("performance", "review")
#: The parts of a dossier an attachment may belong to.
ATTACHMENT_SECTIONS = ("products", "problems", "tasks", "innovation", "mentoring", "attestation", "other")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class PerformanceDossier(Base):
    """The work-performance dossier (业绩材料) of one registration: products made, technical
    problems solved, tasks completed, and for levels 2–1 innovation and mentoring (传技带徒);
    with the employer's attestation (单位鉴定意见: who attests, in what position, the text and
    the day). Entered by the institution admin; frozen once a panel member has scored it."""

    __tablename__ = "performance_dossier"
    __table_args__ = (UniqueConstraint("registration_id", name="uq_performance_dossier_registration"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("batch_candidate.id", ondelete="CASCADE"))
    products: Mapped[str] = mapped_column(Text, default="")
    problems_solved: Mapped[str] = mapped_column(Text, default="")
    tasks: Mapped[str] = mapped_column(Text, default="")
    innovation: Mapped[str] = mapped_column(Text, default="")
    mentoring: Mapped[str] = mapped_column(Text, default="")
    attester_name: Mapped[str] = mapped_column(String(64), default="", info=name_info("鉴定人姓名"))
    attester_position: Mapped[str] = mapped_column(String(64), default="", info=name_info("鉴定人职务"))
    attestation: Mapped[str] = mapped_column(Text, default="")
    attested_on: Mapped[dt.date | None]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    attachments: Mapped[list[DossierAttachment]] = relationship(
        back_populates="dossier", cascade="all, delete-orphan", order_by="DossierAttachment.id")


class DossierAttachment(Base):
    """A file of a dossier (a PDF or an image), kept outside the web root under its SHA-256
    (``storage_key``); served only to the registration's institution, its batch's panel and
    the centre."""

    __tablename__ = "dossier_attachment"
    __table_args__ = (
        CheckConstraint(_in("section", ATTACHMENT_SECTIONS), name="section_known"),
        CheckConstraint("size > 0", name="size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("performance_dossier.id", ondelete="CASCADE"), index=True)
    section: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))  # as uploaded, control characters removed
    mime: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    dossier: Mapped[PerformanceDossier] = relationship(back_populates="attachments")


class PanelScore(Base):
    """One panel member's score (0–100, one decimal) of one registration's 工作业绩评审 or
    综合评审, with the sub-item scores when the centre configured sub-items. Each member scores
    alone; the others' scores are shown only once every member has scored."""

    __tablename__ = "panel_score"
    __table_args__ = (
        CheckConstraint(_in("component", PANEL_COMPONENTS), name="component_known"),
        CheckConstraint("score >= 0 AND score <= 100", name="score_range"),
        UniqueConstraint("registration_id", "component", "member_id", name="uq_panel_score_member"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("batch_candidate.id", ondelete="CASCADE"), index=True)
    component: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    score: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    sub_scores: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [[name, max, score], ...]
    comment: Mapped[str] = mapped_column(Text, default="")
    scored_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    member: Mapped[User] = relationship(lazy="joined")


class PanelMinutes(Base):
    """The chair's minutes (评审记录) of one registration's panel review: when, where, how
    long (a 综合评审 defence at least the configured minutes), what was asked and concluded.
    ``result_id`` is the component result written when the chair confirmed the review
    (the mean of the members' scores); after that nothing of this review changes."""

    __tablename__ = "panel_minutes"
    __table_args__ = (
        CheckConstraint(_in("component", PANEL_COMPONENTS), name="component_known"),
        CheckConstraint("duration_minutes > 0 AND duration_minutes <= 600", name="duration_range"),
        UniqueConstraint("registration_id", "component", name="uq_panel_minutes_review"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("batch_candidate.id", ondelete="CASCADE"), index=True)
    component: Mapped[str] = mapped_column(String(16))
    held_on: Mapped[dt.date]
    place: Mapped[str] = mapped_column(String(255), info=name_info("评审地点"))
    duration_minutes: Mapped[int]
    record: Mapped[str] = mapped_column(Text)
    chair_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finalised_at: Mapped[dt.datetime | None]
    result_id: Mapped[int | None] = mapped_column(ForeignKey("component_result.id", ondelete="SET NULL"))

    chair: Mapped[User] = relationship(lazy="joined", foreign_keys=[chair_id])


# ---------------------------------------------------------------- competitions (竞赛选拔)
#
# Issue 13 point 6: filed competitions, their results and the recognition rules; the service
# and the engine's inputs are in grading.results.competitions.

#: Competition classes (竞赛类别) as the recognition rules name them.
COMPETITION_CLASSES = ("国家级一类", "国家级二类", "省级一类", "省级二类", "市级一类", "市级二类")
#: Contestant types (选手类型).
CONTESTANT_TYPES = ("职工", "学生", "教师")
#: Awards (奖项) a result or a rule may name.
AWARDS = ("金牌", "银牌", "铜牌", "优胜奖", "一等奖", "二等奖", "三等奖")


class Competition(Base):
    """A vocational skills competition (职业技能竞赛) of one occupation, entered by the centre.
    Only a filed (备案) competition's results count for a level."""

    __tablename__ = "competition"
    __table_args__ = (
        CheckConstraint(_in("competition_class", COMPETITION_CLASSES), name="class_known"),
        CheckConstraint("ends_on >= starts_on", name="dates_ordered"),
        UniqueConstraint("name", name="uq_competition_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), info=name_info("竞赛名称"))
    competition_class: Mapped[str] = mapped_column(String(16))
    organiser: Mapped[str] = mapped_column(String(128), info=name_info("主办单位"))
    occupation_id: Mapped[int] = mapped_column(ForeignKey("occupation.id"), index=True)
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]
    filed: Mapped[bool] = mapped_column(default=False)
    filing_no: Mapped[str] = mapped_column(String(64), default="", info=name_info("备案编号"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    occupation: Mapped[Occupation] = relationship(lazy="joined")


class CompetitionEntry(Base):
    """One person's result in a competition (竞赛成绩): rank, award or top percentage (at least
    one), and the contestant type. ``name`` is the name as listed by the organiser."""

    __tablename__ = "competition_result"
    __table_args__ = (
        CheckConstraint(_in("contestant_type", CONTESTANT_TYPES), name="contestant_type_known"),
        CheckConstraint("rank IS NULL OR rank >= 1", name="rank_positive"),
        CheckConstraint("top_percent IS NULL OR (top_percent > 0 AND top_percent <= 100)", name="top_percent_range"),
        CheckConstraint("rank IS NOT NULL OR award IS NOT NULL OR top_percent IS NOT NULL", name="has_criterion"),
        UniqueConstraint("competition_id", "person_id", name="uq_competition_result_person"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competition.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    rank: Mapped[int | None]
    award: Mapped[str | None] = mapped_column(String(16))
    top_percent: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    contestant_type: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    competition: Mapped[Competition] = relationship(lazy="joined")
    person: Mapped[Person] = relationship(lazy="joined")


class CompetitionRule(Base):
    """A recognition rule (竞赛认定规则), edited by the centre: a result of this class that
    meets exactly one criterion (rank within ``max_rank``, the ``award``, or within
    ``top_percent``), of this contestant type (NULL: any) by a person holding
    ``current_level`` (NULL: any) confers ``conferred_level``."""

    __tablename__ = "recognition_rule"
    __table_args__ = (
        CheckConstraint(_in("competition_class", COMPETITION_CLASSES), name="class_known"),
        CheckConstraint("contestant_type IS NULL OR " + _in("contestant_type", CONTESTANT_TYPES),
                        name="contestant_type_known"),
        CheckConstraint("conferred_level BETWEEN 1 AND 5", name="conferred_level_range"),
        CheckConstraint("current_level IS NULL OR current_level BETWEEN 1 AND 5", name="current_level_range"),
        CheckConstraint("(CASE WHEN max_rank IS NULL THEN 0 ELSE 1 END) + (CASE WHEN award IS NULL THEN 0 ELSE 1 END)"
                        " + (CASE WHEN top_percent IS NULL THEN 0 ELSE 1 END) = 1", name="one_criterion"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_class: Mapped[str] = mapped_column(String(16))
    contestant_type: Mapped[str | None] = mapped_column(String(8))
    current_level: Mapped[int | None]
    max_rank: Mapped[int | None]
    award: Mapped[str | None] = mapped_column(String(16))
    top_percent: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    conferred_level: Mapped[int]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

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
