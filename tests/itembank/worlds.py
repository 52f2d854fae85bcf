"""Shared setup of the item-bank tests (fixtures only, no tests).

``AccessWorld``: a bank shared by two institutions, for the access tests (services and pages).
Institutions A and B each have writers and two reviewers assigned to (电工, own institution);
each has an active 电工 item with an image, a submitted one, and a paper (A's locked, B's
submitted). A second occupation has its own blueprint and an item of A.

``Bank``: approved items on every point of a blueprint, for assembly and papers; ``_paper``
makes a paper row without forms. ``approved_item``; the item-workbook helpers ``xlsx``,
``single``, ``ALL_TYPES``.
"""

from __future__ import annotations

import io
import itertools
import json
from typing import Any

import openpyxl
from PIL import Image
from sqlalchemy.orm import Session

from foundation.institutions import ScopeEntry
from foundation.roles import Role
from itembank import access, papers, skill_tasks
from itembank import item_excel as xl
from itembank import items as item_svc
from itembank.images import image_url, store_image
from itembank.items import ItemContent
from itembank.models import Blueprint, BlueprintNode, Item, Paper, PaperForm, PaperItem
from itembank.papers import Section
from tests.examroom.worlds import World
from tests.factories import assign, make_blueprint, make_institution, make_user, single_choice

_colours = itertools.count(1)


def png() -> bytes:
    buf = io.BytesIO()
    n = next(_colours)
    Image.new("RGB", (8, 6), (n % 256, (n * 7) % 256, (n * 13) % 256)).save(buf, format="PNG")
    return buf.getvalue()


class AccessWorld:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.centre = make_user(session, Role.CENTRE_ADMIN)
        self.bp = make_blueprint(session, self.centre)
        self.other_bp = make_blueprint(session, self.centre)
        self.inst = {k: make_institution(session) for k in "AB"}  # papers are made directly: no filing needed
        self.admin = {k: make_user(session, Role.INSTITUTION_ADMIN, institution=i) for k, i in self.inst.items()}
        self.writer = {k: make_user(session, Role.QUESTION_WRITER, institution=i) for k, i in self.inst.items()}
        self.colleague = {k: make_user(session, Role.QUESTION_WRITER, institution=i) for k, i in self.inst.items()}
        self.reviewers = {k: (make_user(session, Role.ITEM_REVIEWER), make_user(session, Role.ITEM_REVIEWER))
                          for k in "AB"}
        for k, pair in self.reviewers.items():
            for reviewer in pair:
                access.assign(session, self.centre, reviewer.id, occupation_id=self.bp.occupation_id,
                              institution_id=self.inst[k].id)
                access.assign(session, self.centre, reviewer.id, occupation_id=self.other_bp.occupation_id,
                              institution_id=self.inst[k].id)
        self.proctor = make_user(session, Role.PROCTOR, institution=self.inst["A"])
        self.examiner = make_user(session, Role.EXAMINER, institution=self.inst["A"])
        self.supervisor = make_user(session, Role.SUPERVISOR)
        self.image = {}
        self.active = {}
        self.submitted = {}
        self.paper = {}
        for k in "AB":
            self.image[k] = store_image(session, self.writer[k], png(), f"{k}.png")
            self.active[k] = self._item(k, f"<p>机构{k}的启用试题？<img src=\"{image_url(self.image[k])}\"></p>")
            self._approve(self.active[k], k)
            item_svc.activate_item(session, self.centre, self.active[k].id)
            self.submitted[k] = self._item(k, f"<p>机构{k}等待审题的试题？</p>")
            self.paper[k] = self._paper(k, self.active[k])
        self.paper["A"].status = "locked"
        self.paper["B"].status = "submitted"
        self.other_item = item_svc.create_item(
            session, self.writer["A"], point_id=self.other_bp.points[0].id, item_type="true_false",
            content=ItemContent("<p>另一职业的试题。</p>", {"key": "√"}))
        session.flush()

    def reviewer(self, k: str) -> object:
        return self.reviewers[k][0]

    def _item(self, k: str, stem: str) -> Item:
        spec = {"options": [{"label": x, "html": f"选项{x}"} for x in "ABCD"], "key": ["B"]}
        item = item_svc.create_item(self.session, self.writer[k], point_id=self.bp.points[0].id,
                                    item_type="single_choice", content=ItemContent(stem, spec, difficulty=0.6))
        item_svc.submit_item(self.session, self.writer[k], item.id)
        return item

    def _approve(self, item: Item, k: str) -> None:
        first, second = self.reviewers[k]
        item_svc.review_item(self.session, first, item.id)
        item_svc.approve_item(self.session, second, item.id)

    def _paper(self, k: str, item: Item) -> Paper:
        paper = Paper(name=f"机构{k}的试卷", institution_id=self.inst[k].id, blueprint_id=self.bp.id,
                      mode="type_counts", layout_json='[{"type": "single_choice", "count": 1, "points": 1.0}]',
                      created_by_id=self.admin[k].id, status="draft", scale_to_100=True)
        paper.forms.append(PaperForm(label="A", items=[PaperItem(position=1, item_id=item.id,
                                                                 item_version_id=item.current_version_id,
                                                                 points=1.0)]))
        self.session.add(paper)
        self.session.flush()
        return paper


