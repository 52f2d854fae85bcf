"""The candidate's exam pages (我的考试, the exam page shell), the candidate's restriction on
item images, and the sitting fields of the exam state (candidate_view)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from examroom import attempts as svc
from examroom import proctoring
from examroom.models import Attempt, BatchCandidate
from foundation.db import as_utc
from foundation.roles import Role
from itembank.images import image_url, store_image
from tests.examroom import worlds
from tests.examroom.worlds import MIN, SECRET_ANALYSIS, SECRET_KEY_TEXT, T0, Exam
from tests.factories import make_user, ticket_no


@pytest.fixture(scope="module")
def exam(module_session):
    """Built once for the module; each test runs in a savepoint of it (tests/conftest.py)."""
    return Exam(module_session)


def _assert_csp_clean(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert " style=" not in html and "<style" not in html, "inline style"


def _attempts(session) -> int:
    return session.scalar(select(func.count()).select_from(Attempt))


# ---------------------------------------------------------------- 我的考试


def test_my_exams_lists_the_seated_sitting_and_entering_opens_the_exam_page(session, client, login, exam):
    me = exam.candidates[0]
    login(me)
    html = client.get("/exam/").get_data(as_text=True)
    _assert_csp_clean(html)
    row = re.search(rf'<tr data-sitting="{exam.sitting.id}">(.*?)</tr>', html, re.S)
    assert row, html
    cells = row.group(1)
    seat = next(s for s in exam.room1.seats if s.candidate_id == me.id)
    assert "第1考场" in cells and "2026-10-16" in cells and "09:00" in cells
    assert f"第 {seat.row} 排第 {seat.col} 列" in cells and "未入场" in cells
    assert _attempts(session) == 0

    resp = client.post(f"/exam/sittings/{exam.sitting.id}/enter")
    attempt = session.scalar(select(Attempt).where(Attempt.candidate_id == me.id))
    assert attempt is not None and resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/exam/{attempt.id}")
    page = client.get(f"/exam/{attempt.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    _assert_csp_clean(html)
    assert f'data-attempt-id="{attempt.id}"' in html
    for script in ("vendor/socket.io.min.js", "js/exam_client.js", "js/exam_page.js", "js/item_render.js"):
        assert script in html
    # Entering again returns the same attempt.
    again = client.post(f"/exam/sittings/{exam.sitting.id}/enter")
    assert again.headers["Location"].endswith(f"/exam/{attempt.id}") and _attempts(session) == 1


def test_a_candidate_without_a_seat_sees_no_sitting_and_cannot_enter(session, client, login, exam):
    stranger = make_user(session, Role.CANDIDATE, institution=exam.world.inst)
    login(stranger)  # with the number of another batch
    html = client.get("/exam/").get_data(as_text=True)
    assert 'id="exam-none"' in html and "data-sitting" not in html
    assert client.post(f"/exam/sittings/{exam.sitting.id}/enter").status_code == 404  # not that number's batch
    # On the batch's list (a late registration) but not seated.
    session.add(BatchCandidate(batch_id=exam.batch.id, candidate_id=stranger.id, category="other",
                               ticket_no="T99999901"))
    session.flush()
    login(stranger, "T99999901")
    resp = client.post(f"/exam/sittings/{exam.sitting.id}/enter", follow_redirects=True)
    assert "您没有本场考试的座位" in resp.get_data(as_text=True)
    assert _attempts(session) == 0
    assert client.post("/exam/sittings/999999/enter").status_code == 404


def test_the_exam_page_is_for_its_owner_only(session, client, login, exam):
    mine = exam.attempt(0)
    session.flush()
    login(exam.candidates[0])
    assert client.get(f"/exam/{mine.id}").status_code == 200
    login(exam.candidates[1])  # another candidate of the same room
    assert client.get(f"/exam/{mine.id}").status_code == 404
    login(exam.proctor1)  # staff, even the room's proctor
    assert client.get(f"/exam/{mine.id}").status_code == 403
    login(exam.world.admin)
    assert client.get(f"/exam/{mine.id}").status_code == 403
    assert client.get("/exam/").status_code == 403


# ---------------------------------------------------------------- GET /exam/api/attempts


def test_the_attempts_endpoint_lists_the_candidates_own_sittings_and_attempt_ids(session, client, login, exam):
    """How a socket client learns its attempt_id (docs/protocol.md §1): null until the attempt
    exists, then the id that ``enter`` created; the candidate's own rows only, no key."""
    me, neighbour = exam.candidates[0], exam.candidates[1]
    login(me)
    resp = client.get("/exam/api/attempts")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert resp.get_json() == [{
        "sitting_id": exam.sitting.id, "title": f"{exam.batch.name} · 理论知识考试",
        "starts_at": as_utc(exam.sitting.starts_at).isoformat(), "duration_minutes": 90, "room": "第1考场",
        "status": "not_started", "attempt_id": None, "enter": f"/exam/sittings/{exam.sitting.id}/enter",
    }]
    theirs = exam.attempt(1)  # the neighbour's attempt exists; it is not listed for me
    session.flush()
    entered = client.post(f"/exam/sittings/{exam.sitting.id}/enter")
    mine = session.scalar(select(Attempt).where(Attempt.candidate_id == me.id))
    assert entered.headers["Location"].endswith(f"/exam/{mine.id}")
    rows = client.get("/exam/api/attempts").get_json()
    assert [(r["attempt_id"], r["status"]) for r in rows] == [(mine.id, "not_started")]
    assert theirs.id not in {r["attempt_id"] for r in rows}
    assert "key" not in json.dumps(rows)
    login(neighbour)
    assert [r["attempt_id"] for r in client.get("/exam/api/attempts").get_json()] == [theirs.id]


