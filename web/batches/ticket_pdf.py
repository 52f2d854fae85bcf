"""Admission tickets (准考证) as PDF: one A4 page per ticket, with a vector QR code of the
ticket number drawn from segno's matrix (no raster image, prints sharp at any size)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import segno
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.platypus import Image, PageBreak, Spacer, Table, TableStyle

from examroom.tickets import Ticket
from web.pdf import cjk_font, document, mm, para, table


def qr_drawing(payload: str, size: float = 32 * mm) -> Drawing:
    """A QR code of ``payload`` as a square reportlab drawing of ``size`` points."""
    qr = segno.make(payload, error="m", micro=False)
    rows = list(qr.matrix_iter(border=2))
    module = size / len(rows)
    drawing = Drawing(size, size)
    for r, line in enumerate(rows):
        for c, dark in enumerate(line):
            if dark:
                drawing.add(Rect(c * module, size - (r + 1) * module, module, module,
                                 fillColor=colors.black, strokeColor=None, strokeWidth=0))
    return drawing


def photo_flowable(data: bytes | None, width: float = 25 * mm, height: float = 35 * mm) -> Any:
    """A 1-inch photo (25 × 35 mm), or a bordered box saying there is none."""
    if data is not None:
        return Image(io.BytesIO(data), width=width, height=height)
    box = Table([[para("照片", "small")]], colWidths=[width], rowHeights=[height])
    box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.5, colors.grey), ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                             ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return box


def _ticket_flowables(ticket: Ticket, photo: bytes | None) -> list[Any]:
    width = 174 * mm
    head = Table([[para(ticket.title, "title"), photo_flowable(photo), qr_drawing(ticket.qr_payload)]],
                 colWidths=[width - 68 * mm, 30 * mm, 38 * mm])
    head.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("ALIGN", (1, 0), (-1, 0), "RIGHT")]))
    rows = [
        ["准考证号", ticket.ticket_no, "姓名", ticket.candidate_name],
        ["身份证号", ticket.id_number_masked, "等级", ticket.level],
        ["职业（工种）", ticket.occupation, "考核模块", ticket.module],
        ["认定批次", ticket.batch_name, "评价机构", ticket.institution],
        ["考试日期", ticket.date, "考试时间", ticket.time],
        ["考试地点", ticket.place, "考场", ticket.room or "--"],
        ["座位号", ticket.seat_text, "", ""],
    ]
    info = table(rows, col_widths=[26 * mm, 61 * mm, 26 * mm, 61 * mm], header=False)
    info.setStyle(TableStyle([("SPAN", (1, 6), (3, 6)), ("FONTNAME", (0, 0), (-1, -1), cjk_font())]))
    flowables: list[Any] = [head, para(f"{ticket.institution} · {ticket.batch_name}", "subtitle"),
                            Spacer(1, 3 * mm), info, Spacer(1, 6 * mm), para("考场规则", "heading")]
    flowables += [para(f"{k}. {rule}", "small") for k, rule in enumerate(ticket.rules, 1)]
    note = "二维码内容为准考证号，入场时由监考员核验。本准考证须与本人身份证同时使用。"
    flowables += [Spacer(1, 8 * mm), para(note, "small")]
    return flowables


def tickets_pdf(tickets: Sequence[Ticket], *, title: str, photos: Mapping[int, bytes] | None = None) -> bytes:
    """One page per ticket, with the candidate's photo from ``photos`` (by person id) when
    there is one; an empty sequence still gives a valid one-page PDF saying so."""
    flowables: list[Any] = []
    for k, ticket in enumerate(tickets):
        if k:
            flowables.append(PageBreak())
        photo = (photos or {}).get(ticket.person_id) if ticket.person_id is not None else None
        flowables.extend(_ticket_flowables(ticket, photo))
    if not flowables:
        flowables = [para("本场次暂无考生。", "title")]
    return document(flowables, title=title)
