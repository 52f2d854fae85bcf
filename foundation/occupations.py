"""Occupation catalogue (职业目录): 2015 classification codes, 工种 and level ranges.

Access-type occupations (准入类职业资格) are catalogued but flagged: the platform refuses to
evaluate them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Select,
    String,
    Text,
    UniqueConstraint,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from foundation import audit, names
from foundation.db import Base
from foundation.errors import NotFound, ValidationError
from foundation.levels import LEVEL_NAMES, check_level_range, level_name, level_range_name
from foundation.names import name_info
from foundation.roles import Role, require_role

if TYPE_CHECKING:
    from foundation.accounts import User

OCCUPATION_CODE_PATTERN = r"[1-8]-\d{2}-\d{2}-\d{2}"


class Occupation(Base):
    """An occupation of 《职业分类大典(2015年版)》, e.g. 电工 6-31-01-03."""

    __tablename__ = "occupation"
    __table_args__ = (
        CheckConstraint("lowest_level BETWEEN 1 AND 5", name="lowest_level_range"),
        CheckConstraint("highest_level BETWEEN 1 AND 5", name="highest_level_range"),
        CheckConstraint("highest_level <= lowest_level", name="level_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(64), index=True, info=name_info("职业名称"))
    # Levels are numbered downward: 5 (五级/初级工) is the lowest, 1 (一级/高级技师) the highest.
    lowest_level: Mapped[int] = mapped_column(default=5)
    highest_level: Mapped[int] = mapped_column(default=1)
    is_access_type: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str | None] = mapped_column(Text)

    work_types: Mapped[list[WorkType]] = relationship(
        back_populates="occupation", cascade="all, delete-orphan", order_by="WorkType.id"
    )

    @property
    def levels(self) -> list[int]:
        return list(range(self.lowest_level, self.highest_level - 1, -1))

    @property
    def level_range_label(self) -> str:
        return level_range_name(self.lowest_level, self.highest_level)

    def __repr__(self) -> str:
        return f"<Occupation {self.code} {self.name}>"


class WorkType(Base):
    """A 工种 under an occupation, e.g. 数控车工 under 车工."""

    __tablename__ = "work_type"
    __table_args__ = (UniqueConstraint("occupation_id", "name", name="occupation_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occupation_id: Mapped[int] = mapped_column(ForeignKey("occupation.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64), info=name_info("工种"))

    occupation: Mapped[Occupation] = relationship(back_populates="work_types")


# ---------------------------------------------------------------- validation helpers

# Spreadsheet and keyboard input often carries full-width or typographic dashes; the
# classification code itself only ever uses ASCII hyphens.
_DASHES = str.maketrans({"－": "-", "–": "-", "—": "-", "‐": "-", "−": "-"})
MAX_NAME = 64
MAX_NOTE = 2000


def normalise_code(code: str | None) -> str:
    return (code or "").strip().translate(_DASHES).replace(" ", "")


def code_problem(code: str) -> str | None:
    """Why ``code`` is not a 2015 classification code (大类-中类-小类-细类), or None."""
    if not code:
        return "职业编码不能为空。"
    if not re.fullmatch(OCCUPATION_CODE_PATTERN, code):
        return f"职业编码「{code}」格式不正确，应为「大类-中类-小类-细类」，例如 6-31-01-03。"
    return None


def name_problem(name: str) -> str | None:
    if not name:
        return "职业名称不能为空。"
    if len(name) > MAX_NAME:
        return f"职业名称不能超过 {MAX_NAME} 个字。"
    return names.name_problem(name, "职业名称")


def level_range_problem(lowest: int, highest: int) -> str | None:
    try:
        check_level_range(lowest, highest)
    except ValidationError as exc:
        return exc.message
    return None


def work_type_problem(name: str) -> str | None:
    if not name:
        return "工种名称不能为空。"
    if len(name) > MAX_NAME:
        return f"工种名称「{name[:20]}…」过长，不能超过 {MAX_NAME} 个字。"
    return names.name_problem(name, "工种名称")


def _clean_work_types(names: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    for raw in names:
        name = (raw or "").strip()
        problem = work_type_problem(name)
        if problem:
            raise ValidationError(problem, field="work_types")
        if name in cleaned:
            raise ValidationError(f"工种「{name}」重复，同一职业下的工种名称不能相同。", field="work_types")
        cleaned.append(name)
    return cleaned


def _clean_note(note: str | None) -> str | None:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationError(f"备注不能超过 {MAX_NOTE} 个字。", field="note")
    return note or None


def _code_taken(session: Session, code: str, existing: Occupation | None) -> bool:
    clash = session.scalar(select(Occupation).where(Occupation.code == code))
    return clash is not None and clash is not existing


def _validate(
    session: Session,
    *,
    code: str,
    name: str,
    lowest_level: int,
    highest_level: int,
    existing: Occupation | None,
) -> None:
    problem = code_problem(code)
    if problem:
        raise ValidationError(problem, field="code")
    if _code_taken(session, code, existing):
        raise ValidationError(f"职业编码 {code} 已存在，不能重复添加。", field="code")
    problem = name_problem(name)
    if problem:
        raise ValidationError(problem, field="name")
    problem = level_range_problem(lowest_level, highest_level)
    if problem:
        raise ValidationError(problem, field="highest_level")


#: Checks run before an occupation's level range changes: each returns a refusal or None.
#: Modules above this one register theirs (:mod:`foundation.institutions` refuses a range that
#: would strand an institution's evaluation scope), so this module never imports them.
LevelRangeCheck = Callable[[Session, "Occupation", int, int], "str | None"]
_LEVEL_RANGE_CHECKS: list[LevelRangeCheck] = []


def register_level_range_check(check: LevelRangeCheck) -> LevelRangeCheck:
    """Add ``check`` (once) to the checks :func:`level_range_conflict` runs; usable as a decorator."""
    if check not in _LEVEL_RANGE_CHECKS:
        _LEVEL_RANGE_CHECKS.append(check)
    return check


def level_range_conflict(session: Session, occupation: Occupation, lowest: int, highest: int) -> str | None:
    """The first refusal of a registered check to narrowing ``occupation`` to lowest..highest."""
    if occupation.id is None:
        return None
    for check in _LEVEL_RANGE_CHECKS:
        problem = check(session, occupation, lowest, highest)
        if problem:
            return problem
    return None


# Tables whose rows point at a 工种, named for the refusal message. Any other referencing table
# (later modules: items, batches, certificates) is caught generically through the metadata.
_REFERENCE_LABELS = {"scope_entry": "评价机构的评价范围"}


def work_type_references(session: Session, work_type: WorkType) -> list[str]:
    """Where ``work_type`` is still referenced, as user-facing labels (empty: safe to remove)."""
    found: list[str] = []
    target = Base.metadata.tables[WorkType.__tablename__]
    for table in Base.metadata.sorted_tables:
        if table is target:
            continue
        for fk in table.foreign_keys:
            if not fk.references(target):
                continue
            used = session.execute(select(fk.parent).where(fk.parent == work_type.id).limit(1)).first()
            if used is not None:
                label = _REFERENCE_LABELS.get(table.name, f"其他业务数据（{table.name}）")
                if label not in found:
                    found.append(label)
    return found


def occupation_summary(occupation: Occupation) -> dict[str, Any]:
    return {
        "code": occupation.code,
        "name": occupation.name,
        "lowest_level": occupation.lowest_level,
        "highest_level": occupation.highest_level,
        "is_access_type": bool(occupation.is_access_type),
        "active": bool(occupation.active),
        "note": occupation.note,
        "work_types": [w.name for w in occupation.work_types],
    }


def get_occupation(session: Session, occupation_id: int) -> Occupation:
    occupation = session.get(Occupation, occupation_id)
    if occupation is None:
        raise NotFound("职业不存在。")
    return occupation


def find_by_code(session: Session, code: str) -> Occupation | None:
    return session.scalar(select(Occupation).where(Occupation.code == normalise_code(code)))


# ---------------------------------------------------------------- rules other modules call


def require_evaluable(occupation: Occupation) -> None:
    """Refuse access-type (准入类) and inactive occupations: no batch, paper or certificate."""
    if occupation.is_access_type:
        raise ValidationError(f"「{occupation.name}」属于准入类职业资格，不纳入技能等级认定范围。")
    if not occupation.active:
        raise ValidationError(f"「{occupation.name}」已停用，不能开展技能等级认定。")


def occupation_level_problem(occupation: Occupation, level: int) -> str | None:
    """Why ``level`` cannot be evaluated for ``occupation`` (outside its range), or None."""
    if level not in LEVEL_NAMES:
        return "等级必须是 1 到 5 之间的整数（5 为五级/初级工，1 为一级/高级技师）。"
    if not occupation.highest_level <= level <= occupation.lowest_level:
        return (
            f"「{occupation.name}」的等级范围为{occupation.level_range_label}，"
            f"不包括{level_name(level)}。"
        )
    return None


def require_level(occupation: Occupation, level: int) -> None:
    problem = occupation_level_problem(occupation, level)
    if problem:
        raise ValidationError(problem, field="level")


def occupation_range_problem(occupation: Occupation, lowest: int, highest: int) -> str | None:
    """Why the range ``lowest``..``highest`` does not fit inside the occupation's range, or None."""
    problem = level_range_problem(lowest, highest)
    if problem:
        return problem
    if lowest > occupation.lowest_level or highest < occupation.highest_level:
        return (
            f"「{occupation.name}」的等级范围为{occupation.level_range_label}，"
            f"不包括{level_range_name(lowest, highest)}。"
        )
    return None


