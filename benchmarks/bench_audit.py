"""Benchmark of the audit log's verification (哈希链校验, ``foundation.audit``).

Run from the project root::

    .venv/bin/python -m benchmarks.bench_audit                 # or: make bench-audit
    .venv/bin/python -m benchmarks.bench_audit --entries 50000 --no-write   # a quick look
    .venv/bin/python -m benchmarks.bench_audit --db postgresql://postgres@127.0.0.1:5432/bench_audit

Builds a log of ``--entries`` entries (default 200,000) in a fresh database through a bulk
path that writes exactly the rows :func:`foundation.audit.record` would (same canonical JSON,
same hashes; the full verification passing is the check), verifies it fully once and records
that checkpoint, appends ``--added`` entries (default 1,000) through ``audit.record`` itself,
then times, in the same process:

- the incremental verification (from the checkpoint: the new entries only), median of 5;
- the full verification (every entry, then every checkpoint), median of 3;
- the previous implementation (ORM entities, every entry), once, for reference;
- the peak Python memory (tracemalloc) of one full and one incremental run.

The ratio full ÷ incremental is the result; seconds are noisy on this shared machine. The
Markdown report is printed and written to ``benchmarks/results/audit.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import sqlalchemy
from sqlalchemy import insert, select

COMMAND = ".venv/bin/python -m benchmarks.bench_audit"
RESULTS = Path(__file__).resolve().parent / "results" / "audit.md"
BULK = 10_000


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _peak_mib(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def build_log(session: Any, n: int) -> None:
    """``n`` entries as ``audit.record(session, None, ...)`` writes them, inserted in bulk."""
    from foundation import audit
    from foundation.audit import AuditEntry, AuditHead

    head = session.get(AuditHead, 1) or AuditHead(id=1, last_seq=0, last_hash=audit.GENESIS)
    session.add(head)
    seq, prev = head.last_seq, head.last_hash
    start = dt.datetime(2026, 1, 5, 0, 30, tzinfo=dt.UTC)
    rows: list[dict[str, Any]] = []
    for k in range(n):
        seq += 1
        row = {
            "seq": seq, "at": start + dt.timedelta(seconds=7 * k), "actor_id": None, "actor_name": "系统",
            "actor_role": "system", "action": "bench.step", "target_type": "thing", "target_id": str(k),
            "before_json": audit._canonical({"状态": "草稿", "n": k}),
            "after_json": audit._canonical({"状态": "已提交", "n": k + 1, "备注": "批量生成的基准数据"}),
            "prev_hash": prev,
        }
        row["hash"] = prev = audit._digest(SimpleNamespace(**row))
        rows.append(row)
        if len(rows) == BULK:
            session.execute(insert(AuditEntry), rows)
            rows = []
    if rows:
        session.execute(insert(AuditEntry), rows)
    head.last_seq, head.last_hash = seq, prev
    session.commit()


def previous_verify(session: Any) -> int:
    """The verification before checkpoints: ORM entities in chunks of 2,000, every entry."""
    from foundation import audit
    from foundation.audit import AuditEntry

    last, prev, checked = 0, audit.GENESIS, 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(2000)).all()
        if not rows:
            return checked
        for entry in rows:
            assert entry.prev_hash == prev and audit._digest(entry) == entry.hash
            prev = entry.hash
            checked += 1
        last = rows[-1].seq
        session.expunge_all()


def run(entries: int, added: int, uri: str) -> tuple[str, dict[str, Any]]:
    from foundation import audit
    from foundation.db import Base
    from web import create_app
    from web.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SOCKETIO_ASYNC_MODE": "threading", "SECRET_KEY": "bench"})
    with app.app_context():
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
        session = db.session
        build_s, _ = _timed(lambda: build_log(session, entries))
        first_s, (first, checkpoint) = _timed(lambda: audit.run_verification(session, None, full=True))
        session.commit()
        assert first.ok and first.checked == entries and checkpoint is not None, first
        append_s, _ = _timed(lambda: [audit.record(session, None, "bench.more", "thing", k, after={"k": k})
                                      for k in range(added)])
        session.commit()
        session.expunge_all()

        incr_times, full_times = [], []
        for _ in range(5):
            t, report = _timed(lambda: audit.verify(session, full=False))
            assert report.ok and report.checked == added, report
            incr_times.append(t)
            session.expunge_all()
        for _ in range(3):
            t, report = _timed(lambda: audit.verify(session, full=True))
            assert report.ok and report.checked == entries + added and report.checkpoints_checked == 1, report
            full_times.append(t)
            session.expunge_all()
        prev_s, prev_checked = _timed(lambda: previous_verify(session))
        assert prev_checked == entries + added
        session.expunge_all()
        full_mib = _peak_mib(lambda: audit.verify(session, full=True))
        session.expunge_all()
        incr_mib = _peak_mib(lambda: audit.verify(session, full=False))
        dialect = db.engine.dialect.name
        if dialect == "postgresql":
            server = str(db.session.execute(sqlalchemy.text("select version()")).scalar())
        else:
            server = f"SQLite {sqlite3.sqlite_version}"
        db.session.remove()
        db.engine.dispose()

    incr, full = statistics.median(incr_times), statistics.median(full_times)
    numbers = {"incremental": incr, "full": full, "ratio": full / incr, "previous": prev_s}
    lines = [
        f"- Command: `{COMMAND} --entries {entries} --added {added}"
        + (" --db <PostgreSQL URL>`" if dialect == "postgresql" else "`")
        + " (from the project root; `make bench-audit`)",
        f"- Date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}",
        f"- Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, {server.split(' on ')[0]}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}; load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- Log: {entries:,} entries written in bulk ({build_s:.1f} s), verified fully once ({first_s:.2f} s, "
        f"checkpoint 1), then {added:,} entries through `audit.record` ({append_s:.2f} s). Chunks of "
        f"{audit.CHUNK:,} rows (keyset by `seq`).",
        "",
        "| verification | entries read | seconds | ratio to incremental | peak Python memory |",
        "|---|---:|---:|---:|---:|",
        f"| incremental (from checkpoint 1), median of 5 | {added:,} | {incr:.4f} | 1 | {incr_mib:.1f} MiB |",
        f"| full (every entry + every checkpoint), median of 3 | {entries + added:,} | {full:.2f} | "
        f"{full / incr:,.0f}× | {full_mib:.1f} MiB |",
        f"| previous `verify_chain` (ORM entities), 1 run | {entries + added:,} | {prev_s:.2f} | "
        f"{prev_s / incr:,.0f}× | – |",
    ]
    return "\n".join(lines), numbers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--added", type=int, default=1_000)
    parser.add_argument("--db", help="database URL (its tables are dropped and re-created; the result is appended "
                        "to benchmarks/results/audit.md); default a temporary SQLite file (the result replaces it)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/results alone")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_audit_") as tmp:
        uri = args.db or f"sqlite:///{Path(tmp) / 'audit.db'}"
        report, _ = run(args.entries, args.added, uri)
    text = f"## Audit verification (`make bench-audit`)\n\n{report}\n"
    print(text)
    if not args.no_write:
        RESULTS.write_text(text if not RESULTS.exists() or args.db is None else RESULTS.read_text() + "\n" + text,
                           encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
