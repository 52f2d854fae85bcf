"""Item fit (项目拟合): Orlando & Thissen's S-X2 for dichotomous 1PL/2PL/3PL items, the
Lord–Wingersky recursion it rests on, and Benjamini–Hochberg FDR adjustment across items.

Logistic metric, parameters ``a, b, c`` as in :mod:`itembank.irtmodel`. Responses are
``(n_examinees, n_items)``. :func:`s_x2` needs complete responses: S-X2 groups examinees by
their summed score on one set of items, which is not defined across forms. Run it once per form
(the columns of that form's items and the examinees who took it). :func:`s_x2_imputed` takes a
form's responses with **omissions** (NaN: a presented item left without a response) and treats
them as missing responses: each is imputed ``M`` times from the fitted model given the
examinee's posterior, S-X2 is computed on every completed data set with one fixed grouping,
and the statistics and p-values are averaged (mirt's ``itemfit(impute = M)``); see
``docs/psychometrics.md`` ("Item fit with omissions").

References
----------
Orlando, M., & Thissen, D. (2000). Likelihood-based item-fit indices for dichotomous item
response theory models. *Applied Psychological Measurement, 24*, 50–64.
Lord, F. M., & Wingersky, M. S. (1984). Comparison of IRT true-score and equipercentile
observed-score "equatings". *Applied Psychological Measurement, 8*, 453–461.
Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate. *JRSS B, 57*, 289–300.
Rubin, D. B. (1987). *Multiple imputation for nonresponse in surveys.* Wiley.
Chalmers, R. P. (2012). mirt: A multidimensional item response theory package for the R
environment. *Journal of Statistical Software, 48*(6), 1–29 (``itemfit(..., impute = M)``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from scipy.sparse import csr_matrix

from grading.psychometrics.em import normal_quadrature
from itembank.irtmodel import prob

Float = NDArray[np.float64]
Int = NDArray[np.int64]
Bool = NDArray[np.bool_]

__all__ = [
    "DEFAULT_IMPUTATIONS",
    "DEFAULT_SEED",
    "FormSplit",
    "SX2Imputed",
    "SX2Result",
    "SX2Table",
    "benjamini_hochberg",
    "impute_responses",
    "lord_wingersky",
    "lord_wingersky_leave_one_out",
    "normal_quadrature",
    "s_x2",
    "s_x2_imputed",
    "split_forms",
]

#: Completed data sets per S-X2 with omissions (mirt's documentation suggests 10–100 for final
#: results; 10 keeps the Monte Carlo SD of an averaged p-value small next to its sampling SD).
DEFAULT_IMPUTATIONS = 10
#: Seed of the imputations, so that a run gives the same statistics every time.
DEFAULT_SEED = 20_001


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


@dataclass(frozen=True)
class SX2Imputed(SX2Result):
    """S-X2 with omissions imputed (:func:`s_x2_imputed`).

    ``statistic`` and ``p_value`` are the means over the completed data sets (``p_value`` is
    the mean of their p-values, as mirt averages them); ``df`` is the same for all, because the
    score groups are fixed once, from the counts averaged over the imputations; ``tables`` hold
    those averaged counts.

    Attributes
    ----------
    imputed_statistic, imputed_p_value : ndarray of float, shape (n_imputations, n_items)
        Per completed data set (one row, equal to ``statistic``/``p_value``, when nothing was
        missing).
    n_imputations : int
        Completed data sets (0 when nothing was missing: plain :func:`s_x2`).
    n_omitted : int
        Cells imputed in each data set.
    """

    imputed_statistic: Float
    imputed_p_value: Float
    n_imputations: int
    n_omitted: int


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


def lord_wingersky_leave_one_out(p: ArrayLike, *, max_elements: int = 8_000_000) -> Float:
    r"""Summed-score likelihoods of the test without each item, for dichotomous items.

    ``out[i]`` equals ``lord_wingersky(np.delete(p, i, axis=1))`` (same operations in the same
    order, hence the same floats), computed for all items at once: item ``j`` is added to every
    ``i ≠ j`` in one array operation, and only the score columns reachable so far are touched.
    Items are processed in chunks of at most ``max_elements`` array elements.

    Parameters
    ----------
    p : array_like, shape (n_nodes, n_items)
        Probabilities of a correct response.

    Returns
    -------
    ndarray, shape (n_items, n_nodes, n_items)
        ``out[i, q, s]`` = probability of summed score ``s`` (0 … n − 1) on the other items at node ``q``.
    """
    pr = np.asarray(p, dtype=float)
    n_nodes, n_items = pr.shape
    out = np.zeros((n_items, n_nodes, n_items))
    chunk = max(1, max_elements // max(1, n_nodes * n_items))
    for lo in range(0, n_items, chunk):
        hi = min(n_items, lo + chunk)
        s = out[lo:hi]
        s[:, :, 0] = 1.0
        buffer = np.empty_like(s)
        for j in range(n_items):
            width = min(j + 1, n_items - 1)  # score columns that can be non-zero before item j
            own = s[j - lo, :, : width + 1].copy() if lo <= j < hi else None
            head, shifted = s[:, :, :width], buffer[:, :, :width]
            np.multiply(head, pr[:, j][None, :, None], out=shifted)
            np.multiply(head, (1.0 - pr[:, j])[None, :, None], out=head)
            np.add(s[:, :, 1 : width + 1], shifted, out=s[:, :, 1 : width + 1])
            if own is not None:  # item j is the one left out of its own row
                s[j - lo, :, : width + 1] = own
    return out


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


def _item_arrays(
    n_items: int, a: ArrayLike, b: ArrayLike, c: ArrayLike | None, n_parameters: int | ArrayLike | None
) -> tuple[Float, Float, Float | None, Int]:
    a_ = np.broadcast_to(np.asarray(a, dtype=float), (n_items,))
    b_ = np.broadcast_to(np.asarray(b, dtype=float), (n_items,))
    c_ = None if c is None else np.broadcast_to(np.asarray(c, dtype=float), (n_items,))
    if n_parameters is None:
        n_parameters = 2 if c is None else 3
    m = np.broadcast_to(np.asarray(n_parameters, dtype=np.int64), (n_items,))
    return a_, b_, c_, m


def _quadrature(nodes: ArrayLike | None, weights: ArrayLike | None) -> tuple[Float, Float]:
    if nodes is None:
        return normal_quadrature()
    q = np.asarray(nodes, dtype=float)
    w = np.ones_like(q) if weights is None else np.asarray(weights, dtype=float)
    return q, w / w.sum()


def _expected(p: Float, w: Float) -> Float:
    r"""Model-implied proportion correct :math:`E_{ik}`, shape ``(n − 1, n)``: row ``k − 1`` for
    summed score ``k = 1 … n − 1``, column ``i`` for the item."""
    n_items = p.shape[1]
    denom = w @ lord_wingersky(p)  # marginal probability of each summed score
    rest = lord_wingersky_leave_one_out(p)  # (J, Q, J): scores 0 .. n − 1 without item i
    inner = np.arange(1, n_items)
    e = np.empty((n_items - 1, n_items))
    for i in range(n_items):
        e[:, i] = (w * p[:, i]) @ rest[i][:, inner - 1] / denom[inner]
    return e


def _score_counts(x: Float) -> tuple[Float, Float]:
    """Examinees at each informative summed score ``1 … n − 1``, shape ``(n − 1,)``, and the
    number of them correct on each item, shape ``(n − 1, n)``, of complete 0/1 responses."""
    n_rows, n_items = x.shape
    score = x.sum(axis=1).astype(np.int64)
    n_k = np.bincount(score, minlength=n_items + 1).astype(float)
    # Score indicator (sparse) times responses: sums of 0/1 values, exact in any order.
    by_score = csr_matrix((np.ones(n_rows), (score, np.arange(n_rows))), shape=(n_items + 1, n_rows))
    correct = np.asarray(by_score @ x)
    return n_k[1:n_items], correct[1:n_items]


def _groupings(n_k: Float, correct_k: Float, e: Float, min_expected: float) -> list[list[Int]]:
    """For every item, its score groups after collapsing, as index arrays into the informative
    scores (row indices of ``n_k``); scores nobody obtained are left out."""
    present = np.flatnonzero(n_k > 0)
    out = []
    for i in range(e.shape[1]):
        n_g, o_g, e_g = n_k[present], correct_k[present, i], (n_k * e[:, i])[present]
        groups = _collapse(n_g, o_g, e_g, min_expected) if min_expected > 0 else [[g] for g in range(n_g.size)]
        out.append([present[g] for g in groups])
    return out


def _statistic(n_k: Float, correct_k: Float, e: Float, groupings: list[list[Int]]) -> tuple[Float, list[SX2Table]]:
    """Pearson X² of every item over its fixed score groups, and the tables."""
    inner = np.arange(1, e.shape[0] + 1)
    stat = np.full(e.shape[1], np.nan)
    tables = []
    for i, groups in enumerate(groupings):
        expected_correct = n_k * e[:, i]
        gn = np.array([n_k[g].sum() for g in groups])
        go = np.array([correct_k[g, i].sum() for g in groups])
        ge = np.array([expected_correct[g].sum() for g in groups])
        # Pearson X² over the correct and incorrect cells = N (O − E)² / (E (1 − E)) in proportions.
        with np.errstate(divide="ignore", invalid="ignore"):
            cells = (go - ge) ** 2 / ge + (go - ge) ** 2 / (gn - ge)
            stat[i] = float(np.nansum(cells))
            tables.append(SX2Table(scores=tuple(tuple(int(s) for s in inner[g]) for g in groups), n=gn,
                                   observed=go / gn, expected=ge / gn))
    return stat, tables


def _p_values(stat: Float, df: Int) -> Float:
    p_value = np.full(stat.shape, np.nan)
    ok = df >= 1
    p_value[..., ok] = stats.chi2.sf(stat[..., ok], df[ok])
    return p_value


def _check(x: Float, *, allow_missing: bool) -> None:
    if x.ndim != 2:
        raise ValueError(f"responses must be 2-D (n_examinees, n_items), got shape {x.shape}")
    missing = np.isnan(x)
    if missing.any() and not allow_missing:
        raise ValueError("S-X2 needs complete responses: compute it per form (one set of items)")
    if not np.isin(x[~missing], (0.0, 1.0)).all():
        raise ValueError("S-X2 here is for 0/1 items")
    if x.shape[1] < 3:
        raise ValueError("S-X2 needs at least 3 items")


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
    test without item ``i`` (:func:`lord_wingersky`, :func:`lord_wingersky_leave_one_out`),
    integrated by quadrature. With :math:`N_k` examinees at score ``k`` and observed proportion
    correct :math:`O_{ik}`,

    .. math:: S\text{-}X^2_i = \sum_k N_k \frac{(O_{ik} - E_{ik})^2}{E_{ik}(1 - E_{ik})},
              \qquad df_i = G_i - m_i

    where :math:`G_i` is the number of score groups after collapsing (see ``min_expected``)
    and :math:`m_i` the number of estimated parameters of item ``i``. Score groups nobody
    obtained are dropped.

    Parameters
    ----------
    responses : array_like, shape (n_examinees, n_items)
        0/1 responses, complete (no NaN); see the module docstring for forms, and
        :func:`s_x2_imputed` for omissions.
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
    _check(x, allow_missing=False)
    n_items = x.shape[1]
    a_, b_, c_, m = _item_arrays(n_items, a, b, c, n_parameters)
    q, w = _quadrature(nodes, weights)
    e = _expected(prob(q, a_, b_, c_), w)
    n_k, correct_k = _score_counts(x)
    groupings = _groupings(n_k, correct_k, e, min_expected)
    stat, tables = _statistic(n_k, correct_k, e, groupings)
    df = np.array([len(g) for g in groupings], dtype=np.int64) - m
    p_value = _p_values(stat, df)
    p_adj = benjamini_hochberg(p_value)
    return SX2Result(statistic=stat, df=df, p_value=p_value, p_adjusted=p_adj,
                     flagged=np.nan_to_num(p_adj, nan=1.0) < alpha, alpha=alpha, tables=tuple(tables))


def _posterior_cdf(x: Float, observed: Bool, p: Float, w: Float) -> Float:
    """Cumulative posterior over the quadrature nodes of each row, given its observed
    responses, shape ``(n_rows, n_nodes)``."""
    pc = np.clip(p, 1e-12, 1.0 - 1e-12)
    right = np.where(observed, x, 0.0)
    wrong = observed.astype(float) - right
    log_post = right @ np.log(pc).T + wrong @ np.log1p(-pc).T + np.log(w)
    log_post -= log_post.max(axis=1, keepdims=True)
    post = np.exp(log_post)
    cdf: Float = np.cumsum(post, axis=1)
    cdf /= cdf[:, -1:]
    return cdf


def _imputations(x: Float, p: Float, w: Float, n_imputations: int, rng: np.random.Generator) -> Iterator[Float]:
    """Completed copies of ``x`` (one buffer, overwritten each time): every NaN cell drawn
    from the model at a node drawn from the row's posterior given its observed responses."""
    missing = np.isnan(x)
    rows = np.flatnonzero(missing.any(axis=1))
    cdf = _posterior_cdf(x[rows], ~missing[rows], p, w)
    local_r, cols = np.nonzero(missing[rows])
    cell_r = rows[local_r]
    filled = x.copy()
    for _ in range(n_imputations):
        node = np.minimum((cdf < rng.random(rows.size)[:, None]).sum(axis=1), p.shape[0] - 1)
        filled[cell_r, cols] = (rng.random(cols.size) < p[node[local_r], cols]).astype(float)
        yield filled


