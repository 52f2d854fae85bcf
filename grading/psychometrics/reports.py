"""Analysis reports (题目分析报告): the item report, the paper report and the DIF report.

Two layers, two modules:

* **pure statistics** (:mod:`grading.psychometrics.report_stats`, no database) take arrays and parameters
  and return frozen dataclasses (observed proportions by ability group, the distractor table,
  a form's reliability and score distribution, the Mantel–Haenszel table of one grouping);
  this module re-exports them for the pages and workbooks;
* **loaders** (this module) (:func:`item_report`, :func:`paper_report`, :func:`dif_report`) read the rows
  (items, papers, calibration runs, response sets, item parameters), call the builders and
  return one report object that the pages, the JSON chart endpoints and the Excel workbooks
  (:mod:`grading.psychometrics.report_excel`) all render. They only read; nothing is written or audited.

Who reads what
--------------
The loaders take the actor. Only the analysts (centre admin, item reviewers) read reports
(:class:`PermissionDenied` otherwise). A reviewer reads only inside their assignments
(:mod:`itembank.access`): a run of a response set outside their occupations is
:class:`NotFound`, so is the item report of an item they may not read (it shows the stem and
the key); a paper outside their (occupation, institution) pairs is :class:`PermissionDenied`
(as in the item bank). Reports over many items (run results, paper forms, DIF) **omit** the
rows of items the reviewer may not read and say how many were omitted; the aggregate figures
(linking constants, test information, reliability, DIF matching) are those of the whole run
or form, as the centre sees them — they reveal no item. One rule: an item the reader may not
read never appears by code, stem or key; everything else is shown.

Conventions of the stored response sets (:class:`grading.psychometrics.models.ResponseSet`)
-------------------------------------------------------------------------------
``scores`` is ``(n_examinees, n_items)`` with NaN for an item not presented, in the column
order of ``item_ids``. ``choices`` (optional, int8) is the 0-based index of the chosen option
in the item's option list (A = 0, B = 1 …; 判断题 √ = 0, × = 1), −1 for no choice.
``groups`` (optional, strings) is ``(n_examinees, len(group_names))``; an empty string is a
missing label.

Observed proportions on the ICC
-------------------------------
Examinees who were presented the item are grouped into (up to) 10 equal-sized quantile groups
of their **rest EAP θ**: the expected a posteriori ability computed from all *other* 0/1 items
of the run's response set that have parameters in that run (the studied item is left out, so
an examinee's own answer to it does not decide their group — the IRT analogue of the
corrected point-biserial). Parameters are on the bank scale, so the ability prior is the
latent N(μ, σ²) estimated from the data with the items held fixed (a few EM steps on μ and
σ from N(0, 1)). Each group is plotted at its mean θ with its observed proportion correct; its
**expected** proportion is the mean over its examinees of ``∫ P(θ) posterior(θ) dθ`` — the
model's own prediction for those examinees, which is what the observed proportion estimates
(the ICC at the group mean differs from it by the shrinkage of EAP estimates).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from foundation.accounts import User
from foundation.calendar import BEIJING
from foundation.db import as_utc
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.roles import require_role
from foundation.settings import get_rule
from grading.psychometrics import ctt
from grading.psychometrics.calibration import readable_run
from grading.psychometrics.models import CalibrationRun, ItemParameter, ResponseSet
from grading.psychometrics.report_stats import (
    THETA_GRID,
    DifComparison,
    DifRow,
    FormReliability,
    ItemCurves,
    ObservedIcc,
    OptionRow,
    ScoreGroup,
    binary_columns,
    column_max,
    dif_table,
    distractor_rows,
    form_reliability,
    form_summary,
    group_values,
    item_curves,
    latent_posterior,
    observed_icc,
    rest_theta_icc,
    score_distribution,
    theta_strata,
)
from grading.psychometrics.responses import ANALYSTS
from itembank import access
from itembank.itemtypes import ITEM_TYPES
from itembank.models import Item, Paper, PaperForm, PaperItem
from itembank.papers import information_curves

Float = NDArray[np.float64]

__all__ = [
    "THETA_GRID",
    "DifChoices",
    "DifComparison",
    "DifReport",
    "DifRow",
    "FormItemRow",
    "FormReport",
    "FormReliability",
    "HistoryRow",
    "ItemCurves",
    "ItemReport",
    "ObservedIcc",
    "OptionRow",
    "PaperReport",
    "ScoreGroup",
    "dif_choices",
    "dif_report",
    "dif_table",
    "distractor_rows",
    "form_reliability",
    "item_curves",
    "item_report",
    "latent_posterior",
    "observed_icc",
    "paper_report",
    "score_distribution",
]


def _num(value: Any) -> float | None:
    """A JSON/Excel-safe float: None for missing, NaN or infinite values."""
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def _r(value: Any, digits: int = 4) -> float | None:
    v = _num(value)
    return None if v is None else round(v, digits)


# =========================================================================== loaders


def _response_arrays(rs: ResponseSet) -> tuple[Float, NDArray[np.int64] | None, NDArray[np.str_] | None]:
    data = rs.arrays()
    scores = np.asarray(data["scores"], dtype=float)
    if scores.ndim != 2:
        scores = scores.reshape(rs.n_examinees, -1)
    choices = data.get("choices")
    if choices is not None:
        choices = np.asarray(choices, dtype=np.int64)
        if choices.shape != scores.shape:
            choices = None
    groups = data.get("groups")
    if groups is not None:
        groups = np.asarray(groups).astype(str)
        if groups.ndim == 1:
            groups = groups.reshape(-1, 1)
        if groups.shape[0] != scores.shape[0]:
            groups = None
    return scores, choices, groups


def _codes(session: Session, item_ids: Iterable[int]) -> dict[int, str]:
    ids = list(set(item_ids))
    if not ids:
        return {}
    return dict(session.execute(select(Item.id, Item.code).where(Item.id.in_(ids))).all())


def _run_label(run: CalibrationRun) -> str:
    """``#12 2PL 2026-11-27`` (the date in Beijing time); ``（模拟数据）`` after a sandbox run's."""
    when = run.finished_at or run.created_at
    sandbox = "（模拟数据）" if run.is_sandbox else ""
    if when is None:
        return f"#{run.id} {run.model.upper()}{sandbox}"
    return f"#{run.id} {run.model.upper()} {as_utc(when).astimezone(BEIJING):%Y-%m-%d}{sandbox}"


