"""S-X2 with omissions (issue 16 point 4): omissions are missing responses imputed from the
model, not separate forms. Each statistic with blanks is checked against the reference computed
on the same data before blanking; without blanks the numbers are those of the previous code."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import optimize, stats
from sqlalchemy import select

from grading.psychometrics import calibration as cal
from grading.psychometrics import fit
from grading.psychometrics import responses as rsp
from grading.psychometrics.models import CalibrationRun, ItemParameter, pack_arrays
from itembank.irtmodel import prob
from tests.factories import make_blueprint
from tests.grading.worlds import analyst, make_items

# ---------------------------------------------------------------------------- references


def reference_s_x2(x, a, b, c=None, n_parameters=None, min_expected=1.0, nodes=None, weights=None):
    """S-X2 as computed before this change (one Lord–Wingersky pass per item, np.add.at)."""
    n_items = x.shape[1]
    m = np.broadcast_to(np.asarray(n_parameters if n_parameters is not None else (2 if c is None else 3)), (n_items,))
    q, w = fit.normal_quadrature() if nodes is None else (nodes, weights / weights.sum())
    p = prob(q, a, b, c)
    denom = w @ fit.lord_wingersky(p)
    score = x.sum(axis=1).astype(np.int64)
    inner = np.arange(1, n_items)
    n_k = np.bincount(score, minlength=n_items + 1)[inner].astype(float)
    correct_k = np.zeros((n_items + 1, n_items))
    np.add.at(correct_k, score, x)
    correct_k = correct_k[inner]
    stat, df = np.full(n_items, np.nan), np.zeros(n_items, dtype=np.int64)
    present = n_k > 0
    for i in range(n_items):
        s_rest = fit.lord_wingersky(np.delete(p, i, axis=1))
        e_k = (w * p[:, i]) @ s_rest[:, inner - 1] / denom[inner]
        n_g, o_g, e_g = n_k[present], correct_k[present, i], (n_k * e_k)[present]
        groups = fit._collapse(n_g, o_g, e_g, min_expected) if min_expected > 0 else [[g] for g in range(n_g.size)]
        gn = np.array([n_g[g].sum() for g in groups])
        go = np.array([o_g[g].sum() for g in groups])
        ge = np.array([e_g[g].sum() for g in groups])
        with np.errstate(divide="ignore", invalid="ignore"):
            stat[i] = float(np.nansum((go - ge) ** 2 / ge + (go - ge) ** 2 / (gn - ge)))
        df[i] = len(groups) - int(m[i])
    p_value = np.full(n_items, np.nan)
    p_value[df >= 1] = stats.chi2.sf(stat[df >= 1], df[df >= 1])
    return stat, df, p_value


def reference_by_pattern(x, est, model):
    """calibration._sx2_by_form before this change: one S-X2 per presentation pattern."""
    n_items, m = x.shape[1], cal._N_PARAMETERS[model]
    observed = ~np.isnan(x)
    patterns, inverse = np.unique(observed, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    stat, groups, tested = np.zeros(n_items), np.zeros(n_items, dtype=np.int64), np.zeros(n_items, dtype=bool)
    nodes, weights = fit.normal_quadrature(sd=float(est.latent_sd))
    for k, pattern in enumerate(patterns):
        rows, cols = inverse == k, np.flatnonzero(pattern)
        if rows.sum() < cal.SX2_MIN_FORM or cols.size < 3:
            continue
        c = est.c[cols] if model == "3pl" else None
        s, d, _ = reference_s_x2(x[np.ix_(rows, cols)], est.a[cols], est.b[cols], c, m, nodes=nodes, weights=weights)
        ok = np.isfinite(s)
        stat[cols[ok]] += s[ok]
        groups[cols[ok]] += d[ok] + m
        tested[cols[ok]] = True
    df = np.where(tested, groups - m, 0)
    p_value = np.full(n_items, np.nan)
    ok = tested & (df >= 1)
    p_value[ok] = stats.chi2.sf(stat[ok], df[ok])
    return np.where(tested, stat, np.nan), df, fit.benjamini_hochberg(p_value)


# ---------------------------------------------------------------------------- data


def simulate(rng, n, a, b, c=None):
    theta = rng.standard_normal(n)
    return (rng.random((n, len(a))) < prob(theta, a, b, c)).astype(float)


def blank(rng, x, rate):
    out = x.copy()
    out[rng.random(x.shape) < rate] = np.nan
    return out


def with_misfit(rng, n, n_items, n_bad):
    """2PL data whose first ``n_bad`` items really have a lower asymptote of .25 and a steep
    slope; returned with the closest 2PL curves for those items (only the shape is wrong)."""
    a = rng.uniform(0.7, 2.0, n_items)
    b = rng.normal(0, 1, n_items)
    c = np.zeros(n_items)
    a[:n_bad], b[:n_bad], c[:n_bad] = 2.5, rng.uniform(0.0, 1.0, n_bad), 0.25
    x = simulate(rng, n, a, b, c)
    grid = np.linspace(-4, 4, 81)
    w = np.sqrt(stats.norm.pdf(grid))
    a_fit, b_fit = a.copy(), b.copy()
    for i in range(n_bad):
        curve = prob(grid, a[i : i + 1], b[i : i + 1], c[i : i + 1])[:, 0]
        best = optimize.least_squares(lambda v, curve=curve: w * (prob(grid, v[:1], v[1:])[:, 0] - curve),
                                      x0=[1.0, 0.0])
        a_fit[i], b_fit[i] = best.x
    return x, a_fit, b_fit


def estimate(a, b, c=None):
    """What _sx2_by_form reads of a calibration result."""
    return SimpleNamespace(a=np.asarray(a), b=np.asarray(b), c=c if c is not None else np.zeros(len(a)),
                           latent_sd=1.0)


# ---------------------------------------------------------------------------- no blanks: as before


@pytest.mark.parametrize(("n", "n_items", "three_pl", "min_expected"),
                         [(300, 3, False, 1.0), (800, 8, True, 1.0), (2000, 25, False, 0.0), (4000, 60, True, 1.0)])
def test_complete_data_gives_the_previous_numbers(n, n_items, three_pl, min_expected):
    rng = np.random.default_rng(n + n_items)
    a, b = rng.uniform(0.5, 2.2, n_items), rng.normal(0, 1.2, n_items)
    c = rng.uniform(0.05, 0.3, n_items) if three_pl else None
    x = simulate(rng, n, a, b, c)
    stat, df, p_value = reference_s_x2(x, a, b, c, min_expected=min_expected)
    for result in (fit.s_x2(x, a, b, c, min_expected=min_expected),
                   fit.s_x2_imputed(x, a, b, c, min_expected=min_expected)):
        assert np.array_equal(result.statistic, stat) and np.array_equal(result.df, df)
        assert np.array_equal(result.p_value, p_value, equal_nan=True)
    imputed = fit.s_x2_imputed(x, a, b, c, min_expected=min_expected)
    assert imputed.n_imputations == 0 and imputed.n_omitted == 0


@pytest.mark.parametrize("n_forms", [1, 2, 3])
def test_calibration_fit_without_blanks_is_unchanged_for_any_number_of_forms(n_forms):
    """Parallel forms (NaN = not presented by design) and no blank: the statistic per item is
    the one the pattern-by-pattern code gave."""
    rng = np.random.default_rng(40 + n_forms)
    n_items = 30
    a, b = rng.uniform(0.6, 2.0, n_items), rng.normal(0, 1, n_items)
    x = simulate(rng, 600 * n_forms, a, b)
    common = np.arange(10)
    for f in range(n_forms):  # form f: the common items and every n_forms-th other item
        rows = np.arange(f * 600, (f + 1) * 600)
        own = np.setdiff1d(np.arange(10 + f, n_items, n_forms), common)
        hidden = np.setdiff1d(np.arange(n_items), np.concatenate([common, own]))
        x[np.ix_(rows, hidden)] = np.nan
    est = estimate(a, b)
    stat, df, p_adj, info = cal._sx2_by_form(x, est, "2pl")
    ref_stat, ref_df, ref_p_adj = reference_by_pattern(x, est, "2pl")
    assert info["forms"] == n_forms and info["imputations"] == 0 and info["left_out_examinees"] == 0
    assert np.array_equal(df, ref_df)
    assert_allclose(stat, ref_stat, rtol=1e-12)
    assert_allclose(p_adj, ref_p_adj, rtol=1e-12)


@pytest.mark.parametrize(("n_nodes", "n_items", "max_elements"), [(7, 3, 10**6), (61, 40, 10**6), (21, 30, 1000)])
def test_leave_one_out_recursion_is_the_recursion_without_each_item(n_nodes, n_items, max_elements):
    p = np.random.default_rng(n_items).uniform(0.02, 0.98, (n_nodes, n_items))
    rest = fit.lord_wingersky_leave_one_out(p, max_elements=max_elements)
    for i in range(n_items):
        assert np.array_equal(rest[i], fit.lord_wingersky(np.delete(p, i, axis=1)))


# ---------------------------------------------------------------------------- blanks: against the complete data


@pytest.mark.parametrize("rate", [0.02, 0.05, 0.10])
def test_imputed_statistic_agrees_with_the_complete_data_reference(rate):
    rng = np.random.default_rng(int(rate * 1000))
    x, a, b = with_misfit(rng, 4000, 30, 3)
    reference = fit.s_x2(x, a, b)
    result = fit.s_x2_imputed(blank(rng, x, rate), a, b)
    assert result.n_imputations == fit.DEFAULT_IMPUTATIONS and result.n_omitted > 0
    assert np.corrcoef(reference.statistic, result.statistic)[0, 1] > 0.9
    bad = slice(0, 3)
    # The misfit is found with blanks as without, and the statistic keeps its size: all rows
    # count (on the rows without a blank it would be about (1 − rate)^30 of it). Cells imputed
    # from the model fit it, so the statistic shrinks somewhat as blanks grow (conservative).
    assert reference.flagged[bad].all() and result.flagged[bad].all()
    ratio = result.statistic[bad] / reference.statistic[bad]
    assert (ratio >= 1 - 4 * rate - 0.15).all() and (ratio <= 1.25).all()
    # Well-fitting items: at most one flag gained and one lost against the reference.
    good_ref, good = reference.flagged[3:], result.flagged[3:]
    assert (good & ~good_ref).sum() <= 1 and (good_ref & ~good).sum() <= 1
    # Every examinee is in the table: no pattern-splitting.
    assert result.tables[0].n.sum() >= 0.98 * ((x.sum(axis=1) > 0) & (x.sum(axis=1) < 30)).sum()


def test_imputed_p_values_of_fitting_items_match_the_complete_data_distribution():
    """True parameters, nothing estimated: complete-data p-values are uniform; with 5 % blanks the
    imputed p-values follow the same distribution (two-sample KS) and reject at about the level.
    (A mean of p-values is not exactly uniform: it has fewer values near 0 and 1.)"""
    rng = np.random.default_rng(2024)
    complete, imputed = [], []
    for _ in range(10):
        a, b = rng.uniform(0.7, 2.0, 15), rng.normal(0, 1, 15)
        x = simulate(rng, 2000, a, b)
        complete.append(fit.s_x2(x, a, b, n_parameters=0).p_value)
        imputed.append(fit.s_x2_imputed(blank(rng, x, 0.05), a, b, n_parameters=0, seed=rng).p_value)
    p_ref, p_imp = np.concatenate(complete), np.concatenate(imputed)
    assert stats.ks_2samp(p_ref, p_imp).pvalue > 0.01
    assert 0.005 <= (p_imp < 0.05).mean() <= 0.10


@pytest.mark.parametrize("three_pl", [False, True])
def test_imputations_keep_observed_cells_and_follow_the_model(three_pl):
    rng = np.random.default_rng(9)
    a, b = rng.uniform(0.8, 2.0, 20), rng.normal(0, 1, 20)
    c = rng.uniform(0.15, 0.35, 20) if three_pl else None
    x = simulate(rng, 3000, a, b, c)
    xm = blank(rng, x, 0.10)
    missing = np.isnan(xm)
    draws = [d.copy() for d in fit.impute_responses(xm, a, b, c, n_imputations=4, seed=1)]
    again = [d.copy() for d in fit.impute_responses(xm, a, b, c, n_imputations=4, seed=1)]
    for d, e in zip(draws, again, strict=True):
        assert np.array_equal(d, e)  # seeded
        assert np.array_equal(d[~missing], x[~missing]) and np.isin(d[missing], (0.0, 1.0)).all()
    # Imputed cells are right about as often as the real responses that were blanked.
    share = np.mean([d[missing].mean() for d in draws])
    assert abs(share - x[missing].mean()) < 0.03
    # ... and agree with them more often than chance (they use each examinee's other answers).
    agree = np.mean([(d[missing] == x[missing]).mean() for d in draws])
    base = x[missing].mean()
    assert agree > base**2 + (1 - base) ** 2 + 0.03


def test_imputed_result_is_reproducible_and_df_is_shared_by_all_imputations():
    rng = np.random.default_rng(3)
    x, a, b = with_misfit(rng, 1500, 12, 1)
    xm = blank(rng, x, 0.05)
    one, two = fit.s_x2_imputed(xm, a, b, seed=5), fit.s_x2_imputed(xm, a, b, seed=5)
    assert np.array_equal(one.statistic, two.statistic) and np.array_equal(one.p_value, two.p_value)
    assert one.imputed_statistic.shape == (fit.DEFAULT_IMPUTATIONS, 12)
    assert_allclose(one.statistic, one.imputed_statistic.mean(axis=0))
    assert_allclose(one.p_value, stats.chi2.sf(one.imputed_statistic, one.df).mean(axis=0))


# ---------------------------------------------------------------------------- forms versus omissions


def test_blank_patterns_are_not_forms_however_many_share_them():
    """101 presentation patterns with at least SX2_MIN_FORM examinees each: the complete one and
    one per blank item. They are one form and every examinee is analysed."""
    n_items = 100
    rows = [np.ones((6000, n_items), dtype=bool)]
    for k in range(n_items):
        block = np.ones((150, n_items), dtype=bool)
        block[:, k] = False
        rows.append(block)
    observed = np.vstack(rows)
    split = fit.split_forms(observed, min_examinees=100)
    assert split.n_patterns == 101
    assert len(split.forms) == 1 and split.forms[0].size == n_items and not split.pooled
    assert (split.row_form == 0).all()


def test_parallel_forms_stay_apart_and_blanks_join_their_own_form():
    rng = np.random.default_rng(11)
    n_items = 40
    form_a = np.zeros(n_items, dtype=bool)
    form_a[:25] = True
    form_b = np.zeros(n_items, dtype=bool)
    form_b[:10] = form_b[25:] = True
    observed = np.vstack([np.tile(form_a, (3000, 1)), np.tile(form_b, (3000, 1))])
    observed &= rng.random(observed.shape) >= 0.02  # sporadic blanks on both forms
    odd = np.zeros((40, n_items), dtype=bool)  # a few examinees with items of both forms
    odd[:, 20:30] = True
    split = fit.split_forms(np.vstack([observed, odd]), min_examinees=100)
    assert len(split.forms) == 2
    assert {tuple(f) for f in split.forms} == {tuple(np.flatnonzero(form_a)), tuple(np.flatnonzero(form_b))}
    a_index = [tuple(f) for f in split.forms].index(tuple(np.flatnonzero(form_a)))
    assert (split.row_form[:3000] == a_index).all() and (split.row_form[3000:6000] == 1 - a_index).all()
    assert (split.row_form[6000:] == -1).all()


def test_without_a_frequent_pattern_all_items_are_one_form():
    rng = np.random.default_rng(12)
    observed = rng.random((3000, 100)) >= 0.10  # 10 % blanks: almost every pattern unique
    split = fit.split_forms(observed, min_examinees=100)
    assert split.pooled and len(split.forms) == 1 and (split.row_form == 0).all()
    small = fit.split_forms(observed[:50], min_examinees=100)
    assert small.forms == () and (small.row_form == -1).all()


@pytest.mark.slow
def test_calibration_fit_with_blanks_uses_every_examinee_and_agrees_with_complete_data():
    """The defect: with 2 % blanks on 100 items the old code computed fit on the 13 % of
    examinees without a blank (or on slivers of them). Now the statistic keeps the size it has
    on the complete data, and the misfitting items are found."""
    rng = np.random.default_rng(77)
    x, a, b = with_misfit(rng, 6000, 100, 6)
    est = estimate(a, b)
    ref_stat, ref_df, ref_p_adj = cal._sx2_by_form(x, est, "2pl")[:3]
    stat, df, p_adj, info = cal._sx2_by_form(blank(rng, x, 0.02), est, "2pl")
    ratio = stat[:6] / ref_stat[:6]
    assert (ratio >= 0.75).all() and (ratio <= 1.25).all(), ratio
    assert np.corrcoef(ref_stat, stat)[0, 1] > 0.9
    assert (p_adj[:6] < 0.05).all() and (ref_p_adj[:6] < 0.05).all()
    assert (np.abs(df - ref_df) <= 2).all()
    assert info["forms"] == 1 and info["left_out_examinees"] == 0
    assert info["imputations"] == cal.SX2_IMPUTATIONS and info["omitted_cells"] > 0
    assert "多重插补" in info["note"]


# ---------------------------------------------------------------------------- a run


@pytest.mark.slow
def test_a_run_on_a_set_with_blanks_imputes_them_and_tests_every_item(session):
    bp = make_blueprint(session)
    make_items(session, bp, 15, seed=21)
    reviewer = analyst(session, bp)
    rs = rsp.simulate_response_set(session, reviewer, bp.id, 1500, 21, "none")
    arrays = rs.arrays()
    scores = arrays["scores"].copy()
    scores[np.random.default_rng(21).random(scores.shape) < 0.03] = np.nan
    rs.data = pack_arrays(scores=scores, choices=arrays["choices"], groups=arrays["groups"])
    session.flush()
    run = cal.start_run(session, reviewer, rs.id)
    cal.execute_run(session, run.id)
    session.expire_all()
    run = session.get(CalibrationRun, run.id)
    assert run.status == "done", run.message
    sx2 = run.report["sx2"]
    assert sx2["forms"] == 1 and sx2["left_out_examinees"] == 0 and sx2["imputations"] == cal.SX2_IMPUTATIONS
    assert sx2["omitted_cells"] == int(np.isnan(scores).sum())
    assert any("多重插补" in note for note in run.report["notes"])
    params = session.scalars(select(ItemParameter).where(ItemParameter.run_id == run.id)).all()
    assert len(params) == 15 and all(p.sx2_p_adjusted is not None and p.sx2_df >= 1 for p in params)
