"""Development and demo server: Flask-SocketIO on gevent.

``python -m web.serve`` (what ``make run`` calls). Production: see README (gunicorn -k gevent).
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the platform with Flask-SocketIO (gevent).")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    args = parser.parse_args()

    from web import create_app
    from web.extensions import socketio

    app = create_app()
    from web.sockets import timeup

    timeup.start(app)
    print(f" * 平台已启动：http://{args.host}:{args.port}", flush=True)
    socketio.run(app, host=args.host, port=args.port, log_output=False)


if __name__ == "__main__":
    main()
