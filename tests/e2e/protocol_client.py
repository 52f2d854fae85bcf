"""A client of the exam socket protocol written from ``docs/protocol.md`` alone (issue 11):
``requests`` for the HTTP steps and a ``python-socketio`` ``Client`` for the namespaces. It
knows nothing of the server's code; every step cites the section of the document it follows.
"""

from __future__ import annotations

import datetime as dt
import queue
import re
import time
from typing import Any

import requests
import socketio

__all__ = ["CandidateClient", "ProctorClient", "SocketRefused"]

#: §1 step 1: the login form's hidden input, and every page's meta tag.
_FORM_TOKEN = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
_META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
TIMEOUT = 15


class SocketRefused(Exception):
    """The server refused the Socket.IO connection (§1 table): its message and ``data``."""

    def __init__(self, message: str, data: Any) -> None:
        super().__init__(message)
        self.message, self.data = message, data


def _token(html: str, pattern: re.Pattern[str]) -> str:
    match = pattern.search(html)
    if match is None:
        raise AssertionError("no CSRF token on the page")
    return match.group(1)


def _form_login(base: str, page: str, post: str, fields: dict[str, str]) -> requests.Session:
    """§1 step 1 (and §P1 for staff): GET the login page, POST the form with its token."""
    http = requests.Session()
    html = http.get(base + page, timeout=TIMEOUT).text
    resp = http.post(base + post, data={**fields, "csrf_token": _token(html, _FORM_TOKEN)},
                     allow_redirects=False, timeout=TIMEOUT)
    if resp.status_code != 302:
        raise AssertionError(f"login refused: HTTP {resp.status_code}")
    assert "skilleval_session" in http.cookies
    return http


class CandidateClient:
    """One candidate on one computer (``device_id``): Part 1 of the protocol."""

    NS = "/exam"

    def __init__(self, base: str, ticket_no: str, id_number: str, device_id: str) -> None:
        self.base, self.device_id = base, device_id
        self.http = _form_login(base, "/login?tab=candidate", "/login/candidate",
                                {"ticket_no": ticket_no, "id_number": id_number})
        self.sio: socketio.Client | None = None
        self.pushes: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.offset: dt.timedelta | None = None  # §2 "Clock": server time minus local time
        self._best_rtt = float("inf")
        self.attempt_id: int | None = None
        self.seq = 0
        self.last_stamp: dt.datetime | None = None

    # ------------------------------------------------------------ HTTP (§1 step 2)

    def sittings(self) -> list[dict[str, Any]]:
        resp = self.http.get(self.base + "/exam/api/attempts", timeout=TIMEOUT)
        assert resp.status_code == 200, resp.status_code
        return resp.json()  # type: ignore[no-any-return]

    def enter(self, sitting: dict[str, Any]) -> int:
        """POST the sitting's ``enter`` with a token taken after login; the redirect names the attempt."""
        token = _token(self.http.get(self.base + "/exam/", timeout=TIMEOUT).text, _META_TOKEN)
        resp = self.http.post(self.base + sitting["enter"], headers={"X-CSRFToken": token},
                              allow_redirects=False, timeout=TIMEOUT)
        assert resp.status_code == 302, resp.status_code
        match = re.fullmatch(r".*/exam/(\d+)", resp.headers["Location"])
        assert match, resp.headers["Location"]
        return int(match.group(1))

    def find_attempt(self) -> int:
        """The attempt of the (only) seated sitting, entering the exam room if it has none yet."""
        (sitting,) = self.sittings()
        self.attempt_id = sitting["attempt_id"] or self.enter(sitting)
        return self.attempt_id

    # ------------------------------------------------------------ socket (§1 step 3, §2)

    def connect(self) -> None:
        assert self.attempt_id is not None
        sio = socketio.Client(reconnection=False, http_session=self.http)
        refusals: list[Any] = []
        sio.on("connect_error", refusals.append, namespace=self.NS)
        sio.on("status", lambda data: self.pushes.put(("status", data)), namespace=self.NS)
        sio.on("superseded", lambda data: self.pushes.put(("superseded", data)), namespace=self.NS)
        try:
            sio.connect(self.base, namespaces=[self.NS], transports=["websocket"], wait_timeout=TIMEOUT,
                        auth={"attempt_id": self.attempt_id, "device_id": self.device_id})
        except socketio.exceptions.ConnectionError:
            data = refusals[0] if refusals else {}
            raise SocketRefused(data.get("message", ""), data.get("data")) from None
        self.sio = sio

    def disconnect(self) -> None:
        if self.sio is not None:
            self.sio.disconnect()
            self.sio = None

    def call(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        """An acked event (§2). Acks carrying ``server_time`` feed the clock estimate."""
        assert self.sio is not None
        sent = time.monotonic()
        ack = self.sio.call(event, payload, namespace=self.NS, timeout=TIMEOUT)
        arrived = time.monotonic()
        server_time = ack.get("server_time") or (ack.get("state") or {}).get("server_time")
        if server_time and arrived - sent < self._best_rtt:
            self._best_rtt = arrived - sent
            middle = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=(arrived - sent) / 2)
            self.offset = dt.datetime.fromisoformat(server_time) - middle
        return ack  # type: ignore[no-any-return]

    def ref(self) -> dict[str, Any]:
        return {"attempt_id": self.attempt_id}

    def state(self) -> dict[str, Any]:
        ack = self.call("state", self.ref())
        assert ack["ok"] is True, ack
        return ack["state"]  # type: ignore[no-any-return]

    def server_now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + (self.offset or dt.timedelta())

    def wait_push(self, reason: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next ``status`` push with ``reason`` (§6)."""
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            try:
                kind, data = self.pushes.get(timeout=left)
            except queue.Empty:
                break
            if kind == "status" and data.get("reason") == reason:
                return data  # type: ignore[no-any-return]
        raise AssertionError(f"no status push {reason!r}")

    # ------------------------------------------------------------ answers (§3 answer, §4)

    def adopt(self, state: dict[str, Any]) -> None:
        """Continue numbering and stamping after the server's state (§3 State: last_seq, last_client_time)."""
        self.seq = max(self.seq, state["last_seq"])
        for key in ("started_at", "last_client_time"):
            if state.get(key):
                when = dt.datetime.fromisoformat(state[key])
                self.last_stamp = when if self.last_stamp is None else max(self.last_stamp, when)

    def stamp(self) -> str:
        """§3: max(server clock estimate, started_at, last_client_time, the previous stamp)."""
        when = self.server_now()
        if self.last_stamp is not None:
            when = max(when, self.last_stamp)
        self.last_stamp = when
        return when.isoformat()

    def entry(self, position: int, value: Any) -> dict[str, Any]:
        self.seq += 1
        return {**self.ref(), "position": position, "seq": self.seq, "value": value, "client_time": self.stamp()}

    def answer(self, position: int, value: Any) -> dict[str, Any]:
        return self.call("answer", self.entry(position, value))


class ProctorClient:
    """The room's proctor on ``/proctor`` (Part 2): enough to open the room."""

    NS = "/proctor"

    def __init__(self, base: str, username: str, password: str) -> None:
        http = _form_login(base, "/login", "/login", {"username": username, "password": password})
        self.sio = socketio.Client(reconnection=False, http_session=http)
        self.sio.connect(base, namespaces=[self.NS], transports=["websocket"], wait_timeout=TIMEOUT)

    def call(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        return self.sio.call(event, payload, namespace=self.NS, timeout=TIMEOUT)  # type: ignore[no-any-return]

    def close(self) -> None:
        self.sio.disconnect()