def _get_run(session: Session, actor: User, run_id: int) -> CalibrationRun:
    try:
        return readable_run(session, actor, run_id)
    except NotFound:
        raise NotFound("标定记录不存在。") from None


def readable_item_ids(session: Session, actor: User, item_ids: Iterable[int]) -> set[int]:
    """The ids among ``item_ids`` of the items ``actor`` may read (:func:`itembank.access.item_clause`)."""
    ids = list(set(item_ids))
    if not ids:
        return set()
    stmt = select(Item.id).where(Item.id.in_(ids))
    if (clause := access.item_clause(actor)) is not None:
        stmt = stmt.where(clause)
    return set(session.scalars(stmt))


def run_report(session: Session, actor: User, run: CalibrationRun) -> dict[str, Any]:
    """The run's stored report (:attr:`CalibrationRun.report`) with the item lists cut to the
    items ``actor`` may read; ``hidden_items`` counts the items of the set left out."""
    report = dict(run.report or {})
    ids = run.response_set.item_ids
    readable = readable_item_ids(session, actor, ids)
    if len(readable) == len(set(ids)):
        return {**report, "hidden_items": 0}
    codes = {code for _id, code in _codes(session, readable).items()}
    report["dropped_items"] = [d for d in report.get("dropped_items", []) if d.get("item_id") in readable]
    report["flagged"] = [f for f in report.get("flagged", []) if f.get("item_id") in readable]
    for key in ("sent_to_review", "operational", "outside_scope"):
        if key in report:
            report[key] = [c for c in report[key] if c in codes]
    if isinstance(report.get("anchors"), dict):
        anchors = dict(report["anchors"])
        for key in ("used", "dropped_for_drift"):
            if key in anchors:
                anchors[key] = [c for c in anchors[key] if c in codes]
        report["anchors"] = anchors
    report["hidden_items"] = len(set(ids) - readable)
    return report


def _run_parameters(run: CalibrationRun) -> dict[int, ItemParameter]:
    return {p.item_id: p for p in run.parameters}


