"""Pure, database-free rules of the registry: the GB 32100-2015 unified social credit code
(统一社会信用代码) check, the GB/T 2260 province codes and the 13-character institution code
(评价机构编码, certificate number positions 1–13).
"""

from __future__ import annotations

import re

from foundation.errors import ValidationError
from foundation.institutions.models import ALL_KINDS, InstitutionKind

# Valid province-level codes of GB/T 2260 (certificate positions 6–7).
PROVINCE_CODES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
     "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
     "71", "81", "82"}
)

# GB 32100-2015 统一社会信用代码: 31 characters (no I, O, Z, S, V), weights 3^i mod 31.
CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))


# ---------------------------------------------------------------- pure checks


def credit_code_check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters of a credit code."""
    total = sum(CREDIT_CODE_CHARSET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def normalise_credit_code(value: str) -> str:
    return value.strip().upper()


def credit_code_problem(value: str) -> str | None:
    """None when ``value`` is a valid 统一社会信用代码, else the reason in Chinese."""
    code = normalise_credit_code(value)
    if len(code) != 18:
        return "统一社会信用代码应为 18 位。"
    bad = sorted({c for c in code if c not in CREDIT_CODE_CHARSET})
    if bad:
        return f"统一社会信用代码只能由数字和大写字母组成（不含 I、O、Z、S、V），不能包含「{''.join(bad)}」。"
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        return f"统一社会信用代码校验位错误：第 18 位应为 {expected}，请核对。"
    return None


def institution_code(kind: str, ministry_code: str, province_code: str, serial: str) -> str:
    """The 13-character 评价机构编码 (certificate number positions 1–13).

    Position 1 is 'Y' for employer institutions (enterprises) and 'S' for every other kind
    (social training-evaluation organisations); 2–5 the ministry code, '0000' unless the
    institution was filed with the ministry; 6–7 the province code; 8–13 the province serial.
    """

    if kind not in ALL_KINDS:
        raise ValidationError(f"未知的机构类型：{kind}")
    if not re.fullmatch(r"\d{4}", ministry_code or ""):
        raise ValidationError("部备案编码（证书编码第 2–5 位）应为 4 位数字。")
    if kind == InstitutionKind.SOCIAL_ORG and ministry_code == "0000":
        raise ValidationError("人社部备案的社会培训评价组织须填写人社部分配的 4 位编码，不能为 0000。")
    if kind != InstitutionKind.SOCIAL_ORG and ministry_code != "0000":
        raise ValidationError("在本省备案的机构，证书编码第 2–5 位应为 0000。")
    if province_code not in PROVINCE_CODES:
        raise ValidationError("省份代码（证书编码第 6–7 位）应为有效的 2 位省级行政区划代码，如吉林 22。")
    if not re.fullmatch(r"\d{6}", serial or "") or serial == "000000":
        raise ValidationError("机构序号（证书编码第 8–13 位）应为 6 位数字，且不能为 000000。")
    letter = "Y" if kind == InstitutionKind.ENTERPRISE else "S"
    return f"{letter}{ministry_code}{province_code}{serial}"