def true_false(stem: str) -> ItemContent:
    return ItemContent(stem_html=f"<p>{stem}</p>", spec={"key": "√"}, difficulty=0.7)


class Bank:
    def __init__(self, session, *, per_point: int = 4):
        self.centre = make_user(session, Role.CENTRE_ADMIN)
        self.bp = make_blueprint(session, self.centre, points_per_range=3)  # 6 points, ranges A and B at 50 %
        occupation_id = self.bp.occupation_id
        self.inst = make_institution(session, status="filed", code="S000022" + "990001", serial="990001")
        session.add(ScopeEntry(institution_id=self.inst.id, occupation_id=occupation_id, lowest_level=5,
                               highest_level=3))
        self.admin = make_user(session, Role.INSTITUTION_ADMIN, institution=self.inst)
        self.writer = make_user(session, Role.QUESTION_WRITER)
        self.r1, self.r2 = make_user(session, Role.ITEM_REVIEWER), make_user(session, Role.ITEM_REVIEWER)
        for reviewer in (self.r1, self.r2):  # the centre's items and the institution's papers
            assign(session, reviewer, occupation_id, None, self.inst.id)
        self.items = []
        for p, point in enumerate(self.bp.points):
            for k in range(per_point):
                content = (single_choice(f"第{p}点单选{k}：关于设备{p * 10 + k}的说法哪项正确？")
                           if k % 2 == 0 else true_false(f"第{p}点判断{k}：设备{p * 10 + k}可以带电检修。"))
                kind = "single_choice" if k % 2 == 0 else "true_false"
                item = item_svc.create_item(session, self.writer, point_id=point.id, item_type=kind, content=content)
                item_svc.submit_item(session, self.writer, item.id)
                item_svc.review_item(session, self.r1, item.id)
                item_svc.approve_item(session, self.r2, item.id)
                item_svc.activate_item(session, self.centre, item.id)
                self.items.append(item)

    def assemble(self, session, actor=None, **kw):
        args = {"institution_id": self.inst.id, "blueprint_id": self.bp.id, "name": "电工四级理论A卷",
                "mode": "blueprint", "sections": [Section("single_choice", 6, 1.0), Section("true_false", 6, 1.0)],
                "scale_to_100": True}  # 12 points: scores scaled to 100, as a real paper must declare
        args.update(kw)
        return papers.assemble_paper(session, actor or self.admin, **args)


def approved_item(session, point_id, *, stem="三相交流电的相序是什么？"):
    writer = make_user(session, Role.QUESTION_WRITER)
    first, second = make_user(session, Role.ITEM_REVIEWER), make_user(session, Role.ITEM_REVIEWER)
    occupation_id = session.get(BlueprintNode, point_id).blueprint.occupation_id
    assign(session, first, occupation_id)
    assign(session, second, occupation_id)
    item = item_svc.create_item(session, writer, point_id=point_id, item_type="single_choice",
                                content=single_choice(stem))
    item_svc.submit_item(session, writer, item.id)
    item_svc.review_item(session, first, item.id)
    item_svc.approve_item(session, second, item.id)
    return item


COLUMNS = xl.IMPORT_COLUMNS


def single(code: str = "", stem: str = "安全用电的基本原则是什么？", point: str = "A-A-001", **extra: Any) -> dict:
    return {"试题编码": code, "题型": "单选题", "鉴定点编码": point, "题干": stem, "选项A": "不接触低压带电体",
            "选项B": "不靠近高压带电体", "选项C": "以上都对", "选项D": "以上都不对", "答案": "C", **extra}


