"""Issuing certificates in batches, corrections and revocation.

* :func:`issuance_list` — a batch's registrations with their certificate or the reasons that
  stop issuance (:func:`.eligibility.issuance_problems`), for the institution's page.
* :func:`issue_certificates` — by the evaluating institution's admin (谁评价、谁发证): the chosen
  registrations of one batch, or all its eligible ones. Chosen registrations must all be
  eligible (nothing is issued otherwise, every refusal named); serials are taken in one
  statement for the whole batch (:func:`.numbers.allocate_serials`), in ticket order.
* :func:`correct_certificate` — 更正: a new version of the printed data under the same number;
  the earlier version is kept and superseded; a reason is required.
* :func:`request_revocation` / :func:`decide_revocation` — 注销: the institution asks with a
  reason; the certificate stays valid until the centre approves; the number is never reused.

Every service validates before it writes, flushes, never commits, and appends one audit entry.
On SQLite call :func:`issue_certificates` in a transaction begun with
``foundation.db.immediate_transactions`` (see :mod:`.numbers`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from examroom.models import Batch, BatchCandidate
from foundation import audit
from foundation.accounts import User
from foundation.calendar import beijing_date
from foundation.db import utcnow
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.names import clean_name
from foundation.people import IdType, clean_id, id_type_of
from foundation.roles import Role, require_role
from grading.certificates.eligibility import batch_problems, chain_of, registration_problems
from grading.certificates.models import (
    Certificate,
    CertificateRevocation,
    CertificateStatus,
    CertificateVersion,
    RevocationStatus,
)
from grading.certificates.numbers import allocate_serials, certificate_number

MAX_REASON = 500


@dataclasses.dataclass(frozen=True)
class IssuanceRow:
    """A registration of the batch: its valid certificate, or why it cannot be issued one."""

    registration: BatchCandidate
    certificate: Certificate | None
    problems: tuple[str, ...]

    @property
    def eligible(self) -> bool:
        return self.certificate is None and not self.problems


def get_batch(session: Session, actor: User, batch_id: int) -> Batch:
    """The batch, for its institution's admin or the centre (NotFound for anyone else)."""
    batch = session.get(Batch, batch_id)
    if batch is None or not (actor.role == Role.CENTRE_ADMIN.value
                             or (actor.role == Role.INSTITUTION_ADMIN.value
                                 and actor.institution_id == batch.institution_id)):
        raise NotFound("认定批次不存在。")
    return batch


def _registrations(session: Session, batch: Batch) -> list[BatchCandidate]:
    return list(session.scalars(select(BatchCandidate).where(BatchCandidate.batch_id == batch.id)
                                .options(joinedload(BatchCandidate.candidate).joinedload(User.person))
                                .order_by(BatchCandidate.ticket_no)))


def _rows(session: Session, batch: Batch, registrations: Sequence[BatchCandidate],
          today: dt.date | None = None) -> list[IssuanceRow]:
    ids = [r.id for r in registrations]
    issued = {c.registration_id: c for c in session.scalars(
        select(Certificate).where(Certificate.batch_id == batch.id, Certificate.registration_id.in_(ids),
                                  Certificate.status == CertificateStatus.VALID.value)
        .options(selectinload(Certificate.versions)))}
    common = batch_problems(session, batch)  # the same for everyone: asked once
    chain = chain_of(session, [i for i in ids if i not in issued], today)  # publicity and review: once
    return [IssuanceRow(reg, issued[reg.id], ()) if reg.id in issued
            else IssuanceRow(reg, None, tuple(common + registration_problems(session, reg, chain)))
            for reg in registrations]


def issuance_list(session: Session, actor: User, batch_id: int) -> list[IssuanceRow]:
    """Every registration of the batch, in ticket order, with its certificate or the reasons."""
    require_role(actor, Role.INSTITUTION_ADMIN, Role.CENTRE_ADMIN)
    batch = get_batch(session, actor, batch_id)
    return _rows(session, batch, _registrations(session, batch))


def _first_version(cert: Certificate, reg: BatchCandidate, batch: Batch, actor: User) -> CertificateVersion:
    person = reg.candidate.person
    assert person is not None and person.id == reg.person_id
    return CertificateVersion(
        version=1, name=person.name, id_type=person.id_type, id_number=person.id_number,
        institution_name=batch.institution.name, occupation_code=batch.occupation.code,
        occupation_name=batch.occupation.name, work_type_name=batch.work_type.name if batch.work_type else None,
        level=batch.level, issued_on=cert.issued_on, reason="", created_by_id=actor.id)


