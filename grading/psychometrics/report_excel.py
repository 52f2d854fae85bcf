"""Excel downloads of the analysis reports (题目分析报告): one workbook per report, built from
the same report objects the pages render (:mod:`grading.psychometrics.reports`), so the numbers agree.

Each workbook starts with a 概况 sheet (what, when, from which calibration), then one sheet
per table. Missing values (NaN, not computed) are empty cells; numbers stay numbers. The sheets
are streamed (:func:`foundation.xlsx.new_workbook`): column widths are set before a sheet's
first row and highlighted rows get their fill as they are appended.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter

from foundation.db import as_utc
from foundation.xlsx import BOLD, append_row, new_cell, new_workbook, workbook_bytes
from grading.psychometrics.reports import THETA_GRID, DifReport, ItemReport, PaperReport

__all__ = ["dif_report_xlsx", "item_report_xlsx", "paper_report_xlsx"]

HEADER_FILL = PatternFill("solid", fgColor="F6F8FA")
WARN_FILL = PatternFill("solid", fgColor="FFF8C5")
DANGER_FILL = PatternFill("solid", fgColor="FFEBE9")


def _cell(value: Any, digits: int | None = 4) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return round(value, digits) if digits is not None else value
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return _cell(value.item(), digits)
    return value


def _widen(ws: Any, headers: Sequence[str], widths: Sequence[int] | None = None) -> None:
    """Column widths for a table with ``headers`` (never narrower than already set); call it
    before the sheet's first row."""
    for col, title in enumerate(headers, start=1):
        width = widths[col - 1] if widths and col - 1 < len(widths) else max(10, 2 * len(title) + 2)
        letter = get_column_letter(col)
        ws.column_dimensions[letter].width = max(ws.column_dimensions[letter].width or 0, width)


def _table(ws: Any, headers: Sequence[str], rows: Iterable[Sequence[Any]], *,
           fills: Sequence[PatternFill | None] = (), widths: Sequence[int] | None = None,
           first: bool = True) -> None:
    """Append a header row and data rows; the data row ``k`` (from 0) gets ``fills[k]`` (if
    any) across all the header's columns. ``first``: the table opens the sheet (widths are set
    and the panes frozen below the header); otherwise call :func:`_widen` before the sheet's
    first row."""
    if first:
        _widen(ws, headers, widths)
        ws.freeze_panes = "A2"
    append_row(ws, [new_cell(ws, title, font=BOLD, fill=HEADER_FILL) for title in headers])
    for k, row in enumerate(rows):
        fill = fills[k] if k < len(fills) else None
        values = [_cell(v) for v in row]
        if fill is not None:
            values += [None] * (len(headers) - len(values))
            append_row(ws, [new_cell(ws, v, fill=fill) if i < len(headers) else v for i, v in enumerate(values)])
        else:
            append_row(ws, values)


def _pairs(ws: Any, pairs: Sequence[tuple[str, Any]], *, then: Sequence[str] = (),
           widths: Sequence[int] | None = None) -> None:
    """Key–value lines (key bold) opening the sheet, then a blank row; ``then`` and ``widths``
    are the headers and widths of the table that follows (``_table(..., first=False)``)."""
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 48
    _widen(ws, then, widths)
    for key, value in pairs:
        append_row(ws, [new_cell(ws, key, font=BOLD), _cell(value)])
    append_row(ws, [])


def _note(ws: Any, text: str) -> None:
    append_row(ws, [text])


def _when(value: Any) -> str:
    return as_utc(value).strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


# ---------------------------------------------------------------- item


