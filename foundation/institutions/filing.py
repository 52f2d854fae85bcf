"""The registry and its filing workflow (备案流程): registry and public-disclosure queries,
field validation, registering an application, editing the registered details, and moving an
institution along applied -> local_review -> expert_assessment -> filed (or rejected, suspended,
exited), assigning its serial and institution code on first filing.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from foundation import audit
from foundation.db import utcnow
from foundation.errors import NotFound, ValidationError
from foundation.institutions._common import _add_step, _require_centre
from foundation.institutions.codes import credit_code_problem, institution_code, normalise_credit_code
from foundation.institutions.models import (
    ALL_KINDS,
    ONCE_FILED,
    STATUS_LABELS,
    TIER_LABELS,
    FilingStatus,
    Institution,
    InstitutionKind,
    ScopeBasis,
    ScopeEntry,
)
from foundation.institutions.rules import check_filing_window, province_code
from foundation.names import name_problem
from foundation.occupations import Occupation, WorkType
from foundation.roles import Role, require_role

if TYPE_CHECKING:
    from foundation.accounts import User

# The filing workflow. Anything not listed is refused.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    FilingStatus.APPLIED: (FilingStatus.LOCAL_REVIEW,),
    FilingStatus.LOCAL_REVIEW: (FilingStatus.EXPERT_ASSESSMENT, FilingStatus.REJECTED),
    FilingStatus.EXPERT_ASSESSMENT: (FilingStatus.FILED, FilingStatus.REJECTED),
    FilingStatus.FILED: (FilingStatus.SUSPENDED, FilingStatus.EXITED),
    FilingStatus.SUSPENDED: (FilingStatus.FILED, FilingStatus.EXITED),
    FilingStatus.EXITED: (),
    FilingStatus.REJECTED: (),
}


# ---------------------------------------------------------------- labels


def transition_label(from_status: str, to_status: str) -> str:
    """The button text for one workflow step."""
    if to_status == FilingStatus.LOCAL_REVIEW:
        return "受理，进入初审"
    if to_status == FilingStatus.EXPERT_ASSESSMENT:
        return "初审通过，进入专家评估"
    if to_status == FilingStatus.FILED:
        return "恢复（解除暂停）" if from_status == FilingStatus.SUSPENDED else "准予备案"
    if to_status == FilingStatus.REJECTED:
        return "不予备案"
    if to_status == FilingStatus.SUSPENDED:
        return "暂停"
    if to_status == FilingStatus.EXITED:
        return "退出"
    return STATUS_LABELS.get(FilingStatus(to_status), to_status)


def reason_required(from_status: str, to_status: str) -> bool:
    """Refusals, suspensions, exits and reinstatements must say why."""
    return to_status in (FilingStatus.REJECTED, FilingStatus.SUSPENDED, FilingStatus.EXITED) or (
        from_status == FilingStatus.SUSPENDED and to_status == FilingStatus.FILED
    )


def allowed_transitions(institution: Institution) -> list[str]:
    return list(TRANSITIONS.get(institution.status, ()))


# ---------------------------------------------------------------- registry queries


def get_institution(session: Session, institution_id: int) -> Institution:
    inst = session.get(Institution, institution_id)
    if inst is None:
        raise NotFound("评价机构不存在。")
    return inst


def registry_query(*, search: str = "", status: str = "", kind: str = "") -> Select[Institution]:
    """The centre's list: search by name, credit code or institution code; filter status and kind."""
    stmt = select(Institution)
    search = (search or "").strip()
    if search:
        stmt = stmt.where(
            or_(
                Institution.name.icontains(search, autoescape=True),
                Institution.code.icontains(search, autoescape=True),
                Institution.credit_code.icontains(search, autoescape=True),
            )
        )
    if status in {s.value for s in FilingStatus}:
        stmt = stmt.where(Institution.status == status)
    if kind in ALL_KINDS:
        stmt = stmt.where(Institution.kind == kind)
    return stmt.order_by(Institution.created_at.desc(), Institution.id.desc())


