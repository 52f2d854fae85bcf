"""Logging in to the live server: over HTTP (``http_login``, for socket clients) or in the
browser (``staff_login``, ``browser_login``); ``wait_push`` waits for a pushed socket event.
"""

from __future__ import annotations

import queue
import re

import requests


def http_login(base: str, path: str, data: dict) -> requests.Session:
    http = requests.Session()
    page = http.get(base + "/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = http.post(base + path, data={**data, "csrf_token": token}, timeout=10)
    assert resp.status_code == 200 and "/login" not in resp.url, resp.url
    return http


def wait_push(q: queue.Queue, pred, timeout: float = 20.0):
    """The first pushed payload satisfying ``pred`` (others are skipped)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "push not received"
        try:
            item = q.get(timeout=left)
        except queue.Empty:
            continue
        if pred(item):
            return item


def staff_login(page, base: str, username: str, password: str = "Demo1234") -> None:
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base + "/home")


def browser_login(page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("Demo1234")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base + "/home")
