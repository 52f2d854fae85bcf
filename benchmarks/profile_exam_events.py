"""Where a candidate event's server time goes: the app's own cost per ``answer`` (and per
``state``), in process, without the network.

``python -m benchmarks.profile_exam_events [--db URL] [--answers 600] [--profile [answer|start]]``

A fresh database like ``make run``'s plus a 60-candidate sitting (the bench-exam seeding);
each candidate connects through Flask-SocketIO's test client (same handlers, same services,
same database work as the live server), then answers are sent round-robin and timed. The
console update is coalesced as in production (the event only marks its seat); the cost of one
coalesced flush of 30 dirty seats is timed separately. ``--profile`` prints the top functions by cumulative
time. Used to compare versions of the event path in one session (see docs/benchmarks.md).
"""

# ruff: noqa: S603  (runs this project's own commands)
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_exam import ROOT, fresh_db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--answers", type=int, default=600)
    parser.add_argument("--candidates", type=int, default=60)
    parser.add_argument("--profile", nargs="?", const="answer", choices=["answer", "start", "open"],
                        help="print the top functions of the answers (default), the starts or the rooms' 开考")
    parser.add_argument("--sql", action="store_true", help="print the SQL of one answer and one state")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="profile-exam-"))
    url = fresh_db(args.db, tmp)
    env = {"DATABASE_URL": url, "FLASK_SECRET_KEY": "profile", "PATH": "/usr/bin:/bin"}
    import os

    env = {**os.environ, **env}
    for cmd in (["db", "upgrade"], ["seed", "reference"], ["seed", "demo"]):
        subprocess.run([sys.executable, "-m", "flask", "--app", "web", *cmd], cwd=ROOT, env=env, check=True,
                       capture_output=True)
    seats_file = tmp / "seats.json"
    subprocess.run([sys.executable, "-c", f"from benchmarks.bench_exam import role_seed; "
                    f"role_seed({args.candidates}, 30, 120, {str(seats_file)!r})"], cwd=ROOT, env=env, check=True)
    os.environ["DATABASE_URL"] = url

    from examroom.models import BatchStaff
    from web import create_app
    from web.extensions import db, socketio

    app = create_app({"SOCKETIO_ASYNC_MODE": "threading", "SECRET_KEY": "profile", "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False, "EXAM_PUSH_INLINE": False,
                      "EXAM_SEAT_PUSH_INTERVAL": 10**6})  # flushed by hand below
    seats = json.loads(seats_file.read_text())
    from sqlalchemy import select

    # Each room's proctor opens it (开考) over the console's socket, as in the product.
    from foundation.demo import DEMO_PASSWORD

    open_times = []
    open_profiler = cProfile.Profile() if args.profile == "open" else None
    for room_id in sorted({r for *_, r in seats}):
        with app.app_context():
            staff = db.session.scalar(select(BatchStaff).where(BatchStaff.room_id == room_id).limit(1))
            username = staff.user.username
        http = app.test_client()
        resp = http.post("/login", data={"username": username, "password": DEMO_PASSWORD})
        assert resp.status_code in (200, 302), resp.status_code
        console = socketio.test_client(app, namespace="/proctor", flask_test_client=http)
        if open_profiler:
            open_profiler.enable()
        t = time.perf_counter()
        ack = console.emit("open", {"room_id": room_id}, namespace="/proctor", callback=True)
        open_times.append(time.perf_counter() - t)
        if open_profiler:
            open_profiler.disable()
        assert ack["ok"], ack
        console.disconnect(namespace="/proctor")

    start_sql: list[str] = []

    def on_start_sql(*a: object) -> None:
        start_sql.append(" ".join(str(a[2]).split())[:160])

    clients = []
    connect_times, start_times = [], []
    start_acks: list[dict] = []
    start_profiler = cProfile.Profile() if args.profile == "start" else None
    for ticket, id_number, attempt_id, _room in seats:
        http = app.test_client()
        resp = http.post("/login/candidate", data={"ticket_no": ticket, "id_number": id_number})
        assert resp.status_code in (200, 302), resp.status_code
        t = time.perf_counter()
        sock = socketio.test_client(app, namespace="/exam", flask_test_client=http,
                                    auth={"attempt_id": attempt_id, "device_id": f"profile-{attempt_id}"})
        connect_times.append(time.perf_counter() - t)
        assert sock.is_connected("/exam")
        if start_profiler:
            start_profiler.enable()
        if args.sql and not clients:
            from sqlalchemy import event

            with app.app_context():
                engine = db.engine
            event.listen(engine, "before_cursor_execute", on_start_sql)
        t = time.perf_counter()
        ack = sock.emit("start", {"attempt_id": attempt_id}, namespace="/exam", callback=True)
        start_times.append(time.perf_counter() - t)
        if args.sql and not clients:
            event.remove(engine, "before_cursor_execute", on_start_sql)
            print(f"{len(start_sql)} statements for the first start:")
            for line in start_sql:
                print("  ", line)
        if start_profiler:
            start_profiler.disable()
        assert ack["ok"], ack
        start_acks.append(ack)
        clients.append((sock, attempt_id, ack["state"]["item_count"]))

    seqs = {aid: 0 for _, aid, _ in clients}

    def one(k: int) -> float:
        sock, aid, n_items = clients[k % len(clients)]
        seqs[aid] += 1
        payload = {"attempt_id": aid, "position": 1 + seqs[aid] % n_items, "seq": seqs[aid], "value": "A",
                   "client_time": dt.datetime.now(dt.UTC).isoformat()}
        t = time.perf_counter()
        ack = sock.emit("answer", payload, namespace="/exam", callback=True)
        elapsed = time.perf_counter() - t
        assert ack["ok"] or ack.get("code") == "bad_value", ack
        return elapsed

    for k in range(min(60, args.answers)):  # warm-up
        one(k)
    if args.sql:
        from sqlalchemy import event

        statements: list[str] = []
        with app.app_context():
            engine = db.engine
        listener = lambda *a: statements.append(" ".join(str(a[2]).split())[:160])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        one(10_001)
        print(f"{len(statements)} statements for one answer:")
        for line in statements:
            print("  ", line)
        statements.clear()
        clients[0][0].emit("state", {"attempt_id": clients[0][1]}, namespace="/exam", callback=True)
        event.remove(engine, "before_cursor_execute", listener)
        print(f"{len(statements)} statements for one state:")
        for line in statements:
            print("  ", line)
    profiler = cProfile.Profile() if args.profile == "answer" else None
    if profiler:
        profiler.enable()
    times = [one(k) for k in range(args.answers)]
    if profiler:
        profiler.disable()
    state_times = []
    for sock, aid, _ in clients[:30]:
        t = time.perf_counter()
        sock.emit("state", {"attempt_id": aid}, namespace="/exam", callback=True)
        state_times.append(time.perf_counter() - t)
    from web.sockets.push import seat_pusher

    flush_times = []
    for _ in range(10):
        ids = [aid for _, aid, _ in clients[:30]]
        with app.app_context():
            t = time.perf_counter()
            seat_pusher.flush(db.session, ids)
            flush_times.append(time.perf_counter() - t)
            db.session.remove()
    db_kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"{db_kind}: answer mean {statistics.mean(times) * 1e3:.2f} ms, median "
          f"{statistics.median(times) * 1e3:.2f} ms over {len(times)}; state mean "
          f"{statistics.mean(state_times) * 1e3:.2f} ms over {len(state_times)}; coalesced console flush of 30 "
          f"seats {statistics.median(flush_times) * 1e3:.2f} ms (median of 10); connect mean "
          f"{statistics.mean(connect_times) * 1e3:.2f} ms, start mean {statistics.mean(start_times) * 1e3:.2f} ms; "
          f"开考 of a room of 30 (proctor socket) mean {statistics.mean(open_times) * 1e3:.1f} ms")
    t = time.perf_counter()
    sizes = [len(json.dumps(a, separators=(",", ":"), ensure_ascii=False).encode()) for a in start_acks]
    encode = (time.perf_counter() - t) / len(start_acks)
    print(f"start ack: {statistics.mean(sizes) / 1024:.1f} KiB of JSON ({start_acks[0]['state']['item_count']} items), "
          f"encoded in {encode * 1e3:.2f} ms each")
    for prof in (profiler, start_profiler, open_profiler):
        if prof:
            pstats.Stats(prof).sort_stats("cumulative").print_stats(60)


if __name__ == "__main__":
    main()
