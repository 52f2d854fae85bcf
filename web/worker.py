"""The job worker: ``python -m web.worker`` runs background jobs (:mod:`foundation.jobs`) in a
process of its own, so imports, exports and calibration never take CPU from the processes
that serve pages and exam sockets.

It creates the app (configuration, database, the registered job kinds), then claims queued
jobs from the ``job`` table one at a time and runs them; when the queue is empty it polls every
``JOBS_POLL_SECONDS`` (0.5 s). Several workers may run side by side on PostgreSQL (each claim
is ``FOR UPDATE SKIP LOCKED``); on SQLite run one.

``web.serve`` starts one as a subprocess (the embedded worker; ``JOBS_EMBEDDED=0`` turns that
off when workers run as their own service). ``--parent PID``: exit when that process is gone,
so an embedded worker never outlives its server; it also fails the jobs left running by a
previous worker on this host (``--recover``). ``--once``: run what is queued, then exit.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from typing import Any


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run background jobs (后台任务).")
    parser.add_argument("--parent", type=int, default=None, help="exit when this process is gone")
    parser.add_argument("--once", action="store_true", help="run the queued jobs, then exit")
    parser.add_argument("--recover", action="store_true",
                        help="first fail the jobs left running by workers no longer alive (one host)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s",
                        stream=sys.stderr)

    from sqlalchemy.orm import sessionmaker

    from foundation import jobs
    from web import create_app
    from web.extensions import db
    from web.jobs import jobs_dir

    app = create_app()
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    poll = float(app.config.get("JOBS_POLL_SECONDS", 0.5))
    with app.app_context():
        factory = sessionmaker(bind=db.engine, expire_on_commit=False)
        files = jobs_dir(app.config, app.instance_path)
        if args.recover:
            with factory() as session:
                count = jobs.recover_orphans(session, _alive)
            if count:
                logging.warning("%d interrupted job(s) marked failed", count)
        logging.info("job worker %d started", os.getpid())
        while not stopping:
            if args.parent is not None and not _alive(args.parent):
                break
            try:
                ran = jobs.run_next(factory, files)
            except Exception:  # the database is away or busy: try again shortly
                logging.exception("claiming a job failed")
                ran = None
            if ran is None:
                if args.once:
                    break
                time.sleep(poll)
    return 0


if __name__ == "__main__":
    sys.exit(main())
