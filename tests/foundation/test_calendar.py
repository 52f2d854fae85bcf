"""Working-day calendar: pure arithmetic, stored calendar, services and seed data."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import func, select

from foundation import calendar as wc
from foundation.audit import AuditEntry, verify_chain
from foundation.calendar import (
    PROVISIONAL_MARK,
    CalendarDay,
    WorkingCalendar,
    delete_calendar_day,
    load_calendar,
    parse_seed_year,
    seed_calendar,
    set_calendar_day,
    shipped_years,
)
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.roles import Role
from tests.factories import make_user

D = dt.date


def _days(first: D, last: D) -> list[D]:
    return [first + dt.timedelta(i) for i in range((last - first).days + 1)]


# The 2026 schedule as published by the State Council General Office on 2025-11-04
# (国务院办公厅关于2026年部分节假日安排的通知), written out independently of the data file.
OFF_2026 = (
    _days(D(2026, 1, 1), D(2026, 1, 3))
    + _days(D(2026, 2, 15), D(2026, 2, 23))
    + _days(D(2026, 4, 4), D(2026, 4, 6))
    + _days(D(2026, 5, 1), D(2026, 5, 5))
    + _days(D(2026, 6, 19), D(2026, 6, 21))
    + _days(D(2026, 9, 25), D(2026, 9, 27))
    + _days(D(2026, 10, 1), D(2026, 10, 7))
)
MAKEUP_2026 = [D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10)]
CAL_2026 = WorkingCalendar.from_dates(holidays=OFF_2026, workdays=MAKEUP_2026)


# ---------------------------------------------------------------- pure core


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # n == 0 returns start, even on a rest day
        (D(2026, 2, 13), 0, D(2026, 2, 13)),
        (D(2026, 2, 15), 0, D(2026, 2, 15)),
        # across the 2026 Spring Festival (02-15..02-23 off, Saturdays 02-14 and 02-28 worked)
        (D(2026, 2, 13), 1, D(2026, 2, 14)),
        (D(2026, 2, 13), 2, D(2026, 2, 24)),
        (D(2026, 2, 13), 3, D(2026, 2, 25)),
        (D(2026, 2, 14), 1, D(2026, 2, 24)),
        (D(2026, 2, 15), 1, D(2026, 2, 24)),
        (D(2026, 2, 24), 4, D(2026, 2, 28)),
        (D(2026, 2, 27), 1, D(2026, 2, 28)),
        (D(2026, 2, 28), 1, D(2026, 3, 2)),
        (D(2026, 2, 10), 10, D(2026, 3, 2)),
        # a normal weekend
        (D(2026, 3, 6), 1, D(2026, 3, 9)),
        (D(2026, 3, 7), 1, D(2026, 3, 9)),
        (D(2026, 3, 8), 1, D(2026, 3, 9)),
        (D(2026, 3, 5), 2, D(2026, 3, 9)),
        # the 10-working-day deadline from a Monday
        (D(2026, 3, 2), 10, D(2026, 3, 16)),
        (D(2026, 3, 2), 5, D(2026, 3, 9)),
        # New Year (2025 has no data: plain weekdays) and National Day
        (D(2025, 12, 31), 1, D(2026, 1, 4)),
        (D(2026, 9, 18), 1, D(2026, 9, 20)),
        (D(2026, 9, 30), 1, D(2026, 10, 8)),
        (D(2026, 9, 30), 3, D(2026, 10, 10)),
        # negative n: the |n|-th working day before start
        (D(2026, 2, 24), -1, D(2026, 2, 14)),
        (D(2026, 2, 24), -2, D(2026, 2, 13)),
        (D(2026, 2, 22), -1, D(2026, 2, 14)),
        (D(2026, 3, 9), -1, D(2026, 3, 6)),
        (D(2026, 3, 16), -10, D(2026, 3, 2)),
    ],
)
def test_add_working_days(start: D, n: int, expected: D) -> None:
    assert CAL_2026.add_working_days(start, n) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (D(2026, 2, 13), D(2026, 2, 13), 0),
        (D(2026, 2, 13), D(2026, 2, 14), 1),
        (D(2026, 2, 13), D(2026, 2, 23), 1),
        (D(2026, 2, 13), D(2026, 2, 24), 2),
        (D(2026, 2, 14), D(2026, 2, 23), 0),
        (D(2026, 2, 13), D(2026, 2, 28), 6),
        (D(2026, 2, 1), D(2026, 2, 28), 16),
        (D(2026, 3, 6), D(2026, 3, 8), 0),
        (D(2026, 3, 6), D(2026, 3, 9), 1),
        (D(2026, 3, 2), D(2026, 3, 16), 10),
        # negative spans
        (D(2026, 2, 24), D(2026, 2, 13), -2),
        (D(2026, 3, 9), D(2026, 3, 6), -1),
        (D(2026, 3, 8), D(2026, 3, 6), 0),
        # the whole of 2026: 261 weekdays - 19 weekday holidays + 6 make-up days
        (D(2025, 12, 31), D(2026, 12, 31), 248),
        (D(2026, 12, 31), D(2025, 12, 31), -248),
    ],
)
def test_working_days_between(start: D, end: D, expected: int) -> None:
    assert CAL_2026.working_days_between(start, end) == expected


def test_is_working_day_and_next() -> None:
    assert CAL_2026.is_working_day(D(2026, 2, 14))  # Saturday, 调休上班
    assert not CAL_2026.is_working_day(D(2026, 2, 16))  # Monday, 春节
    assert not CAL_2026.is_working_day(D(2026, 2, 21))  # Saturday inside the block
    assert not CAL_2026.is_working_day(D(2026, 3, 7))  # plain Saturday
    assert CAL_2026.is_working_day(D(2026, 3, 9))
    assert CAL_2026.next_working_day(D(2026, 2, 14)) == D(2026, 2, 24)
    assert CAL_2026.next_working_day(D(2026, 3, 9)) == D(2026, 3, 10)
    assert CAL_2026.working_day_on_or_after(D(2026, 3, 9)) == D(2026, 3, 9)
    assert CAL_2026.working_day_on_or_after(D(2026, 2, 16)) == D(2026, 2, 24)


def test_plain_calendar_is_monday_to_friday() -> None:
    cal = WorkingCalendar()
    assert cal.add_working_days(D(2026, 3, 6), 1) == D(2026, 3, 9)
    assert cal.working_days_between(D(2026, 3, 1), D(2026, 3, 31)) == 22
    assert cal.years() == frozenset()
    assert CAL_2026.years() == frozenset({2026})


def test_calendar_is_frozen_and_rejects_overlap() -> None:
    with pytest.raises(ValueError, match="both holiday and workday"):
        WorkingCalendar.from_dates(holidays=[D(2026, 3, 9)], workdays=[D(2026, 3, 9)])
    with pytest.raises(AttributeError):
        CAL_2026.holidays = frozenset()  # type: ignore[misc]
    assert WorkingCalendar.from_dates(OFF_2026, MAKEUP_2026) == CAL_2026


def test_meaningless_entries_change_nothing() -> None:
    noisy = WorkingCalendar.from_dates(holidays=[D(2026, 3, 7)], workdays=[D(2026, 3, 9)])
    assert noisy.working_days_between(D(2026, 3, 1), D(2026, 3, 31)) == 22
    assert noisy.add_working_days(D(2026, 3, 6), 1) == D(2026, 3, 9)


def _naive_between(cal: WorkingCalendar, start: D, end: D) -> int:
    if end < start:
        return -_naive_between(cal, end, start)
    return sum(1 for d in _days(start + dt.timedelta(1), end) if cal.is_working_day(d)) if end > start else 0


def _naive_add(cal: WorkingCalendar, start: D, n: int) -> D:
    d, step, left = start, (1 if n > 0 else -1), abs(n)
    while left:
        d += dt.timedelta(step)
        if cal.is_working_day(d):
            left -= 1
    return d


def test_arithmetic_matches_a_day_by_day_reference() -> None:
    rng = random.Random(20260214)  # noqa: S311  (fixed seed: reproducible test data)
    base = D(2025, 6, 1)
    for _ in range(30):
        days = _days(base, base + dt.timedelta(900))
        weekdays = [d for d in days if d.weekday() < 5]
        weekends = [d for d in days if d.weekday() >= 5]
        holidays = set(rng.sample(weekdays, 60))
        # a long run of weekday holidays, to exercise the widening searches
        run_start = rng.choice(weekdays[:500])
        holidays |= {d for d in _days(run_start, run_start + dt.timedelta(70)) if d.weekday() < 5}
        cal = WorkingCalendar.from_dates(holidays=holidays, workdays=rng.sample(weekends, 20))
        for _ in range(40):
            start = rng.choice(days)
            n = rng.randint(-150, 150)
            end = rng.choice(days)
            assert cal.add_working_days(start, n) == _naive_add(cal, start, n), (start, n)
            assert cal.working_days_between(start, end) == _naive_between(cal, start, end), (start, end)
            if n >= 0:
                assert cal.working_days_between(start, cal.add_working_days(start, n)) == n


def test_long_spans_are_cheap() -> None:
    assert CAL_2026.add_working_days(D(2026, 1, 1), 100_000) > D(2400, 1, 1)
    assert CAL_2026.working_days_between(D(2001, 1, 1), D(2400, 1, 1)) > 100_000


# ---------------------------------------------------------------- shipped data


def test_shipped_2026_matches_the_state_council_notice() -> None:
    seed = shipped_years()[2026]
    assert not seed.provisional
    assert "2026年部分节假日安排" in seed.source
    cal = WorkingCalendar.from_dates(
        holidays=[d for d, k, _ in seed.days if k == "holiday"],
        workdays=[d for d, k, _ in seed.days if k == "workday"],
    )
    for d in _days(D(2026, 1, 1), D(2026, 12, 31)):
        assert cal.is_working_day(d) == CAL_2026.is_working_day(d), d


def test_shipped_2027_is_provisional_statutory_days() -> None:
    seed = shipped_years()[2027]
    assert seed.provisional and seed.source
    assert all(name.endswith(PROVISIONAL_MARK) and kind == "holiday" for _, kind, name in seed.days)
    # 元旦, 除夕 (Fri) and 初三 (Mon) of a Spring Festival starting Sat 2027-02-06, 清明,
    # 端午 (五月初五), 中秋 (八月十五), 国庆 day 1; the others fall on weekends.
    assert [d for d, _, _ in seed.days] == [
        D(2027, 1, 1), D(2027, 2, 5), D(2027, 2, 8), D(2027, 4, 5),
        D(2027, 6, 9), D(2027, 9, 15), D(2027, 10, 1),
    ]


@pytest.mark.parametrize(
    ("day", "kind", "message"),
    [
        ("2026-03-09", "workday", "本来就是工作日"),
        ("2026-03-07", "holiday", "本来就是休息日"),
        ("2025-03-09", "holiday", "another year"),
        ("2026-03-09", "rest", "类型无效"),
    ],
)
def test_seed_file_validation(day: str, kind: str, message: str) -> None:
    raw = {"year": 2026, "source": "测试", "days": [{"day": day, "kind": kind, "name": "测试"}]}
    with pytest.raises(ValueError, match=message):
        parse_seed_year(raw)


def test_seed_file_rejects_duplicates_and_unmarked_provisional() -> None:
    entry = {"day": "2026-03-09", "kind": "holiday", "name": "测试"}
    with pytest.raises(ValueError, match="twice"):
        parse_seed_year({"year": 2026, "source": "测试", "days": [entry, entry]})
    with pytest.raises(ValueError, match="provisional"):
        parse_seed_year({"year": 2026, "source": "测试", "provisional": True, "days": [entry]})


# ---------------------------------------------------------------- database


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(model))


def test_seed_inserts_and_is_idempotent(session) -> None:  # type: ignore[no-untyped-def]
    expected = sum(len(s.days) for s in shipped_years().values())
    assert seed_calendar(session) == expected
    audits = _count(session, AuditEntry)
    assert seed_calendar(session) == 0
    assert _count(session, CalendarDay) == expected
    assert _count(session, AuditEntry) == audits  # a no-op seed writes nothing
    assert session.get(CalendarDay, D(2026, 2, 14)).kind == "workday"
    assert verify_chain(session).ok


def test_db_backed_arithmetic_after_seeding(session) -> None:  # type: ignore[no-untyped-def]
    seed_calendar(session)
    assert wc.add_working_days(session, D(2026, 2, 13), 1) == D(2026, 2, 14)
    assert wc.add_working_days(session, D(2026, 2, 13), 2) == D(2026, 2, 24)
    assert wc.working_days_between(session, D(2026, 2, 13), D(2026, 2, 24)) == 2
    assert wc.working_days_between(session, D(2025, 12, 31), D(2026, 12, 31)) == 248
    assert wc.is_working_day(session, D(2026, 10, 10))
    assert wc.next_working_day(session, D(2026, 9, 30)) == D(2026, 10, 8)
    loaded = load_calendar(session)
    assert loaded.years() == frozenset({2026, 2027})
    year_2026 = _days(D(2026, 1, 1), D(2026, 12, 31))
    assert all(loaded.is_working_day(d) == CAL_2026.is_working_day(d) for d in year_2026)
    # 2027 provisional: New Year's Day (Fri) off, so Thu 2026-12-31 + 1 is Mon 2027-01-04
    assert wc.add_working_days(session, D(2026, 12, 31), 1) == D(2027, 1, 4)


def test_seed_never_overrides_the_centre(session) -> None:  # type: ignore[no-untyped-def]
    centre = make_user(session, Role.CENTRE_ADMIN)
    seed_calendar(session)
    set_calendar_day(session, centre, D(2026, 2, 14), "workday", "春节调休（本省）")
    delete_calendar_day(session, centre, D(2026, 2, 28))
    set_calendar_day(session, centre, D(2026, 3, 9), "holiday", "本省特别假日")
    assert seed_calendar(session) == 0
    assert session.get(CalendarDay, D(2026, 2, 14)).name == "春节调休（本省）"
    assert session.get(CalendarDay, D(2026, 2, 28)) is None  # a deleted entry stays deleted
    assert session.get(CalendarDay, D(2026, 3, 9)).name == "本省特别假日"


def test_official_file_replaces_untouched_provisional_names(session) -> None:  # type: ignore[no-untyped-def]
    centre = make_user(session, Role.CENTRE_ADMIN)
    provisional = parse_seed_year({
        "year": 2031, "source": "暂定", "provisional": True,
        "days": [
            {"day": "2031-01-01", "kind": "holiday", "name": "元旦" + PROVISIONAL_MARK},
            {"day": "2031-10-01", "kind": "holiday", "name": "国庆节" + PROVISIONAL_MARK},
        ],
    })
    official = parse_seed_year({
        "year": 2031, "source": "通知",
        "days": [
            {"day": "2031-01-01", "kind": "holiday", "name": "元旦"},
            {"day": "2031-10-01", "kind": "holiday", "name": "国庆节"},
            {"day": "2031-10-02", "kind": "holiday", "name": "国庆节"},
        ],
    })
    assert seed_calendar(session, [provisional]) == 2
    set_calendar_day(session, centre, D(2031, 10, 1), "holiday", "国庆节" + PROVISIONAL_MARK + "！")
    set_calendar_day(session, centre, D(2031, 10, 1), "holiday", "国庆节" + PROVISIONAL_MARK)
    assert seed_calendar(session, [official]) == 1
    assert session.get(CalendarDay, D(2031, 1, 1)).name == "元旦"
    assert session.get(CalendarDay, D(2031, 10, 1)).name.endswith(PROVISIONAL_MARK)  # the centre touched it
    assert session.get(CalendarDay, D(2031, 10, 2)).name == "国庆节"


# ---------------------------------------------------------------- services


def _last_audit(session) -> AuditEntry:  # type: ignore[no-untyped-def]
    return session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()


def test_centre_adds_changes_and_deletes_an_entry(session) -> None:  # type: ignore[no-untyped-def]
    centre = make_user(session, Role.CENTRE_ADMIN)
    row = set_calendar_day(session, centre, D(2026, 3, 9), "holiday", "  特别假日 ")
    assert (row.kind, row.name) == ("holiday", "特别假日")
    entry = _last_audit(session)
    assert (entry.action, entry.target_type) == ("calendar_day.create", "calendar_day")
    assert entry.target_id == "2026-03-09"
    assert entry.actor_id == centre.id and entry.before is None
    assert entry.after == {"day": "2026-03-09", "kind": "holiday", "name": "特别假日"}
    assert not wc.is_working_day(session, D(2026, 3, 9))

    set_calendar_day(session, centre, D(2026, 3, 9), "holiday", "改名")
    entry = _last_audit(session)
    assert entry.action == "calendar_day.update"
    assert entry.before["name"] == "特别假日" and entry.after["name"] == "改名"

    seq = entry.seq
    set_calendar_day(session, centre, D(2026, 3, 9), "holiday", "改名")  # unchanged: not audited
    assert _last_audit(session).seq == seq

    delete_calendar_day(session, centre, D(2026, 3, 9))
    entry = _last_audit(session)
    assert entry.action == "calendar_day.delete" and entry.before["name"] == "改名" and entry.after is None
    assert session.get(CalendarDay, D(2026, 3, 9)) is None
    assert wc.is_working_day(session, D(2026, 3, 9))
    assert verify_chain(session).ok


def test_weekend_workday_is_accepted(session) -> None:  # type: ignore[no-untyped-def]
    centre = make_user(session, Role.CENTRE_ADMIN)
    set_calendar_day(session, centre, D(2026, 3, 7), "workday", "调休上班")
    assert wc.is_working_day(session, D(2026, 3, 7))


@pytest.mark.parametrize(
    ("day", "kind", "name", "message", "field"),
    [
        (D(2026, 3, 9), "workday", "调休", "2026-03-09（星期一）本来就是工作日", "day"),
        (D(2026, 3, 7), "holiday", "假日", "2026-03-07（星期六）本来就是休息日", "day"),
        (D(2026, 3, 8), "holiday", "假日", "星期日", "day"),
        (D(2026, 3, 9), "rest", "假日", "类型无效", "kind"),
        (D(2026, 3, 9), "holiday", "   ", "请填写名称", "name"),
        (D(2026, 3, 9), "holiday", "长" * 65, "64", "name"),
        (D(1999, 3, 9), "holiday", "假日", "超出范围", "day"),
    ],
)
def test_set_calendar_day_validation(session, day, kind, name, message, field) -> None:  # type: ignore[no-untyped-def]
    centre = make_user(session, Role.CENTRE_ADMIN)
    before = _count(session, AuditEntry)
    with pytest.raises(ValidationError) as exc:
        set_calendar_day(session, centre, day, kind, name)
    assert message in exc.value.message and exc.value.field == field
    assert session.get(CalendarDay, day) is None
    assert _count(session, AuditEntry) == before


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.CENTRE_ADMIN])
def test_only_the_centre_may_edit(session, role) -> None:  # type: ignore[no-untyped-def]
    centre = make_user(session, Role.CENTRE_ADMIN)
    set_calendar_day(session, centre, D(2026, 3, 10), "holiday", "假日")
    other = make_user(session, role)
    with pytest.raises(PermissionDenied):
        set_calendar_day(session, other, D(2026, 3, 9), "holiday", "假日")
    with pytest.raises(PermissionDenied):
        delete_calendar_day(session, other, D(2026, 3, 10))
    assert session.get(CalendarDay, D(2026, 3, 9)) is None
    assert session.get(CalendarDay, D(2026, 3, 10)) is not None


def test_inactive_centre_admin_is_refused(session) -> None:  # type: ignore[no-untyped-def]
    centre = make_user(session, Role.CENTRE_ADMIN, active=False)
    with pytest.raises(PermissionDenied):
        set_calendar_day(session, centre, D(2026, 3, 9), "holiday", "假日")


def test_delete_missing_entry(session) -> None:  # type: ignore[no-untyped-def]
    centre = make_user(session, Role.CENTRE_ADMIN)
    with pytest.raises(NotFound, match="没有日历条目"):
        delete_calendar_day(session, centre, D(2026, 3, 9))
