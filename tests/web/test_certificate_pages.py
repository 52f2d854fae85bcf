"""Certificate pages: the PDF (CJK font embedded, text extracting, photo, signed QR link), the
public /verify page (a GET link, no login, rate-limited, masked answers, no oracle, signed
statements), the public key page, issuing and the register from the institution's page, and
the candidate's 我的证书 (their own certificates only)."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import openpyxl
import pypdf
import pytest
from sqlalchemy import select

from foundation.photos import PhotoStore, set_photo
from foundation.roles import Role
from grading.certificates import issuance, signing
from grading.certificates.models import Certificate
from tests.factories import make_user
from tests.grading.certificate_worlds import CertWorld, jpeg

DAY = dt.date(2026, 12, 1)


@pytest.fixture
def world(session, app):
    world = CertWorld(session, n=2, level=3)
    first = world.registrations()[0].candidate
    set_photo(session, first, PhotoStore(app.config["PHOTO_DIR"]), first.person, jpeg())
    world.certs = issuance.issue_certificates(session, world.admin, world.batch.id, None, today=DAY)
    return world


def pdf_of(client, login, world, cert):
    resp = login(world.admin).get(f"/certificates/{cert.id}.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    return resp.data


def fonts(reader: pypdf.PdfReader) -> list[dict]:
    found = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            found.append(font)
    return found


def test_the_certificate_pdf_embeds_the_cjk_font_and_its_text_extracts(client, login, world):
    cert = world.certs[0]
    reader = pypdf.PdfReader(io.BytesIO(pdf_of(client, login, world, cert)))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4
    embedded = []
    for font in fonts(reader):
        descendants = font.get("/DescendantFonts")
        descriptors = [d.get_object()["/FontDescriptor"].get_object() for d in descendants] if descendants else (
            [font["/FontDescriptor"].get_object()] if "/FontDescriptor" in font else [])
        embedded += [str(font["/BaseFont"]) for d in descriptors if "/FontFile2" in d]  # TrueType outlines
    assert any("WenQuanYi" in name or "CJK" in name or "Zen" in name for name in embedded), embedded
    text = re.sub(r"\s+", "", reader.pages[0].extract_text())
    v = cert.current
    for expected in ("职业技能等级证书", v.name, v.id_number, "三级/高级工", cert.number, world.inst.name,
                     world.occupation.name, "--", "2026年12月1日", "居民身份证", "/verify"):
        assert expected in text, expected
    assert len(reader.pages[0].images) == 1  # the photo


def test_the_qr_link_carries_a_statement_the_published_key_verifies(app, client, login, world):
    cert = world.certs[0]
    key = signing.load_public_key(client.get("/verify/key.pem").data)
    reader = pypdf.PdfReader(io.BytesIO(pdf_of(client, login, world, cert)))
    # The link is printed as text only as the page's address; the QR payload is the same link
    # with ?s=: rebuild it from the signing key to check what the PDF promises.
    fields = signing.statement_fields(cert.number, cert.current)
    token = signing.sign_statement(signing.load_signing_key(app.config["CERTIFICATE_KEY_DIR"]), fields)
    assert signing.verify_statement(token, key).number == cert.number
    assert "/verify" in reader.pages[0].extract_text()
    page = client.get("/verify?" + urlencode({"s": token})).get_data(as_text=True)
    assert "签名有效" in page and "有效" in page and cert.current.id_number not in page
    assert cert.current.id_number[:6] in page


def test_a_revoked_certificates_pdf_is_stamped(client, login, world, session):
    cert = world.certs[0]
    req = issuance.request_revocation(session, world.admin, cert.id, "材料造假")
    issuance.decide_revocation(session, world.centre, req.id, approve=True)
    text = pypdf.PdfReader(io.BytesIO(pdf_of(client, login, world, cert))).pages[0].extract_text()
    assert "已注销" in text


def test_verify_answers_a_get_link_with_masked_details_and_no_login(client, world):
    cert = world.certs[1]
    v = cert.current
    resp = client.get("/verify?" + urlencode({"number": cert.number, "name": v.name}))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "查询结果：有效" in page
    assert v.id_number not in page
    holder = page.split("<dt>持证人</dt><dd>", 1)[1].split("</dd>", 1)[0]
    assert holder != v.name and holder[0] == v.name[0] and "*" in holder
    assert v.id_number[:6] + "********" + v.id_number[-4:] in page
    assert "<img" not in page  # never a photo
    by_id = client.get("/verify?" + urlencode({"number": cert.number, "id_number": v.id_number})).get_data(as_text=True)
    assert "查询结果：有效" in by_id


def _answer(page: str) -> str:
    return page.split('aria-live="polite">', 1)[1].split("</section>", 1)[0]


def test_a_wrong_name_answers_exactly_as_an_unknown_number(client, world):
    cert = world.certs[0]
    wrong = client.get("/verify?" + urlencode({"number": cert.number, "name": "不是本人"})).get_data(as_text=True)
    unknown = client.get("/verify?" + urlencode({"number": cert.number[:-6] + "999999", "name": "不是本人"}))
    garbage = client.get("/verify?" + urlencode({"number": "S" * 22, "name": "x"}))
    assert _answer(wrong) == _answer(unknown.get_data(as_text=True)) == _answer(garbage.get_data(as_text=True))
    assert "未查询到匹配的证书" in _answer(wrong)


def test_verify_needs_the_number_and_a_name_or_id(client, world):
    page = client.get("/verify?" + urlencode({"number": world.certs[0].number})).get_data(as_text=True)
    assert "请填写证书编号，以及持证人姓名或证件号码" in page and "查询结果：" not in page


def test_a_revoked_certificate_verifies_as_revoked(session, client, world):
    cert = world.certs[0]
    req = issuance.request_revocation(session, world.admin, cert.id, "冒名顶替")
    link = "/verify?" + urlencode({"number": cert.number, "name": cert.current.name})
    assert "查询结果：有效" in client.get(link).get_data(as_text=True)  # until the centre signs off
    issuance.decide_revocation(session, world.centre, req.id, approve=True)
    page = client.get(link).get_data(as_text=True)
    assert "查询结果：已注销" in page and "注销日期" in page


def test_a_tampered_statement_fails_on_the_page(app, client, world):
    cert = world.certs[0]
    key = signing.load_signing_key(app.config["CERTIFICATE_KEY_DIR"])
    token = signing.sign_statement(key, signing.statement_fields(cert.number, cert.current))
    payload, sig = token.split(".")
    values = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    values[signing.FIELDS.index("l")] = 1  # 三级 claimed as 一级
    forged = base64.urlsafe_b64encode(json.dumps(values, ensure_ascii=False, separators=(",", ":"))
                                      .encode()).rstrip(b"=").decode() + "." + sig
    page = client.get("/verify?" + urlencode({"s": forged})).get_data(as_text=True)
    assert "签名无效" in page and "一级/高级技师" not in page and cert.number not in page
    assert "签名无效" in client.get("/verify?s=garbage").get_data(as_text=True)


def test_the_public_key_page_needs_no_login(client, app):
    page = client.get("/verify/key").get_data(as_text=True)
    pem = client.get("/verify/key.pem").data.decode()
    assert "BEGIN PUBLIC KEY" in pem and pem.strip().splitlines()[1] in page
    assert "PRIVATE" not in page and "PRIVATE" not in pem


def test_verify_is_rate_limited_per_address(app_like):
    limited = app_like(RATELIMIT_ENABLED=True, VERIFY_RATE_LIMIT="3 per minute")
    http = limited.test_client()
    codes = [http.get("/verify?number=S0000228800012630000012&name=x",
                      environ_base={"REMOTE_ADDR": "127.0.0.30"}).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    other = http.get("/verify?number=x&name=y", environ_base={"REMOTE_ADDR": "127.0.0.31"})
    assert other.status_code == 200


# ------------------------------------------------------------------------------ the institution's pages


def test_the_institution_issues_from_its_batch_page(session, client, login):
    world = CertWorld(session, n=3)
    http = login(world.admin)
    page = http.get(f"/certificates/batches/{world.batch.id}").get_data(as_text=True)
    assert "可发证 3 人" in page
    regs = world.registrations()
    resp = http.post(f"/certificates/batches/{world.batch.id}/issue", data={"registration": [regs[0].id]})
    assert resp.status_code == 302
    resp = http.post(f"/certificates/batches/{world.batch.id}/issue", data={"all": "1"}, follow_redirects=True)
    assert "已颁发 2 本证书" in resp.get_data(as_text=True)
    numbers = session.scalars(select(Certificate.number).where(Certificate.batch_id == world.batch.id)
                              .order_by(Certificate.serial)).all()
    assert [n[-6:] for n in numbers] == ["000001", "000002", "000003"]
    again = http.post(f"/certificates/batches/{world.batch.id}/issue", data={"registration": [regs[0].id]},
                      follow_redirects=True)
    assert "不能发证" in again.get_data(as_text=True)
    sheet = openpyxl.load_workbook(io.BytesIO(http.get(f"/certificates/batches/{world.batch.id}/register.xlsx").data))
    assert [r[1] for r in sheet["证书发放登记表"].iter_rows(min_row=2, values_only=True)] == list(numbers)


def test_a_bad_selection_issues_nothing(session, client, login):
    world = CertWorld(session, n=2)
    http = login(world.admin)
    resp = http.post(f"/certificates/batches/{world.batch.id}/issue", data={"registration": ["abc"]},
                     follow_redirects=True)
    assert "请选择" in resp.get_data(as_text=True)
    assert session.scalars(select(Certificate).where(Certificate.batch_id == world.batch.id)).all() == []


def test_another_institution_cannot_see_or_issue(session, client, login, world):
    other = CertWorld(session, n=1)
    http = login(other.admin)
    cert = world.certs[0]
    for url in (f"/certificates/{cert.id}", f"/certificates/{cert.id}.pdf", f"/certificates/batches/{world.batch.id}",
                f"/certificates/batches/{world.batch.id}/register.xlsx"):
        assert http.get(url).status_code == 404, url
    assert http.post(f"/certificates/batches/{world.batch.id}/issue", data={"all": "1"}).status_code == 404
    assert http.post(f"/certificates/{cert.id}/revoke", data={"reason": "x"}).status_code == 404
    listing = http.get("/certificates/?q=" + cert.number).get_data(as_text=True)
    assert f"/certificates/{cert.id}" not in listing and "暂无证书" in listing


def test_correction_and_revocation_through_the_pages(session, client, login, world):
    cert = world.certs[0]
    http = login(world.admin)
    v = cert.current
    http.post(f"/certificates/{cert.id}/correct", data={"name": "赵六", "id_type": v.id_type,
                                                        "id_number": v.id_number, "reason": "姓名错误"})
    session.refresh(cert)
    assert cert.version == 2 and cert.current.name == "赵六"
    http.post(f"/certificates/{cert.id}/revoke", data={"reason": "冒名顶替"})
    centre = login(world.centre)
    listing = centre.get("/certificates/").get_data(as_text=True)
    assert cert.number in listing and "冒名顶替" in listing
    req_id = issuance.pending_revocation(session, cert.id).id
    centre.post(f"/certificates/revocations/{req_id}", data={"decision": "approve", "note": "同意"})
    session.refresh(cert)
    assert cert.status == "revoked"


# ------------------------------------------------------------------------------ 我的证书


def test_the_candidate_sees_and_downloads_only_their_own(session, client, login, world):
    mine, theirs = world.certs
    holder = world.registrations()[0].candidate
    http = login(holder)
    page = http.get("/certificates/mine").get_data(as_text=True)
    assert mine.number in page and theirs.number not in page and "有效" in page
    resp = http.get(f"/certificates/mine/{mine.id}.pdf")
    assert resp.status_code == 200 and mine.number in pypdf.PdfReader(io.BytesIO(resp.data)).pages[0].extract_text()
    assert http.get(f"/certificates/mine/{theirs.id}.pdf").status_code == 404
    assert http.get(f"/certificates/{mine.id}.pdf").status_code == 403  # staff route
    stranger = make_user(session, Role.CANDIDATE)
    assert login(stranger).get(f"/certificates/mine/{mine.id}.pdf").status_code == 404
    assert "暂无证书" in login(stranger).get("/certificates/mine").get_data(as_text=True)


def test_the_link_in_the_qr_is_the_verify_page(app, world):
    from web.certificates import verify_link

    with app.test_request_context("/", base_url="https://skills.example.cn"):
        link = verify_link("abc.def")
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "skills.example.cn", "/verify")
    assert parse_qs(parts.query) == {"s": ["abc.def"]}
