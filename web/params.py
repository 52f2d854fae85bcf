"""Integers from URLs, query strings and form fields, bounded once for every route.

An id larger than any column can hold is not an error of the server: PostgreSQL refuses a
bind value beyond ``integer`` ("integer out of range") and SQLite one beyond 64 bits
(``OverflowError``), and an offset beyond 64 bits fails on both, so such values are refused
here before a query sees them.

* ``<int:...>`` in every route is :class:`IdConverter` (registered as ``int`` in
  ``create_app``): up to ten ASCII digits and at most :data:`~foundation.db.MAX_ID`, else the
  route does not match (404).
* :func:`query_int` parses an integer query parameter strictly: blank is ``None``, anything
  else that is not a whole number in range is a :class:`~foundation.errors.ValidationError`
  (400, with a Chinese message; JSON under ``/api/``).
* :func:`form_int` parses a form field leniently: not a whole number in range is ``None``,
  so the service then says which field is missing or unknown.
* ``?page=`` and ``?per_page=`` of every paginated page go through :func:`query_int` in
  ``web.extensions.BoundedSQLAlchemy.paginate``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from werkzeug.routing import IntegerConverter, Map

from foundation.db import MAX_ID
from foundation.errors import ValidationError

__all__ = ["MAX_ID", "IdConverter", "digits_at_most", "form_int", "query_int"]

_DIGITS = re.compile(r"[0-9]{1,10}")  # ASCII only: str.isdigit() also accepts "²", which int() refuses


def digits_at_most(limit: int) -> str:
    """A regular expression matching exactly the ASCII numerals 0..``limit``.

    The bound must be in the pattern, not only in ``to_python``: werkzeug checks a rule's
    methods before its converters, so an id refused by the converter made DELETE and POST
    answer 405 (the GET rule of the same path "matched") instead of 404."""
    text = str(limit)
    options = [f"[0-9]{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for i, digit in enumerate(text):
        if digit != "0":
            rest = len(text) - i - 1
            options.append(text[:i] + f"[0-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    options.append(text)
    return "(?:" + "|".join(options) + ")"


class IdConverter(IntegerConverter):
    """``<int:name>``: 0 to MAX_ID in ASCII digits, else the route does not match (404).
    werkzeug's own accepts any length and any Unicode digit."""

    regex = digits_at_most(MAX_ID)

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = MAX_ID, signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def parse_int(raw: Any, *, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """``raw`` as an int if it is ASCII digits (surrounding blanks allowed) within
    [minimum, maximum], else None."""
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def query_int(args: Mapping[str, str], name: str, *, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """The query parameter ``name``: None when absent or blank, else an int in range or a 400."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    value = parse_int(raw, minimum=minimum, maximum=maximum)
    if value is None:
        raise ValidationError(f"参数 {name} 必须是 {minimum} 到 {maximum} 之间的整数。", field=name)
    return value


def form_int(raw: Any, *, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """A form field or lenient filter: an int in range, or None for anything else."""
    return parse_int(raw, minimum=minimum, maximum=maximum)
