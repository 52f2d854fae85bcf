"""Shared fixtures: one schema per test session, one SAVEPOINT per test (rolled back).

Set DATABASE_URL to run the whole suite on PostgreSQL; the default is a SQLite file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from examroom import formcache
from foundation import settings
from foundation.db import Base
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


def database_uri(tmp_dir: Path) -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_dir / 'test.db'}"


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    uri = database_uri(tmp_path_factory.mktemp("db"))
    files = tmp_path_factory.mktemp("files")  # photos and the certificate key: never instance/
    application = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": uri, "PHOTO_DIR": str(files / "photos"),
                              "CERTIFICATE_KEY_DIR": str(files / "keys")})
    with application.app_context():
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """The test's own session inside an outer transaction that is rolled back at the end.

    Requests and CLI commands get their own sessions (as in production) on the same
    connection, each in a SAVEPOINT: what the test flushes is visible to them, and a view's
    rollback undoes only that view's work."""
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
