"""Batches (认定批次): drafting, the filing rules (10 working days, papers, staffing), the centre's
decision, and that every refusal writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from examroom import batches as svc
from examroom.models import (
    ROOM_SEATS_CEILING,
    BatchModule,
    ExamSession,
    Room,
    Seat,
)
from foundation.audit import AuditEntry
from foundation.calendar import is_working_day, next_working_day
from foundation.errors import PermissionDenied, ValidationError
from foundation.institutions import ScopeEntry
from foundation.levels import level_name
from foundation.roles import Role
from foundation.settings import set_rule
from tests.examroom.worlds import World, _review_plan, _scope_to_level_one, _skill_world, at, counts
from tests.factories import make_blueprint, make_occupation, make_user


@pytest.fixture
def world(session):
    return World(session)


def refused(session, call, match, exc=ValidationError):
    """Run ``call``, expect a refusal matching ``match``, and check that nothing was written."""
    before = counts(session)
    with pytest.raises(exc, match=match) as info:
        call()
    assert counts(session) == before
    return info.value


# ---------------------------------------------------------------- the 10-working-day rule


def test_ten_working_days_across_national_day_2026(session, world):
    # From Mon 2026-09-29 to Fri 10-16: 09-30, 10-08, 10-09, Sat 10-10 (国庆节调休上班), 10-12..10-16
    # are working days (9); 10-01..10-07 are off. Plain weekdays would give 13.
    batch = world.plan(starts="2026-10-16")
    err = refused(session, lambda: svc.file_plan(session, world.admin, batch.id, dt.date(2026, 9, 29)),
                  "首场考试")
    assert err.message == "首场考试须在报备后至少 10 个工作日（含考试当天）举行（当前仅 9 个工作日）。"
    assert batch.status == "draft" and batch.filed_at is None and batch.steps == []

    svc.file_plan(session, world.admin, batch.id, dt.date(2026, 9, 28))  # exactly 10: allowed
    assert batch.status == "filed" and batch.filed_on == dt.date(2026, 9, 28) and batch.filed_at is not None
    assert [(st.from_status, st.to_status, st.actor_id) for st in batch.steps] == [("draft", "filed", world.admin.id)]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "batch.file")).one()
    assert entry.target_id == str(batch.id) and entry.after["filed_on"] == "2026-09-28"


def test_make_up_sunday_before_the_holiday_counts(session, world):
    # Fri 09-18 → Fri 10-09: Sun 09-20 (调休上班) counts, Fri 09-25 (中秋节) and 10-01..10-07 do not.
    batch = world.plan(starts="2026-10-09")
    svc.file_plan(session, world.admin, batch.id, dt.date(2026, 9, 18))
    assert batch.status == "filed"
    late = world.plan(starts="2026-10-08")
    err = refused(session, lambda: svc.file_plan(session, world.admin, late.id, dt.date(2026, 9, 18)), "首场考试")
    assert "当前仅 9 个工作日" in err.message


def test_first_session_day_is_taken_in_beijing_time(session, world):
    # 00:30 Beijing on 10-16 is still 10-15 in UTC; the rule counts Beijing calendar days.
    batch = world.batch()
    sitting = svc.add_session(session, world.admin, batch.id, module="theory",
                              starts_at=at("2026-10-16", 0, 30), duration_minutes=90, paper_id=world.paper.id)
    assert sitting.starts_at.astimezone(dt.UTC).date() == dt.date(2026, 10, 15)
    assert svc.session_date(sitting.starts_at) == dt.date(2026, 10, 16)


def test_the_lead_time_is_a_configurable_rule(session, world):
    batch = world.plan(starts="2026-10-16")
    set_rule(session, world.centre, "batch_filing_lead_working_days", 5)
    err = refused(session, lambda: svc.file_plan(session, world.admin, batch.id, dt.date(2026, 10, 12)), "首场")
    assert err.message == "首场考试须在报备后至少 5 个工作日（含考试当天）举行（当前仅 4 个工作日）。"
    svc.file_plan(session, world.admin, batch.id, dt.date(2026, 10, 9))
    assert batch.status == "filed"


# ---------------------------------------------------------------- scope and permissions


def test_create_batch_inside_scope_only(session, world):
    batch = world.batch()
    assert batch.status == "draft" and batch.institution_id == world.inst.id
    refused(session, lambda: world.batch(level=2), "不在.*备案评价范围内")
    other = make_occupation(session)
    refused(session, lambda: world.batch(occupation_id=other.id), "不在.*备案评价范围内")
    access = make_occupation(session, is_access_type=True)
    session.add(ScopeEntry(institution_id=world.inst.id, occupation_id=access.id, lowest_level=5, highest_level=3))
    session.flush()
    refused(session, lambda: world.batch(occupation_id=access.id), "准入类")
    refused(session, lambda: world.batch(name=batch.name), "已有名为")
    stranger = make_user(session, Role.INSTITUTION_ADMIN)
    refused(session, lambda: svc.create_batch(session, stranger, institution_id=world.inst.id,
                                              occupation_id=world.occupation.id, work_type_id=None, level=4,
                                              name="越权批次"), "本机构", PermissionDenied)
    refused(session, lambda: svc.create_batch(session, world.centre, institution_id=world.inst.id,
                                              occupation_id=world.occupation.id, work_type_id=None, level=4,
                                              name="中心代建"), "权限", PermissionDenied)
    world.inst.status = "suspended"
    session.flush()
    refused(session, lambda: world.batch(), "已暂停")


def test_filing_rechecks_scope(session, world):
    batch = world.plan()
    world.inst.status = "suspended"
    session.flush()
    refused(session, lambda: svc.file_plan(session, world.admin, batch.id, dt.date(2026, 9, 28)), "已暂停")


# ---------------------------------------------------------------- sessions, rooms, papers


def test_room_over_thirty_seats_is_refused(session, world):
    batch = world.batch()
    sitting = svc.add_session(session, world.admin, batch.id, module="theory", starts_at=at("2026-10-16"),
                              duration_minutes=90, paper_id=world.paper.id)
    err = refused(session, lambda: svc.add_room(session, world.admin, sitting.id, name="大考场", rows=6, cols=6),
                  "最多 30 个座位")
    assert err.message == "每个考场最多 30 个座位（当前 6×6=36 个）。"
    refused(session, lambda: svc.add_room(session, world.admin, sitting.id, name="空", rows=0, cols=6), "至少为 1")
    room = svc.add_room(session, world.admin, sitting.id, name="第1考场", rows=5, cols=6)
    assert room.capacity == 30
    refused(session, lambda: svc.add_room(session, world.admin, sitting.id, name="第1考场", rows=2, cols=2), "已有")
    # The database refuses a grid beyond the hard ceiling, whatever code path tries.
    nested = session.begin_nested()
    session.add(Room(exam_session_id=sitting.id, name="绕过", rows=1, cols=ROOM_SEATS_CEILING + 1))
    with pytest.raises(IntegrityError):
        session.flush()
    nested.rollback()


def test_room_size_is_a_configurable_rule(session, world):
    batch = world.batch()
    sitting = svc.add_session(session, world.admin, batch.id, module="theory", starts_at=at("2026-10-16"),
                              duration_minutes=90, paper_id=world.paper.id)
    set_rule(session, world.centre, "room_max_seats", 36)
    assert svc.add_room(session, world.admin, sitting.id, name="大考场", rows=6, cols=6).capacity == 36
    err = refused(session, lambda: svc.add_room(session, world.admin, sitting.id, name="更大", rows=6, cols=7),
                  "最多 36 个座位")
    assert err.message == "每个考场最多 36 个座位（当前 6×7=42 个）。"
    set_rule(session, world.centre, "room_max_seats", 24)
    refused(session, lambda: svc.add_room(session, world.admin, sitting.id, name="第2考场", rows=5, cols=5),
            "最多 24 个座位")


def test_the_exam_day_counts_by_a_rule(session, world):
    # Mon 09-28 → Fri 10-16 is 10 working days counting the exam day, 9 without it.
    batch = world.plan(starts="2026-10-16")
    set_rule(session, world.centre, "batch_filing_counts_exam_day", False)
    err = refused(session, lambda: svc.file_plan(session, world.admin, batch.id, dt.date(2026, 9, 28)), "首场")
    assert err.message == "首场考试须在报备后至少 10 个工作日（不含考试当天）举行（当前仅 9 个工作日）。"
    # 09-25 is 中秋节 and 09-26/27 a weekend: the last working day that still leaves 10 is Thu 09-24.
    assert svc.latest_filing_day(session, dt.date(2026, 10, 16)) == dt.date(2026, 9, 24)
    svc.file_plan(session, world.admin, batch.id, dt.date(2026, 9, 24))
    assert batch.status == "filed"


@pytest.mark.parametrize("counts_day", [True, False])
def test_latest_filing_day_is_the_last_day_the_rule_allows(session, world, counts_day):
    """For every sitting day of a year and both counting rules: filing on latest_filing_day (a
    working day) passes the rule and filing on the next working day does not."""
    set_rule(session, world.centre, "batch_filing_counts_exam_day", counts_day)
    lead = svc.lead_working_days(session)
    day = dt.date(2026, 1, 20)
    while day < dt.date(2026, 12, 31):
        latest = svc.latest_filing_day(session, day)
        assert is_working_day(session, latest), day
        assert svc.lead_before(session, latest, day) >= lead, day
        assert svc.lead_before(session, next_working_day(session, latest), day) < lead, day
        day += dt.timedelta(days=1)


def test_theory_sessions_need_a_locked_paper_of_the_batch(session, world):
    batch = world.plan()
    other_level = make_blueprint(session, world.centre, level=3)
    wrong = world.make_paper(session, blueprint=other_level)
    refused(session, lambda: svc.add_session(session, world.admin, batch.id, module="theory",
                                             starts_at=at("2026-10-20"), duration_minutes=90, paper_id=wrong.id),
            "细目表")
    refused(session, lambda: svc.add_session(session, world.admin, batch.id, module="skill",
                                             starts_at=at("2026-10-20"), duration_minutes=90, paper_id=world.paper.id),
            "只有理论")
    refused(session, lambda: svc.add_session(session, world.admin, batch.id, module="theory",
                                             starts_at=dt.datetime(2026, 10, 20, 9), duration_minutes=90), "时区")
    draft = world.make_paper(session, status="draft")
    sitting = svc.add_session(session, world.admin, batch.id, module="theory", starts_at=at("2026-10-20"),
                              duration_minutes=90, paper_id=draft.id)
    refused(session, lambda: svc.file_plan(session, world.admin, batch.id, dt.date(2026, 9, 28)), "尚未审核锁定")
    sitting.paper_id = None
    session.flush()
    session.expire(sitting, ["paper"])
    refused(session, lambda: svc.file_plan(session, world.admin, batch.id, dt.date(2026, 9, 28)), "未指定试卷")


# ---------------------------------------------------------------- candidates and staff


def test_candidates_of_the_institution_once_each(session, world):
    batch = world.batch()
    a, b, c = world.people(Role.CANDIDATE, 3)
    refused(session, lambda: svc.add_candidates(session, world.admin, batch.id, [a.id, a.id]), "重复")
    foreign = make_user(session, Role.CANDIDATE)
    refused(session, lambda: svc.add_candidates(session, world.admin, batch.id, [a.id, foreign.id]), "不是本机构的考生")
    refused(session, lambda: svc.add_candidates(session, world.admin, batch.id, [world.admin.id]), "不是本机构的考生")
    rows = svc.add_candidates(session, world.admin, batch.id, [a.id, b.id])
    assert [r.candidate_id for r in rows] == [a.id, b.id] and rows[0].category == "other"
    refused(session, lambda: svc.add_candidates(session, world.admin, batch.id, [c.id, b.id]), "已在本批次名册中")


def test_staff_come_from_the_institution_and_supervisors_from_the_centre(session, world):
    batch = world.batch()
    sitting = svc.add_session(session, world.admin, batch.id, module="theory", starts_at=at("2026-10-16"),
                              duration_minutes=90, paper_id=world.paper.id)
    room = svc.add_room(session, world.admin, sitting.id, name="第1考场", rows=5, cols=6)
    (proctor,) = world.people(Role.PROCTOR, 1)
    foreign_proctor = make_user(session, Role.PROCTOR)
    (examiner,) = world.people(Role.EXAMINER, 1)
    (supervisor,) = world.people(Role.SUPERVISOR, 1)
    refused(session, lambda: svc.assign_staff(session, world.admin, batch.id, user_id=foreign_proctor.id,
                                              role="proctor"), "不属于本机构")
    refused(session, lambda: svc.assign_staff(session, world.admin, batch.id, user_id=examiner.id,
                                              role="proctor"), "不是有效的监考员")
    refused(session, lambda: svc.assign_staff(session, world.admin, batch.id, user_id=examiner.id,
                                              role="examiner", room_id=room.id), "只有监考员")
    svc.assign_staff(session, world.admin, batch.id, user_id=proctor.id, role="proctor", room_id=room.id)
    refused(session, lambda: svc.assign_staff(session, world.admin, batch.id, user_id=proctor.id,
                                              role="proctor", room_id=room.id), "已分配")
    svc.assign_staff(session, world.admin, batch.id, user_id=examiner.id, role="examiner")
    svc.assign_staff(session, world.admin, batch.id, user_id=supervisor.id, role="supervisor")
    assert sorted(s.role for s in batch.staff) == ["examiner", "proctor", "supervisor"]


# ---------------------------------------------------------------- staffing rules


def test_theory_staffing_at_the_defaults(session, world):
    ok = world.plan(n_candidates=30, rooms=((5, 6),), proctors_per_room=2)
    assert svc.plan_problems(session, ok, dt.date(2026, 9, 28)) == []
    short = world.plan(n_candidates=30, rooms=((5, 6),), proctors_per_room=1)
    err = refused(session, lambda: svc.file_plan(session, world.admin, short.id, dt.date(2026, 9, 28)),
                  "每个考场至少配备 2 名监考员")
    assert "仅 1 名" in err.message
    crowded = world.plan(n_candidates=31, rooms=((5, 6),), proctors_per_room=2)
    refused(session, lambda: svc.file_plan(session, world.admin, crowded.id, dt.date(2026, 9, 28)),
            "座位共 30 个，不足以安排 31 名考生")


@pytest.mark.parametrize(("n", "proctors", "ok"), [(15, 1, True), (16, 1, False), (16, 2, True), (30, 2, True)])
def test_proctor_ratio_boundaries(session, world, n, proctors, ok):
    # With one proctor per room allowed, the 1:15 ratio is what binds.
    rules = {"candidates_per_proctor": 15, "min_proctors_per_room": 1, "candidates_per_examiner": 5,
             "min_examiners": 3, "examiners_odd": True, "min_review_panel": 3, "review_panel_odd": True,
             "min_supervisors": 1, "by_occupation": {}}
    set_rule(session, world.centre, "batch_staffing", rules)
    batch = world.plan(n_candidates=n, rooms=((5, 6),), proctors_per_room=proctors)
    problems = svc.staffing_problems(session, batch)
    if ok:
        assert problems == []
    else:
        assert problems == [f"理论知识考试每 15 名考生至少配备 1 名监考员（2026-10-16 场次 {n} 名考生须至少 2 名，"
                            f"当前仅 {proctors} 名）。"]


@pytest.mark.parametrize(("n", "examiners", "ok"), [
    (15, 3, True), (15, 2, False), (15, 4, False), (16, 4, False), (16, 5, True), (25, 5, True), (26, 6, False),
    (26, 7, True), (5, 3, True),
])
def test_skill_examiner_ratio_minimum_and_odd(session, world, n, examiners, ok):
    batch = world.plan(n_candidates=n, skill=True, examiners=examiners)
    problems = svc.staffing_problems(session, batch)
    assert (problems == []) is ok, problems
    if not ok:
        assert problems[0].startswith("操作技能考核考评员")
        refused(session, lambda: svc.file_plan(session, world.admin, batch.id, dt.date(2026, 9, 28)), "考评员")


def test_staffing_overrides_per_occupation_and_supervisor_minimum(session, world):
    rules = {"candidates_per_proctor": 15, "min_proctors_per_room": 2, "candidates_per_examiner": 5,
             "min_examiners": 3, "examiners_odd": True, "min_review_panel": 3, "review_panel_odd": True,
             "min_supervisors": 1, "by_occupation": {world.occupation.code: {"min_proctors_per_room": 3}}}
    set_rule(session, world.centre, "batch_staffing", rules)
    batch = world.plan(n_candidates=20, proctors_per_room=2)
    assert svc.staffing_problems(session, batch)[0].startswith("理论知识考试每个考场至少配备 3 名监考员")
    lone = world.plan(n_candidates=20, proctors_per_room=3, supervisors=0)
    assert svc.staffing_problems(session, lone) == ["每个认定批次至少须安排 1 名本机构的质量督导员（当前 0 名）。"]


# ---------------------------------------------------------------- the centre's decision


def test_centre_acknowledges_or_returns_with_reasons(session, world):
    batch = world.plan()
    refused(session, lambda: svc.acknowledge_plan(session, world.centre, batch.id), "只能处理已报备")
    svc.file_plan(session, world.admin, batch.id, dt.date(2026, 9, 28))
    refused(session, lambda: svc.add_candidates(session, world.admin, batch.id,
                                                [world.people(Role.CANDIDATE, 1)[0].id]), "不能再修改")
    refused(session, lambda: svc.acknowledge_plan(session, world.admin, batch.id), "权限", PermissionDenied)
    refused(session, lambda: svc.return_plan(session, world.centre, batch.id, "  "), "退回理由")
    svc.return_plan(session, world.centre, batch.id, "监考员名单缺少联系方式")
    assert batch.status == "returned" and batch.steps[-1].reason == "监考员名单缺少联系方式"
    svc.update_plan(session, world.admin, batch.id, overview="补充监考员联系方式", place="长春市")
    svc.file_plan(session, world.admin, batch.id, dt.date(2026, 9, 28))
    svc.acknowledge_plan(session, world.centre, batch.id, "同意")
    assert batch.status == "acknowledged" and batch.decided_at is not None
    assert [(s.from_status, s.to_status) for s in batch.steps] == [
        ("draft", "filed"), ("filed", "returned"), ("returned", "filed"), ("filed", "acknowledged")]
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.target_type == "batch",
                                                              AuditEntry.target_id == str(batch.id))).all()
    assert actions[-5:] == ["batch.file", "batch.return", "batch.update_plan", "batch.file", "batch.acknowledge"]


# ---------------------------------------------------------------- seating a sitting


def test_seat_session_spreads_candidates_without_adjacent_forms(session, world):
    from examroom.seating import SeatAssignment, adjacent_conflicts

    batch = world.plan(n_candidates=40, rooms=((5, 6), (4, 5)))
    sitting = batch.sessions[0]
    seats = svc.seat_session(session, world.admin, sitting.id, seed=20261016)
    assert len(seats) == 40
    assert sorted(s.candidate_id for s in seats) == sorted(c.candidate_id for c in batch.candidates)
    for room in sitting.rooms:
        grid = [[None] * room.cols for _ in range(room.rows)]
        for seat in room.seats:
            grid[seat.row - 1][seat.col - 1] = SeatAssignment(seat.candidate_id, seat.form_label, seat.order_seed)
        assert adjacent_conflicts(grid) == []
        assert {s.form_label for s in room.seats} == {"A", "B"}
    first = {(s.room_id, s.row, s.col, s.candidate_id, s.form_label, s.order_seed) for s in seats}
    again = svc.seat_session(session, world.admin, sitting.id, seed=20261016)  # re-seating replaces
    assert {(s.room_id, s.row, s.col, s.candidate_id, s.form_label, s.order_seed) for s in again} == first
    assert session.scalar(select(func.count()).select_from(Seat)) == 40
    small = world.plan(n_candidates=31, rooms=((5, 6),))
    refused(session, lambda: svc.seat_session(session, world.admin, small.sessions[0].id, seed=1), "不足以安排")


# ---------------------------------------------------------------- examiners per skill sitting, the panel, 综合评审


@pytest.mark.parametrize(("sizes", "groups", "ok"), [
    ((10, 4), (3, 3), True),    # 14 candidates: per sitting 3 and 3 (a batch-wide count saw 6, even)
    ((10, 4), (2, 3), False),   # under the minimum in one sitting
    ((10, 4), (4, 3), False),   # even in one sitting
    ((11, 4), (3, 3), True),    # ceil(11/5) = 3
    ((16, 4), (3, 3), False),   # ceil(16/5) = 4 → 5 for the 16
    ((16, 4), (5, 3), True),
    ((26, 1), (7, 3), True),
    ((26, 1), (6, 3), False),
    ((5, 5, 5), (3, 3, 3), True),
    ((5, 5, 5), (3, 3, 1), False),
])
def test_examiners_are_counted_per_skill_sitting(session, world, sizes, groups, ok):
    batch, sittings = _skill_world(world, candidates=sizes, examiners=groups)
    problems = svc.staffing_problems(session, batch)
    assert (problems == []) is ok, problems
    staffing = svc.skill_staffing(session, batch)
    assert [st.candidates for st in staffing] == list(sizes)
    assert [len(st.examiners) for st in staffing] == list(groups)
    if not ok:
        assert problems[0].startswith("操作技能考核考评员")
        assert svc.sitting_when(sittings[[len(st.examiners) < st.needed or len(st.examiners) % 2 == 0
                                          for st in staffing].index(True)]) in problems[0]
        refused(session, lambda: svc.file_plan(session, world.admin, batch.id, dt.date(2026, 9, 28)), "考评员")
    else:
        svc.file_plan(session, world.admin, batch.id, dt.date(2026, 9, 28))
        assert batch.status == "filed"


def test_one_examiner_may_serve_several_sittings(session, world):
    # The same three examiners examine both sittings: three per sitting, odd, enough for 10 and 4.
    batch, _ = _skill_world(world, candidates=(10, 4), examiners=(3, 3), shared=3)
    assert len({st.user_id for st in batch.staff if st.role == "examiner"}) == 3
    assert svc.staffing_problems(session, batch) == []


def test_the_rule_values_apply_per_sitting(session, world):
    rules = {"candidates_per_proctor": 15, "min_proctors_per_room": 2, "candidates_per_examiner": 3,
             "min_examiners": 2, "examiners_odd": False, "min_review_panel": 3, "review_panel_odd": True,
             "min_supervisors": 1, "by_occupation": {}}
    set_rule(session, world.centre, "batch_staffing", rules)
    batch, _ = _skill_world(world, candidates=(9, 4), examiners=(3, 2))
    assert svc.staffing_problems(session, batch) == []
    short, sittings = _skill_world(world, candidates=(10, 4), examiners=(3, 2))
    assert svc.staffing_problems(session, short) == [
        f"操作技能考核考评员与考生配比不低于 1:3，且不少于 2 名（{svc.sitting_when(sittings[0])} 场次 10 名考生须至少 "
        "4 名，当前 3 名）。"]


def test_every_candidate_sits_one_skill_sitting(session, world):
    batch, (first, second) = _skill_world(world, candidates=(10, 4), examiners=(3, 3))
    late = world.people(Role.CANDIDATE, 2)
    svc.add_candidates(session, world.admin, batch.id, [p.id for p in late])
    problems = svc.staffing_problems(session, batch)
    assert problems == [f"每名考生须安排到一个操作技能考核场次（尚有 2 名未安排，如「{late[0].name}」）。"]
    refused(session, lambda: svc.file_plan(session, world.admin, batch.id, dt.date(2026, 9, 28)), "尚有 2 名未安排")
    in_first = [row.candidate_id for row in first.listed_candidates]
    refused(session, lambda: svc.assign_sitting_candidates(session, world.admin, second.id,
                                                           [late[0].id, in_first[0]]), "已安排在")
    refused(session, lambda: svc.assign_sitting_candidates(session, world.admin, second.id, []), "请选择")
    refused(session, lambda: svc.assign_sitting_candidates(session, world.admin, second.id,
                                                           [late[0].id, late[0].id]), "重复")
    (stranger,) = world.people(Role.CANDIDATE, 1)
    refused(session, lambda: svc.assign_sitting_candidates(session, world.admin, second.id, [stranger.id]),
            "不在本批次考生名册中")
    # Replacing the second sitting's list: its four and the two late ones.
    keep = [row.candidate_id for row in second.listed_candidates]
    svc.assign_sitting_candidates(session, world.admin, second.id, keep + [p.id for p in late])
    assert svc.staffing_problems(session, batch) == []
    assert [st.candidates for st in svc.skill_staffing(session, batch)] == [10, 6]


def test_a_skill_sitting_without_candidates_is_a_problem(session, world):
    batch, (first, second) = _skill_world(world, candidates=(10, 4), examiners=(3, 3))
    third = svc.add_session(session, world.admin, batch.id, module="skill", starts_at=at("2026-10-17"),
                            duration_minutes=120, place="实训楼")
    assert f"{svc.sitting_when(third)} 的操作技能考核场次尚未安排考生。" in svc.staffing_problems(session, batch)


def test_sitting_examiners_come_from_the_batch_examiners(session, world):
    batch, (first, _) = _skill_world(world, candidates=(10, 4), examiners=(3, 3))
    (outsider,) = world.people(Role.EXAMINER, 1)
    refused(session, lambda: svc.assign_sitting_examiner(session, world.admin, first.id, user_id=outsider.id),
            "不在本批次的考评员名单中")
    member = first.examiners[0].user_id
    refused(session, lambda: svc.assign_sitting_examiner(session, world.admin, first.id, user_id=member), "已在")
    theory = world.plan(examiners=1).sessions[0]
    theirs = next(st.user_id for st in theory.module.batch.staff if st.role == "examiner")
    refused(session, lambda: svc.assign_sitting_examiner(session, world.admin, theory.id, user_id=theirs),
            "只有操作技能考核场次")
    stranger = make_user(session, Role.INSTITUTION_ADMIN)
    refused(session, lambda: svc.assign_sitting_examiner(session, stranger, first.id, user_id=member), "本机构",
            PermissionDenied)
    svc.remove_sitting_examiner(session, world.admin, first.id, user_id=member)
    assert svc.staffing_problems(session, batch)[0].startswith("操作技能考核考评员")
    refused(session, lambda: svc.remove_sitting_examiner(session, world.admin, first.id, user_id=member), "不在")
    svc.assign_sitting_examiner(session, world.admin, first.id, user_id=member)
    svc.file_plan(session, world.admin, batch.id, dt.date(2026, 9, 28))
    refused(session, lambda: svc.remove_sitting_examiner(session, world.admin, first.id, user_id=member),
            "不能再修改")


def test_a_lone_skill_sitting_takes_every_candidate(session, world):
    batch = world.plan(n_candidates=12, skill=True, examiners=3)
    (sitting,) = svc.skill_sittings(batch)
    assert sitting.listed_candidates == []
    assert sorted(svc.sitting_candidate_ids(batch, sitting)) == sorted(c.candidate_id for c in batch.candidates)
    assert svc.staffing_problems(session, batch) == []


@pytest.mark.parametrize("level", [5, 4, 3])
def test_review_module_is_refused_below_level_two(session, world, level):
    batch = world.batch(level=level)
    err = refused(session, lambda: svc.add_session(session, world.admin, batch.id, module="review",
                                                   starts_at=at("2026-10-20"), duration_minutes=60), "综合评审只用于")
    assert err.message == f"综合评审只用于二级/技师、一级/高级技师的认定，本批次为{level_name(level)}。"
    (examiner,) = world.people(Role.EXAMINER, 1)
    svc.assign_staff(session, world.admin, batch.id, user_id=examiner.id, role="examiner")
    refused(session, lambda: svc.add_panel_member(session, world.admin, batch.id, user_id=examiner.id),
            "综合评审只用于")
    # A review module from before the rule (written directly) keeps the plan from being filed.
    batch.modules.append(BatchModule(kind="review", sessions=[
        ExamSession(starts_at=at("2026-10-20"), duration_minutes=60, place="答辩室")]))
    session.flush()
    assert f"本批次为{level_name(level)}，不设综合评审" in " ".join(svc.plan_problems(session, batch,
                                                                               dt.date(2026, 9, 28)))


@pytest.mark.parametrize("level", [2, 1])
def test_review_module_is_required_for_levels_two_and_one(session, world, level):
    _scope_to_level_one(session, world)
    without = _review_plan(world, review=False, panel=0, level=level)
    err = refused(session, lambda: svc.file_plan(session, world.admin, without.id, dt.date(2026, 9, 28)),
                  "须安排综合评审")
    assert err.message == f"{level_name(level)}的认定须安排综合评审场次。"
    with_review = _review_plan(world, level=level)
    assert svc.plan_problems(session, with_review, dt.date(2026, 9, 28)) == []
    svc.file_plan(session, world.admin, with_review.id, dt.date(2026, 9, 28))
    assert with_review.status == "filed"


@pytest.mark.parametrize(("panel", "ok"), [(0, False), (1, False), (2, False), (3, True), (4, False), (5, True)])
def test_review_panel_is_its_own_list(session, world, panel, ok):
    # Six examiners serve the skill sittings; only the panel's own members count for 综合评审.
    _scope_to_level_one(session, world)
    batch = _review_plan(world, panel=panel)
    problems = svc.staffing_problems(session, batch)
    expected = [] if ok else [f"综合评审专家组不少于 3 人且为奇数（当前 {panel} 人）。"]
    if panel == 0:
        expected.append("综合评审专家组须指定 1 名组长（当前 0 名）。")
    assert problems == expected
    if not ok:
        refused(session, lambda: svc.file_plan(session, world.admin, batch.id, dt.date(2026, 9, 28)), "专家组")


def test_review_panel_has_one_chair(session, world):
    _scope_to_level_one(session, world)
    batch = _review_plan(world, chair=False)
    assert svc.staffing_problems(session, batch) == ["综合评审专家组须指定 1 名组长（当前 0 名）。"]
    refused(session, lambda: svc.file_plan(session, world.admin, batch.id, dt.date(2026, 9, 28)), "组长")
    members = [m.user_id for m in batch.panel]
    svc.remove_panel_member(session, world.admin, batch.id, user_id=members[0])
    svc.add_panel_member(session, world.admin, batch.id, user_id=members[0], chair=True)
    assert svc.staffing_problems(session, batch) == []
    pool = [st.user_id for st in batch.staff if st.role == "examiner" and st.user_id not in members]
    refused(session, lambda: svc.add_panel_member(session, world.admin, batch.id, user_id=pool[0], chair=True),
            "已有组长")
    refused(session, lambda: svc.add_panel_member(session, world.admin, batch.id, user_id=members[1]), "已在")
    (outsider,) = world.people(Role.EXAMINER, 1)
    refused(session, lambda: svc.add_panel_member(session, world.admin, batch.id, user_id=outsider.id),
            "不在本批次的考评员名单中")
    refused(session, lambda: svc.remove_panel_member(session, world.admin, batch.id, user_id=outsider.id), "不在")
    # An examiner of a skill sitting may also sit on the panel.
    assert set(members) <= {row.user_id for s in svc.skill_sittings(batch) for row in s.examiners}


def test_a_performance_review_batch_has_a_panel_below_level_two(session, world):
    # A level-4 batch with a 工作业绩评审 module: its panel (评审专家组) scores the dossiers, so it
    # may be staffed, and the panel rules apply to it.
    batch = world.batch(level=4)
    svc.add_session(session, world.admin, batch.id, module="performance", starts_at=at("2026-10-21"),
                    duration_minutes=240, place="评审室")
    examiners = world.people(Role.EXAMINER, 2)
    for k, e in enumerate(examiners):
        svc.assign_staff(session, world.admin, batch.id, user_id=e.id, role="examiner")
        svc.add_panel_member(session, world.admin, batch.id, user_id=e.id, chair=k == 0)
    problems = svc.staffing_problems(session, batch)
    assert "工作业绩评审专家组不少于 3 人且为奇数（当前 2 人）。" in problems
    assert not any("组长" in p for p in problems)
