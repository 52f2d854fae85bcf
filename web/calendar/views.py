"""Working-day calendar pages: the year view, the calculator and the centre's edits."""

from __future__ import annotations

import calendar as stdcal
import dataclasses
import datetime as dt
import re
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from foundation.calendar import (
    BEIJING,
    HOLIDAY,
    KIND_LABELS,
    MAX_YEAR,
    MIN_YEAR,
    PROVISIONAL_MARK,
    WORKDAY,
    CalendarDay,
    WorkingCalendar,
    delete_calendar_day,
    entries_for_year,
    load_calendar,
    set_calendar_day,
    shipped_years,
    weekday_label,
)
from foundation.errors import DomainError
from foundation.roles import Role
from web.access import actor, roles_required
from web.calendar import bp
from web.calendar.forms import AddDaysForm, BetweenForm, DayForm, DeleteDayForm
from web.extensions import db
from web.params import form_int

VIEWERS = (Role.CENTRE_ADMIN, Role.INSTITUTION_ADMIN)
MONTH_NAMES = [f"{m} 月" for m in range(1, 13)]
WEEK_HEAD = ("一", "二", "三", "四", "五", "六", "日")


@dataclasses.dataclass(frozen=True)
class Cell:
    day: dt.date
    in_month: bool
    css: str
    title: str


def _today() -> dt.date:
    # Deadlines are Beijing dates, whatever the server's timezone.
    return dt.datetime.now(BEIJING).date()


def _year_arg() -> int:
    raw = request.args.get("year", "")
    year = form_int(raw, minimum=MIN_YEAR, maximum=MAX_YEAR)
    return year if year is not None else _today().year


def _label(d: dt.date) -> str:
    return f"{d.isoformat()}（{weekday_label(d)}）"


def _block_name(d: dt.date, cal: WorkingCalendar, names: dict[dt.date, str]) -> str | None:
    """For a weekend rest day: the name of the holiday whose run of consecutive rest days it
    belongs to (e.g. Sunday 2026-02-15 in 春节), so the year view shows whole holiday blocks
    as the State Council notices describe them, though only Monday–Friday holidays are stored.
    """
    for step in (-1, 1):
        probe = d
        for _ in range(10):  # no run of rest days is longer than this
            probe += dt.timedelta(step)
            if cal.is_working_day(probe):
                break
            if probe in cal.holidays:
                return names.get(probe) or "节假日"
    return None


def _month_grids(
    year: int, cal: WorkingCalendar, names: dict[dt.date, str]
) -> list[tuple[str, list[list[Cell]]]]:
    today = _today()
    weeks_of = stdcal.Calendar(firstweekday=0).monthdatescalendar
    grids = []
    for month in range(1, 13):
        weeks = []
        for week in weeks_of(year, month):
            row = []
            for d in week:
                in_month = d.month == month
                classes = ["out"] if not in_month else []
                name = names.get(d)
                if d in cal.holidays:
                    classes.append("holiday")
                    state = "休息"
                elif d in cal.workdays:
                    classes.append("makeup")
                    state = "调休上班"
                elif cal.is_working_day(d):
                    state = "工作日"
                else:
                    state = "休息"
                    name = _block_name(d, cal, names) if in_month else None
                    classes.append("holiday-weekend" if name else "weekend")
                if d == today:
                    classes.append("today")
                title = f"{_label(d)} {state}" + (f" · {name}" if name else "")
                row.append(Cell(d, in_month, " ".join(classes), title))
            weeks.append(row)
        grids.append((MONTH_NAMES[month - 1], weeks))
    return grids


def _missing_years(cal: WorkingCalendar, *days: dt.date) -> list[int]:
    """Years touched by a calculation for which no calendar data exists at all."""
    covered = cal.years()
    return [y for y in range(min(days).year, max(days).year + 1) if y not in covered]


