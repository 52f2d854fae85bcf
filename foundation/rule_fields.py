"""The rules edited field by field on the centre's rules page (规则配置): numbers and yes/no
switches, each with its range and its Chinese label.

Scope caps, filing windows and the province code have validators of their own in
``foundation.institutions``; every other rule in :data:`foundation.settings.DEFAULT_RULES` is
described here once, so that the page, the validation and the audit entry all follow the same
table. A section groups the fields shown in one card; a field names the rule it belongs to and,
for a rule stored as a mapping, the key inside it (other keys of that mapping, such as the
staffing overrides per occupation, are kept as they are).

:func:`update_rule_section` parses everything the user typed, refuses with a Chinese message
naming the first bad field, and only then writes each changed rule through ``set_rule``
(audited), so a refused form changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import Session

from foundation.accounts import User
from foundation.errors import NotFound, ValidationError
from foundation.roles import Role, require_role
from foundation.settings import DEFAULT_RULES, get_rule, set_rule

Kind = Literal["int", "float", "bool"]
TRUE_WORDS = frozenset({"1", "on", "true", "yes", "y"})


@dataclass(frozen=True)
class RuleField:
    """One input: ``rule`` is the settings key, ``part`` the key inside a mapping rule (None for
    a rule that is a plain value)."""

    rule: str
    part: str | None
    label: str
    kind: Kind
    lo: float | None = None
    hi: float | None = None
    unit: str = ""

    @property
    def name(self) -> str:
        """The form field's name."""
        return f"{self.rule}.{self.part}" if self.part else self.rule


@dataclass(frozen=True)
class RuleSection:
    key: str
    title: str
    help: str
    fields: tuple[RuleField, ...]
    #: A cross-field check on the parsed values (by field name): a Chinese message or None.
    check: Callable[[dict[str, Any]], str | None] | None = None

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.rule for f in self.fields))


def _item_flags_check(values: dict[str, Any]) -> str | None:
    if values["item_flags.p_min"] >= values["item_flags.p_max"]:
        return "难度（通过率）下限应小于上限。"
    return None


