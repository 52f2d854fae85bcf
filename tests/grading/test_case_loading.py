"""The engine's input from the database (grading.results.cases): one person's results and
violations across batches of two institutions, carry-over at 364 and 366 days, a re-sit, a
tier-3 violation, what is left out, and a fixed number of queries per batch."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import event

from foundation.settings import set_rule
from grading.results import competitions as comp
from grading.results.cases import batch_label, canonical_inputs, load_cases
from grading.results.competitions import CompetitionInput, RuleInput
from grading.results.decision import Component, ComponentResult, Method, Outcome, Violation, decide
from grading.results.models import CompetitionEntry
from tests.factories import make_occupation, valid_id_number
from tests.grading.results_worlds import ResultsWorld, day

T, S = Component.THEORY, Component.SKILL
ID = valid_id_number(4242, birth="19880808")


def _one(session, batch, today, reg):
    [loaded] = [c for c in load_cases(session, batch, day(today)) if c.registration_id == reg.id]
    return loaded


def _two_batches(session, skill_day: str, skill_score: float = 75):
    """The person sits theory (80) and skill (50) in A's March batch, then skill again in B's batch."""
    w = ResultsWorld(session)
    first = w.register(w.batch(w.a), w.candidate(w.a, id_number=ID))
    w.result(first, "theory", "2025-03-10", 80)
    w.result(first, "skill", "2025-03-11", 50)
    later = w.batch(w.b)
    second = w.register(later, w.candidate(w.b, id_number=ID))
    w.result(second, "skill", skill_day, skill_score)
    assert first.person_id == second.person_id
    return w, first, later, second


def test_carry_over_364_days_later_the_theory_pass_still_counts(session):
    w, first, later, second = _two_batches(session, "2026-03-09")
    loaded = _one(session, later, "2026-03-20", second)
    other = batch_label(first.batch_id)
    assert loaded.case.results == (
        ComponentResult(T, day("2025-03-10"), Decimal(80), batch=other),
        ComponentResult(S, day("2025-03-11"), Decimal(50), batch=other),
        ComponentResult(S, day("2026-03-09"), Decimal(75)),
    )
    assert loaded.case.scheme.required == (T, S) and loaded.case.scope == (5, 3)
    decision = decide(loaded.case, day("2026-03-20"))
    assert decision.outcome is Outcome.QUALIFIED and decision.qualified_on == day("2026-03-09")
    assert loaded.inputs["results"][0] == {"component": "theory", "sat_on": "2025-03-10", "score": 80,
                                           "batch": other}
    assert len(loaded.fingerprint) == 64


def test_carry_over_366_days_later_the_theory_pass_has_expired(session):
    w, first, later, second = _two_batches(session, "2026-03-11")
    loaded = _one(session, later, "2026-03-20", second)
    decision = decide(loaded.case, day("2026-03-20"))
    assert decision.outcome is Outcome.RESIT
    codes = {(r.code, r.component) for r in decision.reasons}
    assert ("expired", T) in codes and ("passed", S) in codes
    expired = next(r for r in decision.reasons if r.code == "expired")
    assert "2026年3月9日" in expired.text  # the last valid day, read from batch A's row


def test_a_resit_in_another_institution_counts_and_a_second_one_is_refused(session):
    w, first, later, second = _two_batches(session, "2025-06-10", 55)  # the one re-sit, failed
    third_batch = w.batch(w.a)
    third = w.register(third_batch, w.candidate(w.a, id_number=ID))  # the same account of A's
    w.result(third, "skill", "2025-09-10", 90)
    decision = decide(_one(session, later, "2025-06-20", second).case, day("2025-06-20"))
    assert decision.outcome is Outcome.FAILED
    assert {r.code for r in decision.reasons} >= {"failed_no_resit"}
    loaded = _one(session, third_batch, "2025-09-20", third)
    assert [(r.component, r.sat_on, r.batch) for r in loaded.case.results] == [
        (T, day("2025-03-10"), batch_label(first.batch_id)), (S, day("2025-03-11"), batch_label(first.batch_id)),
        (S, day("2025-06-10"), batch_label(later.id)), (S, day("2025-09-10"), None)]
    decision = decide(loaded.case, day("2025-09-20"))
    assert decision.outcome is Outcome.FAILED
    assert "resit_refused" in {r.code for r in decision.reasons}


def test_a_later_batchs_results_are_not_this_registrations(session):
    """B's re-sit qualifies B's registration; A's decision, made again later, stays as it was."""
    w, first, later, second = _two_batches(session, "2025-06-10", 90)
    loaded = _one(session, w.session.get(type(later), first.batch_id), "2025-07-01", first)
    assert all(r.batch is None for r in loaded.case.results)
    assert decide(loaded.case, day("2025-07-01")).outcome is Outcome.RESIT
    assert decide(_one(session, later, "2025-07-01", second).case, day("2025-07-01")).outcome is Outcome.QUALIFIED


