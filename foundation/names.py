"""One rule for the names people type: 批次、考场、考试地点、试卷、细目表、鉴定点、互斥组、评价机构、
职业、工种、姓名 and the like (security issue #12, point 8).

The rule: whitespace at either end is trimmed (a name pasted with a trailing line break or tab
is what the user meant without it); a name that still holds a control or invisible format
character anywhere is refused with a Chinese message naming the character. Refused are the
Unicode categories

* ``Cc`` control characters (C0, DEL, C1: tab, CR, LF, NUL, ESC …),
* ``Cf`` format characters (bidi overrides and isolates U+202A–202E, U+2066–2069, the marks
  U+200E/U+200F, zero-width space and joiners, U+FEFF, soft hyphen …),
* ``Zl``/``Zp`` the line and paragraph separators U+2028/U+2029,
* ``Cs`` lone surrogates (which no database encoding can store).

Refusing rather than silently removing inner characters: a name is an identifier people read
and search for, and a silently changed name would not be the one they typed. Names are one line,
so a line break inside one is always a mistake (it broke the PDF downloads' file names), and an
invisible bidi override can make a name display as something else.

The rule holds at one point that every path crosses: a column declared with :func:`name_info`
gets an attribute ``set`` listener (attached when its mapper is configured) that trims the value
and raises :class:`~foundation.errors.ValidationError` for a refused character, whether the
name comes from a form, the JSON API, an Excel import, the CLI or demo seeding. Services and
importers also call :func:`clean_name` / :func:`name_problem` while validating, so their errors
name the field or the Excel row before anything is written; the listener is the backstop. Rows
loaded from the database are not checked (the listener sees assignments only), so names stored
before the rule still load and display; changing such a row's name goes through the rule.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Mapper, configure_mappers

from foundation.db import Base
from foundation.errors import ValidationError

#: Unicode general categories a name may not contain.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
NAME_LABEL = "name_label"


def name_info(label: str) -> dict[str, str]:
    """``mapped_column(..., info=name_info("批次名称"))`` puts the column under the rule."""
    return {NAME_LABEL: label}


def refused_characters(text: str) -> list[str]:
    """The characters of ``text`` that no name may contain, in order."""
    return [ch for ch in text if unicodedata.category(ch) in REFUSED_CATEGORIES]


def _describe(ch: str) -> str:
    known = {"\n": "换行符", "\r": "回车符", "\t": "制表符", "\u2028": "行分隔符", "\u2029": "段落分隔符"}
    return f"{known.get(ch, '不可见字符')} U+{ord(ch):04X}"


def name_problem(text: str, label: str = "名称") -> str | None:
    """None when ``text`` (already trimmed) obeys the rule, else the Chinese message."""
    bad = refused_characters(text)
    if not bad:
        return None
    return (f"{label}不能包含换行、制表符等控制字符或不可见的格式字符（发现{_describe(bad[0])}），"
            "请删除后重新填写。")


def clean_name(value: str, label: str = "名称", *, field: str | None = None) -> str:
    """``value`` trimmed; :class:`ValidationError` (with ``field``) when it breaks the rule."""
    text = value.strip()
    problem = name_problem(text, label)
    if problem:
        raise ValidationError(problem, field=field)
    return text


def _guard(label: str, key: str) -> Any:
    def on_set(target: Any, value: Any, oldvalue: Any, initiator: Any) -> Any:
        if isinstance(value, str):
            return clean_name(value, label, field=key)
        return value

    return on_set


@event.listens_for(Base, "mapper_configured", propagate=True)
def _attach_guards(mapper: Mapper[Any], class_: type) -> None:
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        label = column.info.get(NAME_LABEL) if hasattr(column, "info") else None
        # Only the class that declares the column; subclasses inherit its instrumented attribute.
        if label and prop.parent is mapper and column.table is mapper.local_table:
            event.listen(getattr(class_, prop.key), "set", _guard(label, prop.key), retval=True)


def name_columns() -> list[tuple[type, str, str]]:
    """Every (model, attribute, label) under the rule (configures the mappers first)."""

    configure_mappers()
    found = []
    for mapper in Base.registry.mappers:
        for prop in mapper.column_attrs:
            label = getattr(prop.columns[0], "info", {}).get(NAME_LABEL)
            if label:
                found.append((mapper.class_, prop.key, label))
    return sorted(found, key=lambda t: (t[0].__name__, t[1]))
