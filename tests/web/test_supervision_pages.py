"""Supervision pages (issue 11 point 5): the centre dispatches and withdraws supervisors on the
batch page, a dispatched supervisor watches at once over the socket, the institution can
neither pick nor remove the centre's supervisors, reports per sitting, and the centre's
read-only lists of every room record and supervision report."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from examroom import batches, supervision
from examroom import proctoring as pr
from examroom.models import BatchStaff, ExamSession
from foundation.audit import AuditEntry
from foundation.roles import Role
from tests.examroom.worlds import MIN, T0, Exam, World
from tests.factories import make_user
from tests.web.socket_clients import NS, call, console_socket, login_as


@pytest.fixture
def exam(session):
    return Exam(session)


def internal_of(session, exam):
    return session.scalar(select(BatchStaff).where(BatchStaff.batch_id == exam.batch.id,
                                                   BatchStaff.role == "supervisor")).user


def staff_rows(session, batch_id):
    session.expire_all()
    return sorted((s.user_id, s.role, s.dispatched) for s in session.scalars(
        select(BatchStaff).where(BatchStaff.batch_id == batch_id)))


def audit_count(session):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(AuditEntry).where(~AuditEntry.action.startswith("auth.")))


def test_centre_dispatches_during_the_sitting_and_the_supervisor_watches_every_room(app, client, session, exam,
                                                                                    monkeypatch):
    from web.sockets import proctor as proctor_ns

    monkeypatch.setattr(proctor_ns, "now", lambda: T0 + 5 * MIN)
    exam.started(0)
    sup = make_user(session, Role.SUPERVISOR)
    session.flush()
    watcher = console_socket(app, sup)
    assert watcher.is_connected(NS)
    assert call(watcher, "watch", {"room_id": exam.room1.id})["ok"] is False  # not yet dispatched

    login_as(client, exam.world.centre)
    page = client.get(f"/batches/{exam.batch.id}").get_data(as_text=True)
    assert 'id="dispatch-form"' in page and sup.name in page
    resp = client.post(f"/batches/{exam.batch.id}/supervisors", data={"supervisor_id": str(sup.id)},
                       follow_redirects=True)
    assert f"已选派质量督导员「{sup.name}」" in resp.get_data(as_text=True)
    assert (sup.id, "supervisor", True) in staff_rows(session, exam.batch.id)

    for room in (exam.room1, exam.room2):  # the same connection, no reconnect needed
        ack = call(watcher, "watch", {"room_id": room.id})
        assert ack["ok"] is True and ack["snapshot"]["can_act"] is False
    assert call(watcher, "pause_room", {"room_id": exam.room1.id})["code"] == "read_only"
    watcher.disconnect(NS)
    login_as(client, sup)
    assert client.get(f"/supervise/rooms/{exam.room2.id}").status_code == 200
    index = client.get("/supervise/").get_data(as_text=True)
    assert "中心选派" in index and f'href="/supervise/sittings/{exam.sitting.id}/report"' in index


def test_the_institution_can_neither_pick_nor_remove_the_centres_supervisors(client, session):
    world = World(session)
    batch = world.plan()
    batches.file_plan(session, world.admin, batch.id, dt.date(2026, 9, 28))
    sup = make_user(session, Role.SUPERVISOR)
    row = supervision.dispatch_supervisor(session, world.centre, batch.id, sup.id)
    batches.return_plan(session, world.centre, batch.id, "补充材料")  # the plan is editable again
    other_centre_sup = make_user(session, Role.SUPERVISOR)
    session.flush()
    login_as(client, world.admin)
    page = client.get(f"/batches/{batch.id}").get_data(as_text=True)
    assert 'id="dispatch-form"' not in page
    assert f"/staff/{row.id}/remove" not in page  # no remove button for the centre's supervisor
    internal = next(s for s in batch.staff if s.role == "supervisor" and not s.dispatched)
    assert f"/staff/{internal.id}/remove" in page
    assert f"（{other_centre_sup.username}）" not in page  # not among the accounts it may assign

    before, audits = staff_rows(session, batch.id), audit_count(session)
    resp = client.post(f"/batches/{batch.id}/staff/{row.id}/remove", follow_redirects=True)
    assert "由省职业技能鉴定中心选派，评价机构不能移除" in resp.get_data(as_text=True)
    resp = client.post(f"/batches/{batch.id}/staff", data={"user_id": str(other_centre_sup.id)},
                       follow_redirects=True)
    assert "由中心选派" in resp.get_data(as_text=True)
    assert client.post(f"/batches/{batch.id}/supervisors/{row.id}/withdraw").status_code == 403
    assert client.post(f"/batches/{batch.id}/supervisors",
                       data={"supervisor_id": str(other_centre_sup.id)}).status_code == 403
    assert staff_rows(session, batch.id) == before and audit_count(session) == audits
    # Its own supervisor it may take off the editable plan.
    internal_id, internal_user = internal.id, internal.user_id
    resp = client.post(f"/batches/{batch.id}/staff/{internal_id}/remove", follow_redirects=True)
    assert "已从认定计划中移除" in resp.get_data(as_text=True)
    assert staff_rows(session, batch.id) == [r for r in before if r[0] != internal_user]


def test_centre_withdraws_on_the_batch_page(client, session, exam):
    sup = make_user(session, Role.SUPERVISOR)
    row_id = supervision.dispatch_supervisor(session, exam.world.centre, exam.batch.id, sup.id).id
    session.flush()
    login_as(client, exam.world.centre)
    resp = client.post(f"/batches/{exam.batch.id}/supervisors/{row_id}/withdraw", follow_redirects=True)
    assert "已撤回选派的质量督导员" in resp.get_data(as_text=True)
    assert all(user_id != sup.id for user_id, _, _ in staff_rows(session, exam.batch.id))
    assert client.post(f"/batches/{exam.batch.id}/supervisors/{row_id}/withdraw").status_code == 404


def test_reports_per_sitting_on_the_supervisor_pages(client, session, exam, monkeypatch):
    from web.proctor import views

    later = ExamSession(starts_at=(T0 + dt.timedelta(days=1)).astimezone(dt.UTC), duration_minutes=90, place="实训楼")
    exam.sitting.module.sessions.append(later)
    session.flush()
    monkeypatch.setattr(views, "now", lambda: T0 + 100 * MIN)
    login_as(client, internal_of(session, exam))
    index = client.get("/supervise/").get_data(as_text=True)
    assert f'data-sitting="{exam.sitting.id}"' in index and f'data-sitting="{later.id}"' in index
    url = f"/supervise/sittings/{exam.sitting.id}/report"
    resp = client.post(url, data={"findings": "第一场良好。", "rating": "good"}, follow_redirects=True)
    assert "督考报告已提交" in resp.get_data(as_text=True)
    resp = client.post(url, data={"findings": "再交一次。", "rating": "poor"}, follow_redirects=True)
    assert "第一场良好" in resp.get_data(as_text=True) and "再交一次" not in resp.get_data(as_text=True)
    assert "本场考试开始后才能提交" in client.get(f"/supervise/sittings/{later.id}/report").get_data(as_text=True)
    monkeypatch.setattr(views, "now", lambda: T0 + dt.timedelta(days=1, minutes=5))
    resp = client.post(f"/supervise/sittings/{later.id}/report",
                       data={"findings": "第二场良好。", "rating": "excellent"}, follow_redirects=True)
    assert "督考报告已提交" in resp.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(pr.SupervisionReport)) == 2


def test_the_centre_reads_every_record_and_report_and_others_do_not(client, session, exam):
    other = Exam(session)
    report = pr.submit_supervision_report(session, internal_of(session, other), other.sitting.id, "抽查良好。",
                                          "good", T0 + MIN)
    session.flush()
    login_as(client, exam.world.centre)
    rooms = client.get("/oversight/rooms").get_data(as_text=True)
    for room in (exam.room1, exam.room2, other.room1, other.room2):
        assert f'data-room="{room.id}"' in rooms
    found = client.get("/oversight/rooms", query_string={"q": other.batch.name}).get_data(as_text=True)
    assert f'data-room="{other.room1.id}"' in found and f'data-room="{exam.room1.id}"' not in found
    for room in (exam.room1, other.room1):
        assert "考场记录表" in client.get(f"/proctor/rooms/{room.id}/record").get_data(as_text=True)
        pdf = client.get(f"/proctor/rooms/{room.id}/record.pdf")
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.get(f"/supervise/rooms/{exam.room1.id}").status_code == 403  # records, not the live console
    reports = client.get("/oversight/reports").get_data(as_text=True)
    assert f'data-report="{report.id}"' in reports
    assert f'data-report="{report.id}"' not in client.get(
        "/oversight/reports", query_string={"q": exam.batch.name}).get_data(as_text=True)
    detail = client.get(f"/oversight/reports/{report.id}").get_data(as_text=True)
    assert "抽查良好。" in detail and "机构内部" in detail
    pdf = client.get(f"/oversight/reports/{report.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.get("/oversight/reports/999999").status_code == 404
    # Another institution's staff read neither.
    for user in (exam.world.admin, internal_of(session, exam), exam.proctor1):
        login_as(client, user)
        assert client.get(f"/proctor/rooms/{other.room1.id}/record").status_code == 403
        assert client.get(f"/oversight/reports/{report.id}").status_code == 403
        assert client.get("/oversight/rooms").status_code == 403
