"""Marking examiner-scored theory items: two markers blind to each other, a third exactly when
they differ by more than the rule, the final score into the theory result; markers see only
their queue, anonymised, never another marker's mark; bad input refused, nothing written."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from examroom import attempts, batches
from examroom.models import BatchCandidate
from foundation.audit import AuditEntry
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.roles import Role
from foundation.settings import DEFAULT_RULES, set_rule
from grading.results import marking
from grading.results.models import ResponseMark, TheoryMarker
from tests.examroom.worlds import at
from tests.factories import make_institution, make_user
from tests.grading.theory_worlds import ANSWERS, MarkingExam


@pytest.fixture(scope="module")
def exam(module_session):
    """Built once for the module; each test runs in a savepoint of it (tests/conftest.py)."""
    return MarkingExam(module_session)


def marks(session):
    return session.scalar(select(func.count()).select_from(ResponseMark))


def written(session):
    return (marks(session), session.scalar(select(func.count()).select_from(AuditEntry)),
            session.scalar(select(func.count()).select_from(TheoryMarker)))


# ---------------------------------------------------------------- the rule


@given(st.integers(0, 50), st.integers(0, 50), st.integers(0, 50))
def test_a_third_marker_is_needed_exactly_when_the_marks_differ_by_more_than_the_gap(a, b, gap):
    first, second, limit = Decimal(a) / 10, Decimal(b) / 10, Decimal(gap) / 10
    assert marking.needs_third(first, second, limit) == (abs(first - second) > limit)
    settled = marking.final_score([first, second], limit)
    if abs(first - second) > limit:
        assert settled is None
        assert marking.final_score([first, second, Decimal("1.5")], limit) == Decimal("1.5")
    else:
        assert settled == ((first + second) / 2).quantize(Decimal("0.01"))


# ---------------------------------------------------------------- queues and blindness


def test_a_markers_queue_is_anonymous_and_holds_the_sittings_unsettled_answers(session, exam):
    a = exam.markers[0]
    entries = marking.queue(session, a, exam.sitting.id)
    assert {e.response_id for e in entries} == {exam.response(0).id, exam.response(1).id}
    assert {e.code for e in entries} == {exam.result(0).marking_code, exam.result(1).marking_code}
    assert {f.name for f in dataclasses.fields(marking.QueueEntry)} == {
        "response_id", "code", "number", "item_type", "points", "third"}
    view = marking.marking_view(session, a, exam.response(0).id)
    assert view.answer == ANSWERS[0] and view.points == 5.0 and view.own_mark is None
    assert "防止触电" in view.stem_html and "绝缘隔离是参考答案" in view.reference_html
    assert view.scoring_points == [{"html": "<p>答出隔离</p>", "points": 5.0}]  # 2 natural points, at the paper's 5
    identity = {exam.candidates[0].name, exam.candidates[0].id_number,
                session.scalar(select(BatchCandidate.ticket_no).where(BatchCandidate.candidate_id
                                                                      == exam.candidates[0].id))}
    shown = " ".join(str(v) for v in dataclasses.asdict(view).values())
    assert not any(x in shown for x in identity)


def test_a_marker_never_sees_another_markers_mark(session, exam):
    a, b, _ = exam.markers
    response = exam.response(0)
    marking.submit_mark(session, a, response.id, "4.7")
    view = marking.marking_view(session, b, response.id)
    assert view.own_mark is None and not view.third
    assert Decimal("4.7") not in dataclasses.asdict(view).values()
    assert "4.7" not in " ".join(str(v) for v in dataclasses.asdict(view).values())
    assert marking.marked_by(session, b, exam.sitting.id) == []
    mine = marking.marked_by(session, a, exam.sitting.id)
    assert [(e.response_id, own) for e, own in mine] == [(response.id, Decimal("4.7"))]


def test_two_close_marks_settle_the_answer_at_their_mean_and_score_the_result(session, exam):
    a, b, c = exam.markers
    response = exam.response(0)
    marking.submit_mark(session, a, response.id, "3.5")
    assert exam.result(0).state == "pending"
    marking.submit_mark(session, b, response.id, "0.5")  # exactly 3 apart: still the mean
    session.refresh(response)
    assert response.score == 2.0
    assert response.id not in {e.response_id for e in marking.queue(session, c, exam.sitting.id)}
    with pytest.raises(PermissionDenied):
        marking.marking_view(session, c, response.id)  # settled, not in c's queue
    result = exam.result(0)
    assert (result.state, result.raw_score, result.score) == ("scored", Decimal(4), Decimal(40))  # (2 + 2) / 10
    assert result.version == 2 and result.note == ""
    assert exam.attempts[0].score == 4.0
    assert exam.result(1).state == "pending"  # the other script is untouched


def test_marks_further_apart_than_the_gap_call_a_third_marker_whose_mark_stands(session, exam):
    a, b, c = exam.markers
    response = exam.response(0)
    marking.submit_mark(session, a, response.id, "0.4")
    marking.submit_mark(session, b, response.id, "3.5")  # 3.1 apart
    session.refresh(response)
    assert response.score is None and exam.result(0).state == "pending"
    assert response.id not in {e.response_id for e in marking.queue(session, a, exam.sitting.id)}
    entry = next(e for e in marking.queue(session, c, exam.sitting.id) if e.response_id == response.id)
    assert entry.third
    view = marking.marking_view(session, c, response.id)
    assert view.third and view.own_mark is None
    assert not {"0.4", "3.5"} & {str(v) for v in dataclasses.asdict(view).values()}
    marking.submit_mark(session, c, response.id, "3")
    session.refresh(response)
    assert response.score == 3.0
    assert (exam.result(0).state, exam.result(0).score) == ("scored", Decimal(50))
    with pytest.raises(ValidationError, match="不能重复评分"):
        marking.submit_mark(session, a, response.id, "1")


def test_the_gap_is_a_rule_the_centre_sets(session, exam):
    set_rule(session, exam.world.centre, "theory_marking", {**DEFAULT_RULES["theory_marking"],
                                                            "third_marker_gap": 0.5})
    a, b, c = exam.markers
    response = exam.response(0)
    marking.submit_mark(session, a, response.id, "2")
    marking.submit_mark(session, b, response.id, "3")
    third = {e.response_id: e.third for e in marking.queue(session, c, exam.sitting.id)}
    assert third == {response.id: True, exam.response(1).id: False}


def test_a_marker_cannot_mark_twice_or_after_settlement(session, exam):
    a, b, c = exam.markers
    response = exam.response(0)
    marking.submit_mark(session, a, response.id, "2")
    with pytest.raises(ValidationError, match="不能重复评分"):
        marking.submit_mark(session, a, response.id, "3")
    marking.submit_mark(session, b, response.id, "2.5")
    n = marks(session)
    with pytest.raises(ValidationError, match="已由其他阅卷人完成评阅"):
        marking.submit_mark(session, c, response.id, "2")
    assert marks(session) == n


# ---------------------------------------------------------------- who may mark what


def test_only_the_sittings_markers_reach_its_answers(session, exam):
    response = exam.response(0)
    outsider = exam.examiners[3]  # an examiner of the batch, not a marker of the sitting
    other_inst = make_user(session, Role.EXAMINER, institution=make_institution(session))
    for who in (outsider, other_inst, exam.world.admin, exam.candidates[0]):
        with pytest.raises(PermissionDenied):
            marking.queue(session, who, exam.sitting.id)
        with pytest.raises(PermissionDenied):
            marking.marking_view(session, who, response.id)
        with pytest.raises(PermissionDenied):
            marking.submit_mark(session, who, response.id, "2")
    assert marks(session) == 0
    with pytest.raises(NotFound):
        marking.marking_view(session, exam.markers[0], 999_999)


def test_a_marker_of_another_sitting_cannot_reach_this_one(session, exam):
    other = MarkingExam(session, answered=(0,))
    with pytest.raises(PermissionDenied):
        marking.marking_view(session, other.markers[0], exam.response(0).id)
    with pytest.raises(PermissionDenied):
        marking.submit_mark(session, other.markers[0], exam.response(0).id, "1")


def test_auto_scored_answers_and_blanks_are_never_in_a_queue(session, exam):
    entries = marking.queue(session, exam.markers[0], exam.sitting.id)
    assert {e.number for e in entries} == {4}
    blank = MarkingExam(session, answered=())
    attempt = blank.started(2)
    blank.answer(attempt, 4, 1, "   ", at("2026-10-16", 9, 6), k=2)
    attempts.submit_attempt(session, blank.candidates[2], attempt.id, at("2026-10-16", 9, 40))
    assert marking.queue(session, blank.markers[0], blank.sitting.id) == []


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(points=st.one_of(
    st.sampled_from(["", " ", "-0.1", "5.1", "6", "2.55", "1e1", "NaN", "inf", "二", "3分", "0x2", "1,5"]),
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not (0 <= x <= 5 and round(x, 1) == x)),
    st.decimals(min_value=Decimal("5.01"), max_value=Decimal("1e6"), allow_nan=False, places=2),
    st.integers().filter(lambda n: not 0 <= n <= 5),
    st.none(), st.booleans(), st.lists(st.integers(), max_size=2)))
def test_a_bad_mark_is_refused_with_a_clear_message_and_nothing_is_written(session, exam, points):
    before = written(session)
    with pytest.raises(ValidationError) as refused:
        marking.submit_mark(session, exam.markers[0], exam.response(0).id, points)
    assert refused.value.field == "points" and "评分应为 0 至 5 之间的数" in refused.value.message
    assert written(session) == before


# ---------------------------------------------------------------- naming markers


def test_the_institution_admin_names_the_batchs_examiners_as_markers(session, exam):
    assert [m.user_id for m in marking.markers_of(session, exam.world.admin, exam.sitting.id)] == [
        m.id for m in exam.markers]
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "theory_marker.add"))
    assert entry.target_id == str(exam.sitting.id)
    marking.remove_marker(session, exam.world.admin, exam.sitting.id, exam.markers[2].id)
    assert len(marking.markers_of(session, exam.world.admin, exam.sitting.id)) == 2


def test_bad_marker_assignments_are_refused_and_write_nothing(session, exam):
    admin = exam.world.admin
    stranger = make_user(session, Role.EXAMINER, institution=exam.world.inst)  # not on the batch
    proctor = exam.proctor1
    other_admin = make_user(session, Role.INSTITUTION_ADMIN, institution=make_institution(session))
    skill = batches.add_session(session, admin, exam.world.batch().id, module="skill",
                                starts_at=at("2026-10-20"), duration_minutes=60, place="实训楼")
    before = written(session)
    cases = [
        (admin, exam.sitting.id, stranger.id, ValidationError, "不是本批次的考评员"),
        (admin, exam.sitting.id, proctor.id, ValidationError, "不是有效的考评员"),
        (admin, exam.sitting.id, exam.markers[0].id, ValidationError, "已是本场次的阅卷人"),
        (admin, exam.sitting.id, None, ValidationError, "请选择阅卷人"),
        (admin, exam.sitting.id, True, ValidationError, "请选择阅卷人"),
        (admin, skill.id, exam.examiners[3].id, ValidationError, "只有理论知识考试场次"),
        (admin, 999_999, exam.examiners[3].id, NotFound, "考试场次不存在"),
        (other_admin, exam.sitting.id, exam.examiners[3].id, PermissionDenied, "本机构"),
        (exam.world.centre, exam.sitting.id, exam.examiners[3].id, PermissionDenied, None),
    ]
    for actor, sitting_id, user_id, error, message in cases:
        with pytest.raises(error, match=message):
            marking.assign_marker(session, actor, sitting_id, user_id)
    assert written(session) == before


def test_a_marker_who_has_marked_stays_on_the_list(session, exam):
    marking.submit_mark(session, exam.markers[0], exam.response(0).id, "2")
    before = written(session)
    with pytest.raises(ValidationError, match="已评阅 1 份答卷"):
        marking.remove_marker(session, exam.world.admin, exam.sitting.id, exam.markers[0].id)
    with pytest.raises(NotFound):
        marking.remove_marker(session, exam.world.admin, exam.sitting.id, exam.examiners[3].id)
    assert written(session) == before


def test_progress_counts_the_answers_by_how_far_marking_has_gone(session, exam):
    a, b, _ = exam.markers
    marking.submit_mark(session, a, exam.response(0).id, "0")
    marking.submit_mark(session, b, exam.response(0).id, "5")
    marking.submit_mark(session, a, exam.response(1).id, "1")
    counts = marking.progress(session, exam.world.admin, exam.sitting.id)
    assert (counts.answers, counts.unmarked, counts.one_mark, counts.awaiting_third, counts.final) == (2, 0, 1, 1, 0)


# ---------------------------------------------------------------- the pages


def test_the_marking_pages_show_the_queue_and_the_answer_but_no_candidate(session, client, login, exam):
    a = exam.markers[0]
    login(a)
    assert f"/marking/sittings/{exam.sitting.id}" in client.get("/marking/").get_data(as_text=True)
    page = client.get(f"/marking/sittings/{exam.sitting.id}").get_data(as_text=True)
    assert exam.result(0).marking_code in page and exam.result(1).marking_code in page
    response = exam.response(0)
    one = client.get(f"/marking/responses/{response.id}").get_data(as_text=True)
    assert ANSWERS[0] in one and "答出隔离" in one and "绝缘隔离是参考答案" in one
    for k in (0, 1):
        assert exam.candidates[k].name not in page + one
        assert exam.candidates[k].id_number not in page + one
    done = client.post(f"/marking/responses/{response.id}", data={"points": "4.5"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/marking/responses/{exam.response(1).id}")
    assert session.scalar(select(ResponseMark.points).where(ResponseMark.marker_id == a.id)) == Decimal("4.5")
    refused = client.post(f"/marking/responses/{exam.response(1).id}", data={"points": "9"})
    assert refused.status_code == 400 and "评分应为 0 至 5 之间的数" in refused.get_data(as_text=True)


def test_a_marker_cannot_read_another_markers_mark_or_an_answer_outside_the_queue(session, client, login, exam):
    a, b, c = exam.markers
    response = exam.response(0)
    marking.submit_mark(session, a, response.id, "4.7")
    login(b)
    page = client.get(f"/marking/responses/{response.id}").get_data(as_text=True)
    assert "4.7" not in page and "您的评分" not in page
    marking.submit_mark(session, b, response.id, "4.1")  # settled at 4.4
    login(c)
    assert client.get(f"/marking/responses/{response.id}").status_code == 403
    assert client.post(f"/marking/responses/{response.id}", data={"points": "1"}).status_code == 403
    login(exam.examiners[3])
    assert client.get(f"/marking/sittings/{exam.sitting.id}").status_code == 403
    assert client.get(f"/marking/responses/{exam.response(1).id}").status_code == 403


def test_the_institution_admin_names_markers_on_a_page(session, client, login, exam):
    login(exam.world.admin)
    page = client.get(f"/marking/sittings/{exam.sitting.id}/markers").get_data(as_text=True)
    assert all(m.name in page for m in exam.markers) and exam.examiners[3].name in page
    client.post(f"/marking/sittings/{exam.sitting.id}/markers/add", data={"user_id": str(exam.examiners[3].id)})
    assert len(marking.markers_of(session, exam.world.admin, exam.sitting.id)) == 4
    client.post(f"/marking/sittings/{exam.sitting.id}/markers/remove", data={"user_id": str(exam.examiners[3].id)})
    assert len(marking.markers_of(session, exam.world.admin, exam.sitting.id)) == 3
    other_admin = make_user(session, Role.INSTITUTION_ADMIN, institution=make_institution(session))
    login(other_admin)
    assert client.get(f"/marking/sittings/{exam.sitting.id}/markers").status_code == 403
    assert client.post(f"/marking/sittings/{exam.sitting.id}/markers/add",
                       data={"user_id": str(exam.examiners[3].id)}).status_code == 403
