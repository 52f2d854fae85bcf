"""A registration's evaluation method (评价方式) and candidate category (考生类别), set by the
institution admin on the batch's roster.

The method says which scheme decides the registration (:func:`grading.results.schemes.scheme_for`:
认定考核, 考评结合 or 工作业绩评审); the category is the candidate's kind (本单位职工 …). Both may
be changed, for one registration or several at once, by the admin of the batch's institution
only, and only:

* while no decision of the registration is confirmed (released to the candidate): after that,
  a change of the method would change a released decision, which goes through re-deciding
  with a reason instead;
* to a method for which the scheme of the batch's occupation and level gives components (竞赛
  选拔 has none: it is decided from competition results, not set here);
* to a known category.

Several at once are all or nothing: one refusal refuses them all and nothing is written. Every
registration that changes gets its own audit entry (``registration.update``) with the values
before and after. A draft decision made before the change no longer matches its inputs and is
not confirmed until the registration is decided again (:mod:`grading.results.decisions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from examroom.models import Batch, BatchCandidate
from foundation import audit
from foundation.accounts import CANDIDATE_CATEGORY_LABELS, CandidateCategory, User
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.levels import level_name
from foundation.roles import Role, require_role
from grading.results.decision import Method
from grading.results.models import LevelDecision
from grading.results.schemes import METHODS, scheme_for

__all__ = ["SETTABLE_METHODS", "Change", "set_registration", "set_registrations"]

#: The methods a registration may be set to on the roster, in the page's order.
SETTABLE_METHODS = METHODS
MAX_AT_ONCE = 2000


@dataclass(frozen=True, slots=True)
class Change:
    """What was asked for one registration and whether it changed anything."""

    registration: BatchCandidate
    changed: bool


def _batch(session: Session, actor: User, batch_id: int) -> Batch:
    require_role(actor, Role.INSTITUTION_ADMIN)
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound("认定批次不存在。")
    if actor.institution_id != batch.institution_id:
        raise PermissionDenied("只能修改本机构认定批次考生的评价方式和考生类别。")
    return batch


def _method(session: Session, batch: Batch, value: str | None) -> str | None:
    """The method to set (None: unchanged), refused unless its scheme gives components."""
    if not value:
        return None
    if value == Method.COMPETITION.value:
        raise ValidationError("竞赛选拔按竞赛成绩和认定规则认定，不能在名册中设为考生的评价方式。", field="method")
    if value not in {m.value for m in SETTABLE_METHODS}:
        raise ValidationError("评价方式无效，应为认定考核、考评结合或工作业绩评审。", field="method")
    scheme = scheme_for(session, batch.occupation, batch.level, value)
    if not scheme.components:
        raise ValidationError(f"「{batch.occupation.name}」{level_name(batch.level)}的「{Method(value).label}」"
                              "评价方案没有考核科目，不能采用该评价方式；请先由省中心设置评价方案。", field="method")
    return value


def _category(value: str | None) -> str | None:
    if not value:
        return None
    if value not in {c.value for c in CandidateCategory}:
        raise ValidationError("考生类别无效，可选：" + "、".join(CANDIDATE_CATEGORY_LABELS.values()) + "。",
                              field="category")
    return value


def _confirmed(session: Session, registration_ids: Sequence[int]) -> set[int]:
    if not registration_ids:
        return set()
    return set(session.scalars(select(LevelDecision.registration_id).where(
        LevelDecision.registration_id.in_(registration_ids), LevelDecision.state == "confirmed")))


def _apply(session: Session, actor: User, batch: Batch, regs: Sequence[BatchCandidate], method: str | None,
           category: str | None) -> list[Change]:
    if method is None and category is None:
        raise ValidationError("请选择要修改的评价方式或考生类别。", field="method")
    released = _confirmed(session, [r.id for r in regs])
    refused = [r for r in regs if r.id in released]
    if refused:
        names = "、".join(f"「{r.candidate.name}」" for r in refused[:10]) + ("等" if len(refused) > 10 else "")
        raise ValidationError(f"{names}的认定结论已确认发布，不能再修改评价方式或考生类别"
                              "（如需更正，请在成绩与结论中说明原因重新判定）。未作任何修改。")
    out = []
    for reg in regs:
        before = {"method": reg.method, "category": reg.category}
        after = {"method": method or reg.method, "category": category or reg.category}
        if after == before:
            out.append(Change(reg, False))
            continue
        reg.method, reg.category = after["method"], after["category"]
        audit.record(session, actor, "registration.update", "registration", reg.id, before=before,
                     after={**after, "batch_id": batch.id, "ticket_no": reg.ticket_no})
        out.append(Change(reg, True))
    session.flush()
    return out


def set_registration(session: Session, actor: User, registration_id: int, *, method: str | None = None,
                     category: str | None = None) -> Change:
    """Set one registration's method and/or category (None or "": unchanged)."""
    reg = session.get(BatchCandidate, registration_id)
    if reg is None:
        raise NotFound("报名记录不存在。")
    batch = _batch(session, actor, reg.batch_id)
    return _apply(session, actor, batch, [reg], _method(session, batch, method), _category(category))[0]


def set_registrations(session: Session, actor: User, batch_id: int, registration_ids: Sequence[int], *,
                      method: str | None = None, category: str | None = None) -> list[Change]:
    """Set the method and/or category of several registrations of one batch, all or nothing."""
    batch = _batch(session, actor, batch_id)
    ids = list(dict.fromkeys(registration_ids))
    if not ids:
        raise ValidationError("请在名册中勾选要修改的考生。", field="registration_id")
    if len(ids) > MAX_AT_ONCE:
        raise ValidationError(f"一次最多修改 {MAX_AT_ONCE} 名考生。", field="registration_id")
    regs = list(session.scalars(select(BatchCandidate).where(BatchCandidate.id.in_(ids),
                                                             BatchCandidate.batch_id == batch.id)
                                .order_by(BatchCandidate.ticket_no, BatchCandidate.id)))
    if len(regs) != len(ids):
        raise NotFound("所选考生不在本批次名册中。")
    return _apply(session, actor, batch, regs, _method(session, batch, method), _category(category))
