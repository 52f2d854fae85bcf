"""The rate limiter's default storage (web.ratelimit_storage, ``sweptmemory://``): counts and
windows exactly as limits' memory storage does, with one sweep of expired keys a second
instead of a new timer thread per request."""

from __future__ import annotations

import time

from limits import parse, strategies
from limits.storage import storage_from_string

from tests.conftest import TEST_CONFIG
from web import create_app
from web.config import DefaultConfig
from web.ratelimit_storage import SWEEP_SECONDS, SweptMemoryStorage


def test_it_is_the_default_storage_of_the_app():
    assert DefaultConfig.RATELIMIT_STORAGE_URI == "sweptmemory://"
    app = create_app({**TEST_CONFIG, "RATELIMIT_ENABLED": True})
    assert isinstance(app.extensions["limiter"].pop().storage, SweptMemoryStorage)  # type: ignore[attr-defined]


def test_fixed_and_moving_windows_count_and_expire_as_in_memory():
    storage = storage_from_string("sweptmemory://")
    assert isinstance(storage, SweptMemoryStorage)
    fixed, moving = strategies.FixedWindowRateLimiter(storage), strategies.MovingWindowRateLimiter(storage)
    limit = parse("3 per 1 second")
    assert [fixed.hit(limit, "a") for _ in range(4)] == [True, True, True, False]
    assert [moving.hit(limit, "b") for _ in range(4)] == [True, True, True, False]
    assert fixed.hit(limit, "c")  # another key is not counted with them
    time.sleep(1.05)
    assert fixed.hit(limit, "a") and moving.hit(limit, "b")  # expired on reading, before any sweep


def test_requests_share_one_sweep_timer():
    storage = storage_from_string("sweptmemory://")
    limit = parse("100 per minute")
    fixed = strategies.FixedWindowRateLimiter(storage)
    time.sleep(0.05)  # the storage's first sweep (limits' own, at start) has run
    fixed.hit(limit, "a")
    timer = storage.timer  # type: ignore[attr-defined]
    for _ in range(20):
        fixed.hit(limit, "a")
        time.sleep(0.015)  # longer than limits' own 10 ms timer
    assert storage.timer is timer and timer.interval == SWEEP_SECONDS  # type: ignore[attr-defined]
