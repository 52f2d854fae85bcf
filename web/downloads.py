"""File downloads (PDF, Excel, ZIP) with a Content-Disposition that any name survives.

Download names are built from what users typed (batch, room, paper and blueprint names). A name
stored before the name rule (:mod:`foundation.names`) may hold a line break, and Werkzeug refuses
a header value with one (the download failed with a 500). So the file name is made safe here, at
the one place every download passes: control, format and separator characters (the categories
the name rule refuses) and the characters Windows forbids in file names become 「-」, runs of
whitespace one space. Werkzeug then writes the RFC 6266 header: ``filename="…"`` with an ASCII
fallback and, for any other name, ``filename*=UTF-8''…`` percent-encoded as RFC 5987 says.
"""

from __future__ import annotations

import io
import re
import unicodedata

from flask import Response, send_file

from foundation.names import REFUSED_CATEGORIES

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"
ZIP = "application/zip"
MAX_NAME = 150  # characters; a name's UTF-8 percent-encoding stays well under header limits

_FORBIDDEN = re.compile(r'[\\/:*?"<>|]')


def safe_filename(name: str, default: str = "download") -> str:
    """``name`` fit for a Content-Disposition header and a file system."""
    chars = ["-" if unicodedata.category(ch) in REFUSED_CATEGORIES else ch for ch in name]
    text = _FORBIDDEN.sub("-", "".join(chars))
    text = re.sub(r"\s+", " ", text).strip(" .")
    if len(text) > MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        text = stem[: MAX_NAME - len(ext) - 1] + dot + ext if dot and len(ext) <= 8 else text[:MAX_NAME]
    return text or default


def download(data: bytes, name: str, mimetype: str, *, inline: bool = False) -> Response:
    """``data`` as a file download named ``name`` (shown in the browser when ``inline``)."""
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=not inline,
                     download_name=safe_filename(name))
