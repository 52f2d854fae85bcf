"""Classical item statistics: hand-computed values, girth cross-checks, missing by design."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from grading.psychometrics import ctt

# Eight examinees, five 0/1 items; small enough to check by hand.
SMALL = np.array(
    [
        [1, 1, 1, 1, 0],
        [1, 1, 1, 0, 0],
        [1, 1, 0, 1, 1],
        [1, 0, 1, 0, 0],
        [1, 1, 0, 0, 0],
        [0, 1, 0, 0, 1],
        [1, 0, 0, 0, 0],
        [0, 0, 0, 0, 1],
    ],
    dtype=float,
)


def simulate_2pl(rng: np.random.Generator, n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    theta = rng.standard_normal(n)
    p = 1.0 / (1.0 + np.exp(-a * (theta[:, None] - b)))
    return (rng.random(p.shape) < p).astype(float)


def test_difficulty_is_proportion_correct():
    assert_allclose(ctt.difficulty(SMALL), SMALL.mean(axis=0))


def test_corrected_point_biserial_matches_item_rest_correlation():
    expected = []
    for j in range(SMALL.shape[1]):
        rest = SMALL.sum(axis=1) - SMALL[:, j]
        expected.append(np.corrcoef(SMALL[:, j], rest)[0, 1])
    assert_allclose(ctt.corrected_point_biserial(SMALL), expected, rtol=1e-12)


def test_alpha_matches_textbook_formula_and_kr20():
    k = SMALL.shape[1]
    total_var = SMALL.sum(axis=1).var(ddof=1)
    alpha = k / (k - 1) * (1 - SMALL.var(axis=0, ddof=1).sum() / total_var)
    p = SMALL.mean(axis=0)
    kr20 = k / (k - 1) * (1 - (p * (1 - p)).sum() / SMALL.sum(axis=1).var(ddof=0))
    result = ctt.cronbach_alpha(SMALL)
    assert result.alpha == pytest.approx(alpha, rel=1e-12)
    assert ctt.kr20(SMALL).alpha == pytest.approx(kr20, rel=1e-12)
    assert (result.n_items, result.n_examinees) == (5, 8)


def test_alpha_if_deleted_equals_alpha_of_remaining_items():
    result = ctt.cronbach_alpha(SMALL)
    for j in range(SMALL.shape[1]):
        rest = np.delete(SMALL, j, axis=1)
        assert result.alpha_if_deleted[j] == pytest.approx(ctt.cronbach_alpha(rest).alpha, rel=1e-12)


def test_kr20_refuses_polytomous_scores():
    with pytest.raises(ValueError, match="0/1"):
        ctt.kr20(np.array([[0, 2], [1, 1], [2, 0]], dtype=float))


def test_cross_check_with_girth_on_complete_data():
    from girth.common import cronbach_alpha as girth_alpha
    from girth.utilities.ctt_statistics import classical_test_statistics

    rng = np.random.default_rng(11)
    x = simulate_2pl(rng, 400, rng.uniform(0.7, 2.0, 12), rng.normal(0, 1, 12))
    assert ctt.cronbach_alpha(x).alpha == pytest.approx(girth_alpha(x.T), rel=1e-10)
    # girth's item-score correlation is also item vs mean of the other items (data transposed).
    girth_stats = classical_test_statistics(x.T.astype(int), start_value=0, stop_value=1)
    assert_allclose(ctt.corrected_point_biserial(x), girth_stats["Item-Score Correlation"], rtol=1e-10)
    assert_allclose(ctt.cronbach_alpha(x).alpha_if_deleted, girth_stats["Cronbach Alpha"], rtol=1e-10)


def test_polytomous_items_use_max_scores():
    x = np.array([[0, 2, 1], [1, 3, 1], [1, 1, 0], [0, 0, 0], [1, 3, 1]], dtype=float)
    stats = ctt.item_statistics(x, max_scores=[1, 3, 1])
    assert_allclose(stats.difficulty, [3 / 5, 9 / 15, 3 / 5])
    with pytest.raises(ValueError, match="max_score"):
        ctt.difficulty(x)


def test_discrimination_index_uses_27_percent_groups():
    rng = np.random.default_rng(3)
    x = simulate_2pl(rng, 100, np.full(10, 1.5), np.linspace(-2, 2, 10))
    # An extra item worth up to 1e6 points with distinct tiny scores breaks every tie in the
    # ranking without changing any dichotomous comparison.
    tiebreak = rng.permutation(100).astype(float)
    data = np.column_stack([x, tiebreak])
    order = np.lexsort((tiebreak, x.sum(axis=1)))
    low, high = order[:27], order[-27:]
    expected = x[high].mean(axis=0) - x[low].mean(axis=0)
    d = ctt.discrimination_index(data, max_scores=[1] * 10 + [1e6])
    assert_allclose(d[:10], expected, atol=1e-12)


def test_discrimination_index_shares_ties_at_the_cut():
    # Ten examinees, groups of 3: the lowest has total 0 (weight 1) and three examinees tied at
    # total 1 share the remaining weight 2 (2/3 each), whatever the row order.
    x = np.array([[0, 0], [1, 0], [0, 1], [0, 1], [1, 1], [1, 1], [1, 1], [1, 1], [1, 1], [1, 1]], dtype=float)
    p_low_item0 = (0 + (1 + 0 + 0) * 2 / 3) / 3
    d = ctt.discrimination_index(x, fraction=0.3)
    assert d[0] == pytest.approx(1.0 - p_low_item0)
    perm = np.random.default_rng(0).permutation(10)
    assert_allclose(ctt.discrimination_index(x[perm], fraction=0.3), d, atol=1e-12)


def test_discrimination_index_all_tied_is_zero():
    x = np.tile([1.0, 0.0, 1.0], (20, 1))
    x[:, 1] = np.r_[np.ones(10), np.zeros(10)]
    x[:, 2] = 1 - x[:, 1]  # every examinee has total 2
    assert_allclose(ctt.discrimination_index(x), 0.0, atol=1e-12)


def test_constant_item_gives_nan_correlation_without_warning():
    x = SMALL.copy()
    x[:, 0] = 1.0
    r = ctt.corrected_point_biserial(x)
    assert np.isnan(r[0]) and np.isfinite(r[1:]).all()


def test_missing_by_design_is_pairwise_on_presented_items():
    rng = np.random.default_rng(5)
    full = simulate_2pl(rng, 600, rng.uniform(0.8, 2.0, 10), rng.normal(0, 1, 10))
    x = full.copy()
    # Two forms: items 0-3 common, 4-6 on form 1, 7-9 on form 2.
    form2 = np.arange(600) >= 300
    x[~form2, 7:] = np.nan
    x[form2, 4:7] = np.nan
    p = ctt.difficulty(x)
    assert p[5] == pytest.approx(full[:300, 5].mean())
    assert p[8] == pytest.approx(full[300:, 8].mean())
    # Rest score = mean correctness over the other presented items of that examinee.
    j = 2
    rows = np.arange(600)
    seen = ~np.isnan(x)
    rest = np.array([np.nanmean(np.delete(x[i], j)) for i in rows])
    expected = np.corrcoef(x[:, j], rest)[0, 1]
    assert ctt.corrected_point_biserial(x)[j] == pytest.approx(expected, rel=1e-10)
    assert seen.sum() == 600 * 7
    # Items 4-6 and 7-9 never share an examinee: alpha is undefined on the combined matrix.
    assert np.isnan(ctt.cronbach_alpha(x).alpha)
    form1 = ctt.cronbach_alpha(x[~form2][:, :7])
    assert form1.alpha == pytest.approx(ctt.cronbach_alpha(full[:300, :7]).alpha)


def test_alpha_under_random_missingness_stays_close():
    rng = np.random.default_rng(8)
    full = simulate_2pl(rng, 3000, rng.uniform(0.8, 2.0, 20), rng.normal(0, 1, 20))
    x = full.copy()
    x[rng.random(x.shape) < 0.25] = np.nan
    assert ctt.cronbach_alpha(x).alpha == pytest.approx(ctt.cronbach_alpha(full).alpha, abs=0.02)


# --------------------------------------------------------------------------- distractors


def test_distractor_analysis_shares_and_key_correlation():
    rng = np.random.default_rng(21)
    n = 500
    theta = rng.standard_normal(n)
    keys = ["A", "C", "B", "D"]
    choices = np.empty((n, 4), dtype=object)
    for j, key in enumerate(keys):
        p_correct = 1 / (1 + np.exp(-1.5 * (theta - (j - 1.5) * 0.5)))
        correct = rng.random(n) < p_correct
        # Weak examinees who miss all pick the first distractor; option "E" attracts nobody.
        wrong = np.array(["A", "B", "C", "D"])[np.array([o != key for o in "ABCD"])]
        pick = np.where(theta < 0, wrong[0], rng.choice(wrong, n))
        choices[:, j] = np.where(correct, key, pick)
    choices[:40, 3] = None  # not presented
    choices[40:50, 3] = np.nan

    tables = ctt.distractor_analysis(choices, keys, options=[list("ABCDE"), "ABCD", "ABCD", "ABCD"])
    t0 = tables[0]
    assert t0.options == ("A", "B", "C", "D", "E")
    assert t0.n_chosen[4] == 0 and t0.share[4] == 0 and np.isnan(t0.rest_correlation[4])
    assert t0.share.sum() == pytest.approx(1.0)
    assert tables[3].n_presented == n - 50 and tables[3].n_chosen.sum() == n - 50

    scored = np.array(
        [[np.nan if c is None or c != c else float(c == k) for c, k in zip(row, keys, strict=True)] for row in choices]
    )
    pbis = ctt.corrected_point_biserial(scored)
    for j, table in enumerate(tables):
        assert table.rest_correlation[table.is_key][0] == pytest.approx(pbis[j], rel=1e-10)
        assert table.key == keys[j]
        # The distractor that weak examinees favour correlates negatively with the rest score.
        favourite = table.options[int(np.argmax(np.where(table.is_key, -1, table.n_chosen)))]
        assert table.rest_correlation[table.options.index(favourite)] < 0


def test_distractor_default_options_and_miskey():
    rng = np.random.default_rng(4)
    theta = rng.standard_normal(400)
    correct = rng.random((400, 3)) < 1 / (1 + np.exp(-2 * theta[:, None]))
    choices = np.where(correct, 1, 2).astype(object)
    choices[~correct[:, 2] & (rng.random(400) < 0.5), 2] = 3
    # Item 1 is miskeyed: the key says 2 but strong examinees choose 1.
    tables = ctt.distractor_analysis(choices, keys=[1, 2, 1])
    assert tables[0].options == (1, 2)
    assert tables[2].options == (1, 2, 3)
    assert tables[1].positive_distractors == (1,)
    assert tables[1].rest_correlation[tables[1].is_key][0] < 0


def test_distractor_rejects_unknown_option():
    with pytest.raises(ValueError, match="not among its options"):
        ctt.distractor_analysis([["A", "B"], ["Z", "B"]], keys=["A", "B"], options=["ABCD", "ABCD"])
