"""May this registration be issued a certificate? The one precondition of issuance.

:func:`issuance_problems` returns the reasons (Simplified Chinese) that stop issuance for one
registration; an empty list means it may be issued. :mod:`.issuance` calls nothing else, so
every rule about *whether* a certificate may exist lives here. It is the sum of
:func:`batch_problems` (the same for every registration of a batch, asked once when a whole
batch is issued) and :func:`registration_problems` (the person's own).

Checked today:

* the batch's institution is filed (已备案) and has its 13-character code (the number needs it);
* the batch's plan was acknowledged by the centre (中心已确认);
* the occupation / 工种 / level is within the institution's filed scope
  (:func:`foundation.institutions.check_in_scope`);
* no valid certificate exists for the person × occupation × 工种 × level;
* the registration has a confirmed 合格 level decision at the batch's level, its entry on a
  publicity that ended with no objection pending (nor upheld: an upheld objection corrects and
  re-publicises the entry or withdraws it), and the centre's approval of the submission that
  carried it (:func:`chain_problems`, :func:`grading.publicity.services.chain_states`).

The issuing institution is the registration's (who evaluates issues): the issuance service
refuses an admin of another institution before it asks this function. Issuing a whole batch
asks the publicity and review state once for all its registrations (``chain``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from examroom.models import Batch, BatchCandidate, BatchStatus
from foundation.errors import ValidationError
from foundation.institutions import FilingStatus, check_in_scope
from foundation.levels import level_name
from grading.certificates.models import Certificate, CertificateStatus
from grading.publicity.services import chain_states
from grading.results.models import LevelDecision

#: Registration id → what the publicity and the centre's review still lack (see :func:`chain_of`).
Chain = Mapping[int, Sequence[str]]


def chain_of(session: Session, registration_ids: Sequence[int], today: dt.date | None = None) -> Chain:
    """The publicity / review state of many registrations at once (a few queries in all)."""
    return chain_states(session, registration_ids, today)


def existing_valid(session: Session, person_id: int, occupation_id: int, work_type_id: int | None,
                   level: int) -> Certificate | None:
    """The person's valid certificate for this occupation / 工种 / level, if any."""
    return session.scalar(select(Certificate).where(
        Certificate.person_id == person_id, Certificate.occupation_id == occupation_id,
        Certificate.work_type_key == (work_type_id or 0), Certificate.level == level,
        Certificate.status == CertificateStatus.VALID.value))


def chain_problems(session: Session, registration: BatchCandidate, chain: Chain | None = None) -> list[str]:
    """The reasons the result chain does not allow issuance yet.

    Checked, in order: a confirmed level decision (等级认定结论, :mod:`grading.results.decisions`)
    with outcome 合格 at the batch's level for ``registration`` — without it
    「尚无已确认的“合格”认定结论」; then its publicity entry, ended with no objection pending and
    not withdrawn (「公示未结束或存在未处理的异议」), and the centre's approval of the submission
    carrying it (「成绩及证书数据尚未经省中心审核通过」). ``chain``: the publicity / review state
    precomputed for the batch (:func:`chain_of`); asked for this registration alone when None."""
    confirmed = session.scalar(select(LevelDecision).where(
        LevelDecision.registration_id == registration.id, LevelDecision.state == "confirmed"))
    if confirmed is None or confirmed.outcome != "qualified":
        return ["尚无已确认的“合格”认定结论。"]
    if confirmed.level != registration.batch.level:
        return [f"认定结论的等级（{level_name(confirmed.level)}）与批次等级不一致，不能按本批次发证。"]
    if chain is None:
        chain = chain_of(session, [registration.id])
    return list(chain.get(registration.id, ()))


def issuance_problems(session: Session, registration: BatchCandidate) -> list[str]:
    """Why ``registration`` may not be issued its certificate (empty: it may): the batch's
    problems (:func:`batch_problems`), then the registration's own (:func:`registration_problems`)."""
    return batch_problems(session, registration.batch) + registration_problems(session, registration)


def batch_problems(session: Session, batch: Batch) -> list[str]:
    """What stops issuance for every registration of ``batch`` alike (the institution, its scope,
    the plan). Issuing a whole batch asks this once, then :func:`registration_problems` per person."""
    inst = batch.institution
    problems: list[str] = []
    if inst.status != FilingStatus.FILED.value:
        problems.append(f"评价机构当前状态为「{inst.status_label}」，不能发证。")
    elif not inst.code:
        problems.append("评价机构尚无 13 位评价机构编码，不能生成证书编号。")
    else:
        try:
            check_in_scope(session, inst, batch.occupation_id, batch.work_type_id, batch.level)
        except ValidationError as exc:
            problems.append(f"超出备案评价范围：{exc.message}")
    if batch.status != BatchStatus.ACKNOWLEDGED.value:
        problems.append("该批次的认定计划尚未经省中心确认。")
    return problems


def registration_problems(session: Session, registration: BatchCandidate, chain: Chain | None = None) -> list[str]:
    """What stops issuance for this registration alone: a valid certificate already held, and the
    result chain (:func:`chain_problems`; ``chain`` precomputed for the batch, see :func:`chain_of`)."""
    batch = registration.batch
    problems: list[str] = []
    existing = existing_valid(session, registration.person_id, batch.occupation_id, batch.work_type_id, batch.level)
    if existing is not None:
        what = batch.occupation.name + (f"（{batch.work_type.name}）" if batch.work_type else "")
        problems.append(f"该人员已持有有效的{what}{level_name(batch.level)}证书（{existing.number}）。")
    problems.extend(chain_problems(session, registration, chain))
    return problems
