"""Examiner statistics of a skill examiner group (考评员评分统计): pure functions, numpy only.

Input: a score matrix ``x`` of shape ``(n_candidates, n_examiners)``, each candidate's signed
score-sheet totals (0–100), NaN where an examiner has no signed sheet for that candidate.

* **Deviation** of examiner *j* on candidate *i*: ``d_ij = x_ij − m_i``, where ``m_i`` is the
  mean of the candidate's scores (the group mean, which is the candidate's score before any
  reconciliation). An examiner's **mean deviation** is the mean of ``d_ij`` over the candidates
  they scored: negative is severe (偏严), positive lenient (偏松).
* **Agreement**: ICC(2,1), the two-way random-effects, absolute-agreement, single-rater
  intraclass correlation of Shrout & Fleiss (1979), over the candidates every examiner scored::

      ICC(2,1) = (MSR − MSE) / (MSR + (k − 1)·MSE + k·(MSC − MSE)/n)

  with MSR the candidates' (rows) mean square, MSC the examiners' (columns) mean square and MSE
  the residual mean square of the two-way ANOVA without replication. ICC(2,1) rather than
  ICC(3,1): the group's examiners are a sample of the province's examiner pool (another sitting
  has other examiners), and the score is the examiners' mean taken as an absolute number against
  the pass mark of 60, so a severe or lenient examiner is disagreement that must count; ICC(3,1)
  (consistency, examiners fixed) would ignore exactly that systematic shift.
* **Flag**: an examiner is flagged severe or lenient when they scored at least
  ``min_candidates`` candidates, ``|mean deviation| ≥ min_mean_deviation`` points, and the
  deviations have the sign of the mean on at least ``min_same_sign_share`` of their candidates
  (consistently, not through one outlier). Defaults in the rule ``examiner_flags``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class FlagRule:
    min_mean_deviation: float = 3.0
    min_same_sign_share: float = 0.8
    min_candidates: int = 5


@dataclasses.dataclass(frozen=True)
class ExaminerStat:
    """One examiner's statistics in the group (column ``index`` of the matrix)."""

    index: int
    n_scored: int
    mean_score: float | None
    mean_deviation: float | None
    same_sign_share: float | None  # share of the candidates whose deviation has the mean's sign
    flag: str | None  # "severe" (偏严), "lenient" (偏松) or None


@dataclasses.dataclass(frozen=True)
class GroupStats:
    n_candidates: int
    n_complete: int  # candidates scored by every examiner (the ICC's rows)
    icc: float | None  # ICC(2,1); None with fewer than 2 complete candidates or 2 examiners
    examiners: list[ExaminerStat]


FLAG_LABELS = {"severe": "偏严", "lenient": "偏松"}


def deviations(x: FloatArray) -> FloatArray:
    """``d_ij = x_ij − m_i`` with ``m_i`` the mean of row *i* over its scored cells (NaN kept)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError("x must be (n_candidates, n_examiners)")
    counts = np.sum(~np.isnan(x), axis=1)
    sums = np.nansum(x, axis=1)
    means = np.divide(sums, counts, out=np.full(x.shape[0], np.nan), where=counts > 0)
    out: FloatArray = x - means[:, None]
    return out


def icc_2_1(x: FloatArray) -> float | None:
    """ICC(2,1) over the rows with no NaN; None when fewer than 2 such rows or 2 columns, or
    when the denominator is 0 (every score identical)."""
    x = np.asarray(x, dtype=np.float64)
    complete = x[~np.isnan(x).any(axis=1)]
    n, k = complete.shape if complete.ndim == 2 else (0, 0)
    if n < 2 or k < 2:
        return None
    grand = complete.mean()
    rows = complete.mean(axis=1)
    cols = complete.mean(axis=0)
    ss_rows = k * float(np.sum((rows - grand) ** 2))
    ss_cols = n * float(np.sum((cols - grand) ** 2))
    ss_total = float(np.sum((complete - grand) ** 2))
    ss_error = ss_total - ss_rows - ss_cols
    msr = ss_rows / (n - 1)
    msc = ss_cols / (k - 1)
    mse = ss_error / ((n - 1) * (k - 1))
    denominator = msr + (k - 1) * mse + k * (msc - mse) / n
    if denominator <= 0 or not math.isfinite(denominator):
        return None
    return float((msr - mse) / denominator)


def group_stats(x: FloatArray, rule: FlagRule | None = None) -> GroupStats:
    """Every examiner's mean deviation and flag, and the group's ICC(2,1)."""
    rule = rule or FlagRule()
    x = np.asarray(x, dtype=np.float64)
    d = deviations(x)
    out = []
    for j in range(x.shape[1]):
        scored = ~np.isnan(x[:, j])
        n = int(scored.sum())
        if n == 0:
            out.append(ExaminerStat(j, 0, None, None, None, None))
            continue
        dj = d[scored, j]
        mean_dev = float(dj.mean())
        sign = np.sign(mean_dev)
        share = float(np.mean(np.sign(dj) == sign)) if sign != 0 else 0.0
        flag = None
        if (n >= rule.min_candidates and abs(mean_dev) >= rule.min_mean_deviation
                and share >= rule.min_same_sign_share):
            flag = "severe" if mean_dev < 0 else "lenient"
        out.append(ExaminerStat(j, n, float(x[scored, j].mean()), mean_dev, share, flag))
    complete = int((~np.isnan(x).any(axis=1)).sum()) if x.size else 0
    return GroupStats(x.shape[0], complete, icc_2_1(x), out)
