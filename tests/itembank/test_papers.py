"""Paper assembly from the bank, the paper workflow, pinned versions and the lock."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from foundation.errors import PermissionDenied, ValidationError
from foundation.roles import Role
from itembank import items as item_svc
from itembank import papers as svc
from itembank.models import EnemyMember, EnemySet, Paper, PaperItem
from itembank.papers import Section
from tests.factories import make_institution, make_user, single_choice
from tests.itembank.worlds import Bank


@pytest.fixture(scope="module")
def bank(module_session):
    """Built once for the module; each test runs in a savepoint of it (tests/conftest.py)."""
    return Bank(module_session)


def _point_counts(form):
    counts = {}
    for pi in form.items:
        counts[pi.item.point.code] = counts.get(pi.item.point.code, 0) + 1
    return counts


def test_blueprint_mode_meets_weights_types_and_pins_versions(session, bank):
    paper = bank.assemble(session, n_forms=2)
    assert [f.label for f in paper.forms] == ["A", "B"]
    for form in paper.forms:
        assert len(form.items) == 12
        kinds = [pi.item.item_type for pi in form.items]
        assert kinds.count("single_choice") == 6 and kinds.count("true_false") == 6
        by_range = {"A": 0, "B": 0}
        for code, n in _point_counts(form).items():
            by_range[code[0]] += n
        assert by_range == {"A": 6, "B": 6}  # ranges A and B weigh 50 % each
        assert all(pi.item_version_id == pi.item.current_version_id for pi in form.items)
        assert [pi.position for pi in form.items] == list(range(1, 13))
    a_ids = {pi.item_id for pi in paper.forms[0].items}
    b_ids = {pi.item_id for pi in paper.forms[1].items}
    assert not a_ids & b_ids  # disjoint parallel forms
    assert paper.total_points == 12


def test_type_count_and_fixed_modes(session, bank):
    paper = bank.assemble(session, mode="type_counts", sections=[Section("true_false", 10, 2.0)])
    assert {pi.item.item_type for pi in paper.forms[0].items} == {"true_false"}
    codes = [i.code for i in bank.items if i.item_type == "single_choice"][:3]
    fixed = bank.assemble(session, mode="fixed", sections=[Section("single_choice", 3, 1.0)], fixed_codes=[codes])
    assert [pi.item.code for pi in fixed.forms[0].items] == sorted(
        codes, key=lambda c: next((i.point.code, i.id) for i in bank.items if i.code == c))
    with pytest.raises(ValidationError, match="不是该细目表下已启用的试题"):
        bank.assemble(session, mode="fixed", sections=[Section("single_choice", 1, 1.0)], fixed_codes=[["NOPE"]])


def test_infeasible_request_explains_and_writes_nothing(session, bank):
    before = session.scalar(select(func.count()).select_from(Paper))
    with pytest.raises(ValidationError, match="需要|无解|只有"):
        bank.assemble(session, sections=[Section("single_choice", 30, 1.0)])
    assert session.scalar(select(func.count()).select_from(Paper)) == before


def test_scope_and_institution_are_enforced(session, bank):
    other_admin = make_user(session, Role.INSTITUTION_ADMIN)
    with pytest.raises(PermissionDenied):
        bank.assemble(session, other_admin)
    unscoped = make_institution(session, status="filed", code="S000022990002", serial="990002")
    with pytest.raises(ValidationError):
        bank.assemble(session, bank.centre, institution_id=unscoped.id)


def test_enemy_items_never_share_a_form(session, bank):
    singles = [i for i in bank.items if i.item_type == "single_choice" and i.point.code.startswith("A")]
    enemy = EnemySet(name="互相提示")
    enemy.members = [EnemyMember(item_id=i.id) for i in singles]
    session.add(enemy)
    session.flush()
    paper = bank.assemble(session, mode="type_counts", sections=[Section("single_choice", 4, 1.0)])
    chosen = {pi.item_id for pi in paper.forms[0].items}
    assert len(chosen & {i.id for i in singles}) <= 1


def test_workflow_lock_and_pinned_versions(session, bank):
    paper = bank.assemble(session, bank.centre)  # the centre may assemble, and may approve others' papers
    with pytest.raises(ValidationError):
        svc.approve_paper(session, bank.r1, paper.id)  # not submitted yet
    svc.submit_paper(session, bank.centre, paper.id)
    with pytest.raises(PermissionDenied, match="本人组的试卷"):
        svc.approve_paper(session, bank.centre, paper.id)
    with pytest.raises(PermissionDenied):
        svc.approve_paper(session, bank.admin, paper.id)  # institution admins do not approve papers
    svc.approve_paper(session, bank.r1, paper.id)
    assert paper.status == "locked" and paper.locked_at is not None
    pinned = paper.forms[0].items[0]
    version_before = pinned.item_version_id
    item_svc.revise_item(session, bank.writer, pinned.item_id, single_choice("改版后的题干？"))
    session.refresh(pinned)
    assert pinned.item_version_id == version_before and pinned.item.current_version_id != version_before
    nested = session.begin_nested()
    pinned.points = 99
    with pytest.raises(PermissionDenied, match="锁定"):
        session.flush()
    nested.rollback()
    nested = session.begin_nested()
    session.delete(paper.forms[1] if len(paper.forms) > 1 else paper.forms[0].items[0])
    with pytest.raises(PermissionDenied, match="锁定"):
        session.flush()
    nested.rollback()
    with pytest.raises(ValidationError):
        svc.delete_paper(session, bank.admin, paper.id)


def test_locked_papers_items_are_left_out_next_time(session, bank):
    first = bank.assemble(session, mode="type_counts", sections=[Section("true_false", 6, 1.0)])
    svc.submit_paper(session, bank.admin, first.id)
    svc.approve_paper(session, bank.r1, first.id)
    used = {pi.item_id for pi in first.forms[0].items}
    second = bank.assemble(session, mode="type_counts", sections=[Section("true_false", 6, 1.0)])
    assert not used & {pi.item_id for pi in second.forms[0].items}


def test_return_needs_comment_and_information_curves(session, bank):
    paper = bank.assemble(session, n_forms=2)
    svc.submit_paper(session, bank.admin, paper.id)
    with pytest.raises(ValidationError, match="审核意见"):
        svc.return_paper(session, bank.r1, paper.id, "")
    svc.return_paper(session, bank.r1, paper.id, "判断题偏易")
    curves = svc.information_curves(paper)
    assert set(curves["forms"]) == {"A", "B"} and len(curves["theta"]) == 81
    assert max(curves["forms"]["A"]["tif"]) > 0
    svc.delete_paper(session, bank.admin, paper.id)
    assert session.scalar(select(func.count()).select_from(PaperItem).where(PaperItem.form_id.is_(None))) == 0


def test_exposure_cap_leaves_out_items_used_in_enough_locked_papers(session, bank):
    from foundation.settings import set_rule

    set_rule(session, bank.centre, "assembly_recent_papers", 0)  # isolate the exposure rule
    set_rule(session, bank.centre, "assembly_exposure_cap", 1)
    first = bank.assemble(session, mode="type_counts", sections=[Section("true_false", 4, 1.0)])
    svc.submit_paper(session, bank.admin, first.id)
    svc.approve_paper(session, bank.r1, first.id)
    used = {pi.item_id for pi in first.forms[0].items}
    pool = svc.build_pool(session, bank.bp)
    eligible = {int(i) for i, ok in zip(pool.pool.item_ids, pool.pool.eligible, strict=True) if ok}
    assert not used & eligible
    set_rule(session, bank.centre, "assembly_exposure_cap", 2)
    pool = svc.build_pool(session, bank.bp)
    eligible = {int(i) for i, ok in zip(pool.pool.item_ids, pool.pool.eligible, strict=True) if ok}
    assert used <= eligible


# ---------------------------------------------------------------- papers out of 100 (百分制)


def _audit_count(session):
    from foundation.audit import AuditEntry

    return session.scalar(select(func.count()).select_from(AuditEntry))


@pytest.mark.parametrize(("points", "scaled", "ok"), [
    ((10.0, 10.0), False, True),     # 6 × 10 + 4 × 10 = 100
    ((10.0, 9.875), False, False),   # 99.5
    ((10.0, 10.125), False, False),  # 100.5
    ((1.0, 1.0), False, False),      # 10: the typical mistake
    ((1.0, 1.0), True, True),        # 10, declared scaled to 100
    ((10.0, 10.0), True, True),      # a 100-point paper may declare it too
])
def test_a_paper_is_out_of_100_or_declares_its_scaling_at_submit_and_lock(session, bank, points, scaled, ok):
    paper = bank.assemble(session, mode="type_counts", sections=[Section("single_choice", 6, points[0]),
                                                                 Section("true_false", 4, points[1])],
                          scale_to_100=scaled)
    total = 6 * points[0] + 4 * points[1]
    assert paper.total_points == total
    assert paper.score_factor == pytest.approx(100 / total if scaled else 1.0)
    before = _audit_count(session)
    if not ok:
        assert svc.marks_problem(paper) == (
            f"试卷「电工四级理论A卷」满分为 {total:g} 分：理论知识考试按百分制计分，请调整各题型分值使满分为 100 分，"
            "或声明成绩按百分制折算。")
        with pytest.raises(ValidationError, match="满分为"):
            svc.submit_paper(session, bank.admin, paper.id)
        assert paper.status == "draft" and _audit_count(session) == before
        svc.set_scale_to_100(session, bank.admin, paper.id, True)
    svc.submit_paper(session, bank.admin, paper.id)
    svc.approve_paper(session, bank.r1, paper.id)
    assert paper.status == "locked" and svc.marks_problem(paper) is None


def test_the_lock_checks_again_and_parallel_forms_must_agree(session, bank):
    paper = bank.assemble(session, mode="type_counts", sections=[Section("true_false", 4, 25.0)], n_forms=2,
                          scale_to_100=False)
    svc.submit_paper(session, bank.admin, paper.id)
    # A form whose points were changed behind the service's back (the rows of a paper are not
    # locked until approval) is caught at the lock.
    paper.forms[1].items[0].points = 30
    session.flush()
    before = _audit_count(session)
    with pytest.raises(ValidationError, match="各卷满分不同（A 卷 100 分、B 卷 105 分）"):
        svc.approve_paper(session, bank.r1, paper.id)
    assert paper.status == "submitted" and paper.locked_at is None and _audit_count(session) == before
    paper.scale_to_100 = True  # scaling does not excuse forms of different full marks
    session.flush()
    with pytest.raises(ValidationError, match="平行卷的满分必须一致"):
        svc.approve_paper(session, bank.r1, paper.id)


def test_the_scaling_is_declared_on_drafts_only_by_assemblers(session, bank):
    paper = bank.assemble(session, mode="type_counts", sections=[Section("true_false", 4, 1.0)], scale_to_100=False)
    with pytest.raises(PermissionDenied):
        svc.set_scale_to_100(session, bank.r1, paper.id, True)
    svc.set_scale_to_100(session, bank.admin, paper.id, True)
    svc.submit_paper(session, bank.admin, paper.id)
    with pytest.raises(ValidationError, match="不能修改计分方式"):
        svc.set_scale_to_100(session, bank.admin, paper.id, False)
    assert paper.scale_to_100 is True
