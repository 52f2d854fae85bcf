r"""Samejima's graded response model (等级反应模型) for skill-operation criteria scored
``0 … k``: category probabilities, item and test information, calibration and EAP scoring.

Logistic metric (no D = 1.7). Item ``j`` with ``K_j`` categories has a discrimination
:math:`a_j` and ordered thresholds :math:`b_{j1} \le \dots \le b_{j,K_j-1}`:

.. math::
    P^*_{jk}(\theta) = \frac{1}{1 + e^{-a_j(\theta - b_{jk})}}, \quad
    P^*_{j0} = 1,\; P^*_{jK_j} = 0, \qquad
    P_{jk}(\theta) = P^*_{jk}(\theta) - P^*_{j,k+1}(\theta)

Items with fewer categories than the widest item carry NaN thresholds at the end of their row
(``thresholds`` has shape ``(n_items, max K − 1)``); those categories get probability 0. With
two categories the model is the 2PL of :mod:`itembank.irtmodel`.

Calibration wraps ``girth.grm_mml`` (marginal maximum likelihood). It was checked here for
recovery of known parameters on this NumPy/SciPy (see ``tests/grading/test_grm.py``); the
wrapper transposes to girth's ``(n_items, n_examinees)`` layout, codes NaN as girth's missing
value and refuses data with an unobserved category, which girth would silently renumber
(shifting every higher threshold down by one category).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from grading.ctt import corrected_point_biserial
from grading.fit import normal_quadrature

Float = NDArray[np.float64]
Int = NDArray[np.int64]
Bool = NDArray[np.bool_]

__all__ = [
    "EapScores",
    "GradedItems",
    "GrmCalibration",
    "calibrate",
    "category_probabilities",
    "eap_scores",
    "item_information",
    "marginal_log_likelihood",
    "simulate_responses",
    "test_information",
]

# girth bounds each slope to this interval (scipy fminbound); an estimate on the edge is
# not a maximum-likelihood value and usually means a reversed or useless criterion.
GIRTH_SLOPE_BOUNDS = (0.2, 5.0)


@dataclass(frozen=True)
class GradedItems:
    """GRM item parameters.

    Attributes
    ----------
    discrimination : ndarray, shape (n_items,)
    thresholds : ndarray, shape (n_items, max_categories − 1)
        Ordered within each row, NaN-padded at the end for items with fewer categories.
    """

    discrimination: Float
    thresholds: Float

    @property
    def n_categories(self) -> Int:
        """Categories per item (``k + 1`` for a criterion scored ``0 … k``)."""
        return (~np.isnan(self.thresholds)).sum(axis=1).astype(np.int64) + 1


@dataclass(frozen=True)
class GrmCalibration:
    """Result of :func:`calibrate`.

    Attributes
    ----------
    items : GradedItems
    log_likelihood : float
        Marginal log-likelihood at the estimates (61 nodes on [−6, 6], N(0, 1)).
    n_examinees : int
    at_bound : ndarray of bool, shape (n_items,)
        Discrimination stuck at girth's bound [0.2, 5]: not a real estimate, review the item.
    estimator : str
    """

    items: GradedItems
    log_likelihood: float
    n_examinees: int
    at_bound: Bool
    estimator: str


@dataclass(frozen=True)
class EapScores:
    """Expected a posteriori abilities.

    Attributes
    ----------
    theta : ndarray, shape (n_examinees,)
        Posterior mean.
    sd : ndarray, shape (n_examinees,)
        Posterior standard deviation (the EAP's standard error).
    """

    theta: Float
    sd: Float


# --------------------------------------------------------------------------- model


def _parameters(discrimination: ArrayLike, thresholds: ArrayLike) -> tuple[Float, Float]:
    a = np.atleast_1d(np.asarray(discrimination, dtype=float))
    b = np.asarray(thresholds, dtype=float)
    if b.ndim == 1:
        b = b[:, None]
    if a.ndim != 1 or b.ndim != 2 or b.shape[0] != a.size:
        raise ValueError("discrimination must be (n_items,) and thresholds (n_items, n_categories − 1)")
    if np.isnan(b[:, 0]).any():
        raise ValueError("every item needs at least one threshold")
    filled = np.where(np.isnan(b), np.inf, b)
    # Compare neighbours rather than subtract them: inf − inf would raise a RuntimeWarning.
    if (filled[:, 1:] < filled[:, :-1]).any():
        raise ValueError("thresholds must be ascending within an item, NaN only at the end")
    return a, b


def _cumulative(theta: ArrayLike, a: Float, b: Float) -> tuple[Float, Float]:
    """``P*`` with the boundary columns, shape ``theta.shape + (J, K + 1)``, and its slope term."""
    t = np.asarray(theta, dtype=float)[..., None, None]
    inner = special.expit(a[:, None] * (t - b))  # expit: no overflow warnings in the tails
    inner = np.where(np.isnan(b), 0.0, inner)  # missing categories: P* = 0
    shape = inner.shape[:-1] + (1,)
    cum = np.concatenate([np.ones(shape), inner, np.zeros(shape)], axis=-1)
    return cum, cum * (1.0 - cum)


def category_probabilities(theta: ArrayLike, discrimination: ArrayLike, thresholds: ArrayLike) -> Float:
    r"""Category response functions :math:`P_{jk}(\theta)`.

    .. math:: P_{jk}(\theta) = P^*_{jk}(\theta) - P^*_{j,k+1}(\theta)

    Parameters
    ----------
    theta : array_like
        Abilities, any shape (usually ``(n_nodes,)``).
    discrimination : array_like, shape (n_items,)
    thresholds : array_like, shape (n_items, max_categories − 1)
        Ascending, NaN-padded at the end.

    Returns
    -------
    ndarray, shape ``theta.shape + (n_items, max_categories)``
        Rows sum to 1; padded categories are 0.
    """
    a, b = _parameters(discrimination, thresholds)
    cum, _ = _cumulative(theta, a, b)
    return np.maximum(cum[..., :-1] - cum[..., 1:], 0.0)


def item_information(theta: ArrayLike, discrimination: ArrayLike, thresholds: ArrayLike) -> Float:
    r"""Samejima item information.

    .. math:: I_j(\theta) = \sum_k \frac{\bigl(P'_{jk}(\theta)\bigr)^2}{P_{jk}(\theta)}, \qquad
              P'_{jk} = a_j\bigl[P^*_{jk}(1 - P^*_{jk}) - P^*_{j,k+1}(1 - P^*_{j,k+1})\bigr]

    Returns
    -------
    ndarray, shape ``theta.shape + (n_items,)``
    """
    a, b = _parameters(discrimination, thresholds)
    cum, slope = _cumulative(theta, a, b)
    p = np.maximum(cum[..., :-1] - cum[..., 1:], 0.0)
    dp = a[:, None] * (slope[..., :-1] - slope[..., 1:])
    # A category whose probability underflowed to 0 contributes 0 (its P'² vanishes faster).
    ratio = np.zeros_like(p)
    np.divide(dp**2, p, out=ratio, where=p > 0)
    return ratio.sum(axis=-1)


def test_information(theta: ArrayLike, discrimination: ArrayLike, thresholds: ArrayLike) -> Float:
    """Test information: :func:`item_information` summed over items, shape ``theta.shape``."""
    return item_information(theta, discrimination, thresholds).sum(axis=-1)


# Not a pytest test, despite the name.
test_information.__test__ = False  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- data handling


def _responses(responses: ArrayLike) -> Float:
    x = np.asarray(responses, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"responses must be 2-D (n_examinees, n_items), got shape {x.shape}")
    seen = x[~np.isnan(x)]
    if seen.size and ((seen < 0).any() or (seen != np.round(seen)).any()):
        raise ValueError("GRM responses must be integer categories 0, 1, …, k (NaN = not presented)")
    return x


def _log_likelihood_matrix(x: Float, a: Float, b: Float, nodes: Float) -> Float:
    """``log L[i, q]`` of each examinee's presented responses at each node, shape (N, Q)."""
    if x.shape[1] != a.size:
        raise ValueError(f"responses have {x.shape[1]} items, parameters {a.size}")
    n_cat = (~np.isnan(b)).sum(axis=1) + 1
    presented = ~np.isnan(x)
    if (np.where(presented, x, 0.0) >= n_cat).any():
        raise ValueError("a response exceeds its item's highest category")
    cum, _ = _cumulative(nodes, a, b)
    p = np.maximum(cum[..., :-1] - cum[..., 1:], 0.0)  # (Q, J, K)
    log_p = np.log(np.maximum(p, np.finfo(float).tiny))
    out = np.zeros((x.shape[0], nodes.size))
    codes = np.where(presented, x, 0.0).astype(np.int64)
    for j in range(x.shape[1]):
        # Gather one item at a time: a one-hot (N, J·K) matrix would dominate memory at bank scale.
        out += np.where(presented[:, j, None], log_p[:, j, :][:, codes[:, j]].T, 0.0)
    return out


def marginal_log_likelihood(
    responses: ArrayLike,
    discrimination: ArrayLike,
    thresholds: ArrayLike,
    *,
    n_nodes: int = 61,
    theta_range: tuple[float, float] = (-6.0, 6.0),
) -> float:
    r"""Marginal log-likelihood under a N(0, 1) ability distribution.

    .. math:: \ell = \sum_i \log \sum_q w_q \prod_{j \in \mathcal{P}_i} P_{j x_{ij}}(\theta_q)

    with equally spaced nodes and normalised normal weights; NaN responses are skipped.
    """
    a, b = _parameters(discrimination, thresholds)
    x = _responses(responses)
    nodes, w = normal_quadrature(n_nodes, theta_range)
    log_l = _log_likelihood_matrix(x, a, b, nodes)
    return float(special.logsumexp(log_l + np.log(w), axis=1).sum())


# --------------------------------------------------------------------------- estimation


def calibrate(
    responses: ArrayLike,
    n_categories: ArrayLike | None = None,
    *,
    n_nodes: int = 41,
    theta_range: tuple[float, float] = (-4.5, 4.5),
    max_iteration: int = 100,
) -> GrmCalibration:
    r"""Calibrate GRM items by marginal maximum likelihood (``girth.grm_mml``).

    The ability distribution is N(0, 1), which fixes the scale. girth alternates, per item, a
    bounded one-dimensional search for :math:`a_j` (in [0.2, 5]) with thresholds solved from the
    observed category proportions given the current posterior; it stops when every slope moves
    by less than 1e-3 or after ``max_iteration`` cycles.

    Parameters
    ----------
    responses : array_like, shape (n_examinees, n_items)
        Categories ``0 … k_j`` per item, NaN where not presented.
    n_categories : int or array_like, optional
        Categories per item (``k_j + 1``); default the observed maximum + 1. Every category
        must be observed at least once: an empty category has no finite threshold estimate,
        so collapse it into a neighbour (or fix the scoring rubric) first.
    n_nodes : int, default 41
        Quadrature nodes for girth.
    theta_range : (float, float), default (−4.5, 4.5)
        Quadrature bounds for girth.
    max_iteration : int, default 100

    Returns
    -------
    GrmCalibration

    Raises
    ------
    ValueError
        On unobserved categories, items with fewer than two categories, items whose item–rest
        correlation is not positive (girth cannot fit a negative slope), or bad input.
    RuntimeError
        If girth hits a numerical failure (NaN likelihood).
    """
    # girth is imported here, not at module level: the numeric modules otherwise import only
    # numpy and scipy, and only this estimator needs it.
    from girth import INVALID_RESPONSE, grm_mml

    x = _responses(responses)
    n_examinees, n_items = x.shape
    presented = ~np.isnan(x)
    if not presented.any(axis=0).all():
        raise ValueError("every item needs responses")
    observed_max = np.where(presented, x, -1.0).max(axis=0).astype(np.int64)
    if n_categories is None:
        k = observed_max + 1
    else:
        k = np.broadcast_to(np.asarray(n_categories, dtype=np.int64), (n_items,)).copy()
        if (observed_max >= k).any():
            raise ValueError("a response exceeds n_categories − 1")
    if (k < 2).any():
        raise ValueError(f"items {np.flatnonzero(k < 2).tolist()} have fewer than two categories")
    for j in range(n_items):
        counts = np.bincount(x[presented[:, j], j].astype(np.int64), minlength=int(k[j]))
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            raise ValueError(f"item {j}: categories {empty.tolist()} never observed; collapse them before calibrating")

    # girth only searches slopes in [0.2, 5]: a reverse-scored criterion makes it return
    # nonsense thresholds (with a RuntimeWarning from log(0)), so refuse such items up front.
    rest_r = corrected_point_biserial(x, max_scores=k - 1)
    reversed_items = np.flatnonzero(rest_r <= 0)
    if reversed_items.size:
        raise ValueError(
            f"items {reversed_items.tolist()} correlate negatively with the rest of the test "
            "(reverse-scored criterion?); the GRM needs a positive slope"
        )

    data = np.where(presented, x, INVALID_RESPONSE).astype(np.int64).T  # girth: (n_items, n_examinees)
    options = {
        "quadrature_n": int(n_nodes),
        "quadrature_bounds": (float(theta_range[0]), float(theta_range[1])),
        "max_iteration": int(max_iteration),
    }
    with warnings.catch_warnings():
        # A numerical warning inside girth means NaN crept into its likelihood and the estimates
        # are not to be trusted: fail loudly instead of returning them.
        warnings.simplefilter("error", RuntimeWarning)
        try:
            result = grm_mml(data, options=options)
        except RuntimeWarning as exc:
            raise RuntimeError(f"girth.grm_mml failed numerically: {exc}") from exc
    a = np.asarray(result["Discrimination"], dtype=float)
    raw = np.asarray(result["Difficulty"], dtype=float)
    b = np.full((n_items, int(k.max()) - 1), np.nan)
    b[:, : raw.shape[1]] = raw
    # girth's rows hold exactly k_j − 1 thresholds because every category was observed.
    if not np.array_equal((~np.isnan(b)).sum(axis=1) + 1, k):
        raise RuntimeError("girth returned an unexpected number of thresholds")
    items = GradedItems(discrimination=a, thresholds=b)
    low, high = GIRTH_SLOPE_BOUNDS
    return GrmCalibration(
        items=items,
        log_likelihood=marginal_log_likelihood(x, a, b),
        n_examinees=n_examinees,
        at_bound=(a <= low + 1e-3) | (a >= high - 1e-3),
        estimator="girth.grm_mml",
    )


# --------------------------------------------------------------------------- scoring


def eap_scores(
    responses: ArrayLike,
    discrimination: ArrayLike,
    thresholds: ArrayLike,
    *,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
    n_nodes: int = 61,
    theta_range: tuple[float, float] = (-6.0, 6.0),
) -> EapScores:
    r"""EAP ability for GRM response patterns.

    .. math:: \hat\theta_i = \frac{\sum_q \theta_q L_i(\theta_q) w_q}{\sum_q L_i(\theta_q) w_q},
              \qquad SD_i^2 = \frac{\sum_q (\theta_q - \hat\theta_i)^2 L_i(\theta_q) w_q}
                                  {\sum_q L_i(\theta_q) w_q}

    with :math:`L_i(\theta) = \prod_{j \in \mathcal{P}_i} P_{j x_{ij}}(\theta)` over presented
    items and :math:`w_q` normal prior weights on equally spaced nodes. An examinee with no
    presented item gets the prior mean and SD (up to quadrature error).

    Parameters
    ----------
    responses : array_like, shape (n_examinees, n_items)
        Categories, NaN where not presented.
    discrimination : array_like, shape (n_items,)
    thresholds : array_like, shape (n_items, max_categories − 1)
    prior_mean, prior_sd : float
        Normal prior.
    n_nodes : int, default 61
    theta_range : (float, float), default (−6, 6)

    Returns
    -------
    EapScores
    """
    if prior_sd <= 0:
        raise ValueError("prior_sd must be positive")
    a, b = _parameters(discrimination, thresholds)
    x = _responses(responses)
    nodes, w = normal_quadrature(n_nodes, theta_range, prior_mean, prior_sd)
    log_post = _log_likelihood_matrix(x, a, b, nodes) + np.log(w)
    post = np.exp(log_post - special.logsumexp(log_post, axis=1, keepdims=True))
    mean = post @ nodes
    var = post @ nodes**2 - mean**2
    return EapScores(theta=mean, sd=np.sqrt(np.maximum(var, 0.0)))


def simulate_responses(
    rng: np.random.Generator, theta: ArrayLike, discrimination: ArrayLike, thresholds: ArrayLike
) -> Float:
    r"""Draw GRM responses, shape ``(n_examinees, n_items)``.

    One uniform :math:`u_{ij}` per response; the category is :math:`\sum_k [u_{ij} < P^*_{jk}]`,
    exact because :math:`P^*_{jk}` decreases in ``k``.
    """
    a, b = _parameters(discrimination, thresholds)
    t = np.asarray(theta, dtype=float)
    if t.ndim != 1:
        raise ValueError("theta must be 1-D")
    cum, _ = _cumulative(t, a, b)
    u = rng.random((t.size, a.size, 1))
    return (u < cum[..., 1:-1]).sum(axis=-1).astype(float)
