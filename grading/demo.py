"""Demonstration results (成绩演示): one batch that has gone through every component, up to
confirmed level decisions and issued certificates.

The batch is the association's (吉林省机械工业行业协会) 焊工 二级/技师 batch
「2026年焊工技师（二级）认定（成绩演示）」, with seven of its demo candidates:

* theory (理论知识) on 2026-10-16: a locked paper of the demo bank's 焊工 level-2 blueprint
  (eight objective items and one 简答题); six candidates sit, answer and submit in the live flow
  (their attempts close and are scored by the close hook); the 简答题 is marked blind by two
  markers, and one answer whose marks differ by more than the rule goes to a third;
* skill (操作技能) that afternoon: a locked skill task with its 评分记录表, a group of three
  examiners (梁考评 the chief) who each sign a sheet per candidate; one candidate's spread is
  over the rule and the chief reconciles it with a written reason;
* 综合评审 on 2026-10-23: a complete dossier for the four who passed theory and skill, a panel of
  three (梁考评 chair), every member's score and the chair's minutes;
* a competition recognition (竞赛选拔): the seventh registration is by competition, and the
  centre's filed provincial contest (its results imported from Excel) and recognition rule
  confer 二级 on its gold medallist;
* level decisions made and confirmed by the institution admin by name (周静) on 2026-11-02,
  which releases them to the candidates: five 合格 (four by assessment, one by competition),
  one 待补考 (skill failed, one re-sit open) and one 不合格 (theory and skill both failed);
* the 合格 publicised from 2026-11-02 (five working days, no objection), submitted to the centre
  and approved on 2026-11-09 (:func:`grading.publicity.services.publicise_and_approve`);
* certificates for the 合格 issued on 2026-11-16 (:func:`_issue_demo_certificates`), so their
  numbers are fixed: the association's code + ``26`` + ``2`` + serials 000001….

Everything goes through the services, with two documented liberties: the plan is filed on the
latest day the filing rule allows before the sitting (``file_plan(today=…)``, as the exam demo
does), and the competition registration's method is set on the row (no service sets a
registration's method yet; the change is audited ``registration.method``). All dates are
fixed, so the demo reads the same whenever it is seeded.

Idempotent: a second run finds the batch (and its certificates) and adds nothing. Runs after
``foundation.demo``, ``itembank.demo`` and ``examroom.demo``.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from examroom import attempts, batches, stations, supervision
from examroom.answers import JournalEntry
from examroom.formcache import form_items
from examroom.models import Batch, BatchCandidate, ExamSession, Response
from foundation import audit
from foundation.accounts import User
from foundation.calendar import BEIJING
from foundation.institutions import Institution
from foundation.occupations import Occupation
from foundation.people import ID_TYPE_LABELS, IdType
from foundation.xlsx import append_row, new_workbook, write_header
from grading.certificates.issuance import issue_certificates
from grading.certificates.models import Certificate
from grading.publicity.models import Publicity
from grading.publicity.services import publicise_and_approve
from grading.results import competitions, decisions, dossiers, marking, panels, skill
from grading.results import theory as _theory  # noqa: F401  (registers the close hook that scores attempts)
from grading.results.competitions import IMPORT_COLUMNS, SHEET_NAME, CompetitionInput, RuleInput
from itembank import access, skill_tasks
from itembank import items as item_svc
from itembank import papers as paper_svc
from itembank.blueprints import NodeSpec, create_blueprint, replace_nodes
from itembank.items import ItemContent
from itembank.itemtypes import ExaminerScored, get_type
from itembank.models import Blueprint, Item, Paper, SkillTask

T = TypeVar("T")

__all__ = ["DEMO_RESULTS_BATCH", "DemoResults", "demo_results", "seed_results_demo"]

INSTITUTION = "吉林省机械工业行业协会"
OCCUPATION = "6-18-02-04"  # 焊工
LEVEL = 2
DEMO_RESULTS_BATCH = "2026年焊工技师（二级）认定（成绩演示）"
PAPER_NAME = "焊工二级理论知识 演示卷"
TASK_NAME = "焊工二级操作技能 演示题：Q345R 板对接仰焊"
COMPETITION_NAME = "2026年吉林省焊工职业技能大赛"

THEORY_DAY = dt.date(2026, 10, 16)  # a Friday
REVIEW_DAY = dt.date(2026, 10, 23)
DOSSIER_DAY = dt.date(2026, 10, 19)
DECIDED_ON = dt.date(2026, 11, 2)
ISSUED_ON = dt.date(2026, 11, 16)
#: The demo batch's publicity starts here (Monday): it ends on Friday 2026-11-06, is submitted and
#: approved on Monday 2026-11-09, a week before the certificates are issued.
PUBLICITY_FROM = dt.date(2026, 11, 2)
TICKET_YEAR = 2026
SEATING_SEED = 20261016

EXAMINERS = ("examiner1", "examiner2", "examiner3")  # the association's; examiner1 chief and chair
PROCTORS = ("proctor1", "proctor2")
SUPERVISOR = "supervisor3"  # the association's own
DISPATCHED = "supervisor"  # the centre's

NODES = [
    NodeSpec("A", "基本要求", None, 20),
    NodeSpec("A-A", "职业道德与安全防护", None, 20),
    NodeSpec("A-A-001", "焊接安全与劳动保护", "X", 0),
    NodeSpec("B", "相关知识", None, 80),
    NodeSpec("B-A", "焊接工艺", None, 50),
    NodeSpec("B-A-001", "焊接方法与工艺参数", "X", 0),
    NodeSpec("B-A-002", "焊接缺陷与质量检验", "X", 0),
    NodeSpec("B-B", "技术管理与培训指导", None, 30),
    NodeSpec("B-B-001", "焊接工艺评定", "X", 0),
]

# (code, point, type, stem, options or None, key)
OBJECTIVE = [
    ("HG2-001", "A-A-001", "single_choice", "焊接作业场所的有害气体中，对人体危害最大的是（　）。",
     ["一氧化碳", "二氧化碳", "氮气", "氩气"], "A"),
    ("HG2-002", "B-A-001", "single_choice", "CO₂ 气体保护焊时，焊丝伸出长度一般为焊丝直径的（　）。",
     ["3～5 倍", "10～12 倍", "20～25 倍", "30 倍以上"], "B"),
    ("HG2-003", "B-A-001", "single_choice", "Q345R 钢板焊前预热的主要目的是（　）。",
     ["提高焊接速度", "防止冷裂纹", "增大熔深", "减少飞溅"], "B"),
    ("HG2-004", "B-A-002", "single_choice", "焊缝射线检测对下列哪种缺陷最敏感（　）。",
     ["体积型缺陷（气孔、夹渣）", "表面细小裂纹", "层状撕裂", "焊缝余高过大"], "A"),
    ("HG2-005", "B-A-002", "single_choice", "产生咬边的主要原因是（　）。",
     ["焊接电流过大", "焊接电流过小", "坡口角度过大", "预热温度过高"], "A"),
    ("HG2-006", "B-B-001", "single_choice", "焊接工艺评定的目的是验证（　）。",
     ["焊工技能", "所拟定焊接工艺的正确性", "母材化学成分", "焊接设备性能"], "B"),
    ("HG2-007", "A-A-001", "true_false", "在容器内部焊接时，照明电压不得超过 12 V。", None, "√"),
    ("HG2-008", "B-A-001", "true_false", "仰焊位置焊接时应采用较大的焊接电流以提高效率。", None, "×"),
]
SHORT = ("HG2-009", "B-B-001", "简述防止低合金高强钢焊接冷裂纹的主要工艺措施。",
         "<p>选用低氢型焊材并烘干；焊前预热、控制层间温度；焊后及时后热或消氢处理；控制焊接线能量；"
         "减小拘束应力。</p>",
         [("<p>低氢焊材并按规定烘干</p>", 5), ("<p>预热并控制层间温度</p>", 5), ("<p>后热或消氢处理</p>", 5),
          ("<p>控制线能量、减小拘束应力</p>", 5)])
ANSWER_GOOD = "选用低氢焊条并烘干；焊前预热到 100～150 ℃ 并控制层间温度；焊后立即后热消氢；控制线能量，减小拘束。"
ANSWER_FAIR = "焊条要烘干，焊前预热，焊后缓冷。"
ANSWER_POOR = "注意安全，认真焊接。"

CRITERIA = [
    skill_tasks.CriterionSpec("焊前准备", "15", "坡口加工、清理、装配间隙与反变形符合要求", "每处不符合扣 3 分"),
    skill_tasks.CriterionSpec("焊缝外观", "35", "余高、宽度、咬边、成形符合 NB/T 47013 要求", "每处缺陷扣 5 分"),
    skill_tasks.CriterionSpec("内部质量", "35", "射线检测达到Ⅱ级", "Ⅲ级扣 20 分，Ⅳ级不得分"),
    skill_tasks.CriterionSpec("安全文明生产", "15", "劳保用品穿戴齐全，工位整洁", "每项违规扣 5 分"),
]


@dataclass(frozen=True)
class Plan:
    """One demo candidate: theory answers (objective items right, of 8), the 简答题 answer and
    the two (or three) markers' marks, the three examiners' skill totals, the chief's
    reconciled score with its reason (or None) and the 综合评审 scores (or None)."""

    right: int
    answer: str
    marks: tuple[str, ...]
    skill: tuple[int, int, int]
    reconcile: tuple[str, str] | None
    review: tuple[int, int, int] | None


PLANS = [
    Plan(8, ANSWER_GOOD, ("18", "17"), (86, 84, 88), None, (85, 88, 82)),
    Plan(7, ANSWER_GOOD, ("16", "11", "15"), (90, 65, 84), (
        "81", "第二位考评员未看到考生打底焊前的反变形处理，复看焊缝与射线底片后按 81 分评定。"), (78, 80, 76)),
    Plan(6, ANSWER_FAIR, ("12", "13"), (75, 78, 72), None, (72, 70, 75)),
    Plan(7, ANSWER_FAIR, ("14", "12"), (70, 68, 73), None, (80, 77, 79)),
    Plan(6, ANSWER_FAIR, ("11", "12"), (52, 55, 50), None, None),  # skill failed: 待补考
    Plan(3, ANSWER_POOR, ("3", "4"), (45, 48, 42), None, None),  # theory and skill failed: 不合格
]
COMPETITOR = len(PLANS)  # the seventh registration: by competition


@dataclass(frozen=True)
class DemoResults:
    batch: Batch
    certificates: list[Certificate]


def _one(session: Session, model: type[T], **where: object) -> T:
    row = session.scalar(select(model).filter_by(**where))
    if row is None:
        raise RuntimeError(f"demo {model.__name__} {where} missing: run `flask --app web seed demo` first")
    return row


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=BEIJING)


def demo_results(session: Session) -> DemoResults | None:
    """The demo results batch and its certificates (number order), or None before the seed."""
    batch = session.scalar(select(Batch).join(Institution, Batch.institution_id == Institution.id)
                           .where(Institution.name == INSTITUTION, Batch.name == DEMO_RESULTS_BATCH))
    if batch is None:
        return None
    certs = list(session.scalars(select(Certificate).where(Certificate.batch_id == batch.id)
                                 .order_by(Certificate.serial)))
    return DemoResults(batch, certs)


def seed_results_demo(session: Session) -> list[str]:
    """Create (or find) the demo results batch and its certificates; return lines to print."""
    found = demo_results(session)
    if found is None:
        batch = _create(session)
        found = DemoResults(batch, [])
    if not found.certificates:
        found = DemoResults(found.batch, _issue_demo_certificates(session, found.batch))
    return _lines(session, found)


# ---------------------------------------------------------------- the bank: paper and skill task


def _bank(session: Session, occupation: Occupation, institution: Institution) -> tuple[Paper, SkillTask]:
    centre = _one(session, User, username="centre")
    writer = _one(session, User, username="writer1")
    reviewer, approver = _one(session, User, username="reviewer1"), _one(session, User, username="reviewer2")
    admin = _one(session, User, username="jx_admin")
    for expert in (reviewer, approver):
        if not any(a.occupation_id == occupation.id and a.institution_id == institution.id
                   for a in access.assignments_of(session, expert.id)):
            access.assign(session, centre, expert.id, occupation_id=occupation.id, institution_id=institution.id)
    bp = _blueprint(session, centre, occupation, "theory")
    points = {n.code: n.id for n in bp.points}
    missing = sorted({point for _, point, *_ in OBJECTIVE} - set(points))
    if missing:
        raise RuntimeError(f"the 焊工 level-2 theory blueprint has no points {missing}: the results demo needs them")
    codes = []
    for code, point, kind, stem, options, key in OBJECTIVE:
        if options is None:  # 判断题: the key alone
            spec: dict[str, object] = {"key": key}
        else:
            spec = {"options": [{"label": "ABCD"[k], "html": o} for k, o in enumerate(options or [])], "key": [key]}
        codes.append(_approved_item(session, writer, reviewer, approver, centre, points[point], kind, code,
                                    ItemContent(stem_html=f"<p>{stem}</p>", spec=spec, difficulty=0.6,
                                                source="焊工国家职业技能标准（二级）")))
    code, point, stem, reference, scoring = SHORT
    codes.append(_approved_item(session, writer, reviewer, approver, centre, points[point], "short_answer", code,
                                ItemContent(stem_html=f"<p>{stem}</p>", spec={
                                    "reference_answer": reference,
                                    "scoring_points": [{"html": h, "points": p} for h, p in scoring]},
                                    difficulty=0.5, source="焊工国家职业技能标准（二级）")))
    paper = paper_svc.assemble_paper(
        session, admin, institution_id=institution.id, blueprint_id=bp.id, name=PAPER_NAME, mode="fixed",
        sections=[paper_svc.Section("single_choice", 6, 10.0), paper_svc.Section("true_false", 2, 10.0),
                  paper_svc.Section("short_answer", 1, 20.0)],
        n_forms=1, duration_minutes=90, fixed_codes=[codes])
    paper_svc.submit_paper(session, admin, paper.id)
    paper_svc.approve_paper(session, reviewer, paper.id, "试题覆盖细目表，分值合计 100 分。")

    skill_bp = _blueprint(session, centre, occupation, "skill")
    task = skill_tasks.create_task(session, writer, blueprint_id=skill_bp.id, content=skill_tasks.TaskContent(
        name=TASK_NAME, duration_minutes=120,
        prep_notice_html="<p>每个工位配备 ZX7-400 焊机、Q345R 试板（12 mm）两块、E5015 焊条，烘干箱一台。</p>",
        candidate_notice_html="<p>自带焊工防护服、面罩、手套；提前 15 分钟到达实训车间。</p>",
        task_html="<p>采用焊条电弧焊完成 Q345R 板 V 形坡口对接仰焊（单面焊双面成形），时间 120 分钟。</p>",
        criteria=CRITERIA))
    skill_tasks.submit_task(session, writer, task.id)
    skill_tasks.approve_task(session, reviewer, task.id, "评分记录表配分合计 100 分，评分标准明确。")
    return paper, task


def _blueprint(session: Session, centre: User, occupation: Occupation, mode: str) -> Blueprint:
    """The occupation's level-2 blueprint of ``mode`` (found, or created with the demo's tree)."""
    bp = session.scalar(select(Blueprint).where(Blueprint.occupation_id == occupation.id, Blueprint.level == LEVEL,
                                                Blueprint.mode == mode, Blueprint.work_type_id.is_(None)))
    if bp is None:
        bp = create_blueprint(session, centre, occupation_id=occupation.id, work_type_id=None, level=LEVEL, mode=mode)
        if mode == "theory":
            replace_nodes(session, centre, bp.id, NODES)
            session.refresh(bp)
    return bp


def _approved_item(session: Session, writer: User, reviewer: User, approver: User, centre: User, point_id: int,
                   kind: str, code: str, content: ItemContent) -> str:
    item = session.scalar(select(Item).where(Item.code == code))
    if item is None:
        item = item_svc.create_item(session, writer, point_id=point_id, item_type=kind, code=code, content=content)
        item_svc.submit_item(session, writer, item.id)
        item_svc.review_item(session, reviewer, item.id, "题干与答案无误")
        item_svc.approve_item(session, approver, item.id)
        item_svc.activate_item(session, centre, item.id)
    return code


# ---------------------------------------------------------------- the plan


def _create(session: Session) -> Batch:
    institution = _one(session, Institution, name=INSTITUTION)
    occupation = _one(session, Occupation, code=OCCUPATION)
    admin = _one(session, User, username="jx_admin")
    centre = _one(session, User, username="centre")
    examiners = [_one(session, User, username=u) for u in EXAMINERS]
    candidates = list(session.scalars(
        select(User).where(User.role == "candidate", User.institution_id == institution.id)
        .order_by(User.id).limit(COMPETITOR + 1)))
    if len(candidates) <= COMPETITOR:
        raise RuntimeError("demo candidates missing: run `flask --app web seed demo` first")
    paper, task = _bank(session, occupation, institution)

    batch = batches.create_batch(
        session, admin, institution_id=institution.id, occupation_id=occupation.id, work_type_id=None, level=LEVEL,
        name=DEMO_RESULTS_BATCH, overview="成绩演示：理论知识、操作技能、综合评审与竞赛选拔，直至证书颁发。",
        place="吉林省机械工业行业协会 焊接实训基地")
    theory_sitting = batches.add_session(session, admin, batch.id, module="theory", starts_at=_at(THEORY_DAY, 9),
                                         duration_minutes=90, paper_id=paper.id)
    room = batches.add_room(session, admin, theory_sitting.id, name="第1考场", rows=3, cols=3)
    skill_sitting = batches.add_session(session, admin, batch.id, module="skill", starts_at=_at(THEORY_DAY, 14),
                                        duration_minutes=120, place="焊接实训车间", skill_task_id=task.id)
    batches.add_session(session, admin, batch.id, module="review", starts_at=_at(REVIEW_DAY, 9),
                        duration_minutes=240, place="协会三楼答辩室")
    regs = batches.add_candidates(session, admin, batch.id, [c.id for c in candidates], ticket_year=TICKET_YEAR)
    for username in PROCTORS:
        batches.assign_staff(session, admin, batch.id, user_id=_one(session, User, username=username).id,
                             role="proctor", room_id=room.id)
    for k, examiner in enumerate(examiners):
        batches.assign_staff(session, admin, batch.id, user_id=examiner.id, role="examiner")
        batches.assign_sitting_examiner(session, admin, skill_sitting.id, user_id=examiner.id)
        batches.add_panel_member(session, admin, batch.id, user_id=examiner.id, chair=k == 0)
    batches.assign_staff(session, admin, batch.id, user_id=_one(session, User, username=SUPERVISOR).id,
                         role="supervisor")
    batches.seat_session(session, admin, theory_sitting.id, seed=SEATING_SEED)
    stations.assign_stations(session, admin, skill_sitting.id)
    stations.set_chief(session, admin, skill_sitting.id, examiners[0].id)
    batches.file_plan(session, admin, batch.id, today=batches.latest_filing_day(session, THEORY_DAY))
    batches.acknowledge_plan(session, centre, batch.id, "成绩演示批次，同意备案。")
    supervision.dispatch_supervisor(session, centre, batch.id, _one(session, User, username=DISPATCHED).id)

    competitor = regs[COMPETITOR]
    before = competitor.method
    competitor.method = "competition"  # no service sets a registration's method yet (see the docstring)
    session.flush()
    audit.record(session, admin, "registration.method", "registration", competitor.id,
                 before={"method": before}, after={"method": competitor.method})

    by_candidate = {r.candidate_id: r for r in regs}
    ordered = [by_candidate[c.id] for c in candidates]
    _sit_theory(session, theory_sitting, room.id, ordered[:COMPETITOR])
    _mark(session, theory_sitting, ordered[:COMPETITOR], examiners)
    _score_skill(session, skill_sitting, ordered[:COMPETITOR], examiners)
    _review(session, admin, ordered[:COMPETITOR], examiners)
    _competition(session, centre, occupation, candidates[COMPETITOR])
    decisions.decide_batch(session, admin, batch.id, DECIDED_ON)
    decisions.confirm_batch(session, admin, batch.id, DECIDED_ON)
    session.flush()
    return batch


# ---------------------------------------------------------------- theory: sit, submit, mark


def _sit_theory(session: Session, sitting: ExamSession, room_id: int, regs: list[BatchCandidate]) -> None:
    proctor = _one(session, User, username=PROCTORS[0])
    start = _at(THEORY_DAY, 9)
    attempts.open_room(session, proctor, room_id, start)
    for k, (reg, plan) in enumerate(zip(regs, PLANS, strict=True)):
        candidate = reg.candidate
        attempt = attempts.attempt_for_candidate(session, candidate, sitting.id)
        attempts.start_attempt(session, candidate, attempt.id, start + dt.timedelta(minutes=2 + k))
        content = form_items(session, attempt.paper_form_id)
        right = 0
        seq = 0
        for position, item in enumerate(content, start=1):
            if isinstance(get_type(item.item_type), ExaminerScored):
                value: object = plan.answer
            elif "options" not in item.spec:  # 判断题: answered √ or ×
                correct = right < plan.right
                value = item.spec["key"] if correct else ("×" if item.spec["key"] == "√" else "√")
                right += correct
            else:
                correct = right < plan.right
                key = list(item.spec["key"])[0]
                value = key if correct else next(o["label"] for o in item.spec["options"] if o["label"] != key)
                right += correct
            seq += 1
            when = start + dt.timedelta(minutes=10 + 5 * seq)
            attempts.record_response(session, candidate, attempt.id,
                                     JournalEntry(attempt.id, position, seq, value, when), when, when)
        attempts.submit_attempt(session, candidate, attempt.id, start + dt.timedelta(minutes=75 + k))


def _mark(session: Session, sitting: ExamSession, regs: list[BatchCandidate], examiners: list[User]) -> None:
    admin = _one(session, User, username="jx_admin")
    for examiner in examiners:
        marking.assign_marker(session, admin, sitting.id, examiner.id)
    marked_at = _at(THEORY_DAY + dt.timedelta(days=1), 9)
    for reg, plan in zip(regs, PLANS, strict=True):
        attempt = attempts.attempt_for_candidate(session, reg.candidate, sitting.id)
        position = next(p for p, item in enumerate(form_items(session, attempt.paper_form_id), start=1)
                        if isinstance(get_type(item.item_type), ExaminerScored))
        response = session.scalar(select(Response).where(Response.attempt_id == attempt.id,
                                                         Response.position == position))
        assert response is not None
        for n, points in enumerate(plan.marks):
            marking.submit_mark(session, examiners[n], response.id, points, marked_at + dt.timedelta(minutes=n))


# ---------------------------------------------------------------- skill: three sheets, one reconciliation


def _marks(task: SkillTask, total: int) -> dict[str, str]:
    """Marks adding up to ``total``, each criterion losing its share of the deduction."""
    lost = Decimal(100 - total)
    out: dict[str, str] = {}
    left = lost
    for k, criterion in enumerate(task.criteria):
        points = Decimal(str(criterion.points))
        share = left if k == len(task.criteria) - 1 else min(points, (lost * points / 100).quantize(Decimal(1)))
        share = min(share, points)
        left -= share
        out[str(criterion.id)] = f"{points - share:f}"
    return out


def _score_skill(session: Session, sitting: ExamSession, regs: list[BatchCandidate], examiners: list[User]) -> None:
    task = skill.task_of(sitting)
    for reg, plan in zip(regs, PLANS, strict=True):
        for examiner, total in zip(examiners, plan.skill, strict=True):
            sheet = skill.open_sheet(session, examiner, sitting.id, reg.id)
            notes = {} if total >= 80 else {str(task.criteria[1].id): "焊缝成形不均匀，局部咬边"}
            skill.sign_sheet(session, examiner, sheet.id, marks=_marks(task, total), notes=notes,
                             comment="按评分记录表逐项评定。")
        if plan.reconcile is not None:
            score, reason = plan.reconcile
            skill.reconcile(session, examiners[0], sitting.id, reg.id, score=score, reason=reason)


# ---------------------------------------------------------------- 综合评审


def _review(session: Session, admin: User, regs: list[BatchCandidate], examiners: list[User]) -> None:
    chair = examiners[0]
    for reg, plan in zip(regs, PLANS, strict=True):
        if plan.review is None:
            continue
        dossiers.save_dossier(session, admin, reg.id, dossiers.DossierInput(
            products="主持完成 LNG 储罐 9Ni 钢环缝焊接，一次合格率 98.6%。",
            problems_solved="解决了厚板仰焊根部未焊透问题，制定了反变形与预热工艺卡。",
            tasks="年度完成压力容器焊接任务 42 台套。",
            innovation="改进焊条保温筒加热方式，获公司技术革新二等奖。",
            mentoring="带徒 4 名，其中 3 名取得焊工三级证书。",
            attester_name="王建国", attester_position="焊接车间主任",
            attestation="该同志业绩材料属实，技术过硬，同意推荐参加技师评审。",
            attested_on=dt.date(2026, 9, 30)), today=DOSSIER_DAY)
        for member, score in zip(examiners, plan.review, strict=True):
            panels.score_review(session, member, reg.id, "review", score=str(score),
                                comment="答辩条理清楚，能结合实例说明工艺措施。", today=REVIEW_DAY)
        panels.record_minutes(session, chair, reg.id, "review", held_on=REVIEW_DAY, place="协会三楼答辩室",
                              duration_minutes=40, today=REVIEW_DAY, record=(
                                  "考生陈述业绩 15 分钟；专家提问：厚板仰焊的层间温度控制、9Ni 钢焊材选择、"
                                  "带徒培训方法。考生回答正确、完整。专家组意见：业绩突出，同意通过综合评审。"))
        panels.finalise(session, chair, reg.id, "review", today=REVIEW_DAY)


# ---------------------------------------------------------------- 竞赛选拔


def _results_sheet(candidate: User) -> bytes:
    """The contest's results as the centre would upload them (the import's own layout)."""
    workbook, sheet = new_workbook(SHEET_NAME)
    write_header(sheet, IMPORT_COLUMNS)
    append_row(sheet, [ID_TYPE_LABELS[IdType.RESIDENT_ID], candidate.id_number, candidate.name, 1, "金牌", None,
                       "职工"])
    buf = io.BytesIO()
    workbook.save(buf)  # an upload, not an export (foundation.xlsx.workbook_bytes is for exports)
    return buf.getvalue()


def _competition(session: Session, centre: User, occupation: Occupation, candidate: User) -> None:
    contest = competitions.create_competition(session, centre, CompetitionInput(
        name=COMPETITION_NAME, competition_class="省级一类", organiser="吉林省人力资源和社会保障厅",
        occupation_id=occupation.id, starts_on=dt.date(2026, 9, 8), ends_on=dt.date(2026, 9, 10), filed=True,
        filing_no="吉人社竞备〔2026〕7号"))
    competitions.import_results(session, centre, contest.id, _results_sheet(candidate))
    if not any(r.competition_class == "省级一类" and r.max_rank == 3 and r.conferred_level == LEVEL
               for r in competitions.rules(session)):
        competitions.add_rule(session, centre, RuleInput(competition_class="省级一类", criterion="rank", value="3",
                                                         conferred_level=LEVEL, contestant_type="职工"))


# ---------------------------------------------------------------- certificates


def _issue_demo_certificates(session: Session, batch: Batch) -> list[Certificate]:
    """Publicise the demo batch's 合格 (公示 from 2026-11-02, five working days without objection),
    submit to the centre and have it approved, then issue the certificates on ``ISSUED_ON``: the
    chain issuance requires (:func:`grading.certificates.eligibility.chain_problems`)."""
    admin = _one(session, User, username="jx_admin")
    if session.scalar(select(Publicity.id).where(Publicity.batch_id == batch.id)) is None:
        publicise_and_approve(session, admin, _one(session, User, username="centre"), batch.id,
                              start_on=PUBLICITY_FROM)
    return issue_certificates(session, admin, batch.id, None, today=ISSUED_ON)


# ---------------------------------------------------------------- what `seed demo` prints


def _lines(session: Session, found: DemoResults) -> list[str]:
    batch = found.batch
    current = decisions.current_decisions(session, [r.id for r in batch.candidates])
    counts: dict[str, int] = {}
    for item in current.values():
        if item.confirmed is not None:
            counts[item.confirmed.outcome] = counts.get(item.confirmed.outcome, 0) + 1
    labels = {"qualified": "合格", "failed": "不合格", "resit": "待补考", "held": "暂缓"}
    outcome = "，".join(f"{labels.get(k, k)} {v} 人" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    regs = sorted(batch.candidates, key=lambda r: r.ticket_no)
    first = regs[0]
    lines = [
        f"成绩演示：批次「{batch.name}」（编号 {batch.id}）理论知识、操作技能、综合评审、竞赛选拔均已评定，"
        f"结论已由 jx_admin 确认发布：{outcome}。",
        # a login row as the others print them (role label, login, note): the login test reads them
        f"  考生  {first.ticket_no} / {first.candidate.id_number}  成绩演示考生 {first.candidate.name}："
        "准考证号 / 身份证号码登录，查看「我的成绩」与证书",
    ]
    if found.certificates:
        cert = found.certificates[0]
        lines.append(f"演示证书编号 {cert.number}，持证人 {cert.person.name}："
                     f"在 /verify 输入证书编号和姓名即可查验（共颁发 {len(found.certificates)} 张）")
    return lines
