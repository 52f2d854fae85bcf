"""Analysis reports (题目分析报告): the item report, the paper report and the DIF report.

Two layers:

* **pure builders** take arrays and parameters and return frozen dataclasses (observed
  proportions by ability group, the distractor table, a form's reliability and score
  distribution, the Mantel–Haenszel table of one grouping);
* **loaders** (:func:`item_report`, :func:`paper_report`, :func:`dif_report`) read the rows
  (items, papers, calibration runs, response sets, item parameters), call the builders and
  return one report object that the pages, the JSON chart endpoints and the Excel workbooks
  (:mod:`grading.report_excel`) all render. They only read; nothing is written or audited.

Who reads what
--------------
The loaders take the actor. Only the analysts (centre admin, item reviewers) read reports
(:class:`PermissionDenied` otherwise). A reviewer reads only inside their assignments
(:mod:`itembank.access`): a run of a response set outside their occupations is
:class:`NotFound`, so is the item report of an item they may not read (it shows the stem and
the key); a paper outside their (occupation, institution) pairs is :class:`PermissionDenied`
(as in the item bank). Reports over many items (run results, paper forms, DIF) **omit** the
rows of items the reviewer may not read and say how many were omitted; the aggregate figures
(linking constants, test information, reliability, DIF matching) are those of the whole run
or form, as the centre sees them — they reveal no item. One rule: an item the reader may not
read never appears by code, stem or key; everything else is shown.

Conventions of the stored response sets (:class:`grading.models.ResponseSet`)
-------------------------------------------------------------------------------
``scores`` is ``(n_examinees, n_items)`` with NaN for an item not presented, in the column
order of ``item_ids``. ``choices`` (optional, int8) is the 0-based index of the chosen option
in the item's option list (A = 0, B = 1 …; 判断题 √ = 0, × = 1), −1 for no choice.
``groups`` (optional, strings) is ``(n_examinees, len(group_names))``; an empty string is a
missing label.

Observed proportions on the ICC
-------------------------------
Examinees who were presented the item are grouped into (up to) 10 equal-sized quantile groups
of their **rest EAP θ**: the expected a posteriori ability computed from all *other* 0/1 items
of the run's response set that have parameters in that run (the studied item is left out, so
an examinee's own answer to it does not decide their group — the IRT analogue of the
corrected point-biserial). Parameters are on the bank scale, so the ability prior is the
latent N(μ, σ²) estimated from the data with the items held fixed (a few EM steps on μ and
σ from N(0, 1)). Each group is plotted at its mean θ with its observed proportion correct; its
**expected** proportion is the mean over its examinees of ``∫ P(θ) posterior(θ) dθ`` — the
model's own prediction for those examinees, which is what the observed proportion estimates
(the ICC at the group mean differs from it by the shrinkage of EAP estimates).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from foundation.accounts import User, require_role
from foundation.db import as_utc
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.settings import get_rule
from grading import ctt, dif
from grading.calibration import readable_run
from grading.models import CalibrationRun, ItemParameter, ResponseSet
from grading.responses import ANALYSTS
from itembank import access, irtmodel
from itembank.itemtypes import FALSE_MARK, ITEM_TYPES, TRUE_MARK
from itembank.models import Item, Paper, PaperForm, PaperItem
from itembank.papers import information_curves

Float = NDArray[np.float64]

__all__ = [
    "THETA_GRID",
    "DifChoices",
    "DifComparison",
    "DifReport",
    "DifRow",
    "FormItemRow",
    "FormReport",
    "FormReliability",
    "HistoryRow",
    "ItemCurves",
    "ItemReport",
    "ObservedIcc",
    "OptionRow",
    "PaperReport",
    "ScoreGroup",
    "dif_choices",
    "dif_report",
    "dif_table",
    "distractor_rows",
    "form_reliability",
    "item_curves",
    "item_report",
    "latent_posterior",
    "observed_icc",
    "paper_report",
    "score_distribution",
]

THETA_GRID: Float = np.round(np.linspace(-4.0, 4.0, 81), 3)
N_GROUPS = 10
MIN_GROUP_SIZE = 20  # fewer groups when the item was presented to few examinees
BLANK_LABEL = "未作答/未记录"
MISSING = ""  # a missing group label in ResponseSet groups
_EPS = 1e-12
BEIJING = ZoneInfo("Asia/Shanghai")

def _num(value: Any) -> float | None:
    """A JSON/Excel-safe float: None for missing, NaN or infinite values."""
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def _r(value: Any, digits: int = 4) -> float | None:
    v = _num(value)
    return None if v is None else round(v, digits)


# =========================================================================== pure builders


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


def _binary_columns(scores: Float) -> NDArray[np.bool_]:
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
        var = post @ nodes**2 - eap**2
        new_mean = float(eap.mean())
        new_sd = float(np.sqrt(max(float(np.mean(np.maximum(var, 0.0)) + np.var(eap)), 1e-4)))
        new_sd = min(max(new_sd, 0.2), 5.0)
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
    """Group the examinees presented the item into quantile groups of ``theta``.

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
        order = np.argsort(t[ok], kind="stable")
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


