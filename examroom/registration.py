"""Batch registrations (报名): admission ticket numbers (准考证号) and candidate login.

A ticket number belongs to a candidate's registration in one batch (``BatchCandidate``), not
to the account: the same person in two batches (two years) holds two numbers, and a number is
never issued twice. Numbers are unique across all batches because the candidate logs in with
the number and the ID number alone; the number tells which batch the login is for.

The format is the demo's (``2026020001``): the year (4 digits), the last two digits of the
institution's serial (its zero-padded id when it has none) and a 4-digit sequence, one past the
highest number with that prefix. Institutions whose serials end alike share a sequence, so the
numbers stay unique; a prefix holds 9,999 numbers a year.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from examroom.models import Batch, BatchCandidate, BatchModule, ExamSession, Room
from foundation.accounts import User, note_login
from foundation.errors import ValidationError
from foundation.idcard import normalise_id_number
from foundation.roles import Role

SEQUENCE_DIGITS = 4


def ticket_prefix(batch: Batch, year: int) -> str:
    """The year and the last two digits of the institution's serial (or id): ``202602``."""
    serial = batch.institution.serial or f"{batch.institution_id:06d}"
    return f"{year:04d}{serial[-2:]}"


def next_ticket_numbers(session: Session, prefix: str, count: int) -> list[str]:
    """``count`` unused numbers ``prefix`` + 4-digit sequence, after the highest ever issued."""
    width = len(prefix) + SEQUENCE_DIGITS
    used = session.scalars(select(BatchCandidate.ticket_no).where(
        BatchCandidate.ticket_no.startswith(prefix, autoescape=True), func.length(BatchCandidate.ticket_no) == width,
    )).all()
    top = max((int(t[len(prefix):]) for t in used if t[len(prefix):].isascii() and t[len(prefix):].isdigit()),
              default=0)
    if top + count > 10**SEQUENCE_DIGITS - 1:
        raise ValidationError("本年度该机构的准考证号已用尽，请联系省中心。")
    return [f"{prefix}{n:0{SEQUENCE_DIGITS}d}" for n in range(top + 1, top + count + 1)]


@dataclasses.dataclass(frozen=True, slots=True)
class CandidateLogin:
    """Who logged in, and with which registration's ticket."""

    user: User
    batch_id: int
    ticket_no: str


def authenticate_candidate(session: Session, ticket_no: str, id_number: str) -> CandidateLogin | None:
    """The candidate whose batch registration holds ``ticket_no``, if the ID number matches
    and the account is active; notes the login."""
    row = session.execute(
        select(BatchCandidate, User).join(User, User.id == BatchCandidate.candidate_id)
        .where(BatchCandidate.ticket_no == ticket_no.strip(), User.role == Role.CANDIDATE.value)
    ).first()
    user = row[1] if row is not None else None
    if user is None or not user.active or not hmac.compare_digest(
        (user.id_number or "").encode(), normalise_id_number(id_number).encode()
    ):
        return None
    note_login(user)
    return CandidateLogin(user, row[0].batch_id, row[0].ticket_no)  # type: ignore[index]


def ticket_of(session: Session, batch_id: int, candidate_id: int) -> str:
    """The candidate's ticket number in the batch ("" when not on its list)."""
    return session.scalar(select(BatchCandidate.ticket_no).where(
        BatchCandidate.batch_id == batch_id, BatchCandidate.candidate_id == candidate_id)) or ""


def tickets_for_rooms(session: Session, room_ids: Iterable[int]) -> dict[tuple[int, int], str]:
    """``(room_id, candidate_id) -> ticket number`` for the candidates on the list of each
    room's batch: one query for any number of rooms."""
    ids = sorted(set(room_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Room.id, BatchCandidate.candidate_id, BatchCandidate.ticket_no)
        .join(ExamSession, ExamSession.id == Room.exam_session_id)
        .join(BatchModule, BatchModule.id == ExamSession.module_id)
        .join(BatchCandidate, BatchCandidate.batch_id == BatchModule.batch_id)
        .where(Room.id.in_(ids))
    )
    return {(room_id, candidate_id): ticket for room_id, candidate_id, ticket in rows}


def registration_of(session: Session, batch_id: int, candidate_id: int) -> BatchCandidate | None:
    """The registration of the account in the batch, else of the account's person (a person
    is on a batch's list once, whichever account registered them)."""
    found = session.scalar(select(BatchCandidate).where(
        BatchCandidate.batch_id == batch_id, BatchCandidate.candidate_id == candidate_id))
    if found is not None:
        return found
    return session.scalar(select(BatchCandidate).join(User, User.person_id == BatchCandidate.person_id).where(
        BatchCandidate.batch_id == batch_id, User.id == candidate_id))
