"""Institution registry (评价机构备案): types and tiers, scopes, the filing workflow and the
13-character institution code (positions 1–13 of a certificate number).
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, Select, String, Text, UniqueConstraint, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from foundation.db import Base, utcnow
from foundation.occupations import Occupation, WorkType, require_evaluable

if TYPE_CHECKING:
    from foundation.accounts import User


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
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    tier: Mapped[str] = mapped_column(String(32))
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    legal_representative: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(255))
    supervising_body: Mapped[str | None] = mapped_column(String(128))  # 主管部门
    contact_name: Mapped[str | None] = mapped_column(String(64))
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


# ================================================================ services
#
# Every service takes the session and the acting user, validates everything before it writes,
# flushes but never commits, and appends one audit entry. Only the centre admin (省职业技能鉴定
# 中心) runs the registry. ``actor=None`` means the system itself and is accepted only by
# :func:`register_application`, :func:`advance_filing` and :func:`add_scope_entry`, for seeding
# demonstration or reference data from the CLI; the web layer always passes the logged-in user.

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

# The filing workflow. Anything not listed is refused.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    FilingStatus.APPLIED: (FilingStatus.LOCAL_REVIEW,),
    FilingStatus.LOCAL_REVIEW: (FilingStatus.EXPERT_ASSESSMENT, FilingStatus.REJECTED),
    FilingStatus.EXPERT_ASSESSMENT: (FilingStatus.FILED, FilingStatus.REJECTED),
    FilingStatus.FILED: (FilingStatus.SUSPENDED, FilingStatus.EXITED),
    FilingStatus.SUSPENDED: (FilingStatus.FILED, FilingStatus.EXITED),
    FilingStatus.EXITED: (),
    FilingStatus.REJECTED: (),
}
# Statuses in which an institution has been filed at least once and still exists in the registry.
ONCE_FILED = (FilingStatus.FILED.value, FilingStatus.SUSPENDED.value)
CLOSED = (FilingStatus.EXITED.value, FilingStatus.REJECTED.value)

# Valid province-level codes of GB/T 2260 (certificate positions 6–7).
PROVINCE_CODES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
     "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
     "71", "81", "82"}
)

# GB 32100-2015 统一社会信用代码: 31 characters (no I, O, Z, S, V), weights 3^i mod 31.
CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))


def _actor_name(actor: User | None) -> str:
    return actor.name if actor is not None else "系统"


def _require_centre(actor: User | None, *, system_allowed: bool = False) -> None:
    from foundation.accounts import require_role
    from foundation.errors import PermissionDenied
    from foundation.roles import Role

    if actor is None:
        if not system_allowed:
            raise PermissionDenied("该操作必须由省职业技能鉴定中心管理员执行。")
        return
    require_role(actor, Role.CENTRE_ADMIN)


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


def transition_label(from_status: str, to_status: str) -> str:
    """The button text for one workflow step."""
    if to_status == FilingStatus.LOCAL_REVIEW:
        return "受理，进入初审"
    if to_status == FilingStatus.EXPERT_ASSESSMENT:
        return "初审通过，进入专家评估"
    if to_status == FilingStatus.FILED:
        return "恢复（解除暂停）" if from_status == FilingStatus.SUSPENDED else "准予备案"
    if to_status == FilingStatus.REJECTED:
        return "不予备案"
    if to_status == FilingStatus.SUSPENDED:
        return "暂停"
    if to_status == FilingStatus.EXITED:
        return "退出"
    return STATUS_LABELS.get(FilingStatus(to_status), to_status)


def reason_required(from_status: str, to_status: str) -> bool:
    """Refusals, suspensions, exits and reinstatements must say why."""
    return to_status in (FilingStatus.REJECTED, FilingStatus.SUSPENDED, FilingStatus.EXITED) or (
        from_status == FilingStatus.SUSPENDED and to_status == FilingStatus.FILED
    )


def allowed_transitions(institution: Institution) -> list[str]:
    return list(TRANSITIONS.get(institution.status, ()))


def describe_scope(occupation: Occupation, work_type: WorkType | None, lowest: int, highest: int) -> str:
    """「电工（五级/初级工 至 三级/高级工）」, with 「 / 工种」 when the entry names one."""
    from foundation.levels import level_range_name

    target = occupation.name + (f" / {work_type.name}" if work_type is not None else "")
    return f"{target}（{level_range_name(lowest, highest)}）"


def scope_entry_label(entry: ScopeEntry) -> str:
    return describe_scope(entry.occupation, entry.work_type, entry.lowest_level, entry.highest_level)


def scope_by_basis(institution: Institution) -> dict[str, list[ScopeEntry]]:
    grouped: dict[str, list[ScopeEntry]] = {b.value: [] for b in ScopeBasis}
    for entry in institution.scope_entries:
        grouped.setdefault(entry.basis, []).append(entry)
    return grouped


# ---------------------------------------------------------------- pure checks


def credit_code_check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters of a credit code."""
    total = sum(CREDIT_CODE_CHARSET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def normalise_credit_code(value: str) -> str:
    return value.strip().upper()


def credit_code_problem(value: str) -> str | None:
    """None when ``value`` is a valid 统一社会信用代码, else the reason in Chinese."""
    code = normalise_credit_code(value)
    if len(code) != 18:
        return "统一社会信用代码应为 18 位。"
    bad = sorted({c for c in code if c not in CREDIT_CODE_CHARSET})
    if bad:
        return f"统一社会信用代码只能由数字和大写字母组成（不含 I、O、Z、S、V），不能包含「{''.join(bad)}」。"
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        return f"统一社会信用代码校验位错误：第 18 位应为 {expected}，请核对。"
    return None


def institution_code(kind: str, ministry_code: str, province_code: str, serial: str) -> str:
    """The 13-character 评价机构编码 (certificate number positions 1–13).

    Position 1 is 'Y' for employer institutions (enterprises) and 'S' for every other kind
    (social training-evaluation organisations); 2–5 the ministry code, '0000' unless the
    institution was filed with the ministry; 6–7 the province code; 8–13 the province serial.
    """
    from foundation.errors import ValidationError

    if kind not in ALL_KINDS:
        raise ValidationError(f"未知的机构类型：{kind}")
    if not re.fullmatch(r"\d{4}", ministry_code or ""):
        raise ValidationError("部备案编码（证书编码第 2–5 位）应为 4 位数字。")
    if kind == InstitutionKind.SOCIAL_ORG and ministry_code == "0000":
        raise ValidationError("人社部备案的社会培训评价组织须填写人社部分配的 4 位编码，不能为 0000。")
    if kind != InstitutionKind.SOCIAL_ORG and ministry_code != "0000":
        raise ValidationError("在本省备案的机构，证书编码第 2–5 位应为 0000。")
    if province_code not in PROVINCE_CODES:
        raise ValidationError("省份代码（证书编码第 6–7 位）应为有效的 2 位省级行政区划代码，如吉林 22。")
    if not re.fullmatch(r"\d{6}", serial or "") or serial == "000000":
        raise ValidationError("机构序号（证书编码第 8–13 位）应为 6 位数字，且不能为 000000。")
    letter = "Y" if kind == InstitutionKind.ENTERPRISE else "S"
    return f"{letter}{ministry_code}{province_code}{serial}"


# ---------------------------------------------------------------- configurable rules


def scope_caps(session: Session) -> dict[str, int]:
    """Highest level (smallest number) by ``"kind:tier"``; a missing key means no tier cap."""
    from foundation.settings import get_rule

    raw = get_rule(session, "scope_caps") or {}
    return {str(k): int(v) for k, v in raw.items() if v is not None}


def filing_windows(session: Session) -> list[tuple[int, int, int]]:
    from foundation.settings import get_rule

    return sorted((int(m), int(a), int(b)) for m, a, b in get_rule(session, "filing_windows"))


def province_code(session: Session) -> str:
    from foundation.settings import get_rule

    return str(get_rule(session, "province_code"))


def _window_dates(year: int, month: int, first: int, last: int) -> tuple[dt.date, dt.date]:
    # A window configured as 29–31 February still means "the end of February".
    days = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(first, days)), dt.date(year, month, min(last, days))


