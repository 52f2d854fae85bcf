"""Who may see a person's photo (照片查看权限).

Here rather than in :mod:`foundation.photos` because one of the readers is defined by the exam
room: the proctors of a room where the person is seated. Everyone else is refused, and the web
layer answers a refusal exactly as an unknown person (404), so the route confirms nothing.

Readers:

* the person themself (a candidate account linked to them);
* the admin of an institution where they hold a candidate account;
* a proctor assigned to a room in which one of the person's accounts has a seat;
* the centre.

Not supervisors, examiners, writers, reviewers or the public.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from examroom.models import BatchStaff, Seat, StaffRole
from foundation.accounts import User
from foundation.photos import candidate_in_institution
from foundation.roles import Role


def can_view_photo(session: Session, actor: User, person_id: int) -> bool:
    if not actor.active:
        return False
    if actor.role == Role.CENTRE_ADMIN.value:
        return True
    if actor.role == Role.CANDIDATE.value:
        return actor.person_id == person_id
    if actor.role == Role.INSTITUTION_ADMIN.value:
        return candidate_in_institution(session, person_id, actor.institution_id)
    if actor.role == Role.PROCTOR.value:
        return session.scalar(
            select(Seat.id)
            .join(User, User.id == Seat.candidate_id)
            .join(BatchStaff, BatchStaff.room_id == Seat.room_id)
            .where(User.person_id == person_id, BatchStaff.user_id == actor.id,
                   BatchStaff.role == StaffRole.PROCTOR.value)
            .limit(1)) is not None
    return False
