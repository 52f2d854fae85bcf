"""WSGI entry point for gunicorn: ``gunicorn -k gevent -w 1 'web.wsgi:app'``."""

from __future__ import annotations

from web import create_app
from web.gctune import tune_gc
from web.sockets import liveness, timeup

app = create_app()
timeup.start(app)  # the time-up job runs in every serving process
liveness.start(app)  # so does the heartbeat that tells a crashed process's candidates offline
tune_gc()
