"""Working-day calendar (工作日历): weekends and official holidays are off, make-up working
days (调休) count as working days. The calendar is data the centre edits.

Three layers, each usable on its own:

* :class:`WorkingCalendar` — pure, frozen date arithmetic; no database, no Flask.
* :func:`load_calendar`, :func:`add_working_days`, :func:`working_days_between` — the same
  arithmetic on the calendar stored in the database. Every deadline of the platform
  ("10 个工作日内", "公示 5 个工作日") is computed with these. Each call loads the calendar
  (one small query); code computing many deadlines at once should call ``load_calendar``
  once and use the returned :class:`WorkingCalendar`.
* :func:`set_calendar_day`, :func:`delete_calendar_day` — the centre's edits (validated,
  flushed never committed, audited) and :func:`seed_calendar` — the shipped State Council
  schedules in ``foundation/data/calendar_<year>.json``.

Only days that differ from the Monday–Friday default are stored: a ``holiday`` is always a
Monday–Friday date and a ``workday`` (调休上班) is always a Saturday or Sunday. Weekend days
inside a holiday block are off anyway and need no row.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import json
from collections.abc import Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import CheckConstraint, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from foundation import audit
from foundation.db import Base
from foundation.errors import NotFound, ValidationError
from foundation.names import name_info
from foundation.roles import Role, require_role

if TYPE_CHECKING:
    from foundation.accounts import User

#: The one time zone of the platform's dates and clock times: every date a person sees or a
#: rule counts (exam days, working days, filing deadlines) is a Beijing date.
BEIJING = ZoneInfo("Asia/Shanghai")


def beijing_date(instant: dt.datetime) -> dt.date:
    """The Beijing date of an aware instant (a naive one is taken as UTC, as the database stores it)."""
    aware = instant if instant.tzinfo is not None else instant.replace(tzinfo=dt.UTC)
    return aware.astimezone(BEIJING).date()


HOLIDAY = "holiday"
WORKDAY = "workday"
KINDS = (HOLIDAY, WORKDAY)
KIND_LABELS = {HOLIDAY: "节假日（休息）", WORKDAY: "调休上班"}
WEEKDAY_LABELS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")

# Appended to the name of every entry seeded before the State Council published that year's
# notice; a later official data file may replace such names (see seed_calendar).
PROVISIONAL_MARK = "（暂定，待国务院通知）"

# Dates outside this window are almost certainly typing mistakes (e.g. year 0226).
MIN_YEAR = 2000
MAX_YEAR = 2100


class CalendarDay(Base):
    """A date that differs from the weekday/weekend default: a holiday or a make-up workday."""

    __tablename__ = "calendar_day"
    __table_args__ = (CheckConstraint("kind IN ('holiday', 'workday')", name="kind_known"),)

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64), default="", info=name_info("日期说明"))

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def weekday_label(self) -> str:
        return WEEKDAY_LABELS[self.day.weekday()]


def is_weekend(d: dt.date) -> bool:
    return d.weekday() >= 5


def weekday_label(d: dt.date) -> str:
    return WEEKDAY_LABELS[d.weekday()]


# ---------------------------------------------------------------- pure core


def _plain_weekdays_upto(ordinal: int) -> int:
    """Mondays–Fridays among the ordinals 1..``ordinal`` (ordinal 1, 0001-01-01, is a Monday).

    Closed form: every full week holds five, the remainder starts on a Monday.
    """
    weeks, rest = divmod(ordinal, 7)
    return 5 * weeks + min(rest, 5)


@dataclasses.dataclass(frozen=True)
class WorkingCalendar:
    """Which dates are working days (工作日).

    A date is a working day if it is a make-up workday (调休上班, in ``workdays``), or if it
    is a Monday–Friday that is not an official holiday (in ``holidays``). Everything else —
    Saturdays, Sundays and holidays — is a rest day. A date may not be in both sets.

    A holiday on a weekend or a make-up workday on a weekday changes nothing; the calendar
    accepts them (the arithmetic stays right) so that it can be built from any data.

    All arithmetic is O(log k) in the number k of exceptional dates, via a closed-form count
    of plain weekdays plus binary searches, so spans of any length cost the same.
    """

    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()
    # Ordinals of the dates that actually change the default, sorted for bisect.
    _extra_off: tuple[int, ...] = dataclasses.field(init=False, repr=False, compare=False)
    _extra_on: tuple[int, ...] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        holidays, workdays = frozenset(self.holidays), frozenset(self.workdays)
        clash = holidays & workdays
        if clash:
            raise ValueError(f"dates both holiday and workday: {sorted(clash)}")
        object.__setattr__(self, "holidays", holidays)
        object.__setattr__(self, "workdays", workdays)
        extra_off = sorted(d.toordinal() for d in holidays if not is_weekend(d))
        extra_on = sorted(d.toordinal() for d in workdays if is_weekend(d))
        object.__setattr__(self, "_extra_off", tuple(extra_off))
        object.__setattr__(self, "_extra_on", tuple(extra_on))

    @classmethod
    def from_dates(
        cls, holidays: Iterable[dt.date] = (), workdays: Iterable[dt.date] = ()
    ) -> WorkingCalendar:
        return cls(frozenset(holidays), frozenset(workdays))

    # -- queries

    def is_working_day(self, d: dt.date) -> bool:
        """True for make-up workdays and for Monday–Friday dates that are not holidays."""
        if d in self.workdays:
            return True
        return not is_weekend(d) and d not in self.holidays

    def years(self) -> frozenset[int]:
        """The years for which the calendar holds any exceptional date (i.e. has data)."""
        return frozenset(d.year for d in self.holidays | self.workdays)

    def _count_upto(self, ordinal: int) -> int:
        """Working days among the ordinals 1..``ordinal``; the difference of two such counts
        is the number of working days in a half-open span."""
        return (
            _plain_weekdays_upto(ordinal)
            - bisect.bisect_right(self._extra_off, ordinal)
            + bisect.bisect_right(self._extra_on, ordinal)
        )

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """The number of working days d with ``start < d <= end``.

        ``start`` itself is never counted, ``end`` is. If ``end < start`` the result is the
        negative of ``working_days_between(end, start)``; if they are equal it is 0. So
        ``working_days_between(s, add_working_days(s, n)) == n`` for every n >= 0.

        Example (2026): from Friday 2026-02-13 to Tuesday 2026-02-24 there are 2 working
        days — Saturday 02-14 (调休上班) and 02-24; the Spring Festival 02-15..02-23 is off.
        """
        return self._count_upto(end.toordinal()) - self._count_upto(start.toordinal())

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The date that is the n-th working day after ``start``.

        ``start`` itself is never counted, whether or not it is a working day, so the
        result for n >= 1 is always a working day strictly after ``start``; ``n == 0``
        returns ``start`` unchanged. "Within 10 working days of receipt on day R" is the
        deadline ``add_working_days(R, 10)``, inclusive.

        A negative n counts backwards: the |n|-th working day strictly before ``start``
        ("at least 10 working days before the exam on day E" is ``add_working_days(E, -10)``
        as the latest allowed date).

        Example (2026): from Friday 2026-02-13, n=1 gives Saturday 02-14 (调休上班) and n=2
        gives Tuesday 02-24 (the first day after the Spring Festival).
        """
        if n == 0:
            return start
        s = start.toordinal()
        if n > 0:
            # Smallest ordinal whose running count reaches count(start) + n; that ordinal is
            # necessarily a working day, because the count only grows on working days.
            target = self._count_upto(s) + n
            lo, hi = s, s + 2 * n + 10  # 2n + 10 calendar days hold >= n plain weekdays
            while self._count_upto(hi) < target:  # long holiday runs: widen and retry
                lo, hi = hi, hi + 2 * (hi - s)
        else:
            # The |n|-th working day before start: the smallest ordinal whose count reaches
            # count(start - 1) - |n| + 1.
            target = self._count_upto(s - 1) + n + 1
            lo, hi = s + 2 * n - 10, s - 1
            while self._count_upto(lo) >= target:
                lo, hi = lo - 2 * (s - lo), lo
        # Invariant: count(lo) < target <= count(hi); find the first ordinal reaching target.
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._count_upto(mid) >= target:
                hi = mid
            else:
                lo = mid
        return dt.date.fromordinal(hi)

    def next_working_day(self, d: dt.date) -> dt.date:
        """The first working day strictly after ``d`` (same as ``add_working_days(d, 1)``)."""
        return self.add_working_days(d, 1)

    def working_day_on_or_after(self, d: dt.date) -> dt.date:
        """``d`` if it is a working day, else the next one: rolls a date off a rest day."""
        return d if self.is_working_day(d) else self.next_working_day(d)


