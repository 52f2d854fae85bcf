"""The password policy (密码规则): passwords a person would not guess in a minute.

Checked wherever a password is set (create an account, change one's own, an administrator's
reset): at least 8 characters with letters and digits; not derived from the account's own
names (the username, the name and its pinyin; only staff have passwords); and not common or
otherwise easy to guess, as judged by zxcvbn (Dropbox's estimator: leaked-password, word,
name and keyboard lists, l33t and case variants, sequences, repeats, dates) with a shipped
supplement of passwords common among Chinese users (``data/common_passwords_zh.txt``), which
zxcvbn's English-centred lists miss, and with this platform's own words (SITE_WORDS: the
province, exam, skill) ranked first. The estimate is taken of the password in lowercase, so a
case variant of a common password is as common as the original. It must need at least 10^7
guesses (MIN_GUESSES_LOG10): between zxcvbn's scores 2 and 3, because a random 8-character
password of letters and digits is estimated at 10^8 and must pass, while "a word plus a
year" (summer2024, woaini@123) sits at 10^6. Online that is far out of reach: the login
throttle (web/auth/throttle.py) allows one account 40 failures a day from one address.

Demo seeding publishes its password on purpose; it alone sets one under
:func:`published_demo_password`, which keeps only the length and character rules.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from functools import cache
from pathlib import Path

__all__ = ["MIN_GUESSES_LOG10", "SITE_WORDS", "password_problem", "published_demo_password"]

MIN_GUESSES_LOG10 = 7.0
#: zxcvbn's cost grows fast with length and it refuses more than 72 characters; a longer
#: password is judged by its first 72, which only errs on the strict side.
_CHECKED_LENGTH = 72
_COMMON_FILE = Path(__file__).parent / "data" / "common_passwords_zh.txt"

#: What someone guessing at this site tries first (zxcvbn ranks them as the account's own words).
SITE_WORDS = ("jilin", "changchun", "jilinsheng", "kaoshi", "kaosheng", "jineng", "jianding", "pingjia",
              "kaoping", "zhiye", "dengji", "zhengshu", "jiankao", "dudao", "zhongxin", "skill", "exam",
              "skilleval", "rensheju")

_published: ContextVar[bool] = ContextVar("published_demo_password", default=False)

TOO_SHORT = "密码至少 8 位。"
NEEDS_MIX = "密码须同时包含字母和数字。"
FROM_NAMES = "密码不能包含用户名或姓名（含拼音），请换一个。"
TOO_COMMON = ("密码过于常见或容易被猜到（如 password1、abc12345、woaini1314、键盘上相邻的键、"
              "姓名拼音或日期），请换一个更长、更不常见的密码，例如几个无关词语加数字。")

# Characters people substitute for letters, undone before looking for the account's names.
_UNLEET = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})


@contextlib.contextmanager
def published_demo_password() -> Iterator[None]:
    """Within this block the strength rules are off: only demo seeding, whose password is
    printed for everyone, uses it."""
    token = _published.set(True)
    try:
        yield
    finally:
        _published.reset(token)


@cache
def _zxcvbn() -> object:
    """zxcvbn with the shipped list added, loaded on first use (serving processes that never
    set a password never load it)."""
    from zxcvbn import zxcvbn
    from zxcvbn.matching import add_frequency_lists

    words = [w.strip() for w in _COMMON_FILE.read_text(encoding="utf-8").splitlines()]
    add_frequency_lists({"common_zh": [w for w in words if w and not w.startswith("#")]})
    return zxcvbn


def _pinyin(name: str) -> list[str]:
    """Pinyin spellings of a Chinese name: full in both orders (surname first and last), and
    the initials, e.g. 张三丰 → zhangsanfeng, sanfengzhang, zsf."""
    hanzi = "".join(ch for ch in name if "\u4e00" <= ch <= "\u9fff")
    if not hanzi:
        return []
    from pypinyin import lazy_pinyin

    syllables = lazy_pinyin(hanzi)
    full = "".join(syllables)
    out = [full, "".join(syllables[1:]) + syllables[0], "".join(s[0] for s in syllables if s)]
    if len(syllables) > 2:  # a two-character surname (欧阳, 司马) or a two-character given name
        out.append("".join(syllables[2:]) + "".join(syllables[:2]))
    return out


def _names(user_inputs: Iterable[str | None]) -> list[str]:
    """The account's own words, lowercase, with the pinyin of Chinese names added."""
    words: list[str] = []
    for value in user_inputs:
        if not value:
            continue
        value = str(value).strip().lower()
        words.append(value)
        words.extend(_pinyin(value))
    return [w for w in words if w]


def _simplify(text: str) -> str:
    return re.sub(r"[^0-9a-z\u4e00-\u9fff]", "", text.lower().translate(_UNLEET))


def password_problem(password: str, user_inputs: Iterable[str | None] = ()) -> str | None:
    """Why ``password`` may not be set for an account described by ``user_inputs`` (its
    username and name), or None."""
    if len(password) < 8:
        return TOO_SHORT
    if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        return NEEDS_MIX
    if _published.get():
        return None
    names = _names(user_inputs)
    plain, simplified = password.lower(), _simplify(password)
    for word in names:
        # A name is in the password as typed, or behind l33t and punctuation. Words shorter than
        # 4 characters (a 2-letter surname, initials) are left to zxcvbn's scoring below.
        if len(word) >= 4 and (word in plain or _simplify(word) in simplified):
            return FROM_NAMES
        if len(word) >= 2 and re.fullmatch(r"[\u4e00-\u9fff]+", word) and word in plain:
            return FROM_NAMES
    estimate = _zxcvbn()(plain[:_CHECKED_LENGTH], user_inputs=[*names, *SITE_WORDS])  # type: ignore[operator]
    if estimate["guesses_log10"] < MIN_GUESSES_LOG10:
        return TOO_COMMON
    return None
