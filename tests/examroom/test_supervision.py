"""Supervision wired the right way round (issue 11 point 5): an institution's own supervisors,
the centre's dispatched ones, one report per sitting, and the centre reading every room record
and report."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from examroom import batches, supervision
from examroom import proctoring as pr
from examroom.models import BatchStaff, ExamSession, SupervisionReport
from foundation.accounts import create_user
from foundation.audit import AuditEntry
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.roles import Role
from tests.examroom.worlds import MIN, T0, Exam, World, counts
from tests.factories import make_institution, make_user

FILED_ON = dt.date(2026, 9, 28)


@pytest.fixture
def exam(session):
    return Exam(session)


def internal_of(session, exam):
    return session.scalar(select(BatchStaff).where(BatchStaff.batch_id == exam.batch.id,
                                                   BatchStaff.role == "supervisor")).user


def audits(session, action):
    return session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def unchanged(session, call, exc, match):
    """``call`` is refused with ``exc`` matching ``match`` and writes nothing."""
    before = counts(session) | {"reports": session.scalar(select(func.count()).select_from(SupervisionReport))}
    with pytest.raises(exc, match=match):
        call()
    after = counts(session) | {"reports": session.scalar(select(func.count()).select_from(SupervisionReport))}
    assert after == before


def second_sitting(session, exam, *, hours=24):
    """Another sitting of the exam's theory module (added directly: the plan is acknowledged)."""
    sitting = ExamSession(starts_at=(T0 + dt.timedelta(hours=hours)).astimezone(dt.UTC), duration_minutes=90,
                          place="实训楼")
    exam.sitting.module.sessions.append(sitting)
    session.flush()
    return sitting


# ---------------------------------------------------------------- the institution's own supervisors


def test_an_institution_admin_creates_its_own_supervisor(session):
    world = World(session)
    sup = create_user(session, world.admin, role=Role.SUPERVISOR, name="机构督导", username="inst_sup",
                      password="Qilin-Gate-73")
    assert sup.institution_id == world.inst.id
    other = make_institution(session)
    with pytest.raises(PermissionDenied):
        create_user(session, world.admin, role=Role.SUPERVISOR, name="他人督导", username="other_sup",
                    password="Qilin-Gate-73", institution_id=other.id)
    # The centre still creates its own (no institution).
    centre_sup = create_user(session, world.centre, role=Role.SUPERVISOR, name="中心督导", username="centre_sup",
                             password="Qilin-Gate-73")
    assert centre_sup.institution_id is None


def test_the_institution_assigns_only_its_own_supervisors(session):
    world = World(session)
    batch = world.batch()
    centre_sup = make_user(session, Role.SUPERVISOR)
    foreign = make_user(session, Role.SUPERVISOR, institution=make_institution(session))
    unchanged(session, lambda: batches.assign_staff(session, world.admin, batch.id, user_id=centre_sup.id,
                                                    role="supervisor"), ValidationError, "由中心选派")
    unchanged(session, lambda: batches.assign_staff(session, world.admin, batch.id, user_id=foreign.id,
                                                    role="supervisor"), ValidationError, "不属于本机构")
    (own,) = world.people(Role.SUPERVISOR, 1)
    row = batches.assign_staff(session, world.admin, batch.id, user_id=own.id, role="supervisor")
    assert row.dispatched is False


def test_the_plan_needs_an_internal_supervisor_and_dispatched_ones_do_not_count(session):
    world = World(session)
    lone = world.plan(supervisors=0)
    unchanged(session, lambda: batches.file_plan(session, world.admin, lone.id, FILED_ON), ValidationError,
              "本机构的质量督导员")
    batch = world.plan(supervisors=1)
    batches.file_plan(session, world.admin, batch.id, FILED_ON)
    supervision.dispatch_supervisor(session, world.centre, batch.id, make_user(session, Role.SUPERVISOR).id)
    batches.return_plan(session, world.centre, batch.id, "补充材料")
    internal = next(s for s in batch.staff if s.role == "supervisor" and not s.dispatched)
    batches.remove_staff(session, world.admin, batch.id, internal.id)
    assert [s.dispatched for s in batch.staff if s.role == "supervisor"] == [True]
    unchanged(session, lambda: batches.file_plan(session, world.admin, batch.id, FILED_ON), ValidationError,
              "至少须安排 1 名本机构的质量督导员（当前 0 名）")


# ---------------------------------------------------------------- the centre's dispatch