# ---------------------------------------------------------------- database-backed arithmetic


def load_calendar(session: Session) -> WorkingCalendar:
    """The calendar as currently stored (a few dozen rows per year, so load them all)."""
    rows = session.execute(select(CalendarDay.day, CalendarDay.kind)).all()
    return WorkingCalendar.from_dates(
        holidays=(day for day, kind in rows if kind == HOLIDAY),
        workdays=(day for day, kind in rows if kind == WORKDAY),
    )


def add_working_days(session: Session, start: dt.date, n: int) -> dt.date:
    """:meth:`WorkingCalendar.add_working_days` on the stored calendar."""
    return load_calendar(session).add_working_days(start, n)


def working_days_between(session: Session, start: dt.date, end: dt.date) -> int:
    """:meth:`WorkingCalendar.working_days_between` on the stored calendar."""
    return load_calendar(session).working_days_between(start, end)


def is_working_day(session: Session, d: dt.date) -> bool:
    return load_calendar(session).is_working_day(d)


def next_working_day(session: Session, d: dt.date) -> dt.date:
    return load_calendar(session).next_working_day(d)


def entries_for_year(session: Session, year: int) -> list[CalendarDay]:
    return list(
        session.scalars(
            select(CalendarDay)
            .where(CalendarDay.day >= dt.date(year, 1, 1), CalendarDay.day <= dt.date(year, 12, 31))
            .order_by(CalendarDay.day)
        )
    )


