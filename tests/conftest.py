"""Shared fixtures: one schema per test session, one SAVEPOINT per test (rolled back).

Set DATABASE_URL to run the whole suite on PostgreSQL; the default is a SQLite file. Under
pytest-xdist (``-n 2``) each worker has its own database and files (tests/dbutil.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import Connection, inspect
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from examroom import formcache
from foundation import settings
from foundation.db import Base
from tests import slowlist
from tests.dbutil import WORKER, suite_database
from web import create_app
from web.extensions import db

TEST_CONFIG: dict[str, Any] = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    "SOCKETIO_ASYNC_MODE": "threading",
    "EXAM_PUSH_INLINE": True,
    "JOBS_INLINE": True,  # background jobs run in the request (the worker is tested on its own)
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/e2e is a browser or live-server journey: marked ``e2e`` whether
    or not its module says so, so that ``-m "not e2e"`` leaves out all of them. Tests listed in
    tests/slow_tests.txt (measured, :mod:`tests.slowlist`) are marked ``slow``.

    Under pytest-xdist, tests that share one id (schemathesis's) must be marked ``serial``:
    the workers would run only one of them.

    In a module with a shared world (``module_session``), the tests that do not use it run
    first, in their usual order, so that none of them ever sees that world's rows."""
    e2e = Path(__file__).parent / "e2e"
    measured_slow = slowlist.listed()
    for item in items:
        if e2e in item.path.parents:
            item.add_marker(pytest.mark.e2e)
        if item.nodeid in measured_slow:
            item.add_marker(pytest.mark.slow)
    if WORKER is not None:
        ids = Counter(item.nodeid for item in items if item.get_closest_marker("serial") is None)
        if repeated := [nodeid for nodeid, n in ids.items() if n > 1]:
            raise pytest.UsageError(f"tests sharing one id (pytest-xdist runs one): mark them serial: {repeated}")
    modules: dict[Path, int] = {}
    for item in items:
        modules.setdefault(item.path, len(modules))
    items.sort(key=lambda item: (modules[item.path], "module_session" in getattr(item, "fixturenames", ())))


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    uri = suite_database(tmp_path_factory.mktemp("db"))
    # Photos, the certificate key, job files and attachments: never instance/ (each xdist
    # worker has its own temporary directory, so workers never share a file).
    files = tmp_path_factory.mktemp("files")
    application = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": uri, "PHOTO_DIR": str(files / "photos"),
                              "CERTIFICATE_KEY_DIR": str(files / "keys"), "JOBS_DIR": str(files / "jobs"),
                              "ATTACHMENTS_DIR": str(files / "attachments")})
    with application.app_context():
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def app_like(app: Flask) -> Iterator[Callable[..., Flask]]:
    """``app_like(**config)``: another app on the suite's database and files with ``config``
    on top (rate limiting on, a stricter limit...), its limiter counts reset. After the test the
    shared limiter's ``enabled`` is restored and every such app's engine disposed: a pool left to
    the garbage collector closes its PostgreSQL connections in ``__del__``, which warns inside
    whichever later test happens to collect it (and the suite treats warnings as errors)."""
    from web.extensions import limiter

    was_enabled = limiter.enabled
    made: list[Flask] = []

    def make(**config: Any) -> Flask:
        keep = {k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "PHOTO_DIR", "CERTIFICATE_KEY_DIR",
                                            "JOBS_DIR", "ATTACHMENTS_DIR")}
        other = create_app({**TEST_CONFIG, **keep, **config})
        made.append(other)
        with other.app_context():
            limiter.reset()
        return other

    yield make
    limiter.enabled = was_enabled
    for other in made:
        with other.app_context():
            db.engine.dispose()


@dataclass
class _Shared:
    connection: Connection
    factory: sessionmaker[Session]
    session: Session


_shared: _Shared | None = None  # the module session while a module's shared world is alive


