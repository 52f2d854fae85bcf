"""Pure statistics of the analysis reports (题目分析报告): arrays and item parameters in, frozen
dataclasses out. No database, no Flask; :mod:`grading.psychometrics.reports` loads the rows (runs, response
sets, parameters, papers), checks who may read what and calls these.

* model curves of one item (:func:`item_curves`);
* the latent posterior with items fixed (:func:`latent_posterior`), the same for every item
  left out in turn (:class:`LeaveOneOut`) and the observed ICC by rest-θ group
  (:func:`observed_icc`, :func:`rest_theta_icc`);
* the distractor table (:func:`distractor_rows`);
* a form's reliability and summed-score distribution (:func:`form_reliability`,
  :func:`score_distribution`, :func:`form_summary`);
* Mantel–Haenszel DIF tables (:func:`dif_table`) and their matching strata
  (:func:`theta_strata`, :func:`group_values`).

The conventions of the response arrays and the rest-θ grouping are described in
:mod:`grading.psychometrics.reports`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from grading.psychometrics import ctt, dif
from itembank import irtmodel

Float = NDArray[np.float64]

__all__ = [
    "BLANK_LABEL",
    "MISSING",
    "THETA_GRID",
    "DifComparison",
    "DifRow",
    "FormReliability",
    "ItemCurves",
    "LeaveOneOut",
    "ObservedIcc",
    "OptionRow",
    "RestScores",
    "RestTheta",
    "ScoreGroup",
    "binary_columns",
    "column_max",
    "dif_table",
    "distractor_rows",
    "form_reliability",
    "form_summary",
    "group_values",
    "item_curves",
    "latent_posterior",
    "observed_icc",
    "rest_theta_icc",
    "score_distribution",
    "theta_strata",
]

THETA_GRID: Float = np.round(np.linspace(-4.0, 4.0, 81), 3)
N_GROUPS = 10
MIN_GROUP_SIZE = 20  # fewer groups when the item was presented to few examinees
BLANK_LABEL = "未作答/未记录"
MISSING = ""  # a missing group label in ResponseSet groups
_EPS = 1e-12


@dataclass(frozen=True)
class ItemCurves:
    """Model curves of one item over ``theta``: probability correct and item information."""

    theta: Float
    probability: Float
    information: Float


def item_curves(a: float, b: float, c: float | None = None, theta: ArrayLike | None = None) -> ItemCurves:
    """``P(θ) = c + (1 − c) / (1 + exp(−a (θ − b)))`` and its information over ``theta``."""
    grid = THETA_GRID if theta is None else np.asarray(theta, dtype=float)
    cc = 0.0 if c is None else float(c)
    p = irtmodel.prob(grid, np.array([a]), np.array([b]), np.array([cc]))[:, 0]
    info = irtmodel.information(grid, np.array([a]), np.array([b]), np.array([cc]))[:, 0]
    return ItemCurves(theta=grid, probability=p, information=info)


def binary_columns(scores: Float) -> NDArray[np.bool_]:
    """Columns whose presented scores are all 0 or 1."""
    presented = ~np.isnan(scores)
    bad = presented & (scores != 0.0) & (scores != 1.0)
    return np.asarray(~bad.any(axis=0))


def latent_posterior(
    scores: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    c: ArrayLike | None = None,
    *,
    n_nodes: int = 81,
    theta_range: tuple[float, float] = (-7.0, 7.0),
    max_iter: int = 50,
    tol: float = 1e-4,
) -> tuple[Float, Float, float, float]:
    """Posterior over a θ grid for every examinee, items fixed, latent N(μ, σ²) estimated.

    ``scores`` is 0/1/NaN ``(n_examinees, n_items)`` for the items whose (bank-scale)
    parameters are given. μ and σ start at 0 and 1 and are updated by EM (the mean and the
    variance of the posteriors) until they move less than ``tol``.

    Returns
    -------
    nodes : ndarray (Q,)
    posterior : ndarray (n_examinees, Q)
        Rows sum to 1; an examinee with no item presented gets the prior.
    mean, sd : float
        The latent distribution used.
    """
    x = np.asarray(scores, dtype=float)
    a_ = np.atleast_1d(np.asarray(a, dtype=float))
    b_ = np.atleast_1d(np.asarray(b, dtype=float))
    c_ = np.zeros_like(a_) if c is None else np.nan_to_num(np.atleast_1d(np.asarray(c, dtype=float)))
    nodes = np.linspace(theta_range[0], theta_range[1], n_nodes)
    presented = ~np.isnan(x)
    xs = np.where(presented, x, 0.0)
    m = presented.astype(float)
    if a_.size:
        p = np.clip(irtmodel.prob(nodes, a_, b_, c_), _EPS, 1.0 - _EPS)
        log_p, log_q = np.log(p), np.log1p(-p)
        ll = xs @ (log_p - log_q).T + m @ log_q.T  # (N, Q)
    else:
        ll = np.zeros((x.shape[0], n_nodes))
    mean, sd = 0.0, 1.0
    post = np.empty_like(ll)
    for _ in range(max_iter):
        log_prior = -0.5 * ((nodes - mean) / sd) ** 2
        post = ll + log_prior[None, :]
        post -= post.max(axis=1, keepdims=True)
        np.exp(post, out=post)
        post /= post.sum(axis=1, keepdims=True)
        if x.shape[0] == 0:
            break
        eap = post @ nodes
        new_mean, new_sd = _latent_update(eap, post @ nodes**2 - eap**2)
        moved = max(abs(new_mean - mean), abs(new_sd - sd))
        mean, sd = new_mean, new_sd
        if moved < tol:
            log_prior = -0.5 * ((nodes - mean) / sd) ** 2
            post = ll + log_prior[None, :]
            post -= post.max(axis=1, keepdims=True)
            np.exp(post, out=post)
            post /= post.sum(axis=1, keepdims=True)
            break
    return nodes, post, mean, sd


def _latent_update(eap: Float, var: Float) -> tuple[float, float]:
    """One EM step of the latent N(μ, σ²): the mean and variance of the posteriors."""
    new_mean = float(eap.mean())
    new_sd = float(np.sqrt(max(float(np.mean(np.maximum(var, 0.0)) + np.var(eap)), 1e-4)))
    return new_mean, min(max(new_sd, 0.2), 5.0)


@dataclass(frozen=True)
class RestTheta:
    """What the observed ICC of one item needs from its rest posterior (:class:`LeaveOneOut`)."""

    theta: Float  # (N,) rest EAP θ
    expected: Float  # (N,) ∫ P(θ) posterior(θ) dθ for the item's curve
    mean: float  # the latent distribution used
    sd: float


class LeaveOneOut:
    """:func:`latent_posterior` of every column left out in turn, in O(N·J·Q) instead of O(N·J²·Q).

    The full log-likelihood ``ll`` (N, Q) of all columns is built once and kept as
    ``L = exp(ll − max_q ll)`` per examinee. Leaving column ``k`` out subtracts its own term,
    ``x·(log p − log q) + m·log q``: in ``L`` a division of the examinee's row by ``p_k(θ)``
    (answered 1), by ``q_k(θ)`` (answered 0) or by nothing (not presented). The posterior under
    the prior N(μ, σ²) is ``L_k · w / Σ L_k · w`` with ``w = exp(−½((θ − μ)/σ)²)``, so each EM
    step is one (N, Q) × (Q, 3) product (weight, θ, θ²) instead of an ``exp`` of (N, Q).

    The EM is that of :func:`latent_posterior` (start at μ = 0, σ = 1, same update, same
    stopping rule and ``tol``), so the results agree with it to rounding (≈ 1e-12), not to the
    EM tolerance. Rows whose weighted sum underflows (a likelihood peak far in the tail of a
    narrow prior) are computed in the log domain exactly as :func:`latent_posterior` does.
    """

    _TINY = 1e-200
    _BLOCK = 2048  # rows per block: (2048, 81) float64 is 1.3 MB, in cache

    def __init__(
        self,
        scores: ArrayLike,
        a: ArrayLike,
        b: ArrayLike,
        c: ArrayLike | None = None,
        *,
        n_nodes: int = 81,
        theta_range: tuple[float, float] = (-7.0, 7.0),
        max_iter: int = 50,
        tol: float = 1e-4,
    ) -> None:
        x = np.asarray(scores, dtype=float)
        a_ = np.atleast_1d(np.asarray(a, dtype=float))
        b_ = np.atleast_1d(np.asarray(b, dtype=float))
        c_ = np.zeros_like(a_) if c is None else np.nan_to_num(np.atleast_1d(np.asarray(c, dtype=float)))
        self.nodes: Float = np.linspace(theta_range[0], theta_range[1], n_nodes)
        self.max_iter, self.tol = max_iter, tol
        self.n_items = a_.size
        presented = ~np.isnan(x)
        # Row code per column: 0 answered 0, 1 answered 1, 2 not presented.
        self._code = np.where(presented, (x == 1.0).astype(np.int8), np.int8(2)).astype(np.intp)
        if a_.size:
            p = np.clip(irtmodel.prob(self.nodes, a_, b_, c_), _EPS, 1.0 - _EPS)  # (Q, J)
            self._log_p, self._log_q = np.log(p), np.log1p(-p)
            xs = np.where(presented, x, 0.0)
            ll = xs @ (self._log_p - self._log_q).T + presented.astype(float) @ self._log_q.T
        else:
            self._log_p = self._log_q = np.zeros((n_nodes, 0))
            ll = np.zeros((x.shape[0], n_nodes))
        self._ll: Float = ll
        self._lik: Float = np.exp(ll - ll.max(axis=1, keepdims=True)) if ll.size else ll.copy()

    def _moments(self, k: int, log_prior: Float, columns: Float) -> Float:
        """``posterior @ columns`` (N, C) of every examinee with column ``k`` left out, under the
        prior ``exp(log_prior)``: one pass over the likelihood in cache-sized row blocks."""
        w = np.exp(log_prior - log_prior.max())
        weights = w[:, None] * np.column_stack([np.ones_like(w), columns])  # (Q, 1 + C)
        n = self._lik.shape[0]
        out = np.empty((n, columns.shape[1]))
        leave_out = 0 <= k < self.n_items
        if leave_out:
            log_p, log_q = self._log_p[:, k], self._log_q[:, k]
            inv = np.stack([np.exp(-log_q), np.exp(-log_p), np.ones_like(w)])  # by row code
            contrib = np.stack([log_q, log_p, np.zeros_like(w)])
            code = self._code[:, k]
            buf = np.empty((min(self._BLOCK, n), w.size))
        for start in range(0, n, self._BLOCK):
            rows = slice(start, min(start + self._BLOCK, n))
            if leave_out:
                block = buf[: rows.stop - start]
                np.take(inv, code[rows], axis=0, out=block)
                block *= self._lik[rows]
            else:
                block = self._lik[rows]
            s = block @ weights
            sums = s[:, 0]
            out[rows] = s[:, 1:] / np.where(sums > 0, sums, 1.0)[:, None]
            bad = ~(sums > self._TINY)
            if bad.any():  # in the log domain, as latent_posterior
                ll = self._ll[rows][bad]
                if leave_out:
                    ll = ll - contrib[code[rows][bad]]
                post = ll + log_prior[None, :]
                post -= post.max(axis=1, keepdims=True)
                np.exp(post, out=post)
                post /= post.sum(axis=1, keepdims=True)
                out[start + np.flatnonzero(bad)] = post @ columns
        return out

    def rest(self, k: int, item_probability: ArrayLike) -> RestTheta:
        """Rest EAP θ and expected score of every examinee with column ``k`` left out (``k``
        outside the columns given: nothing left out); ``item_probability`` is the item's
        P(θ) over :attr:`nodes`."""
        nodes = self.nodes
        # The EM of latent_posterior; the posterior it returns is the one of the last prior used.
        mean, sd = 0.0, 1.0
        used = (mean, sd)
        for _ in range(self.max_iter):
            used = (mean, sd)
            if self._lik.shape[0] == 0:
                break
            m = self._moments(k, -0.5 * ((nodes - mean) / sd) ** 2, np.column_stack([nodes, nodes**2]))
            eap = m[:, 0]
            new_mean, new_sd = _latent_update(eap, m[:, 1] - eap**2)
            moved = max(abs(new_mean - mean), abs(new_sd - sd))
            mean, sd = new_mean, new_sd
            if moved < self.tol:
                used = (mean, sd)
                break
        log_prior = -0.5 * ((nodes - used[0]) / used[1]) ** 2
        final = self._moments(k, log_prior, np.column_stack([nodes, np.asarray(item_probability, dtype=float)]))
        return RestTheta(theta=final[:, 0], expected=final[:, 1], mean=mean, sd=sd)


@dataclass(frozen=True)
class ScoreGroup:
    """One ability group of the observed ICC."""

    index: int  # 1 = lowest θ
    n: int
    theta_mean: float
    theta_min: float
    theta_max: float
    observed: float  # proportion correct (mean item score)
    expected: float  # model prediction for these examinees (mean posterior-predicted P)
    model_at_mean: float  # the ICC at theta_mean

    @property
    def se(self) -> float:
        """Binomial standard error of the observed proportion under the model."""
        return math.sqrt(max(self.expected * (1.0 - self.expected), 0.0) / self.n) if self.n else math.nan


@dataclass(frozen=True)
class ObservedIcc:
    """Observed proportions correct by ability group, with the model's expectations.

    ``rmsd`` is the n-weighted root mean square of observed − expected; ``chi_square`` the
    Pearson statistic ``Σ n (O − E)² / (E (1 − E))`` over the groups (a descriptive index,
    not a test: S-X2 is the item-fit test).
    """

    groups: tuple[ScoreGroup, ...]
    n: int
    rmsd: float
    chi_square: float
    latent_mean: float
    latent_sd: float
    n_matching_items: int


def observed_icc(
    item_scores: ArrayLike,
    theta: ArrayLike,
    expected: ArrayLike,
    a: float,
    b: float,
    c: float | None = None,
    *,
    n_groups: int = N_GROUPS,
    min_group_size: int = MIN_GROUP_SIZE,
    latent: tuple[float, float] = (0.0, 1.0),
    n_matching_items: int = 0,
) -> ObservedIcc:
    """Group the examinees presented the item into quantile groups of ``theta`` (values equal
    to 1e-9 are tied and keep their order).

    Parameters
    ----------
    item_scores : (N,) 0/1 or NaN (not presented)
    theta : (N,) ability used for grouping (the rest EAP θ)
    expected : (N,) model-predicted probability correct per examinee
    a, b, c : the item's parameters (for ``model_at_mean``)
    n_groups : at most this many groups; fewer so that each has ``min_group_size`` examinees.
    """
    y = np.asarray(item_scores, dtype=float)
    t = np.asarray(theta, dtype=float)
    e = np.asarray(expected, dtype=float)
    ok = ~np.isnan(y) & ~np.isnan(t)
    n = int(ok.sum())
    k = max(1, min(n_groups, n // max(min_group_size, 1)))
    groups: list[ScoreGroup] = []
    if n:
        # θ equal to 1e-9 is a tie, kept in examinee order: examinees with the same rest
        # pattern have the same θ, which rounding may leave a few ulps apart depending on how
        # it was computed (their own answer divided out, or never in), and which side of a
        # group boundary each falls on must not hang on that.
        order = np.argsort(np.round(t[ok], 9), kind="stable")
        ys, ts, es = y[ok][order], t[ok][order], e[ok][order]
        for g, idx in enumerate(np.array_split(np.arange(n), k), start=1):
            if idx.size == 0:
                continue
            tm = float(ts[idx].mean())
            p_at = float(item_curves(a, b, c, np.array([tm])).probability[0])
            groups.append(ScoreGroup(
                index=g, n=int(idx.size), theta_mean=tm, theta_min=float(ts[idx].min()),
                theta_max=float(ts[idx].max()), observed=float(ys[idx].mean()), expected=float(es[idx].mean()),
                model_at_mean=p_at,
            ))
    if groups:
        w = np.array([g.n for g in groups], dtype=float)
        o = np.array([g.observed for g in groups])
        ex = np.array([g.expected for g in groups])
        rmsd = float(np.sqrt(np.sum(w * (o - ex) ** 2) / w.sum()))
        den = np.clip(ex * (1.0 - ex), 1e-9, None)
        chi = float(np.sum(w * (o - ex) ** 2 / den))
    else:
        rmsd = chi = math.nan
    return ObservedIcc(groups=tuple(groups), n=n, rmsd=rmsd, chi_square=chi, latent_mean=latent[0],
                       latent_sd=latent[1], n_matching_items=n_matching_items)


@dataclass(frozen=True)
class OptionRow:
    """One row of the distractor table (选项分析)."""

    label: str
    n: int
    share: float
    rest_correlation: float  # NaN when undefined (nobody or everybody chose it)
    is_key: bool

    @property
    def warning(self) -> bool:
        """A distractor chosen more by stronger examinees: check the key and the option."""
        return (not self.is_key) and self.label != BLANK_LABEL and self.rest_correlation > 0


def column_max(scores: Float) -> Float:
    """Maximum score per column: 1 for 0/1 items, else the highest observed score."""
    if scores.shape[0] == 0:
        return np.ones(scores.shape[1])
    top = np.where(np.isnan(scores), -np.inf, scores).max(axis=0)
    return np.where(np.isfinite(top) & (top > 1.0), top, 1.0)


def _rest_score(scores: Float, j: int) -> tuple[Float, NDArray[np.bool_]]:
    """Mean proportion-of-maximum over the other presented items (as in :mod:`grading.psychometrics.ctt`)."""
    presented = ~np.isnan(scores)
    scaled = np.where(presented, scores / column_max(scores), 0.0)
    others = np.ones(scores.shape[1], dtype=bool)
    others[j] = False
    count = presented[:, others].sum(axis=1).astype(float)
    total = scaled[:, others].sum(axis=1)
    rest = np.divide(total, count, out=np.full(count.shape, np.nan), where=count > 0)
    return rest, presented[:, j] & (count > 0)


class RestScores:
    """:func:`_rest_score` of every column from one pass over the matrix.

    The rest score of column ``j`` is ``(Σ scaled − scaled_j) / (Σ presented − presented_j)``.
    When every scaled score is a whole number (0/1 items: the usual case) the sums are exact,
    so this is bit for bit :func:`_rest_score`; otherwise (a polytomous column) the sums of
    fractions could differ from the per-column sum in the last bit, and each column is
    computed as :func:`_rest_score` does.
    """

    def __init__(self, scores: ArrayLike) -> None:
        self.scores = np.asarray(scores, dtype=float)
        self.presented = ~np.isnan(self.scores)
        scaled = np.where(self.presented, self.scores / column_max(self.scores), 0.0)
        self.exact = bool(np.all(scaled == np.round(scaled))) and self.scores.shape[1] < 2**52
        self.scaled = scaled
        self.total = scaled.sum(axis=1)
        self.count = self.presented.sum(axis=1)

    def of(self, j: int) -> tuple[Float, NDArray[np.bool_]]:
        if not self.exact:
            return _rest_score(self.scores, j)
        count = (self.count - self.presented[:, j]).astype(float)
        total = self.total - self.scaled[:, j]
        rest = np.divide(total, count, out=np.full(count.shape, np.nan), where=count > 0)
        return rest, self.presented[:, j] & (count > 0)


def _corr(x: Float, y: Float) -> float:
    if x.size < 2:
        return math.nan
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy = float(dx @ dx), float(dy @ dy)
    tiny = 1e-12 * x.size
    if sxx <= tiny or syy <= tiny:
        return math.nan
    return float(np.clip((dx @ dy) / math.sqrt(sxx * syy), -1.0, 1.0))


def distractor_rows(
    scores: ArrayLike,
    choices: ArrayLike,
    j: int,
    labels: Sequence[str] | Mapping[int, str],
    key: str | Sequence[str],
    *,
    rest_scores: RestScores | None = None,
) -> tuple[OptionRow, ...]:
    """The distractor table of column ``j``: share and option–rest correlation per option.

    ``choices[:, j]`` holds choice codes: with a sequence of ``labels`` the code is the index
    of the option (单选题 A = 0 …, 判断题 √ = 0, × = 1); with a mapping, the codes it lists
    (多选题 bit masks → "AC"). −1 or an unknown code is 「未作答」. Only examinees presented
    the item (``scores`` not NaN) count, so the shares sum to 1. The rest score is the mean
    proportion-of-maximum over the other presented items, so the key's correlation equals the
    item's corrected point-biserial (:func:`grading.psychometrics.ctt.corrected_point_biserial`) when the
    score is 1 exactly for the key. ``rest_scores`` (:class:`RestScores` of the same ``scores``)
    saves recomputing the rest scores of the whole matrix for every column.
    """
    x = np.asarray(scores, dtype=float)
    ch = np.asarray(choices)
    keys = {key} if isinstance(key, str) else set(key)
    by_code = dict(labels) if isinstance(labels, Mapping) else dict(enumerate(labels))
    presented = ~np.isnan(x[:, j])
    rest, valid = _rest_score(x, j) if rest_scores is None else rest_scores.of(j)
    codes = ch[:, j].astype(np.int64)
    n_presented = int(presented.sum())
    option_codes: list[tuple[str, NDArray[np.bool_]]] = [(label, codes == k) for k, label in by_code.items()]
    blank = ~np.isin(codes, list(by_code))
    if (blank & presented).any():
        option_codes.append((BLANK_LABEL, blank))
    rows = []
    for label, chosen in option_codes:
        chosen = chosen & presented
        n = int(chosen.sum())
        r = _corr(chosen[valid].astype(float), rest[valid])
        rows.append(OptionRow(label=label, n=n, share=n / n_presented if n_presented else math.nan,
                              rest_correlation=r, is_key=label in keys))
    return tuple(rows)


@dataclass(frozen=True)
class FormReliability:
    """Observed statistics of one form among the examinees who took all its items."""

    n_examinees: int
    n_items: int
    method: str  # "KR-20" (0/1 items) or "α"
    alpha: float
    alpha_if_deleted: Float
    difficulty: Float
    point_biserial: Float
    scores: Float  # summed score per examinee
    mean: float
    sd: float
    sem: float  # classical SEM = SD √(1 − α)


def form_reliability(scores: ArrayLike) -> FormReliability:
    """KR-20 (or Cronbach's α for polytomous scores) with α-if-deleted, p, corrected
    point-biserial and the summed scores of a complete ``(n_examinees, n_items)`` matrix."""
    x = np.asarray(scores, dtype=float)
    binary = bool(binary_columns(x).all())
    rel = ctt.kr20(x) if binary else ctt.cronbach_alpha(x)
    stats = ctt.item_statistics(x, max_scores=None if binary else column_max(x))
    total = x.sum(axis=1)
    sd = float(total.std(ddof=1)) if total.size > 1 else math.nan
    alpha = float(rel.alpha)
    sem = sd * math.sqrt(1.0 - alpha) if math.isfinite(alpha) and alpha <= 1 and math.isfinite(sd) else math.nan
    return FormReliability(
        n_examinees=x.shape[0], n_items=x.shape[1], method="KR-20" if binary else "α", alpha=alpha,
        alpha_if_deleted=rel.alpha_if_deleted, difficulty=stats.difficulty, point_biserial=stats.point_biserial,
        scores=total, mean=float(total.mean()) if total.size else math.nan, sd=sd, sem=sem,
    )


def score_distribution(total: ArrayLike, max_score: float) -> tuple[list[int], list[int]]:
    """Histogram of summed scores: every integer score 0 … max_score and its count
    (non-integer totals are rounded down into their bin)."""
    t = np.asarray(total, dtype=float)
    top = max(int(math.ceil(max_score)), int(t.max()) if t.size else 0)
    counts = np.bincount(np.floor(t).astype(np.int64), minlength=top + 1) if t.size else np.zeros(top + 1, int)
    return list(range(top + 1)), [int(v) for v in counts]


@dataclass(frozen=True)
class DifRow:
    """One item of one reference/focal comparison."""

    item_id: int
    code: str
    alpha_mh: float
    d_dif: float
    se: float
    chi_square: float
    p_value: float
    ets_class: str | None
    n_reference: int
    n_focal: int

    @property
    def favours(self) -> str:
        """Whom the item favours at equal ability (ETS sign: D < 0 favours the reference)."""
        if not math.isfinite(self.d_dif) or self.ets_class in (None, "A"):
            return ""
        return "参照组" if self.d_dif < 0 else "目标组"


@dataclass(frozen=True)
class DifComparison:
    focal: str
    n_focal: int
    rows: tuple[DifRow, ...]

    @property
    def counts(self) -> dict[str, int]:
        out = {"A": 0, "B": 0, "C": 0, "—": 0}
        for row in self.rows:
            out[row.ets_class or "—"] += 1
        return out


def dif_table(
    scores: ArrayLike,
    labels: ArrayLike,
    reference: str,
    item_ids: Sequence[int],
    codes: Sequence[str],
    *,
    matching_score: ArrayLike | None = None,
    alpha: float = 0.05,
) -> tuple[DifComparison, ...]:
    """Mantel–Haenszel DIF of every (0/1) column against ``reference``, one comparison per
    other label (:func:`grading.psychometrics.dif.mantel_haenszel_by_group`). Empty labels are missing."""
    g = np.array(labels, dtype=object)  # a copy: missing labels become None below
    g[g == MISSING] = None
    results = dif.mantel_haenszel_by_group(scores, g, reference, matching_score=matching_score, alpha=alpha)
    out = []
    for focal in sorted(results, key=str):
        res = results[focal]
        rows = tuple(
            DifRow(item_id=int(item_ids[k]), code=codes[k], alpha_mh=float(res.alpha_mh[k]),
                   d_dif=float(res.d_dif[k]), se=float(res.se_d_dif[k]), chi_square=float(res.chi_square[k]),
                   p_value=float(res.p_value[k]), ets_class=res.ets_class[k], n_reference=int(res.n_reference[k]),
                   n_focal=int(res.n_focal[k]))
            for k in range(len(item_ids))
        )
        out.append(DifComparison(focal=str(focal), n_focal=int(np.count_nonzero(g == focal)), rows=rows))
    return tuple(out)


def rest_theta_icc(
    item_scores: ArrayLike,
    nodes: Float,
    posterior: Float,
    a: float,
    b: float,
    c: float | None,
    *,
    latent: tuple[float, float],
    n_matching_items: int,
) -> ObservedIcc:
    """The observed ICC of one item with examinees grouped by their rest EAP θ (``posterior``
    over ``nodes`` from the other items, :func:`latent_posterior`) and each group's expected
    proportion the mean of ``∫ P(θ) posterior(θ) dθ``."""
    theta = posterior @ nodes
    p_nodes = item_curves(a, b, c, nodes).probability
    return observed_icc(item_scores, theta, posterior @ p_nodes, a, b, c, latent=latent,
                        n_matching_items=n_matching_items)


def form_summary(scores: ArrayLike) -> tuple[FormReliability, tuple[tuple[int, ...], tuple[int, ...]]]:
    """Reliability and the summed-score histogram (every score 0 … the form's maximum) of a
    complete ``(n_examinees, n_items)`` matrix of one form's takers."""
    x = np.asarray(scores, dtype=float)
    rel = form_reliability(x)
    hist = score_distribution(rel.scores, float(column_max(x).sum()))
    return rel, (tuple(hist[0]), tuple(hist[1]))


def group_values(column: NDArray[np.str_]) -> tuple[tuple[str, int], ...]:
    """The labels of one group column with their examinee counts, most frequent first (missing
    labels left out)."""
    labels, counts = np.unique(column[column != MISSING], return_counts=True)
    pairs = sorted(zip(labels.tolist(), counts.tolist(), strict=True), key=lambda t: (-t[1], t[0]))
    return tuple((str(v), int(n)) for v, n in pairs)


def theta_strata(theta: Float) -> Float:
    """DIF matching strata from ability estimates: 2–20 equal-count strata (about 50 examinees
    each), numbered 0, 1, … as floats."""
    n = theta.size
    k = min(20, max(2, n // 50))
    edges = np.quantile(theta, np.linspace(0, 1, k + 1)[1:-1])
    return np.searchsorted(edges, theta, side="right").astype(float)
