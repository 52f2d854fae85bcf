"""Paper assembly (组卷) engine: seeded synthetic pools, every constraint re-checked by ``verify``."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from itembank.assembly import (
    AssemblyInfeasible,
    AssemblySpec,
    ItemPool,
    allocate_counts,
    assemble,
    blueprint_counts,
    check_fixed_paper,
    parents_from_codes,
    precheck,
    relaxation_bound,
    verify,
)
from tests.itembank.assembly_pools import assert_valid, codes_map, make_codes, make_pool, point_counts


def test_largest_remainder_known_cases():
    # quotas 4.5, 3.5, 2: the one extra item goes to the larger of the tied remainders
    assert allocate_counts([45, 35, 20], 10).tolist() == [5, 3, 2]
    # quotas 2.331, 2.331, 2.338
    assert allocate_counts([33.3, 33.3, 33.4], 7).tolist() == [2, 2, 3]
    # whole quotas stay whole despite floating round-off
    assert allocate_counts([0.1, 0.2, 0.7], 10).tolist() == [1, 2, 7]
    assert allocate_counts([0, 0, 5], 4).tolist() == [0, 0, 4]


@pytest.mark.parametrize("seed", range(20))
def test_largest_remainder_sums_exactly(seed):
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(rng.integers(2, 60))) * 100
    total = int(rng.integers(1, 300))
    counts = allocate_counts(w, total)
    quota = total * w / w.sum()
    assert counts.sum() == total
    assert np.all(counts >= np.floor(quota) - 1e-9) and np.all(counts <= np.ceil(quota) + 1e-9)


def test_blueprint_counts_from_points_per_item_and_tree():
    codes = make_codes(2, 3, 5)
    parent = parents_from_codes(codes)
    rng = np.random.default_rng(3)
    weights = {v: float(rng.uniform(0.5, 4)) for v in range(len(codes))}
    counts = blueprint_counts(weights, total_points=100, points_per_item=0.5, node_parent=parent)
    top = [v for v in range(len(codes)) if parent[v] < 0]
    assert sum(counts[v] for v in top) == 200
    for v in range(len(codes)):
        kids = np.flatnonzero(parent == v)
        if kids.size:  # every level adds up to the level above
            assert sum(counts[int(k)] for k in kids) == counts[v]
    flat = blueprint_counts({1: 30.0, 2: 30.0, 3: 40.0}, form_length=9)
    assert sum(flat.values()) == 9
    with pytest.raises(ValueError, match="整除"):
        blueprint_counts({1: 1.0}, total_points=100, points_per_item=0.3)


def test_parents_from_codes():
    codes = ["A", "A-B", "A-B-C", "A-B-C-001", "A-B-C-002", "B", "B-A-001"]
    # B-A is missing from the list, so B-A-001 hangs under B
    assert parents_from_codes(codes).tolist() == [-1, 0, 1, 2, 2, -1, 5]


# --------------------------------------------------------------------------------------------
# Assembly meets every constraint exactly
# --------------------------------------------------------------------------------------------


def test_one_form_by_blueprint_meets_point_counts():
    pool, codes = make_pool(1)
    counts = point_counts(pool, codes, 30)
    spec = AssemblySpec(30, node_counts=counts)
    result = assemble(pool, spec, node_codes=codes_map(codes))
    assert_valid(pool, spec, result)
    form = result.forms[0]
    assert form.items.tolist() == sorted(form.items.tolist())
    assert pool.eligible[form.items].all()
    per_node = np.asarray(pool.membership[:, form.items].sum(axis=1)).ravel()
    assert all(per_node[v] == k for v, k in counts.items())
    assert result.status == "optimal" and result.mip_gap <= spec.mip_rel_gap + 1e-9
    assert result.objective <= relaxation_bound(pool, spec) + 1e-6
    np.testing.assert_allclose(form.tif, pool.information(spec.theta)[:, form.items].sum(axis=1))


def test_blueprint_and_type_counts_together():
    pool, codes = make_pool(2)
    spec = AssemblySpec(
        30,
        mode="both",
        node_counts=point_counts(pool, codes, 30, seed=2),
        type_counts={"single": 24, "judge": 6},
    )
    result = assemble(pool, spec)
    assert_valid(pool, spec, result)
    kinds = pool.item_types[result.forms[0].items]
    assert (kinds == "single").sum() == 24 and (kinds == "judge").sum() == 6


def test_type_counts_only_and_ranges_with_bounds():
    pool, codes = make_pool(3)
    # A range with bounds instead of an exact count, plus type counts
    spec = AssemblySpec(
        20, mode="both", node_counts={0: (8, 12), codes.index("B-A"): (2, 20)}, type_counts={"single": 15, "judge": 5}
    )
    assert_valid(pool, spec, assemble(pool, spec))
    spec_t = AssemblySpec(20, mode="type_counts", type_counts={"single": 15, "judge": (3, 5), "multiple": (0, 2)})
    result = assemble(pool, spec_t)
    assert_valid(pool, spec_t, result)


def test_parallel_forms_with_enemies_and_absolute_tolerance():
    pool, codes = make_pool(4, n_enemy_pairs=0)
    info = pool.information([0.0])[0] * pool.eligible
    # Make the enemy sets bite: chain the best items into pairs and one triple.
    best = np.argsort(-info)[:21].tolist()
    enemies = [best[i : i + 2] for i in range(0, 18, 2)] + [best[18:21]]
    pool = replace(pool, enemy_sets=enemies)
    spec = AssemblySpec(20, n_forms=3, node_counts={0: 10, codes.index("B"): 10}, tif_tolerance=0.5, mip_rel_gap=0.01)
    result = assemble(pool, spec)
    assert_valid(pool, spec, result)
    tif = np.vstack([f.tif for f in result.forms])
    assert np.all(tif.max(axis=0) - tif.min(axis=0) <= 0.5 + 1e-6)
    for f in result.forms:
        chosen = set(f.items.tolist())
        assert all(len(chosen & set(e)) <= 1 for e in enemies)
    everything = np.concatenate([f.items for f in result.forms])
    assert np.unique(everything).size == everything.size  # overlap cap 1: disjoint forms


def test_overlap_cap_and_per_item_exposure_caps():
    pool, codes = make_pool(5, per_point=6)
    n = pool.n_items
    info = pool.information([0.0])[0] * pool.eligible
    max_uses = np.full(n, 3)
    top = np.argsort(-info)[:30]
    max_uses[top[:10]] = 0  # the very best items are over-exposed already
    max_uses[top[10:20]] = 1
    pool = replace(pool, max_uses=max_uses)
    spec = AssemblySpec(25, n_forms=4, node_counts={0: 12, codes.index("B"): 13}, overlap_cap=2)
    result = assemble(pool, spec)
    assert_valid(pool, spec, result)
    used = np.bincount(np.concatenate([f.items for f in result.forms]), minlength=n)
    assert used[top[:10]].sum() == 0
    assert used[top[10:20]].max() <= 1
    assert used.max() <= 2


@pytest.mark.slow
def test_many_forms_in_groups_with_shadow_and_relative_tolerance():
    pool, codes = make_pool(6, per_point=20)
    spec = AssemblySpec(
        16,
        n_forms=5,
        node_counts={0: 8, codes.index("B"): 8},
        type_counts={"single": 12, "judge": 4},
        mode="both",
        tif_tolerance=0.06,
        tif_tolerance_kind="relative",
        group_size=2,
    )
    result = assemble(pool, spec)
    assert len(result.groups) == 3 and [g.forms for g in result.groups] == [(0, 1), (2, 3), (4,)]
    assert_valid(pool, spec, result)
    tif = np.vstack([f.tif for f in result.forms])
    assert np.all(tif.max(axis=0) <= 1.06 * tif.min(axis=0) + 1e-6)


def test_ineligible_items_never_chosen():
    pool, codes = make_pool(7, ineligible=0.0)
    info = pool.information([0.0])[0]
    eligible = np.ones(pool.n_items, bool)
    eligible[np.argsort(-info)[:40]] = False  # the best items are not allowed
    pool = replace(pool, eligible=eligible)
    spec = AssemblySpec(20, n_forms=2, node_counts={0: 10, codes.index("B"): 10})
    result = assemble(pool, spec)
    assert_valid(pool, spec, result)
    for f in result.forms:
        assert eligible[f.items].all()


def test_deterministic_with_fixed_seed():
    runs = []
    for _ in range(2):
        pool, codes = make_pool(8)
        spec = AssemblySpec(
            20,
            n_forms=2,
            mode="both",
            node_counts=point_counts(pool, codes, 20, 8),
            type_counts={"single": 16, "judge": 4},
        )
        runs.append(assemble(pool, spec))
    assert [f.item_ids for f in runs[0].forms] == [f.item_ids for f in runs[1].forms]
    assert runs[0].objective == runs[1].objective


def test_dominance_reduction_keeps_the_optimum():
    # A TIF tolerance switches the reduction off; with one form it constrains nothing else.
    pool, codes = make_pool(9, per_point=10, n_enemy_pairs=5)
    base = AssemblySpec(12, mode="type_counts", type_counts={"single": 9, "judge": 3}, mip_rel_gap=0.0)
    reduced = assemble(pool, base)
    full = assemble(pool, replace(base, tif_tolerance=1e9))
    assert reduced.groups[0].n_candidates < full.groups[0].n_candidates
    assert reduced.objective == pytest.approx(full.objective, rel=1e-7)


# --------------------------------------------------------------------------------------------
# Infeasible specs: a clear Chinese message before the solver runs
# --------------------------------------------------------------------------------------------


def test_point_shortfall_names_the_point():
    pool, codes = make_pool(10, per_point=4, ineligible=0.0)
    v = codes.index("A-B-002")
    eligible = pool.eligible.copy()
    eligible[np.flatnonzero(pool.point == v)[:2]] = False
    pool = replace(pool, eligible=eligible)
    spec = AssemblySpec(10, node_counts={v: 3})
    with pytest.raises(AssemblyInfeasible) as err:
        assemble(pool, spec, node_codes=codes_map(codes))
    assert str(err.value) == "鉴定点 A-B-002 需要 3 题，但只有 2 道可用试题。"
    assert err.value.shortfalls[0] == str(err.value)


def test_range_and_type_shortfalls():
    pool, codes = make_pool(11, per_point=3, ineligible=0.0, n_enemy_pairs=0)
    n_judge = int((pool.item_types == "judge").sum())
    spec = AssemblySpec(40, mode="type_counts", type_counts={"single": 40 - n_judge - 1, "judge": n_judge + 1})
    with pytest.raises(AssemblyInfeasible, match=f"题型「判断题」需要 {n_judge + 1} 题，但只有 {n_judge} 道可用试题"):
        assemble(pool, spec)
    a = codes.index("A")
    spec = AssemblySpec(40, node_counts={a: 30})  # range A has 2 × 4 points × 3 = 24 items
    with pytest.raises(AssemblyInfeasible, match="鉴定范围 A 需要 30 题，但只有 24 道可用试题"):
        assemble(pool, spec, node_codes=codes_map(codes))


def test_enemy_sets_make_a_point_impossible():
    pool, codes = make_pool(12, per_point=3, ineligible=0.0, n_enemy_pairs=0)
    v = codes.index("B-A-001")
    members = np.flatnonzero(pool.point == v).tolist()
    pool = replace(pool, enemy_sets=[members])
    spec = AssemblySpec(10, node_counts={v: 2})
    with pytest.raises(AssemblyInfeasible) as err:
        assemble(pool, spec, node_codes=codes_map(codes))
    assert str(err.value) == "鉴定点 B-A-001 需要 2 题，但受互斥题组限制，每套最多只能选出 1 题。"


def test_not_enough_items_for_all_forms():
    pool, codes = make_pool(13, per_point=4, ineligible=0.0, n_enemy_pairs=0)
    v = codes.index("A-A-001")
    spec = AssemblySpec(10, n_forms=3, node_counts={v: 2})  # 6 item-uses, 4 items, disjoint forms
    with pytest.raises(AssemblyInfeasible) as err:
        assemble(pool, spec, node_codes=codes_map(codes))
    assert str(err.value) == "鉴定点 A-A-001 共需 3 套 × 2 题 = 6 题次，但可用试题最多只能提供 4 题次。"
    # Allowing each item on two forms makes it feasible.
    assert_valid(pool, replace(spec, overlap_cap=2), assemble(pool, replace(spec, overlap_cap=2)))


def test_counts_that_do_not_add_up():
    pool, codes = make_pool(14)
    spec = AssemblySpec(20, mode="type_counts", type_counts={"single": 12, "judge": 5})
    assert precheck(pool, spec) == ["各题型题量上限合计只有 17 题，不足每套试卷题量 20 题。"]
    a, b = codes.index("A"), codes.index("B")
    spec = AssemblySpec(20, node_counts={a: 12, b: 10})
    assert precheck(pool, spec, node_codes=codes_map(codes)) == [
        "各鉴定范围/鉴定点最低题量合计 22 题，超过每套试卷题量 20 题。"
    ]
    aa = codes.index("A-A")
    spec = AssemblySpec(20, node_counts={a: 5, aa: 7})
    assert precheck(pool, spec, node_codes=codes_map(codes)) == [
        "鉴定范围 A 的下级最低题量合计 7 题，超过其上限 5 题。"
    ]


def test_infeasible_only_the_solver_can_see():
    # Point P's items are all true/false, but the paper takes one true/false item and P needs 2.
    pool, codes = make_pool(15, per_point=5, ineligible=0.0, n_enemy_pairs=0)
    v = codes.index("A-A-001")
    kinds = pool.item_types.copy()
    kinds[pool.point == v] = "judge"
    pool = replace(pool, item_types=kinds)
    spec = AssemblySpec(10, mode="both", node_counts={v: 2}, type_counts={"single": 9, "judge": 1})
    assert precheck(pool, spec) == []
    with pytest.raises(AssemblyInfeasible, match="第 1 套试卷在给定约束下无解"):
        assemble(pool, spec)


def test_invalid_specs_and_pools():
    with pytest.raises(ValueError, match="node_counts"):
        AssemblySpec(10, mode="blueprint")
    with pytest.raises(ValueError, match="type_counts"):
        AssemblySpec(10, mode="blueprint", node_counts={0: 10}, type_counts={"single": 10})
    with pytest.raises(ValueError, match="题量范围"):
        AssemblySpec(10, node_counts={0: (5, 3)})
    with pytest.raises(ValueError, match="长度"):
        ItemPool([1, 2], ["single"], [0, 0], [1, 1], [0, 0])
    with pytest.raises(ValueError, match="环"):
        ItemPool([1], ["single"], [0], [1], [0], node_parent=[1, 0])
    pool, _ = make_pool(16)
    with pytest.raises(ValueError, match="越界"):
        precheck(pool, AssemblySpec(10, node_counts={999: 1}))


# --------------------------------------------------------------------------------------------
# Verification and fixed papers
# --------------------------------------------------------------------------------------------


def test_verify_reports_violations():
    pool, codes = make_pool(17, n_enemy_pairs=0)
    spec = AssemblySpec(10, n_forms=2, node_counts={0: 5, codes.index("B"): 5}, tif_tolerance=0.1)
    result = assemble(pool, spec)
    assert_valid(pool, spec, result)
    first = result.forms[0]
    bad_item = int(np.flatnonzero(~pool.eligible)[0])
    items = np.sort(np.append(first.items[1:], bad_item))
    tampered = replace(
        result,
        forms=(
            replace(first, items=items, item_ids=tuple(pool.item_ids[items].tolist())),
            result.forms[0],  # the same items again: overlap cap 1 broken
        ),
    )
    problems = verify(
        replace(pool, enemy_sets=[first.items[1:3].tolist()]), spec, tampered, node_codes=codes_map(codes)
    )
    text = "\n".join(problems)
    assert "当前不可用" in text
    assert "超过上限 1 套" in text
    assert "互斥试题" in text
    assert "记录的测验信息与重新计算的不一致" in text


def test_check_fixed_paper():
    pool, codes = make_pool(18, n_enemy_pairs=0)
    spec = AssemblySpec(12, mode="type_counts", type_counts={"single": 9, "judge": 3})
    ids = list(assemble(pool, spec).forms[0].item_ids)
    assert check_fixed_paper(pool, ids, spec) == []
    assert check_fixed_paper(pool, ids) == []
    enemy_pool = replace(pool, enemy_sets=[pool.indices_of(ids[:2])[0].tolist()])
    problems = check_fixed_paper(enemy_pool, [*ids[:-1], 999_999, ids[0]], spec)
    assert "试题 999999 不在题库中。" in problems
    assert f"试题 {ids[0]} 重复出现。" in problems
    assert f"互斥试题 {ids[0]}、{ids[1]} 同时入选。" in problems
    assert any("题型「单选题」" in p or "题型「判断题」" in p for p in problems)