def issue_certificates(session: Session, actor: User, batch_id: int,
                       registration_ids: Sequence[int] | None = None, *,
                       today: dt.date | None = None) -> list[Certificate]:
    """Issue the certificates of ``registration_ids`` (registrations of the batch), or of every
    eligible registration of the batch when None. Returns them in number order."""
    require_role(actor, Role.INSTITUTION_ADMIN)
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound("认定批次不存在。")
    if batch.institution_id != actor.institution_id:
        raise PermissionDenied("证书只能由组织认定的评价机构颁发（谁评价、谁发证）。")
    if registration_ids is None:
        chosen = [r for r in _rows(session, batch, _registrations(session, batch), today) if r.eligible]
        if not chosen:
            raise ValidationError("该批次没有可以发证的人员。")
    else:
        wanted = set(registration_ids)
        regs = list(session.scalars(select(BatchCandidate).where(
            BatchCandidate.batch_id == batch.id, BatchCandidate.id.in_(wanted))
            .options(joinedload(BatchCandidate.candidate).joinedload(User.person)).order_by(BatchCandidate.ticket_no)))
        if len(regs) != len(wanted) or not wanted:
            raise ValidationError("所选人员不在该批次名册中。")
        chosen = _rows(session, batch, regs, today)
        refused = [f"{r.registration.candidate.name}（准考证号 {r.registration.ticket_no}）："
                   + ("已发证 " + r.certificate.number if r.certificate else "；".join(r.problems))
                   for r in chosen if not r.eligible]
        if refused:
            raise ValidationError("以下人员不能发证，未颁发任何证书：" + "；".join(refused))
    issued_on = today or beijing_date(utcnow())
    assert batch.institution.code is not None  # eligibility checked it
    serials = allocate_serials(session, batch.institution_id, issued_on.year, len(chosen))
    certificates = []
    for row, serial in zip(chosen, serials, strict=True):
        reg = row.registration
        cert = Certificate(
            number=certificate_number(batch.institution.code, issued_on.year, batch.level, serial),
            institution_id=batch.institution_id, person_id=reg.person_id, registration_id=reg.id,
            batch_id=batch.id, occupation_id=batch.occupation_id, work_type_id=batch.work_type_id,
            work_type_key=batch.work_type_id or 0, level=batch.level, year=issued_on.year, serial=serial,
            issued_on=issued_on, status=CertificateStatus.VALID.value, version=1, issued_by_id=actor.id)
        cert.versions = [_first_version(cert, reg, batch, actor)]
        session.add(cert)
        certificates.append(cert)
    session.flush()
    audit.record(session, actor, "certificate.issue", "batch", batch.id,
                 after={"count": len(certificates), "numbers": [c.number for c in certificates[:200]]})
    return certificates


# --------------------------------------------------------------------------- reading


def get_certificate(session: Session, actor: User, certificate_id: int) -> Certificate:
    """A certificate for its institution's admin, its holder or the centre (else NotFound)."""
    cert = session.get(Certificate, certificate_id)
    if cert is None or not can_read(actor, cert):
        raise NotFound("证书不存在。")
    return cert


def can_read(actor: User, cert: Certificate) -> bool:
    if not actor.active:
        return False
    if actor.role == Role.CENTRE_ADMIN.value:
        return True
    if actor.role == Role.INSTITUTION_ADMIN.value:
        return actor.institution_id == cert.institution_id
    if actor.role == Role.CANDIDATE.value:
        return actor.person_id is not None and actor.person_id == cert.person_id
    return False


def own_certificates(session: Session, actor: User) -> list[Certificate]:
    """The candidate's certificates (我的证书): every certificate of their person, from any
    institution, newest first."""
    require_role(actor, Role.CANDIDATE)
    if actor.person_id is None:
        return []
    return list(session.scalars(select(Certificate).where(Certificate.person_id == actor.person_id)
                                .options(selectinload(Certificate.versions))
                                .order_by(Certificate.issued_on.desc(), Certificate.id.desc())))


def certificates_query(actor: User, q: str = "") -> object:
    """The certificate list of an institution admin (their institution's) or the centre (all)."""
    stmt = select(Certificate).join(CertificateVersion, (CertificateVersion.certificate_id == Certificate.id)
                                    & (CertificateVersion.version == Certificate.version))
    if actor.role != Role.CENTRE_ADMIN.value:
        stmt = stmt.where(Certificate.institution_id == actor.institution_id)
    q = q.strip()
    if q:
        stmt = stmt.where(Certificate.number.contains(q.upper(), autoescape=True)
                          | CertificateVersion.name.contains(q, autoescape=True))
    return stmt.order_by(Certificate.issued_on.desc(), Certificate.number.desc())


# --------------------------------------------------------------------------- corrections


