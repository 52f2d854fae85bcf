"""Flask-Limiter's in-process storage, swept once a second (``sweptmemory://``, the default
``RATELIMIT_STORAGE_URI``).

``limits``' ``memory://`` storage starts a new 10 ms timer thread to sweep expired counters
whenever the previous one has finished: with requests more than 10 ms apart, one thread (a
greenlet under gevent) started per rate-limited request, and every sweep walks every key.
Measured on ``/verify``: about a quarter of the request's time. Expired counters and window
entries are never *read*: the storage checks every expiry when it reads a key; the sweep only
frees their memory. Here it runs at most once a second, so a key outlives its expiry by up to
a second in memory and nothing else changes. Several serving processes still need a shared
storage (Redis: ``FLASK_RATELIMIT_STORAGE_URI=redis://…``).
"""

from __future__ import annotations

import threading

from limits.storage import MemoryStorage

__all__ = ["SWEEP_SECONDS", "SweptMemoryStorage"]

SWEEP_SECONDS = 1.0


class SweptMemoryStorage(MemoryStorage):
    """:class:`limits.storage.MemoryStorage` whose sweep of expired keys runs at most once every
    :data:`SWEEP_SECONDS` (registered as the ``sweptmemory`` scheme on import)."""

    STORAGE_SCHEME = ["sweptmemory"]

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 - replaces the base's private method
        if not self.timer.is_alive():
            self.timer = threading.Timer(SWEEP_SECONDS, self._MemoryStorage__expire_events)  # type: ignore[attr-defined]
            self.timer.daemon = True
            self.timer.start()
