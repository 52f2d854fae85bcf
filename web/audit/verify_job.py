"""Hash-chain verification (哈希链校验) as a background job (:mod:`foundation.jobs`, issue 16
point 7): a full verification reads the whole log (13 s at 459k entries), so it runs in the job
worker, never in a process that serves exam sockets. The page queues it and goes to the job's
progress page, which shows the entries checked so far and then the result (ok, with the
checkpoint it added, or the first broken entry or checkpoint).

The verification only reads; its transaction ends before the checkpoint is written in a short
write transaction of its own (BEGIN IMMEDIATE on SQLite), so progress reports written meanwhile
never refuse the write. The checkpoint covers the log as it was when the verification began.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from foundation import audit
from foundation.accounts import User
from foundation.db import immediate_transactions
from foundation.errors import PermissionDenied
from foundation.jobs import Job, Outcome, ProgressFn, register
from foundation.roles import Role
from web.audit.labels import describe_break
from web.templating import beijing

VERIFY = "audit.verify"


def _centre_reads(_session: Session, user: User, _job: Job) -> bool:
    return user.role == Role.CENTRE_ADMIN.value


def _percent(step: audit.Progress, full: bool) -> int:
    share = step.done / max(step.total, 1)
    if step.phase == "entries":
        return 2 + int((75 if full else 93) * share)
    return 77 + int(18 * share)


@register(VERIFY, "校验操作日志", readable_by=_centre_reads)
def run_verify(session: Session, job: Job, params: dict[str, Any], progress: ProgressFn) -> Outcome:
    """params: ``full`` (bool): every entry and checkpoint, or only what follows the latest checkpoint."""
    full = bool(params.get("full"))
    actor = session.get(User, job.user_id) if job.user_id is not None else None
    if actor is None or not actor.active or actor.role != Role.CENTRE_ADMIN.value:
        raise PermissionDenied("发起任务的账号已不可用。")
    steps = audit.verification_steps(session, full=full)
    while True:
        try:
            step = next(steps)
        except StopIteration as done:
            report: audit.ChainReport = done.value
            break
        what = "记录" if step.phase == "entries" else "检查点"
        progress(_percent(step, full), f"已校验{what} {step.done} / {step.total}")
    broken = session.get(audit.AuditEntry, report.first_broken_id) if report.first_broken_id else None
    shown = None if broken is None else {
        "actor_name": broken.actor_name, "action": broken.action, "target_type": broken.target_type,
        "target_id": broken.target_id, "at": beijing(broken.at, "%Y-%m-%d %H:%M:%S")}
    session.commit()  # the long read ends before the write
    with immediate_transactions(session):
        checkpoint = audit.append_checkpoint(session, actor, report)
    summary = {
        "ok": report.ok, "full": full, "checked": report.checked, "from_seq": report.from_seq,
        "from_checkpoint": report.from_checkpoint, "checkpoints_checked": report.checkpoints_checked,
        "checkpoint": None if checkpoint is None else {"number": checkpoint.number, "upto_seq": checkpoint.upto_seq},
        "broken": shown, "break": None if report.ok else describe_break(report),
    }
    message = "操作日志完整。" if report.ok else "操作日志已被篡改：" + summary["break"]
    return Outcome({"audit": summary, "message": message})
