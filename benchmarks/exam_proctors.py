"""The bench's proctors: one per room, logged in through the login form, watching their room's
console over ``/proctor`` (docs/protocol.md) and opening it (开考) with the ``open`` event, all
in the same moment: the synchronised start as the product does it.

(The bench used to open the rooms from a separate process straight in the database: on SQLite
that process held the write lock for seconds while the server's writes waited in SQLite's busy
handler, which blocks gevent's whole hub, and no console was watching.)
"""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from web.exam_sim import FAST_WEBSOCKET, staff_login

NAMESPACE = "/proctor"


class Proctors:
    """``rooms``: room id -> the proctor's username (all share ``password``)."""

    def __init__(self, base_url: str, rooms: dict[int, str], password: str, *, timeout: float = 60.0) -> None:
        self.base_url, self.rooms, self.password, self.timeout = base_url, rooms, password, timeout
        self.clients: dict[int, Any] = {}
        self.pushes = 0  # console messages received (seat and seats), all proctors
        self._lock = threading.Lock()

    def _on_push(self, *_: Any) -> None:
        with self._lock:
            self.pushes += 1

    def _connect(self, room_id: int) -> None:
        import socketio

        http = staff_login(self.base_url, self.rooms[room_id], self.password)
        client = socketio.Client(reconnection=True, http_session=http, request_timeout=30,
                                 websocket_extra_options=FAST_WEBSOCKET)
        client.on("seat", self._on_push, namespace=NAMESPACE)
        client.on("seats", self._on_push, namespace=NAMESPACE)
        client.connect(self.base_url, namespaces=[NAMESPACE], transports=["websocket"], wait_timeout=30)
        ack = client.call("watch", {"room_id": room_id}, namespace=NAMESPACE, timeout=self.timeout)
        if not (isinstance(ack, dict) and ack.get("ok")):
            raise RuntimeError(f"room {room_id}: watch refused: {ack}")
        self.clients[room_id] = client

    def connect(self) -> float:
        """Log every proctor in and watch the rooms; returns the seconds it took."""
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=20) as pool:
            list(pool.map(self._connect, sorted(self.rooms)))
        return time.monotonic() - t0

    def open_all(self) -> str:
        """Every proctor clicks 开考 at once. Returns ``OPENED <attempts opened> <seconds until
        the last ack> <median ack seconds>``."""
        go = threading.Event()
        results: list[tuple[float, int]] = []

        def one(room_id: int) -> None:
            go.wait()
            t = time.monotonic()
            ack = self.clients[room_id].call("open", {"room_id": room_id}, namespace=NAMESPACE, timeout=self.timeout)
            if not (isinstance(ack, dict) and ack.get("ok")):
                raise RuntimeError(f"room {room_id}: open refused: {ack}")
            results.append((time.monotonic() - t, len(ack.get("changed", []))))

        threads = [threading.Thread(target=one, args=(r,), daemon=True) for r in sorted(self.rooms)]
        for t in threads:
            t.start()
        t0 = time.monotonic()
        go.set()
        for t in threads:
            t.join(self.timeout + 5)
        if len(results) != len(self.rooms):
            raise RuntimeError(f"only {len(results)} of {len(self.rooms)} rooms acknowledged 开考")
        return (f"OPENED {sum(n for _, n in results)} {time.monotonic() - t0:.2f} "
                f"{statistics.median(s for s, _ in results):.2f}")

    def close(self) -> None:
        for client in self.clients.values():
            try:
                client.disconnect()
            except Exception:  # noqa: BLE001, S110  (the server may be gone already)
                pass
