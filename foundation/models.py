"""Import every foundation model module so its part of the mapper registry is complete."""

from __future__ import annotations

from foundation import accounts, audit, calendar, institutions, jobs, login_sessions, occupations, settings  # noqa: F401
from foundation.db import Base

__all__ = ["Base"]
