"""Publicity pages: the public list and entries without login (searchable, masked), objections
from the public page with a receipt and the answer looked up by it, bad input refused in Chinese
with nothing written, the rate limit; the institution's pages scoped to its own institution; the
centre alone reviews, and the institution issues once the centre approved."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
from sqlalchemy import func, select

from foundation.calendar import beijing_date
from foundation.db import utcnow
from grading.certificates.models import Certificate
from grading.publicity import services
from grading.publicity.models import Objection, Publicity, Submission
from tests.grading.certificate_worlds import CertWorld


def fresh(session, n=2):
    """A world whose batch has confirmed 合格 decisions and no publicity yet."""
    world = CertWorld(session, n=0)
    world.batch = world.make_batch(n=n, qualified=False)
    for reg in world.registrations():
        world.confirm(reg, "qualified")
    return world


def today():
    return beijing_date(utcnow())


def open_now(session, world):
    """Opened today; open today even when today is a rest day (the period would start on the next
    working day): the dates are moved so that the test does not depend on the day it runs."""
    pub = services.open_publicity(session, world.admin, world.batch.id, today())
    pub.starts_on = today()
    for e in pub.entries:
        e.starts_on = today()
    session.flush()
    return pub


def test_the_public_sees_open_publicities_without_login_masked_and_searchable(session, client):
    world = fresh(session)
    pub = open_now(session, world)
    person = world.registrations()[0].candidate.person
    resp = client.get("/publicity")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert pub.title in page
    assert pub.title in client.get(f"/publicity?q={world.occupation.name}").get_data(as_text=True)
    assert pub.title not in client.get("/publicity?q=没有这个职业").get_data(as_text=True)
    detail = client.get(f"/publicity/{pub.id}").get_data(as_text=True)
    assert person.name not in detail and person.id_number not in detail
    assert pub.entries[0].name_masked in detail and pub.entries[0].id_masked in detail
    assert "提出异议" in detail
    found = client.get(f"/publicity/{pub.id}?name={person.name}").get_data(as_text=True)
    assert pub.entries[0].id_masked in found and pub.entries[1].id_masked not in found
    assert client.get("/publicity/999999").status_code == 404


def test_an_objection_from_the_public_page_gets_a_receipt_and_the_answer_by_it(session, client, login):
    world = fresh(session)
    pub = open_now(session, world)
    entry = pub.entries[0]
    form = client.get(f"/publicity/entries/{entry.id}/object").get_data(as_text=True)
    assert "异议人姓名" in form
    resp = client.post(f"/publicity/entries/{entry.id}/object", data={
        "objector_name": "王五", "contact": "13800000000", "text": "该考生实际未参加操作技能考核。<b>x</b>"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "回执号" in page
    objection = session.scalar(select(Objection).where(Objection.entry_id == entry.id))
    assert objection is not None and objection.receipt in page
    answer = client.get(f"/publicity/receipt?receipt={objection.receipt}").get_data(as_text=True)
    assert "调查处理中" in answer and "王五" not in answer
    http = login(world.admin)
    admin_page = http.get(f"/publicity/manage/{pub.id}").get_data(as_text=True)
    assert objection.receipt in admin_page and "&lt;b&gt;x&lt;/b&gt;" in admin_page  # plain text, escaped
    resp = http.post(f"/publicity/manage/objections/{objection.id}/answer",
                     data={"outcome": "dismissed", "answer": "经核查，该考生按时参加了考核。"})
    assert resp.status_code == 302
    http.post("/logout")
    answer = client.get(f"/publicity/receipt?receipt={objection.receipt}").get_data(as_text=True)
    assert "异议不成立" in answer and "经核查，该考生按时参加了考核。" in answer
    assert "未查询到" in client.get("/publicity/receipt?receipt=YYNOTHING").get_data(as_text=True)


def test_bad_objections_are_refused_in_chinese_and_nothing_is_written(session, client):
    world = fresh(session)
    pub = open_now(session, world)
    entry = pub.entries[0]
    before = session.scalar(select(func.count()).select_from(Objection))
    text = "足够长的异议内容文字。"
    for data, message in (({"objector_name": "", "contact": "13800000000", "text": text}, "请填写异议人姓名"),
                          ({"objector_name": "王五", "contact": "1", "text": text}, "联系方式至少 5 个字"),
                          ({"objector_name": "王五", "contact": "13800000000", "text": "短"}, "异议内容至少 10 个字")):
        page = client.post(f"/publicity/entries/{entry.id}/object", data=data).get_data(as_text=True)
        assert message in page
    assert session.scalar(select(func.count()).select_from(Objection)) == before
    assert client.post("/publicity/entries/999999/object", data={}).status_code == 404


def test_objections_are_rate_limited_per_address(app_like):
    limited = app_like(RATELIMIT_ENABLED=True, OBJECTION_RATE_LIMIT="2 per minute")
    http = limited.test_client()
    codes = [http.post("/publicity/entries/999999/object", data={},
                       environ_base={"REMOTE_ADDR": "127.0.0.40"}).status_code for _ in range(4)]
    assert codes == [404, 404, 429, 429]
    assert http.get("/publicity/entries/999999/object",
                    environ_base={"REMOTE_ADDR": "127.0.0.40"}).status_code == 404  # reading is not limited
    assert http.post("/publicity/entries/999999/object", data={},
                     environ_base={"REMOTE_ADDR": "127.0.0.41"}).status_code == 404


def test_the_institution_opens_a_publicity_from_its_page(session, client, login):
    world = fresh(session)
    http = login(world.admin)
    page = http.get("/publicity/manage").get_data(as_text=True)
    assert world.batch.name in page and "发布公示" in page
    resp = http.post("/publicity/manage/open", data={"batch_id": world.batch.id, "start_on": "2020-01-01"})
    assert resp.status_code == 302
    assert "不能早于今天" in http.get("/publicity/manage").get_data(as_text=True)
    resp = http.post("/publicity/manage/open", data={"batch_id": world.batch.id, "start_on": today().isoformat()})
    pub = session.scalar(select(Publicity).where(Publicity.batch_id == world.batch.id))
    assert pub is not None and resp.headers["Location"].endswith(f"/publicity/manage/{pub.id}")
    assert len(pub.entries) == 2


def test_institution_pages_are_scoped_to_its_own_institution(session, client, login):
    world = fresh(session)
    other = fresh(session)
    pub = open_now(session, world)
    o = services.submit_objection(session, pub.entries[0].id, "王五", "13800000000", "足够长的异议内容文字。",
                                  today=pub.starts_on)
    sub = other.clear()
    http = login(world.admin)
    assert http.get(f"/publicity/manage/{pub.id}").status_code == 200
    assert http.get(f"/publicity/submissions/{sub.id}").status_code == 404
    assert http.get(f"/publicity/submissions/{sub.id}.xlsx").status_code == 404
    assert http.post("/publicity/manage/open", data={"batch_id": other.batch.id,
                                                     "start_on": today().isoformat()}).status_code == 404
    http = login(other.admin)
    assert http.get(f"/publicity/manage/{pub.id}").status_code == 404
    assert http.post(f"/publicity/manage/objections/{o.id}/answer",
                     data={"outcome": "dismissed", "answer": "x"}).status_code == 404
    assert http.post(f"/publicity/manage/{pub.id}/submit", data={}).status_code == 404
    session.expire_all()
    assert o.status == "pending"
    assert pub.title not in http.get("/publicity/manage").get_data(as_text=True)


def test_the_centre_reviews_returns_named_entries_and_approval_lets_the_institution_issue(session, client, login):
    world = fresh(session, n=2)
    pub = services.open_publicity(session, world.admin, world.batch.id, dt.date(2026, 11, 2),
                                  today=dt.date(2026, 11, 2))
    http = login(world.admin)
    resp = http.post(f"/publicity/manage/{pub.id}/submit", data={"note": ""})
    assert resp.status_code == 302
    sub = session.scalar(select(Submission).where(Submission.publicity_id == pub.id))
    assert sub is not None and sub.due_on == dt.date(2026, 11, 20)
    queue = http.get("/publicity/submissions").get_data(as_text=True)
    assert "逾期" in queue  # submitted after 2026-11-20: flagged to the institution …
    assert http.post(f"/publicity/submissions/{sub.id}/review", data={"decision": "approve"}).status_code == 403
    page = http.get(f"/certificates/batches/{world.batch.id}").get_data(as_text=True)
    assert "成绩及证书数据尚未经省中心审核通过" in page
    centre = login(world.centre)
    assert "逾期" in centre.get("/publicity/submissions").get_data(as_text=True)  # … and to the centre
    first, second = sub.entries
    centre.post(f"/publicity/submissions/{sub.id}/review",
                data={"decision": "return", f"reason-{second.id}": "证件号码与档案不符。"})
    session.expire_all()
    assert (first.status, second.status, sub.status) == ("pending", "returned", "returned")
    http = login(world.admin)
    http.post(f"/publicity/manage/{pub.id}/submit", data={"note": "已核对证件号码。"})
    session.expire_all()
    assert (first.status, second.status, sub.status) == ("pending", "pending", "submitted")
    wb = login(world.centre).get(f"/publicity/submissions/{sub.id}.xlsx")
    assert wb.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(wb.data)).sheetnames == ["人员", "成绩", "认定结论", "证书信息", "说明"]
    login(world.centre).post(f"/publicity/submissions/{sub.id}/review", data={"decision": "approve"})
    session.expire_all()
    assert sub.status == "approved"
    http = login(world.admin)
    resp = http.post(f"/certificates/batches/{world.batch.id}/issue", data={"all": "1"})
    assert resp.status_code == 302
    assert session.scalar(select(func.count()).select_from(Certificate).where(
        Certificate.batch_id == world.batch.id)) == 2
