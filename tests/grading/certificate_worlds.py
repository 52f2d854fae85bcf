"""Shared setup of the certificate tests (fixtures only, no tests).

``CertWorld``: a filed institution with scope 五级–一级 on one occupation (optionally with a 工种),
its admin, and an acknowledged batch of ``level`` with ``n`` registered candidates, each with a
confirmed 合格 decision, publicised and approved by the centre (:meth:`CertWorld.clear`, the one
path through :func:`grading.publicity.services.publicise_and_approve`), so that it may be issued. ``jpeg`` /
``png`` make photo bytes. Run as a module it is the issuing child process of the concurrency
test: ``python -m tests.grading.certificate_worlds ADMIN_ID BATCH_ID REG_ID,REG_ID,…`` issues
one certificate per transaction (BEGIN IMMEDIATE on SQLite) and prints the numbers, against the
database named by ``DATABASE_URL``; with ``CERT_GO_FILE`` set it prints ``ready`` and waits for
that file to exist before it starts.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import os
import sys
import time

from PIL import Image

from examroom.models import Batch, BatchCandidate
from foundation.calendar import seed_calendar
from foundation.institutions import ScopeEntry
from foundation.roles import Role
from grading.publicity.models import Submission
from grading.publicity.services import publicise_and_approve
from grading.results.models import LevelDecision
from tests.factories import make_institution, make_occupation, make_user

_serial = itertools.count(1)


def jpeg(width: int = 295, height: int = 413, *, colour=(200, 180, 160), quality: int = 90) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def png(width: int = 295, height: int = 413, *, mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), (10, 120, 200, 128) if mode == "RGBA" else (10, 120, 200)).save(out, format="PNG")
    return out.getvalue()


class CertWorld:
    """A filed institution, its admin and an acknowledged batch with ``n`` registrations."""

    def __init__(self, session, *, n: int = 3, level: int = 3, work_type: str | None = None, prefix: str = "C"):
        self.session = session
        seed_calendar(session)  # publicity periods count working days
        self.centre = make_user(session, Role.CENTRE_ADMIN)
        self.occupation = make_occupation(session, work_types=[work_type] if work_type else [])
        k = next(_serial)
        site = f"{770000 + k:06d}"
        self.inst = make_institution(session, status="filed", code=f"S000022{site}", serial=site)
        session.add(ScopeEntry(institution_id=self.inst.id, occupation_id=self.occupation.id,
                               lowest_level=5, highest_level=1))
        session.flush()
        session.refresh(self.inst)
        self.admin = make_user(session, Role.INSTITUTION_ADMIN, institution=self.inst)
        self.prefix = f"{prefix}{k:04d}"
        self.batch = self.make_batch(level=level, n=n)

    def make_batch(self, *, level: int = 3, n: int = 3, people=None, status: str = "acknowledged",
                   qualified: bool = True) -> Batch:
        """``qualified``: every registration gets a confirmed 合格 decision, and the batch passes
        publicity and the centre's review (:meth:`clear`): what issuance needs."""
        s = self.session
        k = next(_serial)
        work_type = self.occupation.work_types[0] if self.occupation.work_types else None
        batch = Batch(institution_id=self.inst.id, occupation_id=self.occupation.id,
                      work_type_id=work_type.id if work_type else None, level=level, name=f"证书测试批次{k}",
                      status=status, filed_at=dt.datetime(2026, 9, 1, tzinfo=dt.UTC) if status != "draft" else None)
        s.add(batch)
        s.flush()
        candidates = people or [make_user(s, Role.CANDIDATE, institution=self.inst) for _ in range(n)]
        for j, cand in enumerate(candidates):
            s.add(BatchCandidate(batch_id=batch.id, candidate_id=cand.id, category="other",
                                 ticket_no=f"{self.prefix}{k:04d}{j:05d}"))
        s.flush()
        s.refresh(batch)
        if qualified:
            for reg in batch.candidates:
                self.confirm(reg, "qualified")
            if batch.candidates and status == "acknowledged":
                self.clear(batch)
        return batch

    def clear(self, batch: Batch | None = None) -> Submission:
        """Publicise the batch's confirmed 合格 decisions (from 2026-11-02, ended without
        objection) and have the centre approve the submission: the chain issuance requires."""
        return publicise_and_approve(self.session, self.admin, self.centre, (batch or self.batch).id)

    def confirm(self, reg: BatchCandidate, outcome: str, *, level: int | None = None) -> LevelDecision:
        """A confirmed level decision for ``reg`` (made directly, as the decisions service would store it)."""
        decision = LevelDecision(
            registration_id=reg.id, batch_id=reg.batch_id, person_id=reg.person_id, version=1, state="confirmed",
            outcome=outcome, level=level or reg.batch.level, decided_on=dt.date(2026, 11, 2),
            qualified_on=dt.date(2026, 10, 20) if outcome == "qualified" else None, resit_until=None, reasons=[],
            inputs_json="{}", fingerprint="0" * 64, decided_by_name=self.admin.name, confirmed_by_id=self.admin.id,
            confirmed_by_name=self.admin.name, confirmed_at=dt.datetime(2026, 11, 2, 2, tzinfo=dt.UTC))
        self.session.add(decision)
        self.session.flush()
        return decision

    def registrations(self, batch: Batch | None = None) -> list[BatchCandidate]:
        return sorted((batch or self.batch).candidates, key=lambda r: r.ticket_no)


def _issue_one_at_a_time(admin_id: int, batch_id: int, registration_ids: list[int]) -> None:
    from foundation.accounts import User
    from foundation.db import immediate_transactions, retry_when_busy
    from grading.certificates.issuance import issue_certificates
    from web import create_app
    from web.extensions import db

    app = create_app({"SOCKETIO_ASYNC_MODE": "threading", "SECRET_KEY": "issuer"})
    with app.app_context():
        session = db.session
        go = os.environ.get("CERT_GO_FILE")
        if go:  # both children start issuing together, so they really race for the counter
            print("ready", flush=True)
            while not os.path.exists(go):
                time.sleep(0.01)
        for reg_id in registration_ids:
            def one(reg_id: int = reg_id) -> str:
                cert, = issue_certificates(session, session.get_one(User, admin_id), batch_id, [reg_id],
                                           today=dt.date(2026, 12, 1))
                number = cert.number
                session.commit()
                return number

            with immediate_transactions(session):
                # SQLite's busy wait is not fair: a tight loop in the other process can hold the
                # write lock past the busy timeout; such a transaction is retried whole.
                print(retry_when_busy(session, one, delays=(0.05, 0.2, 0.5, 1, 2)), flush=True)


if __name__ == "__main__":
    _issue_one_at_a_time(int(sys.argv[1]), int(sys.argv[2]), [int(x) for x in sys.argv[3].split(",")])
