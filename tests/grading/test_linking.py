"""Linking constants recovered from simulated anchor sets; fixed-anchor helper; drift."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import optimize

from grading.psychometrics import linking
from grading.psychometrics.drift import parameter_drift
from grading.psychometrics.linking import LinkingConstants
from itembank.irtmodel import prob

TRUE = LinkingConstants(A=1.25, B=-0.40, method="true")


def anchors(rng: np.random.Generator, n: int = 15, guessing: bool = False):
    """Bank (target) parameters and the same items' parameters on a new (source) scale."""
    a_t = rng.uniform(0.6, 2.0, n)
    b_t = rng.normal(0.2, 1.0, n)
    c = rng.uniform(0.1, 0.25, n) if guessing else np.zeros(n)
    # Invert θ* = Aθ + B: the new scale sees b = (b* − B)/A and a = a*·A.
    a_s = a_t * TRUE.A
    b_s = (b_t - TRUE.B) / TRUE.A
    return a_s, b_s, a_t, b_t, c


def test_transformation_leaves_response_probabilities_unchanged():
    rng = np.random.default_rng(0)
    a, b, c = rng.uniform(0.5, 2, 6), rng.normal(0, 1, 6), rng.uniform(0, 0.3, 6)
    theta = np.linspace(-3, 3, 13)
    moved = linking.transform_parameters(TRUE, a, b, c)
    assert_allclose(prob(linking.transform_theta(TRUE, theta), moved.a, moved.b, moved.c), prob(theta, a, b, c))
    assert_allclose(moved.c, c)


def test_moment_methods_are_exact_on_noiseless_data():
    a_s, b_s, a_t, b_t, _ = anchors(np.random.default_rng(1))
    for k in (linking.mean_sigma(b_s, b_t), linking.mean_mean(a_s, b_s, a_t, b_t)):
        assert k.A == pytest.approx(TRUE.A, rel=1e-12)
        assert k.B == pytest.approx(TRUE.B, abs=1e-12)


@pytest.mark.parametrize("method", ["haebara", "stocking_lord"])
@pytest.mark.parametrize("guessing", [False, True])
def test_curve_methods_are_exact_on_noiseless_data(method, guessing):
    a_s, b_s, a_t, b_t, c = anchors(np.random.default_rng(2), guessing=guessing)
    k = linking.linking_constants(method, a_s, b_s, a_t, b_t, c, c)
    assert k.converged and k.method == method
    assert k.A == pytest.approx(TRUE.A, abs=1e-6)
    assert k.B == pytest.approx(TRUE.B, abs=1e-6)
    assert k.criterion < 1e-12


@pytest.mark.parametrize("method", ["haebara", "stocking_lord"])
def test_curve_methods_recover_constants_from_noisy_estimates(method):
    errors = []
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        a_s, b_s, a_t, b_t, _ = anchors(rng, n=20)
        # Estimation error of a realistic calibration on both sides.
        a_s = a_s * np.exp(rng.normal(0, 0.06, a_s.size))
        b_s = b_s + rng.normal(0, 0.06, b_s.size)
        a_t = a_t * np.exp(rng.normal(0, 0.06, a_t.size))
        b_t = b_t + rng.normal(0, 0.06, b_t.size)
        k = linking.linking_constants(method, a_s, b_s, a_t, b_t)
        errors.append((k.A - TRUE.A, k.B - TRUE.B))
    err = np.array(errors)
    # Anchor error of sd .06 on both sides gives an RMSE near .025 for A and B (checked over 200
    # replications, no bias); allow some sampling slack over 20.
    assert (np.sqrt((err**2).mean(axis=0)) < 0.04).all()
    assert (np.abs(err.mean(axis=0)) < 0.02).all()
    assert np.abs(err).max() < 0.1


def test_curve_loss_gradient_is_analytic_and_right():
    a_s, b_s, a_t, b_t, c = anchors(np.random.default_rng(3), guessing=True)
    q, w = linking._grid(None, None)
    source = linking.ItemParameters(a=a_s, b=b_s + 0.1, c=c)
    p_target = prob(q, a_t, b_t, c)
    for test_curve in (False, True):

        def f(v, tc=test_curve):
            return linking._curve_loss(v, q, w, source, p_target, tc)[0]

        def g(v, tc=test_curve):
            return linking._curve_loss(v, q, w, source, p_target, tc)[1]

        assert optimize.check_grad(f, g, np.array([1.1, -0.2]), epsilon=1e-7) < 1e-6


