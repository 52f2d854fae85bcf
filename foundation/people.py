"""People (自然人): results, re-sits, bans, promotions and duplicate checks follow the person,
not the account.

A :class:`Person` is keyed by ID type and ID number; every candidate account
(:class:`foundation.accounts.User`) links to one, so the same person registered by two
institutions (two accounts) is one person. Numbers are normalised before they are compared:
full-width characters become ASCII (NFKC), spaces go, letters are upper-cased (a lower-case
``x`` check character is the same number).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from foundation import audit
from foundation.db import Base, utcnow
from foundation.errors import ValidationError
from foundation.idcard import check_digit, id_number_problem
from foundation.names import name_info

if TYPE_CHECKING:
    from foundation.accounts import User

MAX_ID_NUMBER = 18  # the account's login copy (user_account.id_number) holds 18 characters


class IdType(enum.StrEnum):
    """Kinds of identity document (证件类型)."""

    RESIDENT_ID = "resident_id"
    HMT_RESIDENCE = "hmt_residence"
    FOREIGN_PERMANENT = "foreign_permanent"
    PASSPORT = "passport"

    @property
    def label(self) -> str:
        return ID_TYPE_LABELS[self]


ID_TYPE_LABELS = {
    IdType.RESIDENT_ID: "居民身份证",
    IdType.HMT_RESIDENCE: "港澳台居民居住证",
    IdType.FOREIGN_PERMANENT: "外国人永久居留身份证",
    IdType.PASSPORT: "护照",
}

_ID_TYPE_VALUES = ", ".join(f"'{t.value}'" for t in IdType)
# 港澳台居民居住证: the resident-ID layout with the region codes 810000 (香港), 820000 (澳门),
# 830000 (台湾) [GB 11643 layout, 2018 rules].
_HMT_PREFIXES = ("810000", "820000", "830000")
_FOREIGN_OLD = re.compile(r"[A-Z]{3}\d{12}")  # 2004 card: nationality letters + 12 digits
_PASSPORT = re.compile(r"[A-Z0-9]{5,18}")


class Person(Base):
    """One natural person, keyed by (ID type, ID number)."""

    __tablename__ = "person"
    __table_args__ = (
        CheckConstraint(f"id_type IN ({_ID_TYPE_VALUES})", name="id_type_known"),
        UniqueConstraint("id_type", "id_number", name="uq_person_identity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    id_type: Mapped[str] = mapped_column(String(24))
    id_number: Mapped[str] = mapped_column(String(MAX_ID_NUMBER), index=True)
    name: Mapped[str] = mapped_column(String(64), info=name_info("姓名"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: The 1-inch photo (foundation.photos): SHA-256 of the stored JPEG file, None without one.
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    photo_updated_at: Mapped[dt.datetime | None]

    @property
    def id_type_label(self) -> str:
        return IdType(self.id_type).label

    def __repr__(self) -> str:
        return f"<Person {self.id} {self.id_type}>"


def normalise_number(value: str) -> str:
    """Full-width to ASCII, no spaces, upper case: 「１１０１０５…ｘ」 -> ``110105…X``."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or "")).upper()


def id_type_of(value: str | None) -> IdType:
    try:
        return IdType(value or IdType.RESIDENT_ID)
    except ValueError:
        raise ValidationError("证件类型无效。", field="id_type") from None


def id_problem(id_type: IdType | str, value: str) -> str | None:
    """A Chinese explanation of what is wrong with ``value`` as an ID of ``id_type``, or None."""
    kind = IdType(id_type)
    number = normalise_number(value)
    if not number:
        return f"请填写{kind.label}号码。"
    if kind is IdType.RESIDENT_ID:
        return id_number_problem(number)
    if kind is IdType.HMT_RESIDENCE:
        if not number.startswith(_HMT_PREFIXES):
            return "港澳台居民居住证号码应以 810000（香港）、820000（澳门）或 830000（台湾）开头。"
        problem = id_number_problem(number)
        return problem.replace("身份证号码", "居住证号码") if problem else None
    if kind is IdType.FOREIGN_PERMANENT:
        if _FOREIGN_OLD.fullmatch(number):
            return None
        if len(number) == 18 and number[0] == "9" and number[:17].isascii() and number[:17].isdigit():
            return None if check_digit(number[:17]) == number[17] else "外国人永久居留身份证号码校验位不正确，请核对。"
        return "外国人永久居留身份证号码应为 15 位（3 位字母加 12 位数字）或以 9 开头的 18 位。"
    if not _PASSPORT.fullmatch(number):
        return "护照号码应为 5–18 位字母或数字。"
    return None


def clean_id(id_type: IdType | str, value: str, *, field: str = "id_number") -> str:
    """The normalised number, or a :class:`ValidationError` naming ``field``."""
    problem = id_problem(id_type, value)
    if problem:
        raise ValidationError(problem, field=field)
    return normalise_number(value)


def find_person(session: Session, id_type: IdType | str, id_number: str) -> Person | None:
    return session.scalar(select(Person).where(
        Person.id_type == IdType(id_type).value, Person.id_number == normalise_number(id_number)))


def person_for(session: Session, actor: User | None, id_type: IdType | str, id_number: str, name: str) -> Person:
    """The person with this ID, created when new. A different name on the same ID is refused:
    one of the two is mistyped, and linking them would merge two people's records."""
    kind = IdType(id_type)
    number = clean_id(kind, id_number)
    person = find_person(session, kind, number)
    if person is not None:
        if person.name != name.strip():
            raise ValidationError(f"该{kind.label}号码已登记为「{person.name}」，与姓名「{name.strip()}」不一致，"
                                  "请核对。", field="name")
        return person
    person = Person(id_type=kind.value, id_number=number, name=name.strip())
    session.add(person)
    session.flush()
    audit.record(session, actor, "person.create", "person", person.id,
                 after={"id_type": kind.value, "id_number": number[:6] + "…", "name": person.name})
    return person
