"""The results demo (``flask seed demo``, :mod:`grading.demo`): one batch through every component
to issued certificates, made through the services, idempotent, and visible on every role's pages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from examroom.demo import seed_exam_demo
from examroom.models import BatchCandidate, Response
from foundation.accounts import User
from foundation.audit import AuditEntry
from foundation.demo import DEMO_PASSWORD, seed_demo
from foundation.seed import seed_reference
from grading.certificates.models import Certificate
from grading.demo import DEMO_RESULTS_BATCH, ISSUED_ON, demo_results, seed_results_demo
from grading.results.models import (
    ComponentResult,
    LevelDecision,
    PanelMinutes,
    PanelScore,
    ResponseMark,
    ScoreSheet,
    SkillReconciliation,
)
from itembank.demo import seed_item_bank

pytestmark = pytest.mark.slow


def _seed(session) -> list[str]:
    seed_reference(session)
    seed_demo(session)
    seed_item_bank(session)
    seed_exam_demo(session, today=dt.date(2026, 12, 1))
    return seed_results_demo(session)


def _user(session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    assert user is not None
    return user


def _staff(client, username: str) -> None:
    """Log in with the published demo password, as a visitor would."""
    client.post("/logout")
    resp = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
    assert resp.status_code == 302


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _body(resp) -> str:
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def test_the_demo_batch_went_through_every_component_and_a_second_seed_adds_nothing(session):
    lines = _seed(session)
    found = demo_results(session)
    assert found is not None and found.batch.name == DEMO_RESULTS_BATCH
    batch = found.batch
    regs = sorted(batch.candidates, key=lambda r: r.ticket_no)
    assert len(regs) == 7 and batch.status == "acknowledged" and batch.level == 2
    results = list(session.scalars(select(ComponentResult).join(BatchCandidate).where(
        BatchCandidate.batch_id == batch.id)))
    by_component: dict[str, list[ComponentResult]] = {}
    for r in results:
        by_component.setdefault(r.component, []).append(r)
    # Theory: six closed attempts scored from their answers, the 简答题 marked by people.
    theory = by_component["theory"]
    assert len(theory) == 6 and all(r.state == "scored" and r.attempt_id for r in theory)
    rounds = [m.round for m in session.scalars(select(ResponseMark).join(Response))]
    assert rounds.count(1) == 6 and rounds.count(2) == 6 and rounds.count(3) == 1  # one answer went to a third
    # Skill: three signed sheets per candidate, one spread reconciled by the chief with a reason.
    sheets = list(session.scalars(select(ScoreSheet)))
    assert len(sheets) == 18 and all(s.signed_at is not None for s in sheets)
    reconciled = session.scalars(select(SkillReconciliation)).one()
    assert reconciled.reason and reconciled.chief.username == "examiner1"
    assert len(by_component["skill"]) == 6
    # 综合评审: four reviewed by a panel of three, with minutes.
    assert len(by_component["review"]) == 4
    assert _count(session, PanelScore) == 12 and _count(session, PanelMinutes) == 4
    # Confirmed by the institution admin by name: 5 合格 (one by competition), 1 待补考, 1 不合格.
    decisions = list(session.scalars(select(LevelDecision).where(LevelDecision.batch_id == batch.id)))
    assert all(d.state == "confirmed" and d.confirmed_by_name == "周静" for d in decisions)
    outcomes = sorted(d.outcome for d in decisions)
    assert outcomes == ["failed", "qualified", "qualified", "qualified", "qualified", "qualified", "resit"]
    competitor = next(r for r in regs if r.method == "competition")
    won = next(d for d in decisions if d.registration_id == competitor.id)
    assert won.outcome == "qualified" and won.reasons[0]["code"] == "competition_recognised"
    # Certificates for the five 合格, numbered from serial 1 of the issue year: a stable number.
    certs = found.certificates
    assert [c.serial for c in certs] == [1, 2, 3, 4, 5] and all(c.issued_on == ISSUED_ON for c in certs)
    first = certs[0]
    assert first.number == f"{batch.institution.code}262000001"
    assert f"演示证书编号 {first.number}，持证人 {first.person.name}" in "\n".join(lines)
    # printed like the other login rows: two spaces, the role label, the login (tests/e2e reads them)
    assert lines[1].startswith(f"  考生  {regs[0].ticket_no} / {regs[0].candidate.id_number}  ")
    assert not any(line.startswith("  ") for line in lines[2:])  # nothing else reads as a login row

    audit_before = _count(session, AuditEntry)
    certificates_before = _count(session, Certificate)
    again = seed_results_demo(session)
    assert again == lines
    assert _count(session, AuditEntry) == audit_before and _count(session, Certificate) == certificates_before


def test_every_role_sees_the_seeded_results(session, client, login):
    lines = _seed(session)
    found = demo_results(session)
    assert found is not None
    batch = found.batch
    regs = sorted(batch.candidates, key=lambda r: r.ticket_no)
    qualified = regs[0]
    name = qualified.candidate.name

    # The examiner: my sittings, the skill board with the signed sheets, the panel, the marking.
    _staff(client, "examiner1")
    body = _body(client.get("/skill/"))
    assert DEMO_RESULTS_BATCH in body
    skill_sitting = next(s for m in batch.modules if m.kind == "skill" for s in m.sessions)
    body = _body(client.get(f"/skill/sittings/{skill_sitting.id}"))
    shown = " ".join(re.sub(r"<[^>]+>", " ", body).split())
    assert "组长复核 81.0 分：第二位考评员未看到考生打底焊前的反变形处理" in shown
    assert DEMO_RESULTS_BATCH in _body(client.get("/reviews/"))
    assert DEMO_RESULTS_BATCH in _body(client.get("/marking/"))

    # The institution: results by component, decisions confirmed by name, the 成绩单.
    _staff(client, "jx_admin")
    body = _body(client.get(f"/results/batches/{batch.id}"))
    rows = {m.group(1): m.group(2) for m in re.finditer(r'data-registration="(\d+)">(.*?)</tr>', body, re.S)}
    assert len(rows) == 7
    mine = rows[str(qualified.id)]
    assert name in mine and "rs-missing" not in mine and mine.count("</span>") >= 3
    body = _body(client.get(f"/results/batches/{batch.id}/decisions"))
    assert "周静" in body and "合格" in body and "不合格" in body and "待补考" in body
    resp = client.get(f"/results/batches/{batch.id}/transcript.xlsx")
    assert resp.status_code == 200 and resp.data[:2] == b"PK"
    resp = client.get(f"/results/batches/{batch.id}/transcript.pdf")
    assert resp.status_code == 200 and resp.data[:4] == b"%PDF"
    assert found.certificates[0].number in _body(client.get(f"/certificates/batches/{batch.id}"))

    # The centre: read-only results of the batch.
    _staff(client, "centre")
    body = _body(client.get(f"/results/batches/{batch.id}"))
    assert name in body
    assert "周静" in _body(client.get(f"/results/batches/{batch.id}/decisions"))

    # The candidate of the printed login: 我的成绩 with the reasons, and the certificate.
    login(qualified.candidate, ticket=qualified.ticket_no)
    body = _body(client.get("/results/mine"))
    assert "合格" in body and "达到合格线" in body and "综合评审" in body
    assert found.certificates[0].number in _body(client.get("/certificates/mine"))

    # Anyone: /verify with the printed number and name.
    client.post("/logout")
    cert = found.certificates[0]
    body = _body(client.get("/verify", query_string={"number": cert.number, "name": cert.person.name}))
    assert "有效" in body
    assert any(cert.number in line for line in lines)
