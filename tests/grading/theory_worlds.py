"""Shared setup of the theory-marking tests (fixtures only, no tests).

``MarkingExam``: the exam-room ``Exam`` (a 10-point paper whose 4th item is a 5-point short
answer), four examiners on the batch (the plan's, added as rows: an acknowledged plan is not
edited), three of them named markers of the sitting by the institution admin, and the given
candidates' short answers submitted.
"""

from __future__ import annotations

from sqlalchemy import select

from examroom import attempts
from examroom.models import BatchStaff, Response
from foundation.roles import Role
from grading.results import marking
from grading.results.models import ComponentResult
from tests.examroom.worlds import MIN, T0, Exam
from tests.factories import make_user

ANSWERS = ("采用绝缘、屏护和保持安全距离，设备可靠接地。", "我不知道，但会小心用电。", "穿绝缘鞋。", "断电作业。")


class MarkingExam(Exam):
    def __init__(self, session, *, answered=(0, 1)):
        super().__init__(session)
        inst = self.world.inst
        self.examiners = [make_user(session, Role.EXAMINER, institution=inst) for _ in range(4)]
        for e in self.examiners:
            session.add(BatchStaff(batch_id=self.batch.id, user_id=e.id, role="examiner"))
        session.flush()
        self.markers = self.examiners[:3]  # the 4th is an examiner of the batch but no marker
        for m in self.markers:
            marking.assign_marker(session, self.world.admin, self.sitting.id, m.id)
        self.attempts = {}
        for k in answered:
            attempt = self.started(k)
            self.answer(attempt, 1, 1, "B", T0 + 5 * MIN, k=k)  # 2 points
            self.answer(attempt, 4, 2, ANSWERS[k], T0 + 6 * MIN, k=k)
            attempts.submit_attempt(session, self.candidates[k], attempt.id, T0 + 40 * MIN)
            self.attempts[k] = attempt

    def response(self, k):
        """The short-answer response of candidate k."""
        return self.session.scalar(select(Response).where(Response.attempt_id == self.attempts[k].id,
                                                          Response.position == 4))

    def result(self, k):
        return self.session.scalar(select(ComponentResult).where(ComponentResult.attempt_id == self.attempts[k].id))
