"""Item reports from stored results (grading.psychometrics.report_store, issue 16 point 5).

What a report reads off the response matrix (CTT statistics, observed ICC by rest-θ group,
distractor table) is computed once per (run, item) — by the run when it finishes, or on the
first view for runs made before the store — and served without opening the matrix again.
The served report must be exactly what the on-demand computation gave: the tests rebuild it
here from the pure statistics (report_stats, ctt) the way item_report always did.
"""

from __future__ import annotations

import io
import json

import numpy as np
import openpyxl
import pytest
from sqlalchemy import delete, func, select

from foundation.errors import NotFound
from grading.psychometrics import ctt, models, report_excel, report_store, reports
from grading.psychometrics import responses as rsp
from grading.psychometrics.models import ItemReportStats
from grading.psychometrics.report_stats import (
    column_max,
    distractor_rows,
    latent_posterior,
    rest_theta_icc,
)
from itembank.models import ItemVersion
from tests.factories import make_blueprint, make_user
from tests.grading.worlds import AnalysisWorld, analyst, make_items, run_now


class Unpacks:
    """Counts decompressions of response matrices; ``refuse()`` makes the next one fail."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.refusing = False
        real = models.unpack_arrays

        def counted(blob: bytes):
            self.calls += 1
            if self.refusing:
                raise AssertionError("the response matrix was decompressed to serve a report")
            return real(blob)

        monkeypatch.setattr(models, "unpack_arrays", counted)

    def refuse(self) -> None:
        self.refusing = True


@pytest.fixture
def unpacks(monkeypatch):
    return Unpacks(monkeypatch)


@pytest.fixture
def world(session):
    return AnalysisWorld(session, n=1200)


def _reference(world: AnalysisWorld, k: int, a: np.ndarray, b: np.ndarray) -> dict:
    """The matrix figures of item ``k`` computed directly, as item_report did on every view."""
    x, ch = world.scores, world.choices.astype(np.int64)
    stats = ctt.item_statistics(x, max_scores=column_max(x))
    rest = [j for j in range(world.J) if j != k]
    nodes, post, mean, sd = latent_posterior(x[:, rest], a[rest], b[rest], np.zeros(len(rest)))
    observed = rest_theta_icc(x[:, k], nodes, post, float(a[k]), float(b[k]), None, latent=(mean, sd),
                              n_matching_items=len(rest))
    labels, key = (["A", "B", "C", "D"], ["B"]) if k < 20 else (["√", "×"], ["√"])
    return {"ctt": (int(stats.n_presented[k]), float(stats.difficulty[k]), float(stats.point_biserial[k]),
                    float(stats.discrimination_index[k])),
            "observed": repr(observed), "options": repr(distractor_rows(x, ch, k, labels, key))}


def _figures(report: reports.ItemReport) -> dict:
    return {"ctt": (report.ctt_n, report.ctt_p, report.ctt_pbis, report.ctt_d), "observed": repr(report.observed),
            "options": repr(report.options)}


def _workbook_values(report: reports.ItemReport) -> list:
    wb = openpyxl.load_workbook(io.BytesIO(report_excel.item_report_xlsx(report)))
    return [[list(row) for row in ws.iter_rows(values_only=True)] for ws in wb.worksheets]


@pytest.mark.slow
def test_stored_reports_equal_the_direct_computation_and_skip_the_matrix(session, world, unpacks):
    runs = {world.run.id: (world.a, world.b), world.old_run.id: (world.a * 0.95, world.b - 0.1)}
    first = {}
    for run_id, (a, b) in runs.items():
        for k, item in enumerate(world.items):
            report = reports.item_report(session, world.centre, item.id, run_id)
            assert _figures(report) == _reference(world, k, a, b), (run_id, k)
            first[run_id, item.id] = (report.chart_data(), _figures(report), _workbook_values(report))
    assert session.scalar(select(func.count()).select_from(ItemReportStats)) == 2 * world.J

    unpacks.refuse()
    for (run_id, item_id), (chart, figures, workbook) in first.items():
        report = reports.item_report(session, world.centre, item_id, run_id)
        assert json.dumps(report.chart_data()) == json.dumps(chart)
        assert _figures(report) == figures
        assert _workbook_values(report) == workbook
    default = reports.item_report(session, world.centre, world.items[0].id)  # the current run, stored too
    assert default.run.id == world.run.id and default.observed is not None


def test_an_old_run_is_computed_once_then_served(session, world, unpacks):
    item = world.items[world.MISKEYED]
    stored = select(ItemReportStats).where(ItemReportStats.run_id == world.run.id)
    assert session.scalars(stored).all() == []  # a run made before the store
    report = reports.item_report(session, world.centre, item.id)
    assert unpacks.calls == 1
    rows = session.scalars(stored).all()
    assert [(r.item_id, r.format_version) for r in rows] == [(item.id, report_store.FORMAT_VERSION)]
    for _ in range(3):
        again = reports.item_report(session, world.centre, item.id)
        assert _figures(again) == _figures(report)
    assert unpacks.calls == 1 and len(session.scalars(stored).all()) == 1
    assert report.positive_distractors == ("D",)


def test_a_new_format_version_recomputes(session, world, unpacks, monkeypatch):
    item = world.items[4]
    report = reports.item_report(session, world.centre, item.id)
    monkeypatch.setattr(report_store, "FORMAT_VERSION", report_store.FORMAT_VERSION + 1)
    again = reports.item_report(session, world.centre, item.id)
    assert unpacks.calls == 2 and _figures(again) == _figures(report)
    row = session.scalars(select(ItemReportStats).where(ItemReportStats.item_id == item.id)).one()
    assert row.format_version == report_store.FORMAT_VERSION
    reports.item_report(session, world.centre, item.id)
    assert unpacks.calls == 2


def test_changed_options_of_the_item_recompute_its_distractor_table(session, world, unpacks):
    item = world.items[world.MISKEYED]
    before = reports.item_report(session, world.centre, item.id)
    assert [o.label for o in before.options if o.is_key] == ["B"]
    old = item.current_version
    spec = {**old.spec, "key": ["D"]}  # a new version keyed D (the strong examinees' choice)
    version = ItemVersion(item_id=item.id, number=old.number + 1, stem_html=old.stem_html,
                          spec_json=json.dumps(spec, ensure_ascii=False), difficulty=old.difficulty,
                          author_id=old.author_id, frozen=True)
    session.add(version)
    session.flush()
    item.current_version_id = version.id
    session.flush()
    session.expire(item)
    after = reports.item_report(session, world.centre, item.id)
    assert unpacks.calls == 2
    assert [o.label for o in after.options if o.is_key] == ["D"] and "D" not in after.positive_distractors
    assert after.observed == before.observed
    assert session.scalar(select(func.count()).select_from(ItemReportStats)) == 1


def test_a_stored_report_keeps_the_access_rules(session, world):
    item = world.items[4]
    reports.item_report(session, world.centre, item.id)  # stored
    outsider = make_user(session, world.analyst(session).role)  # a reviewer without assignments
    with pytest.raises(NotFound):
        reports.item_report(session, outsider, item.id)
    with pytest.raises(NotFound):
        reports.item_report(session, outsider, item.id, world.run.id)


def test_a_finished_run_stores_every_calibrated_item(session, unpacks):
    bp = make_blueprint(session)
    items = make_items(session, bp, 12, seed=5)
    reviewer = analyst(session, bp)
    rs = rsp.simulate_response_set(session, reviewer, bp.id, 500, 5)
    run, stages = run_now(session, reviewer, rs)
    assert run.status == "done", run.message
    assert (78, "题目分析报告（实测 ICC、选项分析）") in stages
    rows = {r.item_id: r for r in session.scalars(select(ItemReportStats).where(ItemReportStats.run_id == run.id))}
    assert set(rows) == {i.id for i in items}
    at_run_end = {item_id: row.payload for item_id, row in rows.items()}

    unpacks.refuse()
    for item in items:
        report = reports.item_report(session, reviewer, item.id, run.id)
        assert report.observed is not None and report.options is not None

    # What the run stored is what the lazy path computes from the stored parameters.
    unpacks.refusing = False
    for row in rows.values():
        session.delete(row)
    session.flush()
    assert report_store.backfill_run(session, run) == len(items)
    recomputed = {r.item_id: r.payload for r in session.scalars(
        select(ItemReportStats).where(ItemReportStats.run_id == run.id))}
    assert recomputed == at_run_end
    assert report_store.backfill_run(session, run) == 0


@pytest.mark.slow
def test_cli_backfills_finished_runs_once(session, runner, world):
    result = runner.invoke(args=["grading", "reports", "--backfill"])
    assert result.exit_code == 0, result.output
    assert f"标定任务 #{world.run.id}：补算 {world.J} 道" in result.output
    session.expire_all()
    count = select(func.count()).select_from(ItemReportStats)
    assert session.scalar(count) == 2 * world.J
    again = runner.invoke(args=["grading", "reports", "--backfill", "--run", str(world.run.id)])
    assert again.exit_code == 0 and "共补算 0 道" in again.output
    assert runner.invoke(args=["grading", "reports"]).exit_code != 0  # nothing but --backfill is offered


def test_a_first_view_that_loses_the_insert_race_still_serves_its_report(session, world, monkeypatch):
    """Two first views of one (run, item) insert the same row; the one whose insert breaks the
    unique (run, item) serves the figures it computed, and its session goes on working."""
    item = world.items[4]
    expected = _figures(reports.item_report(session, world.centre, world.items[4].id, world.old_run.id))
    session.execute(delete(ItemReportStats))

    def racing_store(sess, run_id, entries):  # the other view's row and ours, same (run, item)
        for basis in ("other view", "this view"):
            sess.add(ItemReportStats(run_id=run_id, item_id=item.id, format_version=report_store.FORMAT_VERSION,
                                     options_basis=basis, payload="{}"))
        sess.flush()

    monkeypatch.setattr(report_store, "store_entries", racing_store)
    assert _figures(reports.item_report(session, world.centre, item.id, world.old_run.id)) == expected
    assert session.scalar(select(func.count()).select_from(ItemReportStats)) == 0  # only our savepoint undone
    assert reports.item_report(session, world.centre, world.items[5].id).run.id == world.run.id
