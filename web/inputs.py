"""Text no database can store is refused at the door.

PostgreSQL refuses a NUL character in any text value, even as a query parameter, and no
database encoding holds a lone surrogate (``"\\ud800"``, which ``JSON.stringify`` emits for
half an emoji). Left to reach a query, either turns a search, a filter or a form into a server
error on PostgreSQL while SQLite answers, so the same request behaves differently per
database. No field of the platform can mean such a character, so every request is checked
once, before any view runs: query-string keys and values, form fields and JSON bodies (keys
and values, at any depth). A hit answers 400 with a Chinese message and nothing is read or
written. Uploaded files are the importers' business (they report bad cells row by row), and
socket events validate their own payloads (``web.sockets``: ``bad_value``).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, request

from foundation.errors import ValidationError

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MESSAGE = "输入中含有无法保存的字符（空字符或不成对的代理字符），请删除后重试。"


def unstorable(value: Any) -> bool:
    """Whether a decoded JSON value (or a string) holds a NUL or a lone surrogate anywhere."""
    if isinstance(value, str):
        return UNSTORABLE.search(value) is not None
    if isinstance(value, dict):
        return any(unstorable(k) or unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(unstorable(v) for v in value)
    return False


def _request_unstorable() -> bool:
    pairs = [*request.args.items(multi=True)]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        pairs += request.form.items(multi=True)
    if any(unstorable(k) or unstorable(v) for k, v in pairs):
        return True
    return request.is_json and unstorable(request.get_json(silent=True))


def install_input_guard(app: Flask) -> None:
    @app.before_request
    def _refuse_unstorable() -> None:
        if _request_unstorable():
            raise ValidationError(MESSAGE)
