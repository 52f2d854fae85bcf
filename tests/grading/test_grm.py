"""Graded response model: Samejima's functions, calibration (own EM by default, girth as an
alternative) checked by recovery of known parameters, and EAP scoring."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from grading.psychometrics import grm
from grading.psychometrics.em import ConvergenceWarning
from itembank import irtmodel


def make_items(rng: np.random.Generator, n_items: int, categories: tuple[int, ...] = (3, 4, 5)):
    a = rng.uniform(0.8, 2.2, n_items)
    k = rng.choice(categories, n_items)
    b = np.full((n_items, max(categories) - 1), np.nan)
    for j in range(n_items):
        # Spread thresholds so every category is used by a N(0, 1) sample.
        b[j, : k[j] - 1] = np.sort(rng.normal(0, 0.9, k[j] - 1)) + np.linspace(-0.6, 0.6, k[j] - 1)
    return a, b


def test_category_probabilities_sum_to_one_and_pad_with_zero():
    a = np.array([1.2, 0.8])
    b = np.array([[-1.0, 0.0, 1.5], [0.3, np.nan, np.nan]])
    theta = np.linspace(-4, 4, 9)
    p = grm.category_probabilities(theta, a, b)
    assert p.shape == (9, 2, 4)
    assert_allclose(p.sum(axis=-1), 1.0)
    assert (p >= 0).all()
    assert_allclose(p[:, 1, 2:], 0.0)
    # Two categories: the 2PL of itembank.irtmodel.
    assert_allclose(p[:, 1, 1], irtmodel.prob(theta, a[1:], b[1:, 0])[:, 0])


def test_information_matches_2pl_and_finite_differences():
    a = np.array([1.4, 0.9, 2.0])
    b = np.array([[-1.2, -0.2, 0.9], [0.5, np.nan, np.nan], [-0.5, 0.1, np.nan]])
    theta = np.linspace(-3, 3, 25)
    info = grm.item_information(theta, a, b)
    assert_allclose(info[:, 1], irtmodel.information(theta, a[1:], b[1:, 0])[:, 0])
    # Samejima: Σ_k P'_k² / P_k, with P'_k by central differences.
    h = 1e-5
    dp = (grm.category_probabilities(theta + h, a, b) - grm.category_probabilities(theta - h, a, b)) / (2 * h)
    p = grm.category_probabilities(theta, a, b)
    numeric = np.where(p > 0, dp**2 / np.where(p > 0, p, 1.0), 0.0).sum(axis=-1)
    assert_allclose(info, numeric, rtol=1e-6)
    assert_allclose(grm.test_information(theta, a, b), info.sum(axis=1))


def test_information_in_far_tails_has_no_warnings():
    info = grm.item_information(np.array([-60.0, 60.0]), [3.0], [[-1.0, 1.0]])
    assert np.isfinite(info).all() and (info >= 0).all()


def test_thresholds_must_be_ascending():
    with pytest.raises(ValueError, match="ascending"):
        grm.category_probabilities(0.0, [1.0], [[0.5, -0.5]])
    with pytest.raises(ValueError, match="ascending"):
        grm.category_probabilities(0.0, [1.0], [[0.0, np.nan, 0.5]])


def test_simulated_category_frequencies_match_the_model():
    rng = np.random.default_rng(1)
    a, b = make_items(rng, 4)
    x = grm.simulate_responses(rng, rng.standard_normal(20000), a, b)
    nodes = np.linspace(-6, 6, 121)
    w = stats.norm.pdf(nodes) / stats.norm.pdf(nodes).sum()
    expected = np.einsum("q,qjk->jk", w, grm.category_probabilities(nodes, a, b))
    for j in range(4):
        observed = np.bincount(x[:, j].astype(int), minlength=b.shape[1] + 1) / x.shape[0]
        assert_allclose(observed, expected[j], atol=0.015)


def test_calibration_recovers_known_parameters():
    rng = np.random.default_rng(2025)
    a, b = make_items(rng, 10)
    theta = rng.standard_normal(5000)
    x = grm.simulate_responses(rng, theta, a, b)
    fit = grm.calibrate(x, estimator="girth")  # the default is now the EM (tests below)
    est = fit.items
    assert est.thresholds.shape == b.shape
    assert_allclose(est.n_categories, (~np.isnan(b)).sum(axis=1) + 1)
    assert_allclose(np.isnan(est.thresholds), np.isnan(b))
    filled = np.where(np.isnan(est.thresholds), np.inf, est.thresholds)
    assert (filled[:, 1:] >= filled[:, :-1]).all()
    rmse_a = np.sqrt(np.mean((est.discrimination - a) ** 2))
    rmse_b = np.sqrt(np.nanmean((est.thresholds - b) ** 2))
    assert rmse_a < 0.06, rmse_a
    assert rmse_b < 0.06, rmse_b
    assert not fit.at_bound.any()
    assert fit.n_examinees == 5000 and fit.estimator == "girth.grm_mml"
    # A maximum-likelihood estimate must fit the sample at least as well as the true values.
    # (Measured on a 3,000 × 12 sample: girth's log-likelihood was within 0.8 of a direct
    # L-BFGS maximisation of the same marginal likelihood, slopes within 0.002.)
    assert fit.log_likelihood >= grm.marginal_log_likelihood(x, a, b)


@pytest.mark.slow
def test_calibration_with_missing_by_design_and_binary_criteria():
    rng = np.random.default_rng(77)
    a, b = make_items(rng, 12, categories=(2, 3, 4))
    x = grm.simulate_responses(rng, rng.standard_normal(5000), a, b)
    # Two forms sharing items 0-3.
    x[:2500, 8:] = np.nan
    x[2500:, 4:8] = np.nan
    est = grm.calibrate(x).items
    assert np.sqrt(np.mean((est.discrimination - a) ** 2)) < 0.1
    assert np.sqrt(np.nanmean((est.thresholds - b) ** 2)) < 0.1


def test_unobserved_category_is_refused():
    rng = np.random.default_rng(3)
    x = grm.simulate_responses(rng, rng.standard_normal(300), [1.0, 1.0], [[-0.5, 0.5], [-0.5, 0.5]])
    x[x[:, 1] == 1, 1] = 2  # nobody scores 1 on item 1: girth would renumber 2 as 1
    with pytest.raises(ValueError, match=r"item 1: categories \[1\] never observed"):
        grm.calibrate(x)
    with pytest.raises(ValueError, match="never observed"):
        grm.calibrate(np.where(x == 2, 1, x), n_categories=3)
    with pytest.raises(ValueError, match="integer categories"):
        grm.calibrate(x + 0.5)


def test_reverse_scored_criterion_is_refused():
    # girth would return garbage thresholds for it (its slope search is bounded to [0.2, 5]).
    rng = np.random.default_rng(8)
    a, b = make_items(rng, 8)
    x = grm.simulate_responses(rng, rng.standard_normal(2000), a, b)
    x[:, 0] = (~np.isnan(b[0])).sum() - x[:, 0]
    with pytest.raises(ValueError, match=r"items \[0\] correlate negatively"):
        grm.calibrate(x)


def brute_force_eap(pattern: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    nodes = np.linspace(-6, 6, 61)
    post = stats.norm.pdf(nodes)
    for j, xj in enumerate(pattern):
        if not np.isnan(xj):
            post = post * grm.category_probabilities(nodes, a, b)[:, j, int(xj)]
    post /= post.sum()
    mean = float(post @ nodes)
    return mean, float(np.sqrt(post @ (nodes - mean) ** 2))


def test_eap_matches_brute_force_and_handles_empty_patterns():
    rng = np.random.default_rng(4)
    a, b = make_items(rng, 6)
    x = grm.simulate_responses(rng, rng.standard_normal(5), a, b)
    x[1, [0, 2]] = np.nan
    x[4, :] = np.nan
    scores = grm.eap_scores(x, a, b)
    for i in range(4):
        mean, sd = brute_force_eap(x[i], a, b)
        assert scores.theta[i] == pytest.approx(mean, abs=1e-10)
        assert scores.sd[i] == pytest.approx(sd, abs=1e-10)
    assert scores.theta[4] == pytest.approx(0.0, abs=1e-9)
    assert scores.sd[4] == pytest.approx(1.0, abs=1e-3)
    shifted = grm.eap_scores(x[4:], a, b, prior_mean=0.5, prior_sd=0.8)
    assert shifted.theta[0] == pytest.approx(0.5, abs=1e-6)


def test_eap_tracks_true_ability_and_its_sd_is_calibrated():
    rng = np.random.default_rng(6)
    a, b = make_items(rng, 15)
    theta = rng.standard_normal(4000)
    x = grm.simulate_responses(rng, theta, a, b)
    scores = grm.eap_scores(x, a, b)
    assert np.corrcoef(scores.theta, theta)[0, 1] > 0.93
    rmse = np.sqrt(np.mean((scores.theta - theta) ** 2))
    assert rmse == pytest.approx(np.sqrt(np.mean(scores.sd**2)), rel=0.1)


# --------------------------------------------------------------------------- EM estimator (default)
# The Bock–Aitkin EM is checked against R mirt in tests/grading/test_grm_reference.py; these tests
# cover recovery, missing data, its agreement with girth and its own optimality.


@pytest.mark.slow
def test_em_recovers_known_parameters_and_fits_better_than_girth():
    rng = np.random.default_rng(2025)  # the data of test_calibration_recovers_known_parameters
    a, b = make_items(rng, 10)
    theta = rng.standard_normal(5000)
    x = grm.simulate_responses(rng, theta, a, b)
    fit = grm.calibrate(x)
    assert fit.estimator == "bock-aitkin-em" and fit.converged and fit.n_cycles is not None
    est = fit.items
    assert_allclose(np.isnan(est.thresholds), np.isnan(b))
    assert np.sqrt(np.mean((est.discrimination - a) ** 2)) < 0.06
    assert np.sqrt(np.nanmean((est.thresholds - b) ** 2)) < 0.06
    assert not fit.at_bound.any()
    assert fit.log_likelihood >= grm.marginal_log_likelihood(x, a, b)
    # The maximum-likelihood estimate fits at least as well as girth's (which is not one).
    girth_fit = grm.calibrate(x, estimator="girth")
    assert fit.log_likelihood >= girth_fit.log_likelihood
    assert girth_fit.n_cycles is None and girth_fit.converged is None
    assert_allclose(est.discrimination, girth_fit.items.discrimination, atol=0.1)


@pytest.mark.slow
def test_both_estimators_with_missing_by_design_and_binary_criteria():
    rng = np.random.default_rng(77)  # the data of test_calibration_with_missing_by_design_...
    a, b = make_items(rng, 12, categories=(2, 3, 4))
    x = grm.simulate_responses(rng, rng.standard_normal(5000), a, b)
    x[:2500, 8:] = np.nan
    x[2500:, 4:8] = np.nan
    em = grm.calibrate(x)
    girth_fit = grm.calibrate(x, estimator="girth")
    for est in (em.items, girth_fit.items):
        assert np.sqrt(np.mean((est.discrimination - a) ** 2)) < 0.1
        assert np.sqrt(np.nanmean((est.thresholds - b) ** 2)) < 0.1
    assert em.log_likelihood >= girth_fit.log_likelihood


def test_em_estimate_is_a_stationary_point_of_the_marginal_likelihood():
    rng = np.random.default_rng(11)
    a, b = make_items(rng, 5)
    x = grm.simulate_responses(rng, rng.standard_normal(1500), a, b)
    x[rng.random(x.shape) < 0.1] = np.nan  # scattered missing responses
    fit = grm.calibrate(x, tol=1e-8)
    est_a, est_b = fit.items.discrimination, fit.items.thresholds
    d = -est_b * est_a[:, None]
    active = ~np.isnan(d)

    def loglik(av: np.ndarray, dv: np.ndarray) -> float:
        return grm.marginal_log_likelihood(x, av, -dv / av[:, None])

    h = 1e-5
    grad = []
    for j in range(a.size):
        step = np.zeros_like(est_a)
        step[j] = h
        grad.append((loglik(est_a + step, d) - loglik(est_a - step, d)) / (2 * h))
        for k in np.flatnonzero(active[j]):
            step_d = np.zeros_like(d)
            step_d[j, k] = h
            grad.append((loglik(est_a, d + step_d) - loglik(est_a, d - step_d)) / (2 * h))
    # Same likelihood (61 nodes on [−6, 6]) as the EM maximises; measured max |gradient| 6e-7.
    assert np.abs(grad).max() < 1e-3


def test_em_reports_non_convergence():
    rng = np.random.default_rng(5)
    a, b = make_items(rng, 6)
    x = grm.simulate_responses(rng, rng.standard_normal(800), a, b)
    with pytest.warns(ConvergenceWarning, match="stopped after 2 cycles"):
        fit = grm.calibrate(x, max_iteration=2)
    assert fit.converged is False and fit.n_cycles == 2


def test_calibration_options_are_checked():
    x = grm.simulate_responses(np.random.default_rng(1), np.zeros(50), [1.0, 1.0], [[-0.5, 0.5], [-0.5, 0.5]])
    with pytest.raises(ValueError, match="estimator must be one of"):
        grm.calibrate(x, estimator="mirt")
    with pytest.raises(ValueError, match="theta_range"):
        grm.calibrate(x, theta_range=(2.0, -2.0))


def test_em_mstep_recovers_from_out_of_order_thresholds():
    # SQUAREM can extrapolate to thresholds out of order (zero category probabilities); the
    # M-step must still climb to the same optimum of the expected complete-data likelihood.
    rng = np.random.default_rng(21)
    a, b = make_items(rng, 4, categories=(4,))
    x = grm.simulate_responses(rng, rng.standard_normal(2000), a, b)
    fit = grm.calibrate(x, tol=1e-8)
    est_a = fit.items.discrimination
    d = -fit.items.thresholds * est_a[:, None]
    active = ~np.isnan(d)
    nodes, weights = grm.normal_quadrature()
    log_post = grm._log_likelihood_matrix(x, est_a, fit.items.thresholds, nodes) + np.log(weights)
    post = np.exp(log_post - log_post.max(axis=1, keepdims=True))
    post /= post.sum(axis=1, keepdims=True)
    r = np.stack([np.stack([post[x[:, j] == c].sum(axis=0) for c in range(4)], axis=-1) for j in range(4)])
    scrambled = d.copy()
    scrambled[0] = scrambled[0, ::-1]
    scrambled[1, 1] = scrambled[1, 0] + 1.0
    a_new, d_new = grm._em_mstep(r, nodes, est_a * 1.3, scrambled, active)
    # At the EM fixed point the M-step returns the estimate itself.
    assert_allclose(a_new, est_a, atol=1e-5)
    assert_allclose(d_new, d, atol=1e-5)


# --------------------------------------------------------------------------- standard errors and progress


def numeric_hessian(f, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    n = x.size
    out = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            ei, ej = np.eye(n)[i] * h, np.eye(n)[j] * h
            out[i, j] = out[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h * h)
    return out


def test_observed_information_is_the_negative_hessian_with_missing_data():
    # Mixed category counts (binary, 3, 4) and scattered NaN; at arbitrary parameters, not an
    # estimate, so the identity itself is checked (Louis' formula is exact anywhere).
    rng = np.random.default_rng(3)
    a, b = make_items(rng, 4, categories=(2, 3, 4))
    x = grm.simulate_responses(rng, rng.standard_normal(400), a, b)
    x[rng.random(x.shape) < 0.15] = np.nan
    a_at = a * 1.1
    d_at = -(b + 0.1) * a_at[:, None]
    active = ~np.isnan(d_at)
    par = np.concatenate([a_at, d_at[active]])

    def loglik(v: np.ndarray) -> float:
        dd = np.full(d_at.shape, np.nan)
        dd[active] = v[a.size :]
        return grm.marginal_log_likelihood(x, v[: a.size], -dd / v[: a.size, None])

    info = grm.observed_information(x, a_at, -d_at / a_at[:, None])
    assert info.shape == (par.size, par.size)
    # Measured agreement 1.6e-7 of the largest entry (finite-difference error).
    assert_allclose(info, -numeric_hessian(loglik, par), atol=1e-5 * np.abs(info).max())


@pytest.mark.slow
def test_threshold_standard_errors_match_the_threshold_parameterisation():
    # se(b) by the delta method equals the SE from the information in (a, b) itself at the MLE.
    rng = np.random.default_rng(8)
    a, b = make_items(rng, 3, categories=(3, 4))
    x = grm.simulate_responses(rng, rng.standard_normal(800), a, b)
    x[rng.random(x.shape) < 0.1] = np.nan
    fit = grm.calibrate(x, tol=1e-8)
    est_a, est_b = fit.items.discrimination, fit.items.thresholds
    active = ~np.isnan(est_b)

    def loglik(v: np.ndarray) -> float:
        bb = np.full(est_b.shape, np.nan)
        bb[active] = v[a.size :]
        return grm.marginal_log_likelihood(x, v[: a.size], bb)

    cov = np.linalg.inv(-numeric_hessian(loglik, np.concatenate([est_a, est_b[active]])))
    se = np.sqrt(np.diag(cov))  # measured agreement 1e-6 (relative)
    assert_allclose(fit.se_discrimination, se[: a.size], rtol=1e-4)
    assert_allclose(fit.se_thresholds[active], se[a.size :], rtol=1e-4)
    assert np.isnan(fit.se_thresholds[~active]).all() and np.isnan(fit.se_intercepts[~active]).all()


@pytest.mark.slow
def test_standard_errors_match_the_spread_of_estimates_over_replications():
    # Seeded simulation: over 60 samples of 600 examinees the SD of each estimate and the mean
    # reported SE agree. Measured ratios SD / mean SE 0.83–1.19 over the 16 parameters, mean 1.03;
    # an SD estimated from 60 draws has a sampling error of about 9 %, hence the band [0.7, 1.4]
    # per parameter and [0.9, 1.1] for the average ratio.
    rng = np.random.default_rng(2024)
    a = np.array([0.9, 1.3, 1.8, 1.1, 1.5])
    b = np.array([[-1.5, 0.0, 1.2], [-1.0, 0.4, np.nan], [-0.5, 0.8, np.nan], [-2.0, -0.6, 0.7], [0.0, np.nan, np.nan]])
    active = ~np.isnan(b)
    estimates, ses = [], []
    for _ in range(60):
        x = grm.simulate_responses(rng, rng.standard_normal(600), a, b)
        fit = grm.calibrate(x)
        estimates.append(np.concatenate([fit.items.discrimination, fit.items.thresholds[active]]))
        ses.append(np.concatenate([fit.se_discrimination, fit.se_thresholds[active]]))
    ratio = np.std(estimates, axis=0, ddof=1) / np.mean(ses, axis=0)
    assert ((ratio > 0.7) & (ratio < 1.4)).all(), ratio
    assert 0.9 < ratio.mean() < 1.1, ratio.mean()


@pytest.mark.slow
def test_em_progress_is_monotone_and_changes_nothing():
    rng = np.random.default_rng(12)
    a, b = make_items(rng, 6)
    x = grm.simulate_responses(rng, rng.standard_normal(1500), a, b)
    seen: list[float] = []
    plain = grm.calibrate(x)
    observed = grm.calibrate(x, progress=seen.append, progress_interval=0.0)
    assert len(seen) == observed.n_cycles + 1 and seen == sorted(seen) and seen[-1] == 1.0
    assert any(0.2 < f < 0.85 for f in seen)
    assert_allclose(observed.items.discrimination, plain.items.discrimination, rtol=0, atol=0)
    assert_allclose(observed.items.thresholds, plain.items.thresholds, rtol=0, atol=0)
    assert_allclose(observed.se_thresholds, plain.se_thresholds, rtol=0, atol=0)
    assert observed.log_likelihood == plain.log_likelihood
    girth_seen: list[float] = []
    grm.calibrate(x, estimator="girth", progress=girth_seen.append)
    assert girth_seen == [1.0]


def test_standard_errors_can_be_skipped():
    rng = np.random.default_rng(13)
    a, b = make_items(rng, 3)
    x = grm.simulate_responses(rng, rng.standard_normal(500), a, b)
    fit = grm.calibrate(x, standard_errors=False)
    assert fit.se_discrimination is None and fit.covariance is None and fit.se_method == "not computed"
