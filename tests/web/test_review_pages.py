"""Review pages (业绩材料与评审): the institution enters the dossier and uploads attachments, the
panel scores on its page, the chair records the minutes and confirms; attachments and reviews
are refused to other institutions and to examiners off the panel; the centre's sub-items."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from grading.results import dossiers, panels
from grading.results.models import ComponentResult, DossierAttachment, PanelScore, PerformanceDossier
from tests.grading.panel_worlds import PDF, TODAY, PanelWorld, complete, pass_theory_and_skill, png_bytes
from web.reviews import views


@pytest.fixture
def pw(session, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENTS_DIR", str(tmp_path))
    monkeypatch.setattr(views, "_today", lambda: TODAY)
    return PanelWorld(session)


def test_the_institution_enters_a_dossier_and_uploads_an_attachment(session, client, login, pw):
    reg = pw.regs[0]
    login(pw.admin)
    page = client.get(f"/reviews/batches/{pw.batch.id}")
    assert page.status_code == 200 and reg.ticket_no in page.get_data(as_text=True)
    assert "不完整" in page.get_data(as_text=True)
    resp = client.post(f"/reviews/registrations/{reg.id}/dossier", data={
        "products": "主持变电站改造", "innovation": "改进接地线", "mentoring": "带徒 3 名", "attester_name": "王建国",
        "attester_position": "车间主任", "attestation": "情况属实", "attested_on": "2026-09-01"})
    assert resp.status_code == 302
    row = dossiers.dossier_of(session, reg.id)
    assert row.products == "主持变电站改造" and str(row.attested_on) == "2026-09-01"
    assert dossiers.missing_parts(row, 2) == []
    resp = client.post(f"/reviews/registrations/{reg.id}/attachments", data={
        "section": "attestation", "file": (io.BytesIO(PDF), "鉴定意见.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 302
    attachment = row.attachments[0]
    got = client.get(f"/reviews/attachments/{attachment.id}")
    assert got.status_code == 200 and got.data == PDF and got.mimetype == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in got.headers["Content-Security-Policy"]
    body = client.get(f"/reviews/registrations/{reg.id}/dossier").get_data(as_text=True)
    assert "鉴定意见.pdf" in body and "dossier-missing" not in body


def test_bad_dossier_input_on_the_page_writes_nothing(session, client, login, pw):
    reg = pw.regs[0]
    login(pw.admin)
    for data, message in [({"attested_on": "2026/09/01"}, "年-月-日"),
                          ({"attester_name": "王\u202e建国"}, "鉴定人姓名"),
                          ({"attested_on": "2099-01-01"}, "不能晚于今天")]:
        resp = client.post(f"/reviews/registrations/{reg.id}/dossier", data=data)
        assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    resp = client.post(f"/reviews/registrations/{reg.id}/attachments", data={
        "section": "products", "file": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "x.pdf")},
        content_type="multipart/form-data")
    assert resp.status_code == 302
    assert session.scalar(select(func.count()).select_from(PerformanceDossier)) == 0
    assert session.scalar(select(func.count()).select_from(DossierAttachment)) == 0
    assert "只接受 PDF、PNG 或 JPEG" in client.get(f"/reviews/registrations/{reg.id}/dossier").get_data(as_text=True)


def test_attachments_are_refused_to_other_institutions_and_off_panel_examiners(session, client, login, pw, tmp_path):
    reg = pw.regs[0]
    row = dossiers.add_attachment(session, pw.admin, reg.id, section="products", filename="产品.png",
                                  data=png_bytes(), folder=tmp_path)
    url = f"/reviews/attachments/{row.id}"
    for stranger in (pw.other_admin, pw.outsider):
        login(stranger)
        assert client.get(url).status_code == 404
        assert client.get(f"/reviews/registrations/{reg.id}/dossier").status_code == 404
        assert client.get(f"/reviews/batches/{pw.batch.id}").status_code == 404
    login(pw.other_admin)
    assert client.post(f"{url}/remove").status_code == 404
    assert client.post(f"/reviews/registrations/{reg.id}/dossier", data={"products": "改写"}).status_code == 404
    for reader in (pw.admin, pw.centre, pw.members[1]):
        login(reader)
        got = client.get(url)
        assert got.status_code == 200 and got.mimetype == "image/png" and got.headers["Content-Disposition"].startswith(
            "inline;")
    assert session.get(DossierAttachment, row.id) is not None


def test_the_panel_scores_on_its_page_and_the_chair_confirms(session, client, login, pw):
    reg = pw.regs[0]
    pass_theory_and_skill(session, reg)
    complete(session, pw.admin, reg)
    url = f"/reviews/registrations/{reg.id}/review"
    login(pw.outsider)
    assert client.get(url).status_code == 404
    assert client.post(url, data={"score": "99"}).status_code == 404
    for member, value in zip(pw.members, ("70", "81", "85.5"), strict=True):
        login(member)
        body = client.get(url).get_data(as_text=True)
        assert "score-form" in body and "score-table" not in body  # no one else's score yet
        assert client.post(url, data={"score": value, "comment": "业绩扎实"}).status_code == 302
    assert session.scalar(select(func.count()).select_from(PanelScore)) == 3
    login(pw.chair)
    body = client.get(url).get_data(as_text=True)
    assert "score-table" in body and "78.8" in body and "finalise-form" not in body  # minutes first
    resp = client.post(f"{url}/minutes", data={"held_on": TODAY.isoformat(), "place": "答辩室",
                                               "duration_minutes": "20", "record": "答辩"})
    assert resp.status_code == 400 and "不少于 30 分钟" in resp.get_data(as_text=True)
    saved = client.post(f"{url}/minutes", data={"held_on": TODAY.isoformat(), "place": "答辩室",
                                                "duration_minutes": "40", "record": "提问 4 个，回答正确。"})
    assert saved.status_code == 302
    assert client.post(f"{url}/finalise").status_code == 302
    result = session.scalar(select(ComponentResult).where(ComponentResult.registration_id == reg.id,
                                                          ComponentResult.component == "review"))
    assert str(result.score) in ("78.8", "78.80")
    assert "评审结果已确认" in client.get(url).get_data(as_text=True)
    login(pw.admin)
    body = client.get(f"/reviews/batches/{pw.batch.id}").get_data(as_text=True)
    assert "78.8 分（已确认）" in body
    for reader in (pw.admin, pw.centre, pw.members[2]):  # read-only: every score, the minutes, the dossier
        login(reader)
        body = client.get(url).get_data(as_text=True)
        assert "提问 4 个，回答正确。" in body and "score-form" not in body and "minutes-form" not in body
        assert "主持完成 110 kV 变电站二次回路改造。" in body and "85.5" in body
        dossier_page = client.get(f"/reviews/registrations/{reg.id}/dossier").get_data(as_text=True)
        assert "王建国" in dossier_page and "dossier-form" not in dossier_page
    # A member may not record minutes or confirm (the chair's), even by posting directly.
    login(pw.members[1])
    assert client.post(f"/reviews/registrations/{pw.regs[1].id}/review/finalise").status_code in (403, 404)


def test_the_gate_shows_on_the_page_and_refuses_the_post(session, client, login, pw):
    reg = pw.regs[0]
    complete(session, pw.admin, reg)
    login(pw.members[0])
    url = f"/reviews/registrations/{reg.id}/review"
    body = client.get(url).get_data(as_text=True)
    assert "综合评审尚未开放" in body and "score-form" not in body
    resp = client.post(url, data={"score": "80"})
    assert resp.status_code == 400 and "综合评审尚未开放" in resp.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(PanelScore)) == 0


def test_the_examiner_sees_their_panels_and_searches_the_list(session, client, login, pw):
    login(pw.chair)
    body = client.get("/reviews/").get_data(as_text=True)
    assert pw.batch.name in body and "组长" in body
    target = pw.regs[3]
    body = client.get(f"/reviews/batches/{pw.batch.id}?q={target.ticket_no}").get_data(as_text=True)
    assert target.ticket_no in body and pw.regs[4].ticket_no not in body
    login(pw.outsider)
    assert pw.batch.name not in client.get("/reviews/").get_data(as_text=True)


def test_the_centre_sets_sub_items_that_members_then_score(session, client, login, pw):
    login(pw.centre)
    resp = client.post("/reviews/criteria", data={"component": "review", "lines": "业绩成果，50\n答辩表现，40"})
    assert resp.status_code == 400 and "合计须为 100 分" in resp.get_data(as_text=True)
    assert panels.criteria(session, "review") == ()
    assert client.post("/reviews/criteria", data={"component": "review",
                                                  "lines": "业绩成果，60\n答辩表现,40\n"}).status_code == 302
    assert [c.name for c in panels.criteria(session, "review")] == ["业绩成果", "答辩表现"]
    assert "业绩成果，60" in client.get("/reviews/criteria").get_data(as_text=True)
    reg = pw.regs[0]
    pass_theory_and_skill(session, reg)
    complete(session, pw.admin, reg)
    login(pw.members[0])
    url = f"/reviews/registrations/{reg.id}/review"
    assert 'name="sub_业绩成果"' in client.get(url).get_data(as_text=True)
    assert client.post(url, data={"sub_业绩成果": "55", "sub_答辩表现": "30.5"}).status_code == 302
    assert session.scalar(select(PanelScore.score)) == 85.5
