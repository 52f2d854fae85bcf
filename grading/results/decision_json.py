"""The level decision's JSON form: one case in, one decision out (docs/decisions.md).

:func:`parse_case` checks a decoded JSON object field by field — unknown keys, types, dates,
scores — and raises :class:`~foundation.errors.ValidationError` whose ``field`` is the path
of the offending value (``results[1].score``) and whose Chinese message says what is wrong.
:func:`dump_decision` turns a :class:`~grading.results.decision.Decision` into plain JSON
values; :func:`dump_case` is the inverse of :func:`parse_case` (a stored decision keeps the
case it was made from in this form, so anyone can re-run it). No I/O here; :mod:`grading.decide`
reads standard input and writes standard output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from foundation.errors import ValidationError
from foundation.levels import level_name
from grading.results.decision import (
    Case,
    CompetitionResult,
    Component,
    ComponentResult,
    Decision,
    Method,
    Reason,
    RecognitionRule,
    Rules,
    Scheme,
    Violation,
)

__all__ = ["dump_case", "dump_decision", "dump_result", "dump_violation", "parse_case"]

T = TypeVar("T")
JsonObject = Mapping[str, Any]


def _error(path: str, message: str) -> ValidationError:
    return ValidationError(f"{path}：{message}", field=path)


def _object(value: object, path: str, allowed: set[str], required: set[str]) -> JsonObject:
    if not isinstance(value, dict):
        raise _error(path, "必须是对象（{...}）。")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise _error(f"{path}.{unknown[0]}" if path != "$" else unknown[0],
                     f"不认识的字段；可用字段：{'、'.join(sorted(allowed))}。")
    for key in sorted(required):
        if key not in value:
            raise _error(_join(path, key), "缺少必填字段。")
    return value


def _join(path: str, key: str) -> str:
    return key if path == "$" else f"{path}.{key}"


def _list(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _error(path, "必须是列表（[...]）。")
    return value


def _date(value: object, path: str) -> date:
    if not isinstance(value, str):
        raise _error(path, "必须是日期字符串，如 \"2026-03-01\"。")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise _error(path, f"「{value}」不是有效日期，格式为 年-月-日，如 \"2026-03-01\"。") from None
    if len(value) != 10:
        raise _error(path, "日期格式为 年-月-日，如 \"2026-03-01\"。")
    return parsed


def _int(value: object, path: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _error(path, "必须是整数。")
    return value


def _bool(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise _error(path, "必须是 true 或 false。")
    return value


def _str(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise _error(path, "必须是文字。")
    return value


def _number(value: object, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _error(path, "必须是数字。")
    number = Decimal(str(value))
    if not number.is_finite():
        raise _error(path, "必须是有限的数字。")
    return number


def _enum(kind: Callable[[str], T], choices: Mapping[str, str], value: object, path: str) -> T:
    if not isinstance(value, str) or value not in choices:
        listed = "、".join(f"{k}（{v}）" for k, v in choices.items())
        raise _error(path, f"必须是以下之一：{listed}。")
    return kind(value)


def _component(value: object, path: str) -> Component:
    return _enum(Component, {c.value: c.label for c in Component}, value, path)


def _optional(obj: JsonObject, key: str, path: str, parse: Callable[[object, str], T]) -> T | None:
    value = obj.get(key)
    return None if value is None else parse(value, _join(path, key))


def _build(path: str, make: Callable[[], T]) -> T:
    """Construct a dataclass, re-raising its own check with the JSON path in front."""
    try:
        return make()
    except ValidationError as exc:
        inner = _join(path, exc.field) if exc.field else path
        raise ValidationError(f"{inner}：{exc.message}", field=inner) from None


def _rules(value: object, path: str) -> Rules:
    keys = {"pass_mark", "validity_months", "resits", "absence_counts_as_attempt", "review_prerequisites",
            "promotions_per_year"}
    obj = _object(value, path, keys, set())
    kwargs: dict[str, Any] = {}
    if "pass_mark" in obj:
        kwargs["pass_mark"] = _number(obj["pass_mark"], _join(path, "pass_mark"))
    for key in ("validity_months", "resits", "promotions_per_year"):
        if key in obj:
            kwargs[key] = _int(obj[key], _join(path, key))
    if "absence_counts_as_attempt" in obj:
        kwargs["absence_counts_as_attempt"] = _bool(obj["absence_counts_as_attempt"],
                                                    _join(path, "absence_counts_as_attempt"))
    if "review_prerequisites" in obj:
        where = _join(path, "review_prerequisites")
        kwargs["review_prerequisites"] = tuple(
            _component(c, f"{where}[{i}]") for i, c in enumerate(_list(obj["review_prerequisites"], where)))
    return _build(path, lambda: Rules(**kwargs))


def _scheme(value: object, path: str) -> Scheme:
    obj = _object(value, path, {"level", "method", "components", "pass_marks", "occupation"}, {"level", "method"})
    level = _int(obj["level"], _join(path, "level"))
    method = _enum(Method, {m.value: m.label for m in Method}, obj["method"], _join(path, "method"))
    components: tuple[Component, ...] | None = None
    if obj.get("components") is not None:
        where = _join(path, "components")
        components = tuple(_component(c, f"{where}[{i}]") for i, c in enumerate(_list(obj["components"], where)))
    pass_marks: dict[Component, Decimal] = {}
    if obj.get("pass_marks") is not None:
        where = _join(path, "pass_marks")
        marks = _object(obj["pass_marks"], where, {c.value for c in Component}, set())
        pass_marks = {Component(k): _number(v, f"{where}.{k}") for k, v in marks.items()}
    occupation = _optional(obj, "occupation", path, _str) or ""
    return _build(path, lambda: Scheme(level=level, method=method, components=components, pass_marks=pass_marks,
                                       occupation=occupation))


def _result(value: object, path: str) -> ComponentResult:
    obj = _object(value, path, {"component", "sat_on", "score", "absent", "void", "batch", "attempt"},
                  {"component", "sat_on"})
    component = _component(obj["component"], _join(path, "component"))
    sat_on = _date(obj["sat_on"], _join(path, "sat_on"))
    score = _optional(obj, "score", path, _number)
    absent = _optional(obj, "absent", path, _bool) or False
    void = _optional(obj, "void", path, _bool) or False
    batch = _optional(obj, "batch", path, _str)
    attempt = _optional(obj, "attempt", path, _int)
    return _build(path, lambda: ComponentResult(component=component, sat_on=sat_on, score=score, absent=absent,
                                                void=void, batch=batch, attempt=attempt))


def _violation(value: object, path: str) -> Violation:
    obj = _object(value, path, {"tier", "on", "component", "batch"}, {"tier", "on"})
    tier = _int(obj["tier"], _join(path, "tier"))
    on = _date(obj["on"], _join(path, "on"))
    component = _optional(obj, "component", path, _component)
    batch = _optional(obj, "batch", path, _str)
    return _build(path, lambda: Violation(tier=tier, on=on, component=component, batch=batch))


def _competition(value: object, path: str) -> CompetitionResult:
    obj = _object(value, path, {"name", "class", "contestant_type", "on", "filed", "rank", "award", "top_percent"},
                  {"name", "class", "contestant_type", "on", "filed"})
    name = _str(obj["name"], _join(path, "name"))
    klass = _str(obj["class"], _join(path, "class"))
    contestant = _str(obj["contestant_type"], _join(path, "contestant_type"))
    on = _date(obj["on"], _join(path, "on"))
    filed = _bool(obj["filed"], _join(path, "filed"))
    rank = _optional(obj, "rank", path, _int)
    award = _optional(obj, "award", path, _str)
    top = _optional(obj, "top_percent", path, _number)
    return _build(path, lambda: CompetitionResult(name=name, competition_class=klass, contestant_type=contestant,
                                                  on=on, filed=filed, rank=rank, award=award, top_percent=top))


def _recognition(value: object, path: str) -> RecognitionRule:
    keys = {"class", "conferred_level", "contestant_type", "current_level", "max_rank", "award", "top_percent"}
    obj = _object(value, path, keys, {"class", "conferred_level"})
    klass = _str(obj["class"], _join(path, "class"))
    conferred = _int(obj["conferred_level"], _join(path, "conferred_level"))
    contestant = _optional(obj, "contestant_type", path, _str)
    current = _optional(obj, "current_level", path, _int)
    max_rank = _optional(obj, "max_rank", path, _int)
    award = _optional(obj, "award", path, _str)
    top = _optional(obj, "top_percent", path, _number)
    return _build(path, lambda: RecognitionRule(competition_class=klass, conferred_level=conferred,
                                                contestant_type=contestant, current_level=current, max_rank=max_rank,
                                                award=award, top_percent=top))


def _items(obj: JsonObject, key: str, parse: Callable[[object, str], T]) -> tuple[T, ...]:
    if obj.get(key) is None:
        return ()
    return tuple(parse(item, f"{key}[{i}]") for i, item in enumerate(_list(obj[key], key)))


_CASE_KEYS = {"today", "scheme", "results", "violations", "competitions", "recognition_rules", "promotions",
              "current_level", "scope", "rules"}


def parse_case(value: object) -> tuple[Case, date]:
    """A decoded JSON case → (:class:`Case`, the decision day ``today``)."""
    obj = _object(value, "$", _CASE_KEYS, {"today", "scheme"})
    today = _date(obj["today"], "today")
    scheme = _scheme(obj["scheme"], "scheme")
    results = _items(obj, "results", _result)
    violations = _items(obj, "violations", _violation)
    competitions = _items(obj, "competitions", _competition)
    recognition = _items(obj, "recognition_rules", _recognition)
    promotions = _items(obj, "promotions", _date)
    current = _optional(obj, "current_level", "$", _int)
    scope: tuple[int, int] | None = None
    if obj.get("scope") is not None:
        where = _object(obj["scope"], "scope", {"lowest", "highest"}, {"lowest", "highest"})
        scope = (_int(where["lowest"], "scope.lowest"), _int(where["highest"], "scope.highest"))
    rules = _rules(obj["rules"], "rules") if obj.get("rules") is not None else Rules()
    case = _build("$", lambda: Case(scheme=scheme, results=results, violations=violations, competitions=competitions,
                                    recognition_rules=recognition, promotions=promotions, current_level=current,
                                    scope=scope, rules=rules))
    return case, today


def _score(score: Decimal | None) -> int | float | None:
    if score is None:
        return None
    return int(score) if score == score.to_integral_value() else float(score)


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _reason(reason: Reason) -> dict[str, Any]:
    return {
        "code": reason.code,
        "component": None if reason.component is None else reason.component.value,
        "component_label": None if reason.component is None else reason.component.label,
        "rule": reason.rule,
        "score": _score(reason.score),
        "valid_until": _iso(reason.valid_until),
        "text": reason.text,
    }


def dump_decision(decision: Decision) -> dict[str, Any]:
    """A :class:`Decision` as JSON values (dates ISO, scores numbers, labels Chinese)."""
    return {
        "outcome": decision.outcome.value,
        "outcome_label": decision.outcome.label,
        "level": decision.level,
        "level_label": level_name(decision.level),
        "decided_on": decision.decided_on.isoformat(),
        "qualified_on": _iso(decision.qualified_on),
        "resit_until": _iso(decision.resit_until),
        "reasons": [_reason(r) for r in decision.reasons],
    }


def dump_result(r: ComponentResult) -> dict[str, Any]:
    """One of :func:`dump_case`'s ``results``."""
    out: dict[str, Any] = {"component": r.component.value, "sat_on": r.sat_on.isoformat()}
    if r.score is not None:
        out["score"] = _score(r.score)
    if r.absent:
        out["absent"] = True
    if r.void:
        out["void"] = True
    if r.batch is not None:
        out["batch"] = r.batch
    if r.attempt is not None:
        out["attempt"] = r.attempt
    return out


