"""Evaluation scopes (评价范围): labels, the caps a filed scope row must respect (the
enterprise's self-evaluation scope, the school's main majors, the configured level cap by kind
and tier), adding and removing scope rows, and :func:`check_in_scope` for the cores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from foundation import audit
from foundation.errors import NotFound, ValidationError
from foundation.institutions._common import _add_step, _require_centre
from foundation.institutions.filing import get_institution
from foundation.institutions.models import (
    BASIS_LABELS,
    CLOSED,
    GROUND_BASIS,
    ONCE_FILED,
    FilingStatus,
    Institution,
    InstitutionKind,
    ScopeBasis,
    ScopeEntry,
    type_label,
)
from foundation.institutions.rules import scope_caps
from foundation.levels import LEVEL_NAMES, check_level_range, level_name, level_range_name
from foundation.occupations import Occupation, WorkType, register_level_range_check, require_evaluable

if TYPE_CHECKING:
    from foundation.accounts import User

# ---------------------------------------------------------------- labels


def describe_scope(occupation: Occupation, work_type: WorkType | None, lowest: int, highest: int) -> str:
    """「电工（五级/初级工 至 三级/高级工）」, with 「 / 工种」 when the entry names one."""

    target = occupation.name + (f" / {work_type.name}" if work_type is not None else "")
    return f"{target}（{level_range_name(lowest, highest)}）"


def scope_entry_label(entry: ScopeEntry) -> str:
    return describe_scope(entry.occupation, entry.work_type, entry.lowest_level, entry.highest_level)


def scope_by_basis(institution: Institution) -> dict[str, list[ScopeEntry]]:
    grouped: dict[str, list[ScopeEntry]] = {b.value: [] for b in ScopeBasis}
    for entry in institution.scope_entries:
        grouped.setdefault(entry.basis, []).append(entry)
    return grouped


def _entry_summary(entry: ScopeEntry) -> dict[str, Any]:
    return {
        "scope_entry_id": entry.id,
        "basis": entry.basis,
        "occupation_id": entry.occupation_id,
        "work_type_id": entry.work_type_id,
        "lowest_level": entry.lowest_level,
        "highest_level": entry.highest_level,
        "label": scope_entry_label(entry),
    }


# ---------------------------------------------------------------- scope


def _covers(ground: ScopeEntry, occupation_id: int, work_type_id: int | None) -> bool:
    """A ground row without a 工种 covers the whole occupation; with one, only that 工种."""
    return ground.occupation_id == occupation_id and (
        ground.work_type_id is None or ground.work_type_id == work_type_id
    )


def _levels_inside(lowest: int, highest: int, outer_lowest: int, outer_highest: int) -> bool:
    # Levels count downward (5 lowest, 1 highest): inside means numerically between.
    return lowest <= outer_lowest and highest >= outer_highest


def _check_filed_caps(
    session: Session,
    inst: Institution,
    occupation: Occupation,
    work_type: WorkType | None,
    lowest: int,
    highest: int,
) -> None:
    """The caps a filed scope row must respect, by institution kind and tier."""

    desc = describe_scope(occupation, work_type, lowest, highest)
    wt_id = work_type.id if work_type is not None else None
    require_evaluable(occupation)  # access-type (准入类) and inactive occupations are refused
    if inst.kind == InstitutionKind.ENTERPRISE:
        if not inst.has_self_evaluation:
            raise ValidationError("企业须先取得技能人才自主评价资格，才能申报第三方评价范围。")
        grounds = [e for e in inst.scope_entries
                   if e.basis == ScopeBasis.SELF_EVALUATION and _covers(e, occupation.id, wt_id)]
        if not grounds:
            raise ValidationError(
                f"{desc}不在本企业的自主评价范围内：企业的评价范围须与其自主评价的职业（工种）、等级一致。"
            )
        if not any(_levels_inside(lowest, highest, g.lowest_level, g.highest_level) for g in grounds):
            own = "、".join(level_range_name(g.lowest_level, g.highest_level) for g in grounds)
            raise ValidationError(f"{desc}超出本企业自主评价的等级范围（{own}）。")
    if inst.kind == InstitutionKind.SCHOOL and not any(
        e.basis == ScopeBasis.MAIN_MAJOR and _covers(e, occupation.id, wt_id) for e in inst.scope_entries
    ):
        raise ValidationError(f"{desc}不是本院校的主体专业（工种）：院校只能申报主体专业对应的职业（工种）。")
    caps = scope_caps(session)
    cap = caps.get(f"{inst.kind}:{inst.tier}")
    label = type_label(inst.kind, inst.tier)
    if cap is None:
        if inst.kind == InstitutionKind.ENTERPRISE:
            return  # its self-evaluation scope, checked above, is the cap
        raise ValidationError(f"尚未配置{label}的评价范围等级上限，请先在规则配置中设置。")
    if highest < cap:
        raise ValidationError(f"{label}的评价范围最高为{level_name(cap)}，不能申报{level_name(highest)}。")


def add_scope_entry(
    session: Session,
    actor: User | None,
    institution_id: int,
    *,
    occupation_id: int,
    work_type_id: int | None,
    lowest_level: int,
    highest_level: int,
    basis: str = "filed",
) -> ScopeEntry:
    """Add one (occupation, 工种, lowest, highest) row.

    basis "filed" is the evaluation scope itself and must respect the caps (see
    :func:`_check_filed_caps`); "self_evaluation" (enterprises) and "main_major" (schools) are
    the grounds that cap it. On an institution already filed, the change is the simplified
    re-filing (简易备案变更) and is recorded as a FilingStep as well. ``actor`` None is the
    system seeding reference data."""

    _require_centre(actor, system_allowed=True)
    inst = get_institution(session, institution_id)
    if inst.status in CLOSED:
        raise ValidationError(f"{inst.status_label}的机构不能变更评价范围。")
    if basis not in {b.value for b in ScopeBasis}:
        raise ValidationError("未知的评价范围类别。", field="basis")
    if basis != ScopeBasis.FILED and GROUND_BASIS.get(inst.kind) != basis:
        if basis == ScopeBasis.SELF_EVALUATION:
            raise ValidationError("只有企业才登记自主评价范围。", field="basis")
        raise ValidationError("只有院校才登记主体专业（工种）。", field="basis")
    occupation = session.get(Occupation, occupation_id) if occupation_id else None
    if occupation is None:
        raise ValidationError("请选择有效的职业。", field="occupation_id")
    work_type = None
    if work_type_id:
        work_type = session.get(WorkType, work_type_id)
        if work_type is None:
            raise ValidationError("所选工种不存在。", field="work_type_id")
        if work_type.occupation_id != occupation.id:
            raise ValidationError(f"工种「{work_type.name}」不属于职业「{occupation.name}」。",
                                  field="work_type_id")
    try:
        lowest, highest = int(lowest_level), int(highest_level)
    except (TypeError, ValueError):
        raise ValidationError("请选择有效的等级。", field="lowest_level") from None
    check_level_range(lowest, highest)
    if not _levels_inside(lowest, highest, occupation.lowest_level, occupation.highest_level):
        raise ValidationError(
            f"{occupation.name}的等级范围为{occupation.level_range_label}，"
            f"不能申报{level_range_name(lowest, highest)}。",
            field="highest_level",
        )
    wt_id = work_type.id if work_type is not None else None
    basis_label = BASIS_LABELS[ScopeBasis(basis)]
    for existing in inst.scope_entries:
        same_target = existing.occupation_id == occupation.id and existing.work_type_id == wt_id
        if existing.basis == basis and same_target:
            raise ValidationError(
                f"{basis_label}中已有{scope_entry_label(existing)}，如需调整等级请先删除原条目。"
            )
    if basis == ScopeBasis.FILED:
        _check_filed_caps(session, inst, occupation, work_type, lowest, highest)
    entry = ScopeEntry(
        institution=inst,
        basis=basis,
        occupation=occupation,
        occupation_id=occupation.id,
        work_type=work_type,
        work_type_id=wt_id,
        lowest_level=lowest,
        highest_level=highest,
    )
    session.add(entry)
    if inst.status in ONCE_FILED:
        prefix = "评价范围变更" if basis == ScopeBasis.FILED else f"{basis_label}变更"
        _add_step(session, inst, actor, inst.status, inst.status,
                  f"{prefix}：新增 {describe_scope(occupation, work_type, lowest, highest)}")
    session.flush()
    audit.record(session, actor, "institution.add_scope_entry", "institution", inst.id,
                 after=_entry_summary(entry))
    return entry


def remove_scope_entry(session: Session, actor: User, entry_id: int, reason: str) -> None:
    """Drop one scope row, with a reason. A filed institution keeps at least one filed row, and
    a ground row (self-evaluation scope, main major) cannot go while a filed row relies on it."""

    _require_centre(actor)
    entry = session.get(ScopeEntry, entry_id)
    if entry is None:
        raise NotFound("评价范围条目不存在。")
    inst = entry.institution
    why = (reason or "").strip()
    if not why:
        raise ValidationError("删除评价范围必须填写原因。", field="reason")
    if len(why) > 2000:
        raise ValidationError("原因不能超过 2000 个字符。", field="reason")
    if inst.status in CLOSED:
        raise ValidationError(f"{inst.status_label}的机构不能变更评价范围。")
    others = [e for e in inst.scope_entries if e.id != entry.id]
    if entry.basis == ScopeBasis.FILED:
        if inst.status in ONCE_FILED and not any(e.basis == ScopeBasis.FILED for e in others):
            raise ValidationError("已备案机构至少保留一项备案评价范围；如需停止评价，请办理暂停或退出。")
    else:
        for filed in (e for e in others if e.basis == ScopeBasis.FILED):
            still = [g for g in others if g.basis == entry.basis and _covers(g, filed.occupation_id,
                                                                               filed.work_type_id)]
            if entry.basis == ScopeBasis.SELF_EVALUATION:
                still = [g for g in still if _levels_inside(filed.lowest_level, filed.highest_level,
                                                            g.lowest_level, g.highest_level)]
            if not still:
                raise ValidationError(
                    f"不能删除：备案评价范围中的{scope_entry_label(filed)}依赖该"
                    f"{BASIS_LABELS[ScopeBasis(entry.basis)]}，请先删除相应的备案评价范围。"
                )
    before = _entry_summary(entry)
    if inst.status in ONCE_FILED:
        basis_label = BASIS_LABELS[ScopeBasis(entry.basis)]
        prefix = "评价范围变更" if entry.basis == ScopeBasis.FILED else f"{basis_label}变更"
        _add_step(session, inst, actor, inst.status, inst.status,
                  f"{prefix}：删除 {scope_entry_label(entry)}；原因：{why}")
    inst.scope_entries.remove(entry)
    session.delete(entry)
    session.flush()
    audit.record(session, actor, "institution.remove_scope_entry", "institution", inst.id,
                 before=before, after={"reason": why})


def check_in_scope(
    session: Session,
    institution: Institution | int,
    occupation_id: int,
    work_type_id: int | None,
    level: int,
) -> None:
    """Refuse work outside an institution's filed scope. Call it before creating anything an
    institution evaluates or issues: a batch (认定批次), a paper, a certificate.

    Passes silently when all of these hold, and raises
    :class:`foundation.errors.ValidationError` with a Chinese message naming the first that
    fails:

    * the institution is filed (备案) — not applied, under review, suspended, exited or rejected;
    * the occupation exists, is not access-type (准入类) and is active;
    * a scope row of basis "filed" covers it: the same occupation, and either the row names
      no 工种 (the whole occupation) or the same 工种 as ``work_type_id``; a row naming a 工种
      does not cover a request for the whole occupation (``work_type_id`` None);
    * ``level`` (5 = 五级/初级工 … 1 = 一级/高级技师) lies within that row's level range.

    ``institution`` may be the row or its id. Reads only; never writes.
    """

    inst = institution if isinstance(institution, Institution) else get_institution(session, institution)
    if inst.status != FilingStatus.FILED:
        raise ValidationError(f"「{inst.name}」当前状态为{inst.status_label}，不能开展职业技能等级认定。")
    occupation = session.get(Occupation, occupation_id)
    if occupation is None:
        raise ValidationError("职业不存在。")
    require_evaluable(occupation)  # it may have become access-type or inactive since filing
    if level not in LEVEL_NAMES:
        raise ValidationError("等级必须是 1 到 5 之间的整数。")
    work_type = session.get(WorkType, work_type_id) if work_type_id else None
    if work_type_id and (work_type is None or work_type.occupation_id != occupation.id):
        raise ValidationError(f"所选工种不属于职业「{occupation.name}」。")
    target = occupation.name + (f" / {work_type.name}" if work_type is not None else "")
    for entry in inst.scope_entries:
        if (
            entry.basis == ScopeBasis.FILED
            and _covers(entry, occupation.id, work_type_id or None)
            and entry.highest_level <= level <= entry.lowest_level
        ):
            return
    raise ValidationError(f"{target} {level_name(level)}不在「{inst.name}」的备案评价范围内。")


@register_level_range_check
def scope_level_conflict(session: Session, occupation: Occupation, lowest: int, highest: int) -> str | None:
    """Narrowing an occupation's levels must not strand institution scopes outside the new range."""
    row = session.execute(
        select(Institution.name, ScopeEntry.lowest_level, ScopeEntry.highest_level)
        .join(Institution, Institution.id == ScopeEntry.institution_id)
        .where(
            ScopeEntry.occupation_id == occupation.id,
            or_(ScopeEntry.lowest_level > lowest, ScopeEntry.highest_level < highest),
        )
        .limit(1)
    ).first()
    if row is None:
        return None
    return (
        f"评价机构「{row[0]}」的评价范围包含{level_range_name(row[1], row[2])}，"
        f"超出新的等级范围{level_range_name(lowest, highest)}；请先调整该机构的评价范围。"
    )
