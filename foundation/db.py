"""The one declarative base every model in every core derives from."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


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
