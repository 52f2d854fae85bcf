"""The registry's configurable rules (规则配置): the scope caps by kind and tier, the yearly
filing windows (备案受理期) and the province code, with their readers, the window helpers and the
centre admin's validated updates (each audited by ``set_rule``).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from foundation.errors import ValidationError
from foundation.institutions._common import _require_centre
from foundation.institutions.codes import PROVINCE_CODES
from foundation.institutions.models import TIER_LABELS, InstitutionKind, type_label
from foundation.levels import LEVEL_NAMES
from foundation.settings import get_rule, set_rule

if TYPE_CHECKING:
    from foundation.accounts import User


# ---------------------------------------------------------------- configurable rules


def scope_caps(session: Session) -> dict[str, int]:
    """Highest level (smallest number) by ``"kind:tier"``; a missing key means no tier cap."""

    raw = get_rule(session, "scope_caps") or {}
    return {str(k): int(v) for k, v in raw.items() if v is not None}


def filing_windows(session: Session) -> list[tuple[int, int, int]]:
    return sorted((int(m), int(a), int(b)) for m, a, b in get_rule(session, "filing_windows"))


def province_code(session: Session) -> str:
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


def check_filing_window(session: Session, today: dt.date) -> None:
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


def update_scope_caps(session: Session, actor: User, caps: Mapping[str, int | str | None]) -> dict[str, int]:
    """Replace the rule "scope_caps". Every non-enterprise type needs a cap from 1 to 5; an
    enterprise's cap may be None, meaning its self-evaluation scope is the only limit.
    Entries already filed are not re-checked: a cap governs new scope applications."""

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
            level = int(value)
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

    _require_centre(actor)
    code = (code or "").strip()
    if not re.fullmatch(r"\d{2}", code):
        raise ValidationError("省份代码应为 2 位数字，如吉林 22。", field="province_code")
    if code not in PROVINCE_CODES:
        raise ValidationError(f"{code} 不是有效的省级行政区划代码（GB/T 2260）。", field="province_code")
    set_rule(session, actor, "province_code", code)
    return code
