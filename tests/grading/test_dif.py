"""Mantel–Haenszel DIF: one-stratum identities, a loop implementation, planted DIF."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from grading.psychometrics import dif
from itembank.irtmodel import prob


def table_data(a: int, b: int, c: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Responses to one item and groups for a single 2 × 2 table."""
    x = np.r_[np.ones(a), np.zeros(b), np.ones(c), np.zeros(d)][:, None]
    g = np.array(["ref"] * (a + b) + ["foc"] * (c + d))
    return x, g


def test_one_stratum_reduces_to_odds_ratio_woolf_and_yates():
    a, b, c, d = 40, 20, 25, 35
    x, g = table_data(a, b, c, d)
    res = dif.mantel_haenszel(x, g, "ref", "foc", matching_score=np.zeros(len(g)))
    assert res.alpha_mh[0] == pytest.approx(a * d / (b * c))
    assert res.d_dif[0] == pytest.approx(-2.35 * np.log(a * d / (b * c)))
    # Robins–Breslow–Greenland collapses to Woolf's variance with one stratum.
    assert res.se_d_dif[0] == pytest.approx(2.35 * np.sqrt(1 / a + 1 / b + 1 / c + 1 / d))
    # MH χ² with continuity correction = (N − 1)/N × Yates-corrected Pearson χ².
    n = a + b + c + d
    yates = stats.chi2_contingency([[a, b], [c, d]], correction=True)[0]
    assert res.chi_square[0] == pytest.approx((n - 1) / n * yates)
    assert res.p_value[0] == pytest.approx(stats.chi2.sf(res.chi_square[0], 1))
    assert res.n_reference[0] == a + b and res.n_focal[0] == c + d


def loop_mantel_haenszel(x: np.ndarray, g: np.ndarray, ref: str, foc: str) -> tuple[float, float, float]:
    """Straightforward per-stratum loops, for comparison."""
    score = x.sum(axis=1)
    num = den = sum_a = sum_e = sum_v = 0.0
    pr = mixed = qs = 0.0
    rows = []
    for s in np.unique(score):
        k = score == s
        a_ = float(((g == ref) & k & (x[:, 0] == 1)).sum())
        b_ = float(((g == ref) & k & (x[:, 0] == 0)).sum())
        c_ = float(((g == foc) & k & (x[:, 0] == 1)).sum())
        d_ = float(((g == foc) & k & (x[:, 0] == 0)).sum())
        n = a_ + b_ + c_ + d_
        if a_ + b_ == 0 or c_ + d_ == 0:
            continue
        rows.append((a_, b_, c_, d_, n))
        num += a_ * d_ / n
        den += b_ * c_ / n
        sum_a += a_
        sum_e += (a_ + b_) * (a_ + c_) / n
        if n > 1:
            sum_v += (a_ + b_) * (c_ + d_) * (a_ + c_) * (b_ + d_) / (n * n * (n - 1))
    for a_, b_, c_, d_, n in rows:
        p, q, r, s_ = (a_ + d_) / n, (b_ + c_) / n, a_ * d_ / n, b_ * c_ / n
        pr += p * r
        mixed += p * s_ + q * r
        qs += q * s_
    var = pr / (2 * num**2) + mixed / (2 * num * den) + qs / (2 * den**2)
    chi = (abs(sum_a - sum_e) - 0.5) ** 2 / sum_v
    return num / den, 2.35 * np.sqrt(var), chi


def test_matches_loop_implementation_over_strata():
    rng = np.random.default_rng(4)
    n = 600
    theta = rng.standard_normal(n)
    g = np.where(rng.random(n) < 0.4, "foc", "ref")
    a = rng.uniform(0.8, 1.8, 8)
    b = rng.normal(0, 1, 8)
    x = (rng.random((n, 8)) < prob(theta, a, b)).astype(float)
    res = dif.mantel_haenszel(x, g, "ref", "foc")
    alpha_mh, se, chi = loop_mantel_haenszel(x, g, "ref", "foc")
    assert res.alpha_mh[0] == pytest.approx(alpha_mh, rel=1e-12)
    assert res.se_d_dif[0] == pytest.approx(se, rel=1e-12)
    assert res.chi_square[0] == pytest.approx(chi, rel=1e-12)