def _reason(value: str, label: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError(f"请填写{label}。", field="reason")
    if len(text) > MAX_REASON:
        raise ValidationError(f"{label}不能超过 {MAX_REASON} 字。", field="reason")
    return text


def _issuer(session: Session, actor: User, certificate_id: int) -> Certificate:
    require_role(actor, Role.INSTITUTION_ADMIN)
    cert = session.get(Certificate, certificate_id)
    if cert is None or cert.institution_id != actor.institution_id:
        raise NotFound("证书不存在。")
    return cert


def correct_certificate(session: Session, actor: User, certificate_id: int, *, name: str, id_type: str,
                        id_number: str, reason: str) -> CertificateVersion:
    """Reissue under the same number with corrected holder data (name, ID type and number)."""
    cert = _issuer(session, actor, certificate_id)
    if cert.status != CertificateStatus.VALID.value:
        raise ValidationError("已注销的证书不能更正。")
    why = _reason(reason, "更正原因")
    new_name = clean_name(name or "", "姓名", field="name")
    if not new_name:
        raise ValidationError("请填写姓名。", field="name")
    if len(new_name) > 64:
        raise ValidationError("姓名不能超过 64 字。", field="name")
    kind: IdType = id_type_of(id_type)
    number = clean_id(kind, id_number)
    old = cert.current
    if (new_name, kind.value, number) == (old.name, old.id_type, old.id_number):
        raise ValidationError("更正内容与现有证书信息相同。")
    version = CertificateVersion(
        version=old.version + 1, name=new_name, id_type=kind.value, id_number=number,
        institution_name=old.institution_name, occupation_code=old.occupation_code,
        occupation_name=old.occupation_name, work_type_name=old.work_type_name, level=old.level,
        issued_on=old.issued_on, reason=why, created_by_id=actor.id)
    cert.versions.append(version)
    cert.version = version.version
    session.flush()
    audit.record(session, actor, "certificate.correct", "certificate", cert.number,
                 before={"version": old.version, "name": old.name, "id_number": old.id_number[:6] + "…"},
                 after={"version": version.version, "name": new_name, "id_number": number[:6] + "…", "reason": why})
    return version


# --------------------------------------------------------------------------- revocation


def pending_revocation(session: Session, certificate_id: int) -> CertificateRevocation | None:
    return session.scalar(select(CertificateRevocation).where(
        CertificateRevocation.certificate_id == certificate_id,
        CertificateRevocation.status == RevocationStatus.PENDING.value))


def request_revocation(session: Session, actor: User, certificate_id: int, reason: str) -> CertificateRevocation:
    """The issuing institution asks the centre to revoke; the certificate stays valid meanwhile."""
    cert = _issuer(session, actor, certificate_id)
    if cert.status != CertificateStatus.VALID.value:
        raise ValidationError("该证书已注销。")
    if pending_revocation(session, cert.id) is not None:
        raise ValidationError("该证书已有待省中心审核的注销申请。")
    why = _reason(reason, "注销原因")
    req = CertificateRevocation(certificate_id=cert.id, reason=why, requested_by_id=actor.id,
                                status=RevocationStatus.PENDING.value)
    session.add(req)
    session.flush()
    audit.record(session, actor, "certificate.revocation_request", "certificate", cert.number,
                 after={"request": req.id, "reason": why})
    return req


def pending_revocations(session: Session, actor: User) -> list[CertificateRevocation]:
    require_role(actor, Role.CENTRE_ADMIN)
    return list(session.scalars(select(CertificateRevocation).where(
        CertificateRevocation.status == RevocationStatus.PENDING.value).order_by(CertificateRevocation.id)))


def decide_revocation(session: Session, actor: User, request_id: int, *, approve: bool,
                      note: str = "") -> CertificateRevocation:
    """The centre's sign-off: approve (the certificate is revoked now) or refuse (with a note)."""
    require_role(actor, Role.CENTRE_ADMIN)
    req = session.get(CertificateRevocation, request_id)
    if req is None:
        raise NotFound("注销申请不存在。")
    if req.status != RevocationStatus.PENDING.value:
        raise ValidationError("该注销申请已处理。")
    text = (note or "").strip()
    if len(text) > MAX_REASON:
        raise ValidationError(f"审核意见不能超过 {MAX_REASON} 字。", field="note")
    if not approve and not text:
        raise ValidationError("不予注销时请填写审核意见。", field="note")
    now = utcnow()
    req.status = (RevocationStatus.APPROVED if approve else RevocationStatus.REJECTED).value
    req.decided_by_id, req.decided_at, req.decision_note = actor.id, now, text
    cert = req.certificate
    if approve:
        cert.status = CertificateStatus.REVOKED.value
        cert.revoked_at = now
        cert.revoked_reason = req.reason
    session.flush()
    audit.record(session, actor, "certificate.revoke" if approve else "certificate.revocation_refused",
                 "certificate", cert.number, after={"request": req.id, "reason": req.reason, "note": text})
    return req
