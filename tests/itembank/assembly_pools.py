"""Seeded synthetic item pools for the assembly tests (shared by test_assembly and
test_assembly_reduction)."""

from __future__ import annotations

import numpy as np

from itembank.assembly import AssemblyResult, AssemblySpec, ItemPool, blueprint_counts, parents_from_codes, verify

TYPES = np.array(["single", "judge", "multiple"])


def make_codes(n_top: int = 2, n_second: int = 2, n_points: int = 4) -> list[str]:
    """``A``, ``A-A``, ``A-A-001`` … in depth-first order."""
    letters = "ABCDEFGH"
    codes = []
    for t in letters[:n_top]:
        codes.append(t)
        for s in letters[:n_second]:
            codes.append(f"{t}-{s}")
            codes.extend(f"{t}-{s}-{k:03d}" for k in range(1, n_points + 1))
    return codes


def make_pool(
    seed: int = 0,
    per_point: int = 15,
    *,
    ineligible: float = 0.1,
    n_enemy_pairs: int = 20,
    **overrides,
) -> tuple[ItemPool, list[str]]:
    rng = np.random.default_rng(seed)
    codes = make_codes()
    parent = parents_from_codes(codes)
    points = np.flatnonzero([c.count("-") == 2 for c in codes])
    point = np.repeat(points, per_point)
    n = point.size
    kinds = TYPES[rng.choice(3, n, p=[0.65, 0.25, 0.10])]
    fields = dict(
        item_ids=np.arange(5000, 5000 + n),
        item_types=kinds,
        point=point,
        a=rng.lognormal(0.0, 0.3, n),
        b=rng.normal(0.0, 1.0, n),
        c=np.where(kinds == "single", 0.2, 0.0),
        node_parent=parent,
        eligible=rng.random(n) >= ineligible,
        enemy_sets=[tuple(int(i) for i in rng.choice(n, 2, replace=False)) for _ in range(n_enemy_pairs)],
    )
    fields.update(overrides)
    return ItemPool(**fields), codes


def codes_map(codes: list[str]) -> dict[int, str]:
    return dict(enumerate(codes))


def point_counts(pool: ItemPool, codes: list[str], length: int, seed: int = 0) -> dict[int, int]:
    rng = np.random.default_rng(seed)
    weights = {v: float(rng.uniform(1, 5)) for v in range(len(codes))}
    return blueprint_counts(weights, form_length=length, node_parent=pool.node_parent)


def assert_valid(pool: ItemPool, spec: AssemblySpec, result: AssemblyResult) -> None:
    problems = verify(pool, spec, result)
    assert problems == [], problems


# --------------------------------------------------------------------------------------------
# Weights → counts
# --------------------------------------------------------------------------------------------
