"""Candidate reductions of the assembly engine under a parallel TIF band, and without one.

A reduction is valid when the optimum of the reduced model equals that of the full model
(every allowed item with capacity). Small seeded pools, solved to a zero gap by HiGHS."""

from __future__ import annotations

import numpy as np
import pytest

from itembank import assembly
from itembank.assembly import AssemblySpec, ItemPool, assemble, verify
from tests.itembank.assembly_pools import make_pool, point_counts


def optimum(pool: ItemPool, spec: AssemblySpec, cand: np.ndarray) -> float | None:
    """Optimal ``y`` of one group holding every form, over the candidates ``cand``."""
    info = pool.information(spec.theta)
    cap = pool.capacity(spec.overlap_cap).copy()
    model = assembly._build_group(pool, spec, info, cand, cap, spec.n_forms, 0, np.zeros((0, info.shape[0])))
    res = assembly._solve(model, spec, None)
    return None if res.x is None else -float(res.fun)


def all_candidates(pool: ItemPool, spec: AssemblySpec) -> np.ndarray:
    return np.flatnonzero(assembly._allowed_items(pool, spec) & (pool.capacity(spec.overlap_cap) > 0))


def copies_pool(seed: int) -> tuple[ItemPool, list[str]]:
    """Items with a-priori parameters from a few values (a = 1, b from four difficulty ratings,
    c = 0), as uncalibrated items are: many exact copies on every point."""
    rng = np.random.default_rng(seed)
    pool, codes = make_pool(seed, per_point=8, n_enemy_pairs=4)
    n = pool.n_items
    return ItemPool(pool.item_ids, pool.item_types, pool.point, np.where(rng.random(n) < 0.8, 1.0, 1.4),
                    rng.choice([-1.0, -0.4, 0.3, 0.9], n), np.zeros(n), pool.node_parent, pool.eligible,
                    pool.enemy_sets), codes


BANDS = [(0.05, "relative"), (0.0, "relative"), (0.4, "absolute")]
# δ = 0 asks for equal information: fine with exact copies, hopeless with continuous parameters.
OPEN_BANDS = [(0.05, "relative"), (0.1, "relative"), (0.4, "absolute")]


@pytest.mark.slow  # a numeric sweep over seeds (the single cases stay in the fast suite)
@pytest.mark.parametrize("seed", range(6))
def test_copies_reduction_keeps_the_optimum_under_a_band(seed):
    pool, codes = copies_pool(seed)
    tolerance, kind = BANDS[seed % len(BANDS)]
    spec = AssemblySpec(6, n_forms=2, node_counts=point_counts(pool, codes, 6, seed), mip_rel_gap=0.0,
                        tif_tolerance=tolerance, tif_tolerance_kind=kind, time_limit=None)
    full = all_candidates(pool, spec)
    info = pool.information(spec.theta)
    reduced = assembly._candidates(pool, spec, info, pool.capacity(spec.overlap_cap).copy(), spec.n_forms)
    assert reduced.size < full.size  # the reduction does something on such a pool
    want = optimum(pool, spec, full)
    got = optimum(pool, spec, reduced)
    assert (got is None) == (want is None)
    if want is not None:
        assert got == pytest.approx(want, rel=1e-6, abs=1e-9)


def test_dominance_is_not_valid_under_a_band():
    """Why dominance stays off with a tolerance: two 1-item forms with equal information need
    the two equal items; dominance drops one of them (the better item dominates both)."""
    pool = ItemPool([1, 2, 3], ["single"] * 3, [0, 0, 0], [2.0, 1.0, 1.0], [0.0, 0.0, 0.0])
    spec = AssemblySpec(1, n_forms=2, node_counts={0: 1}, tif_tolerance=0.0, tif_tolerance_kind="relative",
                        mip_rel_gap=0.0, time_limit=None)
    info = pool.information(spec.theta)
    full = all_candidates(pool, spec)
    dominated = assembly._drop_dominated(pool, spec, info, full, spec.n_forms)
    kept = assembly._candidates(pool, spec, info, pool.capacity(1).copy(), spec.n_forms)
    assert optimum(pool, spec, dominated) is None  # no equal pair left
    assert optimum(pool, spec, kept) == pytest.approx(optimum(pool, spec, full))
    result = assemble(pool, spec)
    assert sorted(result.forms[0].item_ids + result.forms[1].item_ids) == [2, 3]


