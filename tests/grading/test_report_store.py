"""Item reports from stored results (grading.psychometrics.report_store, issue 16 point 5).

What a report reads off the response matrix (CTT statistics, observed ICC by rest-θ group,
distractor table) is computed once per (run, item) — by the run when it finishes, or on the
first view for runs made before the store — and served without opening the matrix again.
The served report must be exactly what the on-demand computation gave: the tests rebuild it
here from the pure statistics (report_stats, ctt) the way item_report always did.
"""

from __future__ import annotations

import dataclasses
import io
import json

import numpy as np
import openpyxl
import pytest
from sqlalchemy import delete, func, select

from foundation.errors import NotFound
from grading.psychometrics import ctt, models, report_excel, report_stats, report_store, reports
from grading.psychometrics import responses as rsp
from grading.psychometrics.models import ItemReportStats
from grading.psychometrics.report_stats import (
    binary_columns,
    column_max,
    distractor_rows,
    latent_posterior,
    rest_theta_icc,
)
from itembank.itemtypes import ITEM_TYPES
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


#: How far the leave-one-out posteriors (report_stats.LeaveOneOut) may be from latent_posterior
#: on the rest columns: the same EM from the same start, so rounding only.
ROUNDING = 1e-9


def assert_icc_close(got, want, tol: float = ROUNDING) -> None:
    """Observed ICCs (objects or their dicts) equal in counts, within ``tol`` in every number."""
    got, want = (o if isinstance(o, dict) else dataclasses.asdict(o) for o in (got, want))
    assert [(g["index"], g["n"]) for g in got["groups"]] == [(g["index"], g["n"]) for g in want["groups"]]
    assert (got["n"], got["n_matching_items"]) == (want["n"], want["n_matching_items"])
    for g, w in zip(got["groups"], want["groups"], strict=True):
        for field in ("theta_mean", "theta_min", "theta_max", "observed", "expected", "model_at_mean"):
            assert abs(g[field] - w[field]) <= tol, (field, g, w)
    for field in ("rmsd", "chi_square", "latent_mean", "latent_sd"):
        assert abs(got[field] - want[field]) <= tol * max(1.0, abs(want[field])), field


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
            "observed": observed, "options": repr(distractor_rows(x, ch, k, labels, key))}


def _figures(report: reports.ItemReport) -> dict:
    return {"ctt": (report.ctt_n, report.ctt_p, report.ctt_pbis, report.ctt_d), "observed": repr(report.observed),
            "options": repr(report.options)}


def assert_figures_close(report: reports.ItemReport, want: dict) -> None:
    """CTT and distractor tables identical, the observed ICC within rounding."""
    got = _figures(report)
    assert (got["ctt"], got["options"]) == (want["ctt"], want["options"])
    assert_icc_close(report.observed, want["observed"])


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
            assert_figures_close(report, _reference(world, k, a, b))
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


# ------------------------------------------------------- run-end computation in O(N·J·Q)


