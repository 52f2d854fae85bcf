"""Item reports (题目分析报告) from stored results: computing the matrix figures vs serving them.

Run from the repository root::

    python -m benchmarks.bench_reports           # or: make bench-reports
    python -m benchmarks.bench_reports --quick   # 10,000 × 100 only

For each size (examinees × 100 items, 2PL, complete, with choices) the script builds, in a
fresh SQLite database, a blueprint, 100 single-choice items, a response set, a finished run
and its item parameters (rows made directly, as AnalysisWorld of tests/grading/worlds.py does; the
helpers of ``tests.factories`` make the blueprint and users), then measures in the same process:

* **view before** — one item report as every view (page, ``.json``, ``.xlsx``) computed it
  before the store: decompress the matrix, CTT, the rest-θ posterior, the distractor table
  (the first view of a run made before the store still costs this, once per item);
* **run end** — :func:`grading.psychometrics.report_store.backfill_run` for all 100 items:
  what a calibration run now adds at its end (the same computation over every item, one
  decompression);
* **all items old / new** — the matrix figures of all 100 items from the decompressed matrix
  (what the run end computes), by :func:`~grading.psychometrics.report_store.item_entries`
  (one likelihood, each item divided out: O(N·J·Q)) and by the computation it replaced, one
  rest-θ posterior rebuilt per item (O(N·J²·Q); kept as ``_reference_entries`` in
  tests/grading/test_report_store.py), same run, same process; their ratio, and the largest
  difference of any observed-ICC number between the two;
* **served** — the page, the chart JSON and the Excel workbook of a stored item through the
  Flask test client, logged in as the centre admin (median of ``--views`` views per route).

The ratio ``view before ÷ served`` is the speed-up of a report view; the target (issue 16
point 5) is a 50,000-examinee report served in ≤ 100 ms. Writes the table to
``benchmarks/results/reports.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).with_name("results") / "reports.md"
TARGET_MS = 100.0
N_ITEMS = 100


def _build(session, n: int, seed: int):  # type: ignore[no-untyped-def]
    from foundation.roles import Role
    from grading.psychometrics.models import CalibrationRun, ItemParameter, ResponseSet, pack_arrays
    from itembank.models import Item, ItemVersion
    from tests.factories import make_blueprint, make_user

    rng = np.random.default_rng(seed)
    centre = make_user(session, Role.CENTRE_ADMIN)
    writer = make_user(session, Role.QUESTION_WRITER)
    bp = make_blueprint(session, centre)
    points = bp.points
    items = []
    spec = json.dumps({"options": [{"label": x, "html": f"选项{x}"} for x in "ABCD"], "key": ["B"]})
    for k in range(N_ITEMS):
        item = Item(code=f"BENCH{seed}{k:04d}", point_id=points[k % len(points)].id, level=bp.level,
                    item_type="single_choice", status="active", author_id=writer.id)
        session.add(item)
        session.flush()
        version = ItemVersion(item_id=item.id, number=1, stem_html=f"<p>试题 {k}</p>", spec_json=spec,
                              difficulty=0.6, author_id=writer.id, frozen=True)
        session.add(version)
        session.flush()
        item.current_version_id = version.id
        items.append(item)
    a = rng.uniform(0.6, 2.0, N_ITEMS)
    b = np.clip(rng.normal(0.0, 1.0, N_ITEMS), -2.5, 2.5)
    theta = rng.normal(0.0, 1.0, n)
    scores = (rng.random((n, N_ITEMS)) < 1.0 / (1.0 + np.exp(-a * (theta[:, None] - b)))).astype(np.float32)
    wrong = rng.choice(np.array([0, 2, 3]), size=scores.shape)
    choices = np.where(scores == 1, 1, wrong).astype(np.int8)
    rs = ResponseSet(name=f"基准 {n}", source="import", blueprint_id=bp.id, n_examinees=n, n_items=N_ITEMS,
                     item_ids_json=json.dumps([i.id for i in items]), group_names_json="[]",
                     data=pack_arrays(scores=scores, choices=choices, groups=np.zeros((n, 0), dtype=str)),
                     created_by_id=centre.id)
    session.add(rs)
    session.flush()
    now = dt.datetime.now(dt.UTC)
    run = CalibrationRun(response_set_id=rs.id, model="2pl", status="done", progress=100, stage="完成",
                         created_by_id=centre.id, created_at=now, started_at=now, finished_at=now, converged=True)
    session.add(run)
    session.flush()
    for k, item in enumerate(items):
        session.add(ItemParameter(item_id=item.id, run_id=run.id, a=float(a[k]), b=float(b[k]), c=None, n=n,
                                  is_current=True, flags_json="[]"))
        item.irt_a, item.irt_b = float(a[k]), float(b[k])
    session.commit()
    return centre, items, run, len(rs.data)


def _measure(app, n: int, views: int) -> dict:  # type: ignore[no-untyped-def]
    from sqlalchemy import delete

    from grading.psychometrics import models, report_store, reports
    from grading.psychometrics.models import ItemReportStats
    from itembank.models import Item
    from tests.factories import PASSWORD
    from tests.grading.test_report_store import _reference_entries
    from web.extensions import db

    with app.app_context():
        centre, items, run, blob = _build(db.session, n, seed=n % 997)
        centre_id, item_ids, run_id, username = centre.id, [i.id for i in items], run.id, centre.username

        # One view as before: nothing stored, the loader computes (and now stores) the item.
        before = []
        for item_id in item_ids[:3]:
            db.session.expire_all()
            t = time.perf_counter()
            report = reports.item_report(db.session, db.session.get(type(centre), centre_id), item_id, run_id)
            report.chart_data()
            before.append(time.perf_counter() - t)
            db.session.rollback()  # not stored: the run-end measurement below starts from nothing

        # What a run now adds at its end: every item's figures, one decompression.
        db.session.execute(delete(ItemReportStats).where(ItemReportStats.run_id == run_id))
        db.session.commit()
        t = time.perf_counter()
        written = report_store.backfill_run(db.session, db.session.get(type(run), run_id))
        db.session.commit()
        run_end = time.perf_counter() - t
        assert written == N_ITEMS

        # All items' figures, new and old computation, from the same decompressed matrix.
        run = db.session.get(type(run), run_id)
        rs = run.response_set
        scores, choices, _ = report_store.response_matrices(rs.arrays(), rs.n_examinees)
        params = {p.item_id: p for p in run.parameters}
        inputs = {item_id: report_store.option_inputs(db.session.get(Item, item_id)) for item_id in item_ids}
        with np.errstate(all="ignore"):
            t = time.perf_counter()
            new = report_store.item_entries(scores, choices, rs.item_ids, params, inputs)
            all_new = time.perf_counter() - t
            t = time.perf_counter()
            old = _reference_entries(scores, choices, rs.item_ids, params, inputs)
            all_old = time.perf_counter() - t
        worst = _largest_difference(new, old)

    # Served from the store through the routes, with decompression refused.
    real = models.unpack_arrays

    def refuse(blob: bytes):  # type: ignore[no-untyped-def]
        raise AssertionError("decompressed while serving a stored report")

    models.unpack_arrays = refuse  # type: ignore[assignment]
    try:
        client = app.test_client()
        assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
        served: dict[str, float] = {}
        for route, suffix in (("page", ""), ("json", ".json"), ("xlsx", ".xlsx")):
            times = []
            for k in range(views):
                url = f"/analysis/items/{item_ids[k % N_ITEMS]}{suffix}?run={run_id}"
                t = time.perf_counter()
                resp = client.get(url)
                times.append(time.perf_counter() - t)
                assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
            served[route] = statistics.median(times)
    finally:
        models.unpack_arrays = real  # type: ignore[assignment]
    return {"n": n, "blob_mb": blob / 1e6, "before": statistics.median(before), "run_end": run_end,
            "all_old": all_old, "all_new": all_new, "worst": worst, "served": served}


def _largest_difference(new: dict[int, dict[str, Any]], old: dict[int, dict[str, Any]]) -> float:
    """Largest |new − old| of any observed-ICC number; inf if anything else differs."""
    worst = 0.0
    for item_id, entry in new.items():
        ref = old[item_id]
        if {k: v for k, v in entry.items() if k != "observed"} != {k: v for k, v in ref.items() if k != "observed"}:
            return float("inf")
        a, b = entry["observed"], ref["observed"]
        if (a is None) != (b is None) or (a and [g["n"] for g in a["groups"]] != [g["n"] for g in b["groups"]]):
            return float("inf")
        if a is None:
            continue
        pairs = [(a[f], b[f]) for f in ("rmsd", "chi_square", "latent_mean", "latent_sd")]
        pairs += [(g[f], h[f]) for g, h in zip(a["groups"], b["groups"], strict=True)
                  for f in ("theta_mean", "theta_min", "theta_max", "observed", "expected", "model_at_mean")]
        worst = max([worst, *(abs(x - y) for x, y in pairs)])
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 × 100 only")
    parser.add_argument("--views", type=int, default=15, help="views per route for the served median")
    args = parser.parse_args()
    sizes = [10_000] if args.quick else [10_000, 50_000]

    from tests.conftest import TEST_CONFIG
    from web import create_app

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({**TEST_CONFIG,
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp) / 'bench.db'}"})
        from foundation.db import Base
        from web.extensions import db

        with app.app_context():
            Base.metadata.create_all(db.engine)
        for n in sizes:
            rows.append(_measure(app, n, args.views))
            print(f"{n:,} done", flush=True)
        with app.app_context():
            db.engine.dispose()

    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    lines = [
        "# Item reports from stored results (`make bench-reports`)",
        "",
        "- Command: `python -m benchmarks.bench_reports` (from the repository root)",
        f"- Date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}",
        f"- Python {platform.python_version()}, NumPy {np.__version__}, SQLite, {os.cpu_count()} CPUs; "
        f"load average (1, 5, 15 min) {load}; "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}",
        f"- Data: 2PL, {N_ITEMS} single-choice items, complete, with choices; one finished run. "
        f"view before = median of 3 items computed on demand (the pre-store cost of every view); "
        f"run end = all {N_ITEMS} items stored at once; all items old / new = the figures of all "
        f"{N_ITEMS} items from the decompressed matrix by the per-item posterior (before) and by "
        "`item_entries` (one likelihood, each item divided out), same run; |Δ| = largest difference "
        "of any observed-ICC number between them; served = median of "
        f"{args.views} views per route through the Flask test client with decompression refused.",
        f"- Target: the 50,000-examinee report served in ≤ {TARGET_MS:.0f} ms.",
        "",
        "| examinees × items | matrix MB (npz) | view before s | run end s (all items) | all items old s "
        "| all items new s | old ÷ new | max \\|Δ\\| ICC | served page ms | served .json ms | served .xlsx ms "
        "| before ÷ served (page) | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        s = r["served"]
        worst = max(s.values()) * 1000
        target = (f"≤ {TARGET_MS:.0f} ms: {'met' if worst <= TARGET_MS else 'NOT met'}"
                  if r["n"] >= 50_000 else "–")
        lines.append(
            f"| {r['n']:,} × {N_ITEMS} | {r['blob_mb']:.1f} | {r['before']:.2f} | {r['run_end']:.1f} | "
            f"{r['all_old']:.1f} | {r['all_new']:.1f} | {r['all_old'] / r['all_new']:.1f}× | {r['worst']:.0e} | "
            f"{s['page'] * 1000:.1f} | {s['json'] * 1000:.1f} | {s['xlsx'] * 1000:.1f} | "
            f"{r['before'] / s['page']:.0f}× | {target} |")
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