def _matching_posterior(
    scores: Float, item_ids: Sequence[int], params: dict[int, ItemParameter], exclude: int | None = None
) -> tuple[Float, Float, float, float, int] | None:
    """Posterior from the run's calibrated 0/1 columns (``exclude`` left out)."""
    binary = binary_columns(scores)
    cols = [k for k, iid in enumerate(item_ids) if iid in params and binary[k] and k != exclude]
    if not cols:
        return None
    a = np.array([params[item_ids[k]].a for k in cols])
    b = np.array([params[item_ids[k]].b for k in cols])
    c = np.array([params[item_ids[k]].c or 0.0 for k in cols])
    nodes, post, mean, sd = latent_posterior(scores[:, cols], a, b, c)
    return nodes, post, mean, sd, len(cols)


# --------------------------------------------------------------------------- item report


@dataclass(frozen=True)
class HistoryRow:
    run_id: int
    run_label: str
    at: dt.datetime
    model: str
    a: float
    b: float
    c: float | None
    se_a: float | None
    se_b: float | None
    n: int
    drift_b: float | None
    is_current: bool
    flags: tuple[str, ...]


@dataclass(frozen=True)
class ItemReport:
    item: Item
    run: CalibrationRun | None
    parameter: ItemParameter | None
    curves: ItemCurves | None
    observed: ObservedIcc | None
    observed_note: str
    options: tuple[OptionRow, ...] | None
    options_note: str
    ctt_n: int | None
    ctt_p: float | None
    ctt_pbis: float | None
    ctt_d: float | None
    history: tuple[HistoryRow, ...]
    flags: tuple[str, ...]  # review flags of the run, Chinese sentences (grading.psychometrics.calibration)
    thresholds: dict[str, Any] = field(default_factory=dict)

    @property
    def positive_distractors(self) -> tuple[str, ...]:
        return tuple(o.label for o in self.options or () if o.warning)

    def chart_data(self) -> dict[str, Any]:
        """What the ICC, information and history charts draw (no item content, no key)."""
        out: dict[str, Any] = {
            "item": {"id": self.item.id, "code": self.item.code},
            "run": {"id": self.run.id, "label": _run_label(self.run)} if self.run else None,
            "theta": [float(t) for t in THETA_GRID],
            "parameters": None, "icc": [], "information": [], "observed": [],
            "history": [
                {"run_id": h.run_id, "label": h.run_label, "at": h.at.isoformat(), "a": _r(h.a), "b": _r(h.b),
                 "c": _r(h.c), "current": h.is_current}
                for h in self.history
            ],
        }
        if self.parameter is not None and self.curves is not None:
            out["parameters"] = {"a": _r(self.parameter.a), "b": _r(self.parameter.b), "c": _r(self.parameter.c)}
            out["icc"] = [_r(v) for v in self.curves.probability]
            out["information"] = [_r(v) for v in self.curves.information]
        if self.observed is not None:
            out["observed"] = [
                {"group": g.index, "n": g.n, "theta": _r(g.theta_mean), "observed": _r(g.observed),
                 "expected": _r(g.expected), "se": _r(g.se)}
                for g in self.observed.groups
            ]
        return out


def _option_labels(item: Item, codes: NDArray[np.int64]) -> tuple[Sequence[str] | dict[int, str], list[str]] | None:
    """Choice-code labels and the key of a choice item's current version (see
    :mod:`grading.psychometrics.responses`: option index, 判断题 √ = 0 / × = 1, 多选题 bit mask)."""
    version = item.current_version
    if version is None:
        return None
    spec = version.spec
    kind = ITEM_TYPES.get(item.item_type)
    if kind is None or not kind.is_choice:
        return None
    if not kind.multi_select:
        return kind.choice_labels(spec), kind.key_labels(spec)
    letters = kind.choice_labels(spec)
    key = "".join(sorted(kind.key_labels(spec)))

    def pattern(code: int) -> str:
        return "".join(letter for i, letter in enumerate(letters) if code & (1 << i))

    key_code = sum(1 << letters.index(k) for k in key if k in letters)
    seen = sorted({int(c) for c in codes if 0 < c < (1 << len(letters))} | {key_code})
    # Response patterns as options: the key first, then by how many options, then A…
    ordered = sorted(seen, key=lambda c: (c != key_code, bin(c).count("1"), pattern(c)))
    return {c: pattern(c) for c in ordered}, [key]


