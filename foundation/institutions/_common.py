"""Private helpers shared by the registry's service modules (:mod:`.rules`, :mod:`.filing`,
:mod:`.scope`): the centre-admin check and the filing-step record."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from foundation.db import utcnow
from foundation.errors import PermissionDenied
from foundation.institutions.models import FilingStep, Institution
from foundation.roles import Role, require_role

if TYPE_CHECKING:
    from foundation.accounts import User


# ================================================================ services
#
# Every service takes the session and the acting user, validates everything before it writes,
# flushes but never commits, and appends one audit entry. Only the centre admin (省职业技能鉴定
# 中心) runs the registry. ``actor=None`` means the system itself and is accepted only by
# :func:`register_application`, :func:`advance_filing` and :func:`add_scope_entry`, for seeding
# demonstration or reference data from the CLI; the web layer always passes the logged-in user.


def _actor_name(actor: User | None) -> str:
    return actor.name if actor is not None else "系统"


def _require_centre(actor: User | None, *, system_allowed: bool = False) -> None:
    if actor is None:
        if not system_allowed:
            raise PermissionDenied("该操作必须由省职业技能鉴定中心管理员执行。")
        return
    require_role(actor, Role.CENTRE_ADMIN)


def _add_step(
    session: Session,
    inst: Institution,
    actor: User | None,
    from_status: str | None,
    to_status: str,
    reason: str,
    at: dt.datetime | None = None,
) -> FilingStep:
    step = FilingStep(
        institution=inst,
        from_status=from_status,
        to_status=to_status,
        actor_id=actor.id if actor is not None else None,
        actor_name=_actor_name(actor),
        reason=reason,
        at=at or utcnow(),
    )
    session.add(step)
    return step
