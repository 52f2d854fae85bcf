"""A marker corrects their own mark of an examiner-scored theory answer: with a reason, as a new
version (every version kept, audited); the answer is settled again (mean, or back to a third
marker, or no longer needing one) and the theory result follows as a new version. Refused once
a third mark exists (for the first two), once the decision is confirmed, without a reason, for
a mark one did not give; the other marker's mark is never shown."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from foundation.audit import AuditEntry
from foundation.errors import PermissionDenied, ValidationError
from grading.results import marking
from grading.results.models import ComponentResultChange, LevelDecision, ResponseMark, ResponseMarkChange
from tests.grading.theory_worlds import MarkingExam


@pytest.fixture
def exam(session):
    return MarkingExam(session)


def written(session):
    return tuple(session.scalar(select(func.count()).select_from(t)) for t in (
        ResponseMarkChange, AuditEntry, ComponentResultChange))


def test_a_correction_is_a_new_version_and_rescores_the_result(session, exam):
    a, b, _ = exam.markers
    response = exam.response(0)
    marking.submit_mark(session, a, response.id, "2")
    marking.submit_mark(session, b, response.id, "2.5")  # settled at 2.25: (2 + 2.25) / 10 = 42.5
    result = exam.result(0)
    assert (result.state, result.score, result.version) == ("scored", Decimal("42.5"), 2)
    mark = marking.correct_mark(session, a, response.id, "3", "第二个要点漏计分")
    assert (mark.points, mark.version) == (Decimal(3), 2)
    session.refresh(response)
    assert response.score == 2.75
    result = exam.result(0)
    assert (result.state, result.score, result.version) == ("scored", Decimal("47.5"), 3)
    change = session.scalar(select(ComponentResultChange).where(ComponentResultChange.result_id == result.id,
                                                                ComponentResultChange.version == 3))
    assert change.reason == "阅卷人更正主观题评分，成绩重新合成"
    history = marking.mark_history(session, response.id, a.id)
    assert [(h.version, h.points, h.reason) for h in history] == [
        (1, Decimal(2), ""), (2, Decimal(3), "第二个要点漏计分")]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "response_mark.amend")).one()
    assert entry.actor_id == a.id and "第二个要点漏计分" in entry.after_json and '"2.00"' in entry.before_json
    # The marker sees their own versions only, never the other marker's mark.
    view = marking.marking_view(session, a, response.id)
    assert view.own_mark == Decimal(3) and view.correction_refused is None
    assert [h.points for h in view.own_history] == [Decimal(2), Decimal(3)]
    assert "2.5" not in " ".join(str(v) for v in dataclasses.asdict(view).values())


def test_a_correction_can_call_a_third_marker_and_the_third_mark_closes_the_first_two(session, exam):
    a, b, c = exam.markers
    response = exam.response(0)
    marking.submit_mark(session, a, response.id, "1")
    marking.submit_mark(session, b, response.id, "1.5")
    assert exam.result(0).state == "scored"
    assert response.id not in {e.response_id for e in marking.queue(session, c, exam.sitting.id)}
    marking.correct_mark(session, a, response.id, "5", "看错答卷")  # 5 and 1.5: more than 3 apart
    session.refresh(response)
    assert response.score is None
    result = exam.result(0)
    assert (result.state, result.score) == ("pending", None) and "主观题待阅卷" in result.note
    assert {e.response_id: e.third for e in marking.queue(session, c, exam.sitting.id)}[response.id] is True
    # Blind: the corrector's view says nothing of the third marking the correction called.
    view = marking.marking_view(session, a, response.id)
    assert view.correction_refused is None and not view.third
    marking.submit_mark(session, c, response.id, "4")
    assert exam.result(0).state == "scored"
    before = written(session)
    for first in (a, b):
        with pytest.raises(ValidationError, match="已有第三位阅卷人评分"):
            marking.correct_mark(session, first, response.id, "3", "再改")
    assert written(session) == before
    assert marking.marking_view(session, a, response.id).correction_refused.startswith("该答卷已有第三位")
    marking.correct_mark(session, c, response.id, "3.5", "第三评复核")  # the third mark itself may be corrected
    session.refresh(response)
    assert response.score == 3.5


def test_a_correction_can_settle_an_answer_awaiting_the_third_marker(session, exam):
    a, b, c = exam.markers
    response = exam.response(0)
    marking.submit_mark(session, a, response.id, "0.5")
    marking.submit_mark(session, b, response.id, "4.5")
    assert response.id in {e.response_id for e in marking.queue(session, c, exam.sitting.id)}
    marking.correct_mark(session, b, response.id, "1.5", "误将 1.5 录为 4.5")
    session.refresh(response)
    assert response.score == 1.0
    assert response.id not in {e.response_id for e in marking.queue(session, c, exam.sitting.id)}
    assert exam.result(0).state == "scored"


def test_refusals_write_nothing(session, exam):
    a, b, c = exam.markers
    response = exam.response(0)
    marking.submit_mark(session, a, response.id, "2")
    before = written(session)
    with pytest.raises(ValidationError, match="请填写更正评分的原因"):
        marking.correct_mark(session, a, response.id, "3", "  ")
    with pytest.raises(ValidationError, match="不能超过 500 个字"):
        marking.correct_mark(session, a, response.id, "3", "长" * 501)
    with pytest.raises(ValidationError, match="评分应为 0 至 5"):
        marking.correct_mark(session, a, response.id, "7", "改")
    with pytest.raises(ValidationError, match="与原评分相同"):
        marking.correct_mark(session, a, response.id, "2.0", "改")
    with pytest.raises(ValidationError, match="尚未评阅该答卷"):
        marking.correct_mark(session, b, response.id, "3", "改")
    with pytest.raises(PermissionDenied):  # an examiner who is no marker of the sitting
        marking.correct_mark(session, exam.examiners[3], response.id, "3", "改")
    with pytest.raises(PermissionDenied):
        marking.correct_mark(session, exam.world.admin, response.id, "3", "改")
    assert written(session) == before
    assert session.scalar(select(ResponseMark.points).where(ResponseMark.marker_id == a.id)) == Decimal(2)


def test_a_confirmed_decision_ends_corrections(session, exam):
    a, b, _ = exam.markers
    response = exam.response(0)
    marking.submit_mark(session, a, response.id, "2")
    marking.submit_mark(session, b, response.id, "2.5")
    result = exam.result(0)
    now = dt.datetime.now(dt.UTC)
    session.add(LevelDecision(registration_id=result.registration_id, batch_id=exam.batch.id,
                              person_id=result.person_id, version=1, state="confirmed", outcome="failed", level=4,
                              decided_on=now.date(), reasons=[], inputs_json="{}", fingerprint="x" * 64,
                              decided_by_name="张主任", confirmed_by_name="张主任", confirmed_at=now))
    session.flush()
    before = written(session)
    with pytest.raises(ValidationError, match="认定结论已确认发布"):
        marking.correct_mark(session, a, response.id, "3", "改")
    assert written(session) == before
    assert marking.marking_view(session, a, response.id).correction_refused.startswith("该考生的认定结论已确认发布")


def test_the_marker_corrects_on_the_answer_page(session, client, login, exam):
    a, b, _ = exam.markers
    response = exam.response(0)
    marking.submit_mark(session, a, response.id, "2")
    marking.submit_mark(session, b, response.id, "4.4")
    login(a)
    page = client.get(f"/marking/responses/{response.id}").get_data(as_text=True)
    assert 'id="correct-form"' in page and "4.4" not in page
    url = f"/marking/responses/{response.id}/correct"
    refused = client.post(url, data={"points": "3", "reason": ""})
    assert refused.status_code == 400 and "请填写更正评分的原因" in refused.get_data(as_text=True)
    done = client.post(url, data={"points": "3", "reason": "要点二应得分"}, follow_redirects=True)
    body = done.get_data(as_text=True)
    assert "评分已更正" in body and 'id="own-history"' in body and "要点二应得分" in body and "4.4" not in body
    session.expire_all()
    assert session.scalar(select(ResponseMark.points).where(ResponseMark.marker_id == a.id)) == Decimal(3)
    login(exam.markers[2])  # a marker who did not mark it
    assert client.post(url, data={"points": "1", "reason": "x"}).status_code == 403
    login(exam.examiners[3])
    assert client.post(url, data={"points": "1", "reason": "x"}).status_code == 403