@pytest.mark.parametrize("who", ["anonymous", "stranger", "proctor", "admin"])
def test_the_attempts_endpoint_answers_json_to_everyone_else(session, client, login, exam, who):
    """Anonymous: 401 in JSON, not a redirect to the login page; staff: 403; a candidate
    without a seat: an empty list."""
    exam.attempt(0)
    session.flush()
    users = {"stranger": make_user(session, Role.CANDIDATE, institution=exam.world.inst),
             "proctor": exam.proctor1, "admin": exam.world.admin}
    if who != "anonymous":
        login(users[who])
    resp = client.get("/exam/api/attempts")
    expected = {"anonymous": (401, {"error": "请先登录。", "status": 401}), "stranger": (200, []),
                "proctor": (403, {"error": "您没有访问此页面的权限。", "status": 403})}
    status, body = expected.get(who, expected["proctor"])
    assert (resp.status_code, resp.get_json()) == (status, body)


# ---------------------------------------------------------------- item images


def _png(color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def pictured_exam(session, monkeypatch):
    """The exam with an image in the first item's stem, and an unrelated image."""
    writer = make_user(session, Role.QUESTION_WRITER)
    used = store_image(session, writer, _png(), "circuit.png")
    unrelated = store_image(session, writer, _png((10, 200, 10)), "other.png")
    first = worlds.ITEMS[0]
    items = [(first[0], f'看图作答：<img src="{image_url(used)}" alt="电路图"> {first[1]}', *first[2:]),
             *worlds.ITEMS[1:]]
    monkeypatch.setattr(worlds, "ITEMS", items)
    exam = Exam(session)
    return exam, writer, image_url(used), image_url(unrelated)


def test_a_candidate_gets_only_the_images_of_the_items_they_are_answering(session, client, login, pictured_exam):
    exam, writer, used, unrelated = pictured_exam
    attempt = exam.attempt(0)
    session.flush()
    login(exam.candidates[0])
    assert client.get(used).status_code == 404  # not started: no item is shown yet
    exam.started(0)
    session.flush()
    resp = client.get(used)
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    assert client.get(unrelated).status_code == 404  # in no item of their form
    login(exam.candidates[1])  # same room, not started
    assert client.get(used).status_code == 404
    svc.submit_attempt(session, exam.candidates[0], attempt.id, T0 + 40 * MIN)
    session.flush()
    login(exam.candidates[0])
    assert client.get(used).status_code == 404  # the exam is over
    login(writer)  # staff unchanged
    assert client.get(used).status_code == 200 and client.get(unrelated).status_code == 200


# ---------------------------------------------------------------- the state's sitting fields


def test_the_state_carries_the_sitting_the_seat_and_the_rules(session, exam):
    me = exam.candidates[0]
    attempt = exam.attempt(0)
    seat = next(s for s in exam.room1.seats if s.candidate_id == me.id)
    session.flush()
    session.expire_all()  # read back from the database (SQLite returns naive datetimes)
    view = svc.candidate_view(session, me, attempt.id, T0 - 5 * MIN)
    assert view["title"].endswith("理论知识考试") and exam.sitting.module.batch.name in view["title"]
    assert view["room"] == "第1考场"
    assert view["seat"] == {"row": seat.row, "col": seat.col, "number": (seat.row - 1) * 2 + seat.col}
    assert view["candidate"]["name"] == me.name and view["candidate"]["ticket_no"] == ticket_no(me)
    assert view["candidate"]["id_number"].endswith(me.id_number[-4:]) and "*" in view["candidate"]["id_number"]
    assert view["starts_at"] == as_utc(exam.sitting.starts_at).astimezone(dt.UTC).isoformat()
    assert (view["duration_minutes"], view["allowed_minutes"]) == (90, 90)
    assert (view["late_entry_minutes"], view["earliest_submit_minutes"]) == (15, 30)
    assert view["opened"] is False and view["opened_at"] is None and view["late_entry_until"] is None
    assert view["started_at"] is None and view["earliest_submit_at"] is None
    # The default rule: a late opening would move the room's start, so it is not known yet.
    assert view["from_late_opening"] is True and view["begins_at"] is None and view["ends_at"] is None

    svc.arrive_attempt(session, me, attempt.id, T0 - 2 * MIN)
    svc.open_room(session, exam.proctor1, exam.room1.id, T0)
    waiting = svc.candidate_view(session, me, attempt.id, T0 + MIN)
    assert waiting["status"] == "waiting" and waiting["opened"] is True and waiting["items"] == []
    assert waiting["opened_at"] == T0.astimezone(dt.UTC).isoformat()
    assert waiting["late_entry_until"] == (T0 + 15 * MIN).astimezone(dt.UTC).isoformat()
    assert waiting["begins_at"] == T0.astimezone(dt.UTC).isoformat()
    assert waiting["ends_at"] == (T0 + 90 * MIN).astimezone(dt.UTC).isoformat()
    assert waiting["earliest_submit_at"] == (T0 + 30 * MIN).astimezone(dt.UTC).isoformat()

    svc.start_attempt(session, me, attempt.id, T0 + 2 * MIN)
    proctoring.extend(session, exam.proctor1, attempt.id, 10, "停电", T0 + 3 * MIN)
    answering = svc.candidate_view(session, me, attempt.id, T0 + 4 * MIN)
    assert answering["started_at"] == (T0 + 2 * MIN).astimezone(dt.UTC).isoformat()
    # From the room's start, not this candidate's own (T0+2); the room's end ignores the extension.
    assert answering["earliest_submit_at"] == (T0 + 30 * MIN).astimezone(dt.UTC).isoformat()
    assert answering["ends_at"] == (T0 + 90 * MIN).astimezone(dt.UTC).isoformat()
    assert answering["remaining_seconds"] == (100 - 4) * 60
    assert answering["allowed_minutes"] == 100 and answering["duration_minutes"] == 90


def test_no_state_ever_leaks_a_key_or_the_full_id_number(session, exam):
    me = exam.candidates[0]
    attempt = exam.attempt(0)
    views = [svc.candidate_view(session, me, attempt.id, T0 - MIN)]
    svc.arrive_attempt(session, me, attempt.id, T0 - MIN)
    svc.open_room(session, exam.proctor1, exam.room1.id, T0)
    views.append(svc.candidate_view(session, me, attempt.id, T0))
    svc.start_attempt(session, me, attempt.id, T0 + MIN)
    exam.answer(attempt, 3, 1, "√", T0 + 2 * MIN)
    views.append(svc.candidate_view(session, me, attempt.id, T0 + 3 * MIN))
    proctoring.pause(session, exam.proctor1, attempt.id, T0 + 4 * MIN)
    views.append(svc.candidate_view(session, me, attempt.id, T0 + 5 * MIN))
    assert views[-1]["items"], "items are shown while paused"
    others = [c for c in exam.candidates if c.id != me.id]
    for view in views:
        blob = json.dumps(view, ensure_ascii=False)
        for secret in ('"key"', "reference_answer", "scoring_points", "analysis", SECRET_KEY_TEXT,
                       SECRET_ANALYSIS, "答出隔离", '"score"', me.id_number, "proctor", "order_seed"):
            assert secret not in blob, secret
        for other in others:
            assert f"\"{other.name}\"" not in blob and f"\"{ticket_no(other)}\"" not in blob


# ---------------------------------------------------------------- no way out during the exam


def _links_outside_the_exam(html: str, attempt_id: int) -> list[str]:
    """Every link or form target of the page that leaves the exam page itself."""
    targets = re.findall(r'<(?:a|form)\b[^>]*\b(?:href|action)="([^"]*)"', html)
    return [t for t in targets if t not in (f"/exam/{attempt_id}", "#")]


@pytest.mark.parametrize("status", ["not_started", "waiting", "in_progress", "paused"])
def test_the_exam_page_has_no_site_navigation_while_the_exam_is_on(session, client, login, exam, status):
    me = exam.candidates[0]
    attempt = exam.attempt(0)
    attempt.status = status
    session.flush()
    login(me)
    html = client.get(f"/exam/{attempt.id}").get_data(as_text=True)
    header = re.search(r"<header\b.*?</header>", html, re.S).group(0)
    assert me.name in header and "主导航" not in header and "退出" not in header
    # The only link out is the end view's "返回我的考试", shown once the paper is closed.
    assert _links_outside_the_exam(html, attempt.id) == ["/exam/"]
    assert html.count('href="/exam/"') == 1 and 'id="view-end"' in html


@pytest.mark.parametrize("status", ["submitted", "expired", "terminated"])
def test_the_exam_page_of_a_closed_paper_has_the_site_navigation_again(session, client, login, exam, status):
    attempt = exam.attempt(0)
    attempt.status = status
    session.flush()
    login(exam.candidates[0])
    html = client.get(f"/exam/{attempt.id}").get_data(as_text=True)
    assert "主导航" in html and "退出" in html


# ---------------------------------------------------------------- the clock rule in words (issue 11 point 3)


@pytest.mark.parametrize(("from_late_opening", "anchor_words"), [
    (True, "监考员开考晚于计划开考时间的，以实际开考时刻为准"),
    (False, "监考员开考早晚均以此为准"),
])
def test_the_ticket_and_the_exam_page_state_the_room_clock_rule(session, client, login, exam, from_late_opening,
                                                               anchor_words):
    from examroom import tickets
    from foundation.settings import DEFAULT_RULES, set_rule

    set_rule(session, exam.world.centre, "room_rules",
             {**DEFAULT_RULES["room_rules"], "late_entry_minutes": 10, "earliest_submit_minutes": 25,
              "from_late_opening": from_late_opening})
    me = exam.candidates[0]
    attempt = exam.attempt(0)
    ticket = tickets.own_ticket(session, me, exam.sitting.id)
    lines = tickets.clock_rules(session)
    assert set(lines) <= set(ticket.rules)
    said = "".join(lines)
    assert anchor_words in said and "考试时间从开考时刻起统一计算，全场同时结束，迟到考生不补时" in said
    assert "开考 10 分钟后不得入场；开考 25 分钟内不得交卷离场" in said
    login(me)
    html = client.get(f"/exam/{attempt.id}").get_data(as_text=True)
    _assert_csp_clean(html)
    for line in lines:
        assert line in html
    assert "开始作答" not in "".join(re.findall(r"<li[^>]*>(.*?)</li>", html, re.S))  # no per-candidate clock
    assert 'id="dlg-submit-gate"' in html
