"""Shared setup of the exam-room tests (fixtures only, no tests).

``World``: a filed institution with scope on one occupation, a blueprint, a locked paper and
the people of a batch; ``at`` makes Beijing times. ``Exam``: a planned, seated and acknowledged
sitting with two rooms (``ITEMS`` is its paper; e2e journeys replace it before building one).
Also the candidate-sheet helpers (``xlsx``, ``ident``, ``gender``) and ``statements``, a counter
of SQL statements. ``_serial`` and ``_codes`` number the data; tests/e2e/seeding.py moves them
to a block of its own per child process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
import json
from collections.abc import Iterator

import openpyxl
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from examroom import attempts, batches
from examroom import candidate_import as imp
from examroom.answers import JournalEntry
from examroom.models import (
    Batch,
    BatchCandidate,
    BatchModule,
    BatchStaff,
    BatchStep,
    ExamSession,
    ReviewPanelMember,
    Room,
    Seat,
    SittingCandidate,
    SittingExaminer,
)
from foundation.audit import AuditEntry
from foundation.calendar import seed_calendar
from foundation.institutions import ScopeEntry
from foundation.roles import Role
from itembank.itemtypes import get_type
from itembank.models import Blueprint, Item, ItemVersion, Paper, PaperForm, PaperItem, SkillCriterion, SkillTask
from tests.factories import make_blueprint, make_institution, make_user, valid_id_number

BEIJING = dt.timezone(dt.timedelta(hours=8))


_serial = itertools.count(1)


def at(day: str, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour, minute), tzinfo=BEIJING)


def counts(session) -> dict[str, int]:
    models = (Batch, BatchModule, ExamSession, Room, Seat, BatchCandidate, BatchStaff, BatchStep, SittingExaminer,
              SittingCandidate, ReviewPanelMember, AuditEntry)
    return {m.__name__: session.scalar(select(func.count()).select_from(m)) for m in models}


class World:
    """A filed institution with scope 五级–三级 on one occupation, a level-4 theory blueprint of
    it, a locked two-form paper, an institution admin, candidates, proctors, examiners and a
    supervisor; the 2026 calendar seeded."""

    def __init__(self, session):
        seed_calendar(session)
        self.centre = make_user(session, Role.CENTRE_ADMIN)
        self.bp = make_blueprint(session, self.centre, level=4)
        self.occupation = self.bp.occupation
        n = next(_serial)
        self.inst = make_institution(session, status="filed", code=f"S000022{880000 + n:06d}",
                                     serial=f"{880000 + n:06d}")
        session.add(ScopeEntry(institution_id=self.inst.id, occupation_id=self.occupation.id,
                               lowest_level=5, highest_level=3))
        session.flush()
        session.refresh(self.inst)
        self.admin = make_user(session, Role.INSTITUTION_ADMIN, institution=self.inst)
        self.paper = self.make_paper(session)
        self.session = session

    def make_paper(self, session, *, status="locked", blueprint=None):
        paper = Paper(name=f"理论试卷{next(_serial)}", institution_id=self.inst.id,
                      blueprint_id=(blueprint or self.bp).id, mode="blueprint", layout_json="[]",
                      duration_minutes=90, status=status, created_by_id=self.admin.id,
                      locked_at=dt.datetime(2026, 9, 1, tzinfo=dt.UTC) if status == "locked" else None)
        paper.forms = [PaperForm(label="A"), PaperForm(label="B")]
        session.add(paper)
        session.flush()
        return paper

    def skill_task(self, *, status="locked", level=4):
        """A skill task of the world's occupation at ``level`` (its skill blueprint made on first
        use), written by a question writer of the institution: four criteria of 25 points."""
        bp = self.session.scalar(select(Blueprint).where(Blueprint.occupation_id == self.occupation.id,
                                                         Blueprint.level == level, Blueprint.mode == "skill"))
        if bp is None:
            bp = Blueprint(occupation_id=self.occupation.id, level=level, mode="skill", name=f"操作技能细目表{level}")
            self.session.add(bp)
            self.session.flush()
        writer = make_user(self.session, Role.QUESTION_WRITER, institution=self.inst)
        task = SkillTask(name=f"技能试题{next(_serial)}", blueprint_id=bp.id, institution_id=self.inst.id,
                         duration_minutes=120, prep_notice_html="<p>工位配备工具箱。</p>",
                         candidate_notice_html="<p>穿戴劳保用品。</p>", task_html="<p>完成照明电路安装。</p>",
                         status=status, created_by_id=writer.id, edited_by_id=writer.id,
                         locked_at=dt.datetime(2026, 9, 1, tzinfo=dt.UTC) if status == "locked" else None)
        task.criteria = [SkillCriterion(position=k, name=f"评分要素{k}", points=25, standard="按规范操作",
                                        deductions="每错一处扣 5 分") for k in range(1, 5)]
        self.session.add(task)
        self.session.flush()
        return task

    def people(self, role, k, **fields):
        fields.setdefault("institution", self.inst)  # supervisors too: the plan names the institution's own
        return [make_user(self.session, role, **fields) for _ in range(k)]

    def batch(self, **kw):
        args = {"institution_id": self.inst.id, "occupation_id": self.occupation.id, "work_type_id": None,
                "level": 4, "name": f"2026年第{next(_serial)}批", "overview": "电工四级认定", "place": "长春市"}
        args.update(kw)
        return batches.create_batch(self.session, self.admin, **args)

    def plan(self, *, n_candidates=30, starts="2026-10-16", rooms=((5, 6),), proctors_per_room=2,
             skill=False, examiners=0, supervisors=1):
        """A complete theory plan that files on 2026-09-28 unless told otherwise."""
        s = self.session
        batch = self.batch()
        sitting = batches.add_session(s, self.admin, batch.id, module="theory", starts_at=at(starts),
                                  duration_minutes=90, paper_id=self.paper.id)
        for k, (r, c) in enumerate(rooms, 1):
            room = batches.add_room(s, self.admin, sitting.id, name=f"第{k}考场", rows=r, cols=c)
            for p in self.people(Role.PROCTOR, proctors_per_room):
                batches.assign_staff(s, self.admin, batch.id, user_id=p.id, role="proctor", room_id=room.id)
        skill_sitting = None
        if skill:
            skill_sitting = batches.add_session(s, self.admin, batch.id, module="skill", starts_at=at(starts, 14),
                                            duration_minutes=120, place="实训楼",
                                            skill_task_id=self.skill_task().id)
        if n_candidates:
            batches.add_candidates(s, self.admin, batch.id, [c.id for c in self.people(Role.CANDIDATE, n_candidates)])
        for e in self.people(Role.EXAMINER, examiners):
            batches.assign_staff(s, self.admin, batch.id, user_id=e.id, role="examiner")
            if skill_sitting is not None:  # the lone skill sitting's examiner group
                batches.assign_sitting_examiner(s, self.admin, skill_sitting.id, user_id=e.id)
        for v in self.people(Role.SUPERVISOR, supervisors):
            batches.assign_staff(s, self.admin, batch.id, user_id=v.id, role="supervisor")
        return batch


def _skill_world(world, *, candidates=(10, 4), examiners=(3, 3), shared=0, level=4):
    """A batch of ``level`` with one skill sitting per entry of ``candidates`` (that many
    candidates listed for it) and ``examiners`` examiners in each sitting's group; the first
    ``shared`` examiners of the first sitting also serve every other sitting. No theory sitting."""
    s = world.session
    batch = world.batch(level=level)
    task = world.skill_task(level=level)
    sittings = [batches.add_session(s, world.admin, batch.id, module="skill", starts_at=at("2026-10-16", 8 + 4 * k),
                                duration_minutes=120, place="实训楼", skill_task_id=task.id)
                for k in range(len(candidates))]
    people = world.people(Role.CANDIDATE, sum(candidates))
    batches.add_candidates(s, world.admin, batch.id, [p.id for p in people])
    start = 0
    first_group: list = []
    for k, (sitting, n, k_examiners) in enumerate(zip(sittings, candidates, examiners, strict=True)):
        if len(sittings) > 1:
            batches.assign_sitting_candidates(s, world.admin, sitting.id, [p.id for p in people[start:start + n]])
        start += n
        group = first_group[:shared] if k else []
        group += world.people(Role.EXAMINER, k_examiners - len(group))
        for e in group:
            if not any(st.user_id == e.id and st.role == "examiner" for st in batch.staff):
                batches.assign_staff(s, world.admin, batch.id, user_id=e.id, role="examiner")
            batches.assign_sitting_examiner(s, world.admin, sitting.id, user_id=e.id)
        if not k:
            first_group = group
    for v in world.people(Role.SUPERVISOR, 1):
        batches.assign_staff(s, world.admin, batch.id, user_id=v.id, role="supervisor")
    return batch, sittings


def _scope_to_level_one(session, world):
    session.add(ScopeEntry(institution_id=world.inst.id, occupation_id=world.occupation.id,
                           lowest_level=2, highest_level=1))
    session.flush()
    session.refresh(world.inst)


def _review_plan(world, *, panel=3, chair=True, review=True, level=2):
    batch, sittings = _skill_world(world, candidates=(10, 4), examiners=(3, 3), level=level)
    if review:
        batches.add_session(world.session, world.admin, batch.id, module="review", starts_at=at("2026-10-20"),
                        duration_minutes=240, place="答辩室")
    pool = [st.user_id for st in batch.staff if st.role == "examiner"]
    for k, user_id in enumerate(pool[:panel]):
        batches.add_panel_member(world.session, world.admin, batch.id, user_id=user_id, chair=chair and k == 0)
    return batch


_codes = itertools.count(1)


T0 = at("2026-10-16")  # the sitting's start, Beijing time


MIN = dt.timedelta(minutes=1)


SECRET_KEY_TEXT = "绝缘隔离是参考答案"


SECRET_ANALYSIS = "此处为解析内容"


ITEMS = [  # (type, stem, spec, points)
    ("single_choice", "安全电压的上限是多少？",
     {"options": ["12 伏", "36 伏", "110 伏", "220 伏"], "key": "B", "analysis": f"<p>{SECRET_ANALYSIS}</p>"}, 2),
    ("single_choice", "电气火灾首先应当怎样处置？",
     {"options": ["用水扑灭", "打开窗户", "离开现场", "切断电源"], "key": "D"}, 2),
    ("true_false", "验电前应先在有电设备上确认验电器良好。", {"key": "√"}, 1),
    ("short_answer", "简述防止触电的基本措施。",
     {"reference_answer": f"<p>{SECRET_KEY_TEXT}</p>", "scoring_points": [{"html": "<p>答出隔离</p>", "points": 2}]},
     5),
]


class Exam:
    """A seated theory sitting: four candidates in room 1 (2×2), an empty room 2, two
    proctors each, and a two-form paper of the four items above."""

    def __init__(self, session):
        self.session = session
        w = self.world = World(session)
        point = w.bp.points[0]
        pinned = []
        for code, stem, spec, points in ITEMS:
            item = Item(code=f"ATT-{next(_codes):05d}", point_id=point.id, level=4, item_type=code,
                        status="active", author_id=w.centre.id)
            session.add(item)
            session.flush()
            version = ItemVersion(item_id=item.id, number=1, stem_html=f"<p>{stem}</p>",
                                  spec_json=json.dumps(get_type(code).validate(spec), ensure_ascii=False),
                                  author_id=w.centre.id, frozen=True)
            session.add(version)
            session.flush()
            item.current_version_id = version.id
            pinned.append((item, version, points))
        paper = w.make_paper(session, status="draft")  # a locked paper cannot be filled
        for form in paper.forms:
            for position, (item, version, points) in enumerate(pinned, start=1):
                form.items.append(PaperItem(position=position, item_id=item.id, item_version_id=version.id,
                                            points=points))
        session.flush()
        paper.status, paper.locked_at = "locked", dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
        session.flush()
        w.paper = paper
        batch = w.plan(n_candidates=4, rooms=((2, 2), (2, 2)))
        self.sitting = batch.sessions[0]
        batches.seat_session(session, w.admin, self.sitting.id, seed=20261016)
        # Only an acknowledged plan's sittings are held.
        batches.file_plan(session, w.admin, batch.id, dt.date(2026, 9, 28))
        batches.acknowledge_plan(session, w.centre, batch.id)
        self.batch = batch
        self.room1, self.room2 = self.sitting.rooms
        self.candidates = [s.candidate for s in self.room1.seats]
        assert len(self.candidates) == 4 and not self.room2.seats

        def proctors(room):
            return [s.user for s in session.scalars(select(BatchStaff).where(BatchStaff.room_id == room.id))]

        self.proctor1 = proctors(self.room1)[0]
        self.proctor2 = proctors(self.room2)[0]

    def attempt(self, k=0):
        return attempts.attempt_for_candidate(self.session, self.candidates[k], self.sitting.id)

    def started(self, k=0, *, at_=T0 + MIN):
        """Open room 1 at T0 (once) and start candidate k."""
        if attempts.load_state(self.attempt(k)).session_opened_at is None:
            attempts.open_room(self.session, self.proctor1, self.room1.id, T0)
        attempt = self.attempt(k)
        attempts.start_attempt(self.session, self.candidates[k], attempt.id, at_)
        return attempt

    def answer(self, attempt, position, seq, value, client_time, received_at=None, k=0):
        entry = JournalEntry(attempt.id, position, seq, value, client_time)
        return attempts.record_response(self.session, self.candidates[k], attempt.id, entry, client_time,
                                   received_at or client_time)


HEADER = ["姓名", "身份证号", "性别", "手机号", "工作单位"]


def xlsx(rows, header=HEADER) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = imp.SHEET_NAME
    ws.append(header)
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def ident(serial: int, birth: str = "19850315") -> str:
    return valid_id_number(serial, birth=birth)


def gender(id_number: str) -> str:
    return "男" if int(id_number[16]) % 2 else "女"


@contextlib.contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = session.get_bind().engine

    def listener(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


class SkillDay:
    """A skill sitting on its day: a level-4 batch of the world's institution with one skill
    sitting naming a locked task (four criteria of 25 points), ``n`` candidates (work units
    「长春建工集团」…), a group of three examiners (the first is the chief), every candidate given
    a station in ticket order. The plan is filed and acknowledged."""

    def __init__(self, session, n=2, examiners=3):
        from examroom import stations

        self.session = session
        w = self.world = World(session)
        self.task = w.skill_task()
        self.batch = w.batch()
        self.sitting = batches.add_session(session, w.admin, self.batch.id, module="skill",
                                           starts_at=at("2026-10-16", 14), duration_minutes=120, place="实训楼",
                                           skill_task_id=self.task.id)
        self.candidates = w.people(Role.CANDIDATE, n)
        regs = batches.add_candidates(session, w.admin, self.batch.id, [c.id for c in self.candidates])
        for k, reg in enumerate(regs):
            reg.work_unit = f"长春建工集团第{k + 1}分公司"
        self.registrations = regs
        self.examiners = w.people(Role.EXAMINER, examiners)
        for e in self.examiners:
            batches.assign_staff(session, w.admin, self.batch.id, user_id=e.id, role="examiner")
            batches.assign_sitting_examiner(session, w.admin, self.sitting.id, user_id=e.id)
        for v in w.people(Role.SUPERVISOR, 1):
            batches.assign_staff(session, w.admin, self.batch.id, user_id=v.id, role="supervisor")
        session.flush()
        stations.assign_stations(session, w.admin, self.sitting.id)
        stations.set_chief(session, w.admin, self.sitting.id, self.examiners[0].id)
        batches.file_plan(session, w.admin, self.batch.id, dt.date(2026, 9, 28))
        batches.acknowledge_plan(session, w.centre, self.batch.id)
        session.flush()

    @property
    def chief(self):
        return self.examiners[0]

    def marks(self, *points):
        """A sheet's marks: points for each criterion in order (strings, as typed)."""
        return {str(c.id): str(p) for c, p in zip(self.task.criteria, points, strict=True)}

    def full(self, total):
        """Marks adding up to ``total`` (at most 100), spread over the four criteria."""
        parts = [min(25.0, max(0.0, total - 25.0 * k)) for k in range(4)]
        return self.marks(*[f"{p:g}" for p in parts])
