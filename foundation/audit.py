"""Append-only, hash-chained audit trail (操作日志): who did what, to what, when.

Every state-changing service calls :func:`record`. Each entry stores the SHA-256 of its own
canonical content plus the previous entry's hash, so editing, deleting or reordering any
row breaks the chain from that row on; :func:`verify_chain` names the first broken entry.
Appends are serialised through the single :class:`AuditHead` row (``SELECT ... FOR UPDATE``
on PostgreSQL), which also records the tip so that deleting the newest rows is caught.
Database triggers refuse UPDATE and DELETE on the log itself.

Verification keeps up with a growing log through checkpoints (:class:`AuditCheckpoint`, a
second append-only chain): each successful verification appends one naming the entry it
verified up to and that entry's hash. The incremental verification starts from the latest
checkpoint and reads only the entries after it; the full verification reads every entry and
re-checks every checkpoint. Both stream the log in chunks by ``seq`` and report progress
through a callback, so they can run in a request, a CLI command or (later) a job. What each
one guarantees, and what the incremental one cannot see, is in docs/architecture.md.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import DDL, ForeignKey, Integer, String, Text, event, func, select
from sqlalchemy.exc import IntegrityError
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


class AuditCheckpoint(Base):
    """One successful verification (校验检查点): the log was intact up to ``upto_seq``, whose
    entry then had ``entry_hash``. Checkpoints form their own hash chain (``number`` 1, 2, …,
    each ``prev_hash`` the previous checkpoint's ``hash``) and are append-only like the log."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    upto_seq: Mapped[int] = mapped_column(Integer)
    entry_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # "full" | "incremental"
    checked: Mapped[int] = mapped_column(Integer)  # entries read by that verification
    verified_at: Mapped[dt.datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_name: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def _append_only_ddl(table: str) -> tuple[list[DDL], list[DDL]]:
    """Triggers refusing UPDATE and DELETE on ``table``: (SQLite, PostgreSQL)."""
    sqlite = [
        DDL(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        ),
        DDL(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        ),
    ]
    postgres = [
        DDL(
            f"CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{table} is append-only'; END; $$ LANGUAGE plpgsql"
        ),
        DDL(
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        ),
    ]
    return sqlite, postgres


#: The statements per table and dialect, for the Alembic migrations that create the tables.
APPEND_ONLY_SQL: dict[str, dict[str, list[str]]] = {}
for _model in (AuditEntry, AuditCheckpoint):
    _sqlite, _postgres = _append_only_ddl(_model.__tablename__)
    for _ddl in _sqlite:
        event.listen(_model.__table__, "after_create", _ddl.execute_if(dialect="sqlite"))
    for _ddl in _postgres:
        event.listen(_model.__table__, "after_create", _ddl.execute_if(dialect="postgresql"))
    APPEND_ONLY_SQL[_model.__tablename__] = {
        "sqlite": [str(d.statement) for d in _sqlite],
        "postgresql": [str(d.statement) for d in _postgres],
    }


def _canonical(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":"))


def _digest(entry: Any) -> str:
    """The SHA-256 of an entry's content; ``entry`` is an :class:`AuditEntry` or a row with its columns."""
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


# ------------------------------------------------------------------------------ verification

CHUNK = 2000
FULL = "full"
INCREMENTAL = "incremental"

_ENTRY_COLUMNS = (
    AuditEntry.id, AuditEntry.seq, AuditEntry.at, AuditEntry.actor_id, AuditEntry.actor_name,
    AuditEntry.actor_role, AuditEntry.action, AuditEntry.target_type, AuditEntry.target_id,
    AuditEntry.before_json, AuditEntry.after_json, AuditEntry.prev_hash, AuditEntry.hash,
)


@dataclasses.dataclass(frozen=True)
class Progress:
    """Reported after each chunk: ``phase`` "entries" or "checkpoints", ``done`` of ``total``."""

    phase: str
    done: int
    total: int


@dataclasses.dataclass(frozen=True)
class ChainReport:
    """Outcome of a verification.

    ``checked`` is the number of entries read and found intact in this run (for an
    incremental run, only those after ``from_seq``); ``upto_seq``/``upto_hash`` is the tip
    verified. A broken entry is named by ``first_broken_seq``/``first_broken_id``, a broken
    checkpoint by ``broken_checkpoint`` (its number)."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    first_broken_id: int | None = None
    reason: str | None = None
    kind: str = FULL
    from_seq: int = 0
    from_checkpoint: int | None = None
    upto_seq: int = 0
    upto_hash: str = GENESIS
    checkpoints_checked: int = 0
    broken_checkpoint: int | None = None


def _checkpoint_digest(cp: AuditCheckpoint) -> str:
    content = {
        "number": cp.number,
        "upto_seq": cp.upto_seq,
        "entry_hash": cp.entry_hash,
        "kind": cp.kind,
        "checked": cp.checked,
        "verified_at": as_utc(cp.verified_at).isoformat(timespec="microseconds"),
        "actor_id": cp.actor_id,
        "actor_name": cp.actor_name,
        "prev": cp.prev_hash,
    }
    blob = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.number.desc()).limit(1)).first()


def _entry_chunks(session: Session, after: int, upto: int, size: int) -> Generator[Sequence[Any], None, None]:
    """Entries with ``after < seq <= upto`` in ``seq`` order, ``size`` rows per query (keyset
    pagination: no OFFSET, no row kept once its chunk is done)."""
    last = after
    while last < upto:
        rows = session.execute(
            select(*_ENTRY_COLUMNS).where(AuditEntry.seq > last, AuditEntry.seq <= upto)
            .order_by(AuditEntry.seq).limit(size)
        ).all()
        if not rows:
            return
        yield rows
        last = rows[-1].seq


def verification_steps(
    session: Session, *, full: bool = True, chunk: int | None = None
) -> Generator[Progress, None, ChainReport]:
    """Verify the log, yielding :class:`Progress` after each chunk; returns the report.

    Reads only; appending the checkpoint is :func:`append_checkpoint`. Entries appended
    while this runs (after the tip read at the start) are left for the next verification.
    ``full=False`` starts from the latest checkpoint (from the first entry if there is none)."""
    kind = FULL if full else INCREMENTAL
    chunk = chunk or CHUNK
    head = session.get(AuditHead, 1)
    tip_seq, tip_hash = (head.last_seq, head.last_hash) if head is not None else (0, GENESIS)
    if head is None and session.scalar(select(func.count()).select_from(AuditEntry)):
        return ChainReport(False, 0, 1, None, "链尾记录（audit_head）缺失", kind=kind)

    from_seq, prev, from_checkpoint = 0, GENESIS, None
    if not full:
        latest = latest_checkpoint(session)
        if latest is not None:
            broken = _check_latest_checkpoint(session, latest, tip_seq)
            if broken is not None:
                return dataclasses.replace(broken, kind=kind, from_checkpoint=latest.number)
            from_seq, prev, from_checkpoint = latest.upto_seq, latest.entry_hash, latest.number

    def report(ok: bool, checked: int, seq: int | None = None, entry_id: int | None = None,
               reason: str | None = None, **kwargs: Any) -> ChainReport:
        return ChainReport(ok, checked, seq, entry_id, reason, kind=kind, from_seq=from_seq,
                           from_checkpoint=from_checkpoint, **kwargs)

    expected_seq = from_seq + 1
    checked = 0
    total = tip_seq - from_seq
    for rows in _entry_chunks(session, from_seq, tip_seq, chunk):
        for entry in rows:
            if entry.seq != expected_seq:
                return report(False, checked, expected_seq, entry.id, f"缺少第 {expected_seq} 条记录（已被删除）")
            if entry.prev_hash != prev:
                return report(False, checked, entry.seq, entry.id, "前序哈希不符：之前的记录被修改、删除或重排")
            if _digest(entry) != entry.hash:
                return report(False, checked, entry.seq, entry.id, "内容哈希不符：该条记录被修改")
            prev = entry.hash
            expected_seq += 1
            checked += 1
        yield Progress("entries", checked, total)
    if expected_seq - 1 != tip_seq or prev != tip_hash:
        return report(False, checked, expected_seq, None, "链尾不符：最新的记录被删除")

    checkpoints_checked = 0
    if full:
        broken_cp = yield from _checkpoint_steps(session, tip_seq, chunk)
        if isinstance(broken_cp, ChainReport):
            return dataclasses.replace(broken_cp, checked=checked, kind=kind, upto_seq=tip_seq, upto_hash=tip_hash)
        checkpoints_checked = broken_cp
    return report(True, checked, upto_seq=tip_seq, upto_hash=tip_hash, checkpoints_checked=checkpoints_checked)


def _check_latest_checkpoint(session: Session, latest: AuditCheckpoint, tip_seq: int) -> ChainReport | None:
    """The incremental start: the latest checkpoint is intact, linked to its predecessor, and
    the entry it names still has the hash it recorded (and that hash is still its content's)."""
    def broken(reason: str, number: int = latest.number, **kwargs: Any) -> ChainReport:
        return ChainReport(False, 0, reason=reason, broken_checkpoint=number, **kwargs)

    if _checkpoint_digest(latest) != latest.hash:
        return broken("检查点内容哈希不符：该检查点被修改")
    if latest.number == 1:
        expected_prev = GENESIS
    else:
        previous = session.scalar(select(AuditCheckpoint).where(AuditCheckpoint.number == latest.number - 1))
        if previous is None:
            return broken(f"缺少第 {latest.number - 1} 号检查点（已被删除）", latest.number - 1)
        expected_prev = previous.hash
    if latest.prev_hash != expected_prev:
        return broken("检查点前序哈希不符：之前的检查点被修改、删除或重排")
    if latest.upto_seq > tip_seq:
        return broken("检查点超出链尾：最新的记录被删除", first_broken_seq=tip_seq + 1)
    entry = session.execute(select(*_ENTRY_COLUMNS).where(AuditEntry.seq == latest.upto_seq)).first()
    if entry is None:
        return broken(f"缺少第 {latest.upto_seq} 条记录（已被删除）", first_broken_seq=latest.upto_seq)
    if entry.hash != latest.entry_hash or _digest(entry) != entry.hash:
        return broken("检查点所记录的那条记录被修改", first_broken_seq=entry.seq, first_broken_id=entry.id)
    return None


def _checkpoint_steps(session: Session, tip_seq: int, chunk: int) -> Generator[Progress, None, ChainReport | int]:
    """Full verification, second pass: every checkpoint (as of the start) recomputes, links to
    the one before, and names an entry whose verified hash it recorded. Returns the number
    checked, or the report naming the first broken checkpoint."""
    last_number = session.scalar(select(func.max(AuditCheckpoint.number))) or 0
    prev, expected, done = GENESIS, 1, 0
    while expected <= last_number:
        cps = session.scalars(
            select(AuditCheckpoint).where(AuditCheckpoint.number >= expected, AuditCheckpoint.number <= last_number)
            .order_by(AuditCheckpoint.number).limit(chunk)
        ).all()
        if not cps:
            break
        seqs = {cp.upto_seq for cp in cps}
        hashes = {seq: h for seq, h in session.execute(
            select(AuditEntry.seq, AuditEntry.hash).where(AuditEntry.seq.in_(seqs)))}
        for cp in cps:
            reason = None
            if cp.number != expected:
                reason = f"缺少第 {expected} 号检查点（已被删除）"
            elif cp.prev_hash != prev:
                reason = "检查点前序哈希不符：之前的检查点被修改、删除或重排"
            elif _checkpoint_digest(cp) != cp.hash:
                reason = "检查点内容哈希不符：该检查点被修改"
            elif cp.upto_seq > tip_seq or hashes.get(cp.upto_seq) != cp.entry_hash:
                return ChainReport(False, 0, cp.upto_seq, None,
                                   f"检查点与第 {cp.upto_seq} 条记录不符：该记录在检查点之后被改写",
                                   broken_checkpoint=cp.number, checkpoints_checked=done)
            if reason is not None:
                number = expected if cp.number != expected else cp.number
                return ChainReport(False, 0, reason=reason, broken_checkpoint=number, checkpoints_checked=done)
            prev = cp.hash
            expected += 1
            done += 1
        yield Progress("checkpoints", done, last_number)
    if expected <= last_number:
        return ChainReport(False, 0, reason=f"缺少第 {expected} 号检查点（已被删除）", broken_checkpoint=expected,
                           checkpoints_checked=done)
    return done


def verify(
    session: Session, *, full: bool = True, progress: Callable[[Progress], None] | None = None, chunk: int | None = None
) -> ChainReport:
    """Run :func:`verification_steps` to the end, passing each step to ``progress``. Reads only."""
    steps = verification_steps(session, full=full, chunk=chunk)
    while True:
        try:
            step = next(steps)
        except StopIteration as done:
            report: ChainReport = done.value
            return report
        if progress is not None:
            progress(step)


def verify_chain(session: Session) -> ChainReport:
    """The full verification: every entry from the first, then every checkpoint."""
    return verify(session, full=True)


def append_checkpoint(session: Session, actor: User | None, report: ChainReport) -> AuditCheckpoint | None:
    """Record a successful verification. An incremental one that found nothing new since the
    latest checkpoint adds none (returns None); a full one always adds one. Concurrent
    verifications may race for the next number; the loser re-reads and chains after the winner."""
    if not report.ok or report.upto_seq == 0:
        return None
    for _ in range(5):
        latest = latest_checkpoint(session)
        if report.kind == INCREMENTAL and latest is not None and latest.upto_seq >= report.upto_seq:
            return None
        cp = AuditCheckpoint(
            number=latest.number + 1 if latest is not None else 1,
            upto_seq=report.upto_seq,
            entry_hash=report.upto_hash,
            kind=report.kind,
            checked=report.checked,
            verified_at=utcnow(),
            actor_id=actor.id if actor is not None else None,
            actor_name=actor.name if actor is not None else "系统",
            prev_hash=latest.hash if latest is not None else GENESIS,
        )
        cp.hash = _checkpoint_digest(cp)
        nested = session.begin_nested()
        session.add(cp)
        try:
            session.flush()
        except IntegrityError:
            nested.rollback()
            continue
        nested.commit()
        return cp
    return None


def run_verification(
    session: Session, actor: User | None, *, full: bool, progress: Callable[[Progress], None] | None = None
) -> tuple[ChainReport, AuditCheckpoint | None]:
    """Verify (incremental or full) and, if the log is intact, append a checkpoint."""
    report = verify(session, full=full, progress=progress)
    return report, append_checkpoint(session, actor, report)
