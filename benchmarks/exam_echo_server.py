"""A bare python-socketio server speaking just enough of the ``/exam`` protocol for the
benchmark's baseline: every event is acked immediately from memory (no database, no
Flask), so the same simulated candidates (:mod:`web.exam_sim`) run against it unchanged.

Same stack as the platform's server: python-socketio on gevent's pywsgi with
gevent-websocket, one process. Proctors connect to ``/proctor``, ``watch`` a room and ``open``
it (开考): its attempts open and get a ``status`` ``opened`` push, and the watchers get one
``seats`` message, as on the platform's console (the rooms come from the bench's seats file);
like the platform's time-up job, it closes overdue attempts every 5 s and pushes ``expired``.

    python -m benchmarks.exam_echo_server --port 5999 --duration 180 --seats seats.json
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import socketio  # noqa: E402
from gevent import pywsgi  # noqa: E402
from geventwebsocket.handler import WebSocketHandler  # noqa: E402

from benchmarks.paper_text import option_html, stem_html  # noqa: E402

NS = "/exam"
PROCTOR_NS = "/proctor"


def make_items(n: int) -> list[dict[str, Any]]:
    """A paper shaped like the platform's bench paper (benchmarks.bench_exam.bench_paper): the
    same count, 80 % single choice with four options and 20 % true/false, similar text lengths."""
    single = n * 4 // 5 if n > 6 else n
    return [{"number": k, "position": k, "points": 1.0, "stem_html": stem_html(k),
             **({"type": "single_choice", "options": [{"label": x, "html": option_html(x, k)} for x in "ABCD"]}
                if k <= single else {"type": "true_false", "choices": ["√", "×"]})}
            for k in range(1, n + 1)]

LOGIN_PAGE = b'<form><input id="csrf_token" name="csrf_token" type="hidden" value="echo-token"></form>'


def build(duration_s: float, rooms: dict[int, list[int]], n_items: int = 6) -> Any:
    """``rooms``: room id -> its attempt ids."""
    items = make_items(n_items)
    sio = socketio.Server(async_mode="gevent", max_http_buffer_size=64 * 1024)
    attempts: dict[int, dict[str, Any]] = {}  # attempt id -> {"status", "started", "answers", "last_seq"}
    conns: dict[str, int] = {}
    opened: set[int] = set()  # attempt ids whose room is open

    def view(aid: int) -> dict[str, Any]:
        a = attempts.setdefault(aid, {"status": "not_started", "started": None, "answers": {}, "last_seq": 0})
        left = float(duration_s)
        if a["started"] is not None:
            left = max(0.0, duration_s - (time.monotonic() - a["started"]))
        return {"attempt_id": aid, "status": a["status"], "remaining_seconds": int(left),
                "server_time": dt.datetime.now(dt.UTC).isoformat(), "item_count": len(items),
                "items": items if a["status"] == "in_progress" else [], "answers": a["answers"],
                "last_seq": a["last_seq"], "opened": aid in opened}

    def store(aid: int, entry: dict[str, Any]) -> dict[str, Any]:
        a = attempts[aid]
        a["answers"][str(entry["position"])] = {"seq": entry["seq"], "value": entry["value"]}
        a["last_seq"] = max(a["last_seq"], entry["seq"])
        return {"ok": True, "seq": entry["seq"], "result": "accepted"}

    def timeup() -> None:
        """The platform's time-up job, from memory: every 5 s, close what is overdue and push."""
        while True:
            sio.sleep(5)
            now = time.monotonic()
            for aid, a in list(attempts.items()):
                if a["status"] == "in_progress" and now - a["started"] >= duration_s:
                    a["status"] = "expired"
                    sio.emit("status", {"attempt_id": aid, "reason": "expired", "message": ""}, namespace=NS,
                             to=f"attempt:{aid}")

    sio.start_background_task(timeup)

    @sio.on("connect", namespace=NS)
    def connect(sid: str, environ: dict[str, Any], auth: Any) -> bool:
        aid = int(auth["attempt_id"])
        conns[sid] = aid
        sio.enter_room(sid, f"attempt:{aid}", namespace=NS)
        view(aid)
        return True

    @sio.on("disconnect", namespace=NS)
    def disconnect(sid: str, reason: Any = None) -> None:
        conns.pop(sid, None)

    @sio.on("state", namespace=NS)
    def state(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "state": view(conns[sid])}

    @sio.on("arrive", namespace=NS)
    def arrive(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        attempts[conns[sid]]["status"] = "waiting"
        return {"ok": True, "state": view(conns[sid])}

    @sio.on("start", namespace=NS)
    def start(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        a = attempts[conns[sid]]
        if conns[sid] not in opened:
            return {"ok": False, "code": "illegal_transition", "error": "监考员尚未开考，请等待。"}
        a["status"], a["started"] = "in_progress", time.monotonic()
        return {"ok": True, "state": view(conns[sid])}

    @sio.on("answer", namespace=NS)
    def answer(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return store(conns[sid], data)

    @sio.on("replay", namespace=NS)
    def replay(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        aid = conns[sid]
        results = [store(aid, e) for e in sorted(data["entries"], key=lambda e: e["seq"])]
        return {"ok": True, "results": results, "state": view(aid)}

    @sio.on("submit", namespace=NS)
    def submit(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        attempts[conns[sid]]["status"] = "submitted"
        return {"ok": True, "state": view(conns[sid])}

    @sio.on("signal", namespace=NS)
    def signal(sid: str, data: dict[str, Any]) -> None:
        return None

    @sio.on("connect", namespace=PROCTOR_NS)
    def proctor_connect(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        return True

    @sio.on("watch", namespace=PROCTOR_NS)
    def watch(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        room_id = int(data["room_id"])
        sio.enter_room(sid, f"room:{room_id}", namespace=PROCTOR_NS)
        return {"ok": True, "snapshot": {"room_id": room_id, "seats": [{"attempt_id": a} for a in rooms[room_id]]}}

    @sio.on("open", namespace=PROCTOR_NS)
    def open_room(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        room_id = int(data["room_id"])
        changed = [aid for aid in rooms[room_id] if aid not in opened]
        opened.update(changed)
        for aid in changed:
            sio.emit("status", {"attempt_id": aid, "reason": "opened", "message": ""}, namespace=NS,
                     to=f"attempt:{aid}")
        sio.emit("seats", {"room_id": room_id, "seats": [{"attempt_id": a, "state": "opened"} for a in changed]},
                 namespace=PROCTOR_NS, to=f"room:{room_id}")
        return {"ok": True, "room_id": room_id, "changed": changed, "refused": []}

    def http(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD")
        if path in ("/login", "/login/candidate") and method == "POST":
            start_response("302 Found", [("Location", "/home"), ("Set-Cookie", "echo_session=1; Path=/")])
            return [b""]
        if path == "/login":
            start_response("200 OK", [("Content-Type", "text/html")])
            return [LOGIN_PAGE]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return socketio.WSGIApp(sio, http)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5999)
    parser.add_argument("--duration", type=float, default=180.0, help="seconds from start to time-up")
    parser.add_argument("--items", type=int, default=6, help="items on the paper")
    parser.add_argument("--seats", required=True, help="the bench's seats file: [ticket, id, attempt, room] rows")
    args = parser.parse_args()
    rooms: dict[int, list[int]] = {}
    with open(args.seats, encoding="utf-8") as fh:
        for _ticket, _id_number, attempt_id, room_id in json.load(fh):
            rooms.setdefault(int(room_id), []).append(int(attempt_id))
    app = build(args.duration, rooms, args.items)
    print(f"echo server on http://127.0.0.1:{args.port}", flush=True)
    pywsgi.WSGIServer(("127.0.0.1", args.port), app, handler_class=WebSocketHandler, log=None).serve_forever()


if __name__ == "__main__":
    main()
