"""The serving processes' garbage-collector settings (web/gctune.py), checked in a child
process: freezing and thresholds are process-wide and must not leak into the test run."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e.conftest import ROOT

SCRIPT = r"""
import gc, logging, web.gctune as g
logging.basicConfig(level=logging.WARNING, format="%(name)s %(message)s")
keep = [[i] for i in range(200_000)]  # made at "start-up": frozen out of later passes
g.tune_gc()
g.tune_gc()  # twice (serve and an import of web.wsgi): one watcher
print("thresholds", gc.get_threshold() == g.GC_THRESHOLDS)
print("frozen", gc.get_freeze_count() >= 200_000)
print("watchers", sum(getattr(cb, "_web_gctune", False) for cb in gc.callbacks))
import gevent
print("greenlet-tree", gevent.config.track_greenlet_tree)
g.GC_SLOW_SECONDS = 0.0  # every pass over the older generations counts as slow now
gc.collect(0)  # the youngest pass is never reported
gc.collect(1)
gc.collect(2)
g.GC_SLOW_SECONDS = 1e9  # (the interpreter's own pass at exit)
"""


def test_serving_processes_freeze_start_up_objects_and_report_slow_collections():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         check=True)
    assert out.stdout.split() == ["thresholds", "True", "frozen", "True", "watchers", "1", "greenlet-tree", "False"]
    reports = [line for line in out.stderr.splitlines() if "garbage collection took" in line]
    assert [r.split()[1] for r in reports] == ["generation-1", "full"]
    assert all(r.startswith("web.gctune ") for r in reports)
