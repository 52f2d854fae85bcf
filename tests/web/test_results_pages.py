"""成绩与认定结论 pages: results by component with missing scores marked, deciding and confirming
by name, versions with reasons, 成绩单 in Excel and PDF, 我的成绩 (nothing before release, only
one's own), re-checks, and another institution or the centre refused where they must be."""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
from sqlalchemy import func, select

from foundation.accounts import User
from foundation.audit import AuditEntry
from grading.results.models import LevelDecision, RecheckRequest
from tests.grading.results_worlds import ResultsWorld


@pytest.fixture
def w(session):
    world = ResultsWorld(session)
    world.batch_a = world.batch(world.a)
    world.regs = []
    for k, (theory, skill) in enumerate(((82, 71), (64, 45), (90, None))):
        reg = world.register(world.batch_a, world.candidate(world.a, name=f"王{'一二三'[k]}"))
        world.result(reg, "theory", "2026-09-10", theory)
        if skill is not None:
            world.result(reg, "skill", "2026-09-11", skill)
        world.regs.append(reg)
    return world


def _body(resp) -> str:
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def _user(session, reg) -> User:
    return session.get(User, reg.candidate_id)


def test_results_by_component_mark_missing_and_pending_scores(session, client, login, w):
    pending = w.register(w.batch_a, w.candidate(w.a, name="赵待"))
    w.result(pending, "theory", "2026-09-10", None, state="pending")
    login(w.admin_a)
    body = _body(client.get(f"/results/batches/{w.batch_a.id}"))
    rows = {m.group(1): m.group(2) for m in re.finditer(r'data-registration="(\d+)">(.*?)</tr>', body, re.S)}
    third = rows[str(w.regs[2].id)]
    assert re.search(r'class="rs-missing\s*" data-component="skill">\s*缺成绩', third)
    assert '<td class=" rs-pending" data-component="theory">' in rows[str(pending.id)]
    assert "待评定" in rows[str(pending.id)]
    assert ">82</span>" in rows[str(w.regs[0].id)] and ">71</span>" in rows[str(w.regs[0].id)]
    assert "本页有 2 项必考科目缺成绩" in body  # the third's skill and the pending one's skill
    body = _body(client.get(f"/results/batches/{w.batch_a.id}?q=王二"))
    assert str(w.regs[1].id) in body and f'data-registration="{w.regs[0].id}"' not in body


def test_decide_confirm_by_name_and_a_new_version_with_a_reason(session, client, login, w):
    login(w.admin_a)
    resp = client.post(f"/results/batches/{w.batch_a.id}/decide", data={})
    assert resp.status_code == 302
    assert session.scalar(select(func.count()).select_from(LevelDecision)) == 3
    body = _body(client.get(f"/results/batches/{w.batch_a.id}/decisions"))
    assert 'id="draft-count">3<' in body and "草稿·待确认" in body
    client.post(f"/results/batches/{w.batch_a.id}/confirm", data={})
    body = _body(client.get(f"/results/batches/{w.batch_a.id}/decisions"))
    assert body.count("张主任") >= 3 and 'id="draft-count">0<' in body
    # The third candidate's skill result arrives late: the confirmed decision's inputs changed.
    w.result(w.regs[2], "skill", "2026-09-18", 66)
    body = _body(client.get(f"/results/batches/{w.batch_a.id}/decisions?show=stale"))
    assert f'data-registration="{w.regs[2].id}"' in body and f'data-registration="{w.regs[0].id}"' not in body
    page = f"/results/batches/{w.batch_a.id}/registrations/{w.regs[2].id}"
    resp = client.post(page + "/redecide", data={"reason": ""}, follow_redirects=True)
    assert "须填写原因" in resp.get_data(as_text=True)
    client.post(page + "/redecide", data={"reason": "技能操作考核补录成绩"})
    body = _body(client.get(page))
    assert 'data-version="2"' in body and 'data-version="1"' in body and "技能操作考核补录成绩" in body
    draft = session.scalar(select(LevelDecision).where(LevelDecision.registration_id == w.regs[2].id,
                                                       LevelDecision.state == "draft"))
    client.post(f"/results/batches/{w.batch_a.id}/decisions/{draft.id}/confirm", data={})
    session.expire_all()
    states = session.execute(select(LevelDecision.version, LevelDecision.state, LevelDecision.outcome)
                             .where(LevelDecision.registration_id == w.regs[2].id)
                             .order_by(LevelDecision.version)).all()
    assert states == [(1, "superseded", "resit"), (2, "confirmed", "qualified")]


