"""The roles of the platform and who may manage whom.

The ninth actor of the domain, the public (社会公众), has no account: public pages need no login.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from foundation.errors import PermissionDenied

if TYPE_CHECKING:
    from foundation.accounts import User


class Role(enum.StrEnum):
    CENTRE_ADMIN = "centre_admin"
    INSTITUTION_ADMIN = "institution_admin"
    QUESTION_WRITER = "question_writer"
    ITEM_REVIEWER = "item_reviewer"
    PROCTOR = "proctor"
    EXAMINER = "examiner"
    SUPERVISOR = "supervisor"
    CANDIDATE = "candidate"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.CENTRE_ADMIN: "省职业技能鉴定中心管理员",
    Role.INSTITUTION_ADMIN: "评价机构管理员",
    Role.QUESTION_WRITER: "命题员",
    Role.ITEM_REVIEWER: "审题员",
    Role.PROCTOR: "监考员",
    Role.EXAMINER: "考评员",
    Role.SUPERVISOR: "质量督导员",
    Role.CANDIDATE: "考生",
}

PUBLIC_LABEL = "社会公众"


class InstitutionRule(enum.Enum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    FORBIDDEN = "forbidden"


# Institution staff and candidates belong to one institution; centre staff belong to none.
# Writers, reviewers and supervisors are either centre experts or an institution's own: an
# institution must have its own 质量督导员 (internal supervisors, named in its batch plans), and
# the centre dispatches its own supervisors to batches for spot checks (examroom.supervision).
INSTITUTION_RULE: dict[Role, InstitutionRule] = {
    Role.CENTRE_ADMIN: InstitutionRule.FORBIDDEN,
    Role.INSTITUTION_ADMIN: InstitutionRule.REQUIRED,
    Role.QUESTION_WRITER: InstitutionRule.OPTIONAL,
    Role.ITEM_REVIEWER: InstitutionRule.OPTIONAL,
    Role.PROCTOR: InstitutionRule.REQUIRED,
    Role.EXAMINER: InstitutionRule.REQUIRED,
    Role.SUPERVISOR: InstitutionRule.OPTIONAL,
    Role.CANDIDATE: InstitutionRule.REQUIRED,
}

# Roles an institution admin creates inside its own institution (its internal supervisors
# among them). Item reviewers are not: they are the centre's expert pool, created and assigned
# by the centre only.
INSTITUTION_MANAGED_ROLES = frozenset(
    {Role.QUESTION_WRITER, Role.PROCTOR, Role.EXAMINER, Role.SUPERVISOR, Role.CANDIDATE}
)
CENTRE_ONLY_MESSAGE = "审题员由省职业技能鉴定中心统一创建和管理（审题专家库），评价机构管理员不能创建或修改审题员账号。"
# Roles the centre admin creates (institution admins for any institution, and centre staff).
CENTRE_MANAGED_ROLES = frozenset(
    {Role.CENTRE_ADMIN, Role.INSTITUTION_ADMIN, Role.QUESTION_WRITER, Role.ITEM_REVIEWER, Role.SUPERVISOR}
)


def require_role(actor: User, *roles: Role) -> None:
    """Refuse an inactive actor or one whose role is not among ``roles``."""
    if not actor.active or actor.role not in {r.value for r in roles}:
        raise PermissionDenied("您没有执行此操作的权限。")
