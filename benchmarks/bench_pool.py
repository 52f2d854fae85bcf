"""Issue 16 point 3: an assembly pool from a 16,000-item bank, and 2 parallel forms × 100 within
5 % from it; each against the old path, measured in the same run.

Run from the project root (``benchmarks.bench_assembly`` runs it as cases d and e)::

    .venv/bin/python -m benchmarks.bench_pool

d. ``papers.build_pool`` on a SQLite database holding 16,000 active items of every type (two
   thirds uncalibrated, so they need their current version's difficulty), 500 enemy pairs and
   a locked paper: the product's constant-statement load against :func:`old_build_pool`, a
   copy of the per-item path it replaced (one lazy load per uncalibrated item, types dropped in
   Python, ``IN`` lists of every id).
e. 2 forms × 100 by blueprint counts with the TIFs within 5 % (relative) from the 16,000-item
   synthetic national bank: ``assemble`` against :func:`old_assemble`, one MILP over every
   allowed item as before the restricted-model step.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.orm import Session

from foundation.db import Base
from foundation.settings import get_rule
from itembank import assembly, irtmodel
from itembank import papers as svc
from itembank.itemtypes import ITEM_TYPES
from itembank.models import (
    Blueprint,
    BlueprintNode,
    EnemyMember,
    EnemySet,
    Item,
    ItemStatus,
    ItemVersion,
    Paper,
    PaperForm,
    PaperItem,
    PaperStatus,
)

N_ITEMS = 16_000


# --------------------------------------------------------------------------------------------
# The old paths (reference implementations, kept here and not in the product)
# --------------------------------------------------------------------------------------------


def old_build_pool(session: Session, blueprint: Blueprint, *, types: set[str] | None = None) -> svc.BankPool:
    """``papers.build_pool`` as it was before issue 16 point 3."""
    nodes = list(blueprint.nodes)
    index = {n.id: k for k, n in enumerate(nodes)}
    parents = np.array([index[n.parent_id] if n.parent_id in index else -1 for n in nodes], dtype=np.int64)
    stmt = select(Item).join(BlueprintNode, BlueprintNode.id == Item.point_id).where(
        BlueprintNode.blueprint_id == blueprint.id, Item.status == ItemStatus.ACTIVE.value,
    ).order_by(Item.id)
    items = [i for i in session.scalars(stmt) if types is None or i.item_type in types]
    n = int(get_rule(session, "assembly_recent_papers"))
    recent: set[int] = set()
    if n > 0:
        ids = session.scalars(select(Paper.id).where(
            Paper.blueprint_id == blueprint.id, Paper.status == PaperStatus.LOCKED.value,
        ).order_by(Paper.locked_at.desc()).limit(n)).all()
        if ids:
            recent = set(session.scalars(select(PaperItem.item_id).join(PaperForm).where(PaperForm.paper_id.in_(ids))))
    cap = int(get_rule(session, "assembly_exposure_cap"))
    rows = session.execute(
        select(PaperItem.item_id, func.count(func.distinct(PaperForm.paper_id)))
        .join(PaperForm, PaperForm.id == PaperItem.form_id).join(Paper, Paper.id == PaperForm.paper_id)
        .where(Paper.status == PaperStatus.LOCKED.value, PaperItem.item_id.in_([i.id for i in items]))
        .group_by(PaperItem.item_id)
    ).all()
    overexposed = {item_id for item_id, used in rows if used >= cap}
    eligible = np.array([(not i.is_pretest or i.irt_a is not None) and i.id not in recent and i.id not in overexposed
                         for i in items], dtype=bool)
    a = np.array([i.irt_a if i.irt_a is not None else 1.0 for i in items], dtype=np.float64)
    b = np.array([
        i.irt_b if i.irt_b is not None
        else float(irtmodel.difficulty_to_b(i.current_version.difficulty or svc.DEFAULT_DIFFICULTY))  # type: ignore[union-attr]
        for i in items
    ], dtype=np.float64)
    c = np.array([i.irt_c or 0.0 for i in items], dtype=np.float64)
    position = {item.id: k for k, item in enumerate(items)}
    groups: dict[int, list[int]] = {}
    for member in session.scalars(select(EnemyMember).where(EnemyMember.item_id.in_(list(position)))):
        groups.setdefault(member.enemy_set_id, []).append(position[member.item_id])
    pool = assembly.ItemPool(
        item_ids=np.array([i.id for i in items], dtype=np.int64),
        item_types=np.array([i.item_type for i in items], dtype=str),
        point=np.array([index[i.point_id] for i in items], dtype=np.int64),
        a=a, b=b, c=c, node_parent=parents, eligible=eligible,
        enemy_sets=[g for g in groups.values() if len(g) > 1],
    )
    return svc.BankPool(pool, items, [n.id for n in nodes], {k: n.code for k, n in enumerate(nodes)})


def old_assemble(pool: assembly.ItemPool, spec: assembly.AssemblySpec) -> tuple[float, float, str]:
    """One group with a band as before: a MILP over every allowed item (no reduction with a
    tolerance). Returns objective, HiGHS' gap and status."""
    info = pool.information(spec.theta)
    cap = pool.capacity(spec.overlap_cap).copy()
    cand = np.flatnonzero(assembly._allowed_items(pool, spec) & (cap > 0))
    model = assembly._build_group(pool, spec, info, cand, cap, spec.n_forms, 0, np.zeros((0, info.shape[0])))
    res = assembly._solve(model, spec, spec.time_limit)
    return -float(res.fun), float(res.mip_gap), "optimal" if res.status == 0 else "time_limit"


