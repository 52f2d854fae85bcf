"""题目分析 pages inside a reviewer's assignments (issue #12 point 2): ids in URLs and forms.

The world of :mod:`tests.grading.test_analysis_access`: reviewer ``rx`` is assigned
(occupation X, institution A); occupation Y and institution B are outside.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from grading.psychometrics.models import CalibrationRun, ResponseSet
from itembank.models import Item
from tests.grading.worlds import TwoOccupations, flip_column, run_now

NEW = "/analysis/response-sets/new"


@pytest.fixture
def two(session):
    return TwoOccupations(session)


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_ids_of_another_occupation_are_not_found(session, client, login, two):
    login(two.rx)
    run, item = two.run_y.id, two.items_y[0].id
    for path in (f"/analysis/runs/{run}", f"/analysis/runs/{run}/status.json", f"/analysis/runs/{run}/dif",
                 f"/analysis/runs/{run}/dif.json", f"/analysis/runs/{run}/dif.xlsx",
                 f"/analysis/items/{item}", f"/analysis/items/{item}.json", f"/analysis/items/{item}.xlsx",
                 f"/analysis/items/{two.items_b[0].id}", f"/analysis/items/{two.items_b[0].id}.xlsx",
                 f"/analysis/items/{two.items_a[0].id}?run={run}"):
        assert client.get(path).status_code == 404, path
    for path in (f"/analysis/papers/{two.paper_b.id}", f"/analysis/papers/{two.paper_b.id}.json",
                 f"/analysis/papers/{two.paper_b.id}.xlsx"):
        assert client.get(path).status_code == 403, path
    sets, runs = _count(session, ResponseSet), _count(session, CalibrationRun)
    assert client.post("/analysis/runs", data={"response_set_id": str(two.set_y.id)}).status_code == 404
    resp = client.post(NEW, data={"sim-mode": "simulate", "sim-blueprint_id": str(two.bp_y.id),
                                  "sim-n_examinees": "100", "sim-seed": "1", "sim-missing_design": "none",
                                  "sim-ability_mean": "0", "sim-name": ""})
    assert resp.status_code == 404
    assert (_count(session, ResponseSet), _count(session, CalibrationRun)) == (sets, runs)
    # The centre reaches the same pages.
    login(two.centre)
    assert client.get(f"/analysis/runs/{run}").status_code == 200
    assert client.get(f"/analysis/items/{item}").status_code == 200
    assert client.get(f"/analysis/papers/{two.paper_b.id}").status_code == 200


def test_lists_and_pickers_show_the_reviewers_occupations_only(session, client, login, two):
    login(two.rx)
    sets = client.get("/analysis/?tab=sets").get_data(as_text=True)
    assert "X 全部" in sets and "Y 全部" not in sets
    runs = client.get("/analysis/").get_data(as_text=True)
    assert f"/analysis/runs/{two.run_y.id}\"" not in runs
    new = client.get(NEW).get_data(as_text=True)
    assert f'value="{two.bp_x.id}"' in new and f'value="{two.bp_y.id}"' not in new


def test_run_page_omits_items_the_reviewer_may_not_read(session, client, login, two):
    flip_column(session, two.set_x, two.items_b[0].id)
    run, _ = run_now(session, two.centre, two.set_x)
    login(two.rx)
    html = client.get(f"/analysis/runs/{run.id}").get_data(as_text=True)
    assert all(i.code in html for i in two.items_a)
    assert not any(i.code in html for i in two.items_b)
    assert 'id="run-hidden-items"' in html
    dif = client.get(f"/analysis/runs/{run.id}/dif?group=性别").get_data(as_text=True)
    assert two.items_a[0].code in dif and two.items_b[0].code not in dif
    paper = client.get(f"/analysis/papers/{two.paper_a.id}").get_data(as_text=True)
    assert two.items_a[0].code in paper and two.items_b[0].code not in paper
    assert session.get(Item, two.items_b[0].id).status == "submitted"  # the centre's run acts on every item
