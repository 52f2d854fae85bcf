"""Web layer: the app factory, extensions, auth, one blueprint per area, sockets and CLI."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from web.config import DefaultConfig, database_url


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application. Layers: defaults, instance/config.py, FLASK_* environment,
    then ``config``. Never creates tables, migrates, calls the network or prompts."""
    app = Flask(__name__, instance_relative_config=True)
    init_routing(app)
    init_config(app, config)
    init_database(app)
    init_security(app)
    init_auth(app)
    init_blueprints(app)
    init_templates(app)
    init_errors(app)
    init_sockets(app)
    init_cli(app)
    return app


def init_routing(app: Flask) -> None:
    """``<int:...>`` in every route refuses ids no table can hold (404), see ``web.params``."""
    from web.params import IdConverter

    app.url_map.converters["int"] = IdConverter


def init_config(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    app.config.from_object(DefaultConfig)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env()
    if overrides:
        app.config.update(overrides)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(
        app.instance_path,
        (overrides or {}).get("SQLALCHEMY_DATABASE_URI"),
        app.config.get("SQLALCHEMY_DATABASE_URI"),
    )
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError(
            "SECRET_KEY is not set: run `make run` once (it writes instance/config.py) "
            "or set FLASK_SECRET_KEY."
        )


def init_database(app: Flask) -> None:
    import web.models  # noqa: F401  (complete the mapper registry)
    from web.extensions import db, migrate

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), os.pardir, "migrations"))


def configure_engine(engine: Any) -> None:
    """SQLite: let SQLAlchemy, not the pysqlite driver, emit BEGIN, so that SAVEPOINTs and
    transactional DDL work (the SQLAlchemy docs' pysqlite recipe), wait on locks instead of
    failing at once, and enforce foreign keys.

    Write-ahead logging: readers never block the writer. Under gevent this is essential, not a
    tuning: SQLite's busy wait sleeps in C and freezes the whole hub, so a greenlet holding a
    read transaction across a network yield (a console push) would deadlock every writer until
    the busy timeout (measured; docs/benchmarks.md). ``synchronous=NORMAL`` is the documented
    WAL setting: a commit survives a crash or kill -9 of the server; only a power cut may lose
    the last commits (use PostgreSQL in production)."""
    if engine.dialect.name != "sqlite":
        return
    from sqlalchemy import event

    from foundation.db import SQLITE_BEGIN_IMMEDIATE

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 10000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # BEGIN IMMEDIATE on request (foundation.db.immediate_transactions): waits for the
        # write lock up front instead of failing when a read transaction later writes.
        immediate = conn.get_execution_options().get(SQLITE_BEGIN_IMMEDIATE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def init_security(app: Flask) -> None:
    from web.extensions import csrf, limiter
    from web.inputs import install_input_guard
    from web.security import install_security_headers, keep_retry_after
    from web.uploads import install_upload_limits

    # Behind the https proxy every request comes from the proxy's address: trust that many
    # X-Forwarded-For hops so login throttling (web/auth/throttle.py) sees the client's.
    hops = int(app.config.get("PROXY_FIX_X_FOR", 0))
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    install_upload_limits(app)  # before the CSRF check, the first to read a request's body
    keep_retry_after(app)  # before the limiter: after-request hooks run in reverse order
    limiter.init_app(app)
    csrf.init_app(app)
    install_input_guard(app)
    install_security_headers(app)


def init_auth(app: Flask) -> None:
    from web.auth import init_login
    from web.sessions import ConnectionSessionInterface

    app.session_interface = ConnectionSessionInterface()
    init_login(app)


def init_blueprints(app: Flask) -> None:
    from web.blueprints import BLUEPRINTS

    for bp in BLUEPRINTS:
        app.register_blueprint(bp)


def init_templates(app: Flask) -> None:
    from web.templating import install_template_helpers

    install_template_helpers(app)


def init_errors(app: Flask) -> None:
    from web.errors import install_error_handlers

    install_error_handlers(app)


def init_sockets(app: Flask) -> None:
    from web.extensions import socketio
    from web.sockets import register_namespaces, wirejson

    socketio.init_app(
        app,
        json=wirejson,
        async_mode=app.config["SOCKETIO_ASYNC_MODE"],
        message_queue=app.config.get("SOCKETIO_MESSAGE_QUEUE") or None,
        channel=app.config["SOCKETIO_CHANNEL"],
        max_http_buffer_size=app.config["SOCKETIO_MAX_HTTP_BUFFER_SIZE"],
        manage_session=False,
    )
    register_namespaces(socketio)
    # Flask pushes a request context for every Socket.IO event and matches its path against
    # the URL map. /socket.io/ matched no rule, so every event raised a NotFound that stayed
    # in a reference cycle with its traceback until the collector found it (thousands a
    # second, counted in a live bench-exam run). This rule only makes the match succeed: the
    # Socket.IO middleware answers every /socket.io/ request before Flask routes it.
    from web.access import public

    app.add_url_rule("/socket.io/", endpoint="socketio_transport", view_func=public(_socketio_transport),
                     methods=["GET", "POST"], strict_slashes=False)


def _socketio_transport() -> Any:
    """Never reached (see init_sockets); refuses anyway. Public: it shows nothing."""
    from flask import abort

    abort(404)


def init_cli(app: Flask) -> None:
    from web.cli import register_commands

    register_commands(app)