def _history(session: Session, item_id: int) -> tuple[HistoryRow, ...]:
    rows = session.execute(
        select(ItemParameter, CalibrationRun).join(CalibrationRun, CalibrationRun.id == ItemParameter.run_id)
        .where(ItemParameter.item_id == item_id).order_by(CalibrationRun.created_at, CalibrationRun.id,
                                                          ItemParameter.id)
    ).all()
    return tuple(
        HistoryRow(run_id=run.id, run_label=_run_label(run), at=run.finished_at or run.created_at, model=run.model,
                   a=p.a, b=p.b, c=p.c, se_a=p.se_a, se_b=p.se_b, n=p.n, drift_b=p.drift_b, is_current=p.is_current,
                   flags=tuple(p.flags))
        for p, run in rows
    )


def item_report(session: Session, actor: User, item_id: int, run_id: int | None = None) -> ItemReport:
    """The item report for one calibration run (default: the item's current parameters).

    Raises :class:`NotFound` for an unknown item or run, an item or run ``actor`` may not
    read, or a run without this item. An item never calibrated gives a report with no
    parameters (the page says so)."""
    require_role(actor, *ANALYSTS)
    item = access.readable_item(session, actor, item_id)
    if run_id is not None:
        run = _get_run(session, actor, run_id)
        parameter = session.scalar(
            select(ItemParameter).where(ItemParameter.item_id == item_id, ItemParameter.run_id == run_id)
            .order_by(ItemParameter.id.desc()).limit(1)
        )
        if parameter is None:
            raise NotFound("该次标定不包含这道试题。")
    else:
        parameter = session.scalar(
            select(ItemParameter).where(ItemParameter.item_id == item_id)
            .order_by(ItemParameter.is_current.desc(), ItemParameter.id.desc()).limit(1)
        )
        run = parameter.run if parameter is not None else None
    history = _history(session, item_id)
    thresholds = dict(get_rule(session, "item_flags"))
    base: dict[str, Any] = {
        "item": item, "run": run, "parameter": parameter, "history": history, "thresholds": thresholds,
        "curves": None, "observed": None, "observed_note": "", "options": None, "options_note": "",
        "ctt_n": None, "ctt_p": None, "ctt_pbis": None, "ctt_d": None, "flags": (),
    }
    if parameter is None or run is None:
        base["observed_note"] = base["options_note"] = "这道试题尚未标定。"
        return ItemReport(**base)
    base["curves"] = item_curves(parameter.a, parameter.b, parameter.c)
    base["flags"] = tuple(parameter.flags)
    base["ctt_p"], base["ctt_pbis"] = parameter.p_value, parameter.point_biserial

    rs = run.response_set
    ids = rs.item_ids
    if item_id not in ids:
        base["observed_note"] = base["options_note"] = "该次标定的作答数据中没有这道试题的作答。"
        return ItemReport(**base)
    j = ids.index(item_id)
    scores, choices, _ = _response_arrays(rs)

    stats = ctt.item_statistics(scores, max_scores=column_max(scores))
    base["ctt_n"] = int(stats.n_presented[j])
    base["ctt_p"] = _num(stats.difficulty[j])
    base["ctt_pbis"] = _num(stats.point_biserial[j])
    base["ctt_d"] = _num(stats.discrimination_index[j])

    # Observed proportions by rest-θ group.
    if not binary_columns(scores[:, [j]])[0]:
        base["observed_note"] = "这道试题不是 0/1 计分，不绘制实测通过率。"
    else:
        posterior = _matching_posterior(scores, ids, _run_parameters(run), exclude=j)
        if posterior is None:
            base["observed_note"] = "该次标定中没有其他可用于估计能力的试题。"
        else:
            nodes, post, mean, sd, n_items = posterior
            base["observed"] = rest_theta_icc(scores[:, j], nodes, post, parameter.a, parameter.b, parameter.c,
                                              latent=(mean, sd), n_matching_items=n_items)

    # Distractor table.
    presented = ~np.isnan(scores[:, j])
    recorded = choices[presented, j] if choices is not None else np.zeros(0, dtype=np.int64)
    labelled = _option_labels(item, recorded)
    if labelled is None:
        type_label = ITEM_TYPES[item.item_type].label if item.item_type in ITEM_TYPES else item.item_type
        base["options_note"] = f"{type_label}没有选项，不做选项分析。"
    elif choices is None or not (recorded >= 0).any():
        base["options_note"] = "该作答数据没有记录考生对这道试题所选的选项（只有得分）。"
    else:
        labels, key = labelled
        base["options"] = distractor_rows(scores, choices, j, labels, key)
    return ItemReport(**base)


# --------------------------------------------------------------------------- paper report