def item_report_xlsx(report: ItemReport) -> bytes:
    """概况 · 实测与模型 · 选项分析 · 参数历史 · 曲线."""
    wb, ws = new_workbook("概况")
    p = report.parameter
    pairs: list[tuple[str, Any]] = [
        ("试题编码", report.item.code),
        ("题型", report.item.item_type),
        ("标定", f"#{report.run.id}（{report.run.model.upper()}，{_when(report.run.created_at)}）" if report.run
         else "尚未标定"),
    ]
    if p is not None:
        pairs += [
            ("区分度 a", p.a), ("难度 b", p.b), ("猜测 c", p.c), ("SE(a)", p.se_a), ("SE(b)", p.se_b),
            ("作答人数", report.ctt_n if report.ctt_n is not None else p.n),
            ("通过率 p（CTT）", report.ctt_p), ("校正点二列相关", report.ctt_pbis),
            ("区分度指数 D（27%）", report.ctt_d),
            ("S-X2", p.sx2), ("S-X2 自由度", p.sx2_df), ("S-X2 校正 p（FDR）", p.sx2_p_adjusted),
            ("参数漂移 Δb", p.drift_b),
            ("预警", "；".join(report.flags) or "无"),
        ]
        if report.observed is not None:
            pairs += [("实测与模型的加权 RMSD", report.observed.rmsd),
                      ("分组依据", f"剔除本题后的 EAP 能力估计 θ（{report.observed.n_matching_items} 道题），"
                                   f"按人数等分为 {len(report.observed.groups)} 组")]
    _pairs(ws, pairs)

    ws = wb.create_sheet("实测与模型")
    if report.observed is not None:
        _table(ws, ["组", "人数", "θ 均值", "θ 最小", "θ 最大", "实测通过率", "模型预测", "ICC(θ 均值)", "标准误"],
               [(g.index, g.n, g.theta_mean, g.theta_min, g.theta_max, g.observed, g.expected, g.model_at_mean,
                 g.se) for g in report.observed.groups])
    else:
        _note(ws, report.observed_note or "无数据")

    ws = wb.create_sheet("选项分析")
    if report.options is not None:
        _table(ws, ["选项", "选择人数", "选择比例", "选项–剩余分相关", "正确答案", "提示"],
               [(o.label, o.n, o.share, o.rest_correlation, o.is_key,
                 "干扰项与剩余分正相关，请核对答案与选项" if o.warning else "") for o in report.options],
               fills=[WARN_FILL if o.warning else None for o in report.options])
    else:
        _note(ws, report.options_note or "无数据")

    ws = wb.create_sheet("参数历史")
    _table(ws, ["标定", "时间", "模型", "a", "b", "c", "SE(a)", "SE(b)", "人数", "漂移 Δb", "当前参数", "预警"],
           [(f"#{h.run_id}", _when(h.at), h.model.upper(), h.a, h.b, h.c, h.se_a, h.se_b, h.n, h.drift_b,
             h.is_current, "；".join(h.flags)) for h in report.history],
           widths=[8, 20, 8, 10, 10, 10, 10, 10, 8, 10, 10, 40])

    ws = wb.create_sheet("曲线")
    if report.curves is not None:
        _table(ws, ["θ", "P(θ)", "信息量 I(θ)"],
               [(float(t), float(pv), float(iv)) for t, pv, iv in
                zip(report.curves.theta, report.curves.probability, report.curves.information, strict=True)])
    return workbook_bytes(wb)


# ---------------------------------------------------------------- paper


