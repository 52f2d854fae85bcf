"""Polling a live server while it works: ``/healthz`` back to back (:class:`HealthPoller`), and a
job's status until it is finished (:func:`wait_for_job`), as the job page does."""

from __future__ import annotations

import threading
import time

import requests


class HealthPoller(threading.Thread):
    """Polls /healthz back to back and records how long each answer took."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.samples: list[float] = []
        self.failures: list[str] = []

    def run(self) -> None:
        http = requests.Session()
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                resp = http.get(self.url + "/healthz", timeout=30)
                if resp.status_code != 200:
                    self.failures.append(f"status {resp.status_code}")
            except requests.RequestException as exc:
                self.failures.append(repr(exc))
            self.samples.append(time.monotonic() - started)
            time.sleep(0.05)


def wait_for_job(http: requests.Session, job_url: str, timeout: float = 120) -> dict:
    """Poll a job's status.json (as its page does) until it is finished; its last status."""
    deadline = time.monotonic() + timeout
    while True:
        status = http.get(job_url + "/status.json", timeout=10).json()
        if status["finished"] or time.monotonic() > deadline:
            return status
        time.sleep(0.2)