def _column_max(scores: Float) -> Float:
    """Maximum score per column: 1 for 0/1 items, else the highest observed score."""
    if scores.shape[0] == 0:
        return np.ones(scores.shape[1])
    top = np.where(np.isnan(scores), -np.inf, scores).max(axis=0)
    return np.where(np.isfinite(top) & (top > 1.0), top, 1.0)


def _rest_score(scores: Float, j: int) -> tuple[Float, NDArray[np.bool_]]:
    """Mean proportion-of-maximum over the other presented items (as in :mod:`grading.ctt`)."""
    presented = ~np.isnan(scores)
    scaled = np.where(presented, scores / _column_max(scores), 0.0)
    others = np.ones(scores.shape[1], dtype=bool)
    others[j] = False
    count = presented[:, others].sum(axis=1).astype(float)
    total = scaled[:, others].sum(axis=1)
    rest = np.divide(total, count, out=np.full(count.shape, np.nan), where=count > 0)
    return rest, presented[:, j] & (count > 0)


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
) -> tuple[OptionRow, ...]:
    """The distractor table of column ``j``: share and option–rest correlation per option.

    ``choices[:, j]`` holds choice codes: with a sequence of ``labels`` the code is the index
    of the option (单选题 A = 0 …, 判断题 √ = 0, × = 1); with a mapping, the codes it lists
    (多选题 bit masks → "AC"). −1 or an unknown code is 「未作答」. Only examinees presented
    the item (``scores`` not NaN) count, so the shares sum to 1. The rest score is the mean
    proportion-of-maximum over the other presented items, so the key's correlation equals the
    item's corrected point-biserial (:func:`grading.ctt.corrected_point_biserial`) when the
    score is 1 exactly for the key.
    """
    x = np.asarray(scores, dtype=float)
    ch = np.asarray(choices)
    keys = {key} if isinstance(key, str) else set(key)
    by_code = dict(labels) if isinstance(labels, Mapping) else dict(enumerate(labels))
    presented = ~np.isnan(x[:, j])
    rest, valid = _rest_score(x, j)
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
    binary = bool(_binary_columns(x).all())
    rel = ctt.kr20(x) if binary else ctt.cronbach_alpha(x)
    stats = ctt.item_statistics(x, max_scores=None if binary else _column_max(x))
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
    other label (:func:`grading.dif.mantel_haenszel_by_group`). Empty labels are missing."""
    g = np.asarray(labels, dtype=object)
    g = np.where(g == MISSING, None, g)
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


# =========================================================================== loaders


def _response_arrays(rs: ResponseSet) -> tuple[Float, NDArray[np.int64] | None, NDArray[np.str_] | None]:
    data = rs.arrays()
    scores = np.asarray(data["scores"], dtype=float)
    if scores.ndim != 2:
        scores = scores.reshape(rs.n_examinees, -1)
    choices = data.get("choices")
    if choices is not None:
        choices = np.asarray(choices, dtype=np.int64)
        if choices.shape != scores.shape:
            choices = None
    groups = data.get("groups")
    if groups is not None:
        groups = np.asarray(groups).astype(str)
        if groups.ndim == 1:
            groups = groups.reshape(-1, 1)
        if groups.shape[0] != scores.shape[0]:
            groups = None
    return scores, choices, groups


def _codes(session: Session, item_ids: Iterable[int]) -> dict[int, str]:
    ids = list(set(item_ids))
    if not ids:
        return {}
    return dict(session.execute(select(Item.id, Item.code).where(Item.id.in_(ids))).all())


def _run_label(run: CalibrationRun) -> str:
    """``#12 2PL 2026-11-27`` (the date in Beijing time); ``（模拟数据）`` after a sandbox run's."""
    when = run.finished_at or run.created_at
    sandbox = "（模拟数据）" if run.is_sandbox else ""
    if when is None:
        return f"#{run.id} {run.model.upper()}{sandbox}"
    return f"#{run.id} {run.model.upper()} {as_utc(when).astimezone(BEIJING):%Y-%m-%d}{sandbox}"


