"""Calibration runs (参数标定): fit a response set, link it to the bank scale, flag items.

:func:`start_run` queues a :class:`~grading.psychometrics.models.CalibrationRun`; :func:`execute_run` does
the work (the CLI ``flask grading run ID`` calls it, launched by the analysis pages as a
detached process so the numeric work never blocks the web server):

1. load the response matrix; drop items nobody answered or everybody answered alike
   (reported), and examinees left without responses;
2. calibrate (:func:`grading.psychometrics.irt.calibrate`, Bock–Aitkin EM); its progress callback moves
   the run's percent through the estimation phase (10 → 54 %, at most one checkpoint per
   :data:`ESTIMATION_PROGRESS_INTERVAL` seconds);
3. link to the bank scale: the **anchors** are the items that already have current
   parameters (``Item.irt_a``/``irt_b`` set, i.e. a current :class:`ItemParameter`), are not
   pretest items and have a positive slope. With at least :data:`MIN_ANCHORS` of them,
   :func:`grading.psychometrics.linking.link_to_bank` (the run's method; anchors whose linked ``b`` moves
   more than the rule's ``drift_b_max`` are dropped from the linking one at a time) gives
   ``θ* = Aθ + B``; anchors keep their bank values, every other item is transformed. With
   fewer, this run defines the scale (A = 1, B = 0) and the report says so;
4. statistics: CTT difficulty ``p`` and corrected point-biserial on all presented
   responses; S-X2 per form — a pattern of presented items that at least
   :data:`SX2_MIN_FORM` examinees share, with 3 items or more and not a few blanks short of a
   more frequent pattern (:func:`grading.psychometrics.fit.split_forms`); an examinee with
   blanks inside a form is analysed on that form, the blanks (omissions) imputed from the
   fitted model (:func:`grading.psychometrics.fit.s_x2_imputed`, :data:`SX2_IMPUTATIONS`
   completed data sets, averaged; docs/psychometrics.md "Item fit with omissions") — summed
   over forms for an item on several (independent examinees: statistics add, df = Σ groups −
   parameters), Benjamini–Hochberg across items; drift of ``b`` against the item's previous parameters
   (:func:`grading.psychometrics.drift.parameter_drift` with the run's linking constants);
5. review flags (psychometrics.md) with the thresholds of rule ``item_flags``, stored as
   Chinese sentences in ``ItemParameter.flags_json``; the item reports' figures read off the
   whole response matrix (CTT statistics, observed ICC, distractor table) of every calibrated
   item (:mod:`grading.psychometrics.report_store`), so the report pages never reopen the
   matrix;
6. write: previous current :class:`ItemParameter` rows lose ``is_current``, new rows are
   added (with the item reports' stored figures), a/b/c are copied to ``Item.irt_*``; every
   **active** item with a flag goes back to
   review (status 待审题, an :class:`~itembank.models.ItemEvent` ``flag`` by the run's creator
   whose comment lists the flags, and an audit entry); a pretest item calibrated without a
   flag in a converged run becomes operational (``is_pretest`` False, audited).
   Both status changes are made only for items the run's creator may review
   (:func:`itembank.access.can_read_item`: the centre admin every item, a reviewer the items
   of their assigned (occupation, institution) pairs). Any other item keeps its status and
   pretest mark; its parameters and flags are still recorded (the calibration is one scale
   for the whole response set), and the report lists it under ``outside_scope``, so that its
   own reviewers or the centre act on the flags.

   A **simulated** response set (source ``simulation``) is a sandbox: its run keeps its
   results on the run only — :class:`ItemParameter` rows that are never current, the flags in
   the report — and changes no item's parameters, status or pretest mark (the run page and
   message say :data:`SANDBOX_NOTE`). Simulated data must never send items in use back to
   review or move the bank's parameters.

Who sees what: a reviewer starts, lists and reads runs only of response sets whose blueprint
is in one of their assigned occupations (:func:`run_clause`, :func:`readable_run`; others are
:class:`NotFound`).

Transactions and progress
-------------------------
Services never commit. ``execute_run`` records its stage on the run (``status``,
``progress``, ``stage``) in ``session`` and then calls ``progress(percent, stage)``: that call
is a **checkpoint at which the caller commits ``session``** so other sessions (the status
page) see the progress. Every checkpoint except the last comes before any other write — the
results are written in one SAVEPOINT at the end — so committing there never exposes partial
results; the last call (100, 完成) follows the writes. The caller commits once more after
``execute_run`` returns. Committing the working session itself, rather than updating the run
from a second session, keeps the run's row free of a competing lock (PostgreSQL) and ends the
read transaction during the long computation (SQLite would otherwise refuse other writers):
no transaction is open while the numbers are computed, only the rule and the response set are
read before the first estimation checkpoint.

Beside a live exam (SQLite, one writer at a time): every transaction of the run starts with
``BEGIN IMMEDIATE`` (:func:`foundation.db.immediate_transactions`), so it waits for the write
lock (busy timeout) instead of failing when it reads and then writes; a transaction that still
finds the database busy is rolled back to the last checkpoint and retried after
:data:`BUSY_RETRY_DELAYS` (only with a ``progress`` callback, i.e. a caller that commits at the
checkpoints). When every attempt failed the run ends ``failed`` with :data:`BUSY_MESSAGE`.

Failures the run can explain — too few examinees or items, an estimation or linking problem,
a database that stayed busy — end it as ``failed`` with a Chinese message (returned, not
raised); anything else propagates and the caller rolls back, logs the traceback and calls
:func:`fail_run_after` (a readable message, never an exception's class name).

No Flask.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from foundation import audit
from foundation.accounts import User
from foundation.db import DatabaseBusy, as_utc, immediate_transactions, is_busy_error, retry_when_busy, utcnow
from foundation.errors import DomainError, NotFound, ValidationError
from foundation.roles import require_role
from foundation.settings import DEFAULT_RULES, get_rule
from grading.psychometrics import ctt, report_store
from grading.psychometrics.drift import parameter_drift
from grading.psychometrics.fit import benjamini_hochberg, normal_quadrature, s_x2_imputed, split_forms
from grading.psychometrics.irt import CalibrationResult, calibrate
from grading.psychometrics.linking import LinkingConstants, link_to_bank, transform_parameters
from grading.psychometrics.models import CalibrationRun, ItemParameter, ResponseSet
from grading.psychometrics.responses import ANALYSTS, readable_response_set, response_set_clause
from itembank import access
from itembank.models import Item, ItemEvent, ItemStatus

__all__ = [
    "BUSY_MESSAGE",
    "BUSY_RETRY_DELAYS",
    "INTERNAL_ERROR_MESSAGE",
    "LINKING_METHODS",
    "MIN_ANCHORS",
    "MODELS",
    "STALE_AFTER",
    "SANDBOX_NOTE",
    "STATUS_LABELS",
    "ProgressCallback",
    "execute_run",
    "fail_run",
    "fail_run_after",
    "get_run",
    "item_flags",
    "readable_run",
    "run_clause",
    "start_run",
]

Float = NDArray[np.float64]
ProgressCallback = Callable[[int, str], None]

MODELS: dict[str, str] = {
    "2pl": "双参数逻辑斯蒂模型（2PL）",
    "1pl": "单参数模型（1PL，共同区分度）",
    "rasch": "Rasch 模型",
    "3pl": "三参数逻辑斯蒂模型（3PL）",
}
LINKING_METHODS: dict[str, str] = {
    "stocking_lord": "Stocking–Lord 特征曲线法",
    "haebara": "Haebara 特征曲线法",
    "mean_sigma": "均值/标准差法",
    "mean_mean": "均值/均值法",
}
STATUS_LABELS: dict[str, str] = {"queued": "排队中", "running": "运行中", "done": "已完成", "failed": "失败"}

MIN_ANCHORS = 5
STALE_AFTER = dt.timedelta(hours=1)  # a queued or running run older than this no longer blocks a new one
MIN_EXAMINEES = 30
MIN_ITEMS = 3
SX2_MIN_FORM = 100
#: Completed data sets for S-X2 when a form has omissions, and the seed of the first form's
#: imputations (form k uses SX2_SEED + k), so a run is reproducible.
SX2_IMPUTATIONS = 10
SX2_SEED = 20_001
#: Progress of the estimation phase: the run's percent moves from _ESTIMATION_START to
#: _ESTIMATION_END with :func:`grading.psychometrics.irt.calibrate`'s progress, at most once per this many
#: seconds (each update is a checkpoint the caller commits).
ESTIMATION_PROGRESS_INTERVAL = 0.2
_ESTIMATION_START, _ESTIMATION_END = 10, 55
_N_PARAMETERS = {"rasch": 1, "1pl": 1, "2pl": 2, "3pl": 3}
_NUMERIC_ERRORS = (ValueError, ArithmeticError, np.linalg.LinAlgError)

#: Pauses (seconds) before retrying a transaction of a run that found the database busy; each
#: attempt itself waits up to the SQLite busy timeout (10 s) for the write lock. With a live
#: exam writing answers the lock is free again within milliseconds; only a lock held for about
#: a minute makes the run give up (:data:`BUSY_MESSAGE`).
BUSY_RETRY_DELAYS: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)
BUSY_MESSAGE = "数据库正忙（可能有考试正在进行），标定结果未能保存，请稍后重新发起标定。"
INTERNAL_ERROR_MESSAGE = "标定过程中出现内部错误，已中止（详细信息已记入服务器日志），请联系管理员。"
_sleep = time.sleep  # the pause between attempts (tests replace it)
#: What the run page and the run's message say about a simulated response set's run.
SANDBOX_NOTE = "模拟数据：结果仅供演示，不更新试题"


class _RunFailed(Exception):
    """A failure the run explains to the user (Chinese message)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------------------- start


