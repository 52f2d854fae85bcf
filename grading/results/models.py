"""Stored evaluation schemes (评价方案): occupation × level × method → required components and
pass marks. The service and the rules are in :mod:`grading.results.schemes`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from foundation.db import Base, utcnow
from foundation.occupations import Occupation

# The methods a scheme table row can have: grading.results.decision.Method without 竞赛选拔
# (a competition has no components to configure).
SCHEME_METHODS = ("assessment", "combined", "performance")


class EvaluationScheme(Base):
    """One scheme. ``occupation_id`` None is the default for every occupation; a row for an
    occupation overrides it for that occupation. ``components`` is the list of required
    component names (``grading.results.decision.Component``), ``pass_marks`` maps each of them
    to its pass mark out of 100 as a decimal string (``"60"``, ``"72.5"``)."""

    __tablename__ = "evaluation_scheme"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),
        CheckConstraint("method IN (" + ", ".join(f"'{m}'" for m in SCHEME_METHODS) + ")", name="method_known"),
        UniqueConstraint("occupation_id", "level", "method", name="uq_evaluation_scheme_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occupation_id: Mapped[int | None] = mapped_column(ForeignKey("occupation.id", ondelete="CASCADE"), index=True)
    level: Mapped[int]
    method: Mapped[str] = mapped_column(String(16))
    components: Mapped[list[str]] = mapped_column(JSON)
    pass_marks: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    occupation: Mapped[Occupation | None] = relationship(lazy="joined")
