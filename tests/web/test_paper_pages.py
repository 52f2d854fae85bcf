"""The paper pages (试卷 / 组卷 / 试卷库): builder, detail with coverage and curves, workflow,
object-level access and the list."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from foundation.institutions import ScopeEntry
from foundation.roles import Role
from itembank import papers as svc
from itembank.blueprints import create_blueprint
from itembank.models import Paper
from tests.factories import assign, make_blueprint, make_institution, make_user
from tests.itembank.worlds import Bank, _paper

NEW = "/itembank/papers/new"


@pytest.fixture(scope="module")
def bank(module_session):
    """Built once for the module; each test runs in a savepoint of it (tests/conftest.py)."""
    return Bank(module_session)


def _assembled(session, client, resp) -> Paper:
    """The builder queues the assembly job (run in the request under JOBS_INLINE) and goes to
    its page, which links to the new paper once the job is done."""
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert re.fullmatch(r"/jobs/\d+", resp.headers["Location"]), resp.headers["Location"]
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    paper = session.scalars(select(Paper).order_by(Paper.id.desc())).first()
    assert paper is not None and f'id="job-paper" href="/itembank/papers/{paper.id}"' in html, html[-3000:]
    assert "组卷完成" in html and "已完成" in html
    return paper


def _builder_data(bank: Bank, **overrides):
    data = {
        "institution_id": str(bank.inst.id),
        "blueprint_id": str(bank.bp.id),
        "name": "电工四级理论知识试卷",
        "mode": "blueprint",
        "section_type": ["single_choice", "true_false", ""],
        "section_count": ["3", "3", ""],
        "section_points": ["1", "1", ""],
        "n_forms": "2",
        "duration_minutes": "120",
        "cut_theta": "0",
        "tif_tolerance": "",
        "scale_to_100": "y",  # 6 points a form
    }
    data.update(overrides)
    return data


def _select(html: str, name: str) -> str:
    found = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert found, f"no select {name}"
    return found.group(1)


def _count_papers(session) -> int:
    return session.scalar(select(func.count()).select_from(Paper))


def _assert_csp_clean(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert " style=" not in html and "<style" not in html, "inline style"


def _coverage_cells(html: str, code: str) -> list[str]:
    row = re.search(rf'<tr class="[^"]*" data-code="{re.escape(code)}">(.*?)</tr>', html, re.S)
    assert row, f"no coverage row for {code}"
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


# ---------------------------------------------------------------- builder


def test_builder_prefills_the_national_layout_and_lists_scoped_blueprints(session, client, login, bank):
    elsewhere = make_blueprint(session, bank.centre)  # another occupation, outside the scope
    skill = create_blueprint(session, bank.centre, occupation_id=bank.bp.occupation_id, work_type_id=None,
                             level=4, mode="skill")  # in scope, but not a theory blueprint
    too_high = create_blueprint(session, bank.centre, occupation_id=bank.bp.occupation_id, work_type_id=None,
                                level=2, mode="theory")  # the scope stops at level 3
    login(bank.admin)
    resp = client.get(NEW)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    _assert_csp_clean(html)
    options = re.findall(r'<option value="(\d+)"', _select(html, "blueprint_id"))
    assert options == [str(bank.bp.id)]
    assert not {str(elsewhere.id), str(skill.id), str(too_high.id)} & set(options)
    assert bank.inst.name in html
    assert 'value="160"' in html and 'value="40"' in html and 'value="0.5"' in html
    assert '<strong data-total-items>200</strong>' in html and '<strong data-total-points>100</strong>' in html
    assert 'value="120"' in html  # duration default
    assert "js/paper_charts.js" in html


def test_builder_says_so_when_no_blueprint_is_in_scope(session, client, login):
    inst = make_institution(session, status="filed", code="S000022990009", serial="990009")
    admin = make_user(session, Role.INSTITUTION_ADMIN, institution=inst)
    login(admin)
    html = client.get(NEW).get_data(as_text=True)
    assert "备案评价范围内还没有理论知识细目表" in html
    assert 'id="paper-builder"' not in html


def test_centre_chooses_the_institution_first(session, client, login, bank):
    login(bank.centre)
    html = client.get(NEW).get_data(as_text=True)
    assert "请先选择为哪个评价机构组卷" in html and 'id="paper-builder"' not in html
    html = client.get(NEW, query_string={"institution_id": bank.inst.id}).get_data(as_text=True)
    assert 'id="paper-builder"' in html
    assert re.findall(r'<option value="(\d+)"', _select(html, "blueprint_id")) == [str(bank.bp.id)]


def test_institution_admin_assembles_two_forms_and_sees_coverage_and_curves(session, client, login, bank):
    login(bank.admin)
    other = make_institution(session, status="filed", code="S000022990003", serial="990003")
    resp = client.post(NEW, data=_builder_data(bank, institution_id=str(other.id)))  # fixed to their own
    paper = _assembled(session, client, resp)
    assert paper.institution_id == bank.inst.id and paper.created_by_id == bank.admin.id
    assert [f.label for f in paper.forms] == ["A", "B"] and all(len(f.items) == 6 for f in paper.forms)

    resp = client.get(f"/itembank/papers/{paper.id}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    _assert_csp_clean(html)
    assert "卷 A" in html and "卷 B" in html and "按细目表比重" in html
    assert 'id="blueprint-coverage"' in html
    for code in ("A", "B"):  # each top range weighs 50 %: 3 of 6 items in each form
        cells = _coverage_cells(html, code)
        assert cells[2] == "50%" and cells[3] == "3" and cells[4:] == ["3", "3"]
    first = paper.forms[0].items[0]
    assert first.item.code in html and "第 1 版" in html
    assert "求解状态" in html and "MIP 间隙" in html
    assert f'data-curves-url="/itembank/papers/{paper.id}/curves.json"' in html
    assert "题干摘要" not in html and "/itembank/items/" not in html  # codes only, not item content
    assert "提交审核" in html and "删除试卷" in html and "审核通过并锁定" not in html

    resp = client.get(f"/itembank/papers/{paper.id}/curves.json")
    assert resp.status_code == 200 and resp.is_json
    curves = resp.get_json()
    assert set(curves["forms"]) == {"A", "B"} and len(curves["theta"]) == 81
    assert max(curves["forms"]["A"]["tif"]) > 0 and curves["cut_theta"] == 0
    assert "key" not in resp.get_data(as_text=True)


def test_infeasible_layout_shows_the_chinese_reason_and_saves_nothing(session, client, login, bank):
    login(bank.admin)
    before = _count_papers(session)
    data = _builder_data(bank, section_type=["single_choice"], section_count=["30"], section_points=["1"],
                         n_forms="1")
    resp = client.post(NEW, data=data)
    assert resp.status_code == 302 and "/jobs/" in resp.headers["Location"]  # found by the solver, in the job
    page = client.get(resp.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "失败" in html and 'id="job-paper"' not in html
    assert re.search(r'data-job-message class="error">[^<]*(需要|无解|只有)', html), html
    assert _count_papers(session) == before


def test_builder_refuses_bad_numbers_in_chinese(session, client, login, bank):
    login(bank.admin)
    before = _count_papers(session)
    resp = client.post(NEW, data=_builder_data(bank, duration_minutes="两小时"))
    assert resp.status_code == 400 and "考试时长应为整数" in resp.get_data(as_text=True)
    resp = client.post(NEW, data=_builder_data(bank, section_type=["", ""], section_count=["", ""],
                                               section_points=["", ""]))
    assert resp.status_code == 400 and "试卷至少需要一种题型" in resp.get_data(as_text=True)
    resp = client.post(NEW, data=_builder_data(bank, name=""))
    assert resp.status_code == 400 and "请填写试卷名称" in resp.get_data(as_text=True)
    assert _count_papers(session) == before


def test_fixed_mode_through_the_builder(session, client, login, bank):
    login(bank.centre)
    codes = [i.code for i in bank.items if i.item_type == "true_false"][:2]
    data = _builder_data(bank, mode="fixed", section_type=["true_false"], section_count=["2"],
                         section_points=["2"], n_forms="1", fixed_A="\n".join(codes))
    paper = _assembled(session, client, client.post(NEW, data=data))
    assert sorted(pi.item.code for pi in paper.forms[0].items) == sorted(codes)
    html = client.get(f"/itembank/papers/{paper.id}").get_data(as_text=True)
    assert "固定试卷" in html and "题干摘要" in html  # centre staff see stem excerpts
    before = _count_papers(session)
    resp = client.post(NEW, data=_builder_data(bank, mode="fixed", n_forms="1", fixed_A=""))
    assert resp.status_code == 400 and "固定试卷请为卷 A 填写试题编码" in resp.get_data(as_text=True)
    assert _count_papers(session) == before


# ---------------------------------------------------------------- workflow


def test_submit_then_a_reviewer_approves_and_the_paper_is_locked(session, app, client, login, bank):
    paper = bank.assemble(session, n_forms=1)
    paper_id = paper.id
    login(bank.admin)
    resp = client.post(f"/itembank/papers/{paper_id}/action", data={"action": "submit"})
    assert resp.status_code == 302
    session.refresh(paper)
    assert paper.status == "submitted"

    login(bank.r1)
    html = client.get("/itembank/papers").get_data(as_text=True)
    assert "待您审核" in html and "有 <strong>1</strong> 套试卷等待您审核" in html
    html = client.get(f"/itembank/papers/{paper_id}").get_data(as_text=True)
    assert "审核通过并锁定" in html and "退回修改" in html and "题干摘要" in html
    if "bank.item_detail" in app.view_functions:  # reviewers can follow an item to its page
        assert f'href="/itembank/items/{paper.forms[0].items[0].item_id}"' in html
    resp = client.post(f"/itembank/papers/{paper_id}/action", data={"action": "approve", "comment": "结构合理"})
    assert resp.status_code == 302
    session.refresh(paper)
    assert paper.status == "locked" and paper.approved_by_id == bank.r1.id and paper.locked_at is not None
    html = client.get(f"/itembank/papers/{paper_id}").get_data(as_text=True)
    assert "已审核锁定" in html and bank.r1.name in html and "结构合理" in html
    assert "审核通过并锁定</button>" not in html and "删除试卷" not in html

    login(bank.admin)  # a locked paper cannot be deleted
    resp = client.post(f"/itembank/papers/{paper_id}/action", data={"action": "delete"})
    assert resp.status_code == 400 and "只能删除草稿或退回的试卷" in resp.get_data(as_text=True)
    assert session.get(Paper, paper_id) is not None


def test_return_needs_a_comment_then_delete(session, client, login, bank):
    paper = bank.assemble(session, n_forms=1)
    svc.submit_paper(session, bank.admin, paper.id)
    login(bank.r2)
    resp = client.post(f"/itembank/papers/{paper.id}/action", data={"action": "return", "comment": ""})
    assert resp.status_code == 400 and "退回时必须填写审核意见" in resp.get_data(as_text=True)
    resp = client.post(f"/itembank/papers/{paper.id}/action", data={"action": "return", "comment": "判断题偏易"})
    assert resp.status_code == 302
    session.refresh(paper)
    assert paper.status == "returned"
    login(bank.admin)
    html = client.get(f"/itembank/papers/{paper.id}").get_data(as_text=True)
    assert "退回修改" in html and "判断题偏易" in html and "删除试卷" in html
    paper_id = paper.id
    resp = client.post(f"/itembank/papers/{paper_id}/action", data={"action": "delete"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/itembank/papers")
    session.expire_all()
    assert session.get(Paper, paper_id) is None


def test_the_assembler_cannot_approve(session, client, login, bank):
    paper = bank.assemble(session, bank.centre, n_forms=1)
    svc.submit_paper(session, bank.centre, paper.id)
    login(bank.centre)
    html = client.get(f"/itembank/papers/{paper.id}").get_data(as_text=True)
    assert "本试卷由您组卷，须由其他审核人员审核" in html and 'id="paper-review"' not in html
    resp = client.post(f"/itembank/papers/{paper.id}/action", data={"action": "approve"})
    assert resp.status_code == 400 and "组卷人不能审核本人组的试卷" in resp.get_data(as_text=True)
    session.refresh(paper)
    assert paper.status == "submitted"
    login(bank.admin)  # institution admins never approve
    assert client.post(f"/itembank/papers/{paper.id}/action", data={"action": "approve"}).status_code == 403
    assert client.post(f"/itembank/papers/{paper.id}/action", data={"action": "bogus"}).status_code == 400
    session.refresh(paper)
    assert paper.status == "submitted"


# ---------------------------------------------------------------- access


def test_another_institutions_admin_gets_403(session, client, login, bank):
    paper = bank.assemble(session, n_forms=1)
    outsider = make_user(session, Role.INSTITUTION_ADMIN)
    login(outsider)
    assert client.get(f"/itembank/papers/{paper.id}").status_code == 403
    assert client.get(f"/itembank/papers/{paper.id}/curves.json").status_code == 403
    assert client.post(f"/itembank/papers/{paper.id}/action", data={"action": "submit"}).status_code == 403
    assert paper.name not in client.get("/itembank/papers").get_data(as_text=True)
    session.refresh(paper)
    assert paper.status == "draft"


@pytest.mark.parametrize("role", [Role.CANDIDATE, Role.PROCTOR, Role.QUESTION_WRITER, Role.EXAMINER,
                                  Role.SUPERVISOR])
def test_other_roles_get_403_on_every_paper_page(session, client, login, bank, role):
    paper = bank.assemble(session, n_forms=1)
    user = make_user(session, role, institution=bank.inst) if role in (Role.CANDIDATE, Role.PROCTOR,
                                                                       Role.EXAMINER) else make_user(session, role)
    login(user)
    for url in ("/itembank/papers", NEW, f"/itembank/papers/{paper.id}", f"/itembank/papers/{paper.id}/curves.json"):
        assert client.get(url).status_code == 403, url
    assert client.post(NEW, data=_builder_data(bank)).status_code == 403
    assert client.post(f"/itembank/papers/{paper.id}/action", data={"action": "submit"}).status_code == 403


def test_reviewers_cannot_open_the_builder(session, client, login, bank):
    login(bank.r1)
    assert client.get(NEW).status_code == 403


def test_anonymous_is_sent_to_login(client, bank):
    resp = client.get("/itembank/papers")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_missing_paper_is_404(client, login, bank):
    login(bank.centre)
    assert client.get("/itembank/papers/999999").status_code == 404


# ---------------------------------------------------------------- list


def test_list_search_filters_scope_and_pagination(session, client, login, bank, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    second_bp = make_blueprint(session, bank.centre)
    session.add(ScopeEntry(institution_id=bank.inst.id, occupation_id=second_bp.occupation_id, lowest_level=5,
                           highest_level=3))
    other_inst = make_institution(session, status="filed", code="S000022990004", serial="990004")
    other_admin = make_user(session, Role.INSTITUTION_ADMIN, institution=other_inst)
    assign(session, bank.r1, bank.bp.occupation_id, other_inst.id)  # the reviewer covers both institutions
    assign(session, bank.r1, second_bp.occupation_id, bank.inst.id)
    _paper(session, bank, name="电工甲卷", status="draft")
    _paper(session, bank, name="电工乙卷", status="submitted")
    _paper(session, bank, name="电工丙卷", status="locked")
    _paper(session, bank, name="钳工卷", status="submitted", blueprint=second_bp)
    _paper(session, bank, name="外机构卷", status="submitted", institution=other_inst, created_by=other_admin)
    _paper(session, bank, name="审核员自组卷", status="submitted", created_by=bank.r1)

    login(bank.admin)
    html = client.get("/itembank/papers").get_data(as_text=True)
    assert "共 5 条" in html and "外机构卷" not in html  # only their own institution's papers
    assert 'href="/itembank/papers?page=2"' in html
    html = client.get("/itembank/papers", query_string={"page": 3}).get_data(as_text=True)
    assert html.count('data-paper="') == 1
    html = client.get("/itembank/papers", query_string={"q": "电工"}).get_data(as_text=True)
    assert "共 3 条" in html and "钳工卷" not in html
    html = client.get("/itembank/papers", query_string={"status": "submitted"}).get_data(as_text=True)
    assert "共 3 条" in html
    html = client.get("/itembank/papers", query_string={"blueprint": second_bp.id}).get_data(as_text=True)
    assert "共 1 条" in html and "钳工卷" in html
    html = client.get("/itembank/papers", query_string={"q": "100%_"}).get_data(as_text=True)
    assert "共 0 条" in html  # LIKE wildcards are taken literally
    assert "等待您审核" not in html and "组卷" in html

    login(bank.r1)
    html = client.get("/itembank/papers", query_string={"page": 1}).get_data(as_text=True)
    assert "共 6 条" in html and "有 <strong>3</strong> 套试卷等待您审核" in html
    html = client.get("/itembank/papers", query_string={"review": 1}).get_data(as_text=True)
    assert "共 3 条" in html and "审核员自组卷" not in html
    html = client.get("/itembank/papers", query_string={"institution": other_inst.id}).get_data(as_text=True)
    assert "共 1 条" in html and "外机构卷" in html
    assert 'href="/itembank/papers/new"' not in html  # reviewers do not assemble


def test_a_paper_not_out_of_100_says_so_and_can_declare_its_scaling(session, client, login, bank):
    paper = bank.assemble(session, n_forms=1, scale_to_100=False)  # 12 points a form
    login(bank.admin)
    html = client.get(f"/itembank/papers/{paper.id}").get_data(as_text=True)
    assert 'id="paper-marks-problem"' in html and "满分为 12 分" in html
    assert 'value="scale"' in html and 'value="unscale"' not in html
    resp = client.post(f"/itembank/papers/{paper.id}/action", data={"action": "submit"}, follow_redirects=True)
    assert resp.status_code == 400 and "满分为 12 分" in resp.get_data(as_text=True)
    session.refresh(paper)
    assert paper.status == "draft"
    assert client.post(f"/itembank/papers/{paper.id}/action", data={"action": "scale"}).status_code == 302
    session.refresh(paper)
    assert paper.scale_to_100 is True
    html = client.get(f"/itembank/papers/{paper.id}").get_data(as_text=True)
    assert "（成绩按百分制折算）" in html and 'id="paper-marks-problem"' not in html and 'value="unscale"' in html
    assert client.post(f"/itembank/papers/{paper.id}/action", data={"action": "submit"}).status_code == 302
    login(bank.r1)
    assert client.post(f"/itembank/papers/{paper.id}/action", data={"action": "unscale"}).status_code == 403


def test_the_builder_declares_the_scaling(session, client, login, bank):
    login(bank.admin)
    data = {k: v for k, v in _builder_data(bank).items() if k != "scale_to_100"}
    paper = _assembled(session, client, client.post("/itembank/papers/new", data=data))
    assert paper.scale_to_100 is False
    resp = client.post("/itembank/papers/new", data={**data, "name": "折算卷", "scale_to_100": "y"})
    assert _assembled(session, client, resp).scale_to_100 is True
