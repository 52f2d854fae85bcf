"""Text no database can store is refused at the door.

PostgreSQL refuses a NUL character in any text value, even as a query parameter, and no
database encoding holds a lone surrogate (``"\\ud800"``, which ``JSON.stringify`` emits for
half an emoji). Left to reach a query, either turns a search, a filter or a form into a server
error on PostgreSQL while SQLite answers, so the same request behaves differently per
database. No field of the platform can mean such a character, so every request is checked
once, before any view runs: query-string keys and values, form fields and JSON bodies (keys
and values, at any depth). A hit answers 400 with a Chinese message naming the field (the
JSON API also gives it as ``field``) and nothing is read or written. Uploaded files are the
importers' business (they report bad cells row by row), and socket events validate their own
payloads (``web.sockets``: ``bad_value``).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, request

from foundation.errors import ValidationError

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _describe(ch: str) -> str:
    return "空字符 NUL" if ch == "\x00" else f"不成对的代理字符 U+{ord(ch):04X}"


def message(field: str, ch: str) -> str:
    where = f"「{field}」" if field else "输入"
    return f"{where}中含有无法保存的控制字符（{_describe(ch)}），请删除后重试。"


def find_unstorable(value: Any, path: str = "") -> tuple[str, str] | None:
    """The first NUL or lone surrogate in a decoded JSON value (or a string): (the JSON path
    where it is, e.g. ``item_codes[1]``, the character), or None."""
    if isinstance(value, str):
        hit = UNSTORABLE.search(value)
        return None if hit is None else (path, hit.group())
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            found = find_unstorable(key, here) or find_unstorable(item, here)
            if found:
                return found
    if isinstance(value, list):
        for k, item in enumerate(value):
            found = find_unstorable(item, f"{path}[{k}]")
            if found:
                return found
    return None


def unstorable(value: Any) -> bool:
    """Whether a decoded JSON value (or a string) holds a NUL or a lone surrogate anywhere."""
    return find_unstorable(value) is not None


def _request_unstorable() -> tuple[str, str] | None:
    pairs = [*request.args.items(multi=True)]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        pairs += request.form.items(multi=True)
    for key, value in pairs:
        found = find_unstorable(key, key) or find_unstorable(value, key)
        if found:
            return found
    return find_unstorable(request.get_json(silent=True)) if request.is_json else None


def install_input_guard(app: Flask) -> None:
    @app.before_request
    def _refuse_unstorable() -> None:
        found = _request_unstorable()
        if found is not None:
            field, ch = found
            raise ValidationError(message(field, ch), field=field or None)
