"""Readable Chinese for the audit trail: what an action code means and what its details say.

Codes are ``<object>.<verb>`` (``batch.file``, ``attempt.pause``); the label is the object's
name and the verb's, e.g. 「认定批次：报备」. A code with no label shows as it is, so an entry is
never hidden; ``tests/web/test_audit_labels.py`` checks that every code the services write
has one.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from foundation.audit import ChainReport

OBJECTS: dict[str, str] = {
    "attempt": "考生作答",
    "auth": "登录",
    "bank_assignment": "题库分工（审题范围与修订授权）",
    "batch": "认定批次",
    "blueprint": "细目表",
    "calendar_day": "工作日历",
    "calibration": "参数标定",
    "component_result": "科目成绩",
    "certificate": "职业技能等级证书",
    "competition": "职业技能竞赛",
    "dossier": "业绩材料",
    "objection": "公示异议",
    "publicity": "合格人员公示",
    "submission": "成绩及证书数据报送",
    "decision": "等级认定结论",
    "enemy_set": "互斥题组",
    "exam": "在线考试",
    "institution": "评价机构",
    "item": "试题",
    "item_image": "试题图片",
    "occupation": "职业目录",
    "panel": "评审专家组",
    "paper": "试卷",
    "person": "人员（自然人）",
    "recognition_rule": "竞赛认定规则",
    "registration": "报名",
    "recheck": "成绩复核",
    "response_set": "作答数据",
    "room": "考场",
    "response_mark": "主观题评分",
    "room_record": "考场记录表",
    "scheme": "评价方案",
    "score_sheet": "评分记录表",
    "setting": "规则配置",
    "skill": "操作技能考核成绩",
    "skill_task": "技能操作试题",
    "supervision": "质量督导",
    "supervision_report": "督考报告",
    "theory_marker": "理论考试阅卷人",
    "user": "账号",
    "violation": "违纪记录",
}

VERBS: dict[str, str] = {
    "absent": "记录缺考",
    "acknowledge": "中心确认备案",
    "activate": "启用",
    "amend": "更正",
    "add": "添加",
    "add_candidates": "添加考生",
    "add_panel_member": "加入综合评审专家组",
    "add_room": "添加考场",
    "add_scope_entry": "添加评价范围",
    "add_session": "添加考试场次",
    "advance_filing": "备案流程推进",
    "answer": "答复",
    "approve": "审核通过",
    "arrive": "入场",
    "assemble": "组卷",
    "assign_sitting_candidates": "安排技能考核场次考生",
    "assign_sitting_examiner": "安排场次考评员",
    "assign_staff": "安排考务人员",
    "assign_stations": "分配工位",
    "batch": "由考试批次生成",
    "change_password": "修改密码",
    "confirm": "确认（签名）",
    "connect": "连接",
    "create": "新建",
    "decide": "判定",
    "delete": "删除",
    "demo_reset": "重置演示考场",
    "disconnect": "断开连接",
    "dispatch": "选派督导员",
    "done": "完成",
    "edit": "编辑",
    "expire": "到时收卷",
    "export": "导出",
    "finalise": "确认评审结果",
    "extend": "延长时间",
    "fail": "失败",
    "file": "报备",
    "flag": "分析预警",
    "focus_loss": "切出考试页面",
    "import": "导入",
    "import_candidates": "导入考生名册",
    "incident": "记录违纪",
    "login.candidate": "考生登录",
    "mark_absent": "记为缺考",
    "method": "设置评价方式",
    "minutes": "填写评审记录",
    "login.staff": "工作人员登录",
    "logout": "退出登录",
    "move_approved": "批准换机",
    "move_requested": "申请换机",
    "open": "开考",
    "operational": "转为正式试题",
    "paste_blocked": "粘贴被阻止",
    "pause": "暂停",
    "reconcile": "组长复核",
    "register_application": "登记备案申报",
    "release": "解除暂缓",
    "remove": "移除",
    "remove_panel_member": "移出综合评审专家组",
    "remove_scope_entry": "移除评价范围",
    "remove_sitting_examiner": "移出场次考评组",
    "remove_staff": "移除考务人员",
    "replace_nodes": "修改鉴定要素",
    "rescore": "重新评分",
    "resume": "恢复",
    "retire": "停用",
    "return": "退回",
    "review": "审题通过",
    "request": "申请",
    "revise": "修订（新版本）",
    "score": "评分",
    "seat_session": "编排座位",
    "set_chief_examiner": "指定考评组组长",
    "set_scale": "设置百分制折算",
    "set_sitting_task": "指定技能操作试题",
    "seed": "导入预置数据",
    "sign": "签名",
    "simulation": "模拟生成",
    "start": "开始",
    "submit": "提交",
    "takeover_approved": "批准接管",
    "terminate": "终止考试",
    "update": "修改",
    "update_details": "修改机构信息",
    "unmatched": "收卷后未找到报名记录",
    "update_plan": "修改认定计划",
    "upload": "上传",
    "warn": "警告",
    "withdraw": "撤回督导员",
    "correct": "更正（重新颁发）",
    "issue": "颁发",
    "revocation_request": "申请注销",
    "revocation_refused": "不予注销",
    "revoke": "注销",
    "photo": "上传照片",
    "photo_import": "批量导入照片",
    "publish": "发布",
    "resubmit": "修改后重新报送",
}

#: Detail keys worth a Chinese name; others show as they are.
KEYS: dict[str, str] = {
    "status": "状态", "name": "名称", "comment": "意见", "reason": "原因", "value": "值", "code": "编码",
    "minutes": "分钟", "tier": "违纪等级", "opened": "已开考", "refused": "未执行", "changed": "已变更",
    "filed_on": "报备日期", "items": "试题数", "forms": "卷数", "mode": "方式", "role": "角色",
    "username": "用户名", "institution_id": "机构", "level": "等级", "rows": "行数", "cols": "列数",
    "examinees": "考生数", "groups": "分组", "blueprint_id": "细目表", "message": "内容", "version": "版本",
    "count": "数量", "active": "启用", "note": "说明", "place": "地点", "starts_at": "开始时间",
    "chair": "组长",
    "numbers": "证书编号", "request": "申请", "photo": "照片", "imported": "已导入", "files": "文件数",
    "decided_on": "判定日期", "versions": "版本", "outcome": "结论", "confirmed_by": "确认人", "waiting": "暂不能判定",
    "needs_reason": "待说明原因", "stale": "依据已变化", "kind": "结果", "answer": "答复", "answered_by": "答复人",
    "components": "科目", "registration_id": "报名记录", "method": "评价方式", "category": "考生类别",
    "ticket_no": "准考证号", "points": "评分", "round": "评阅轮次",
    "starts_on": "开始日期", "ends_on": "结束日期", "entries": "人员", "batch": "认定批次", "publicity": "公示",
    "entry": "公示人员", "action": "处理", "due_on": "报送截止", "overdue": "逾期", "submission_round": "报送次数",
}

MAX_VALUE_CHARS = 160


def action_label(action: str) -> str:
    """「对象：动作」 for a known code, else the code itself."""
    obj, _, verb = action.partition(".")
    if obj in OBJECTS and verb in VERBS:
        return f"{OBJECTS[obj]}：{VERBS[verb]}"
    return action


def has_label(action: str) -> bool:
    return action_label(action) != action


def _value_text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


def detail_rows(raw_json: str | None) -> list[tuple[str, str]]:
    """An entry's before/after JSON as (label, text) rows; a non-object is one row."""
    if not raw_json:
        return []
    try:
        data = json.loads(raw_json)
    except ValueError:
        return [("", _value_text(raw_json))]
    if not isinstance(data, dict):
        return [("", _value_text(data))]
    return [(KEYS.get(str(k), str(k)), _value_text(v)) for k, v in data.items()]


def describe_break(report: ChainReport) -> str:
    """One Chinese sentence naming what a failed verification of the log found."""
    parts = []
    if report.broken_checkpoint is not None:
        parts.append(f"第 {report.broken_checkpoint} 号校验检查点")
    if report.first_broken_seq is not None:
        ident = f"（id {report.first_broken_id}）" if report.first_broken_id else ""
        parts.append(f"第 {report.first_broken_seq} 条记录{ident}")
    sentence = f"{'、'.join(parts)}：{report.reason}。"
    if report.broken_checkpoint is None and report.checked:
        sentence += f"本次校验中此前 {report.checked} 条记录完好。"
    return sentence
