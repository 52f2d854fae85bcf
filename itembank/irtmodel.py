"""Item response functions in the logistic metric (no D = 1.7), shared by assembly (itembank)
and calibration (grading).

``P(θ) = c + (1 − c) / (1 + exp(−a (θ − b)))``; slope-intercept form ``a θ + d`` with
``b = −d / a``. Arrays broadcast: ``theta`` of shape (Q,) against item parameters of shape
(J,) gives (Q, J).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

Float = NDArray[np.float64]


def _grid(theta: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike | None) -> tuple[Float, Float, Float, Float]:
    t = np.asarray(theta, dtype=float)[..., None]
    a_ = np.asarray(a, dtype=float)
    b_ = np.asarray(b, dtype=float)
    c_ = np.zeros_like(a_) if c is None else np.asarray(c, dtype=float)
    return t, a_, b_, c_


def prob(theta: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike | None = None) -> Float:
    """Probability of a correct response, shape ``theta.shape + a.shape``."""
    t, a_, b_, c_ = _grid(theta, a, b, c)
    return c_ + (1.0 - c_) / (1.0 + np.exp(-a_ * (t - b_)))


def information(theta: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike | None = None) -> Float:
    """Item information. 2PL: ``a² P Q``; 3PL: ``a² (Q / P) ((P − c) / (1 − c))²``."""
    t, a_, b_, c_ = _grid(theta, a, b, c)
    p = c_ + (1.0 - c_) / (1.0 + np.exp(-a_ * (t - b_)))
    q = 1.0 - p
    return a_**2 * (q / p) * ((p - c_) / (1.0 - c_)) ** 2


def test_information(theta: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike | None = None) -> Float:
    """Sum of item information over the last axis."""
    total: Float = information(theta, a, b, c).sum(axis=-1)
    return total


# Not a pytest test, despite the name.
test_information.__test__ = False  # type: ignore[attr-defined]


def difficulty_to_b(p_correct: ArrayLike) -> Float:
    """A rough a-priori b from an expected proportion correct (a = 1, N(0, 1) ability):
    used for assembly before any calibration exists."""
    p = np.clip(np.asarray(p_correct, dtype=float), 0.02, 0.98)
    b: Float = -np.log(p / (1.0 - p)) * np.sqrt(1.0 + np.pi / 8.0)  # probit-logit correction for N(0,1)
    return b
