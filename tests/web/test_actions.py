"""web.actions: a view's service call commits, or rolls back and ends the request with a 404, a
403 or the refusal's message flashed on a redirect back."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import get_flashed_messages
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from foundation.calendar import CalendarDay
from foundation.errors import NotFound, PermissionDenied, ValidationError
from web.actions import found, perform
from web.extensions import db

DAY = dt.date(2026, 10, 1)


def _write(error: Exception | None = None) -> str:
    """A service call: writes a row, then refuses with ``error`` if given."""
    db.session.add(CalendarDay(day=DAY, kind="holiday", name="国庆节"))
    db.session.flush()
    if error is not None:
        raise error
    return "done"


def _stored() -> bool:
    return db.session.scalar(select(CalendarDay).where(CalendarDay.day == DAY)) is not None


def _ended(call) -> HTTPException:
    with pytest.raises(HTTPException) as info:
        call()
    return info.value


def test_perform_commits_and_returns_the_result(app, session):
    with app.test_request_context("/", method="POST"):
        assert perform(_write, back="/back") == "done"
        db.session.rollback()  # nothing left to undo: the row was committed
        assert _stored()
        assert get_flashed_messages() == []


def test_a_refusal_rolls_back_flashes_and_redirects_back(app, session):
    with app.test_request_context("/", method="POST"):
        ended = _ended(lambda: perform(lambda: _write(ValidationError("日期有误。")), back="/back#here"))
        assert ended.response is not None
        assert ended.response.status_code == 302 and ended.response.location == "/back#here"
        assert get_flashed_messages(with_categories=True) == [("danger", "日期有误。")]
        assert not _stored()


def test_not_found_is_a_404_with_nothing_written(app, session):
    with app.test_request_context("/", method="POST"):
        ended = _ended(lambda: perform(lambda: _write(NotFound("不存在。")), back="/back"))
        assert ended.code == 404
        assert get_flashed_messages() == [] and not _stored()


def test_not_found_is_a_refusal_when_the_page_checked_the_row(app, session):
    with app.test_request_context("/", method="POST"):
        ended = _ended(lambda: perform(lambda: _write(NotFound("考场不存在。")), back="/back",
                                       missing_is_404=False))
        assert ended.response is not None and ended.response.location == "/back"
        assert get_flashed_messages(with_categories=True) == [("danger", "考场不存在。")]
        assert not _stored()


def test_permission_denied_is_a_403_only_when_asked(app, session):
    with app.test_request_context("/", method="POST"):
        assert _ended(lambda: perform(lambda: _write(PermissionDenied("无权操作。")), back="/back",
                                      denied_is_403=True)).code == 403
        assert get_flashed_messages() == [] and not _stored()
    with app.test_request_context("/", method="POST"):  # flashes are read once a request
        ended = _ended(lambda: perform(lambda: _write(PermissionDenied("无权操作。")), back="/back"))
        assert ended.response is not None and ended.response.location == "/back"
        assert get_flashed_messages(with_categories=True) == [("danger", "无权操作。")]
        assert not _stored()


def test_found_returns_the_read_or_a_404_or_a_403(app, session):
    def missing() -> str:
        raise NotFound("不存在。")

    def denied() -> str:
        raise PermissionDenied("无权查看。")

    with app.test_request_context("/"):
        assert found(lambda: "row") == "row"
        assert _ended(lambda: found(missing)).code == 404
        assert _ended(lambda: found(denied, denied_is_403=True)).code == 403
        with pytest.raises(PermissionDenied):
            found(denied)