SECTIONS: tuple[RuleSection, ...] = (
    RuleSection(
        "room", "考场规则",
        "开考后禁止入场与最早交卷的分钟数，均从开考时刻起算，全场统一结束时间，迟到考生不补时；"
        "准考证和考试页面按此说明；"
        "每个考场的座位数上限（通知要求约 30 人一个标准考场）。",
        (
            RuleField("room_rules", "late_entry_minutes", "开考后禁止入场（分钟）", "int", 0, 120, "分钟"),
            RuleField("room_rules", "earliest_submit_minutes", "开考后最早交卷（分钟）", "int", 0, 600, "分钟"),
            RuleField("room_rules", "grace_seconds", "考试时间到后接收断网期间作答的宽限（秒）", "int", 0, 600, "秒"),
            RuleField("room_rules", "from_late_opening",
                      "监考员开考晚于计划开考时间的，考试时间从实际开考时刻起算（否则一律从计划开考时间起算）", "bool"),
            RuleField("room_open_window", "before_minutes", "最早可在计划开考时间前几分钟开考", "int", 0, 240, "分钟"),
            RuleField("room_open_window", "after_minutes", "最迟可在计划开考时间后几分钟开考", "int", 0, 480, "分钟"),
            RuleField("room_max_seats", None, "每个考场的座位数上限", "int", 1, 60, "个"),
        ),
    ),
    RuleSection(
        "marking", "理论考试主观题阅卷",
        "简答、计算、论述题由两位阅卷人背靠背评分，取两者平均分；两者相差超过下列分值（按该题本卷分值计）时，"
        "由第三位阅卷人评阅，以第三位阅卷人的评分为准。",
        (
            RuleField("theory_marking", "third_marker_gap", "两位阅卷人评分相差超过（分）时由第三位阅卷人评阅",
                      "float", 0, 100, "分"),
        ),
    ),
    RuleSection(
        "filing", "认定计划报备时限",
        "认定计划须在首场考试前至少若干个工作日报备（节假日不计，调休上班日计入）。",
        (
            RuleField("batch_filing_lead_working_days", None, "最少提前的工作日数", "int", 0, 60, "个工作日"),
            RuleField("batch_filing_counts_exam_day", None, "考试当天计入工作日数", "bool"),
        ),
    ),
    RuleSection(
        "staffing", "考务人员配备",
        "默认比例与人数；考评员按每个技能考核场次的考生计算，综合评审专家组为单独名单（设组长）。按职业另行设置的部分保持不变。",
        (
            RuleField("batch_staffing", "candidates_per_proctor", "每名监考员最多监考考生数", "int", 1, 60, "人"),
            RuleField("batch_staffing", "min_proctors_per_room", "每个考场至少监考员数", "int", 1, 10, "人"),
            RuleField("batch_staffing", "candidates_per_examiner", "每名考评员最多考评考生数", "int", 1, 60, "人"),
            RuleField("batch_staffing", "min_examiners", "每个技能考核场次至少考评员数", "int", 1, 30, "人"),
            RuleField("batch_staffing", "examiners_odd", "每场次考评员人数须为奇数", "bool"),
            RuleField("batch_staffing", "min_review_panel", "综合评审专家组至少人数", "int", 1, 30, "人"),
            RuleField("batch_staffing", "review_panel_odd", "综合评审专家组人数须为奇数", "bool"),
            RuleField("batch_staffing", "min_supervisors", "每个批次至少本机构督导员数", "int", 0, 30, "人"),
        ),
    ),
    RuleSection(
        "skill_scoring", "操作技能考核评分",
        "考评组各考评员独立评分，成绩取已签名评分记录表的平均分；最大差超过下列分数时由组长填写理由复核。"
        "考评员平均偏差达到阈值且多数考生同向偏差时，标记为偏严或偏松。",
        (
            RuleField("skill_reconcile_spread", None, "评分最大差超过几分须组长复核", "float", 0, 100, "分"),
            RuleField("examiner_flags", "min_mean_deviation", "偏严/偏松：平均偏差至少（分）", "float", 0, 100, "分"),
            RuleField("examiner_flags", "min_same_sign_share", "偏严/偏松：同向偏差的考生比例至少", "float", 0.5, 1),
            RuleField("examiner_flags", "min_candidates", "偏严/偏松：至少评过的考生数", "int", 1, 1000, "人"),
        ),
    ),
    RuleSection(
        "item_flags", "题目分析预警阈值",
        "校准和题目分析报告据此标记需要复审的题目；在用题目触发预警时退回审题。",
        (
            RuleField("item_flags", "p_min", "难度（通过率）下限", "float", 0, 1),
            RuleField("item_flags", "p_max", "难度（通过率）上限", "float", 0, 1),
            RuleField("item_flags", "pbis_min", "区分度（点二列相关）下限", "float", -1, 1),
            RuleField("item_flags", "a_min", "区分度参数 a 下限", "float", 0, 5),
            RuleField("item_flags", "sx2_alpha", "S-X² 拟合检验显著性水平", "float", 0.0001, 0.5),
            RuleField("item_flags", "drift_b_max", "参数漂移（难度 b 变化）上限", "float", 0.01, 5),
        ),
        _item_flags_check,
    ),
    RuleSection(
        "blueprint_health", "细目表健康度阈值",
        "命题技术规程的提示性要求：核心（X）、一般（Y）、辅助（Z）鉴定点占比，理论鉴定点数，每个鉴定点的已审核试题数。",
        (
            RuleField("blueprint_health", "x_min_share", "X 类鉴定点占比下限", "float", 0, 1),
            RuleField("blueprint_health", "y_max_share", "Y 类鉴定点占比上限", "float", 0, 1),
            RuleField("blueprint_health", "z_max_share", "Z 类鉴定点占比上限", "float", 0, 1),
            RuleField("blueprint_health", "theory_min_points", "理论知识鉴定点数下限", "int", 0, 10000, "个"),
            RuleField("blueprint_health", "min_items_per_point", "每个鉴定点至少已审核试题数", "int", 0, 100, "道"),
        ),
    ),
    RuleSection(
        "assembly", "组卷曝光控制",
        "组卷时回避最近几套已锁定试卷中的试题，并限制一道题最多进入几套已锁定试卷。",
        (
            RuleField("assembly_recent_papers", None, "回避最近已锁定试卷的套数", "int", 0, 50, "套"),
            RuleField("assembly_exposure_cap", None, "试题曝光上限", "int", 1, 1000, "套"),
        ),
    ),
    RuleSection(
        "panels", "业绩评审与综合评审",
        "综合评审只对理论知识考试和技能操作考核（方案要求的）均已合格且在有效期内的考生开放；"
        "综合评审答辩每名考生不少于规定时长，评审记录的时长不足时不予保存。评分细项在「评审评分细项」页设置。",
        (
            RuleField("panel_rules", "review_requires_passes", "综合评审须在理论知识和技能操作均合格后参加", "bool"),
            RuleField("panel_rules", "defence_min_minutes", "综合评审答辩每名考生最短时长", "int", 1, 240, "分钟"),
        ),
    ),
    RuleSection(
        "results", "成绩判定规则",
        "等级认定结论据此判定（各科合格线在评价方案中设置）：合格成绩自考核之日起的有效期，"
        "首次不合格后有效期内的补考次数，缺考是否计为一次考核，每年竞赛晋级次数（综合评审的前置条件见「业绩评审与综合评审」）；"
        "考生可在结论发布后若干个工作日内申请复核。",
        (
            RuleField("results_rules", "validity_months", "合格成绩有效期", "int", 1, 120, "个月"),
            RuleField("results_rules", "resits", "有效期内补考次数", "int", 0, 10, "次"),
            RuleField("results_rules", "absence_counts_as_attempt", "缺考计为一次考核", "bool"),
            RuleField("results_rules", "promotions_per_year", "每年竞赛晋级次数上限", "int", 0, 5, "次"),
            RuleField("results_rules", "recheck_working_days", "结论发布后可申请复核的工作日数", "int", 1, 30,
                      "个工作日"),
        ),
    ),
)

