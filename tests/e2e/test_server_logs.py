"""The serving process logs every request on its console, and errors with their tracebacks."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.e2e


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 (loopback)
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_requests_are_logged_on_the_console(live_server):
    marker = f"/no-such-page-{time.monotonic_ns()}"
    assert _get(live_server.url + marker) == 404
    assert _get(live_server.url + "/favicon.ico") == 200  # redirected to the icon
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        text = live_server.log_path.read_text(encoding="utf-8", errors="replace")
        if f'"GET {marker} HTTP/1.1" 404' in text and '"GET /favicon.ico HTTP/1.1" 301' in text:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("request lines missing from the server log:\n" + text[-2000:])
