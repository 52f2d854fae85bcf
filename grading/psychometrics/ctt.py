"""Classical test theory item statistics (经典测验理论): difficulty, corrected point-biserial,
upper/lower 27 % discrimination index, distractor analysis and Cronbach's alpha / KR-20.

Arrays in, frozen dataclasses out. Responses are shaped ``(n_examinees, n_items)`` with
``NaN`` for an item that was not presented to that examinee.

Missing by design
-----------------
Papers assembled from one bank give different examinees different items, so every statistic
here is computed *pairwise on presented items*:

* an item's difficulty and correlations use only the examinees who saw that item;
* an examinee's *rest score* for item ``j`` is the mean proportion-of-maximum over the other
  items that examinee was presented. With complete data this is the ordinary rest score
  divided by ``n_items - 1``, so every correlation equals the textbook value (correlation is
  scale free); with forms of different length it keeps examinees comparable, which a raw sum
  would not;
* alpha uses the pairwise-complete covariance matrix (each covariance over the examinees who
  saw both items). If some pair of items was never presented together alpha is undefined and
  ``NaN`` is returned: compute it per form instead.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

Float = NDArray[np.float64]
Int = NDArray[np.int64]
Bool = NDArray[np.bool_]

__all__ = [
    "CttItemStatistics",
    "DistractorTable",
    "Reliability",
    "corrected_point_biserial",
    "cronbach_alpha",
    "difficulty",
    "discrimination_index",
    "distractor_analysis",
    "item_statistics",
    "kr20",
]


@dataclass(frozen=True)
class CttItemStatistics:
    """Per-item classical statistics, each of shape ``(n_items,)``.

    Attributes
    ----------
    n_presented : ndarray of int
        Examinees who were presented the item.
    difficulty : ndarray of float
        ``p``: mean item score divided by the maximum score (proportion correct for 0/1 items).
    point_biserial : ndarray of float
        Corrected item–rest correlation (the item is left out of the score it is correlated with).
    discrimination_index : ndarray of float
        ``D = p_upper − p_lower`` for the top and bottom 27 % of examinees by total score.
    """

    n_presented: Int
    difficulty: Float
    point_biserial: Float
    discrimination_index: Float


@dataclass(frozen=True)
class Reliability:
    """Internal-consistency reliability.

    Attributes
    ----------
    alpha : float
        Cronbach's alpha (equal to KR-20 for 0/1 items); ``NaN`` when undefined.
    alpha_if_deleted : ndarray of float, shape (n_items,)
        Alpha of the remaining ``n_items − 1`` items when each item is dropped.
    n_items : int
    n_examinees : int
    """

    alpha: float
    alpha_if_deleted: Float
    n_items: int
    n_examinees: int


@dataclass(frozen=True)
class DistractorTable:
    """Distractor analysis (选项分析) of one multiple-choice item.

    Attributes
    ----------
    item : int
        Column index of the item.
    key : Hashable
        The keyed (correct) option.
    options : tuple
        Options in display order (sorted unless the caller supplied an order).
    n_chosen : ndarray of int, shape (n_options,)
        Examinees choosing each option.
    share : ndarray of float, shape (n_options,)
        ``n_chosen / n_presented``.
    rest_correlation : ndarray of float, shape (n_options,)
        Point-biserial correlation between choosing the option and the rest score. The key's
        value equals the item's corrected point-biserial; a distractor should be negative.
    is_key : ndarray of bool, shape (n_options,)
    n_presented : int
    """

    item: int
    key: Hashable
    options: tuple[Hashable, ...]
    n_chosen: Int
    share: Float
    rest_correlation: Float
    is_key: Bool
    n_presented: int

    @property
    def positive_distractors(self) -> tuple[Hashable, ...]:
        """Distractors chosen more by stronger examinees (``r > 0``): check the key and the stem."""
        return tuple(
            o for o, r, k in zip(self.options, self.rest_correlation, self.is_key, strict=True) if not k and r > 0
        )


# --------------------------------------------------------------------------- helpers


def _response_matrix(responses: ArrayLike) -> Float:
    x = np.asarray(responses, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"responses must be 2-D (n_examinees, n_items), got shape {x.shape}")
    if np.isinf(x).any():
        raise ValueError("responses contain infinite values")
    return x


def _max_scores(x: Float, max_scores: ArrayLike | None) -> Float:
    if max_scores is None:
        m = np.ones(x.shape[1])
    else:
        m = np.broadcast_to(np.asarray(max_scores, dtype=float), (x.shape[1],)).copy()
    if (m <= 0).any():
        raise ValueError("max_scores must be positive")
    with np.errstate(invalid="ignore"):
        bad = (x < 0) | (x > m)
    if bad.any():
        raise ValueError("responses outside [0, max_score]; pass max_scores for polytomous items")
    return m


def _safe_divide(num: Float, den: Float) -> Float:
    """``num / den`` with NaN where the denominator is not positive (no RuntimeWarning)."""
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _masked_corr(x: Float, y: Float, mask: Bool) -> Float:
    """Column-wise Pearson correlation of ``x[:, j]`` and ``y[:, j]`` over rows where ``mask``.

    Two-pass (centred) sums keep it accurate; NaN when either variance is zero or n < 2.
    """
    w = mask.astype(float)
    n = w.sum(axis=0)
    xs = np.where(mask, x, 0.0)
    ys = np.where(mask, y, 0.0)
    mx = _safe_divide(xs.sum(axis=0), n)
    my = _safe_divide(ys.sum(axis=0), n)
    dx = np.where(mask, x - np.nan_to_num(mx), 0.0)
    dy = np.where(mask, y - np.nan_to_num(my), 0.0)
    sxy = (dx * dy).sum(axis=0)
    sxx = (dx * dx).sum(axis=0)
    syy = (dy * dy).sum(axis=0)
    # A variance that is zero up to rounding (constant column) must give NaN, not ±1.
    tiny = 1e-12 * np.maximum(n, 1.0)
    den = np.sqrt(sxx * syy)
    r = _safe_divide(sxy, np.where((sxx > tiny) & (syy > tiny) & (n >= 2), den, 0.0))
    return np.clip(r, -1.0, 1.0, out=r, where=~np.isnan(r))


def _rest_scores(scaled: Float, presented: Bool) -> tuple[Float, Bool]:
    """Rest score of every examinee for every item, shape (n_examinees, n_items).

    ``rest[i, j]`` = mean of ``scaled[i, k]`` over presented ``k ≠ j``. ``valid[i, j]`` is True
    when item ``j`` was presented and at least one other item was.
    """
    filled = np.where(presented, scaled, 0.0)
    total = filled.sum(axis=1, keepdims=True)
    count = presented.sum(axis=1, keepdims=True).astype(float)
    rest_count = count - presented
    valid = presented & (rest_count > 0)
    rest = _safe_divide(total - filled, rest_count)
    return rest, valid


def _person_scores(scaled: Float, presented: Bool) -> Float:
    """Proportion-of-maximum over presented items; NaN for an examinee who saw nothing."""
    filled = np.where(presented, scaled, 0.0)
    return _safe_divide(filled.sum(axis=1), presented.sum(axis=1).astype(float))


def _extreme_group_weights(score: Float, fraction: float) -> tuple[Float, Float]:
    """Weights selecting the lowest and highest ``fraction`` of examinees by ``score``.

    Each group holds exactly ``fraction · n`` examinees' worth of weight. Examinees tied at the
    cut share the remaining weight equally, so the result does not depend on row order (a plain
    sort would put an arbitrary subset of a tie in the group).
    """
    ok = ~np.isnan(score)
    size = fraction * ok.sum()

    def lower(s: Float) -> Float:
        w = np.zeros_like(s)
        if size <= 0:
            return w
        vals = np.sort(s[ok])
        cut = vals[min(math.ceil(size) - 1, vals.size - 1)]
        below = ok & (s < cut)
        tied = ok & (s == cut)
        w[below] = 1.0
        w[tied] = (size - below.sum()) / tied.sum()
        return w

    return lower(score), lower(-score)


# --------------------------------------------------------------------------- item statistics


def difficulty(responses: ArrayLike, max_scores: ArrayLike | None = None) -> Float:
    r"""Item difficulty (难度) ``p``.

    .. math:: p_j = \frac{1}{m_j\,n_j} \sum_{i \in \mathcal{P}_j} x_{ij}

    where :math:`\mathcal{P}_j` are the :math:`n_j` examinees presented item ``j`` and
    :math:`m_j` its maximum score (1 for dichotomous items).

    Parameters
    ----------
    responses : array_like, shape (n_examinees, n_items)
        Item scores, NaN where not presented.
    max_scores : array_like, shape (n_items,), optional
        Maximum score per item; default 1.

    Returns
    -------
    ndarray, shape (n_items,)
        NaN for an item nobody was presented.
    """
    x = _response_matrix(responses)
    m = _max_scores(x, max_scores)
    presented = ~np.isnan(x)
    return _safe_divide(np.where(presented, x, 0.0).sum(axis=0), presented.sum(axis=0) * m)


def corrected_point_biserial(responses: ArrayLike, max_scores: ArrayLike | None = None) -> Float:
    r"""Corrected point-biserial (item–rest correlation, 校正点二列相关).

    .. math:: r_{j} = \operatorname{corr}_{i \in \mathcal{P}_j}\bigl(x_{ij},\;
              R_{ij}\bigr), \qquad
              R_{ij} = \frac{1}{|\mathcal{P}_i| - 1}\sum_{k \in \mathcal{P}_i,\,k \ne j} x_{ik}/m_k

    (Pearson correlation of the item score with the rest score over the examinees who saw the
    item.) The item is excluded from the score it is correlated with, so a bad item cannot
    inflate its own value. A negative value usually means a wrong key.

    Parameters
    ----------
    responses : array_like, shape (n_examinees, n_items)
    max_scores : array_like, shape (n_items,), optional

    Returns
    -------
    ndarray, shape (n_items,)
        NaN where the item or the rest score has no variance.
    """
    x = _response_matrix(responses)
    m = _max_scores(x, max_scores)
    presented = ~np.isnan(x)
    rest, valid = _rest_scores(x / m, presented)
    return _masked_corr(np.nan_to_num(x), rest, valid)


def discrimination_index(responses: ArrayLike, fraction: float = 0.27, max_scores: ArrayLike | None = None) -> Float:
    r"""Upper–lower discrimination index (区分度, Kelley's 27 % groups).

    .. math:: D_j = p_j^{U} - p_j^{L}

    where :math:`p^U` and :math:`p^L` are the difficulties among the top and bottom
    ``fraction`` of examinees ranked by total score (proportion of maximum over presented
    items). Ties at the cut are shared fractionally so each group weighs exactly
    ``fraction · n``.

    Parameters
    ----------
    responses : array_like, shape (n_examinees, n_items)
    fraction : float, default 0.27
        Size of each extreme group, in (0, 0.5].
    max_scores : array_like, shape (n_items,), optional

    Returns
    -------
    ndarray, shape (n_items,)
    """
    if not 0.0 < fraction <= 0.5:
        raise ValueError("fraction must be in (0, 0.5]")
    x = _response_matrix(responses)
    m = _max_scores(x, max_scores)
    presented = ~np.isnan(x)
    scaled = np.where(presented, x / m, 0.0)
    w_low, w_high = _extreme_group_weights(_person_scores(x / m, presented), fraction)
    pw = presented.astype(float)

    def group_p(w: Float) -> Float:
        return _safe_divide(w @ scaled, w @ pw)

    return group_p(w_high) - group_p(w_low)


def item_statistics(
    responses: ArrayLike, max_scores: ArrayLike | None = None, fraction: float = 0.27
) -> CttItemStatistics:
    """All per-item classical statistics at once.

    Parameters
    ----------
    responses : array_like, shape (n_examinees, n_items)
        Item scores, NaN where not presented.
    max_scores : array_like, shape (n_items,), optional
        Maximum score per item; default 1 (dichotomous).
    fraction : float, default 0.27
        Extreme-group size for the discrimination index.

    Returns
    -------
    CttItemStatistics
    """
    x = _response_matrix(responses)
    return CttItemStatistics(
        n_presented=(~np.isnan(x)).sum(axis=0).astype(np.int64),
        difficulty=difficulty(x, max_scores),
        point_biserial=corrected_point_biserial(x, max_scores),
        discrimination_index=discrimination_index(x, fraction, max_scores),
    )


# --------------------------------------------------------------------------- reliability


def _pairwise_covariance(x: Float) -> Float:
    """Covariance matrix, each entry over the examinees presented both items (ddof = 1)."""
    presented = ~np.isnan(x)
    w = presented.astype(float)
    x0 = np.where(presented, x, 0.0)
    n = w.T @ w  # n[j, k]: examinees who saw both j and k
    sx = x0.T @ w  # sx[j, k]: sum of x_j over examinees who also saw k
    sxy = x0.T @ x0
    # Centre within each pair's common sample: Σxy − Σx·Σy / n.
    num = sxy - _safe_divide(sx * sx.T, n)
    return _safe_divide(num, n - 1.0)


def _alpha_from_cov(cov: Float) -> tuple[float, Float]:
    k = cov.shape[0]
    if k < 2 or np.isnan(cov).any():
        return math.nan, np.full(k, np.nan)
    trace = float(np.trace(cov))
    total = float(cov.sum())
    alpha = k / (k - 1) * (1.0 - trace / total) if total > 0 else math.nan
    if k < 3:
        return alpha, np.full(k, np.nan)
    diag = np.diag(cov)
    trace_d = trace - diag
    total_d = total - 2.0 * cov.sum(axis=1) + diag
    if_deleted = (k - 1) / (k - 2) * (1.0 - _safe_divide(trace_d, total_d))
    if_deleted[~(total_d > 0)] = np.nan
    return alpha, if_deleted


def cronbach_alpha(responses: ArrayLike) -> Reliability:
    r"""Cronbach's alpha (克龙巴赫 α系数) and alpha-if-item-deleted.

    .. math:: \alpha = \frac{k}{k-1}\Bigl(1 - \frac{\sum_j \sigma_j^2}{\sum_j\sum_l \sigma_{jl}}\Bigr)

    with :math:`\sigma_{jl}` the pairwise-complete covariance (see the module docstring); the
    denominator is the variance of the total score when data are complete. Alpha-if-deleted
    drops row and column ``j`` from the covariance matrix.

    Parameters
    ----------
    responses : array_like, shape (n_examinees, n_items)
        Item scores, NaN where not presented.

    Returns
    -------
    Reliability
        ``alpha`` is NaN if some pair of items was never presented together (or fewer than two
        shared examinees), if there are fewer than two items, or if the total has no variance.
    """
    x = _response_matrix(responses)
    alpha, if_deleted = _alpha_from_cov(_pairwise_covariance(x))
    return Reliability(alpha=alpha, alpha_if_deleted=if_deleted, n_items=x.shape[1], n_examinees=x.shape[0])


def kr20(responses: ArrayLike) -> Reliability:
    r"""Kuder–Richardson 20 for dichotomous (0/1) items.

    .. math:: \mathrm{KR20} = \frac{k}{k-1}\Bigl(1 - \frac{\sum_j p_j q_j}{\sigma_X^2}\Bigr)

    This is Cronbach's alpha computed on 0/1 data (the ``ddof`` cancels in the ratio with
    complete data), so it is returned through :func:`cronbach_alpha` after checking the scores.
    """
    x = _response_matrix(responses)
    observed = x[~np.isnan(x)]
    if not np.isin(observed, (0.0, 1.0)).all():
        raise ValueError("KR-20 needs 0/1 scores; use cronbach_alpha for polytomous items")
    return cronbach_alpha(x)


# --------------------------------------------------------------------------- distractors


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return False


def _plain(value: object) -> Hashable:
    # numpy scalars compare equal to Python ones but hash/sort awkwardly next to str; unwrap them.
    if isinstance(value, np.generic):
        return value.item()  # type: ignore[no-any-return]
    return value


def _sorted_options(values: set[Hashable]) -> list[Hashable]:
    try:
        return sorted(values)  # type: ignore[type-var]
    except TypeError:  # mixed types (e.g. "A" and 1): any stable order will do
        return sorted(values, key=lambda v: (type(v).__name__, str(v)))


def distractor_analysis(
    choices: ArrayLike | Sequence[Sequence[object]],
    keys: Sequence[Hashable],
    options: Sequence[Sequence[Hashable]] | None = None,
) -> tuple[DistractorTable, ...]:
    r"""Distractor analysis for multiple-choice items.

    For each item ``j`` and option ``o``:

    .. math:: \text{share}_{jo} = \frac{\#\{i \in \mathcal{P}_j : c_{ij} = o\}}{n_j}, \qquad
              r_{jo} = \operatorname{corr}_{i \in \mathcal{P}_j}\bigl([c_{ij} = o],\, R_{ij}\bigr)

    where :math:`R_{ij}` is the rest score (mean correctness on the *other* presented items,
    as in :func:`corrected_point_biserial`) of the test scored against ``keys``. A healthy
    item has a positive value for the key and negative values for the distractors.

    Parameters
    ----------
    choices : array_like, shape (n_examinees, n_items)
        Chosen options (strings or ints); ``None`` or NaN where the item was not presented.
        Any other value (e.g. ``""`` for a blank answer) counts as an option of its own.
    keys : sequence, length n_items
        Keyed option of each item.
    options : sequence of sequences, optional
        Option list per item, in display order, so that never-chosen options are reported with
        share 0. A chosen value not in the list raises ``ValueError``. By default the sorted set
        of chosen values plus the key.

    Returns
    -------
    tuple of DistractorTable, one per item
    """
    c = np.asarray(choices, dtype=object)
    if c.ndim != 2:
        raise ValueError(f"choices must be 2-D (n_examinees, n_items), got shape {c.shape}")
    n_items = c.shape[1]
    if len(keys) != n_items:
        raise ValueError(f"{len(keys)} keys for {n_items} items")
    if options is not None and len(options) != n_items:
        raise ValueError(f"{len(options)} option lists for {n_items} items")

    presented = np.vectorize(lambda v: not _is_missing(v), otypes=[bool])(c) if c.size else np.zeros(c.shape, bool)
    plain = np.vectorize(_plain, otypes=[object])(c) if c.size else c
    key_list = [_plain(k) for k in keys]
    correct = np.zeros(c.shape)
    for j, key in enumerate(key_list):
        correct[:, j] = plain[:, j] == key
    rest, valid = _rest_scores(correct, presented)

    tables = []
    for j, key in enumerate(key_list):
        col = plain[presented[:, j], j]
        if options is not None:
            opts = [_plain(o) for o in options[j]]
            unknown = set(col.tolist()) - set(opts)
            if unknown:
                raise ValueError(f"item {j}: chosen values {sorted(map(str, unknown))} not among its options")
            if key not in opts:
                raise ValueError(f"item {j}: key {key!r} not among its options")
        else:
            opts = _sorted_options(set(col.tolist()) | {key})
        n_presented = int(presented[:, j].sum())
        indicators = np.stack([(plain[:, j] == o) & presented[:, j] for o in opts], axis=1).astype(float)
        n_chosen = indicators.sum(axis=0).astype(np.int64)
        mask = np.repeat(valid[:, [j]], len(opts), axis=1)
        r = _masked_corr(indicators, np.repeat(rest[:, [j]], len(opts), axis=1), mask)
        tables.append(
            DistractorTable(
                item=j,
                key=key,
                options=tuple(opts),
                n_chosen=n_chosen,
                share=_safe_divide(n_chosen.astype(float), np.full(len(opts), float(n_presented))),
                rest_correlation=r,
                is_key=np.array([o == key for o in opts], dtype=bool),
                n_presented=n_presented,
            )
        )
    return tuple(tables)