def test_a_tier_3_violation_in_another_institution_bars_the_person_for_the_year(session):
    w = ResultsWorld(session)
    first = w.register(w.batch(w.a), w.candidate(w.a, id_number=ID))
    w.result(first, "theory", "2025-03-10", 80)
    w.violation(first, 3, "2025-03-10")
    later = w.batch(w.b)
    second = w.register(later, w.candidate(w.b, id_number=ID))
    w.result(second, "theory", "2025-06-10", 85)
    w.result(second, "skill", "2025-06-11", 88)
    loaded = _one(session, later, "2025-06-20", second)
    assert loaded.case.violations == (Violation(3, day("2025-03-10"), batch=batch_label(first.batch_id)),)
    decision = decide(loaded.case, day("2025-06-20"))
    assert decision.outcome is Outcome.FAILED
    codes = {r.code for r in decision.reasons}
    assert {"banned", "void_banned"} <= codes
    banned = next(r for r in decision.reasons if r.code == "banned")
    assert banned.valid_until == day("2025-12-31")


def test_tier_3_of_another_occupation_bars_too_but_its_results_are_not_carried(session):
    w = ResultsWorld(session)
    other_occupation = w.batch(w.a, occupation_id=make_occupation(session).id)
    elsewhere = w.register(other_occupation, w.candidate(w.a, id_number=ID))
    w.result(elsewhere, "theory", "2025-03-10", 99)
    w.violation(elsewhere, 3, "2025-03-10")
    batch = w.batch(w.b)
    reg = w.register(batch, w.candidate(w.b, id_number=ID))
    w.result(reg, "theory", "2025-04-10", 70)
    loaded = _one(session, batch, "2025-04-20", reg)
    assert [r.batch for r in loaded.case.results] == [None]
    assert [v.tier for v in loaded.case.violations] == [3]


def test_tiers_1_2_and_4_follow_their_own_results_and_registration(session):
    w = ResultsWorld(session)
    first = w.register(w.batch(w.a), w.candidate(w.a, id_number=ID))
    w.result(first, "theory", "2025-03-10", 30, state="void")
    w.violation(first, 2, "2025-03-10", "theory")
    w.violation(first, 4, "2025-03-10")  # holds A's result, not B's
    later = w.batch(w.b)
    second = w.register(later, w.candidate(w.b, id_number=ID))
    w.result(second, "theory", "2025-05-10", 75)
    w.result(second, "skill", "2025-05-11", 75)
    loaded = _one(session, later, "2025-05-20", second)
    label = batch_label(first.batch_id)
    assert loaded.case.violations == (Violation(2, day("2025-03-10"), T, batch=label),)
    assert ComponentResult(T, day("2025-03-10"), Decimal(30), void=True, batch=label) in loaded.case.results
    assert decide(loaded.case, day("2025-05-20")).outcome is Outcome.QUALIFIED
    own = _one(session, w.session.get(type(later), first.batch_id), "2025-05-20", first)
    assert decide(own.case, day("2025-05-20")).outcome is Outcome.HELD
    for item in (loaded, own):  # other batches' results, void scores, violations: the same canonical text
        assert (item.inputs_json, item.fingerprint) == canonical_inputs(item.case)


