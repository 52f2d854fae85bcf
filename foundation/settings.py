"""Configurable rules (可配置规则): stored as data, with the documented defaults.

A rule is read with :func:`get_rule`; the centre changes it with :func:`set_rule`, which
is audited. Defaults live in :data:`DEFAULT_RULES` so a fresh database behaves as the
domain rules say before anyone edits anything.
"""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from foundation import audit
from foundation.db import Base
from foundation.errors import ValidationError
from foundation.roles import Role, require_role

if TYPE_CHECKING:
    from foundation.accounts import User

DEFAULT_RULES: dict[str, Any] = {
    # Highest level (smallest number) an institution may evaluate, by type and tier.
    "scope_caps": {
        "association:county": 4,
        "association:city": 3,
        "association:provincial": 1,
        "school:technical_school": 4,
        "school:senior_technical_school": 3,
        "school:technician_college": 2,
        "school:university": 3,
        "school:private_training_school": 4,
        "social_org:ministry": 1,
    },
    # Filing windows as (month, first day, last day), inclusive.
    "filing_windows": [[3, 20, 30], [9, 20, 30]],
    "province_code": "22",
    # Blueprint health (命题技术规程), warnings only: shares of X/Y/Z points, theory point count,
    # approved items per assessment point.
    "blueprint_health": {"x_min_share": 0.80, "y_max_share": 0.15, "z_max_share": 0.05,
                         "theory_min_points": 200, "min_items_per_point": 4},
    # Paper assembly: items used in this many most recent locked papers of the same blueprint
    # are left out (exposure control).
    "assembly_recent_papers": 2,
    # Exposure cap: an item already in this many locked papers is not used again.
    "assembly_exposure_cap": 8,
    # Psychometric review flags (psychometrics.md); an active item that raises one goes back to review.
    "item_flags": {"p_min": 0.20, "p_max": 0.90, "pbis_min": 0.20, "a_min": 0.5, "sx2_alpha": 0.05,
                   "drift_b_max": 0.5, "dif_flag_class": "C"},
    # Batch plans (计划报备) are filed at least this many working days before the first sitting.
    "batch_filing_lead_working_days": 10,
    # Whether the sitting's own day counts among those working days (it does by default: a plan
    # filed on Monday 1 June for Monday 15 June has 10).
    "batch_filing_counts_exam_day": True,
    # Staffing of a batch; "by_occupation" maps an occupation code to overrides of these keys.
    # Examiners are counted per skill sitting against that sitting's candidates; the review
    # panel (综合评审专家组) is its own list with a chair.
    "batch_staffing": {"candidates_per_proctor": 15, "min_proctors_per_room": 2,
                       "candidates_per_examiner": 5, "min_examiners": 3, "examiners_odd": True,
                       "min_review_panel": 3, "review_panel_odd": True, "min_supervisors": 1,
                       "by_occupation": {}},
    # Exam-room rules (考场规则): latest entry and earliest submission, minutes after the room's
    # start (开考: the scheduled start, or the room's opening when that is later and
    # from_late_opening is on); the deadline is the room's start plus the duration for everyone
    # (plus their own extensions and pauses). Answers journalled offline are still taken this
    # many seconds after the time is up.
    "room_rules": {"late_entry_minutes": 15, "earliest_submit_minutes": 30, "grace_seconds": 120,
                   "from_late_opening": True},
    # A room may be opened (开考) from this many minutes before the scheduled start until this
    # many after it, on the sitting's day only.
    "room_open_window": {"before_minutes": 30, "after_minutes": 60},
    # Seats in one exam room (the notice: standard rooms of about 30).
    "room_max_seats": 30,
    # Theory items an examiner scores (简答/计算/论述): two markers blind to each other; a third
    # marks when their marks of one answer differ by more than this many points (of that item).
    "theory_marking": {"third_marker_gap": 3},
    # Skill scoring (操作技能考核评分): when the signed score sheets of a candidate differ by more
    # than this many points (max − min), the chief examiner reconciles with a written reason.
    "skill_reconcile_spread": 10,
    # Examiner statistics (考评员评分统计): an examiner is flagged severe (偏严) or lenient (偏松)
    # when, over at least min_candidates candidates of the group, the mean deviation from the
    # candidates' mean score is at least min_mean_deviation points and the deviations have the
    # same sign for at least min_same_sign_share of the candidates (consistently, not once).
    "examiner_flags": {"min_mean_deviation": 3.0, "min_same_sign_share": 0.8, "min_candidates": 5},
    # Panels (评审专家组, grading.results.panels): 综合评审 opens only to registrations whose
    # theory and skill (where their scheme requires them) are passed and valid; a 综合评审
    # defence (答辩) lasts at least this many minutes per candidate [R].
    "panel_rules": {"review_requires_passes": True, "defence_min_minutes": 30},
    # Optional sub-items (评分细项) of a panel member's score per component: [name, points]
    # pairs totalling 100; none means one score out of 100.
    "panel_criteria": {"performance": [], "review": []},
    # Level decisions (grading.results.decision.Rules; pass marks are the schemes'): a pass stays
    # valid this many months from its sitting, re-sits after a failed attempt inside that window,
    # an absence counts as an attempt, competition promotions per calendar year; a candidate may
    # ask for a re-check (复核) within this many working days of the decision's release. (综合评审
    # only after theory and skill: panel_rules, which the engine reads too.)
    "results_rules": {"validity_months": 12, "resits": 1, "absence_counts_as_attempt": True,
                      "promotions_per_year": 1, "recheck_working_days": 5},
}

