"""The level-decision engine over one table of cases, each asserted through ``decide()`` and
through ``python -m grading.decide`` (in process for all, a real subprocess for a subset);
refused inputs; the worked examples of docs/decisions.md; and properties over generated cases."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from dataclasses import FrozenInstanceError, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foundation.errors import ValidationError
from grading.decide import main, run
from grading.results.decision import (
    Case,
    Component,
    ComponentResult,
    Decision,
    Method,
    Outcome,
    Rules,
    Scheme,
    add_months,
    decide,
    default_components,
    last_valid_day,
)
from grading.results.decision_json import dump_case, dump_decision, parse_case

ROOT = Path(__file__).resolve().parents[2]
D0 = date(2025, 3, 10)  # the first sitting of most cases


def day(offset: int) -> str:
    return (D0 + timedelta(days=offset)).isoformat()


def res(component: str, offset: int, score: float | None = None, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"component": component, "sat_on": day(offset)}
    if score is not None:
        row["score"] = score
    row.update(extra)
    return row


def case(level: int, method: str = "assessment", *, today: int = 30, **extra: Any) -> dict[str, Any]:
    scheme = {"level": level, "method": method, **extra.pop("scheme", {})}
    return {"today": day(today), "scheme": scheme, **extra}


def comp(name: str = "省职业技能大赛", klass: str = "省级一类", offset: int = 0, **extra: Any) -> dict[str, Any]:
    return {"name": name, "class": klass, "contestant_type": "职工", "on": day(offset), "filed": True, **extra}


RULES_PROVINCIAL = [
    {"class": "省级一类", "contestant_type": "职工", "current_level": 3, "max_rank": 5, "conferred_level": 2},
    {"class": "省级一类", "current_level": 4, "award": "金奖", "conferred_level": 3},
    {"class": "市级一类", "top_percent": 10, "conferred_level": 4},
]

PASS_35 = [res("theory", 0, 80), res("skill", 1, 75)]
PASS_21 = [res("theory", 0, 80), res("skill", 1, 75), res("review", 20, 70)]

#: (id, case, outcome, reason codes that must appear, extra expected output fields)
CASES: list[tuple[str, dict[str, Any], str, set[str], dict[str, Any]]] = [
    # --- every level under 认定考核: 5–3 theory + skill, 2–1 add 综合评审
    ("level5-pass", case(5, results=PASS_35), "qualified", {"passed", "qualified"}, {"qualified_on": day(1)}),
    ("level4-pass", case(4, results=PASS_35), "qualified", {"qualified"}, {}),
    ("level3-pass", case(3, results=PASS_35), "qualified", {"qualified"}, {}),
    ("level3-review-not-required", case(3, results=[*PASS_35, res("review", 20, 40)]), "qualified",
     {"qualified", "not_required"}, {}),
    ("level2-pass", case(2, results=PASS_21), "qualified", {"qualified"}, {"qualified_on": day(20)}),
    ("level1-pass", case(1, results=PASS_21), "qualified", {"qualified"}, {}),
    ("level1-review-not-yet", case(1, results=PASS_35), "resit", {"passed", "not_taken", "resit"},
     {"resit_until": day(364)}),
    ("level2-review-failed", case(2, results=[*PASS_35, res("review", 20, 59.9)]), "resit",
     {"failed_resit_open"}, {"resit_until": day(364)}),
    ("level2-theory-failed-but-review", case(2, results=[res("theory", 0, 50), res("skill", 1, 75),
                                                          res("review", 20, 90)]),
     "resit", {"review_not_open", "failed_resit_open"}, {}),
    ("level2-review-before-skill", case(2, results=[res("theory", 0, 80), res("review", 1, 90),
                                                     res("skill", 5, 75)]),
     "resit", {"review_not_open", "not_taken"}, {}),
    ("level2-review-gate-off", case(2, results=[res("theory", 0, 80), res("review", 1, 90), res("skill", 5, 75)],
                                    rules={"review_prerequisites": []}),
     "qualified", {"qualified"}, {"qualified_on": day(5)}),
    # --- methods: 考评结合 and 工作业绩评审 as component sets, competition below
    ("combined-default", case(3, "combined", results=[*PASS_35, res("performance", 3, 66)]), "qualified",
     {"qualified"}, {}),
    ("combined-default-needs-performance", case(3, "combined", results=PASS_35), "resit", {"not_taken"}, {}),
    ("combined-configured-set", case(4, "combined", scheme={"components": ["theory", "performance", "showcase"]},
                                     results=[res("theory", 0, 61), res("performance", 2, 70),
                                              res("showcase", 2, 60), res("skill", 3, 10)]),
     "qualified", {"qualified", "not_required"}, {}),
    ("performance-level4", case(4, "performance", results=[res("performance", 0, 88)]), "qualified",
     {"qualified"}, {}),
    ("performance-level2-with-review", case(2, "performance", results=[res("performance", 0, 88),
                                                                          res("review", 10, 72)]),
     "qualified", {"qualified"}, {}),
    ("ethics-attestation", case(4, scheme={"components": ["theory", "skill", "ethics"]},
                                results=[*PASS_35, res("ethics", 2, 0)]),
     "resit", {"failed_resit_open"}, {}),
    # --- pass marks: 60 by default, ≥ passes, configurable per rule and per component
    ("pass-at-exactly-60", case(4, results=[res("theory", 0, 60), res("skill", 1, 60)]), "qualified",
     {"qualified"}, {}),
    ("fail-at-59.9", case(4, results=[res("theory", 0, 59.9), res("skill", 1, 60)]), "resit",
     {"failed_resit_open"}, {}),
    ("scheme-pass-mark-70", case(4, scheme={"pass_marks": {"theory": 70}},
                                 results=[res("theory", 0, 65), res("skill", 1, 65)]),
     "resit", {"failed_resit_open"}, {}),
    ("rules-pass-mark-50", case(4, rules={"pass_mark": 50}, results=[res("theory", 0, 55), res("skill", 1, 50)]),
     "qualified", {"qualified"}, {}),
    ("nothing-passed", case(4, results=[res("theory", 0, 20), res("skill", 1, 30)]), "failed", {"failed"}, {}),
    ("nothing-sat", case(4, results=[]), "failed", {"not_taken", "failed"}, {}),
    # --- absences count as a failed attempt (configurable)
    ("skill-absent-resit", case(4, results=[res("theory", 0, 70), res("skill", 1, absent=True)]), "resit",
     {"failed_resit_open"}, {"resit_until": day(364)}),
    ("absent-then-resit-failed", case(4, results=[res("theory", 0, 70), res("skill", 1, absent=True),
                                                  res("skill", 60, 40)], today=90),
     "failed", {"failed_no_resit"}, {}),
    ("absent-not-counted", case(4, rules={"absence_counts_as_attempt": False},
                                results=[res("theory", 0, 70), res("skill", 1, absent=True), res("skill", 60, 40)],
                                today=90),
     "resit", {"absent_not_counted", "failed_resit_open"}, {"resit_until": day(364)}),
    ("absent-not-counted-then-passes", case(4, rules={"absence_counts_as_attempt": False},
                                            results=[res("theory", 0, 70), res("skill", 1, absent=True),
                                                     res("skill", 60, 40), res("skill", 90, 70)], today=100),
     "qualified", {"absent_not_counted", "qualified"}, {}),
    # --- violations: tiers 1–2 void the subject, 3 voids the batch and bans, 4 holds
    ("tier1-voids-theory", case(4, results=[res("theory", 0, 95), res("skill", 1, 80)],
                                violations=[{"tier": 1, "on": day(0), "component": "theory"}]),
     "resit", {"void_violation", "failed_resit_open"}, {}),
    ("tier2-voids-skill-then-resit", case(4, results=[res("theory", 0, 95), res("skill", 1, 80), res("skill", 50, 70)],
                                          violations=[{"tier": 2, "on": day(1), "component": "skill"}], today=60),
     "qualified", {"void_violation", "qualified"}, {"qualified_on": day(50)}),
    ("void-flag-counts-as-attempt", case(4, results=[res("theory", 0, 95), res("skill", 1, void=True),
                                                     res("skill", 50, 40)], today=60),
     "failed", {"void", "failed_no_resit"}, {}),
    ("tier3-voids-batch-and-bans", case(4, results=PASS_35, violations=[{"tier": 3, "on": day(1)}]), "failed",
     {"banned", "void_violation"}, {"qualified_on": None}),
    ("tier3-ban-ends-with-year", case(4, results=[res("theory", 0, 80, batch="2025-03"), res("skill", 1, 75,
                                                                                                batch="2025-03"),
                                                  res("theory", 320, 80), res("skill", 321, 75)],
                                      violations=[{"tier": 3, "on": day(1), "batch": "2025-03"}], today=330),
     "qualified", {"void_violation", "qualified"}, {"qualified_on": day(321)}),
    ("tier3-bans-later-sittings-same-year", case(4, results=[res("theory", 100, 80), res("skill", 101, 75)],
                                                 violations=[{"tier": 3, "on": day(50), "batch": "2025-04"}],
                                                 today=110),
     "failed", {"banned", "void_banned"}, {}),
    ("tier3-after-qualifying-elsewhere", case(4, results=PASS_35, violations=[{"tier": 3, "on": day(20),
                                                                                 "batch": "2025-04"}]),
     "qualified", {"qualified"}, {}),
    ("tier4-holds", case(4, results=PASS_35, violations=[{"tier": 4, "on": day(1)}]), "held", {"held"},
     {"qualified_on": None}),
    ("tier4-other-batch-no-hold", case(4, results=PASS_35, violations=[{"tier": 4, "on": day(1), "batch": "X"}]),
     "qualified", {"qualified"}, {}),
    # --- carry-over: a pass stays valid 12 months (last day = day before the anniversary)
    ("carry-over-364-days", case(4, results=[res("theory", 0, 80, batch="2025-03"), res("skill", 0, 40,
                                                                                          batch="2025-03"),
                                             res("skill", 364, 70)], today=370),
     "qualified", {"passed", "qualified"}, {"qualified_on": day(364)}),
    ("carry-over-366-days", case(4, results=[res("theory", 0, 80, batch="2025-03"), res("skill", 0, 40,
                                                                                          batch="2025-03"),
                                             res("skill", 366, 70)], today=370),
     "resit", {"expired", "passed"}, {"resit_until": day(366 + 364)}),
    ("carried-pass-valid-day-364", case(4, results=[res("theory", 0, 80), res("skill", 0, 40)], today=364),
     "resit", {"failed_resit_open"}, {"resit_until": day(364)}),
    ("carried-pass-gone-day-366", case(4, results=[res("theory", 0, 80), res("skill", 0, 40)], today=366),
     "failed", {"expired", "failed_window_closed", "failed"}, {}),
    ("resit-deadline-earliest-expiry", case(4, results=[res("theory", 0, 80), res("skill", 100, 40)], today=120),
     "resit", {"failed_resit_open"}, {"resit_until": day(364)}),
    ("validity-months-configured", case(4, rules={"validity_months": 6},
                                        results=[res("theory", 0, 80), res("skill", 0, 40), res("skill", 200, 70)],
                                        today=210),
     "resit", {"expired"}, {}),
    # --- re-sits: one inside the window, a second refused
    ("one-resit-passes", case(4, results=[res("theory", 0, 80), res("skill", 1, 50), res("skill", 90, 61)],
                              today=100),
     "qualified", {"qualified"}, {"qualified_on": day(90)}),
    ("second-resit-refused", case(4, results=[res("theory", 0, 80), res("skill", 1, 50), res("skill", 90, 55),
                                              res("skill", 180, 90)], today=200),
     "failed", {"resit_refused", "failed_no_resit"}, {}),
    ("second-resit-allowed-by-rule", case(4, rules={"resits": 2},
                                          results=[res("theory", 0, 80), res("skill", 1, 50), res("skill", 90, 55),
                                                   res("skill", 180, 90)], today=200),
     "qualified", {"qualified"}, {"qualified_on": day(180)}),
    ("no-resits-by-rule", case(4, rules={"resits": 0}, results=[res("theory", 0, 80), res("skill", 1, 50)]),
     "failed", {"failed_no_resit"}, {}),
    # --- competition selection
    ("competition-rank", case(2, "competition", competitions=[comp(rank=3)], recognition_rules=RULES_PROVINCIAL,
                              current_level=3),
     "qualified", {"competition_recognised"}, {"qualified_on": day(0)}),
    ("competition-award", case(3, "competition", competitions=[comp(award="金奖")],
                               recognition_rules=RULES_PROVINCIAL, current_level=4),
     "qualified", {"competition_recognised"}, {}),
    ("competition-top-percent", case(4, "competition", competitions=[comp(klass="市级一类", top_percent=8)],
                                     recognition_rules=RULES_PROVINCIAL),
     "qualified", {"competition_recognised"}, {}),
    ("competition-not-filed", case(2, "competition", competitions=[comp(rank=1, filed=False)],
                                   recognition_rules=RULES_PROVINCIAL, current_level=3),
     "failed", {"competition_not_filed"}, {}),
    ("competition-rank-too-low", case(2, "competition", competitions=[comp(rank=6)],
                                      recognition_rules=RULES_PROVINCIAL, current_level=3),
     "failed", {"competition_no_rule"}, {}),
    ("competition-contestant-type", case(2, "competition", competitions=[comp(rank=1, contestant_type="学生")],
                                         recognition_rules=RULES_PROVINCIAL, current_level=3),
     "failed", {"competition_no_rule"}, {}),
    ("competition-other-level", case(1, "competition", competitions=[comp(rank=1)],
                                     recognition_rules=RULES_PROVINCIAL, current_level=3),
     "failed", {"competition_other_level"}, {}),
    ("competition-not-a-promotion", case(4, "competition", competitions=[comp(klass="市级一类", top_percent=1)],
                                         recognition_rules=RULES_PROVINCIAL, current_level=3),
     "failed", {"competition_not_promotion"}, {}),
    ("competition-second-promotion-refused", case(2, "competition", competitions=[comp(rank=2, offset=200)],
                                                  recognition_rules=RULES_PROVINCIAL, current_level=3,
                                                  promotions=[day(30)], today=210),
     "failed", {"promotion_limit"}, {}),
    ("competition-promotion-last-year", case(2, "competition", competitions=[comp(rank=2, offset=300)],
                                             recognition_rules=RULES_PROVINCIAL, current_level=3,
                                             promotions=[day(-100)], today=310),
     "qualified", {"competition_recognised"}, {}),
    ("competition-none-given", case(2, "competition", current_level=3), "failed", {"no_competition"}, {}),
    ("competition-out-of-scope", case(2, "competition", competitions=[comp(rank=1)],
                                      recognition_rules=RULES_PROVINCIAL, current_level=3,
                                      scope={"lowest": 5, "highest": 3}),
     "failed", {"out_of_scope", "competition_recognised"}, {"qualified_on": None}),
    ("competition-in-scope", case(2, "competition", competitions=[comp(rank=1)], recognition_rules=RULES_PROVINCIAL,
                                  current_level=3, scope={"lowest": 5, "highest": 1}),
     "qualified", {"competition_recognised"}, {}),
    ("competition-tier4-holds", case(2, "competition", competitions=[comp(rank=1)], recognition_rules=RULES_PROVINCIAL,
                                     current_level=3, violations=[{"tier": 4, "on": day(0)}]),
     "held", {"held"}, {}),
    ("assessment-out-of-scope", case(2, results=PASS_21, scope={"lowest": 5, "highest": 3}), "failed",
     {"out_of_scope"}, {}),
]

IDS = [c[0] for c in CASES]
assert len(set(IDS)) == len(IDS)


def _check(output: dict[str, Any], outcome: str, codes: set[str], extra: dict[str, Any]) -> None:
    assert output["outcome"] == outcome, [r["text"] for r in output["reasons"]]
    got = {r["code"] for r in output["reasons"]}
    assert codes <= got, (codes - got, [r["text"] for r in output["reasons"]])
    for key, value in extra.items():
        assert output[key] == value, (key, output[key])
    assert all(r["text"] for r in output["reasons"])


@pytest.mark.parametrize(("data", "outcome", "codes", "extra"), [c[1:] for c in CASES], ids=IDS)
def test_decide(data: dict[str, Any], outcome: str, codes: set[str], extra: dict[str, Any]) -> None:
    parsed, today = parse_case(json.loads(json.dumps(data)))
    decision = decide(parsed, today)
    assert decision.outcome is Outcome(outcome)
    _check(dump_decision(decision), outcome, codes, extra)


@pytest.mark.parametrize(("data", "outcome", "codes", "extra"), [c[1:] for c in CASES], ids=IDS)
def test_cli_in_process(data: dict[str, Any], outcome: str, codes: set[str], extra: dict[str, Any]) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    assert main([], io.StringIO(json.dumps(data, ensure_ascii=False)), stdout, stderr) == 0
    assert stderr.getvalue() == ""
    _check(json.loads(stdout.getvalue()), outcome, codes, extra)


SUBPROCESS_IDS = ["level2-pass", "carry-over-366-days", "second-resit-refused", "tier3-voids-batch-and-bans",
                  "competition-second-promotion-refused", "tier4-holds"]


def _cli(text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grading.decide"], input=text, capture_output=True, text=True,
                          cwd=ROOT, timeout=60, check=False)


@pytest.mark.parametrize("case_id", SUBPROCESS_IDS)
def test_cli_subprocess(case_id: str) -> None:
    _, data, outcome, codes, extra = CASES[IDS.index(case_id)]
    proc = _cli(json.dumps(data))
    assert proc.returncode == 0, proc.stderr
    _check(json.loads(proc.stdout), outcome, codes, extra)


# --------------------------------------------------------------------------- refused inputs

GOOD = case(4, results=PASS_35)

BAD: list[tuple[str, Any, str]] = [
    ("score-above-100", {**GOOD, "results": [res("theory", 0, 100.5)]}, "results[0].score"),
    ("score-negative", {**GOOD, "results": [res("theory", 0, -1)]}, "results[0].score"),
    ("score-two-decimals", {**GOOD, "results": [res("theory", 0, 72.55)]}, "results[0].score"),
    ("score-string", {**GOOD, "results": [{"component": "theory", "sat_on": day(0), "score": "80"}]},
     "results[0].score"),
    ("score-missing", {**GOOD, "results": [res("theory", 0)]}, "results[0].score"),
    ("absent-with-score", {**GOOD, "results": [res("theory", 0, 50, absent=True)]}, "results[0].score"),
    ("unknown-component", {**GOOD, "results": [res("drawing", 0, 50)]}, "results[0].component"),
    ("bad-date", {**GOOD, "results": [{"component": "theory", "sat_on": "2025-02-30", "score": 5}]},
     "results[0].sat_on"),
    ("result-after-today", {**GOOD, "results": [res("theory", 31, 70)]}, "results[0].sat_on"),
    ("duplicate-result", {**GOOD, "results": [res("theory", 0, 70), res("theory", 0, 80)]}, "results[1]"),
    ("attempt-order", {**GOOD, "results": [res("theory", 0, 50, attempt=2), res("theory", 9, 80, attempt=1)]},
     "results"),
    ("unknown-key", {**GOOD, "todya": day(1)}, "todya"),
    ("unknown-result-key", {**GOOD, "results": [res("theory", 0, 50, note="x")]}, "results[0].note"),
    ("missing-today", {"scheme": GOOD["scheme"]}, "today"),
    ("missing-scheme", {"today": day(0)}, "scheme"),
    ("level-6", {**GOOD, "scheme": {"level": 6, "method": "assessment"}}, "scheme.level"),
    ("level-bool", {**GOOD, "scheme": {"level": True, "method": "assessment"}}, "scheme.level"),
    ("unknown-method", {**GOOD, "scheme": {"level": 4, "method": "interview"}}, "scheme.method"),
    ("competition-with-components", {**GOOD, "scheme": {"level": 4, "method": "competition",
                                                         "components": ["theory"]}}, "scheme.components"),
    ("empty-components", {**GOOD, "scheme": {"level": 4, "method": "combined", "components": []}},
     "scheme.components"),
    ("duplicate-components", {**GOOD, "scheme": {"level": 4, "method": "combined",
                                                  "components": ["theory", "theory"]}}, "scheme.components"),
    ("pass-mark-not-required", {**GOOD, "scheme": {"level": 4, "method": "assessment",
                                                    "pass_marks": {"review": 70}}}, "scheme.pass_marks.review"),
    ("tier-5", {**GOOD, "violations": [{"tier": 5, "on": day(0)}]}, "violations[0].tier"),
    ("tier1-without-subject", {**GOOD, "violations": [{"tier": 1, "on": day(0)}]}, "violations[0].component"),
    ("tier1-without-result", {**GOOD, "violations": [{"tier": 1, "on": day(3), "component": "theory"}]},
     "violations[0]"),
    ("rules-resits-negative", {**GOOD, "rules": {"resits": -1}}, "rules.resits"),
    ("rules-validity-zero", {**GOOD, "rules": {"validity_months": 0}}, "rules.validity_months"),
    ("rules-review-prereq-self", {**GOOD, "rules": {"review_prerequisites": ["review"]}}, "rules.review_prerequisites"),
    ("scope-inverted", {**GOOD, "scope": {"lowest": 3, "highest": 5}}, "scope.highest"),
    ("competition-without-criterion", {**GOOD, "competitions": [comp()]}, "competitions[0].rank"),
    ("rule-two-criteria", {**GOOD, "recognition_rules": [{"class": "x", "conferred_level": 3, "max_rank": 3,
                                                           "award": "金奖"}]}, "recognition_rules[0].max_rank"),
    ("promotion-after-today", {**GOOD, "promotions": [day(40)]}, "promotions[0]"),
    ("not-an-object", [1, 2], "$"),
]


@pytest.mark.parametrize(("data", "where"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_refused_input_names_the_field(data: Any, where: str) -> None:
    with pytest.raises(ValidationError) as info:
        run(json.dumps(data))
    assert info.value.field == where
    assert re.search(r"[\u4e00-\u9fff]", info.value.message)
    stdout, stderr = io.StringIO(), io.StringIO()
    assert main([], io.StringIO(json.dumps(data)), stdout, stderr) == 2
    assert json.loads(stdout.getvalue()) == {"error": info.value.message, "field": where}
    assert stderr.getvalue().strip() == info.value.message


@pytest.mark.parametrize("text", ["", "{", '{"today": NaN}', "[1, Infinity]", "not json"])
def test_not_json_is_refused(text: str) -> None:
    proc = _cli(text) if text == "not json" else None
    if proc is not None:
        assert proc.returncode == 2
        assert json.loads(proc.stdout)["field"] == "$"
        assert "JSON" in proc.stderr
    stdout = io.StringIO()
    assert main([], io.StringIO(text), stdout, io.StringIO()) == 2
    assert "输入不是有效的 JSON" in json.loads(stdout.getvalue())["error"]


def test_arguments_print_usage() -> None:
    err = io.StringIO()
    assert main(["--help"], io.StringIO(""), io.StringIO(), err) == 0
    assert "python -m grading.decide" in err.getvalue()
    assert main(["case.json"], io.StringIO(""), io.StringIO(), io.StringIO()) == 2


def test_today_must_be_a_date() -> None:
    parsed, _ = parse_case(GOOD)
    with pytest.raises(ValidationError) as info:
        decide(parsed, "2025-04-01")  # type: ignore[arg-type]
    assert info.value.field == "today"


# --------------------------------------------------------------------------- dates and defaults


@pytest.mark.parametrize(("sat", "expected"), [
    (date(2025, 3, 10), date(2026, 3, 9)),
    (date(2024, 2, 29), date(2025, 2, 28)),  # the anniversary rolls to 1 March
    (date(2025, 1, 1), date(2025, 12, 31)),
    (date(2025, 12, 31), date(2026, 12, 30)),
])
def test_last_valid_day(sat: date, expected: date) -> None:
    assert last_valid_day(sat, 12) == expected


def test_add_months_rolls_missing_days_forward() -> None:
    assert add_months(date(2025, 1, 31), 1) == date(2025, 3, 1)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 3, 1)
    assert add_months(date(2025, 11, 15), 3) == date(2026, 2, 15)


@pytest.mark.parametrize("level", [5, 4, 3, 2, 1])
def test_default_components(level: int) -> None:
    review = (Component.REVIEW,) if level <= 2 else ()
    assert default_components(Method.ASSESSMENT, level) == (Component.THEORY, Component.SKILL, *review)
    assert default_components(Method.COMBINED, level) == (Component.THEORY, Component.SKILL,
                                                          Component.PERFORMANCE, *review)
    assert default_components(Method.PERFORMANCE, level) == (Component.PERFORMANCE, *review)
    assert default_components(Method.COMPETITION, level) == ()


def test_inputs_and_decision_are_frozen() -> None:
    parsed, today = parse_case(GOOD)
    decision = decide(parsed, today)
    with pytest.raises(FrozenInstanceError):
        decision.outcome = Outcome.FAILED  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        parsed.scheme.level = 1  # type: ignore[misc]
    assert decision.summary == "四级/中级工：合格"


# --------------------------------------------------------------------------- docs/decisions.md


def _doc_examples() -> list[tuple[str, str]]:
    text = (ROOT / "docs" / "decisions.md").read_text(encoding="utf-8")
    section = text.split("## Worked examples", 1)[1]
    blocks = re.findall(r"```json\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 4 and len(blocks) % 2 == 0
    return [(blocks[i], blocks[i + 1]) for i in range(0, len(blocks), 2)]


@pytest.mark.parametrize("index", [0, 1])
def test_doc_examples_are_what_the_cli_prints(index: int) -> None:
    given_input, printed = _doc_examples()[index]
    proc = _cli(given_input)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == printed


# --------------------------------------------------------------------------- properties

COMPONENTS = list(Component)
scores = st.one_of(st.none(), st.integers(0, 1000).map(lambda n: Decimal(n) / 10))


@st.composite
def results(draw: st.DrawFn) -> ComponentResult:
    component = draw(st.sampled_from(COMPONENTS))
    offset = draw(st.integers(0, 800))
    score = draw(scores)
    absent = score is None and draw(st.booleans())
    void = score is None and not absent
    return ComponentResult(component=component, sat_on=D0 + timedelta(days=offset), score=score, absent=absent,
                           void=void, batch=draw(st.sampled_from([None, "earlier"])))


@st.composite
def cases(draw: st.DrawFn) -> tuple[Case, date]:
    level = draw(st.integers(1, 5))
    method = draw(st.sampled_from([Method.ASSESSMENT, Method.COMBINED, Method.PERFORMANCE]))
    rows = draw(st.lists(results(), max_size=8, unique_by=lambda r: (r.component, r.sat_on, r.batch)))
    rules = Rules(resits=draw(st.integers(0, 2)), validity_months=draw(st.sampled_from([6, 12, 24])),
                  absence_counts_as_attempt=draw(st.booleans()))
    latest = max((r.sat_on for r in rows), default=D0)
    today = latest + timedelta(days=draw(st.integers(0, 800)))
    return Case(scheme=Scheme(level=level, method=method), results=tuple(rows), rules=rules), today


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_decide_is_total_and_deterministic(generated: tuple[Case, date]) -> None:
    case_, today = generated
    first = decide(case_, today)
    assert first == decide(case_, today)
    assert isinstance(first, Decision) and first.reasons
    assert (first.outcome is Outcome.QUALIFIED) == (first.qualified_on is not None)
    assert (first.outcome is Outcome.RESIT) == (first.resit_until is not None)
    if first.resit_until is not None:
        assert first.resit_until >= today
    dumped = dump_decision(first)
    assert json.loads(json.dumps(dumped, ensure_ascii=False)) == dumped


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.sampled_from(COMPONENTS), st.integers(0, 800), st.integers(600, 1000))
def test_a_passing_optional_component_never_undoes_a_pass(
    generated: tuple[Case, date], component: Component, offset: int, tenths: int
) -> None:
    case_, today = generated
    if component in case_.scheme.required:
        return
    sat = D0 + timedelta(days=offset)
    if sat > today or any(r.component is component and r.sat_on == sat and r.batch is None for r in case_.results):
        return
    before = decide(case_, today)
    extra = ComponentResult(component=component, sat_on=sat, score=Decimal(tenths) / 10)
    after = decide(replace(case_, results=(*case_.results, extra)), today)
    assert after.outcome is before.outcome
    assert after.qualified_on == before.qualified_on


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_json_round_trip_gives_the_same_decision(generated: tuple[Case, date]) -> None:
    case_, today = generated
    data: dict[str, Any] = {
        "today": today.isoformat(),
        "scheme": {"level": case_.scheme.level, "method": case_.scheme.method.value},
        "rules": {"resits": case_.rules.resits, "validity_months": case_.rules.validity_months,
                  "absence_counts_as_attempt": case_.rules.absence_counts_as_attempt},
        "results": [{"component": r.component.value, "sat_on": r.sat_on.isoformat(),
                     "score": None if r.score is None else float(r.score), "absent": r.absent, "void": r.void,
                     "batch": r.batch} for r in case_.results],
    }
    assert run(json.dumps(data)) == dump_decision(decide(case_, today))


@pytest.mark.parametrize("data", [c[1] for c in CASES], ids=IDS)
def test_dump_case_is_the_inverse_of_parse_case(data: dict[str, Any]) -> None:
    """A stored decision keeps its case as ``dump_case`` writes it: reading it back gives the
    same case, so the stored input re-runs through ``python -m grading.decide``."""
    parsed, today = parse_case(json.loads(json.dumps(data)))
    dumped = dump_case(parsed, today)
    again, same_day = parse_case(json.loads(json.dumps(dumped)))
    assert again == parsed and same_day == today
    assert dump_case(again) == {k: v for k, v in dumped.items() if k != "today"}
