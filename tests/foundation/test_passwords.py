"""Passwords a person would not guess in a minute (security issue #12, point 10): common
passwords (zxcvbn's lists and the shipped Chinese supplement), passwords derived from the
account's own names, in any case, are refused with a clear message wherever a password is set."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from zxcvbn.matching import FREQUENCY_LISTS

from foundation.accounts import change_own_password, check_password, create_user, hash_password, update_user
from foundation.demo import DEMO_PASSWORD, GIVEN, SURNAMES, seed_demo
from foundation.errors import ValidationError
from foundation.passwords import FROM_NAMES, SITE_WORDS, TOO_COMMON, password_problem, published_demo_password
from foundation.roles import Role
from tests.factories import PASSWORD, make_user

STRONG = ["Qilin-Gate-73", "k8Vd2mQx", "Lamp7Cloud", "horse-battery-9", "Tongji99Ren"]
SUFFIXES = ["1", "12", "123", "1234", "2024", "2026", "520", "1314", "888", "666", "!1", "@123"]


def _case_variant(word: str, mask: int) -> str:
    return "".join(ch.upper() if mask >> (i % 30) & 1 else ch for i, ch in enumerate(word))


def _chinese_list() -> list[str]:
    from foundation.passwords import _COMMON_FILE

    lines = [w.strip() for w in _COMMON_FILE.read_text(encoding="utf-8").splitlines()]
    return [w for w in lines if w and not w.startswith("#")]


# The most common passwords zxcvbn knows that pass the length and character rules.
COMMON = [w for w in FREQUENCY_LISTS["passwords"][:3000]
          if len(w) >= 8 and any(c.isalpha() for c in w) and any(c.isdigit() for c in w)]
CHINESE_WORDS = [w for w in _chinese_list() if len(w) >= 4 and w.isalpha()]
CANDIDATE_NAMES = [s + g for s in SURNAMES for g in GIVEN]


@pytest.mark.parametrize("password", ["password1", "abc12345", "Password1", "ABC12345", "pAsSwOrD1", "woaini1314",
                                      "woaini@123", "summer2024", "qwer1234", "1qaz2wsx", "a1b2c3d4", "Aa123456",
                                      "Jilin2026", DEMO_PASSWORD])
def test_the_issues_examples_and_their_like_are_refused(password):
    assert password_problem(password) == TOO_COMMON


@pytest.mark.parametrize("password", STRONG)
def test_passwords_nobody_would_guess_are_accepted(password):
    assert password_problem(password) is None
    assert password_problem(password, ("wang_fang", "王芳")) is None


def test_the_messages_are_clear_chinese():
    assert "常见" in TOO_COMMON and "password1" in TOO_COMMON
    assert "用户名" in FROM_NAMES and "姓名" in FROM_NAMES
    assert password_problem("short1") == "密码至少 8 位。"
    assert password_problem("onlyletters") == "密码须同时包含字母和数字。"


@settings(max_examples=100, deadline=None)
@given(word=st.sampled_from(COMMON), mask=st.integers(0, 2**30 - 1))
def test_common_passwords_in_any_case_are_refused(word, mask):
    assert password_problem(_case_variant(word, mask)) == TOO_COMMON


@settings(max_examples=100, deadline=None)
@given(word=st.sampled_from(CHINESE_WORDS + list(SITE_WORDS)), suffix=st.sampled_from(SUFFIXES),
       mask=st.integers(0, 2**30 - 1))
def test_common_chinese_words_and_site_words_with_digits_are_refused(word, suffix, mask):
    password = _case_variant(word, mask) + suffix
    assume(len(password) >= 8 and any(c.isdigit() for c in password))  # else the length rules answer
    assert password_problem(password) == TOO_COMMON


@settings(max_examples=100, deadline=None)
@given(username=st.from_regex(r"[a-z][a-z0-9_]{3,11}", fullmatch=True), suffix=st.sampled_from(SUFFIXES),
       mask=st.integers(0, 2**30 - 1), before=st.booleans())
def test_passwords_made_of_the_username_are_refused(username, suffix, mask, before):
    word = _case_variant(username, mask)
    password = (suffix + word if before else word + suffix) + "9x"
    password += "Kq7"[: max(0, 8 - len(password))]
    assert password_problem(password, (username, "测试员")) == FROM_NAMES


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(CANDIDATE_NAMES), suffix=st.sampled_from(SUFFIXES), mask=st.integers(0, 2**30 - 1),
       order=st.sampled_from(["surname_first", "given_first"]))
def test_passwords_made_of_the_name_in_pinyin_are_refused(name, suffix, mask, order):
    from pypinyin import lazy_pinyin

    syllables = lazy_pinyin(name)
    spelled = "".join(syllables) if order == "surname_first" else "".join(syllables[1:]) + syllables[0]
    password = _case_variant(spelled, mask) + suffix
    if len(password) < 8:
        password += "2024"
    assert password_problem(password, ("someone_else", name)) in (FROM_NAMES, TOO_COMMON)
    if len(spelled) >= 4:
        assert password_problem(password, ("someone_else", name)) == FROM_NAMES


def test_l33t_and_punctuation_do_not_hide_the_username():
    assert password_problem("Zh@0-dd-2024x", ("zhao_dd", "赵督导")) == FROM_NAMES
    assert password_problem("zhaodudao88", ("zhao_dd", "赵督导")) == FROM_NAMES


# ---------------------------------------------------------------- wherever a password is set


def test_creating_an_account_checks_the_password(session):
    centre = make_user(session, Role.CENTRE_ADMIN)
    with pytest.raises(ValidationError) as common:
        create_user(session, centre, role=Role.SUPERVISOR, name="赵督导", username="zhao_dd", password="abc12345")
    assert common.value.message == TOO_COMMON and common.value.field == "password"
    with pytest.raises(ValidationError) as named:
        create_user(session, centre, role=Role.SUPERVISOR, name="赵督导", username="zhao_dd", password="Zhao_dd2026")
    assert named.value.message == FROM_NAMES
    assert create_user(session, centre, role=Role.SUPERVISOR, name="赵督导", username="zhao_dd",
                       password="Qilin-Gate-73").username == "zhao_dd"


def test_the_services_store_the_production_cost_whatever_the_factories_use(session):
    """The factories hash their one password cheaply (tests/factories.py); every service that
    sets a password stores scrypt at the production cost, and logins work with either."""
    centre = make_user(session, Role.CENTRE_ADMIN)
    assert centre.password_hash.startswith("scrypt$16$") and check_password(centre.password_hash, PASSWORD)
    production = "scrypt$16384$8$1$"
    user = create_user(session, centre, role=Role.SUPERVISOR, name="赵督导", username="zhao_dd",
                       password="Qilin-Gate-73")
    assert user.password_hash.startswith(production) and check_password(user.password_hash, "Qilin-Gate-73")
    other = make_user(session, Role.QUESTION_WRITER)
    update_user(session, centre, other.id, password="Lamp7Cloud")
    assert other.password_hash.startswith(production) and check_password(other.password_hash, "Lamp7Cloud")
    change_own_password(session, centre, PASSWORD, "horse-battery-9")
    assert centre.password_hash.startswith(production) and check_password(centre.password_hash, "horse-battery-9")
    assert hash_password("k8Vd2mQx").startswith(production)


def test_an_administrators_reset_checks_the_password(session):
    centre = make_user(session, Role.CENTRE_ADMIN)
    user = make_user(session, Role.QUESTION_WRITER, name="王芳")
    with pytest.raises(ValidationError) as exc:
        update_user(session, centre, user.id, password="Wangfang2024")
    assert exc.value.message == FROM_NAMES
    with pytest.raises(ValidationError) as exc:
        update_user(session, centre, user.id, password="password1")
    assert exc.value.message == TOO_COMMON


def test_changing_ones_own_password_checks_it_and_says_why(session, client, login):
    user = make_user(session, Role.PROCTOR)
    with pytest.raises(ValidationError):
        change_own_password(session, user, PASSWORD, "password1")
    login(user)
    resp = client.post("/account/password", data={"old_password": PASSWORD, "new_password": "abc12345",
                                                  "confirm": "abc12345"})
    assert TOO_COMMON in resp.get_data(as_text=True)
    assert client.get("/home").status_code == 200  # a refused change ends no session


def test_the_demo_password_is_refused_except_when_seeding_the_demo(session):
    centre = make_user(session, Role.CENTRE_ADMIN)
    with pytest.raises(ValidationError):
        create_user(session, centre, role=Role.SUPERVISOR, name="演示", username="demo_x", password=DEMO_PASSWORD)
    with published_demo_password():
        assert password_problem(DEMO_PASSWORD) is None
        assert password_problem("short1") == "密码至少 8 位。"  # the length rule still holds
    assert password_problem(DEMO_PASSWORD) == TOO_COMMON  # and the exemption ends with the block


@pytest.mark.slow
def test_demo_seeding_still_sets_the_published_password(session):
    from sqlalchemy import select

    from foundation.accounts import User, check_password
    from foundation.seed import seed_reference

    seed_reference(session)
    seed_demo(session)
    proctors = session.scalars(select(User).where(User.role == Role.PROCTOR.value)).all()
    assert proctors and all(check_password(p.password_hash, DEMO_PASSWORD) for p in proctors)
