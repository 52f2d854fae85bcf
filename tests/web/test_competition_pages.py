"""Competition pages (竞赛选拔): the centre files a competition, imports its results (all or
nothing, with the row report on the page), edits recognition rules; lists search and page."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from foundation.roles import Role
from grading.results.models import Competition, CompetitionEntry, CompetitionRule
from tests.factories import make_occupation, make_user, valid_id_number
from tests.grading.panel_worlds import results_xlsx


@pytest.fixture
def centre(session):
    return make_user(session, Role.CENTRE_ADMIN)


FORM = {"name": "2026年吉林省焊工技能大赛", "competition_class": "省级一类", "organiser": "吉林省人社厅",
        "starts_on": "2026-06-10", "ends_on": "2026-06-12", "filing_no": ""}


def test_the_centre_files_a_competition_and_imports_its_results(session, client, login, centre):
    occupation = make_occupation(session)
    login(centre)
    assert "请选择" in client.get("/competitions/new").get_data(as_text=True)
    bad = client.post("/competitions/new", data={**FORM, "occupation_id": str(occupation.id), "filed": "y"})
    assert bad.status_code == 400 and "须填写备案编号" in bad.get_data(as_text=True)
    bad = client.post("/competitions/new", data={**FORM, "occupation_id": str(occupation.id), "ends_on": "6/12"})
    assert bad.status_code == 400 and "年-月-日" in bad.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Competition)) == 0
    resp = client.post("/competitions/new", data={**FORM, "occupation_id": str(occupation.id)})
    assert resp.status_code == 302
    competition = session.scalar(select(Competition))
    assert not competition.filed
    rows = [("居民身份证", valid_id_number(601), "李明", 1, "金牌", None, "职工"),
            ("居民身份证", valid_id_number(602), "赵丽", None, None, None, "学生")]
    resp = client.post(f"/competitions/{competition.id}/import", data={
        "file": (io.BytesIO(results_xlsx(rows)), "成绩.xlsx")}, content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "import-errors" in body and "第 3 行" in body and "至少填写一项" in body
    assert session.scalar(select(func.count()).select_from(CompetitionEntry)) == 0
    resp = client.post(f"/competitions/{competition.id}/import", data={
        "file": (io.BytesIO(results_xlsx(rows[:1])), "成绩.xlsx")}, content_type="multipart/form-data")
    assert resp.status_code == 302
    body = client.get(f"/competitions/{competition.id}").get_data(as_text=True)
    assert "李明" in body and "金牌" in body and valid_id_number(601) not in body  # the ID shown masked
    assert "未备案" in body
    resp = client.post(f"/competitions/{competition.id}/edit", data={
        **FORM, "occupation_id": str(occupation.id), "filed": "y", "filing_no": "吉人社竞备〔2026〕5号"})
    session.refresh(competition)
    assert resp.status_code == 302 and competition.filed and competition.filing_no == "吉人社竞备〔2026〕5号"
    listing = client.get("/competitions/?filed=1&q=焊工").get_data(as_text=True)
    assert FORM["name"] in listing and "已备案" in listing
    assert FORM["name"] not in client.get("/competitions/?filed=0").get_data(as_text=True)
    template = client.get("/competitions/template")
    assert template.status_code == 200 and template.data[:2] == b"PK"


def test_competition_pages_are_the_centres(session, client, login):
    admin = make_user(session, Role.INSTITUTION_ADMIN)
    login(admin)
    for url in ("/competitions/", "/competitions/rules", "/competitions/new"):
        assert client.get(url).status_code == 403


def test_the_centre_edits_the_recognition_rules(session, client, login, centre):
    login(centre)
    bad = client.post("/competitions/rules", data={"competition_class": "省级一类", "criterion": "rank", "value": "0",
                                                   "conferred_level": "2"})
    assert bad.status_code == 400 and "名次应为正整数" in bad.get_data(as_text=True)
    resp = client.post("/competitions/rules", data={"competition_class": "省级一类", "criterion": "rank",
                                                    "value": "10", "contestant_type": "职工", "current_level": "3",
                                                    "conferred_level": "2"})
    assert resp.status_code == 302
    body = client.get("/competitions/rules").get_data(as_text=True)
    assert "省级一类竞赛前 10 名的职工选手（现有三级/高级工）认定为二级/技师" in body
    rule = session.scalar(select(CompetitionRule))
    assert client.post(f"/competitions/rules/{rule.id}/delete").status_code == 302
    assert session.scalar(select(func.count()).select_from(CompetitionRule)) == 0
    assert client.post(f"/competitions/rules/{rule.id}/delete").status_code == 404


def test_the_list_pages(session, client, login, centre, app):
    occupation = make_occupation(session)
    size = app.config["PAGE_SIZE"]
    for k in range(size + 3):
        session.add(Competition(name=f"竞赛{k:03d}", competition_class="市级一类", organiser="长春市人社局",
                                occupation_id=occupation.id, starts_on=dt.date(2026, 1, 1 + k % 28),
                                ends_on=dt.date(2026, 2, 1 + k % 28), filed=False))
    session.flush()
    login(centre)
    first = client.get("/competitions/").get_data(as_text=True)
    second = client.get("/competitions/?page=2").get_data(as_text=True)
    assert first.count('data-competition="') == size and second.count('data-competition="') == 3
    assert f"共 {size + 3} 条" in first