SECTIONS_BY_KEY: dict[str, RuleSection] = {s.key: s for s in SECTIONS}


def get_section(key: str) -> RuleSection:
    section = SECTIONS_BY_KEY.get(key)
    if section is None:
        raise NotFound("未知的规则类别。")
    return section


def current_values(session: Session, section: RuleSection) -> dict[str, Any]:
    """The stored value of every field of ``section``, by field name."""
    out: dict[str, Any] = {}
    for f in section.fields:
        value = get_rule(session, f.rule)
        # A mapping stored before a key was added to its defaults shows the default for it.
        out[f.name] = value.get(f.part, DEFAULT_RULES[f.rule].get(f.part)) if f.part else value
    return out


def _number_text(value: float) -> str:
    return f"{value:g}"


def parse_field(f: RuleField, raw: str | None) -> Any:
    """The typed value of ``raw`` for ``f``, or a ValidationError naming the field."""
    if f.kind == "bool":
        return (raw or "").strip().lower() in TRUE_WORDS
    text = (raw or "").strip()
    if not text:
        raise ValidationError(f"请填写「{f.label}」。", field=f.name)
    lo, hi = f.lo, f.hi
    between = f"{_number_text(lo)} 到 {_number_text(hi)} 之间" if lo is not None and hi is not None else ""
    if f.kind == "int":
        if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 12:
            raise ValidationError(f"「{f.label}」应为{between}的整数。", field=f.name)
        number: float = int(text)
    else:
        try:
            number = float(text) if text.isascii() and len(text) <= 32 else math.nan
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise ValidationError(f"「{f.label}」应为{between}的数。", field=f.name)
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        word = "整数" if f.kind == "int" else "数"
        raise ValidationError(f"「{f.label}」应为{between}的{word}（填写的是 {text}）。", field=f.name)
    return number


def parse_section(section: RuleSection, form: Mapping[str, str]) -> dict[str, Any]:
    """Every field of ``section`` parsed from ``form`` (by field name), cross-checked."""
    values = {f.name: parse_field(f, form.get(f.name)) for f in section.fields}
    if section.check is not None:
        problem = section.check(values)
        if problem:
            raise ValidationError(problem)
    return values


def update_rule_section(session: Session, actor: User, key: str, form: Mapping[str, str]) -> list[str]:
    """Validate the whole section, then store each rule whose value changed (one audit entry
    per rule). Returns the settings keys that changed."""
    require_role(actor, Role.CENTRE_ADMIN)
    section = get_section(key)
    values = parse_section(section, form)
    changed: list[str] = []
    for rule in section.rules:
        before = get_rule(session, rule)
        fields = [f for f in section.fields if f.rule == rule]
        if fields[0].part is None:
            after: Any = values[fields[0].name]
        else:
            # Keeps keys the page does not edit (per-occupation staffing overrides).
            after = {**DEFAULT_RULES[rule], **before}
            for f in fields:
                after[f.part] = values[f.name]
        if after != before:
            set_rule(session, actor, rule, after)
            changed.append(rule)
    return changed