def _get_run(session: Session, actor: User, run_id: int) -> CalibrationRun:
    try:
        return readable_run(session, actor, run_id)
    except NotFound:
        raise NotFound("标定记录不存在。") from None


def readable_item_ids(session: Session, actor: User, item_ids: Iterable[int]) -> set[int]:
    """The ids among ``item_ids`` of the items ``actor`` may read (:func:`itembank.access.item_clause`)."""
    ids = list(set(item_ids))
    if not ids:
        return set()
    stmt = select(Item.id).where(Item.id.in_(ids))
    if (clause := access.item_clause(actor)) is not None:
        stmt = stmt.where(clause)
    return set(session.scalars(stmt))


def run_report(session: Session, actor: User, run: CalibrationRun) -> dict[str, Any]:
    """The run's stored report (:attr:`CalibrationRun.report`) with the item lists cut to the
    items ``actor`` may read; ``hidden_items`` counts the items of the set left out."""
    report = dict(run.report or {})
    ids = run.response_set.item_ids
    readable = readable_item_ids(session, actor, ids)
    if len(readable) == len(set(ids)):
        return {**report, "hidden_items": 0}
    codes = {code for _id, code in _codes(session, readable).items()}
    report["dropped_items"] = [d for d in report.get("dropped_items", []) if d.get("item_id") in readable]
    report["flagged"] = [f for f in report.get("flagged", []) if f.get("item_id") in readable]
    for key in ("sent_to_review", "operational", "outside_scope"):
        if key in report:
            report[key] = [c for c in report[key] if c in codes]
    if isinstance(report.get("anchors"), dict):
        anchors = dict(report["anchors"])
        for key in ("used", "dropped_for_drift"):
            if key in anchors:
                anchors[key] = [c for c in anchors[key] if c in codes]
        report["anchors"] = anchors
    report["hidden_items"] = len(set(ids) - readable)
    return report


def _run_parameters(run: CalibrationRun) -> dict[int, ItemParameter]:
    return {p.item_id: p for p in run.parameters}


def _matching_posterior(
    scores: Float, item_ids: Sequence[int], params: dict[int, ItemParameter], exclude: int | None = None
) -> tuple[Float, Float, float, float, int] | None:
    """Posterior from the run's calibrated 0/1 columns (``exclude`` left out)."""
    binary = _binary_columns(scores)
    cols = [k for k, iid in enumerate(item_ids) if iid in params and binary[k] and k != exclude]
    if not cols:
        return None
    a = np.array([params[item_ids[k]].a for k in cols])
    b = np.array([params[item_ids[k]].b for k in cols])
    c = np.array([params[item_ids[k]].c or 0.0 for k in cols])
    nodes, post, mean, sd = latent_posterior(scores[:, cols], a, b, c)
    return nodes, post, mean, sd, len(cols)


# --------------------------------------------------------------------------- item report


@dataclass(frozen=True)
class HistoryRow:
    run_id: int
    run_label: str
    at: dt.datetime
    model: str
    a: float
    b: float
    c: float | None
    se_a: float | None
    se_b: float | None
    n: int
    drift_b: float | None
    is_current: bool
    flags: tuple[str, ...]


