"""Integers in URLs and query strings: whatever their size or spelling, a 4xx, never a 500.

Every ``<int:...>`` segment of every route in ``app.url_map`` and the integer query
parameters of every GET route are fed negative numbers, 0, 2^31 (one past the 32-bit
PostgreSQL ``integer``), 2^63, 10^20, Unicode digits and other non-digits, each route
requested by a role allowed to use it (so the view, not the role check, answers).
Run it on PostgreSQL too (``DATABASE_URL``): there 2^31 was "integer out of range", a 500.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import NotFound

from foundation.db import MAX_ID
from foundation.roles import Role
from tests.access_table import ROLE_ORDER, _role_for
from tests.factories import make_institution, make_user
from web.params import digits_at_most, form_int, parse_int, query_int

# Every integer query parameter any view reads (grep request.args / int_arg / query_int).
INT_PARAMS = ("page", "per_page", "occupation", "blueprint", "item", "institution", "institution_id", "level",
              "point", "set", "version", "run", "batch", "year")

SPECIAL_INTS = [-(2**63), -1, 0, 1, MAX_ID, MAX_ID + 1, 2**53, 2**63 - 1, 2**63, 2**64, 10**20, 10**400]
SPECIAL_TEXT = ["", " ", "-0", "+1", "1.5", "1e3", "0x10", "²", "٣", "１２", "9" * 5000, "1 2", "%00", "null"]

values = st.one_of(
    st.sampled_from(SPECIAL_INTS).map(str),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.sampled_from(SPECIAL_TEXT),
    st.text(max_size=12),
)

# Each example requests every matching route (about 60), so few random ones besides the explicit.
SLOW = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SEGMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
OTHER_SEGMENTS = {"day": "2031-10-01", "ext": "png"}


def _rules_by_role(app, *, with_int_segment: bool) -> dict[Role | None, list[tuple[str, object]]]:
    grouped: dict[Role | None, list[tuple[str, object]]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "auth.logout"):
            continue
        has_int = any(conv == "int" for conv, _ in SEGMENT.findall(rule.rule))
        if has_int != with_int_segment:
            continue  # query parameters: the list pages and exports, where filters are read
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if not with_int_segment and method != "GET":
                continue
            grouped.setdefault(_role_for(rule.endpoint), []).append((method, rule))
    return grouped


def _path(rule, int_value: str) -> str:
    def fill(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        if converter == "int":
            return quote(int_value, safe="")
        return OTHER_SEGMENTS.get(name, "1")

    return SEGMENT.sub(fill, rule.rule)


@pytest.fixture
def users(session):
    inst = make_institution(session, status="filed", code="S00002299998" + "1", serial="999981")
    with_inst = {Role.INSTITUTION_ADMIN, Role.PROCTOR, Role.EXAMINER, Role.CANDIDATE, Role.QUESTION_WRITER,
                 Role.ITEM_REVIEWER}
    people = {role: make_user(session, role, institution=inst) if role in with_inst else make_user(session, role)
              for role in ROLE_ORDER}
    session.flush()
    return people


def _check(client, login, users, grouped, make_request) -> None:
    errors = []
    for role, rules in grouped.items():
        if role is None:
            client.post("/logout")
        else:
            login(users[role])
        for method, rule in rules:
            resp = make_request(method, rule)
            if resp.status_code >= 500:
                errors.append((role and role.value, method, rule.rule, resp.status_code))
    assert not errors, errors


@settings(deadline=None)
@given(limit=st.integers(min_value=0, max_value=10**12), number=st.integers(min_value=0, max_value=10**13))
def test_the_converter_pattern_matches_exactly_0_to_the_limit(limit, number):
    pattern = re.compile(digits_at_most(limit))
    assert bool(pattern.fullmatch(str(number))) == (number <= limit)


def test_an_out_of_range_id_is_404_for_every_method(app):
    urls = app.url_map.bind("localhost")
    for method in ("GET", "DELETE", "POST", "PUT"):
        with pytest.raises(NotFound):
            urls.match(f"/api/v1/papers/{MAX_ID + 1}", method=method)  # not 405 (a GET rule "matched")


@pytest.mark.parametrize("text", ["0", "1", str(MAX_ID), " 7 "])
def test_in_range_values_parse(text):
    assert parse_int(text, minimum=0) == int(text)


@settings(deadline=None)
@given(raw=values)
def test_helpers_accept_only_whole_numbers_in_range(raw):
    value = form_int(raw)
    assert value is None or 1 <= value <= MAX_ID
    try:
        parsed = query_int({"n": raw}, "n")
    except Exception as exc:  # noqa: BLE001 - the only refusal allowed is a ValidationError
        from foundation.errors import ValidationError

        assert isinstance(exc, ValidationError), exc
        assert exc.status == 400 and "参数 n" in exc.message
    else:
        assert parsed == value


def test_out_of_range_ids_do_not_match_a_route(app, client, login, users):
    login(users[Role.CENTRE_ADMIN])
    for path in ("/api/v1/items/9223372036854775808", f"/api/v1/items/{MAX_ID + 1}", "/api/v1/items/²",
                 "/api/v1/items/" + "1" * 11):
        resp = client.get(path)
        assert resp.status_code == 404, path
        assert resp.is_json and resp.get_json()["status"] == 404
    assert client.get(f"/api/v1/items/{MAX_ID}").status_code == 404  # in range: the view says no such item


def test_huge_page_is_a_clear_400(app, client, login, users):
    login(users[Role.CENTRE_ADMIN])
    resp = client.get("/api/v1/items?page=99999999999999999999")
    assert resp.status_code == 400
    assert resp.get_json()["field"] == "page" and "整数" in resp.get_json()["error"]
    page = client.get("/users/?page=99999999999999999999")
    assert page.status_code == 400 and "参数 page" in page.get_data(as_text=True)


@pytest.mark.slow
@SLOW
@given(value=values)
@example(value=str(2**31)).via("32-bit integer + 1")
@example(value=str(2**63)).via("64-bit integer + 1")
@example(value=str(10**20)).via("the issue's page")
@example(value="-1").via("negative")
@example(value="²").via("a digit int() refuses")
def test_every_int_path_segment_of_every_route(app, client, login, users, value):
    grouped = _rules_by_role(app, with_int_segment=True)

    def make_request(method, rule):
        path = _path(rule, value)
        return client.get(path) if method == "GET" else client.open(path, method=method, data={})

    _check(client, login, users, grouped, make_request)


@pytest.mark.slow
@SLOW
@given(params=st.dictionaries(st.sampled_from(INT_PARAMS), values, min_size=1, max_size=4))
@example(params={"page": str(10**20)}).via("the issue's page")
@example(params={"per_page": str(2**63)}).via("per_page")
@example(params={"page": "²"}).via("a digit int() refuses")
@example(params={"institution": str(2**31)}).via("a filter id")
@example(params={"blueprint": str(2**31), "run": str(2**63)}).via("report filters")
def test_every_int_query_parameter_of_every_get_route(app, client, login, users, params):
    grouped = _rules_by_role(app, with_int_segment=False)
    query = urlencode(params)

    def make_request(method, rule):
        return client.get(_path(rule, "1") + "?" + query)

    _check(client, login, users, grouped, make_request)


@settings(deadline=None)
@given(big=st.integers(min_value=MAX_ID + 1, max_value=2**70))
@example(big=MAX_ID + 1).via("2**31: accepted before, as the bound was 2**53")
def test_socket_payload_ids_beyond_the_columns_are_malformed(big):
    """Exam and proctor socket payloads: an attempt id, room id or seq no column can hold is
    refused as malformed before any query (PostgreSQL failed on them: integer out of range)."""
    from examroom import events
    from web.sockets import proctor

    with pytest.raises(events.PayloadError):
        events.validate_attempt_ref({"attempt_id": big})
    with pytest.raises(events.PayloadError):
        events.validate_connect({"attempt_id": big, "device_id": "device-one"})
    with pytest.raises(events.PayloadError):
        events.validate_answer({"attempt_id": 1, "position": 1, "seq": big, "value": "A",
                                "client_time": "2026-10-16T09:05:00+08:00"})
    with pytest.raises(proctor.PayloadError):
        proctor._id(big)