def public_institutions_query(search: str | None = None) -> Select[Institution]:
    """Institutions the public may see: filed ones only (never applied, suspended, exited or
    rejected). ``search`` matches the name, the institution code, or an occupation name, code
    or 工种 of the filed scope."""
    stmt = select(Institution).where(Institution.status == FilingStatus.FILED.value)
    search = (search or "").strip()
    if search:
        occupation_match = (
            select(ScopeEntry.id)
            .join(Occupation, Occupation.id == ScopeEntry.occupation_id)
            .outerjoin(WorkType, WorkType.id == ScopeEntry.work_type_id)
            .where(
                ScopeEntry.institution_id == Institution.id,
                ScopeEntry.basis == ScopeBasis.FILED.value,
                or_(
                    Occupation.name.icontains(search, autoescape=True),
                    Occupation.code.icontains(search, autoescape=True),
                    WorkType.name.icontains(search, autoescape=True),
                ),
            )
            .exists()
        )
        stmt = stmt.where(
            or_(
                Institution.name.icontains(search, autoescape=True),
                Institution.code.icontains(search, autoescape=True),
                occupation_match,
            )
        )
    return stmt.order_by(Institution.code)


def public_institution(session: Session, institution_id: int) -> Institution:
    """A filed institution for the disclosure page; anything else is "not found"."""

    inst = session.get(Institution, institution_id)
    if inst is None or inst.status != FilingStatus.FILED:
        raise NotFound("未找到该已备案评价机构。")
    return inst


def institution_of(actor: User) -> Institution:
    """An institution admin's own institution (read-only view)."""

    require_role(actor, Role.INSTITUTION_ADMIN)
    if actor.institution is None:
        raise NotFound("您的账号未关联评价机构。")
    return actor.institution


# ---------------------------------------------------------------- field validation


def _summary(inst: Institution) -> dict[str, Any]:
    return {
        "name": inst.name,
        "kind": inst.kind,
        "tier": inst.tier,
        "credit_code": inst.credit_code,
        "legal_representative": inst.legal_representative,
        "address": inst.address,
        "supervising_body": inst.supervising_body,
        "contact_name": inst.contact_name,
        "contact_phone": inst.contact_phone,
        "unit_details": inst.unit_details,
        "has_self_evaluation": inst.has_self_evaluation,
        "ministry_code": inst.ministry_code,
        "serial": inst.serial,
        "code": inst.code,
        "status": inst.status,
    }


def _text(value: str | None, label: str, max_len: int, field: str, *, required: bool,
          one_line: bool = True) -> str | None:

    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationError(f"{label}不能为空。", field=field)
        return None
    if len(text) > max_len:
        raise ValidationError(f"{label}不能超过 {max_len} 个字符。", field=field)
    problem = name_problem(text, label) if one_line else None
    if problem:
        raise ValidationError(problem, field=field)
    return text


def _phone(value: str | None, *, required: bool) -> str | None:
    text = _text(value, "联系电话", 32, "contact_phone", required=required)
    if text is not None and (
        not re.fullmatch(r"[0-9+()\-—－– ]+", text) or sum(c.isdigit() for c in text) < 7
    ):
        raise ValidationError("联系电话格式不正确，如 0431-88690758 或 13800000000。", field="contact_phone")
    return text


def _check_credit_code(session: Session, value: str | None, existing: Institution | None) -> str:
    if not (value or "").strip():
        raise ValidationError("统一社会信用代码不能为空。", field="credit_code")
    problem = credit_code_problem(value or "")
    if problem:
        raise ValidationError(problem, field="credit_code")
    code = normalise_credit_code(value or "")
    clash = session.scalar(select(Institution).where(Institution.credit_code == code))
    if clash is not None and clash is not existing:
        raise ValidationError(f"统一社会信用代码 {code} 已由「{clash.name}」登记。", field="credit_code")
    return code


def _check_name(session: Session, value: str | None, existing: Institution | None) -> str:
    name = _text(value, "机构名称", 128, "name", required=True) or ""
    clash = session.scalar(select(Institution).where(Institution.name == name))
    if clash is not None and clash is not existing:
        raise ValidationError(f"机构名称「{name}」已被登记。", field="name")
    return name


# ---------------------------------------------------------------- registration and details


