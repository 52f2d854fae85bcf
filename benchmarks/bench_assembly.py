"""Benchmark of the paper-assembly engine (组卷, ``itembank.assembly``).

Run from the project root::

    .venv/bin/python -m benchmarks.bench_assembly      # or: make bench-assembly

Cases
-----
a. A synthetic 5,000-item national-style bank (blueprint tree of ranges and ~220 assessment
   points marked X/Y/Z, three item types, 30 % uncalibrated items with a-priori parameters,
   8 % ineligible, 100 enemy pairs): one 200-item paper by blueprint counts, by blueprint
   counts plus 160 single + 40 true/false, and by type counts only. Target under 5 s.
b. 4 parallel 40-item forms from 1,000 items, 5 areas of 8 items, 60 enemy pairs, disjoint
   forms; without and with a relative TIF tolerance of 5 %. Target: proven gap ≤ 2 % in
   under 10 s.
c. For information: 10 forms × 60 from 3,000 items in groups of 4 with the shadow test.
d, e. Issue 16 point 3 (``benchmarks/bench_pool.py``): ``papers.build_pool`` on a 16,000-item
   SQLite bank, and 2 forms × 100 with the TIFs within 5 % from a 16,000-item bank, each
   against the old path (reference implementations in that module) in the same run. Target for
   e: under 5 s.

Baselines, measured in the same process (the machine is shared; seconds are noisy): the LP
relaxation of the same model (time ratio and an upper bound on the objective) and a greedy
heuristic on the same spec (time, and the objective the MILP improves on).

The Markdown table is printed and written to ``benchmarks/results/assembly.md``.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy
from scipy import sparse

from itembank.assembly import (
    AssemblyResult,
    AssemblySpec,
    ItemPool,
    assemble,
    blueprint_counts,
    parents_from_codes,
    relaxation_bound,
    verify,
)
from itembank.irtmodel import difficulty_to_b

COMMAND = ".venv/bin/python -m benchmarks.bench_assembly"
RESULTS = Path(__file__).resolve().parent / "results" / "assembly.md"
IMPORTANCE_FACTOR = {"X": 1.0, "Y": 0.5, "Z": 0.25}


# --------------------------------------------------------------------------------------------
# Synthetic banks
# --------------------------------------------------------------------------------------------


@dataclass
class Bank:
    pool: ItemPool
    codes: list[str]
    weights: dict[int, float]
    importance: dict[int, str]


def national_bank(n_items: int = 5000, seed: int = 20240601) -> Bank:
    """A blueprint shaped like a national level-4 theory blueprint, and a bank of items on it.

    Tree: 基本要求 (A, 20 %) with 2 ranges, 相关知识 (B, 80 %) with 5 ranges; each of those has
    3–4 sub-ranges of 6–12 points, ~220 points in all; point weights ∝ importance
    (X 1, Y 0.5, Z 0.25) within their range; about 85 % X, 12 % Y, 3 % Z.
    """
    rng = np.random.default_rng(seed)
    codes: list[str] = []
    weights: dict[int, float] = {}
    importance: dict[int, str] = {}

    def add(code: str, weight: float) -> int:
        codes.append(code)
        weights[len(codes) - 1] = weight
        return len(codes) - 1

    letters = "ABCDEFGH"
    for top, top_w, n_second in (("A", 20.0, 2), ("B", 80.0, 5)):
        add(top, top_w)
        second_w = rng.dirichlet(np.full(n_second, 4.0)) * top_w
        for s in range(n_second):
            code2 = f"{top}-{letters[s]}"
            add(code2, float(second_w[s]))
            n_third = int(rng.integers(3, 5))
            third_w = rng.dirichlet(np.full(n_third, 4.0)) * second_w[s]
            for t in range(n_third):
                code3 = f"{code2}-{letters[t]}"
                add(code3, float(third_w[t]))
                n_points = int(rng.integers(6, 13))
                imp = rng.choice(["X", "Y", "Z"], n_points, p=[0.85, 0.12, 0.03])
                raw = np.asarray([IMPORTANCE_FACTOR[i] for i in imp])
                for k in range(n_points):
                    v = add(f"{code3}-{k + 1:03d}", float(raw[k] / raw.sum() * third_w[t]))
                    importance[v] = str(imp[k])
    parent = parents_from_codes(codes)
    points = np.asarray(sorted(importance))
    # More items for heavier points (authors write to the blueprint), at least 4 per point.
    share = np.asarray([weights[int(v)] for v in points])
    per_point = np.maximum(4, rng.multinomial(n_items - 4 * points.size, share / share.sum()) + 4)
    per_point[-1] -= per_point.sum() - n_items
    point = np.repeat(points, per_point)
    pool = _items(rng, point, parent, n_enemy_pairs=100, ineligible=0.08, uncalibrated=0.3)
    return Bank(pool, codes, weights, importance)


def _items(
    rng: np.random.Generator,
    point: np.ndarray,
    parent: np.ndarray | None,
    *,
    n_enemy_pairs: int,
    ineligible: float,
    uncalibrated: float,
    types: tuple[tuple[str, float], ...] = (("single", 0.65), ("judge", 0.25), ("multiple", 0.10)),
) -> ItemPool:
    n = point.size
    kinds = rng.choice([t for t, _ in types], n, p=[p for _, p in types])
    a = rng.lognormal(0.1, 0.3, n)
    b = rng.normal(-0.3, 1.0, n)
    c = np.select([kinds == "single", kinds == "judge"], [0.2, 0.3], 0.05) * rng.uniform(0.5, 1.0, n)
    # Uncalibrated items: a-priori a = 1, b from the author's difficulty rating, no guessing.
    prior = rng.random(n) < uncalibrated
    a[prior] = 1.0
    b[prior] = difficulty_to_b(rng.choice([0.3, 0.5, 0.7, 0.85], int(prior.sum())))
    c[prior] = 0.0
    # Enemy pairs: two items on the same point (near duplicates).
    order = np.argsort(point, kind="stable")
    starts = rng.choice(n - 1, n_enemy_pairs, replace=False)
    enemies = [(int(order[s]), int(order[s + 1])) for s in starts if point[order[s]] == point[order[s + 1]]]
    return ItemPool(
        item_ids=np.arange(100_000, 100_000 + n),
        item_types=kinds,
        point=point,
        a=a,
        b=b,
        c=c,
        node_parent=parent,
        eligible=rng.random(n) >= ineligible,
        enemy_sets=enemies,
    )


def area_bank(n_items: int, n_areas: int, n_enemy_pairs: int, seed: int) -> ItemPool:
    """A flat bank: ``n_areas`` content areas, items spread evenly, all eligible."""
    rng = np.random.default_rng(seed)
    point = rng.integers(0, n_areas, n_items)
    pool = _items(rng, point, None, n_enemy_pairs=n_enemy_pairs * 3, ineligible=0.0, uncalibrated=0.0)
    # Exactly n_enemy_pairs pairs, any two items of the same area.
    enemies = list(pool.enemy_sets)[:n_enemy_pairs]
    assert len(enemies) == n_enemy_pairs
    return ItemPool(pool.item_ids, pool.item_types, pool.point, pool.a, pool.b, pool.c, enemy_sets=enemies)


# --------------------------------------------------------------------------------------------
# Greedy baseline
# --------------------------------------------------------------------------------------------


def greedy(pool: ItemPool, spec: AssemblySpec) -> tuple[float, bool]:
    """Round-robin greedy for the maximin objective, same constraints as the MILP.

    The form with the lowest current ``min_k TIF/w`` takes the item that raises that minimum
    most (ties: total information), among items that keep every upper bound, the enemy sets and
    the overlap cap, and leave enough slots for the remaining lower-bound deficits (per
    innermost constrained node and per type). Returns the objective and whether every form was
    completed (a greedy can paint itself into a corner when points and types interact).
    """
    n, n_forms, length = pool.n_items, spec.n_forms, spec.form_length
    info = pool.information(spec.theta) / spec.weights[:, None]
    allowed = pool.eligible.copy()
    if spec.type_counts:
        allowed &= np.isin(pool.item_types, [t for t, (_, hi) in spec.type_counts.items() if hi > 0])
    cap = pool.capacity(spec.overlap_cap)
    uses = np.zeros(n, np.int64)

    nodes = sorted(spec.node_counts)
    m_nodes = pool.membership[nodes].tocsr() if nodes else sparse.csr_array((0, n))
    n_lo = np.asarray([spec.node_counts[v][0] for v in nodes], np.int64)
    n_hi = np.asarray([spec.node_counts[v][1] for v in nodes], np.int64)
    # Innermost constrained nodes (no constrained node below them) are disjoint, so their
    # deficits add up.
    has_below = set()
    for w in nodes:
        p = int(pool.node_parent[w])
        while p >= 0:
            has_below.add(p)
            p = int(pool.node_parent[p])
    inner = np.asarray([v not in has_below for v in nodes], bool)
    types = sorted(spec.type_counts)
    t_idx = {t: j for j, t in enumerate(types)}
    item_t = np.asarray([t_idx.get(t, -1) for t in pool.item_types.tolist()], np.int64)
    t_lo = np.asarray([spec.type_counts[t][0] for t in types], np.int64)
    t_hi = np.asarray([spec.type_counts[t][1] for t in types], np.int64)
    inner_of_item = np.full(n, -1, np.int64)
    if nodes:
        coo = m_nodes[np.flatnonzero(inner)].tocoo()
        inner_of_item[coo.col] = np.flatnonzero(inner)[coo.row]
    if pool.enemy_sets:
        er = np.concatenate([np.full(len(s), k) for k, s in enumerate(pool.enemy_sets)])
        ec = np.concatenate([np.asarray(s) for s in pool.enemy_sets])
        enemy = sparse.csr_array((np.ones(er.size), (er, ec)), shape=(len(pool.enemy_sets), n))
    else:
        enemy = sparse.csr_array((0, n))

    n_t = len(types)
    subsets = np.arange(1 << n_t)
    member = (subsets[:, None] >> np.arange(n_t)) & 1  # (S, T): type t in subset S

    def _hall_ok(f: int, cand: np.ndarray) -> np.ndarray:
        """Keep the candidates after which the point deficits can still be met by the type quotas:
        for every set S of types, the deficits of the points whose available items are all of types
        in S must fit in the slots left for S (Hall's condition of the point-type transport)."""
        avail = allowed & (uses < cap) & ~in_form[f] & ~blocked[f] & (item_t >= 0) & (inner_of_item >= 0)
        cnt = np.bincount(inner_of_item[avail] * n_t + item_t[avail], minlength=len(nodes) * n_t)
        cnt = cnt.reshape(len(nodes), n_t)
        bits = (cnt > 0) @ (1 << np.arange(n_t))
        d = np.maximum(n_lo - n_cnt[f], 0) * inner
        slack = member @ (t_hi - t_cnt[f]) - ((bits[None, :] & ~subsets[:, None]) == 0) @ d
        v = np.maximum(inner_of_item[cand], 0)
        has_v = inner_of_item[cand] >= 0
        t = np.maximum(item_t[cand], 0)
        tb = 1 << t
        bits_new = np.where(cnt[v, t] == 1, bits[v] & ~tb, bits[v])
        old = (d[v] * has_v) * ((bits[v][None, :] & ~subsets[:, None]) == 0)
        new = (np.maximum(d[v] - 1, 0) * has_v) * ((bits_new[None, :] & ~subsets[:, None]) == 0)
        slack_new = slack[:, None] - ((subsets[:, None] & tb[None, :]) != 0) + old - new
        return (slack_new >= 0).all(axis=0)

    tif = np.zeros((n_forms, info.shape[0]))
    size = np.zeros(n_forms, np.int64)
    in_form = np.zeros((n_forms, n), bool)
    blocked = np.zeros((n_forms, n), bool)
    n_cnt = np.zeros((n_forms, len(nodes)), np.int64)
    t_cnt = np.zeros((n_forms, len(types)), np.int64)
    stuck = np.zeros(n_forms, bool)
    while True:
        open_ = (size < length) & ~stuck
        if not open_.any():
            break
        f = int(np.flatnonzero(open_)[np.argmin(tif[open_].min(axis=1))])
        ok = allowed & (uses < cap) & ~in_form[f] & ~blocked[f]
        if nodes:
            full = (n_cnt[f] >= n_hi).astype(float)
            ok &= (m_nodes.T @ full) == 0
        if types:
            ok &= (item_t >= 0) & (t_cnt[f][np.maximum(item_t, 0)] < t_hi[np.maximum(item_t, 0)])
        slots = length - size[f] - 1
        if nodes:
            deficit = np.maximum(n_lo - n_cnt[f], 0) * inner
            d_total = int(deficit.sum())
            helps = (inner_of_item >= 0) & (deficit[np.maximum(inner_of_item, 0)] > 0)
            ok &= d_total - helps <= slots
        if types:
            deficit_t = np.maximum(t_lo - t_cnt[f], 0)
            helps_t = (item_t >= 0) & (deficit_t[np.maximum(item_t, 0)] > 0)
            ok &= int(deficit_t.sum()) - helps_t <= slots
        cand = np.flatnonzero(ok)
        if nodes and types and cand.size:
            cand = cand[_hall_ok(f, cand)]
        if cand.size == 0:
            stuck[f] = True
            continue
        new = tif[f][:, None] + info[:, cand]
        score = new.min(axis=0) + 1e-9 * new.sum(axis=0)
        i = int(cand[np.argmax(score)])
        in_form[f, i] = True
        size[f] += 1
        uses[i] += 1
        tif[f] += info[:, i]
        if nodes:
            n_cnt[f] += m_nodes[:, [i]].toarray().ravel().astype(np.int64)
        if types:
            t_cnt[f, item_t[i]] += 1
        if enemy.shape[0]:
            sets = enemy[:, [i]].toarray().ravel() > 0
            blocked[f] |= np.asarray(enemy[np.flatnonzero(sets)].sum(axis=0)).ravel() > 0
    complete = bool((size == length).all())
    return float(tif.min()), complete


# --------------------------------------------------------------------------------------------
# Runner
# --------------------------------------------------------------------------------------------


@dataclass
class Row:
    case: str
    shape: str
    milp_s: float
    build_s: float
    lp_s: float
    greedy_s: float
    objective: float
    lp_bound: float
    greedy_obj: float
    greedy_complete: bool
    gap: float
    status: str
    target_s: float | None
    violations: int


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[Any, float]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def run_case(case: str, shape: str, pool: ItemPool, spec: AssemblySpec, target_s: float | None, repeat: int) -> Row:
    result: AssemblyResult
    result, milp_s = _timed(lambda: assemble(pool, spec), repeat)
    lp_bound, lp_s = _timed(lambda: relaxation_bound(pool, spec), repeat)
    (g_obj, g_ok), greedy_s = _timed(lambda: greedy(pool, spec), 1)
    problems = verify(pool, spec, result)
    row = Row(
        case=case,
        shape=shape,
        milp_s=milp_s,
        build_s=result.build_seconds,
        lp_s=lp_s,
        greedy_s=greedy_s,
        objective=result.objective,
        lp_bound=lp_bound,
        greedy_obj=g_obj,
        greedy_complete=g_ok,
        gap=result.mip_gap,
        status=result.status,
        target_s=target_s,
        violations=len(problems),
    )
    print(f"  {case}: {milp_s:.2f} s, objective {result.objective:.3f}, gap {result.mip_gap:.4f}", flush=True)
    return row


def table(rows: list[Row]) -> str:
    head = (
        "| case | forms × length (pool) | MILP s | build s | LP-relax s | MILP ÷ LP | greedy s "
        "| MILP objective | LP bound | greedy objective | MILP ÷ greedy | proven gap | status "
        "| verify | target |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|\n"
    )
    lines = []
    for r in rows:
        g = f"{r.greedy_obj:.3f}" if r.greedy_complete else f"{r.greedy_obj:.3f} (incomplete)"
        ratio = f"{r.objective / r.greedy_obj:.3f}" if r.greedy_complete and r.greedy_obj > 0 else "–"
        if r.target_s is None:
            target = "–"
        else:
            met = r.milp_s < r.target_s and r.gap <= 0.02 + 1e-12 and r.violations == 0
            target = f"< {r.target_s:g} s, gap ≤ 2 %: {'met' if met else 'NOT met'}"
        lines.append(
            f"| {r.case} | {r.shape} | {r.milp_s:.2f} | {r.build_s:.3f} | {r.lp_s:.3f} | {r.milp_s / r.lp_s:.1f} "
            f"| {r.greedy_s:.2f} | {r.objective:.3f} | {r.lp_bound:.3f} | {g} | {ratio} | {100 * r.gap:.2f} % "
            f"| {r.status} | {'ok' if r.violations == 0 else f'{r.violations} violations'} | {target} |"
        )
    return head + "\n".join(lines) + "\n"


def main() -> None:
    print("Building synthetic banks …", flush=True)
    t0 = time.perf_counter()
    bank = national_bank()
    pool = bank.pool
    parent = pool.node_parent
    n_points = int(pool.is_point.sum())
    imp = np.asarray(list(bank.importance.values()))
    counts = blueprint_counts(bank.weights, total_points=100, points_per_item=0.5, node_parent=parent)
    points_only = {v: k for v, k in counts.items() if pool.is_point[v]}
    assert sum(points_only.values()) == 200
    bank_s = time.perf_counter() - t0
    rows: list[Row] = []
    common = {"cut_theta": 0.0, "mip_rel_gap": 0.02, "time_limit": 60.0}

    print("(a) 200-item paper from 5,000 items", flush=True)
    shape_a = f"1 × 200 (5,000 items, {n_points} points)"
    rows.append(run_case("a1 blueprint", shape_a, pool, AssemblySpec(200, node_counts=counts, **common), 5.0, 3))
    spec_a2 = AssemblySpec(200, mode="both", node_counts=counts, type_counts={"single": 160, "judge": 40}, **common)
    rows.append(run_case("a2 blueprint + 160 single + 40 judge", shape_a, pool, spec_a2, 5.0, 3))
    spec_a3 = AssemblySpec(200, mode="type_counts", type_counts={"single": 160, "judge": 40}, **common)
    rows.append(run_case("a3 160 single + 40 judge", shape_a, pool, spec_a3, 5.0, 3))

    print("(b) 4 parallel forms × 40 from 1,000 items", flush=True)
    pool_b = area_bank(1000, 5, 60, seed=7)
    areas = {v: 8 for v in range(5)}
    spec_b1 = AssemblySpec(40, n_forms=4, node_counts=areas, **common)
    rows.append(run_case("b1 4 disjoint forms, 60 enemy pairs", "4 × 40 (1,000 items)", pool_b, spec_b1, 10.0, 3))
    spec_b2 = AssemblySpec(
        40, n_forms=4, node_counts=areas, tif_tolerance=0.05, tif_tolerance_kind="relative", **common
    )
    rows.append(run_case("b2 as b1 + TIF within 5 %", "4 × 40 (1,000 items)", pool_b, spec_b2, 10.0, 3))

    print("(c) 10 forms × 60 from 3,000 items, groups of 4", flush=True)
    pool_c = area_bank(3000, 6, 100, seed=11)
    spec_c = AssemblySpec(
        60,
        n_forms=10,
        node_counts={v: 10 for v in range(6)},
        tif_tolerance=0.05,
        tif_tolerance_kind="relative",
        group_size=4,
        mip_rel_gap=0.02,
        time_limit=120.0,
    )
    rows.append(run_case("c 10 forms, groups of 4 + shadow test", "10 × 60 (3,000 items)", pool_c, spec_c, None, 1))

    md = table(rows)
    print("(d, e) 16,000-item banks: pool build and 2 parallel forms × 100, new and old path", flush=True)
    from benchmarks import bench_pool

    md_de = bench_pool.table([bench_pool.case_pool(), bench_pool.case_parallel()])
    x_share = float(np.mean(imp == "X"))
    header = (
        "# Paper assembly (组卷) benchmark\n\n"
        f"- Command: `{COMMAND}` (from the project root; `make bench-assembly`)\n"
        f"- Date: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}\n"
        f"- Python {platform.python_version()}, NumPy {np.__version__}, SciPy {scipy.__version__} "
        f"(`scipy.optimize.milp`, HiGHS), {os.cpu_count()} CPUs, {platform.machine()}\n"
        f"- Banks: (a) {pool.n_items:,} items on {n_points} points ({100 * x_share:.0f} % X) in "
        f"{pool.n_nodes - n_points} ranges, {len(pool.enemy_sets)} enemy pairs, "
        f"{int((~pool.eligible).sum())} ineligible, built in {bank_s:.2f} s; (b) 1,000 items, 5 areas, "
        "60 enemy pairs; (c) 3,000 items, 6 areas, 100 enemy pairs.\n"
        "- θ points −0.5, 0, 0.5 around the cut (θ = 0); objective = min over forms and θ points of "
        "the TIF; `mip_rel_gap` 0.02.\n"
        "- Times: median of 3 runs (c: 1 run). The ratio baselines run in the same process: "
        "`MILP ÷ LP` = MILP time over the LP relaxation of the same first-group model; greedy = a "
        "round-robin maximin greedy under the same constraints (`MILP ÷ greedy` compares objectives). "
        "`verify` re-checks every constraint of every form independently of the model.\n"
        "- The LP-relax time includes the same candidate reduction and model build as the MILP; for (c) it "
        "is the first group's LP only. The greedy ignores the TIF tolerance (b2, c), so there its "
        "objective comes from a less constrained problem.\n\n"
    )
    text = header + md + (
        "\n## 16,000-item banks (issue 16 point 3)\n\n"
        "Old path = the code before the change, kept as reference implementations in "
        "`benchmarks/bench_pool.py`, run in the same process on the same data. d: median of 3 runs, "
        "each in a fresh session. e: 1 run each; target < 5 s.\n\n" + md_de
    )
    print()
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(f"Written to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    if any(r.violations for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