def find_work_type(occupation: Occupation, name: str) -> WorkType | None:
    return next((w for w in occupation.work_types if w.name == name.strip()), None)


def occupation_query(
    *, q: str = "", access_type: bool | None = None, active: bool | None = None
) -> Select[Occupation]:
    """Catalogue search: ``q`` matches the code, the name or a 工种 name."""
    stmt = select(Occupation)
    q = q.strip()
    if q:
        stmt = stmt.where(
            or_(
                Occupation.name.icontains(q, autoescape=True),
                Occupation.code.icontains(normalise_code(q), autoescape=True),
                Occupation.work_types.any(WorkType.name.icontains(q, autoescape=True)),
            )
        )
    if access_type is not None:
        stmt = stmt.where(Occupation.is_access_type.is_(access_type))
    if active is not None:
        stmt = stmt.where(Occupation.active.is_(active))
    return stmt.order_by(Occupation.code, Occupation.id)


# ---------------------------------------------------------------- services


def create_occupation(
    session: Session,
    actor: User,
    *,
    code: str,
    name: str,
    lowest_level: int = 5,
    highest_level: int = 1,
    is_access_type: bool = False,
    work_types: Iterable[str] = (),
    note: str | None = None,
) -> Occupation:
    """Add an occupation to the catalogue (centre admin only)."""
    require_role(actor, Role.CENTRE_ADMIN)
    return insert_occupation(
        session, actor, "occupation.create", code=code, name=name, lowest_level=lowest_level,
        highest_level=highest_level, is_access_type=is_access_type, work_types=work_types, note=note,
    )