def _calculate(cal: WorkingCalendar) -> dict[str, Any]:
    """Run whichever calculator form the query string carries; None results when absent."""
    out: dict[str, Any] = {
        "add_result": None, "between_result": None, "calc_warning": None, "calc_invalid": False,
    }
    add_form = AddDaysForm(formdata=request.args if "calc_start" in request.args else None)
    between_form = BetweenForm(formdata=request.args if "span_start" in request.args else None)
    out.update(add_form=add_form, between_form=between_form)
    touched: list[dt.date] = []
    if "calc_start" in request.args:
        if add_form.validate():
            start, n = add_form.calc_start.data, add_form.calc_n.data
            result = cal.add_working_days(start, n)
            touched += [start, result]
            if n > 0:
                text = f"{_label(start)}之后第 {n} 个工作日是 {_label(result)}。"
            elif n < 0:
                text = f"{_label(start)}之前第 {-n} 个工作日是 {_label(result)}。"
            else:
                text = f"工作日数为 0，结果即起始日期 {_label(result)}。"
            out["add_result"] = text
        else:
            out["calc_invalid"] = True
    if "span_start" in request.args:
        if between_form.validate():
            start, end = between_form.span_start.data, between_form.span_end.data
            n = cal.working_days_between(start, end)
            touched += [start, end]
            if end >= start:
                text = f"从 {_label(start)} 到 {_label(end)} 共有 {n} 个工作日（不含起始日，含结束日）。"
            else:
                text = (f"结束日期早于起始日期：从 {_label(end)} 到 {_label(start)} 共有 {-n} 个工作日，"
                        f"结果记为 {n}。")
            out["between_result"] = text
        else:
            out["calc_invalid"] = True
    if touched:
        missing = _missing_years(cal, *touched)
        if missing:
            years = "、".join(str(y) for y in missing)
            out["calc_warning"] = f"注意：{years} 年尚未录入节假日安排，该年份只按周末计算，结果可能不准确。"
    return out


def _render_index(year: int, *, day_form: DayForm | None = None, status: int = 200) -> tuple[str, int]:
    cal = load_calendar(db.session)
    entries = entries_for_year(db.session, year)
    names = {e.day: e.name for e in entries}
    is_centre = actor().role == Role.CENTRE_ADMIN
    if day_form is None and is_centre:
        day_form = DayForm(formdata=None)
        edit = request.args.get("edit", "")
        row = db.session.get(CalendarDay, dt.date.fromisoformat(edit)) if _is_iso_date(edit) else None
        if row is not None:
            day_form.day.data, day_form.kind.data, day_form.name.data = row.day, row.kind, row.name
        elif _is_iso_date(edit):
            day_form.day.data = dt.date.fromisoformat(edit)
            day_form.kind.data = WORKDAY if day_form.day.data.weekday() >= 5 else HOLIDAY
    calc = _calculate(cal)
    if calc.pop("calc_invalid") and status == 200:
        status = 400
    shipped = shipped_years().get(year)
    page = render_template(
        "calendar/index.html",
        year=year,
        min_year=MIN_YEAR,
        max_year=MAX_YEAR,
        months=_month_grids(year, cal, names),
        week_head=WEEK_HEAD,
        entries=entries,
        holidays=sum(1 for e in entries if e.kind == HOLIDAY),
        makeups=sum(1 for e in entries if e.kind == WORKDAY),
        provisional=any(e.name.endswith(PROVISIONAL_MARK) for e in entries),
        shipped=shipped,
        kind_labels=KIND_LABELS,
        is_centre=is_centre,
        day_form=day_form,
        **calc,
    )
    return page, status


def _is_iso_date(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


@bp.get("/")
@roles_required(*VIEWERS)
def index() -> tuple[str, int]:
    return _render_index(_year_arg())


@bp.post("/days")
@roles_required(Role.CENTRE_ADMIN)
def save_day() -> Response | tuple[str, int]:
    form = DayForm()
    year = _year_arg()
    if not form.validate_on_submit():
        flash("请检查表单中标出的错误。", "danger")
        return _render_index(form.day.data.year if form.day.data else year, day_form=form, status=400)
    day = form.day.data
    try:
        existed = db.session.get(CalendarDay, day) is not None
        row = set_calendar_day(db.session, actor(), day, form.kind.data or "", form.name.data or "")
    except DomainError as exc:
        db.session.rollback()
        if exc.field and exc.field in form:
            form[exc.field].errors = [*form[exc.field].errors, exc.message]
        flash(exc.message, "danger")
        return _render_index(day.year, day_form=form, status=exc.status)
    db.session.commit()
    verb = "已修改" if existed else "已添加"
    flash(f"{verb}日历条目：{_label(row.day)} {row.kind_label} · {row.name}。", "success")
    return redirect(url_for("calendar.index", year=row.day.year))


@bp.post("/days/<day>/delete")
@roles_required(Role.CENTRE_ADMIN)
def delete_day(day: str) -> Response | tuple[str, int]:
    if not _is_iso_date(day):
        abort(404)
    when = dt.date.fromisoformat(day)
    if not DeleteDayForm().validate_on_submit():
        flash("表单已过期，请刷新页面后重试。", "danger")
        return _render_index(when.year, status=400)
    try:
        delete_calendar_day(db.session, actor(), when)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _render_index(when.year, status=exc.status)
    db.session.commit()
    default = "休息日" if when.weekday() >= 5 else "工作日"
    flash(f"已删除 {_label(when)} 的日历条目，该日恢复为{default}。", "success")
    return redirect(url_for("calendar.index", year=when.year))