def get_run(session: Session, run_id: int) -> CalibrationRun:
    run = session.get(CalibrationRun, run_id)
    if run is None:
        raise NotFound("标定任务不存在。")
    return run


def run_clause(actor: User) -> ColumnElement[bool] | None:
    """A WHERE clause on :class:`CalibrationRun` for the runs ``actor`` may see; None: all
    (the rule of :func:`grading.psychometrics.responses.response_set_clause`: the response set's blueprint)."""
    clause = response_set_clause(actor)
    if clause is None:
        return None
    return CalibrationRun.response_set_id.in_(select(ResponseSet.id).where(clause))


def readable_run(session: Session, actor: User, run_id: int) -> CalibrationRun:
    """The run if ``actor`` may see it (its response set's blueprint), or :class:`NotFound`."""
    run = session.get(CalibrationRun, run_id)
    if run is None:
        raise NotFound("标定任务不存在。")
    try:
        readable_response_set(session, actor, run.response_set_id)
    except NotFound:
        raise NotFound("标定任务不存在。") from None
    return run


def start_run(session: Session, actor: User, response_set_id: int, model: str = "2pl",
              linking_method: str = "stocking_lord") -> CalibrationRun:
    """Queue a calibration of a response set. CENTRE_ADMIN / ITEM_REVIEWER; audited."""
    require_role(actor, *ANALYSTS)
    if model not in MODELS:
        raise ValidationError("请选择标定模型（Rasch、1PL、2PL 或 3PL）。", field="model")
    if linking_method not in LINKING_METHODS:
        raise ValidationError("请选择链接方法。", field="linking_method")
    response_set = readable_response_set(session, actor, response_set_id)
    pending = session.scalars(select(CalibrationRun).where(
        CalibrationRun.response_set_id == response_set.id,
        CalibrationRun.status.in_(("queued", "running")),
    ).order_by(CalibrationRun.id)).all()
    now = utcnow()
    for other in pending:
        if now - as_utc(other.started_at or other.created_at) < STALE_AFTER:
            raise ValidationError(
                f"作答数据「{response_set.name}」已有排队或运行中的标定任务（#{other.id}），请等待其完成。")
    for other in pending:  # a worker that died (killed, never started) must not block the set for ever
        hours = STALE_AFTER.seconds // 3600
        _finish_failed(session, other, f"超过 {hours} 小时仍未完成，已视为失败（标定进程可能已中止）。")
    run = CalibrationRun(response_set_id=response_set.id, model=model, linking_method=linking_method,
                         status="queued", progress=0, stage="等待开始", created_by_id=actor.id)
    session.add(run)
    session.flush()
    audit.record(session, actor, "calibration.start", "calibration_run", run.id, after={
        "response_set_id": response_set.id, "model": model, "linking_method": linking_method,
    })
    return run


