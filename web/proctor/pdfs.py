"""The room record (考场记录表) and the supervision report (督考报告) as A4 PDFs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from reportlab.platypus import Spacer

from foundation.levels import LEVEL_NAMES
from web.pdf import document, mm, para, table
from web.templating import beijing

WIDTH = 174 * mm


def bj(iso: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return beijing(dt.datetime.fromisoformat(iso), fmt) if iso else ""


def _occupation(room: dict[str, Any]) -> str:
    return room["occupation"] + (f"（{room['work_type']}）" if room["work_type"] else "")


def record_pdf(rec: dict[str, Any]) -> bytes:
    room = rec["room"]
    counts = rec["counts"]
    flow: list[Any] = [para("考场记录表", "title"), para(f"{room['institution']} · {room['batch']}", "subtitle")]
    info = [
        ["职业（工种）", _occupation(room), "等级", LEVEL_NAMES.get(room["level"], str(room["level"]))],
        ["考场", room["name"], "考试地点", room["place"] or "--"],
        ["开考时间", bj(room["starts_at"]), "考试时长", f"{room['duration_minutes']} 分钟"],
        ["试卷", rec["paper"] or "--", "监考员", "、".join(p["name"] for p in rec["proctors"]) or "--"],
    ]
    flow += [table(info, [26 * mm, 61 * mm, 26 * mm, 61 * mm], header=False), Spacer(1, 4 * mm)]
    flow.append(para("考生情况", "heading"))
    flow.append(table([["应考", "实考", "缺考", "交卷", "到时收卷", "终止考试"],
                       [counts["expected"], counts["present"], counts["absent"], counts["submitted"],
                        counts["expired"], counts["terminated"]]], [WIDTH / 6] * 6))
    if rec["absentees"]:
        flow.append(para("缺考考生", "heading"))
        flow.append(table([["座位", "姓名", "准考证号", "身份证号"]] + [
            [f"{a['row']}排{a['col']}座", a["name"], a["ticket_no"], a["id_masked"]] for a in rec["absentees"]
        ], [24 * mm, 40 * mm, 50 * mm, 60 * mm]))
    flow.append(para("考场情况记录（开考、暂停、延时、警告、违纪、终止、换机、收卷）", "heading"))
    if rec["entries"]:
        flow.append(table([["时间", "事项", "考生", "说明", "操作人"]] + [
            [bj(e["at"], "%H:%M:%S"), e["label"], e["who"], e["detail"] or "--", e["actor"]] for e in rec["entries"]
        ], [20 * mm, 22 * mm, 48 * mm, 58 * mm, 26 * mm]))
    else:
        flow.append(para("无。"))
    flow.append(para("考生作答情况", "heading"))
    flow.append(table([["座位", "姓名", "准考证号", "状态", "已答", "离开页面", "警告", "违纪"]] + [
        [f"{c['row']}排{c['col']}座", c["name"], c["ticket_no"], c["status_label"], c["answered"],
         c["focus_losses"], c["warnings"], c["incidents"]] for c in rec["candidates"]
    ], [18 * mm, 28 * mm, 36 * mm, 20 * mm, 16 * mm, 20 * mm, 16 * mm, 20 * mm]))
    flow.append(para("监考员签名", "heading"))
    signed = {s["proctor_id"]: s for s in rec["signatures"]}
    rows = [["监考员", "签名时间", "手写签名"]]
    for p in rec["proctors"]:
        s = signed.get(p["id"])
        when = bj(s["signed_at"]) + ("" if s["current"] else "（签名后记录有变动）") if s else "未签名"
        rows.append([p["name"], when, ""])
    flow.append(table(rows, [40 * mm, 70 * mm, 64 * mm]))
    flow += [Spacer(1, 4 * mm), para(f"本表由系统依据考场事件记录生成。记录摘要 SHA-256：{rec['digest']}", "small")]
    return document(flow, title=f"考场记录表 {room['batch']} {room['name']}")


def report_pdf(view: dict[str, Any]) -> bytes:
    batch = view["batch"]
    report = view["report"]
    sitting = view["sitting"]
    flow: list[Any] = [para("督考报告", "title"), para(f"{batch.institution.name} · {batch.name}", "subtitle")]
    occupation = batch.occupation.name + (f"（{batch.work_type.name}）" if batch.work_type else "")
    kind = "中心选派" if report.supervisor.institution_id is None else "机构内部"
    flow.append(table([
        ["职业（工种）", occupation, "等级", LEVEL_NAMES.get(batch.level, str(batch.level))],
        ["场次", sitting.module.label, "开考时间", beijing(sitting.starts_at)],
        ["督考员", f"{report.supervisor.name}（{kind}）", "提交时间", beijing(report.submitted_at)],
        ["总体评价", report.rating_label, "认定地点", batch.place or "--"],
    ], [26 * mm, 61 * mm, 26 * mm, 61 * mm], header=False))
    flow.append(para("各考场情况", "heading"))
    flow.append(table([["考场", "开考时间", "应考", "实考", "缺考", "警告", "违纪/终止"]] + [
        [r["room"]["name"], bj(r["room"]["starts_at"]), r["counts"]["expected"], r["counts"]["present"],
         r["counts"]["absent"], r["warnings"], r["incidents"]] for r in view["rooms"]
    ], [30 * mm, 40 * mm, 18 * mm, 18 * mm, 18 * mm, 20 * mm, 30 * mm]))
    flow += [para("督考情况", "heading"), para(report.findings), Spacer(1, 12 * mm),
             para("督考员签名：____________________　　日期：____________________")]
    return document(flow, title=f"督考报告 {batch.name}")