@dataclass(frozen=True)
class FormItemRow:
    position: int
    item_id: int
    code: str
    calibrated: bool
    a: float | None
    b: float | None
    c: float | None
    p: float | None = None
    pbis: float | None = None
    alpha_if_deleted: float | None = None
    raises_alpha: bool = False


@dataclass(frozen=True)
class FormReport:
    label: str
    items: tuple[FormItemRow, ...]
    tif: tuple[float, ...]
    sem: tuple[float | None, ...]
    run: CalibrationRun | None
    note: str
    reliability: FormReliability | None
    histogram: tuple[tuple[int, ...], tuple[int, ...]] | None
    hidden: int = 0  # rows left out: items the reader may not read

    @property
    def n_calibrated(self) -> int:
        return sum(1 for i in self.items if i.calibrated)

    def information_at(self, theta: float) -> float | None:
        k = int(np.argmin(np.abs(THETA_GRID - theta)))
        return self.tif[k] if self.tif else None

    def sem_at(self, theta: float) -> float | None:
        k = int(np.argmin(np.abs(THETA_GRID - theta)))
        return self.sem[k] if self.sem else None


@dataclass(frozen=True)
class PaperReport:
    paper: Paper
    forms: tuple[FormReport, ...]
    run: CalibrationRun | None  # the run asked for (None: each form's newest covering run)
    runs: tuple[tuple[int, str], ...]  # runs whose response sets cover at least one form

    def chart_data(self) -> dict[str, Any]:
        forms: dict[str, Any] = {}
        for f in self.forms:
            entry: dict[str, Any] = {"tif": list(f.tif), "sem": list(f.sem), "n_items": len(f.items),
                                     "n_calibrated": f.n_calibrated, "histogram": None, "reliability": None}
            if f.histogram is not None and f.reliability is not None:
                entry["histogram"] = {"scores": list(f.histogram[0]), "counts": list(f.histogram[1])}
                entry["reliability"] = {"method": f.reliability.method, "value": _r(f.reliability.alpha),
                                        "n_examinees": f.reliability.n_examinees}
                entry["run_id"] = f.run.id if f.run else None
            forms[f.label] = entry
        return {"paper": {"id": self.paper.id, "name": self.paper.name}, "cut_theta": self.paper.cut_theta,
                "theta": [float(t) for t in THETA_GRID], "forms": forms}


def _covering_runs(session: Session, paper: Paper) -> list[tuple[CalibrationRun, set[int]]]:
    """Runs of response sets for this paper's blueprint, newest first, with their item ids."""
    rows = session.execute(
        select(CalibrationRun, ResponseSet.item_ids_json)
        .join(ResponseSet, ResponseSet.id == CalibrationRun.response_set_id)
        .where(ResponseSet.blueprint_id == paper.blueprint_id)
        .order_by(CalibrationRun.created_at.desc(), CalibrationRun.id.desc())
    ).all()
    return [(run, set(json.loads(ids))) for run, ids in rows]


def _observed_form(
    form: PaperForm, rows: list[FormItemRow], run: CalibrationRun, cache: dict[int, tuple[Float, list[int]]]
) -> tuple[list[FormItemRow], str, FormReliability | None, tuple[tuple[int, ...], tuple[int, ...]] | None]:
    rs = run.response_set
    if rs.id not in cache:
        cache[rs.id] = (_response_arrays(rs)[0], rs.item_ids)
    scores, ids = cache[rs.id]
    cols = [ids.index(pi.item_id) for pi in form.items]
    sub = scores[:, cols]
    takers = ~np.isnan(sub).any(axis=1)
    n = int(takers.sum())
    if n < 2:
        return rows, f"作答数据（标定 #{run.id}）中完整作答本卷全部试题的考生不足 2 人。", None, None
    if len(cols) < 2:
        return rows, "本卷试题不足 2 道，无法计算信度。", None, None
    rel, hist = form_summary(sub[takers])
    alpha = rel.alpha
    new_rows = []
    for k, row in enumerate(rows):
        aid = _num(rel.alpha_if_deleted[k])
        new_rows.append(FormItemRow(
            position=row.position, item_id=row.item_id, code=row.code, calibrated=row.calibrated, a=row.a, b=row.b,
            c=row.c, p=_num(rel.difficulty[k]), pbis=_num(rel.point_biserial[k]), alpha_if_deleted=aid,
            raises_alpha=aid is not None and math.isfinite(alpha) and aid > alpha,
        ))
    return new_rows, "", rel, hist


