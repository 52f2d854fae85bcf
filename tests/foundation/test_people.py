"""People (foundation.people): ID validation and normalisation per ID type, one person per
(ID type, number), and every candidate account linked to its person."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from foundation.accounts import create_user, update_user
from foundation.errors import ValidationError
from foundation.idcard import check_digit
from foundation.people import IdType, Person, id_problem, normalise_number, person_for
from foundation.roles import Role
from tests.factories import make_institution, make_user, valid_id_number


def _with_check(first17: str) -> str:
    return first17 + check_digit(first17)


def _full_width(value: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in value)


def _bad_check(value: str) -> str:
    return value[:17] + next(c for c in "0123456789X" if c != value[17])


RESIDENT = valid_id_number(17)
HMT = {p: _with_check(f"{p}19900101{s:03d}") for p, s in (("810000", 11), ("820000", 12), ("830000", 13))}
FOREIGN_NEW = _with_check("91560019900101001")
VALID = [(IdType.RESIDENT_ID, RESIDENT), *((IdType.HMT_RESIDENCE, v) for v in HMT.values()),
         (IdType.FOREIGN_PERMANENT, FOREIGN_NEW), (IdType.FOREIGN_PERMANENT, "USA110090011234"),
         (IdType.PASSPORT, "E12345678"), (IdType.PASSPORT, "K1234567")]
X_RESIDENT = next(v for v in (valid_id_number(n) for n in range(1000)) if v.endswith("X"))


@pytest.mark.parametrize(("kind", "number"), VALID)
def test_every_id_type_accepts_its_numbers_in_any_width_and_case(kind, number):
    for written in (number, number.lower(), _full_width(number), f" {number[:6]} {number[6:]} "):
        assert id_problem(kind, written) is None, written
        assert normalise_number(written) == number


@pytest.mark.parametrize("kind", [IdType.RESIDENT_ID, IdType.HMT_RESIDENCE, IdType.FOREIGN_PERMANENT])
def test_a_wrong_check_character_is_refused_for_every_checksummed_type(kind):
    good = {IdType.RESIDENT_ID: RESIDENT, IdType.HMT_RESIDENCE: HMT["810000"],
            IdType.FOREIGN_PERMANENT: FOREIGN_NEW}[kind]
    assert "校验位" in (id_problem(kind, _bad_check(good)) or "")


def test_a_lower_case_x_check_character_is_the_same_number():
    assert id_problem(IdType.RESIDENT_ID, X_RESIDENT.lower()) is None
    assert normalise_number(X_RESIDENT.lower()) == X_RESIDENT


@pytest.mark.parametrize(("kind", "number"), [
    (IdType.RESIDENT_ID, ""), (IdType.RESIDENT_ID, RESIDENT[:17]), (IdType.RESIDENT_ID, RESIDENT + "1"),
    (IdType.RESIDENT_ID, "22010219901301001" + check_digit("22010219901301001")),  # month 13
    (IdType.HMT_RESIDENCE, RESIDENT),  # a mainland number is not a residence permit
    (IdType.FOREIGN_PERMANENT, "US1100900112345"), (IdType.FOREIGN_PERMANENT, RESIDENT),
    (IdType.PASSPORT, "E12"), (IdType.PASSPORT, "E1234-5678"), (IdType.PASSPORT, "护照12345"),
    (IdType.PASSPORT, "E" * 19),
])
def test_malformed_numbers_are_refused_with_a_chinese_reason(kind, number):
    problem = id_problem(kind, number)
    assert problem and any("\u4e00" <= ch <= "\u9fff" for ch in problem)


def test_one_person_per_id_type_and_number(session):
    first = person_for(session, None, IdType.RESIDENT_ID, RESIDENT, "张三")
    assert person_for(session, None, "resident_id", _full_width(RESIDENT), " 张三") is first
    with pytest.raises(ValidationError, match="不一致"):
        person_for(session, None, IdType.RESIDENT_ID, RESIDENT, "张四")
    passport = person_for(session, None, IdType.PASSPORT, "e1234567", "John")
    assert passport is not first and passport.id_number == "E1234567"
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(Person(id_type="resident_id", id_number=RESIDENT, name="张三"))
        session.flush()


def test_accounts_of_one_id_in_two_institutions_link_to_one_person(session):
    a, b, c = (make_user(session, Role.INSTITUTION_ADMIN, institution=make_institution(session)) for _ in range(3))
    number = valid_id_number(611)
    one = create_user(session, a, role=Role.CANDIDATE, name="王五", id_number=number)
    two = create_user(session, b, role=Role.CANDIDATE, name="王五", id_number=_full_width(number.lower()))
    assert one.person is not None and one.person is two.person
    assert two.id_number == number
    assert session.scalar(select(func.count()).select_from(Person).where(Person.id_number == number)) == 1
    with pytest.raises(ValidationError, match="不一致"):
        create_user(session, c, role=Role.CANDIDATE, name="王六", id_number=number)
    passport = create_user(session, a, role=Role.CANDIDATE, name="Anna", id_number="g1234567", id_type="passport")
    assert passport.person.id_type == "passport" and passport.id_number == "G1234567"
    update_user(session, a, passport.id, phone="13800000000")  # the passport still validates
    with pytest.raises(ValidationError, match="证件类型"):
        create_user(session, a, role=Role.CANDIDATE, name="甲", id_number=number, id_type="driving_licence")


def test_a_candidate_account_without_a_person_is_refused_by_the_database(session):
    with pytest.raises(IntegrityError), session.begin_nested():
        make_user(session, Role.CANDIDATE, person=None)


def test_the_account_page_creates_a_candidate_of_any_id_type_linked_to_a_person(session, client, login):
    admin = make_user(session, Role.INSTITUTION_ADMIN, institution=make_institution(session))
    login(admin)
    assert "护照" in client.get("/users/new?role=candidate").get_data(as_text=True)
    for id_type, number, expected in (("passport", "ｅ１２３４５６７８", "E12345678"),
                                      ("hmt_residence", HMT["820000"].lower(), HMT["820000"])):
        response = client.post("/users/new", data={"role": "candidate", "name": "陈七", "id_type": id_type,
                                                   "id_number": number, "candidate_category": "other"})
        assert response.status_code == 302, response.get_data(as_text=True)
        person = session.scalar(select(Person).where(Person.id_number == expected))
        assert person is not None and person.id_type == id_type and person.name == "陈七"
    refused = client.post("/users/new", data={"role": "candidate", "name": "陈八", "id_type": "hmt_residence",
                                              "id_number": _bad_check(HMT["830000"]), "candidate_category": "other"})
    assert refused.status_code != 302 and "校验位" in refused.get_data(as_text=True)


def test_a_corrected_name_is_the_persons_name(session):
    admin = make_user(session, Role.INSTITUTION_ADMIN, institution=make_institution(session))
    user = create_user(session, admin, role=Role.CANDIDATE, name="赵久", id_number=valid_id_number(612))
    update_user(session, admin, user.id, name="赵玖")
    assert user.person.name == "赵玖"
    other = make_user(session, Role.INSTITUTION_ADMIN, institution=make_institution(session))
    again = create_user(session, other, role=Role.CANDIDATE, name="赵玖", id_number=valid_id_number(612))
    assert again.person is user.person
