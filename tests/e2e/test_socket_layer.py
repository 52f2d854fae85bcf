"""The Socket.IO layer of a live server: login required at the handshake, and events emitted
by another process through the Redis message queue reach connected clients."""

from __future__ import annotations

import re
import threading

import pytest
import requests
import socketio
from flask_socketio import SocketIO

from tests.e2e.conftest import REDIS_URL

pytestmark = pytest.mark.e2e


def _logged_in_http(base: str, username: str) -> requests.Session:
    http = requests.Session()
    page = http.get(base + "/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = http.post(base + "/login", data={"username": username, "password": "Demo1234", "csrf_token": token},
                     timeout=10)
    assert resp.url.endswith("/home")
    return http


def test_anonymous_socket_is_refused(live_server):
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(live_server.url, wait_timeout=10)
    assert not client.connected


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_event_from_another_process_reaches_client_through_redis(live_server, transport):
    client = socketio.Client(reconnection=False, http_session=_logged_in_http(live_server.url, "proctor1"))
    received: list[dict[str, str]] = []
    arrived = threading.Event()

    @client.on("platform_notice")
    def _notice(data: dict[str, str]) -> None:
        received.append(data)
        arrived.set()

    client.connect(live_server.url, transports=[transport], wait_timeout=10)
    try:
        assert client.connected
        # A write-only emitter, like a CLI job or a second worker process: it shares only Redis.
        emitter = SocketIO(message_queue=REDIS_URL, channel=live_server.env["FLASK_SOCKETIO_CHANNEL"])
        emitter.emit("platform_notice", {"text": "考试即将开始"})
        assert arrived.wait(10), "the event did not arrive through the message queue"
        assert received == [{"text": "考试即将开始"}]
    finally:
        client.disconnect()
