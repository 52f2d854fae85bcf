"""Accounts (账号): staff log in with username and password, candidates with the admission
ticket number (准考证号) of a batch registration plus resident ID number (the ticket lives
on the registration: :mod:`examroom.registration`).

Services here take the session and the acting user, validate everything before they
write, flush but never commit, and append to the audit trail.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import re
import secrets
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from foundation import audit
from foundation.db import Base, utcnow
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.institutions import Institution
from foundation.login_sessions import end_user_sessions
from foundation.names import clean_name, name_info
from foundation.passwords import password_problem as problem
from foundation.people import IdType, Person, id_problem, id_type_of, normalise_number, person_for
from foundation.roles import (
    CENTRE_MANAGED_ROLES,
    CENTRE_ONLY_MESSAGE,
    INSTITUTION_MANAGED_ROLES,
    INSTITUTION_RULE,
    InstitutionRule,
    Role,
)

if TYPE_CHECKING:
    from foundation.institutions import Institution


class CandidateCategory(enum.StrEnum):
    """Who an enterprise institution may evaluate (企业评价对象类别)."""

    OWN_STAFF = "own_staff"
    DISPATCHED = "dispatched"
    OUTSOURCED = "outsourced"
    PARTNER_STUDENT = "partner_student"
    SMALL_FIRM_STAFF = "small_firm_staff"
    OTHER = "other"

    @property
    def label(self) -> str:
        return CANDIDATE_CATEGORY_LABELS[self]


CANDIDATE_CATEGORY_LABELS = {
    CandidateCategory.OWN_STAFF: "本单位职工",
    CandidateCategory.DISPATCHED: "劳务派遣人员",
    CandidateCategory.OUTSOURCED: "外包人员",
    CandidateCategory.PARTNER_STUDENT: "合作院校学生",
    CandidateCategory.SMALL_FIRM_STAFF: "同行业小微企业职工",
    CandidateCategory.OTHER: "社会人员",
}

_ROLE_VALUES = ", ".join(f"'{r.value}'" for r in Role)
_REQUIRED = ", ".join(f"'{r.value}'" for r, rule in INSTITUTION_RULE.items() if rule is InstitutionRule.REQUIRED)
_FORBIDDEN = ", ".join(f"'{r.value}'" for r, rule in INSTITUTION_RULE.items() if rule is InstitutionRule.FORBIDDEN)


class User(Base):
    """An account of any role (用户). Candidates carry their identity; their ticket numbers
    belong to their batch registrations (``examroom.models.BatchCandidate``)."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(f"role IN ({_ROLE_VALUES})", name="role_known"),
        CheckConstraint(f"role NOT IN ({_REQUIRED}) OR institution_id IS NOT NULL", name="institution_required"),
        CheckConstraint(f"role NOT IN ({_FORBIDDEN}) OR institution_id IS NULL", name="institution_forbidden"),
        CheckConstraint(
            "role <> 'candidate' OR id_number IS NOT NULL",
            name="candidate_identity",
        ),
        CheckConstraint("role <> 'candidate' OR person_id IS NOT NULL", name="candidate_person"),
        CheckConstraint("role = 'candidate' OR (username IS NOT NULL AND password_hash IS NOT NULL)",
                        name="staff_credentials"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(64), info=name_info("姓名"))
    role: Mapped[str] = mapped_column(String(32), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    id_number: Mapped[str | None] = mapped_column(String(18), index=True)  # the login copy of the person's
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    candidate_category: Mapped[str | None] = mapped_column(String(32))
    phone: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]
    login_count: Mapped[int] = mapped_column(Integer, default=0)

    institution: Mapped[Institution | None] = relationship(lazy="joined")
    person: Mapped[Person | None] = relationship()

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def role_label(self) -> str:
        return Role(self.role).label

    def has_role(self, *roles: Role) -> bool:
        return self.role in {r.value for r in roles}

    # The user protocol Flask-Login expects, written out so the core needs no Flask import.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    def get_id(self) -> str:
        """The session token: id plus a fingerprint of the credential, so that changing a
        password (or a candidate's ID number) ends every session opened with the old one."""
        return f"{self.id}:{self.credential_fingerprint}"

    @property
    def credential_fingerprint(self) -> str:
        secret = self.password_hash if self.role != Role.CANDIDATE else self.id_number
        return hashlib.sha256((secret or "").encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role} {self.username or self.name}>"


# ---------------------------------------------------------------- passwords

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    """scrypt with a random salt, encoded as ``scrypt$n$r$p$salt$hash``."""
    salt = secrets.token_hex(16)
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), dklen=64, **_SCRYPT).hex()
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt}${digest}"