# ---------------------------------------------------------------- services


def _summary(row: CalendarDay) -> dict[str, Any]:
    return {"day": row.day.isoformat(), "kind": row.kind, "name": row.name}


def entry_problem(day: dt.date, kind: str) -> str | None:
    """Why an entry of ``kind`` on ``day`` would be pointless or invalid, or None."""
    if kind not in KINDS:
        return "类型无效：只能是“节假日（休息）”或“调休上班”。"
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        return f"日期超出范围：只能录入 {MIN_YEAR}–{MAX_YEAR} 年的日期。"
    label = f"{day.isoformat()}（{weekday_label(day)}）"
    if kind == WORKDAY and not is_weekend(day):
        return f"{label}本来就是工作日，无需设为调休上班日；调休上班日只能是星期六或星期日。"
    if kind == HOLIDAY and is_weekend(day):
        return f"{label}本来就是休息日，无需设为节假日；节假日条目只用于星期一至星期五。"
    return None


def set_calendar_day(session: Session, actor: User, day: dt.date, kind: str, name: str) -> CalendarDay:
    """Add or change the entry for ``day`` (centre admin only).

    Refused: a ``workday`` on Monday–Friday and a ``holiday`` on Saturday/Sunday, which
    would change nothing, an unknown kind, and an empty or over-long name.
    """
    require_role(actor, Role.CENTRE_ADMIN)
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise ValidationError("请填写有效的日期。", field="day")
    problem = entry_problem(day, kind)
    if problem:
        raise ValidationError(problem, field="day" if kind in KINDS else "kind")
    name = (name or "").strip()
    if not name:
        raise ValidationError("请填写名称，例如“春节”或“春节调休上班”。", field="name")
    if len(name) > 64:
        raise ValidationError("名称不能超过 64 个字。", field="name")

    row = session.get(CalendarDay, day)
    if row is not None and row.kind == kind and row.name == name:
        return row  # nothing changes, nothing to audit
    before = _summary(row) if row is not None else None
    if row is None:
        row = CalendarDay(day=day, kind=kind, name=name)
        session.add(row)
    else:
        row.kind, row.name = kind, name
    session.flush()
    action = "calendar_day.create" if before is None else "calendar_day.update"
    audit.record(session, actor, action, "calendar_day", day.isoformat(), before=before, after=_summary(row))
    return row


def delete_calendar_day(session: Session, actor: User, day: dt.date) -> None:
    """Remove the entry for ``day``, so that it reverts to the weekday/weekend default."""
    require_role(actor, Role.CENTRE_ADMIN)
    row = session.get(CalendarDay, day)
    if row is None:
        raise NotFound(f"{day.isoformat()} 没有日历条目。")
    before = _summary(row)
    session.delete(row)
    session.flush()
    audit.record(session, actor, "calendar_day.delete", "calendar_day", day.isoformat(), before=before)


