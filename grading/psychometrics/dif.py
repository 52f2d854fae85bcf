"""Differential item functioning (项目功能差异, DIF) by the Mantel–Haenszel procedure, with the
ETS A/B/C classification.

Examinees are matched on strata of a matching score (by default the total score over the items
they were presented, studied item included, as in Holland & Thayer 1988); within each stratum
a 2 × 2 table crosses group (reference/focal) with item score (1/0):

=========  ===========  =============
           correct (1)  incorrect (0)
=========  ===========  =============
reference  A_k          B_k
focal      C_k          D_k
=========  ===========  =============

Sign convention (ETS): ``MH D-DIF < 0`` means the item is harder for the focal group than for
reference examinees of the same score (it favours the reference group).

With missing-by-design data (different forms) a total score is not comparable across forms;
pass a ``matching_score`` that is (e.g. a binned ability estimate on the bank scale).

References
----------
Holland, P. W., & Thayer, D. T. (1988). Differential item performance and the Mantel–Haenszel
procedure. In *Test validity* (pp. 129–145).
Robins, J., Breslow, N., & Greenland, S. (1986). Estimators of the Mantel–Haenszel variance
consistent in both sparse data and large-strata limiting models. *Biometrics, 42*, 311–323.
Zwick, R. (2012). *A review of ETS differential item functioning assessment procedures*
(ETS RR-12-08).
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

Float = NDArray[np.float64]
Int = NDArray[np.int64]

EtsClass = Literal["A", "B", "C"]

__all__ = ["EtsClass", "MantelHaenszelDif", "ets_class", "mantel_haenszel", "mantel_haenszel_by_group"]

# −4 / 1.7 ≈ −2.35: a log odds ratio is about 1.7 normal deviates, and the ETS delta scale has SD 4.
DELTA_SCALE = -2.35


@dataclass(frozen=True)
class MantelHaenszelDif:
    """Mantel–Haenszel DIF of every item for one focal group, arrays of shape ``(n_items,)``.

    Attributes
    ----------
    reference, focal : Hashable
        Group labels compared.
    alpha_mh : ndarray of float
        Common odds ratio (reference vs focal odds of a correct answer).
    d_dif : ndarray of float
        ``MH D-DIF = −2.35 ln α_MH``; negative favours the reference group.
    se_d_dif : ndarray of float
        Standard error of ``d_dif`` (Robins–Breslow–Greenland variance of ``ln α_MH``).
    chi_square : ndarray of float
        MH chi-square with continuity correction (1 df).
    p_value : ndarray of float
    ets_class : tuple of {"A", "B", "C"} or None
        None where the statistic is undefined (e.g. a group never answered the item).
    n_reference, n_focal : ndarray of int
        Examinees of each group presented the item (in strata containing both groups).
    n_strata : ndarray of int
        Strata used (both groups present).
    alpha : float
        Significance level used for the classes.
    """

    reference: Hashable
    focal: Hashable
    alpha_mh: Float
    d_dif: Float
    se_d_dif: Float
    chi_square: Float
    p_value: Float
    ets_class: tuple[EtsClass | None, ...]
    n_reference: Int
    n_focal: Int
    n_strata: Int
    alpha: float


def ets_class(d_dif: float, se_d_dif: float, p_value: float, alpha: float = 0.05) -> EtsClass | None:
    r"""ETS DIF category of one item.

    * **A** (negligible): :math:`|D| < 1` or the MH chi-square is not significant (``p ≥ alpha``);
    * **C** (large): :math:`|D| \ge 1.5` and :math:`|D|` significantly greater than 1, i.e. the
      one-sided test of :math:`H_0: |D| \le 1`, :math:`z = (|D| - 1)/SE > z_{1-\alpha}`;
    * **B** (moderate): otherwise.

    Returns None when ``d_dif`` or ``p_value`` is NaN.
    """
    if math.isnan(d_dif) or math.isnan(p_value):
        return None
    size = abs(d_dif)
    if size < 1.0 or p_value >= alpha:
        return "A"
    z_crit = float(stats.norm.ppf(1.0 - alpha))
    if size >= 1.5 and se_d_dif > 0 and (size - 1.0) / se_d_dif > z_crit:
        return "C"
    return "B"


def _validate(responses: ArrayLike) -> NDArray[np.float64]:
    x = np.asarray(responses, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"responses must be 2-D (n_examinees, n_items), got shape {x.shape}")
    observed = x[~np.isnan(x)]
    if not np.isin(observed, (0.0, 1.0)).all():
        raise ValueError("Mantel–Haenszel DIF here is for 0/1 items")
    return x


def _group_labels(groups: ArrayLike, n: int) -> NDArray[np.object_]:
    g = np.asarray(groups, dtype=object)
    if g.shape != (n,):
        raise ValueError(f"groups must have one label per examinee ({n}), got shape {g.shape}")
    return g


def _is_label(value: object, label: Hashable) -> bool:
    if isinstance(value, np.generic):
        value = value.item()
    return bool(value == label)


def _strata(x: NDArray[np.float64], matching_score: ArrayLike | None) -> tuple[Int, int]:
    """Stratum index per examinee (−1 = no score) and number of strata."""
    if matching_score is None:
        presented = ~np.isnan(x)
        score = np.where(presented, x, 0.0).sum(axis=1)
        score[~presented.any(axis=1)] = np.nan
    else:
        score = np.asarray(matching_score, dtype=float)
        if score.shape != (x.shape[0],):
            raise ValueError("matching_score must have one value per examinee")
    ok = ~np.isnan(score)
    idx = np.full(x.shape[0], -1, dtype=np.int64)
    levels, inverse = np.unique(score[ok], return_inverse=True)
    idx[ok] = inverse
    return idx, levels.size


def mantel_haenszel(
    responses: ArrayLike,
    groups: ArrayLike,
    reference: Hashable,
    focal: Hashable,
    *,
    matching_score: ArrayLike | None = None,
    alpha: float = 0.05,
) -> MantelHaenszelDif:
    r"""Mantel–Haenszel DIF of every item, focal vs reference.

    Over strata ``k`` with :math:`N_k = A_k + B_k + C_k + D_k`, :math:`n_{Rk} = A_k + B_k`,
    :math:`n_{Fk} = C_k + D_k`, :math:`m_{1k} = A_k + C_k`, :math:`m_{0k} = B_k + D_k`:

    .. math::
        \alpha_{MH} = \frac{\sum_k A_k D_k / N_k}{\sum_k B_k C_k / N_k}, \qquad
        \text{MH D-DIF} = -2.35 \ln \alpha_{MH}

    Robins–Breslow–Greenland (Phillips–Holland) variance, with :math:`P_k = (A_k + D_k)/N_k`,
    :math:`Q_k = (B_k + C_k)/N_k`, :math:`R_k = A_k D_k / N_k`, :math:`S_k = B_k C_k / N_k`,
    :math:`R = \sum R_k`, :math:`S = \sum S_k`:

    .. math::
        \widehat{\operatorname{Var}}(\ln \alpha_{MH}) = \frac{\sum P_k R_k}{2R^2}
            + \frac{\sum (P_k S_k + Q_k R_k)}{2RS} + \frac{\sum Q_k S_k}{2S^2},
        \qquad SE(D) = 2.35 \sqrt{\widehat{\operatorname{Var}}}

    Continuity-corrected MH chi-square (1 df):

    .. math::
        \chi^2_{MH} = \frac{\bigl(|\sum_k A_k - \sum_k n_{Rk} m_{1k}/N_k| - \tfrac12\bigr)^2}
                           {\sum_k n_{Rk} n_{Fk} m_{1k} m_{0k} / (N_k^2 (N_k - 1))}

    Only strata with both groups present contribute. The ETS class follows :func:`ets_class`.

    Parameters
    ----------
    responses : array_like, shape (n_examinees, n_items)
        0/1 scores, NaN where not presented (the item's tables use only examinees who saw it).
    groups : array_like, shape (n_examinees,)
        Group label of each examinee (any hashable values); examinees in neither ``reference``
        nor ``focal`` are ignored.
    reference, focal : Hashable
        The labels to compare, chosen by the analyst.
    matching_score : array_like, shape (n_examinees,), optional
        Score to stratify on; each distinct value is a stratum (bin it first if continuous).
        Default: total score over presented items, studied item included. NaN drops the
        examinee.
    alpha : float, default 0.05
        Significance level for the ETS classes.

    Returns
    -------
    MantelHaenszelDif
    """
    x = _validate(responses)
    n_examinees, n_items = x.shape
    g = _group_labels(groups, n_examinees)
    is_ref = np.array([_is_label(v, reference) for v in g], dtype=bool)
    is_foc = np.array([_is_label(v, focal) for v in g], dtype=bool)
    if not is_ref.any() or not is_foc.any():
        raise ValueError(f"no examinees in group {reference!r} or {focal!r}")
    stratum, n_strata = _strata(x, matching_score)
    # One-hot strata (N, K): every 2 × 2 cell of every stratum and item is one matrix product.
    onehot = np.zeros((n_examinees, max(n_strata, 1)))
    has = stratum >= 0
    onehot[np.flatnonzero(has), stratum[has]] = 1.0
    presented = ~np.isnan(x)
    right = np.where(presented, x, 0.0)
    wrong = presented.astype(float) - right

    def cell(in_group: NDArray[np.bool_], score: Float) -> Float:
        return onehot.T @ (score * in_group[:, None])  # (K, J)

    a_k, b_k = cell(is_ref, right), cell(is_ref, wrong)
    c_k, d_k = cell(is_foc, right), cell(is_foc, wrong)
    n_ref, n_foc = a_k + b_k, c_k + d_k
    both = (n_ref > 0) & (n_foc > 0)
    a_k, b_k, c_k, d_k = (np.where(both, v, 0.0) for v in (a_k, b_k, c_k, d_k))
    n_ref, n_foc = a_k + b_k, c_k + d_k
    total = n_ref + n_foc
    m1, m0 = a_k + c_k, b_k + d_k
    inv_n = np.divide(1.0, total, out=np.zeros_like(total), where=total > 0)

    r_k = a_k * d_k * inv_n
    s_k = b_k * c_k * inv_n
    p_k = (a_k + d_k) * inv_n
    q_k = (b_k + c_k) * inv_n
    r_sum, s_sum = r_k.sum(axis=0), s_k.sum(axis=0)
    defined = (r_sum > 0) & (s_sum > 0)
    r_safe, s_safe = np.where(defined, r_sum, 1.0), np.where(defined, s_sum, 1.0)
    alpha_mh = np.where(defined, r_safe / s_safe, np.nan)
    var_ln = (
        (p_k * r_k).sum(axis=0) / (2.0 * r_safe**2)
        + (p_k * s_k + q_k * r_k).sum(axis=0) / (2.0 * r_safe * s_safe)
        + (q_k * s_k).sum(axis=0) / (2.0 * s_safe**2)
    )
    d_dif = np.where(defined, DELTA_SCALE * np.log(np.where(defined, alpha_mh, 1.0)), np.nan)
    se_d = np.where(defined, abs(DELTA_SCALE) * np.sqrt(var_ln), np.nan)

    expected_a = n_ref * m1 * inv_n
    var_denominator = total**2 * (total - 1.0)
    var_a = np.divide(
        n_ref * n_foc * m1 * m0, var_denominator, out=np.zeros_like(total), where=var_denominator > 0
    ).sum(axis=0)
    deviation = np.abs(a_k.sum(axis=0) - expected_a.sum(axis=0))
    # The ½ correction must not push the numerator below zero for near-perfect agreement.
    numerator = np.maximum(deviation - 0.5, 0.0) ** 2
    chi_sq = np.full(n_items, np.nan)
    np.divide(numerator, var_a, out=chi_sq, where=var_a > 0)
    p_value = np.full(n_items, np.nan)
    ok = ~np.isnan(chi_sq)
    p_value[ok] = stats.chi2.sf(chi_sq[ok], 1)

    classes = tuple(
        ets_class(float(d), float(s), float(p), alpha) for d, s, p in zip(d_dif, se_d, p_value, strict=True)
    )
    return MantelHaenszelDif(
        reference=reference,
        focal=focal,
        alpha_mh=alpha_mh,
        d_dif=d_dif,
        se_d_dif=se_d,
        chi_square=chi_sq,
        p_value=p_value,
        ets_class=classes,
        n_reference=n_ref.sum(axis=0).astype(np.int64),
        n_focal=n_foc.sum(axis=0).astype(np.int64),
        n_strata=both.sum(axis=0).astype(np.int64),
        alpha=alpha,
    )


def mantel_haenszel_by_group(
    responses: ArrayLike,
    groups: ArrayLike,
    reference: Hashable,
    *,
    matching_score: ArrayLike | None = None,
    alpha: float = 0.05,
) -> dict[Hashable, MantelHaenszelDif]:
    """Compare every other group with ``reference`` (groups vector with more than two values).

    Each focal group is compared with the reference group alone, so the strata of one
    comparison contain only those two groups. Labels that are None or NaN are ignored.

    Returns
    -------
    dict
        Focal label → :class:`MantelHaenszelDif`, in order of first appearance.
    """
    x = _validate(responses)
    g = _group_labels(groups, x.shape[0])
    seen: dict[Hashable, None] = {}
    for v in g:
        label = v.item() if isinstance(v, np.generic) else v
        if label is None or (isinstance(label, float) and math.isnan(label)) or label == reference:
            continue
        seen.setdefault(label, None)
    return {
        focal: mantel_haenszel(x, g, reference, focal, matching_score=matching_score, alpha=alpha) for focal in seen
    }