def insert_occupation(
    session: Session,
    actor: User | None,
    action: str,
    *,
    code: str,
    name: str,
    lowest_level: int,
    highest_level: int,
    is_access_type: bool,
    work_types: Iterable[str],
    note: str | None,
    extra: dict[str, Any] | None = None,
) -> Occupation:
    """Validate, insert and audit one occupation: the single write path shared by
    ``create_occupation``, the seed and the Excel import. No permission check here; callers
    check the actor (the seed passes ``None``, the system)."""
    code = normalise_code(code)
    name = (name or "").strip()
    _validate(
        session, code=code, name=name, lowest_level=lowest_level, highest_level=highest_level, existing=None
    )
    names = _clean_work_types(work_types)
    clean_note = _clean_note(note)
    occupation = Occupation(
        code=code,
        name=name,
        lowest_level=lowest_level,
        highest_level=highest_level,
        is_access_type=bool(is_access_type),
        active=True,
        note=clean_note,
    )
    occupation.work_types = [WorkType(name=n) for n in names]
    session.add(occupation)
    session.flush()
    after = {**occupation_summary(occupation), **(extra or {})}
    audit.record(session, actor, action, "occupation", occupation.id, after=after)
    return occupation


def update_occupation(
    session: Session,
    actor: User,
    occupation_id: int,
    *,
    code: str | None = None,
    name: str | None = None,
    lowest_level: int | None = None,
    highest_level: int | None = None,
    is_access_type: bool | None = None,
    work_types: Iterable[str] | None = None,
    note: str | None = None,
) -> Occupation:
    """Change an occupation; arguments left as None keep their value.

    ``work_types`` is the complete wanted list: new names are added, names already present keep
    their row (and id), names left out are removed, unless something still refers to them.
    """
    require_role(actor, Role.CENTRE_ADMIN)
    occupation = get_occupation(session, occupation_id)
    new_code = normalise_code(code) if code is not None else occupation.code
    new_name = name.strip() if name is not None else occupation.name
    new_lowest = lowest_level if lowest_level is not None else occupation.lowest_level
    new_highest = highest_level if highest_level is not None else occupation.highest_level
    _validate(
        session, code=new_code, name=new_name, lowest_level=new_lowest, highest_level=new_highest,
        existing=occupation,
    )
    conflict = level_range_conflict(session, occupation, new_lowest, new_highest)
    if conflict:
        raise ValidationError(conflict, field="lowest_level")
    wanted = _clean_work_types(work_types) if work_types is not None else None
    removed: list[WorkType] = []
    if wanted is not None:
        removed = [w for w in occupation.work_types if w.name not in wanted]
        for wt in removed:
            refs = work_type_references(session, wt)
            if refs:
                raise ValidationError(
                    f"工种「{wt.name}」已被{'、'.join(refs)}引用，不能删除；请先解除引用，或停用整个职业。",
                    field="work_types",
                )
    new_note = _clean_note(note) if note is not None else occupation.note

    before = occupation_summary(occupation)
    occupation.code = new_code
    occupation.name = new_name
    occupation.lowest_level = new_lowest
    occupation.highest_level = new_highest
    if is_access_type is not None:
        occupation.is_access_type = bool(is_access_type)
    occupation.note = new_note
    if wanted is not None:
        present = {w.name for w in occupation.work_types}
        for wt in removed:
            occupation.work_types.remove(wt)
        occupation.work_types.extend(WorkType(name=n) for n in wanted if n not in present)
    session.flush()
    after = occupation_summary(occupation)
    if after != before:
        audit.record(
            session, actor, "occupation.update", "occupation", occupation.id, before=before, after=after
        )
    return occupation


