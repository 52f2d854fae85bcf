"""Small factories for tests: rows made directly, with sensible valid defaults."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation.accounts import User
from foundation.idcard import check_digit
from foundation.institutions import Institution
from foundation.occupations import Occupation, WorkType
from foundation.people import Person
from foundation.roles import Role

PASSWORD = "Passw0rd!"
_counter = itertools.count(1)

# The factories' password hash: scrypt at n=2**4 instead of the production 2**14, whose check
# costs about 40 ms, paid at each of the suite's thousands of logins. ``check_password`` reads the
# cost from the stored hash, so a factory user logs in as any other; what the services store has
# the production cost (tests/foundation/test_passwords.py checks it).
_CHEAP_SCRYPT = {"n": 2**4, "r": 8, "p": 1}


def cheap_hash(password: str) -> str:
    salt = secrets.token_hex(16)
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), dklen=64, **_CHEAP_SCRYPT).hex()
    return f"scrypt${_CHEAP_SCRYPT['n']}${_CHEAP_SCRYPT['r']}${_CHEAP_SCRYPT['p']}${salt}${digest}"


_HASH = cheap_hash(PASSWORD)


def valid_id_number(serial: int, birth: str | None = None, region: str = "220102") -> str:
    """A valid resident ID number, distinct for every ``serial`` (the sequence holds three
    digits, so without a given ``birth`` the birth day moves on every 1,000 serials)."""
    if birth is None:
        birth = (dt.date(1990, 1, 1) + dt.timedelta(days=serial // 1000)).strftime("%Y%m%d")
    first17 = f"{region}{birth}{serial % 1000:03d}"
    return first17 + check_digit(first17)


def make_institution(session: Session, **fields: Any) -> Institution:
    n = next(_counter)
    values: dict[str, Any] = {
        "name": f"测试评价机构{n}",
        "kind": "association",
        "tier": "city",
        "status": "applied",
    }
    values.update(fields)
    inst = Institution(**values)
    session.add(inst)
    session.flush()
    return inst


def make_user(session: Session, role: Role | str = Role.CENTRE_ADMIN, **fields: Any) -> User:
    role = Role(role)
    n = next(_counter)
    values: dict[str, Any] = {"role": role.value, "name": f"用户{n}", "active": True}
    if role in (Role.INSTITUTION_ADMIN, Role.PROCTOR, Role.EXAMINER, Role.CANDIDATE) and "institution" not in fields \
            and "institution_id" not in fields:
        values["institution"] = make_institution(session)
    if role == Role.CANDIDATE:
        values["id_number"] = valid_id_number(n)
    else:
        values["username"] = f"user{n}"
        values["password_hash"] = _HASH
    values.update(fields)
    if role == Role.CANDIDATE and "person" not in values and "person_id" not in values:
        number = values["id_number"]
        values["person"] = session.scalar(select(Person).where(
            Person.id_type == "resident_id", Person.id_number == number)) or Person(
            id_type="resident_id", id_number=number, name=values["name"])
    user = User(**values)
    session.add(user)
    session.flush()
    return user


def make_occupation(session: Session, **fields: Any) -> Occupation:
    n = next(_counter)
    work_types = fields.pop("work_types", [])
    values: dict[str, Any] = {
        "code": f"6-{n % 100:02d}-{(n // 100) % 100:02d}-{90 + (n // 10000) % 10}",
        "name": f"测试职业{n}",
        "lowest_level": 5,
        "highest_level": 1,
    }
    values.update(fields)
    occ = Occupation(**values)
    occ.work_types = [WorkType(name=w) for w in work_types]
    session.add(occ)
    session.flush()
    return occ


def blueprint_specs(ranges: int = 2, points_per_range: int = 3) -> list[Any]:
    """A small valid tree: top ranges A, B… each with one sub-range and X points."""
    from itembank.blueprints import NodeSpec

    letters = "ABCDEFGH"
    share = 100 / ranges
    nodes = []
    for r in range(ranges):
        top = letters[r]
        nodes.append(NodeSpec(top, f"范围{top}", None, share))
        nodes.append(NodeSpec(f"{top}-A", f"范围{top}-A", None, share))
        for p in range(1, points_per_range + 1):
            nodes.append(NodeSpec(f"{top}-A-{p:03d}", f"鉴定点{top}{p}", "X", 0))
    return nodes


def make_blueprint(session: Session, actor: User | None = None, *, level: int = 4, **spec_args: Any) -> Any:
    from itembank.blueprints import create_blueprint, replace_nodes

    actor = actor or make_user(session, Role.CENTRE_ADMIN)
    occupation = make_occupation(session)
    bp = create_blueprint(session, actor, occupation_id=occupation.id, work_type_id=None, level=level, mode="theory")
    replace_nodes(session, actor, bp.id, blueprint_specs(**spec_args))
    session.refresh(bp)
    return bp


def single_choice(stem: str = "安全用电的基本原则是什么？", key: str = "B") -> Any:
    from itembank.items import ItemContent

    return ItemContent(
        stem_html=f"<p>{stem}</p>",
        spec={"options": [{"label": x, "html": f"选项{x}"} for x in "ABCD"], "key": [key]},
        explanation_html="<p>依据安全规程。</p>",
        source="国家职业技能标准",
        difficulty=0.6,
    )


def assign(session: Session, user: User, occupation_id: int, *institution_ids: int | None) -> None:
    """Give a reviewer (occupation, institution) pairs, or a writer an occupation grant, as the
    centre would (``itembank.access.assign``); no institution given means the centre's items."""
    from itembank.models import BankAssignment

    for institution_id in institution_ids or (None,):
        session.add(BankAssignment(user_id=user.id, occupation_id=occupation_id, institution_id=institution_id,
                                   granted_by_id=user.id))
    session.flush()


def ticket_no(candidate: User) -> str:
    """The ticket number of the candidate's latest batch registration (what they log in
    with); a candidate on no batch is first put on a draft batch of their institution with
    a ticket ``T`` + 8 digits (a row made directly: tests of the issuing go through
    ``examroom.batches.add_candidates``)."""
    from sqlalchemy import select

    from examroom.models import Batch, BatchCandidate

    session = Session.object_session(candidate)
    assert session is not None
    found = session.scalar(select(BatchCandidate.ticket_no).where(BatchCandidate.candidate_id == candidate.id)
                           .order_by(BatchCandidate.id.desc()).limit(1))
    if found is not None:
        return found
    n = next(_counter)
    batch = Batch(institution_id=candidate.institution_id, occupation_id=make_occupation(session).id, level=4,
                  name=f"测试批次{n}")
    session.add(batch)
    session.flush()
    session.add(BatchCandidate(batch_id=batch.id, candidate_id=candidate.id, category="other",
                               ticket_no=f"T{n:08d}"))
    session.flush()
    return f"T{n:08d}"
