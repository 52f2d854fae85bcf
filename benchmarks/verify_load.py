"""Load client of ``make bench-certificates``: N keep-alive HTTP clients (gevent greenlets in this
process) asking the verify page (or /healthz) for ``--seconds``, each pausing a random
``--think`` (``a-b`` seconds, or ``0``) between requests. Prints one JSON line: count, rate,
latency percentiles in ms, errors (non-200 answers or broken connections)."""

from gevent import monkey

monkey.patch_all()

# ruff: noqa: E402, S311 (load generation, not cryptography)
import argparse
import http.client
import json
import random
import time
from urllib.parse import urlencode, urlsplit

import gevent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--targets", required=True)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--think", default="0.5-1.5")
    parser.add_argument("--path", choices=("verify", "healthz"), default="verify")
    args = parser.parse_args()
    with open(args.targets, encoding="utf-8") as fh:
        targets = json.load(fh)
    lo, hi = (float(x) for x in args.think.split("-")) if "-" in args.think else (0.0, 0.0)
    host = urlsplit(args.url)
    latencies: list[float] = []
    errors = [0]
    end = time.monotonic() + args.seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        gevent.sleep(rng.uniform(0, max(hi, 0.2)))  # spread the first requests
        while time.monotonic() < end:
            if args.path == "healthz":
                path = "/healthz"
            else:
                target = rng.choice(targets)
                name = target["name"] if rng.random() > 0.1 else target["name"] + "某"
                path = "/verify?" + urlencode({"number": target["number"], "name": name})
            t = time.perf_counter()
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
            latencies.append((time.perf_counter() - t) * 1000)
            if not ok:
                errors[0] += 1
            if hi:
                gevent.sleep(rng.uniform(lo, hi))
        conn.close()

    started = time.monotonic()
    gevent.joinall([gevent.spawn(client, k) for k in range(args.clients)])
    elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] if latencies else 0.0

    print(json.dumps({"count": len(latencies), "rate": len(latencies) / elapsed, "p50": pct(50), "p95": pct(95),
                      "p99": pct(99), "max": latencies[-1] if latencies else 0.0, "errors": errors[0]}))


if __name__ == "__main__":
    main()
