"""Item Excel export: the streamed writer against the previous in-memory approach, same run.

Run from the repository root::

    python -m benchmarks.bench_export              # or: make bench-export
    python -m benchmarks.bench_export --quick      # 2,000 rows only, one repeat

Writes ``N`` item rows (a mix of the seven item types with realistic stems, options, answers and
multi-line scoring points, cycled with distinct codes and stems) through:

* ``new``: :func:`itembank.item_excel.export_items_bytes`, the platform's export (a write-only
  workbook, rows built by ``item_row`` and appended as styled cells);
* ``old``: the approach before issue 16 (a copy of the removed code, kept here only as the
  baseline): an in-memory workbook, ``sheet.append(values)`` and then
  ``for cell in sheet[sheet.max_row]`` per row to make text cells text and wrap multi-line ones.
  ``max_row`` scans every cell, so each row costs as much as the sheet is long: quadratic.

Each (writer, rows) measurement runs in a fresh child process: the rows are built first (not
timed), then the export is timed, and the child's peak RSS above its RSS before the export is
reported. The ratio ``old ÷ new`` is taken between children of the same run, because this
2-CPU machine is shared and absolute seconds move with the load. ``old`` is run up to
``--old-max`` rows (default 2,000: it takes minutes beyond); above that its time is
extrapolated from its quadratic growth and marked as an estimate.

The items are in-memory objects with the attributes ``item_row`` reads, so the database is not
part of the measurement (the page streams them from the database 500 at a time:
``item_excel.stream_items``). Prints a Markdown table and writes it, with the command, date and
library versions, to ``benchmarks/results/export.md``.

Target (issue 16 point 2): a 20,000-row export in at most 5 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

RESULTS = Path(__file__).with_name("results") / "export.md"
TARGET_ROWS = 20_000
TARGET_SECONDS = 5.0

_STEM = "在三相四线制供电系统中，{k} 号配电箱的中性线断开后，下列关于各相负载电压变化的说法正确的是（  ）。"
_KINDS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("single_choice", {"options": [{"html": f"<p>选项{c}：负载电压保持不变</p>"} for c in "ABCD"], "key": ["B"]}),
    ("multiple_choice", {"options": [{"html": f"<p>选项{c}：36 V</p>"} for c in "ABCDE"], "key": ["A", "B", "C"],
                         "scoring": "subset", "subset_credit": 0.5}),
    ("true_false", {"key": "√"}),
    ("fill_in", {"blanks": [{"answers": ["I=U/R", "I = U/R"]}, {"answers": ["220", "220V"]}], "any_order": False}),
    ("short_answer", {"reference_answer": "<p>迅速脱离电源；判断意识和呼吸；进行心肺复苏并呼救。</p>",
                      "scoring_points": [{"html": "脱离电源", "points": 2}, {"html": "判断伤员状况", "points": 1},
                                         {"html": "正确实施心肺复苏", "points": 2}]}),
    ("calculation", {"reference_answer": "<p>R = U / I = 220 / 2 = 110 Ω</p>",
                     "scoring_points": [{"html": "写出公式", "points": 2}, {"html": "计算正确", "points": 2}]}),
    ("essay", {"reference_answer": "<p>接地保护适用于中性点不接地系统……</p>", "max_length": 3000,
               "scoring_points": [{"html": "区别", "points": 5}, {"html": "适用场合", "points": 5}]}),
)


def make_items(n: int) -> list[Any]:
    """``n`` objects carrying what :func:`itembank.item_excel.item_row` reads."""
    blueprint = SimpleNamespace(name="电工（四级/中级工）理论知识细目表")
    points = [SimpleNamespace(code=f"A-B-C-{p:03d}", blueprint=blueprint) for p in range(1, 201)]
    items = []
    for k in range(n):
        item_type, spec = _KINDS[k % len(_KINDS)]
        version = SimpleNamespace(spec=spec, stem_html=f"<p>{_STEM.format(k=k)}</p>", difficulty=0.55,
                                  explanation_html="<p>依据《电工作业安全规程》。</p>", source="国家职业技能标准",
                                  number=1)
        items.append(SimpleNamespace(code=f"DG-4-{k:06d}", item_type=item_type, status="approved",
                                     current_version=version, point=points[k % len(points)]))
    return items


def old_export(items: list[Any]) -> bytes:
    """The item export before issue 16 (the removed code, verbatim in substance)."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    from itembank.item_excel import _WIDTHS, EXPORT_COLUMNS, SHEET_NAME, item_row

    wrap = Alignment(wrap_text=True, vertical="top")
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_NAME
    sheet.append(list(EXPORT_COLUMNS))
    for i, column in enumerate(EXPORT_COLUMNS, start=1):
        cell = sheet.cell(row=1, column=i)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="A61B29")
        sheet.column_dimensions[get_column_letter(i)].width = _WIDTHS.get(column, 16)
    sheet.freeze_panes = "A2"
    for item in items:
        values = item_row(item)
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values])
        for cell in sheet[sheet.max_row]:  # the scan of every cell, once per row
            if isinstance(cell.value, str):
                cell.data_type = "s"
                if "\n" in cell.value:
                    cell.alignment = wrap
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def new_export(items: list[Any]) -> bytes:
    from itembank.item_excel import export_items_bytes

    return export_items_bytes(items)


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