@dataclass(frozen=True)
class ItemReport:
    item: Item
    run: CalibrationRun | None
    parameter: ItemParameter | None
    curves: ItemCurves | None
    observed: ObservedIcc | None
    observed_note: str
    options: tuple[OptionRow, ...] | None
    options_note: str
    ctt_n: int | None
    ctt_p: float | None
    ctt_pbis: float | None
    ctt_d: float | None
    history: tuple[HistoryRow, ...]
    flags: tuple[str, ...]  # review flags of the run, Chinese sentences (grading.calibration)
    thresholds: dict[str, Any] = field(default_factory=dict)

    @property
    def positive_distractors(self) -> tuple[str, ...]:
        return tuple(o.label for o in self.options or () if o.warning)

    def chart_data(self) -> dict[str, Any]:
        """What the ICC, information and history charts draw (no item content, no key)."""
        out: dict[str, Any] = {
            "item": {"id": self.item.id, "code": self.item.code},
            "run": {"id": self.run.id, "label": _run_label(self.run)} if self.run else None,
            "theta": [float(t) for t in THETA_GRID],
            "parameters": None, "icc": [], "information": [], "observed": [],
            "history": [
                {"run_id": h.run_id, "label": h.run_label, "at": h.at.isoformat(), "a": _r(h.a), "b": _r(h.b),
                 "c": _r(h.c), "current": h.is_current}
                for h in self.history
            ],
        }
        if self.parameter is not None and self.curves is not None:
            out["parameters"] = {"a": _r(self.parameter.a), "b": _r(self.parameter.b), "c": _r(self.parameter.c)}
            out["icc"] = [_r(v) for v in self.curves.probability]
            out["information"] = [_r(v) for v in self.curves.information]
        if self.observed is not None:
            out["observed"] = [
                {"group": g.index, "n": g.n, "theta": _r(g.theta_mean), "observed": _r(g.observed),
                 "expected": _r(g.expected), "se": _r(g.se)}
                for g in self.observed.groups
            ]
        return out


def _option_labels(item: Item, codes: NDArray[np.int64]) -> tuple[Sequence[str] | dict[int, str], list[str]] | None:
    """Choice-code labels and the key of a choice item's current version (see
    :mod:`grading.responses`: option index, 判断题 √ = 0 / × = 1, 多选题 bit mask)."""
    version = item.current_version
    if version is None:
        return None
    spec = version.spec
    if item.item_type == "single_choice":
        return [str(o.get("label", "")) for o in spec.get("options", [])], [str(k) for k in spec.get("key", [])]
    if item.item_type == "true_false":
        return [TRUE_MARK, FALSE_MARK], [str(spec.get("key", ""))]
    if item.item_type == "multiple_choice":
        letters = [str(o.get("label", "")) for o in spec.get("options", [])]
        key = "".join(sorted(str(k) for k in spec.get("key", [])))

        def pattern(code: int) -> str:
            return "".join(letter for i, letter in enumerate(letters) if code & (1 << i))

        key_code = sum(1 << letters.index(k) for k in key if k in letters)
        seen = sorted({int(c) for c in codes if 0 < c < (1 << len(letters))} | {key_code})
        # Response patterns as options: the key first, then by how many options, then A…
        ordered = sorted(seen, key=lambda c: (c != key_code, bin(c).count("1"), pattern(c)))
        return {c: pattern(c) for c in ordered}, [key]
    return None


def _history(session: Session, item_id: int) -> tuple[HistoryRow, ...]:
    rows = session.execute(
        select(ItemParameter, CalibrationRun).join(CalibrationRun, CalibrationRun.id == ItemParameter.run_id)
        .where(ItemParameter.item_id == item_id).order_by(CalibrationRun.created_at, CalibrationRun.id,
                                                          ItemParameter.id)
    ).all()
    return tuple(
        HistoryRow(run_id=run.id, run_label=_run_label(run), at=run.finished_at or run.created_at, model=run.model,
                   a=p.a, b=p.b, c=p.c, se_a=p.se_a, se_b=p.se_b, n=p.n, drift_b=p.drift_b, is_current=p.is_current,
                   flags=tuple(p.flags))
        for p, run in rows
    )


