"""Examiner statistics against hand-computed values (Shrout & Fleiss 1979's table; a 2 × 3 case
worked by hand)."""

from __future__ import annotations

import numpy as np
import pytest

from grading.results.examiner_stats import FlagRule, deviations, group_stats, icc_2_1

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges. Their ANOVA: BMS 11.24,
# JMS 32.49, EMS 1.02, so ICC(2,1) = (11.24 − 1.02) / (11.24 + 3·1.02 + 4·(32.49 − 1.02)/6) = 0.29.
SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]],
                         dtype=float)


def test_icc_2_1_matches_shrout_and_fleiss():
    assert icc_2_1(SHROUT_FLEISS) == pytest.approx(0.2898, abs=5e-4)


def test_a_two_by_three_case_worked_by_hand():
    x = np.array([[70, 80, 90], [60, 66, 72]], dtype=float)
    # grand mean 73; SS rows 294, SS columns 256, SS total 566, SS error 16;
    # MSR 294, MSC 128, MSE 8: (294 − 8) / (294 + 2·8 + 3·(128 − 8)/2) = 286 / 490.
    assert icc_2_1(x) == pytest.approx(286 / 490)
    np.testing.assert_allclose(deviations(x), [[-10, 0, 10], [-6, 0, 6]])
    stats = group_stats(x, FlagRule(min_mean_deviation=3, min_same_sign_share=0.8, min_candidates=2))
    assert [e.mean_deviation for e in stats.examiners] == [-8, 0, 8]
    assert [e.flag for e in stats.examiners] == ["severe", None, "lenient"]
    assert [e.mean_score for e in stats.examiners] == [65, 73, 81]
    assert (stats.n_candidates, stats.n_complete) == (2, 2)


def test_flags_need_enough_candidates_and_a_consistent_sign():
    x = np.array([[70, 80, 90], [60, 66, 72]], dtype=float)
    assert all(e.flag is None for e in group_stats(x, FlagRule(min_candidates=5)).examiners)
    # Examiner 0 is far below once and slightly above twice: a mean of −2.67 but not consistent.
    y = np.array([[50, 80, 80], [71, 70, 69], [71, 70, 69]], dtype=float)
    stat = group_stats(y, FlagRule(min_mean_deviation=2, min_same_sign_share=0.8, min_candidates=3)).examiners[0]
    assert stat.mean_deviation == pytest.approx((-20 + 1 + 1) / 3)
    assert stat.same_sign_share == pytest.approx(1 / 3) and stat.flag is None


def test_missing_sheets_are_left_out():
    x = np.array([[70, np.nan, 90], [60, 66, 72], [80, 84, 88]], dtype=float)
    np.testing.assert_allclose(deviations(x)[0], [-10, np.nan, 10])
    stats = group_stats(x)
    assert stats.n_complete == 2 and stats.examiners[1].n_scored == 2
    assert stats.icc == pytest.approx(icc_2_1(x[1:]))
    assert icc_2_1(np.array([[70, 70, 70]], dtype=float)) is None  # one candidate: no agreement to speak of
    assert icc_2_1(np.full((3, 3), 70.0)) is None  # no variance at all
