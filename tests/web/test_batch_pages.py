"""The batch pages (认定批次): list, create, detail with sessions, rooms and seat grid, candidates,
staff, seating, filing with the centre and its decision, and admission tickets (准考证)."""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
from sqlalchemy import func, select

from examroom import batches as svc
from examroom import tickets
from examroom.models import Batch, BatchCandidate, BatchStaff, ExamSession, Room, Seat
from foundation.roles import Role
from tests.examroom.worlds import World
from tests.factories import make_user, valid_id_number

FILING_DAY = dt.date(2026, 9, 28)  # World.plan() files on this day (first sitting 2026-10-16)


@pytest.fixture
def world(session, monkeypatch):
    monkeypatch.setattr("web.batches.views._today", lambda: FILING_DAY)
    return World(session)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _assert_csp_clean(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert " style=" not in html and "<style" not in html, "inline style"


@pytest.fixture
def post(session, client):
    """POST through the client, then forget what the test's session had loaded (the request
    wrote through its own session)."""

    def _post(*args, **kwargs):
        resp = client.post(*args, **kwargs)
        session.expire_all()
        return resp

    return _post


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------- list and access


def test_list_shows_own_batches_and_centre_filters_awaiting(session, client, login, world):
    mine = world.batch(name="本机构批次")
    other_world = World(session)
    theirs = other_world.batch(name="他机构批次")
    filed = world.plan()
    svc.file_plan(session, world.admin, filed.id, FILING_DAY)
    session.flush()

    login(world.admin)
    html = client.get("/batches/").get_data(as_text=True)
    assert "本机构批次" in html and "他机构批次" not in html
    _assert_csp_clean(html)
    assert client.get(f"/batches/{theirs.id}").status_code == 403

    login(world.centre)
    html = client.get("/batches/").get_data(as_text=True)
    assert "本机构批次" in html and "他机构批次" in html and "等待省中心确认" in html
    html = client.get("/batches/?awaiting=1").get_data(as_text=True)
    assert filed.name in html and "本机构批次" not in html
    html = client.get("/batches/?q=他机构").get_data(as_text=True)
    assert "他机构批次" in html and "本机构批次" not in html
    assert client.get(f"/batches/{mine.id}").status_code == 200

    for role in (Role.PROCTOR, Role.CANDIDATE, Role.SUPERVISOR):
        login(make_user(session, role))
        assert client.get("/batches/").status_code == 403
        assert client.get(f"/batches/{mine.id}").status_code == 403


def test_create_batch_from_scope_choices(session, client, post, login, world):
    login(world.admin)
    html = client.get("/batches/new").get_data(as_text=True)
    value = f"{world.occupation.id}:0:4"
    assert f'value="{value}"' in html
    assert f'value="{world.occupation.id}:0:2"' not in html  # 二级 is outside the scope (五级–三级)
    resp = post("/batches/new", data={"target": value, "name": "2026年第9批", "place": "长春",
                                             "overview": "概况"})
    assert resp.status_code == 302
    batch = session.scalars(select(Batch).where(Batch.name == "2026年第9批")).one()
    assert (batch.level, batch.status, batch.institution_id) == (4, "draft", world.inst.id)

    resp = post("/batches/new", data={"target": f"{world.occupation.id}:0:2", "name": "越范围"})
    assert resp.status_code == 400 and "不在" in resp.get_data(as_text=True)
    assert session.scalar(select(Batch).where(Batch.name == "越范围")) is None

    resp = post(f"/batches/{batch.id}/edit", data={"place": "吉林市", "overview": "新概况"})
    assert resp.status_code == 302 and batch.place == "吉林市" and batch.overview == "新概况"
    login(world.centre)
    assert client.get("/batches/new").status_code == 403


# ---------------------------------------------------------------- sessions, rooms, staff, candidates


def test_sessions_rooms_staff_and_candidates_via_forms(session, client, post, login, world):
    batch = world.batch()
    login(world.admin)
    resp = post(f"/batches/{batch.id}/sessions", data={
        "module": "theory", "date": "2026-10-16", "time": "09:00", "duration_minutes": "90", "place": "",
        "paper_id": str(world.paper.id)})
    assert resp.status_code == 302
    sitting = batch.sessions[0]
    assert sitting.place == "长春市" and sitting.paper_id == world.paper.id
    assert sitting.starts_at.replace(tzinfo=dt.UTC) == dt.datetime(2026, 10, 16, 1, 0, tzinfo=dt.UTC)

    html = post(f"/batches/{batch.id}/sessions", data={
        "module": "theory", "date": "16/10/2026", "time": "09:00", "duration_minutes": "90"},
        follow_redirects=True).get_data(as_text=True)
    assert "请填写有效的考试日期" in html and len(batch.sessions) == 1

    resp = post(f"/batches/{batch.id}/rooms", data={
        "exam_session_id": str(sitting.id), "name": "第1考场", "rows": "5", "cols": "6"})
    assert resp.status_code == 302 and [(r.name, r.capacity) for r in sitting.rooms] == [("第1考场", 30)]
    html = post(f"/batches/{batch.id}/rooms", data={
        "exam_session_id": str(sitting.id), "name": "第2考场", "rows": "6", "cols": "6"},
        follow_redirects=True).get_data(as_text=True)
    assert "每个考场最多 30 个座位" in html and len(sitting.rooms) == 1

    proctor = world.people(Role.PROCTOR, 1)[0]
    resp = post(f"/batches/{batch.id}/staff", data={"user_id": str(proctor.id),
                                                           "room_id": str(sitting.rooms[0].id)})
    assert resp.status_code == 302
    assert [(s.user_id, s.role, s.room_id) for s in batch.staff] == [(proctor.id, "proctor", sitting.rooms[0].id)]
    outsider = make_user(session, Role.PROCTOR)  # another institution
    html = post(f"/batches/{batch.id}/staff", data={"user_id": str(outsider.id), "room_id": ""},
                       follow_redirects=True).get_data(as_text=True)
    assert "不属于本机构" in html and len(batch.staff) == 1

    n = valid_id_number(321, birth="19920202")
    resp = post(f"/batches/{batch.id}/candidates", data={
        "name": "刘洋", "id_number": n, "gender": "", "phone": "13812345678", "work_unit": "一汽", "category": ""})
    assert resp.status_code == 302
    entry = batch.candidates[0]
    assert entry.candidate.name == "刘洋" and entry.work_unit == "一汽"
    bad = n[:17] + ("1" if n[17] != "1" else "2")
    html = post(f"/batches/{batch.id}/candidates", data={
        "name": "错号", "id_number": bad, "phone": "13812345678"}, follow_redirects=True).get_data(as_text=True)
    assert "校验位不正确" in html and len(batch.candidates) == 1

    html = client.get(f"/batches/{batch.id}").get_data(as_text=True)
    _assert_csp_clean(html)
    text = _text(html)
    assert "刘洋" in text and entry.ticket_no in text and "第1考场" in text and proctor.name in text
    assert n not in html  # the list shows masked ID numbers
    html = client.get(f"/batches/{batch.id}?q=不存在的人").get_data(as_text=True)
    assert "没有符合条件的考生" in html

    # The centre sees the plan read-only: no forms, and posting is refused.
    login(world.centre)
    html = client.get(f"/batches/{batch.id}").get_data(as_text=True)
    assert 'id="session-form"' not in html and 'id="candidate-form"' not in html
    assert post(f"/batches/{batch.id}/rooms", data={}).status_code == 403


def _xlsx(rows) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "身份证号", "性别", "手机号", "工作单位"])
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_candidate_import_page(session, client, post, login, world):
    batch = world.batch()
    login(world.admin)
    assert "下载导入模板" in client.get(f"/batches/{batch.id}/candidates/import").get_data(as_text=True)
    template = client.get("/batches/candidates-template")
    assert template.status_code == 200 and template.data.startswith(b"PK")

    good = valid_id_number(11, birth="19930303")
    bad = good[:17] + ("1" if good[17] != "1" else "2")
    resp = post(f"/batches/{batch.id}/candidates/import", data={
        "file": (io.BytesIO(_xlsx([["甲", good, "", "13800000000", ""], ["乙", bad, "", "13800000001", ""]])),
                 "名册.xlsx")}, content_type="multipart/form-data")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and 'id="import-errors"' in html
    assert "第 3 行" in html and "校验位不正确" in html
    assert _count(session, BatchCandidate) == 0

    resp = post(f"/batches/{batch.id}/candidates/import", data={
        "file": (io.BytesIO(_xlsx([["甲", good, "", "13800000000", "单位甲"]])), "名册.xlsx")},
        content_type="multipart/form-data")
    assert resp.status_code == 302
    assert [c.candidate.name for c in batch.candidates] == ["甲"]


