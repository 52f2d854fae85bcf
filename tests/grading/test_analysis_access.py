"""题目分析 inside a reviewer's assignments (issue #12 point 2), at the service level.

Two occupations X and Y (one blueprint each) and two institutions A and B. Blueprint X has
items of A and of B. Reviewer ``rx`` is assigned (X, A) only. The centre admin sees all.
"""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from foundation.errors import NotFound, PermissionDenied, RowErrors
from foundation.roles import Role
from grading.psychometrics import calibration as cal
from grading.psychometrics import exam_responses as er
from grading.psychometrics import reports
from grading.psychometrics import responses as rsp
from grading.psychometrics.models import CalibrationRun, ItemParameter, ResponseSet
from itembank.models import Item
from tests.factories import make_user
from tests.grading.worlds import TwoOccupations, flip_column, run_now, xlsx_bytes


@pytest.fixture
def two(session):
    return TwoOccupations(session)


def test_a_reviewer_cannot_create_response_sets_for_another_occupation(session, two):
    with pytest.raises(NotFound):
        rsp.simulate_response_set(session, two.rx, two.bp_y.id, 100, 1)
    data = xlsx_bytes([["性别", two.items_y[0].code], ["男", 1]])
    with pytest.raises(NotFound):
        rsp.import_response_set(session, two.rx, two.bp_y.id, "Y", data)
    with pytest.raises(NotFound):
        er.build_exam_response_set(session, two.rx, blueprint_id=two.bp_y.id, date_from="2026-10-01",
                                   date_to="2026-10-02")
    assert session.scalar(select(ResponseSet.id).where(ResponseSet.created_by_id == two.rx.id)) is None


def test_a_reviewer_neither_lists_nor_sees_nor_runs_another_occupations_data(session, two):
    with pytest.raises(NotFound):
        rsp.readable_response_set(session, two.rx, two.set_y.id)
    with pytest.raises(NotFound):
        cal.start_run(session, two.rx, two.set_y.id)
    with pytest.raises(NotFound):
        cal.readable_run(session, two.rx, two.run_y.id)
    sets = session.scalars(select(ResponseSet.id).where(rsp.response_set_clause(two.rx))).all()
    runs = session.scalars(select(CalibrationRun.id).where(cal.run_clause(two.rx))).all()
    assert sets == [two.set_x.id] and runs == []
    # The centre is unaffected.
    assert rsp.response_set_clause(two.centre) is None and cal.run_clause(two.centre) is None
    assert cal.readable_run(session, two.centre, two.run_y.id) is two.run_y


def test_a_reviewer_reads_no_report_outside_their_assignments(session, two):
    with pytest.raises(NotFound):
        reports.item_report(session, two.rx, two.items_y[0].id)  # another occupation
    with pytest.raises(NotFound):
        reports.item_report(session, two.rx, two.items_b[0].id)  # occupation X, institution B
    with pytest.raises(NotFound):
        reports.item_report(session, two.rx, two.items_a[0].id, two.run_y.id)  # a run of Y
    with pytest.raises(NotFound):
        reports.dif_report(session, two.rx, two.run_y.id)
    with pytest.raises(NotFound):
        reports.dif_choices(session, two.rx, two.run_y.id)
    with pytest.raises(PermissionDenied):
        reports.paper_report(session, two.rx, two.paper_b.id)
    with pytest.raises(PermissionDenied):
        reports.item_report(session, make_user(session, Role.QUESTION_WRITER), two.items_a[0].id)
    # The centre reads them all.
    assert reports.item_report(session, two.centre, two.items_b[0].id).item is two.items_b[0]
    assert reports.paper_report(session, two.centre, two.paper_b.id).paper is two.paper_b


def test_a_reviewers_simulation_covers_only_the_items_they_may_read(session, two):
    rs = rsp.simulate_response_set(session, two.rx, two.bp_x.id, 100, 1)
    assert set(rs.item_ids) == {i.id for i in two.items_a}


def test_a_reviewers_run_changes_the_status_of_their_items_only(session, two):
    flip_column(session, two.set_x, two.items_a[0].id)  # miskeyed: a negative point-biserial
    flip_column(session, two.set_x, two.items_b[0].id)
    run, _ = run_now(session, two.rx, two.set_x)
    assert run.status == "done", run.message
    a0, b0, b5 = (session.get(Item, i.id) for i in (two.items_a[0], two.items_b[0], two.items_b[5]))
    assert a0.status == "submitted"  # the reviewer's own item goes back to review
    assert b0.status == "active" and b5.is_pretest  # another institution's items keep their status
    b0_flags = session.scalars(select(ItemParameter.flags_json).where(ItemParameter.run_id == run.id,
                                                                      ItemParameter.item_id == b0.id)).one()
    assert "校正点二列相关为负" in b0_flags  # the flag is still recorded
    report = run.report
    assert report["sent_to_review"] == [a0.code]
    assert set(report["outside_scope"]) == {i.code for i in two.items_b}
    flagged_b0 = next(f for f in report["flagged"] if f["item_id"] == b0.id)
    assert flagged_b0["sent_to_review"] is False

    # The reviewer's view of the run and its reports leaves the B items out.
    seen = reports.run_report(session, two.rx, run)
    assert seen["hidden_items"] == 6 and seen["outside_scope"] == []
    assert {f["item_id"] for f in seen["flagged"]} <= {i.id for i in two.items_a}
    centre_view = reports.run_report(session, two.centre, run)
    assert centre_view["hidden_items"] == 0 and set(centre_view["outside_scope"]) == set(report["outside_scope"])
    dif = reports.dif_report(session, two.rx, run.id, "性别")
    rows = {r.item_id for c in dif.comparisons for r in c.rows}
    assert rows and rows <= {i.id for i in two.items_a} and dif.hidden == 6
    assert reports.dif_report(session, two.centre, run.id, "性别").hidden == 0
    paper = reports.paper_report(session, two.rx, two.paper_a.id)
    assert [r.item_id for r in paper.forms[0].items] == [i.id for i in two.items_a[:3]]
    assert paper.forms[0].hidden == 1


def test_the_centres_run_sends_every_flagged_item_back(session, two):
    flip_column(session, two.set_x, two.items_b[0].id)
    run, _ = run_now(session, two.centre, two.set_x)
    assert run.status == "done", run.message
    assert session.get(Item, two.items_b[0].id).status == "submitted"
    assert run.report["outside_scope"] == []


def test_a_reviewers_import_treats_unreadable_codes_as_unknown(session, two):
    data = xlsx_bytes([["性别", two.items_a[0].code, two.items_a[1].code], ["男", 1, 0], ["女", 0, 1]])
    rs = rsp.import_response_set(session, two.rx, two.bp_x.id, "A 的作答", data)
    assert rs.n_items == 2
    bad = xlsx_bytes([["性别", two.items_a[0].code, two.items_b[1].code], ["男", 1, 0]])
    with pytest.raises(RowErrors) as exc:
        rsp.import_response_set(session, two.rx, two.bp_x.id, "B 的作答", bad)
    assert f"未知的试题编码「{two.items_b[1].code}」" in " ".join(m for _, _, m in exc.value.errors)
    np.testing.assert_array_equal(rs.arrays()["scores"], [[1, 0], [0, 1]])