# ---------------------------------------------------------------------------- computation


@dataclass
class _Outcome:
    """Everything the write phase needs, computed without writing."""

    items: list[Item]  # calibrated items, matrix column order
    n_presented: NDArray[np.int64]
    a: Float
    b: Float
    c: Float | None
    se_a: Float
    se_b: Float
    p: Float
    pbis: Float
    sx2: Float
    sx2_df: NDArray[np.int64]
    sx2_p_adj: Float
    drift_b: Float  # NaN where the item had no previous parameters
    flags: list[list[str]]
    estimate: CalibrationResult
    constants: LinkingConstants
    report: dict[str, Any] = field(default_factory=dict)
    item_reports: dict[int, dict[str, Any]] = field(default_factory=dict)  # report_store entries by item id


def _rule(session: Session) -> dict[str, Any]:
    return {**DEFAULT_RULES["item_flags"], **(get_rule(session, "item_flags") or {})}


def _fmt(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def item_flags(*, p: float, pbis: float, a: float | None, sx2_p_adj: float, sx2: float, sx2_df: int,
               drift_b: float, rule: dict[str, Any]) -> list[str]:
    """The review flags of one item as Chinese sentences (psychometrics.md, rule ``item_flags``).

    ``a`` None skips the slope checks (the Rasch model fixes it). NaN values are not flagged.
    """
    flags: list[str] = []
    if math.isfinite(p):
        if p < rule["p_min"]:
            flags.append(f"通过率过低（p = {_fmt(p)}，低于 {rule['p_min']:g}），试题可能过难")
        elif p > rule["p_max"]:
            flags.append(f"通过率过高（p = {_fmt(p)}，高于 {rule['p_max']:g}），试题可能过易")
    if math.isfinite(pbis):
        if pbis < 0:
            flags.append(f"校正点二列相关为负（{_fmt(pbis)}），请核对答案")
        elif pbis < rule["pbis_min"]:
            flags.append(f"区分度偏低（校正点二列相关 {_fmt(pbis)}，低于 {rule['pbis_min']:g}）")
    if a is not None and math.isfinite(a):
        if a < 0:
            flags.append(f"区分度参数 a 为负（{_fmt(a)}），请核对答案")
        elif a < rule["a_min"]:
            flags.append(f"区分度参数 a 偏低（{_fmt(a)}，低于 {rule['a_min']:g}）")
    if math.isfinite(sx2_p_adj) and sx2_p_adj < rule["sx2_alpha"]:
        flags.append(f"项目拟合不良（S-X2 = {_fmt(sx2, 1)}，df = {sx2_df}，FDR 校正 p = {sx2_p_adj:.3g}）")
    if math.isfinite(drift_b) and abs(drift_b) > rule["drift_b_max"]:
        flags.append(f"参数漂移（难度 b 变化 {drift_b:+.2f}，超过 ±{rule['drift_b_max']:g}）")
    return flags


def _sx2_by_form(
    x: Float, est: CalibrationResult, model: str
) -> tuple[Float, NDArray[np.int64], Float, dict[str, Any]]:
    """S-X2 per form (:func:`~grading.psychometrics.fit.split_forms`), omissions imputed
    (:func:`~grading.psychometrics.fit.s_x2_imputed`), summed over forms; BH-adjusted p across items.

    Forms hold different examinees, so for an item on several forms the statistics add and
    df = Σ groups − parameters. With omissions the sum is taken per completed data set (the
    same imputation index on every form) and the statistics and p-values are averaged over the
    :data:`SX2_IMPUTATIONS` sets; without any, this is the plain statistic.
    """
    n_items = x.shape[1]
    m = _N_PARAMETERS[model]
    split = split_forms(~np.isnan(x), min_examinees=SX2_MIN_FORM)
    nodes, weights = normal_quadrature(sd=float(est.latent_sd))
    per_stat = np.zeros((1, n_items))  # one row per completed data set (one row: no omissions)
    groups = np.zeros(n_items, dtype=np.int64)
    tested = np.zeros(n_items, dtype=bool)
    omitted = 0
    for f, cols in enumerate(split.forms):
        rows = split.row_form == f
        c = est.c[cols] if model == "3pl" else None
        result = s_x2_imputed(x[np.ix_(rows, cols)], est.a[cols], est.b[cols], c, n_parameters=m, nodes=nodes,
                              weights=weights, n_imputations=SX2_IMPUTATIONS, seed=SX2_SEED + f)
        ok = np.isfinite(result.statistic)
        add = np.zeros((result.imputed_statistic.shape[0], n_items))
        add[:, cols[ok]] = result.imputed_statistic[:, ok]
        per_stat = per_stat + add
        groups[cols[ok]] += result.df[ok] + m
        tested[cols[ok]] = True
        omitted += result.n_omitted
    df = np.where(tested, groups - m, 0)
    ok = tested & (df >= 1)
    per_p = np.full(per_stat.shape, np.nan)
    per_p[:, ok] = stats.chi2.sf(per_stat[:, ok], df[ok])
    p_value = per_p.mean(axis=0)
    statistic = np.where(tested, per_stat.mean(axis=0), np.nan)
    left_out = int((split.row_form < 0).sum()) if split.forms else 0
    notes = []
    if not split.forms:
        notes.append(f"未计算 S-X2：作答人数少于 {SX2_MIN_FORM}。" if x.shape[0] < SX2_MIN_FORM else
                     f"未计算 S-X2：没有人数不少于 {SX2_MIN_FORM}、试题不少于 3 道的卷别。")
    elif split.pooled:
        notes.append(f"没有人数不少于 {SX2_MIN_FORM} 的完整作答模式可识别为卷别，全部试题按一套卷计算 S-X2，"
                     "所有空缺均按缺失作答插补。")
    elif len(split.forms) > 1:
        notes.append(f"S-X2 按 {len(split.forms)} 套卷别分别计算后合并。")
    if omitted:
        notes.append(f"卷别内有 {omitted} 处空缺（已呈现未作答），按缺失作答处理：依据拟合的模型多重插补 "
                     f"{SX2_IMPUTATIONS} 次，分别计算 S-X2 后取平均（不按空缺模式拆分考生）。")
    if left_out:
        notes.append(f"另有 {left_out} 名考生的作答试题不属于任何一套人数足够的卷别，未纳入 S-X2。")
    info = {"forms": len(split.forms), "patterns": split.n_patterns, "pooled": split.pooled,
            "omitted_cells": omitted, "imputations": SX2_IMPUTATIONS if omitted else 0,
            "left_out_examinees": left_out, "note": "".join(notes)}
    return statistic, df.astype(np.int64), benjamini_hochberg(p_value), info


@dataclass
class _Matrix:
    """The response set ready to calibrate, with plain copies of what the later steps read
    (the checkpoints commit, which expires the ORM objects)."""

    arrays: dict[str, NDArray[Any]]  # the response set's unpacked arrays
    scores: Float  # the whole matrix: every examinee and item of the set
    item_ids: list[int]  # the set's items, matrix column order
    x: Float  # calibrated items only, examinees with at least one response among them
    items: list[Item]  # calibrated items, column order of ``x``
    dropped: list[dict[str, Any]]  # items left out, with the reason
    dropped_examinees: int
    codes: list[str]
    prev_a: Float  # NaN where the item has no current parameters
    prev_b: Float
    prev_c: Float  # 0 where the item has none
    pretest: NDArray[np.bool_]
    option_inputs: dict[int, report_store.OptionInputs]  # for the stored item reports
    model: str
    linking_method: str


@dataclass
class _Linked:
    """The estimates on the bank scale and how they were put there."""

    constants: LinkingConstants
    a: Float
    b: Float
    c: Float
    se_a: Float
    se_b: Float
    anchor_report: dict[str, Any]


def _compute(session: Session, run: CalibrationRun, step: Callable[[int, str], None]) -> _Outcome:
    """The run's numbers, computed without writing; ``step(percent, stage)`` marks each stage."""
    started = time.monotonic()
    data = _load_matrix(session, run)
    rule = _rule(session)  # read now: after the next checkpoint only the checkpoints touch the database
    _require_enough_data(data)
    notes: list[str] = []
    est = _estimate(data.x, data.model, step, notes)
    step(_ESTIMATION_END, "链接到题库量尺")
    linked = _link(data, est, rule, notes)
    drift_b = _drift(data, est, linked.constants, rule)
    step(65, "经典测量指标（难度、校正点二列相关）")
    p, pbis = _classical_statistics(data.x)
    step(72, "项目拟合检验（S-X2，按卷别）")
    sx2, sx2_df, sx2_p_adj, sx2_info = _item_fit(data.x, est, data.model, notes)
    flags = [
        item_flags(p=float(p[k]), pbis=float(pbis[k]), a=_own_slope(est, linked.constants, data.model, k),
                   sx2_p_adj=float(sx2_p_adj[k]), sx2=float(sx2[k]), sx2_df=int(sx2_df[k]),
                   drift_b=float(drift_b[k]), rule=rule)
        for k in range(len(data.items))
    ]
    step(78, "题目分析报告（实测 ICC、选项分析）")
    item_reports = _item_reports(data, linked)
    report = _report(data, est, linked, sx2_info, notes, rule, started)
    return _Outcome(
        items=data.items, n_presented=(~np.isnan(data.x)).sum(axis=0).astype(np.int64),
        a=np.asarray(linked.a, dtype=float), b=np.asarray(linked.b, dtype=float),
        c=np.asarray(linked.c, dtype=float) if data.model == "3pl" else None,
        se_a=linked.se_a, se_b=linked.se_b, p=p, pbis=pbis, sx2=sx2, sx2_df=sx2_df, sx2_p_adj=sx2_p_adj,
        drift_b=drift_b, flags=flags, estimate=est, constants=linked.constants, report=report,
        item_reports=item_reports,
    )


def _load_matrix(session: Session, run: CalibrationRun) -> _Matrix:
    """Step 1: the run's response matrix without uninformative items and the examinees they
    leave without responses, and what the later steps need of the items."""
    response_set = run.response_set
    arrays = response_set.arrays()
    scores = np.asarray(arrays["scores"], dtype=float)
    item_ids = response_set.item_ids
    if scores.ndim != 2 or scores.shape[1] != len(item_ids):
        raise _RunFailed("作答数据已损坏（矩阵与试题列表不一致）。")
    by_id = {i.id: i for i in session.scalars(select(Item).where(Item.id.in_(item_ids)))}
    keep, dropped = _informative_columns(scores, item_ids, by_id)
    x = scores[:, keep]
    rows = (~np.isnan(x)).any(axis=1)
    items = [by_id[item_ids[j]] for j in keep]
    return _Matrix(
        arrays=arrays, scores=scores, item_ids=item_ids, x=x[rows], items=items, dropped=dropped,
        dropped_examinees=int((~rows).sum()),
        codes=[i.code for i in items],
        prev_a=np.array([i.irt_a if i.irt_a is not None else np.nan for i in items], dtype=float),
        prev_b=np.array([i.irt_b if i.irt_b is not None else np.nan for i in items], dtype=float),
        prev_c=np.array([i.irt_c if i.irt_c is not None else 0.0 for i in items], dtype=float),
        pretest=np.array([bool(i.is_pretest) for i in items]),
        option_inputs={i.id: report_store.option_inputs(i) for i in items},
        model=run.model, linking_method=run.linking_method,
    )


def _informative_columns(
    scores: Float, item_ids: list[int], by_id: dict[int, Item]
) -> tuple[list[int], list[dict[str, Any]]]:
    """The columns to calibrate, and the items left out with the reason: gone from the bank,
    answered by nobody, or answered alike by everybody (no information on discrimination)."""
    keep: list[int] = []
    dropped: list[dict[str, Any]] = []
    presented = ~np.isnan(scores)
    n_obs = presented.sum(axis=0)
    n_right = np.where(presented, scores, 0.0).sum(axis=0)
    for j, item_id in enumerate(item_ids):
        item = by_id.get(item_id)
        reason = None
        if item is None:
            reason = "试题已不存在"
        elif n_obs[j] == 0:
            reason = "无人作答"
        elif n_right[j] == n_obs[j]:
            reason = f"全部 {int(n_obs[j])} 人答对，无区分信息"
        elif n_right[j] == 0:
            reason = f"全部 {int(n_obs[j])} 人答错，无区分信息"
        if reason is None:
            keep.append(j)
        else:
            dropped.append({"item_id": item_id, "code": item.code if item else f"#{item_id}", "reason": reason})
    return keep, dropped


def _require_enough_data(data: _Matrix) -> None:
    """Refuse a matrix with fewer than :data:`MIN_ITEMS` items or :data:`MIN_EXAMINEES` examinees."""
    if len(data.items) < MIN_ITEMS:
        raise _RunFailed(f"可标定的试题只有 {len(data.items)} 道（至少需要 {MIN_ITEMS} 道）；被剔除的试题见报告。")
    if data.x.shape[0] < MIN_EXAMINEES:
        raise _RunFailed(f"有效作答人数只有 {data.x.shape[0]} 人，至少需要 {MIN_EXAMINEES} 人。")


def _estimate(x: Float, model: str, step: Callable[[int, str], None], notes: list[str]) -> CalibrationResult:
    """Step 2: fit the model (EM), moving the run's percent through the estimation phase;
    refuse non-finite estimates, note non-convergence."""
    estimation_stage = f"参数估计（{MODELS[model]}，EM 算法）"
    step(_ESTIMATION_START, estimation_stage)
    reached = _ESTIMATION_START

    def estimation_progress(fraction: float) -> None:
        # Percent strictly inside the estimation phase; a checkpoint only when it moves.
        nonlocal reached
        percent = _ESTIMATION_START + int(fraction * (_ESTIMATION_END - _ESTIMATION_START))
        percent = min(percent, _ESTIMATION_END - 1)
        if percent > reached:
            reached = percent
            step(percent, estimation_stage)

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")  # ConvergenceWarning and numeric noise: reported below instead
        est = calibrate(x, model=model, progress=estimation_progress,  # type: ignore[arg-type]
                        progress_interval=ESTIMATION_PROGRESS_INTERVAL)
    if not (np.isfinite(est.a).all() and np.isfinite(est.b).all()):
        raise _RunFailed("参数估计出现非有限值（可能某些试题的作答模式无法估计），请检查作答数据。")
    if not est.converged:
        notes.append(f"EM 在 {est.n_cycles} 轮后仍未达到收敛标准，结果仅供参考。")
    return est


def _had_parameters(data: _Matrix) -> NDArray[np.bool_]:
    """The items that already have current parameters."""
    return np.isfinite(data.prev_a) & np.isfinite(data.prev_b)


def _link(data: _Matrix, est: CalibrationResult, rule: dict[str, Any], notes: list[str]) -> _Linked:
    """Step 3: link to the bank scale through the anchors, or define the scale with fewer than
    :data:`MIN_ANCHORS` of them; standard errors on the resulting scale."""
    with np.errstate(invalid="ignore"):  # a non-positive slope anchors nothing
        anchor_idx = np.flatnonzero(_had_parameters(data) & ~data.pretest & (data.prev_a > 0))
    c_free = est.c if data.model == "3pl" else np.zeros(len(data.items))
    anchor_report: dict[str, Any] = {"candidates": int(anchor_idx.size), "method": data.linking_method}
    if anchor_idx.size >= MIN_ANCHORS:
        linked = link_to_bank(est.a, est.b, anchor_idx, data.prev_a[anchor_idx], data.prev_b[anchor_idx],
                              new_c=c_free, bank_c=data.prev_c[anchor_idx],
                              method=data.linking_method,  # type: ignore[arg-type]
                              drift_threshold=float(rule["drift_b_max"]))
        constants = linked.constants
        if not (math.isfinite(constants.A) and math.isfinite(constants.B) and constants.A > 0):
            raise _RunFailed("链接失败：锚题的参数无法确定有效的量尺转换常数，请检查锚题。")
        moved = linked.parameters
        used = linked.anchors_used
        anchor_report.update({
            "linked": True,
            "used": [data.codes[k] for k in np.flatnonzero(used)],
            "dropped_for_drift": [data.codes[k] for k in anchor_idx if not used[k]],
            "optimiser_converged": bool(constants.converged),
            "note": f"以 {int(used.sum())} 道锚题（已有题库参数的试题）将本次标定链接到题库量尺，"
                    f"方法：{LINKING_METHODS[data.linking_method]}。",
        })
        if not constants.converged:
            notes.append("链接常数的优化未完全收敛，请核对锚题。")
    else:
        constants = LinkingConstants.identity()
        moved = transform_parameters(constants, est.a, est.b, c_free)
        anchor_report.update({
            "linked": False, "used": [], "dropped_for_drift": [],
            "note": f"已有题库参数的锚题只有 {int(anchor_idx.size)} 道（少于 {MIN_ANCHORS} 道），"
                    f"本次标定定义题库量尺（A = 1，B = 0）。",
        })
    scale = abs(constants.A)
    return _Linked(constants=constants, a=moved.a, b=moved.b, c=moved.c,
                   se_a=np.asarray(est.se_a, dtype=float) / scale, se_b=np.asarray(est.se_b, dtype=float) * scale,
                   anchor_report=anchor_report)


def _drift(data: _Matrix, est: CalibrationResult, constants: LinkingConstants, rule: dict[str, Any]) -> Float:
    """Step 4a: drift of ``b`` against the previous parameters (anchors and any other item that
    had them); NaN for the others."""
    had = _had_parameters(data)
    drift_b = np.full(len(data.items), np.nan)
    if had.any():
        drift = parameter_drift(data.prev_a[had], data.prev_b[had], est.a[had], est.b[had], constants=constants,
                                threshold_b=float(rule["drift_b_max"]))
        drift_b[had] = drift.delta_b
    return drift_b


def _classical_statistics(x: Float) -> tuple[Float, Float]:
    """Step 4b: CTT difficulty ``p`` and corrected point-biserial on all presented responses."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return ctt.difficulty(x), ctt.corrected_point_biserial(x)


def _item_fit(
    x: Float, est: CalibrationResult, model: str, notes: list[str]
) -> tuple[Float, NDArray[np.int64], Float, dict[str, Any]]:
    """Step 4c: S-X2 per form (:func:`_sx2_by_form`); its note joins the run's notes."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sx2, sx2_df, sx2_p_adj, sx2_info = _sx2_by_form(x, est, model)
    if sx2_info["note"]:
        notes.append(sx2_info["note"])
    return sx2, sx2_df, sx2_p_adj, sx2_info


def _own_slope(est: CalibrationResult, constants: LinkingConstants, model: str, k: int) -> float | None:
    """Item ``k``'s slope of this run on the bank scale (anchors included) for the flags;
    None for Rasch, which fixes it."""
    return None if model == "rasch" else float(est.a[k] / constants.A)


def _item_reports(data: _Matrix, linked: _Linked) -> dict[int, dict[str, Any]]:
    """Step 5: the item reports' figures (:mod:`grading.psychometrics.report_store`) off the whole
    response matrix, with this run's parameters on the bank scale."""
    run_parameters = {
        item.id: report_store.RunParameters(a=float(linked.a[k]), b=float(linked.b[k]),
                                            c=_num(linked.c[k]) if data.model == "3pl" else None)
        for k, item in enumerate(data.items)
    }
    full_scores, choices, _ = report_store.response_matrices(data.arrays, data.scores.shape[0])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return report_store.item_entries(full_scores, choices, data.item_ids, run_parameters, data.option_inputs)


def _report(data: _Matrix, est: CalibrationResult, linked: _Linked, sx2_info: dict[str, Any], notes: list[str],
            rule: dict[str, Any], started: float) -> dict[str, Any]:
    """The run's report (stored on the run, read by the run page)."""
    constants = linked.constants
    return {
        "n_examinees": int(data.x.shape[0]),
        "n_examinees_in_set": int(data.scores.shape[0]),
        "dropped_examinees": data.dropped_examinees,
        "n_items_in_set": len(data.item_ids),
        "n_items": len(data.items),
        "dropped_items": data.dropped,
        "anchors": linked.anchor_report,
        "linking": {"A": float(constants.A), "B": float(constants.B), "method": constants.method},
        "sx2": sx2_info,
        "latent_sd": float(est.latent_sd),
        "missing_by_design": bool(np.isnan(data.x).any()),
        "notes": notes,
        "thresholds": rule,
        "seconds": round(time.monotonic() - started, 2),
    }


# ---------------------------------------------------------------------------- writing


def _num(value: Any) -> float | None:
    v = float(value)
    return v if math.isfinite(v) else None


def _write(session: Session, run: CalibrationRun, out: _Outcome, actor: User) -> dict[str, Any]:
    if run.is_sandbox:
        return _write_sandbox(session, run, out)
    ids = [i.id for i in out.items]
    session.execute(update(ItemParameter).where(ItemParameter.item_id.in_(ids), ItemParameter.is_current.is_(True))
                    .values(is_current=False).execution_options(synchronize_session="fetch"))
    flagged: list[dict[str, Any]] = []
    to_review: list[str] = []
    operational: list[str] = []
    outside: list[str] = []  # items the actor may not review: status left alone
    for k, item in enumerate(out.items):
        in_scope = access.can_read_item(session, actor, item)
        if not in_scope:
            outside.append(item.code)
        row = _parameter_row(run, out, k, is_current=True)
        session.add(row)
        item.irt_a, item.irt_b, item.irt_c = row.a, row.b, row.c
        flags = out.flags[k]
        if flags:
            sent = in_scope and item.status == ItemStatus.ACTIVE.value and item.current_version_id is not None
            flagged.append({"item_id": item.id, "code": item.code, "flags": flags, "sent_to_review": sent})
            if sent:
                before = item.status
                item.status = ItemStatus.SUBMITTED.value
                comment = f"题目分析预警（标定任务 #{run.id}）：" + "；".join(flags)
                session.add(ItemEvent(item_id=item.id, version_id=item.current_version_id, action="flag",
                                      from_status=before, to_status=item.status, actor_id=actor.id, comment=comment))
                session.flush()
                audit.record(session, actor, "item.flag", "item", item.id, before={"status": before},
                             after={"status": item.status, "run_id": run.id, "flags": flags})
                to_review.append(item.code)
        elif in_scope and item.is_pretest and out.estimate.converged:
            item.is_pretest = False
            session.flush()
            audit.record(session, actor, "item.operational", "item", item.id, before={"is_pretest": True},
                         after={"is_pretest": False, "run_id": run.id})
            operational.append(item.code)
    session.flush()
    return {"flagged": flagged, "n_flagged": len(flagged), "sent_to_review": to_review, "operational": operational,
            "outside_scope": outside}


def _parameter_row(run: CalibrationRun, out: _Outcome, k: int, *, is_current: bool) -> ItemParameter:
    c = _num(out.c[k]) if out.c is not None else None
    tested = out.sx2_df[k] >= 1 and math.isfinite(out.sx2[k])
    return ItemParameter(
        item_id=out.items[k].id, run_id=run.id, a=float(out.a[k]), b=float(out.b[k]), c=c,
        se_a=_num(out.se_a[k]), se_b=_num(out.se_b[k]), n=int(out.n_presented[k]),
        p_value=_num(out.p[k]), point_biserial=_num(out.pbis[k]),
        sx2=_num(out.sx2[k]) if tested else None, sx2_df=int(out.sx2_df[k]) if tested else None,
        sx2_p_adjusted=_num(out.sx2_p_adj[k]) if tested else None,
        drift_b=_num(out.drift_b[k]), flags_json=json.dumps(out.flags[k], ensure_ascii=False),
        is_current=is_current,
    )


def _write_sandbox(session: Session, run: CalibrationRun, out: _Outcome) -> dict[str, Any]:
    """A simulated response set: the results stay on the run (its :class:`ItemParameter` rows,
    never current); no item's parameters, status or pretest mark change."""
    flagged = [{"item_id": item.id, "code": item.code, "flags": out.flags[k], "sent_to_review": False}
               for k, item in enumerate(out.items) if out.flags[k]]
    for k in range(len(out.items)):
        session.add(_parameter_row(run, out, k, is_current=False))
    session.flush()
    return {"sandbox": True, "flagged": flagged, "n_flagged": len(flagged), "sent_to_review": [],
            "operational": [], "outside_scope": []}


# ---------------------------------------------------------------------------- execute


def _finish_failed(session: Session, run: CalibrationRun, message: str) -> CalibrationRun:
    run.status = "failed"
    run.stage = "失败"
    run.message = message
    run.finished_at = utcnow()
    session.flush()
    audit.record(session, run.created_by, "calibration.fail", "calibration_run", run.id, after={"message": message})
    return run


def fail_run(session: Session, run_id: int, message: str) -> CalibrationRun:
    """Mark a queued or running run failed (for a worker whose ``execute_run`` raised)."""
    run = get_run(session, run_id)
    if run.status in ("done", "failed"):
        return run
    return _finish_failed(session, run, message)


def execute_run(session: Session, run_id: int, *, progress: ProgressCallback | None = None) -> CalibrationRun:
    """Execute a queued run (see the module docstring for the steps and the commit protocol:
    ``progress(percent, stage)`` is a checkpoint at which the caller commits ``session``).

    Returns the run, ``done`` or ``failed`` (with the Chinese reason in ``message``, e.g.
    :data:`BUSY_MESSAGE` when the database stayed busy through every retry). Raises
    :class:`NotFound`, or :class:`ValidationError` if the run is not queued.
    """
    # Rolling back to the last checkpoint and retrying needs the caller to commit there.
    delays = BUSY_RETRY_DELAYS if progress is not None else ()

    def attempt(work: Callable[[], Any]) -> Any:
        return retry_when_busy(session, work, delays=delays, sleep=lambda seconds: _sleep(seconds))

    with immediate_transactions(session):
        try:
            return _execute(session, run_id, progress, attempt)
        except DatabaseBusy:
            return attempt(lambda: _fail_and_report(session, run_id, BUSY_MESSAGE, progress))  # type: ignore[no-any-return]


def _execute(session: Session, run_id: int, progress: ProgressCallback | None,
             attempt: Callable[[Callable[[], Any]], Any]) -> CalibrationRun:
    """The run in transactions that each end at a checkpoint; ``attempt(work)`` retries one
    whole transaction (``work``) that found the database busy."""

    def checkpoint(percent: int, stage: str) -> None:
        current = get_run(session, run_id)
        current.progress, current.stage = percent, stage
        session.flush()
        if progress is not None:
            progress(percent, stage)

    def step(percent: int, stage: str) -> None:  # between checkpoints only reads happen: retry the write alone
        attempt(lambda: checkpoint(percent, stage))

    def begin() -> None:
        run = session.get(CalibrationRun, run_id, with_for_update=True)
        if run is None:
            raise NotFound("标定任务不存在。")
        if run.status != "queued":
            raise ValidationError(f"标定任务 #{run.id} 的状态是「{STATUS_LABELS.get(run.status, run.status)}」，"
                                  "只能执行排队中的任务。")
        run.status = "running"
        run.started_at = utcnow()
        run.message = ""
        checkpoint(2, "读取作答数据")

    attempt(begin)

    def compute() -> _Outcome | str:
        try:
            return _compute(session, get_run(session, run_id), step)
        except _RunFailed as exc:
            return exc.message
        except DomainError as exc:
            return exc.message
        except _NUMERIC_ERRORS as exc:
            return f"数值计算失败：{exc}"

    outcome = attempt(compute)
    if isinstance(outcome, str):
        return attempt(lambda: _fail_and_report(session, run_id, outcome, progress))  # type: ignore[no-any-return]

    step(85, "写入参数与预警")
    return attempt(lambda: _finish(session, run_id, outcome, progress))  # type: ignore[no-any-return]


def _finish(session: Session, run_id: int, outcome: _Outcome, progress: ProgressCallback | None) -> CalibrationRun:
    """Write the results and mark the run done (one transaction, from checkpoint 85 to 100)."""
    run = get_run(session, run_id)
    actor = run.created_by
    try:
        with session.begin_nested():
            written = _write(session, run, outcome, actor)
            report_store.store_entries(session, run.id, outcome.item_reports)
    except DomainError as exc:
        return _fail_and_report(session, run_id, exc.message, progress)

    run = get_run(session, run_id)
    est = outcome.estimate
    report = {**outcome.report, **written}
    run.loglik = float(est.loglik)
    run.n_cycles = int(est.n_cycles)
    run.converged = bool(est.converged)
    run.link_a = float(outcome.constants.A)
    run.link_b = float(outcome.constants.B)
    run.report_json = json.dumps(report, ensure_ascii=False)
    run.status = "done"
    run.progress = 100
    run.stage = "完成"
    if run.is_sandbox:
        run.message = (f"{SANDBOX_NOTE}。已标定 {report['n_items']} 道试题，{report['n_flagged']} 道出现预警"
                       "（未退回审核，题库参数不变）。")
    else:
        run.message = (f"已标定 {report['n_items']} 道试题，{report['n_flagged']} 道出现预警，"
                       f"{len(written['sent_to_review'])} 道退回审核。")
    run.finished_at = utcnow()
    session.flush()
    audit.record(session, actor, "calibration.done", "calibration_run", run.id, after={
        "items": report["n_items"], "examinees": report["n_examinees"], "link": [run.link_a, run.link_b],
        "anchors": len(report["anchors"]["used"]), "flagged": [f["code"] for f in written["flagged"]],
        "sent_to_review": written["sent_to_review"], "operational": written["operational"],
        "sandbox": run.is_sandbox,
    })
    if progress is not None:
        progress(100, "完成")
    return run


def _fail_and_report(session: Session, run_id: int, message: str,
                     progress: ProgressCallback | None) -> CalibrationRun:
    run = _finish_failed(session, get_run(session, run_id), message)
    if progress is not None:
        progress(run.progress, "失败")
    return run


def fail_run_after(session: Session, run_id: int, exc: BaseException) -> str:
    """For a worker whose ``execute_run`` raised ``exc`` (after rolling the session back): mark
    the run failed with a message a reviewer understands — :data:`BUSY_MESSAGE` for a busy
    database, else :data:`INTERNAL_ERROR_MESSAGE` (the worker logs the traceback) — and return
    it. Retries while the database is busy; the caller commits."""
    busy = isinstance(exc, DatabaseBusy) or is_busy_error(exc)
    message = BUSY_MESSAGE if busy else INTERNAL_ERROR_MESSAGE
    with immediate_transactions(session):
        retry_when_busy(session, lambda: fail_run(session, run_id, message), delays=BUSY_RETRY_DELAYS,
                        sleep=lambda seconds: _sleep(seconds))
    return message