def test_an_import_racing_another_for_ticket_numbers_writes_nothing(session, client, post, login, world, monkeypatch):
    """Two imports at the same moment may pick the same next ticket number: the second one's
    insert then fails the database's uniqueness (a race no validation query can see). That must
    become a clear message with nothing written, not a server error."""
    from sqlalchemy.exc import IntegrityError

    from examroom import candidate_import

    batch = world.batch()
    login(world.admin)
    real = candidate_import.import_candidates

    def racing(session_, actor_, batch_id, data):
        real(session_, actor_, batch_id, data)  # rows written and flushed ...
        raise IntegrityError("INSERT INTO user_account", {}, Exception("duplicate key: ticket_no"))  # ... then

    monkeypatch.setattr(candidate_import, "import_candidates", racing)
    resp = post(f"/batches/{batch.id}/candidates/import", data={
        "file": (io.BytesIO(_xlsx([["乙", valid_id_number(22, birth="19930303"), "", "13800000001", ""]])),
                 "名册.xlsx")}, content_type="multipart/form-data")
    assert resp.status_code == 409
    assert "请重新导入" in resp.get_data(as_text=True)
    session.expire_all()
    assert _count(session, BatchCandidate) == 0


# ---------------------------------------------------------------- seating


def test_seat_session_shows_grid_and_reseating_needs_confirmation(session, client, post, login, world):
    batch = world.plan(n_candidates=12, rooms=((3, 5),))
    sitting = batch.sessions[0]
    login(world.admin)
    html = post(f"/batches/{batch.id}/sessions/{sitting.id}/seat", data={"seed": "42"},
                       follow_redirects=True).get_data(as_text=True)
    assert "已编排座位：12 名考生，编排种子 42" in html
    seats = session.scalars(select(Seat).join(Room).where(Room.exam_session_id == sitting.id)).all()
    assert len(seats) == 12 and {s.form_label for s in seats} == {"A", "B"}
    first = next(s for s in seats if s.candidate_id)
    assert first.candidate.name in html and "卷 A" in html and "卷 B" in html and "重新编排座位" in html
    _assert_csp_clean(html)
    before = sorted((s.row, s.col, s.candidate_id) for s in seats)

    html = post(f"/batches/{batch.id}/sessions/{sitting.id}/seat", data={"seed": "7"},
                       follow_redirects=True).get_data(as_text=True)
    assert "重新编排须确认" in html
    session.expire_all()
    now = session.scalars(select(Seat).join(Room).where(Room.exam_session_id == sitting.id)).all()
    assert sorted((s.row, s.col, s.candidate_id) for s in now) == before

    html = post(f"/batches/{batch.id}/sessions/{sitting.id}/seat", data={"seed": "7", "reseat": "1"},
                       follow_redirects=True).get_data(as_text=True)
    assert "已重新编排座位" in html
    session.expire_all()
    now = session.scalars(select(Seat).join(Room).where(Room.exam_session_id == sitting.id)).all()
    assert len(now) == 12 and sorted((s.row, s.col, s.candidate_id) for s in now) != before


