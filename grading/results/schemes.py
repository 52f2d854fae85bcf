"""Evaluation schemes (评价方案): which components an occupation × level × method requires and
the pass mark of each, edited by the centre.

Defaults (``occupation_id`` None) hold for every occupation; a row for an occupation overrides
them. Without any stored row the engine's :func:`~grading.results.decision.default_components`
apply: levels 5–3 theory + skill, levels 2–1 add 综合评审; 考评结合 adds 工作业绩评审, 工作业绩评审
alone is the performance review. Each required component passes at 60 of 100 unless its pass
mark says otherwise; all must pass (conjunctive). :func:`scheme_for` gives the engine's
:class:`~grading.results.decision.Scheme` for a registration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation import audit
from foundation.accounts import User
from foundation.db import utcnow
from foundation.errors import NotFound, ValidationError
from foundation.levels import level_name
from foundation.occupations import Occupation
from foundation.roles import Role, require_role
from grading.results.decision import Component, Method, Scheme, default_components
from grading.results.models import SCHEME_METHODS, EvaluationScheme

DEFAULT_PASS_MARK = Decimal(60)
LEVELS = (5, 4, 3, 2, 1)
METHODS = tuple(Method(m) for m in SCHEME_METHODS)
REVIEW_LEVELS = (2, 1)


def _method(value: Method | str) -> Method:
    if value not in SCHEME_METHODS:
        raise ValidationError("评价方式无效，应为认定考核、考评结合或工作业绩评审。", field="method")
    return Method(value)


def _level(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value not in LEVELS:
        raise ValidationError("等级应为 1 至 5。", field="level")
    return value


def _row(session: Session, occupation_id: int | None, level: int, method: Method) -> EvaluationScheme | None:
    where = (EvaluationScheme.occupation_id.is_(None) if occupation_id is None
             else EvaluationScheme.occupation_id == occupation_id)
    return session.scalar(select(EvaluationScheme).where(
        where, EvaluationScheme.level == level, EvaluationScheme.method == method.value))


def _scheme_of(row: EvaluationScheme | None, level: int, method: Method, occupation: str) -> Scheme:
    if row is None:
        return Scheme(level=level, method=method, components=default_components(method, level),
                      occupation=occupation)
    components = tuple(Component(c) for c in row.components)
    marks = {Component(c): Decimal(str(m)) for c, m in row.pass_marks.items() if Component(c) in components}
    return Scheme(level=level, method=method, components=components, pass_marks=marks, occupation=occupation)


def scheme_for(session: Session, occupation: Occupation | int | None, level: int, method: Method | str) -> Scheme:
    """The scheme for a registration: the occupation's own row, else the default row, else the
    engine's defaults. ``occupation`` may be None (the defaults)."""
    kind = _method(method)
    _level(level)
    occ = session.get(Occupation, occupation) if isinstance(occupation, int) else occupation
    row = _row(session, occ.id, level, kind) if occ is not None else None
    if row is None:
        row = _row(session, None, level, kind)
    return _scheme_of(row, level, kind, occ.name if occ is not None else "")


def schemes_for_level(session: Session, occupation: Occupation, level: int) -> dict[Method, Scheme]:
    """:func:`scheme_for` of every configurable method at once (one query): what a batch's
    registrations, one occupation and level with any method, are decided by."""
    _level(level)
    rows = session.scalars(select(EvaluationScheme).where(
        EvaluationScheme.level == level,
        (EvaluationScheme.occupation_id == occupation.id) | EvaluationScheme.occupation_id.is_(None))).all()
    out: dict[Method, Scheme] = {}
    for method in METHODS:
        own = [r for r in rows if r.method == method.value and r.occupation_id == occupation.id]
        default = [r for r in rows if r.method == method.value and r.occupation_id is None]
        found = own or default
        out[method] = _scheme_of(found[0] if found else None, level, method, occupation.name)
    return out


def pass_mark(scheme: Scheme, component: Component) -> Decimal:
    return Decimal(scheme.pass_marks.get(component, DEFAULT_PASS_MARK))


def default_table(session: Session) -> list[Scheme]:
    """The default scheme of every level × method (stored or the engine's)."""
    return [scheme_for(session, None, level, method) for method in METHODS for level in LEVELS]