def _reference_entries(scores, choices, item_ids, params, inputs):
    """item_entries as it was before report_stats.LeaveOneOut: one latent_posterior (a new
    (N, Q) likelihood and EM) per item over the other calibrated 0/1 columns, and the rest
    scores of the distractor table recomputed from the whole matrix per item."""
    wanted = [iid for iid in dict.fromkeys(item_ids) if iid in params and iid in inputs]
    stats = ctt.item_statistics(scores, max_scores=column_max(scores))
    out = {}
    for item_id in wanted:
        j = list(item_ids).index(item_id)
        parameter = params[item_id]
        entry = {"ctt_n": int(stats.n_presented[j]), "ctt_p": report_store._num(stats.difficulty[j]),
                 "ctt_pbis": report_store._num(stats.point_biserial[j]),
                 "ctt_d": report_store._num(stats.discrimination_index[j]),
                 "observed": None, "observed_note": "", "options": None, "options_note": ""}
        if not binary_columns(scores[:, [j]])[0]:
            entry["observed_note"] = "这道试题不是 0/1 计分，不绘制实测通过率。"
        else:
            posterior = report_store.matching_posterior(scores, item_ids, params, exclude=j)
            if posterior is None:
                entry["observed_note"] = "该次标定中没有其他可用于估计能力的试题。"
            else:
                nodes, post, mean, sd, n_items = posterior
                observed = rest_theta_icc(scores[:, j], nodes, post, parameter.a, parameter.b, parameter.c,
                                          latent=(mean, sd), n_matching_items=n_items)
                entry["observed"] = dataclasses.asdict(observed)
        item_inputs = inputs[item_id]
        presented = ~np.isnan(scores[:, j])
        recorded = choices[presented, j] if choices is not None else np.zeros(0, dtype=np.int64)
        labelled = report_store.option_labels(item_inputs, recorded)
        if labelled is None:
            kind = item_inputs.item_type
            type_label = ITEM_TYPES[kind].label if kind in ITEM_TYPES else kind
            entry["options_note"] = f"{type_label}没有选项，不做选项分析。"
        elif choices is None or not (recorded >= 0).any():
            entry["options_note"] = "该作答数据没有记录考生对这道试题所选的选项（只有得分）。"
        else:
            labels, key = labelled
            entry["options"] = [dataclasses.asdict(o) for o in distractor_rows(scores, choices, j, labels, key)]
        entry["basis"] = item_inputs.basis
        out[item_id] = entry
    return out


