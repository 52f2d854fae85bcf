"""A NUL or a lone surrogate in any request text is refused with a clear 400, on every
database (``web.inputs``). PostgreSQL refuses a NUL even as a query parameter, so without the
guard a search box turned into a server error there while SQLite answered."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from foundation.audit import AuditEntry
from foundation.roles import Role
from itembank.models import EnemySet
from tests.factories import make_user
from web.inputs import find_unstorable, unstorable

REFUSED = "无法保存的控制字符"

BAD = ["\x00", "a\x00b", "\ud800", "x\udfff", "\udc80\ud800"]


@pytest.mark.parametrize("text", BAD)
def test_the_class_of_unstorable_text(text):
    assert unstorable(text)
    assert find_unstorable({"k": [1, {"deep": text}]})[0] == "k[1].deep"
    assert find_unstorable({text: "key"})[0] == text
    assert not unstorable({"k": ["电工 \t\n 😀 %_", 3, None, True]})


def _parameterless_get_routes(app) -> list[str]:
    """(Socket.IO answers its own transport before Flask; its events validate their payloads.)"""
    return sorted({rule.rule for rule in app.url_map.iter_rules() if "GET" in rule.methods and not rule.arguments
                   and not rule.rule.startswith(("/static", "/socket.io"))})


@pytest.mark.parametrize("encoded", ["%00", "a%00b"])
def test_every_page_and_api_list_refuses_it_in_the_query(app, session, client, login, encoded):
    """Every GET route without path parameters, as the centre's administrator, with the text
    in ``q`` (the search box every list has) and in an unknown key: a 400 naming the problem
    whatever the route, never a server error. (A URL cannot carry a lone surrogate: its bytes
    are UTF-8, and undecodable ones arrive as U+FFFD.)"""
    login(make_user(session, Role.CENTRE_ADMIN))
    for url in _parameterless_get_routes(app):
        for query in (f"q={encoded}", f"{encoded}=1"):
            resp = client.get(f"{url}?{query}")
            assert resp.status_code == 400, (url, query, resp.status_code)
            shown = resp.get_json()["error"] if resp.is_json else resp.get_data(as_text=True)
            assert REFUSED in shown, url


@pytest.mark.parametrize("text", ["\x00", "\ud800"])
def test_a_json_body_with_it_changes_nothing(session, client, login, text):
    login(make_user(session, Role.CENTRE_ADMIN))
    before = session.scalar(select(func.count()).select_from(AuditEntry))
    for body, field in (({"name": text, "item_codes": ["A", "B"]}, "name"),
                        ({"name": "互斥", "item_codes": ["0", text]}, "item_codes[1]"),
                        ({"name": "互斥", "item_codes": ["0", "1"], text: 1}, text)):
        resp = client.post("/api/v1/enemy-sets", json=body)
        assert resp.status_code == 400 and resp.get_json()["field"] == field
        assert REFUSED in resp.get_json()["error"]
    assert session.scalar(select(func.count()).select_from(EnemySet)) == 0
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_a_form_field_with_it_is_refused(session, client, login):
    login(make_user(session, Role.CENTRE_ADMIN))
    resp = client.post("/occupations/new", data={"code": "6-99-99-99", "name": "车\x00工", "lowest_level": "5",
                                                 "highest_level": "1"})
    assert resp.status_code == 400
    assert "「name」中含有无法保存的控制字符（空字符 NUL）" in resp.get_data(as_text=True)
