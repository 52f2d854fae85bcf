"""Item fit (项目拟合): Orlando & Thissen's S-X2 for dichotomous 1PL/2PL/3PL items, the
Lord–Wingersky recursion it rests on, and Benjamini–Hochberg FDR adjustment across items.

Logistic metric, parameters ``a, b, c`` as in :mod:`itembank.irtmodel`. Responses are
``(n_examinees, n_items)`` and must be complete: S-X2 groups examinees by their summed score on
one set of items, which is not defined across forms. Run it once per form (the columns of
that form's items and the examinees who took it).

References
----------
Orlando, M., & Thissen, D. (2000). Likelihood-based item-fit indices for dichotomous item
response theory models. *Applied Psychological Measurement, 24*, 50–64.
Lord, F. M., & Wingersky, M. S. (1984). Comparison of IRT true-score and equipercentile
observed-score "equatings". *Applied Psychological Measurement, 8*, 453–461.
Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate. *JRSS B, 57*, 289–300.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from grading.psychometrics.em import normal_quadrature
from itembank.irtmodel import prob

Float = NDArray[np.float64]
Int = NDArray[np.int64]
Bool = NDArray[np.bool_]

__all__ = [
    "SX2Result",
    "SX2Table",
    "benjamini_hochberg",
    "lord_wingersky",
    "normal_quadrature",
    "s_x2",
]


@dataclass(frozen=True)
class SX2Table:
    """The (possibly collapsed) summed-score table behind one item's S-X2.

    Attributes
    ----------
    scores : tuple of tuple of int
        Summed scores pooled into each group, lowest group first.
    n : ndarray of float, shape (n_groups,)
        Examinees in each group, :math:`N_g`.
    observed : ndarray of float
        Observed proportion correct in each group, :math:`O_g`.
    expected : ndarray of float
        Model-implied proportion correct in each group, :math:`E_g`.
    """

    scores: tuple[tuple[int, ...], ...]
    n: Float
    observed: Float
    expected: Float


@dataclass(frozen=True)
class SX2Result:
    """S-X2 for every item, each array of shape ``(n_items,)``.

    Attributes
    ----------
    statistic : ndarray of float
    df : ndarray of int
        Groups after collapsing minus estimated parameters; ``p_value`` is NaN when ``df < 1``.
    p_value : ndarray of float
    p_adjusted : ndarray of float
        Benjamini–Hochberg adjusted p across the items that have a p-value.
    flagged : ndarray of bool
        ``p_adjusted < alpha``.
    alpha : float
    tables : tuple of SX2Table
    """

    statistic: Float
    df: Int
    p_value: Float
    p_adjusted: Float
    flagged: Bool
    alpha: float
    tables: tuple[SX2Table, ...]


def lord_wingersky(category_probs: ArrayLike | Sequence[ArrayLike]) -> Float:
    r"""Summed-score likelihoods :math:`S_s(\theta)` by the Lord–Wingersky recursion.

    Adding item ``j`` with category probabilities :math:`P_{jk}(\theta)`:

    .. math:: S^{(j)}_s(\theta) = \sum_k S^{(j-1)}_{s-k}(\theta)\,P_{jk}(\theta),
              \qquad S^{(0)}_0 = 1.

    Parameters
    ----------
    category_probs : array_like or sequence of array_like
        One of

        * a 2-D array ``(n_nodes, n_items)`` of probabilities of a correct response
          (dichotomous items);
        * a 3-D array ``(n_nodes, n_items, n_categories)`` of category probabilities, as
          returned by :func:`grading.psychometrics.grm.category_probabilities` (padded categories have
          probability 0 and only add impossible scores with likelihood 0);
        * a sequence with one ``(n_nodes, n_categories_j)`` array per item.

        Category ``k`` scores ``k`` points.

    Returns
    -------
    ndarray, shape (n_nodes, max_score + 1)
        ``S[q, s]`` = probability of summed score ``s`` at node ``q``. Rows sum to 1.
    """
    items: list[Float]
    if isinstance(category_probs, list | tuple) and all(np.ndim(pj) == 2 for pj in category_probs):
        items = [np.asarray(pj, dtype=float) for pj in category_probs]
    else:
        arr = np.asarray(category_probs, dtype=float)
        if arr.ndim == 2:
            items = [np.stack([1.0 - arr[:, j], arr[:, j]], axis=1) for j in range(arr.shape[1])]
        elif arr.ndim == 3:
            items = [arr[:, j, :] for j in range(arr.shape[1])]
        else:
            raise ValueError("category_probs must be (nodes, items), (nodes, items, categories) or a list")
    n_nodes = items[0].shape[0] if items else 1
    s = np.ones((n_nodes, 1))
    for pj in items:
        k = pj.shape[1]
        new = np.zeros((n_nodes, s.shape[1] + k - 1))
        for cat in range(k):
            new[:, cat : cat + s.shape[1]] += s * pj[:, [cat]]
        s = new
    return s


def benjamini_hochberg(p_values: ArrayLike) -> Float:
    r"""Benjamini–Hochberg step-up adjusted p-values (FDR).

    .. math:: \tilde p_{(i)} = \min_{k \ge i} \min\Bigl(1, \frac{m}{k}\,p_{(k)}\Bigr)

    over the ``m`` finite p-values; NaN entries stay NaN and do not count towards ``m``.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out