def paper_report(session: Session, actor: User, paper_id: int, run_id: int | None = None) -> PaperReport:
    """Per form: test information and SEM from the items' current parameters and, when a
    response set covers the form's items, its summed-score distribution and reliability.

    With ``run_id`` that run's response set is used for every form it covers; otherwise each
    form uses the newest run (of a response set for the paper's blueprint) that covers it.
    A paper ``actor`` may not see is :class:`PermissionDenied`; item rows ``actor`` may not
    read are left out (``FormReport.hidden``), the form's figures stay whole."""
    require_role(actor, *ANALYSTS)
    paper = session.scalar(
        select(Paper).where(Paper.id == paper_id).options(
            selectinload(Paper.forms).selectinload(PaperForm.items).selectinload(PaperItem.item))
    )
    if paper is None:
        raise NotFound("试卷不存在。")
    if not access.can_see_paper(session, actor, paper):
        raise PermissionDenied("您无权查看该试卷的分析报告。")
    chosen = _get_run(session, actor, run_id) if run_id is not None else None
    readable = readable_item_ids(session, actor, [pi.item_id for f in paper.forms for pi in f.items])
    curves = information_curves(paper, THETA_GRID)
    candidates = _covering_runs(session, paper)
    form_ids = {f.label: {pi.item_id for pi in f.items} for f in paper.forms}
    useful = [(run, ids) for run, ids in candidates if any(fi and fi <= ids for fi in form_ids.values())]
    cache: dict[int, tuple[Float, list[int]]] = {}
    forms = []
    for form in paper.forms:
        ids = form_ids[form.label]
        rows = [
            FormItemRow(position=pi.position, item_id=pi.item_id, code=pi.item.code,
                        calibrated=pi.item.irt_a is not None and pi.item.irt_b is not None,
                        a=pi.item.irt_a, b=pi.item.irt_b, c=pi.item.irt_c)
            for pi in form.items
        ]
        run: CalibrationRun | None
        if chosen is not None:
            run = chosen if ids and ids <= set(chosen.response_set.item_ids) else None
            note = "" if run else f"所选标定（#{chosen.id}）的作答数据不包含本卷的全部试题。"
        else:
            run = next((r for r, covered in useful if ids and ids <= covered), None)
            note = "" if run else "还没有包含本卷全部试题的作答数据。"
        rel = hist = None
        if run is not None:
            rows, note, rel, hist = _observed_form(form, rows, run, cache)
        c = curves["forms"].get(form.label, {"tif": [], "sem": []})
        shown = tuple(r for r in rows if r.item_id in readable)
        forms.append(FormReport(label=form.label, items=shown, tif=tuple(c["tif"]), sem=tuple(c["sem"]),
                                run=run, note=note, reliability=rel, histogram=hist, hidden=len(rows) - len(shown)))
    runs = tuple((r.id, _run_label(r)) for r, _ in useful)
    if chosen is not None and chosen.id not in {r for r, _ in runs}:
        runs = ((chosen.id, _run_label(chosen)), *runs)
    return PaperReport(paper=paper, forms=tuple(forms), run=chosen, runs=runs)


# --------------------------------------------------------------------------- DIF report


@dataclass(frozen=True)
class DifReport:
    run: CalibrationRun
    group_names: tuple[str, ...]
    group: str
    values: tuple[tuple[str, int], ...]  # label and examinee count, most frequent first
    reference: str
    comparisons: tuple[DifComparison, ...]
    matching: str  # how examinees were matched
    excluded: tuple[str, ...]  # item codes left out (not 0/1 scored)
    n_examinees: int
    alpha: float
    hidden: int = 0  # items the reader may not read, left out of the tables

    @property
    def counts(self) -> dict[str, int]:
        out = {"A": 0, "B": 0, "C": 0, "—": 0}
        for comp in self.comparisons:
            for k, v in comp.counts.items():
                out[k] += v
        return out

    def chart_data(self) -> dict[str, Any]:
        return {
            "run": {"id": self.run.id, "label": _run_label(self.run)},
            "group": self.group,
            "reference": self.reference,
            "comparisons": [
                {"focal": c.focal, "n_focal": c.n_focal,
                 "items": [{"item_id": r.item_id, "code": r.code, "d_dif": _r(r.d_dif), "se": _r(r.se),
                            "p": _r(r.p_value, 6), "ets_class": r.ets_class} for r in c.rows]}
                for c in self.comparisons
            ],
        }


