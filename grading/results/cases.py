"""The decision engine's input from the database (认定依据): one :class:`~grading.results.decision.Case`
per registration, built from the stored rows.

For a registration (a person in a batch of one occupation/工种 and level) the case holds:

* the scheme of its method (:func:`grading.results.schemes.schemes_for_level`) and the rules of
  :data:`foundation.settings.DEFAULT_RULES` ``results_rules``;
* the person's component results of every registration for the same occupation, 工种 and level:
  this registration's own (``batch`` None), and those of other batches (carry-over and earlier
  failures, ``batch`` 「批次<id>」) sat from twice the validity period before this
  registration's first sitting up to its last sitting. Twice: a pass that has just expired
  explains itself (「有效期已于…届满」) and a re-sit window opened by an earlier failure is
  seen; older results can no longer change anything. Up to its last sitting: a later batch's
  re-sit belongs to that batch's registration, not to this one (else both would qualify);
* the person's violations: tier 3 of any batch (the yearly bar is the person's), tiers 1–2 that
  cancel a result in the case, tier 4 of this registration (it holds this result only);
* for 竞赛选拔 registrations only: the person's current level in the occupation and the days
  of their earlier competition promotions (confirmed 合格 decisions of 竞赛选拔 registrations),
  and the competition results and recognition rules from :func:`competition_inputs`;
* the institution's filed scope for the batch's occupation (the entry covering the level, else
  the first covering the occupation).

A registration is not decided yet (``problems``) while one of its own results is still being
scored (``pending``, or ``held`` without a score), when it has no result at all, or when its
rows do not make a valid case (the engine's message is kept). Everything is read for a whole
list of registrations with a fixed number of queries, whatever the list's length.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from examroom.models import Batch, BatchCandidate
from examroom.models import Violation as ViolationRow
from foundation.errors import ValidationError
from foundation.institutions import ScopeBasis, ScopeEntry
from foundation.settings import get_rule
from grading.results.competitions import engine_inputs
from grading.results.decision import (
    Case,
    CompetitionResult,
    Component,
    ComponentResult,
    Method,
    RecognitionRule,
    Rules,
    Scheme,
    Violation,
    add_months,
)
from grading.results.decision_json import dump_case, dump_result, dump_violation
from grading.results.models import ComponentResult as ResultRow
from grading.results.models import LevelDecision
from grading.results.schemes import schemes_for_level

__all__ = ["LoadedCase", "RowStatements", "batch_label", "canonical_inputs", "competition_inputs", "load_cases",
           "row_statements", "rules_from_settings"]

_COMPONENTS = {c.value: c for c in Component}


@dataclass(frozen=True, slots=True)
class LoadedCase:
    """One registration's case, or why it cannot be decided yet.

    ``inputs_json`` is the case as :func:`~grading.results.decision_json.dump_case` writes it
    (without ``today``), as canonical JSON text, and ``fingerprint`` its SHA-256; both are empty
    when ``case`` is None.

    ``key`` is equal for two loaded cases of one :func:`load_cases` call exactly when their
    cases are equal (the same method, component results and violations; the scheme, scope and
    rules are the batch's), so whatever is computed from the case alone may be shared between
    them; None when the case is not shared (竞赛选拔, or not decidable)."""

    registration_id: int
    person_id: int
    case: Case | None
    problems: tuple[str, ...]
    inputs_json: str
    fingerprint: str
    key: Hashable | None = None

    @property
    def inputs(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.inputs_json) if self.inputs_json else {}
        return value


def batch_label(batch_id: int) -> str:
    """How a case names another batch (a stable id: a renamed batch is the same batch)."""
    return f"批次{batch_id}"


def canonical_inputs(case: Case) -> tuple[str, str]:
    """The case's inputs as canonical JSON text, and its SHA-256. Canonical without sorting the
    keys: :func:`~grading.results.decision_json.dump_case` writes every key, always in the same
    order, and lists in the order the loader gives them (by sitting day, then row)."""
    text = json.dumps(dump_case(case), ensure_ascii=False, separators=(",", ":"))
    return text, hashlib.sha256(text.encode()).hexdigest()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_RESULTS, _VIOLATIONS = "\x00results\x00", "\x00violations\x00"  # placeholders no case can hold


class _CanonicalTexts:
    """:func:`canonical_inputs` for the cases of one batch, written piece by piece: the scheme,
    scope and rules are the batch's (written once per method) and the results and violations
    repeat (each written once), so a case's text is joined from pieces already written. The
    same text, character for character, as :func:`canonical_inputs` (``json.dumps`` of a list
    is its items' texts joined by the separator); cases with competition inputs are written
    whole."""

    def __init__(self) -> None:
        self.frames: dict[Method, tuple[str, str, str]] = {}
        self.pieces: dict[ComponentResult | Violation, str] = {}

    def __call__(self, case: Case) -> tuple[str, str]:
        if case.competitions or case.recognition_rules or case.promotions or case.current_level is not None:
            return canonical_inputs(case)
        frame = self.frames.get(case.scheme.method)
        if frame is None:
            whole = dump_case(case)
            whole["results"], whole["violations"] = [_RESULTS], [_VIOLATIONS]
            head, rest = _dumps(whole).split(_dumps(_RESULTS))
            middle, tail = rest.split(_dumps(_VIOLATIONS))
            frame = self.frames[case.scheme.method] = (head, middle, tail)
        pieces = self.pieces
        results = []
        for r in case.results:
            piece = pieces.get(r)
            if piece is None:
                piece = pieces[r] = _dumps(dump_result(r))
            results.append(piece)
        violations = []
        for v in case.violations:
            piece = pieces.get(v)
            if piece is None:
                piece = pieces[v] = _dumps(dump_violation(v))
            violations.append(piece)
        text = frame[0] + ",".join(results) + frame[1] + ",".join(violations) + frame[2]
        return text, hashlib.sha256(text.encode()).hexdigest()


def rules_from_settings(session: Session) -> Rules:
    """The engine's rules as the centre configured them (规则配置 → 成绩判定规则)."""
    raw = get_rule(session, "results_rules")
    # One gate for the panels and the engine: 综合评审 only after theory and skill (规则配置 → 业绩评审与综合评审).
    gate = (Component.THEORY, Component.SKILL) if get_rule(session, "panel_rules")["review_requires_passes"] else ()
    return Rules(validity_months=int(raw["validity_months"]), resits=int(raw["resits"]),
                 absence_counts_as_attempt=bool(raw["absence_counts_as_attempt"]),
                 promotions_per_year=int(raw["promotions_per_year"]), review_prerequisites=gate)


def competition_inputs(
    session: Session, batch: Batch, registrations: Sequence[tuple[int, int]], on: dt.date,
) -> dict[int, tuple[tuple[CompetitionResult, ...], tuple[RecognitionRule, ...]]]:
    """The competition results (of the batch's occupation, ended by ``on``) and the recognition
    rules of each 竞赛选拔 registration ``(registration id, person id)``, by registration id
    (:func:`grading.results.competitions.engine_inputs`). Unfiled competitions are included: the
    engine says they do not count. One query per such registration: a batch holds few."""
    out = {}
    for registration_id, person_id in registrations:
        inputs = engine_inputs(session, person_id, on=on, occupation_id=batch.occupation_id)
        out[registration_id] = (inputs.competitions, inputs.recognition_rules)
    return out


@dataclass(slots=True)
class _Reg:
    id: int
    person_id: int
    method: str


def _scope(session: Session, batch: Batch) -> tuple[int, int] | None:
    entries = session.scalars(select(ScopeEntry).where(
        ScopeEntry.institution_id == batch.institution_id, ScopeEntry.basis == ScopeBasis.FILED.value,
        ScopeEntry.occupation_id == batch.occupation_id)).all()
    covering = [e for e in entries if e.work_type_id is None or e.work_type_id == batch.work_type_id]
    inside = [e for e in covering if e.highest_level <= batch.level <= e.lowest_level]
    found = inside or covering
    return (found[0].lowest_level, found[0].highest_level) if found else None


def _same_target(batch: Batch) -> Any:
    """Batches of the same occupation, 工种 and level as ``batch``."""
    work_type = (Batch.work_type_id.is_(None) if batch.work_type_id is None
                 else Batch.work_type_id == batch.work_type_id)
    return and_(Batch.occupation_id == batch.occupation_id, work_type, Batch.level == batch.level)


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True, slots=True)
class RowStatements:
    """The queries that read a batch's decision rows (the benchmark fetches exactly these)."""

    registrations: Select[int, int, str]
    targets: Select[int]
    results: Select[int, int, int, str, dt.date, str, Decimal | None]
    violations: Select[int, int, int, int, str | None, dt.date]


def row_statements(batch: Batch, today: dt.date, registration_ids: Sequence[int] | None = None) -> RowStatements:
    """The registrations of ``batch`` (or those listed), the batches of the same occupation,
    工种 and level, and the persons' component results and violations up to ``today``.

    The persons' rows are found by person (``person_id`` is indexed on both tables) and the
    other batches are kept or dropped in Python: joined to ``batch`` in SQL, SQLite without
    table statistics started from the occupation's batches and read every result of every batch
    of it for each batch decided (measured: 100,000 registrations took minutes)."""
    regs = select(BatchCandidate.id, BatchCandidate.person_id, BatchCandidate.method).where(
        BatchCandidate.batch_id == batch.id)
    persons = select(BatchCandidate.person_id).where(BatchCandidate.batch_id == batch.id)
    if registration_ids is not None:
        regs = regs.where(BatchCandidate.id.in_(registration_ids))
        persons = persons.where(BatchCandidate.id.in_(registration_ids))
    return RowStatements(
        registrations=regs.order_by(BatchCandidate.id),
        targets=select(Batch.id).where(_same_target(batch)),
        results=select(ResultRow.person_id, ResultRow.registration_id, BatchCandidate.batch_id, ResultRow.component,
                       ResultRow.sat_on, ResultRow.state, ResultRow.score)
        .join(BatchCandidate, BatchCandidate.id == ResultRow.registration_id)
        .where(ResultRow.person_id.in_(persons), ResultRow.sat_on <= today)
        .order_by(ResultRow.sat_on, ResultRow.id),
        violations=select(ViolationRow.person_id, ViolationRow.registration_id, BatchCandidate.batch_id,
                          ViolationRow.tier, ViolationRow.component, ViolationRow.occurred_on)
        .join(BatchCandidate, BatchCandidate.id == ViolationRow.registration_id)
        .where(ViolationRow.person_id.in_(persons), ViolationRow.occurred_on <= today,
               # a tier-4 hold the centre released (/holds) no longer holds the decision
               or_(ViolationRow.tier != 4, ViolationRow.released_at.is_(None)))
        .order_by(ViolationRow.occurred_on, ViolationRow.id),
    )


def load_cases(session: Session, batch: Batch, today: dt.date,
               registration_ids: Iterable[int] | None = None) -> list[LoadedCase]:
    """The case of every registration of ``batch`` (or of those in ``registration_ids``), in
    registration order, as of ``today``: eight queries whatever the number of registrations
    (with 竞赛选拔 registrations, one more and one per such registration for its competitions)."""
    wanted = None if registration_ids is None else sorted(set(registration_ids))
    statements = row_statements(batch, today, wanted)
    regs = [_Reg(*row) for row in session.execute(statements.registrations)]
    if not regs:
        return []
    rules = rules_from_settings(session)
    schemes = schemes_for_level(session, batch.occupation, batch.level)
    scope = _scope(session, batch)
    targets = set(session.scalars(statements.targets))

    results: dict[int, list[tuple[int, int, str, dt.date, str, Any]]] = defaultdict(list)
    for row in session.execute(statements.results):
        if row[2] in targets:
            results[row[0]].append(tuple(row[1:]))  # type: ignore[arg-type]

    violations: dict[int, list[tuple[int, int, int, str | None, dt.date]]] = defaultdict(list)
    for vrow in session.execute(statements.violations):
        violations[vrow[0]].append(tuple(vrow[1:]))  # type: ignore[arg-type]

    contest = [r for r in regs if r.method == Method.COMPETITION.value]
    held: dict[int, list[tuple[int, str, int, int, dt.date | None]]] = defaultdict(list)
    competitions: dict[int, tuple[tuple[CompetitionResult, ...], tuple[RecognitionRule, ...]]] = {}
    if contest:
        for drow in session.execute(
                select(LevelDecision.person_id, LevelDecision.registration_id, BatchCandidate.method,
                       Batch.occupation_id, LevelDecision.level, LevelDecision.qualified_on)
                .join(BatchCandidate, BatchCandidate.id == LevelDecision.registration_id)
                .join(Batch, Batch.id == BatchCandidate.batch_id)
                .where(LevelDecision.person_id.in_([r.person_id for r in contest]),
                       LevelDecision.state == "confirmed", LevelDecision.outcome == "qualified")):
            held[drow[0]].append(tuple(drow[1:]))  # type: ignore[arg-type]
        competitions = competition_inputs(session, batch, [(r.id, r.person_id) for r in contest], today)

    out = []
    made: dict[tuple[Any, ...], ComponentResult] = {}  # equal rows, one (immutable) object
    # Registrations with equal inputs (a batch's rows repeat: the same days, the same scores)
    # share one case, one canonical text and one fingerprint: the JSON and its SHA-256 are the
    # loader's largest cost per registration.
    shared: dict[Hashable, tuple[Case, str, str]] = {}
    texts = _CanonicalTexts()
    for reg in regs:
        problems: list[str] = []
        key: Hashable | None = None
        try:
            case, key = _case(reg, batch, today, rules, schemes, scope, results[reg.person_id],
                              violations[reg.person_id], held[reg.person_id], competitions.get(reg.id), problems,
                              made, shared)
        except ValidationError as exc:
            case = None
            problems.append(f"成绩或违纪记录不完整：{exc.message}")
        if case is None or problems:
            out.append(LoadedCase(reg.id, reg.person_id, None, tuple(problems), "", ""))
        elif key is None:
            out.append(LoadedCase(reg.id, reg.person_id, case, (), *canonical_inputs(case)))
        else:
            found = shared.get(key)
            if found is None:
                found = shared[key] = (case, *texts(case))
            out.append(LoadedCase(reg.id, reg.person_id, found[0], (), found[1], found[2], key))
    return out


def _result(component: Component, sat_on: dt.date, state: str, score: Any, label: str | None,
            made: dict[tuple[Any, ...], ComponentResult]) -> ComponentResult:
    """The engine's result for a row; a batch's rows repeat (the same sitting day, the same
    score), and the engine checks every one it is given, so equal rows share one object."""
    key = (component, sat_on, state, score, label)
    found = made.get(key)
    if found is None:
        found = made[key] = _new_result(component, sat_on, state, score, label)
    return found


def _new_result(component: Component, sat_on: dt.date, state: str, score: Any, label: str | None) -> ComponentResult:
    value = _decimal(score)
    if state == "absent":
        return ComponentResult(component, sat_on, absent=True, batch=label)
    if state == "void":
        return ComponentResult(component, sat_on, score=value, void=True, batch=label)
    return ComponentResult(component, sat_on, score=value, batch=label)


def _case(reg: _Reg, batch: Batch, today: dt.date, rules: Rules, schemes: dict[Method, Scheme],
          scope: tuple[int, int] | None, results: list[tuple[int, int, str, dt.date, str, Any]],
          violations: list[tuple[int, int, int, str | None, dt.date]],
          held: list[tuple[int, str, int, int, dt.date | None]],
          competitions: tuple[tuple[CompetitionResult, ...], tuple[RecognitionRule, ...]] | None,
          problems: list[str], made: dict[tuple[Any, ...], ComponentResult],
          shared: dict[Hashable, tuple[Case, str, str]]) -> tuple[Case | None, Hashable | None]:
    """The registration's case, and its sharing key (None for 竞赛选拔: its inputs are the
    person's own); ``shared`` holds the cases already made for a key."""
    method = Method(reg.method)
    own = [r for r in results if r[0] == reg.id]
    for _, _, component, _, state, score in own:
        if state == "pending" or (state == "held" and score is None):
            name = _COMPONENTS[component].label if component in _COMPONENTS else component
            problems.append(f"「{name}」成绩尚未评定完毕。")
    if method is not Method.COMPETITION and not own:
        problems.append("本批次尚无成绩。")
    if problems:
        return None, None
    chosen: list[ComponentResult] = []
    if own:
        first, last = own[0][3], own[-1][3]
        earliest = add_months(first, -2 * rules.validity_months)
        for reg_id, batch_id, component, sat_on, state, score in results:
            mine = reg_id == reg.id
            if not mine and not earliest <= sat_on <= last:
                continue
            if state == "pending" or (state == "held" and score is None) or component not in _COMPONENTS:
                continue
            chosen.append(_result(_COMPONENTS[component], sat_on, state, score,
                                  None if mine else batch_label(batch_id), made))
    fed = {(r.component, r.sat_on, r.batch) for r in chosen}
    cases_violations: list[Violation] = []
    for v_reg, v_batch, tier, subject, on in violations:
        mine = v_reg == reg.id
        where = None if mine else batch_label(v_batch)
        kind = _COMPONENTS.get(subject) if subject is not None else None
        if tier in (1, 2):
            if kind is None or (kind, on, where) not in fed:
                if mine:
                    problems.append(f"{on.isoformat()} 的第{tier}类违纪找不到对应的成绩记录。")
                continue
        elif tier == 4 and not mine:
            continue
        cases_violations.append(Violation(tier=tier, on=on, component=kind, batch=where))
    if problems:
        return None, None
    key: Hashable | None = None
    if method is not Method.COMPETITION:  # the rest of the case is the batch's: equal keys, equal cases
        key = (method, tuple(chosen), tuple(cases_violations))
        found = shared.get(key)
        if found is not None:
            return found[0], key
    scheme = schemes.get(method) or Scheme(level=batch.level, method=method, occupation=batch.occupation.name)
    current_level: int | None = None
    promotions: tuple[dt.date, ...] = ()
    contests: tuple[CompetitionResult, ...] = ()
    recognition: tuple[RecognitionRule, ...] = ()
    if method is Method.COMPETITION:
        others = [h for h in held if h[0] != reg.id]
        levels = [level for _, _, occupation_id, level, _ in others if occupation_id == batch.occupation_id]
        current_level = min(levels) if levels else None
        promotions = tuple(sorted(day for _, kind_, _, _, day in others
                                  if kind_ == Method.COMPETITION.value and day is not None and day <= today))
        contests, recognition = competitions or ((), ())
    return Case(scheme=scheme, results=tuple(chosen), violations=tuple(cases_violations), competitions=contests,
                recognition_rules=recognition, promotions=promotions, current_level=current_level, scope=scope,
                rules=rules), key
