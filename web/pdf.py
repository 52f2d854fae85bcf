"""Printable PDFs (admission tickets, room records, supervision reports) with reportlab.

Chinese text needs a CJK font. reportlab embeds only TrueType outlines, so Noto CJK (CFF
outlines) cannot be embedded; WenQuanYi Zen Hei (TrueType, ``fonts-wqy-zenhei``) is embedded
when it is installed, so the PDF prints the same everywhere. Without it we fall back to
reportlab's built-in Adobe CID font ``STSong-Light``: not embedded, the viewer substitutes a
system CJK font (Noto CJK on our machines).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

__all__ = ["A4", "cjk_font", "document", "mm", "para", "styles", "table"]

# Binary streams (Flate only): ASCII85 on top made every embedded font subset and image a quarter
# larger and, encoded in pure Python, took about half the time of saving a certificate.
rl_config.useA85 = 0

#: TrueType CJK fonts we can embed, in order of preference (path, subfont index).
EMBEDDABLE = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
)
FALLBACK = "STSong-Light"


@cache
def cjk_font() -> str:
    """Register and return the name of the CJK font PDFs use."""
    for path, index in EMBEDDABLE:
        if os.path.exists(path):
            try:
                pdfmetrics.registerFont(TTFont("CJK", path, subfontIndex=index))
                return "CJK"
            except Exception:  # noqa: BLE001, S112  (a broken font file: try the next one)
                continue
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK))
    return FALLBACK


@cache
def styles() -> dict[str, ParagraphStyle]:
    font = cjk_font()
    base = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=15, wordWrap="CJK")
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=9, leading=12),
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=26, alignment=1, spaceAfter=8),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=12, leading=18, alignment=1, spaceAfter=6),
        "heading": ParagraphStyle("heading", parent=base, fontSize=12, leading=18, spaceBefore=8, spaceAfter=4),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9.5, leading=13),
    }


def para(text: str, style: str = "body") -> Paragraph:
    """A paragraph of plain text (escaped: never pass markup from users through here)."""
    from xml.sax.saxutils import escape

    return Paragraph(escape(str(text)).replace("\n", "<br/>"), styles()[style])


def table(rows: Sequence[Sequence[Any]], col_widths: Sequence[float] | None = None, *,
          header: bool = True, style: str = "cell") -> Table:
    """A bordered table; plain-text cells become wrapped paragraphs."""
    cells = [[c if not isinstance(c, (str, int, float)) else para(str(c), style) for c in row] for row in rows]
    t = Table(cells, colWidths=col_widths, repeatRows=1 if header else 0)
    commands = [
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("FONTNAME", (0, 0), (-1, -1), cjk_font()),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")))
    t.setStyle(TableStyle(commands))
    return t


def document(flowables: Sequence[Any], *, title: str, pagesize: tuple[float, float] = A4,
             on_page: Callable[[Any, Any], None] | None = None) -> bytes:
    """Render flowables to PDF bytes (A4, 18 mm margins)."""
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=pagesize, title=title, author="职业技能等级认定平台",
                            leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=16 * mm)
    if on_page is None:
        doc.build(list(flowables))
    else:
        doc.build(list(flowables), onFirstPage=on_page, onLaterPages=on_page)
    return buf.getvalue()