def test_a_released_hold_no_longer_holds_the_decision(session):
    import datetime as dt

    w = ResultsWorld(session)
    batch = w.batch(w.a)
    reg = w.register(batch, w.candidate(w.a, id_number=ID))
    w.result(reg, "theory", "2025-03-10", 80)
    w.result(reg, "skill", "2025-03-11", 80)
    hold = w.violation(reg, 4, "2025-03-11")
    assert decide(_one(session, batch, "2025-03-20", reg).case, day("2025-03-20")).outcome is Outcome.HELD
    hold.released_at = dt.datetime(2025, 3, 15, tzinfo=dt.UTC)  # the centre released it (/holds)
    session.flush()
    loaded = _one(session, batch, "2025-03-20", reg)
    assert loaded.case.violations == ()
    assert decide(loaded.case, day("2025-03-20")).outcome is Outcome.QUALIFIED


def test_results_older_than_twice_the_validity_are_left_out(session):
    w = ResultsWorld(session)
    old = w.register(w.batch(w.a), w.candidate(w.a, id_number=ID))
    w.result(old, "theory", "2023-03-09", 80)
    w.result(old, "skill", "2023-03-10", 80)
    batch = w.batch(w.b)
    reg = w.register(batch, w.candidate(w.b, id_number=ID))
    w.result(reg, "theory", "2025-03-10", 90)
    loaded = _one(session, batch, "2025-03-20", reg)
    assert [(r.component, r.sat_on) for r in loaded.case.results] == [(S, day("2023-03-10")), (T, day("2025-03-10"))]
    assert decide(loaded.case, day("2025-03-20")).outcome is Outcome.RESIT  # skill expired: sit it again


def test_not_decidable_while_a_result_is_pending_or_missing(session):
    w = ResultsWorld(session)
    batch = w.batch(w.a)
    scoring = w.register(batch, w.candidate(w.a))
    w.result(scoring, "theory", "2025-03-10", 80)
    w.result(scoring, "skill", "2025-03-11", None, state="pending")
    nothing = w.register(batch, w.candidate(w.a))
    orphan = w.register(batch, w.candidate(w.a))
    w.result(orphan, "skill", "2025-03-11", 70)
    w.violation(orphan, 1, "2025-03-10", "theory")  # its theory result is not in yet
    loaded = {c.registration_id: c for c in load_cases(session, batch, day("2025-03-20"))}
    assert loaded[scoring.id].case is None and loaded[scoring.id].problems == ("「技能操作考核」成绩尚未评定完毕。",)
    assert loaded[nothing.id].problems == ("本批次尚无成绩。",)
    assert "违纪找不到对应的成绩记录" in loaded[orphan.id].problems[0]
    assert not loaded[scoring.id].fingerprint


def test_the_rules_and_the_scheme_come_from_the_database(session):
    w = ResultsWorld(session)
    batch = w.batch(w.a)
    reg = w.register(batch, w.candidate(w.a))
    w.result(reg, "theory", "2025-03-10", 80)
    before = _one(session, batch, "2025-03-20", reg)
    set_rule(session, w.centre, "results_rules", {
        "validity_months": 24, "resits": 2, "absence_counts_as_attempt": False, "promotions_per_year": 1,
        "recheck_working_days": 5})
    after = _one(session, batch, "2025-03-20", reg)
    assert (after.case.rules.validity_months, after.case.rules.resits) == (24, 2)
    assert not after.case.rules.absence_counts_as_attempt
    assert after.fingerprint != before.fingerprint  # a rule is an input