def one(writer: str, n: int) -> dict[str, Any]:
    """Run in the child: build the rows, time one export."""
    items = make_items(n)
    export = {"old": old_export, "new": new_export}[writer]
    export(make_items(7))  # imports and first-call costs outside the timing
    before = _rss_kib()
    start, cpu = time.perf_counter(), time.process_time()
    data = export(items)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "cpu": cpu, "peak_mib": max(peak - before, 0) / 1024, "bytes": len(data)}


def _child(writer: str, n: int) -> dict[str, Any]:
    out = subprocess.run(  # noqa: S603  (this module, fixed arguments)
        [sys.executable, "-m", "benchmarks.bench_export", "--one", writer, str(n)],
        check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--one", nargs=2, metavar=("WRITER", "ROWS"), help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="2,000 rows only, one repeat")
    parser.add_argument("--repeats", type=int, default=3, help="runs of the new writer per size (median)")
    parser.add_argument("--old-max", type=int, default=2000, help="largest size the old writer is run at")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]))))
        return

    sizes = [2000] if args.quick else [1000, 2000, TARGET_ROWS]
    repeats = 1 if args.quick else args.repeats
    rows = []
    old_measured: dict[int, float] = {}
    for n in sizes:
        new_runs = []
        old = None
        for _ in range(repeats):  # new and old alternate, so both see the same load
            new_runs.append(_child("new", n))
            if old is None and n <= args.old_max:
                old = _child("old", n)
        new_s = statistics.median(r["seconds"] for r in new_runs)
        new_mib = statistics.median(r["peak_mib"] for r in new_runs)
        new_cpu = statistics.median(r["cpu"] for r in new_runs)
        if old is not None:
            old_measured[n] = old["seconds"]
            old_s, old_note, old_mib = old["seconds"], "", f"{old['peak_mib']:.0f}"
        else:
            base = max(old_measured)
            old_s, old_note, old_mib = old_measured[base] * (n / base) ** 2, " (est.)", "–"
        rows.append({"rows": n, "new_s": new_s, "new_cpu": new_cpu, "new_best": min(r["seconds"] for r in new_runs),
                     "new_mib": new_mib, "old_s": old_s, "old_note": old_note, "old_mib": old_mib,
                     "ratio": old_s / new_s, "size_mib": new_runs[0]["bytes"] / 2**20})
        print(f"{n} rows: new {new_s:.2f} s, old {old_s:.2f} s{old_note}", file=sys.stderr)

    import openpyxl

    first = rows[0]
    lines = [
        "| rows | new s (median) | new s (best) | new CPU s | new peak MiB | old s | old peak MiB | old ÷ new | "
        "new s per 1,000 rows | file MiB | target (wall / CPU) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        met = ["met" if v <= TARGET_SECONDS else "NOT met" for v in (r["new_s"], r["new_cpu"])]
        target = f"≤ {TARGET_SECONDS:.0f} s: {met[0]} / {met[1]}" if r["rows"] == TARGET_ROWS else "–"
        lines.append(f"| {r['rows']:,} | {r['new_s']:.2f} | {r['new_best']:.2f} | {r['new_cpu']:.2f} | "
                     f"{r['new_mib']:.0f} | "
                     f"{r['old_s']:.2f}{r['old_note']} | {r['old_mib']} | {r['ratio']:.1f}× | "
                     f"{1000 * r['new_s'] / r['rows']:.3f} | {r['size_mib']:.1f} | {target} |")
    growth = [f"{r['rows']:,}: {r['new_s'] / first['new_s'] * first['rows'] / r['rows']:.2f}" for r in rows]
    cpus = os.cpu_count()
    load = os.getloadavg()[0]
    text = "\n".join([
        "# Item Excel export (`make bench-export`)",
        "",
        f"- Command: `{' '.join(['python -m benchmarks.bench_export', *sys.argv[1:]])}` (from the repository root)",
        f"- Date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}",
        f"- Python {platform.python_version()}, openpyxl {openpyxl.__version__} "
        f"(lxml {'used' if openpyxl.LXML else 'not installed: the pure-Python XML writer'}), "
        f"{cpus} CPUs, load average {load:.1f} at the end",
        f"- new: median of {repeats} child processes; old: one child per size up to {args.old_max:,} rows, "
        "beyond that extrapolated as quadratic from the largest measured size (est.)",
        "- CPU s: the child's CPU time for the export (what the wall time would be on an idle core)",
        "- peak MiB: the child's peak RSS above its RSS just before the export (the rows' objects excluded)",
        "",
        *lines,
        "",
        f"Time per row relative to {first['rows']:,} rows (1.00 = linear): {', '.join(growth)}.",
        "",
    ])
    print(text)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
