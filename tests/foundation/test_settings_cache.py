"""Rules read with ``max_age``: the exam room's per-event read of ``room_rules`` is served from
memory, while a change made in this process is seen at once and a rolled-back one never."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from foundation import settings
from foundation.settings import DEFAULT_RULES, Setting, get_rule, set_rule
from tests.examroom.worlds import statements
from tests.factories import make_user

RULE = "room_rules"


@pytest.fixture
def centre(session):
    return make_user(session)


def _set_behind_the_cache(session, value):
    """What another server process does: the row changes, this process's cache does not know."""
    session.execute(update(Setting).where(Setting.key == RULE).values(value_json=json.dumps(value)))


def test_a_cached_read_costs_no_query_until_it_is_older_than_max_age(session, centre, monkeypatch):
    set_rule(session, centre, RULE, {"late_entry_minutes": 10, "earliest_submit_minutes": 20})
    session.commit()
    clock = [1000.0]
    monkeypatch.setattr(settings.time, "monotonic", lambda: clock[0])
    with statements(session) as first:
        assert get_rule(session, RULE, max_age=5)["late_entry_minutes"] == 10
    session.expire_all()
    _set_behind_the_cache(session, {"late_entry_minutes": 12, "earliest_submit_minutes": 20})
    clock[0] += 4.9
    with statements(session) as cached:
        assert get_rule(session, RULE, max_age=5)["late_entry_minutes"] == 10
    assert len(first) >= 1 and cached == []
    assert get_rule(session, RULE)["late_entry_minutes"] == 12  # without max_age: always read
    clock[0] += 0.2
    assert get_rule(session, RULE, max_age=5)["late_entry_minutes"] == 12


def test_a_change_in_this_process_is_seen_at_once(session, centre):
    assert get_rule(session, RULE, max_age=60) == DEFAULT_RULES[RULE]
    set_rule(session, centre, RULE, {"late_entry_minutes": 5, "earliest_submit_minutes": 45})
    assert get_rule(session, RULE, max_age=60)["earliest_submit_minutes"] == 45
    session.commit()
    assert get_rule(session, RULE, max_age=60)["earliest_submit_minutes"] == 45


def test_a_rolled_back_change_is_not_left_in_the_cache(session, centre):
    set_rule(session, centre, RULE, {"late_entry_minutes": 5, "earliest_submit_minutes": 30})
    session.commit()
    assert get_rule(session, RULE, max_age=60)["late_entry_minutes"] == 5
    set_rule(session, centre, RULE, {"late_entry_minutes": 99, "earliest_submit_minutes": 30})
    assert get_rule(session, RULE, max_age=60)["late_entry_minutes"] == 99  # this transaction sees it
    session.rollback()
    assert get_rule(session, RULE, max_age=60)["late_entry_minutes"] == 5
    assert get_rule(session, RULE, max_age=60)["late_entry_minutes"] == 5  # and caches the committed one


def test_the_exam_room_reads_room_rules_from_the_cache(session):
    from examroom import attempts as svc
    from tests.examroom.worlds import MIN, T0, Exam

    exam = Exam(session)
    attempt = exam.started()
    session.flush()
    exam.answer(attempt, 1, 1, "A", T0 + 2 * MIN)
    session.flush()
    with statements(session) as seen:
        assert exam.answer(attempt, 2, 2, "B", T0 + 3 * MIN).changes
        svc.attempt_rules(session, attempt.exam_session)
    assert not any("FROM setting" in s for s in seen)