def test_degenerate_anchor_sets_are_refused():
    with pytest.raises(ValueError, match="spread"):
        linking.mean_sigma([0.5, 0.5, 0.5], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="expected 3"):
        linking.mean_mean([1, 1, 1], [0, 1, 2], [1, 1], [0, 1])
    with pytest.raises(ValueError, match="unknown"):
        linking.linking_constants("equipercentile", [1], [0], [1], [0])  # type: ignore[arg-type]


def new_form(rng: np.random.Generator, drift: float = 0.0):
    """A 30-item new form whose items 0, 3, 6, …, 27 are bank anchors."""
    a_bank_all = rng.uniform(0.7, 1.9, 30)
    b_bank_all = rng.normal(0, 1, 30)
    anchor_index = np.arange(0, 30, 3)
    a_new = a_bank_all * TRUE.A * np.exp(rng.normal(0, 0.03, 30))
    b_new = (b_bank_all - TRUE.B) / TRUE.A + rng.normal(0, 0.03, 30)
    b_new[anchor_index[4]] += drift  # one anchor changed since it was banked (exposure, edits…)
    return a_new, b_new, anchor_index, a_bank_all, b_bank_all


def test_link_to_bank_holds_anchors_and_transforms_the_rest():
    rng = np.random.default_rng(7)
    a_new, b_new, idx, a_true, b_true = new_form(rng)
    res = linking.link_to_bank(a_new, b_new, idx, a_true[idx], b_true[idx])
    assert res.constants.method == "stocking_lord"
    assert_allclose(res.parameters.b[idx], b_true[idx])
    assert_allclose(res.parameters.a[idx], a_true[idx])
    others = np.setdiff1d(np.arange(30), idx)
    assert np.abs(res.parameters.b[others] - b_true[others]).max() < 0.15
    assert np.abs(res.parameters.a[others] / a_true[others] - 1).max() < 0.15
    assert res.is_anchor.sum() == 10 and res.anchors_used.sum() == 10
    assert np.isnan(res.anchor_delta_b[others]).all()


def test_link_to_bank_drops_a_drifting_anchor():
    rng = np.random.default_rng(8)
    a_new, b_new, idx, a_true, b_true = new_form(rng, drift=1.0)
    kept_all = linking.link_to_bank(a_new, b_new, idx, a_true[idx], b_true[idx], method="mean_sigma")
    screened = linking.link_to_bank(
        a_new, b_new, idx, a_true[idx], b_true[idx], method="mean_sigma", drift_threshold=0.5
    )
    drifted = idx[4]
    assert not screened.anchors_used[drifted] and screened.anchors_used.sum() == 9
    assert abs(screened.anchor_delta_b[drifted]) > 0.5
    # Released from the anchor set, the drifted item is transformed, not held at its bank value.
    assert screened.parameters.b[drifted] != pytest.approx(b_true[drifted], abs=0.5)
    err_all = abs(kept_all.constants.A - TRUE.A) + abs(kept_all.constants.B - TRUE.B)
    err_screened = abs(screened.constants.A - TRUE.A) + abs(screened.constants.B - TRUE.B)
    assert err_screened < err_all and err_screened < 0.05


def test_drift_after_linking_flags_large_changes_in_b():
    a_old = np.array([1.0, 1.2, 0.8, 1.5])
    b_old = np.array([-1.0, 0.0, 0.5, 1.0])
    # New calibration on a scale with θ_bank = 1.25 θ_new − 0.4; item 2 got 0.8 logits harder.
    b_true_new = np.array([-1.0, 0.0, 1.3, 1.0])
    a_new = a_old * TRUE.A
    b_new = (b_true_new - TRUE.B) / TRUE.A
    a_new[3] *= 1.5  # item 3's slope changed
    res = parameter_drift(a_old, b_old, a_new, b_new, constants=TRUE)
    assert_allclose(res.delta_b, [0, 0, 0.8, 0], atol=1e-12)
    assert_allclose(res.delta_a, [0, 0, 0, 0.75], atol=1e-12)
    assert res.flagged.tolist() == [False, False, True, False]
    assert parameter_drift(a_old, b_old, a_new, b_new, constants=TRUE, threshold_a=0.5).flagged.tolist() == [
        False,
        False,
        True,
        True,
    ]
    assert parameter_drift(a_old, b_old, a_new, b_new, constants=TRUE, threshold_b=1.0).flagged.sum() == 0
    # Without constants the new values are taken to be on the bank scale already.
    same = parameter_drift(a_old, b_old, a_old, b_old + [0, 0.6, 0, 0])
    assert same.flagged.tolist() == [False, True, False, False]
    assert same.constants.method == "identity"