RULE_LABELS: dict[str, str] = {
    "scope_caps": "评价范围等级上限（按机构类型与层级）",
    "filing_windows": "备案申报窗口期（月、起始日、截止日）",
    "province_code": "省份代码（证书编码第 6–7 位）",
    "blueprint_health": "细目表健康度阈值（X/Y/Z 占比、鉴定点数、每点试题数）",
    "assembly_recent_papers": "组卷时回避最近几套已锁定试卷中的试题",
    "assembly_exposure_cap": "试题曝光上限（最多出现在几套已锁定试卷中）",
    "item_flags": "题目分析预警阈值（难度、区分度、拟合、漂移、DIF）",
    "batch_filing_lead_working_days": "认定计划须在首场考试前至少几个工作日报备",
    "batch_filing_counts_exam_day": "报备时限是否计入考试当天",
    "batch_staffing": "考务人员配备（监考员、考评员、评审组、督导员的比例与人数，可按职业设置）",
    "room_rules": "考场规则（开考后禁止入场、最早交卷的分钟数、断网作答宽限、晚开考时从何时起算）",
    "room_max_seats": "每个考场的座位数上限",
    "room_open_window": "开考时间窗口（计划开考时间前后的分钟数，仅限考试当天）",
    "theory_marking": "理论考试主观题阅卷（两位阅卷人评分相差超过几分时由第三位阅卷人评阅）",
    "skill_reconcile_spread": "操作技能考核：各考评员评分最大差超过几分须由考评组组长复核",
    "examiner_flags": "考评员评分偏严、偏松的判定阈值（平均偏差、同向比例、最少考生数）",
    "panel_rules": "评审专家组规则（综合评审须理论与技能合格后参加、答辩最短时长）",
    "panel_criteria": "业绩评审与综合评审的评分细项",
    "results_rules": "成绩判定规则（合格成绩有效期、补考次数、缺考、竞赛晋级次数、复核期限）",
}


class Setting(Base):
    """One configurable rule as JSON text (规则配置)."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value_json: Mapped[str] = mapped_column(Text)


#: Rules read with ``max_age``: key -> (monotonic time read, value). Per process.
_cache: dict[str, tuple[float, Any]] = {}
_cache_lock = threading.Lock()
#: ``session.info`` flag: this transaction changed rules, so its reads are not cached (a
#: rollback would otherwise leave a value in the cache that was never committed).
_CHANGED = "settings.changed"


def get_rule(session: Session, key: str, *, max_age: float = 0.0) -> Any:
    """The rule's value (its default when nobody has set it).

    ``max_age`` > 0 lets a hot path (the exam room reads ``room_rules`` on every answer) use a
    value this process read at most that many seconds ago. A change made in this process is
    seen at once (:func:`set_rule` drops the entry, and again when its transaction ends); one
    made in another server process within ``max_age``. Cached values are shared: do not
    mutate them."""
    if max_age > 0:
        with _cache_lock:
            hit = _cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < max_age:
            return hit[1]
    read_at = time.monotonic()
    row = session.get(Setting, key)
    value = DEFAULT_RULES[key] if row is None else json.loads(row.value_json)
    if max_age > 0 and not session.info.get(_CHANGED):
        with _cache_lock:
            _cache[key] = (read_at, value)
    return value


def clear_cache() -> None:
    """Forget every cached rule (tests whose transactions roll back)."""
    with _cache_lock:
        _cache.clear()


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:  # fires for the outermost transaction only
    if session.info.pop(_CHANGED, None):
        clear_cache()


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction: Any) -> None:
    if session.info.get(_CHANGED):
        clear_cache()
        if previous_transaction.parent is None:  # the whole transaction, not a savepoint
            session.info.pop(_CHANGED, None)


def set_rule(session: Session, actor: User, key: str, value: Any) -> None:
    require_role(actor, Role.CENTRE_ADMIN)
    if key not in DEFAULT_RULES:
        raise ValidationError(f"未知的规则：{key}")
    before = get_rule(session, key)
    row = session.get(Setting, key)
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if row is None:
        session.add(Setting(key=key, value_json=text))
    else:
        row.value_json = text
    session.flush()
    session.info[_CHANGED] = True
    clear_cache()
    audit.record(session, actor, "setting.update", "setting", key, before={"value": before}, after={"value": value})
