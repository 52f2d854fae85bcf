"""Registrations follow the person: each batch registration records its account's person and
evaluation method, and a person is registered in a batch at most once."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from examroom import batches
from examroom import candidate_import as imp
from examroom.models import REGISTRATION_METHODS, BatchCandidate
from foundation.errors import ValidationError
from foundation.roles import Role
from grading.results.decision import Method
from tests.examroom.worlds import World, gender, ident, xlsx
from tests.factories import make_institution, make_user


def test_the_registration_methods_are_the_engines():
    assert set(REGISTRATION_METHODS) == {m.value for m in Method}


@pytest.mark.parametrize("path", ["add", "import", "form"])
def test_every_way_onto_a_list_records_the_person(session, path):
    world = World(session)
    batch = world.batch()
    n = ident(741)
    if path == "add":
        user = make_user(session, Role.CANDIDATE, institution=world.inst, name="周一", id_number=n)
        batches.add_candidates(session, world.admin, batch.id, [user.id])
    elif path == "import":
        imp.import_candidates(session, world.admin, batch.id, xlsx([["周一", n, gender(n), "13700000000", ""]]))
    else:
        imp.add_candidate(session, world.admin, batch.id, name="周一", id_number=n.lower(), phone="13700000000")
    (entry,) = batch.candidates
    assert entry.person_id is not None and entry.person_id == entry.candidate.person_id
    assert entry.candidate.person.id_number == n and entry.method == "assessment"


@pytest.mark.parametrize("second", ["same_call", "later_call"])
def test_one_person_through_two_accounts_is_refused_in_one_batch(session, second):
    world = World(session)
    batch = world.batch()
    first = make_user(session, Role.CANDIDATE, institution=world.inst, name="吴二", id_number=ident(742))
    # A second account of the same person (e.g. from before accounts were checked per person).
    other = make_user(session, Role.CANDIDATE, institution=world.inst, name="吴二", id_number=ident(742),
                      person=first.person)
    with pytest.raises(ValidationError, match="同一人在同一批次只能报名一次"):
        if second == "same_call":
            batches.add_candidates(session, world.admin, batch.id, [first.id, other.id])
        else:
            batches.add_candidates(session, world.admin, batch.id, [first.id])
            batches.add_candidates(session, world.admin, batch.id, [other.id])
    assert [c.candidate_id for c in batch.candidates] == ([] if second == "same_call" else [first.id])
    if second == "later_call":
        with pytest.raises(IntegrityError), session.begin_nested():  # the database agrees
            session.add(BatchCandidate(batch_id=batch.id, candidate_id=other.id, category="other", ticket_no="DUP1"))
            session.flush()


def test_the_import_links_a_known_person_and_refuses_a_different_name(session):
    world = World(session)
    n = ident(743)
    elsewhere = make_user(session, Role.CANDIDATE, institution=make_institution(session), name="郑三", id_number=n)
    result = imp.import_candidates(session, world.admin, world.batch().id,
                                   xlsx([["郑三", n, gender(n), "13700000000", ""]]))
    assert result.created == 1
    batch = world.batch()
    m = ident(744)
    make_user(session, Role.CANDIDATE, institution=make_institution(session), name="王四", id_number=m)
    with pytest.raises(ValidationError) as refused:
        imp.import_candidates(session, world.admin, batch.id, xlsx([["王五", m, gender(m), "13700000000", ""]]))
    assert "已登记为「王四」" in str(refused.value.errors) and batch.candidates == []
    new_account = session.get(BatchCandidate, session.query(BatchCandidate.id).filter(
        BatchCandidate.person_id == elsewhere.person_id).scalar()).candidate
    assert new_account is not elsewhere and new_account.person is elsewhere.person


def test_a_method_outside_the_engines_is_refused_by_the_database(session):
    world = World(session)
    batch = world.batch()
    user = make_user(session, Role.CANDIDATE, institution=world.inst)
    (entry,) = batches.add_candidates(session, world.admin, batch.id, [user.id])
    with pytest.raises(IntegrityError), session.begin_nested():
        entry.method = "interview"
        session.flush()