def check_password(stored: str | None, password: str) -> bool:
    if not stored:
        return False
    try:
        _, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    candidate = hashlib.scrypt(password.encode(), salt=salt.encode(), n=int(n), r=int(r), p=int(p), dklen=64)
    return hmac.compare_digest(candidate.hex(), digest)


def password_problem(password: str, user_inputs: tuple[str | None, ...] = ()) -> str | None:
    """The password policy, in :mod:`foundation.passwords` (common lists, the account's names)."""

    return problem(password, user_inputs)


# ---------------------------------------------------------------- authorisation helpers


def can_manage(actor: User, role: Role, institution_id: int | None) -> bool:
    """May ``actor`` create or edit an account of ``role`` in ``institution_id``?"""
    if not actor.active:
        return False
    if actor.role == Role.CENTRE_ADMIN:
        return role in CENTRE_MANAGED_ROLES
    if actor.role == Role.INSTITUTION_ADMIN:
        return role in INSTITUTION_MANAGED_ROLES and institution_id == actor.institution_id
    return False


def manageable_roles(actor: User) -> list[Role]:
    if actor.role == Role.CENTRE_ADMIN:
        return [r for r in Role if r in CENTRE_MANAGED_ROLES]
    if actor.role == Role.INSTITUTION_ADMIN:
        return [r for r in Role if r in INSTITUTION_MANAGED_ROLES]
    return []


def visible_users_query(actor: User) -> Any:
    """The accounts ``actor`` may list: the centre sees all, an institution admin its own."""
    stmt = select(User)
    if actor.role == Role.CENTRE_ADMIN:
        return stmt
    if actor.role == Role.INSTITUTION_ADMIN:
        return stmt.where(User.institution_id == actor.institution_id)
    raise PermissionDenied("您没有查看账号的权限。")


# ---------------------------------------------------------------- authentication


