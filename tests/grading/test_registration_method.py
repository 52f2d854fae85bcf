"""Setting a registration's evaluation method and category (grading.results.registrations):
only the batch's institution admin, only before a decision is confirmed, only to a method whose
scheme gives components; several at once all or nothing; audited."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from foundation.audit import AuditEntry
from foundation.errors import NotFound, PermissionDenied, ValidationError
from grading.results import decisions
from grading.results import registrations as svc
from grading.results.models import LevelDecision
from tests.grading.results_worlds import ResultsWorld

TODAY = dt.date(2026, 10, 20)


@pytest.fixture
def w(session):
    world = ResultsWorld(session)
    world.batch_a = world.batch(world.a)
    world.regs = [world.register(world.batch_a, world.candidate(world.a)) for _ in range(3)]
    for reg in world.regs:
        world.result(reg, "theory", "2026-09-10", 80)
        world.result(reg, "skill", "2026-09-11", 70)
    return world


def _audits(session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry)
                          .where(AuditEntry.action == "registration.update")) or 0


def test_one_registration_changes_and_is_audited(session, w):
    change = svc.set_registration(session, w.admin_a, w.regs[0].id, method="combined", category="own_staff")
    assert change.changed and (w.regs[0].method, w.regs[0].category) == ("combined", "own_staff")
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "registration.update")).one()
    assert (entry.target_type, entry.target_id) == ("registration", str(w.regs[0].id))
    assert '"assessment"' in entry.before_json and '"combined"' in entry.after_json
    again = svc.set_registration(session, w.admin_a, w.regs[0].id, method="combined", category="own_staff")
    assert not again.changed and _audits(session) == 1  # nothing changed: no entry


def test_refusals_write_nothing(session, w):
    for method, category, message in (
        ("competition", "", "竞赛选拔按竞赛成绩"),
        ("bogus", "", "评价方式无效"),
        ("", "alien", "考生类别无效"),
        ("", "", "请选择要修改"),
    ):
        with pytest.raises(ValidationError, match=message):
            svc.set_registration(session, w.admin_a, w.regs[0].id, method=method, category=category)
    assert (w.regs[0].method, w.regs[0].category) == ("assessment", "other") and _audits(session) == 0


def test_another_institution_and_other_roles_are_refused(session, w):
    with pytest.raises(PermissionDenied, match="只能修改本机构"):
        svc.set_registration(session, w.admin_b, w.regs[0].id, method="combined")
    with pytest.raises(PermissionDenied):
        svc.set_registrations(session, w.admin_b, w.batch_a.id, [w.regs[0].id], method="combined")
    with pytest.raises(PermissionDenied):
        svc.set_registration(session, w.centre, w.regs[0].id, method="combined")
    batch_b = w.batch(w.b)
    theirs = w.register(batch_b, w.candidate(w.b))
    with pytest.raises(NotFound):  # a registration of another batch named in this batch's list
        svc.set_registrations(session, w.admin_a, w.batch_a.id, [w.regs[0].id, theirs.id], method="combined")
    assert w.regs[0].method == "assessment" and theirs.method == "assessment" and _audits(session) == 0


def test_a_confirmed_decision_refuses_the_change_and_several_are_all_or_nothing(session, w):
    decisions.decide_batch(session, w.admin_a, w.batch_a.id, TODAY)
    draft = session.scalar(select(LevelDecision).where(LevelDecision.registration_id == w.regs[1].id))
    decisions.confirm_decision(session, w.admin_a, draft.id, TODAY)
    with pytest.raises(ValidationError, match="认定结论已确认发布"):
        svc.set_registration(session, w.admin_a, w.regs[1].id, category="dispatched")
    with pytest.raises(ValidationError, match="认定结论已确认发布.*未作任何修改"):
        svc.set_registrations(session, w.admin_a, w.batch_a.id, [r.id for r in w.regs], method="performance")
    assert [r.method for r in w.regs] == ["assessment"] * 3 and _audits(session) == 0
    # A draft does not stop it; the changed method makes the draft stale (decide again first).
    changes = svc.set_registrations(session, w.admin_a, w.batch_a.id, [w.regs[0].id, w.regs[2].id],
                                    method="performance", category="outsourced")
    assert [c.changed for c in changes] == [True, True] and _audits(session) == 2
    assert [(r.method, r.category) for r in (w.regs[0], w.regs[2])] == [("performance", "outsourced")] * 2
    stale = session.scalar(select(LevelDecision).where(LevelDecision.registration_id == w.regs[0].id))
    with pytest.raises(ValidationError, match="请先重新判定"):
        decisions.confirm_decision(session, w.admin_a, stale.id, TODAY)