# ---------------------------------------------------------------- filing and the centre's decision


def test_filing_is_refused_with_the_reasons(session, client, post, login, world):
    batch = world.batch()
    svc.add_session(session, world.admin, batch.id, module="theory",
                    starts_at=dt.datetime(2026, 10, 12, 9, tzinfo=dt.timezone(dt.timedelta(hours=8))),
                    duration_minutes=90)
    login(world.admin)
    html = client.get(f"/batches/{batch.id}").get_data(as_text=True)
    assert 'id="plan-problems"' in html and "认定计划须附考生名册" in html and "未指定试卷" in html
    html = post(f"/batches/{batch.id}/file", follow_redirects=True).get_data(as_text=True)
    assert "未能报备：认定计划须附考生名册（至少 1 名考生）。" in html
    assert batch.status == "draft" and batch.steps == []


def test_file_return_refile_and_acknowledge(session, client, post, login, world):
    batch = world.plan()
    login(world.admin)
    html = client.get(f"/batches/{batch.id}").get_data(as_text=True)
    assert 'id="plan-ready"' in html
    html = post(f"/batches/{batch.id}/file", follow_redirects=True).get_data(as_text=True)
    assert "已报备省中心" in html and batch.status == "filed" and batch.filed_on == FILING_DAY
    assert post(f"/batches/{batch.id}/decide", data={"decision": "acknowledge"}).status_code == 403
    html = post(f"/batches/{batch.id}/rooms", data={"exam_session_id": str(batch.sessions[0].id),
                                                          "name": "补充考场", "rows": "1", "cols": "1"},
                       follow_redirects=True).get_data(as_text=True)
    assert "不能再修改计划" in html

    login(world.centre)
    html = client.get(f"/batches/{batch.id}").get_data(as_text=True)
    assert 'id="decision"' in html
    html = post(f"/batches/{batch.id}/decide", data={"decision": "return", "reason": ""},
                       follow_redirects=True).get_data(as_text=True)
    assert "请填写退回理由" in html and batch.status == "filed"
    html = post(f"/batches/{batch.id}/decide", data={"decision": "return", "reason": "监考员名单不全"},
                       follow_redirects=True).get_data(as_text=True)
    assert batch.status == "returned" and "监考员名单不全" in html

    login(world.admin)
    post(f"/batches/{batch.id}/file")
    assert batch.status == "filed"
    login(world.centre)
    post(f"/batches/{batch.id}/decide", data={"decision": "acknowledge", "reason": "同意"})
    assert batch.status == "acknowledged"
    assert [s.to_status for s in batch.steps] == ["filed", "returned", "filed", "acknowledged"]


