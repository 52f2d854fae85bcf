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
from examroom.models import Attempt, BatchCandidate
from foundation.db import as_utc
from foundation.roles import Role
from itembank.images import image_url, store_image
from tests.examroom import test_attempts as ta
from tests.examroom.test_attempts import MIN, SECRET_ANALYSIS, SECRET_KEY_TEXT, T0, Exam
from tests.factories import make_user, ticket_no


@pytest.fixture
def exam(session):
    return Exam(session)


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
    first = ta.ITEMS[0]
    items = [(first[0], f'看图作答：<img src="{image_url(used)}" alt="电路图"> {first[1]}', *first[2:]),
             *ta.ITEMS[1:]]
    monkeypatch.setattr(ta, "ITEMS", items)
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

    svc.arrive_attempt(session, me, attempt.id, T0 - 2 * MIN)
    svc.open_room(session, exam.proctor1, exam.room1.id, T0)
    waiting = svc.candidate_view(session, me, attempt.id, T0 + MIN)
    assert waiting["status"] == "waiting" and waiting["opened"] is True and waiting["items"] == []
    assert waiting["opened_at"] == T0.astimezone(dt.UTC).isoformat()
    assert waiting["late_entry_until"] == (T0 + 15 * MIN).astimezone(dt.UTC).isoformat()

    svc.start_attempt(session, me, attempt.id, T0 + 2 * MIN)
    svc.extend_attempt(session, exam.proctor1, attempt.id, 10, "停电", T0 + 3 * MIN)
    answering = svc.candidate_view(session, me, attempt.id, T0 + 4 * MIN)
    assert answering["started_at"] == (T0 + 2 * MIN).astimezone(dt.UTC).isoformat()
    assert answering["earliest_submit_at"] == (T0 + 32 * MIN).astimezone(dt.UTC).isoformat()
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
    svc.pause_attempt(session, exam.proctor1, attempt.id, T0 + 4 * MIN)
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
