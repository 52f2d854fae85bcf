"""Working-day calendar pages: year view, calculator, the centre's edits and role checks."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from foundation.audit import AuditEntry
from foundation.calendar import CalendarDay, seed_calendar
from foundation.roles import Role
from tests.factories import make_user

D = dt.date


def _text(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.get_data(as_text=True)


def test_anonymous_is_sent_to_login(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/calendar/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert client.post("/calendar/days", data={"day": "2026-03-09"}).status_code == 401
    assert client.post("/calendar/days/2026-02-14/delete").status_code == 401


def test_other_roles_may_not_view(session, login) -> None:  # type: ignore[no-untyped-def]
    for role in (Role.QUESTION_WRITER, Role.PROCTOR, Role.SUPERVISOR):
        client = login(make_user(session, role))
        assert client.get("/calendar/").status_code == 403


def test_year_view_marks_holidays_and_makeup_days(session, login) -> None:  # type: ignore[no-untyped-def]
    seed_calendar(session)
    client = login(make_user(session, Role.INSTITUTION_ADMIN))
    resp = client.get("/calendar/?year=2026")
    assert resp.status_code == 200
    body = _text(resp)
    assert "工作日历 · 2026 年" in body
    assert body.count('class="cal-month"') == 12
    assert 'class="cal-d holiday" title="2026-02-16（星期一） 休息 · 春节"' in body
    assert 'class="cal-d makeup" title="2026-02-14（星期六） 调休上班 · 春节调休上班"' in body
    assert 'class="cal-d weekend" title="2026-03-07（星期六） 休息"' in body
    # weekends inside a holiday block are shown as part of it
    assert 'class="cal-d holiday-weekend" title="2026-02-15（星期日） 休息 · 春节"' in body
    assert 'class="cal-d holiday-weekend" title="2026-06-20（星期六） 休息 · 端午节"' in body
    assert "春节调休上班" in body and "国庆节" in body
    assert "预置数据来源" in body and "2026年部分节假日安排" in body
    # an institution admin sees no edit controls
    assert "calendar-day-form" not in body and "/calendar/days/" not in body and "js/calendar.js" not in body


def test_provisional_and_missing_years_are_flagged(session, login) -> None:  # type: ignore[no-untyped-def]
    seed_calendar(session)
    client = login(make_user(session, Role.CENTRE_ADMIN))
    assert "部分条目为暂定" in _text(client.get("/calendar/?year=2027"))
    assert "尚未录入 2031 年的节假日安排" in _text(client.get("/calendar/?year=2031"))


def test_bad_year_falls_back_to_the_current_year(session, login) -> None:  # type: ignore[no-untyped-def]
    client = login(make_user(session, Role.CENTRE_ADMIN))
    this_year = dt.datetime.now(dt.UTC).year  # Beijing and UTC years differ only for 8 hours a year
    body = _text(client.get("/calendar/?year=abc"))
    assert f"工作日历 · {this_year} 年" in body or f"工作日历 · {this_year + 1} 年" in body


def test_institution_admin_uses_the_calculator(session, login) -> None:  # type: ignore[no-untyped-def]
    seed_calendar(session)
    client = login(make_user(session, Role.INSTITUTION_ADMIN))
    body = _text(client.get("/calendar/?year=2026&calc_start=2026-02-13&calc_n=2"))
    assert "2026-02-13（星期五）之后第 2 个工作日是 2026-02-24（星期二）。" in body
    body = _text(client.get("/calendar/?year=2026&calc_start=2026-02-24&calc_n=-1"))
    assert "之前第 1 个工作日是 2026-02-14（星期六）" in body
    body = _text(client.get("/calendar/?span_start=2026-02-13&span_end=2026-02-24"))
    assert "共有 2 个工作日（不含起始日，含结束日）" in body
    body = _text(client.get("/calendar/?span_start=2026-02-24&span_end=2026-02-13"))
    assert "结果记为 -2" in body


def test_calculator_warns_about_years_without_data(session, login) -> None:  # type: ignore[no-untyped-def]
    client = login(make_user(session, Role.INSTITUTION_ADMIN))
    body = _text(client.get("/calendar/?calc_start=2031-03-07&calc_n=1"))
    assert "2031-03-10（星期一）" in body and "2031 年尚未录入节假日安排" in body


def test_calculator_rejects_bad_input(session, login) -> None:  # type: ignore[no-untyped-def]
    client = login(make_user(session, Role.INSTITUTION_ADMIN))
    resp = client.get("/calendar/?calc_start=2026-02-30&calc_n=x")
    assert resp.status_code == 400
    body = _text(resp)
    assert "请按“年-月-日”格式填写有效日期" in body and "请填写整数" in body
    resp = client.get("/calendar/?calc_start=2026-02-13&calc_n=5000")
    assert resp.status_code == 400 and "以内" in _text(resp)
    resp = client.get("/calendar/?calc_start=0001-01-01&calc_n=-5")
    assert resp.status_code == 400 and "日期应在 2000–2100 年之间" in _text(resp)
    resp = client.get("/calendar/?span_start=2026-02-13&span_end=")
    assert resp.status_code == 400 and "请选择结束日期" in _text(resp)


def test_centre_adds_changes_and_deletes_an_entry(session, login) -> None:  # type: ignore[no-untyped-def]
    centre = make_user(session, Role.CENTRE_ADMIN)
    client = login(centre)
    body = _text(client.get("/calendar/?year=2026"))
    assert 'id="calendar-day-form"' in body and "js/calendar.js" in body

    resp = client.post("/calendar/days", data={"day": "2026-03-09", "kind": "holiday", "name": "本省假日"})
    assert resp.status_code == 302 and "year=2026" in resp.headers["Location"]
    row = session.get(CalendarDay, D(2026, 3, 9))
    assert (row.kind, row.name) == ("holiday", "本省假日")
    body = _text(client.get(resp.headers["Location"]))
    assert "已添加日历条目" in body and "本省假日" in body
    assert "/calendar/days/2026-03-09/delete" in body and "data-confirm=" in body

    # the edit link prefills the form
    body = _text(client.get("/calendar/?year=2026&edit=2026-03-09"))
    assert 'value="2026-03-09"' in body and 'value="本省假日"' in body

    resp = client.post("/calendar/days", data={"day": "2026-03-09", "kind": "holiday", "name": "改名"})
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(CalendarDay, D(2026, 3, 9)).name == "改名"
    assert "已修改日历条目" in _text(client.get("/calendar/?year=2026"))

    resp = client.post("/calendar/days/2026-03-09/delete")
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(CalendarDay, D(2026, 3, 9)) is None
    body = _text(client.get("/calendar/?year=2026"))
    assert "已删除 2026-03-09（星期一） 的日历条目，该日恢复为工作日" in body
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.target_id == "2026-03-09").order_by(AuditEntry.seq)
    ).all()
    assert actions == ["calendar_day.create", "calendar_day.update", "calendar_day.delete"]


def test_centre_sees_domain_errors(session, login) -> None:  # type: ignore[no-untyped-def]
    client = login(make_user(session, Role.CENTRE_ADMIN))
    resp = client.post("/calendar/days", data={"day": "2026-03-09", "kind": "workday", "name": "调休"})
    assert resp.status_code == 400
    assert "2026-03-09（星期一）本来就是工作日" in _text(resp)
    assert session.get(CalendarDay, D(2026, 3, 9)) is None

    resp = client.post("/calendar/days", data={"day": "2026-13-01", "kind": "holiday", "name": ""})
    assert resp.status_code == 400
    assert "请按“年-月-日”格式填写有效日期" in _text(resp) and "请填写名称" in _text(resp)

    resp = client.post("/calendar/days/2026-03-09/delete")
    assert resp.status_code == 404 and "2026-03-09 没有日历条目" in _text(resp)
    assert client.post("/calendar/days/not-a-date/delete").status_code == 404


def test_institution_admin_gets_403_on_posts(session, login) -> None:  # type: ignore[no-untyped-def]
    seed_calendar(session)
    client = login(make_user(session, Role.INSTITUTION_ADMIN))
    resp = client.post("/calendar/days", data={"day": "2026-03-09", "kind": "holiday", "name": "假日"})
    assert resp.status_code == 403
    assert client.post("/calendar/days/2026-02-14/delete").status_code == 403
    assert session.get(CalendarDay, D(2026, 3, 9)) is None
    assert session.get(CalendarDay, D(2026, 2, 14)) is not None


def test_every_calendar_post_is_centre_only(app) -> None:  # type: ignore[no-untyped-def]
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("calendar."):
            continue
        view = app.view_functions[rule.endpoint]
        if "POST" in (rule.methods or ()):
            assert view.allowed_roles == {Role.CENTRE_ADMIN.value}, rule.endpoint
        else:
            assert view.allowed_roles == {Role.CENTRE_ADMIN.value, Role.INSTITUTION_ADMIN.value}