# ---------------------------------------------------------------- admission tickets


def test_ticket_data_after_seating(session, world):
    batch = world.plan(n_candidates=3, rooms=((2, 3),))
    sitting = batch.sessions[0]
    entry = batch.candidates[0]
    ticket = tickets.ticket_for(session, batch.id, sitting.id, entry.candidate_id)
    assert ticket.seat == "" and ticket.seat_text == "待编排"
    svc.seat_session(session, world.admin, sitting.id, 5)
    seat = session.scalars(select(Seat).where(Seat.candidate_id == entry.candidate_id)).one()
    ticket = tickets.ticket_for(session, batch.id, sitting.id, entry.candidate_id)
    user = entry.candidate
    assert ticket.ticket_no == entry.ticket_no == ticket.qr_payload  # the registration's number
    assert ticket.candidate_name == user.name
    assert ticket.id_number_masked == user.id_number[:6] + "********" + user.id_number[-4:]
    assert (ticket.room, ticket.seat) == ("第1考场", f"{seat.row}-{seat.col}")
    assert ticket.date == "2026-10-16（星期五）" and ticket.time == "09:00–10:30"
    assert ticket.level == "四级/中级工" and ticket.module == "理论知识考试"
    assert any("开考 15 分钟后不得入场" in r for r in ticket.rules)
    all_tickets = tickets.tickets_for_session(session, batch.id, sitting.id)
    assert sorted(t.ticket_no for t in all_tickets) == sorted(c.ticket_no for c in batch.candidates)
    outsider = make_user(session, Role.CANDIDATE)
    with pytest.raises(Exception, match="不在本批次名册"):
        tickets.ticket_for(session, batch.id, sitting.id, outsider.id)