def item_report(session: Session, actor: User, item_id: int, run_id: int | None = None) -> ItemReport:
    """The item report for one calibration run (default: the item's current parameters).

    Raises :class:`NotFound` for an unknown item or run, an item or run ``actor`` may not
    read, or a run without this item. An item never calibrated gives a report with no
    parameters (the page says so)."""
    require_role(actor, *ANALYSTS)
    item = access.readable_item(session, actor, item_id)
    if run_id is not None:
        run = _get_run(session, actor, run_id)
        parameter = session.scalar(
            select(ItemParameter).where(ItemParameter.item_id == item_id, ItemParameter.run_id == run_id)
            .order_by(ItemParameter.id.desc()).limit(1)
        )
        if parameter is None:
            raise NotFound("该次标定不包含这道试题。")
    else:
        parameter = session.scalar(
            select(ItemParameter).where(ItemParameter.item_id == item_id)
            .order_by(ItemParameter.is_current.desc(), ItemParameter.id.desc()).limit(1)
        )
        run = parameter.run if parameter is not None else None
    history = _history(session, item_id)
    thresholds = dict(get_rule(session, "item_flags"))
    base: dict[str, Any] = {
        "item": item, "run": run, "parameter": parameter, "history": history, "thresholds": thresholds,
        "curves": None, "observed": None, "observed_note": "", "options": None, "options_note": "",
        "ctt_n": None, "ctt_p": None, "ctt_pbis": None, "ctt_d": None, "flags": (),
    }
    if parameter is None or run is None:
        base["observed_note"] = base["options_note"] = "这道试题尚未标定。"
        return ItemReport(**base)
    base["curves"] = item_curves(parameter.a, parameter.b, parameter.c)
    base["flags"] = tuple(parameter.flags)
    base["ctt_p"], base["ctt_pbis"] = parameter.p_value, parameter.point_biserial

    rs = run.response_set
    ids = rs.item_ids
    if item_id not in ids:
        base["observed_note"] = base["options_note"] = "该次标定的作答数据中没有这道试题的作答。"
        return ItemReport(**base)
    j = ids.index(item_id)
    scores, choices, _ = _response_arrays(rs)

    column_max = _column_max(scores)
    stats = ctt.item_statistics(scores, max_scores=column_max)
    base["ctt_n"] = int(stats.n_presented[j])
    base["ctt_p"] = _num(stats.difficulty[j])
    base["ctt_pbis"] = _num(stats.point_biserial[j])
    base["ctt_d"] = _num(stats.discrimination_index[j])

    # Observed proportions by rest-θ group.
    if not _binary_columns(scores[:, [j]])[0]:
        base["observed_note"] = "这道试题不是 0/1 计分，不绘制实测通过率。"
    else:
        posterior = _matching_posterior(scores, ids, _run_parameters(run), exclude=j)
        if posterior is None:
            base["observed_note"] = "该次标定中没有其他可用于估计能力的试题。"
        else:
            nodes, post, mean, sd, n_items = posterior
            theta = post @ nodes
            p_nodes = item_curves(parameter.a, parameter.b, parameter.c, nodes).probability
            base["observed"] = observed_icc(scores[:, j], theta, post @ p_nodes, parameter.a, parameter.b,
                                            parameter.c, latent=(mean, sd), n_matching_items=n_items)

    # Distractor table.
    presented = ~np.isnan(scores[:, j])
    recorded = choices[presented, j] if choices is not None else np.zeros(0, dtype=np.int64)
    labelled = _option_labels(item, recorded)
    if labelled is None:
        type_label = ITEM_TYPES[item.item_type].label if item.item_type in ITEM_TYPES else item.item_type
        base["options_note"] = f"{type_label}没有选项，不做选项分析。"
    elif choices is None or not (recorded >= 0).any():
        base["options_note"] = "该作答数据没有记录考生对这道试题所选的选项（只有得分）。"
    else:
        labels, key = labelled
        base["options"] = distractor_rows(scores, choices, j, labels, key)
    return ItemReport(**base)


# --------------------------------------------------------------------------- paper report


@dataclass(frozen=True)
class FormItemRow:
    position: int
    item_id: int
    code: str
    calibrated: bool
    a: float | None
    b: float | None
    c: float | None
    p: float | None = None
    pbis: float | None = None
    alpha_if_deleted: float | None = None
    raises_alpha: bool = False


@dataclass(frozen=True)
class FormReport:
    label: str
    items: tuple[FormItemRow, ...]
    tif: tuple[float, ...]
    sem: tuple[float | None, ...]
    run: CalibrationRun | None
    note: str
    reliability: FormReliability | None
    histogram: tuple[tuple[int, ...], tuple[int, ...]] | None
    hidden: int = 0  # rows left out: items the reader may not read

    @property
    def n_calibrated(self) -> int:
        return sum(1 for i in self.items if i.calibrated)

    def information_at(self, theta: float) -> float | None:
        k = int(np.argmin(np.abs(THETA_GRID - theta)))
        return self.tif[k] if self.tif else None

    def sem_at(self, theta: float) -> float | None:
        k = int(np.argmin(np.abs(THETA_GRID - theta)))
        return self.sem[k] if self.sem else None


