"""Socket.IO namespaces. Every connection is authenticated from the login session at
``connect``; later namespaces re-check authorisation on every event."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from flask_socketio import SocketIO


def register_namespaces(socketio: SocketIO) -> None:
    @socketio.on("connect")
    def _connect(auth: Any = None) -> bool:
        # Anonymous connections are refused on every namespace.
        return bool(current_user.is_authenticated)

    from web.sockets.exam import ExamNamespace

    socketio.on_namespace(ExamNamespace())

    from web.sockets.proctor import ProctorNamespace

    socketio.on_namespace(ProctorNamespace())