def test_the_institution_cannot_remove_a_dispatched_supervisor(session):
    world = World(session)
    batch = world.plan()
    batches.file_plan(session, world.admin, batch.id, FILED_ON)
    row = supervision.dispatch_supervisor(session, world.centre, batch.id, make_user(session, Role.SUPERVISOR).id)
    batches.return_plan(session, world.centre, batch.id, "补充材料")  # editable again
    unchanged(session, lambda: batches.remove_staff(session, world.admin, batch.id, row.id), PermissionDenied,
              "由省职业技能鉴定中心选派，评价机构不能移除")
    # Nor can it withdraw through the centre's service.
    unchanged(session, lambda: supervision.withdraw_supervisor(session, world.admin, batch.id, row.id),
              PermissionDenied, "权限")
    # Its own staff it may remove while the plan is editable.
    proctor = next(s for s in batch.staff if s.role == "proctor")
    batches.remove_staff(session, world.admin, batch.id, proctor.id)
    assert proctor not in batch.staff and len(audits(session, "batch.remove_staff")) == 1


def test_dispatch_refusals_change_nothing(session):
    world = World(session)
    draft = world.plan()
    sup = make_user(session, Role.SUPERVISOR)
    unchanged(session, lambda: supervision.dispatch_supervisor(session, world.centre, draft.id, sup.id),
              ValidationError, "尚未报备")
    batches.file_plan(session, world.admin, draft.id, FILED_ON)
    unchanged(session, lambda: supervision.dispatch_supervisor(session, world.admin, draft.id, sup.id),
              PermissionDenied, "权限")
    internal = next(s.user for s in draft.staff if s.role == "supervisor")
    unchanged(session, lambda: supervision.dispatch_supervisor(session, world.centre, draft.id, internal.id),
              ValidationError, "隶属于评价机构")
    (proctor,) = world.people(Role.PROCTOR, 1)
    unchanged(session, lambda: supervision.dispatch_supervisor(session, world.centre, draft.id, proctor.id),
              ValidationError, "不是有效的质量督导员")
    idle = make_user(session, Role.SUPERVISOR, active=False)
    unchanged(session, lambda: supervision.dispatch_supervisor(session, world.centre, draft.id, idle.id),
              ValidationError, "不是有效的质量督导员")
    unchanged(session, lambda: supervision.dispatch_supervisor(session, world.centre, 999_999, sup.id),
              NotFound, "不存在")
    supervision.dispatch_supervisor(session, world.centre, draft.id, sup.id)
    unchanged(session, lambda: supervision.dispatch_supervisor(session, world.centre, draft.id, sup.id),
              ValidationError, "已在本批次")
    assert len(audits(session, "supervision.dispatch")) == 1


def test_dispatched_during_an_open_sitting_the_supervisor_watches_every_room_at_once(session, exam):
    attempt = exam.started(0)  # room 1 open, a candidate answering
    sup = make_user(session, Role.SUPERVISOR)
    assert not pr.can_watch(session, sup, exam.room1) and pr.supervisor_rooms(session, sup, T0) == []
    with pytest.raises(PermissionDenied):
        pr.room_snapshot(session, sup, exam.room1.id)
    row = supervision.dispatch_supervisor(session, exam.world.centre, exam.batch.id, sup.id)
    assert row.dispatched and exam.batch.status == "acknowledged"
    for room in (exam.room1, exam.room2):
        assert pr.can_watch(session, sup, room)
        assert pr.room_snapshot(session, sup, room.id)["can_act"] is False
        assert pr.room_record(session, sup, room.id, T0 + 5 * MIN)["can_sign"] is False
    assert [r.id for r in pr.supervisor_rooms(session, sup, T0)] == [exam.room1.id, exam.room2.id]
    with pytest.raises(pr.ReadOnly):
        pr.pause(session, sup, attempt.id, T0 + 6 * MIN)
    # The institution's own supervisor watches every room too.
    internal = internal_of(session, exam)
    assert all(pr.can_watch(session, internal, room) for room in (exam.room1, exam.room2))
    # Withdrawn: the access ends with the assignment.
    supervision.withdraw_supervisor(session, exam.world.centre, exam.batch.id, row.id)
    assert not pr.can_watch(session, sup, exam.room1)
    assert len(audits(session, "supervision.withdraw")) == 1


