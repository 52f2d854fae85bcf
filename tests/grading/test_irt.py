"""Calibration core (grading.psychometrics.irt): published references, recovery of known parameters,
missing-by-design data, weights, acceleration, standard errors, and a cross-check with girth."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from grading.psychometrics import em, irt
from grading.psychometrics.irt import (
    CalibrationResult,
    ConvergenceWarning,
    calibrate,
    load_pattern_table,
    marginal_loglik,
)

# --------------------------------------------------------------------------- references
# R mirt 1.45.7, `mirt(expand.table(LSAT7), 1)` (2PL, 61 rectangular nodes on [-6, 6], TOL 1e-4,
# Ramsay acceleration, "Converged ... after 28 EM iterations"). Printed in mirt's own reference
# page for the data set: philchalmers/mirt, reference/LSAT7.md (coef(mod), "Log-likelihood").
MIRT_LSAT7_2PL_A = np.array([0.988, 1.081, 1.706, 0.765, 0.736])
MIRT_LSAT7_2PL_D = np.array([1.856, 0.808, 1.804, 0.486, 1.855])
MIRT_LSAT7_2PL_LOGLIK = -2658.805
# Same model, standard errors from mirt's test suite (philchalmers/mirt,
# tests/testthat/test-01-mirtOne.R, `SE.type = 'Richardson'`, i.e. the numerically
# differentiated observed information): 95 % limits (lower, upper) for a and d per item.
MIRT_LSAT7_2PL_CI_A = np.array([[0.6406, 1.3354], [0.7501, 1.4119], [1.0779, 2.334], [0.5022, 1.028], [0.4395, 1.032]])
MIRT_LSAT7_2PL_CI_D = np.array(
    [[1.5984, 2.1138], [0.6291, 0.9869], [1.4036, 2.205], [0.3392, 0.6328], [1.6302, 2.0787]]
)
# Same test file: `mirt(data, 'F = 1-5 CONSTRAIN = (1-5, a1)')` on LSAT7 (one common slope).
MIRT_LSAT7_1PL_A = 1.011
MIRT_LSAT7_1PL_D = np.array([1.868, 0.791, 1.461, 0.521, 1.993])
# R mirt 1.45.7 on LSAT6, reference/LSAT6.md: `CONSTRAIN = (1-5, a1)` and `itemtype = 'Rasch'`.
MIRT_LSAT6_1PL_A = 0.755
MIRT_LSAT6_D = np.array([2.730, 0.999, 0.240, 1.307, 2.100])  # Rasch: 2.731 .999 .240 1.307 2.100
MIRT_LSAT6_RASCH_VAR = 0.572  # COV_11; sqrt printed there as 0.7561798
MIRT_LSAT6_1PL_LOGLIK = -2466.938
# LSAT6 2PL log-likelihood: mirt's test suite (`method = 'QMCEM'`, expect -2466.653) and R ltm
# `ltm(LSAT ~ z1, IRT.param = TRUE)` (log.Lik -2466.653, Gauss-Hermite 21 points), whose
# printed estimates and standard errors follow (summary() output reproduced in public
# tutorials of ltm; Dscrmn = a, Dffclt = b).
LTM_LSAT6_2PL_LOGLIK = -2466.653
LTM_LSAT6_2PL_A = np.array([0.8254, 0.7229, 0.8905, 0.6886, 0.6575])
LTM_LSAT6_2PL_B = np.array([-3.3597, -1.3696, -0.2799, -1.8659, -3.1236])
LTM_LSAT6_2PL_SE_A = np.array([0.2581, 0.1867, 0.2326, 0.1852, 0.2100])
LTM_LSAT6_2PL_SE_B = np.array([0.8669, 0.3073, 0.0997, 0.4341, 0.8700])

Z975 = 1.959963984540054


def simulate(
    rng: np.random.Generator, theta: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray | None = None
) -> np.ndarray:
    c_ = np.zeros_like(a) if c is None else c
    p = c_ + (1.0 - c_) / (1.0 + np.exp(-a * (theta[:, None] - b)))
    return (rng.random(p.shape) < p).astype(float)


def rmse(estimate: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean((estimate - truth) ** 2)))


@pytest.fixture(scope="module")
def lsat7() -> tuple[np.ndarray, np.ndarray]:
    return load_pattern_table("LSAT7")


@pytest.fixture(scope="module")
def lsat6() -> tuple[np.ndarray, np.ndarray]:
    return load_pattern_table("LSAT6")


@pytest.fixture(scope="module")
def sim2pl() -> dict[str, np.ndarray]:
    """5,000 examinees × 30 items, the recovery data set shared by several tests."""
    rng = np.random.default_rng(20240)
    a = rng.uniform(0.7, 2.0, 30)
    b = rng.uniform(-2.0, 2.0, 30)
    theta = rng.standard_normal(5000)
    return {"a": a, "b": b, "theta": theta, "x": simulate(rng, theta, a, b)}


@pytest.fixture(scope="module")
def fit2pl(sim2pl: dict[str, np.ndarray]) -> CalibrationResult:
    return calibrate(sim2pl["x"])


# --------------------------------------------------------------------------- reference data


def test_pattern_tables_match_published_margins(lsat6, lsat7):
    for (patterns, counts), p_correct, score_counts in (
        (lsat6, [0.924, 0.709, 0.553, 0.763, 0.870], None),
        (lsat7, [0.828, 0.658, 0.772, 0.606, 0.843], [12, 40, 114, 205, 321, 308]),
    ):
        assert patterns.shape == (32, 5) and counts.sum() == 1000
        np.testing.assert_allclose(counts @ patterns / counts.sum(), p_correct, atol=5e-4)
        if score_counts is not None:
            np.testing.assert_array_equal(np.bincount(patterns.sum(axis=1).astype(int), weights=counts), score_counts)


def test_lsat7_2pl_reproduces_mirt(lsat7):
    patterns, counts = lsat7
    res = calibrate(patterns, "2pl", counts)
    assert res.converged
    np.testing.assert_allclose(res.a, MIRT_LSAT7_2PL_A, atol=0.01)
    np.testing.assert_allclose(res.d, MIRT_LSAT7_2PL_D, atol=0.01)
    assert res.loglik == pytest.approx(MIRT_LSAT7_2PL_LOGLIK, abs=0.01)
    # Measured: every a and d within 0.001 of mirt's printed 3 decimals (15 cycles against
    # mirt's 28); logLik within 1.2e-4.
    assert np.max(np.abs(res.a - MIRT_LSAT7_2PL_A)) < 0.002
    assert np.max(np.abs(res.d - MIRT_LSAT7_2PL_D)) < 0.002
    np.testing.assert_allclose(res.b, -res.d / res.a)
    assert res.n_parameters == 10
    assert res.aic == pytest.approx(5337.61, abs=0.01)  # printed by mirt
    assert res.bic == pytest.approx(5386.688, abs=0.01)


def test_lsat7_2pl_standard_errors_match_mirt_observed_information(lsat7):
    patterns, counts = lsat7
    res = calibrate(patterns, "2pl", counts)
    se_a = np.diff(MIRT_LSAT7_2PL_CI_A, axis=1)[:, 0] / (2 * Z975)
    se_d = np.diff(MIRT_LSAT7_2PL_CI_D, axis=1)[:, 0] / (2 * Z975)
    # mirt prints the limits to 4 decimals; measured agreement ≤ 0.00045.
    np.testing.assert_allclose(res.se_a, se_a, atol=0.002)
    np.testing.assert_allclose(res.se_d, se_d, atol=0.002)


def test_lsat7_1pl_reproduces_mirt(lsat7):
    patterns, counts = lsat7
    res = calibrate(patterns, "1pl", counts)
    np.testing.assert_allclose(res.a, MIRT_LSAT7_1PL_A, atol=0.01)
    np.testing.assert_allclose(res.d, MIRT_LSAT7_1PL_D, atol=0.01)
    assert np.ptp(res.a) == 0 and np.all(res.se_a == res.se_a[0])


def test_lsat6_rasch_and_1pl_reproduce_mirt(lsat6):
    patterns, counts = lsat6
    rasch = calibrate(patterns, "rasch", counts)
    one = calibrate(patterns, "1pl", counts)
    np.testing.assert_allclose(rasch.d, MIRT_LSAT6_D, atol=0.01)
    np.testing.assert_allclose(one.d, MIRT_LSAT6_D, atol=0.01)
    np.testing.assert_array_equal(rasch.a, 1.0)
    np.testing.assert_allclose(rasch.b, -rasch.d)
    assert rasch.latent_sd**2 == pytest.approx(MIRT_LSAT6_RASCH_VAR, abs=0.01)
    assert one.a[0] == pytest.approx(MIRT_LSAT6_1PL_A, abs=0.01)
    # One model, two parameterisations: the common slope is the latent SD.
    assert rasch.latent_sd == pytest.approx(one.a[0], abs=1e-3)
    for res in (rasch, one):
        assert res.loglik == pytest.approx(MIRT_LSAT6_1PL_LOGLIK, abs=0.01)
        assert res.n_parameters == 6
    assert rasch.se_latent_sd == pytest.approx(one.se_a[0], rel=1e-3)
    np.testing.assert_allclose(rasch.se_d, one.se_d, rtol=1e-3)


def test_lsat6_2pl_reproduces_published_loglik_and_ltm(lsat6):
    patterns, counts = lsat6
    res = calibrate(patterns, "2pl", counts)
    assert res.loglik == pytest.approx(LTM_LSAT6_2PL_LOGLIK, abs=0.01)
    # ltm integrates with 21 Gauss-Hermite points, we with 61 rectangular ones: measured
    # differences ≤ 0.0006 in a, ≤ 0.0022 in b (item 5, SE 0.87), ≤ 0.0011 in the SEs.
    np.testing.assert_allclose(res.a, LTM_LSAT6_2PL_A, atol=0.002)
    np.testing.assert_allclose(res.b, LTM_LSAT6_2PL_B, atol=0.005)
    np.testing.assert_allclose(res.se_a, LTM_LSAT6_2PL_SE_A, atol=0.002)
    np.testing.assert_allclose(res.se_b, LTM_LSAT6_2PL_SE_B, atol=0.002)


def test_marginal_loglik_matches_the_fit(lsat7):
    patterns, counts = lsat7
    res = calibrate(patterns, "2pl", counts)
    assert marginal_loglik(patterns, res.a, res.d, weights=counts) == pytest.approx(res.loglik, abs=1e-9)
    assert marginal_loglik(patterns, MIRT_LSAT7_2PL_A, MIRT_LSAT7_2PL_D, weights=counts) == pytest.approx(
        MIRT_LSAT7_2PL_LOGLIK, abs=0.01
    )


# --------------------------------------------------------------------------- recovery


def test_2pl_recovers_known_parameters(sim2pl, fit2pl):
    # Measured on this seed: RMSE a 0.060, b 0.041 (three other seeds: a .056–.061, b .044–.050).
    assert fit2pl.converged
    assert rmse(fit2pl.a, sim2pl["a"]) < 0.08
    assert rmse(fit2pl.b, sim2pl["b"]) < 0.07
    # The standard errors describe the actual estimation error (mean SE_a 0.064 vs RMSE 0.060;
    # RMS of error / SE: a 0.90, b 0.78).
    z_a = (fit2pl.a - sim2pl["a"]) / fit2pl.se_a
    z_b = (fit2pl.b - sim2pl["b"]) / fit2pl.se_b
    assert 0.6 < np.sqrt(np.mean(z_a**2)) < 1.5
    assert 0.6 < np.sqrt(np.mean(z_b**2)) < 1.5


def test_rasch_and_1pl_recover_known_parameters():
    rng = np.random.default_rng(7)
    b = rng.uniform(-2.0, 2.0, 25)
    x_rasch = simulate(rng, rng.normal(0.0, 1.3, 3000), np.ones(25), b)
    rasch = calibrate(x_rasch, "rasch")
    assert rmse(rasch.b, b) < 0.08  # measured .047–.055
    assert rasch.latent_sd == pytest.approx(1.3, abs=3 * rasch.se_latent_sd)
    x_1pl = simulate(rng, rng.standard_normal(3000), np.full(25, 1.4), b)
    one = calibrate(x_1pl, "1pl")
    assert one.a[0] == pytest.approx(1.4, abs=3 * one.se_a[0])
    assert rmse(one.b, b) < 0.07  # measured .030–.042


@pytest.mark.slow
def test_3pl_recovers_known_parameters_with_the_beta_prior():
    rng = np.random.default_rng(20242)
    a = rng.uniform(0.8, 2.0, 30)
    b = rng.uniform(-1.5, 2.0, 30)
    c = rng.uniform(0.15, 0.30, 30)
    x = simulate(rng, rng.standard_normal(5000), a, b, c)
    res = calibrate(x, "3pl", c_prior=(6.0, 16.0))
    assert res.converged
    # Measured on three seeds: RMSE a .11–.24, b .10–.11, c .032–.037.
    assert rmse(res.a, a) < 0.30
    assert rmse(res.b, b) < 0.15
    assert rmse(res.c, c) < 0.05
    assert res.se_c is not None and np.all(res.se_c > 0) and np.all(np.isfinite(res.se_c))
    assert res.n_parameters == 90
    assert res.c_prior is not None
    np.testing.assert_array_equal(res.c_prior[0], 6.0)
    np.testing.assert_array_equal(res.c_prior[1], 16.0)
    # MAP: the prior enters the objective, the reported loglik is the likelihood alone.
    assert res.history.objective[-1] != res.history.loglik[-1]
    assert res.log_prior == pytest.approx(res.history.objective[-1] - res.history.loglik[-1], abs=0.05)


@pytest.mark.slow
def test_missing_by_design_forms_are_calibrated_on_one_scale():
    """Two forms of 25 items sharing 10 anchors, randomly assigned: NaN = not presented."""
    rng = np.random.default_rng(11)
    a = rng.uniform(0.7, 2.0, 40)
    b = rng.uniform(-2.0, 2.0, 40)
    theta = rng.standard_normal(6000)
    x = simulate(rng, theta, a, b)
    form_b = rng.random(6000) < 0.5
    x[np.ix_(~form_b, np.arange(25, 40))] = np.nan  # form A: items 0–24
    x[np.ix_(form_b, np.arange(0, 15))] = np.nan  # form B: items 15–39 (anchors 15–24)
    res = calibrate(x)
    assert res.converged
    for items in (np.arange(0, 15), np.arange(15, 25), np.arange(25, 40)):
        # Unique items of each form and the anchors land on the generating scale. Measured
        # (seeds 11–13): RMSE a .040–.124, b .021–.101, mean b shift ≤ .026, and errors
        # consistent with the SEs (RMS of error / SE .51–1.55).
        assert rmse(res.a[items], a[items]) < 0.15
        assert rmse(res.b[items], b[items]) < 0.12
        assert abs(np.mean(res.b[items] - b[items])) < 0.06
        assert np.sqrt(np.mean(((res.a[items] - a[items]) / res.se_a[items]) ** 2)) < 1.8
        assert np.sqrt(np.mean(((res.b[items] - b[items]) / res.se_b[items]) ** 2)) < 1.8
    # Half the examinees see each unique item: their SEs are larger than the anchors'.
    assert np.median(res.se_b[:15]) > np.median(res.se_b[15:25])


def test_frequency_weights_equal_expanded_data(lsat7):
    patterns, counts = lsat7
    weighted = calibrate(patterns, "2pl", counts)
    expanded = calibrate(np.repeat(patterns, counts.astype(int), axis=0), "2pl")
    np.testing.assert_allclose(weighted.a, expanded.a, atol=1e-6)
    np.testing.assert_allclose(weighted.d, expanded.d, atol=1e-6)
    np.testing.assert_allclose(weighted.se_a, expanded.se_a, atol=1e-6)
    assert weighted.loglik == pytest.approx(expanded.loglik, abs=1e-6)
    assert weighted.sample_size == expanded.sample_size == 1000
    assert (weighted.n_examinees, expanded.n_examinees) == (32, 1000)


def test_frequency_weights_with_missing_data_equal_expanded_data():
    rng = np.random.default_rng(3)
    x = simulate(rng, rng.standard_normal(300), rng.uniform(0.8, 1.8, 8), rng.uniform(-1.5, 1.5, 8))
    x[rng.random(x.shape) < 0.15] = np.nan
    counts = rng.integers(1, 4, 300)
    weighted = calibrate(x, "2pl", counts.astype(float))
    expanded = calibrate(np.repeat(x, counts, axis=0), "2pl")
    np.testing.assert_allclose(weighted.a, expanded.a, atol=1e-6)
    np.testing.assert_allclose(weighted.b, expanded.b, atol=1e-6)
    np.testing.assert_allclose(weighted.se_b, expanded.se_b, atol=1e-6)


@pytest.mark.slow
def test_acceleration_reaches_the_same_estimates_in_fewer_cycles(sim2pl):
    accelerated = calibrate(sim2pl["x"], tol=1e-6, standard_errors=False)
    plain = calibrate(sim2pl["x"], tol=1e-6, accelerate=False, standard_errors=False)
    assert accelerated.converged and plain.converged
    # Measured: 23 SQUAREM cycles against 73 plain EM cycles, estimates within 1e-5.
    assert accelerated.n_cycles < 0.6 * plain.n_cycles
    np.testing.assert_allclose(accelerated.a, plain.a, atol=2e-4)
    np.testing.assert_allclose(accelerated.d, plain.d, atol=2e-4)
    assert accelerated.loglik == pytest.approx(plain.loglik, abs=1e-4)


@pytest.mark.slow
def test_plain_em_never_decreases_the_likelihood(sim2pl):
    res = calibrate(sim2pl["x"], accelerate=False, standard_errors=False)
    assert np.all(np.diff(res.history.loglik) > -1e-8)
    assert res.history.max_change[-1] < 1e-4 <= res.history.max_change[-2]
    assert len(res.history.loglik) == res.n_cycles


@pytest.mark.slow
def test_miskeyed_item_comes_back_with_a_negative_slope(sim2pl):
    x = sim2pl["x"].copy()
    x[:, 4] = 1.0 - x[:, 4]  # the key of item 4 is wrong: high ability now answers "wrong"
    res = calibrate(x)
    assert res.a[4] < 0
    assert res.a[4] == pytest.approx(-sim2pl["a"][4], abs=0.15)
    assert res.a[4] + 3 * res.se_a[4] < 0
    np.testing.assert_allclose(np.delete(res.a, 4), np.delete(sim2pl["a"], 4), atol=0.25)


# --------------------------------------------------------------------------- standard errors


def test_observed_information_is_the_hessian_of_the_marginal_loglik():
    """Louis' identity against central differences of the marginal log-likelihood. The identity
    holds at any parameter value, so no fit is needed; 10 % not presented, frequency weights."""
    rng = np.random.default_rng(5)
    j = 5
    a, d, c = rng.uniform(0.8, 1.8, j), rng.uniform(-1.0, 1.0, j), rng.uniform(0.1, 0.3, j)
    x = simulate(rng, rng.standard_normal(800), a, -d / a, c)
    x[rng.random(x.shape) < 0.1] = np.nan
    w = rng.integers(1, 3, 800).astype(float)
    data = irt._prepare(x, w)
    nodes, prior_w = em.standard_normal_quadrature()
    for lower in (None, c):
        theta0 = np.concatenate([a, d] + ([] if lower is None else [lower]))
        k = theta0.shape[0]

        def loglik(v: np.ndarray, three: bool = lower is not None) -> float:
            return irt._estep(data, nodes, prior_w, v[:j], v[j : 2 * j], v[2 * j :] if three else None)[1]

        h = 1e-4
        hess = np.empty((k, k))
        eye = np.eye(k) * h
        for i in range(k):
            for m in range(i, k):
                hess[i, m] = hess[m, i] = (
                    loglik(theta0 + eye[i] + eye[m])
                    - loglik(theta0 + eye[i] - eye[m])
                    - loglik(theta0 - eye[i] + eye[m])
                    + loglik(theta0 - eye[i] - eye[m])
                ) / (4 * h * h)
        info = irt._information_general(data, nodes, prior_w, a, d, lower)
        np.testing.assert_allclose(info, -hess, atol=1e-3 * np.abs(info).max())
        if lower is None:
            fast = irt._information_logistic(data, nodes, prior_w, a, d)
            np.testing.assert_allclose(fast, info, atol=1e-9 * np.abs(info).max())


@pytest.mark.parametrize("missing_share", [0.0, 0.05, 0.3, "forms"])
def test_2pl_information_shortcut_equals_the_general_formula(missing_share):
    """Without missing data, with sparse blanks (taken through the blanks), with two forms (a
    few mask patterns) and with more patterns than nodes."""
    rng = np.random.default_rng(17)
    x = simulate(rng, rng.standard_normal(600), rng.uniform(0.6, 1.8, 9), rng.uniform(-1.5, 1.5, 9))
    if missing_share == "forms":
        x[:300, :4] = np.nan
        x[300:, 5:] = np.nan
    else:
        x[rng.random(x.shape) < missing_share] = np.nan
    w = rng.integers(1, 4, 600).astype(float)
    data = irt._prepare(x, w)
    nodes, prior_w = em.standard_normal_quadrature()
    a, d = rng.uniform(0.6, 1.8, 9), rng.uniform(-1.0, 1.0, 9)
    general = irt._information_general(data, nodes, prior_w, a, d, None)
    fast = irt._information_logistic(data, nodes, prior_w, a, d)
    np.testing.assert_allclose(fast, general, atol=1e-9 * np.abs(general).max())


def test_sparse_blank_pairs_taken_in_chunks_give_the_same_information(monkeypatch):
    """The pair term of the information is summed over chunks of rows (bounded memory)."""
    rng = np.random.default_rng(23)
    x = simulate(rng, rng.standard_normal(400), rng.uniform(0.6, 1.8, 12), rng.uniform(-1.5, 1.5, 12))
    x[rng.random(x.shape) < 0.08] = np.nan
    w = rng.integers(1, 4, 400).astype(float)
    data = irt._prepare(x, w)
    assert data.missing is not None
    nodes, prior_w = em.standard_normal_quadrature()
    a, d = rng.uniform(0.6, 1.8, 12), rng.uniform(-1.0, 1.0, 12)
    whole = irt._information_logistic(data, nodes, prior_w, a, d)
    monkeypatch.setattr(irt, "_PAIR_CHUNK", 7)
    chunked = irt._information_logistic(data, nodes, prior_w, a, d)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-9 * np.abs(whole).max())
    general = irt._information_general(data, nodes, prior_w, a, d, None)
    np.testing.assert_allclose(chunked, general, atol=1e-9 * np.abs(general).max())


def test_sparse_blanks_give_the_dense_products_results(sim2pl, monkeypatch):
    """A few blanks are taken through a sparse matrix of the blanks (issue 16: 50,000 × 100
    with 2 % blanks); estimates, SEs and log-likelihood are those of the dense mask products."""
    x = sim2pl["x"][:3000].copy()
    x[np.random.default_rng(3).random(x.shape) < 0.02] = np.nan
    assert irt._prepare(x, None).missing is not None
    sparse_fit = calibrate(x)
    monkeypatch.setattr(irt, "_SPARSE_MISSING_SHARE", 0.0)
    assert irt._prepare(x, None).missing is None
    dense_fit = calibrate(x)
    assert sparse_fit.n_cycles == dense_fit.n_cycles
    for name in ("a", "d", "se_a", "se_d"):
        np.testing.assert_allclose(getattr(sparse_fit, name), getattr(dense_fit, name), rtol=1e-8)
    assert sparse_fit.loglik == pytest.approx(dense_fit.loglik, rel=1e-12)


def test_standard_errors_can_be_skipped(sim2pl):
    res = calibrate(sim2pl["x"][:1000], standard_errors=False)
    assert np.all(np.isnan(res.se_a)) and res.se_method == "not computed"


# --------------------------------------------------------------------------- cross-check with girth


@pytest.mark.slow
def test_girth_twopl_mml_recovers_comparably(sim2pl, fit2pl):
    girth = pytest.importorskip("girth")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # girth's own numerics are not under test here
        theirs = girth.twopl_mml(sim2pl["x"].T.astype(int))  # girth: (n_items, n_examinees)
    ours_a, ours_b = rmse(fit2pl.a, sim2pl["a"]), rmse(fit2pl.b, sim2pl["b"])
    girth_a, girth_b = rmse(theirs["Discrimination"], sim2pl["a"]), rmse(theirs["Difficulty"], sim2pl["b"])
    # Measured: ours a .0599 b .0409, girth a .0598 b .0422.
    assert ours_a <= girth_a + 0.005
    assert ours_b <= girth_b + 0.005
    np.testing.assert_allclose(fit2pl.a, theirs["Discrimination"], atol=0.05)
    np.testing.assert_allclose(fit2pl.b, theirs["Difficulty"], atol=0.05)


# --------------------------------------------------------------------------- contract


def test_result_is_frozen(fit2pl):
    with pytest.raises(AttributeError):
        fit2pl.a = np.zeros(30)  # type: ignore[misc]
    with pytest.raises(ValueError):
        fit2pl.a[0] = 0.0
    assert fit2pl.n_items == 30
    assert fit2pl.covariance.shape == (60, 60)
    assert fit2pl.parameter_names[0] == "a[0]" and fit2pl.parameter_names[30] == "d[0]"


def test_items_without_variation_are_named():
    rng = np.random.default_rng(0)
    x = simulate(rng, rng.standard_normal(200), np.ones(6), np.zeros(6))
    x[:, 1] = 1.0
    x[:, 3] = 0.0
    x[:, 5] = np.nan
    expected = r"no responses in columns \[5\].*wrong in columns \[3\].*correct in columns \[1\]"
    with pytest.raises(ValueError, match=expected):
        calibrate(x)
    x[:, 5] = 0.0
    x[:10, 5] = np.nan
    x[10, 5] = 1.0
    x[:, 1] = rng.random(200) < 0.5
    x[:, 3] = rng.random(200) < 0.5
    calibrate(x)  # one correct answer is variation enough


def test_zero_weights_count_as_no_responses():
    x = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=float)
    with pytest.raises(ValueError, match=r"every response correct in columns \[0\]"):
        calibrate(x, weights=[1, 0, 1, 0])


@pytest.mark.parametrize(
    ("responses", "kwargs", "message"),
    [
        (np.array([[0, 1, 2], [1, 0, 1]]), {}, r"0, 1 or NaN.*columns \[2\]"),
        (np.zeros(5), {}, "2-D"),
        (np.eye(3), {"model": "4pl"}, "model must be one of"),
        (np.eye(3), {"n_nodes": 21}, "allow_few_nodes"),
        (np.eye(3), {"weights": [1, 2]}, "weights has 2 entries"),
        (np.eye(3), {"weights": [1, -1, 1]}, "non-negative"),
        (np.eye(3), {"theta_range": (2.0, -2.0)}, "increasing"),
        (np.eye(3), {"model": "3pl", "c_prior": (0.5, 4.0)}, "c_prior"),
    ],
)
def test_bad_input_is_refused(responses, kwargs, message):
    with pytest.raises(ValueError, match=message):
        calibrate(responses, **kwargs)


@pytest.mark.parametrize("model", irt.MODELS)
def test_every_model_has_one_consistent_strategy(lsat7, model):
    """Each public model name has its strategy, whose parameter vector, names and information
    matrix agree in size (calibrate relies on that order for the covariance)."""
    assert tuple(irt._MODELS) == irt.MODELS
    patterns, counts = lsat7
    data = irt._prepare(patterns, counts)
    n_items = patterns.shape[1]
    spec = irt._MODELS[model](model, n_items, irt._per_item_prior((6.0, 16.0), n_items))
    x0 = spec.start(*irt._starting_moments(data))
    a, d, c = spec.unpack(x0)
    nodes, prior_w = em.standard_normal_quadrature()
    info = spec.information(data, nodes, prior_w, a, d, c)
    assert x0.shape == (len(spec.parameter_names()),) == spec.natural(x0).shape
    assert info.shape == (x0.size, x0.size)
    assert (c is not None) == (model == "3pl")


def test_few_nodes_only_on_request(lsat7):
    patterns, counts = lsat7
    res = calibrate(patterns, "2pl", counts, n_nodes=21, allow_few_nodes=True)
    assert res.n_nodes == 21
    np.testing.assert_allclose(res.a, MIRT_LSAT7_2PL_A, atol=0.02)


def test_running_out_of_cycles_warns(sim2pl):
    with pytest.warns(ConvergenceWarning, match="EM stopped after 3 cycles"):
        res = calibrate(sim2pl["x"][:500], max_cycles=3, standard_errors=False)
    assert not res.converged and res.n_cycles == 3


def test_input_array_is_not_modified(lsat7):
    patterns, counts = lsat7
    x = patterns.copy()
    x[0, 0] = np.nan
    before = x.copy()
    calibrate(x, weights=counts)
    np.testing.assert_array_equal(x, before)


# --------------------------------------------------------------------------- progress


@pytest.mark.slow
@pytest.mark.parametrize("model", ["2pl", "3pl"])
def test_progress_is_monotone_ends_at_one_and_changes_nothing(sim2pl, model):
    x = sim2pl["x"][:2000]
    seen: list[float] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = calibrate(x, model=model)
        observed = calibrate(x, model=model, progress=seen.append, progress_interval=0.0)
    # Interval 0: one call per EM cycle, then 1.0 once the standard errors are done.
    assert len(seen) == observed.n_cycles + 1
    assert seen == sorted(seen) and seen[-1] == 1.0 and seen.count(1.0) == 1
    assert all(0.0 <= f < 0.9 for f in seen[:-1])  # EM takes the first 90 % when SEs follow
    assert any(0.2 < f < 0.85 for f in seen)  # intermediate values, not a jump from 0 to 1
    # An observer only: bit-identical estimates, standard errors and history.
    for name in ("a", "b", "c", "d", "se_a", "se_b", "covariance"):
        np.testing.assert_array_equal(getattr(observed, name), getattr(plain, name), err_msg=name)
    assert (observed.loglik, observed.n_cycles, observed.converged) == (plain.loglik, plain.n_cycles, plain.converged)
    np.testing.assert_array_equal(observed.history.max_change, plain.history.max_change)


def test_progress_without_standard_errors_uses_the_whole_scale(lsat7):
    seen: list[float] = []
    patterns, counts = lsat7
    calibrate(patterns, weights=counts, standard_errors=False, progress=seen.append, progress_interval=0.0)
    assert seen[-1] == 1.0 and max(seen[:-1]) > 0.9  # converged: the last EM cycle is near tol


def test_em_progress_is_throttled_by_its_clock():
    now = [0.0]
    seen: list[float] = []
    meter = em.EmProgress(seen.append, max_cycles=500, tol=1e-4, interval=0.2, clock=lambda: now[0])
    for cycle, change in enumerate([1.0, 0.1, 0.01, 1e-3, 2e-3, 1e-5], start=1):
        now[0] += 0.15  # cycles 0.15 s apart: a callback on every second cycle at most
        meter.cycle(cycle, change)
    assert len(seen) == 3 and seen == sorted(seen)
    # Calls at cycles 2, 4, 6: the change fell 1 and then 3 of the 4 decades from the first
    # change to tol; at cycle 6 it is below tol, which stays just under 1 until finish().
    assert seen == pytest.approx([0.25, 0.75, 1.0 - 1e-9], abs=1e-12) and seen[-1] < 1.0
    meter.finish()
    assert seen[-1] == 1.0
