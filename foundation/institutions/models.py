"""Institution registry models: the kinds, tiers, filing statuses and scope bases with their
Chinese labels, and the tables ``institution``, ``scope_entry`` and ``filing_step``.

Everything else in :mod:`foundation.institutions` builds on this module; it imports nothing
from its siblings.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from foundation.db import Base, utcnow
from foundation.names import name_info
from foundation.occupations import Occupation, WorkType


class InstitutionKind(enum.StrEnum):
    ENTERPRISE = "enterprise"
    ASSOCIATION = "association"
    SCHOOL = "school"
    SOCIAL_ORG = "social_org"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    InstitutionKind.ENTERPRISE: "企业",
    InstitutionKind.ASSOCIATION: "行业协会",
    InstitutionKind.SCHOOL: "院校",
    InstitutionKind.SOCIAL_ORG: "社会培训评价组织（人社部备案）",
}

# Tier values by kind; the caps per (kind, tier) are the configurable rule "scope_caps".
TIER_LABELS: dict[str, dict[str, str]] = {
    "enterprise": {"enterprise": "企业（按自主评价范围）"},
    "association": {"county": "县级", "city": "市级", "provincial": "省级"},
    "school": {
        "technical_school": "技工学校",
        "senior_technical_school": "高级技工学校",
        "technician_college": "技师学院",
        "university": "高等学校",
        "private_training_school": "民办培训学校",
    },
    "social_org": {"ministry": "人社部备案"},
}


class FilingStatus(enum.StrEnum):
    APPLIED = "applied"
    LOCAL_REVIEW = "local_review"
    EXPERT_ASSESSMENT = "expert_assessment"
    FILED = "filed"
    SUSPENDED = "suspended"
    EXITED = "exited"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    FilingStatus.APPLIED: "已申报",
    FilingStatus.LOCAL_REVIEW: "初审中",
    FilingStatus.EXPERT_ASSESSMENT: "专家评估中",
    FilingStatus.FILED: "已备案",
    FilingStatus.SUSPENDED: "已暂停",
    FilingStatus.EXITED: "已退出",
    FilingStatus.REJECTED: "不予备案",
}


class ScopeBasis(enum.StrEnum):
    """What a scope row means: the filed scope itself, or the ground that caps it."""

    FILED = "filed"  # 备案评价范围
    SELF_EVALUATION = "self_evaluation"  # an enterprise's own 自主评价 scope
    MAIN_MAJOR = "main_major"  # a school's 主体专业


class Institution(Base):
    """A third-party evaluation institution (第三方评价机构)."""

    __tablename__ = "institution"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('enterprise', 'association', 'school', 'social_org')", name="kind_known"
        ),
        CheckConstraint("status <> 'filed' OR code IS NOT NULL", name="filed_has_code"),
        CheckConstraint("code IS NULL OR length(code) = 13", name="code_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True, info=name_info("机构名称"))
    kind: Mapped[str] = mapped_column(String(32))
    tier: Mapped[str] = mapped_column(String(32))
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    legal_representative: Mapped[str | None] = mapped_column(String(64), info=name_info("法定代表人"))
    address: Mapped[str | None] = mapped_column(String(255), info=name_info("地址"))
    supervising_body: Mapped[str | None] = mapped_column(String(128), info=name_info("主管部门"))
    contact_name: Mapped[str | None] = mapped_column(String(64), info=name_info("联系人"))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    unit_details: Mapped[str | None] = mapped_column(Text)  # 单位基本情况
    has_self_evaluation: Mapped[bool] = mapped_column(default=False)  # enterprises: 自主评价资格
    ministry_code: Mapped[str] = mapped_column(String(4), default="0000")  # certificate positions 2–5
    serial: Mapped[str | None] = mapped_column(String(6), unique=True)  # positions 8–13, by the province
    code: Mapped[str | None] = mapped_column(String(13), unique=True)  # 评价机构编码, positions 1–13
    status: Mapped[str] = mapped_column(String(32), default=FilingStatus.APPLIED.value, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    filed_at: Mapped[dt.datetime | None]

    scope_entries: Mapped[list[ScopeEntry]] = relationship(
        back_populates="institution", cascade="all, delete-orphan", order_by="ScopeEntry.id"
    )
    filing_steps: Mapped[list[FilingStep]] = relationship(
        back_populates="institution", cascade="all, delete-orphan", order_by="FilingStep.id"
    )

    @property
    def kind_label(self) -> str:
        return InstitutionKind(self.kind).label

    @property
    def tier_label(self) -> str:
        return TIER_LABELS.get(self.kind, {}).get(self.tier, self.tier)

    @property
    def status_label(self) -> str:
        return FilingStatus(self.status).label

    def __repr__(self) -> str:
        return f"<Institution {self.id} {self.name}>"


class ScopeEntry(Base):
    """One (occupation, 工种, lowest level, highest level) of an institution."""

    __tablename__ = "scope_entry"
    __table_args__ = (
        CheckConstraint("lowest_level BETWEEN 1 AND 5", name="lowest_level_range"),
        CheckConstraint("highest_level BETWEEN 1 AND 5", name="highest_level_range"),
        CheckConstraint("highest_level <= lowest_level", name="level_order"),
        CheckConstraint("basis IN ('filed', 'self_evaluation', 'main_major')", name="basis_known"),
        UniqueConstraint("institution_id", "basis", "occupation_id", "work_type_id", name="one_per_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id", ondelete="CASCADE"), index=True)
    basis: Mapped[str] = mapped_column(String(32), default=ScopeBasis.FILED.value)
    occupation_id: Mapped[int] = mapped_column(ForeignKey("occupation.id"))
    work_type_id: Mapped[int | None] = mapped_column(ForeignKey("work_type.id"))
    lowest_level: Mapped[int] = mapped_column(default=5)
    highest_level: Mapped[int] = mapped_column(default=5)

    institution: Mapped[Institution] = relationship(back_populates="scope_entries")
    occupation: Mapped[Occupation] = relationship(lazy="joined")
    work_type: Mapped[WorkType | None] = relationship(lazy="joined")


class FilingStep(Base):
    """One step of the filing workflow: who moved the institution, when and why."""

    __tablename__ = "filing_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_name: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    institution: Mapped[Institution] = relationship(back_populates="filing_steps")


ALL_KINDS = tuple(k.value for k in InstitutionKind)
BASIS_LABELS = {
    ScopeBasis.FILED: "备案评价范围",
    ScopeBasis.SELF_EVALUATION: "自主评价范围",
    ScopeBasis.MAIN_MAJOR: "主体专业（工种）",
}
# Which ground rows each kind may carry besides its filed scope.
GROUND_BASIS = {
    InstitutionKind.ENTERPRISE.value: ScopeBasis.SELF_EVALUATION.value,
    InstitutionKind.SCHOOL.value: ScopeBasis.MAIN_MAJOR.value,
}

# Statuses in which an institution has been filed at least once and still exists in the registry.
ONCE_FILED = (FilingStatus.FILED.value, FilingStatus.SUSPENDED.value)
CLOSED = (FilingStatus.EXITED.value, FilingStatus.REJECTED.value)


# ---------------------------------------------------------------- labels


def type_label(kind: str, tier: str) -> str:
    """Kind and tier in one phrase, as used in cap messages: 「市级行业协会」, 「技师学院」."""
    tier_text = TIER_LABELS.get(kind, {}).get(tier, tier)
    if kind == InstitutionKind.ASSOCIATION:
        return f"{tier_text}行业协会"
    if kind == InstitutionKind.SCHOOL:
        return tier_text
    if kind == InstitutionKind.ENTERPRISE:
        return "企业"
    if kind == InstitutionKind.SOCIAL_ORG:
        return "社会培训评价组织（人社部备案）"
    return f"{kind}:{tier}"


def kind_tier_choices() -> list[tuple[str, str]]:
    """Every valid (kind, tier) as ``"kind:tier"`` with a readable label, for one select."""
    return [
        (f"{kind}:{tier}", f"{InstitutionKind(kind).label} · {label}")
        for kind, tiers in TIER_LABELS.items()
        for tier, label in tiers.items()
    ]
