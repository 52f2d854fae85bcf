"""Centre dispatch of quality supervisors (选派质量督导员) to batches.

The notice (过程督导): the human-resources departments dispatch supervisors as needed for spot
checks of an institution's batches, together with the centre's technical supervisors. Here the
centre admin dispatches one of the centre's supervisors (an account of role ``supervisor``
belonging to no institution) to a filed batch, and may withdraw them. Dispatch is the centre's
and works at any time once the plan was filed, during a sitting too: filing freezes the
institution's edits, not the centre's oversight. The institution neither adds nor removes a
dispatched supervisor (:func:`examroom.batches.assign_staff`, :func:`examroom.batches.remove_staff`).

A dispatched supervisor watches every room of the batch read-only and files one report per
sitting, exactly like the institution's own (:mod:`examroom.proctoring`).

Like every service: validate first, then write, flush, audit; never commit.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from examroom.models import Batch, BatchStaff, BatchStatus, StaffRole, SupervisionReport
from foundation import audit
from foundation.accounts import User
from foundation.errors import NotFound, ValidationError
from foundation.roles import Role, require_role

__all__ = ["can_dispatch", "dispatch_supervisor", "dispatchable_supervisors", "withdraw_supervisor"]


def _batch(session: Session, batch_id: int) -> Batch:
    if isinstance(batch_id, bool) or not isinstance(batch_id, int):
        raise NotFound("认定批次不存在。")
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound("认定批次不存在。")
    return batch


def can_dispatch(batch: Batch) -> bool:
    """Whether the batch takes dispatched supervisors: once its plan has been filed (a draft is
    the institution's own business until then)."""
    return batch.status != BatchStatus.DRAFT.value


def dispatchable_supervisors(session: Session, batch: Batch) -> list[User]:
    """The centre's active supervisors not yet on the batch, by name."""
    on_batch = {s.user_id for s in batch.staff if s.role == StaffRole.SUPERVISOR}
    users = session.scalars(select(User).where(
        User.role == Role.SUPERVISOR.value, User.institution_id.is_(None), User.active.is_(True),
    ).order_by(User.name, User.id))
    return [u for u in users if u.id not in on_batch]


def dispatch_supervisor(session: Session, actor: User, batch_id: int, supervisor_id: int) -> BatchStaff:
    """The centre dispatches one of its supervisors to the batch (any time after filing)."""
    require_role(actor, Role.CENTRE_ADMIN)
    batch = _batch(session, batch_id)
    if not can_dispatch(batch):
        raise ValidationError(f"认定批次「{batch.name}」尚未报备，报备后才能选派质量督导员。")
    user = session.get(User, supervisor_id) if isinstance(supervisor_id, int) else None
    if user is None or user.role != Role.SUPERVISOR.value or not user.active:
        raise ValidationError("所选账号不是有效的质量督导员。", field="supervisor_id")
    if user.institution_id is not None:
        raise ValidationError(f"质量督导员「{user.name}」隶属于评价机构，中心只能选派本中心的质量督导员。",
                              field="supervisor_id")
    if any(s.user_id == user.id and s.role == StaffRole.SUPERVISOR for s in batch.staff):
        raise ValidationError(f"质量督导员「{user.name}」已在本批次。", field="supervisor_id")
    row = BatchStaff(user_id=user.id, role=StaffRole.SUPERVISOR.value, dispatched=True)
    batch.staff.append(row)
    session.flush()
    audit.record(session, actor, "supervision.dispatch", "batch", batch.id,
                 after={"staff_id": row.id, "user_id": user.id, "name": user.name, "status": batch.status})
    return row


def withdraw_supervisor(session: Session, actor: User, batch_id: int, staff_id: int) -> None:
    """The centre withdraws a supervisor it dispatched. Refused once they filed a report on the
    batch: the report names them, and who supervised stays on the record."""
    require_role(actor, Role.CENTRE_ADMIN)
    batch = _batch(session, batch_id)
    row = next((s for s in batch.staff if s.id == staff_id), None)
    if row is None:
        raise NotFound("该督导员安排不存在。")
    if not row.dispatched:
        raise ValidationError(f"「{row.user.name}」不是中心选派的质量督导员，由评价机构在认定计划中安排。")
    reported = session.scalar(select(SupervisionReport.id).where(
        SupervisionReport.batch_id == batch.id, SupervisionReport.supervisor_id == row.user_id).limit(1))
    if reported is not None:
        raise ValidationError(f"质量督导员「{row.user.name}」已提交本批次的督考报告，不能撤回。")
    before = {"staff_id": row.id, "user_id": row.user_id, "name": row.user.name}
    batch.staff.remove(row)
    session.flush()
    audit.record(session, actor, "supervision.withdraw", "batch", batch.id, before=before)
