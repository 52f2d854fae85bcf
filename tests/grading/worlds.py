"""Shared setup of the grading tests (fixtures only, no tests).

``AnalysisWorld``: a paper answered by simulated candidates with stored item parameters, for
the report tests. ``make_items``, ``analyst``, ``as_imported``, ``flip_column``, ``run_now`` and
``xlsx_bytes``: calibration-service helpers. ``TwoOccupations``: analysis data of two
occupations with a reviewer assigned to one.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json

import numpy as np
import openpyxl

from foundation.roles import Role
from grading.psychometrics import calibration as cal
from grading.psychometrics import responses as rsp
from grading.psychometrics.models import CalibrationRun, ItemParameter, ResponseSet, pack_arrays
from itembank import items as item_svc
from itembank.items import ItemContent
from itembank.models import Item, ItemVersion, Paper, PaperForm, PaperItem
from tests.factories import assign, make_blueprint, make_institution, make_user, single_choice


def true_false(stem: str, key: str = "√") -> ItemContent:
    return ItemContent(stem_html=f"<p>{stem}</p>", spec={"key": key}, difficulty=0.7)
def choose_options(rng: np.random.Generator, scores: np.ndarray, key_index: int, n_options: int = 4) -> np.ndarray:
    """Choice codes: the key when correct, a uniformly random distractor when wrong."""
    distractors = np.array([k for k in range(n_options) if k != key_index])
    wrong = rng.choice(distractors, size=scores.size)
    return np.where(scores == 1, key_index, wrong).astype(np.int8)


_codes = itertools.count(1)


class AnalysisWorld:
    """A blueprint with 24 items (20 single choice keyed B, 4 true/false keyed √), two
    calibration runs of one simulated response set (2,000 examinees, complete, with 性别 and
    地区 groups and planted DIF against 女 on item 5), item parameters for both runs (the
    second current), and a two-form paper of 12 items each covering the response set.

    Item 3 is miskeyed in practice: strong examinees choose D, so D is a distractor with a
    positive option–rest correlation."""

    N = 2000
    J = 24
    DIF_ITEM = 5
    MISKEYED = 3
    FLAG = "区分度偏低（校正点二列相关 0.150，低于 0.2）"

    def __init__(self, session, *, seed: int = 7, n: int | None = None, groups: bool = True):
        rng = np.random.default_rng(seed)
        n = n or self.N
        self.centre = make_user(session, Role.CENTRE_ADMIN)
        self.writer = make_user(session, Role.QUESTION_WRITER)
        self.blueprint = make_blueprint(session, self.centre, points_per_range=3)
        points = self.blueprint.points
        self.items = []
        for k in range(self.J):
            point = points[k % len(points)]
            if k < 20:
                content = single_choice(f"分析用单选题{k}：关于设备{k}的哪项说法正确？", key="B")
                kind = "single_choice"
            else:
                content = true_false(f"分析用判断题{k}：设备{k}可以带电检修。")
                kind = "true_false"
            self.items.append(item_svc.create_item(session, self.writer, point_id=point.id, item_type=kind,
                                                   content=content))
        self.a = rng.uniform(0.9, 2.0, self.J)
        self.b = rng.uniform(-1.5, 1.5, self.J)
        self.b[self.MISKEYED] = 0.0
        self.theta = rng.normal(0.3, 1.1, n)
        sex = rng.choice(np.array(["男", "女"]), size=n)
        region = rng.choice(np.array(["长春市", "吉林市", "四平市"]), size=n)
        b_person = np.broadcast_to(self.b, (n, self.J)).copy()
        b_person[sex == "女", self.DIF_ITEM] += 1.2  # harder for 女 at equal ability
        p = 1.0 / (1.0 + np.exp(-self.a * (self.theta[:, None] - b_person)))
        scores = (rng.random((n, self.J)) < p).astype(float)
        choices = np.zeros((n, self.J), dtype=np.int8)
        for k in range(self.J):
            if k < 20:
                choices[:, k] = choose_options(rng, scores[:, k], 1)
            else:
                choices[:, k] = np.where(scores[:, k] == 1, 0, 1)
        # Item 3: the strongest wrong answerers choose D, the weakest A or C.
        wrong = scores[:, self.MISKEYED] == 0
        strong = self.theta > np.median(self.theta)
        choices[wrong & strong, self.MISKEYED] = 3
        choices[wrong & ~strong, self.MISKEYED] = rng.choice(np.array([0, 2]), size=int((wrong & ~strong).sum()))
        # A few presented-but-blank answers on item 0.
        blank = rng.random(n) < 0.02
        choices[blank, 0] = -1
        scores[blank, 0] = 0.0
        self.scores, self.choices = scores, choices
        self.sex, self.region = sex, region
        group_names = ["性别", "地区"] if groups else []
        group_array = np.stack([sex, region], axis=1).astype(str) if groups else np.zeros((n, 0), dtype=str)
        self.response_set = ResponseSet(
            name="模拟作答（测试）", source="simulation", blueprint_id=self.blueprint.id, n_examinees=n,
            n_items=self.J, item_ids_json=json.dumps([i.id for i in self.items]),
            group_names_json=json.dumps(group_names, ensure_ascii=False),
            data=pack_arrays(scores=scores.astype(np.float32), choices=choices, groups=group_array),
            created_by_id=self.centre.id,
        )
        session.add(self.response_set)
        session.flush()
        now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        self.old_run = self._run(session, now - dt.timedelta(days=30))
        self.run = self._run(session, now)
        for k, item in enumerate(self.items):
            session.add(ItemParameter(item_id=item.id, run_id=self.old_run.id, a=self.a[k] * 0.95,
                                      b=self.b[k] - 0.1, c=None, n=n, is_current=False, flags_json="[]"))
            flags = [self.FLAG] if k == self.MISKEYED else []
            session.add(ItemParameter(
                item_id=item.id, run_id=self.run.id, a=float(self.a[k]), b=float(self.b[k]), c=None, se_a=0.05,
                se_b=0.04, n=n, p_value=float(scores[:, k].mean()), point_biserial=None, sx2=12.5, sx2_df=8,
                sx2_p_adjusted=0.4, drift_b=0.1, flags_json=json.dumps(flags, ensure_ascii=False), is_current=True,
            ))
            item.irt_a, item.irt_b, item.irt_c = float(self.a[k]), float(self.b[k]), None
        session.flush()
        self.paper = self._paper(session)

    def _run(self, session, at: dt.datetime) -> CalibrationRun:
        run = CalibrationRun(response_set_id=self.response_set.id, model="2pl", status="done", progress=100,
                             stage="完成", created_by_id=self.centre.id, created_at=at, started_at=at,
                             finished_at=at, converged=True)
        session.add(run)
        session.flush()
        return run

    def analyst(self, session, role=Role.ITEM_REVIEWER):
        """A user of ``role``; a reviewer is assigned, as the centre would, this world's
        occupation for the institutions of its items and of its paper."""
        user = make_user(session, role)
        if role == Role.ITEM_REVIEWER:
            institutions = {i.institution_id for i in self.items} | {self.paper.institution_id}
            assign(session, user, self.blueprint.occupation_id, *institutions)
        return user

    def _paper(self, session) -> Paper:
        inst = make_institution(session, status="filed", code="S000022" + "880001", serial="880001")
        paper = Paper(name="分析用试卷", institution_id=inst.id, blueprint_id=self.blueprint.id, mode="type_counts",
                      layout_json=json.dumps([{"type": "single_choice", "count": 12, "points": 1.0}]),
                      duration_minutes=90, cut_theta=0.5, status="draft", created_by_id=self.centre.id)
        session.add(paper)
        session.flush()
        for f, label in enumerate("AB"):
            form = PaperForm(paper_id=paper.id, label=label)
            session.add(form)
            session.flush()
            for pos, k in enumerate(range(f * 12, f * 12 + 12), start=1):
                item = self.items[k]
                session.add(PaperItem(form_id=form.id, position=pos, item_id=item.id,
                                      item_version_id=item.current_version_id, points=1.0))
        session.flush()
        session.refresh(paper)
        return paper


def make_items(session, blueprint, n, *, status="active", pretest=(), item_type="single_choice", seed=0,
               difficulty=(0.35, 0.75)):
    """``n`` items of ``blueprint`` made directly as rows (fast), single choice with key B."""
    writer = make_user(session, Role.QUESTION_WRITER)
    rng = np.random.default_rng(seed)
    points = blueprint.points
    items = []
    for k in range(n):
        item = Item(code=f"CAL{next(_codes):05d}", point_id=points[k % len(points)].id, level=blueprint.level,
                    item_type=item_type, status=status, author_id=writer.id, is_pretest=k in pretest)
        session.add(item)
        session.flush()
        if item_type == "true_false":
            spec = {"key": "√"}
        else:
            spec = {"options": [{"label": x, "html": f"选项{x}"} for x in "ABCD"], "key": ["B"]}
        version = ItemVersion(item_id=item.id, number=1, stem_html=f"<p>试题 {k}</p>",
                              spec_json=json.dumps(spec, ensure_ascii=False),
                              difficulty=float(rng.uniform(*difficulty)), author_id=writer.id, frozen=True)
        session.add(version)
        session.flush()
        item.current_version_id = version.id
        items.append(item)
    session.flush()
    return items


def analyst(session, *blueprints, role=Role.ITEM_REVIEWER):
    """An analyst; a reviewer is assigned, as the centre would, the occupations of
    ``blueprints`` (the centre's items: ``make_items`` writes no institution)."""
    user = make_user(session, role)
    if role == Role.ITEM_REVIEWER:
        for occupation_id in {b.occupation_id for b in blueprints}:
            assign(session, user, occupation_id)
    return user


def flip_column(session, response_set, item_id):
    """Plant a miskeyed item: every presented score of ``item_id`` is reversed."""
    arrays = response_set.arrays()
    j = response_set.item_ids.index(item_id)
    scores = arrays["scores"]
    col = scores[:, j]
    scores[:, j] = np.where(np.isnan(col), np.nan, 1.0 - col)
    response_set.data = pack_arrays(**{**arrays, "scores": scores})
    session.flush()


def as_imported(session, response_set):
    """The same responses as real examinees' (an import): its calibration acts on the bank.
    A simulated set's calibration is a sandbox that changes no item."""
    response_set.source = "import"
    session.flush()
    return response_set


def run_now(session, actor, response_set, **kwargs):
    run = cal.start_run(session, actor, response_set.id, **kwargs)
    stages = []
    cal.execute_run(session, run.id, progress=lambda pct, stage: stages.append((pct, stage)))
    session.expire_all()
    return session.get(CalibrationRun, run.id), stages


def xlsx_bytes(rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


class TwoOccupations:
    def __init__(self, session):
        self.centre = make_user(session, Role.CENTRE_ADMIN)
        self.inst_a = make_institution(session)
        self.inst_b = make_institution(session)
        self.bp_x = make_blueprint(session, self.centre)
        self.bp_y = make_blueprint(session, self.centre)
        self.items_a = make_items(session, self.bp_x, 6, pretest=(5,), seed=1)
        self.items_b = make_items(session, self.bp_x, 6, pretest=(5,), seed=2)
        self.items_y = make_items(session, self.bp_y, 6, seed=3)
        for item in self.items_a:
            item.institution_id = self.inst_a.id
        for item in self.items_b:
            item.institution_id = self.inst_b.id
        for item in self.items_y:
            item.institution_id = self.inst_a.id
        session.flush()
        self.rx = make_user(session, Role.ITEM_REVIEWER)
        assign(session, self.rx, self.bp_x.occupation_id, self.inst_a.id)
        # The centre's data: a response set of each blueprint, every item in it.
        self.set_x = as_imported(session, rsp.simulate_response_set(session, self.centre, self.bp_x.id, 1500, 5,
                                                                    name="X 全部"))
        self.set_y = as_imported(session, rsp.simulate_response_set(session, self.centre, self.bp_y.id, 300, 6,
                                                                    name="Y 全部"))
        self.run_y, _ = run_now(session, self.centre, self.set_y)
        self.paper_b = self._paper(session, self.inst_b, self.items_b[:4])
        self.paper_a = self._paper(session, self.inst_a, [*self.items_a[:3], self.items_b[0]])

    def _paper(self, session, inst, items) -> Paper:
        paper = Paper(name=f"{inst.name} 试卷", institution_id=inst.id, blueprint_id=self.bp_x.id,
                      mode="type_counts",
                      layout_json=json.dumps([{"type": "single_choice", "count": len(items), "points": 1.0}]),
                      duration_minutes=90, cut_theta=0.5, status="draft", created_by_id=self.centre.id)
        session.add(paper)
        session.flush()
        form = PaperForm(paper_id=paper.id, label="A")
        session.add(form)
        session.flush()
        for pos, item in enumerate(items, start=1):
            session.add(PaperItem(form_id=form.id, position=pos, item_id=item.id,
                                  item_version_id=item.current_version_id, points=1.0))
        session.flush()
        session.refresh(paper)
        return paper
