r"""Linking (等值/链接) a new calibration onto the bank scale through common (anchor) items.

The new form's scale (*source*) maps onto the bank scale (*target*) by

.. math:: \theta^* = A\theta + B, \quad b^* = A b + B, \quad a^* = a / A, \quad c^* = c

Constants come from the anchor items' two sets of estimates: mean/sigma, mean/mean, or the
characteristic-curve methods of Haebara and Stocking–Lord, which minimise over a θ grid the
squared difference of item (Haebara) or test (Stocking–Lord) characteristic curves. Fixed-anchor
linking — "hold the anchors at their bank values, estimate the rest" — is provided by
:func:`link_to_bank` for estimates obtained in a free calibration.

Logistic metric, curves from :func:`itembank.irtmodel.prob`.

References
----------
Kolen, M. J., & Brennan, R. L. (2014). *Test equating, scaling, and linking* (3rd ed.), ch. 6.
Haebara, T. (1980). Equating logistic ability scales by a weighted least squares method.
Stocking, M. L., & Lord, F. M. (1983). Developing a common metric in item response theory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special, stats

from itembank.irtmodel import prob

Float = NDArray[np.float64]
Int = NDArray[np.int64]
Bool = NDArray[np.bool_]

LinkingMethod = Literal["mean_sigma", "mean_mean", "haebara", "stocking_lord"]

__all__ = [
    "FixedAnchorLinking",
    "ItemParameters",
    "LinkingConstants",
    "LinkingMethod",
    "haebara",
    "link_to_bank",
    "linking_constants",
    "mean_mean",
    "mean_sigma",
    "stocking_lord",
    "transform_parameters",
    "transform_theta",
]


@dataclass(frozen=True)
class LinkingConstants:
    """``θ_target = A · θ_source + B``.

    Attributes
    ----------
    A, B : float
        Slope and intercept of the scale transformation.
    method : str
        How they were obtained.
    criterion : float
        Minimised loss for the characteristic-curve methods (NaN otherwise).
    converged : bool
        Optimiser success (always True for the moment methods).
    """

    A: float  # the literature's name for the slope
    B: float  # and for the intercept
    method: str
    criterion: float = math.nan
    converged: bool = True

    @classmethod
    def identity(cls) -> LinkingConstants:
        return cls(A=1.0, B=0.0, method="identity")


@dataclass(frozen=True)
class ItemParameters:
    """Dichotomous item parameters (logistic metric), each of shape ``(n_items,)``."""

    a: Float
    b: Float
    c: Float


@dataclass(frozen=True)
class FixedAnchorLinking:
    """A new form placed on the bank scale.

    Attributes
    ----------
    constants : LinkingConstants
        Transformation estimated from the anchors that were kept.
    parameters : ItemParameters
        All new-form items on the bank scale; anchors carry their bank values.
    is_anchor : ndarray of bool, shape (n_new_items,)
    anchors_used : ndarray of bool, shape (n_new_items,)
        Anchors that defined the constants (the rest were dropped as drifting).
    anchor_delta_b : ndarray of float, shape (n_new_items,)
        For anchors: linked new-form ``b`` minus bank ``b``; NaN for non-anchors.
    """

    constants: LinkingConstants
    parameters: ItemParameters
    is_anchor: Bool
    anchors_used: Bool
    anchor_delta_b: Float


# --------------------------------------------------------------------------- transformations


def transform_theta(constants: LinkingConstants, theta: ArrayLike) -> Float:
    """``θ* = A θ + B``."""
    return constants.A * np.asarray(theta, dtype=float) + constants.B


def transform_parameters(
    constants: LinkingConstants, a: ArrayLike, b: ArrayLike, c: ArrayLike | None = None
) -> ItemParameters:
    r"""Put source-scale item parameters on the target scale.

    .. math:: a^* = a / A, \quad b^* = A b + B, \quad c^* = c

    Parameters
    ----------
    constants : LinkingConstants
    a, b : array_like, shape (n_items,)
    c : array_like, shape (n_items,), optional
        Default 0.

    Returns
    -------
    ItemParameters
    """
    a_ = np.asarray(a, dtype=float)
    b_ = np.asarray(b, dtype=float)
    c_ = np.zeros_like(a_) if c is None else np.broadcast_to(np.asarray(c, dtype=float), a_.shape).copy()
    return ItemParameters(a=a_ / constants.A, b=constants.A * b_ + constants.B, c=c_)


# --------------------------------------------------------------------------- moment methods


def _vector(name: str, v: ArrayLike, n: int | None = None) -> Float:
    arr = np.asarray(v, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D")
    if n is not None and arr.size != n:
        raise ValueError(f"{name} has {arr.size} values, expected {n}")
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    return arr


def mean_sigma(b_source: ArrayLike, b_target: ArrayLike) -> LinkingConstants:
    r"""Mean/sigma linking from anchor difficulties.

    .. math:: A = \sigma(b_T) / \sigma(b_S), \qquad B = \mu(b_T) - A\,\mu(b_S)

    Parameters
    ----------
    b_source : array_like, shape (n_anchors,)
        Anchor difficulties on the new-form scale.
    b_target : array_like, shape (n_anchors,)
        The same anchors' difficulties on the bank scale.
    """
    bs = _vector("b_source", b_source)
    bt = _vector("b_target", b_target, bs.size)
    if bs.size < 2:
        raise ValueError("mean/sigma needs at least 2 anchors")
    sd_s = float(np.std(bs))
    if sd_s == 0:
        raise ValueError("anchor difficulties have no spread")
    slope = float(np.std(bt)) / sd_s
    return LinkingConstants(A=slope, B=float(np.mean(bt) - slope * np.mean(bs)), method="mean_sigma")


def mean_mean(a_source: ArrayLike, b_source: ArrayLike, a_target: ArrayLike, b_target: ArrayLike) -> LinkingConstants:
    r"""Mean/mean linking from anchor discriminations and difficulties.

    .. math:: A = \mu(a_S) / \mu(a_T), \qquad B = \mu(b_T) - A\,\mu(b_S)
    """
    a_s = _vector("a_source", a_source)
    n = a_s.size
    b_s = _vector("b_source", b_source, n)
    a_t = _vector("a_target", a_target, n)
    b_t = _vector("b_target", b_target, n)
    if n < 1 or float(np.mean(a_t)) <= 0:
        raise ValueError("mean/mean needs anchors with positive mean discrimination")
    slope = float(np.mean(a_s)) / float(np.mean(a_t))
    return LinkingConstants(A=slope, B=float(np.mean(b_t) - slope * np.mean(b_s)), method="mean_mean")


# --------------------------------------------------------------------------- characteristic curves


def _grid(theta: ArrayLike | None, weights: ArrayLike | None) -> tuple[Float, Float]:
    if theta is None:
        q = np.linspace(-4.0, 4.0, 41)
        w = stats.norm.pdf(q) if weights is None else np.asarray(weights, dtype=float)
    else:
        q = np.asarray(theta, dtype=float)
        w = np.ones_like(q) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != q.shape:
        raise ValueError("weights must match theta")
    return q, w / w.sum()


def _curve_loss(
    params: Float,
    q: Float,
    w: Float,
    source: ItemParameters,
    p_target: Float,
    test_curve: bool,
) -> tuple[float, Float]:
    """Loss and gradient in (A, B) for Haebara (item curves) or Stocking–Lord (test curve)."""
    slope, shift = float(params[0]), float(params[1])
    a, b, c = source.a, source.b, source.c
    z = (a / slope) * (q[:, None] - slope * b - shift)  # (Q, J): source items on target scale
    sig = special.expit(z)  # a small A makes |z| huge: expit does not overflow
    p_star = c + (1.0 - c) * sig
    dp_dz = (1.0 - c) * sig * (1.0 - sig)
    dz_da = -(a / slope**2) * (q[:, None] - shift)
    dz_db = np.broadcast_to(-a / slope, z.shape)
    dp_da, dp_db = dp_dz * dz_da, dp_dz * dz_db
    if test_curve:
        diff = p_target.sum(axis=1) - p_star.sum(axis=1)  # (Q,)
        loss = float(w @ diff**2)
        grad = np.array([-2.0 * w @ (diff * dp_da.sum(axis=1)), -2.0 * w @ (diff * dp_db.sum(axis=1))])
    else:
        diff = p_target - p_star  # (Q, J)
        loss = float(w @ (diff**2).sum(axis=1))
        grad = np.array([-2.0 * w @ (diff * dp_da).sum(axis=1), -2.0 * w @ (diff * dp_db).sum(axis=1)])
    return loss, grad


def _characteristic_curve(
    method: Literal["haebara", "stocking_lord"],
    a_source: ArrayLike,
    b_source: ArrayLike,
    a_target: ArrayLike,
    b_target: ArrayLike,
    c_source: ArrayLike | None,
    c_target: ArrayLike | None,
    theta: ArrayLike | None,
    weights: ArrayLike | None,
    start: LinkingConstants | None,
) -> LinkingConstants:
    a_s = _vector("a_source", a_source)
    n = a_s.size
    if n < 1:
        raise ValueError("need at least one anchor")
    b_s = _vector("b_source", b_source, n)
    a_t = _vector("a_target", a_target, n)
    b_t = _vector("b_target", b_target, n)
    c_s = np.zeros(n) if c_source is None else _vector("c_source", c_source, n)
    c_t = np.zeros(n) if c_target is None else _vector("c_target", c_target, n)
    q, w = _grid(theta, weights)
    source = ItemParameters(a=a_s, b=b_s, c=c_s)
    p_target = prob(q, a_t, b_t, c_t)
    if start is None:
        # Mean/sigma is a good start and needs no optimiser; fall back to identity when it fails.
        start = mean_sigma(b_s, b_t) if n >= 2 and np.std(b_s) > 0 else LinkingConstants.identity()
    x0 = np.array([max(start.A, 1e-3), start.B])
    res = optimize.minimize(
        _curve_loss,
        x0,
        args=(q, w, source, p_target, method == "stocking_lord"),
        jac=True,
        method="L-BFGS-B",
        bounds=[(1e-3, None), (None, None)],
        options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 500},
    )
    return LinkingConstants(
        A=float(res.x[0]), B=float(res.x[1]), method=method, criterion=float(res.fun), converged=bool(res.success)
    )


def haebara(
    a_source: ArrayLike,
    b_source: ArrayLike,
    a_target: ArrayLike,
    b_target: ArrayLike,
    c_source: ArrayLike | None = None,
    c_target: ArrayLike | None = None,
    *,
    theta: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    start: LinkingConstants | None = None,
) -> LinkingConstants:
    r"""Haebara linking: match the anchors' item characteristic curves.

    .. math:: (A, B) = \arg\min \sum_q w_q \sum_j \bigl[P_j(\theta_q; a_{Tj}, b_{Tj}, c_{Tj})
              - P_j(\theta_q; a_{Sj}/A,\, A b_{Sj} + B,\, c_{Sj})\bigr]^2

    over a θ grid on the target scale, by L-BFGS-B with the analytic gradient, started from
    mean/sigma.

    Parameters
    ----------
    a_source, b_source, c_source : array_like, shape (n_anchors,)
        Anchor estimates on the new-form scale (``c`` default 0).
    a_target, b_target, c_target : array_like, shape (n_anchors,)
        The anchors' bank parameters.
    theta : array_like, optional
        Grid; default 41 points on [−4, 4].
    weights : array_like, optional
        Grid weights; default N(0, 1) density on the default grid, uniform on a given grid.
    start : LinkingConstants, optional
        Starting value; default mean/sigma.

    Returns
    -------
    LinkingConstants
    """
    return _characteristic_curve(
        "haebara", a_source, b_source, a_target, b_target, c_source, c_target, theta, weights, start
    )


def stocking_lord(
    a_source: ArrayLike,
    b_source: ArrayLike,
    a_target: ArrayLike,
    b_target: ArrayLike,
    c_source: ArrayLike | None = None,
    c_target: ArrayLike | None = None,
    *,
    theta: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    start: LinkingConstants | None = None,
) -> LinkingConstants:
    r"""Stocking–Lord linking: match the anchors' test characteristic curve.

    .. math:: (A, B) = \arg\min \sum_q w_q \Bigl[\sum_j P_j(\theta_q; a_{Tj}, b_{Tj}, c_{Tj})
              - \sum_j P_j(\theta_q; a_{Sj}/A,\, A b_{Sj} + B,\, c_{Sj})\Bigr]^2

    Parameters as in :func:`haebara`.
    """
    return _characteristic_curve(
        "stocking_lord", a_source, b_source, a_target, b_target, c_source, c_target, theta, weights, start
    )


def linking_constants(
    method: LinkingMethod,
    a_source: ArrayLike,
    b_source: ArrayLike,
    a_target: ArrayLike,
    b_target: ArrayLike,
    c_source: ArrayLike | None = None,
    c_target: ArrayLike | None = None,
) -> LinkingConstants:
    """Constants by the named method (default grids for the curve methods)."""
    if method == "mean_sigma":
        return mean_sigma(b_source, b_target)
    if method == "mean_mean":
        return mean_mean(a_source, b_source, a_target, b_target)
    if method == "haebara":
        return haebara(a_source, b_source, a_target, b_target, c_source, c_target)
    if method == "stocking_lord":
        return stocking_lord(a_source, b_source, a_target, b_target, c_source, c_target)
    raise ValueError(f"unknown linking method {method!r}")


# --------------------------------------------------------------------------- fixed anchors


def link_to_bank(
    new_a: ArrayLike,
    new_b: ArrayLike,
    anchor_index: ArrayLike,
    bank_a: ArrayLike,
    bank_b: ArrayLike,
    new_c: ArrayLike | None = None,
    bank_c: ArrayLike | None = None,
    *,
    method: LinkingMethod = "stocking_lord",
    drift_threshold: float | None = None,
    max_rounds: int = 10,
) -> FixedAnchorLinking:
    r"""Place a freely calibrated new form on the bank scale, anchors held at bank values.

    The anchors' new-form estimates and bank parameters give (A, B) by ``method``; the
    non-anchor items are transformed (:func:`transform_parameters`) and the anchors keep their
    bank parameters — the result a fixed-anchor calibration aims at, without re-running one.

    With ``drift_threshold`` set, anchors whose linked difficulty differs from the bank's by
    more than the threshold (:math:`|A b_{new} + B - b_{bank}|`) are dropped one at a time
    (largest first) and the constants re-estimated, until none exceeds it or ``max_rounds``;
    dropped anchors are then treated like new items (transformed, not held).

    Parameters
    ----------
    new_a, new_b, new_c : array_like, shape (n_new_items,)
        Free calibration of the new form (``c`` default 0).
    anchor_index : array_like of int, shape (n_anchors,)
        Positions of the anchors within the new form.
    bank_a, bank_b, bank_c : array_like, shape (n_anchors,)
        The anchors' bank parameters, in ``anchor_index`` order.
    method : {"stocking_lord", "haebara", "mean_sigma", "mean_mean"}
    drift_threshold : float, optional
        Drop drifting anchors as described; default keep all.
    max_rounds : int, default 10

    Returns
    -------
    FixedAnchorLinking
    """
    a_n = _vector("new_a", new_a)
    n_items = a_n.size
    b_n = _vector("new_b", new_b, n_items)
    c_n = np.zeros(n_items) if new_c is None else _vector("new_c", new_c, n_items)
    idx = np.asarray(anchor_index, dtype=np.int64)
    if idx.ndim != 1 or idx.size == 0:
        raise ValueError("anchor_index must list at least one anchor")
    if np.unique(idx).size != idx.size or idx.min() < 0 or idx.max() >= n_items:
        raise ValueError("anchor_index must be distinct positions within the new form")
    a_bank = _vector("bank_a", bank_a, idx.size)
    b_bank = _vector("bank_b", bank_b, idx.size)
    c_bank = np.zeros(idx.size) if bank_c is None else _vector("bank_c", bank_c, idx.size)

    keep = np.ones(idx.size, dtype=bool)
    minimum = 2 if method == "mean_sigma" else 1
    for round_ in range(max_rounds + 1):
        k = idx[keep]
        constants = linking_constants(method, a_n[k], b_n[k], a_bank[keep], b_bank[keep], c_n[k], c_bank[keep])
        delta = constants.A * b_n[idx] + constants.B - b_bank
        if drift_threshold is None or round_ == max_rounds:
            break
        over = keep & (np.abs(delta) > drift_threshold)
        if not over.any() or keep.sum() - 1 < minimum:
            break
        # Drop only the worst anchor per round: one drifting anchor distorts (A, B) and can make
        # sound anchors look like they drift too.
        keep[np.flatnonzero(over)[np.argmax(np.abs(delta[over]))]] = False

    linked = transform_parameters(constants, a_n, b_n, c_n)
    a_out, b_out, c_out = linked.a.copy(), linked.b.copy(), linked.c.copy()
    held = idx[keep]
    a_out[held], b_out[held], c_out[held] = a_bank[keep], b_bank[keep], c_bank[keep]
    is_anchor = np.zeros(n_items, dtype=bool)
    is_anchor[idx] = True
    used = np.zeros(n_items, dtype=bool)
    used[held] = True
    anchor_delta = np.full(n_items, np.nan)
    anchor_delta[idx] = delta
    return FixedAnchorLinking(
        constants=constants,
        parameters=ItemParameters(a=a_out, b=b_out, c=c_out),
        is_anchor=is_anchor,
        anchors_used=used,
        anchor_delta_b=anchor_delta,
    )