def _collapse(n: Float, o: Float, e: Float, min_expected: float) -> list[list[int]]:
    """Group indices after merging sparse summed-score groups.

    Counts are ``n`` (examinees), ``o`` and ``e`` (observed and expected *numbers* correct). A
    group is sparse if its expected correct ``e`` or expected incorrect ``n − e`` is below
    ``min_expected``. Direction: from each tail **toward the most populated score group** —
    groups below it are accumulated upwards, groups above it downwards — as Orlando & Thissen
    did; whatever is left over at a tail joins the central group. If the central group is still
    sparse it absorbs its neighbours until it is not (or nothing is left).
    """
    size = n.size

    def sparse(idx: list[int]) -> bool:
        ni, ei = n[idx].sum(), e[idx].sum()
        return bool(min(ei, ni - ei) < min_expected)

    mode = int(np.argmax(n))
    lower: list[list[int]] = []
    acc: list[int] = []
    for g in range(mode):
        acc.append(g)
        if not sparse(acc):
            lower.append(acc)
            acc = []
    centre = [*acc, mode]
    upper: list[list[int]] = []
    acc = []
    for g in range(size - 1, mode, -1):
        acc.insert(0, g)
        if not sparse(acc):
            upper.insert(0, acc)
            acc = []
    centre = centre + acc
    while sparse(centre) and (lower or upper):
        # Absorb the smaller neighbour first to keep as many groups as possible.
        take_lower = bool(lower) and (not upper or n[lower[-1]].sum() <= n[upper[0]].sum())
        centre = lower.pop() + centre if take_lower else centre + upper.pop(0)
    return [*lower, centre, *upper]


