"""Shared machinery of the EM calibrations (:mod:`grading.psychometrics.irt` for dichotomous items,
:mod:`grading.psychometrics.grm` for graded criteria) and the item-fit statistics (:mod:`grading.psychometrics.fit`):

* quadrature: equally spaced nodes with normal weights (:func:`normal_quadrature`,
  :func:`standard_normal_quadrature`);
* the EM loop with SQUAREM acceleration (:func:`run_em`) and its per-cycle record
  (:class:`ConvergenceHistory`, :class:`ConvergenceWarning`);
* progress reporting from the convergence of the cycles (:class:`EmProgress`);
* the inversion of an observed information matrix into a covariance
  (:func:`invert_information`).

A model module supplies the EM map (one E-step plus one M-step on a flat parameter vector) and
its information matrix; this module knows nothing about items or responses. Only numpy and
scipy are imported; no database, no Flask.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats

__all__ = [
    "PROGRESS_INTERVAL",
    "ConvergenceHistory",
    "ConvergenceWarning",
    "EmMap",
    "EmProgress",
    "ProgressCallback",
    "invert_information",
    "normal_quadrature",
    "run_em",
    "standard_normal_quadrature",
]

Float = NDArray[np.float64]

#: ``progress(fraction)``: estimated share of a calibration done, in [0, 1] (see :class:`EmProgress`).
ProgressCallback = Callable[[float], None]
#: Default least time between two progress callbacks, seconds.
PROGRESS_INTERVAL = 0.2
#: One EM cycle: ``x → (F(x), loglik(x), objective(x))`` (objective: loglik plus any log prior).
EmMap = Callable[[Float], tuple[Float, float, float]]


# --------------------------------------------------------------------------- quadrature


def normal_quadrature(
    n_nodes: int = 61, theta_range: tuple[float, float] = (-6.0, 6.0), mean: float = 0.0, sd: float = 1.0
) -> tuple[Float, Float]:
    """Equally spaced nodes with normalised normal-density weights (mirt's default rule):
    ``π_q = φ((θ_q − mean) / sd) / Σ_r φ((θ_r − mean) / sd)``.

    The rule of the GRM (:mod:`grading.psychometrics.grm`), item fit
    (:mod:`grading.psychometrics.fit`) and the S-X2 step of the calibration service.

    Returns
    -------
    nodes, weights : ndarray, shape (n_nodes,)
        ``weights`` sum to 1.
    """
    if n_nodes < 2:
        raise ValueError("n_nodes must be at least 2")
    nodes = np.linspace(theta_range[0], theta_range[1], n_nodes)
    w = stats.norm.pdf(nodes, loc=mean, scale=sd)
    return nodes, w / w.sum()


def standard_normal_quadrature(
    n_nodes: int = 61, theta_range: tuple[float, float] = (-6.0, 6.0)
) -> tuple[Float, Float]:
    """Equally spaced nodes with normalised N(0, 1) weights (mirt's rule for one factor),
    computed in log space: ``π_q = exp(−θ_q² / 2 − logsumexp_r(−θ_r² / 2))``.

    The rule of the dichotomous calibration (:func:`grading.psychometrics.irt.calibrate`,
    :func:`grading.psychometrics.irt.marginal_loglik`) and of :mod:`grading.psychometrics.ability`.
    It is the same rule as
    :func:`normal_quadrature` with mean 0 and SD 1, but the weights differ from that function's
    in the last bits (up to 2e-16); both are kept so that no estimate moves.
    """
    nodes = np.linspace(float(theta_range[0]), float(theta_range[1]), int(n_nodes))
    log_w = -0.5 * nodes**2
    log_w -= special.logsumexp(log_w)
    return nodes, np.exp(log_w)


# --------------------------------------------------------------------------- EM loop


class ConvergenceWarning(UserWarning):
    """EM stopped at ``max_cycles`` before every parameter change fell below ``tol``."""


@dataclass(frozen=True)
class ConvergenceHistory:
    """One entry per EM cycle (one E-step plus one M-step).

    Attributes
    ----------
    max_change : ndarray
        ``max |F(x) − x|`` over all parameters on the model's natural scale (e.g. the 3PL's c,
        not its logit), where ``F`` is the EM map and ``x`` the point the cycle started from.
    loglik : ndarray
        Marginal log-likelihood at ``x``.
    objective : ndarray
        ``loglik`` plus the log prior density of the parameters (the 3PL's c prior; equal to
        ``loglik`` without a prior). EM never decreases it between consecutive plain cycles.
    """

    max_change: Float
    loglik: Float
    objective: Float



def run_em(
    step: EmMap,
    natural: Callable[[Float], Float],
    x0: Float,
    *,
    max_cycles: int,
    tol: float,
    accelerate: bool,
    on_cycle: Callable[[int, float], None] | None = None,
) -> tuple[Float, int, bool, ConvergenceHistory]:
    """Iterate the EM map ``F`` (``step``), optionally with SQUAREM (Varadhan & Roland 2008,
    scheme S3, with their step-length safeguard and monotone back-tracking).

    Each SQUAREM round takes two EM cycles ``x1 = F(x0)``, ``x2 = F(x1)``, sets
    ``r = x1 − x0``, ``v = x2 − 2 x1 + x0``, ``α = −‖r‖ / ‖v‖`` clamped to ``[−step_max, −1]``
    and jumps to ``x' = x0 − 2 α r + α² v``, then applies one more cycle from ``x'``. ``α = −1``
    gives ``x' = x2``, i.e. plain EM; ``step_max`` starts at 1 and grows fourfold whenever the
    clamp binds, so the extrapolation earns its length. If the objective at ``x'`` is below
    that at ``x0`` (or not finite), α moves halfway back to −1. Convergence:
    ``max |F(x) − x| < tol`` after any cycle.

    ``on_cycle(n_cycles, change)``, if given, is called after every cycle with the cycles used
    so far and that cycle's ``max |F(x) − x|`` (an observer: it cannot change the iteration).
    """
    changes: list[float] = []
    logliks: list[float] = []
    objectives: list[float] = []

    def cycle(x: Float) -> tuple[Float, float, float]:
        x_new, loglik, objective = step(x)
        change = float(np.max(np.abs(natural(x_new) - natural(x))))
        if not np.isfinite(change):
            change = math.inf
        changes.append(change)
        logliks.append(loglik)
        objectives.append(objective)
        if on_cycle is not None:
            on_cycle(len(changes), change)
        return x_new, objective, change

    def history() -> ConvergenceHistory:
        return ConvergenceHistory(np.array(changes), np.array(logliks), np.array(objectives))

    step_max = 1.0
    x = x0
    while len(changes) < max_cycles:
        x1, obj0, change = cycle(x)
        if change < tol:
            return x1, len(changes), True, history()
        if not accelerate or len(changes) >= max_cycles:
            x = x1
            continue
        x2, _, change = cycle(x1)
        if change < tol:
            return x2, len(changes), True, history()
        r = x1 - x
        v = x2 - x1 - r
        vv = float(v @ v)
        if vv == 0.0 or len(changes) >= max_cycles:
            x = x2
            continue
        alpha = max(min(-math.sqrt(float(r @ r) / vv), -1.0), -step_max)
        if alpha == -step_max:
            step_max *= 4.0
        while True:
            x_jump = x2 if alpha == -1.0 else x - 2.0 * alpha * r + alpha**2 * v
            x3, obj_jump, change = cycle(x_jump)
            if alpha == -1.0 or obj_jump >= obj0 - 1e-10 or len(changes) >= max_cycles:
                break
            alpha = (alpha - 1.0) / 2.0
            if alpha > -1.01:
                alpha = -1.0
        if not np.all(np.isfinite(x3)):
            x = x2
            continue
        if change < tol:
            return x3, len(changes), True, history()
        x = x3
    return x, len(changes), False, history()


# --------------------------------------------------------------------------- progress


class EmProgress:
    """Progress of an EM calibration as a non-decreasing estimated fraction done, throttled.

    EM converges linearly: the log of the largest parameter change per cycle falls roughly in a
    straight line from its first value toward ``log tol``. After cycle ``k`` with change ``δ_k``
    the estimate is ``share · max(log(δ_1 / δ_k) / log(δ_1 / tol), k / max_cycles)``, clipped
    below ``share`` and never decreasing (SQUAREM's extrapolations make single changes jump
    about). ``share`` leaves the rest of the scale for the work after EM (standard errors);
    :meth:`finish` reports exactly 1.

    ``callback(fraction)`` is called at most once per ``interval`` seconds of wall time
    (the first time ``interval`` after construction), so a fast EM does not flood a caller that
    writes the progress to a database; ``interval=0`` reports every cycle. The observer reads
    only the cycle count and the change, so results are the same with or without it.
    """

    def __init__(self, callback: ProgressCallback, *, max_cycles: int, tol: float, share: float = 1.0,
                 interval: float = PROGRESS_INTERVAL, clock: Callable[[], float] = time.monotonic) -> None:
        self._callback = callback
        self._max_cycles = max_cycles
        self._log_tol = math.log(tol)
        self._share = share
        self._interval = interval
        self._clock = clock
        self._last_call = clock()
        self._first_log_change: float | None = None
        self.fraction = 0.0

    def cycle(self, n_cycles: int, change: float) -> None:
        """``run_em``'s ``on_cycle`` hook."""
        if math.isfinite(change) and change > 0:
            log_change = math.log(change)
            if self._first_log_change is None:
                self._first_log_change = log_change
            span = self._first_log_change - self._log_tol
            by_change = (self._first_log_change - log_change) / span if span > 0 else 0.0
        else:
            by_change = 0.0 if change != 0 else 1.0
        estimate = min(max(by_change, n_cycles / self._max_cycles), 1.0) * self._share
        # Stay strictly below the share until EM has finished (finish() reports the end).
        self.fraction = max(self.fraction, min(estimate, self._share * (1.0 - 1e-9)))
        now = self._clock()
        if now - self._last_call >= self._interval:
            self._last_call = now
            self._callback(self.fraction)

    def finish(self) -> None:
        """Report 1.0 (always, regardless of the interval)."""
        self.fraction = 1.0
        self._callback(1.0)


# --------------------------------------------------------------------------- information


def invert_information(info: Float) -> tuple[Float, bool]:
    """Covariance = inverse of an information matrix by Cholesky, and whether it was positive
    definite (if not, a NaN matrix: the solution is not identified)."""
    try:
        chol = np.linalg.cholesky(info)
    except np.linalg.LinAlgError:
        return np.full_like(info, np.nan), False
    inv_chol = np.linalg.inv(chol)
    return inv_chol.T @ inv_chol, True