def register_application(
    session: Session,
    actor: User | None,
    *,
    name: str,
    kind: str,
    tier: str,
    credit_code: str,
    legal_representative: str,
    address: str,
    supervising_body: str | None,
    contact_name: str,
    contact_phone: str,
    unit_details: str | None,
    has_self_evaluation: bool,
    ministry_code: str = "0000",
    today: dt.date,
) -> Institution:
    """Record an application (申报) the centre received: status applied, first FilingStep.

    Refused outside the filing windows (rule "filing_windows"). ``actor`` None is the system
    seeding reference data."""

    _require_centre(actor, system_allowed=True)
    check_filing_window(session, today)
    if kind not in ALL_KINDS:
        raise ValidationError("请选择有效的机构类型。", field="kind")
    if tier not in TIER_LABELS.get(kind, {}):
        allowed = "、".join(TIER_LABELS[kind].values())
        raise ValidationError(f"{InstitutionKind(kind).label}的层级应为：{allowed}。", field="tier")
    ministry_code = (ministry_code or "").strip()
    if kind == InstitutionKind.SOCIAL_ORG:
        if not re.fullmatch(r"\d{4}", ministry_code) or ministry_code == "0000":
            raise ValidationError(
                "人社部备案的社会培训评价组织须填写人社部分配的 4 位数字编码（不能为 0000）。",
                field="ministry_code",
            )
    elif ministry_code != "0000":
        raise ValidationError("只有人社部备案的社会培训评价组织才有部备案编码；本省备案机构应为 0000。",
                              field="ministry_code")
    if has_self_evaluation and kind != InstitutionKind.ENTERPRISE:
        raise ValidationError("只有企业才登记技能人才自主评价资格。", field="has_self_evaluation")
    clean_name = _check_name(session, name, None)
    clean_code = _check_credit_code(session, credit_code, None)
    fields = {
        "legal_representative": _text(legal_representative, "法定代表人", 64, "legal_representative",
                                      required=True),
        "address": _text(address, "地址", 255, "address", required=True),
        "supervising_body": _text(supervising_body, "主管（监管服务）部门", 128, "supervising_body",
                                  required=False),
        "contact_name": _text(contact_name, "联系人", 64, "contact_name", required=True),
        "contact_phone": _phone(contact_phone, required=True),
        "unit_details": _text(unit_details, "单位基本情况", 4000, "unit_details", required=False, one_line=False),
    }
    inst = Institution(
        name=clean_name,
        kind=kind,
        tier=tier,
        credit_code=clean_code,
        has_self_evaluation=bool(has_self_evaluation),
        ministry_code=ministry_code,
        status=FilingStatus.APPLIED.value,
        **fields,
    )
    session.add(inst)
    _add_step(session, inst, actor, None, FilingStatus.APPLIED.value,
              f"登记申报（{today.year}年{today.month}月{today.day}日收到申报材料）")
    session.flush()
    audit.record(session, actor, "institution.register_application", "institution", inst.id,
                 after=_summary(inst))
    return inst


def update_institution_details(
    session: Session,
    actor: User,
    institution_id: int,
    *,
    name: str | None = None,
    credit_code: str | None = None,
    legal_representative: str | None = None,
    address: str | None = None,
    supervising_body: str | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    unit_details: str | None = None,
    has_self_evaluation: bool | None = None,
) -> Institution:
    """Edit the registered and disclosed details. ``None`` leaves a field unchanged; an empty
    string clears an optional one. Kind and tier are fixed at registration because the scope
    caps depend on them."""

    _require_centre(actor)
    inst = get_institution(session, institution_id)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = _check_name(session, name, inst)
    if credit_code is not None:
        changes["credit_code"] = _check_credit_code(session, credit_code, inst)
    if legal_representative is not None:
        changes["legal_representative"] = _text(legal_representative, "法定代表人", 64,
                                                "legal_representative", required=True)
    if address is not None:
        changes["address"] = _text(address, "地址", 255, "address", required=True)
    if supervising_body is not None:
        changes["supervising_body"] = _text(supervising_body, "主管（监管服务）部门", 128,
                                            "supervising_body", required=False)
    if contact_name is not None:
        changes["contact_name"] = _text(contact_name, "联系人", 64, "contact_name", required=True)
    if contact_phone is not None:
        changes["contact_phone"] = _phone(contact_phone, required=True)
    if unit_details is not None:
        changes["unit_details"] = _text(unit_details, "单位基本情况", 4000, "unit_details", required=False,
                                        one_line=False)
    if has_self_evaluation is not None and bool(has_self_evaluation) != inst.has_self_evaluation:
        if inst.kind != InstitutionKind.ENTERPRISE:
            raise ValidationError("只有企业才登记技能人才自主评价资格。", field="has_self_evaluation")
        if not has_self_evaluation and (
            inst.status in ONCE_FILED
            or any(e.basis == ScopeBasis.FILED for e in inst.scope_entries)
        ):
            raise ValidationError(
                "该企业已备案或已登记备案评价范围，不能取消其自主评价资格；如资格被撤销，请办理暂停或退出。",
                field="has_self_evaluation",
            )
        changes["has_self_evaluation"] = bool(has_self_evaluation)
    changes = {k: v for k, v in changes.items() if getattr(inst, k) != v}
    if not changes:
        return inst
    before = _summary(inst)
    old_name = inst.name
    for key, value in changes.items():
        setattr(inst, key, value)
    if "name" in changes and inst.status in ONCE_FILED:
        # The filed name is printed on certificates, so a rename is part of the filing record.
        _add_step(session, inst, actor, inst.status, inst.status,
                  f"备案信息变更：机构名称由「{old_name}」改为「{inst.name}」")
    session.flush()
    audit.record(session, actor, "institution.update_details", "institution", inst.id,
                 before=before, after=_summary(inst))
    return inst


