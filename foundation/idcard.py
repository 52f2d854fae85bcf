"""Mainland resident ID numbers (居民身份证号码, GB 11643-1999)."""

from __future__ import annotations

import datetime as dt

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits."""
    total = sum(int(ch) * w for ch, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def id_number_problem(value: str) -> str | None:
    """Return a Chinese explanation of what is wrong, or None when the number is valid."""
    v = value.strip().upper()
    if len(v) != 18:
        return "身份证号码应为 18 位。"
    # ASCII only: "²".isdigit() holds but int() refuses it (a 500 from the user form).
    if not (v.isascii() and v[:17].isdigit()) or not (v[17].isdigit() or v[17] == "X"):
        return "身份证号码前 17 位应为数字，末位为数字或 X。"
    try:
        birth = dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return "身份证号码中的出生日期无效。"
    if birth.year < 1900 or birth > dt.date.today():
        return "身份证号码中的出生日期无效。"
    if check_digit(v[:17]) != v[17]:
        return "身份证号码校验位不正确，请核对。"
    return None


def normalise_id_number(value: str) -> str:
    return value.strip().upper()


def mask_id_number(value: str) -> str:
    """Publicity form: keep the first 6 and last 4 characters."""
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else "*" * len(value)


def mask_name(name: str) -> str:
    """Publicity form: 张三 -> 张*, 欧阳娜娜 -> 欧**娜."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
