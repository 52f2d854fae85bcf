"""The level decision (等级认定结果判定) as a pure function.

One registration — a person in a batch for an occupation and level — is judged from its
evaluation scheme, its component results (this batch's and those carried over from earlier
sittings), the person's violations, competition results and earlier promotions, on a given
day. The answer is an :class:`Outcome` with the reasons a candidate can read: which component,
which rule, which score, until when a pass stays valid.

Nothing here reads the clock, touches a database or imports Flask: ``today`` is an argument,
the same case always gives the same decision, and every input either gets a decision or a
:class:`~foundation.errors.ValidationError` whose Chinese message names the field.

The rules (grading.md, domain.md; every number configurable through :class:`Rules` and
:class:`Scheme`):

* each required component is scored out of 100 and passes at 60 (conjunctive, no total);
* a passed component stays valid ``validity_months`` (12) from its sitting: the last valid
  day is the day before the same date that many months later;
* after a failed attempt, ``resits`` (1) re-sits inside the same window; an absence counts
  as a failed attempt; a further re-sit is refused;
* 综合评审 counts only when sat while theory and skill are passed and valid;
* violation tiers 1–2 void that subject's sitting, tier 3 voids every component of the batch
  and bars the person to the end of the calendar year, tier 4 holds the result;
* 竞赛选拔: a filed competition's result confers the registration's level through a
  recognition rule; at most ``promotions_per_year`` (1) per calendar year; the level must be
  a promotion and inside the institution's scope.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache

from foundation.errors import ValidationError
from foundation.levels import LEVEL_NAMES, level_name

__all__ = [
    "Case",
    "CompetitionResult",
    "Component",
    "ComponentResult",
    "Decision",
    "Method",
    "Outcome",
    "Reason",
    "RecognitionRule",
    "Rules",
    "Scheme",
    "Violation",
    "add_months",
    "decide",
    "default_components",
    "last_valid_day",
]


# --------------------------------------------------------------------------- vocabularies


class Component(StrEnum):
    """An evaluation component (考核科目), each scored out of 100."""

    THEORY = "theory"
    SKILL = "skill"
    PERFORMANCE = "performance"
    SHOWCASE = "showcase"
    ETHICS = "ethics"
    REVIEW = "review"

    @property
    def label(self) -> str:
        return _COMPONENT_LABELS[self]


_COMPONENT_LABELS = {
    Component.THEORY: "理论知识考试",
    Component.SKILL: "技能操作考核",
    Component.PERFORMANCE: "工作业绩评审",
    Component.SHOWCASE: "业绩展示",
    Component.ETHICS: "职业道德和工匠精神",
    Component.REVIEW: "综合评审",
}


class Method(StrEnum):
    """An evaluation method (评价方式, notice 七(二))."""

    ASSESSMENT = "assessment"
    COMBINED = "combined"
    PERFORMANCE = "performance"
    COMPETITION = "competition"

    @property
    def label(self) -> str:
        return _METHOD_LABELS[self]


_METHOD_LABELS = {
    Method.ASSESSMENT: "认定考核",
    Method.COMBINED: "考评结合",
    Method.PERFORMANCE: "工作业绩评审",
    Method.COMPETITION: "竞赛选拔",
}


class Outcome(StrEnum):
    """合格, 不合格, 待补考 (some passes still valid, the rest can still be sat) or 暂缓 (held by
    a tier-4 violation until it is dealt with)."""

    QUALIFIED = "qualified"
    FAILED = "failed"
    RESIT = "resit"
    HELD = "held"

    @property
    def label(self) -> str:
        return _OUTCOME_LABELS[self]


_OUTCOME_LABELS = {
    Outcome.QUALIFIED: "合格",
    Outcome.FAILED: "不合格",
    Outcome.RESIT: "待补考",
    Outcome.HELD: "暂缓",
}

VIOLATION_TIERS = (1, 2, 3, 4)
_REVIEW_LEVELS = (2, 1)


def default_components(method: Method, level: int) -> tuple[Component, ...]:
    """The required components when a scheme names none: levels 5–3 theory + skill, levels
    2–1 add 综合评审 [R]; 考评结合 adds 工作业绩评审, 工作业绩评审 alone is the performance
    review (plus 综合评审 at 2–1) [D]; 竞赛选拔 has no components."""
    if method is Method.COMPETITION:
        return ()
    base = {
        Method.ASSESSMENT: (Component.THEORY, Component.SKILL),
        Method.COMBINED: (Component.THEORY, Component.SKILL, Component.PERFORMANCE),
        Method.PERFORMANCE: (Component.PERFORMANCE,),
    }[method]
    return (*base, Component.REVIEW) if level in _REVIEW_LEVELS else base


# --------------------------------------------------------------------------- dates


# The date helpers are pure and a batch's registrations share their sitting days, so deciding a
# batch asks them the same questions thousands of times: cached (bench-results).
@lru_cache(maxsize=4096)
def add_months(day: date, months: int) -> date:
    """The same day ``months`` later; a day the month lacks (31st, 29 February) rolls to the
    1st of the month after, so a 12-month period never ends early."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month0 + 1
    last = calendar.monthrange(year, month)[1]
    if day.day <= last:
        return date(year, month, day.day)
    return date(year, month, last) + timedelta(days=1)