def impute_responses(
    responses: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    c: ArrayLike | None = None,
    *,
    n_imputations: int = DEFAULT_IMPUTATIONS,
    seed: int | np.random.Generator = DEFAULT_SEED,
    nodes: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> Iterator[Float]:
    r"""Plausible completions of responses with omissions (NaN), one per imputation.

    For each row with a NaN, a node :math:`\theta_q` is drawn from the row's posterior over the
    quadrature given its observed responses, :math:`\pi_q \prod_j P_j(\theta_q)^{x_j}
    Q_j(\theta_q)^{1 - x_j}` (normalised), and every missing response from Bernoulli
    :math:`P_j(\theta_q)`; observed cells are kept. The yielded array is one buffer
    overwritten by the next imputation: copy it to keep it.
    """
    x = np.asarray(responses, dtype=float)
    _check(x, allow_missing=True)
    a_, b_, c_, _ = _item_arrays(x.shape[1], a, b, c, None)
    q, w = _quadrature(nodes, weights)
    rng = np.random.default_rng(seed)
    return _imputations(x, prob(q, a_, b_, c_), w, n_imputations, rng)


def s_x2_imputed(
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
    n_imputations: int = DEFAULT_IMPUTATIONS,
    seed: int | np.random.Generator = DEFAULT_SEED,
) -> SX2Imputed:
    r"""S-X2 of one form whose responses have omissions (NaN = presented, not answered),
    by multiple imputation.

    The missing responses are imputed ``n_imputations`` times (:func:`impute_responses`, with
    the model being tested and its quadrature). The score groups are collapsed once, on the
    counts averaged over the completed data sets, so every data set has the same groups and
    ``df``; each gives a statistic over those groups and its p-value
    (:math:`\chi^2_{df}` tail), and the result is their mean (mirt's rule for
    ``itemfit(impute = M)``). Benjamini–Hochberg is applied to the mean p-values.

    Without any NaN this is :func:`s_x2` (same numbers, ``n_imputations`` 0). Parameters as
    :func:`s_x2`; ``seed`` makes the draws reproducible.
    """
    x = np.asarray(responses, dtype=float)
    _check(x, allow_missing=True)
    n_omitted = int(np.isnan(x).sum())
    if n_omitted == 0:
        plain = s_x2(x, a, b, c, n_parameters=n_parameters, min_expected=min_expected, nodes=nodes,
                     weights=weights, alpha=alpha)
        return SX2Imputed(**{f: getattr(plain, f) for f in SX2Result.__dataclass_fields__},
                          imputed_statistic=plain.statistic[None, :], imputed_p_value=plain.p_value[None, :],
                          n_imputations=0, n_omitted=0)
    if n_imputations < 1:
        raise ValueError("n_imputations must be at least 1")
    n_items = x.shape[1]
    a_, b_, c_, m = _item_arrays(n_items, a, b, c, n_parameters)
    q, w = _quadrature(nodes, weights)
    p = prob(q, a_, b_, c_)
    e = _expected(p, w)
    counts = [_score_counts(filled) for filled in _imputations(x, p, w, n_imputations, np.random.default_rng(seed))]
    n_all = np.stack([n for n, _ in counts])  # (M, n − 1)
    correct_all = np.stack([k for _, k in counts])  # (M, n − 1, n)
    n_mean, correct_mean = n_all.mean(axis=0), correct_all.mean(axis=0)
    groupings = _groupings(n_mean, correct_mean, e, min_expected)
    df = np.array([len(g) for g in groupings], dtype=np.int64) - m
    labels = _group_labels(e.shape, groupings)
    per = np.stack([_group_statistic(n_all[r], correct_all[r], e, labels) for r in range(n_imputations)])
    _, tables = _statistic(n_mean, correct_mean, e, groupings)
    per_p = _p_values(per, df)
    stat, p_value = per.mean(axis=0), per_p.mean(axis=0)
    p_adj = benjamini_hochberg(p_value)
    return SX2Imputed(statistic=stat, df=df, p_value=p_value, p_adjusted=p_adj,
                      flagged=np.nan_to_num(p_adj, nan=1.0) < alpha, alpha=alpha, tables=tuple(tables),
                      imputed_statistic=per, imputed_p_value=per_p, n_imputations=n_imputations,
                      n_omitted=n_omitted)


def _group_labels(shape: tuple[int, int], groupings: list[list[Int]]) -> tuple[Int, Int, Int]:
    """For :func:`_group_statistic`: the (score, item) cells in some group, their group number,
    and the item of every group."""
    label = np.full(shape, -1, dtype=np.int64)
    offset = 0
    for i, groups in enumerate(groupings):
        for g in groups:
            label[g, i] = offset
            offset += 1
    used = np.flatnonzero(label.ravel() >= 0)
    item_of_group = np.repeat(np.arange(shape[1]), [len(g) for g in groupings])
    return used, label.ravel()[used], item_of_group


def _group_statistic(n_k: Float, correct_k: Float, e: Float, labels: tuple[Int, Int, Int]) -> Float:
    """:func:`_statistic` without the tables, vectorised over items (one completed data set)."""
    used, lab, item_of_group = labels
    n_groups = item_of_group.size
    gn = np.bincount(lab, weights=np.broadcast_to(n_k[:, None], e.shape).ravel()[used], minlength=n_groups)
    go = np.bincount(lab, weights=correct_k.ravel()[used], minlength=n_groups)
    ge = np.bincount(lab, weights=(n_k[:, None] * e).ravel()[used], minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        cells = (go - ge) ** 2 / ge + (go - ge) ** 2 / (gn - ge)
    cells = np.where(np.isnan(cells), 0.0, cells)  # as np.nansum in _statistic
    stat: Float = np.bincount(item_of_group, weights=cells, minlength=e.shape[1]).astype(np.float64)
    return stat


@dataclass(frozen=True)
class FormSplit:
    """Which item set (form) each examinee's responses are analysed on (:func:`split_forms`).

    Attributes
    ----------
    forms : tuple of ndarray of int
        Item columns of each form, most examinees first.
    row_form : ndarray of int, shape (n_examinees,)
        Index into ``forms``; -1: left out (presented an item outside every form).
    n_patterns : int
        Distinct presentation patterns in the data.
    pooled : bool
        No pattern qualified as a form: all presented items are one form (every NaN an omission).
    """

    forms: tuple[Int, ...]
    row_form: Int
    n_patterns: int
    pooled: bool


def split_forms(observed: ArrayLike, *, min_examinees: int = 100, min_items: int = 3) -> FormSplit:
    """Tell genuine forms (item sets presented by design) from omissions (NaN cells inside a form).

    A presentation pattern (the set of items with a response) is a **form** when at least
    ``min_examinees`` examinees have it, it has at least ``min_items`` items, and no pattern
    with strictly more items that contains it is at least as frequent. Sporadic omissions make
    the complete pattern of a form the most frequent pattern among its subsets (each extra
    omission is rarer than none while the omission rate is below one half), so a pattern one
    or two blanks short of a form is never a form, however many examinees it has; parallel
    forms are not subsets of one another and stay apart.

    Every examinee joins the form with the fewest items that contains all their presented
    items (their missing cells on it are omissions); one whose presented items fit in no form
    is left out (``row_form`` -1). When no pattern qualifies but there are ``min_examinees``
    examinees and ``min_items`` presented items, all presented items are one form
    (``pooled``): every NaN is then imputed, which is valid under the model when the NaN are
    missing at random, as a form design is.
    """
    obs = np.asarray(observed, dtype=bool)
    n_rows, n_items = obs.shape
    if n_rows == 0:
        return FormSplit(forms=(), row_form=np.zeros(0, dtype=np.int64), n_patterns=0, pooled=False)
    packed = np.ascontiguousarray(np.packbits(obs, axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).reshape(-1)
    _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    inverse = np.asarray(inverse).reshape(-1)
    patterns = obs[first]  # (P, J)
    sizes = patterns.sum(axis=1)
    cand = np.flatnonzero((counts >= min_examinees) & (sizes >= min_items))
    forms: list[int] = []
    if cand.size:
        cp = patterns[cand].astype(np.float64)
        inter = cp @ cp.T  # items in common
        cs, cc = sizes[cand], counts[cand]
        contains = (inter == cs[None, :]) & (cs[:, None] > cs[None, :])  # [d, c]: d strictly contains c
        dominated = (contains & (cc[:, None] >= cc[None, :])).any(axis=0)
        order = np.lexsort((-cs, -cc))  # most examinees first, then more items
        forms = [int(cand[k]) for k in order if not dominated[k]]
    pooled = False
    if forms:
        form_sets = patterns[forms]
    else:
        presented: Bool = np.asarray(obs.any(axis=0), dtype=bool)
        if n_rows < min_examinees or presented.sum() < min_items:
            return FormSplit(forms=(), row_form=np.full(n_rows, -1, dtype=np.int64),
                             n_patterns=int(counts.size), pooled=False)
        form_sets, pooled = presented[None, :], True
    outside = patterns.astype(np.float64) @ (~form_sets).astype(np.float64).T  # (P, F) presented items outside
    form_size = form_sets.sum(axis=1)
    score = np.where(outside == 0, form_size[None, :], n_items + 1)  # smallest containing form
    best = np.argmin(score, axis=1)
    pattern_form = np.where(score[np.arange(best.size), best] <= n_items, best, -1)
    return FormSplit(forms=tuple(np.flatnonzero(f) for f in form_sets),
                     row_form=pattern_form[inverse].astype(np.int64), n_patterns=int(counts.size), pooled=pooled)
