"""The skill scoring pages: drafts as JSON with the page's revision, blind sheets until all have
signed (route), the chief's reconciliation without a reason refused, the board, statistics."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from grading.results import skill as svc
from grading.results.models import ComponentResult, ScoreSheet
from tests.examroom.worlds import SkillDay


@pytest.fixture
def day(session):
    return SkillDay(session)


def _sheet_url(day, k=0):
    return f"/skill/sittings/{day.sitting.id}/candidates/{day.registrations[k].id}"


def _open(session, client, login, day, examiner, k=0):
    login(examiner)
    page = client.get(_sheet_url(day, k))
    assert page.status_code == 200
    return session.scalar(select(ScoreSheet).where(ScoreSheet.examiner_id == examiner.id,
                                                   ScoreSheet.registration_id == day.registrations[k].id))


def _form(day, total, comment=""):
    return {f"mark_{key}": value for key, value in day.full(total).items()} | {"comment": comment}


def test_the_sheet_page_saves_drafts_and_ignores_an_older_one(session, client, login, day):
    sheet = _open(session, client, login, day, day.examiners[0])
    url = f"/skill/sheets/{sheet.id}/draft"
    first = str(day.task.criteria[0].id)
    resp = client.post(url, json={"marks": {first: "20"}, "notes": {first: "漏接地线"}, "comment": "", "revision": 4})
    assert resp.status_code == 200 and resp.get_json() == {"saved": True, "revision": 4, "total": None}
    resp = client.post(url, json={"marks": {first: "5"}, "notes": {}, "comment": "", "revision": 2})
    assert resp.get_json()["saved"] is False
    session.refresh(sheet)
    assert sheet.marks == {first: "20.0"} and sheet.notes == {first: "漏接地线"}
    resp = client.post(url, json={"marks": {first: "30"}, "notes": {}, "comment": "", "revision": 5})
    assert resp.status_code == 400 and "0 到 25" in resp.get_json()["error"]
    page = client.get(_sheet_url(day)).get_data(as_text=True)
    assert 'id="sync-state"' in page and "score_sheet.js" in page and "漏接地线" in page  # the draft comes back


def test_another_examiner_cannot_open_a_sheet_before_all_have_signed(session, client, login, day):
    a, b, c = day.examiners
    draft = _open(session, client, login, day, a)
    signed = _open(session, client, login, day, b)
    assert client.post(f"/skill/sheets/{signed.id}/sign", data=_form(day, 80)).status_code == 302
    for reader, sheet in ((a, signed), (b, draft), (c, signed), (c, draft)):
        login(reader)
        assert client.get(f"/skill/sheets/{sheet.id}").status_code == 403
        assert client.post(f"/skill/sheets/{sheet.id}/draft", json={"marks": {}, "notes": {}, "revision": 99}
                           ).status_code == 404
    login(day.world.admin)
    assert client.get(f"/skill/sheets/{signed.id}").status_code == 403
    board = client.get(f"/skill/sittings/{day.sitting.id}").get_data(as_text=True)
    assert "全组签名前不显示" in board and "80.0" not in board
    login(a)
    assert client.post(f"/skill/sheets/{draft.id}/sign", data=_form(day, 70)).status_code == 302
    _open(session, client, login, day, c)
    sheet_c = session.scalar(select(ScoreSheet).where(ScoreSheet.examiner_id == c.id))
    client.post(f"/skill/sheets/{sheet_c.id}/sign", data=_form(day, 75))
    login(a)
    assert "80.0" in client.get(f"/skill/sheets/{signed.id}").get_data(as_text=True)
    login(day.world.admin)
    board = client.get(f"/skill/sittings/{day.sitting.id}").get_data(as_text=True)
    assert "成绩 75.0 分" in board


def test_the_chief_reconciles_on_the_board_and_a_missing_reason_is_refused(session, client, login, day):
    for examiner, total in zip(day.examiners, (55, 70, 72), strict=True):
        sheet = _open(session, client, login, day, examiner)
        assert client.post(f"/skill/sheets/{sheet.id}/sign", data=_form(day, total)).status_code == 302
    login(day.chief)
    board = client.get(f"/skill/sittings/{day.sitting.id}").get_data(as_text=True)
    assert "待组长复核" in board and "提交复核" in board
    url = f"/skill/sittings/{day.sitting.id}/candidates/{day.registrations[0].id}/reconcile"
    resp = client.post(url, data={"score": "68", "reason": ""}, follow_redirects=True)
    assert "复核须填写书面理由" in resp.get_data(as_text=True)
    result = session.scalar(select(ComponentResult).where(ComponentResult.registration_id == day.registrations[0].id))
    assert result.state == "pending"
    login(day.examiners[1])
    assert client.post(url, data={"score": "68", "reason": "理由"}, follow_redirects=True).status_code == 403
    login(day.chief)
    client.post(url, data={"score": "68", "reason": "复看录像，第一位考评员误判了接线顺序。"})
    session.refresh(result)
    assert (result.state, result.score) == ("scored", Decimal("68.0"))


def test_statistics_page_for_the_institution(session, client, login, day):
    for k, totals in enumerate(((60, 70, 80), (64, 72, 80))):
        for examiner, total in zip(day.examiners, totals, strict=True):
            sheet = svc.open_sheet(session, examiner, day.sitting.id, day.registrations[k].id)
            svc.sign_sheet(session, examiner, sheet.id, marks=day.full(total), notes={}, comment="")
    login(day.world.admin)
    page = client.get("/skill/statistics").get_data(as_text=True)
    assert "ICC(2,1)" in page and "echarts.min.js" in page
    assert "-9.00" in page and "+9.00" in page  # (−10 − 8) / 2 and (10 + 8) / 2
    login(day.examiners[0])
    assert client.get("/skill/statistics").status_code == 403
    assert day.world.centre.role == "centre_admin"


def test_the_batch_page_sets_the_chief_and_stations_and_shows_the_task(session, client, login, day):
    login(day.world.admin)
    base = f"/batches/{day.batch.id}/sessions/{day.sitting.id}"
    page = client.get(f"/batches/{day.batch.id}").get_data(as_text=True)
    assert day.task.name in page and "工位（2）" in page and "组长" in page
    resp = client.post(f"{base}/chief", data={"user_id": str(day.examiners[1].id)}, follow_redirects=True)
    assert "为考评组组长" in resp.get_data(as_text=True)
    session.expire_all()
    assert [row.is_chief for row in day.sitting.examiners] == [False, True, False]
    resp = client.post(f"{base}/stations", follow_redirects=True)
    assert "分配工位" in resp.get_data(as_text=True)
    resp = client.post(f"{base}/skill-task", data={"skill_task_id": str(day.task.id)}, follow_redirects=True)
    assert "不能再修改计划" in resp.get_data(as_text=True)  # the plan is filed and acknowledged
    svc.open_sheet(session, day.examiners[0], day.sitting.id, day.registrations[0].id)
    resp = client.post(f"{base}/stations", follow_redirects=True)
    assert "已开始评分" in resp.get_data(as_text=True)
    login(day.examiners[0])
    assert client.post(f"{base}/chief", data={"user_id": str(day.examiners[0].id)}).status_code == 403


def test_my_score_sheets_list_the_examiners_own_sheets_only(session, client, login, day):
    a, b, _ = day.examiners
    draft = _open(session, client, login, day, a, k=0)
    signed = _open(session, client, login, day, a, k=1)
    assert client.post(f"/skill/sheets/{signed.id}/sign", data=_form(day, 77)).status_code == 302
    other = _open(session, client, login, day, b, k=0)
    login(a)
    assert "/skill/mine" in client.get("/skill/").get_data(as_text=True)
    page = client.get("/skill/mine").get_data(as_text=True)
    assert f'data-sheet="{draft.id}"' in page and f'data-sheet="{signed.id}"' in page
    assert f'data-sheet="{other.id}"' not in page
    assert "继续评分" in page and "已签名" in page and f"/skill/sheets/{signed.id}" in page
    assert day.registrations[0].candidate.name in page
    login(b)
    page = client.get("/skill/mine").get_data(as_text=True)
    assert f'data-sheet="{other.id}"' in page and f'data-sheet="{signed.id}"' not in page