@lru_cache(maxsize=4096)
def last_valid_day(sat_on: date, months: int) -> date:
    """The last day of a ``months`` period starting on ``sat_on``."""
    return add_months(sat_on, months) - timedelta(days=1)


@lru_cache(maxsize=4096)
def _cn(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _fmt(score: Decimal) -> str:
    return str(int(score)) if score == score.to_integral_value() else f"{score:f}"


# --------------------------------------------------------------------------- validation helpers


def _fail(message: str, name: str) -> ValidationError:
    return ValidationError(message, field=name)


def _require_int(value: object, name: str, label: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _fail(f"{label}必须是 {low} 至 {high} 的整数。", name)
    return value


def _require_level(value: object, name: str, label: str = "等级") -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value not in LEVEL_NAMES:
        raise _fail(f"{label}必须是 1 至 5 的整数（5 为五级/初级工，1 为一级/高级技师）。", name)
    return value


def _require_date(value: object, name: str, label: str) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise _fail(f"{label}必须是日期（年-月-日）。", name)
    return value


def _require_score(value: object, name: str, label: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise _fail(f"{label}必须是 0 至 100 的数字。", name)
    if not Decimal(0) <= value <= Decimal(100):
        raise _fail(f"{label}必须在 0 至 100 之间。", name)
    try:
        exact = value.quantize(Decimal("0.1")) == value
    except InvalidOperation:  # pragma: no cover - finite values in 0–100 always quantize
        exact = False
    if not exact:
        raise _fail(f"{label}最多保留一位小数。", name)
    return value


def _require_component(value: object, name: str) -> Component:
    if not isinstance(value, Component):
        raise _fail("科目必须是以下之一：" + "、".join(f"{c.value}（{c.label}）" for c in Component) + "。", name)
    return value


def _require_text(value: object, name: str, label: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"{label}不能为空。", name)


# --------------------------------------------------------------------------- input


@dataclass(frozen=True, slots=True)
class Rules:
    """The configurable decision rules, with the defaults of grading.md."""

    #: Pass mark of every component unless the scheme sets one (≥ this passes) [R].
    pass_mark: Decimal = Decimal(60)
    #: A passed component stays valid this many months from its sitting [R].
    validity_months: int = 12
    #: Re-sits allowed after a failed attempt, inside ``validity_months`` of it [R].
    resits: int = 1
    #: An absence counts as a failed attempt (uses up the attempt) [D].
    absence_counts_as_attempt: bool = True
    #: 综合评审 counts only when these (where required) are passed and valid at its sitting [R].
    review_prerequisites: tuple[Component, ...] = (Component.THEORY, Component.SKILL)
    #: Competition promotions a person may receive per calendar year [N, R].
    promotions_per_year: int = 1

    def __post_init__(self) -> None:
        _require_score(self.pass_mark, "pass_mark", "合格线")
        _require_int(self.validity_months, "validity_months", "成绩有效期（月）", 1, 120)
        _require_int(self.resits, "resits", "补考次数", 0, 10)
        if not isinstance(self.absence_counts_as_attempt, bool):
            raise _fail("缺考是否计为一次考核必须是 true 或 false。", "absence_counts_as_attempt")
        if not isinstance(self.review_prerequisites, tuple):
            raise _fail("综合评审前置科目必须是科目列表。", "review_prerequisites")
        for i, component in enumerate(self.review_prerequisites):
            _require_component(component, f"review_prerequisites[{i}]")
        if Component.REVIEW in self.review_prerequisites:
            raise _fail("综合评审不能以自身为前置科目。", "review_prerequisites")
        _require_int(self.promotions_per_year, "promotions_per_year", "每年竞赛晋级次数", 0, 5)


@dataclass(frozen=True, slots=True)
class Scheme:
    """The evaluation scheme (评价方案) of one occupation × level × method.

    ``components`` None means the defaults of :func:`default_components`; ``pass_marks``
    overrides :attr:`Rules.pass_mark` for the components it names.
    """

    level: int
    method: Method
    components: tuple[Component, ...] | None = None
    pass_marks: Mapping[Component, Decimal] = field(default_factory=dict)
    occupation: str = ""

    def __post_init__(self) -> None:
        _require_level(self.level, "level", "认定等级")
        if not isinstance(self.method, Method):
            choices = "、".join(f"{m.value}（{m.label}）" for m in Method)
            raise _fail(f"评价方式必须是以下之一：{choices}。", "method")
        if not isinstance(self.occupation, str):
            raise _fail("职业（工种）必须是文字。", "occupation")
        if self.components is not None:
            if not isinstance(self.components, tuple):
                raise _fail("方案科目必须是科目列表。", "components")
            for i, component in enumerate(self.components):
                _require_component(component, f"components[{i}]")
            if len(set(self.components)) != len(self.components):
                raise _fail("方案科目不能重复。", "components")
            if self.method is Method.COMPETITION and self.components:
                raise _fail("竞赛选拔方案不设考核科目。", "components")
            if self.method is not Method.COMPETITION and not self.components:
                raise _fail(f"{self.method.label}方案至少要有一个考核科目。", "components")
        if not isinstance(self.pass_marks, Mapping):
            raise _fail("各科合格线必须是「科目: 分数」。", "pass_marks")
        for component, mark in self.pass_marks.items():
            _require_component(component, "pass_marks")
            _require_score(mark, f"pass_marks.{component.value}", f"「{component.label}」合格线")
            if component not in self.required:
                raise _fail(f"「{component.label}」不是本方案的考核科目，不能设合格线。",
                            f"pass_marks.{component.value}")

    @property
    def required(self) -> tuple[Component, ...]:
        if self.components is None:
            return default_components(self.method, self.level)
        return self.components

    def pass_mark(self, component: Component, rules: Rules) -> Decimal:
        return self.pass_marks.get(component, rules.pass_mark)


@dataclass(frozen=True, slots=True)
class ComponentResult:
    """One sitting of one component (成绩): a score, an absence (缺考) or a void (作废) score.

    ``batch`` None is this registration's batch; a result carried over from an earlier sitting
    names its batch. ``attempt`` (1 = first sitting) is optional and only checked for order.
    """

    component: Component
    sat_on: date
    score: Decimal | None = None
    absent: bool = False
    void: bool = False
    batch: str | None = None
    attempt: int | None = None

    def __post_init__(self) -> None:
        _require_component(self.component, "component")
        _require_date(self.sat_on, "sat_on", "考核日期")
        for name in ("absent", "void"):
            if not isinstance(getattr(self, name), bool):
                raise _fail(f"{name} 必须是 true 或 false。", name)
        if self.absent and self.void:
            raise _fail("缺考的成绩不能同时标为作废。", "void")
        if self.absent and self.score is not None:
            raise _fail("缺考的成绩不能有分数。", "score")
        if not self.absent and not self.void and self.score is None:
            raise _fail("请填写分数，或标明缺考（absent）或作废（void）。", "score")
        if self.score is not None:
            _require_score(self.score, "score", "分数")
        _require_text(self.batch, "batch", "批次", optional=True)
        if self.attempt is not None:
            _require_int(self.attempt, "attempt", "考核次序", 1, 99)


@dataclass(frozen=True, slots=True)
class Violation:
    """A violation (违纪) of tier 1–4 on a day; tiers 1–2 name the subject (component).
    ``batch`` None is this registration's batch."""

    tier: int
    on: date
    component: Component | None = None
    batch: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.tier, int) or isinstance(self.tier, bool) or self.tier not in VIOLATION_TIERS:
            raise _fail("违纪等级必须是 1 至 4。", "tier")
        _require_date(self.on, "on", "违纪日期")
        if self.component is not None:
            _require_component(self.component, "component")
        elif self.tier in (1, 2):
            raise _fail(f"第{self.tier}类违纪必须注明科目。", "component")
        _require_text(self.batch, "batch", "批次", optional=True)


@dataclass(frozen=True, slots=True)
class CompetitionResult:
    """A result in a competition (竞赛成绩): its class (e.g. 「省级一类」), rank, award or
    top percentage, the contestant type, and whether the competition was filed (备案)."""

    name: str
    competition_class: str
    contestant_type: str
    on: date
    filed: bool
    rank: int | None = None
    award: str | None = None
    top_percent: Decimal | None = None

    def __post_init__(self) -> None:
        _require_text(self.name, "name", "竞赛名称")
        _require_text(self.competition_class, "class", "竞赛类别")
        _require_text(self.contestant_type, "contestant_type", "选手类型")
        _require_date(self.on, "on", "竞赛日期")
        if not isinstance(self.filed, bool):
            raise _fail("是否备案必须是 true 或 false。", "filed")
        if self.rank is not None:
            _require_int(self.rank, "rank", "名次", 1, 100000)
        _require_text(self.award, "award", "奖项", optional=True)
        if self.top_percent is not None:
            _require_score(self.top_percent, "top_percent", "排名前百分比")
        if self.rank is None and self.award is None and self.top_percent is None:
            raise _fail("竞赛成绩至少要有名次、奖项或排名前百分比之一。", "rank")


@dataclass(frozen=True, slots=True)
class RecognitionRule:
    """A competition recognition rule (竞赛认定规则): class + one criterion (rank within,
    award, or top percentage) + contestant type (None: any) + current level (None: any)
    → conferred level."""

    competition_class: str
    conferred_level: int
    contestant_type: str | None = None
    current_level: int | None = None
    max_rank: int | None = None
    award: str | None = None
    top_percent: Decimal | None = None

    def __post_init__(self) -> None:
        _require_text(self.competition_class, "class", "竞赛类别")
        _require_level(self.conferred_level, "conferred_level", "认定等级")
        _require_text(self.contestant_type, "contestant_type", "选手类型", optional=True)
        if self.current_level is not None:
            _require_level(self.current_level, "current_level", "现有等级")
        if self.max_rank is not None:
            _require_int(self.max_rank, "max_rank", "名次", 1, 100000)
        _require_text(self.award, "award", "奖项", optional=True)
        if self.top_percent is not None:
            _require_score(self.top_percent, "top_percent", "排名前百分比")
        if sum(x is not None for x in (self.max_rank, self.award, self.top_percent)) != 1:
            raise _fail("认定规则必须且只能设名次、奖项、排名前百分比中的一项。", "max_rank")

    def matches(self, result: CompetitionResult, current_level: int | None) -> bool:
        if result.competition_class != self.competition_class:
            return False
        if self.contestant_type is not None and result.contestant_type != self.contestant_type:
            return False
        if self.current_level is not None and current_level != self.current_level:
            return False
        if self.max_rank is not None:
            return result.rank is not None and result.rank <= self.max_rank
        if self.award is not None:
            return result.award == self.award
        assert self.top_percent is not None
        return result.top_percent is not None and result.top_percent <= self.top_percent

    def describe(self) -> str:
        if self.max_rank is not None:
            criterion = f"前 {self.max_rank} 名"
        elif self.award is not None:
            criterion = f"获{self.award}"
        else:
            assert self.top_percent is not None
            criterion = f"排名前 {_fmt(self.top_percent)}%"
        who = f"{self.contestant_type}选手" if self.contestant_type else "选手"
        held = f"（现有{level_name(self.current_level)}）" if self.current_level is not None else ""
        return f"{self.competition_class}竞赛{criterion}的{who}{held}认定为{level_name(self.conferred_level)}"


@dataclass(frozen=True, slots=True)
class Case:
    """Everything the decision reads about one registration.

    ``promotions`` are the days of the person's earlier competition promotions; ``scope`` the
    institution's (lowest, highest) level for this occupation, None when not checked here.
    """

    scheme: Scheme
    results: tuple[ComponentResult, ...] = ()
    violations: tuple[Violation, ...] = ()
    competitions: tuple[CompetitionResult, ...] = ()
    recognition_rules: tuple[RecognitionRule, ...] = ()
    promotions: tuple[date, ...] = ()
    current_level: int | None = None
    scope: tuple[int, int] | None = None
    rules: Rules = field(default_factory=Rules)

    def __post_init__(self) -> None:
        if not isinstance(self.scheme, Scheme):
            raise _fail("缺少评价方案。", "scheme")
        if not isinstance(self.rules, Rules):
            raise _fail("规则格式不正确。", "rules")
        for name, kind in (("results", ComponentResult), ("violations", Violation),
                           ("competitions", CompetitionResult), ("recognition_rules", RecognitionRule)):
            items = getattr(self, name)
            if not isinstance(items, tuple) or not all(isinstance(x, kind) for x in items):
                raise _fail(f"{name} 格式不正确。", name)
        if not isinstance(self.promotions, tuple):
            raise _fail("promotions 格式不正确。", "promotions")
        for i, day in enumerate(self.promotions):
            _require_date(day, f"promotions[{i}]", "晋级日期")
        if self.current_level is not None:
            _require_level(self.current_level, "current_level", "现有等级")
        if self.scope is not None:
            if not isinstance(self.scope, tuple) or len(self.scope) != 2:
                raise _fail("机构等级范围必须是（最低等级, 最高等级）。", "scope")
            lowest = _require_level(self.scope[0], "scope.lowest", "机构最低等级")
            highest = _require_level(self.scope[1], "scope.highest", "机构最高等级")
            if highest > lowest:
                raise _fail("机构最高等级不能低于最低等级。", "scope.highest")


# --------------------------------------------------------------------------- output


@dataclass(frozen=True, slots=True)
class Reason:
    """One readable reason: a stable ``code``, the component and rule it concerns, the score
    it read and the day a pass (or a re-sit window, or a ban) lasts until."""

    code: str
    text: str
    rule: str
    component: Component | None = None
    score: Decimal | None = None
    valid_until: date | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The level decision (等级认定结论) for one registration on ``decided_on``.

    ``qualified_on`` is the day the last needed pass (or the competition) was obtained;
    ``resit_until`` the last day by which the missing components must be passed (待补考).
    """

    outcome: Outcome
    level: int
    decided_on: date
    reasons: tuple[Reason, ...]
    qualified_on: date | None = None
    resit_until: date | None = None

    @property
    def summary(self) -> str:
        return f"{level_name(self.level)}：{self.outcome.label}"


# --------------------------------------------------------------------------- engine


@dataclass(slots=True)
class _Track:
    """One component's accepted sittings and where its re-sit window stands."""

    component: Component
    passes: list[ComponentResult] = field(default_factory=list)
    failures: list[ComponentResult] = field(default_factory=list)
    cycle_start: date | None = None
    used: int = 0
    notes: list[Reason] = field(default_factory=list)
    sat: bool = False


def _check_against_today(case: Case, today: date) -> None:
    _require_date(today, "today", "判定日期")
    # The field names are formatted only for a date that fails (deciding a batch checks
    # thousands of cases whose dates all pass).
    dated: Iterable[tuple[str, str, Iterable[date]]] = (
        ("results[{}].sat_on", "考核日期", (r.sat_on for r in case.results)),
        ("violations[{}].on", "违纪日期", (v.on for v in case.violations)),
        ("competitions[{}].on", "竞赛日期", (c.on for c in case.competitions)),
        ("promotions[{}]", "晋级日期", case.promotions),
    )
    for name, label, days in dated:
        for i, day in enumerate(days):
            if day > today:
                raise _fail(f"{label}（{_cn(day)}）晚于判定日期（{_cn(today)}）。", name.format(i))
    seen: dict[tuple[Component, date, str | None], int] = {}
    for i, r in enumerate(case.results):
        key = (r.component, r.sat_on, r.batch)
        if key in seen:
            raise _fail(f"「{r.component.label}」在 {_cn(r.sat_on)} 有两条成绩"
                        f"（第 {seen[key] + 1} 条与第 {i + 1} 条）。", f"results[{i}]")
        seen[key] = i
    by_component: dict[Component, list[ComponentResult]] = {}
    for r in sorted(case.results, key=lambda r: r.sat_on):
        by_component.setdefault(r.component, []).append(r)
    for component, rows in by_component.items():
        numbers = [r.attempt for r in rows if r.attempt is not None]
        if numbers != sorted(set(numbers)):
            raise _fail(f"「{component.label}」的考核次序（attempt）与考核日期先后不一致或重复。", "results")
    for i, v in enumerate(case.violations):
        if v.tier in (1, 2) and not any(
            r.component == v.component and r.sat_on == v.on and r.batch == v.batch for r in case.results
        ):
            assert v.component is not None
            raise _fail(f"第{v.tier}类违纪（{_cn(v.on)}「{v.component.label}」）找不到对应的成绩。", f"violations[{i}]")


def _ban_end(v: Violation) -> date:
    return date(v.on.year, 12, 31)


def _void_reason(case: Case, r: ComponentResult) -> Reason | None:
    """Why this sitting's score does not count, if it was voided."""
    for v in case.violations:
        if v.tier in (1, 2) and v.component == r.component and v.on == r.sat_on and v.batch == r.batch:
            return Reason("void_violation", f"「{r.component.label}」{_cn(r.sat_on)}的考核因第{v.tier}类违纪取消成绩，"
                          "计为一次不合格。", f"violation_tier_{v.tier}", r.component, r.score)
    for v in case.violations:
        if v.tier == 3 and v.batch == r.batch:
            return Reason("void_violation", f"「{r.component.label}」{_cn(r.sat_on)}的考核因第3类违纪（{_cn(v.on)}）"
                          "与本批次全部科目一并取消成绩。", "violation_tier_3", r.component, r.score)
        if v.tier == 3 and v.on <= r.sat_on <= _ban_end(v):
            return Reason("void_banned", f"「{r.component.label}」{_cn(r.sat_on)}的考核在禁考期内"
                          f"（至 {_cn(_ban_end(v))}），成绩无效。", "violation_tier_3", r.component, r.score,
                          _ban_end(v))
    if r.void:
        return Reason("void", f"「{r.component.label}」{_cn(r.sat_on)}的成绩已作废，计为一次不合格。", "void",
                      r.component, r.score)
    return None


def _valid_pass(track: _Track, day: date, months: int) -> ComponentResult | None:
    """The latest pass sat on or before ``day`` that is still valid on ``day``."""
    valid = [r for r in track.passes if r.sat_on <= day <= last_valid_day(r.sat_on, months)]
    return max(valid, key=lambda r: r.sat_on) if valid else None


def _tracks(case: Case) -> dict[Component, _Track]:
    """Accept each required component's sittings in date order, applying voids, the review
    prerequisite and the re-sit limit; refused sittings become notes."""
    rules, scheme = case.rules, case.scheme
    required = scheme.required
    tracks = {c: _Track(c) for c in required}
    gate = tuple(c for c in rules.review_prerequisites if c in required) if Component.REVIEW in required else ()
    months = rules.validity_months
    order = sorted(required, key=lambda c: c is Component.REVIEW)  # prerequisites first
    for component in order:
        track = tracks[component]
        rows = sorted((r for r in case.results if r.component is component), key=lambda r: r.sat_on)
        for r in rows:
            track.sat = True
            if component is Component.REVIEW and gate:
                missing = [c for c in gate if _valid_pass(tracks[c], r.sat_on, months) is None]
                if missing:
                    names = "、".join(f"「{c.label}」" for c in missing)
                    track.notes.append(Reason(
                        "review_not_open", f"{_cn(r.sat_on)}参加综合评审时{names}尚未合格或已过有效期，"
                        "该次综合评审不予认可（综合评审须在理论知识和技能操作均合格后参加）。",
                        "review_prerequisites", component, r.score))
                    continue
            void = _void_reason(case, r)
            mark = scheme.pass_mark(component, rules)
            passed = void is None and not r.absent and r.score is not None and r.score >= mark
            if r.absent and not rules.absence_counts_as_attempt:
                track.notes.append(Reason("absent_not_counted",
                                          f"「{component.label}」{_cn(r.sat_on)}缺考（按规则不计考核次数）。",
                                          "absence", component))
                continue
            if track.cycle_start is not None and r.sat_on > last_valid_day(track.cycle_start, months):
                track.cycle_start, track.used = None, 0
            if track.cycle_start is not None and track.used > rules.resits:
                until = last_valid_day(track.cycle_start, months)
                track.notes.append(Reason(
                    "resit_refused", f"「{component.label}」{_cn(r.sat_on)}的考核不予受理："
                    f"首次不合格后在有效期内只能补考 {rules.resits} 次（已用完）。", "resits", component, r.score,
                    until))
                continue
            if void is not None:
                track.notes.append(void)
            if passed:
                track.passes.append(r)
                track.cycle_start, track.used = None, 0
                continue
            track.failures.append(r)
            if track.cycle_start is None:
                track.cycle_start, track.used = r.sat_on, 1
            else:
                track.used += 1
    return tracks


def _pass_reason(component: Component, r: ComponentResult, case: Case) -> Reason:
    assert r.score is not None
    mark = case.scheme.pass_mark(component, case.rules)
    until = last_valid_day(r.sat_on, case.rules.validity_months)
    carried = "（由其他批次保留）" if r.batch is not None else ""
    return Reason("passed", f"「{component.label}」{_fmt(r.score)} 分，达到合格线 {_fmt(mark)} 分；{_cn(r.sat_on)}考核"
                  f"{carried}，合格成绩有效期至 {_cn(until)}。", "pass_mark", component, r.score, until)


def _open_state(component: Component, track: _Track, case: Case, today: date, tracks: dict[Component, _Track]
                ) -> tuple[Reason, bool, date | None]:
    """(reason, can still be passed, last day of its re-sit window) for a component without
    a valid pass today."""
    rules = case.rules
    months = rules.validity_months
    mark = case.scheme.pass_mark(component, rules)
    last_fail = track.failures[-1] if track.failures else None
    last_pass = track.passes[-1] if track.passes else None
    failing = last_fail is not None and (last_pass is None or last_fail.sat_on > last_pass.sat_on)
    if last_fail is not None and failing and track.cycle_start is not None:
        window = last_valid_day(track.cycle_start, months)
        if last_fail.absent:
            what = "：缺考"
        elif last_fail.score is None or _void_reason(case, last_fail) is not None:
            what = "：成绩取消"
        else:
            what = f"：{_fmt(last_fail.score)} 分，未达到合格线 {_fmt(mark)} 分"
        if today <= window and track.used <= rules.resits:
            left = rules.resits - track.used + 1
            text = (f"「{component.label}」{_cn(last_fail.sat_on)}{what}；"
                    f"可在 {_cn(window)} 前补考（还可补考 {left} 次）。")
            return Reason("failed_resit_open", text, "resits", component, last_fail.score, window), True, window
        if today <= window:
            text = f"「{component.label}」{_cn(last_fail.sat_on)}{what}；有效期内补考次数（{rules.resits} 次）已用完。"
            return Reason("failed_no_resit", text, "resits", component, last_fail.score, window), False, None
        text = f"「{component.label}」{_cn(last_fail.sat_on)}{what}；补考期限已于 {_cn(window)} 届满，需重新参加考核。"
        return Reason("failed_window_closed", text, "validity_months", component, last_fail.score, window), True, None
    if last_pass is not None:
        until = last_valid_day(last_pass.sat_on, months)
        assert last_pass.score is not None
        text = (f"「{component.label}」{_cn(last_pass.sat_on)}考核合格（{_fmt(last_pass.score)} 分），"
                f"但合格成绩有效期已于 {_cn(until)} 届满，需重新参加考核。")
        return Reason("expired", text, "validity_months", component, last_pass.score, until), True, None
    if component is Component.REVIEW:
        gate = [c for c in rules.review_prerequisites if c in tracks]
        missing = [c for c in gate if _valid_pass(tracks[c], today, months) is None]
        if missing:
            names = "、".join(f"「{c.label}」" for c in missing)
            text = f"「综合评审」须在{names}合格后参加。"
            return Reason("review_not_open", text, "review_prerequisites", component), True, None
    return (Reason("not_taken", f"「{component.label}」尚未参加考核。", "required_components", component), True, None)


def _decide_components(case: Case, today: date) -> tuple[Outcome, list[Reason], date | None, date | None]:
    rules, scheme = case.rules, case.scheme
    months = rules.validity_months
    tracks = _tracks(case)
    notes = [n for t in tracks.values() for n in t.notes]
    pass_days = sorted({r.sat_on for t in tracks.values() for r in t.passes})
    for day in pass_days:
        chosen = {c: _valid_pass(tracks[c], day, months) for c in scheme.required}
        if all(r is not None for r in chosen.values()):
            passes = [_pass_reason(c, r, case) for c, r in chosen.items() if r is not None]
            names = "、".join(c.label for c in scheme.required)
            passes.append(Reason("qualified", f"所有必考科目（{names}）均在有效期内合格，"
                                 f"于 {_cn(day)} 达到{level_name(scheme.level)}认定要求。", "conjunctive"))
            return Outcome.QUALIFIED, notes + passes, day, None
    reasons: list[Reason] = []
    valid_until: list[date] = []
    windows: list[date] = []
    blocked = False
    for component in scheme.required:
        current = _valid_pass(tracks[component], today, months)
        if current is not None:
            reasons.append(_pass_reason(component, current, case))
            valid_until.append(last_valid_day(current.sat_on, months))
            continue
        reason, possible, window = _open_state(component, tracks[component], case, today, tracks)
        reasons.append(reason)
        blocked = blocked or not possible
        if window is not None:
            windows.append(window)
    if blocked:
        reasons.append(Reason("failed", "有科目补考次数已用完，本次认定不合格。", "resits"))
        return Outcome.FAILED, notes + reasons, None, None
    if not valid_until:
        reasons.append(Reason("failed", "没有仍在有效期内的合格科目，本次认定不合格。", "conjunctive"))
        return Outcome.FAILED, notes + reasons, None, None
    until = min(valid_until + windows)
    reasons.append(Reason("resit", f"已合格科目的成绩仍在有效期内；未合格科目须在 {_cn(until)} 前补考合格。",
                          "validity_months", valid_until=until))
    return Outcome.RESIT, notes + reasons, None, until


def _decide_competition(case: Case) -> tuple[Outcome, list[Reason], date | None]:
    scheme, rules = case.scheme, case.rules
    level = scheme.level
    reasons: list[Reason] = []
    if not case.competitions:
        return Outcome.FAILED, [Reason("no_competition", "竞赛选拔方式需要竞赛成绩，未提供。", "competition")], None
    for result in sorted(case.competitions, key=lambda c: c.on):
        head = f"「{result.name}」（{_cn(result.on)}）"
        if not result.filed:
            reasons.append(Reason("competition_not_filed", f"{head}不是经过备案的竞赛，成绩不能用于认定。",
                                  "filed_competition"))
            continue
        matches = [rule for rule in case.recognition_rules if rule.matches(result, case.current_level)]
        if not matches:
            reasons.append(Reason("competition_no_rule", f"{head}的成绩没有对应的认定规则。", "recognition_rules"))
            continue
        fitting = [rule for rule in matches if rule.conferred_level == level]
        if not fitting:
            best = min(rule.conferred_level for rule in matches)
            reasons.append(Reason("competition_other_level", f"{head}按认定规则可认定为{level_name(best)}，"
                                  f"与报名等级{level_name(level)}不符。", "recognition_rules"))
            continue
        if case.current_level is not None and level >= case.current_level:
            reasons.append(Reason("competition_not_promotion", f"{head}：现有等级为{level_name(case.current_level)}，"
                                  f"竞赛认定须高于现有等级。", "recognition_rules"))
            continue
        same_year = [d for d in case.promotions if d.year == result.on.year]
        if len(same_year) >= rules.promotions_per_year:
            days = "、".join(_cn(d) for d in sorted(same_year))
            reasons.append(Reason("promotion_limit", f"{head}：{result.on.year} 年已通过竞赛晋级 {len(same_year)} 次"
                                  f"（{days}），每年最多 {rules.promotions_per_year} 次。",
                                  "promotions_per_year", valid_until=date(result.on.year, 12, 31)))
            continue
        reasons.append(Reason("competition_recognised", f"{head}：{fitting[0].describe()}。", "recognition_rules"))
        return Outcome.QUALIFIED, reasons, result.on
    return Outcome.FAILED, reasons, None


def decide(case: Case, today: date) -> Decision:
    """The decision for ``case`` on ``today`` (pure, deterministic, total)."""
    if not isinstance(case, Case):
        raise _fail("缺少认定资料。", "case")
    _check_against_today(case, today)
    scheme = case.scheme
    level = scheme.level
    head: list[Reason] = []
    holds = [v for v in case.violations if v.tier == 4 and v.batch is None]
    for v in holds:
        head.append(Reason("held", f"{_cn(v.on)}发生第4类违纪，已移交处理，认定结果暂缓。", "violation_tier_4"))
    out_of_scope = False
    if case.scope is not None:
        lowest, highest = case.scope
        if not highest <= level <= lowest:
            out_of_scope = True
            head.append(Reason("out_of_scope", f"{level_name(level)}不在本机构该职业（工种）的认定范围"
                               f"（{level_name(lowest)}至{level_name(highest)}）内。", "scope"))
    qualified_on: date | None = None
    resit_until: date | None = None
    if scheme.method is Method.COMPETITION:
        outcome, body, qualified_on = _decide_competition(case)
    else:
        outcome, body, qualified_on, resit_until = _decide_components(case, today)
    # A ban stops what is still open; a level obtained before the violation stands.
    bans = [v for v in case.violations if v.tier == 3 and v.on <= today <= _ban_end(v)
            and not (qualified_on is not None and qualified_on < v.on)]
    for v in bans:
        head.append(Reason("banned", f"{_cn(v.on)}发生第3类违纪，所在批次全部科目成绩取消，禁考至 {_cn(_ban_end(v))}，"
                           "期间不能补考或认定。", "violation_tier_3", valid_until=_ban_end(v)))
    extra = [Reason("not_required", f"「{r.component.label}」不是本方案的考核科目，{_cn(r.sat_on)}的成绩不影响结论。",
                    "required_components", r.component, r.score)
             for r in sorted(case.results, key=lambda r: r.sat_on) if r.component not in scheme.required]
    if holds:
        outcome, qualified_on, resit_until = Outcome.HELD, None, None
    elif out_of_scope or bans:
        outcome, qualified_on, resit_until = Outcome.FAILED, None, None
    return Decision(outcome=outcome, level=level, decided_on=today, reasons=(*head, *body, *extra),
                    qualified_on=qualified_on, resit_until=resit_until)
