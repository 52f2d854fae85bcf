"""Failed logins cannot lock out the real person (security issue #12, point 4): failures, not
attempts, are counted per (account, address) with a growing wait, and per address with a bound
generous enough for an exam room behind one NAT address."""

from __future__ import annotations

import time

import pytest

from foundation.roles import Role
from tests.factories import PASSWORD, make_institution, make_user, ticket_no, valid_id_number
from web.auth.throttle import wait_text

ROOM = "127.0.0.10"  # the exam room's NAT address
ELSEWHERE = "127.0.0.20"  # an attacker, or the real person on another network
WRONG_ID = valid_id_number(99_999)


@pytest.fixture
def throttled_app(app_like) -> object:
    """The same database, with Flask-Limiter (and so the throttle) switched on, defaults kept."""
    return app_like(RATELIMIT_ENABLED=True)


@pytest.fixture
def clock(monkeypatch):
    """Wall-clock seconds added to real time (the limiter's windows read time.time)."""
    real, start = time.time, time.time()
    offset = {"s": 0.0}
    monkeypatch.setattr(time, "time", lambda: start + offset["s"] + (real() - start))
    return offset


def candidate_login(http, cand, address, id_number=None):
    return http.post("/login/candidate", environ_base={"REMOTE_ADDR": address},
                     data={"ticket_no": ticket_no(cand), "id_number": id_number or cand.id_number})


def staff_login(http, user, address, password=PASSWORD):
    return http.post("/login", environ_base={"REMOTE_ADDR": address},
                     data={"username": user.username, "password": password})


def test_ten_wrong_id_numbers_from_elsewhere_do_not_lock_out_the_candidate(throttled_app, session):
    cand = make_user(session, Role.CANDIDATE)
    attacker = throttled_app.test_client()
    codes = [candidate_login(attacker, cand, ELSEWHERE, WRONG_ID).status_code for _ in range(10)]
    assert candidate_login(throttled_app.test_client(), cand, ROOM).status_code == 302
    assert codes[:5] == [400] * 5 and set(codes[5:]) == {429}  # the guessing address waits


def test_ten_wrong_passwords_from_elsewhere_do_not_lock_out_the_staff_member(throttled_app, session):
    user = make_user(session, Role.PROCTOR)
    attacker = throttled_app.test_client()
    for _ in range(10):
        staff_login(attacker, user, ELSEWHERE, "wrong-Pass9")
    assert staff_login(attacker, user, ELSEWHERE).status_code == 429  # not even the right one, from there
    assert staff_login(throttled_app.test_client(), user, ROOM).status_code == 302


def test_the_wait_grows_and_says_how_long(throttled_app, session, clock):
    cand = make_user(session, Role.CANDIDATE)
    http = throttled_app.test_client()
    for _ in range(5):
        assert candidate_login(http, cand, ROOM, WRONG_ID).status_code == 400
    first = candidate_login(http, cand, ROOM)  # even the right ID number waits
    assert first.status_code == 429
    assert 0 < int(first.headers["Retry-After"]) <= 60
    wait = wait_text(int(first.headers["Retry-After"]))
    assert f"该账号登录失败次数过多，请 {wait}后再试" in first.get_data(as_text=True)
    clock["s"] += 61
    for _ in range(5):
        assert candidate_login(http, cand, ROOM, WRONG_ID).status_code == 400
    second = candidate_login(http, cand, ROOM)
    assert second.status_code == 429
    assert 60 < int(second.headers["Retry-After"]) <= 15 * 60
    assert f"请 {wait_text(int(second.headers['Retry-After']))}后再试" in second.get_data(as_text=True)
    assert "分钟后再试" in second.get_data(as_text=True)
    clock["s"] += 15 * 60 + 1
    assert candidate_login(http, cand, ROOM).status_code == 302


def test_only_failures_count(throttled_app, session):
    user = make_user(session, Role.SUPERVISOR)
    http = throttled_app.test_client()
    for _ in range(12):
        assert staff_login(http, user, ROOM).status_code == 302
        http.post("/logout")


def test_a_success_clears_the_accounts_failures_from_that_address(throttled_app, session):
    cand = make_user(session, Role.CANDIDATE)
    http = throttled_app.test_client()
    for _ in range(2):
        for _ in range(4):
            assert candidate_login(http, cand, ROOM, WRONG_ID).status_code == 400
        assert candidate_login(http, cand, ROOM).status_code == 302
        http.post("/logout")


def test_a_room_of_thirty_behind_one_address_logs_in_despite_typos(throttled_app, session):
    inst = make_institution(session)
    room = [make_user(session, Role.CANDIDATE, institution=inst) for _ in range(30)]
    for cand in room:
        http = throttled_app.test_client()
        for _ in range(3):  # three typos each: 90 failures from the room's address
            assert candidate_login(http, cand, ROOM, WRONG_ID).status_code == 400
        assert candidate_login(http, cand, ROOM).status_code == 302


@pytest.mark.slow
def test_one_address_cannot_lock_a_room_and_its_guessing_is_bounded(throttled_app, session):
    inst = make_institution(session)
    room = [make_user(session, Role.CANDIDATE, institution=inst) for _ in range(30)]
    attacker = throttled_app.test_client()
    codes = [candidate_login(attacker, cand, ELSEWHERE, WRONG_ID).status_code for _ in range(6) for cand in room]
    assert codes.count(400) == 150  # the address's bound in 10 minutes: 5 guesses per account here
    refused = candidate_login(attacker, make_user(session, Role.CANDIDATE), ELSEWHERE, WRONG_ID)
    assert refused.status_code == 429 and "从您所在网络登录失败的次数过多" in refused.get_data(as_text=True)
    for cand in room:
        assert candidate_login(throttled_app.test_client(), cand, ROOM).status_code == 302


@pytest.mark.parametrize(("seconds", "text"), [(0, "1 秒"), (45, "45 秒"), (60, "1 分钟"), (61, "2 分钟"),
                                               (3600, "1 小时"), (7000, "2 小时")])
def test_wait_text(seconds, text):
    assert wait_text(seconds) == text


def test_behind_the_proxy_the_forwarded_client_address_is_throttled(app_like, session):
    """With PROXY_FIX_X_FOR = 1 every request comes from the proxy; the client's address (the
    last X-Forwarded-For hop) is the one counted, so another client is not refused."""
    proxied = app_like(RATELIMIT_ENABLED=True, PROXY_FIX_X_FOR=1)
    cand, http = make_user(session, Role.CANDIDATE), proxied.test_client()

    def via_proxy(client_address, id_number):
        return http.post("/login/candidate", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                         headers={"X-Forwarded-For": client_address},
                         data={"ticket_no": ticket_no(cand), "id_number": id_number})

    assert [via_proxy(ELSEWHERE, WRONG_ID).status_code for _ in range(6)][-1] == 429
    assert via_proxy(ROOM, cand.id_number).status_code == 302
