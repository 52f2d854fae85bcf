"""Working-day calendar (工作日历): weekends and official holidays are off, make-up working
days (调休) count as working days. The calendar is data the centre edits.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from foundation.db import Base


class CalendarDay(Base):
    """A date that differs from the weekday/weekend default: a holiday or a make-up workday."""

    __tablename__ = "calendar_day"
    __table_args__ = (CheckConstraint("kind IN ('holiday', 'workday')", name="kind_known"),)

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64), default="")