@dataclass(frozen=True)
class PaperReport:
    paper: Paper
    forms: tuple[FormReport, ...]
    run: CalibrationRun | None  # the run asked for (None: each form's newest covering run)
    runs: tuple[tuple[int, str], ...]  # runs whose response sets cover at least one form

    def chart_data(self) -> dict[str, Any]:
        forms: dict[str, Any] = {}
        for f in self.forms:
            entry: dict[str, Any] = {"tif": list(f.tif), "sem": list(f.sem), "n_items": len(f.items),
                                     "n_calibrated": f.n_calibrated, "histogram": None, "reliability": None}
            if f.histogram is not None and f.reliability is not None:
                entry["histogram"] = {"scores": list(f.histogram[0]), "counts": list(f.histogram[1])}
                entry["reliability"] = {"method": f.reliability.method, "value": _r(f.reliability.alpha),
                                        "n_examinees": f.reliability.n_examinees}
                entry["run_id"] = f.run.id if f.run else None
            forms[f.label] = entry
        return {"paper": {"id": self.paper.id, "name": self.paper.name}, "cut_theta": self.paper.cut_theta,
                "theta": [float(t) for t in THETA_GRID], "forms": forms}


def _covering_runs(session: Session, paper: Paper) -> list[tuple[CalibrationRun, set[int]]]:
    """Runs of response sets for this paper's blueprint, newest first, with their item ids."""
    rows = session.execute(
        select(CalibrationRun, ResponseSet.item_ids_json)
        .join(ResponseSet, ResponseSet.id == CalibrationRun.response_set_id)
        .where(ResponseSet.blueprint_id == paper.blueprint_id)
        .order_by(CalibrationRun.created_at.desc(), CalibrationRun.id.desc())
    ).all()
    return [(run, set(json.loads(ids))) for run, ids in rows]


def _observed_form(
    form: PaperForm, rows: list[FormItemRow], run: CalibrationRun, cache: dict[int, tuple[Float, list[int]]]
) -> tuple[list[FormItemRow], str, FormReliability | None, tuple[tuple[int, ...], tuple[int, ...]] | None]:
    rs = run.response_set
    if rs.id not in cache:
        cache[rs.id] = (_response_arrays(rs)[0], rs.item_ids)
    scores, ids = cache[rs.id]
    cols = [ids.index(pi.item_id) for pi in form.items]
    sub = scores[:, cols]
    takers = ~np.isnan(sub).any(axis=1)
    n = int(takers.sum())
    if n < 2:
        return rows, f"作答数据（标定 #{run.id}）中完整作答本卷全部试题的考生不足 2 人。", None, None
    if len(cols) < 2:
        return rows, "本卷试题不足 2 道，无法计算信度。", None, None
    rel = form_reliability(sub[takers])
    max_score = float(_column_max(sub[takers]).sum())
    hist = score_distribution(rel.scores, max_score)
    alpha = rel.alpha
    new_rows = []
    for k, row in enumerate(rows):
        aid = _num(rel.alpha_if_deleted[k])
        new_rows.append(FormItemRow(
            position=row.position, item_id=row.item_id, code=row.code, calibrated=row.calibrated, a=row.a, b=row.b,
            c=row.c, p=_num(rel.difficulty[k]), pbis=_num(rel.point_biserial[k]), alpha_if_deleted=aid,
            raises_alpha=aid is not None and math.isfinite(alpha) and aid > alpha,
        ))
    return new_rows, "", rel, (tuple(hist[0]), tuple(hist[1]))