def authenticate_staff(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None or user.role == Role.CANDIDATE:
        # Spend the same time as a real check so usernames cannot be probed by timing.
        check_password(_DUMMY_HASH, password)
        return None
    if not check_password(user.password_hash, password) or not user.active:
        return None
    note_login(user)
    return user


def note_login(user: User) -> None:
    user.last_login_at = utcnow()
    user.login_count = (user.login_count or 0) + 1


_DUMMY_HASH = hash_password(secrets.token_hex(8))


# ---------------------------------------------------------------- services


def _summary(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "name": user.name,
        "role": user.role,
        "institution_id": user.institution_id,
        "id_number": user.id_number[:6] + "…" if user.id_number else None,
        "person_id": user.person_id,
        "candidate_category": user.candidate_category,
        "active": user.active,
    }


def _validate_fields(
    session: Session,
    role: Role,
    *,
    name: str,
    institution_id: int | None,
    username: str | None,
    password: str | None,
    id_number: str | None,
    candidate_category: str | None,
    existing: User | None,
    id_type: IdType = IdType.RESIDENT_ID,
) -> None:
    if not name.strip():
        raise ValidationError("姓名不能为空。", field="name")
    if len(name.strip()) > 64:
        raise ValidationError("姓名过长。", field="name")
    clean_name(name, "姓名", field="name")
    rule = INSTITUTION_RULE[role]
    if rule is InstitutionRule.REQUIRED and institution_id is None:
        raise ValidationError(f"{role.label}必须隶属于一个评价机构。", field="institution_id")
    if rule is InstitutionRule.FORBIDDEN and institution_id is not None:
        raise ValidationError(f"{role.label}不隶属于评价机构。", field="institution_id")
    if institution_id is not None and session.get(Institution, institution_id) is None:
        raise ValidationError("所选评价机构不存在。", field="institution_id")
    if role == Role.CANDIDATE:
        document = "身份证" if id_type is IdType.RESIDENT_ID else id_type.label
        if not id_number:
            raise ValidationError(f"考生必须填写{document}号码。", field="id_number")
        problem = id_problem(id_type, id_number)
        if problem:
            raise ValidationError(problem, field="id_number")
        same_id = session.scalar(
            select(User).where(
                User.role == Role.CANDIDATE.value,
                User.institution_id == institution_id,
                User.id_number == normalise_number(id_number),
            )
        )
        if same_id is not None and same_id is not existing:
            raise ValidationError(f"该机构已有相同{document}号码的考生。", field="id_number")
        if candidate_category and candidate_category not in {c.value for c in CandidateCategory}:
            raise ValidationError("考生类别无效。", field="candidate_category")
    else:
        if not username or not re.fullmatch(r"[A-Za-z0-9_.-]{3,64}", username):
            raise ValidationError("用户名应为 3–64 位字母、数字、下划线、点或连字符。", field="username")
        clash = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
        if clash is not None and clash is not existing:
            raise ValidationError(f"用户名 {username} 已被使用。", field="username")
        if existing is None or password:
            problem = password_problem(password or "", (username, name))
            if problem:
                raise ValidationError(problem, field="password")


def create_user(
    session: Session,
    actor: User,
    *,
    role: Role,
    name: str,
    institution_id: int | None = None,
    username: str | None = None,
    password: str | None = None,
    id_number: str | None = None,
    candidate_category: str | None = None,
    phone: str | None = None,
    id_type: str | None = None,
) -> User:
    """Create an account; the actor must be allowed to manage that role in that institution.

    A candidate account links to the person of its ID (:mod:`foundation.people`), created when
    new: a second account with the same ID (another institution) links to the same person."""
    kind = id_type_of(id_type)
    if actor.role == Role.INSTITUTION_ADMIN and institution_id is None:
        institution_id = actor.institution_id
    if role == Role.ITEM_REVIEWER and actor.role != Role.CENTRE_ADMIN:
        raise PermissionDenied(CENTRE_ONLY_MESSAGE)
    if not can_manage(actor, role, institution_id):
        raise PermissionDenied("您无权在该机构创建此类账号。")
    _validate_fields(
        session, role, name=name, institution_id=institution_id, username=username, password=password,
        id_number=id_number, candidate_category=candidate_category, existing=None, id_type=kind,
    )
    person = person_for(session, actor, kind, id_number or "", name) if role == Role.CANDIDATE else None
    user = User(
        role=role.value,
        name=name.strip(),
        institution_id=institution_id,
        phone=phone or None,
        active=True,
    )
    if role == Role.CANDIDATE:
        user.id_number = normalise_number(id_number or "")
        user.person = person
        user.candidate_category = candidate_category or CandidateCategory.OTHER.value
    else:
        user.username = username
        user.password_hash = hash_password(password or "")
    session.add(user)
    session.flush()

    audit.record(session, actor, "user.create", "user", user.id, after=_summary(user))
    return user


def update_user(
    session: Session,
    actor: User,
    user_id: int,
    *,
    name: str | None = None,
    password: str | None = None,
    active: bool | None = None,
    phone: str | None = None,
    candidate_category: str | None = None,
) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("账号不存在。")
    if user.role == Role.ITEM_REVIEWER and actor.role != Role.CENTRE_ADMIN:
        raise PermissionDenied(CENTRE_ONLY_MESSAGE)
    if not can_manage(actor, Role(user.role), user.institution_id):
        raise PermissionDenied("您无权修改该账号。")
    if user.id == actor.id and active is False:
        raise ValidationError("不能停用自己的账号。")
    new_name = name if name is not None else user.name
    _validate_fields(
        session, Role(user.role), name=new_name, institution_id=user.institution_id, username=user.username,
        password=password, id_number=user.id_number,
        candidate_category=candidate_category or user.candidate_category, existing=user,
        id_type=id_type_of(user.person.id_type if user.person is not None else None),
    )
    before = _summary(user)
    user.name = new_name.strip()
    if user.person is not None:
        user.person.name = user.name  # a corrected name is the person's (the same ID, one name)
    if password:
        user.password_hash = hash_password(password)
    if active is not None:
        user.active = active
    if phone is not None:
        user.phone = phone or None
    if candidate_category is not None and user.role == Role.CANDIDATE:
        user.candidate_category = candidate_category
    session.flush()
    if password or not user.active:
        end_user_sessions(session, user.id)  # a copied cookie of the old password stops working

    after = _summary(user)
    if password:
        after["password"] = "已重置"  # noqa: S105  (a note in the audit entry, not a password)
    audit.record(session, actor, "user.update", "user", user.id, before=before, after=after)
    return user


def change_own_password(session: Session, actor: User, old: str, new: str) -> None:
    if actor.role == Role.CANDIDATE:
        raise PermissionDenied("考生使用准考证号和身份证号码登录，无密码。")
    if not check_password(actor.password_hash, old):
        raise ValidationError("原密码不正确。", field="old_password")
    problem = password_problem(new, (actor.username, actor.name))
    if problem:
        raise ValidationError(problem, field="new_password")
    actor.password_hash = hash_password(new)
    session.flush()

    end_user_sessions(session, actor.id)  # every browser, this one too (the view signs it in afresh)

    audit.record(session, actor, "user.change_password", "user", actor.id)
