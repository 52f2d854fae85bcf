"""S-X2 item fit: a published mirt reference (LSAT7), Lord–Wingersky by enumeration, and
calibration-free simulations of fitting and misfitting items."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import optimize, stats

from grading.psychometrics import fit
from itembank.irtmodel import prob

# LSAT7 (Bock & Lieberman 1970): 1,000 examinees, 5 items, as response-pattern counts.
# Counts transcribed from the expanded data file lsat7-expanded.txt of the jMetrik psychometrics
# library (github.com/meyerjp3/psychometrics, src/test/resources/testdata); they reproduce the
# published proportions correct .828 .658 .772 .606 .843.
LSAT7_COUNTS = {
    "00000": 12, "00001": 19, "00010": 1, "00011": 7, "00100": 3, "00101": 19, "00110": 3, "00111": 17,
    "01000": 10, "01001": 5, "01010": 3, "01011": 7, "01100": 7, "01101": 23, "01110": 8, "01111": 28,
    "10000": 7, "10001": 39, "10010": 11, "10011": 34, "10100": 14, "10101": 51, "10110": 15, "10111": 90,
    "11000": 6, "11001": 25, "11010": 7, "11011": 35, "11100": 18, "11101": 136, "11110": 32, "11111": 308,
}  # fmt: skip

# Reference: R mirt, `mod1 <- mirt(expand.table(LSAT7), 1)`; `itemfit(mod1, mincell = 0)`, as
# recorded with the 2PL estimates below (IRT parameterisation, logistic metric) in
# ItemFitSX2Test.LSAT7Test of the same repository
# (src/test/java/com/itemanalysis/psychometrics/irt/estimation/ItemFitSX2Test.java). That test
# integrates with mirt's rule of 41 equally spaced nodes on ±0.8·√41 and N(0, 1) weights.
LSAT7_A = [0.988, 1.081, 1.706, 0.765, 0.736]
LSAT7_B = [-1.879, -0.748, -1.058, -0.635, -2.520]
LSAT7_MIRT_SX2 = [4.7492191, 14.4528980, 1.2703374, 5.2373430, 0.9407036]
LSAT7_MIRT_DF = [2, 2, 2, 2, 2]


def lsat7() -> np.ndarray:
    rows = [[int(ch) for ch in pattern] for pattern, count in LSAT7_COUNTS.items() for _ in range(count)]
    return np.array(rows, dtype=float)


def simulate(rng: np.random.Generator, n: int, a: np.ndarray, b: np.ndarray, c: np.ndarray | None = None) -> np.ndarray:
    theta = rng.standard_normal(n)
    return (rng.random((n, len(a))) < prob(theta, a, b, c)).astype(float)


def test_lsat7_data_matches_published_margins():
    x = lsat7()
    assert x.shape == (1000, 5)
    assert_allclose(x.mean(axis=0), [0.828, 0.658, 0.772, 0.606, 0.843])


def test_lsat7_matches_mirt_reference():
    n = 41
    nodes = np.linspace(-0.8 * np.sqrt(n), 0.8 * np.sqrt(n), n)
    result = fit.s_x2(lsat7(), LSAT7_A, LSAT7_B, nodes=nodes, weights=stats.norm.pdf(nodes), min_expected=0)
    # The parameters are mirt's estimates rounded to 3 decimals, hence 1e-2 rather than 1e-6.
    assert_allclose(result.statistic, LSAT7_MIRT_SX2, atol=1e-2)
    assert result.df.tolist() == LSAT7_MIRT_DF
    assert_allclose(result.p_value, stats.chi2.sf(result.statistic, 2))
    # The default quadrature (61 nodes on [−6, 6]) agrees to the same precision.
    default = fit.s_x2(lsat7(), LSAT7_A, LSAT7_B, min_expected=0)
    assert_allclose(default.statistic, LSAT7_MIRT_SX2, atol=1e-2)


def test_lord_wingersky_matches_enumeration():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, size=(7, 6))  # 7 nodes, 6 items
    expected = np.zeros((7, 7))
    for pattern in itertools.product((0, 1), repeat=6):
        u = np.array(pattern)
        expected[:, u.sum()] += np.prod(np.where(u == 1, p, 1 - p), axis=1)
    assert_allclose(fit.lord_wingersky(p), expected, rtol=1e-12)


def test_lord_wingersky_polytomous_matches_enumeration():
    rng = np.random.default_rng(1)
    cats = [rng.dirichlet(np.ones(k), size=4) for k in (2, 3, 4)]  # 4 nodes
    expected = np.zeros((4, 1 + 1 + 2 + 3))
    for pattern in itertools.product(range(2), range(3), range(4)):
        expected[:, sum(pattern)] += cats[0][:, pattern[0]] * cats[1][:, pattern[1]] * cats[2][:, pattern[2]]
    got = fit.lord_wingersky(cats)
    assert_allclose(got, expected, rtol=1e-12)
    assert_allclose(got.sum(axis=1), 1.0)
    # The padded (nodes, items, categories) layout of grading.psychometrics.grm gives the same distribution.
    padded = np.zeros((4, 3, 4))
    for j, c in enumerate(cats):
        padded[:, j, : c.shape[1]] = c
    got3 = fit.lord_wingersky(padded)
    assert_allclose(got3[:, :7], expected, rtol=1e-12)
    assert_allclose(got3[:, 7:], 0.0)


def test_benjamini_hochberg_by_hand():
    p = np.array([0.01, 0.04, 0.03, np.nan, 0.20])
    # Sorted finite p: .01 .03 .04 .20 (m = 4) → .04, .0533, .0533, .20.
    assert_allclose(fit.benjamini_hochberg(p), [0.04, 0.16 / 3, 0.16 / 3, np.nan, 0.20])


def test_collapsing_keeps_expected_counts_and_merges_tails_toward_the_centre():
    rng = np.random.default_rng(2)
    a = rng.uniform(0.8, 2.0, 15)
    b = rng.normal(0, 1, 15)
    x = simulate(rng, 400, a, b)
    result = fit.s_x2(x, a, b)
    score = x.sum(axis=1)
    inner = ((score > 0) & (score < 15)).sum()
    for table in result.tables:
        e_correct = table.n * table.expected
        assert (e_correct >= 1).all() and (table.n - e_correct >= 1).all()
        assert table.n.sum() == inner
        merged = [s for s in table.scores if len(s) > 1]
        assert merged, "400 examinees on 15 items leave sparse tails"
        flat = [s for g in table.scores for s in g]
        assert flat == sorted(flat)
    assert (result.df == np.array([len(t.scores) for t in result.tables]) - 2).all()


def test_well_fitting_items_give_uniform_p_values():
    rng = np.random.default_rng(12345)
    p_values = []
    for _ in range(12):
        a = rng.uniform(0.7, 2.0, 15)
        b = rng.normal(0, 1, 15)
        x = simulate(rng, 2000, a, b)
        # True parameters, nothing estimated: the reference distribution is χ² with G df.
        p_values.append(fit.s_x2(x, a, b, n_parameters=0).p_value)
    p = np.concatenate(p_values)
    assert stats.kstest(p, "uniform").pvalue > 0.01
    assert 0.01 <= (p < 0.05).mean() <= 0.10


def test_misfitting_item_is_flagged_after_fdr():
    rng = np.random.default_rng(7)
    n_items = 20
    a = rng.uniform(0.8, 2.0, n_items)
    b = rng.normal(0, 1, n_items)
    c = np.zeros(n_items)
    # Item 0 really has a lower asymptote of .30 and a steep slope ...
    a[0], b[0], c[0] = 2.5, 0.8, 0.30
    x = simulate(rng, 3000, a, b, c)
    # ... but is analysed with the closest 2PL curve (least squares under N(0, 1)), so only the
    # shape can be wrong, not the location.
    grid = np.linspace(-4, 4, 81)
    w = np.sqrt(stats.norm.pdf(grid))
    true_curve = prob(grid, a[:1], b[:1], c[:1])[:, 0]
    best = optimize.least_squares(lambda v: w * (prob(grid, v[:1], v[1:])[:, 0] - true_curve), x0=[1.0, 0.0])
    a_fit, b_fit = a.copy(), b.copy()
    a_fit[0], b_fit[0] = best.x
    result = fit.s_x2(x, a_fit, b_fit)
    assert result.flagged[0]
    assert result.p_adjusted[0] < 1e-4
    assert result.flagged[1:].sum() <= 1
    # The same data analysed with the true 3PL curve fits.
    assert not fit.s_x2(x, a, b, c).flagged[0]


def test_incomplete_or_polytomous_data_is_refused():
    x = np.ones((10, 4))
    x[0, 0] = np.nan
    with pytest.raises(ValueError, match="per form"):
        fit.s_x2(x, np.ones(4), np.zeros(4))
    with pytest.raises(ValueError, match="0/1"):
        fit.s_x2(np.full((10, 4), 2.0), np.ones(4), np.zeros(4))
