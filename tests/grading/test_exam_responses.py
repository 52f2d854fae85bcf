"""Response sets built from seated exams (grading.psychometrics.exam_responses): answers recorded through
examroom.attempts, the matrix over two parallel forms, choices, groups, exclusions, refusals,
the page, the CLI and a calibration of a realistic batch."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import numpy as np
import pytest
from sqlalchemy import func, select

from examroom import attempts as att
from examroom import batches, proctoring
from examroom.answers import JournalEntry
from examroom.models import Attempt, BatchStaff, Response
from foundation.audit import AuditEntry
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.roles import Role
from grading.psychometrics import calibration as cal
from grading.psychometrics import exam_responses as er
from grading.psychometrics.models import CalibrationRun, ResponseSet
from itembank.itemtypes import get_type
from itembank.models import BankAssignment, Item, ItemVersion, PaperItem
from tests.examroom.worlds import World, at
from tests.factories import assign, make_blueprint, make_user, valid_id_number

T0 = at("2026-10-16")  # 09:00 Beijing
MIN = dt.timedelta(minutes=1)
_codes = itertools.count(1)

SC = {"options": ["12 伏", "36 伏", "110 伏", "220 伏"], "key": "B"}
MC = {"options": ["切断电源", "用水扑灭", "使用干粉灭火器", "打开窗户"], "key": ["A", "C"]}
TF = {"key": "√"}
FILL = {"blanks": [{"answers": ["欧姆定律"]}, {"answers": ["220", "220V"]}]}
SHORT = {"reference_answer": "<p>隔离</p>", "scoring_points": [{"html": "<p>答出隔离</p>", "points": 2}]}
SC_D = {"options": ["甲", "乙", "丙", "丁"], "key": "D"}


def make_item(session, point, author, item_type, spec, *, prefix, suffix):
    item = Item(code=f"{prefix}-{suffix}", point_id=point.id, level=4, item_type=item_type, status="active",
                author_id=author.id)
    session.add(item)
    session.flush()
    version = ItemVersion(item_id=item.id, number=1, stem_html=f"<p>{item_type} {suffix}</p>",
                          spec_json=json.dumps(get_type(item_type).validate(spec), ensure_ascii=False),
                          author_id=author.id, frozen=True)
    session.add(version)
    session.flush()
    item.current_version_id = version.id
    return item, version


def lock_paper(session, world, forms):
    """A locked paper of ``world`` whose forms hold ``forms[label] = [(item, version, points), ...]``."""
    paper = world.make_paper(session, status="draft")
    for form in paper.forms:
        for position, (item, version, points) in enumerate(forms[form.label], start=1):
            form.items.append(PaperItem(position=position, item_id=item.id, item_version_id=version.id,
                                        points=points))
    session.flush()
    paper.status, paper.locked_at = "locked", dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    session.flush()
    world.paper = paper
    return paper


class TwoForms:
    """A theory sitting on 2026-10-16 with five candidates on two parallel forms:

    form A: C1 (single, key B), A1 (multiple, key AC), C2 (true/false √), S1 (short answer),
            A2 (fill-in, two blanks), X1 (single choice of ANOTHER blueprint)
    form B: B1 (single, key D), C1, C2, S1
    """

    def __init__(self, session, world=None):
        self.session = session
        w = self.world = world or World(session)
        prefix = f"ER{next(_codes):04d}"
        point = w.bp.points[0]
        other_bp = make_blueprint(session, w.centre)

        def item(kind, spec, suffix, pt=point):
            return make_item(session, pt, w.centre, kind, spec, prefix=prefix, suffix=suffix)

        c1, c2 = item("single_choice", SC, "01"), item("true_false", TF, "02")
        a1, a2 = item("multiple_choice", MC, "03"), item("fill_in", FILL, "04")
        b1, s1 = item("single_choice", SC_D, "05"), item("short_answer", SHORT, "06")
        x1 = item("single_choice", SC, "07", other_bp.points[0])
        self.items = {"C1": c1[0], "C2": c2[0], "A1": a1[0], "A2": a2[0], "B1": b1[0], "S1": s1[0], "X1": x1[0]}
        lock_paper(session, w, {
            "A": [(*c1, 2), (*a1, 2), (*c2, 1), (*s1, 5), (*a2, 2), (*x1, 2)],
            "B": [(*b1, 2), (*c1, 2), (*c2, 1), (*s1, 5)],
        })
        self.batch = w.plan(n_candidates=5, rooms=((2, 3),))
        self.sitting = self.batch.sessions[0]
        batches.seat_session(session, w.admin, self.sitting.id, seed=7)
        # Only an acknowledged plan's sittings are held (as tests/examroom/test_attempts.py).
        batches.file_plan(session, w.admin, self.batch.id, dt.date(2026, 9, 28))
        batches.acknowledge_plan(session, w.centre, self.batch.id)
        self.room = self.sitting.rooms[0]
        self.proctor = session.scalars(select(BatchStaff).where(BatchStaff.room_id == self.room.id)).first().user
        # Seats in grid order; give each candidate a known ID number (birth date, region, gender digit).
        self.candidates = [s.candidate for s in self.room.seats]
        ids = [("220102", "19900101", 11), ("110101", "20000520", 12), ("440301", "19661017", 13),
               ("220102", "19900101", 15), ("220102", "19900101", 17)]
        for cand, (region, birth, serial) in zip(self.candidates, ids, strict=True):
            cand.id_number = valid_id_number(serial, birth=birth, region=region)
        session.flush()
        att.open_room(session, self.proctor, self.room.id, T0)

    def attempt(self, k):
        return att.attempt_for_candidate(self.session, self.candidates[k], self.sitting.id)

    def form(self, k):
        return self.attempt(k).paper_form.label

    def answer_all(self, k, answers, *, start=T0 + MIN):
        """Start candidate k and record ``answers`` {item key: value} for the items on their form."""
        attempt = self.attempt(k)
        att.start_attempt(self.session, self.candidates[k], attempt.id, start)
        position = {pi.item_id: n for n, pi in enumerate(sorted(attempt.paper_form.items, key=lambda p: p.position),
                                                         start=1)}
        seq = 0
        for key, value in answers.items():
            item_id = self.items[key].id
            if item_id not in position:
                continue
            seq += 1
            when = start + seq * MIN
            decision = att.record_response(self.session, self.candidates[k], attempt.id,
                                           JournalEntry(attempt.id, position[item_id], seq, value, when), when, when)
            assert decision.changes, decision
        return attempt


@pytest.fixture
def exam(session):
    return TwoForms(session)


def cover(session, reviewer, blueprint):
    """Assign ``reviewer`` the centre's items of ``blueprint``'s occupation (if not yet)."""
    if not session.scalar(select(BankAssignment.id).where(BankAssignment.user_id == reviewer.id,
                                                          BankAssignment.occupation_id == blueprint.occupation_id)):
        assign(session, reviewer, blueprint.occupation_id)


@pytest.fixture
def reviewer(session, exam):
    user = make_user(session, Role.ITEM_REVIEWER)
    cover(session, user, exam.world.bp)  # the centre's items of the exam's occupation
    return user


def counts(session):
    return (session.scalar(select(func.count()).select_from(ResponseSet)),
            session.scalar(select(func.count()).select_from(AuditEntry)))


def sit_the_exam(session, exam):
    """cand 0: all right, submitted and scored; cand 1: wrong / partial / blank, submitted;
    cand 2: one right answer, then time-up; cand 3: terminated; cand 4: opened, never started."""
    right = {"C1": "B", "A1": ["C", "A"], "C2": "对", "S1": "隔离带电体", "A2": ["欧姆定律", "220V"], "B1": "D",
             "X1": "B"}
    first = exam.answer_all(0, right)
    att.submit_attempt(session, exam.candidates[0], first.id, T0 + 40 * MIN)
    att.score_attempt(session, first.id)
    second = exam.answer_all(1, {"C1": "A", "A1": ["A"], "C2": "×", "A2": ["欧姆定律", ""], "B1": "D"})
    att.submit_attempt(session, exam.candidates[1], second.id, T0 + 45 * MIN)
    third = exam.answer_all(2, {"C1": "B"})
    due = T0 + 90 * MIN  # the room's end
    fourth = exam.answer_all(3, {"C1": "B", "C2": "√"})
    proctoring.terminate(session, exam.proctor, fourth.id, "夹带资料", 3, T0 + 20 * MIN)
    assert att.expire_overdue(session, due + dt.timedelta(seconds=1)) == [third.id]
    return [first, second, third]


# ---------------------------------------------------------------------------- the matrix


def test_matrix_of_two_forms_scores_choices_groups_and_exclusions(session, exam, reviewer):
    closed = sit_the_exam(session, exam)
    rs = er.build_exam_response_set(session, reviewer, batch_id=exam.batch.id)

    it = exam.items
    assert rs.source == "batch" and rs.blueprint_id == exam.world.bp.id
    # Columns: the blueprint's auto-scored items over both forms, by code; S1 (examiner) and X1
    # (another blueprint) are not columns.
    assert rs.item_ids == [it["C1"].id, it["C2"].id, it["A1"].id, it["A2"].id, it["B1"].id]
    assert rs.group_names == ["性别", "年龄段", "地区", "机构"]
    assert rs.n_examinees == 3 and rs.n_items == 5
    assert "已排除终止考试 1 人" in rs.name and "未收卷 1 人未计入" in rs.name

    arrays = rs.arrays()
    scores, choices, groups = arrays["scores"], arrays["choices"], arrays["groups"]
    forms = [exam.form(k) for k in range(3)]
    # Rows follow the attempts' ids (one sitting).
    order = sorted(range(3), key=lambda k: closed[k].id)
    nan = np.nan
    expected_scores = {
        #     C1 C2 A1 A2 B1
        "A": [[1, 1, 1, 1, nan], [0, 0, 0, 0, nan], [1, 0, 0, 0, nan]],
        "B": [[1, 1, nan, nan, 1], [0, 0, nan, nan, 1], [1, 0, nan, nan, 0]],
    }
    expected_choices = {
        "A": [[1, 0, 5, -1, -1], [0, 1, 1, -1, -1], [1, -1, -1, -1, -1]],
        "B": [[1, 0, -1, -1, 3], [0, 1, -1, -1, 3], [1, -1, -1, -1, -1]],
    }
    for row, k in enumerate(order):
        np.testing.assert_array_equal(scores[row], expected_scores[forms[k]][k], err_msg=f"candidate {k}")
        np.testing.assert_array_equal(choices[row], expected_choices[forms[k]][k], err_msg=f"candidate {k}")
    inst = exam.world.inst.name
    expected_groups = [["男", "31–45岁", "吉林省", inst], ["女", "18–30岁", "北京市", inst],
                       ["男", "46–60岁", "广东省", inst]]  # born 1966-10-17: 59 the day before turning 60
    assert [groups[row].tolist() for row in range(3)] == [expected_groups[k] for k in order]
    assert scores.dtype == np.float32 and choices.dtype == np.int8

    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "response_set.batch")).one()
    assert entry.target_id == str(rs.id)
    assert entry.after["terminated_excluded"] == 1 and entry.after["unfinished_excluded"] == 1
    assert entry.after["batch_id"] == exam.batch.id and entry.after["examinees"] == 3
    assert (entry.after["submitted"], entry.after["expired"]) == (2, 1)


def test_both_forms_are_present_and_the_labels_are_original(session, exam, reviewer):
    """Seating alternates forms, and option order is shuffled only in display: the label a
    candidate picks is the original one, whatever position it was shown at."""
    assert {exam.form(k) for k in range(5)} == {"A", "B"}
    attempt = exam.answer_all(0, {"C1": "B"})
    view = att.candidate_view(session, exam.candidates[0], attempt.id, T0 + 3 * MIN)
    shown = next(i for i in view["items"] if i["stem_html"].startswith("<p>single_choice 01"))
    labels = [o["label"] for o in shown["options"]]
    assert sorted(labels) == ["A", "B", "C", "D"]
    assert next(o["html"] for o in shown["options"] if o["label"] == "B") == "36 伏"  # the key's text
    att.submit_attempt(session, exam.candidates[0], attempt.id, T0 + 40 * MIN)
    rs = er.build_exam_response_set(session, reviewer, batch_id=exam.batch.id)
    j = rs.item_ids.index(exam.items["C1"].id)
    assert rs.arrays()["scores"][0, j] == 1 and rs.arrays()["choices"][0, j] == 1


def test_the_stored_score_is_used_when_present(session, exam, reviewer):
    attempt = exam.answer_all(0, {"C1": "A"})
    att.submit_attempt(session, exam.candidates[0], attempt.id, T0 + 40 * MIN)
    att.score_attempt(session, attempt.id)
    j_c1 = 0
    before = er.build_exam_response_set(session, reviewer, batch_id=exam.batch.id).arrays()["scores"]
    assert before[0, j_c1] == 0
    # A reviewed score (e.g. a key corrected after the exam) is what the set takes.
    row = session.scalars(select(Response).where(Response.attempt_id == attempt.id)).one()
    row.score = 2
    session.flush()
    after = er.build_exam_response_set(session, reviewer, batch_id=exam.batch.id).arrays()["scores"]
    assert after[0, j_c1] == 1


def test_age_bands_and_groups_from_the_id_number():
    on = dt.date(2026, 10, 16)
    assert er.age_band(dt.date(2008, 10, 16), on) == "18–30岁"
    assert er.age_band(dt.date(2008, 10, 17), on) == "17岁及以下"
    assert er.age_band(dt.date(1995, 10, 16), on) == "31–45岁"
    assert er.age_band(dt.date(1995, 10, 17), on) == "18–30岁"
    assert er.age_band(dt.date(1965, 10, 17), on) == "46–60岁"
    assert er.age_band(dt.date(1965, 10, 16), on) == "61岁及以上"
    assert er.exam_groups(valid_id_number(12, birth="19800101", region="650102"), on, "机构甲") == (
        "女", "46–60岁", "新疆维吾尔自治区", "机构甲")
    assert er.exam_groups("123", on, "机构甲") == ("", "", "", "机构甲")


# ---------------------------------------------------------------------------- refusals


def test_an_exam_without_closed_attempts_is_refused_and_nothing_written(session, exam, reviewer):
    before = counts(session)
    with pytest.raises(ValidationError, match="没有已交卷或到时收卷的理论考试作答") as info:
        er.build_exam_response_set(session, reviewer, batch_id=exam.batch.id)
    assert "未收卷 5 人未计入" in info.value.message
    # Only a terminated attempt: still nothing, and the message says why.
    attempt = exam.answer_all(3, {"C1": "B"})
    proctoring.terminate(session, exam.proctor, attempt.id, "替考", 3, T0 + 10 * MIN)
    before = counts(session)
    with pytest.raises(ValidationError, match="已排除终止考试 1 人"):
        er.build_exam_response_set(session, reviewer, batch_id=exam.batch.id)
    assert counts(session) == before


def test_batches_without_a_theory_paper_and_bad_arguments_are_refused(session, reviewer):
    w = World(session)
    empty = w.batch()
    before = counts(session)
    with pytest.raises(ValidationError, match="没有指定了试卷的理论知识考试场次"):
        er.build_exam_response_set(session, reviewer, batch_id=empty.id)
    with pytest.raises(NotFound):
        er.build_exam_response_set(session, reviewer, batch_id=10**9)
    with pytest.raises(ValidationError, match="只能选其一"):
        er.build_exam_response_set(session, reviewer, batch_id=empty.id, date_from="2026-10-01",
                                   date_to="2026-10-31")
    with pytest.raises(ValidationError, match="结束日期不能早于开始日期"):
        er.build_exam_response_set(session, reviewer, blueprint_id=w.bp.id, date_from="2026-10-31",
                                   date_to="2026-10-01")
    with pytest.raises(ValidationError, match="请选择细目表"):
        er.build_exam_response_set(session, reviewer, date_from="2026-10-01", date_to="2026-10-31")
    with pytest.raises(ValidationError, match="有效的开始日期"):
        er.build_exam_response_set(session, reviewer, blueprint_id=w.bp.id, date_from="10/01", date_to="2026-10-31")
    with pytest.raises(PermissionDenied):
        er.build_exam_response_set(session, w.admin, batch_id=empty.id)
    assert counts(session) == before


def test_a_date_range_takes_the_blueprints_sittings_only(session, exam, reviewer):
    sit_the_exam(session, exam)
    # Another institution's batch the same day on another blueprint: not in this set.
    other = TwoForms(session)
    cover(session, reviewer, other.world.bp)
    first = other.answer_all(0, {"C1": "B"})
    att.submit_attempt(session, other.candidates[0], first.id, T0 + 40 * MIN)
    rs = er.build_exam_response_set(session, reviewer, blueprint_id=exam.world.bp.id,
                                    date_from=dt.date(2026, 10, 16), date_to="2026-10-16")
    assert rs.n_examinees == 3 and exam.items["C1"].id in rs.item_ids and other.items["C1"].id not in rs.item_ids
    assert rs.name.startswith("2026-10-16 ")
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "response_set.batch")).one()
    assert entry.after["date_from"] == entry.after["date_to"] == "2026-10-16"
    wide = er.build_exam_response_set(session, reviewer, blueprint_id=other.world.bp.id,
                                      date_from="2026-10-01", date_to="2026-10-31", name="十月 其他细目表")
    assert wide.n_examinees == 1 and wide.name == "十月 其他细目表"
    with pytest.raises(ValidationError, match="2026-10-17 至 2026-10-20 没有使用细目表"):
        er.build_exam_response_set(session, reviewer, blueprint_id=exam.world.bp.id,
                                   date_from="2026-10-17", date_to="2026-10-20")
    # A batch with an explicit blueprint its papers do not use.
    with pytest.raises(ValidationError, match="没有使用细目表"):
        er.build_exam_response_set(session, reviewer, batch_id=exam.batch.id, blueprint_id=other.world.bp.id)


# ---------------------------------------------------------------------------- page and CLI

NEW = "/analysis/response-sets/new"


def test_the_page_builds_from_a_batch_or_a_date_range(session, client, login, exam, reviewer):
    login(reviewer)
    page = client.get(NEW).get_data(as_text=True)
    assert "从认定批次生成作答数据" in page
    assert exam.batch.name not in page  # no closed attempt yet: not offered

    sit_the_exam(session, exam)
    page = client.get(NEW).get_data(as_text=True)
    assert f'value="{exam.batch.id}"' in page and exam.batch.name in page
    resp = client.post(NEW, data={"ex-mode": "exam", "ex-scope": "batch", "ex-batch_id": str(exam.batch.id),
                                  "ex-name": ""})
    assert resp.status_code == 302 and "tab=sets" in resp.headers["Location"]
    rs = session.scalars(select(ResponseSet).where(ResponseSet.source == "batch")).one()
    assert (rs.n_examinees, rs.n_items) == (3, 5)
    listing = client.get("/analysis/?tab=sets").get_data(as_text=True)
    assert rs.name in listing and "考试批次" in listing

    resp = client.post(NEW, data={"ex-mode": "exam", "ex-scope": "range", "ex-date_from": "2026-10-16",
                                  "ex-date_to": "2026-10-16", "ex-blueprint_id": str(exam.world.bp.id),
                                  "ex-name": "十月十六日 理论"})
    assert resp.status_code == 302
    assert session.scalar(select(ResponseSet).where(ResponseSet.name == "十月十六日 理论")).n_examinees == 3

    before = counts(session)
    resp = client.post(NEW, data={"ex-mode": "exam", "ex-scope": "range", "ex-date_from": "2026-11-01",
                                  "ex-date_to": "2026-11-02", "ex-blueprint_id": str(exam.world.bp.id)})
    assert resp.status_code == 400 and "没有使用细目表" in resp.get_data(as_text=True)
    resp = client.post(NEW, data={"ex-mode": "exam", "ex-scope": "batch", "ex-batch_id": ""})
    assert resp.status_code == 400 and "请选择认定批次" in resp.get_data(as_text=True)
    resp = client.post(NEW, data={"ex-mode": "exam", "ex-scope": "range", "ex-date_from": "明天",
                                  "ex-date_to": "", "ex-blueprint_id": str(exam.world.bp.id)})
    assert resp.status_code == 400 and "有效的开始日期" in resp.get_data(as_text=True)
    assert counts(session) == before


def test_the_page_is_for_analysts_only(session, client, login, exam):
    login(exam.world.admin)
    resp = client.post(NEW, data={"ex-mode": "exam", "ex-scope": "batch", "ex-batch_id": str(exam.batch.id)})
    assert resp.status_code == 403


def test_cli_builds_from_a_batch_or_a_date_range(session, runner, exam, reviewer):
    sit_the_exam(session, exam)
    result = runner.invoke(args=["grading", "from-exams", "--batch", str(exam.batch.id), "--as", reviewer.username])
    assert result.exit_code == 0, result.output
    rs = session.scalars(select(ResponseSet).where(ResponseSet.source == "batch")).one()
    assert f"#{rs.id}" in result.output and "3 人 × 5 题" in result.output

    result = runner.invoke(args=["grading", "from-exams", "--from", "2026-10-16", "--to", "2026-10-16",
                                 "--blueprint", str(exam.world.bp.id), "--name", "命令行生成", "--as",
                                 reviewer.username])
    assert result.exit_code == 0, result.output
    assert session.scalar(select(ResponseSet).where(ResponseSet.name == "命令行生成")) is not None

    result = runner.invoke(args=["grading", "from-exams", "--from", "2026-11-01", "--to", "2026-11-02",
                                 "--blueprint", str(exam.world.bp.id), "--as", reviewer.username])
    assert result.exit_code == 1 and "没有使用细目表" in result.output
    result = runner.invoke(args=["grading", "from-exams", "--as", reviewer.username])
    assert result.exit_code != 0 and "--batch" in result.output


# ---------------------------------------------------------------------------- a realistic batch


@pytest.mark.slow
def test_a_calibration_of_a_batch_answered_by_a_2pl_model_completes(session, reviewer):
    """200 candidates in seven rooms answer two parallel forms (6 common + 3 unique items each)
    through the attempt services, with 2PL probabilities; the set calibrates and recovers b.
    (Sized so that the answers recorded one by one through the services stay quick.)"""
    w = World(session)
    prefix = f"ER{next(_codes):04d}"
    rng = np.random.default_rng(20261016)
    points = w.bp.points
    n_items = 12
    true_a = rng.uniform(0.8, 2.0, n_items)
    true_b = np.linspace(-1.5, 1.5, n_items)
    rng.shuffle(true_b)
    made = []
    for k in range(n_items):
        spec = TF if k % 4 == 3 else SC
        kind = "true_false" if k % 4 == 3 else "single_choice"
        made.append(make_item(session, points[k % len(points)], w.centre, kind, spec, prefix=prefix,
                              suffix=f"{k:02d}"))
    common, only_a, only_b = made[:6], made[6:9], made[9:]
    lock_paper(session, w, {"A": [(*m, 1) for m in common + only_a], "B": [(*m, 1) for m in only_b + common]})
    batch = w.plan(n_candidates=200, rooms=((5, 6),) * 7, proctors_per_room=2)  # a filable plan
    sitting = batch.sessions[0]
    batches.seat_session(session, w.admin, sitting.id, seed=99)
    batches.file_plan(session, w.admin, batch.id, dt.date(2026, 9, 28))
    batches.acknowledge_plan(session, w.centre, batch.id)
    cover(session, reviewer, w.bp)
    index = {m[0].id: k for k, m in enumerate(made)}
    wrong = {"single_choice": ["A", "C", "D"], "true_false": ["×"]}
    right = {"single_choice": "B", "true_false": "√"}
    for room in sitting.rooms:
        proctor = session.scalars(select(BatchStaff).where(BatchStaff.room_id == room.id)).first().user
        att.open_room(session, proctor, room.id, T0)
        for seat in room.seats:
            cand = seat.candidate
            attempt = att.attempt_for_candidate(session, cand, sitting.id)
            att.start_attempt(session, cand, attempt.id, T0 + MIN)
            theta = rng.normal()
            for position, pi in enumerate(sorted(attempt.paper_form.items, key=lambda p: p.position), start=1):
                k = index[pi.item_id]
                p = 1 / (1 + np.exp(-true_a[k] * (theta - true_b[k])))
                kind = made[k][0].item_type
                value = right[kind] if rng.random() < p else str(rng.choice(wrong[kind]))
                when = T0 + (2 + position) * MIN
                att.record_response(session, cand, attempt.id, JournalEntry(attempt.id, position, position, value,
                                                                            when), when, when)
            att.submit_attempt(session, cand, attempt.id, T0 + 40 * MIN)

    rs = er.build_exam_response_set(session, reviewer, batch_id=batch.id)
    assert (rs.n_examinees, rs.n_items) == (200, 12)
    scores = rs.arrays()["scores"]
    presented = ~np.isnan(scores)
    assert presented.sum(axis=1).tolist() == [9] * 200
    assert presented[:, [rs.item_ids.index(m[0].id) for m in common]].all()
    assert session.scalar(select(func.count()).select_from(Attempt).where(Attempt.status == "submitted")) == 200

    run = cal.start_run(session, reviewer, rs.id, model="2pl")
    cal.execute_run(session, run.id)
    session.expire_all()
    run = session.get(CalibrationRun, run.id)
    assert run.status == "done", run.message
    estimated = {p.item_id: p.b for p in run.parameters}
    b_hat = np.array([estimated[m[0].id] for m in made])
    assert np.corrcoef(b_hat, true_b)[0, 1] > 0.9