# ---------------------------------------------------------------- the filing workflow


def _next_serial(session: Session) -> str:
    highest = session.scalar(select(func.max(Institution.serial)))
    number = int(highest) + 1 if highest else 1
    if number > 999_999:
        raise ValidationError("机构序号已用尽，请手工指定未使用的序号。")
    return f"{number:06d}"


def advance_filing(
    session: Session,
    actor: User | None,
    institution_id: int,
    to_status: str,
    reason: str,
    *,
    serial: str | None = None,
    now: dt.datetime | None = None,
) -> Institution:
    """Move an institution one step along the filing workflow and record who, when and why.

    applied -> local_review -> expert_assessment -> filed; local_review or expert_assessment
    -> rejected; filed -> suspended -> filed (reinstatement); filed or suspended -> exited.
    Rejections, suspensions, exits and reinstatements need a reason. On first filing the
    institution gets its 6-digit province serial (``serial`` or the next free one) and its
    13-character institution code; both stay for life. ``actor`` None is the system seeding
    reference data."""

    _require_centre(actor, system_allowed=True)
    inst = get_institution(session, institution_id)
    current = inst.status
    target = (to_status or "").strip()
    if target not in {s.value for s in FilingStatus}:
        raise ValidationError(f"未知的备案状态：{target}")
    current_label = FilingStatus(current).label
    target_label = FilingStatus(target).label
    if target not in TRANSITIONS.get(current, ()):
        allowed = "、".join(FilingStatus(s).label for s in TRANSITIONS.get(current, ()))
        hint = f"当前可办理：{allowed}。" if allowed else "该机构的备案流程已结束。"
        raise ValidationError(f"不能从「{current_label}」直接变更为「{target_label}」。{hint}")
    why = (reason or "").strip()
    if reason_required(current, target) and not why:
        raise ValidationError(f"办理「{transition_label(current, target)}」必须填写原因。", field="reason")
    if len(why) > 2000:
        raise ValidationError("原因不能超过 2000 个字符。", field="reason")
    first_filing = target == FilingStatus.FILED and inst.code is None
    if serial not in (None, "") and not first_filing:
        if inst.serial is None or serial != inst.serial:
            raise ValidationError("只有首次备案时才能指定机构序号；已分配的序号不能更改。", field="serial")
    code = chosen_serial = None
    if target == FilingStatus.FILED:
        if inst.kind == InstitutionKind.ENTERPRISE and not inst.has_self_evaluation:
            raise ValidationError("企业须先取得技能人才自主评价资格，才能备案为第三方评价机构。")
        if not any(e.basis == ScopeBasis.FILED for e in inst.scope_entries):
            raise ValidationError("备案前须至少登记一项备案评价范围（职业、工种与等级）。")
    if first_filing:
        if serial not in (None, ""):
            chosen_serial = str(serial).strip()
            if not re.fullmatch(r"\d{6}", chosen_serial) or chosen_serial == "000000":
                raise ValidationError("机构序号应为 6 位数字，且不能为 000000。", field="serial")
            clash = session.scalar(select(Institution).where(Institution.serial == chosen_serial))
            if clash is not None and clash is not inst:
                raise ValidationError(f"机构序号 {chosen_serial} 已分配给「{clash.name}」。", field="serial")
        else:
            chosen_serial = inst.serial or _next_serial(session)
        code = institution_code(inst.kind, inst.ministry_code, province_code(session), chosen_serial)
        clash = session.scalar(select(Institution).where(Institution.code == code))
        if clash is not None and clash is not inst:
            raise ValidationError(f"评价机构编码 {code} 已分配给「{clash.name}」。")
    before = _summary(inst)
    at = now or utcnow()
    if first_filing:
        inst.serial = chosen_serial
        inst.code = code
        inst.filed_at = at
    inst.status = target
    _add_step(session, inst, actor, current, target, why, at)
    session.flush()
    audit.record(session, actor, "institution.advance_filing", "institution", inst.id,
                 before=before, after={**_summary(inst), "reason": why})
    return inst
