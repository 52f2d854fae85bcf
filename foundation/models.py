"""Import every foundation model module so its part of the mapper registry is complete."""

from __future__ import annotations

from foundation import (  # noqa: F401
    accounts,
    audit,
    calendar,
    institutions,
    jobs,
    login_sessions,
    occupations,
    people,
    photos,
    settings,
)
from foundation.db import Base

__all__ = ["Base"]