def s_x2(
    responses: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    c: ArrayLike | None = None,
    *,
    n_parameters: int | ArrayLike | None = None,
    min_expected: float = 1.0,
    nodes: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    alpha: float = 0.05,
) -> SX2Result:
    r"""Orlando–Thissen S-X2 item fit for dichotomous items.

    For item ``i`` and summed score ``k = 1, …, n − 1`` (scores 0 and ``n`` carry no information
    about a single item), the model-implied proportion correct is

    .. math:: E_{ik} = \frac{\int P_i(\theta)\, S^{(-i)}_{k-1}(\theta)\, \phi(\theta)\,d\theta}
                            {\int S_k(\theta)\, \phi(\theta)\, d\theta}

    with :math:`S` the summed-score likelihoods of all items and :math:`S^{(-i)}` those of the
    test without item ``i`` (:func:`lord_wingersky`), integrated by quadrature. With
    :math:`N_k` examinees at score ``k`` and observed proportion correct :math:`O_{ik}`,

    .. math:: S\text{-}X^2_i = \sum_k N_k \frac{(O_{ik} - E_{ik})^2}{E_{ik}(1 - E_{ik})},
              \qquad df_i = G_i - m_i

    where :math:`G_i` is the number of score groups after collapsing (see ``min_expected``)
    and :math:`m_i` the number of estimated parameters of item ``i``. Score groups nobody
    obtained are dropped.

    Parameters
    ----------
    responses : array_like, shape (n_examinees, n_items)
        0/1 responses, complete (no NaN); see the module docstring for forms.
    a, b : array_like, shape (n_items,)
        Discrimination and difficulty (logistic metric).
    c : array_like, shape (n_items,), optional
        Lower asymptote (3PL); default 0.
    n_parameters : int or array_like, optional
        Estimated parameters per item; default 2, or 3 when ``c`` is given. Pass 1 for Rasch
        items, or 2 for a 3PL with fixed ``c``.
    min_expected : float, default 1.0
        Groups whose expected correct or incorrect count is below this are merged, from the
        tails toward the most populated score group. ``0`` disables collapsing (mirt's
        ``mincell = 0``).
    nodes, weights : array_like, optional
        Quadrature for the ability distribution; default :func:`normal_quadrature` (61 nodes on
        [−6, 6], N(0, 1)). Weights are normalised to sum to 1.
    alpha : float, default 0.05
        Level for ``flagged`` on the FDR-adjusted p.

    Returns
    -------
    SX2Result
    """
    x = np.asarray(responses, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"responses must be 2-D (n_examinees, n_items), got shape {x.shape}")
    if np.isnan(x).any():
        raise ValueError("S-X2 needs complete responses: compute it per form (one set of items)")
    if not np.isin(x, (0.0, 1.0)).all():
        raise ValueError("S-X2 here is for 0/1 items")
    n_examinees, n_items = x.shape
    if n_items < 3:
        raise ValueError("S-X2 needs at least 3 items")
    a_ = np.broadcast_to(np.asarray(a, dtype=float), (n_items,))
    b_ = np.broadcast_to(np.asarray(b, dtype=float), (n_items,))
    c_ = None if c is None else np.broadcast_to(np.asarray(c, dtype=float), (n_items,))
    if n_parameters is None:
        n_parameters = 2 if c is None else 3
    m = np.broadcast_to(np.asarray(n_parameters, dtype=np.int64), (n_items,))

    if nodes is None:
        q, w = normal_quadrature()
    else:
        q = np.asarray(nodes, dtype=float)
        w = np.ones_like(q) if weights is None else np.asarray(weights, dtype=float)
        w = w / w.sum()
    p = prob(q, a_, b_, c_)  # (Q, J)
    s_all = lord_wingersky(p)  # (Q, J + 1)
    denom = w @ s_all  # marginal probability of each summed score

    score = x.sum(axis=1).astype(np.int64)
    inner = np.arange(1, n_items)  # informative scores 1 .. n − 1
    n_k = np.bincount(score, minlength=n_items + 1)[inner].astype(float)
    correct_k = np.zeros((n_items + 1, n_items))
    np.add.at(correct_k, score, x)
    correct_k = correct_k[inner]  # (n − 1, J): number correct on each item at each score

    stat = np.full(n_items, np.nan)
    df = np.zeros(n_items, dtype=np.int64)
    tables = []
    present = n_k > 0
    for i in range(n_items):
        s_rest = lord_wingersky(np.delete(p, i, axis=1))  # (Q, J): scores 0 .. n − 1
        e_k = (w * p[:, i]) @ s_rest[:, inner - 1] / denom[inner]
        n_g, o_g, e_g = n_k[present], correct_k[present, i], (n_k * e_k)[present]
        groups = _collapse(n_g, o_g, e_g, min_expected) if min_expected > 0 else [[g] for g in range(n_g.size)]
        gn = np.array([n_g[g].sum() for g in groups])
        go = np.array([o_g[g].sum() for g in groups])
        ge = np.array([e_g[g].sum() for g in groups])
        # Pearson X² over the correct and incorrect cells = N (O − E)² / (E (1 − E)) in proportions.
        with np.errstate(divide="ignore", invalid="ignore"):
            cells = (go - ge) ** 2 / ge + (go - ge) ** 2 / (gn - ge)
        stat[i] = float(np.nansum(cells))
        df[i] = len(groups) - int(m[i])
        kept = inner[present]
        tables.append(
            SX2Table(
                scores=tuple(tuple(int(kept[g_]) for g_ in g) for g in groups),
                n=gn,
                observed=go / gn,
                expected=ge / gn,
            )
        )
    p_value = np.full(n_items, np.nan)
    ok = df >= 1
    p_value[ok] = stats.chi2.sf(stat[ok], df[ok])
    p_adj = benjamini_hochberg(p_value)
    return SX2Result(
        statistic=stat,
        df=df,
        p_value=p_value,
        p_adjusted=p_adj,
        flagged=np.nan_to_num(p_adj, nan=1.0) < alpha,
        alpha=alpha,
        tables=tuple(tables),
    )
