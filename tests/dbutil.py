"""Databases of a test run: the shared one of each pytest process, and fresh, empty ones for
tests that need one of their own (migrations, live server).

Under pytest-xdist each worker process (``PYTEST_XDIST_WORKER``: gw0, gw1…) has databases of its
own: SQLite files in the worker's own temporary directory, PostgreSQL databases named after
DATABASE_URL's with the worker id appended (``test_gw0``, ``test_e2e_gw1``).
"""

from __future__ import annotations

import os
from pathlib import Path

WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # None in a run without workers


def _on_postgres(url: str | None) -> bool:
    return bool(url) and not url.startswith("sqlite")  # type: ignore[union-attr]


def _recreate(url: str, new_name: str) -> str:
    """``url``'s server with database ``new_name``, dropped and created empty."""
    import psycopg

    base, _, name = url.rpartition("/")
    admin = base.replace("postgresql+psycopg://", "postgresql://") + "/" + name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{new_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{new_name}"')
    return f"{base}/{new_name}"


def suite_database(tmp: Path) -> str:
    """The database the session fixtures share: DATABASE_URL's (on PostgreSQL, under a worker,
    ``<that name>_<worker>``, created empty), else a SQLite file in ``tmp``."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp / 'test.db'}"
    if WORKER is None:
        return url
    if _on_postgres(url):
        return _recreate(url, f"{url.rpartition('/')[2]}_{WORKER}")
    return f"sqlite:///{tmp / f'test_{WORKER}.db'}"


def fresh_database(suffix: str, tmp: Path) -> str:
    """A new empty database: a SQLite file in ``tmp``, or, when DATABASE_URL names a
    PostgreSQL database, ``<that name>_<suffix>`` on the same server (dropped and re-created;
    ``<that name>_<suffix>_<worker>`` under a pytest-xdist worker)."""
    url = os.environ.get("DATABASE_URL")
    if not url or not _on_postgres(url):
        return f"sqlite:///{tmp / f'{suffix}.db'}"
    name = url.rpartition("/")[2]
    return _recreate(url, f"{name}_{suffix}" + (f"_{WORKER}" if WORKER else ""))
