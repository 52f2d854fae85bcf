"""成绩单 as PDF (reportlab, :mod:`web.pdf`): the batch's (A4 landscape, one row per
registration) and one registration's (A4, results, decision and reasons). The CJK TrueType font
is embedded (WenQuanYi Zen Hei, see :mod:`web.pdf`), so the PDF prints the same everywhere."""

from __future__ import annotations

from typing import Any

from reportlab.lib.pagesizes import A4, landscape
from reportlab.platypus import Spacer
from sqlalchemy.orm import Session, joinedload

from examroom.models import Batch, BatchCandidate
from foundation.levels import level_name
from grading.results import sheets
from web.pdf import document, mm, para, table
from web.templating import beijing


def _target(batch: Batch) -> str:
    return batch.occupation.name + (f"（{batch.work_type.name}）" if batch.work_type else "")


def _cell(row: sheets.GridRow, component: Any) -> str:
    sittings = row.cell(component)
    if not sittings:
        return "缺成绩" if row.missing(component) else "—"
    return "；".join(s.text if len(sittings) == 1 else f"{s.text}（{s.sat_on:%m-%d}）" for s in sittings)


def _decision(current: Any) -> tuple[str, str]:
    shown = current.confirmed or current.draft
    if shown is None:
        return "未判定", ""
    if shown.state == "confirmed":
        when = beijing(shown.confirmed_at, "%Y-%m-%d")
        return sheets.outcome_label(shown.outcome), f"{shown.confirmed_by_name} {when}"
    return f"{sheets.outcome_label(shown.outcome)}（草稿）", "未确认"


def batch_transcript_pdf(session: Session, batch: Batch) -> bytes:
    regs = list(session.scalars(sheets.registration_query(batch.id).options(joinedload(BatchCandidate.candidate))))
    grid = sheets.batch_grid(session, batch, regs)
    header = ["序号", "准考证号", "姓名", "证件号码", *[c.label for c in grid.components], "结论", "确认人"]
    rows: list[list[Any]] = [header]
    for k, row in enumerate(grid.rows, start=1):
        reg = row.registration
        outcome, who = _decision(row.current)
        rows.append([str(k), reg.ticket_no, reg.candidate.name, reg.candidate.id_number or "",
                     *[_cell(row, c) for c in grid.components], outcome, who])
    if len(rows) == 1:
        rows.append(["", "本批次暂无考生", "", "", *["" for _ in grid.components], "", ""])
    n = len(grid.components)
    widths = [12 * mm, 30 * mm, 22 * mm, 40 * mm, *[max(22.0, 90 / max(n, 1)) * mm for _ in range(n)], 26 * mm,
              36 * mm]
    flowables = [
        para("职业技能等级认定成绩单", "title"),
        para(f"{batch.institution.name} · {batch.name} · {_target(batch)} · {level_name(batch.level)}", "subtitle"),
        Spacer(1, 3 * mm), table(rows, widths), Spacer(1, 4 * mm),
        para("各科满分 100 分，各科均须合格；结论以评价机构确认（签名）者为准，"
             "「草稿」为尚未确认的判定结果。", "small"),
    ]
    return document(flowables, title=f"成绩单 {batch.name}", pagesize=landscape(A4))


def person_transcript_pdf(record: sheets.Record) -> bytes:
    reg, batch = record.registration, record.batch
    shown = record.released or record.latest
    info = [
        ["姓名", reg.candidate.name, "证件号码", reg.candidate.id_number or ""],
        ["准考证号", reg.ticket_no, "评价方式", sheets.METHOD_LABELS.get(reg.method, reg.method)],
        ["职业（工种）", _target(batch), "等级", level_name(batch.level)],
        ["评价机构", batch.institution.name, "认定批次", batch.name],
    ]
    row = record.grid.rows[0]
    scores = [["考核科目", "成绩"], *[[c.label, _cell(row, c)] for c in record.grid.components]]
    flowables: list[Any] = [
        para("职业技能等级认定成绩单", "title"),
        table(info, [26 * mm, 61 * mm, 26 * mm, 61 * mm], header=False), Spacer(1, 5 * mm),
        table(scores, [60 * mm, 114 * mm]), Spacer(1, 5 * mm),
    ]
    if shown is None:
        flowables.append(para("结论：尚未判定。", "heading"))
    else:
        state = "已确认" if shown.state == "confirmed" else "草稿，尚未确认"
        flowables.append(para(f"结论：{sheets.outcome_label(shown.outcome)}（第 {shown.version} 版，{state}；"
                              f"判定日期 {shown.decided_on:%Y-%m-%d}）", "heading"))
        flowables += [para(f"{k}. {r['text']}", "body") for k, r in enumerate(shown.reasons, start=1)]
        if shown.confirmed_by_name:
            flowables += [Spacer(1, 6 * mm), para(f"确认人（签名）：{shown.confirmed_by_name}    确认时间："
                                                  f"{beijing(shown.confirmed_at)}", "body")]
    return document(flowables, title=f"成绩单 {reg.candidate.name}")