def test_a_competition_registration_reads_its_competitions_and_the_persons_promotions(session):
    w = ResultsWorld(session)
    batch = w.batch(w.a, level=3)
    cand = w.candidate(w.a)
    reg = w.register(batch, cand, method="competition")
    [loaded] = load_cases(session, batch, day("2025-03-20"))
    assert loaded.case.scheme.method is Method.COMPETITION and loaded.case.competitions == ()
    assert decide(loaded.case, day("2025-03-20")).reasons[0].code == "no_competition"
    assert loaded.registration_id == reg.id
    # A filed provincial competition of the batch's occupation, its gold medal, and the rule.
    contest = comp.create_competition(session, w.centre, CompetitionInput(
        name="2025年吉林省电工职业技能大赛", competition_class="省级一类", organiser="吉林省人力资源和社会保障厅",
        occupation_id=batch.occupation_id, starts_on=day("2025-03-01"), ends_on=day("2025-03-03"), filed=True,
        filing_no="吉人社竞备〔2025〕1号"))
    session.add(CompetitionEntry(competition_id=contest.id, person_id=cand.person_id, name=cand.name, award="金牌",
                                 contestant_type="职工"))
    comp.add_rule(session, w.centre, RuleInput(competition_class="省级一类", criterion="award", value="金牌",
                                               conferred_level=3, contestant_type="职工"))
    session.flush()
    [loaded] = load_cases(session, batch, day("2025-03-20"))
    assert [c.name for c in loaded.case.competitions] == ["2025年吉林省电工职业技能大赛"]
    decision = decide(loaded.case, day("2025-03-20"))
    assert decision.outcome is Outcome.QUALIFIED and decision.reasons[-1].code == "competition_recognised"


def _statements(session, fn) -> int:
    count = 0

    def listener(*args):
        nonlocal count
        count += 1

    engine = session.get_bind().engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return count


def test_a_batch_is_loaded_with_the_same_queries_whatever_its_size(session):
    w = ResultsWorld(session)
    small, large = w.batch(w.a), w.batch(w.b)
    for batch, n in ((small, 2), (large, 12)):
        for k in range(n):
            reg = w.register(batch, w.candidate(batch.institution))
            w.result(reg, "theory", "2025-03-10", 50 + k)
            w.result(reg, "skill", "2025-03-11", 60 + k)
            if k % 3 == 0:
                w.violation(reg, 1, "2025-03-11", "skill")
    session.expire_all()
    counts = [_statements(session, lambda b=b: load_cases(session, session.get(type(b), b.id), day("2025-03-20")))
              for b in (small, large)]
    assert counts[0] == counts[1] <= 9, counts  # incl. two rule reads (results_rules, panel_rules)


def test_registrations_with_equal_rows_share_one_case_and_its_fingerprint(session):
    """The loader makes one case (one canonical text, one SHA-256) for equal inputs, and only for
    equal inputs: a different score, a violation or rows from another batch make another."""
    w = ResultsWorld(session)
    batch = w.batch(w.a)
    regs = [w.register(batch, w.candidate(w.a)) for _ in range(5)]
    for reg in regs:
        w.result(reg, "theory", "2025-03-10", 70)
        w.result(reg, "skill", "2025-03-11", 65)
    w.result(regs[2], "skill", "2025-03-12", 66)  # a later sitting: another case
    w.violation(regs[3], 4, "2025-03-11")  # a hold: another case
    loaded = {c.registration_id: c for c in load_cases(session, batch, day("2025-03-20"))}
    same, resit, held, other = loaded[regs[0].id], loaded[regs[2].id], loaded[regs[3].id], loaded[regs[4].id]
    assert loaded[regs[1].id].case is same.case and other.case is same.case
    assert other.key == same.key and other.fingerprint == same.fingerprint and other.inputs_json == same.inputs_json
    assert len({same.key, resit.key, held.key}) == 3
    assert len({same.fingerprint, resit.fingerprint, held.fingerprint}) == 3
    assert held.case.violations == (Violation(tier=4, on=day("2025-03-11")),)
    assert decide(held.case, day("2025-03-20")).outcome is Outcome.HELD
    assert decide(same.case, day("2025-03-20")).outcome is Outcome.QUALIFIED
    for item in loaded.values():  # the text written piece by piece is the whole case's canonical JSON
        assert (item.inputs_json, item.fingerprint) == canonical_inputs(item.case)