# ---------------------------------------------------------------- seed data


@dataclasses.dataclass(frozen=True)
class SeedYear:
    """One shipped data file, ``foundation/data/calendar_<year>.json``."""

    year: int
    source: str
    provisional: bool
    days: tuple[tuple[dt.date, str, str], ...]  # (day, kind, name)


def parse_seed_year(raw: dict[str, Any]) -> SeedYear:
    """Validate one data file's content; a bad file is a developer error (ValueError)."""
    year = int(raw["year"])
    source = str(raw.get("source") or "")
    if not source:
        raise ValueError(f"calendar {year}: 'source' is required")
    provisional = bool(raw.get("provisional", False))
    days: list[tuple[dt.date, str, str]] = []
    seen: set[dt.date] = set()
    for item in raw["days"]:
        day = dt.date.fromisoformat(item["day"])
        kind, name = item["kind"], str(item.get("name") or "").strip()
        if day.year != year:
            raise ValueError(f"calendar {year}: {day} is in another year")
        if day in seen:
            raise ValueError(f"calendar {year}: {day} listed twice")
        problem = entry_problem(day, kind)
        if problem:
            raise ValueError(f"calendar {year}: {problem}")
        if not name or len(name) > 64:
            raise ValueError(f"calendar {year}: {day} needs a name of 1-64 characters")
        if provisional and not name.endswith(PROVISIONAL_MARK):
            raise ValueError(f"calendar {year}: provisional entry {day} must end with {PROVISIONAL_MARK}")
        seen.add(day)
        days.append((day, kind, name))
    return SeedYear(year, source, provisional, tuple(sorted(days)))


def shipped_years() -> dict[int, SeedYear]:
    """Every ``calendar_*.json`` shipped in ``foundation/data``, by year."""
    data = resources.files("foundation").joinpath("data")
    out: dict[int, SeedYear] = {}
    for entry in sorted(data.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("calendar_") and entry.name.endswith(".json"):
            seed = parse_seed_year(json.loads(entry.read_text(encoding="utf-8")))
            out[seed.year] = seed
    return out


# Audit actions by which the centre changes a date; seeding leaves such dates alone.
CENTRE_ACTIONS = ("calendar_day.create", "calendar_day.update", "calendar_day.delete")


def _dates_touched_by_users(session: Session) -> set[dt.date]:
    """Dates the centre has ever created, changed or deleted an entry for (from the audit trail)."""
    ids = session.scalars(
        select(audit.AuditEntry.target_id).where(
            audit.AuditEntry.target_type == "calendar_day", audit.AuditEntry.action.in_(CENTRE_ACTIONS)
        )
    )
    return {dt.date.fromisoformat(i) for i in ids}


def seed_calendar(session: Session, years: Iterable[SeedYear] | None = None) -> int:
    """Insert the shipped schedules; returns the number of rows inserted. Idempotent.

    Never overrides the centre: a date for which the audit trail shows any edit by a user
    (added, changed or deleted) is left exactly as it is — in particular a deleted entry is
    not brought back. A date that already has a row is not overwritten either, with one
    exception: a row seeded as provisional (name ends with :data:`PROVISIONAL_MARK`) and
    never edited since gets the official name once an official (non-provisional) file for
    its year gives the same kind for that date.
    """
    existing = {row.day: row for row in session.scalars(select(CalendarDay))}
    touched = _dates_touched_by_users(session)
    inserted_total = 0
    for seed in years if years is not None else shipped_years().values():
        inserted = renamed = 0
        for day, kind, name in seed.days:
            if day in touched:
                continue
            row = existing.get(day)
            if row is None:
                row = CalendarDay(day=day, kind=kind, name=name)
                session.add(row)
                existing[day] = row
                inserted += 1
            elif (
                not seed.provisional
                and row.name.endswith(PROVISIONAL_MARK)
                and row.kind == kind
                and row.name != name
            ):
                row.name = name
                renamed += 1
        if inserted or renamed:
            session.flush()
            audit.record(
                session, None, "calendar_day.seed", "calendar_day", str(seed.year),
                after={"inserted": inserted, "renamed": renamed, "source": seed.source,
                       "provisional": seed.provisional},
            )
        inserted_total += inserted
    return inserted_total
