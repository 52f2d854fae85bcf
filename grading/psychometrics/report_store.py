"""The stored part of the item report (题目分析报告): what needs the response matrix, computed
once per (calibration run, item) and kept in :class:`~grading.psychometrics.models.ItemReportStats`.

An item report is cheap except for the figures read off the run's response matrix: the CTT
statistics over all presented responses, the observed ICC by rest-θ group (an EM of the
latent distribution per item) and the distractor table. Decompressing a 50,000-examinee
matrix and recomputing those on every page view (and again for its ``.json`` and ``.xlsx``)
took seconds; they only change when the run changes, which it never does once done. So:

* at the end of a successful run (:mod:`grading.psychometrics.calibration`) the entries of
  every calibrated item are computed from the matrix already in memory (while no
  transaction is open) and written in the transaction that writes the run's results;
* :func:`grading.psychometrics.reports.item_report` serves the stored entry and never opens
  the matrix; an entry that is missing (runs made before this store existed), of an older
  :data:`FORMAT_VERSION`, or computed for other options of the item (the item got a new
  version whose option labels or key differ) is computed for that one item on first view
  and stored (lazy backfill); ``flask grading reports --backfill`` fills whole runs.

The numbers are those the report computed on demand before — the same functions of
:mod:`grading.psychometrics.report_stats` on the same arrays — so a stored entry decodes to
exactly the objects the page, the chart JSON and the workbook were built from.

Bump :data:`FORMAT_VERSION` whenever what :func:`item_entries` stores or the encoding changes:
stored entries of another version are recomputed on their next view. (Not bumped when the
rest-θ posteriors moved to :class:`~grading.psychometrics.report_stats.LeaveOneOut`: the
numbers are those of the per-item posterior to rounding.)

:func:`item_entries` costs O(N·J·Q) for all items: one likelihood over the matching columns
with each item divided out (:class:`~grading.psychometrics.report_stats.LeaveOneOut`) and the
distractor tables' rest scores from one pass
(:class:`~grading.psychometrics.report_stats.RestScores`); the per-item posterior it replaced
rebuilt the likelihood from the other J − 1 items for every item (O(N·J²·Q)).

No Flask; :func:`store_entries` writes rows but never commits.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from grading.psychometrics import ctt
from grading.psychometrics.models import CalibrationRun, ItemReportStats, ResponseSet
from grading.psychometrics.report_stats import (
    LeaveOneOut,
    ObservedIcc,
    OptionRow,
    RestScores,
    ScoreGroup,
    binary_columns,
    column_max,
    distractor_rows,
    item_curves,
    latent_posterior,
    observed_icc,
)
from itembank.itemtypes import ITEM_TYPES
from itembank.models import Item

Float = NDArray[np.float64]

#: Version of what an entry holds and how; entries of another version are recomputed.
FORMAT_VERSION = 1


class Parameters(Protocol):
    """An item's parameters in a run (:class:`~grading.psychometrics.models.ItemParameter` or
    :class:`RunParameters`)."""

    @property
    def a(self) -> float: ...
    @property
    def b(self) -> float: ...
    @property
    def c(self) -> float | None: ...


@dataclass(frozen=True)
class RunParameters:
    """Parameters as the run writes them to :class:`ItemParameter` (before the rows exist)."""

    a: float
    b: float
    c: float | None


@dataclass(frozen=True)
class OptionInputs:
    """What the distractor table takes from the item's current version: its type, the option
    labels (None: nothing to analyse — not a choice item, or no version) and the key."""

    item_type: str
    options: tuple[str, ...] | None
    key: tuple[str, ...]

    @property
    def basis(self) -> str:
        """The stored entry's options are valid while this string is unchanged."""
        return json.dumps([self.item_type, self.options, self.key], ensure_ascii=False)


def option_inputs(item: Item) -> OptionInputs:
    """The item type decides (:mod:`itembank.itemtypes`): a choice type's labels and key."""
    version = item.current_version
    kind = ITEM_TYPES.get(item.item_type)
    if version is None or kind is None or not kind.is_choice:
        return OptionInputs(item.item_type, None, ())
    spec = version.spec
    key = tuple(kind.key_labels(spec))
    if kind.multi_select:  # one pattern of letters, as a response is coded (bit mask)
        key = ("".join(sorted(key)),)
    return OptionInputs(item.item_type, tuple(kind.choice_labels(spec)), key)


