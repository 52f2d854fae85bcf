"""Who may see and change what in the item bank (题库访问范围).

* **Reviewers (审题员)** are the centre's expert pool: only the centre admin creates them
  (``foundation.accounts``) and assigns each one to (occupation, institution) pairs
  (:class:`~itembank.models.BankAssignment`). A reviewer sees, reviews, approves, activates
  and retires only items, blueprints and papers inside those pairs; anything else is
  :class:`NotFound` for items and blueprints (not acknowledged to exist) and
  :class:`PermissionDenied` for papers (as for another institution's admin). An item belongs
  to the institution of its first author (``Item.institution_id``, NULL for centre writers);
  a blueprint has an occupation only, so a reviewer sees the blueprints of the occupations
  they are assigned to.
* **Writers (命题员)** read the bank as before, but revise an item only if they wrote a
  version of it, or if their institution's admin (the centre for centre writers) granted them
  the item's occupation and the item belongs to the writer's own institution.
* **The centre admin** sees everything; institution admins see their own institution's
  papers (never item content); other roles see no item.

The queries here return SQL clauses (``None`` meaning "no restriction") so lists, exports,
the review queue and the API filter in the database, and the ``can_*`` functions give the
same answer for one object. Never imports Flask.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, false, select, true
from sqlalchemy.orm import Session, aliased

from foundation import audit
from foundation.accounts import User, can_manage
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.institutions import Institution
from foundation.occupations import Occupation
from foundation.roles import Role
from itembank.models import BankAssignment, Blueprint, BlueprintNode, Item, Paper

ASSIGNABLE = (Role.ITEM_REVIEWER, Role.QUESTION_WRITER)
CENTRE_LABEL = "省鉴定中心（中心命题）"


# ---------------------------------------------------------------- assignments


def assignments_of(session: Session, user_id: int) -> list[BankAssignment]:
    return list(session.scalars(select(BankAssignment).where(BankAssignment.user_id == user_id)
                                .order_by(BankAssignment.occupation_id, BankAssignment.institution_id,
                                          BankAssignment.id)))


def _check_may_assign(actor: User, user: User) -> None:
    if user.role not in {r.value for r in ASSIGNABLE}:
        raise ValidationError("只有审题员和命题员可以分配题库范围。")
    if user.role == Role.ITEM_REVIEWER:
        if not actor.active or actor.role != Role.CENTRE_ADMIN:
            raise PermissionDenied("审题员的审题范围由省鉴定中心分配。")
    elif not can_manage(actor, Role.QUESTION_WRITER, user.institution_id):
        raise PermissionDenied("您无权为该命题员授权。")


def _summary(a: BankAssignment) -> dict[str, Any]:
    return {"user_id": a.user_id, "occupation_id": a.occupation_id, "institution_id": a.institution_id}


def assign(session: Session, actor: User, user_id: int, *, occupation_id: int,
           institution_id: int | None) -> BankAssignment:
    """Give a reviewer an (occupation, institution) pair to work on (centre admin only), or
    give a writer the permission to revise items of an occupation in the writer's own
    institution (its admin, or the centre)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("账号不存在。")
    _check_may_assign(actor, user)
    if session.get(Occupation, occupation_id) is None:
        raise ValidationError("所选职业不存在。", field="occupation_id")
    if user.role == Role.QUESTION_WRITER:
        if institution_id is not None and institution_id != user.institution_id:
            raise ValidationError("命题员只能获得本机构试题的修订授权。", field="institution_id")
        institution_id = user.institution_id
    elif institution_id is not None and session.get(Institution, institution_id) is None:
        raise ValidationError("所选评价机构不存在。", field="institution_id")
    if _has_pair(session, user.id, occupation_id, institution_id):
        raise ValidationError("该范围已经分配。")
    row = BankAssignment(user_id=user.id, occupation_id=occupation_id, institution_id=institution_id,
                         granted_by_id=actor.id)
    session.add(row)
    session.flush()
    audit.record(session, actor, "bank_assignment.create", "user", user.id, after=_summary(row))
    return row


def unassign(session: Session, actor: User, assignment_id: int) -> None:
    row = session.get(BankAssignment, assignment_id)
    if row is None:
        raise NotFound("该范围不存在。")
    user = session.get(User, row.user_id)
    assert user is not None
    _check_may_assign(actor, user)
    audit.record(session, actor, "bank_assignment.delete", "user", user.id, before=_summary(row))
    session.delete(row)
    session.flush()


def _has_pair(session: Session, user_id: int, occupation_id: int, institution_id: int | None) -> bool:
    return session.scalar(select(exists().where(
        BankAssignment.user_id == user_id, BankAssignment.occupation_id == occupation_id,
        BankAssignment.institution_id.is_(None) if institution_id is None
        else BankAssignment.institution_id == institution_id,
    ))) or False


def item_occupation_id(item: Item) -> int:
    return item.point.blueprint.occupation_id


# ---------------------------------------------------------------- items


