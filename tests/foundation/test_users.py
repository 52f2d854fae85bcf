"""Who may create and edit which accounts, and what makes an account valid."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from foundation.accounts import User, can_manage, create_user, update_user
from foundation.errors import PermissionDenied, ValidationError
from foundation.roles import Role
from tests.factories import make_institution, make_user, valid_id_number


def _count(session):
    return session.scalar(select(func.count()).select_from(User))


def test_centre_creates_institution_admin_and_institution_admin_creates_staff(session):
    centre = make_user(session, Role.CENTRE_ADMIN)
    inst = make_institution(session)
    ia = create_user(session, centre, role=Role.INSTITUTION_ADMIN, name="机构管理员", username="ia_x",
                     password="Qilin-Gate-73", institution_id=inst.id)
    proctor = create_user(session, ia, role=Role.PROCTOR, name="监考甲", username="proctor_x", password="Qilin-Gate-73")
    assert proctor.institution_id == inst.id
    cand = create_user(session, ia, role=Role.CANDIDATE, name="考生甲", id_number=valid_id_number(7))
    assert cand.password_hash is None and cand.institution_id == inst.id


@pytest.mark.parametrize(
    ("actor_role", "target_role", "same_institution", "allowed"),
    [
        (Role.CENTRE_ADMIN, Role.INSTITUTION_ADMIN, False, True),
        (Role.CENTRE_ADMIN, Role.SUPERVISOR, False, True),
        (Role.CENTRE_ADMIN, Role.CANDIDATE, False, False),  # candidates belong to institutions
        (Role.INSTITUTION_ADMIN, Role.PROCTOR, True, True),
        (Role.INSTITUTION_ADMIN, Role.CANDIDATE, True, True),
        (Role.INSTITUTION_ADMIN, Role.PROCTOR, False, False),  # another institution
        (Role.INSTITUTION_ADMIN, Role.INSTITUTION_ADMIN, True, False),
        (Role.INSTITUTION_ADMIN, Role.SUPERVISOR, True, True),  # its own 质量督导员 (issue 11 point 5)
        (Role.INSTITUTION_ADMIN, Role.SUPERVISOR, False, False),
        (Role.INSTITUTION_ADMIN, Role.CENTRE_ADMIN, True, False),
        (Role.PROCTOR, Role.CANDIDATE, True, False),
        (Role.QUESTION_WRITER, Role.QUESTION_WRITER, True, False),
    ],
)
def test_management_matrix(session, actor_role, target_role, same_institution, allowed):
    inst = make_institution(session)
    other = make_institution(session)
    actor = make_user(session, actor_role, institution=inst) if actor_role != Role.CENTRE_ADMIN else make_user(session)
    assert can_manage(actor, target_role, inst.id if same_institution else other.id) is allowed


def test_institution_admin_cannot_touch_another_institutions_accounts(session):
    ia = make_user(session, Role.INSTITUTION_ADMIN)
    foreign = make_user(session, Role.PROCTOR)
    with pytest.raises(PermissionDenied):
        update_user(session, ia, foreign.id, name="改名")
    with pytest.raises(PermissionDenied):
        create_user(session, ia, role=Role.PROCTOR, name="x", username="xx_y", password="Qilin-Gate-73",
                    institution_id=foreign.institution_id)
    session.refresh(foreign)
    assert foreign.name != "改名"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"role": Role.CANDIDATE, "id_number": "220102199003074510"}, "校验位"),
        ({"role": Role.CANDIDATE, "id_number": None}, "身份证"),
        ({"role": Role.PROCTOR, "username": "ab", "password": "Qilin-Gate-73"}, "用户名"),
        ({"role": Role.PROCTOR, "username": "good_name", "password": "short1"}, "至少 8 位"),
        ({"role": Role.PROCTOR, "username": "good_name", "password": "onlyletters"}, "字母和数字"),
    ],
)
def test_invalid_accounts_are_refused_and_nothing_is_written(session, fields, message):
    ia = make_user(session, Role.INSTITUTION_ADMIN)
    before = _count(session)
    with pytest.raises(ValidationError, match=message):
        create_user(session, ia, name="某人", **fields)
    assert _count(session) == before


def test_duplicates_refused(session):
    ia = make_user(session, Role.INSTITUTION_ADMIN)
    make_user(session, Role.PROCTOR, username="same_name", institution=ia.institution)
    with pytest.raises(ValidationError, match="已被使用"):
        create_user(session, ia, role=Role.PROCTOR, name="x", username="SAME_name", password="Qilin-Gate-73")
    id_no = valid_id_number(11)
    create_user(session, ia, role=Role.CANDIDATE, name="甲", id_number=id_no)
    with pytest.raises(ValidationError, match="相同身份证"):
        create_user(session, ia, role=Role.CANDIDATE, name="丙", id_number=id_no)


def test_role_institution_rules_hold_in_the_database(session):
    """The CHECK constraints back the service rules even against direct writes."""
    from sqlalchemy.exc import IntegrityError

    nested = session.begin_nested()
    session.add(User(role="proctor", name="无机构", username="no_inst", password_hash="x"))
    with pytest.raises(IntegrityError):
        session.flush()
    nested.rollback()


def test_cannot_deactivate_self(session):
    centre = make_user(session, Role.CENTRE_ADMIN)
    with pytest.raises(ValidationError, match="自己"):
        update_user(session, centre, centre.id, active=False)


def test_pages_list_only_own_institution(session, client, login):
    ia = make_user(session, Role.INSTITUTION_ADMIN)
    mine = make_user(session, Role.PROCTOR, name="本机构监考", institution=ia.institution)
    theirs = make_user(session, Role.PROCTOR, name="外机构监考")
    login(ia)
    body = client.get("/users/").get_data(as_text=True)
    assert "本机构监考" in body and "外机构监考" not in body
    assert client.get(f"/users/{theirs.id}").status_code == 403
    assert client.get(f"/users/{mine.id}").status_code == 200


def test_pages_create_search_paginate_and_deactivate(session, client, login):
    ia = make_user(session, Role.INSTITUTION_ADMIN)
    login(ia)
    resp = client.post("/users/new", data={"role": "candidate", "name": "王小明", "id_number": valid_id_number(21),
                                           "candidate_category": "dispatched"})
    assert resp.status_code == 302
    bad = client.post("/users/new", data={"role": "candidate", "name": "坏号", "id_number": "220102199003074510"})
    assert bad.status_code == 400 and "校验位" in bad.get_data(as_text=True)
    for n in range(25):
        make_user(session, Role.CANDIDATE, institution=ia.institution, name=f"批量考生{n:02d}")
    page1 = client.get("/users/?role=candidate").get_data(as_text=True)
    assert "共 26 条" in page1 and "下一页" in page1
    found = client.get("/users/?q=王小明").get_data(as_text=True)
    assert "王小明" in found and "批量考生" not in found
    target = session.scalar(select(User).where(User.id_number == valid_id_number(21)))
    assert client.post(f"/users/{target.id}/active", data={}).status_code == 302
    session.refresh(target)
    assert target.active  # not confirmed: unchanged
    client.post(f"/users/{target.id}/active", data={"confirm": "y"})
    session.refresh(target)
    assert not target.active


def test_centre_sees_everyone_but_edits_only_what_it_manages(session, client, login):
    centre = make_user(session, Role.CENTRE_ADMIN)
    ia = make_user(session, Role.INSTITUTION_ADMIN, name="某机构管理员")
    proctor = make_user(session, Role.PROCTOR, name="某监考员", institution=ia.institution)
    login(centre)
    body = client.get(f"/users/?institution={ia.institution_id}").get_data(as_text=True)
    assert "某机构管理员" in body and "某监考员" in body
    assert f"/users/{ia.id}" in body and f"/users/{proctor.id}" not in body
    assert client.get(f"/users/{proctor.id}").status_code == 403