@dataclass(frozen=True)
class DifChoices:
    """What the DIF form offers for a run: group columns and each one's values."""

    run: CalibrationRun
    group_names: tuple[str, ...]
    values: dict[str, tuple[tuple[str, int], ...]]


def dif_choices(session: Session, actor: User, run_id: int) -> DifChoices:
    require_role(actor, *ANALYSTS)
    run = _get_run(session, actor, run_id)
    rs = run.response_set
    names = tuple(rs.group_names)
    _, _, groups = _response_arrays(rs)
    values: dict[str, tuple[tuple[str, int], ...]] = {}
    if groups is not None:
        for k, name in enumerate(names[: groups.shape[1]]):
            values[name] = group_values(groups[:, k])
    return DifChoices(run=run, group_names=tuple(n for n in names if n in values), values=values)


def _theta_strata(scores: Float, ids: list[int], params: dict[int, ItemParameter]) -> NDArray[np.float64] | None:
    posterior = _matching_posterior(scores, ids, params)
    if posterior is None:
        return None
    nodes, post, *_ = posterior
    return theta_strata(post @ nodes)


def dif_report(
    session: Session, actor: User, run_id: int, group: str | None = None, reference: str | None = None, *,
    alpha: float = 0.05,
) -> DifReport:
    """Mantel–Haenszel DIF of every 0/1 item of the run's response set for one group column,
    each other value of it compared with ``reference`` (default: the most frequent value).

    Matching: the total score when every examinee was presented every item (one form);
    otherwise (several forms) 2–20 equal-count strata of EAP θ from the run's parameters,
    since raw totals over different forms are not comparable. Items ``actor`` may not read
    are computed with the others (they take part in the matching) but left out of the rows."""
    choices = dif_choices(session, actor, run_id)
    run = choices.run
    if not choices.group_names:
        raise ValidationError("该作答数据没有考生分组信息（如性别、年龄段、地区），无法做 DIF 分析。", field="group")
    group = group or choices.group_names[0]
    if group not in choices.values:
        raise ValidationError(f"作答数据中没有分组「{group}」。", field="group")
    values = choices.values[group]
    if len(values) < 2:
        raise ValidationError(f"分组「{group}」只有一个取值，无法比较。", field="group")
    reference = reference or values[0][0]
    if reference not in {v for v, _ in values}:
        raise ValidationError(f"分组「{group}」中没有「{reference}」。", field="reference")

    rs = run.response_set
    scores, _, groups = _response_arrays(rs)
    assert groups is not None  # dif_choices found the column
    ids = rs.item_ids
    codes = _codes(session, ids)
    binary = binary_columns(scores)
    keep = [k for k in range(len(ids)) if binary[k]]
    excluded = tuple(codes.get(ids[k], f"#{ids[k]}") for k in range(len(ids)) if not binary[k])
    sub = scores[:, keep]
    kept_ids = [ids[k] for k in keep]
    column = groups[:, list(rs.group_names).index(group)]
    matching_score = None
    matching = "总分（每位考生作答了全部试题）"
    if np.isnan(sub).any():
        matching_score = _theta_strata(sub, kept_ids, _run_parameters(run))
        if matching_score is None:
            raise ValidationError("作答数据含多套试卷，但该次标定没有可用于匹配能力的试题参数。")
        n_strata = int(np.nanmax(matching_score)) + 1 if matching_score.size else 0
        matching = f"能力估计 θ（EAP，按人数等分为 {n_strata} 层；作答数据含多套试卷，总分不可比）"
    comparisons = dif_table(sub, column, reference, kept_ids, [codes.get(i, f"#{i}") for i in kept_ids],
                            matching_score=matching_score, alpha=alpha)
    readable = readable_item_ids(session, actor, ids)
    if len(readable) < len(set(ids)):
        comparisons = tuple(DifComparison(focal=c.focal, n_focal=c.n_focal,
                                          rows=tuple(r for r in c.rows if r.item_id in readable))
                            for c in comparisons)
        excluded = tuple(codes.get(ids[k], f"#{ids[k]}") for k in range(len(ids))
                         if not binary[k] and ids[k] in readable)
    return DifReport(run=run, group_names=choices.group_names, group=group, values=values, reference=reference,
                     comparisons=comparisons, matching=matching, excluded=excluded, n_examinees=scores.shape[0],
                     alpha=alpha, hidden=len(set(ids) - readable))
