"""Search boxes match what was typed, literally: ``%`` and ``_`` are characters to find, not
SQL wildcards (every list search is ``icontains(..., autoescape=True)``)."""

from __future__ import annotations

import pytest

from foundation import audit
from foundation.occupations import occupation_query
from foundation.roles import Role
from itembank.models import Paper
from tests.factories import make_occupation, make_user
from tests.itembank.worlds import Bank, _paper

WILDCARDS = ["%", "_", "%%", "_%", "\\", "\\%"]


@pytest.mark.parametrize("q", WILDCARDS)
def test_audit_log_search_takes_wildcards_literally(session, client, login, q):
    admin = make_user(session, Role.CENTRE_ADMIN)
    audit.record(session, admin, "demo.step", "plain", 1)
    audit.record(session, admin, "demo.step", f"odd{q}type", 2)
    login(admin)
    html = client.get("/audit/", query_string={"q": q}).get_data(as_text=True)
    assert f"odd{q}type" in html
    assert "plain" not in html


@pytest.mark.parametrize("q", WILDCARDS)
def test_paper_list_search_takes_wildcards_literally(session, client, login, q):
    bank = Bank(session)
    _paper(session, bank, name="电工期末卷")
    _paper(session, bank, name=f"电工{q}卷")
    login(bank.admin)
    html = client.get("/itembank/papers", query_string={"q": q}).get_data(as_text=True)
    assert f"电工{q}卷" in html
    assert "电工期末卷" not in html
    assert session.query(Paper).count() == 2


@pytest.mark.parametrize("q", WILDCARDS)
def test_occupation_search_takes_wildcards_literally(session, q):
    make_occupation(session, code="6-18-01-01", name="车工")
    assert list(session.scalars(occupation_query(q=q))) == []
    assert [o.name for o in session.scalars(occupation_query(q="车"))] == ["车工"]


@pytest.mark.parametrize("q", ["_", "%"])
def test_account_search_takes_wildcards_literally(session, client, login, q):
    admin = make_user(session, Role.CENTRE_ADMIN)
    make_user(session, Role.QUESTION_WRITER, username=f"odd{q}writer")
    make_user(session, Role.QUESTION_WRITER, username="plainwriter")
    login(admin)
    html = client.get("/users/", query_string={"q": q}).get_data(as_text=True)
    assert f"odd{q}writer" in html
    assert "plainwriter" not in html
