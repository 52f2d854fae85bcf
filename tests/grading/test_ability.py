"""Ability scoring (grading.psychometrics.ability): recovery of simulated abilities, standard errors against
test information, published R mirt scores on LSAT7, NaN (not presented) and extreme patterns."""

from __future__ import annotations

import numpy as np
import pytest

from grading.psychometrics.ability import eap, map_theta, mle_theta, sem_curve, test_information
from grading.psychometrics.irt import calibrate, load_pattern_table
from itembank import irtmodel

# R mirt on LSAT7 (philchalmers/mirt, tests/testthat/test-01-mirtOne.R), first six response
# patterns of the table (00000, 00001, 00010, 00011, 00100, 00101), 2PL fit:
# `fscores(mod, full.scores = FALSE)` (EAP) and `fscores(mod, method = 'MAP')`. mirt checks
# these to ±0.01; its EAP-by-summed-score table in the same file gives −1.86979 for 00000.
MIRT_LSAT7_2PL_A = np.array([0.988, 1.081, 1.706, 0.765, 0.736])  # coef(), reference/LSAT7.md
MIRT_LSAT7_2PL_D = np.array([1.856, 0.808, 1.804, 0.486, 1.855])
MIRT_LSAT7_EAP = np.array([-1.8665957, -1.5266920, -1.5134024, -1.1852276, -1.0946830, -0.7666992])
MIRT_LSAT7_MAP = np.array([-1.8165552, -1.4946906, -1.4822982, -1.1789899, -1.0958928, -0.7951026])
MIRT_LSAT7_EAPSUM_0 = -1.86979
# Same file: one common slope (a = 1.011, d below), `fscores(mod, method = 'ML')` for rows 13,
# 34 and 40 of expand.table(LSAT7), i.e. patterns 00001, 00011, 00100; first and last rows
# (00000, 11111) are −Inf and Inf.
MIRT_LSAT7_1PL_A = 1.011
MIRT_LSAT7_1PL_D = np.array([1.868, 0.791, 1.461, 0.521, 1.993])
MIRT_LSAT7_1PL_ML = {1: -2.783489, 3: -1.750890, 4: -2.783489}


def simulate(
    rng: np.random.Generator, theta: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray | None = None
) -> np.ndarray:
    c_ = np.zeros_like(a) if c is None else c
    p = c_ + (1.0 - c_) / (1.0 + np.exp(-a * (theta[:, None] - b)))
    return (rng.random(p.shape) < p).astype(float)


@pytest.fixture(scope="module")
def long_test() -> dict[str, np.ndarray]:
    """2,000 examinees on a 40-item 2PL test with known parameters."""
    rng = np.random.default_rng(31)
    a = rng.uniform(0.8, 2.0, 40)
    b = rng.uniform(-2.0, 2.0, 40)
    theta = rng.standard_normal(2000)
    c = rng.uniform(0.1, 0.3, 40)
    return {
        "a": a,
        "b": b,
        "c": c,
        "theta": theta,
        "x": simulate(rng, theta, a, b),
        "x3": simulate(rng, theta, a, b, c),
    }


@pytest.mark.parametrize("estimator", [eap, map_theta, mle_theta])
def test_abilities_are_recovered_on_a_long_test(long_test, estimator):
    theta, se = estimator(long_test["x"], (long_test["a"], long_test["b"]))
    # Measured: r = .959 (EAP, MAP), .956 (MLE); RMSE .290 / .291 / .322.
    assert np.corrcoef(theta, long_test["theta"])[0, 1] > 0.95
    error = np.sqrt(np.mean((theta - long_test["theta"]) ** 2))
    assert error < 0.36
    # The reported uncertainty is the actual one (RMS SE .287 / .284 / .318).
    assert np.sqrt(np.mean(se**2)) == pytest.approx(error, rel=0.1)