def paper_report(session: Session, actor: User, paper_id: int, run_id: int | None = None) -> PaperReport:
    """Per form: test information and SEM from the items' current parameters and, when a
    response set covers the form's items, its summed-score distribution and reliability.

    With ``run_id`` that run's response set is used for every form it covers; otherwise each
    form uses the newest run (of a response set for the paper's blueprint) that covers it.
    A paper ``actor`` may not see is :class:`PermissionDenied`; item rows ``actor`` may not
    read are left out (``FormReport.hidden``), the form's figures stay whole."""
    require_role(actor, *ANALYSTS)
    paper = session.scalar(
        select(Paper).where(Paper.id == paper_id).options(
            selectinload(Paper.forms).selectinload(PaperForm.items).selectinload(PaperItem.item))
    )
    if paper is None:
        raise NotFound("试卷不存在。")
    if not access.can_see_paper(session, actor, paper):
        raise PermissionDenied("您无权查看该试卷的分析报告。")
    chosen = _get_run(session, actor, run_id) if run_id is not None else None
    readable = readable_item_ids(session, actor, [pi.item_id for f in paper.forms for pi in f.items])
    curves = information_curves(paper, THETA_GRID)
    candidates = _covering_runs(session, paper)
    form_ids = {f.label: {pi.item_id for pi in f.items} for f in paper.forms}
    useful = [(run, ids) for run, ids in candidates if any(fi and fi <= ids for fi in form_ids.values())]
    cache: dict[int, tuple[Float, list[int]]] = {}
    forms = []
    for form in paper.forms:
        ids = form_ids[form.label]
        rows = [
            FormItemRow(position=pi.position, item_id=pi.item_id, code=pi.item.code,
                        calibrated=pi.item.irt_a is not None and pi.item.irt_b is not None,
                        a=pi.item.irt_a, b=pi.item.irt_b, c=pi.item.irt_c)
            for pi in form.items
        ]
        run: CalibrationRun | None
        if chosen is not None:
            run = chosen if ids and ids <= set(chosen.response_set.item_ids) else None
            note = "" if run else f"所选标定（#{chosen.id}）的作答数据不包含本卷的全部试题。"
        else:
            run = next((r for r, covered in useful if ids and ids <= covered), None)
            note = "" if run else "还没有包含本卷全部试题的作答数据。"
        rel = hist = None
        if run is not None:
            rows, note, rel, hist = _observed_form(form, rows, run, cache)
        c = curves["forms"].get(form.label, {"tif": [], "sem": []})
        shown = tuple(r for r in rows if r.item_id in readable)
        forms.append(FormReport(label=form.label, items=shown, tif=tuple(c["tif"]), sem=tuple(c["sem"]),
                                run=run, note=note, reliability=rel, histogram=hist, hidden=len(rows) - len(shown)))
    runs = tuple((r.id, _run_label(r)) for r, _ in useful)
    if chosen is not None and chosen.id not in {r for r, _ in runs}:
        runs = ((chosen.id, _run_label(chosen)), *runs)
    return PaperReport(paper=paper, forms=tuple(forms), run=chosen, runs=runs)


# --------------------------------------------------------------------------- DIF report


@dataclass(frozen=True)
class DifReport:
    run: CalibrationRun
    group_names: tuple[str, ...]
    group: str
    values: tuple[tuple[str, int], ...]  # label and examinee count, most frequent first
    reference: str
    comparisons: tuple[DifComparison, ...]
    matching: str  # how examinees were matched
    excluded: tuple[str, ...]  # item codes left out (not 0/1 scored)
    n_examinees: int
    alpha: float
    hidden: int = 0  # items the reader may not read, left out of the tables

    @property
    def counts(self) -> dict[str, int]:
        out = {"A": 0, "B": 0, "C": 0, "—": 0}
        for comp in self.comparisons:
            for k, v in comp.counts.items():
                out[k] += v
        return out

    def chart_data(self) -> dict[str, Any]:
        return {
            "run": {"id": self.run.id, "label": _run_label(self.run)},
            "group": self.group,
            "reference": self.reference,
            "comparisons": [
                {"focal": c.focal, "n_focal": c.n_focal,
                 "items": [{"item_id": r.item_id, "code": r.code, "d_dif": _r(r.d_dif), "se": _r(r.se),
                            "p": _r(r.p_value, 6), "ets_class": r.ets_class} for r in c.rows]}
                for c in self.comparisons
            ],
        }


@dataclass(frozen=True)
class DifChoices:
    """What the DIF form offers for a run: group columns and each one's values."""

    run: CalibrationRun
    group_names: tuple[str, ...]
    values: dict[str, tuple[tuple[str, int], ...]]


def _group_values(column: NDArray[np.str_]) -> tuple[tuple[str, int], ...]:
    labels, counts = np.unique(column[column != MISSING], return_counts=True)
    pairs = sorted(zip(labels.tolist(), counts.tolist(), strict=True), key=lambda t: (-t[1], t[0]))
    return tuple((str(v), int(n)) for v, n in pairs)


