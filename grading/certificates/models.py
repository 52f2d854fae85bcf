"""Certificate tables.

* ``certificate_counter`` — the next serial per (institution, year): one row updated with a
  single ``UPDATE … SET next_serial = next_serial + n … RETURNING`` (:mod:`.numbers`), so serials
  are never handed out twice and never reused, not even after a revocation.
* ``certificate`` — one issued certificate (职业技能等级证书): its 22-character number, whose it is
  (person, registration), for what (occupation, 工种, level), the live status and the current
  version of its printed data. At most one *valid* certificate per person × occupation × 工种 ×
  level: a partial unique index (``status = 'valid'``) on both PostgreSQL and SQLite.
* ``certificate_version`` — the printed data of each version: version 1 at issue, one more per
  correction (更正: same number, the earlier version superseded). Never updated.
* ``certificate_revocation`` — a revocation (注销) requested by the issuing institution with a
  reason and decided by the centre; the certificate stays valid until the centre approves.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from examroom.models import BatchCandidate
from foundation.db import Base, utcnow
from foundation.institutions import Institution
from foundation.levels import level_name
from foundation.people import ID_TYPE_LABELS, IdType, Person

NUMBER_LENGTH = 22
MAX_SERIAL = 999_999


class CertificateStatus(enum.StrEnum):
    VALID = "valid"
    REVOKED = "revoked"


class RevocationStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return {"pending": "待中心审核", "approved": "已批准注销", "rejected": "未批准"}[self.value]


class CertificateCounter(Base):
    """The next certificate serial (positions 17–22) of an institution in an issue year."""

    __tablename__ = "certificate_counter"
    __table_args__ = (
        CheckConstraint(f"next_serial >= 1 AND next_serial <= {MAX_SERIAL + 1}", name="next_serial_range"),
    )

    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    next_serial: Mapped[int] = mapped_column(Integer, default=1)


class Certificate(Base):
    """An issued certificate; its printed data is in :class:`CertificateVersion`."""

    __tablename__ = "certificate"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),
        CheckConstraint("status IN ('valid', 'revoked')", name="status_known"),
        CheckConstraint(f"serial >= 1 AND serial <= {MAX_SERIAL}", name="serial_range"),
        CheckConstraint(f"length(number) = {NUMBER_LENGTH}", name="number_length"),
        CheckConstraint("work_type_key = COALESCE(work_type_id, 0)", name="work_type_key_matches"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("status <> 'revoked' OR revoked_at IS NOT NULL", name="revoked_has_time"),
        UniqueConstraint("number", name="uq_certificate_number"),
        UniqueConstraint("institution_id", "year", "serial", name="uq_certificate_serial"),
        Index("uq_certificate_valid_once", "person_id", "occupation_id", "work_type_key", "level", unique=True,
              sqlite_where=text("status = 'valid'"), postgresql_where=text("status = 'valid'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(NUMBER_LENGTH))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("batch_candidate.id"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    occupation_id: Mapped[int] = mapped_column(ForeignKey("occupation.id"))
    work_type_id: Mapped[int | None] = mapped_column(ForeignKey("work_type.id"))
    #: ``work_type_id`` or 0: the unique index needs a value that is never NULL.
    work_type_key: Mapped[int] = mapped_column(Integer, default=0)
    level: Mapped[int]
    year: Mapped[int]
    serial: Mapped[int]
    issued_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=CertificateStatus.VALID.value, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
    revoked_reason: Mapped[str] = mapped_column(Text, default="")

    institution: Mapped[Institution] = relationship(lazy="joined")
    person: Mapped[Person] = relationship()
    registration: Mapped[BatchCandidate] = relationship()
    versions: Mapped[list[CertificateVersion]] = relationship(
        back_populates="certificate", order_by="CertificateVersion.version", cascade="all, delete-orphan")

    @property
    def current(self) -> CertificateVersion:
        return next(v for v in self.versions if v.version == self.version)

    @property
    def status_code(self) -> str:
        """``valid``, ``corrected`` (valid, reissued at least once) or ``revoked``."""
        if self.status == CertificateStatus.REVOKED:
            return "revoked"
        return "corrected" if self.version > 1 else "valid"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status_code]

    def __repr__(self) -> str:
        return f"<Certificate {self.number} {self.status} v{self.version}>"


STATUS_LABELS = {"valid": "有效", "corrected": "已更正", "revoked": "已注销"}


class CertificateVersion(Base):
    """The printed data of one version of a certificate (证书信息), as issued or corrected."""

    __tablename__ = "certificate_version"
    __table_args__ = (
        UniqueConstraint("certificate_id", "version", name="uq_certificate_version_number"),
        CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    id_type: Mapped[str] = mapped_column(String(24))
    id_number: Mapped[str] = mapped_column(String(18))
    institution_name: Mapped[str] = mapped_column(String(128))
    occupation_code: Mapped[str] = mapped_column(String(32))
    occupation_name: Mapped[str] = mapped_column(String(128))
    work_type_name: Mapped[str | None] = mapped_column(String(128))
    level: Mapped[int]
    issued_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")  # why this version (corrections)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    certificate: Mapped[Certificate] = relationship(back_populates="versions")

    @property
    def id_type_label(self) -> str:
        return ID_TYPE_LABELS[IdType(self.id_type)]

    @property
    def level_label(self) -> str:
        return level_name(self.level)

    @property
    def work_type_text(self) -> str:
        """「--」 when the certificate names no 工种 (人社鉴发〔2021〕1号)."""
        return self.work_type_name or "--"


class CertificateRevocation(Base):
    """A revocation (注销) of a certificate: requested by its institution, decided by the centre."""

    __tablename__ = "certificate_revocation"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status_known"),
        CheckConstraint("status = 'pending' OR decided_at IS NOT NULL", name="decided_has_time"),
        Index("uq_certificate_revocation_pending", "certificate_id", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=RevocationStatus.PENDING.value)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[dt.datetime | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")

    certificate: Mapped[Certificate] = relationship(lazy="joined")

    @property
    def status_label(self) -> str:
        return RevocationStatus(self.status).label
