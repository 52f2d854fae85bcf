"""Item fit with omissions: a calibration run's S-X2 step, per blank pattern (before issue 16
point 4) vs per form with the blanks imputed (now), same data, same process.

Run from the repository root::

    python -m benchmarks.bench_fit            # or: make bench-fit
    python -m benchmarks.bench_fit --quick    # 10,000 × 100 only

Simulates seeded 2PL data (as :mod:`benchmarks.bench_irt`) of 10,000 and 50,000 examinees ×
100 items, blanks 2 % of the cells at random, calibrates it (:func:`grading.psychometrics.irt.calibrate`
with standard errors, as a run does) and times the S-X2 step both ways:

* **old**: :func:`old_sx2_by_form`, the code this issue replaced, kept here as the baseline: one
  S-X2 per presentation pattern with at least 100 examinees, the rest left out;
* **new**: :func:`grading.psychometrics.calibration._sx2_by_form`: forms told apart from
  omissions, omissions imputed (10 completed data sets).

Prints a Markdown table (seconds, the ratio old/new for the fit step and for calibration + fit,
the share of examinees each way uses, items flagged) and writes it with the command, date, load
and BLAS threading to ``benchmarks/results/fit.md``. Target (issue 16 point 4): 50,000 × 100 with
2 % blanks calibrates in ≤ 5 s with item fit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy
from scipy import stats

from benchmarks.bench_irt import blas_description, simulate
from grading.psychometrics import calibration as cal
from grading.psychometrics import irt
from grading.psychometrics.fit import _collapse, benjamini_hochberg, lord_wingersky, normal_quadrature
from grading.psychometrics.irt import calibrate
from itembank.irtmodel import prob

RESULTS = Path(__file__).with_name("results") / "fit.md"
BLANK_RATE = 0.02
TARGET_SECONDS = 5.0


# ---------------------------------------------------------------------------- the old path


def old_s_x2(x: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray | None, m: int,
             nodes: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """S-X2 as computed before (one Lord–Wingersky recursion per item, ``np.add.at``): statistic, df."""
    n_items = x.shape[1]
    p = prob(nodes, a, b, c)
    denom = weights @ lord_wingersky(p)
    score = x.sum(axis=1).astype(np.int64)
    inner = np.arange(1, n_items)
    n_k = np.bincount(score, minlength=n_items + 1)[inner].astype(float)
    correct_k = np.zeros((n_items + 1, n_items))
    np.add.at(correct_k, score, x)
    correct_k = correct_k[inner]
    stat, df = np.full(n_items, np.nan), np.zeros(n_items, dtype=np.int64)
    present = n_k > 0
    for i in range(n_items):
        s_rest = lord_wingersky(np.delete(p, i, axis=1))
        e_k = (weights * p[:, i]) @ s_rest[:, inner - 1] / denom[inner]
        n_g, o_g, e_g = n_k[present], correct_k[present, i], (n_k * e_k)[present]
        groups = _collapse(n_g, o_g, e_g, 1.0)
        gn = np.array([n_g[g].sum() for g in groups])
        go = np.array([o_g[g].sum() for g in groups])
        ge = np.array([e_g[g].sum() for g in groups])
        with np.errstate(divide="ignore", invalid="ignore"):
            stat[i] = float(np.nansum((go - ge) ** 2 / ge + (go - ge) ** 2 / (gn - ge)))
        df[i] = len(groups) - m
    return stat, df


def old_sx2_by_form(x: np.ndarray, est: object, model: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """``calibration._sx2_by_form`` before issue 16 point 4: S-X2 per presentation pattern of at
    least ``SX2_MIN_FORM`` examinees, summed. Returns statistic, df, BH-adjusted p, patterns
    used, examinees used."""
    n_items, m = x.shape[1], cal._N_PARAMETERS[model]
    observed = ~np.isnan(x)
    patterns, inverse = np.unique(observed, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    stat, groups = np.zeros(n_items), np.zeros(n_items, dtype=np.int64)
    tested = np.zeros(n_items, dtype=bool)
    nodes, weights = normal_quadrature(sd=float(est.latent_sd))  # type: ignore[attr-defined]
    used_patterns = used_rows = 0
    for k, pattern in enumerate(patterns):
        rows, cols = inverse == k, np.flatnonzero(pattern)
        if rows.sum() < cal.SX2_MIN_FORM or cols.size < 3:
            continue
        c = est.c[cols] if model == "3pl" else None  # type: ignore[attr-defined]
        s, d = old_s_x2(x[np.ix_(rows, cols)], est.a[cols], est.b[cols], c, m, nodes, weights)  # type: ignore[attr-defined]
        ok = np.isfinite(s)
        stat[cols[ok]] += s[ok]
        groups[cols[ok]] += d[ok] + m
        tested[cols[ok]] = True
        used_patterns += 1
        used_rows += int(rows.sum())
    df = np.where(tested, groups - m, 0)
    p_value = np.full(n_items, np.nan)
    ok = tested & (df >= 1)
    p_value[ok] = stats.chi2.sf(stat[ok], df[ok])
    return np.where(tested, stat, np.nan), df, benjamini_hochberg(p_value), used_patterns, used_rows


# ---------------------------------------------------------------------------- the benchmark


@dataclass(frozen=True)
class Row:
    n_examinees: int
    n_items: int
    patterns: int
    calibrate_seconds: float
    calibrate_cpu: float
    dense_calibrate_seconds: float
    dense_calibrate_cpu: float
    new_fit_seconds: float
    new_fit_cpu: float
    old_fit_seconds: float
    old_patterns_used: int
    old_share_used: float
    new_share_used: float
    flagged_new: int
    flagged_old: int
    flagged_complete: int

    @property
    def fit_ratio(self) -> float:
        return self.old_fit_seconds / self.new_fit_seconds

    @property
    def total_ratio(self) -> float:
        return (self.calibrate_seconds + self.old_fit_seconds) / (self.calibrate_seconds + self.new_fit_seconds)


def _dense_calibrate(x: np.ndarray) -> tuple[float, float]:
    """One ``calibrate`` with the blanks as a dense mask (the products as before issue 16's
    sparse blanks; the information's six Gram products are the new ones): wall and CPU s."""
    saved = irt._SPARSE_MISSING_SHARE
    irt._SPARSE_MISSING_SHARE = 0.0
    try:
        start, cpu = time.perf_counter(), time.process_time()
        calibrate(x)
        return time.perf_counter() - start, time.process_time() - cpu
    finally:
        irt._SPARSE_MISSING_SHARE = saved


def run_case(n_examinees: int, n_items: int, seed: int, repeats: int) -> Row:
    complete, _, _ = simulate(n_examinees, n_items, seed)
    x = complete.copy()
    x[np.random.default_rng(seed + 1).random(x.shape) < BLANK_RATE] = np.nan
    calibrate(x[:500])  # warm-up: imports, first BLAS call
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calibrate_times, calibrate_cpu = [], []
        for _ in range(max(repeats, 1)):
            start, cpu = time.perf_counter(), time.process_time()
            est = calibrate(x)
            calibrate_times.append(time.perf_counter() - start)
            calibrate_cpu.append(time.process_time() - cpu)
        dense_seconds, dense_cpu = _dense_calibrate(x)
        with np.errstate(all="ignore"):
            new_times, new_cpu = [], []
            for _ in range(max(repeats, 1)):
                start, cpu = time.perf_counter(), time.process_time()
                _, _, p_new, info = cal._sx2_by_form(x, est, "2pl")
                new_times.append(time.perf_counter() - start)
                new_cpu.append(time.process_time() - cpu)
            start = time.perf_counter()
            _, _, p_old, old_patterns, old_rows = old_sx2_by_form(x, est, "2pl")
            old_seconds = time.perf_counter() - start
            _, _, p_complete, _ = cal._sx2_by_form(complete, est, "2pl")
    flagged = [int((np.nan_to_num(p, nan=1.0) < 0.05).sum()) for p in (p_new, p_old, p_complete)]
    return Row(
        n_examinees=n_examinees, n_items=n_items, patterns=int(info["patterns"]),
        calibrate_seconds=statistics.median(calibrate_times), calibrate_cpu=statistics.median(calibrate_cpu),
        dense_calibrate_seconds=dense_seconds, dense_calibrate_cpu=dense_cpu,
        new_fit_seconds=statistics.median(new_times), new_fit_cpu=statistics.median(new_cpu),
        old_fit_seconds=old_seconds, old_patterns_used=old_patterns, old_share_used=old_rows / n_examinees,
        new_share_used=1.0 - info["left_out_examinees"] / n_examinees,
        flagged_new=flagged[0], flagged_old=flagged[1], flagged_complete=flagged[2],
    )


def markdown(rows: list[Row], command: str, repeats: int) -> str:
    lines = [
        "# Item fit with omissions: S-X2 per blank pattern (old) vs per form with imputed omissions (new)",
        "",
        f"- Command: `{command}` (from the repository root)",
        f"- Date: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}",
        f"- BLAS: {blas_description()}",
        f"- Load average when written (1, 5, 15 min): {', '.join(f'{v:.2f}' for v in os.getloadavg())}",
        f"- Data: 2PL as `bench_irt` (seeded), {BLANK_RATE:.0%} of the cells blanked at random (NaN). Calibration: "
        "`calibrate` with standard errors, as a run; median of "
        f"{repeats} run(s). New fit: `calibration._sx2_by_form` ({cal.SX2_IMPUTATIONS} imputations), median of "
        f"{repeats}; old fit (`benchmarks.bench_fit.old_sx2_by_form`): one run.",
        "- Flagged: items with BH-adjusted p < .05 (all items are true 2PL items: every flag is a false alarm); "
        "'complete' = the new code on the same data before blanking.",
        f"- Target: 50,000 × 100 with {BLANK_RATE:.0%} blanks calibrates in ≤ {TARGET_SECONDS:g} s with item fit.",
        "- CPU s: the process's CPU time (single-threaded BLAS: what the wall time would be on an idle core); "
        "wall s: elapsed, inflated by the other jobs on the 2 CPUs. 'dense blanks': one `calibrate` with the "
        "blanks as a dense mask (the E-step products as before the sparse blanks).",
        "",
        "| data (N × J) | patterns | calibrate s (CPU s) | dense blanks s (CPU s) | new fit s (CPU s) | old fit s "
        "| fit ratio old/new | calibrate + fit: new s (CPU s) | old s | ratio | target ≤ 5 s: wall / CPU "
        "| examinees in fit: new | old (patterns used) | flagged new / old / complete |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        total, total_cpu = r.calibrate_seconds + r.new_fit_seconds, r.calibrate_cpu + r.new_fit_cpu
        met = " / ".join("met" if v <= TARGET_SECONDS else "NOT met" for v in (total, total_cpu))
        lines.append(
            f"| {r.n_examinees:,} × {r.n_items} | {r.patterns:,} | {r.calibrate_seconds:.2f} ({r.calibrate_cpu:.2f}) | "
            f"{r.dense_calibrate_seconds:.2f} ({r.dense_calibrate_cpu:.2f}) | "
            f"{r.new_fit_seconds:.2f} ({r.new_fit_cpu:.2f}) | {r.old_fit_seconds:.2f} | {r.fit_ratio:.1f}× | "
            f"{total:.2f} ({total_cpu:.2f}) | "
            f"{r.calibrate_seconds + r.old_fit_seconds:.2f} | {r.total_ratio:.1f}× | "
            f"{met if r.n_examinees == 50_000 else '–'} | {r.new_share_used:.0%} | "
            f"{r.old_share_used:.0%} ({r.old_patterns_used}) | "
            f"{r.flagged_new} / {r.flagged_old} / {r.flagged_complete} |"
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of calibrate and the new fit per case")
    parser.add_argument("--quick", action="store_true", help="only the 10,000 × 100 case")
    parser.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/results alone")
    args = parser.parse_args(argv)
    cases = [(10_000, 100, 100)] if args.quick else [(10_000, 100, 100), (50_000, 100, 101)]
    rows = []
    for n, j, seed in cases:
        print(f"{n:,} × {j} ...", file=sys.stderr, flush=True)
        rows.append(run_case(n, j, seed, args.repeats))
    command = "python -m benchmarks.bench_fit" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    text = markdown(rows, command, args.repeats)
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text, encoding="utf-8")
        print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