def _seeded_set(seed: int, n: int, j: int, *, model: str, missing: float, polytomous: bool):
    """Scores (0/1 with NaN not presented; optionally a 0–4 column and a 0/0.5/1 column),
    choice codes with blanks (−1) and unknown codes, parameters for all but the last column."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 2.2, j)
    b = rng.normal(0.0, 1.0, j)
    c = rng.uniform(0.05, 0.3, j) if model == "3pl" else np.zeros(j)
    theta = rng.normal(0.4, 1.2, n)
    p = c + (1 - c) / (1 + np.exp(-a * (theta[:, None] - b)))
    x = (rng.random((n, j)) < p).astype(float)
    if polytomous:
        x[:, 1] = np.clip(np.round(theta * 1.5 + 2 + rng.normal(0, 1, n)), 0, 4)
        x[:, 2] = np.clip(np.round((theta + rng.normal(0, 1, n)) * 2) / 4 + 0.5, 0, 1)  # 0, 0.25 … 1
    x[rng.random((n, j)) < missing] = np.nan
    x[: n // 50] = np.nan  # some examinees presented nothing
    choices = np.where(x == 1, 1, rng.choice(np.array([0, 2, 3, -1, 9]), size=x.shape)).astype(np.int64)
    ids = [500 + k for k in range(j)]
    params = {iid: report_store.RunParameters(float(a[k]), float(b[k]), float(c[k]) if model == "3pl" else None)
              for k, iid in enumerate(ids[:-1])}
    inputs = {iid: report_store.OptionInputs("single_choice", ("A", "B", "C", "D"), ("B",)) for iid in ids}
    inputs[ids[3]] = report_store.OptionInputs("fill_blank", None, ())
    return x, choices, ids, params, inputs


@pytest.mark.parametrize(("seed", "n", "j", "model", "missing", "polytomous"), [
    (1, 900, 12, "2pl", 0.0, False),     # complete: many identical rest patterns (ties)
    (2, 1500, 20, "2pl", 0.3, False),    # missing by design
    (3, 1200, 16, "3pl", 0.15, True),    # 3PL, polytomous columns, blanks
    (4, 700, 5, "3pl", 0.5, True),       # few items, half missing
])
def test_item_entries_equal_the_per_item_posterior(seed, n, j, model, missing, polytomous):
    x, choices, ids, params, inputs = _seeded_set(seed, n, j, model=model, missing=missing, polytomous=polytomous)
    got = report_store.item_entries(x, choices, ids, params, inputs)
    want = _reference_entries(x, choices, ids, params, inputs)
    assert set(got) == set(want) == set(params)
    observed = 0
    for item_id, entry in got.items():
        ref = want[item_id]
        # CTT and the distractor table identical, bit for bit.
        assert {k: v for k, v in entry.items() if k != "observed"} == {k: v for k, v in ref.items() if k != "observed"}
        assert (entry["observed"] is None) == (ref["observed"] is None), item_id
        if ref["observed"] is not None:
            assert_icc_close(entry["observed"], ref["observed"])
            observed += 1
    assert observed == sum(1 for k, iid in enumerate(ids) if iid in params and binary_columns(x[:, [k]])[0])


def test_only_one_item_is_the_same_entry_as_all_items():
    """The on-demand path (reports.item_report, one item) and the run end (all items) agree."""
    x, choices, ids, params, inputs = _seeded_set(5, 800, 10, model="3pl", missing=0.2, polytomous=True)
    every = report_store.item_entries(x, choices, ids, params, inputs)
    for item_id in params:
        assert report_store.item_entries(x, choices, ids, params, inputs, only={item_id}) == {item_id: every[item_id]}


def test_item_entries_build_one_likelihood_not_one_per_item(monkeypatch):
    x, choices, ids, params, inputs = _seeded_set(6, 400, 8, model="2pl", missing=0.1, polytomous=False)
    built = []
    real = report_stats.LeaveOneOut.__init__

    def counted(self, *args, **kwargs):
        built.append(1)
        real(self, *args, **kwargs)

    def per_item(*args, **kwargs):
        raise AssertionError("a posterior rebuilt from the other items for one item")

    monkeypatch.setattr(report_stats.LeaveOneOut, "__init__", counted)
    monkeypatch.setattr(report_stats, "latent_posterior", per_item)
    monkeypatch.setattr(report_store, "latent_posterior", per_item)
    entries = report_store.item_entries(x, choices, ids, params, inputs)
    assert len(built) == 1 and sum(e["observed"] is not None for e in entries.values()) == len(params)


@pytest.mark.parametrize("model", ["2pl", "3pl"])
def test_leave_one_out_equals_latent_posterior_of_the_rest_in_both_domains(monkeypatch, model):
    """Each column left out equals latent_posterior on the other columns; rows whose weighted
    sum underflows take the log-domain path, which gives the same numbers (forced here for all)."""
    x, _, ids, params, _ = _seeded_set(7, 600, 9, model=model, missing=0.25, polytomous=False)
    cols = list(range(len(params)))
    a = np.array([params[ids[k]].a for k in cols])
    b = np.array([params[ids[k]].b for k in cols])
    c = np.array([params[ids[k]].c or 0.0 for k in cols])
    loo = report_stats.LeaveOneOut(x[:, cols], a, b, c)
    p_item = np.linspace(0.01, 0.99, loo.nodes.size)
    for k in cols:
        rest = [i for i in cols if i != k]
        nodes, post, mean, sd = latent_posterior(x[:, rest], a[rest], b[rest], c[rest])
        for tiny in (report_stats.LeaveOneOut._TINY, np.inf):
            monkeypatch.setattr(report_stats.LeaveOneOut, "_TINY", tiny)
            got = loo.rest(k, p_item)
            assert abs(got.mean - mean) < ROUNDING and abs(got.sd - sd) < ROUNDING
            assert np.allclose(got.theta, post @ nodes, rtol=0, atol=ROUNDING)
            assert np.allclose(got.expected, post @ p_item, rtol=0, atol=ROUNDING)


def test_rest_scores_of_every_column_equal_the_per_column_ones():
    for polytomous in (False, True):
        x, *_ = _seeded_set(8, 500, 10, model="2pl", missing=0.3, polytomous=polytomous)
        rest = report_stats.RestScores(x)
        assert rest.exact is not polytomous
        for j in range(x.shape[1]):
            got, want = rest.of(j), report_stats._rest_score(x, j)
            assert np.array_equal(got[0], want[0], equal_nan=True) and np.array_equal(got[1], want[1])
