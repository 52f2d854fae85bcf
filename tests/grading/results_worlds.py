"""Shared setup of the stored-decision tests (fixtures only, no tests).

``ResultsWorld``: two filed institutions A and B with scope 五级–三级 on one occupation, their
admins, the centre, and the 2026–2027 working-day calendar; batches, registrations, component
results and violations are made as rows (the scoring that writes them in the live flow is
another part of issue 13), so a test says exactly which rows the loader reads.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from sqlalchemy.orm import Session

from examroom.models import Batch, BatchCandidate
from examroom.models import Violation as ViolationRow
from foundation.accounts import User
from foundation.calendar import seed_calendar
from foundation.institutions import Institution, ScopeEntry
from foundation.roles import Role
from grading.results.models import ComponentResult
from tests.factories import make_institution, make_occupation, make_user, valid_id_number

_serial = itertools.count(1)


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


class ResultsWorld:
    def __init__(self, session: Session):
        seed_calendar(session)
        self.session = session
        self.centre = make_user(session, Role.CENTRE_ADMIN)
        self.occupation = make_occupation(session, name=f"电工{next(_serial)}")
        self.a = self.institution("甲")
        self.b = self.institution("乙")
        self.admin_a = make_user(session, Role.INSTITUTION_ADMIN, institution=self.a, name="张主任")
        self.admin_b = make_user(session, Role.INSTITUTION_ADMIN, institution=self.b, name="李主任")

    def institution(self, tag: str) -> Institution:
        n = next(_serial)
        inst = make_institution(self.session, name=f"{tag}评价机构{n}", status="filed",
                                code=f"S000022{770000 + n:06d}", serial=f"{770000 + n:06d}")
        self.session.add(ScopeEntry(institution_id=inst.id, occupation_id=self.occupation.id, lowest_level=5,
                                    highest_level=3))
        self.session.flush()
        self.session.refresh(inst)
        return inst

    def batch(self, inst: Institution, *, level: int = 4, occupation_id: int | None = None) -> Batch:
        n = next(_serial)
        batch = Batch(institution_id=inst.id, occupation_id=occupation_id or self.occupation.id, level=level,
                      name=f"2026年第{n}批", status="acknowledged", filed_at=dt.datetime(2025, 1, 2, tzinfo=dt.UTC),
                      filed_on=dt.date(2025, 1, 2))
        self.session.add(batch)
        self.session.flush()
        return batch

    def candidate(self, inst: Institution, *, id_number: str | None = None, name: str | None = None) -> User:
        """A candidate account of ``inst``; the same ``id_number`` in two institutions is one person."""
        n = next(_serial)
        return make_user(self.session, Role.CANDIDATE, institution=inst, id_number=id_number or valid_id_number(n),
                         name=name or f"考生{n}")

    def register(self, batch: Batch, candidate: User, *, method: str = "assessment") -> BatchCandidate:
        reg = BatchCandidate(batch_id=batch.id, candidate_id=candidate.id, person_id=candidate.person_id,
                             method=method, category="other", ticket_no=f"R{next(_serial):09d}")
        self.session.add(reg)
        self.session.flush()
        return reg

    def result(self, reg: BatchCandidate, component: str, sat_on: str, score: float | str | None = None, *,
               state: str | None = None) -> ComponentResult:
        kind = state or ("scored" if score is not None else "absent")
        row = ComponentResult(registration_id=reg.id, person_id=reg.person_id, component=component,
                              sat_on=day(sat_on), state=kind,
                              score=None if score is None else Decimal(str(score)))
        self.session.add(row)
        self.session.flush()
        return row

    def violation(self, reg: BatchCandidate, tier: int, on: str, component: str | None = None) -> ViolationRow:
        row = ViolationRow(registration_id=reg.id, person_id=reg.person_id, tier=tier, component=component,
                           occurred_on=day(on), description="测试违纪")
        self.session.add(row)
        self.session.flush()
        return row