def overrides(session: Session) -> list[EvaluationScheme]:
    """Every occupation's own scheme rows."""
    return list(session.scalars(select(EvaluationScheme).where(EvaluationScheme.occupation_id.is_not(None))
                                .order_by(EvaluationScheme.occupation_id, EvaluationScheme.method,
                                          EvaluationScheme.level.desc())))


def _mark(value: object, component: Component) -> Decimal:
    label = f"「{component.label}」合格线"
    try:
        mark = Decimal(str(value).strip()) if str(value).strip() else DEFAULT_PASS_MARK
    except InvalidOperation:
        raise ValidationError(f"{label}应为 0 至 100 的数字。", field=f"pass_mark_{component.value}") from None
    if not mark.is_finite() or not Decimal(0) < mark <= Decimal(100):
        raise ValidationError(f"{label}应大于 0 且不超过 100。", field=f"pass_mark_{component.value}")
    if mark.quantize(Decimal("0.1")) != mark:
        raise ValidationError(f"{label}最多保留一位小数。", field=f"pass_mark_{component.value}")
    return mark.normalize() if mark == mark.to_integral_value() else mark


def check_scheme(level: int, method: Method | str, components: Iterable[str],
                 pass_marks: Mapping[str, object]) -> tuple[Method, tuple[Component, ...], dict[str, str]]:
    """Validate a scheme's parts; return the method, the components in the engine's order and
    the pass marks as decimal strings (60 where none is given)."""
    kind = _method(method)
    _level(level)
    names = list(components)
    unknown = [n for n in names if n not in {c.value for c in Component}]
    if unknown:
        raise ValidationError(f"未知的考核科目：{'、'.join(unknown)}。", field="components")
    chosen = tuple(c for c in Component if c.value in names)
    if not chosen:
        raise ValidationError("评价方案至少要有一个考核科目。", field="components")
    if level in REVIEW_LEVELS and Component.REVIEW not in chosen:
        raise ValidationError(f"{level_name(level)}的评价方案必须包含「{Component.REVIEW.label}」。",
                              field="components")
    if level not in REVIEW_LEVELS and Component.REVIEW in chosen:
        raise ValidationError(f"「{Component.REVIEW.label}」只用于二级/技师和一级/高级技师。", field="components")
    marks = {c.value: str(_mark(pass_marks.get(c.value, ""), c)) for c in chosen}
    return kind, chosen, marks


def save_scheme(
    session: Session, actor: User, *, occupation_id: int | None, level: int, method: Method | str,
    components: Iterable[str], pass_marks: Mapping[str, object],
) -> EvaluationScheme:
    """Set the scheme of an occupation (or the default, ``occupation_id`` None): centre only."""
    require_role(actor, Role.CENTRE_ADMIN)
    kind, chosen, marks = check_scheme(level, method, components, pass_marks)
    if occupation_id is not None:
        occupation = session.get(Occupation, occupation_id)
        if occupation is None:
            raise ValidationError("所选职业不存在。", field="occupation_id")
        if level not in occupation.levels:
            raise ValidationError(f"职业「{occupation.name}」不设{level_name(level)}。", field="level")
    row = _row(session, occupation_id, level, kind)
    before = {"components": list(row.components), "pass_marks": dict(row.pass_marks)} if row else None
    after = {"occupation_id": occupation_id, "level": level, "method": kind.value,
             "components": [c.value for c in chosen], "pass_marks": marks}
    if row is None:
        row = EvaluationScheme(occupation_id=occupation_id, level=level, method=kind.value)
        session.add(row)
    row.components = [c.value for c in chosen]
    row.pass_marks = marks
    row.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, "scheme.create" if before is None else "scheme.update", "scheme", row.id,
                 before=before, after=after)
    return row


def delete_override(session: Session, actor: User, scheme_id: int) -> None:
    """Remove an occupation's own scheme (its defaults apply again); defaults are edited, not
    removed."""
    require_role(actor, Role.CENTRE_ADMIN)
    row = session.get(EvaluationScheme, scheme_id)
    if row is None:
        raise NotFound("评价方案不存在。")
    if row.occupation_id is None:
        raise ValidationError("默认评价方案不能删除，只能修改。")
    before = {"occupation_id": row.occupation_id, "level": row.level, "method": row.method,
              "components": list(row.components), "pass_marks": dict(row.pass_marks)}
    session.delete(row)
    session.flush()
    audit.record(session, actor, "scheme.delete", "scheme", scheme_id, before=before)
