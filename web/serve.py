"""Development, demo and single-host server: Flask-SocketIO on gevent.

``python -m web.serve`` (what ``make run`` calls) serves in one gevent process.
``python -m web.serve --workers N`` (or ``WORKERS=N``) starts N such processes on the same
port with ``SO_REUSEPORT``: the kernel spreads new connections over them, so a multi-core host
uses every core (one gevent process uses one). Requirements:

* PostgreSQL: SQLite serves one process only (see :func:`supervise`);
* the Socket.IO message queue (``FLASK_SOCKETIO_MESSAGE_QUEUE``, Redis), so that a push made
  in one process reaches a browser connected to another;
* no sticky sessions: the exam page and the proctor console use the websocket transport only,
  so a connection stays in the process that accepted it.

Every process runs the time-up job; they race harmlessly (see :mod:`web.sockets.timeup`). Every
process also runs the liveness heartbeat (:mod:`web.sockets.liveness`): when one dies without
closing its sockets, another (or its successor) closes them within about half a minute.

Background jobs (item imports and exports, calibration runs) never run in a serving
process: ``web.serve`` starts one job worker subprocess (``python -m web.worker``, the embedded
worker; see :mod:`web.worker`) beside the serving processes, unless ``JOBS_EMBEDDED=0`` says the
workers run as a service of their own. The worker needs no Redis: the job table is its queue.

Production behind a proxy: see README (gunicorn -k gevent).
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402


def listener(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """The listening socket; with ``reuse_port`` several processes may bind the same port."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def serve(host: str, port: int, *, reuse_port: bool, quiet: bool = False, access_log: bool = True) -> None:
    """One serving process: the app, its time-up job and a pywsgi server with websockets.
    Each request is logged on standard output (``access_log``; ``ACCESS_LOG=0`` turns it off),
    errors with their tracebacks on standard error (Flask's logger)."""
    from gevent import pywsgi
    from geventwebsocket.handler import WebSocketHandler

    from web import create_app
    from web.gctune import tune_gc
    from web.sockets import liveness, timeup

    if access_log and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)  # each request's line at once, also into a file
    app = create_app()
    timeup.start(app)
    liveness.start(app)  # registers this process before it accepts a connection
    tune_gc()  # after start-up: what exists now is frozen out of collection
    class Handler(WebSocketHandler):  # type: ignore[misc]
        """gevent-websocket logs requests only in its debug mode: log them as pywsgi does
        (upgraded websockets excepted, as there: they last the whole exam)."""

        def log_request(self) -> None:
            if "101" not in str(self.status):
                pywsgi.WSGIHandler.log_request(self)

    server = pywsgi.WSGIServer(listener(host, port, reuse_port=reuse_port), app, handler_class=Handler,
                               log=sys.stdout if access_log else None, error_log=sys.stderr)
    if not quiet:
        print(f" * 平台已启动：http://{host}:{port}", flush=True)
    server.serve_forever()


def start_job_worker() -> subprocess.Popen[bytes] | None:
    """The embedded job worker (``JOBS_EMBEDDED=0``: none), a child that exits with this process."""
    if os.environ.get("JOBS_EMBEDDED", "1") == "0":
        return None
    return subprocess.Popen(  # noqa: S603 (fixed argument list, no shell)
        [sys.executable, "-m", "web.worker", "--parent", str(os.getpid()), "--recover"],
        stdin=subprocess.DEVNULL)


def stop_job_worker(worker: subprocess.Popen[bytes] | None) -> None:
    if worker is not None and worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


def supervise(host: str, port: int, workers: int) -> int:
    """Start ``workers`` serving processes on one port and wait; a signal stops them all. If
    one exits, the others are stopped too (the caller restarts the service)."""
    from web import create_app

    config = create_app().config
    if not config.get("SOCKETIO_MESSAGE_QUEUE"):
        print("多进程运行需要 Socket.IO 消息队列：请设置 FLASK_SOCKETIO_MESSAGE_QUEUE（例如 redis://127.0.0.1:6379/0）。",
              file=sys.stderr, flush=True)
        return 2
    if str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite"):
        # In WAL mode a process whose read snapshot went stale is refused the write at once
        # (SQLITE_BUSY_SNAPSHOT) instead of waiting: answers would fail under load.
        print("多进程运行需要 PostgreSQL 数据库：SQLite 只支持单进程服务（请设置 DATABASE_URL）。",
              file=sys.stderr, flush=True)
        return 2
    cmd = [sys.executable, "-m", "web.serve", "--host", host, "--port", str(port), "--reuse-port"]
    children = [subprocess.Popen([*cmd, *(["--quiet"] if k else [])]) for k in range(workers)]  # noqa: S603
    job_worker = start_job_worker()

    def stop(*_: Any) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f" * {workers} 个服务进程共用端口 {port}（SO_REUSEPORT），推送经消息队列", flush=True)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        stop()
        stop_job_worker(job_worker)
        for child in children:
            child.wait()
    return next((c.returncode for c in children if c.returncode not in (0, -signal.SIGTERM)), 0)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the platform with Flask-SocketIO (gevent).")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "1")),
                        help="serving processes on the port (SO_REUSEPORT); more than 1 needs the message queue")
    parser.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)  # a worker of --workers
    parser.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.workers < 1:
        parser.error("--workers 至少为 1")
    if args.workers > 1 and not args.reuse_port:
        sys.exit(supervise(args.host, args.port, args.workers))
    job_worker = None if args.reuse_port else start_job_worker()  # a --workers child: the supervisor's
    try:
        serve(args.host, args.port, reuse_port=args.reuse_port, quiet=args.quiet,
              access_log=os.environ.get("ACCESS_LOG", "1") != "0")
    finally:
        stop_job_worker(job_worker)


if __name__ == "__main__":
    main()