def dif_choices(session: Session, actor: User, run_id: int) -> DifChoices:
    require_role(actor, *ANALYSTS)
    run = _get_run(session, actor, run_id)
    rs = run.response_set
    names = tuple(rs.group_names)
    _, _, groups = _response_arrays(rs)
    values: dict[str, tuple[tuple[str, int], ...]] = {}
    if groups is not None:
        for k, name in enumerate(names[: groups.shape[1]]):
            values[name] = _group_values(groups[:, k])
    return DifChoices(run=run, group_names=tuple(n for n in names if n in values), values=values)


def _theta_strata(scores: Float, ids: list[int], params: dict[int, ItemParameter]) -> NDArray[np.float64] | None:
    posterior = _matching_posterior(scores, ids, params)
    if posterior is None:
        return None
    nodes, post, *_ = posterior
    theta = post @ nodes
    n = theta.size
    k = min(20, max(2, n // 50))
    edges = np.quantile(theta, np.linspace(0, 1, k + 1)[1:-1])
    return np.searchsorted(edges, theta, side="right").astype(float)


def dif_report(
    session: Session, actor: User, run_id: int, group: str | None = None, reference: str | None = None, *,
    alpha: float = 0.05,
) -> DifReport:
    """Mantel–Haenszel DIF of every 0/1 item of the run's response set for one group column,
    each other value of it compared with ``reference`` (default: the most frequent value).

    Matching: the total score when every examinee was presented every item (one form);
    otherwise (several forms) 2–20 equal-count strata of EAP θ from the run's parameters,
    since raw totals over different forms are not comparable. Items ``actor`` may not read
    are computed with the others (they take part in the matching) but left out of the rows."""
    choices = dif_choices(session, actor, run_id)
    run = choices.run
    if not choices.group_names:
        raise ValidationError("该作答数据没有考生分组信息（如性别、年龄段、地区），无法做 DIF 分析。", field="group")
    group = group or choices.group_names[0]
    if group not in choices.values:
        raise ValidationError(f"作答数据中没有分组「{group}」。", field="group")
    values = choices.values[group]
    if len(values) < 2:
        raise ValidationError(f"分组「{group}」只有一个取值，无法比较。", field="group")
    reference = reference or values[0][0]
    if reference not in {v for v, _ in values}:
        raise ValidationError(f"分组「{group}」中没有「{reference}」。", field="reference")

    rs = run.response_set
    scores, _, groups = _response_arrays(rs)
    assert groups is not None  # dif_choices found the column
    ids = rs.item_ids
    codes = _codes(session, ids)
    binary = _binary_columns(scores)
    keep = [k for k in range(len(ids)) if binary[k]]
    excluded = tuple(codes.get(ids[k], f"#{ids[k]}") for k in range(len(ids)) if not binary[k])
    sub = scores[:, keep]
    kept_ids = [ids[k] for k in keep]
    column = groups[:, list(rs.group_names).index(group)]
    matching_score = None
    matching = "总分（每位考生作答了全部试题）"
    if np.isnan(sub).any():
        matching_score = _theta_strata(sub, kept_ids, _run_parameters(run))
        if matching_score is None:
            raise ValidationError("作答数据含多套试卷，但该次标定没有可用于匹配能力的试题参数。")
        n_strata = int(np.nanmax(matching_score)) + 1 if matching_score.size else 0
        matching = f"能力估计 θ（EAP，按人数等分为 {n_strata} 层；作答数据含多套试卷，总分不可比）"
    comparisons = dif_table(sub, column, reference, kept_ids, [codes.get(i, f"#{i}") for i in kept_ids],
                            matching_score=matching_score, alpha=alpha)
    readable = readable_item_ids(session, actor, ids)
    if len(readable) < len(set(ids)):
        comparisons = tuple(DifComparison(focal=c.focal, n_focal=c.n_focal,
                                          rows=tuple(r for r in c.rows if r.item_id in readable))
                            for c in comparisons)
        excluded = tuple(codes.get(ids[k], f"#{ids[k]}") for k in range(len(ids))
                         if not binary[k] and ids[k] in readable)
    return DifReport(run=run, group_names=choices.group_names, group=group, values=values, reference=reference,
                     comparisons=comparisons, matching=matching, excluded=excluded, n_examinees=scores.shape[0],
                     alpha=alpha, hidden=len(set(ids) - readable))
