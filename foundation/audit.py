"""Append-only, hash-chained audit trail (操作日志): who did what, to what, when.

Every state-changing service calls :func:`record`. Each entry stores the SHA-256 of its own
canonical content plus the previous entry's hash, so editing, deleting or reordering any
row breaks the chain from that row on; :func:`verify_chain` names the first broken entry.
Appends are serialised through the single :class:`AuditHead` row (``SELECT ... FOR UPDATE``
on PostgreSQL), which also records the tip so that deleting the newest rows is caught.
Database triggers refuse UPDATE and DELETE on the log itself.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import DDL, ForeignKey, Integer, String, Text, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from foundation.db import Base, as_utc, utcnow

if TYPE_CHECKING:
    from foundation.accounts import User

GENESIS = "0" * 64


class AuditEntry(Base):
    """One audited action (操作记录)."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[dt.datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    actor_name: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(32), index=True)
    target_id: Mapped[str] = mapped_column(String(64), index=True)
    before_json: Mapped[str | None] = mapped_column(Text)
    after_json: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    @property
    def before(self) -> Any:
        return json.loads(self.before_json) if self.before_json else None

    @property
    def after(self) -> Any:
        return json.loads(self.after_json) if self.after_json else None


class AuditHead(Base):
    """The chain's tip; one row, locked by every append."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)


_NO_CHANGE_SQLITE = [
    DDL(
        "CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry "
        "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END"
    ),
    DDL(
        "CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry "
        "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END"
    ),
]
_NO_CHANGE_POSTGRES = [
    DDL(
        "CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_entry is append-only'; END; $$ LANGUAGE plpgsql"
    ),
    DDL(
        "CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_entry "
        "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()"
    ),
]
for _ddl in _NO_CHANGE_SQLITE:
    event.listen(AuditEntry.__table__, "after_create", _ddl.execute_if(dialect="sqlite"))
for _ddl in _NO_CHANGE_POSTGRES:
    event.listen(AuditEntry.__table__, "after_create", _ddl.execute_if(dialect="postgresql"))

# The same statements, for the Alembic migration that creates the table.
APPEND_ONLY_SQL = {
    "sqlite": [str(d.statement) for d in _NO_CHANGE_SQLITE],
    "postgresql": [str(d.statement) for d in _NO_CHANGE_POSTGRES],
}


def _canonical(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":"))


def _digest(entry: AuditEntry) -> str:
    content = {
        "seq": entry.seq,
        "at": as_utc(entry.at).isoformat(timespec="microseconds"),
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "actor_role": entry.actor_role,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "before": entry.before_json,
        "after": entry.after_json,
        "prev": entry.prev_hash,
    }
    blob = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def record(
    session: Session,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: object,
    *,
    before: Any = None,
    after: Any = None,
    at: dt.datetime | None = None,
) -> AuditEntry:
    """Append one entry. ``actor`` None means the system itself (CLI seeding, scheduled jobs)."""
    head = session.scalar(select(AuditHead).where(AuditHead.id == 1).with_for_update())
    if head is None:
        head = AuditHead(id=1, last_seq=0, last_hash=GENESIS)
        session.add(head)
        session.flush()
    entry = AuditEntry(
        seq=head.last_seq + 1,
        at=(at or utcnow()).astimezone(dt.UTC),
        actor_id=actor.id if actor is not None else None,
        actor_name=actor.name if actor is not None else "系统",
        actor_role=actor.role if actor is not None else "system",
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        before_json=_canonical(before),
        after_json=_canonical(after),
        prev_hash=head.last_hash,
    )
    entry.hash = _digest(entry)
    session.add(entry)
    head.last_seq = entry.seq
    head.last_hash = entry.hash
    session.flush()
    return entry


@dataclasses.dataclass(frozen=True)
class ChainReport:
    """Outcome of :func:`verify_chain`."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    first_broken_id: int | None = None
    reason: str | None = None


def _entries(session: Session, batch: int = 2000) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify_chain(session: Session) -> ChainReport:
    """Recompute every hash in order; report the first entry that does not match."""
    prev = GENESIS
    expected_seq = 1
    checked = 0
    for entry in _entries(session):
        if entry.seq != expected_seq:
            return ChainReport(False, checked, expected_seq, entry.id, f"缺少第 {expected_seq} 条记录（已被删除）")
        if entry.prev_hash != prev:
            return ChainReport(False, checked, entry.seq, entry.id, "前序哈希不符：之前的记录被修改、删除或重排")
        if _digest(entry) != entry.hash:
            return ChainReport(False, checked, entry.seq, entry.id, "内容哈希不符：该条记录被修改")
        prev = entry.hash
        expected_seq += 1
        checked += 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_seq != checked or head.last_hash != prev):
        return ChainReport(False, checked, checked + 1, None, "链尾不符：最新的记录被删除")
    return ChainReport(True, checked)
