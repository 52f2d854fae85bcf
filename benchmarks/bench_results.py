"""Level decisions from the database (issue 13): decide 100,000 registrations and store the
decisions, against merely reading the same rows, in the same run.

Run from the project root::

    .venv/bin/python -m benchmarks.bench_results                       # or: make bench-results
    .venv/bin/python -m benchmarks.bench_results --registrations 10000 # a quick look
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_results .venv/bin/python -m benchmarks.bench_results

The database is SQLite in a temporary directory, and also PostgreSQL when ``DATABASE_URL`` (or
``--pg``) names one: **its tables are dropped and re-created**. A fresh schema gets, in bulk
(not through the services), one filed institution with its scope, ``--registrations``
registrations in batches of ``--per-batch`` (each a person, a candidate account and a
registration) and 3–4 component results each: theory and skill, a re-sit of a failed
component for about half, and for about a quarter a result carried over from the person's
earlier batch of the same occupation and level (so the loader's carry-over path is exercised);
one registration in a hundred has a violation (PostgreSQL then gathers its statistics,
``ANALYZE``, as autovacuum would; SQLite runs without any). Then, batch by batch, each in its
own transaction:

* **read**: the rows a decision needs, merely fetched (the registrations, the persons' component
  results with their batches, their violations, the batch's current decisions), with the
  loader's own queries;
* **decide and store**: :func:`grading.results.decisions.decide_batch` as the institution admin
  (load the cases, run the engine, insert a draft per registration with its reasons, inputs and
  fingerprint, one audit entry per batch), committed.

Targets
(issue 13): deciding and storing all of them ≤ 20 s on this machine and ≤ 3× the read. The read
is timed both ways, three times each (median): rows as tuples of columns (the loader's own fetch,
the cheapest possible) and rows as ORM objects. Results
go to ``benchmarks/results/results.md``; copy the table into ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import gc
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import func, insert, select, text

from web.gctune import GC_THRESHOLDS

RESULTS = Path(__file__).resolve().parent / "results" / "results.md"
COMMAND = ".venv/bin/python -m benchmarks.bench_results"
TODAY = dt.date(2026, 9, 29)
CHUNK = 5000


def _id_number(k: int) -> str:
    from foundation.idcard import check_digit

    born = dt.date(1970, 1, 1) + dt.timedelta(days=k // 900)
    first17 = f"220102{born:%Y%m%d}{k % 900 + 100:03d}"
    return first17 + check_digit(first17)


def build(session: Any, registrations: int, per_batch: int, rng: random.Random) -> dict[str, Any]:
    """The world, in bulk; returns the admin, the batch ids and the row counts."""
    from examroom.models import Batch, BatchCandidate
    from examroom.models import Violation as ViolationRow
    from foundation.accounts import User
    from foundation.calendar import seed_calendar
    from foundation.institutions import ScopeEntry
    from foundation.people import Person
    from foundation.roles import Role
    from grading.results.models import ComponentResult
    from tests.factories import make_institution, make_occupation, make_user

    seed_calendar(session)
    occupation = make_occupation(session, name="电工")
    inst = make_institution(session, name="基准评价机构", status="filed", code="S000022123456", serial="123456")
    session.add(ScopeEntry(institution_id=inst.id, occupation_id=occupation.id, lowest_level=5, highest_level=3))
    admin = make_user(session, Role.INSTITUTION_ADMIN, institution=inst, name="基准管理员")
    n_batches = -(-registrations // per_batch)
    # One earlier batch (March) holds the carried-over results of a quarter of the persons.
    earlier = Batch(institution_id=inst.id, occupation_id=occupation.id, level=4, name="2026年3月批",
                    status="acknowledged", filed_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    batches = [Batch(institution_id=inst.id, occupation_id=occupation.id, level=4, name=f"2026年9月第{k + 1}批",
                     status="acknowledged", filed_at=dt.datetime(2026, 8, 1, tzinfo=dt.UTC))
               for k in range(n_batches)]
    session.add_all([earlier, *batches])
    session.flush()
    base = session.scalar(select(func.coalesce(func.max(Person.id), 0))) or 0
    ubase = session.scalar(select(func.coalesce(func.max(User.id), 0))) or 0
    rows = {"registrations": 0, "component_results": 0, "violations": 0, "carried": 0}
    reg_id = session.scalar(select(func.coalesce(func.max(BatchCandidate.id), 0))) or 0
    for start in range(0, registrations, CHUNK):
        ks = range(start, min(registrations, start + CHUNK))
        session.execute(insert(Person), [{"id": base + k + 1, "id_type": "resident_id", "id_number": _id_number(k),
                                          "name": f"考生{k}"} for k in ks])
        session.execute(insert(User), [{"id": ubase + k + 1, "name": f"考生{k}", "role": "candidate",
                                        "institution_id": inst.id, "id_number": _id_number(k),
                                        "person_id": base + k + 1, "active": True} for k in ks])
        regs, results, violations = [], [], []
        for k in ks:
            person, user = base + k + 1, ubase + k + 1
            reg_id += 1
            regs.append({"id": reg_id, "batch_id": batches[k // per_batch].id, "candidate_id": user,
                         "person_id": person, "method": "assessment", "ticket_no": f"B{k:09d}", "category": "other"})
            theory = rng.choice((35, 48, 55, 61, 66.5, 72, 78, 85, 90.5, 96))
            skill = rng.choice((30, 45, 52, 58, 60, 64, 70, 77.5, 83, 92))
            own = [("theory", dt.date(2026, 9, 10), theory), ("skill", dt.date(2026, 9, 11), skill)]
            if rng.random() < 0.5:  # a re-sit of the weaker component, scored later in the batch
                weaker = "theory" if theory < skill else "skill"
                own.append((weaker, dt.date(2026, 9, 25), rng.choice((40, 58, 63, 71, 88))))
            elif rng.random() < 0.5:  # carried over: the person's theory of March, in the earlier batch
                reg_id += 1
                regs.append({"id": reg_id, "batch_id": earlier.id, "candidate_id": user, "person_id": person,
                             "method": "assessment", "ticket_no": f"E{k:09d}", "category": "other"})
                results.append({"registration_id": reg_id, "person_id": person, "component": "theory",
                                "sat_on": dt.date(2026, 3, 12), "state": "scored",
                                "score": Decimal(rng.choice((50, 65, 80))), "note": ""})
                rows["carried"] += 1
            current = reg_id if regs[-1]["batch_id"] != earlier.id else reg_id - 1
            for component, sat_on, score in own:
                results.append({"registration_id": current, "person_id": person, "component": component,
                                "sat_on": sat_on, "state": "scored", "score": Decimal(str(score)), "note": ""})
            if rng.random() < 0.01:
                tier = rng.choice((1, 2, 3, 4))
                violations.append({"registration_id": current, "person_id": person, "tier": tier,
                                   "component": "theory" if tier <= 2 else None, "occurred_on": dt.date(2026, 9, 10),
                                   "description": "基准违纪"})
        session.execute(insert(BatchCandidate), regs)
        session.execute(insert(ComponentResult), results)
        if violations:
            session.execute(insert(ViolationRow), violations)
        rows["registrations"] += len(ks)
        rows["component_results"] += len(results)
        rows["violations"] += len(violations)
    session.commit()
    return {"admin_id": admin.id, "batch_ids": [b.id for b in batches], "rows": rows}


def read_rows(session: Any, batch_id: int, *, entities: bool) -> int:
    """Merely fetch the rows deciding the batch needs, with the loader's own statements
    (:func:`grading.results.cases.row_statements`): as tuples of columns (what the loader
    fetches), or as the ORM's objects (what a page reading them gets). Plus the batch's current
    decisions, which deciding reads too."""
    from sqlalchemy.orm import raiseload

    from examroom.models import Batch, BatchCandidate
    from examroom.models import Violation as ViolationRow
    from grading.results.cases import row_statements
    from grading.results.models import ComponentResult, LevelDecision

    batch = session.get(Batch, batch_id)
    st = row_statements(batch, TODAY)
    statements = [st.registrations, st.targets, st.results, st.violations]
    if entities:
        statements = [st.registrations.with_only_columns(BatchCandidate).options(raiseload("*")), st.targets,
                      st.results.with_only_columns(ComponentResult, BatchCandidate.batch_id),
                      st.violations.with_only_columns(ViolationRow, BatchCandidate.batch_id)]
    n = sum(len(session.execute(statement).all()) for statement in statements)
    n += len(session.scalars(select(LevelDecision).where(LevelDecision.batch_id == batch.id,
                                                         LevelDecision.state != "superseded")).all())
    session.rollback()
    session.expunge_all()
    return n


def run(url: str) -> dict[str, Any]:
    from foundation.accounts import User
    from foundation.db import Base
    from grading.results import decisions
    from grading.results.models import LevelDecision
    from tests.conftest import TEST_CONFIG
    from web import create_app
    from web.extensions import db

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
        session = db.session
        t0 = time.perf_counter()
        world = build(session, ARGS.registrations, ARGS.per_batch, random.Random(13))  # noqa: S311
        build_s = time.perf_counter() - t0
        batch_ids = world["batch_ids"]
        if url.startswith("postgresql"):
            # Statistics after the bulk load, as autovacuum gathers them on a live database:
            # without them PostgreSQL guesses a tenth of the rows and scans whole tables.
            session.execute(text("ANALYZE"))
            session.commit()

        def read_all(entities: bool) -> tuple[float, float, int]:
            start, cpu, rows = time.perf_counter(), time.process_time(), 0
            for batch_id in batch_ids:
                rows += read_rows(session, batch_id, entities=entities)
            return time.perf_counter() - start, time.process_time() - cpu, rows

        # As the serving process runs (web.gctune): the objects made at start-up frozen out of
        # collection, the young thresholds raised; both phases run under the same settings.
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        load = os.getloadavg()[0]
        reads = [read_all(entities=False) for _ in range(3)]
        rows_read = reads[0][2]
        read_s, read_cpu = statistics.median(t for t, _, _ in reads), statistics.median(c for _, c, _ in reads)
        objects = [read_all(entities=True) for _ in range(3)]
        orm_s, orm_cpu = statistics.median(t for t, _, _ in objects), statistics.median(c for _, c, _ in objects)
        outcomes: collections.Counter[str] = collections.Counter()
        waiting = 0
        start, cpu = time.perf_counter(), time.process_time()
        for batch_id in batch_ids:
            admin = session.get(User, world["admin_id"])
            report = decisions.decide_batch(session, admin, batch_id, TODAY)
            session.commit()
            outcomes.update(o for _, _, o in report.created)
            waiting += len(report.waiting)
        decide_s, decide_cpu = time.perf_counter() - start, time.process_time() - cpu
        stored = session.scalar(select(func.count()).select_from(LevelDecision))
        assert stored == sum(outcomes.values()) and stored + waiting == ARGS.registrations, (stored, waiting)
        version = session.scalar(select(func.sqlite_version())) if url.startswith("sqlite") else \
            session.scalar(select(func.version())).split(" on ")[0]
        session.remove()
        db.engine.dispose()
    return {"db": version, "build_s": build_s, "read_s": read_s, "orm_s": orm_s, "rows_read": rows_read,
            "decide_s": decide_s, "ratio": decide_s / read_s, "orm_ratio": decide_s / orm_s, "load": load,
            "read_cpu": read_cpu, "orm_cpu": orm_cpu, "decide_cpu": decide_cpu,
            "stored": stored, "waiting": waiting, "outcomes": dict(outcomes), "rows": world["rows"],
            "batches": len(batch_ids)}


def _report(results: list[dict[str, Any]]) -> str:
    labels = {"qualified": "合格", "resit": "待补考", "failed": "不合格", "held": "暂缓"}
    lines = [
        "## Level decisions from the database (`make bench-results`)", "",
        f"- Command: `{(COMMAND + ' ' + ' '.join(sys.argv[1:])).strip()}` (from the project root; "
        "`make bench-results`, with `DATABASE_URL` for PostgreSQL)",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%S}+00:00",
        f"- Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, {os.cpu_count()} CPUs "
        f"(shared), load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]
    for r in results:
        rows = r["rows"]
        mix = ", ".join(f"{labels[k]} {v:,}" for k, v in sorted(r["outcomes"].items()))
        lines += [
            f"- {r['db']}: {ARGS.registrations:,} registrations in {r['batches']} batches of {ARGS.per_batch:,}, "
            f"{rows['component_results']:,} component results ({rows['carried']:,} carried over from an earlier "
            f"batch), {rows['violations']:,} violations; built in bulk in {r['build_s']:.1f} s. "
            f"Stored {r['stored']:,} drafts ({mix}); {r['waiting']:,} not decidable.",
        ]
    lines += ["", "Wall seconds, and in brackets this process's CPU seconds (on PostgreSQL the server's own work "
              "is not in them). The ratio is decide-and-store ÷ read.", "",
              "| database | load avg | rows read | read as tuples | read as ORM objects | decide and store "
              "| ÷ tuples | ÷ objects | ≤ 20 s | ≤ 3× read (tuples / objects) |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]

    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    for r in results:
        cpu_ratio, cpu_orm_ratio = r["decide_cpu"] / r["read_cpu"], r["decide_cpu"] / r["orm_cpu"]
        lines.append(
            f"| {r['db']} | {r['load']:.1f} | {r['rows_read']:,} | {r['read_s']:.2f} ({r['read_cpu']:.2f}) "
            f"| {r['orm_s']:.2f} ({r['orm_cpu']:.2f}) | {r['decide_s']:.2f} ({r['decide_cpu']:.2f}) "
            f"| {r['ratio']:.1f}× ({cpu_ratio:.1f}×) | {r['orm_ratio']:.1f}× ({cpu_orm_ratio:.1f}×) "
            f"| wall {met(r['decide_s'] <= 20)}, CPU {met(r['decide_cpu'] <= 20)} "
            f"| {met(r['ratio'] <= 3)} / {met(r['orm_ratio'] <= 3)} |")
    return "\n".join(lines) + "\n"


ARGS: argparse.Namespace


def main() -> None:
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--registrations", type=int, default=100_000)
    parser.add_argument("--per-batch", type=int, default=1_000)
    parser.add_argument("--pg", default=os.environ.get("DATABASE_URL", ""),
                        help="a PostgreSQL URL to run on as well (its tables are dropped)")
    parser.add_argument("--no-sqlite", action="store_true")
    ARGS = parser.parse_args()
    urls = []
    if not ARGS.no_sqlite:
        urls.append(f"sqlite:///{tempfile.mkdtemp(prefix='bench_results_')}/results.db")
    if ARGS.pg.startswith("postgresql"):
        urls.append(ARGS.pg)
    results = []
    for url in urls:
        results.append(run(url))
        print({k: v for k, v in results[-1].items()}, flush=True)
    text = _report(results)
    print(text)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
