"""IRT calibration (项目反应理论参数标定): Bock–Aitkin marginal maximum likelihood for
dichotomous items, in the logistic metric (no D = 1.7).

Owns :func:`calibrate` (Rasch, 1PL, 2PL, 3PL with a Beta prior on the lower asymptote),
:func:`marginal_loglik`, the frozen :class:`CalibrationResult`, and the LSAT6 / LSAT7 reference
pattern tables (:func:`load_pattern_table`). Ability scoring lives in :mod:`grading.psychometrics.ability`;
the model-free EM machinery (quadrature, the SQUAREM loop, progress, inverting the information)
in :mod:`grading.psychometrics.em`. What each model adds — where its parameters sit in the vector EM moves,
its starting values, M-step, observed information and read-out — is one class per model,
looked up by name in ``_MODELS``.

Model, slope-intercept form (as R mirt)::

    P_j(θ) = c_j + (1 − c_j) / (1 + exp(−(a_j θ + d_j))),   b_j = −d_j / a_j,   θ ~ N(0, 1)

Responses are shaped ``(n_examinees, n_items)`` with 1 = correct, 0 = wrong and NaN = not
presented (missing by design, e.g. two forms sharing anchor items). Frequency weights per row
let a pattern table (LSAT style) be fitted without expanding it.

Only numpy and scipy are imported; no database, no Flask.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse, special

from grading.psychometrics.em import (
    PROGRESS_INTERVAL,
    ConvergenceHistory,
    ConvergenceWarning,
    EmProgress,
    ProgressCallback,
    invert_information,
    run_em,
    standard_normal_quadrature,
)

__all__ = [
    "MIN_NODES",
    "MODELS",
    "CalibrationResult",
    "ConvergenceHistory",
    "ConvergenceWarning",
    "Model",
    "calibrate",
    "load_pattern_table",
    "marginal_loglik",
]

Float = NDArray[np.float64]
Model = Literal["rasch", "1pl", "2pl", "3pl"]
MODELS: tuple[str, ...] = ("rasch", "1pl", "2pl", "3pl")

#: Fewer equally spaced nodes than this bias long tests (psychometrics.md); refused by default.
MIN_NODES = 41

_DATA_DIR = Path(__file__).with_name("data")
# Inner Newton / Fisher-scoring loop of the M-step: solved to (near) machine precision so the
# EM map is a well-defined function, which SQUAREM's extrapolation relies on.
_MSTEP_TOL = 1e-10
_MSTEP_MAX_ITER = 50
# Largest change of any one parameter in one inner Newton step: keeps early cycles, where the
# expected counts are still far from the data, from overshooting.
_MAX_STEP = 1.0
# |logit c| ≤ 30 keeps c and 1 − c above 1e-13, so log c and log(1 − c) stay finite even at an
# extrapolated point; the Beta prior keeps real estimates far inside.
_LOGIT_C_BOUND = 30.0
# Up to this share of cells not presented, the mask products are taken through the blanks
# (:class:`_Data`): a run's data has a few percent of omissions; forms by design have more.
_SPARSE_MISSING_SHARE = 0.1
# Pairs of blanks within a row handled at once by the information's pair term (memory bound).
_PAIR_CHUNK = 2_000_000


@dataclass(frozen=True, kw_only=True)
class CalibrationResult:
    """Item parameters from :func:`calibrate` (arrays are read-only).

    Attributes
    ----------
    model : {"rasch", "1pl", "2pl", "3pl"}
    a, b, c, d : ndarray, shape (n_items,)
        Slope, difficulty ``b = −d / a``, lower asymptote (0 unless 3PL) and intercept.
    se_a, se_b, se_d : ndarray, shape (n_items,)
        Standard errors from the observed information (see ``se_method``). ``se_b`` by the
        delta method. For the Rasch model ``a`` is fixed, so ``se_a`` is 0; for the 1PL all
        items share one slope and so one ``se_a``. NaN only if the information matrix is not
        positive definite (an unidentified solution) or SEs were not requested.
    se_c : ndarray or None
        3PL only.
    latent_sd, se_latent_sd :
        SD of the ability distribution: 1 (fixed) except for the Rasch model, whose latent
        variance is free (``latent_sd ** 2`` is mirt's ``COV_11``).
    loglik : float
        Marginal log-likelihood ``Σ_i w_i log Σ_q π_q Π_j P_j(θ_q)^x_ij Q_j(θ_q)^(1−x_ij)`` at the
        estimate, over the same rectangular quadrature as the fit (mirt's ``logLik``).
    log_prior : float
        Log Beta prior density of the c parameters at the estimate (3PL; else 0).
    n_cycles : int
        EM cycles used (each one E-step and one M-step; SQUAREM's extrapolations included).
    converged : bool
        Every parameter moved less than ``tol`` in the last cycle.
    history : ConvergenceHistory
    covariance : ndarray
        Inverse observed information of the free parameters, in the order of
        ``parameter_names``.
    c_prior : (ndarray, ndarray) or None
        The Beta(α, β) prior of each item's c (3PL).
    """

    model: str
    a: Float
    b: Float
    c: Float
    d: Float
    se_a: Float
    se_b: Float
    se_d: Float
    se_c: Float | None
    latent_sd: float
    se_latent_sd: float | None
    loglik: float
    log_prior: float
    n_cycles: int
    converged: bool
    history: ConvergenceHistory
    covariance: Float
    parameter_names: tuple[str, ...]
    n_examinees: int
    sample_size: float
    n_nodes: int
    theta_range: tuple[float, float]
    c_prior: tuple[Float, Float] | None
    se_method: str

    def __post_init__(self) -> None:
        # Frozen means frozen: nobody downstream can edit a calibration in place.
        for value in vars(self).values():
            for array in value if isinstance(value, tuple) else (value,):
                if isinstance(array, np.ndarray):
                    array.setflags(write=False)

    @property
    def n_items(self) -> int:
        return int(self.a.shape[0])

    @property
    def n_parameters(self) -> int:
        """Free parameters: J + 1 (Rasch: d and the latent variance; 1PL: d and one slope),
        2J (2PL), 3J (3PL) — as mirt counts them."""
        return len(self.parameter_names)

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2.0 * self.n_parameters

    @property
    def bic(self) -> float:
        return -2.0 * self.loglik + self.n_parameters * math.log(self.sample_size)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class _Data:
    """Responses prepared once: ``x`` with NaN → 0, ``mask`` (None when nothing is missing, so
    the E-step can skip the mask product), frequency weights ``w``, and ``wx = w x``,
    ``wm = w m`` so that expected counts are one product each cycle. The transposed copies
    ``wxt``, ``wmt`` are C-contiguous: ``(J, N) @ (N, Q)`` runs 1.5–4× faster in OpenBLAS than
    the same product with a transposed operand, most of all when another process holds a core."""

    x: Float
    mask: Float | None
    w: Float
    wx: Float
    wm: Float | None
    wxt: Float
    wmt: Float | None  # None also when ``missing`` is kept instead
    # Sparse omissions (a few blanks on one form, the common case): the not-presented cells
    # ``z = 1 − m`` as a sparse matrix and its weighted transpose. Products with the mask are
    # then taken as ``Σ_j (1 − z_ij) v_j = Σ_j v_j − (z v)_i``: the dense mask products (an
    # ``N × J × Q`` product per E-step) shrink to the blanks. None when nothing is missing or
    # when too much is (forms by design): the dense products are then the cheaper ones.
    missing: sparse.csr_matrix | None = None
    wmissing_t: sparse.csr_matrix | None = None
    unit_weights: bool = True  # every w_i is 1: products skip the weighting

    @property
    def shape(self) -> tuple[int, int]:
        n_rows, n_cols = self.x.shape
        return n_rows, n_cols


def _prepare(responses: ArrayLike, weights: ArrayLike | None) -> _Data:
    y = np.array(responses, dtype=float)  # copy: never alias the caller's array
    if y.ndim != 2:
        raise ValueError(f"responses must be 2-D (n_examinees, n_items), got shape {y.shape}")
    if y.shape[0] == 0 or y.shape[1] == 0:
        raise ValueError(f"responses is empty: shape {y.shape}")
    observed = ~np.isnan(y)
    bad = observed & (y != 0.0) & (y != 1.0)
    if bad.any():
        cols = np.flatnonzero(bad.any(axis=0)).tolist()
        raise ValueError(f"responses must be 0, 1 or NaN (not presented); other values in columns {cols}")
    if weights is None:
        w = np.ones(y.shape[0])
    else:
        w = np.array(weights, dtype=float).reshape(-1)
        if w.shape[0] != y.shape[0]:
            raise ValueError(f"weights has {w.shape[0]} entries for {y.shape[0]} response rows")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("weights must be finite and non-negative")
    x = np.where(observed, y, 0.0)
    mask = None if observed.all() else observed.astype(float)
    if np.all(w == 1.0):
        wx, wm = x, mask
    else:
        wx = w[:, None] * x
        wm = None if mask is None else w[:, None] * mask
    missing = wmissing_t = None
    if mask is not None and (~observed).mean() <= _SPARSE_MISSING_SHARE:
        missing = sparse.csr_matrix((~observed).astype(float))
        wmissing_t = sparse.csr_matrix(missing.multiply(w[:, None]).T)
    return _Data(
        x=x,
        mask=mask,
        w=w,
        wx=wx,
        wm=wm,
        wxt=np.ascontiguousarray(wx.T),
        wmt=None if wm is None or missing is not None else np.ascontiguousarray(wm.T),
        missing=missing,
        wmissing_t=wmissing_t,
        unit_weights=bool(np.all(w == 1.0)),
    )


def _check_items(data: _Data) -> None:
    """Refuse items that carry no information: an EM fit would drift to ±∞ or NaN on them."""
    m = np.ones_like(data.x) if data.mask is None else data.mask
    n_obs = data.w @ m
    n_correct = data.w @ data.x
    empty = np.flatnonzero(n_obs <= 0).tolist()
    all_wrong = np.flatnonzero((n_obs > 0) & (n_correct <= 0)).tolist()
    all_right = np.flatnonzero((n_obs > 0) & (n_correct >= n_obs)).tolist()
    problems = []
    if empty:
        problems.append(f"no responses in columns {empty}")
    if all_wrong:
        problems.append(f"every response wrong in columns {all_wrong}")
    if all_right:
        problems.append(f"every response correct in columns {all_right}")
    if problems:
        raise ValueError("cannot calibrate items without variation: " + "; ".join(problems))


# --------------------------------------------------------------------------- item response kernels


def _log_p_q(z: Float, c: Float | None) -> tuple[Float, Float]:
    """``log P`` and ``log(1 − P)`` without overflow or log(0): ``1 − P = (1 − c) σ(−z)``."""
    log_q = special.log_expit(-z)
    if c is None:
        return special.log_expit(z), log_q
    log_c = np.log(c)
    log_1c = np.log1p(-c)
    return np.logaddexp(log_c, log_1c + special.log_expit(z)), log_1c + log_q


def _estep(data: _Data, nodes: Float, prior_w: Float, a: Float, d: Float, c: Float | None) -> tuple[Float, float]:
    """Posterior over the nodes for every examinee and the marginal log-likelihood.

    ``log L[i, q] = Σ_j x_ij (log P_jq − log Q_jq) + Σ_j m_ij log Q_jq``: two matrix products.
    Without a lower asymptote ``log P − log Q = a θ + d``, so the first product collapses to
    ``outer(X a, θ) + X d`` (the 2PL's sufficient statistic is ``Σ a_j x_ij``).

    Returns the posterior ``post[i, q]`` (rows sum to 1) and ``Σ_i w_i log Σ_q π_q L[i, q]``.
    """
    z = np.multiply.outer(nodes, a) + d  # (Q, J)
    log_p, log_q = _log_p_q(z, c)
    if c is None:
        ll = np.multiply.outer(data.x @ a, nodes)
        ll += (data.x @ d)[:, None]
    else:
        ll = data.x @ (log_p - log_q).T
    if data.mask is None:
        ll += (log_q.sum(axis=1) + np.log(prior_w))[None, :]
    elif data.missing is not None:
        ll += (log_q.sum(axis=1) + np.log(prior_w))[None, :]
        ll -= data.missing @ log_q.T
    else:
        ll += data.mask @ log_q.T
        ll += np.log(prior_w)[None, :]
    top = ll.max(axis=1, keepdims=True)
    ll -= top
    np.exp(ll, out=ll)
    total = ll.sum(axis=1)
    loglik = float(data.w @ (np.log(total) + top[:, 0]))
    ll /= total[:, None]
    return ll, loglik


def _expected_counts(data: _Data, post: Float) -> tuple[Float, Float]:
    """Expected correct ``r[q, j] = Σ_i w_i post_iq x_ij`` and presented ``n[q, j]`` counts at
    each node (``n`` is ``(Q, 1)`` when nothing is missing; it broadcasts)."""
    return (data.wxt @ post).T, _presented_counts(data, post)


def _presented_counts(data: _Data, post: Float) -> Float:
    """``n[q, j] = Σ_i w_i post_iq m_ij``; ``(Q, 1)`` when nothing is missing (it broadcasts)."""
    if data.mask is None:
        return (data.w @ post)[:, None]
    if data.wmissing_t is not None:
        return np.asarray((data.w @ post)[:, None] - (data.wmissing_t @ post).T, dtype=float)
    assert data.wmt is not None
    return np.asarray((data.wmt @ post).T, dtype=float)


# --------------------------------------------------------------------------- M-steps


def _mstep_logistic(r: Float, n: Float, nodes: Float, a: Float, d: Float, *, common_slope: bool) -> tuple[Float, Float]:
    """Maximise ``Σ_q r log P + (n − r) log Q`` for every item at once by Newton's method.

    Per item (2PL) the gradient is ``Σ_q (r − nP) [θ_q, 1]`` and the information
    ``Σ_q n P Q [θ_q², θ_q; θ_q, 1]``: a 2 × 2 system solved in closed form for all items.
    With one common slope the system is bordered (slope row + diagonal in d) and solved through
    its Schur complement. The slope is not bounded: a miskeyed item must come out negative.
    """
    a = a.copy()
    d = d.copy()
    q1 = nodes[:, None]
    q2 = (nodes**2)[:, None]
    for _ in range(_MSTEP_MAX_ITER):
        p = special.expit(q1 * a + d)
        resid = r - n * p
        wgt = n * p * (1.0 - p)
        ga = (resid * q1).sum(axis=0)
        gd = resid.sum(axis=0)
        haa = (wgt * q2).sum(axis=0)
        had = (wgt * q1).sum(axis=0)
        # Floors keep the solve finite when an extrapolated point made an item's curve a step
        # (P Q ≈ 0 at every node); the step cap below then bounds the move.
        hdd = np.maximum(wgt.sum(axis=0), 1e-300)
        if common_slope:
            schur = max(float(haa.sum() - (had**2 / hdd).sum()), 1e-300)
            step_a = (ga.sum() - (had * gd / hdd).sum()) / schur
            step_d = (gd - had * step_a) / hdd
            largest = max(abs(step_a), float(np.abs(step_d).max()))
            shrink = min(1.0, _MAX_STEP / largest) if largest > 0 else 1.0
            a += shrink * step_a
            d += shrink * step_d
        else:
            det = np.maximum(haa * hdd - had**2, 1e-300)
            step_a = (hdd * ga - had * gd) / det
            step_d = (haa * gd - had * ga) / det
            largest = np.maximum(np.abs(step_a), np.abs(step_d))
            shrink = np.minimum(1.0, _MAX_STEP / np.maximum(largest, 1e-300))
            a += shrink * step_a
            d += shrink * step_d
            largest = float(largest.max())
        if largest < _MSTEP_TOL:
            break
    return a, d


def _beta_log_density(c: Float, prior: tuple[Float, Float]) -> float:
    alpha, beta = prior
    return float(np.sum((alpha - 1.0) * np.log(c) + (beta - 1.0) * np.log1p(-c) - special.betaln(alpha, beta)))


def _item_objective_3pl(
    r: Float, n: Float, nodes: Float, a: Float, d: Float, g: Float, prior: tuple[Float, Float]
) -> Float:
    c = special.expit(g)
    log_p, log_q = _log_p_q(np.multiply.outer(nodes, a) + d, c)
    alpha, beta = prior
    prior_term = (alpha - 1.0) * np.log(c) + (beta - 1.0) * np.log1p(-c)
    return np.asarray((r * log_p + (n - r) * log_q).sum(axis=0) + prior_term, dtype=float)


def _mstep_3pl(
    r: Float, n: Float, nodes: Float, a: Float, d: Float, g: Float, prior: tuple[Float, Float]
) -> tuple[Float, Float, Float]:
    """MAP M-step of the 3PL: Fisher scoring on ``(a, d, γ = logit c)`` for all items at once,
    3 × 3 systems stacked, with step halving so every item's objective rises.

    Objective per item: ``Σ_q r log P + (n − r) log Q + (α − 1) log c + (β − 1) log(1 − c)``.
    Gradient ``Σ_q (r − nP) / (P Q) ∂P``; information ``Σ_q n ∂P ∂Pᵀ / (P Q)`` plus the prior's
    ``(α + β − 2) c (1 − c)`` on γ; ``∂P/∂a = (1 − c) s (1 − s) θ``, ``∂P/∂d = (1 − c) s (1 − s)``,
    ``∂P/∂γ = (1 − s) c (1 − c)`` with ``s = σ(a θ + d)``.
    """
    alpha, beta = prior
    a, d = a.copy(), d.copy()
    g = np.clip(g, -_LOGIT_C_BOUND, _LOGIT_C_BOUND)
    q1 = nodes[:, None]
    current = _item_objective_3pl(r, n, nodes, a, d, g, prior)
    for _ in range(_MSTEP_MAX_ITER):
        z = q1 * a + d
        s = special.expit(z)
        s_bar = special.expit(-z)
        c = special.expit(g)
        p = c + (1.0 - c) * s
        q = (1.0 - c) * s_bar
        pq = np.maximum(p * q, 1e-300)
        ds = (1.0 - c) * s * s_bar
        grads = (ds * q1, ds, s_bar * c * (1.0 - c))
        k = (r - n * p) / pq
        info_w = n / pq
        grad = np.stack([(k * gi).sum(axis=0) for gi in grads], axis=-1)  # (J, 3)
        grad[:, 2] += (alpha - 1.0) * (1.0 - c) - (beta - 1.0) * c
        info = np.empty((a.shape[0], 3, 3))
        for u in range(3):
            for v in range(u, 3):
                info[:, u, v] = info[:, v, u] = (info_w * grads[u] * grads[v]).sum(axis=0)
        info[:, 2, 2] += (alpha + beta - 2.0) * c * (1.0 - c)
        # A relative ridge keeps the solve defined where an extrapolated point made an item's
        # curve a step function (huge a: s (1 − s) ≈ 0 at every node); it does not move the
        # fixed point, only the path to it.
        diag = np.einsum("jii->ji", info)
        diag += 1e-10 * diag.max(axis=1, keepdims=True) + 1e-300
        step = np.linalg.solve(info, grad[..., None])[..., 0]
        step[~np.isfinite(step)] = 0.0
        largest = np.abs(step).max(axis=1)
        step *= np.minimum(1.0, _MAX_STEP / np.maximum(largest, 1e-300))[:, None]
        # Halve the step on items whose objective would fall (Fisher scoring is not Newton).
        scale = np.ones(a.shape[0])
        for _halving in range(30):
            trial = _item_objective_3pl(
                r, n, nodes, a + scale * step[:, 0], d + scale * step[:, 1], g + scale * step[:, 2], prior
            )
            worse = ~(trial >= current - 1e-12)
            if not worse.any():
                break
            scale = np.where(worse, scale * 0.5, scale)
        a += scale * step[:, 0]
        d += scale * step[:, 1]
        g = np.clip(g + scale * step[:, 2], -_LOGIT_C_BOUND, _LOGIT_C_BOUND)
        current = trial
        if float((np.abs(step) * scale[:, None]).max()) < _MSTEP_TOL:
            break
    return a, d, g


# --------------------------------------------------------------------------- observed information


def _mask_groups(data: _Data, post: Float) -> tuple[Float, Float]:
    """Distinct mask rows ``m_u`` and the posterior mass ``n_u[u, q] = Σ_{i∈u} w_i post_iq``.

    One group when nothing is missing; a handful with forms; at most n_examinees.
    """
    if data.mask is None:
        return np.ones((1, data.shape[1])), (data.w @ post)[None, :]
    packed = np.packbits(data.mask.astype(bool), axis=1)
    _, first, inverse = np.unique(packed, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(inverse[order]) != 0])
    n_u = np.add.reduceat(data.w[order, None] * post[order], starts, axis=0)
    return data.mask[first], n_u


def _presented_pair_terms(data: _Data, post: Float, p: Float, powers: list[Float]) -> Float:
    """``D_t[j, k] = Σ_q θ_q^t P_jq P_kq S_q[j, k]`` for t = 0, 1, 2, where
    ``S_q[j, k] = Σ_i w_i post_iq m_ij m_ik`` is the posterior mass at node q of the examinees
    presented both items j and k.

    Without missing data ``S_q`` is the node's whole mass. With sparse omissions
    (:class:`_Data`) it is ``N_q − Z_qj − Z_qk + C_qjk`` (``m = 1 − z``): the mass, the mass
    of the blanks of j and of k, and of the examinees with both blank, which only the pairs of
    blanks within a row contribute to (a few per examinee). Otherwise the sum runs over
    whichever is shorter: the distinct mask rows (a few with forms) or the nodes.
    """
    j = p.shape[1]
    d_t = np.zeros((3, j, j))
    if data.mask is None:
        mass = data.w @ post
        for t in range(3):
            d_t[t] = (p * (mass * powers[t])[:, None]).T @ p
        return d_t
    if data.missing is not None and data.wmissing_t is not None:
        mass = data.w @ post
        blank = np.asarray((data.wmissing_t @ post).T)  # (Q, J): Z_qj
        for t in range(3):
            d_t[t] = (p * (mass * powers[t])[:, None]).T @ p
            one_blank = (p * blank * powers[t][:, None]).T @ p
            d_t[t] -= one_blank + one_blank.T
        # C is linear in the examinees: taken over chunks of rows of at most _PAIR_CHUNK pairs
        # of blanks, so memory stays bounded however many blanks a long test has.
        missing = data.missing
        cum = np.cumsum(np.diff(missing.indptr).astype(np.int64) ** 2)
        start = 0
        while start < post.shape[0]:
            done = int(cum[start - 1]) if start else 0
            stop = max(start + 1, int(np.searchsorted(cum, done + _PAIR_CHUNK, side="right")))
            pair, rows = _blank_pairs(missing[start:stop], j)
            if pair.size:
                pair_ids, which = np.unique(pair, return_inverse=True)
                both = sparse.csr_matrix((data.w[start:stop][rows], (which.reshape(-1), rows)),
                                         shape=(pair_ids.shape[0], stop - start))
                both_mass = np.asarray(both @ post[start:stop]).T  # (Q, pairs): C_q of the pairs that occur
                jj, kk = np.divmod(pair_ids, j)
                pp = p[:, jj] * p[:, kk] * both_mass
                for t in range(3):
                    d_t[t][jj, kk] += powers[t] @ pp
            start = stop
        return d_t
    m_u, n_u = _mask_groups(data, post)
    if m_u.shape[0] <= post.shape[1]:
        for u in range(m_u.shape[0]):
            both_shown = np.outer(m_u[u], m_u[u])
            for t in range(3):
                d_t[t] += ((p * (n_u[u] * powers[t])[:, None]).T @ p) * both_shown
    else:
        for iq in range(post.shape[1]):
            pp = np.outer(p[iq], p[iq]) * ((m_u * n_u[:, iq : iq + 1]).T @ m_u)
            for t in range(3):
                d_t[t] += powers[t][iq] * pp
    return d_t


def _blank_pairs(missing: sparse.csr_matrix, n_items: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Every ordered pair (j, k) of blanks within one row, as ``j · n_items + k``, with its row."""
    indptr = missing.indptr.astype(np.int64)
    indices = missing.indices.astype(np.int64)
    counts = np.diff(indptr)
    sizes = counts**2
    rows = np.repeat(np.arange(counts.shape[0], dtype=np.int64), sizes)
    local = np.arange(int(sizes.sum()), dtype=np.int64) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    first, second = np.divmod(local, counts[rows])
    start = indptr[rows]
    return indices[start + first] * n_items + indices[start + second], rows


def _information_logistic(data: _Data, nodes: Float, prior_w: Float, a: Float, d: Float) -> Float:
    """Observed information of ``(a_1..a_J, d_1..d_J)`` for the 2PL by Louis' (1982) identity,
    exact for the quadrature likelihood::

        I = Σ_i w_i { E_i[−∇² log L_i] − E_i[s_i s_iᵀ] + E_i[s_i] E_i[s_i]ᵀ }

    with ``s_ij(θ) = m_ij (x_ij − P_j(θ)) [θ, 1]`` and expectations over examinee i's
    posterior. Because the score is polynomial in θ, the cross-item terms reduce to ``J × J``
    Gram products with the posterior moments ``E_i[θ^t]`` and ``E_i[θ^t P_j(θ)]`` (cost
    ``N J²``); only ``Σ_i w_i post_iq m_ij m_ik`` needs the node axis, and it depends on the
    mask pattern alone (one pattern without missing data).
    """
    post, _ = _estep(data, nodes, prior_w, a, d, None)
    x, w, m = data.x, data.w, data.mask
    j = a.shape[0]
    p = special.expit(np.multiply.outer(nodes, a) + d)  # (Q, J)
    wgt = np.broadcast_to(_presented_counts(data, post), p.shape) * p * (1.0 - p)  # complete-data weights
    powers = [np.ones_like(nodes), nodes, nodes**2]
    mu = post @ np.stack(powers, axis=1)  # (N, 3): E_i[θ^t]
    # v_t[i, j] = m_ij E_i[θ^t P_j(θ)]
    v = [post @ (p * qt[:, None]) if m is None else (post @ (p * qt[:, None])) * m for qt in powers]
    d_t = _presented_pair_terms(data, post, p, powers)

    def weighted(u: Float) -> Float:
        return u if data.unit_weights else u * w[:, None]

    # The three blocks of E[s sᵀ] − E[s] E[s]ᵀ, summed over examinees, with g_a = x μ_1 − v_1 and
    # g_d = x − v_0 (the posterior means of the scores) and S_t = Σ_i w_i E_i[θ^t s̃ s̃ᵀ]
    # (s̃_j = x_j − m_j P_j): g_aᵀWg_a − S_2, g_aᵀWg_d − S_1, g_dᵀWg_d − S_0. Expanded, the
    # products of x with itself cancel except one, leaving six N × J × J products instead of nine:
    #   aa = xᵀW(μ_1² − μ_2)x + xᵀW(v_2 − μ_1 v_1) + (…)ᵀ + v_1ᵀWv_1 − D_2
    #   ad = xᵀW(v_1 − μ_1 v_0) + v_1ᵀWv_0 − D_1,   dd = v_0ᵀWv_0 − D_0
    mu1 = mu[:, 1:2]
    cross_aa = x.T @ weighted(v[2] - mu1 * v[1])
    info = np.empty((2 * j, 2 * j))
    info[:j, :j] = x.T @ weighted(x * (mu1**2 - mu[:, 2:3])) + cross_aa + cross_aa.T + v[1].T @ weighted(v[1]) - d_t[2]
    info[:j, j:] = x.T @ weighted(v[1] - mu1 * v[0]) + v[1].T @ weighted(v[0]) - d_t[1]
    info[j:, :j] = info[:j, j:].T
    info[j:, j:] = v[0].T @ weighted(v[0]) - d_t[0]
    idx = np.arange(j)
    info[idx, idx] += (wgt * powers[2][:, None]).sum(axis=0)
    info[idx, idx + j] += (wgt * nodes[:, None]).sum(axis=0)
    info[idx + j, idx] += (wgt * nodes[:, None]).sum(axis=0)
    info[idx + j, idx + j] += wgt.sum(axis=0)
    return info


def _information_general(data: _Data, nodes: Float, prior_w: Float, a: Float, d: Float, c: Float | None) -> Float:
    """Observed information by Louis' identity for any lower asymptote (3PL): parameters
    ``(a, d, c)`` per item in blocks ``[a_1..a_J, d_1..d_J, c_1..c_J]`` (``c`` omitted if None).

    The score is ``s_ij(θ) = m_ij (x_ij − P_j) h_j(θ)`` with ``h = ∂P / (P Q)``, which is not
    polynomial in θ, so the cross-item term runs one ``J × J`` product per node (cost
    ``Q N J²``). Used for the 3PL, and in the tests to check the 2PL shortcut.
    """
    post, _ = _estep(data, nodes, prior_w, a, d, c)
    x, w = data.x, data.w
    xm = np.ones_like(x) if data.mask is None else data.mask
    r, n = _expected_counts(data, post)
    n = np.broadcast_to(n, r.shape)
    cc = np.zeros_like(a) if c is None else c
    q1 = nodes[:, None]
    z = q1 * a + d
    s = special.expit(z)
    s_bar = special.expit(-z)
    p = cc + (1.0 - cc) * s
    q = (1.0 - cc) * s_bar
    pq = np.maximum(p * q, 1e-150)  # u² below must not overflow on a degenerate item
    s1 = s * s_bar
    s2 = s1 * (1.0 - 2.0 * s)
    dp = [(1.0 - cc) * s1 * q1, (1.0 - cc) * s1]
    d2p = {(0, 0): (1.0 - cc) * s2 * q1**2, (0, 1): (1.0 - cc) * s2 * q1, (1, 1): (1.0 - cc) * s2}
    if c is not None:
        dp.append(s_bar)
        d2p[(0, 2)] = -s1 * q1
        d2p[(1, 2)] = -s1
        d2p[(2, 2)] = np.zeros_like(s1)
    k = len(dp)
    j = a.shape[0]
    u = 1.0 / pq
    resid = r - n * p
    coef = n * u + resid * (1.0 - 2.0 * p) * u**2
    complete = np.zeros((k, j, k, j))
    idx = np.arange(j)
    for (i1, i2), second in d2p.items():
        block = (coef * dp[i1] * dp[i2] - resid * u * second).sum(axis=0)
        complete[i1, idx, i2, idx] = block
        complete[i2, idx, i1, idx] = block
    h = np.stack([g * u for g in dp])  # (k, Q, J)
    n_nodes = nodes.shape[0]
    s_q = np.empty((n_nodes, j, j))
    for iq in range(n_nodes):
        e = x - xm * p[iq]
        s_q[iq] = e.T @ ((w * post[:, iq])[:, None] * e)
    ess = np.einsum("qjk,aqj,bqk->ajbk", s_q, h, h, optimize=True)
    g = np.hstack([x * (post @ h[t]) - xm * (post @ (p * h[t])) for t in range(k)])
    opg = g.T @ (w[:, None] * g)
    return np.asarray((complete - ess).reshape(k * j, k * j) + opg, dtype=float)


def _se_b(a: Float, d: Float, var_a: Float, var_d: Float, cov_ad: Float) -> Float:
    """Delta method for ``b = −d / a``: gradient ``(d / a², −1 / a)`` in ``(a, d)``."""
    with np.errstate(divide="ignore", invalid="ignore"):  # a == 0 exactly: b has no SE (inf)
        ga = d / a**2
        gd = -1.0 / a
        return np.sqrt(np.maximum(ga**2 * var_a + gd**2 * var_d + 2.0 * ga * gd * cov_ad, 0.0))


# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class _Estimates:
    """Slopes and the standard errors of a fit as :class:`CalibrationResult` reports them."""

    a: Float
    se_a: Float
    se_b: Float
    se_d: Float
    se_c: Float | None = None
    latent_sd: float = 1.0
    se_latent_sd: float | None = None


class _DichotomousModel:
    """What one model contributes to :func:`calibrate`; the EM loop itself is model-free.

    A model says where its free parameters sit in the flat vector that EM and SQUAREM move
    (:meth:`unpack`, :meth:`natural`, :meth:`parameter_names`), where EM starts (:meth:`start`),
    its M-step (:meth:`mstep`) and objective (:meth:`objective`), its observed information
    (:meth:`information`) and how the estimates and standard errors are read back
    (:meth:`estimates`). One subclass per model family; :data:`_MODELS` maps the names.
    """

    def __init__(self, name: str, n_items: int, c_prior: tuple[Float, Float]) -> None:
        self.name = name
        self.n_items = n_items
        self.c_prior = c_prior

    def unpack(self, x: Float) -> tuple[Float, Float, Float | None]:
        """Flat vector → (a, d, c or None)."""
        raise NotImplementedError

    def natural(self, x: Float) -> Float:
        """The parameters on the scale the convergence test uses."""
        return x

    def parameter_names(self) -> tuple[str, ...]:
        raise NotImplementedError

    def start(self, p: Float, a: Float) -> Float:
        """Starting vector from the clipped proportions correct ``p`` and the slopes ``a`` implied
        by the biserial item-rest correlations (:func:`_starting_moments`)."""
        raise NotImplementedError

    def mstep(self, r: Float, n: Float, nodes: Float, x: Float, a: Float, d: Float) -> Float:
        """The M-step from the point ``x`` (unpacked: ``a``, ``d``) given the expected counts."""
        raise NotImplementedError

    def log_prior(self, c: Float | None) -> float:
        """Log prior density of the parameters (only the 3PL has one)."""
        return 0.0

    def objective(self, loglik: float, c: Float | None) -> float:
        """What EM maximises: the marginal log-likelihood (plus the log prior, 3PL)."""
        return loglik

    def result_prior(self) -> tuple[Float, Float] | None:
        """The c prior as the result reports it (3PL only)."""
        return None

    def information(self, data: _Data, nodes: Float, prior_w: Float, a: Float, d: Float, c: Float | None) -> Float:
        """Observed information of the free parameters, in the order of :meth:`parameter_names`."""
        raise NotImplementedError

    def estimates(self, a: Float, d: Float, cov: Float) -> _Estimates:
        """Slopes and standard errors from the covariance of the free parameters."""
        raise NotImplementedError


class _CommonSlope(_DichotomousModel):
    """1PL: one slope shared by every item, ``θ ~ N(0, 1)``. Vector: ``[α, d_1 … d_J]``."""

    def unpack(self, x: Float) -> tuple[Float, Float, Float | None]:
        return np.full(self.n_items, x[0]), x[1:], None

    def parameter_names(self) -> tuple[str, ...]:
        return ("a", *_names("d", self.n_items))

    def start(self, p: Float, a: Float) -> Float:
        common = float(np.clip(np.mean(np.abs(a)), 0.3, 3.0))
        d = special.logit(p) * np.sqrt(1.0 + math.pi * common**2 / 8.0)
        return np.concatenate([[common], d])

    def mstep(self, r: Float, n: Float, nodes: Float, x: Float, a: Float, d: Float) -> Float:
        a_new, d_new = _mstep_logistic(r, n, nodes, a, d, common_slope=True)
        return np.concatenate([[a_new[0]], d_new])

    def information(self, data: _Data, nodes: Float, prior_w: Float, a: Float, d: Float, c: Float | None) -> Float:
        # a_j = α for every j: contract the 2PL information with that Jacobian.
        j = self.n_items
        info = _information_logistic(data, nodes, prior_w, a, d)
        jac = np.zeros((2 * j, j + 1))
        jac[:j, 0] = 1.0
        jac[j:, 1:] = np.eye(j)
        return np.asarray(jac.T @ info @ jac, dtype=float)

    def estimates(self, a: Float, d: Float, cov: Float) -> _Estimates:
        var = np.diag(cov)
        j = self.n_items
        se_b = _se_b(a, d, np.full(j, var[0]), var[1:], cov[0, 1:])
        return _Estimates(a=a, se_a=np.full(j, np.sqrt(var[0])), se_b=se_b, se_d=np.sqrt(var[1:]))


class _Rasch(_CommonSlope):
    """Rasch: the 1PL's likelihood re-read. ``θ' = α θ`` has SD α (reported as ``latent_sd``),
    and every slope becomes 1."""

    def parameter_names(self) -> tuple[str, ...]:
        return ("latent_sd", *_names("d", self.n_items))

    def estimates(self, a: Float, d: Float, cov: Float) -> _Estimates:
        var = np.diag(cov)
        se_d = np.sqrt(var[1:])
        return _Estimates(
            a=np.ones(self.n_items),
            se_a=np.zeros(self.n_items),
            se_b=se_d.copy(),
            se_d=se_d,
            latent_sd=float(a[0]),
            se_latent_sd=float(np.sqrt(var[0])),
        )


class _TwoPL(_DichotomousModel):
    """2PL: free ``a``, ``d``. Vector: ``[a_1 … a_J, d_1 … d_J]``."""

    def unpack(self, x: Float) -> tuple[Float, Float, Float | None]:
        j = self.n_items
        return x[:j], x[j:], None

    def parameter_names(self) -> tuple[str, ...]:
        return (*_names("a", self.n_items), *_names("d", self.n_items))

    def start(self, p: Float, a: Float) -> Float:
        d = special.logit(p) * np.sqrt(1.0 + math.pi * a**2 / 8.0)
        return np.concatenate([a, d])

    def mstep(self, r: Float, n: Float, nodes: Float, x: Float, a: Float, d: Float) -> Float:
        a_new, d_new = _mstep_logistic(r, n, nodes, a, d, common_slope=False)
        return np.concatenate([a_new, d_new])

    def information(self, data: _Data, nodes: Float, prior_w: Float, a: Float, d: Float, c: Float | None) -> Float:
        return _information_logistic(data, nodes, prior_w, a, d)

    def estimates(self, a: Float, d: Float, cov: Float) -> _Estimates:
        var = np.diag(cov)
        j = self.n_items
        idx = np.arange(j)
        se_b = _se_b(a, d, var[:j], var[j : 2 * j], cov[idx, idx + j])
        return _Estimates(a=a, se_a=np.sqrt(var[:j]), se_b=se_b, se_d=np.sqrt(var[j : 2 * j]))


class _ThreePL(_TwoPL):
    """3PL: free ``a``, ``d`` and ``c`` with a Beta prior on ``c`` (MAP for c). Vector:
    ``[a_1 … a_J, d_1 … d_J, γ_1 … γ_J]`` with ``γ = logit c``."""

    def __init__(self, name: str, n_items: int, c_prior: tuple[Float, Float]) -> None:
        if np.any(c_prior[0] < 1.0) or np.any(c_prior[1] < 1.0):
            raise ValueError("c_prior (alpha, beta) must both be ≥ 1 so the prior has a finite mode")
        super().__init__(name, n_items, c_prior)

    def unpack(self, x: Float) -> tuple[Float, Float, Float | None]:
        j = self.n_items
        return x[:j], x[j : 2 * j], special.expit(np.clip(x[2 * j :], -_LOGIT_C_BOUND, _LOGIT_C_BOUND))

    def natural(self, x: Float) -> Float:
        """c itself, not its logit."""
        j = self.n_items
        return np.concatenate([x[: 2 * j], special.expit(np.clip(x[2 * j :], -_LOGIT_C_BOUND, _LOGIT_C_BOUND))])

    def parameter_names(self) -> tuple[str, ...]:
        return (*super().parameter_names(), *_names("c", self.n_items))

    def start(self, p: Float, a: Float) -> Float:
        alpha, beta = self.c_prior
        c0 = np.clip((alpha - 1.0) / (alpha + beta - 2.0), 0.01, 0.5) * np.ones_like(p)
        p_star = np.clip((p - c0) / (1.0 - c0), 0.05, 0.95)
        a = np.where(a > 0.2, a, 0.2)  # a 3PL item with a non-positive slope is not identified
        d = special.logit(p_star) * np.sqrt(1.0 + math.pi * a**2 / 8.0)
        return np.concatenate([a, d, special.logit(c0)])

    def mstep(self, r: Float, n: Float, nodes: Float, x: Float, a: Float, d: Float) -> Float:
        g = x[2 * self.n_items :]
        a_new, d_new, g_new = _mstep_3pl(r, n, nodes, a, d, g, self.c_prior)
        return np.concatenate([a_new, d_new, g_new])

    def log_prior(self, c: Float | None) -> float:
        assert c is not None
        return _beta_log_density(c, self.c_prior)

    def objective(self, loglik: float, c: Float | None) -> float:
        return loglik + self.log_prior(c)

    def result_prior(self) -> tuple[Float, Float] | None:
        return self.c_prior

    def information(self, data: _Data, nodes: Float, prior_w: Float, a: Float, d: Float, c: Float | None) -> Float:
        # Posterior information: the prior's curvature on c is added to the likelihood's.
        assert c is not None
        j = self.n_items
        info = _information_general(data, nodes, prior_w, a, d, c)
        alpha, beta = self.c_prior
        idx = np.arange(2 * j, 3 * j)
        info[idx, idx] += (alpha - 1.0) / c**2 + (beta - 1.0) / (1.0 - c) ** 2
        return info

    def estimates(self, a: Float, d: Float, cov: Float) -> _Estimates:
        two = super().estimates(a, d, cov)
        se_c = np.sqrt(np.diag(cov)[2 * self.n_items :])
        return _Estimates(a=two.a, se_a=two.se_a, se_b=two.se_b, se_d=two.se_d, se_c=se_c)


_MODELS: dict[str, type[_DichotomousModel]] = {"rasch": _Rasch, "1pl": _CommonSlope, "2pl": _TwoPL, "3pl": _ThreePL}


def _names(letter: str, n_items: int) -> list[str]:
    return [f"{letter}[{j}]" for j in range(n_items)]


def _starting_moments(data: _Data) -> tuple[Float, Float]:
    """Proportions correct (clipped to [0.01, 0.99]) and slopes from the biserial item-rest
    correlation, the material of every model's starting values.

    ``a ≈ 1.702 ρ / √(1 − ρ²)`` (normal-ogive loading to logistic slope); the models then take
    ``d ≈ logit(p) √(1 + π a² / 8)`` (the logistic–normal convolution), so EM starts near the
    answer and a miskeyed item already starts with a negative slope.
    """
    x, w = data.x, data.w
    # Weighted moments over the rows where the item was presented, all as matrix-vector
    # products with the summed score S (no N × J temporaries).
    score = x.sum(axis=1)
    if data.mask is None or data.wm is None:
        n_obs = np.full(x.shape[1], w.sum())
        s1 = np.full(x.shape[1], w @ score)
        s2 = np.full(x.shape[1], w @ score**2)
    else:
        n_obs = w @ data.mask
        s1 = data.wm.T @ score
        s2 = data.wm.T @ score**2
    n_right = w @ x
    xs = data.wx.T @ score
    p = np.clip(n_right / n_obs, 0.01, 0.99)
    var_x = p * (1.0 - p)
    cov_xs = xs / n_obs - p * s1 / n_obs
    var_s = s2 / n_obs - (s1 / n_obs) ** 2
    # Item-rest correlation: the rest score is S − x.
    cov_xr = cov_xs - var_x
    var_r = np.maximum(var_s - 2.0 * cov_xs + var_x, 0.0)
    denom = np.sqrt(var_x * var_r)
    r_pb = np.divide(cov_xr, denom, out=np.zeros_like(cov_xr), where=denom > 0)
    z = special.ndtri(p)
    r_bis = np.clip(r_pb * np.sqrt(p * (1.0 - p)) / np.exp(-0.5 * z**2) * math.sqrt(2.0 * math.pi), -0.9, 0.9)
    a = np.clip(1.702 * r_bis / np.sqrt(1.0 - r_bis**2), -2.0, 3.0)
    return p, a


# --------------------------------------------------------------------------- public API


def calibrate(
    responses: ArrayLike,
    model: Model = "2pl",
    weights: ArrayLike | None = None,
    *,
    n_nodes: int = 61,
    theta_range: tuple[float, float] = (-6.0, 6.0),
    max_cycles: int = 500,
    tol: float = 1e-4,
    accelerate: bool = True,
    c_prior: tuple[float, float] | tuple[ArrayLike, ArrayLike] = (6.0, 16.0),
    standard_errors: bool = True,
    allow_few_nodes: bool = False,
    progress: ProgressCallback | None = None,
    progress_interval: float = PROGRESS_INTERVAL,
) -> CalibrationResult:
    """Calibrate dichotomous items by marginal maximum likelihood (Bock & Aitkin 1981, EM).

    Model (logistic metric)::

        P_j(θ) = c_j + (1 − c_j) σ(a_j θ + d_j),   σ(z) = 1 / (1 + e^−z),   b_j = −d_j / a_j

    ``"rasch"``: ``a = 1``, ``c = 0``, ability ``N(0, σ²)`` with σ free (reported as
    ``latent_sd``). ``"1pl"``: one common slope, ``θ ~ N(0, 1)`` (the same likelihood as the
    Rasch model: ``a_common = σ``). ``"2pl"``: free ``a``, ``d``; the slope is not bounded, so a
    miskeyed item shows a negative ``a``. ``"3pl"``: free ``a``, ``d``, ``c`` with a
    ``Beta(α, β)`` prior on ``c`` (MAP for c, ML for the rest).

    E-step: with nodes ``θ_q`` equally spaced on ``theta_range`` and weights
    ``π_q ∝ φ(θ_q)``, the posterior of examinee i is
    ``post_iq ∝ π_q Π_j P_jq^x_ij Q_jq^(m_ij − x_ij)`` (``m_ij = 0`` for not presented) and the
    expected counts are ``r = postᵀ diag(w) X`` and ``n = postᵀ diag(w) M`` — matrix products,
    no loop over examinees or items. M-step: every item at once, Newton (2 × 2 per item; bordered
    system for the common slope) or Fisher scoring with step halving (3PL). Acceleration:
    SQUAREM, which reaches the same fixed point in fewer cycles. Convergence: every parameter
    (``a``, ``d``, ``c``) changes by less than ``tol`` in one cycle (mirt's ``TOL``).

    Standard errors: observed information of the marginal likelihood by Louis' (1982) identity —
    the exact Hessian of the quadrature likelihood, not an approximation such as the cross-product
    of scores — inverted; ``se_b`` by the delta method. For the 3PL the prior's curvature on c
    is included (posterior information).

    Parameters
    ----------
    responses : array_like, shape (n_examinees, n_items)
        1 correct, 0 wrong, NaN not presented.
    model : {"rasch", "1pl", "2pl", "3pl"}
    weights : array_like, shape (n_examinees,), optional
        Frequency weights: row i stands for ``weights[i]`` examinees with that pattern.
    n_nodes, theta_range :
        Rectangular quadrature (mirt's default: 61 nodes on [−6, 6]).
    max_cycles : int
        EM cycles allowed (each E-step + M-step counts, extrapolations included); a
        :class:`ConvergenceWarning` is emitted if they run out.
    tol : float
        Convergence threshold on the largest parameter change in one cycle.
    accelerate : bool
        SQUAREM extrapolation (default); False runs plain EM.
    c_prior : (alpha, beta)
        Beta prior of the 3PL lower asymptote, scalars or per-item arrays, each ≥ 1. The
        default ``(6, 16)`` has its mode at 0.25, the chance level of a four-option item
        (BILOG-MG's ``α = 20p + 1, β = 20(1 − p) + 1``). Ignored for other models.
    standard_errors : bool
        Compute the observed information (cheap for 2PL-type models: a few ``N × J²``
        products; ``Q N J²`` for the 3PL).
    allow_few_nodes : bool
        Permit fewer than :data:`MIN_NODES` nodes (they bias long tests).
    progress : callable, optional
        ``progress(fraction)`` with the estimated share of the work done, a float in [0, 1]
        that never decreases (:class:`EmProgress`: from the convergence of the EM cycles,
        which take the first 90 % when standard errors are computed, else all of it). Called
        at most once per ``progress_interval`` seconds during EM, then exactly once with 1.0
        when the result is ready. It only observes: estimates are identical without it.
    progress_interval : float
        Least time between two ``progress`` calls, seconds (0: after every EM cycle).

    Returns
    -------
    CalibrationResult

    Raises
    ------
    ValueError
        Values other than 0/1/NaN, an item with no responses or with only correct / only wrong
        responses (the message names the column indices), a bad option.

    Notes
    -----
    The 3PL has a prior on c only (as asked of mirt with a Beta prior): with few examinees per
    item a slope can still run away toward a step function; that shows as a
    :class:`ConvergenceWarning` and a slope in the tens.

    References
    ----------
    Bock, R. D., & Aitkin, M. (1981). Psychometrika, 46, 443–459.
    Louis, T. A. (1982). Finding the observed information matrix when using the EM algorithm.
    JRSS B, 44, 226–233.
    Varadhan, R., & Roland, C. (2008). Simple and globally convergent methods for accelerating
    the convergence of any EM algorithm. Scandinavian Journal of Statistics, 35, 335–353.
    """
    lo, hi = _check_options(model, n_nodes, theta_range, max_cycles, tol, allow_few_nodes)
    data = _prepare(responses, weights)
    _check_items(data)
    spec = _MODELS[model](model, data.shape[1], _per_item_prior(c_prior, data.shape[1]))
    nodes, prior_w = standard_normal_quadrature(n_nodes, (lo, hi))
    meter = None
    if progress is not None:
        meter = EmProgress(progress, max_cycles=max_cycles, tol=tol, share=0.9 if standard_errors else 1.0,
                           interval=progress_interval)
    x, n_cycles, converged, history = _fit_em(
        spec, data, nodes, prior_w, max_cycles=max_cycles, tol=tol, accelerate=accelerate, meter=meter
    )
    if not converged:
        warnings.warn(
            f"EM stopped after {n_cycles} cycles with max parameter change {history.max_change[-1]:.3g} ≥ tol={tol}",
            ConvergenceWarning,
            stacklevel=2,
        )
    a, d, c = spec.unpack(x)
    _, loglik = _estep(data, nodes, prior_w, a, d, c)
    names = spec.parameter_names()
    if standard_errors:
        cov, se_method = _covariance(spec.information(data, nodes, prior_w, a, d, c))
    else:
        cov, se_method = np.full((len(names), len(names)), np.nan), "not computed"
    est = spec.estimates(a, d, cov)
    with np.errstate(divide="ignore", invalid="ignore"):
        # A slope of exactly 0 (only in degenerate, perfectly symmetric data) leaves b undefined.
        b = -d / est.a
    if meter is not None:
        meter.finish()
    return CalibrationResult(
        model=model,
        a=np.array(est.a, dtype=float),
        b=b,
        c=np.zeros(spec.n_items) if c is None else np.array(c),
        d=np.array(d, dtype=float),
        se_a=est.se_a,
        se_b=est.se_b,
        se_d=est.se_d,
        se_c=est.se_c,
        latent_sd=est.latent_sd,
        se_latent_sd=est.se_latent_sd,
        loglik=loglik,
        log_prior=spec.log_prior(c),
        n_cycles=n_cycles,
        converged=converged,
        history=history,
        covariance=cov,
        parameter_names=names,
        n_examinees=data.shape[0],
        sample_size=float(data.w.sum()),
        n_nodes=n_nodes,
        theta_range=(lo, hi),
        c_prior=spec.result_prior(),
        se_method=se_method,
    )


def _check_options(
    model: str, n_nodes: int, theta_range: tuple[float, float], max_cycles: int, tol: float, allow_few_nodes: bool
) -> tuple[float, float]:
    """Refuse bad options before any work; returns the θ range as floats."""
    if model not in _MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    if n_nodes < MIN_NODES and not allow_few_nodes:
        raise ValueError(f"n_nodes={n_nodes} < {MIN_NODES} biases long tests; pass allow_few_nodes=True to insist")
    if n_nodes < 5:
        raise ValueError("n_nodes must be at least 5")
    lo, hi = (float(theta_range[0]), float(theta_range[1]))
    if not lo < hi:
        raise ValueError(f"theta_range must be increasing, got {theta_range}")
    if max_cycles < 1 or not tol > 0:
        raise ValueError("max_cycles must be ≥ 1 and tol > 0")
    return lo, hi


def _per_item_prior(c_prior: tuple[float, float] | tuple[ArrayLike, ArrayLike], n_items: int) -> tuple[Float, Float]:
    """The Beta prior's (α, β) broadcast to one value per item."""
    return (
        np.broadcast_to(np.asarray(c_prior[0], dtype=float), (n_items,)).copy(),
        np.broadcast_to(np.asarray(c_prior[1], dtype=float), (n_items,)).copy(),
    )


def _fit_em(
    spec: _DichotomousModel,
    data: _Data,
    nodes: Float,
    prior_w: Float,
    *,
    max_cycles: int,
    tol: float,
    accelerate: bool,
    meter: EmProgress | None,
) -> tuple[Float, int, bool, ConvergenceHistory]:
    """The EM iteration of one model: E-step and expected counts here, M-step by the model."""

    def step(x: Float) -> tuple[Float, float, float]:
        a, d, c = spec.unpack(x)
        post, loglik = _estep(data, nodes, prior_w, a, d, c)
        r, n = _expected_counts(data, post)
        return spec.mstep(r, n, nodes, x, a, d), loglik, spec.objective(loglik, c)

    x0 = spec.start(*_starting_moments(data))
    return run_em(
        step, spec.natural, x0, max_cycles=max_cycles, tol=tol, accelerate=accelerate,
        on_cycle=None if meter is None else meter.cycle,
    )


def _covariance(info: Float) -> tuple[Float, str]:
    """Covariance of the free parameters from their observed information, and how it was got."""
    cov, positive_definite = invert_information(info)
    se_method = "observed information (Louis 1982), exact for the quadrature likelihood"
    if not positive_definite:
        se_method += "; not positive definite (solution not identified): SEs are NaN"
    return cov, se_method


def marginal_loglik(
    responses: ArrayLike,
    a: ArrayLike,
    d: ArrayLike,
    c: ArrayLike | None = None,
    *,
    weights: ArrayLike | None = None,
    latent_sd: float = 1.0,
    n_nodes: int = 61,
    theta_range: tuple[float, float] = (-6.0, 6.0),
) -> float:
    """Marginal log-likelihood of given slope-intercept parameters (mirt's ``logLik``)::

        ℓ = Σ_i w_i log Σ_q π_q Π_j P_j(σ θ_q)^x_ij Q_j(σ θ_q)^(m_ij − x_ij)

    with the same rectangular quadrature as :func:`calibrate`; ``σ = latent_sd`` (Rasch).
    """
    data = _prepare(responses, weights)
    nodes, prior_w = standard_normal_quadrature(n_nodes, theta_range)
    a_ = np.asarray(a, dtype=float) * float(latent_sd)
    c_ = None if c is None else np.asarray(c, dtype=float)
    if c_ is not None and not np.any(c_ > 0):
        c_ = None
    _, loglik = _estep(data, nodes, prior_w, a_, np.asarray(d, dtype=float), c_)
    return loglik


def load_pattern_table(name: Literal["LSAT6", "LSAT7"]) -> tuple[Float, Float]:
    """A classic pattern table shipped in ``grading/psychometrics/data``: ``(patterns, counts)`` with
    ``patterns`` of shape (32, 5) and ``counts`` (32,), for ``calibrate(patterns, weights=counts)``.

    LSAT6 (Thissen 1982; Bock & Lieberman 1970, section 6) and LSAT7 (Bock & Lieberman 1970,
    section 7), 1,000 examinees each; sources in the CSV headers.
    """
    if name not in ("LSAT6", "LSAT7"):
        raise ValueError(f"unknown pattern table {name!r}; have LSAT6, LSAT7")
    table = np.loadtxt(_DATA_DIR / f"{name.lower()}.csv", delimiter=",", comments="#", ndmin=2)
    return table[:, :-1], table[:, -1]