# --------------------------------------------------------------------------------------------
# A 16,000-item bank in SQLite
# --------------------------------------------------------------------------------------------


def seed_database(session: Session, n_items: int = N_ITEMS, seed: int = 5) -> Blueprint:
    from tests.factories import make_blueprint, make_institution, make_user

    rng = np.random.default_rng(seed)
    author = make_user(session)
    bp = make_blueprint(session, author, ranges=8, points_per_range=25)  # 200 points
    points = [p.id for p in bp.points]
    kinds = list(ITEM_TYPES)
    calibrated = rng.random(n_items) < 1 / 3
    rows = [{"code": f"B{k:06d}", "point_id": points[k % len(points)], "level": bp.level,
             "item_type": kinds[int(rng.choice(len(kinds), p=[0.5, 0.1, 0.25, 0.05, 0.04, 0.03, 0.03]))],
             "status": "active", "author_id": author.id, "is_pretest": bool(rng.random() < 0.05),
             "irt_a": float(rng.lognormal(0, 0.3)) if calibrated[k] else None,
             "irt_b": float(rng.normal()) if calibrated[k] else None} for k in range(n_items)]
    session.execute(Item.__table__.insert(), rows)
    ids = session.scalars(select(Item.id).where(Item.code.like("B%")).order_by(Item.id)).all()
    session.execute(ItemVersion.__table__.insert(), [
        {"item_id": i, "number": 1, "stem_html": "<p>题</p>", "spec_json": "{}", "author_id": author.id,
         "difficulty": float(rng.choice([0.3, 0.5, 0.7, 0.85])), "frozen": True} for i in ids])
    versions = dict(session.execute(select(ItemVersion.item_id, ItemVersion.id)).tuples().all())
    session.connection().exec_driver_sql(
        "UPDATE item SET current_version_id = ? WHERE id = ?", [(versions[i], i) for i in ids])
    for k in range(500):
        a = int(rng.integers(0, len(ids) - len(points)))
        session.add(EnemySet(name=f"互斥{k}", members=[EnemyMember(item_id=ids[a]),
                                                      EnemyMember(item_id=ids[a + len(points)])]))
    inst = make_institution(session)
    paper = Paper(name="已锁定试卷", institution_id=inst.id, blueprint_id=bp.id, mode="fixed", layout_json="[]",
                  created_by_id=author.id, status="locked", locked_at=svc.utcnow())
    form = PaperForm(label="A")
    paper.forms.append(form)
    for position, i in enumerate(ids[:: 160], start=1):
        form.items.append(PaperItem(position=position, item_id=i, item_version_id=versions[i], points=1.0))
    session.add(paper)
    session.commit()
    return bp


