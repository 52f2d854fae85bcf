"""Shared setup of the panel, dossier and competition tests (fixtures only, no tests).

``PanelWorld``: a level-2 batch acknowledged by the centre with 14 registrations, skill
sittings, a 综合评审 sitting and a panel of three (the first its chair), on the examroom
``World``. ``pass_theory_and_skill`` stores passing theory and skill results; ``complete``
enters a complete dossier. ``PerformanceWorld``: a level-4 batch with a 工作业绩评审 module,
its registrations 考评结合, and a panel of three. ``PDF``, ``png_bytes`` and ``results_xlsx``
build upload files.
"""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
from PIL import Image

from examroom import batches
from examroom.models import BatchCandidate
from foundation.roles import Role
from grading.results import dossiers
from grading.results.competitions import IMPORT_COLUMNS, SHEET_NAME
from grading.results.models import ComponentResult
from tests.examroom.worlds import World, _review_plan, _scope_to_level_one, at

TODAY = dt.date(2026, 10, 20)

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def png_bytes(size: tuple[int, int] = (8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def add_result(session, reg: BatchCandidate, component: str, score, sat_on: dt.date, state: str = "scored"
               ) -> ComponentResult:
    row = ComponentResult(registration_id=reg.id, person_id=reg.person_id, component=component, sat_on=sat_on,
                          state=state, score=score)
    session.add(row)
    session.flush()
    return row


def pass_theory_and_skill(session, reg: BatchCandidate, *, theory=80, skill=75,
                          sat_on: dt.date = dt.date(2026, 10, 16)) -> None:
    add_result(session, reg, "theory", theory, sat_on)
    add_result(session, reg, "skill", skill, sat_on)


def complete(session, admin, reg: BatchCandidate, *, level: int = 2) -> None:
    high = level in (2, 1)
    dossiers.save_dossier(session, admin, reg.id, dossiers.DossierInput(
        products="主持完成 110 kV 变电站二次回路改造。", problems_solved="解决了继电保护误动作问题。",
        tasks="完成年度检修任务 36 项。", innovation="改进接地线装置，获厂级革新奖。" if high else "",
        mentoring="带徒 3 名，均取得四级证书。" if high else "", attester_name="王建国", attester_position="车间主任",
        attestation="该同志工作业绩突出，情况属实。", attested_on=dt.date(2026, 9, 1)), today=TODAY)


def acknowledge(session, batch) -> None:
    """The centre's acknowledgement, written directly (the filing rules are examroom's tests)."""
    batch.status = "acknowledged"
    batch.filed_at = batch.decided_at = dt.datetime(2026, 9, 28, tzinfo=dt.UTC)
    batch.filed_on = dt.date(2026, 9, 28)
    session.flush()


class PanelWorld:
    """A level-2 batch acknowledged by the centre, with a 综合评审 sitting on 2026-10-20 and a
    panel of three examiners (``chair`` first, then ``members``); ``outsider`` is an examiner
    of the batch not on the panel; ``regs`` its registrations (method 认定考核)."""

    def __init__(self, session):
        self.world = World(session)
        _scope_to_level_one(session, self.world)
        self.batch = _review_plan(self.world)
        acknowledge(session, self.batch)
        self.admin = self.world.admin
        self.centre = self.world.centre
        panel = list(self.batch.panel)
        self.chair = panel[0].user
        self.members = [m.user for m in panel]
        self.outsider = next(s.user for s in self.batch.staff
                             if s.role == "examiner" and s.user_id not in {m.user_id for m in panel})
        self.regs = list(self.batch.candidates)
        self.other_admin = World(session).admin  # another institution's admin


class PerformanceWorld:
    """A level-4 batch with a 工作业绩评审 sitting, acknowledged, whose registrations are 考评结合
    (theory + skill + 工作业绩评审) and whose panel has three members, the first the chair."""

    def __init__(self, session):
        self.world = world = World(session)
        self.admin = world.admin
        self.batch = world.batch(level=4)
        batches.add_session(session, world.admin, self.batch.id, module="performance", starts_at=at("2026-10-21"),
                            duration_minutes=240, place="评审室")
        people = world.people(Role.CANDIDATE, 3)
        batches.add_candidates(session, world.admin, self.batch.id, [p.id for p in people])
        examiners = world.people(Role.EXAMINER, 3)
        for k, e in enumerate(examiners):
            batches.assign_staff(session, world.admin, self.batch.id, user_id=e.id, role="examiner")
            batches.add_panel_member(session, world.admin, self.batch.id, user_id=e.id, chair=k == 0)
        for reg in self.batch.candidates:
            reg.method = "combined"
        acknowledge(session, self.batch)
        self.chair = examiners[0]
        self.members = examiners
        self.regs = list(self.batch.candidates)


def results_xlsx(rows, header=IMPORT_COLUMNS, sheet=SHEET_NAME) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