def dump_violation(v: Violation) -> dict[str, Any]:
    """One of :func:`dump_case`'s ``violations``."""
    out: dict[str, Any] = {"tier": v.tier, "on": v.on.isoformat()}
    if v.component is not None:
        out["component"] = v.component.value
    if v.batch is not None:
        out["batch"] = v.batch
    return out


def _dump_competition(c: CompetitionResult) -> dict[str, Any]:
    out: dict[str, Any] = {"name": c.name, "class": c.competition_class, "contestant_type": c.contestant_type,
                           "on": c.on.isoformat(), "filed": c.filed}
    if c.rank is not None:
        out["rank"] = c.rank
    if c.award is not None:
        out["award"] = c.award
    if c.top_percent is not None:
        out["top_percent"] = _score(c.top_percent)
    return out


def _dump_recognition(rule: RecognitionRule) -> dict[str, Any]:
    out: dict[str, Any] = {"class": rule.competition_class, "conferred_level": rule.conferred_level}
    for key, value in (("contestant_type", rule.contestant_type), ("current_level", rule.current_level),
                       ("max_rank", rule.max_rank), ("award", rule.award)):
        if value is not None:
            out[key] = value
    if rule.top_percent is not None:
        out["top_percent"] = _score(rule.top_percent)
    return out


