"""WSGI entry point for gunicorn: ``gunicorn -k gevent -w 1 'web.wsgi:app'``."""

from __future__ import annotations

from web import create_app

app = create_app()
