"""Item bank models (题库): blueprints (鉴定要素细目表), items and their immutable versions,
review events, enemy sets, images, and papers (试卷) whose forms pin item versions."""

from __future__ import annotations

import datetime as dt
import enum
import json
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from foundation.accounts import User
from foundation.db import Base, utcnow
from foundation.levels import level_name
from foundation.names import name_info
from foundation.occupations import Occupation, WorkType


class Importance(enum.StrEnum):
    """鉴定点重要程度: X core, Y general, Z auxiliary."""

    X = "X"
    Y = "Y"
    Z = "Z"


IMPORTANCE_LABELS = {"X": "核心要素", "Y": "一般要素", "Z": "辅助要素"}


class BlueprintMode(enum.StrEnum):
    THEORY = "theory"
    SKILL = "skill"


MODE_LABELS = {"theory": "理论知识", "skill": "操作技能"}


class Blueprint(Base):
    """鉴定要素细目表: one per (occupation/工种, level, mode)."""

    __tablename__ = "blueprint"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),
        CheckConstraint("mode IN ('theory', 'skill')", name="mode_known"),
        UniqueConstraint("occupation_id", "work_type_id", "level", "mode", name="uq_blueprint_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occupation_id: Mapped[int] = mapped_column(ForeignKey("occupation.id"), index=True)
    work_type_id: Mapped[int | None] = mapped_column(ForeignKey("work_type.id"))
    level: Mapped[int]
    mode: Mapped[str] = mapped_column(String(16), default=BlueprintMode.THEORY.value)
    name: Mapped[str] = mapped_column(String(128), info=name_info("细目表名称"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    occupation: Mapped[Occupation] = relationship(lazy="joined")
    work_type: Mapped[WorkType | None] = relationship(lazy="joined")
    nodes: Mapped[list[BlueprintNode]] = relationship(
        back_populates="blueprint", cascade="all, delete-orphan", order_by="BlueprintNode.position"
    )

    @property
    def points(self) -> list[BlueprintNode]:
        return [n for n in self.nodes if n.is_point]

    @property
    def target_label(self) -> str:
        wt = f" / {self.work_type.name}" if self.work_type else ""
        return f"{self.occupation.name}{wt} · {level_name(self.level)} · {MODE_LABELS[self.mode]}"


class BlueprintNode(Base):
    """A 鉴定范围 (range) or, at the leaves, a 鉴定点 (assessment point)."""

    __tablename__ = "blueprint_node"
    __table_args__ = (
        UniqueConstraint("blueprint_id", "code", name="uq_blueprint_node_code"),
        CheckConstraint("importance IS NULL OR importance IN ('X', 'Y', 'Z')", name="importance_known"),
        CheckConstraint("weight >= 0 AND weight <= 100", name="weight_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("blueprint.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("blueprint_node.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), info=name_info("鉴定范围或鉴定点名称"))
    is_point: Mapped[bool] = mapped_column(Boolean, default=False)
    importance: Mapped[str | None] = mapped_column(String(1))
    weight: Mapped[float] = mapped_column(Numeric(6, 2, asdecimal=False), default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)

    blueprint: Mapped[Blueprint] = relationship(back_populates="nodes")
    parent: Mapped[BlueprintNode | None] = relationship(remote_side="BlueprintNode.id")

    @property
    def depth(self) -> int:
        return self.code.count("-") + 1


class ItemStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    ACTIVE = "active"
    RETIRED = "retired"
    RETURNED = "returned"

    @property
    def label(self) -> str:
        return ITEM_STATUS_LABELS[self]


ITEM_STATUS_LABELS = {
    ItemStatus.DRAFT: "草稿",
    ItemStatus.SUBMITTED: "待审题",
    ItemStatus.REVIEWED: "待终审",
    ItemStatus.APPROVED: "已终审",
    ItemStatus.ACTIVE: "已启用",
    ItemStatus.RETIRED: "已停用",
    ItemStatus.RETURNED: "退回修改",
}

_ITEM_STATUSES = ", ".join(f"'{s.value}'" for s in ItemStatus)


class Item(Base):
    """A test item (试题). Its content lives in immutable :class:`ItemVersion` rows."""

    __tablename__ = "item"
    __table_args__ = (
        CheckConstraint(f"status IN ({_ITEM_STATUSES})", name="status_known"),
        CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # 试题编码, the import key
    point_id: Mapped[int] = mapped_column(ForeignKey("blueprint_node.id"), index=True)
    level: Mapped[int]
    item_type: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), default=ItemStatus.DRAFT.value, index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("item_version.id", use_alter=True, name="fk_item_current_version_id_item_version")
    )
    is_pretest: Mapped[bool] = mapped_column(Boolean, default=False)
    # Calibrated parameters (logistic metric, bank scale); NULL until calibrated.
    irt_a: Mapped[float | None] = mapped_column(Float)
    irt_b: Mapped[float | None] = mapped_column(Float)
    irt_c: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    point: Mapped[BlueprintNode] = relationship(lazy="joined")
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    current_version: Mapped[ItemVersion | None] = relationship(foreign_keys=[current_version_id], post_update=True)
    versions: Mapped[list[ItemVersion]] = relationship(
        back_populates="item", foreign_keys="ItemVersion.item_id", order_by="ItemVersion.number"
    )
    events: Mapped[list[ItemEvent]] = relationship(back_populates="item", order_by="ItemEvent.id")

    @property
    def status_label(self) -> str:
        return ItemStatus(self.status).label


class ItemVersion(Base):
    """One immutable version of an item's content. Papers and attempts pin a version."""

    __tablename__ = "item_version"
    __table_args__ = (
        UniqueConstraint("item_id", "number", name="uq_item_version_number"),
        CheckConstraint("difficulty IS NULL OR (difficulty > 0 AND difficulty < 1)", name="difficulty_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer, default=1)
    stem_html: Mapped[str] = mapped_column(Text)
    spec_json: Mapped[str] = mapped_column(Text)  # the item type's spec: options, key, blanks, ...
    explanation_html: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(255), default="")
    # A-priori difficulty as the expected proportion correct (难度系数), 0–1 exclusive.
    difficulty: Mapped[float | None] = mapped_column(Float)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    change_note: Mapped[str] = mapped_column(Text, default="")
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)  # set once submitted: never edited again
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    item: Mapped[Item] = relationship(back_populates="versions", foreign_keys=[item_id])
    author: Mapped[User] = relationship()

    @property
    def spec(self) -> dict[str, Any]:
        return json.loads(self.spec_json)  # type: ignore[no-any-return]


class ItemBand(Base):
    """The LSH band keys of an item's current stem (:mod:`itembank.stem_index`): one row per
    band, replaced whenever the current version's stem changes, so a near-duplicate query
    reads candidates by ``(band, key)`` instead of loading every stem of the bank."""

    __tablename__ = "item_band"
    __table_args__ = (Index("ix_item_band_key", "key", "band"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), primary_key=True)
    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    key: Mapped[int] = mapped_column(BigInteger)  # the band's 64-bit key as a signed integer


class ItemEvent(Base):
    """Workflow history of an item: who submitted, reviewed, returned, approved, and why."""

    __tablename__ = "item_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("item_version.id"))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    item: Mapped[Item] = relationship(back_populates="events")
    actor: Mapped[User] = relationship()


class EnemySet(Base):
    """Items that must never appear together in one form (互斥题组), e.g. one gives away another."""

    __tablename__ = "enemy_set"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), default="", info=name_info("互斥组名称"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    members: Mapped[list[EnemyMember]] = relationship(back_populates="enemy_set", cascade="all, delete-orphan")


class EnemyMember(Base):
    __tablename__ = "enemy_member"
    __table_args__ = (UniqueConstraint("enemy_set_id", "item_id", name="uq_enemy_member_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enemy_set_id: Mapped[int] = mapped_column(ForeignKey("enemy_set.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)

    enemy_set: Mapped[EnemySet] = relationship(back_populates="members")


class ItemImage(Base):
    """An uploaded image referenced from item HTML as /itembank/images/<id>.<ext>."""

    __tablename__ = "item_image"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    mime: Mapped[str] = mapped_column(String(32))
    width: Mapped[int]
    height: Mapped[int]
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PaperStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    LOCKED = "locked"
    RETURNED = "returned"

    @property
    def label(self) -> str:
        return PAPER_STATUS_LABELS[self]


PAPER_STATUS_LABELS = {
    PaperStatus.DRAFT: "草稿",
    PaperStatus.SUBMITTED: "待审核",
    PaperStatus.LOCKED: "已审核锁定",
    PaperStatus.RETURNED: "退回修改",
}


class Paper(Base):
    """A paper (试卷) of one institution, with one or more parallel forms; locked once approved."""

    __tablename__ = "paper"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'submitted', 'locked', 'returned')", name="status_known"),
        CheckConstraint("mode IN ('blueprint', 'type_counts', 'fixed')", name="mode_known"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), info=name_info("试卷名称"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("blueprint.id"), index=True)
    mode: Mapped[str] = mapped_column(String(16))
    layout_json: Mapped[str] = mapped_column(Text)  # sections: [{"type": "single", "count": 160, "points": 0.5}]
    duration_minutes: Mapped[int] = mapped_column(Integer, default=120)
    cut_theta: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(16), default=PaperStatus.DRAFT.value, index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    locked_at: Mapped[dt.datetime | None]
    assembly_report_json: Mapped[str] = mapped_column(Text, default="{}")
    #: Scores are out of 100 (百分制): a paper whose full marks are not 100 declares that its
    #: scores are scaled to 100; checked when it is submitted and locked.
    scale_to_100: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    blueprint: Mapped[Blueprint] = relationship(lazy="joined")
    forms: Mapped[list[PaperForm]] = relationship(
        back_populates="paper", cascade="all, delete-orphan", order_by="PaperForm.label"
    )
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])

    @property
    def layout(self) -> list[dict[str, Any]]:
        return json.loads(self.layout_json)  # type: ignore[no-any-return]

    @property
    def total_points(self) -> float:
        return float(sum(s["count"] * s["points"] for s in self.layout))

    @property
    def score_factor(self) -> float:
        """What a raw score is multiplied by to be out of 100 (1 unless scaled)."""
        total = self.total_points
        return 100.0 / total if self.scale_to_100 and total > 0 else 1.0

    @property
    def status_label(self) -> str:
        return PaperStatus(self.status).label


class PaperForm(Base):
    """One parallel form (卷 A, B, ...) of a paper."""

    __tablename__ = "paper_form"
    __table_args__ = (UniqueConstraint("paper_id", "label", name="uq_paper_form_label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("paper.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(4))

    paper: Mapped[Paper] = relationship(back_populates="forms")
    items: Mapped[list[PaperItem]] = relationship(
        back_populates="form", cascade="all, delete-orphan", order_by="PaperItem.position"
    )


class PaperItem(Base):
    """An item in a form, pinned to the exact version shown (组卷时的版本)."""

    __tablename__ = "paper_item"
    __table_args__ = (
        UniqueConstraint("form_id", "position", name="uq_paper_item_position"),
        UniqueConstraint("form_id", "item_id", name="uq_paper_item_item"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("paper_form.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"), index=True)
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_version.id"))
    points: Mapped[float] = mapped_column(Numeric(6, 2, asdecimal=False))

    form: Mapped[PaperForm] = relationship(back_populates="items")
    item: Mapped[Item] = relationship()
    version: Mapped[ItemVersion] = relationship()


class BankAssignment(Base):
    """Where an item reviewer or a question writer works in the bank (审题/命题范围).

    A reviewer sees, reviews, approves and retires only items, blueprints and papers of the
    (occupation, institution) pairs the centre assigned; ``institution_id`` NULL stands for the
    centre's own items (written by centre writers, who belong to no institution), never for
    "every institution". For a writer, a row is the permission to revise other writers' items
    of that occupation within the writer's own institution (granted by its admin)."""

    __tablename__ = "bank_assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    occupation_id: Mapped[int] = mapped_column(ForeignKey("occupation.id"), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    granted_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    occupation: Mapped[Occupation] = relationship(lazy="joined")


class SkillTask(Base):
    """A skill-operation task (技能操作试题) of a skill blueprint, with its documents: the site
    preparation notice (准备通知单), the candidates' preparation notice (考生准备通知单), the
    task sheet (试题/任务书), and the score-sheet template (评分记录表: its criteria, whose
    配分 total exactly 100). Written by question writers; it goes through the papers' workflow
    and states (:class:`PaperStatus`: draft → submitted → locked, or returned) and never
    changes once locked. ``institution_id`` is the writer's institution (NULL for the centre's
    own writers, whose tasks any institution may use)."""

    __tablename__ = "skill_task"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'submitted', 'locked', 'returned')", name="status_known"),
        CheckConstraint("duration_minutes > 0 AND duration_minutes <= 600", name="duration_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), info=name_info("试题名称"))
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("blueprint.id"), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=120)
    prep_notice_html: Mapped[str] = mapped_column(Text, default="")  # 准备通知单（场地、设备、材料）
    candidate_notice_html: Mapped[str] = mapped_column(Text, default="")  # 考生准备通知单
    task_html: Mapped[str] = mapped_column(Text, default="")  # 试题/任务书
    status: Mapped[str] = mapped_column(String(16), default=PaperStatus.DRAFT.value, index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    edited_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))  # the last writer who changed it
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    review_comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    locked_at: Mapped[dt.datetime | None]

    blueprint: Mapped[Blueprint] = relationship(lazy="joined")
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    criteria: Mapped[list[SkillCriterion]] = relationship(
        back_populates="task", cascade="all, delete-orphan", order_by="SkillCriterion.position"
    )

    @property
    def status_label(self) -> str:
        return PaperStatus(self.status).label

    @property
    def total_points(self) -> float:
        return float(sum(c.points for c in self.criteria))


class SkillCriterion(Base):
    """One row of a skill task's score sheet (评分记录表): what is assessed, its points (配分),
    the standard (评分标准) and how points are deducted (扣分说明)."""

    __tablename__ = "skill_criterion"
    __table_args__ = (
        UniqueConstraint("task_id", "position", name="uq_skill_criterion_position"),
        CheckConstraint("points > 0 AND points <= 100", name="points_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("skill_task.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200), info=name_info("评分要素名称"))  # 考核内容/评分要素
    points: Mapped[float] = mapped_column(Numeric(5, 1, asdecimal=False))
    standard: Mapped[str] = mapped_column(Text)
    deductions: Mapped[str] = mapped_column(Text, default="")

    task: Mapped[SkillTask] = relationship(back_populates="criteria")