def xlsx(rows: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS, sheet: str = xl.SHEET_NAME) -> bytes:
    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.title = sheet
    ws.append(list(columns))
    for values in rows:
        ws.append([values.get(c, "") for c in columns])
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # typed as text, as a user would with a leading apostrophe
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


ALL_TYPES = [
    single("Q-001", 难度="中", 解析="依据安全规程。", 来源="国家职业技能标准"),
    {"试题编码": "Q-002", "题型": "多选题", "鉴定点编码": "A-A-001", "题干": "下列属于安全电压等级的有（  ）。",
     "选项A": "42 V", "选项B": "36 V", "选项C": "24 V", "选项D": "220 V", "选项E": "380 V", "答案": "A、B、C",
     "难度": 0.6, "计分规则": "少选得分 0.5"},
    {"试题编码": "Q-003", "题型": "判断", "鉴定点编码": "A-A-002", "题干": "测量电阻前必须断开被测电路的电源。",
     "答案": "√", "难度": "易"},
    {"试题编码": "Q-004", "题型": "fill_in", "鉴定点编码": "A-A-002",
     "题干": "欧姆定律的表达式是______，民用交流电电压是______伏。", "答案": "I=U/R｜I = U/R；220|220V",
     "计分规则": "不分顺序"},
    {"试题编码": "Q-005", "题型": "简答题", "鉴定点编码": "A-A-003", "题干": "简述触电急救的基本步骤。\n（不少于三点）",
     "答案": "脱离电源；判断意识；心肺复苏。", "评分要点": "脱离电源（2分）\n判断伤员状况（1分）；心肺复苏（2分）"},
    {"试题编码": "Q-006", "题型": "计算题", "鉴定点编码": "A-A-003",
     "题干": "电阻两端电压 220 V，电流 2 A，求阻值 \\(R\\)。", "答案": "\\(R = U/I = 110\\,\\Omega\\)"},
    {"试题编码": "Q-007", "题型": "论述题", "鉴定点编码": "B-A-001", "题干": "<p>论述接地与接零保护的区别。</p>",
     "答案": "<p>接地保护……</p><p>接零保护……</p>", "计分规则": "字数上限 3000", "难度": "难"},
]


def _paper(session, bank: Bank, *, name: str, status: str = "draft", blueprint=None, institution=None,
           created_by=None) -> Paper:
    """A paper row without forms, for list tests (assembly is covered elsewhere)."""
    paper = Paper(name=name, institution_id=(institution or bank.inst).id, blueprint_id=(blueprint or bank.bp).id,
                  mode="type_counts", layout_json=json.dumps([{"type": "true_false", "count": 10, "points": 1.0}]),
                  duration_minutes=120, cut_theta=0.0, status=status,
                  created_by_id=(created_by or bank.admin).id)
    session.add(paper)
    session.flush()
    return paper


def content(points=("40", "30", "20", "10"), **kw):
    rows = [skill_tasks.CriterionSpec(f"评分要素{k}", p, "操作规范、结果正确", "每错一处扣 2 分")
            for k, p in enumerate(points, 1)]
    values = {"name": "照明电路安装", "duration_minutes": 120, "prep_notice_html": "<p>每个工位配备工具一套。</p>",
              "candidate_notice_html": "<p>考生自带劳保鞋。</p>", "task_html": "<p>按图完成照明电路的安装与调试。</p>",
              "criteria": rows}
    values.update(kw)
    return skill_tasks.TaskContent(**values)


class SkillBank:
    """A filed institution (World) with a level-4 skill blueprint of its occupation, a question
    writer of the institution and an item reviewer assigned to (occupation, institution)."""

    def __init__(self, session):
        self.session = session
        w = self.world = World(session)
        self.bp = Blueprint(occupation_id=w.occupation.id, level=4, mode="skill", name="电工四级操作技能")
        session.add(self.bp)
        session.flush()
        self.writer = make_user(session, Role.QUESTION_WRITER, institution=w.inst)
        self.reviewer = make_user(session, Role.ITEM_REVIEWER)
        assign(session, self.reviewer, w.occupation.id, w.inst.id)

    def task(self, **kw):
        return skill_tasks.create_task(self.session, self.writer, blueprint_id=self.bp.id, content=content(**kw))

    def locked(self):
        task = self.task()
        skill_tasks.submit_task(self.session, self.writer, task.id)
        return skill_tasks.approve_task(self.session, self.reviewer, task.id, "同意")