@pytest.mark.slow  # a numeric sweep over seeds (the single cases stay in the fast suite)
@pytest.mark.parametrize("seed", range(6))
def test_restricted_model_is_kept_only_within_the_gap_of_the_full_optimum(seed, monkeypatch):
    monkeypatch.setattr(assembly, "_RESTRICT_FACTOR", 1)  # restrict even these small pools
    pool, codes = make_pool(20 + seed, per_point=10, n_enemy_pairs=6)
    tolerance, kind = OPEN_BANDS[seed % len(OPEN_BANDS)]
    gap = 0.05
    spec = AssemblySpec(8, n_forms=2, node_counts=point_counts(pool, codes, 8, seed), mip_rel_gap=gap,
                        tif_tolerance=tolerance, tif_tolerance_kind=kind, time_limit=None)
    result = assemble(pool, spec)
    assert verify(pool, spec, result) == []
    info = pool.information(spec.theta)
    exact = optimum(pool, AssemblySpec(**{**_fields(spec), "mip_rel_gap": 0.0}),
                    assembly._candidates(pool, spec, info, pool.capacity(1).copy(), 2))
    assert exact is not None
    report = result.groups[0]
    assert result.objective >= exact / (1 + gap) - 1e-9
    assert report.dual_bound >= exact - 1e-6 * exact  # a bound on the full model, not the restricted one
    assert report.candidates in ("restricted", "all")


def _fields(spec: AssemblySpec) -> dict:
    return {k: getattr(spec, k) for k in ("form_length", "n_forms", "mode", "node_counts", "type_counts",
                                           "tif_tolerance", "tif_tolerance_kind", "time_limit")}


def test_restricted_path_is_taken_and_certified(monkeypatch):
    monkeypatch.setattr(assembly, "_RESTRICT_FACTOR", 1)
    taken = []
    for seed in range(6):
        pool, codes = make_pool(20 + seed, per_point=10, n_enemy_pairs=6)
        spec = AssemblySpec(8, n_forms=2, node_counts=point_counts(pool, codes, 8, seed), mip_rel_gap=0.05,
                            tif_tolerance=0.05, tif_tolerance_kind="relative", time_limit=None)
        report = assemble(pool, spec).groups[0]
        taken.append(report.candidates)
        if report.candidates == "restricted":
            assert report.mip_gap <= 0.05 + 1e-9 and report.status == "optimal"
    assert "restricted" in taken


def test_full_model_when_the_restricted_one_fails(monkeypatch):
    """A restricted set that cannot make the forms falls back to every candidate."""
    pool, codes = make_pool(31, per_point=10, n_enemy_pairs=6)
    spec = AssemblySpec(8, n_forms=2, node_counts=point_counts(pool, codes, 8, 1), mip_rel_gap=0.0,
                        tif_tolerance=0.05, tif_tolerance_kind="relative", time_limit=None)
    monkeypatch.setattr(assembly, "_restricted", lambda pool, spec, info, cand, n_total: cand[:3])
    result = assemble(pool, spec)
    assert result.groups[0].candidates == "all"
    assert verify(pool, spec, result) == []
    info = pool.information(spec.theta)
    assert result.objective == pytest.approx(
        optimum(pool, spec, assembly._candidates(pool, spec, info, pool.capacity(1).copy(), 2)), rel=1e-6)


@pytest.mark.slow  # a numeric sweep over seeds (the single cases stay in the fast suite)
@pytest.mark.parametrize("seed", range(4))
def test_without_a_band_the_dominance_reduction_is_unchanged(seed):
    """No tolerance: the dominance reduction as before, no restricted first try, same optimum."""
    pool, codes = make_pool(40 + seed, per_point=12, n_enemy_pairs=5)
    spec = AssemblySpec(10, n_forms=2, node_counts=point_counts(pool, codes, 10, seed), mip_rel_gap=0.0,
                        time_limit=None)
    info = pool.information(spec.theta)
    full = all_candidates(pool, spec)
    cand = assembly._candidates(pool, spec, info, pool.capacity(1).copy(), 2)
    np.testing.assert_array_equal(cand, assembly._drop_dominated(pool, spec, info, full, 2))
    result = assemble(pool, spec)
    assert result.groups[0].candidates == "all" and result.groups[0].n_candidates == cand.size
    assert result.objective == pytest.approx(optimum(pool, spec, full), rel=1e-6)
