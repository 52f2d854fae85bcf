"""Skill-operation tasks (技能操作试题): documents, the score-sheet template totalling 100, and
the papers' review → lock workflow, in the writer's and the reviewer's scope."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from foundation.audit import AuditEntry
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.roles import Role
from itembank import skill_tasks as svc
from itembank.models import Blueprint, SkillCriterion, SkillTask
from tests.examroom.worlds import World
from tests.factories import make_user
from tests.itembank.worlds import SkillBank, content


@pytest.fixture
def bank(session):
    return SkillBank(session)


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_a_writer_creates_a_task_with_its_documents_and_criteria(session, bank):
    task = bank.task(task_html='<p onclick="x()">按图安装<script>alert(1)</script></p>')
    assert task.status == "draft" and task.institution_id == bank.world.inst.id
    assert [c.points for c in task.criteria] == [40, 30, 20, 10] and task.total_points == 100
    assert "script" not in task.task_html and "onclick" not in task.task_html and "按图安装" in task.task_html
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "skill_task.create")) is not None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=1, max_value=1000), min_size=1, max_size=8)
       .filter(lambda tenths: sum(tenths) != 1000))
def test_criteria_that_do_not_total_100_are_refused_and_nothing_is_written(session, bank, tenths):
    points = [f"{Decimal(t) / 10:f}" for t in tenths]
    before = (_count(session, SkillTask), _count(session, AuditEntry))
    with pytest.raises(ValidationError) as err:
        bank.task(points=points)
    assert "合计须为 100 分" in err.value.message
    assert (_count(session, SkillTask), _count(session, AuditEntry)) == before


@pytest.mark.parametrize("points", [["100.05"], ["0", "100"], ["-5", "105"], ["abc", "100"], ["1e2"], ["NaN"]])
def test_bad_points_are_refused_with_the_row_named(session, bank, points):
    with pytest.raises(ValidationError) as err:
        bank.task(points=points)
    assert "第 1 项" in err.value.message or "合计" in err.value.message


def test_fractional_points_that_total_100_are_taken(session, bank):
    task = bank.task(points=["33.3", "33.3", "33.4"])
    assert task.total_points == pytest.approx(100)


def test_a_task_needs_a_skill_blueprint_in_the_writers_scope(session, bank):
    with pytest.raises(ValidationError, match="操作技能细目表"):
        svc.create_task(session, bank.writer, blueprint_id=bank.world.bp.id, content=content())
    other = Blueprint(occupation_id=bank.world.occupation.id, level=1, mode="skill", name="一级")
    session.add(other)
    session.flush()
    with pytest.raises(ValidationError):  # the institution's scope is 五级–三级
        svc.create_task(session, bank.writer, blueprint_id=other.id, content=content())
    with pytest.raises(ValidationError, match="任务书不能为空"):
        bank.task(task_html="<p> </p>")


def test_the_review_and_lock_workflow_of_papers(session, bank):
    task = bank.task()
    with pytest.raises(ValidationError):
        svc.approve_task(session, bank.reviewer, task.id)  # a draft is not reviewed
    svc.submit_task(session, bank.writer, task.id)
    assert task.status == "submitted"
    with pytest.raises(NotFound):  # a reviewer without the pair does not even see it
        svc.approve_task(session, make_user(session, Role.ITEM_REVIEWER), task.id)
    with pytest.raises(ValidationError, match="审核意见"):
        svc.return_task(session, bank.reviewer, task.id, "  ")
    svc.return_task(session, bank.reviewer, task.id, "评分标准不够具体")
    assert task.status == "returned" and task.review_comment == "评分标准不够具体"
    svc.update_task(session, bank.writer, task.id, content(name="照明电路安装（修订）"))
    svc.submit_task(session, bank.writer, task.id)
    svc.approve_task(session, bank.reviewer, task.id, "同意")
    assert task.status == "locked" and task.locked_at is not None and task.approved_by_id == bank.reviewer.id
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.target_type == "skill_task",
                                                              AuditEntry.target_id == str(task.id))
                           .order_by(AuditEntry.id)).all()
    assert actions == ["skill_task.create", "skill_task.submit", "skill_task.return", "skill_task.update",
                       "skill_task.submit", "skill_task.approve"]


def test_nobody_approves_a_task_they_wrote(session, bank):
    task = bank.task()
    svc.submit_task(session, bank.writer, task.id)
    centre = bank.world.centre
    task.created_by_id = centre.id  # as if the centre admin had written it
    session.flush()
    with pytest.raises(PermissionDenied, match="本人编写"):
        svc.approve_task(session, centre, task.id)


def test_a_locked_task_never_changes(session, bank):
    task = bank.locked()
    with pytest.raises(ValidationError, match="不能修改"):
        svc.update_task(session, bank.writer, task.id, content())
    with pytest.raises(ValidationError):
        svc.delete_task(session, bank.writer, task.id)
    task.criteria[0].points = 39
    with pytest.raises(PermissionDenied, match="锁定"):
        session.flush()
    session.rollback()


def test_the_scope_of_who_reads_a_task(session, bank):
    task = bank.task()
    outsider = make_user(session, Role.QUESTION_WRITER, institution=World(session).inst)
    with pytest.raises(NotFound):
        svc.read_task(session, outsider, task.id)
    assert svc.read_task(session, bank.world.admin, task.id) is task
    examiner = make_user(session, Role.EXAMINER, institution=bank.world.inst)
    with pytest.raises(PermissionDenied):
        svc.read_task(session, examiner, task.id)
    visible = session.scalars(svc.visible_tasks(outsider)).all()
    assert task not in visible
    assert _count(session, SkillCriterion) >= 4