def test_the_candidate_sees_nothing_before_release_and_only_their_own(session, client, login, w):
    login(w.admin_a)
    client.post(f"/results/batches/{w.batch_a.id}/decide", data={})
    login(_user(session, w.regs[1]))
    body = _body(client.get("/results/mine"))
    # (scores as table cells: a bare number may be part of the page's CSRF token)
    assert "尚未发布" in body and "<td>45</td>" not in body and "待补考" not in body and "rs-reasons" not in body
    login(w.admin_a)
    draft = session.scalar(select(LevelDecision).where(LevelDecision.registration_id == w.regs[1].id))
    client.post(f"/results/batches/{w.batch_a.id}/decisions/{draft.id}/confirm", data={})
    login(_user(session, w.regs[1]))
    body = _body(client.get("/results/mine"))
    assert "待补考" in body and "张主任" in body and "未达到合格线 60 分" in body and "<td>45</td>" in body
    assert "王一" not in body and "<td>82</td>" not in body  # another candidate's results are not here
    login(_user(session, w.regs[0]))  # confirmed for the second only: the first still sees nothing
    body = _body(client.get("/results/mine"))
    assert "尚未发布" in body and "<td>82</td>" not in body and "合格" not in body


def test_a_recheck_outside_5_working_days_is_refused_and_within_is_answered(session, client, login, w):
    login(w.admin_a)
    client.post(f"/results/batches/{w.batch_a.id}/decide", data={})
    client.post(f"/results/batches/{w.batch_a.id}/confirm", data={})
    released = session.scalar(select(LevelDecision).where(LevelDecision.registration_id == w.regs[1].id))
    me = _user(session, w.regs[1])
    login(me)
    today = dt.datetime.now(dt.UTC)
    released.confirmed_at = today - dt.timedelta(days=30)  # released a month ago: the window has closed
    session.flush()
    resp = client.post(f"/results/mine/{w.regs[1].id}/recheck", data={"components": ["skill"], "details": "请复核"},
                       follow_redirects=True)
    assert "已超过期限" in resp.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(RecheckRequest)) == 0
    assert "复核申请期限已于" in _body(client.get("/results/mine"))
    released.confirmed_at = today
    session.flush()
    assert 'class="rs-recheck-form"' in _body(client.get("/results/mine"))
    client.post(f"/results/mine/{w.regs[1].id}/recheck", data={"components": ["skill"], "details": "技能分有误"})
    request = session.scalar(select(RecheckRequest))
    assert (request.components, request.details, request.state) == (["skill"], "技能分有误", "open")
    other = _user(session, w.regs[0])
    login(other)
    assert client.post(f"/results/mine/{w.regs[1].id}/recheck", data={"details": "x"}).status_code == 404
    login(w.admin_b)
    assert client.post(f"/results/batches/{w.batch_a.id}/rechecks/{request.id}/answer",
                       data={"kind": "maintained", "answer": "维持"}).status_code == 403
    login(w.admin_a)
    body = _body(client.get(f"/results/batches/{w.batch_a.id}/rechecks"))
    assert "技能分有误" in body
    client.post(f"/results/batches/{w.batch_a.id}/rechecks/{request.id}/answer",
                data={"kind": "maintained", "answer": "经核对评分记录，成绩无误。"})
    login(me)
    assert "经核对评分记录，成绩无误。" in _body(client.get("/results/mine"))


def test_another_institution_is_refused_everywhere_and_the_centre_only_reads(session, client, login, w):
    login(w.admin_a)
    client.post(f"/results/batches/{w.batch_a.id}/decide", data={})
    draft = session.scalar(select(LevelDecision).where(LevelDecision.registration_id == w.regs[0].id))
    base = f"/results/batches/{w.batch_a.id}"
    reg = f"{base}/registrations/{w.regs[0].id}"
    before = session.scalar(select(func.count()).select_from(AuditEntry).where(~AuditEntry.action.startswith("auth.")))
    login(w.admin_b)
    for path in (base, f"{base}/decisions", f"{base}/rechecks", reg, f"{base}/transcript.xlsx",
                 f"{base}/transcript.pdf", f"{reg}/transcript.xlsx", f"{reg}/transcript.pdf"):
        assert client.get(path).status_code == 403, path
    for path in (f"{base}/decide", f"{base}/confirm", f"{base}/decisions/{draft.id}/confirm", f"{reg}/redecide"):
        assert client.post(path, data={"reason": "改"}).status_code == 403, path
    assert f'data-batch="{w.batch_a.id}"' not in _body(client.get("/results/"))
    login(w.centre)
    assert f'data-batch="{w.batch_a.id}"' in _body(client.get("/results/"))
    body = _body(client.get(f"{base}/decisions"))
    assert "判定全部考生" not in body and "确认全部草稿" not in body
    assert 'id="redecide-form"' not in _body(client.get(reg))
    for path in (f"{base}/decide", f"{base}/confirm", f"{base}/decisions/{draft.id}/confirm"):
        assert client.post(path, data={}).status_code == 403
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AuditEntry)
                          .where(~AuditEntry.action.startswith("auth."))) == before
    assert session.scalar(select(LevelDecision.state).where(LevelDecision.id == draft.id)) == "draft"


