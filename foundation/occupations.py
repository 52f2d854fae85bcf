"""Occupation catalogue (职业目录): 2015 classification codes, 工种 and level ranges.

Access-type occupations (准入类职业资格) are catalogued but flagged: the platform refuses to
evaluate them.
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from foundation.db import Base
from foundation.levels import level_range_name

OCCUPATION_CODE_PATTERN = r"[1-8]-\d{2}-\d{2}-\d{2}"


class Occupation(Base):
    """An occupation of 《职业分类大典(2015年版)》, e.g. 电工 6-31-01-03."""

    __tablename__ = "occupation"
    __table_args__ = (
        CheckConstraint("lowest_level BETWEEN 1 AND 5", name="lowest_level_range"),
        CheckConstraint("highest_level BETWEEN 1 AND 5", name="highest_level_range"),
        CheckConstraint("highest_level <= lowest_level", name="level_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    # Levels are numbered downward: 5 (五级/初级工) is the lowest, 1 (一级/高级技师) the highest.
    lowest_level: Mapped[int] = mapped_column(default=5)
    highest_level: Mapped[int] = mapped_column(default=1)
    is_access_type: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str | None] = mapped_column(Text)

    work_types: Mapped[list[WorkType]] = relationship(
        back_populates="occupation", cascade="all, delete-orphan", order_by="WorkType.id"
    )

    @property
    def levels(self) -> list[int]:
        return list(range(self.lowest_level, self.highest_level - 1, -1))

    @property
    def level_range_label(self) -> str:
        return level_range_name(self.lowest_level, self.highest_level)

    def __repr__(self) -> str:
        return f"<Occupation {self.code} {self.name}>"


class WorkType(Base):
    """A 工种 under an occupation, e.g. 数控车工 under 车工."""

    __tablename__ = "work_type"
    __table_args__ = (UniqueConstraint("occupation_id", "name", name="occupation_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occupation_id: Mapped[int] = mapped_column(ForeignKey("occupation.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))

    occupation: Mapped[Occupation] = relationship(back_populates="work_types")
