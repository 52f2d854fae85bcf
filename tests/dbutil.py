"""Fresh, empty databases for tests that need one of their own (migrations, live server)."""

from __future__ import annotations

import os
from pathlib import Path


def fresh_database(suffix: str, tmp: Path) -> str:
    """A new empty database: a SQLite file in ``tmp``, or, when DATABASE_URL names a
    PostgreSQL database, ``<that name>_<suffix>`` on the same server (dropped and re-created)."""
    url = os.environ.get("DATABASE_URL")
    if not url or url.startswith("sqlite"):
        return f"sqlite:///{tmp / f'{suffix}.db'}"
    import psycopg

    base, _, name = url.rpartition("/")
    new_name = f"{name}_{suffix}"
    admin = base.replace("postgresql+psycopg://", "postgresql://") + "/" + name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{new_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{new_name}"')
    return f"{base}/{new_name}"
