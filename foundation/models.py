"""Import every foundation model module so its part of the mapper registry is complete."""

from __future__ import annotations

from foundation import accounts, audit, calendar, institutions, login_sessions, occupations, people, settings  # noqa: F401
from foundation.db import Base

__all__ = ["Base"]
