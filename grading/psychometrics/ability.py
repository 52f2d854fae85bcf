"""Ability scoring (能力估计) from calibrated dichotomous items: EAP, MAP and bounded MLE, plus
test information and standard-error curves.

All functions are vectorised over examinees; responses are shaped ``(n_examinees, n_items)``
with NaN for items not presented (a form that did not contain them), which simply drop out of
that examinee's likelihood. Item parameters come from :func:`grading.psychometrics.irt.calibrate` or as a
tuple ``(a, b)`` / ``(a, b, c)`` in the logistic metric; response and information functions are
the shared ones in :mod:`itembank.irtmodel`::

    P_j(θ) = c_j + (1 − c_j) / (1 + exp(−a_j (θ − b_j)))
    I_j(θ) = a_j² (Q_j / P_j) ((P_j − c_j) / (1 − c_j))²        (2PL: a_j² P_j Q_j)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from grading.psychometrics.em import standard_normal_quadrature
from grading.psychometrics.irt import CalibrationResult
from itembank import irtmodel

__all__ = ["ItemParameters", "eap", "map_theta", "mle_theta", "sem_curve", "test_information"]

Float = NDArray[np.float64]
ItemParameters = CalibrationResult | tuple[ArrayLike, ArrayLike] | tuple[ArrayLike, ArrayLike, ArrayLike]

# P is kept inside [ε, 1 − ε] before taking logs: far in the tails the logistic rounds to
# exactly 0 or 1, and one such item would otherwise make a whole likelihood −∞ (changes the
# log-likelihood by at most ~1e-12 per item).
_EPS = 1e-12
_MAX_STEP = 1.0


def _items(items: ItemParameters) -> tuple[Float, Float, Float, float, float]:
    """``(a, b, c, prior_mean, prior_sd)``; a calibration carries its own latent SD (Rasch)."""
    if isinstance(items, CalibrationResult):
        return items.a, items.b, items.c, 0.0, items.latent_sd
    if len(items) == 2:
        a, b = items
        c = None
    elif len(items) == 3:
        a, b, c = items
    else:
        raise ValueError("items must be a CalibrationResult or a tuple (a, b) or (a, b, c)")
    a_ = np.atleast_1d(np.asarray(a, dtype=float))
    b_ = np.broadcast_to(np.asarray(b, dtype=float), a_.shape).copy()
    c_ = np.zeros_like(a_) if c is None else np.broadcast_to(np.asarray(c, dtype=float), a_.shape).copy()
    return a_, b_, c_, 0.0, 1.0


def _responses(responses: ArrayLike, n_items: int) -> tuple[Float, Float]:
    y = np.atleast_2d(np.asarray(responses, dtype=float))
    if y.ndim != 2 or y.shape[1] != n_items:
        raise ValueError(f"responses must be shaped (n_examinees, {n_items}), got {np.shape(responses)}")
    observed = ~np.isnan(y)
    if np.any(observed & (y != 0.0) & (y != 1.0)):
        raise ValueError("responses must be 0, 1 or NaN (not presented)")
    return np.where(observed, y, 0.0), observed.astype(float)


def _prior(items_mean: float, items_sd: float, prior_mean: float | None, prior_sd: float | None) -> tuple[float, float]:
    mean = items_mean if prior_mean is None else float(prior_mean)
    sd = items_sd if prior_sd is None else float(prior_sd)
    if not sd > 0:
        raise ValueError("prior_sd must be positive")
    return mean, sd


def _score_and_information(theta: Float, x: Float, m: Float, a: Float, b: Float, c: Float) -> tuple[Float, Float]:
    """Per examinee: ``∂ log L / ∂θ = Σ_j m_ij a_j (x_ij − P_ij)(P_ij − c_j) / (P_ij (1 − c_j))``
    and the test information ``Σ_j m_ij I_j(θ_i)`` at ``theta`` (shape (N,))."""
    p = np.clip(irtmodel.prob(theta, a, b, c), _EPS, 1.0 - _EPS)  # (N, J)
    grad = (m * a * (x - p) * (p - c) / (p * (1.0 - c))).sum(axis=1)
    info = (m * irtmodel.information(theta, a, b, c)).sum(axis=1)
    return grad, info


def _log_likelihood(theta: Float, x: Float, m: Float, a: Float, b: Float, c: Float) -> Float:
    """``Σ_j m_ij [x_ij log P_j(θ_i) + (1 − x_ij) log Q_j(θ_i)]`` per examinee."""
    p = np.clip(irtmodel.prob(theta, a, b, c), _EPS, 1.0 - _EPS)
    return np.asarray((m * (x * np.log(p) + (1.0 - x) * np.log1p(-p))).sum(axis=1), dtype=float)


def _fisher_scoring(
    theta: Float,
    x: Float,
    m: Float,
    a: Float,
    b: Float,
    c: Float,
    *,
    precision: float,
    mean: float,
    bounds: tuple[float, float],
    tol: float,
    max_iter: int,
) -> Float:
    """Maximise ``log L_i(θ) − precision (θ − mean)² / 2`` for every examinee at once.

    Step ``(∂ log L/∂θ − precision (θ − mean)) / (I(θ) + precision)``, capped at 1, projected on
    ``bounds`` and halved (per examinee) until the objective does not fall: the 3PL likelihood
    can be flat or bimodal in θ, where plain Fisher scoring oscillates.
    """
    lo, hi = bounds
    theta = theta.copy()
    # Only examinees still moving are iterated on: most converge in a few steps.
    active = np.arange(theta.shape[0])
    xa, ma, ta = x, m, theta.copy()

    def objective(t: Float, xs: Float, ms: Float) -> Float:
        return _log_likelihood(t, xs, ms, a, b, c) - 0.5 * precision * (t - mean) ** 2

    current = objective(ta, xa, ma)
    for _ in range(max_iter):
        grad, info = _score_and_information(ta, xa, ma, a, b, c)
        grad = grad - precision * (ta - mean)
        denom = info + precision
        step = np.divide(grad, denom, out=np.zeros_like(grad), where=denom > 0)
        step = np.clip(step, -_MAX_STEP, _MAX_STEP)
        for _halving in range(30):
            trial_theta = np.clip(ta + step, lo, hi)
            trial = objective(trial_theta, xa, ma)
            worse = trial < current - 1e-12
            if not worse.any():
                break
            step = np.where(worse, 0.5 * step, step)
        moving = np.abs(trial_theta - ta) >= tol
        theta[active] = trial_theta
        active, xa, ma = active[moving], xa[moving], ma[moving]
        ta, current = trial_theta[moving], trial[moving]
        if active.shape[0] == 0:
            break
    return theta


def eap(
    responses: ArrayLike,
    items: ItemParameters,
    *,
    prior_mean: float | None = None,
    prior_sd: float | None = None,
    n_nodes: int = 61,
    theta_range: tuple[float, float] = (-6.0, 6.0),
) -> tuple[Float, Float]:
    """Expected a posteriori ability and posterior SD.

    ``θ̂_i = Σ_q θ_q L_i(θ_q) π_q / Σ_q L_i(θ_q) π_q`` and
    ``PSD_i = √(Σ_q (θ_q − θ̂_i)² L_i(θ_q) π_q / Σ_q L_i(θ_q) π_q)``, with nodes equally spaced
    on ``prior_mean + prior_sd · theta_range`` and normal weights ``π_q``, and
    ``log L_i(θ) = Σ_j x_ij log P_j(θ) + (m_ij − x_ij) log Q_j(θ)`` as two matrix products.

    Parameters
    ----------
    responses : array_like, shape (n_examinees, n_items) or (n_items,)
        1 / 0 / NaN (not presented).
    items : CalibrationResult or (a, b) or (a, b, c)
    prior_mean, prior_sd : float, optional
        Ability prior; default N(0, 1), or N(0, latent_sd²) for a Rasch calibration.
    n_nodes, theta_range :
        Quadrature in prior-SD units (default 61 nodes on ±6 SD).

    Returns
    -------
    theta, posterior_sd : ndarray, shape (n_examinees,)
        An examinee with no item presented gets the prior mean and SD.
    """
    a, b, c, mean0, sd0 = _items(items)
    mean, sd = _prior(mean0, sd0, prior_mean, prior_sd)
    x, m = _responses(responses, a.shape[0])
    return _eap(x, m, a, b, c, mean, sd, n_nodes, theta_range)


def _eap(
    x: Float,
    m: Float,
    a: Float,
    b: Float,
    c: Float,
    mean: float,
    sd: float,
    n_nodes: int = 61,
    theta_range: tuple[float, float] = (-6.0, 6.0),
) -> tuple[Float, Float]:
    std_nodes, weights = standard_normal_quadrature(n_nodes, theta_range)
    nodes = mean + sd * std_nodes
    p = np.clip(irtmodel.prob(nodes, a, b, c), _EPS, 1.0 - _EPS)  # (Q, J)
    log_p, log_q = np.log(p), np.log1p(-p)
    ll = x @ (log_p - log_q).T + m @ log_q.T + np.log(weights)[None, :]
    ll -= ll.max(axis=1, keepdims=True)
    post = np.exp(ll)
    post /= post.sum(axis=1, keepdims=True)
    theta = post @ nodes
    var = post @ nodes**2 - theta**2
    return theta, np.sqrt(np.maximum(var, 0.0))


def map_theta(
    responses: ArrayLike,
    items: ItemParameters,
    *,
    prior_mean: float | None = None,
    prior_sd: float | None = None,
    tol: float = 1e-8,
    max_iter: int = 100,
) -> tuple[Float, Float]:
    """Maximum a posteriori (Bayes modal) ability with a normal prior, and its standard error.

    Maximises ``log L_i(θ) − (θ − μ)² / (2σ²)`` by Fisher scoring from the EAP, all examinees at
    once: ``θ ← θ + (∂ log L/∂θ − (θ − μ)/σ²) / (I(θ) + 1/σ²)``, steps capped at 1 and halved
    while the posterior would fall. For the 2PL the expected and observed information coincide,
    so this is Newton's method.

    Returns
    -------
    theta, se : ndarray, shape (n_examinees,)
        ``se = 1 / √(I(θ̂) + 1/σ²)`` (test information over presented items plus the prior's).
        Always finite: the prior bounds all-correct and all-wrong patterns.
    """
    a, b, c, mean0, sd0 = _items(items)
    mean, sd = _prior(mean0, sd0, prior_mean, prior_sd)
    x, m = _responses(responses, a.shape[0])
    theta, _ = _eap(x, m, a, b, c, mean, sd)
    precision = 1.0 / sd**2
    theta = _fisher_scoring(
        theta, x, m, a, b, c, precision=precision, mean=mean, bounds=(-np.inf, np.inf), tol=tol, max_iter=max_iter
    )
    _, info = _score_and_information(theta, x, m, a, b, c)
    return theta, 1.0 / np.sqrt(info + precision)


def mle_theta(
    responses: ArrayLike,
    items: ItemParameters,
    *,
    bounds: tuple[float, float] = (-4.0, 4.0),
    tol: float = 1e-8,
    max_iter: int = 200,
) -> tuple[Float, Float]:
    """Maximum-likelihood ability, bounded to ``bounds``, with ``SEM = 1 / √I(θ̂)``.

    Fisher scoring ``θ ← clip(θ + (∂ log L/∂θ) / I(θ), bounds)`` from the EAP, all examinees at
    once (steps capped at 1, halved while the likelihood would fall — the 3PL likelihood can be
    flat or have two modes).

    All-correct and all-wrong patterns (among the items presented) have no finite MLE — the
    likelihood keeps rising toward ±∞ (mirt returns ±Inf). Here they, and any pattern whose
    maximum lies outside ``bounds``, get the nearest bound and the SEM at that bound, so score
    reports and conversions never see infinities; compare ``theta`` with ``bounds`` to flag them.

    Returns
    -------
    theta, sem : ndarray, shape (n_examinees,)
        An examinee with no item presented has no likelihood: ``theta`` NaN, ``sem`` inf.
    """
    lo, hi = float(bounds[0]), float(bounds[1])
    if not lo < hi:
        raise ValueError(f"bounds must be increasing, got {bounds}")
    a, b, c, _, _ = _items(items)
    x, m = _responses(responses, a.shape[0])
    theta, _ = _eap(x, m, a, b, c, 0.0, 1.0)
    theta = _fisher_scoring(
        np.clip(theta, lo, hi), x, m, a, b, c, precision=0.0, mean=0.0, bounds=(lo, hi), tol=tol, max_iter=max_iter
    )
    _, info = _score_and_information(theta, x, m, a, b, c)
    empty = m.sum(axis=1) == 0
    theta = np.where(empty, np.nan, theta)
    sem = np.full_like(info, np.inf)
    np.divide(1.0, np.sqrt(info), out=sem, where=(info > 0) & ~empty)
    return theta, sem


def test_information(theta: ArrayLike, items: ItemParameters) -> Float:
    """Test information ``I(θ) = Σ_j I_j(θ)`` over all items, shape ``theta.shape``
    (:func:`itembank.irtmodel.test_information`)."""
    a, b, c, _, _ = _items(items)
    return irtmodel.test_information(theta, a, b, c)


# Not a pytest test, despite the name (tests import it).
test_information.__test__ = False  # type: ignore[attr-defined]


def sem_curve(theta: ArrayLike, items: ItemParameters) -> Float:
    """Conditional standard error of measurement ``SEM(θ) = 1 / √I(θ)`` (inf where I = 0)."""
    info = test_information(theta, items)
    out = np.full_like(info, np.inf)
    np.divide(1.0, np.sqrt(info), out=out, where=info > 0)
    return out
