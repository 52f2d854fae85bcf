"""The five skill levels (职业技能等级), 5 lowest to 1 highest."""

from __future__ import annotations

from foundation.errors import ValidationError

LEVEL_NAMES: dict[int, str] = {
    5: "五级/初级工",
    4: "四级/中级工",
    3: "三级/高级工",
    2: "二级/技师",
    1: "一级/高级技师",
}
ALL_LEVELS = (5, 4, 3, 2, 1)


def level_name(level: int) -> str:
    """Display form, e.g. 3 -> 「三级/高级工」."""
    return LEVEL_NAMES[level]


def level_range_name(lowest: int, highest: int) -> str:
    if lowest == highest:
        return LEVEL_NAMES[lowest]
    return f"{LEVEL_NAMES[lowest]} 至 {LEVEL_NAMES[highest]}"


def check_level_range(lowest: int, highest: int) -> None:
    """Levels are numbered downward: the highest level has the smallest number."""
    if lowest not in LEVEL_NAMES or highest not in LEVEL_NAMES:
        raise ValidationError("等级必须是 1 到 5 之间的整数（5 为五级/初级工，1 为一级/高级技师）。")
    if highest > lowest:
        raise ValidationError("最高等级不能低于最低等级。")