def describe_windows(windows: list[tuple[int, int, int]]) -> str:
    return "、".join(f"{m}月{a}日至{b}日" for m, a, b in windows) or "（未设置）"


def in_filing_window(session: Session, today: dt.date) -> bool:
    return any(
        start <= today <= end
        for start, end in (_window_dates(today.year, m, a, b) for m, a, b in filing_windows(session))
    )


def next_filing_window(session: Session, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """The current or next window that ends on or after ``today``."""
    candidates = [
        _window_dates(year, m, a, b)
        for year in (today.year, today.year + 1)
        for m, a, b in filing_windows(session)
    ]
    upcoming = sorted(w for w in candidates if w[1] >= today)
    return upcoming[0] if upcoming else None


def _check_filing_window(session: Session, today: dt.date) -> None:
    from foundation.errors import ValidationError

    if in_filing_window(session, today):
        return
    windows = filing_windows(session)
    nxt = next_filing_window(session, today)
    hint = (
        f"下一次受理期为 {nxt[0].year}年{nxt[0].month}月{nxt[0].day}日至{nxt[1].month}月{nxt[1].day}日。"
        if nxt else ""
    )
    raise ValidationError(
        f"{today.year}年{today.month}月{today.day}日不在备案受理期内（每年{describe_windows(windows)}），"
        f"不能登记申报。{hint}"
    )


def update_scope_caps(session: Session, actor: User, caps: dict[str, int | None]) -> dict[str, int]:
    """Replace the rule "scope_caps". Every non-enterprise type needs a cap from 1 to 5; an
    enterprise's cap may be None, meaning its self-evaluation scope is the only limit.
    Entries already filed are not re-checked: a cap governs new scope applications."""
    from foundation.errors import ValidationError
    from foundation.levels import LEVEL_NAMES
    from foundation.settings import set_rule

    _require_centre(actor)
    known = {f"{k}:{t}": (k, t) for k, tiers in TIER_LABELS.items() for t in tiers}
    unknown = sorted(set(caps) - set(known))
    if unknown:
        raise ValidationError(f"未知的机构类型与层级：{'、'.join(unknown)}")
    clean: dict[str, int] = {}
    for key, (kind, tier) in known.items():
        value = caps.get(key)
        if value in (None, ""):
            if kind == InstitutionKind.ENTERPRISE:
                continue
            raise ValidationError(f"请为{type_label(kind, tier)}选择评价等级上限。", field=key)
        try:
            level = int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            level = 0
        if level not in LEVEL_NAMES:
            raise ValidationError(f"{type_label(kind, tier)}的等级上限应为 1 到 5 之间的等级。", field=key)
        clean[key] = level
    set_rule(session, actor, "scope_caps", clean)
    return clean


def update_filing_windows(
    session: Session, actor: User, windows: list[tuple[int, int, int]]
) -> list[tuple[int, int, int]]:
    """Replace the rule "filing_windows": a list of (month, first day, last day), inclusive."""
    from foundation.errors import ValidationError
    from foundation.settings import set_rule

    _require_centre(actor)
    if not windows:
        raise ValidationError("至少需要设置一个备案受理期。")
    clean: list[tuple[int, int, int]] = []
    for i, row in enumerate(windows, start=1):
        try:
            month, first, last = (int(v) for v in row)
        except (TypeError, ValueError):
            raise ValidationError(f"第 {i} 个受理期：月份和日期必须是整数。") from None
        if not 1 <= month <= 12:
            raise ValidationError(f"第 {i} 个受理期：月份应在 1 到 12 之间。")
        days = calendar.monthrange(2024, month)[1]  # a leap year, so 29 February is allowed
        if not (1 <= first <= days and 1 <= last <= days):
            raise ValidationError(f"第 {i} 个受理期：{month}月的日期应在 1 到 {days} 之间。")
        if first > last:
            raise ValidationError(f"第 {i} 个受理期：起始日不能晚于截止日。")
        clean.append((month, first, last))
    clean.sort()
    for (m1, _a1, b1), (m2, a2, _b2) in zip(clean, clean[1:], strict=False):
        if m1 == m2 and a2 <= b1:
            raise ValidationError(f"{m1}月的两个受理期相互重叠，请合并为一个。")
    set_rule(session, actor, "filing_windows", [list(w) for w in clean])
    return clean


def update_province_code(session: Session, actor: User, code: str) -> str:
    """Replace the rule "province_code". Codes already assigned to filed institutions stay."""
    from foundation.errors import ValidationError
    from foundation.settings import set_rule

    _require_centre(actor)
    code = (code or "").strip()
    if not re.fullmatch(r"\d{2}", code):
        raise ValidationError("省份代码应为 2 位数字，如吉林 22。", field="province_code")
    if code not in PROVINCE_CODES:
        raise ValidationError(f"{code} 不是有效的省级行政区划代码（GB/T 2260）。", field="province_code")
    set_rule(session, actor, "province_code", code)
    return code


# ---------------------------------------------------------------- registry queries


def get_institution(session: Session, institution_id: int) -> Institution:
    from foundation.errors import NotFound

    inst = session.get(Institution, institution_id)
    if inst is None:
        raise NotFound("评价机构不存在。")
    return inst


def registry_query(*, search: str = "", status: str = "", kind: str = "") -> Select[tuple[Institution]]:
    """The centre's list: search by name, credit code or institution code; filter status and kind."""
    stmt = select(Institution)
    search = (search or "").strip()
    if search:
        stmt = stmt.where(
            or_(
                Institution.name.icontains(search, autoescape=True),
                Institution.code.icontains(search, autoescape=True),
                Institution.credit_code.icontains(search, autoescape=True),
            )
        )
    if status in {s.value for s in FilingStatus}:
        stmt = stmt.where(Institution.status == status)
    if kind in ALL_KINDS:
        stmt = stmt.where(Institution.kind == kind)
    return stmt.order_by(Institution.created_at.desc(), Institution.id.desc())


def public_institutions_query(search: str | None = None) -> Select[tuple[Institution]]:
    """Institutions the public may see: filed ones only (never applied, suspended, exited or
    rejected). ``search`` matches the name, the institution code, or an occupation name, code
    or 工种 of the filed scope."""
    stmt = select(Institution).where(Institution.status == FilingStatus.FILED.value)
    search = (search or "").strip()
    if search:
        occupation_match = (
            select(ScopeEntry.id)
            .join(Occupation, Occupation.id == ScopeEntry.occupation_id)
            .outerjoin(WorkType, WorkType.id == ScopeEntry.work_type_id)
            .where(
                ScopeEntry.institution_id == Institution.id,
                ScopeEntry.basis == ScopeBasis.FILED.value,
                or_(
                    Occupation.name.icontains(search, autoescape=True),
                    Occupation.code.icontains(search, autoescape=True),
                    WorkType.name.icontains(search, autoescape=True),
                ),
            )
            .exists()
        )
        stmt = stmt.where(
            or_(
                Institution.name.icontains(search, autoescape=True),
                Institution.code.icontains(search, autoescape=True),
                occupation_match,
            )
        )
    return stmt.order_by(Institution.code)


def public_institution(session: Session, institution_id: int) -> Institution:
    """A filed institution for the disclosure page; anything else is "not found"."""
    from foundation.errors import NotFound

    inst = session.get(Institution, institution_id)
    if inst is None or inst.status != FilingStatus.FILED:
        raise NotFound("未找到该已备案评价机构。")
    return inst


# ---------------------------------------------------------------- field validation


def _summary(inst: Institution) -> dict[str, Any]:
    return {
        "name": inst.name,
        "kind": inst.kind,
        "tier": inst.tier,
        "credit_code": inst.credit_code,
        "legal_representative": inst.legal_representative,
        "address": inst.address,
        "supervising_body": inst.supervising_body,
        "contact_name": inst.contact_name,
        "contact_phone": inst.contact_phone,
        "unit_details": inst.unit_details,
        "has_self_evaluation": inst.has_self_evaluation,
        "ministry_code": inst.ministry_code,
        "serial": inst.serial,
        "code": inst.code,
        "status": inst.status,
    }


def _entry_summary(entry: ScopeEntry) -> dict[str, Any]:
    return {
        "scope_entry_id": entry.id,
        "basis": entry.basis,
        "occupation_id": entry.occupation_id,
        "work_type_id": entry.work_type_id,
        "lowest_level": entry.lowest_level,
        "highest_level": entry.highest_level,
        "label": scope_entry_label(entry),
    }


def _text(value: str | None, label: str, max_len: int, field: str, *, required: bool) -> str | None:
    from foundation.errors import ValidationError

    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationError(f"{label}不能为空。", field=field)
        return None
    if len(text) > max_len:
        raise ValidationError(f"{label}不能超过 {max_len} 个字符。", field=field)
    return text


def _phone(value: str | None, *, required: bool) -> str | None:
    from foundation.errors import ValidationError

    text = _text(value, "联系电话", 32, "contact_phone", required=required)
    if text is not None and (
        not re.fullmatch(r"[0-9+()\-—－– ]+", text) or sum(c.isdigit() for c in text) < 7
    ):
        raise ValidationError("联系电话格式不正确，如 0431-88690758 或 13800000000。", field="contact_phone")
    return text


def _check_credit_code(session: Session, value: str | None, existing: Institution | None) -> str:
    from foundation.errors import ValidationError

    if not (value or "").strip():
        raise ValidationError("统一社会信用代码不能为空。", field="credit_code")
    problem = credit_code_problem(value or "")
    if problem:
        raise ValidationError(problem, field="credit_code")
    code = normalise_credit_code(value or "")
    clash = session.scalar(select(Institution).where(Institution.credit_code == code))
    if clash is not None and clash is not existing:
        raise ValidationError(f"统一社会信用代码 {code} 已由「{clash.name}」登记。", field="credit_code")
    return code


def _check_name(session: Session, value: str | None, existing: Institution | None) -> str:
    from foundation.errors import ValidationError

    name = _text(value, "机构名称", 128, "name", required=True) or ""
    clash = session.scalar(select(Institution).where(Institution.name == name))
    if clash is not None and clash is not existing:
        raise ValidationError(f"机构名称「{name}」已被登记。", field="name")
    return name


def _add_step(
    session: Session,
    inst: Institution,
    actor: User | None,
    from_status: str | None,
    to_status: str,
    reason: str,
    at: dt.datetime | None = None,
) -> FilingStep:
    step = FilingStep(
        institution=inst,
        from_status=from_status,
        to_status=to_status,
        actor_id=actor.id if actor is not None else None,
        actor_name=_actor_name(actor),
        reason=reason,
        at=at or utcnow(),
    )
    session.add(step)
    return step


# ---------------------------------------------------------------- registration and details


def register_application(
    session: Session,
    actor: User | None,
    *,
    name: str,
    kind: str,
    tier: str,
    credit_code: str,
    legal_representative: str,
    address: str,
    supervising_body: str | None,
    contact_name: str,
    contact_phone: str,
    unit_details: str | None,
    has_self_evaluation: bool,
    ministry_code: str = "0000",
    today: dt.date,
) -> Institution:
    """Record an application (申报) the centre received: status applied, first FilingStep.

    Refused outside the filing windows (rule "filing_windows"). ``actor`` None is the system
    seeding reference data."""
    from foundation import audit
    from foundation.errors import ValidationError

    _require_centre(actor, system_allowed=True)
    _check_filing_window(session, today)
    if kind not in ALL_KINDS:
        raise ValidationError("请选择有效的机构类型。", field="kind")
    if tier not in TIER_LABELS.get(kind, {}):
        allowed = "、".join(TIER_LABELS[kind].values())
        raise ValidationError(f"{InstitutionKind(kind).label}的层级应为：{allowed}。", field="tier")
    ministry_code = (ministry_code or "").strip()
    if kind == InstitutionKind.SOCIAL_ORG:
        if not re.fullmatch(r"\d{4}", ministry_code) or ministry_code == "0000":
            raise ValidationError(
                "人社部备案的社会培训评价组织须填写人社部分配的 4 位数字编码（不能为 0000）。",
                field="ministry_code",
            )
    elif ministry_code != "0000":
        raise ValidationError("只有人社部备案的社会培训评价组织才有部备案编码；本省备案机构应为 0000。",
                              field="ministry_code")
    if has_self_evaluation and kind != InstitutionKind.ENTERPRISE:
        raise ValidationError("只有企业才登记技能人才自主评价资格。", field="has_self_evaluation")
    clean_name = _check_name(session, name, None)
    clean_code = _check_credit_code(session, credit_code, None)
    fields = {
        "legal_representative": _text(legal_representative, "法定代表人", 64, "legal_representative",
                                      required=True),
        "address": _text(address, "地址", 255, "address", required=True),
        "supervising_body": _text(supervising_body, "主管（监管服务）部门", 128, "supervising_body",
                                  required=False),
        "contact_name": _text(contact_name, "联系人", 64, "contact_name", required=True),
        "contact_phone": _phone(contact_phone, required=True),
        "unit_details": _text(unit_details, "单位基本情况", 4000, "unit_details", required=False),
    }
    inst = Institution(
        name=clean_name,
        kind=kind,
        tier=tier,
        credit_code=clean_code,
        has_self_evaluation=bool(has_self_evaluation),
        ministry_code=ministry_code,
        status=FilingStatus.APPLIED.value,
        **fields,
    )
    session.add(inst)
    _add_step(session, inst, actor, None, FilingStatus.APPLIED.value,
              f"登记申报（{today.year}年{today.month}月{today.day}日收到申报材料）")
    session.flush()
    audit.record(session, actor, "institution.register_application", "institution", inst.id,
                 after=_summary(inst))
    return inst


def update_institution_details(
    session: Session,
    actor: User,
    institution_id: int,
    *,
    name: str | None = None,
    credit_code: str | None = None,
    legal_representative: str | None = None,
    address: str | None = None,
    supervising_body: str | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    unit_details: str | None = None,
    has_self_evaluation: bool | None = None,
) -> Institution:
    """Edit the registered and disclosed details. ``None`` leaves a field unchanged; an empty
    string clears an optional one. Kind and tier are fixed at registration because the scope
    caps depend on them."""
    from foundation import audit
    from foundation.errors import ValidationError

    _require_centre(actor)
    inst = get_institution(session, institution_id)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = _check_name(session, name, inst)
    if credit_code is not None:
        changes["credit_code"] = _check_credit_code(session, credit_code, inst)
    if legal_representative is not None:
        changes["legal_representative"] = _text(legal_representative, "法定代表人", 64,
                                                "legal_representative", required=True)
    if address is not None:
        changes["address"] = _text(address, "地址", 255, "address", required=True)
    if supervising_body is not None:
        changes["supervising_body"] = _text(supervising_body, "主管（监管服务）部门", 128,
                                            "supervising_body", required=False)
    if contact_name is not None:
        changes["contact_name"] = _text(contact_name, "联系人", 64, "contact_name", required=True)
    if contact_phone is not None:
        changes["contact_phone"] = _phone(contact_phone, required=True)
    if unit_details is not None:
        changes["unit_details"] = _text(unit_details, "单位基本情况", 4000, "unit_details", required=False)
    if has_self_evaluation is not None and bool(has_self_evaluation) != inst.has_self_evaluation:
        if inst.kind != InstitutionKind.ENTERPRISE:
            raise ValidationError("只有企业才登记技能人才自主评价资格。", field="has_self_evaluation")
        if not has_self_evaluation and (
            inst.status in ONCE_FILED
            or any(e.basis == ScopeBasis.FILED for e in inst.scope_entries)
        ):
            raise ValidationError(
                "该企业已备案或已登记备案评价范围，不能取消其自主评价资格；如资格被撤销，请办理暂停或退出。",
                field="has_self_evaluation",
            )
        changes["has_self_evaluation"] = bool(has_self_evaluation)
    changes = {k: v for k, v in changes.items() if getattr(inst, k) != v}
    if not changes:
        return inst
    before = _summary(inst)
    old_name = inst.name
    for key, value in changes.items():
        setattr(inst, key, value)
    if "name" in changes and inst.status in ONCE_FILED:
        # The filed name is printed on certificates, so a rename is part of the filing record.
        _add_step(session, inst, actor, inst.status, inst.status,
                  f"备案信息变更：机构名称由「{old_name}」改为「{inst.name}」")
    session.flush()
    audit.record(session, actor, "institution.update_details", "institution", inst.id,
                 before=before, after=_summary(inst))
    return inst


# ---------------------------------------------------------------- the filing workflow


def _next_serial(session: Session) -> str:
    from foundation.errors import ValidationError

    highest = session.scalar(select(func.max(Institution.serial)))
    number = int(highest) + 1 if highest else 1
    if number > 999_999:
        raise ValidationError("机构序号已用尽，请手工指定未使用的序号。")
    return f"{number:06d}"


def advance_filing(
    session: Session,
    actor: User | None,
    institution_id: int,
    to_status: str,
    reason: str,
    *,
    serial: str | None = None,
    now: dt.datetime | None = None,
) -> Institution:
    """Move an institution one step along the filing workflow and record who, when and why.

    applied -> local_review -> expert_assessment -> filed; local_review or expert_assessment
    -> rejected; filed -> suspended -> filed (reinstatement); filed or suspended -> exited.
    Rejections, suspensions, exits and reinstatements need a reason. On first filing the
    institution gets its 6-digit province serial (``serial`` or the next free one) and its
    13-character institution code; both stay for life. ``actor`` None is the system seeding
    reference data."""
    from foundation import audit
    from foundation.errors import ValidationError

    _require_centre(actor, system_allowed=True)
    inst = get_institution(session, institution_id)
    current = inst.status
    target = (to_status or "").strip()
    if target not in {s.value for s in FilingStatus}:
        raise ValidationError(f"未知的备案状态：{target}")
    current_label = FilingStatus(current).label
    target_label = FilingStatus(target).label
    if target not in TRANSITIONS.get(current, ()):
        allowed = "、".join(FilingStatus(s).label for s in TRANSITIONS.get(current, ()))
        hint = f"当前可办理：{allowed}。" if allowed else "该机构的备案流程已结束。"
        raise ValidationError(f"不能从「{current_label}」直接变更为「{target_label}」。{hint}")
    why = (reason or "").strip()
    if reason_required(current, target) and not why:
        raise ValidationError(f"办理「{transition_label(current, target)}」必须填写原因。", field="reason")
    if len(why) > 2000:
        raise ValidationError("原因不能超过 2000 个字符。", field="reason")
    first_filing = target == FilingStatus.FILED and inst.code is None
    if serial not in (None, "") and not first_filing:
        if inst.serial is None or serial != inst.serial:
            raise ValidationError("只有首次备案时才能指定机构序号；已分配的序号不能更改。", field="serial")
    code = chosen_serial = None
    if target == FilingStatus.FILED:
        if inst.kind == InstitutionKind.ENTERPRISE and not inst.has_self_evaluation:
            raise ValidationError("企业须先取得技能人才自主评价资格，才能备案为第三方评价机构。")
        if not any(e.basis == ScopeBasis.FILED for e in inst.scope_entries):
            raise ValidationError("备案前须至少登记一项备案评价范围（职业、工种与等级）。")
    if first_filing:
        if serial not in (None, ""):
            chosen_serial = str(serial).strip()
            if not re.fullmatch(r"\d{6}", chosen_serial) or chosen_serial == "000000":
                raise ValidationError("机构序号应为 6 位数字，且不能为 000000。", field="serial")
            clash = session.scalar(select(Institution).where(Institution.serial == chosen_serial))
            if clash is not None and clash is not inst:
                raise ValidationError(f"机构序号 {chosen_serial} 已分配给「{clash.name}」。", field="serial")
        else:
            chosen_serial = inst.serial or _next_serial(session)
        code = institution_code(inst.kind, inst.ministry_code, province_code(session), chosen_serial)
        clash = session.scalar(select(Institution).where(Institution.code == code))
        if clash is not None and clash is not inst:
            raise ValidationError(f"评价机构编码 {code} 已分配给「{clash.name}」。")
    before = _summary(inst)
    at = now or utcnow()
    if first_filing:
        inst.serial = chosen_serial
        inst.code = code
        inst.filed_at = at
    inst.status = target
    _add_step(session, inst, actor, current, target, why, at)
    session.flush()
    audit.record(session, actor, "institution.advance_filing", "institution", inst.id,
                 before=before, after={**_summary(inst), "reason": why})
    return inst


# ---------------------------------------------------------------- scope


def _covers(ground: ScopeEntry, occupation_id: int, work_type_id: int | None) -> bool:
    """A ground row without a 工种 covers the whole occupation; with one, only that 工种."""
    return ground.occupation_id == occupation_id and (
        ground.work_type_id is None or ground.work_type_id == work_type_id
    )


def _levels_inside(lowest: int, highest: int, outer_lowest: int, outer_highest: int) -> bool:
    # Levels count downward (5 lowest, 1 highest): inside means numerically between.
    return lowest <= outer_lowest and highest >= outer_highest


def _check_filed_caps(
    session: Session,
    inst: Institution,
    occupation: Occupation,
    work_type: WorkType | None,
    lowest: int,
    highest: int,
) -> None:
    """The caps a filed scope row must respect, by institution kind and tier."""
    from foundation.errors import ValidationError
    from foundation.levels import level_name, level_range_name

    desc = describe_scope(occupation, work_type, lowest, highest)
    wt_id = work_type.id if work_type is not None else None
    require_evaluable(occupation)  # access-type (准入类) and inactive occupations are refused
    if inst.kind == InstitutionKind.ENTERPRISE:
        if not inst.has_self_evaluation:
            raise ValidationError("企业须先取得技能人才自主评价资格，才能申报第三方评价范围。")
        grounds = [e for e in inst.scope_entries
                   if e.basis == ScopeBasis.SELF_EVALUATION and _covers(e, occupation.id, wt_id)]
        if not grounds:
            raise ValidationError(
                f"{desc}不在本企业的自主评价范围内：企业的评价范围须与其自主评价的职业（工种）、等级一致。"
            )
        if not any(_levels_inside(lowest, highest, g.lowest_level, g.highest_level) for g in grounds):
            own = "、".join(level_range_name(g.lowest_level, g.highest_level) for g in grounds)
            raise ValidationError(f"{desc}超出本企业自主评价的等级范围（{own}）。")
    if inst.kind == InstitutionKind.SCHOOL and not any(
        e.basis == ScopeBasis.MAIN_MAJOR and _covers(e, occupation.id, wt_id) for e in inst.scope_entries
    ):
        raise ValidationError(f"{desc}不是本院校的主体专业（工种）：院校只能申报主体专业对应的职业（工种）。")
    caps = scope_caps(session)
    cap = caps.get(f"{inst.kind}:{inst.tier}")
    label = type_label(inst.kind, inst.tier)
    if cap is None:
        if inst.kind == InstitutionKind.ENTERPRISE:
            return  # its self-evaluation scope, checked above, is the cap
        raise ValidationError(f"尚未配置{label}的评价范围等级上限，请先在规则配置中设置。")
    if highest < cap:
        raise ValidationError(f"{label}的评价范围最高为{level_name(cap)}，不能申报{level_name(highest)}。")


def add_scope_entry(
    session: Session,
    actor: User | None,
    institution_id: int,
    *,
    occupation_id: int,
    work_type_id: int | None,
    lowest_level: int,
    highest_level: int,
    basis: str = "filed",
) -> ScopeEntry:
    """Add one (occupation, 工种, lowest, highest) row.

    basis "filed" is the evaluation scope itself and must respect the caps (see
    :func:`_check_filed_caps`); "self_evaluation" (enterprises) and "main_major" (schools) are
    the grounds that cap it. On an institution already filed, the change is the simplified
    re-filing (简易备案变更) and is recorded as a FilingStep as well. ``actor`` None is the
    system seeding reference data."""
    from foundation import audit
    from foundation.errors import ValidationError
    from foundation.levels import check_level_range, level_range_name

    _require_centre(actor, system_allowed=True)
    inst = get_institution(session, institution_id)
    if inst.status in CLOSED:
        raise ValidationError(f"{inst.status_label}的机构不能变更评价范围。")
    if basis not in {b.value for b in ScopeBasis}:
        raise ValidationError("未知的评价范围类别。", field="basis")
    if basis != ScopeBasis.FILED and GROUND_BASIS.get(inst.kind) != basis:
        if basis == ScopeBasis.SELF_EVALUATION:
            raise ValidationError("只有企业才登记自主评价范围。", field="basis")
        raise ValidationError("只有院校才登记主体专业（工种）。", field="basis")
    occupation = session.get(Occupation, occupation_id) if occupation_id else None
    if occupation is None:
        raise ValidationError("请选择有效的职业。", field="occupation_id")
    work_type = None
    if work_type_id:
        work_type = session.get(WorkType, work_type_id)
        if work_type is None:
            raise ValidationError("所选工种不存在。", field="work_type_id")
        if work_type.occupation_id != occupation.id:
            raise ValidationError(f"工种「{work_type.name}」不属于职业「{occupation.name}」。",
                                  field="work_type_id")
    try:
        lowest, highest = int(lowest_level), int(highest_level)
    except (TypeError, ValueError):
        raise ValidationError("请选择有效的等级。", field="lowest_level") from None
    check_level_range(lowest, highest)
    if not _levels_inside(lowest, highest, occupation.lowest_level, occupation.highest_level):
        raise ValidationError(
            f"{occupation.name}的等级范围为{occupation.level_range_label}，"
            f"不能申报{level_range_name(lowest, highest)}。",
            field="highest_level",
        )
    wt_id = work_type.id if work_type is not None else None
    basis_label = BASIS_LABELS[ScopeBasis(basis)]
    for existing in inst.scope_entries:
        same_target = existing.occupation_id == occupation.id and existing.work_type_id == wt_id
        if existing.basis == basis and same_target:
            raise ValidationError(
                f"{basis_label}中已有{scope_entry_label(existing)}，如需调整等级请先删除原条目。"
            )
    if basis == ScopeBasis.FILED:
        _check_filed_caps(session, inst, occupation, work_type, lowest, highest)
    entry = ScopeEntry(
        institution=inst,
        basis=basis,
        occupation=occupation,
        occupation_id=occupation.id,
        work_type=work_type,
        work_type_id=wt_id,
        lowest_level=lowest,
        highest_level=highest,
    )
    session.add(entry)
    if inst.status in ONCE_FILED:
        prefix = "评价范围变更" if basis == ScopeBasis.FILED else f"{basis_label}变更"
        _add_step(session, inst, actor, inst.status, inst.status,
                  f"{prefix}：新增 {describe_scope(occupation, work_type, lowest, highest)}")
    session.flush()
    audit.record(session, actor, "institution.add_scope_entry", "institution", inst.id,
                 after=_entry_summary(entry))
    return entry


def remove_scope_entry(session: Session, actor: User, entry_id: int, reason: str) -> None:
    """Drop one scope row, with a reason. A filed institution keeps at least one filed row, and
    a ground row (self-evaluation scope, main major) cannot go while a filed row relies on it."""
    from foundation import audit
    from foundation.errors import NotFound, ValidationError

    _require_centre(actor)
    entry = session.get(ScopeEntry, entry_id)
    if entry is None:
        raise NotFound("评价范围条目不存在。")
    inst = entry.institution
    why = (reason or "").strip()
    if not why:
        raise ValidationError("删除评价范围必须填写原因。", field="reason")
    if len(why) > 2000:
        raise ValidationError("原因不能超过 2000 个字符。", field="reason")
    if inst.status in CLOSED:
        raise ValidationError(f"{inst.status_label}的机构不能变更评价范围。")
    others = [e for e in inst.scope_entries if e.id != entry.id]
    if entry.basis == ScopeBasis.FILED:
        if inst.status in ONCE_FILED and not any(e.basis == ScopeBasis.FILED for e in others):
            raise ValidationError("已备案机构至少保留一项备案评价范围；如需停止评价，请办理暂停或退出。")
    else:
        for filed in (e for e in others if e.basis == ScopeBasis.FILED):
            still = [g for g in others if g.basis == entry.basis and _covers(g, filed.occupation_id,
                                                                               filed.work_type_id)]
            if entry.basis == ScopeBasis.SELF_EVALUATION:
                still = [g for g in still if _levels_inside(filed.lowest_level, filed.highest_level,
                                                            g.lowest_level, g.highest_level)]
            if not still:
                raise ValidationError(
                    f"不能删除：备案评价范围中的{scope_entry_label(filed)}依赖该"
                    f"{BASIS_LABELS[ScopeBasis(entry.basis)]}，请先删除相应的备案评价范围。"
                )
    before = _entry_summary(entry)
    if inst.status in ONCE_FILED:
        basis_label = BASIS_LABELS[ScopeBasis(entry.basis)]
        prefix = "评价范围变更" if entry.basis == ScopeBasis.FILED else f"{basis_label}变更"
        _add_step(session, inst, actor, inst.status, inst.status,
                  f"{prefix}：删除 {scope_entry_label(entry)}；原因：{why}")
    inst.scope_entries.remove(entry)
    session.delete(entry)
    session.flush()
    audit.record(session, actor, "institution.remove_scope_entry", "institution", inst.id,
                 before=before, after={"reason": why})


def check_in_scope(
    session: Session,
    institution: Institution | int,
    occupation_id: int,
    work_type_id: int | None,
    level: int,
) -> None:
    """Refuse work outside an institution's filed scope. Call it before creating anything an
    institution evaluates or issues: a batch (认定批次), a paper, a certificate.

    Passes silently when all of these hold, and raises
    :class:`foundation.errors.ValidationError` with a Chinese message naming the first that
    fails:

    * the institution is filed (备案) — not applied, under review, suspended, exited or rejected;
    * the occupation exists, is not access-type (准入类) and is active;
    * a scope row of basis "filed" covers it: the same occupation, and either the row names
      no 工种 (the whole occupation) or the same 工种 as ``work_type_id``; a row naming a 工种
      does not cover a request for the whole occupation (``work_type_id`` None);
    * ``level`` (5 = 五级/初级工 … 1 = 一级/高级技师) lies within that row's level range.

    ``institution`` may be the row or its id. Reads only; never writes.
    """
    from foundation.errors import ValidationError
    from foundation.levels import LEVEL_NAMES, level_name

    inst = institution if isinstance(institution, Institution) else get_institution(session, institution)
    if inst.status != FilingStatus.FILED:
        raise ValidationError(f"「{inst.name}」当前状态为{inst.status_label}，不能开展职业技能等级认定。")
    occupation = session.get(Occupation, occupation_id)
    if occupation is None:
        raise ValidationError("职业不存在。")
    require_evaluable(occupation)  # it may have become access-type or inactive since filing
    if level not in LEVEL_NAMES:
        raise ValidationError("等级必须是 1 到 5 之间的整数。")
    work_type = session.get(WorkType, work_type_id) if work_type_id else None
    if work_type_id and (work_type is None or work_type.occupation_id != occupation.id):
        raise ValidationError(f"所选工种不属于职业「{occupation.name}」。")
    target = occupation.name + (f" / {work_type.name}" if work_type is not None else "")
    for entry in inst.scope_entries:
        if (
            entry.basis == ScopeBasis.FILED
            and _covers(entry, occupation.id, work_type_id or None)
            and entry.highest_level <= level <= entry.lowest_level
        ):
            return
    raise ValidationError(f"{target} {level_name(level)}不在「{inst.name}」的备案评价范围内。")


def institution_of(actor: User) -> Institution:
    """An institution admin's own institution (read-only view)."""
    from foundation.accounts import require_role
    from foundation.errors import NotFound
    from foundation.roles import Role

    require_role(actor, Role.INSTITUTION_ADMIN)
    if actor.institution is None:
        raise NotFound("您的账号未关联评价机构。")
    return actor.institution