def item_clause(actor: User) -> ColumnElement[bool] | None:
    """A WHERE clause on :class:`Item` for the items ``actor`` may read; None: all of them."""
    if not actor.active:
        return false()
    if actor.role == Role.CENTRE_ADMIN:
        return None
    if actor.role == Role.QUESTION_WRITER:  # their institution's items (centre writers: the centre's)
        return Item.institution_id.is_not_distinct_from(actor.institution_id)
    if actor.role != Role.ITEM_REVIEWER:
        return false()
    a, b, n = aliased(BankAssignment), aliased(Blueprint), aliased(BlueprintNode)
    return exists(select(a.id).join(b, b.occupation_id == a.occupation_id).join(n, n.blueprint_id == b.id).where(
        a.user_id == actor.id, n.id == Item.point_id, a.institution_id.is_not_distinct_from(Item.institution_id),
    ))


def can_read_item(session: Session, actor: User, item: Item) -> bool:
    if not actor.active:
        return False
    if actor.role == Role.CENTRE_ADMIN:
        return True
    if actor.role == Role.QUESTION_WRITER:
        return item.institution_id == actor.institution_id
    if actor.role != Role.ITEM_REVIEWER:
        return False
    return _has_pair(session, actor.id, item_occupation_id(item), item.institution_id)


def readable_item(session: Session, actor: User, item_id: int) -> Item:
    """The item if ``actor`` may read it; NotFound otherwise (its existence is not confirmed)."""
    item = session.get(Item, item_id)
    if item is None or not can_read_item(session, actor, item):
        raise NotFound("试题不存在。")
    return item


def can_revise(session: Session, actor: User, item: Item) -> bool:
    """A writer revises an item they wrote a version of, or, with a grant for the item's
    occupation, an item of their own institution (centre writers: centre items)."""
    if not actor.active or actor.role != Role.QUESTION_WRITER:
        return False
    if actor.id in {item.author_id} | {v.author_id for v in item.versions}:
        return True
    if item.institution_id != actor.institution_id:
        return False
    return _has_pair(session, actor.id, item_occupation_id(item), item.institution_id)


# ---------------------------------------------------------------- blueprints


def blueprint_clause(actor: User) -> ColumnElement[bool] | None:
    """A WHERE clause on :class:`Blueprint`; None: all. Reviewers: their occupations."""
    if not actor.active:
        return false()
    if actor.role != Role.ITEM_REVIEWER:
        return None  # the routes decide which other roles read blueprints at all
    return Blueprint.occupation_id.in_(select(BankAssignment.occupation_id).where(BankAssignment.user_id == actor.id))


def can_read_blueprint(session: Session, actor: User, blueprint: Blueprint) -> bool:
    if not actor.active:
        return False
    if actor.role != Role.ITEM_REVIEWER:
        return True
    return session.scalar(select(exists().where(BankAssignment.user_id == actor.id,
                                                BankAssignment.occupation_id == blueprint.occupation_id))) or False


def readable_blueprint(session: Session, actor: User, blueprint_id: int) -> Blueprint:
    """The blueprint if ``actor`` may see it; NotFound otherwise (as for items). Used by the
    analysis services (response sets, calibration runs, reports), which are scoped by the
    blueprint's occupation."""
    blueprint = session.get(Blueprint, blueprint_id)
    if blueprint is None or not can_read_blueprint(session, actor, blueprint):
        raise NotFound("细目表不存在。")
    return blueprint


def require_occupation(session: Session, actor: User, occupation_id: int) -> None:
    """Reviewers edit blueprints of their assigned occupations only."""
    if actor.role == Role.ITEM_REVIEWER and not session.scalar(select(exists().where(
            BankAssignment.user_id == actor.id, BankAssignment.occupation_id == occupation_id))):
        raise PermissionDenied("该职业不在您的审题范围内。")


# ---------------------------------------------------------------- papers


def paper_clause(actor: User) -> ColumnElement[bool]:
    """A WHERE clause on :class:`Paper` for the papers ``actor`` may see."""
    if not actor.active:
        return false()
    if actor.role == Role.CENTRE_ADMIN:
        return true()
    if actor.role == Role.INSTITUTION_ADMIN:
        return Paper.institution_id == actor.institution_id
    if actor.role != Role.ITEM_REVIEWER:
        return false()
    a, b = aliased(BankAssignment), aliased(Blueprint)
    return exists(select(a.id).join(b, b.occupation_id == a.occupation_id).where(
        a.user_id == actor.id, b.id == Paper.blueprint_id, a.institution_id == Paper.institution_id,
    ))


def can_see_paper(session: Session, actor: User, paper: Paper) -> bool:
    if not actor.active:
        return False
    if actor.role == Role.CENTRE_ADMIN:
        return True
    if actor.role == Role.INSTITUTION_ADMIN:
        return actor.institution_id == paper.institution_id
    if actor.role != Role.ITEM_REVIEWER:
        return False
    return _has_pair(session, actor.id, paper.blueprint.occupation_id, paper.institution_id)


def describe(a: BankAssignment, institutions: dict[int, str]) -> str:
    """「电工 · 某机构」 for the pages."""
    where = CENTRE_LABEL if a.institution_id is None else institutions.get(a.institution_id, f"机构 {a.institution_id}")
    return f"{a.occupation.name}（{a.occupation.code}） · {where}"
