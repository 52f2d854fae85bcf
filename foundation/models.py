"""Import every model module so the mapper registry and metadata are complete."""

from __future__ import annotations

from foundation import accounts, audit, calendar, institutions, occupations, settings  # noqa: F401
from foundation.db import Base

__all__ = ["Base"]
