"""Work-performance dossiers (业绩材料): who enters and reads them, what a complete one holds,
and attachments checked by their bytes, stored outside the web root and read only by the
registration's institution, its panel and the centre."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from foundation.audit import AuditEntry
from foundation.errors import NotFound, PermissionDenied, ValidationError
from grading.results import dossiers
from grading.results.dossiers import DossierInput
from grading.results.models import DossierAttachment, PerformanceDossier
from tests.grading.panel_worlds import PDF, TODAY, PanelWorld, PerformanceWorld, complete, png_bytes


@pytest.fixture
def pw(session):
    return PanelWorld(session)


def counts(session) -> tuple[int, int, int]:
    return tuple(session.scalar(select(func.count()).select_from(m))
                 for m in (PerformanceDossier, DossierAttachment, AuditEntry))


def test_the_institution_admin_enters_and_the_panel_and_centre_read(session, pw):
    reg = pw.regs[0]
    assert dossiers.missing_parts(None, 2) == ["业绩材料尚未填写"]
    complete(session, pw.admin, reg)
    for reader in (pw.admin, pw.centre, pw.chair, *pw.members):
        got, dossier = dossiers.read_dossier(session, reader, reg.id)
        assert got is reg and dossier is not None and dossier.attester_name == "王建国"
    assert dossiers.missing_parts(dossier, 2) == []
    for stranger in (pw.outsider, pw.other_admin):
        with pytest.raises(NotFound):
            dossiers.read_dossier(session, stranger, reg.id)
    before = counts(session)
    for writer in (pw.centre, pw.chair, pw.other_admin):
        with pytest.raises(PermissionDenied):
            dossiers.save_dossier(session, writer, reg.id, DossierInput(products="改写"), today=TODAY)
    assert counts(session) == before


def test_a_level_two_dossier_needs_innovation_and_mentoring(session, pw):
    reg = pw.regs[0]
    dossier = dossiers.save_dossier(session, pw.admin, reg.id, DossierInput(
        tasks="完成检修 20 项", attester_name="王建国", attester_position="主任", attestation="属实",
        attested_on=dt.date(2026, 9, 1)), today=TODAY)
    assert dossiers.missing_parts(dossier, 2) == ["技术革新与创新", "传技带徒"]
    dossiers.save_dossier(session, pw.admin, reg.id, DossierInput(), today=TODAY)  # a draft may be emptied
    assert dossiers.missing_parts(dossier, 2) == [
        "产品（作品）、解决的技术问题、完成的工作任务至少填写一项", "技术革新与创新", "传技带徒",
        "单位鉴定意见（鉴定人、职务、意见和日期）"]


def test_a_level_four_dossier_has_no_innovation_part(session):
    pf = PerformanceWorld(session)
    reg = pf.regs[0]
    with pytest.raises(ValidationError, match="只用于二级/技师"):
        dossiers.save_dossier(session, pf.admin, reg.id, DossierInput(products="产品", innovation="革新"),
                              today=TODAY)
    complete(session, pf.admin, reg, level=4)
    assert dossiers.missing_parts(dossiers.dossier_of(session, reg.id), 4) == []


def test_no_dossier_for_a_registration_without_a_panel_component(session):
    pf = PerformanceWorld(session)
    reg = pf.regs[0]
    reg.method = "assessment"  # level 4 认定考核: theory + skill only
    session.flush()
    with pytest.raises(ValidationError, match="无需业绩材料"):
        dossiers.save_dossier(session, pf.admin, reg.id, DossierInput(products="产品"), today=TODAY)


TEXT_FIELDS = ("products", "problems_solved", "tasks", "innovation", "mentoring", "attestation")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("products", "字" * 5001, "不能超过 5000 个字"),
    ("attester_name", "王\n建国", "鉴定人姓名"),
    ("attester_name", "王" * 65, "不能超过 64 个字"),
    ("attester_position", "主任\u202e", "鉴定人职务"),
    ("attested_on", TODAY + dt.timedelta(days=1), "不能晚于今天"),
    ("attested_on", "2026-09-01", "必须是日期"),
    ("tasks", 42, "必须是文字"),
])
def test_bad_dossier_input_is_refused_with_nothing_written(session, pw, field, value, message):
    before = counts(session)
    with pytest.raises(ValidationError, match=message) as err:
        dossiers.save_dossier(session, pw.admin, pw.regs[0].id, DossierInput(**{field: value}), today=TODAY)
    assert err.value.field == field
    assert counts(session) == before


# ---------------------------------------------------------------- attachments


def test_attachments_are_checked_by_their_bytes(session, pw, tmp_path):
    reg = pw.regs[0]
    pdf = dossiers.add_attachment(session, pw.admin, reg.id, section="attestation", filename="C:\\材料\\鉴定意见.pdf",
                                  data=PDF, folder=tmp_path)
    assert (pdf.filename, pdf.mime, pdf.size) == ("鉴定意见.pdf", "application/pdf", len(PDF))
    png = dossiers.add_attachment(session, pw.admin, reg.id, section="products", filename="产品\u202e照片.PNG",
                                  data=png_bytes(), folder=tmp_path)
    assert png.filename == "产品照片.PNG" and png.mime == "image/png"
    stored = dossiers.stored_path(tmp_path, pdf.sha256)
    assert stored.read_bytes() == PDF and pdf.sha256 == hashlib.sha256(PDF).hexdigest()
    assert not any(p.suffix in (".pdf", ".png") for p in tmp_path.rglob("*"))  # never under a served name
    before = counts(session)
    for data, name, message in [
        (b"<html><script>alert(1)</script></html>", "a.pdf", "只接受 PDF、PNG 或 JPEG"),
        (b"%PDF-1.4 no end", "a.pdf", "只接受"),
        (PDF, "a.png", "扩展名与内容不符"),
        (png_bytes(), "a.jpg", "扩展名与内容不符"),
        (png_bytes()[:40], "a.png", "图片文件已损坏"),
        (b"", "a.pdf", "请选择要上传的文件"),
        (PDF, "\u202e\n", "文件名不能为空"),
        (b"%PDF-" + b"0" * dossiers.MAX_ATTACHMENT_BYTES + b"%%EOF", "big.pdf", "不能超过 10 MB"),
    ]:
        with pytest.raises(ValidationError, match=message):
            dossiers.add_attachment(session, pw.admin, reg.id, section="products", filename=name, data=data,
                                    folder=tmp_path)
    with pytest.raises(ValidationError, match="材料类别"):
        dossiers.add_attachment(session, pw.admin, reg.id, section="secret", filename="a.pdf", data=PDF,
                                folder=tmp_path)
    assert counts(session) == before


def test_only_the_institution_the_panel_and_the_centre_read_an_attachment(session, pw, tmp_path):
    reg = pw.regs[0]
    row = dossiers.add_attachment(session, pw.admin, reg.id, section="products", filename="p.pdf", data=PDF,
                                  folder=tmp_path)
    for reader in (pw.admin, pw.centre, *pw.members):
        got, data = dossiers.read_attachment(session, reader, row.id, tmp_path)
        assert got is row and data == PDF
    for stranger in (pw.outsider, pw.other_admin):
        with pytest.raises(NotFound):
            dossiers.read_attachment(session, stranger, row.id, tmp_path)
        with pytest.raises(NotFound):
            dossiers.remove_attachment(session, stranger, row.id)
    # A file changed on disk is not served.
    dossiers.stored_path(tmp_path, row.sha256).write_bytes(PDF + b"x")
    with pytest.raises(NotFound, match="校验不符"):
        dossiers.read_attachment(session, pw.admin, row.id, tmp_path)
    dossiers.remove_attachment(session, pw.admin, row.id)
    with pytest.raises(NotFound):
        dossiers.read_attachment(session, pw.admin, row.id, tmp_path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=1, max_size=256).filter(lambda b: not b.startswith((b"%PDF-", b"\x89PNG", b"\xff\xd8\xff"))))
def test_any_other_bytes_are_refused(session, pw, tmp_path, data):
    before = counts(session)
    with pytest.raises(ValidationError, match="只接受"):
        dossiers.add_attachment(session, pw.admin, pw.regs[0].id, section="other", filename="x.pdf", data=data,
                                folder=tmp_path)
    assert counts(session) == before