def test_ticket_pdfs_for_admins_and_candidates(session, client, login, world):
    batch = world.plan(n_candidates=3, rooms=((2, 3),))
    sitting = batch.sessions[0]
    svc.seat_session(session, world.admin, sitting.id, 9)
    candidate = batch.candidates[0].candidate
    login(world.admin)
    resp = client.get(f"/batches/{batch.id}/sessions/{sitting.id}/tickets.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf" and resp.data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type /Page[^s]", resp.data)) == 3  # one page per candidate
    resp = client.get(f"/batches/{batch.id}/sessions/{sitting.id}/tickets/{candidate.id}.pdf")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    outsider = make_user(session, Role.CANDIDATE)
    assert client.get(f"/batches/{batch.id}/sessions/{sitting.id}/tickets/{outsider.id}.pdf").status_code == 404
    stranger = make_user(session, Role.INSTITUTION_ADMIN)
    login(stranger)
    assert client.get(f"/batches/{batch.id}/sessions/{sitting.id}/tickets.pdf").status_code == 403

    # The candidate sees the ticket only after the centre acknowledged the plan.
    login(candidate)
    assert client.get(f"/batches/tickets/{sitting.id}.pdf").status_code == 404
    assert "暂无可下载的准考证" in client.get("/batches/tickets").get_data(as_text=True)
    svc.file_plan(session, world.admin, batch.id, FILING_DAY)
    svc.acknowledge_plan(session, world.centre, batch.id)
    session.flush()
    html = client.get("/batches/tickets").get_data(as_text=True)
    assert batch.name in html and f"/batches/tickets/{sitting.id}.pdf" in html
    resp = client.get(f"/batches/tickets/{sitting.id}.pdf")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    # Another candidate (not on the list) cannot fetch it; nor can a candidate use the admin routes.
    login(outsider)
    assert client.get(f"/batches/tickets/{sitting.id}.pdf").status_code == 404
    assert client.get(f"/batches/{batch.id}/sessions/{sitting.id}/tickets/{candidate.id}.pdf").status_code == 403


def test_rows_per_role_nothing_written_on_refusal(session, client, post, login, world):
    batch = world.batch()
    login(world.admin)
    before = (_count(session, ExamSession), _count(session, BatchStaff))
    post(f"/batches/{batch.id}/sessions", data={"module": "theory", "date": "2026-10-16", "time": "09:00",
                                                       "duration_minutes": "0"})
    post(f"/batches/{batch.id}/staff", data={"user_id": "999999"})
    assert (_count(session, ExamSession), _count(session, BatchStaff)) == before


# ---------------------------------------------------------------- examiner groups per skill sitting, the panel


def test_skill_sittings_show_and_take_their_examiner_groups(app, session, client, post, login, world, monkeypatch):
    from tests.examroom.worlds import _skill_world

    batch, (first, second) = _skill_world(world, candidates=(10, 4), examiners=(3, 2))
    session.flush()
    login(world.admin)
    html = client.get(f"/batches/{batch.id}").get_data(as_text=True)
    _assert_csp_clean(html)
    text = _text(html)
    for sitting, n, k in ((first, 10, 3), (second, 4, 2)):
        assert f'id="sitting-{sitting.id}"' in html
        assert f"{svc.sitting_when(sitting)} 操作技能考核 · 考评组" in text
        assert f"本场考生 {n} 名，须至少 3 名考评员（1:5，不少于 3 名，奇数），当前 {k} 名" in text
    assert f"{svc.sitting_when(second)} 场次 4 名考生须至少 3 名，当前 2 名" in text  # the filing problems

    spare = next(u for u in (row.user for row in first.examiners))
    resp = post(f"/batches/{batch.id}/sessions/{second.id}/examiners", data={"user_id": str(spare.id)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"#sitting-{second.id}")
    assert spare.id in {row.user_id for row in second.examiners}
    assert svc.staffing_problems(session, batch) == []
    (outsider,) = world.people(Role.EXAMINER, 1)
    html = post(f"/batches/{batch.id}/sessions/{second.id}/examiners", data={"user_id": str(outsider.id)},
                follow_redirects=True).get_data(as_text=True)
    assert "不在本批次的考评员名单中" in html and len(second.examiners) == 3

    resp = post(f"/batches/{batch.id}/sessions/{second.id}/examiners/{spare.id}/remove", data={})
    assert resp.status_code == 302 and len(second.examiners) == 2

    # Candidates of a sitting: those listed elsewhere are refused and nothing changes.
    mine = [row.candidate_id for row in second.listed_candidates]
    theirs = first.listed_candidates[0].candidate_id
    html = post(f"/batches/{batch.id}/sessions/{second.id}/candidates",
                data={"candidate_id": [str(i) for i in [*mine, theirs]]}, follow_redirects=True).get_data(as_text=True)
    assert "已安排在" in html and [row.candidate_id for row in second.listed_candidates] == mine
    resp = post(f"/batches/{batch.id}/sessions/{second.id}/candidates", data={"candidate_id": [str(mine[0])]})
    assert resp.status_code == 302 and [row.candidate_id for row in second.listed_candidates] == [mine[0]]

    # A theory sitting has no examiner group; another institution and the centre may not post.
    theory = world.plan().sessions[0]
    assert post(f"/batches/{theory.module.batch_id}/sessions/{theory.id}/examiners",
                data={"user_id": str(spare.id)}).status_code == 404
    other = World(session)
    login(other.admin)
    assert post(f"/batches/{batch.id}/sessions/{second.id}/examiners",
                data={"user_id": str(spare.id)}).status_code == 403
    login(world.centre)
    assert post(f"/batches/{batch.id}/sessions/{second.id}/examiners/{spare.id}/remove").status_code == 403
    html = client.get(f"/batches/{batch.id}").get_data(as_text=True)
    assert "bt-examiner-form" not in html and "编入考评组" not in html

    login(world.admin)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert post(f"/batches/{batch.id}/sessions/{second.id}/candidates",
                data={"candidate_id": [str(mine[1])]}).status_code == 400
    assert [row.candidate_id for row in second.listed_candidates] == [mine[0]]


def test_review_panel_page_and_review_module_by_level(session, client, post, login, world):
    from tests.examroom.worlds import _review_plan, _scope_to_level_one

    level4 = world.batch()
    login(world.admin)
    html = client.get(f"/batches/{level4.id}").get_data(as_text=True)
    assert 'value="review"' not in html and 'id="panel"' not in html  # no 综合评审 below level 2
    html = post(f"/batches/{level4.id}/sessions", data={
        "module": "review", "date": "2026-10-20", "time": "09:00", "duration_minutes": "60"},
        follow_redirects=True).get_data(as_text=True)
    assert "综合评审只用于二级/技师、一级/高级技师的认定，本批次为四级/中级工。" in html and level4.modules == []

    _scope_to_level_one(session, world)
    batch = _review_plan(world, panel=2, chair=False)
    session.flush()
    html = client.get(f"/batches/{batch.id}").get_data(as_text=True)
    _assert_csp_clean(html)
    text = _text(html)
    assert 'value="review"' in html and 'id="panel"' in html
    assert "综合评审专家组（2 人）" in text
    assert "综合评审专家组不少于 3 人且为奇数（当前 2 人）。" in text and "须指定 1 名组长（当前 0 名）" in text

    pool = [st.user_id for st in batch.staff if st.role == "examiner" and st.user_id not in
            {m.user_id for m in batch.panel}]
    resp = post(f"/batches/{batch.id}/panel", data={"user_id": str(pool[0]), "chair": "y"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("#panel")
    assert [(m.user_id, m.is_chair) for m in batch.panel][-1] == (pool[0], True)
    html = post(f"/batches/{batch.id}/panel", data={"user_id": str(pool[1]), "chair": "y"},
                follow_redirects=True).get_data(as_text=True)
    assert "综合评审专家组已有组长" in html and len(batch.panel) == 3
    text = _text(client.get(f"/batches/{batch.id}").get_data(as_text=True))
    assert "综合评审专家组（3 人）" in text and "组长" in text and "专家组不少于" not in text
    resp = post(f"/batches/{batch.id}/panel/{pool[0]}/remove", data={})
    assert resp.status_code == 302 and len(batch.panel) == 2
    login(world.centre)
    assert post(f"/batches/{batch.id}/panel", data={"user_id": str(pool[0])}).status_code == 403