@pytest.mark.parametrize("estimator", [eap, map_theta, mle_theta])
def test_3pl_abilities_are_recovered(long_test, estimator):
    theta, _ = estimator(long_test["x3"], (long_test["a"], long_test["b"], long_test["c"]))
    assert np.corrcoef(theta, long_test["theta"])[0, 1] > 0.9  # measured .939 (EAP, MAP), .927 (MLE)


def test_scores_from_a_calibration(long_test):
    res = calibrate(long_test["x"])
    theta, _ = eap(long_test["x"], res)
    assert np.corrcoef(theta, long_test["theta"])[0, 1] > 0.95


def test_mle_sem_is_one_over_root_test_information(long_test):
    items = (long_test["a"], long_test["b"])
    theta, sem = mle_theta(long_test["x"], items)
    np.testing.assert_allclose(sem, 1.0 / np.sqrt(test_information(theta, items)), rtol=1e-12)
    np.testing.assert_allclose(sem, sem_curve(theta, items), rtol=1e-12)


def test_map_se_adds_the_prior_precision(long_test):
    items = (long_test["a"], long_test["b"], long_test["c"])
    theta, se = map_theta(long_test["x3"], items, prior_sd=1.5)
    np.testing.assert_allclose(se, 1.0 / np.sqrt(test_information(theta, items) + 1.0 / 1.5**2), rtol=1e-12)


def test_map_solves_the_posterior_mode_equation(long_test):
    a, b = long_test["a"], long_test["b"]
    theta, _ = map_theta(long_test["x"][:50], (a, b), prior_mean=0.2, prior_sd=0.8)
    p = irtmodel.prob(theta, a, b)
    gradient = (a * (long_test["x"][:50] - p)).sum(axis=1) - (theta - 0.2) / 0.8**2
    np.testing.assert_allclose(gradient, 0.0, atol=1e-6)


def test_lsat7_scores_reproduce_mirt():
    patterns, _ = load_pattern_table("LSAT7")
    items = (MIRT_LSAT7_2PL_A, -MIRT_LSAT7_2PL_D / MIRT_LSAT7_2PL_A)
    theta_eap, _ = eap(patterns[:6], items)
    theta_map, _ = map_theta(patterns[:6], items)
    # mirt's own tolerance is 0.01; measured ≤ 0.0033 (EAP, first pattern) and ≤ 0.0002 (MAP),
    # from mirt's coefficients as printed (3 decimals).
    np.testing.assert_allclose(theta_eap, MIRT_LSAT7_EAP, atol=0.005)
    np.testing.assert_allclose(theta_map, MIRT_LSAT7_MAP, atol=0.005)
    assert theta_eap[0] == pytest.approx(MIRT_LSAT7_EAPSUM_0, abs=1e-3)
    one = (np.full(5, MIRT_LSAT7_1PL_A), -MIRT_LSAT7_1PL_D / MIRT_LSAT7_1PL_A)
    theta_ml, _ = mle_theta(patterns, one)
    for row, expected in MIRT_LSAT7_1PL_ML.items():
        assert theta_ml[row] == pytest.approx(expected, abs=0.005)  # measured ≤ 0.0013
    assert theta_ml[0] == -4.0 and theta_ml[31] == 4.0  # mirt: −Inf and Inf; here the bounds


def test_not_presented_items_drop_out(long_test):
    items = (long_test["a"], long_test["b"])
    x = long_test["x"][:200].copy()
    x[:, 30:] = np.nan
    shorter = (long_test["a"][:30], long_test["b"][:30])
    for estimator in (eap, map_theta, mle_theta):
        with_nan = estimator(x, items)
        dropped = estimator(long_test["x"][:200, :30], shorter)
        np.testing.assert_allclose(with_nan[0], dropped[0], atol=1e-7)
        np.testing.assert_allclose(with_nan[1], dropped[1], atol=1e-7)