@dataclass
class Result:
    case: str
    new_s: float
    old_s: float
    new_statements: int
    old_statements: int
    detail: str


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[Any, float]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def case_pool(repeat: int = 3) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'bank.db'}")
        Base.metadata.create_all(engine)
        with Session(engine) as session:
            t0 = time.perf_counter()
            bp_id = seed_database(session).id
            seed_s = time.perf_counter() - t0
        statements = [0]
        event.listen(engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
        types = {"single_choice", "true_false"}
        out: dict[str, tuple[Any, float, int]] = {}
        for name, fn in (("new", svc.build_pool), ("old", old_build_pool)):
            def run(fn: Any = fn) -> Any:
                with Session(engine) as session:  # a fresh session: nothing cached between runs
                    bp = session.get(Blueprint, bp_id)
                    statements[0] = 0
                    bank = fn(session, bp, types=types)
                    return bank, statements[0]
            (bank, count), seconds = _timed(run, repeat)
            out[name] = (bank, seconds, count)
        new, old = out["new"][0].pool, out["old"][0].pool
        same = (np.array_equal(new.item_ids, old.item_ids) and np.allclose(new.b, old.b)
                and np.array_equal(new.eligible, old.eligible)
                and sorted(map(tuple, new.enemy_sets)) == sorted(map(tuple, old.enemy_sets)))
        engine.dispose()
    return Result("d build_pool, 16,000-item bank (SQLite), single + true/false", out["new"][1], out["old"][1],
                  out["new"][2], out["old"][2],
                  f"{new.n_items:,} items in the pool; seeded in {seed_s:.1f} s; same pool as the old path: {same}")


def case_parallel(repeat: int = 1) -> Result:
    from benchmarks.bench_assembly import national_bank

    bank = national_bank(N_ITEMS)
    pool = bank.pool
    counts = assembly.blueprint_counts(bank.weights, form_length=100, node_parent=pool.node_parent)
    spec = assembly.AssemblySpec(100, n_forms=2, node_counts=counts, tif_tolerance=0.05,
                                 tif_tolerance_kind="relative", mip_rel_gap=0.02, time_limit=120.0)
    result, new_s = _timed(lambda: assembly.assemble(pool, spec), repeat)
    (old_obj, old_gap, old_status), old_s = _timed(lambda: old_assemble(pool, spec), repeat)
    g = result.groups[0]
    problems = assembly.verify(pool, spec, result)
    detail = (f"new: objective {result.objective:.3f}, gap {100 * g.mip_gap:.2f} % against the full model's LP "
              f"bound {g.dual_bound:.3f}, {g.candidates} candidates ({g.n_candidates:,}), "
              f"{'verify ok' if not problems else f'{len(problems)} violations'}; old: objective {old_obj:.3f}, "
              f"gap {100 * old_gap:.2f} %, {old_status}")
    return Result("e 2 forms × 100, TIF within 5 %, 16,000-item bank", new_s, old_s, 0, 0, detail)


def table(results: list[Result]) -> str:
    lines = ["| case | new s | old s | old ÷ new | statements new / old | notes |", "|---|---:|---:|---:|---|---|"]
    for r in results:
        st = f"{r.new_statements} / {r.old_statements:,}" if r.old_statements else "–"
        lines.append(f"| {r.case} | {r.new_s:.2f} | {r.old_s:.2f} | {r.old_s / r.new_s:.1f}× | {st} | {r.detail} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    results = [case_pool(), case_parallel()]
    print(table(results))


if __name__ == "__main__":
    main()