def test_transcripts_in_excel_and_pdf(session, client, login, w):
    login(w.admin_a)
    client.post(f"/results/batches/{w.batch_a.id}/decide", data={})
    client.post(f"/results/batches/{w.batch_a.id}/confirm", data={})
    resp = client.get(f"/results/batches/{w.batch_a.id}/transcript.xlsx")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(resp.data))["成绩单"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("序号", "准考证号", "姓名", "证件号码", "考生类别", "评价方式")
    assert rows[0][6:8] == ("理论知识考试", "技能操作考核") and rows[0][8] == "结论"
    by_name = {r[2]: r for r in rows[1:]}
    assert by_name["王一"][6:10] == ("82", "71", "合格", "已确认")
    assert by_name["王三"][7] == "缺成绩" and by_name["王三"][8] == "待补考"
    assert by_name["王一"][3] == _user(session, w.regs[0]).id_number  # the institution's copy: full ID
    person = f"/results/batches/{w.batch_a.id}/registrations/{w.regs[1].id}/transcript.xlsx"
    cells = dict(list(openpyxl.load_workbook(io.BytesIO(client.get(person).data)).active
                      .iter_rows(values_only=True))[1:])
    assert cells["姓名"] == "王二" and cells["技能操作考核"] == "45" and cells["确认人"] == "张主任"
    assert cells["结论"].startswith("待补考（第 1 版，已确认）") and "未达到合格线" in cells["理由 2"]
    for path in (f"/results/batches/{w.batch_a.id}/transcript.pdf",
                 f"/results/batches/{w.batch_a.id}/registrations/{w.regs[1].id}/transcript.pdf"):
        resp = client.get(path)
        assert resp.status_code == 200 and resp.mimetype == "application/pdf"
        assert resp.data.startswith(b"%PDF") and b"/FontFile2" in resp.data  # the TrueType CJK font, embedded


def test_my_results_follow_the_person_across_accounts_and_institutions(session, client, login, w):
    """Two accounts of one person, one per institution, each on a batch: each account sees the
    released results of both registrations, never the other account's unreleased one."""
    first = _user(session, w.regs[1])  # 王二, institution A
    second = w.candidate(w.b, id_number=first.id_number, name=first.name)  # the same person at B
    assert second.person_id == first.person_id and second.id != first.id
    batch_b = w.batch(w.b)
    reg_b = w.register(batch_b, second)
    w.result(reg_b, "theory", "2026-10-10", 77)
    w.result(reg_b, "skill", "2026-10-11", 68)
    stranger = w.register(batch_b, w.candidate(w.b, name="孙外"))
    w.result(stranger, "theory", "2026-10-10", 93)
    w.result(stranger, "skill", "2026-10-11", 91)
    login(w.admin_b)
    client.post(f"/results/batches/{batch_b.id}/decide", data={})
    login(first)  # B's decision is a draft: A's account sees only its own registration
    body = _body(client.get("/results/mine"))
    assert f'data-registration="{reg_b.id}"' not in body and f'data-registration="{w.regs[1].id}"' in body
    login(w.admin_b)
    client.post(f"/results/batches/{batch_b.id}/confirm", data={})
    login(w.admin_a)
    client.post(f"/results/batches/{w.batch_a.id}/decide", data={})
    client.post(f"/results/batches/{w.batch_a.id}/confirm", data={})
    for account in (first, second):
        login(account)
        body = _body(client.get("/results/mine"))
        assert f'data-registration="{reg_b.id}"' in body and f'data-registration="{w.regs[1].id}"' in body
        assert "<td>77</td>" in body and "<td>45</td>" in body and w.b.name in body and w.a.name in body
        assert "<td>93</td>" not in body and "孙外" not in body  # another person's results never show
    # A re-check of the registration made by the other account is the person's to ask.
    login(first)
    resp = client.post(f"/results/mine/{reg_b.id}/recheck", data={"components": ["skill"], "details": "技能分偏低"})
    assert resp.status_code == 302
    request = session.scalar(select(RecheckRequest).where(RecheckRequest.registration_id == reg_b.id))
    assert request is not None and request.candidate_id == first.id
    login(_user(session, w.regs[0]))  # another person is refused
    assert client.post(f"/results/mine/{reg_b.id}/recheck", data={"details": "x"}).status_code == 404
