"""Load generator of ``make bench-exam``: thousands of simulated candidates
(:class:`web.exam_sim.SimCandidate`, real python-socketio clients) in one gevent process.

Protocol with the orchestrator (:mod:`benchmarks.bench_exam`), over stdout lines:
``READY <connected> <seconds>`` once every candidate has logged in, connected and arrived;
then the orchestrator opens the rooms (the ``status`` push starts everyone); at the end the
ledger of every candidate is written as JSON to ``--out``.

    python -m benchmarks.exam_load --seats seats.json --url http://127.0.0.1:5000 --out load.json
"""

# ruff: noqa: S311  (simulated answers, not cryptography)
from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

from web.exam_sim import SimCandidate, SimSeat  # noqa: E402


class GatedCandidate(SimCandidate):
    """Logs in and connects through a shared gate (a browser room does not do it in one ms)."""

    gate = threading.BoundedSemaphore(40)

    def connect(self) -> None:
        with self.gate:
            for attempt in range(5):
                try:
                    super().connect()
                    return
                except Exception:  # noqa: BLE001
                    if attempt == 4:
                        raise
                    self.close()
                    time.sleep(1 + attempt)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seats", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--pace", default="10-30")
    parser.add_argument("--burst-before", type=float, default=4.0)
    parser.add_argument("--burst-changes", type=int, default=1)
    parser.add_argument("--burst-submit", action="store_true",
                        help="everyone submits after the last answer (default: the time-up job closes the papers)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()

    lo, _, hi = args.pace.partition("-")
    pace = (float(lo), float(hi or lo))
    seats = [SimSeat(t, i, a) for t, i, a, _room in json.load(open(args.seats))]
    rng = random.Random(args.seed)
    stop = threading.Event()
    cands = [GatedCandidate(args.url, s, pace=pace, changes=10**9, burst_before=args.burst_before,
                            burst_changes=args.burst_changes, burst_submit=args.burst_submit, focus_loss=0.03,
                            rng=random.Random(rng.random()),
                            ack_timeout=30, wait_poll=20, stop=stop) for s in seats]
    t0 = time.monotonic()
    threads = [threading.Thread(target=c.run, daemon=True) for c in cands]
    for t in threads:
        t.start()
    # Ready: everyone waiting for the room to open (or failed).
    while True:
        waiting = sum(1 for c in cands if c.status == "waiting")
        failed = sum(1 for c in cands if c.done.is_set())
        if waiting + failed >= len(cands):
            break
        if time.monotonic() - t0 > 600:
            break
        time.sleep(0.5)
    connected = sum(1 for c in cands if c._connected.is_set())
    print(f"READY {connected} {time.monotonic() - t0:.1f} {failed}", flush=True)
    end = time.monotonic() + args.timeout
    for t in threads:
        t.join(max(0.0, end - time.monotonic()))
    peak_connected = connected
    stop.set()
    ledgers = []
    for c in cands:
        if c.journal:  # anything unacked goes out once more before we leave
            with contextlib.suppress(Exception):
                c.sync("final")
        ledgers.append({
            "attempt_id": c.seat.attempt_id, "status": c.status, "error": c.error,
            "latencies": c.ledger.latencies, "acked": {str(k): v for k, v in c.ledger.acked.items()},
            "sent": c.ledger.sent, "refused": c.ledger.refused, "timeouts": c.ledger.timeouts,
            "timeout_phases": c.ledger.timeout_phases,
            "reconnects": c.ledger.reconnects, "journal_left": len(c.journal),
        })
        c.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    json.dump({"ledgers": ledgers, "connected": peak_connected, "cpu_s": usage.ru_utime + usage.ru_stime,
               "max_rss_mb": usage.ru_maxrss / 1024, "wall_s": time.monotonic() - t0}, open(args.out, "w"))
    print("DONE", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