def test_ets_class_rules():
    assert dif.ets_class(0.8, 0.1, 1e-6) == "A"
    assert dif.ets_class(-2.5, 0.4, 0.20) == "A"  # large but not significant
    assert dif.ets_class(1.2, 0.1, 1e-6) == "B"
    assert dif.ets_class(-1.6, 0.1, 1e-6) == "C"
    assert dif.ets_class(1.6, 0.5, 1e-3) == "B"  # (1.6 − 1)/0.5 = 1.2 < z_.95
    assert dif.ets_class(float("nan"), 0.1, 0.5) is None


def simulate_groups(
    rng: np.random.Generator, labels: list[str], sizes: list[int], means: list[float], b_shift: dict[str, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n_items = 25
    a = rng.uniform(0.8, 1.8, n_items)
    a[0] = 1.0
    b = rng.normal(0, 1, n_items)
    b[0] = 0.0
    xs, gs = [], []
    for label, size, mean in zip(labels, sizes, means, strict=True):
        bb = b.copy()
        bb[0] += b_shift.get(label, 0.0)  # planted DIF: item 0 harder by that many logits
        theta = rng.normal(mean, 1.0, size)
        xs.append((rng.random((size, n_items)) < prob(theta, a, bb)).astype(float))
        gs += [label] * size
    return np.vstack(xs), np.array(gs, dtype=object), a, b


def test_planted_dif_is_class_c_and_clean_items_are_a():
    rng = np.random.default_rng(2024)
    # The focal group is also 0.5 SD less able (impact, not DIF): matching must absorb it.
    x, g, _, _ = simulate_groups(rng, ["ref", "foc"], [4000, 4000], [0.0, -0.5], {"foc": 1.0})
    res = dif.mantel_haenszel(x, g, "ref", "foc")
    assert res.ets_class[0] == "C"
    assert res.d_dif[0] < -1.5  # negative: the item favours the reference group
    assert res.ets_class[1:] == ("A",) * 24
    assert res.p_value[0] < 1e-10


def test_groups_with_more_than_two_values():
    rng = np.random.default_rng(99)
    labels = ["汉族", "蒙古族", "回族"]
    x, g, _, _ = simulate_groups(rng, labels, [4000, 3000, 3000], [0.0, 0.0, 0.2], {"蒙古族": 1.0})
    g[:10] = None  # unknown group: ignored
    by_group = dif.mantel_haenszel_by_group(x, g, "汉族")
    assert list(by_group) == ["蒙古族", "回族"]
    assert by_group["蒙古族"].ets_class[0] == "C"
    assert by_group["回族"].ets_class[0] == "A"
    assert by_group["回族"].reference == "汉族"
    assert by_group["回族"].n_reference[0] == 4000 - 10


def test_not_presented_items_and_undefined_tables():
    rng = np.random.default_rng(1)
    x, g, _, _ = simulate_groups(rng, ["ref", "foc"], [300, 300], [0.0, 0.0], {})
    x[g == "foc", 3] = np.nan  # item 3 never shown to the focal group
    x[:100, 5] = np.nan
    res = dif.mantel_haenszel(x, g, "ref", "foc")
    assert np.isnan(res.d_dif[3]) and res.ets_class[3] is None and res.n_focal[3] == 0
    assert res.n_reference[5] + res.n_focal[5] <= 500
    assert np.isfinite(res.d_dif[5])


def test_bad_input():
    with pytest.raises(ValueError, match="0/1"):
        dif.mantel_haenszel(np.full((4, 2), 2.0), ["r", "r", "f", "f"], "r", "f")
    with pytest.raises(ValueError, match="no examinees"):
        dif.mantel_haenszel(np.ones((4, 2)), ["r", "r", "f", "f"], "r", "x")
