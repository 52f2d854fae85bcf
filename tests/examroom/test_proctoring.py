"""Proctoring services: authorisation, room-wide actions, the seat map, the room record,
signatures, move approval and the supervision report."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from examroom import attempts as svc
from examroom import console
from examroom import proctoring as pr
from examroom.lifecycle import AttemptError
from examroom.models import AttemptEvent, BatchStaff
from foundation.audit import AuditEntry
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.roles import Role
from tests.examroom.worlds import MIN, T0, Exam
from tests.factories import make_user


@pytest.fixture
def exam(session):
    return Exam(session)


def supervisor_of(session, exam):
    return session.scalar(select(BatchStaff).where(BatchStaff.batch_id == exam.sitting.module.batch_id,
                                                   BatchStaff.role == "supervisor")).user


def audits(session, action):
    return session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def events(session, attempt, kind):
    return [json.loads(e.data_json) for e in session.scalars(
        select(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id, AttemptEvent.kind == kind))]


def log(session, attempt, kind, data, at, actor=None):
    svc.log_event(session, actor or attempt.candidate, attempt.id, kind, data, at)


def seat_of(snapshot, attempt_id):
    return next(s for s in snapshot["seats"] if s["attempt_id"] == attempt_id)


# ---------------------------------------------------------------- authorisation


def test_a_proctor_acts_only_in_their_room_and_a_supervisor_never(session, exam):
    a = exam.started(0)
    sup = supervisor_of(session, exam)
    other_room = exam.proctor2
    for actor in (other_room, sup, make_user(session, Role.CENTRE_ADMIN)):
        with pytest.raises(PermissionDenied):
            pr.pause(session, actor, a.id, T0 + 5 * MIN)
        with pytest.raises(PermissionDenied):
            pr.pause_room(session, actor, exam.room1.id, T0 + 5 * MIN)
        with pytest.raises(PermissionDenied):
            pr.warn(session, actor, a.id, "请勿交头接耳", T0 + 5 * MIN)
        with pytest.raises(PermissionDenied):
            pr.sign_room_record(session, actor, exam.room1.id, T0 + 5 * MIN, confirm_open=True)
    with pytest.raises(PermissionDenied, match="督考员只能查看"):
        pr.terminate(session, sup, a.id, "夹带", 2, T0 + 5 * MIN)
    assert a.status == "in_progress"
    assert events(session, a, "warn") == []
    with pytest.raises(NotFound):
        pr.pause(session, exam.proctor1, 10**9, T0 + 5 * MIN)


def test_watching_is_for_the_rooms_proctors_and_the_batchs_supervisors(session, exam):
    sup = supervisor_of(session, exam)
    assert pr.room_snapshot(session, exam.proctor1, exam.room1.id)["can_act"] is True
    snap = pr.room_snapshot(session, sup, exam.room1.id)
    assert snap["can_act"] is False and len(snap["seats"]) == 4
    assert pr.room_snapshot(session, sup, exam.room2.id)["room"]["id"] == exam.room2.id  # any room of the batch
    with pytest.raises(PermissionDenied):
        pr.room_snapshot(session, exam.proctor2, exam.room1.id)
    stranger = make_user(session, Role.SUPERVISOR)
    with pytest.raises(PermissionDenied):
        pr.room_snapshot(session, stranger, exam.room1.id)
    assert [r.id for r in pr.supervisor_rooms(session, sup, T0)] == [exam.room1.id, exam.room2.id]
    assert [r.id for r in pr.proctor_rooms(session, exam.proctor1, T0)] == [exam.room1.id]
    assert pr.supervisor_rooms(session, stranger, T0) == []


# ---------------------------------------------------------------- room-wide actions


def test_room_wide_pause_resume_and_extend_touch_every_open_attempt(session, exam):
    answering = [exam.started(k) for k in range(3)]
    waiting = exam.attempt(3)  # opened, never started
    t = T0 + 10 * MIN
    out = pr.pause_room(session, exam.proctor1, exam.room1.id, t, reason="停电")
    assert sorted(out.changed) == sorted(a.id for a in answering)
    assert waiting.id in out.refused and "不能暂停" in out.refused[waiting.id]
    assert all(a.status == "paused" for a in answering)
    assert events(session, answering[0], "pause") == [{"reason": "停电", "room": True}]
    room_audit = audits(session, "room.pause")
    assert len(room_audit) == 1 and sorted(json.loads(room_audit[0].after_json)["changed"]) == sorted(
        a.id for a in answering)
    assert audits(session, "attempt.pause") == []  # the room's entry names them: one entry, not one each
    out = pr.extend_room(session, exam.proctor1, exam.room1.id, 10, "停电补时", t + 5 * MIN)
    assert set(out.changed) == {a.id for a in answering} | {waiting.id}
    assert all(svc.load_state(a).extension_minutes == 10 for a in (*answering, waiting))
    out = pr.resume_room(session, exam.proctor1, exam.room1.id, t + 6 * MIN)
    assert sorted(out.changed) == sorted(a.id for a in answering)
    assert all(a.status == "in_progress" for a in answering)
    # Remaining time: 90 + 10 extension from the room's start T0, 6 minutes paused do not count.
    remaining = svc.remaining(session, answering[0], t + 6 * MIN)
    assert remaining == pytest.approx((90 + 10) * 60 - (t - T0).total_seconds())
    with pytest.raises(ValidationError, match="延长原因"):
        pr.extend_room(session, exam.proctor1, exam.room1.id, 10, "  ", t + 7 * MIN)
    with pytest.raises(AttemptError):
        pr.extend_room(session, exam.proctor1, exam.room1.id, 0, "补时", t + 7 * MIN)
    assert all(svc.load_state(a).extension_minutes == 10 for a in answering)


def test_opening_a_room_twice_is_refused(session, exam):
    out = pr.open_room(session, exam.proctor1, exam.room1.id, T0)
    assert len(out.changed) == 4
    entries = audits(session, "room.open")
    assert len(entries) == 1 and sorted(json.loads(entries[0].after_json)["opened"]) == sorted(out.changed)
    assert entries[0].actor_id == exam.proctor1.id and audits(session, "attempt.open") == []
    assert all(len(events(session, exam.attempt(k), "open")) == 1 for k in range(4))
    with pytest.raises(ValidationError, match="^本考场已于 09:00 开考，不能重复开考。$"):
        pr.open_room(session, exam.proctor1, exam.room1.id, T0 + MIN)
    assert pr.room_opened_at(session, exam.room1.id) == T0
    # A room without candidates is not "already open": it says so.
    with pytest.raises(ValidationError, match="^本考场没有可开考的考生。$"):
        pr.open_room(session, exam.proctor2, exam.room2.id, T0)
    assert pr.room_opened_at(session, exam.room2.id) is None


def test_single_actions_pause_resume_extend_terminate_warn_incident(session, exam):
    a = exam.started(0)
    p = exam.proctor1
    pr.pause(session, p, a.id, T0 + 5 * MIN, reason="考生身体不适")
    assert a.status == "paused"
    pr.resume(session, p, a.id, T0 + 8 * MIN)
    pr.extend(session, p, a.id, 5, "设备故障", T0 + 9 * MIN)
    pr.warn(session, p, a.id, "请勿左顾右盼", T0 + 10 * MIN)
    pr.record_incident(session, p, a.id, 1, "偷看邻座", T0 + 11 * MIN)
    with pytest.raises(ValidationError, match="违纪等级"):
        pr.record_incident(session, p, a.id, 5, "偷看邻座", T0 + 12 * MIN)
    with pytest.raises(ValidationError, match="警告内容"):
        pr.warn(session, p, a.id, "", T0 + 12 * MIN)
    with pytest.raises(ValidationError, match="终止原因"):
        pr.terminate(session, p, a.id, "", 2, T0 + 12 * MIN)
    pr.terminate(session, p, a.id, "使用手机", 2, T0 + 13 * MIN)
    assert a.status == "terminated"
    assert events(session, a, "warn") == [{"message": "请勿左顾右盼"}]
    assert events(session, a, "incident") == [{"tier": 1, "description": "偷看邻座"}]
    assert len(audits(session, "attempt.warn")) == 1 and len(audits(session, "attempt.incident")) == 1
    with pytest.raises(ValidationError):
        pr.warn(session, p, a.id, "再次警告", T0 + 14 * MIN)


# ---------------------------------------------------------------- seat map


def test_seat_map_states(session, exam):
    pr.open_room(session, exam.proctor1, exam.room1.id, T0)
    a0, a1, a2, a3 = (exam.attempt(k) for k in range(4))
    t = T0 + 2 * MIN
    # a0: connected and answering, two answers, a focus loss, a warning
    log(session, a0, "connect", {"sid": "s0"}, t)
    svc.start_attempt(session, exam.candidates[0], a0.id, t)
    exam.answer(a0, 1, 1, "B", t)
    exam.answer(a0, 2, 2, "D", t + MIN)
    log(session, a0, "focus_loss", {"signal": "visibility"}, t + MIN)
    pr.warn(session, exam.proctor1, a0.id, "注意考场纪律", t + MIN)
    # a1: started then disconnected -> offline
    log(session, a1, "connect", {"sid": "s1"}, t)
    svc.start_attempt(session, exam.candidates[1], a1.id, t)
    log(session, a1, "disconnect", {"sid": "s1"}, t + MIN)
    # a2: connected, waiting
    log(session, a2, "connect", {"sid": "s2"}, t)
    # a3: never came; then a takeover keeps a0 online: new sid connects, old disconnects
    log(session, a0, "connect", {"sid": "s0b"}, t + 2 * MIN)
    log(session, a0, "disconnect", {"sid": "s0"}, t + 2 * MIN)
    snap = pr.room_snapshot(session, exam.proctor1, exam.room1.id)
    s0, s1, s2, s3 = (seat_of(snap, a.id) for a in (a0, a1, a2, a3))
    assert (s0["status"], s0["status_label"], s0["online"]) == ("answering", "作答中", True)
    assert s0["answered"] == 2 and s0["item_count"] == 4 and s0["focus_losses"] == 1 and s0["warnings"] == 1
    assert s0["last_saved_at"].startswith((t + MIN).astimezone().isoformat()[:10])
    assert s0["id_masked"].count("*") == 8 and s0["name"] == exam.candidates[0].name
    assert (s1["status"], s1["status_label"]) == ("offline", "离线")
    assert (s2["status"], s2["status_label"]) == ("connected", "已连接")
    assert (s3["status"], s3["status_label"]) == ("absent", "未入场")
    assert snap["counts"]["answering"] == 1 and snap["counts"]["expected"] == 4
    pr.pause(session, exam.proctor1, a0.id, t + 3 * MIN)
    assert console.seat_summary_for(session, a0.id)["status"] == "paused"
    svc.submit_attempt(session, exam.candidates[1], a1.id, T0 + 40 * MIN)
    assert console.seat_summary_for(session, a1.id)["status_label"] == "已交卷"
    pr.terminate(session, exam.proctor1, a2.id, "替考", 3, T0 + 41 * MIN)
    summary = console.seat_summary_for(session, a2.id)
    assert summary["status"] == "terminated" and summary["room_id"] == exam.room1.id
    assert summary["last_event"]["label"] == "终止考试" and "替考" in summary["last_event"]["detail"]
    assert console.seat_summary_for(session, 10**9) is None


def test_seats_without_attempts_show_absent_and_empty(session, exam):
    snap = pr.room_snapshot(session, exam.proctor1, exam.room1.id)
    assert {s["status"] for s in snap["seats"]} == {"absent"}
    assert all(s["attempt_id"] is None for s in snap["seats"])
    empty = pr.room_snapshot(session, exam.proctor2, exam.room2.id)
    assert empty["seats"] == [] and (empty["room"]["rows"], empty["room"]["cols"]) == (2, 2)


# ---------------------------------------------------------------- moves


def test_approve_move_rebinds_the_device(session, exam):
    a = exam.started(0)
    a.device_id = "old-device-1"
    session.flush()
    with pytest.raises(ValidationError, match="没有待批准"):
        pr.approve_move(session, exam.proctor1, a.id, T0 + 5 * MIN)
    log(session, a, "move_requested", {"device_id": "new-device-2"}, T0 + 5 * MIN)
    assert console.seat_summary_for(session, a.id)["pending_move"]["device"] == "new-devi"
    with pytest.raises(PermissionDenied):
        pr.approve_move(session, exam.proctor2, a.id, T0 + 6 * MIN)
    pr.approve_move(session, exam.proctor1, a.id, T0 + 6 * MIN)
    assert a.device_id == "new-device-2"
    assert events(session, a, "move_approved") == [{"device_id": "new-device-2", "from": "old-device-1"}]
    assert console.seat_summary_for(session, a.id)["pending_move"] is None
    assert len(audits(session, "attempt.move_approved")) == 1
    with pytest.raises(ValidationError):
        pr.approve_move(session, exam.proctor1, a.id, T0 + 7 * MIN)


# ---------------------------------------------------------------- room record and signatures


def test_room_record_counts_and_chronology(session, exam):
    a0, a1, a2 = (exam.started(k) for k in range(3))  # candidate 3 never arrives
    p = exam.proctor1
    pr.pause_room(session, p, exam.room1.id, T0 + 10 * MIN, reason="停电")
    pr.resume_room(session, p, exam.room1.id, T0 + 15 * MIN)
    pr.extend(session, p, a0.id, 5, "设备故障", T0 + 16 * MIN)
    pr.warn(session, p, a1.id, "请勿交谈", T0 + 17 * MIN)
    pr.record_incident(session, p, a1.id, 1, "与邻座交谈", T0 + 18 * MIN)
    pr.terminate(session, p, a2.id, "使用手机", 2, T0 + 19 * MIN)
    svc.submit_attempt(session, exam.candidates[0], a0.id, T0 + 40 * MIN)
    svc.submit_attempt(session, exam.candidates[1], a1.id, T0 + 41 * MIN)
    rec = pr.room_record(session, p, exam.room1.id, T0 + 60 * MIN)
    assert rec["counts"] == {"expected": 4, "present": 3, "absent": 1, "submitted": 2, "expired": 0,
                             "terminated": 1, "answering": 0}
    assert [x["name"] for x in rec["absentees"]] == [exam.candidates[3].name]
    assert [p_["name"] for p_ in rec["proctors"]][0] == exam.proctor1.name and len(rec["proctors"]) == 2
    kinds = [e["kind"] for e in rec["entries"]]
    assert kinds == ["open", "pause", "resume", "extend", "warn", "incident", "terminate"]
    pause = rec["entries"][1]
    assert pause["who"] == "全场 3 人" and "停电" in pause["detail"] and pause["actor"] == exam.proctor1.name
    assert "二级" in rec["entries"][-1]["detail"] and "使用手机" in rec["entries"][-1]["detail"]
    assert rec["open_attempts"] == 0
    assert rec["room"]["name"] == exam.room1.name
    # Supervisors read it; proctors of other rooms do not.
    assert pr.room_record(session, supervisor_of(session, exam), exam.room1.id, T0 + 60 * MIN)["digest"] == \
        rec["digest"]
    with pytest.raises(PermissionDenied):
        pr.room_record(session, exam.proctor2, exam.room1.id, T0 + 60 * MIN)


def test_signatures_need_closed_attempts_or_confirmation_and_go_stale(session, exam):
    a0 = exam.started(0)
    p1 = exam.proctor1
    p2 = session.scalars(select(BatchStaff).where(BatchStaff.room_id == exam.room1.id)).all()[1].user
    with pytest.raises(ValidationError, match="未结束作答"):
        pr.sign_room_record(session, p1, exam.room1.id, T0 + 5 * MIN)
    sig = pr.sign_room_record(session, p1, exam.room1.id, T0 + 5 * MIN, confirm_open=True)
    assert sig.open_attempts >= 1
    with pytest.raises(ValidationError, match="已签署"):
        pr.sign_room_record(session, p1, exam.room1.id, T0 + 6 * MIN, confirm_open=True)
    svc.submit_attempt(session, exam.candidates[0], a0.id, T0 + 40 * MIN)
    # The late-entry window is over: the other three are absent, nothing is open any more.
    pr.sign_room_record(session, p2, exam.room1.id, T0 + 45 * MIN)
    rec = pr.room_record(session, p1, exam.room1.id, T0 + 45 * MIN)
    current = {s["name"]: s["current"] for s in rec["signatures"]}
    assert current == {p1.name: False, p2.name: True}  # p1 signed before the submission changed it
    assert rec["unsigned"] == [] and rec["can_sign"] is False
    assert len(audits(session, "room_record.sign")) == 2


# ---------------------------------------------------------------- supervision report


def test_supervision_report_once_by_an_assigned_supervisor_after_the_start(session, exam):
    sup = supervisor_of(session, exam)
    sitting_id = exam.sitting.id
    with pytest.raises(ValidationError, match="考试开始后"):
        pr.submit_supervision_report(session, sup, sitting_id, "考场秩序良好", "good", T0 - MIN)
    with pytest.raises(PermissionDenied):
        pr.submit_supervision_report(session, make_user(session, Role.SUPERVISOR), sitting_id, "好", "good", T0)
    with pytest.raises(PermissionDenied):
        pr.submit_supervision_report(session, exam.proctor1, sitting_id, "好", "good", T0)
    with pytest.raises(NotFound):
        pr.submit_supervision_report(session, sup, 999_999, "好", "good", T0)
    with pytest.raises(ValidationError, match="评价"):
        pr.submit_supervision_report(session, sup, sitting_id, "考场秩序良好", "perfect", T0 + MIN)
    with pytest.raises(ValidationError, match="督考情况"):
        pr.submit_supervision_report(session, sup, sitting_id, "  ", "good", T0 + MIN)
    report = pr.submit_supervision_report(session, sup, sitting_id, "考场秩序良好，监考到位。", "good", T0 + 90 * MIN)
    assert report.rating_label == "良好" and report.exam_session_id == sitting_id
    with pytest.raises(ValidationError, match="不能重复"):
        pr.submit_supervision_report(session, sup, sitting_id, "补充", "poor", T0 + 91 * MIN)
    view = pr.supervision_report(session, sup, sitting_id, T0 + 92 * MIN)
    assert view["report"].id == report.id and view["can_submit"] is False
    assert [r["room"]["id"] for r in view["rooms"]] == [exam.room1.id, exam.room2.id]
    assert len(audits(session, "supervision_report.submit")) == 1
