"""Garbage-collector settings for a serving process (``web.serve`` and the gunicorn entry)."""

from __future__ import annotations

import gc
import logging
import time

__all__ = ["GC_THRESHOLDS", "tune_gc"]

#: Thresholds for a serving process (see :func:`tune_gc`). The middle one bounds the second
#: generation: at 50 it could gather a million survivors and a pass over it took 0.25–1 s
#: (bench-exam with a 100-item paper); at 10 it stays near 200,000 (about 50 ms), and the
#: third keeps full passes as rare as before (every 10 × 5,000 young passes).
GC_THRESHOLDS = (20_000, 10, 5_000)
#: A collection of the older generations longer than this is logged (seconds).
GC_SLOW_SECONDS = 0.1

log = logging.getLogger(__name__)


def tune_gc() -> None:
    """Keep full garbage collections out of the exam: with 3,000 connections a gen-2 pass
    walks every live object and stalled the process for 120–440 ms, growing with the heap
    (measured in bench-exam), which alone breaks a 300 ms p99. The objects made at start-up
    are frozen out of collection, and the young thresholds are raised so that a full pass
    comes only after hundreds of millions of net allocations; young cycles are still
    collected. Passes over the older generations that still take long are logged."""
    import gevent

    # Every Socket.IO event runs in a new greenlet, and by default each records the stack that
    # spawned it: tens of thousands of young objects at 3,000 candidates (counted in a live
    # bench-exam run), which the collector then has to walk. The tree is a debugging aid.
    gevent.config.track_greenlet_tree = False
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    if any(getattr(cb, "_web_gctune", False) for cb in gc.callbacks):
        return
    started: list[float] = [0.0]

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        elif info["generation"] >= 1 and time.perf_counter() - started[0] > GC_SLOW_SECONDS:
            kind = "full" if info["generation"] == 2 else "generation-1"
            log.warning("%s garbage collection took %.0f ms", kind, (time.perf_counter() - started[0]) * 1000)

    watch._web_gctune = True  # type: ignore[attr-defined]
    gc.callbacks.append(watch)