def paper_report_xlsx(report: PaperReport) -> bytes:
    """概况 · 信息曲线 · 分数分布 · 试题与信度 (one row per form item)."""
    wb, ws = new_workbook("概况")
    paper = report.paper
    headers = ["卷", "题数", "已标定", "合格线处信息量", "合格线处 SEM", "标定", "考生数", "信度方法", "信度",
               "平均分", "标准差", "测量标准误", "说明"]
    widths = [6, 6, 8, 14, 12, 8, 8, 10, 8, 8, 8, 10, 40]
    _pairs(ws, [("试卷", paper.name), ("合格线 θ", paper.cut_theta),
                ("作答数据", f"标定 #{report.run.id}" if report.run else "各卷最新的覆盖全部试题的标定")],
           then=headers, widths=widths)
    _table(ws, headers,
           [(f.label, len(f.items), f.n_calibrated, f.information_at(paper.cut_theta), f.sem_at(paper.cut_theta),
             f"#{f.run.id}" if f.run else "", f.reliability.n_examinees if f.reliability else None,
             f.reliability.method if f.reliability else "", f.reliability.alpha if f.reliability else None,
             f.reliability.mean if f.reliability else None, f.reliability.sd if f.reliability else None,
             f.reliability.sem if f.reliability else None, f.note) for f in report.forms],
           first=False)

    ws = wb.create_sheet("信息曲线")
    headers = ["θ"]
    for f in report.forms:
        headers += [f"卷 {f.label} 信息量", f"卷 {f.label} SEM"]
    rows = []
    for k, t in enumerate(THETA_GRID):
        line: list[Any] = [float(t)]
        for f in report.forms:
            line += [f.tif[k] if k < len(f.tif) else None, f.sem[k] if k < len(f.sem) else None]
        rows.append(line)
    _table(ws, headers, rows)

    ws = wb.create_sheet("分数分布")
    _table(ws, ["卷", "总分", "人数"],
           [(f.label, s, n) for f in report.forms if f.histogram for s, n in zip(*f.histogram, strict=True)])

    ws = wb.create_sheet("试题与信度")
    table_rows = []
    fills: list[PatternFill | None] = []
    for f in report.forms:
        for it in f.items:
            table_rows.append((f.label, it.position, it.code, it.a, it.b, it.c, it.p, it.pbis, it.alpha_if_deleted,
                               "删除后信度提高" if it.raises_alpha else ""))
            fills.append(WARN_FILL if it.raises_alpha else None)
    _table(ws, ["卷", "题号", "试题编码", "a", "b", "c", "通过率 p", "校正点二列相关", "删除该题后的信度", "提示"],
           table_rows, fills=fills, widths=[6, 6, 16, 8, 8, 8, 10, 14, 16, 16])
    return workbook_bytes(wb)


# ---------------------------------------------------------------- DIF


def dif_report_xlsx(report: DifReport) -> bytes:
    """概况 · DIF (one row per focal group × item; class C rows highlighted)."""
    wb, ws = new_workbook("概况")
    counts = report.counts
    values_headers = ["取值", "人数", "角色"]
    _pairs(ws, [
        ("标定", f"#{report.run.id}（{report.run.model.upper()}）"),
        ("作答数据", report.run.response_set.name),
        ("分组", report.group),
        ("参照组", report.reference),
        ("匹配方式", report.matching),
        ("显著性水平", report.alpha),
        ("A 类（可忽略）", counts["A"]), ("B 类（中等）", counts["B"]), ("C 类（较大）", counts["C"]),
        ("无法计算", counts["—"]),
        ("未纳入（非 0/1 计分）", "、".join(report.excluded) or "无"),
    ], then=values_headers)
    _table(ws, values_headers,
           [(v, n, "参照组" if v == report.reference else "目标组") for v, n in report.values], first=False)

    ws = wb.create_sheet("DIF")
    headers = ["目标组", "试题编码", "α_MH", "MH D-DIF", "SE", "χ²", "p", "ETS 类别", "有利于", "参照组人数",
               "目标组人数"]
    class_fill = {"C": DANGER_FILL, "B": WARN_FILL}
    rows = []
    fills = []
    for comp in report.comparisons:
        for r in comp.rows:
            rows.append((comp.focal, r.code, r.alpha_mh, r.d_dif, r.se, r.chi_square, r.p_value, r.ets_class or "—",
                         r.favours, r.n_reference, r.n_focal))
            fills.append(class_fill.get(r.ets_class or ""))
    _table(ws, headers, rows, fills=fills, widths=[12, 16, 10, 10, 8, 10, 10, 10, 10, 10, 10])
    return workbook_bytes(wb)
