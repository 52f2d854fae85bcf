"""WSGI entry point for gunicorn: ``gunicorn -k gevent -w 1 'web.wsgi:app'``."""

from __future__ import annotations

from web import create_app
from web.gctune import tune_gc
from web.sockets import timeup

app = create_app()
timeup.start(app)  # the time-up job runs in every serving process
tune_gc()
