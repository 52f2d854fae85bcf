"""Analysis reports on simulated data: the pure statistics (grading.psychometrics.report_stats) — the observed
ICC follows the model for a fitting item, the distractor table, reliability against
grading.psychometrics.ctt, planted DIF — and the loaders (grading.psychometrics.reports) on rows built directly with
grading.psychometrics.models (no calibration code needed).

``AnalysisWorld`` (tests/grading/worlds.py) is shared with tests/web/test_analysis_reports.py.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from foundation.errors import NotFound, ValidationError
from grading.psychometrics import ctt, report_stats, reports
from grading.psychometrics.models import CalibrationRun, ItemParameter, ResponseSet, pack_arrays
from itembank import items as item_svc
from itembank.irtmodel import prob
from tests.factories import single_choice
from tests.grading.worlds import AnalysisWorld, choose_options

LABELS = "ABCD"


def simulate(rng: np.random.Generator, theta: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (rng.random((theta.size, a.size)) < prob(theta, a, b)).astype(float)


# ---------------------------------------------------------------- a world in the database


@pytest.fixture(scope="module")
def sim():
    """Pure simulated data: 3,000 examinees × 30 items, 2PL."""
    rng = np.random.default_rng(11)
    n, j = 3000, 30
    a = rng.uniform(0.8, 2.0, j)
    b = rng.normal(0.0, 1.0, j)
    theta = rng.normal(0.4, 1.2, n)
    return {"a": a, "b": b, "theta": theta, "x": simulate(rng, theta, a, b), "rng": rng}


# ---------------------------------------------------------------- pure builders


def test_item_curves_match_irtmodel():
    curves = report_stats.item_curves(1.5, 0.2, 0.1)
    assert curves.theta.shape == (81,)
    assert curves.theta[40] == 0.0
    assert curves.probability[40] == pytest.approx(0.1 + 0.9 / (1 + math.exp(1.5 * 0.2)))
    k = int(np.argmin(np.abs(curves.theta - 0.2)))
    assert curves.probability[k] == pytest.approx(0.55)
    two_pl = report_stats.item_curves(1.5, 0.2)
    assert two_pl.information.max() == pytest.approx(1.5**2 / 4, rel=1e-3)


def test_latent_posterior_recovers_the_population(sim):
    nodes, post, mean, sd = report_stats.latent_posterior(sim["x"], sim["a"], sim["b"])
    assert post.shape == (3000, nodes.size)
    assert np.allclose(post.sum(axis=1), 1.0)
    assert mean == pytest.approx(0.4, abs=0.08)
    assert sd == pytest.approx(1.2, abs=0.08)
    eap = post @ nodes
    assert np.corrcoef(eap, sim["theta"])[0, 1] > 0.9


def _observed(sim, j: int, a: float, b: float) -> reports.ObservedIcc:
    x = sim["x"]
    rest = np.delete(np.arange(x.shape[1]), j)
    nodes, post, mean, sd = report_stats.latent_posterior(x[:, rest], sim["a"][rest], sim["b"][rest])
    return report_stats.rest_theta_icc(x[:, j], nodes, post, a, b, None, latent=(mean, sd), n_matching_items=rest.size)


def test_observed_proportions_follow_the_model_for_a_fitting_item(sim):
    j = 4
    obs = _observed(sim, j, sim["a"][j], sim["b"][j])
    assert len(obs.groups) == 10
    assert [g.index for g in obs.groups] == list(range(1, 11))
    assert sum(g.n for g in obs.groups) == 3000
    means = [g.theta_mean for g in obs.groups]
    assert means == sorted(means)
    for g in obs.groups:
        assert abs(g.observed - g.expected) < 4 * g.se + 0.01, g  # within sampling error
        # the ICC at the group mean is close to the posterior prediction
        assert abs(g.model_at_mean - g.expected) < 0.06
    assert obs.rmsd < 0.04
    assert obs.n_matching_items == 29


def test_observed_proportions_expose_wrong_parameters(sim):
    j = 4
    good = _observed(sim, j, sim["a"][j], sim["b"][j])
    bad = _observed(sim, j, sim["a"][j] * 0.3, sim["b"][j] + 1.0)
    assert bad.rmsd > 3 * good.rmsd and bad.rmsd > 0.08


def test_observed_groups_shrink_for_few_examinees():
    rng = np.random.default_rng(1)
    y = (rng.random(50) < 0.5).astype(float)
    obs = report_stats.observed_icc(y, rng.normal(size=50), np.full(50, 0.5), 1.0, 0.0)
    assert len(obs.groups) == 2  # 50 // 20
    y[:10] = np.nan  # not presented
    assert report_stats.observed_icc(y, rng.normal(size=50), np.full(50, 0.5), 1.0, 0.0).n == 40


def test_distractor_table_sums_to_one_marks_the_key_and_matches_ctt(sim):
    rng = sim["rng"]
    x = sim["x"].copy()
    choices = np.stack([choose_options(rng, x[:, k], 1) for k in range(x.shape[1])], axis=1)
    choices[:25, 0] = -1  # presented, left blank (scored 0)
    x[:25, 0] = 0.0
    rows = report_stats.distractor_rows(x, choices, 0, list(LABELS), ["B"])
    assert [r.label for r in rows] == ["A", "B", "C", "D", report_stats.BLANK_LABEL]
    assert sum(r.share for r in rows) == pytest.approx(1.0)
    assert sum(r.n for r in rows) == 3000
    assert [r.is_key for r in rows] == [False, True, False, False, False]
    key = rows[1]
    assert key.rest_correlation == pytest.approx(ctt.corrected_point_biserial(x)[0])
    assert all(r.rest_correlation < 0 for r in rows[:4] if not r.is_key)
    assert not any(r.warning for r in rows)
    # Same numbers as grading.psychometrics.ctt's own distractor analysis (which takes labels and keys).
    labelled = np.array(list(LABELS), dtype=object)[np.where(choices >= 0, choices, 0)]
    labelled[choices < 0] = ""
    tables = ctt.distractor_analysis(labelled[:, :3], ["B", "B", "B"])
    x3 = np.where(labelled[:, :3] == "B", 1.0, 0.0)
    rows3 = report_stats.distractor_rows(x3, choices[:, :3], 0, list(LABELS), "B")
    by_label = {r.label: r for r in rows3}
    for option, r in zip(tables[0].options, tables[0].rest_correlation, strict=True):
        label = option or report_stats.BLANK_LABEL
        assert by_label[label].rest_correlation == pytest.approx(r)


def test_positive_distractor_is_flagged():
    rng = np.random.default_rng(5)
    n = 1500
    theta = rng.normal(size=n)
    a, b = np.full(10, 1.3), np.linspace(1, -1, 10)
    x = simulate(rng, theta, a, b)
    choices = np.stack([choose_options(rng, x[:, k], 0) for k in range(10)], axis=1)
    wrong = x[:, 0] == 0
    choices[wrong & (theta > 0), 0] = 2  # strong examinees who miss it pick C, the others B or D
    weak = wrong & (theta <= 0)
    choices[weak, 0] = rng.choice(np.array([1, 3]), size=int(weak.sum()))
    rows = report_stats.distractor_rows(x, choices, 0, list(LABELS), "A")
    flagged = [r.label for r in rows if r.warning]
    assert flagged == ["C"]
    assert rows[0].is_key and not rows[0].warning


def test_distractor_rows_ignore_examinees_not_presented():
    x = np.array([[1, 1, 0], [0, 0, 1], [np.nan, 1, 1], [1, 0, 0]], dtype=float)
    choices = np.array([[0, 0, 0], [1, 0, 0], [1, 0, 0], [0, 0, 0]], dtype=np.int8)
    rows = report_stats.distractor_rows(x, choices, 0, ["√", "×"], "√")
    assert [(r.label, r.n) for r in rows] == [("√", 2), ("×", 1)]
    assert sum(r.share for r in rows) == pytest.approx(1.0)


def test_multiple_choice_patterns_as_options():
    x = np.array([[1, 1], [0, 0], [0, 1], [1, 0]], dtype=float)
    choices = np.array([[5, 0], [1, 0], [7, 0], [5, 0]], dtype=np.int8)
    rows = report_stats.distractor_rows(x, choices, 0, {5: "AC", 1: "A", 7: "ABC"}, "AC")
    assert [(r.label, r.n, r.is_key) for r in rows] == [("AC", 2, True), ("A", 1, False), ("ABC", 1, False)]


def test_form_reliability_matches_ctt(sim):
    x = sim["x"][:, :15]
    rel = report_stats.form_reliability(x)
    expected = ctt.kr20(x)
    assert rel.method == "KR-20"
    assert rel.alpha == pytest.approx(expected.alpha)
    assert np.allclose(rel.alpha_if_deleted, expected.alpha_if_deleted)
    assert np.allclose(rel.point_biserial, ctt.corrected_point_biserial(x))
    assert rel.mean == pytest.approx(x.sum(axis=1).mean())
    assert rel.sem == pytest.approx(rel.sd * math.sqrt(1 - rel.alpha))
    poly = x.copy()
    poly[:, 0] *= 2
    assert report_stats.form_reliability(poly).method == "α"
    assert report_stats.form_reliability(poly).alpha == pytest.approx(ctt.cronbach_alpha(poly).alpha)


def test_score_distribution_counts_every_score():
    scores, counts = report_stats.score_distribution(np.array([0, 2, 2, 5, 3.5]), 6)
    assert scores == [0, 1, 2, 3, 4, 5, 6]
    assert counts == [1, 0, 2, 1, 0, 1, 0]
    assert sum(counts) == 5


def test_dif_table_classes_a_planted_item_c():
    rng = np.random.default_rng(3)
    n, j = 4000, 20
    a = rng.uniform(1.0, 1.8, j)
    b = rng.uniform(-1, 1, j)
    theta = rng.normal(size=n)
    g = rng.choice(np.array(["男", "女", ""]), size=n, p=[0.48, 0.48, 0.04])
    bb = np.broadcast_to(b, (n, j)).copy()
    bb[g == "女", 7] += 1.2
    x = (rng.random((n, j)) < 1 / (1 + np.exp(-a * (theta[:, None] - bb)))).astype(float)
    comps = report_stats.dif_table(x, g, "男", list(range(100, 100 + j)), [f"Q{k}" for k in range(j)])
    assert [c.focal for c in comps] == ["女"]  # the missing label "" is not a group
    rows = comps[0].rows
    assert rows[7].ets_class == "C" and rows[7].d_dif < -1.5
    assert rows[7].favours == "参照组"
    assert sum(r.ets_class == "C" for r in rows) == 1
    assert comps[0].counts["C"] == 1 and sum(comps[0].counts.values()) == j
    assert comps[0].n_focal == int((g == "女").sum())


# ---------------------------------------------------------------- loaders on database rows


@pytest.fixture
def world(session):
    return AnalysisWorld(session)


def test_item_report_defaults_to_the_current_run(session, world):
    item = world.items[4]
    report = reports.item_report(session, world.centre, item.id)
    assert report.run.id == world.run.id and report.parameter.is_current
    assert report.parameter.a == pytest.approx(world.a[4])
    assert len(report.curves.probability) == len(reports.THETA_GRID)
    assert report.observed is not None and len(report.observed.groups) == 10
    assert report.observed.rmsd < 0.05
    assert report.observed.n_matching_items == world.J - 1
    assert report.ctt_p == pytest.approx(world.scores[:, 4].mean())
    assert report.ctt_pbis == pytest.approx(ctt.corrected_point_biserial(world.scores)[4])
    assert [h.run_id for h in report.history] == [world.old_run.id, world.run.id]
    assert report.history[-1].is_current and not report.history[0].is_current
    assert sum(o.share for o in report.options) == pytest.approx(1.0)
    assert [o.label for o in report.options if o.is_key] == ["B"]
    data = report.chart_data()
    assert set(data) >= {"theta", "icc", "information", "observed", "history", "parameters"}
    assert "key" not in json.dumps(data)


def test_item_report_of_an_older_run_and_errors(session, world):
    item = world.items[4]
    old = reports.item_report(session, world.centre, item.id, world.old_run.id)
    assert old.run.id == world.old_run.id and not old.parameter.is_current
    assert old.parameter.b == pytest.approx(world.b[4] - 0.1)
    with pytest.raises(NotFound):
        reports.item_report(session, world.centre, 999_999)
    with pytest.raises(NotFound):
        reports.item_report(session, world.centre, item.id, 999_999)
    other = CalibrationRun(response_set_id=world.response_set.id, model="2pl", status="done",
                           created_by_id=world.centre.id)
    session.add(other)
    session.flush()
    with pytest.raises(NotFound):
        reports.item_report(session, world.centre, item.id, other.id)  # the run has no parameters for the item


def test_item_report_flags_the_miskeyed_distractor_and_true_false(session, world):
    report = reports.item_report(session, world.centre, world.items[world.MISKEYED].id)
    assert report.positive_distractors == ("D",)
    assert report.flags == (world.FLAG,)
    tf = reports.item_report(session, world.centre, world.items[21].id)
    assert [o.label for o in tf.options] == ["√", "×"]
    assert [o.is_key for o in tf.options] == [True, False]
    blank = reports.item_report(session, world.centre, world.items[0].id)
    assert blank.options[-1].label == report_stats.BLANK_LABEL
    assert sum(o.share for o in blank.options) == pytest.approx(1.0)


def test_item_report_of_an_uncalibrated_item(session, world):
    item = item_svc.create_item(session, world.writer, point_id=world.blueprint.points[0].id,
                                item_type="single_choice", content=single_choice("未标定的试题？"))
    report = reports.item_report(session, world.centre, item.id)
    assert report.run is None and report.parameter is None and report.curves is None
    assert report.history == ()
    assert report.chart_data()["icc"] == []


def test_paper_report_reliability_matches_ctt(session, world):
    report = reports.paper_report(session, world.centre, world.paper.id)
    assert [f.label for f in report.forms] == ["A", "B"]
    for f, cols in zip(report.forms, (slice(0, 12), slice(12, 24)), strict=True):
        assert f.run.id == world.run.id  # the newest covering run
        assert f.n_calibrated == 12
        sub = world.scores[:, cols]
        assert f.reliability.alpha == pytest.approx(ctt.kr20(sub).alpha)
        assert [it.alpha_if_deleted for it in f.items] == pytest.approx(list(ctt.kr20(sub).alpha_if_deleted))
        assert sum(f.histogram[1]) == world.N
        assert f.histogram[0] == tuple(range(13))
        assert len(f.tif) == len(reports.THETA_GRID)
        k = int(np.argmin(np.abs(reports.THETA_GRID - 0.5)))
        a, b = world.a[cols], world.b[cols]
        info = float((a**2 * prob(0.5, a, b) * (1 - prob(0.5, a, b))).sum())
        assert f.tif[k] == pytest.approx(info, abs=1e-3)
        assert f.sem[k] == pytest.approx(1 / math.sqrt(info), abs=1e-3)
    chosen = reports.paper_report(session, world.centre, world.paper.id, world.old_run.id)
    assert chosen.run.id == world.old_run.id and chosen.forms[0].run.id == world.old_run.id
    data = report.chart_data()
    assert set(data["forms"]["A"]) >= {"tif", "sem", "histogram", "reliability"}
    with pytest.raises(NotFound):
        reports.paper_report(session, world.centre, 999_999)
    with pytest.raises(NotFound):
        reports.paper_report(session, world.centre, world.paper.id, 999_999)


def test_paper_report_without_covering_responses(session, world):
    # A response set that lacks form B's items: form A is covered, B is not.
    ids = [i.id for i in world.items[:12]]
    rs = ResponseSet(name="只含A卷", source="import", blueprint_id=world.blueprint.id, n_examinees=40, n_items=12,
                     item_ids_json=json.dumps(ids), group_names_json="[]",
                     data=pack_arrays(scores=world.scores[:40, :12].astype(np.float32)), created_by_id=world.centre.id)
    session.add(rs)
    session.flush()
    run = CalibrationRun(response_set_id=rs.id, model="2pl", status="done", created_by_id=world.centre.id)
    session.add(run)
    session.flush()
    report = reports.paper_report(session, world.centre, world.paper.id, run.id)
    assert report.forms[0].reliability is not None and report.forms[0].reliability.n_examinees == 40
    assert report.forms[1].reliability is None and "不包含" in report.forms[1].note


def test_dif_report_from_the_run(session, world):
    report = reports.dif_report(session, world.centre, world.run.id, "性别", "男")
    assert report.group_names == ("性别", "地区")
    assert [c.focal for c in report.comparisons] == ["女"]
    rows = report.comparisons[0].rows
    assert rows[world.DIF_ITEM].ets_class == "C"
    assert rows[world.DIF_ITEM].code == world.items[world.DIF_ITEM].code
    assert report.counts["C"] == 1
    assert report.matching.startswith("总分")
    region = reports.dif_report(session, world.centre, world.run.id, "地区")
    assert region.reference == region.values[0][0]  # the most frequent value by default
    assert len(region.comparisons) == 2
    data = region.chart_data()
    assert set(data["comparisons"][0]["items"][0]) >= {"code", "d_dif", "se", "p", "ets_class"}
    with pytest.raises(ValidationError):
        reports.dif_report(session, world.centre, world.run.id, "职业")
    with pytest.raises(ValidationError):
        reports.dif_report(session, world.centre, world.run.id, "性别", "外星人")
    with pytest.raises(NotFound):
        reports.dif_report(session, world.centre, 999_999)


def test_dif_report_with_two_forms_matches_on_theta(session, world):
    scores = world.scores.copy()
    half = np.arange(world.N) % 2 == 0
    scores[half, 12:18] = np.nan  # items 12–17 only on the second form
    scores[~half, 18:24] = np.nan
    rs = ResponseSet(name="两套卷", source="simulation", blueprint_id=world.blueprint.id, n_examinees=world.N,
                     n_items=world.J, item_ids_json=world.response_set.item_ids_json,
                     group_names_json=world.response_set.group_names_json,
                     data=pack_arrays(scores=scores.astype(np.float32), choices=world.choices,
                                      groups=np.stack([world.sex, world.region], axis=1).astype(str)),
                     created_by_id=world.centre.id)
    session.add(rs)
    session.flush()
    run = CalibrationRun(response_set_id=rs.id, model="2pl", status="done", created_by_id=world.centre.id)
    session.add(run)
    session.flush()
    for k, item in enumerate(world.items):
        session.add(ItemParameter(item_id=item.id, run_id=run.id, a=float(world.a[k]), b=float(world.b[k]),
                                  n=world.N, is_current=False))
    session.flush()
    report = reports.dif_report(session, world.centre, run.id, "性别", "男")
    assert report.matching.startswith("能力估计")
    assert report.comparisons[0].rows[world.DIF_ITEM].ets_class == "C"


def test_dif_report_without_groups(session):
    world = AnalysisWorld(session, n=200, groups=False)
    with pytest.raises(ValidationError):
        reports.dif_report(session, world.centre, world.run.id)
    assert reports.dif_choices(session, world.centre, world.run.id).group_names == ()
