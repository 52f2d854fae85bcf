"""The one declarative base every model in every core derives from."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import CursorResult, DateTime, MetaData, Result, Table
from sqlalchemy.orm import DeclarativeBase, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


T = TypeVar("T")


class Base(DeclarativeBase):
    """Plain SQLAlchemy 2.0 base; Flask-SQLAlchemy is built on it in ``web.extensions``."""

    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={dt.datetime: DateTime(timezone=True)},
    )


def utcnow() -> dt.datetime:
    """Timezone-aware now; every stored timestamp is UTC."""
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; treat them as the UTC they were stored as."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# The largest id any table can hold: primary keys are ``Integer``, which is 32-bit signed on
# PostgreSQL (SQLite's is 64-bit). An id above it names no row; passing it to PostgreSQL
# fails with "integer out of range" instead of finding nothing, so the web layer refuses it
# first (404 in a URL, 400 in a query string or a JSON body).
MAX_ID = 2**31 - 1


# ---------------------------------------------------------------------------- busy database
#
# SQLite has one writer at a time. A transaction that began by reading and then writes is
# refused at once ("database is locked", no busy wait) when another connection holds or has
# just used the write lock: SQLite cannot upgrade a read snapshot that another writer may have
# overtaken. A transaction that takes the write lock at its start (BEGIN IMMEDIATE) waits for
# it instead, up to the busy timeout (web.configure_engine). Long jobs that run beside a live
# exam (a calibration run) therefore open every transaction with BEGIN IMMEDIATE, keep their
# transactions short, and retry a transaction that still found the database busy.

#: Connection execution option read by the SQLite ``begin`` hook (web.configure_engine):
#: true → ``BEGIN IMMEDIATE`` instead of ``BEGIN``. Ignored by other databases.
SQLITE_BEGIN_IMMEDIATE = "sqlite_begin_immediate"

_BUSY_SQLITE = ("database is locked", "database table is locked", "database is busy")
_BUSY_PGCODES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available


class DatabaseBusy(Exception):
    """A transaction found the database busy on every attempt (see :func:`retry_when_busy`)."""


def is_busy_error(exc: BaseException) -> bool:
    """True if ``exc`` (or the driver error it wraps) says the database was busy or locked:
    SQLite "database is locked", PostgreSQL deadlock / lock not available / serialization."""
    orig = getattr(exc, "orig", None) or exc
    if getattr(orig, "sqlstate", None) in _BUSY_PGCODES or getattr(orig, "pgcode", None) in _BUSY_PGCODES:
        return True
    text = str(orig).lower()
    return type(orig).__name__ == "OperationalError" and any(m in text for m in _BUSY_SQLITE)


@contextmanager
def immediate_transactions(session: Any) -> Iterator[None]:
    """Inside the block, every transaction ``session`` begins starts with ``BEGIN IMMEDIATE``
    on SQLite (takes the write lock at once, waiting the busy timeout for it). Works on a
    plain or a scoped session; the transaction already in progress, if any, is unchanged."""
    before = session.execution_options
    session.execution_options = before.union({SQLITE_BEGIN_IMMEDIATE: True})
    try:
        yield
    finally:
        session.execution_options = before


def retry_when_busy(session: Any, work: Callable[[], T], *, delays: Sequence[float],
                    sleep: Callable[[float], None] = time.sleep) -> T:
    """``work()``, again after a busy database: on :func:`is_busy_error` the session is rolled
    back (``work`` must be the whole of the transaction since the last commit), then after
    ``delays[k]`` seconds the k-th retry; ``len(delays) + 1`` attempts in all. Raises
    :class:`DatabaseBusy` when the last one also found the database busy."""
    for attempt in range(len(delays) + 1):
        try:
            return work()
        except Exception as exc:
            if not is_busy_error(exc):
                raise
            session.rollback()
            if attempt == len(delays):
                raise DatabaseBusy(str(exc)) from exc
            sleep(delays[attempt])
    raise AssertionError("unreachable")


def table_of(model: type[Base]) -> Table:
    """A mapped class's table, typed as a :class:`Table` (``Model.__table__`` is typed as any
    FromClause), for the plain INSERT / UPDATE statements of the hot paths."""
    return Base.metadata.tables[model.__tablename__]


def rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE or DELETE run through ``Session.execute``. The session returns
    the driver's :class:`CursorResult` for such a statement, but its signature promises only a
    :class:`Result`, which has no ``rowcount``."""
    assert isinstance(result, CursorResult), type(result)
    return int(result.rowcount)
