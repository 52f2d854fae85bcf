"""Public verification (证书查询): what anyone may learn about a certificate.

:func:`lookup` answers a number plus a name or an ID number. A number that does not exist and a
number with the wrong name or ID number get the same answer (None), so the page is no oracle
for which numbers exist or whose they are. A found certificate is described with masked name
and ID number, never a photo or a full number: status (有效 / 已更正 / 已注销), occupation,
工种, level, institution, issue date, and the day of the last correction or of the revocation.

:func:`check_statement` answers a signed statement from a QR code: whether the signature is
the centre's, and the certificate's live status (a correct signature on a revoked or
since-corrected certificate says so).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from foundation.calendar import beijing_date
from foundation.errors import ValidationError
from foundation.idcard import mask_id_number, mask_name
from foundation.levels import level_name
from foundation.names import clean_name
from foundation.people import ID_TYPE_LABELS, IdType, normalise_number
from grading.certificates.models import STATUS_LABELS, Certificate, CertificateStatus, CertificateVersion
from grading.certificates.numbers import parse_number
from grading.certificates.signing import BadStatement, Statement, verify_statement


@dataclasses.dataclass(frozen=True)
class Answer:
    """The public description of one certificate."""

    number: str
    status: str  # valid / corrected / revoked
    name_masked: str
    id_type: str
    id_masked: str
    occupation: str
    work_type: str
    level: str
    institution: str
    issued_on: dt.date
    corrected_on: dt.date | None
    revoked_on: dt.date | None
    version: int

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def describe(cert: Certificate) -> Answer:
    current = cert.current
    return Answer(
        number=cert.number, status=cert.status_code, name_masked=mask_name(current.name),
        id_type=current.id_type_label, id_masked=mask_id_number(current.id_number),
        occupation=f"{current.occupation_code} {current.occupation_name}", work_type=current.work_type_text,
        level=current.level_label, institution=current.institution_name, issued_on=cert.issued_on,
        corrected_on=beijing_date(current.created_at) if cert.version > 1 else None,
        revoked_on=beijing_date(cert.revoked_at) if cert.revoked_at is not None else None, version=cert.version)


def _by_number(session: Session, number: str) -> Certificate | None:
    if parse_number(number) is None:
        return None
    return session.scalar(select(Certificate).where(Certificate.number == number.strip().upper()))


# The public page is the one hot path of this package (anyone, any number of times): one narrow
# statement of plain columns, the certificate joined with its current version, no ORM objects.
_C, _V = Certificate, CertificateVersion
_LOOKUP = (select(_C.number, _C.status, _C.version, _C.issued_on, _C.revoked_at, _V.name, _V.id_type, _V.id_number,
                  _V.occupation_code, _V.occupation_name, _V.work_type_name, _V.level, _V.institution_name,
                  _V.created_at)
           .join(_V, (_V.certificate_id == _C.id) & (_V.version == _C.version))
           .where(_C.number == bindparam("number")))  # built once: its SQL and cache key are reused


def lookup(session: Session, number: str, *, name: str = "", id_number: str = "") -> Answer | None:
    """The certificate ``number`` if the name or the ID number given matches its holder (as
    printed on the current version), else None — the same None as for an unknown number."""
    name = (name or "").strip()
    id_number = normalise_number(id_number or "")
    if not name and not id_number or parse_number(number or "") is None:
        return None
    row = session.execute(_LOOKUP, {"number": number.strip().upper()}).one_or_none()
    if row is None:
        return None
    if name:
        try:
            if clean_name(name) != row.name:
                return None
        except ValidationError:  # a name no holder can have: the same "not found"
            return None
    if id_number and id_number != row.id_number:
        return None
    status = "revoked" if row.status == CertificateStatus.REVOKED else ("corrected" if row.version > 1 else "valid")
    return Answer(
        number=row.number, status=status, name_masked=mask_name(row.name),
        id_type=ID_TYPE_LABELS[IdType(row.id_type)], id_masked=mask_id_number(row.id_number),
        occupation=f"{row.occupation_code} {row.occupation_name}", work_type=row.work_type_name or "--",
        level=level_name(row.level), institution=row.institution_name, issued_on=row.issued_on,
        corrected_on=beijing_date(row.created_at) if row.version > 1 else None,
        revoked_on=beijing_date(row.revoked_at) if row.revoked_at is not None else None, version=row.version)


@dataclasses.dataclass(frozen=True)
class StatementCheck:
    """The result of checking a statement: ``signed`` False means forged, tampered or malformed
    (nothing else is said); otherwise the signed fields and the live certificate, if found."""

    signed: bool
    statement: Statement | None = None
    answer: Answer | None = None

    @property
    def stale(self) -> bool:
        """A correction was issued after this statement was signed."""
        return bool(self.statement and self.answer and self.answer.version > self.statement.version)


def check_statement(session: Session, token: str, public_key: Ed25519PublicKey) -> StatementCheck:
    try:
        statement = verify_statement(token, public_key)
    except BadStatement:
        return StatementCheck(signed=False)
    cert = _by_number(session, statement.number)
    return StatementCheck(signed=True, statement=statement, answer=describe(cert) if cert else None)