def option_labels(
    inputs: OptionInputs, codes: NDArray[np.int64]
) -> tuple[Sequence[str] | dict[int, str], list[str]] | None:
    """Choice-code labels and the key (see :mod:`grading.psychometrics.responses`: option
    index, 判断题 √ = 0 / × = 1, 多选题 bit mask); None for an item without options."""
    if inputs.options is None:
        return None
    kind = ITEM_TYPES.get(inputs.item_type)
    if kind is None or not kind.multi_select:
        return list(inputs.options), list(inputs.key)
    letters = list(inputs.options)
    key = inputs.key[0]

    def pattern(code: int) -> str:
        return "".join(letter for i, letter in enumerate(letters) if code & (1 << i))

    key_code = sum(1 << letters.index(k) for k in key if k in letters)
    seen = sorted({int(c) for c in codes if 0 < c < (1 << len(letters))} | {key_code})
    # Response patterns as options: the key first, then by how many options, then A…
    ordered = sorted(seen, key=lambda c: (c != key_code, bin(c).count("1"), pattern(c)))
    return {c: pattern(c) for c in ordered}, [key]


def response_matrices(
    data: Mapping[str, NDArray[Any]], n_examinees: int
) -> tuple[Float, NDArray[np.int64] | None, NDArray[np.str_] | None]:
    """Scores, choices and groups of a response set's unpacked arrays (choices or groups that
    do not fit the scores are left out)."""
    scores = np.asarray(data["scores"], dtype=float)
    if scores.ndim != 2:
        scores = scores.reshape(n_examinees, -1)
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