def test_extreme_patterns_are_bounded(long_test):
    items = (long_test["a"], long_test["b"])
    x = np.vstack([np.ones(40), np.zeros(40), long_test["x"][0]])
    x[0, :5] = np.nan  # all correct among the presented items is still all correct
    theta, sem = mle_theta(x, items, bounds=(-3.5, 3.5))
    assert theta[0] == 3.5 and theta[1] == -3.5 and -3.5 < theta[2] < 3.5
    presented = (long_test["a"][5:], long_test["b"][5:])
    assert sem[0] == pytest.approx(1.0 / np.sqrt(test_information(np.array([3.5]), presented)[0]), rel=1e-12)
    assert sem[1] == pytest.approx(1.0 / np.sqrt(test_information(np.array([-3.5]), items)[0]), rel=1e-12)
    for estimator in (eap, map_theta):
        est, se = estimator(x, items)
        assert np.all(np.isfinite(est)) and np.all(np.isfinite(se))
        assert est[0] > 2.0 and est[1] < -2.0


def test_examinee_with_nothing_presented(long_test):
    items = (long_test["a"], long_test["b"])
    x = np.vstack([np.full(40, np.nan), long_test["x"][0]])
    theta, psd = eap(x, items, prior_mean=0.5, prior_sd=2.0)
    assert theta[0] == pytest.approx(0.5, abs=1e-9) and psd[0] == pytest.approx(2.0, rel=1e-3)
    theta, se = map_theta(x, items)
    assert theta[0] == pytest.approx(0.0, abs=1e-9) and se[0] == pytest.approx(1.0)
    theta, sem = mle_theta(x, items)
    assert np.isnan(theta[0]) and sem[0] == np.inf
    assert np.isfinite(theta[1]) and np.isfinite(sem[1])


def test_rasch_calibration_scores_with_its_latent_sd():
    rng = np.random.default_rng(8)
    b = rng.uniform(-2.0, 2.0, 20)
    theta = rng.normal(0.0, 1.5, 3000)
    x = simulate(rng, theta, np.ones(20), b)
    res = calibrate(x, "rasch")
    assert res.latent_sd == pytest.approx(1.5, abs=0.1)
    est, psd = eap(x, res)
    unit_prior, _ = eap(x, (res.a, res.b))
    # The N(0, σ̂²) prior does not pull the spread toward a unit-variance prior.
    assert np.std(est) > np.std(unit_prior) + 0.05
    assert np.sqrt(np.mean((est - theta) ** 2)) == pytest.approx(np.sqrt(np.mean(psd**2)), rel=0.1)


def test_information_helpers_are_the_shared_functions():
    a = np.array([0.5, 1.2, 2.0])
    b = np.array([-1.0, 0.0, 1.5])
    c = np.array([0.0, 0.2, 0.25])
    grid = np.linspace(-3.0, 3.0, 13)
    np.testing.assert_allclose(test_information(grid, (a, b, c)), irtmodel.test_information(grid, a, b, c))
    np.testing.assert_allclose(sem_curve(grid, (a, b)), 1.0 / np.sqrt(irtmodel.test_information(grid, a, b)))
    # 2PL item information a² P Q peaks at θ = b with a² / 4.
    assert test_information(np.array([0.0]), (np.array([1.2]), np.array([0.0])))[0] == pytest.approx(1.2**2 / 4)
    assert sem_curve(np.array([0.0]), (np.array([0.0]), np.array([0.0])))[0] == np.inf


def test_single_pattern_and_bad_input():
    items = (np.array([1.0, 1.5]), np.array([0.0, 0.5]))
    theta, psd = eap(np.array([1.0, 0.0]), items)
    assert theta.shape == psd.shape == (1,)
    with pytest.raises(ValueError, match="shaped"):
        eap(np.ones((2, 3)), items)
    with pytest.raises(ValueError, match="0, 1 or NaN"):
        map_theta(np.array([[1.0, 2.0]]), items)
    with pytest.raises(ValueError, match="tuple"):
        eap(np.ones((1, 2)), (np.ones(2),))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bounds"):
        mle_theta(np.ones((1, 2)), items, bounds=(1.0, -1.0))