def set_occupation_active(session: Session, actor: User, occupation_id: int, active: bool) -> Occupation:
    """停用 / 启用: an inactive occupation stays in the catalogue (history refers to it) but no
    new evaluation may use it."""
    require_role(actor, Role.CENTRE_ADMIN)
    occupation = get_occupation(session, occupation_id)
    if bool(occupation.active) == bool(active):
        return occupation
    before = occupation_summary(occupation)
    occupation.active = bool(active)
    session.flush()
    audit.record(session, actor, "occupation.update", "occupation", occupation.id, before=before,
                 after=occupation_summary(occupation))
    return occupation


# ---------------------------------------------------------------- reference data


def seed_entries() -> list[dict[str, Any]]:
    """The shipped catalogue, ``foundation/data/occupations.json``."""
    text = resources.files("foundation").joinpath("data", "occupations.json").read_text(encoding="utf-8")
    entries: list[dict[str, Any]] = json.loads(text)["occupations"]
    return entries


def seed_catalogue(session: Session) -> int:
    """Insert the shipped occupations whose code is not stored yet; return how many.

    Idempotent, and rows that exist are left exactly as the centre edited them. Written as the
    system (audit actor None)."""
    inserted = 0
    for entry in seed_entries():
        if find_by_code(session, entry["code"]) is not None:
            continue
        insert_occupation(
            session, None, "occupation.create", code=entry["code"], name=entry["name"],
            lowest_level=entry["lowest_level"], highest_level=entry["highest_level"],
            is_access_type=entry.get("is_access_type", False), work_types=entry.get("work_types", []),
            note=entry.get("note"), extra={"source": "职业目录基础数据"},
        )
        inserted += 1
    return inserted
