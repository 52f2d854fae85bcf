"""A live platform for real-browser journeys, set up exactly as ``make run`` does it:
``flask db upgrade``, ``flask seed reference``, ``flask seed demo``, then ``python -m web.serve``.

It gets its own database (a SQLite file, or ``<db>_e2e`` beside DATABASE_URL's database on
PostgreSQL) so the rest of the suite's transactions never meet it.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.dbutil import fresh_database

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    demo_output: str
    log_path: Path | None = None  # the server's standard output and error


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _flask(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "web", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": fresh_database("e2e", tmp),
        "FLASK_SECRET_KEY": "e2e-secret-key",
        "FLASK_SESSION_COOKIE_SECURE": "false",
        "FLASK_REMEMBER_COOKIE_SECURE": "false",
        "PORT": str(port),
        # As in production: several processes would share this queue; one channel per test run.
        "FLASK_SOCKETIO_MESSAGE_QUEUE": REDIS_URL,
        "FLASK_SOCKETIO_CHANNEL": f"skilleval-e2e-{port}",
    }
    _flask(env, "db", "upgrade")
    _flask(env, "seed", "reference")
    demo_output = _flask(env, "seed", "demo")
    log = open(tmp / "server.log", "w")  # noqa: SIM115  (closed below)
    server = subprocess.Popen(
        [sys.executable, "-m", "web.serve", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as resp:  # noqa: S310 (loopback)
                if resp.status == 200:
                    break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            log.close()
            raise AssertionError("server did not start:\n" + (tmp / "server.log").read_text())
        time.sleep(0.2)
    try:
        yield LiveServer(url=url, env=env, demo_output=demo_output, log_path=tmp / "server.log")
    finally:
        stop_server(server, log)


def stop_server(server: subprocess.Popen[bytes], log: Any, timeout: float = 15) -> None:
    """Stop a server started by a fixture (SIGTERM, then SIGKILL) and close its log."""
    server.terminate()
    try:
        server.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: .ci/run installs it with apt-get")
        pytest.skip("chromium not installed on this machine (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 860})  # type: ignore[attr-defined]
    pg = context.new_page()
    yield pg
    context.close()


def screenshot(page: object, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_-]', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