def _dump_rules(rules: Rules) -> dict[str, Any]:
    return {
        "pass_mark": _score(rules.pass_mark),
        "validity_months": rules.validity_months,
        "resits": rules.resits,
        "absence_counts_as_attempt": rules.absence_counts_as_attempt,
        "review_prerequisites": [c.value for c in rules.review_prerequisites],
        "promotions_per_year": rules.promotions_per_year,
    }


def dump_case(case: Case, today: date | None = None) -> dict[str, Any]:
    """``case`` as the JSON object :func:`parse_case` reads (``today`` left out when None).

    Every field is written, lists in the order given, so equal cases give equal objects and a
    canonical serialisation of the object fingerprints the case."""
    scheme: dict[str, Any] = {"level": case.scheme.level, "method": case.scheme.method.value,
                              "occupation": case.scheme.occupation}
    if case.scheme.components is not None:
        scheme["components"] = [c.value for c in case.scheme.components]
    if case.scheme.pass_marks:
        scheme["pass_marks"] = {c.value: _score(m) for c, m in sorted(case.scheme.pass_marks.items())}
    out: dict[str, Any] = {} if today is None else {"today": today.isoformat()}
    out.update({
        "scheme": scheme,
        "results": [dump_result(r) for r in case.results],
        "violations": [dump_violation(v) for v in case.violations],
        "competitions": [_dump_competition(c) for c in case.competitions],
        "recognition_rules": [_dump_recognition(r) for r in case.recognition_rules],
        "promotions": [d.isoformat() for d in case.promotions],
        "current_level": case.current_level,
        "scope": None if case.scope is None else {"lowest": case.scope[0], "highest": case.scope[1]},
        "rules": _dump_rules(case.rules),
    })
    return out
