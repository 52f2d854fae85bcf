"""Item parameter drift (参数漂移) between two calibrations of the same items.

The later calibration is first put on the earlier (bank) scale with linking constants from
:mod:`grading.psychometrics.linking`; drift is then the per-item difference of the linked parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from grading.psychometrics.linking import LinkingConstants, transform_parameters

Float = NDArray[np.float64]
Bool = NDArray[np.bool_]

__all__ = ["ParameterDrift", "parameter_drift"]


@dataclass(frozen=True)
class ParameterDrift:
    """Per-item drift, each array of shape ``(n_items,)``.

    Attributes
    ----------
    delta_b : ndarray of float
        ``b_new* − b_old`` (new calibration linked to the old scale).
    delta_a : ndarray of float
        ``a_new* − a_old``.
    flagged : ndarray of bool
        ``|Δb| > threshold_b``, or ``|Δa| > threshold_a`` when that is set.
    threshold_b : float
    threshold_a : float or None
    constants : LinkingConstants
        The transformation applied to the new calibration.
    """

    delta_b: Float
    delta_a: Float
    flagged: Bool
    threshold_b: float
    threshold_a: float | None
    constants: LinkingConstants


def parameter_drift(
    a_old: ArrayLike,
    b_old: ArrayLike,
    a_new: ArrayLike,
    b_new: ArrayLike,
    *,
    constants: LinkingConstants | None = None,
    threshold_b: float = 0.5,
    threshold_a: float | None = None,
) -> ParameterDrift:
    r"""Drift of each item between an old (bank-scale) and a new calibration.

    .. math:: \Delta b_j = (A\,b^{new}_j + B) - b^{old}_j, \qquad
              \Delta a_j = a^{new}_j / A - a^{old}_j

    Parameters
    ----------
    a_old, b_old : array_like, shape (n_items,)
        Parameters on the bank scale.
    a_new, b_new : array_like, shape (n_items,)
        The same items' new estimates on the new calibration's scale.
    constants : LinkingConstants, optional
        New → bank scale; default identity (new estimates already on the bank scale, e.g. from
        a fixed-anchor calibration or :func:`grading.psychometrics.linking.link_to_bank`).
    threshold_b : float, default 0.5
        Flag when ``|Δb|`` exceeds it (logits).
    threshold_a : float, optional
        Also flag when ``|Δa|`` exceeds it.

    Returns
    -------
    ParameterDrift
        NaN deltas (an item missing from one calibration) are never flagged.
    """
    a_o = np.asarray(a_old, dtype=float)
    b_o = np.asarray(b_old, dtype=float)
    a_n = np.asarray(a_new, dtype=float)
    b_n = np.asarray(b_new, dtype=float)
    if not (a_o.shape == b_o.shape == a_n.shape == b_n.shape) or a_o.ndim != 1:
        raise ValueError("a_old, b_old, a_new and b_new must be 1-D arrays of one length")
    if threshold_b <= 0 or (threshold_a is not None and threshold_a <= 0):
        raise ValueError("thresholds must be positive")
    k = LinkingConstants.identity() if constants is None else constants
    linked = transform_parameters(k, a_n, b_n)
    delta_b = linked.b - b_o
    delta_a = linked.a - a_o
    flagged = np.nan_to_num(np.abs(delta_b), nan=0.0) > threshold_b
    if threshold_a is not None:
        flagged |= np.nan_to_num(np.abs(delta_a), nan=0.0) > threshold_a
    return ParameterDrift(
        delta_b=delta_b,
        delta_a=delta_a,
        flagged=flagged,
        threshold_b=threshold_b,
        threshold_a=threshold_a,
        constants=k,
    )
