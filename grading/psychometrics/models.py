"""Grading models for psychometrics (题目分析): response sets, calibration runs and the
history of item parameters with their fit statistics and review flags.

Response matrices are stored whole, compressed (``numpy.savez_compressed``), because they are
read and written as arrays, never queried cell by cell.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import numpy as np
from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from foundation.accounts import User
from foundation.db import Base, utcnow
from foundation.names import name_info
from itembank.models import Blueprint, Item


def pack_arrays(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    named: dict[str, Any] = dict(arrays)  # (typed as Any: numpy types **kwargs like its own flags)
    np.savez_compressed(buffer, **named)
    return buffer.getvalue()


def unpack_arrays(blob: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


class ResponseSet(Base):
    """作答数据: scored responses (examinees × items, NaN = not presented) for one blueprint,
    optionally with the chosen options and examinee group attributes (for DIF)."""

    __tablename__ = "response_set"
    __table_args__ = (CheckConstraint("source IN ('import', 'batch', 'simulation')", name="source_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), info=name_info("作答数据名称"))
    source: Mapped[str] = mapped_column(String(16), default="import")
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("blueprint.id"), index=True)
    n_examinees: Mapped[int] = mapped_column(Integer)
    n_items: Mapped[int] = mapped_column(Integer)
    item_ids_json: Mapped[str] = mapped_column(Text)  # column order of the matrix
    group_names_json: Mapped[str] = mapped_column(Text, default="[]")  # e.g. ["性别", "年龄段", "地区", "机构"]
    # npz: scores (float32), choices (int8, -1 none), groups (str). Deferred: loaded only when
    # the arrays are read (a run's pages and stored reports never need the megabytes).
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    blueprint: Mapped[Blueprint] = relationship()
    created_by: Mapped[User] = relationship()

    @property
    def item_ids(self) -> list[int]:
        return json.loads(self.item_ids_json)  # type: ignore[no-any-return]

    @property
    def group_names(self) -> list[str]:
        return json.loads(self.group_names_json)  # type: ignore[no-any-return]

    def arrays(self) -> dict[str, np.ndarray]:
        return unpack_arrays(self.data)

    @property
    def is_simulated(self) -> bool:
        """Simulated responses (not real examinees): calibrating them changes no item."""
        return self.source == "simulation"


class CalibrationRun(Base):
    """One calibration (参数标定) of a response set: fit, link to the bank scale, flag."""

    __tablename__ = "calibration_run"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status_known"),
        CheckConstraint("model IN ('rasch', '1pl', '2pl', '3pl')", name="model_known"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_set_id: Mapped[int] = mapped_column(ForeignKey("response_set.id"), index=True)
    model: Mapped[str] = mapped_column(String(8), default="2pl")
    linking_method: Mapped[str] = mapped_column(String(16), default="stocking_lord")
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[str] = mapped_column(String(64), default="等待开始")
    message: Mapped[str] = mapped_column(Text, default="")
    link_a: Mapped[float | None] = mapped_column(Float)  # θ* = A θ + B
    link_b: Mapped[float | None] = mapped_column(Float)
    loglik: Mapped[float | None] = mapped_column(Float)
    n_cycles: Mapped[int | None] = mapped_column(Integer)
    converged: Mapped[bool | None] = mapped_column(Boolean)
    report_json: Mapped[str] = mapped_column(Text, default="{}")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]

    response_set: Mapped[ResponseSet] = relationship()
    created_by: Mapped[User] = relationship()
    parameters: Mapped[list[ItemParameter]] = relationship(back_populates="run", order_by="ItemParameter.id")

    @property
    def report(self) -> dict[str, Any]:
        return json.loads(self.report_json)  # type: ignore[no-any-return]

    @property
    def is_sandbox(self) -> bool:
        """A run of a simulated response set: results kept on the run, no item changed."""
        return self.response_set.is_simulated


class ItemParameter(Base):
    """An item's parameters from one run, on the bank scale, with its statistics and flags.
    The newest row per item with ``is_current`` is what the bank uses (also copied to Item)."""

    __tablename__ = "item_parameter"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("calibration_run.id", ondelete="CASCADE"), index=True)
    a: Mapped[float] = mapped_column(Float)
    b: Mapped[float] = mapped_column(Float)
    c: Mapped[float | None] = mapped_column(Float)
    se_a: Mapped[float | None] = mapped_column(Float)
    se_b: Mapped[float | None] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer)  # examinees who saw the item
    p_value: Mapped[float | None] = mapped_column(Float)  # CTT difficulty
    point_biserial: Mapped[float | None] = mapped_column(Float)  # corrected
    sx2: Mapped[float | None] = mapped_column(Float)
    sx2_df: Mapped[int | None] = mapped_column(Integer)
    sx2_p_adjusted: Mapped[float | None] = mapped_column(Float)
    drift_b: Mapped[float | None] = mapped_column(Float)  # against the previous current parameters
    flags_json: Mapped[str] = mapped_column(Text, default="[]")
    is_current: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    item: Mapped[Item] = relationship()
    run: Mapped[CalibrationRun] = relationship(back_populates="parameters")

    @property
    def flags(self) -> list[str]:
        return json.loads(self.flags_json)  # type: ignore[no-any-return]


class ItemReportStats(Base):
    """The part of one item's report in one run that is read off the response matrix (CTT
    statistics, observed ICC, distractor table), computed once and served from here
    (:mod:`grading.psychometrics.report_store`). ``payload`` is JSON; ``format_version`` and
    ``options_basis`` (the item's option labels and key it was computed with) say when it is
    stale and must be recomputed."""

    __tablename__ = "item_report_stats"
    __table_args__ = (UniqueConstraint("run_id", "item_id", name="uq_item_report_stats_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("calibration_run.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    format_version: Mapped[int] = mapped_column(Integer)
    options_basis: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