@pytest.fixture(scope="module")
def module_session(app: Flask) -> Iterator[Session]:
    """A session for a module's shared world, on a connection of the module's own inside an
    outer transaction that is rolled back after the module's last test.

    A module whose tests read the same costly world builds it once, in a module-scoped fixture
    that takes this session. Each test of such a module then gets this same session as
    ``session`` (the world's objects are the test's own), inside a SAVEPOINT rolled back after
    the test: every test starts from the world as built, whatever the one before it did.
    (So does every later test of the module that does not ask for the world: on SQLite a
    second connection could not write while this one holds the world's rows.)"""
    global _shared
    with app.app_context():
        connection = db.engine.connect()
    outer = connection.begin()
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    original = db.session
    db.session = scoped_session(factory, scopefunc=_app_ctx_id)
    shared = factory()
    _shared = _Shared(connection, factory, shared)
    try:
        yield shared
    finally:
        _shared = None
        shared.close()
        db.session = original
        outer.rollback()
        connection.close()
        formcache.clear()
        settings.clear_cache()


def _in_savepoint(shared: _Shared) -> Iterator[Session]:
    """One test on a module's shared world: the world made so far is kept (its session's own
    SAVEPOINT released), the test runs in a SAVEPOINT of its own, and afterwards the database,
    the session's identity map and every world object's attributes are as before the test."""
    session = shared.session
    session.commit()  # release the savepoint the module's fixtures wrote in: the world stays
    world = dict(session.identity_map.items())
    test = shared.connection.begin_nested()
    original = db.session
    db.session = scoped_session(shared.factory, scopefunc=_app_ctx_id)
    try:
        yield session
    finally:
        session.rollback()  # the session's own savepoint, if the test left one open
        db.session = original
        if test.is_active:
            test.rollback()
        for key, obj in list(session.identity_map.items()):
            if key not in world:
                session.expunge(obj)  # rows the test made are gone: so are their objects
        for obj in world.values():
            if inspect(obj).detached:
                session.add(obj)  # a world row the test deleted (and committed) is back
        session.expire_all()  # and what it changed in the world's rows is read again
        formcache.clear()
        settings.clear_cache()


@pytest.fixture
def session(app: Flask, request: pytest.FixtureRequest) -> Iterator[Session]:  # noqa: PT022
    """The test's own session inside an outer transaction that is rolled back at the end.

    Requests and CLI commands get their own sessions (as in production) on the same
    connection, each in a SAVEPOINT: what the test flushes is visible to them, and a view's
    rollback undoes only that view's work. In a module with a shared world (one of its
    fixtures takes ``module_session``), the module's session in a SAVEPOINT of its own."""
    if "module_session" in request.fixturenames:
        request.getfixturevalue("module_session")
    if _shared is not None:
        yield from _in_savepoint(_shared)
        return
    with app.app_context():
        connection = db.engine.connect()
    outer = connection.begin()
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    original = db.session
    db.session = scoped_session(factory, scopefunc=_app_ctx_id)
    test_session = factory()
    try:
        yield test_session
    finally:
        test_session.close()
        db.session = original
        outer.rollback()
        connection.close()
        formcache.clear()  # the rollback frees ids that the next test's forms reuse (SQLite)
        settings.clear_cache()  # and undoes rules the test set


@pytest.fixture
def client(app: Flask, session: Session) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask, session: Session) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def login(client: FlaskClient) -> Any:
    """``login(user)`` logs the test client in as ``user`` (staff or candidate; a candidate
    with the ticket of their latest batch registration, or ``ticket`` if given)."""
    from tests.factories import PASSWORD, ticket_no

    def _login(user: Any, ticket: str | None = None) -> FlaskClient:
        client.post("/logout")
        if user.role == "candidate":
            resp = client.post("/login/candidate", data={"ticket_no": ticket or ticket_no(user),
                                                         "id_number": user.id_number})
        else:
            resp = client.post("/login", data={"username": user.username, "password": PASSWORD})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return client

    return _login