def matching_posterior(
    scores: Float, item_ids: Sequence[int], params: Mapping[int, Parameters], exclude: int | None = None
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


def _num(value: Any) -> float | None:
    v = float(value)
    return v if np.isfinite(v) else None


def item_entries(
    scores: Float,
    choices: NDArray[np.int64] | None,
    item_ids: Sequence[int],
    params: Mapping[int, Parameters],
    inputs: Mapping[int, OptionInputs],
    only: Collection[int] | None = None,
) -> dict[int, dict[str, Any]]:
    """The matrix-derived part of the item report of every item of ``item_ids`` that has
    parameters (and options inputs), or of those in ``only``: its CTT statistics, observed ICC
    (or the note why none) and distractor table (or the note). Decoded by :func:`decode`."""
    wanted = [iid for iid in dict.fromkeys(item_ids) if iid in params and iid in inputs
              and (only is None or iid in only)]
    if not wanted:
        return {}
    stats = ctt.item_statistics(scores, max_scores=column_max(scores))
    binary = binary_columns(scores)
    # The rest-θ posteriors: one likelihood over the matching columns, each item divided out.
    matching = [k for k, iid in enumerate(item_ids) if iid in params and binary[k]]
    loo = LeaveOneOut(scores[:, matching], [params[item_ids[k]].a for k in matching],
                      [params[item_ids[k]].b for k in matching],
                      [params[item_ids[k]].c or 0.0 for k in matching]) if matching else None
    position = {k: i for i, k in enumerate(matching)}
    rest_scores = RestScores(scores) if choices is not None else None
    out: dict[int, dict[str, Any]] = {}
    for item_id in wanted:
        j = list(item_ids).index(item_id)
        parameter = params[item_id]
        entry: dict[str, Any] = {
            "ctt_n": int(stats.n_presented[j]), "ctt_p": _num(stats.difficulty[j]),
            "ctt_pbis": _num(stats.point_biserial[j]), "ctt_d": _num(stats.discrimination_index[j]),
            "observed": None, "observed_note": "", "options": None, "options_note": "",
        }
        # Observed proportions by rest-θ group.
        if not binary[j]:
            entry["observed_note"] = "这道试题不是 0/1 计分，不绘制实测通过率。"
        elif loo is None or len(matching) - (j in position) == 0:
            entry["observed_note"] = "该次标定中没有其他可用于估计能力的试题。"
        else:
            p_nodes = item_curves(parameter.a, parameter.b, parameter.c, loo.nodes).probability
            rest = loo.rest(position.get(j, -1), p_nodes)
            observed = observed_icc(scores[:, j], rest.theta, rest.expected, parameter.a, parameter.b,
                                    parameter.c, latent=(rest.mean, rest.sd),
                                    n_matching_items=len(matching) - (j in position))
            entry["observed"] = dataclasses.asdict(observed)
        # Distractor table.
        item_inputs = inputs[item_id]
        presented = ~np.isnan(scores[:, j])
        recorded = choices[presented, j] if choices is not None else np.zeros(0, dtype=np.int64)
        labelled = option_labels(item_inputs, recorded)
        if labelled is None:
            kind = item_inputs.item_type
            type_label = ITEM_TYPES[kind].label if kind in ITEM_TYPES else kind
            entry["options_note"] = f"{type_label}没有选项，不做选项分析。"
        elif choices is None or not (recorded >= 0).any():
            entry["options_note"] = "该作答数据没有记录考生对这道试题所选的选项（只有得分）。"
        else:
            labels, key = labelled
            entry["options"] = [dataclasses.asdict(o) for o in distractor_rows(scores, choices, j, labels, key,
                                                                      rest_scores=rest_scores)]
        entry["basis"] = item_inputs.basis
        out[item_id] = entry
    return out


@dataclass(frozen=True)
class StoredEntry:
    """A decoded entry: the fields of :class:`grading.psychometrics.reports.ItemReport` it fills."""

    ctt_n: int
    ctt_p: float | None
    ctt_pbis: float | None
    ctt_d: float | None
    observed: ObservedIcc | None
    observed_note: str
    options: tuple[OptionRow, ...] | None
    options_note: str


def decode(entry: Mapping[str, Any]) -> StoredEntry:
    observed = None
    if (obs := entry["observed"]) is not None:
        groups = tuple(ScoreGroup(**g) for g in obs["groups"])
        observed = ObservedIcc(**{**obs, "groups": groups})
    options = None if entry["options"] is None else tuple(OptionRow(**o) for o in entry["options"])
    return StoredEntry(ctt_n=entry["ctt_n"], ctt_p=entry["ctt_p"], ctt_pbis=entry["ctt_pbis"],
                       ctt_d=entry["ctt_d"], observed=observed, observed_note=entry["observed_note"],
                       options=options, options_note=entry["options_note"])


def _encode(entry: Mapping[str, Any]) -> str:
    # NaN stays NaN (Python's JSON reads it back); floats round-trip exactly.
    return json.dumps({k: v for k, v in entry.items() if k != "basis"}, ensure_ascii=False)


def load_entry(session: Session, run_id: int, item_id: int, inputs: OptionInputs) -> StoredEntry | None:
    """The stored entry if it is current (this :data:`FORMAT_VERSION`, the item's options as
    they are now); None when it must be computed."""
    row = session.execute(
        select(ItemReportStats.format_version, ItemReportStats.options_basis, ItemReportStats.payload)
        .where(ItemReportStats.run_id == run_id, ItemReportStats.item_id == item_id)
    ).first()
    if row is None or row.format_version != FORMAT_VERSION or row.options_basis != inputs.basis:
        return None
    return decode(json.loads(row.payload))


def store_entries(session: Session, run_id: int, entries: Mapping[int, Mapping[str, Any]]) -> None:
    """Insert or replace the entries of ``run_id`` (in the caller's transaction)."""
    if not entries:
        return
    existing = {
        row.item_id: row for row in session.scalars(
            select(ItemReportStats).where(ItemReportStats.run_id == run_id,
                                          ItemReportStats.item_id.in_(list(entries))))
    }
    for item_id, entry in entries.items():
        row = existing.get(item_id)
        if row is None:
            row = ItemReportStats(run_id=run_id, item_id=item_id)
            session.add(row)
        row.format_version = FORMAT_VERSION
        row.options_basis = str(entry["basis"])
        row.payload = _encode(entry)
    session.flush()


def stale_items(session: Session, run: CalibrationRun) -> list[int]:
    """Items of ``run`` (with parameters, in its response set) whose entry is missing or stale."""
    ids = set(json.loads(session.scalar(
        select(ResponseSet.item_ids_json).where(ResponseSet.id == run.response_set_id)) or "[]"))
    params = {p.item_id: p for p in run.parameters if p.item_id in ids}
    if not params:
        return []
    items = {i.id: i for i in session.scalars(select(Item).where(Item.id.in_(list(params))))}
    stored = {row.item_id: row for row in session.execute(
        select(ItemReportStats.item_id, ItemReportStats.format_version, ItemReportStats.options_basis)
        .where(ItemReportStats.run_id == run.id))}
    out = []
    for item_id in sorted(params):
        row = stored.get(item_id)
        if item_id in items and (row is None or row.format_version != FORMAT_VERSION
                                 or row.options_basis != option_inputs(items[item_id]).basis):
            out.append(item_id)
    return out


def backfill_run(session: Session, run: CalibrationRun) -> int:
    """Compute and store the missing or stale entries of a finished run (one decompression of
    its matrix); returns how many were written. For ``flask grading reports --backfill``."""
    todo = stale_items(session, run)
    if not todo:
        return 0
    items = {i.id: i for i in session.scalars(select(Item).where(Item.id.in_(todo)))}
    rs = run.response_set
    scores, choices, _ = response_matrices(rs.arrays(), rs.n_examinees)
    params = {p.item_id: p for p in run.parameters}
    entries = item_entries(scores, choices, rs.item_ids, params,
                           {item_id: option_inputs(item) for item_id, item in items.items()}, only=set(todo))
    store_entries(session, run.id, entries)
    return len(entries)
