"""Login throttling by failures, not attempts (security issue #12, point 4).

Two counters of *failed* logins, in Flask-Limiter's storage (memory by default, Redis through
``RATELIMIT_STORAGE_URI`` across processes), each a set of moving windows:

* per (account, address), ``LOGIN_FAILURE_LIMIT``: a growing wait. With the defaults, after 5
  failures in a minute the pair waits up to a minute, after 10 in 15 minutes up to 15 minutes,
  and so on. Someone guessing a ticket number's ID number, or a staff member's password, from
  one address slows to a crawl, while the same account from any other address is untouched:
  the real person is never refused because of someone else's failures elsewhere.
* per address, ``LOGIN_FAILURE_LIMIT_PER_ADDRESS``: generous, because the 30 candidates of an
  exam room often share one NAT address and mistype, yet bounding how many guesses one address
  can spread over many accounts.

A refusal is checked before the credentials are (otherwise a correct guess would still get
through during the wait), answered at once with 429, ``Retry-After`` and a Chinese message
saying how long: no sleeping, so the gevent event loop is never held. A success clears the
pair's failures, never the address's (one valid account must not reset a guessing address).
Throttling follows Flask-Limiter's switch (``RATELIMIT_ENABLED``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from flask import current_app
from limits import RateLimitItem, parse_many
from limits.strategies import MovingWindowRateLimiter

from web.extensions import limiter

__all__ = ["Refusal", "note_failure", "note_success", "refusal", "wait_text"]


@dataclass(frozen=True, slots=True)
class Refusal:
    retry_after: int  # whole seconds
    message: str


def wait_text(seconds: int) -> str:
    """How long to wait, in words a person reads: 「45 秒」, 「3 分钟」, 「2 小时」."""
    if seconds < 60:
        return f"{max(seconds, 1)} 秒"
    if seconds < 3600:
        return f"{math.ceil(seconds / 60)} 分钟"
    return f"{math.ceil(seconds / 3600)} 小时"


def _active() -> bool:
    return bool(limiter.enabled and limiter.initialized)


def _strategy() -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(limiter.storage)


def _items(key: str) -> list[RateLimitItem]:
    return parse_many(str(current_app.config[key]))


def _pair(kind: str, account: str, address: str) -> tuple[str, ...]:
    return ("login-failures", kind, account.strip().lower()[:64], address)


def _address(address: str) -> tuple[str, ...]:
    return ("login-failures-address", address)


def _wait(strategy: MovingWindowRateLimiter, items: list[RateLimitItem], ids: tuple[str, ...]) -> int:
    """Seconds until one more failure fits every window (0: it fits now)."""
    now = time.time()
    wait = 0.0
    for item in items:
        if not strategy.test(item, *ids):
            wait = max(wait, strategy.get_window_stats(item, *ids).reset_time - now)
    return math.ceil(wait) if wait > 0 else 0


def refusal(kind: str, account: str, address: str) -> Refusal | None:
    """Why this attempt is refused before its credentials are checked, or None."""
    if not _active():
        return None
    strategy = _strategy()
    wait = _wait(strategy, _items("LOGIN_FAILURE_LIMIT_PER_ADDRESS"), _address(address))
    if wait:
        return Refusal(wait, f"从您所在网络登录失败的次数过多，请 {wait_text(wait)}后再试。")
    wait = _wait(strategy, _items("LOGIN_FAILURE_LIMIT"), _pair(kind, account, address))
    if wait:
        return Refusal(wait, f"该账号登录失败次数过多，请 {wait_text(wait)}后再试。")
    return None


def note_failure(kind: str, account: str, address: str) -> None:
    if not _active():
        return
    strategy = _strategy()
    for item in _items("LOGIN_FAILURE_LIMIT_PER_ADDRESS"):
        strategy.hit(item, *_address(address))
    for item in _items("LOGIN_FAILURE_LIMIT"):
        strategy.hit(item, *_pair(kind, account, address))


def note_success(kind: str, account: str, address: str) -> None:
    if not _active():
        return
    strategy = _strategy()
    for item in _items("LOGIN_FAILURE_LIMIT"):
        strategy.clear(item, *_pair(kind, account, address))