def test_withdrawal_is_refused_for_internal_supervisors_and_after_a_report(session, exam):
    internal = next(s for s in exam.batch.staff if s.role == "supervisor")
    unchanged(session, lambda: supervision.withdraw_supervisor(session, exam.world.centre, exam.batch.id,
                                                               internal.id), ValidationError, "不是中心选派")
    unchanged(session, lambda: supervision.withdraw_supervisor(session, exam.world.centre, exam.batch.id, 999_999),
              NotFound, "不存在")
    sup = make_user(session, Role.SUPERVISOR)
    row = supervision.dispatch_supervisor(session, exam.world.centre, exam.batch.id, sup.id)
    pr.submit_supervision_report(session, sup, exam.sitting.id, "抽查：秩序良好。", "good", T0 + 30 * MIN)
    unchanged(session, lambda: supervision.withdraw_supervisor(session, exam.world.centre, exam.batch.id, row.id),
              ValidationError, "已提交本批次的督考报告")


def test_another_institutions_supervisors_reach_nothing_of_this_batch(session, exam):
    other = Exam(session)
    theirs = internal_of(session, other)
    assert not pr.can_watch(session, theirs, exam.room1)
    with pytest.raises(PermissionDenied):
        pr.room_record(session, theirs, exam.room1.id, T0)
    with pytest.raises(PermissionDenied):
        pr.supervision_report(session, theirs, exam.sitting.id, T0 + MIN)
    # A centre supervisor dispatched to the other batch only is a stranger here as well.
    sup = make_user(session, Role.SUPERVISOR)
    supervision.dispatch_supervisor(session, other.world.centre, other.batch.id, sup.id)
    assert not pr.can_watch(session, sup, exam.room1)
    with pytest.raises(PermissionDenied):
        pr.submit_supervision_report(session, sup, exam.sitting.id, "越权", "good", T0 + MIN)


# ---------------------------------------------------------------- one report per sitting


@pytest.mark.parametrize("kind", ["internal", "dispatched"])
def test_one_report_per_sitting_and_supervisor(session, exam, kind):
    if kind == "internal":
        sup = internal_of(session, exam)
    else:
        sup = make_user(session, Role.SUPERVISOR)
        supervision.dispatch_supervisor(session, exam.world.centre, exam.batch.id, sup.id)
    later = second_sitting(session, exam)
    first = pr.submit_supervision_report(session, sup, exam.sitting.id, "第一场秩序良好。", "good", T0 + 100 * MIN)
    unchanged(session, lambda: pr.submit_supervision_report(session, sup, exam.sitting.id, "补充", "poor",
                                                            T0 + 101 * MIN), ValidationError, "本场次")
    # The next sitting's report waits for that sitting to start, then is accepted.
    unchanged(session, lambda: pr.submit_supervision_report(session, sup, later.id, "第二场", "good",
                                                            T0 + 101 * MIN), ValidationError, "考试开始后")
    second = pr.submit_supervision_report(session, sup, later.id, "第二场秩序良好。", "excellent",
                                          T0 + dt.timedelta(hours=25))
    assert (first.exam_session_id, second.exam_session_id) == (exam.sitting.id, later.id)
    assert {r.batch_id for r in (first, second)} == {exam.batch.id}
    assert [s.id for s in pr.supervised_sittings(session, sup)] == [exam.sitting.id, later.id]
    assert pr.supervision_report(session, sup, later.id, T0 + dt.timedelta(hours=26))["report"].id == second.id
    assert len(audits(session, "supervision_report.submit")) == 2


# ---------------------------------------------------------------- the centre reads


def test_the_centre_reads_every_room_record_and_report(session, exam):
    other = Exam(session)
    centre = exam.world.centre
    for room in (exam.room1, exam.room2, other.room1):
        assert pr.room_record(session, centre, room.id, T0 + MIN)["can_sign"] is False
    assert not pr.can_watch(session, centre, exam.room1)  # reading records is not watching live
    report = pr.submit_supervision_report(session, internal_of(session, other), other.sitting.id, "良好。", "good",
                                          T0 + MIN)
    view = pr.report_view(session, centre, report.id, T0 + 2 * MIN)
    assert view["report"].id == report.id and view["sitting"].id == other.sitting.id
    # Others read no record of a room they do not watch, nor a report that is not theirs.
    for stranger in (exam.world.admin, other.world.admin, internal_of(session, exam), exam.proctor1):
        with pytest.raises(PermissionDenied):
            pr.read_report(session, stranger, report.id)
    with pytest.raises(PermissionDenied):
        pr.room_record(session, exam.world.admin, exam.room1.id, T0)
    assert pr.read_report(session, internal_of(session, other), report.id).id == report.id
    with pytest.raises(NotFound):
        pr.read_report(session, centre, 999_999)
