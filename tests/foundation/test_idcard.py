from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foundation.idcard import check_digit, id_number_problem, mask_id_number, mask_name

# The example number of GB 11643-1999 and numbers built around it.
VALID = ["11010519491231002X", "440524198001010013", "220102199003074516"]


@pytest.mark.parametrize("number", VALID)
def test_valid_numbers(number):
    assert id_number_problem(number) is None
    assert id_number_problem(number.lower()) is None


@pytest.mark.parametrize(
    ("number", "fragment"),
    [
        ("110105194912310021", "校验位"),  # wrong check character
        ("11010519491231002", "18 位"),
        ("1101051949123100XX", "前 17 位"),
        ("110105194913310028", "出生日期"),  # month 13
        ("110105299912310025", "出生日期"),  # in the future
    ],
)
def test_invalid_numbers_explain_why(number, fragment):
    problem = id_number_problem(number)
    assert problem is not None and fragment in problem


def test_check_digit_covers_x_and_every_residue():
    assert check_digit("11010519491231002") == "X"
    seen = {check_digit(f"22010219900101{n:03d}") for n in range(200)}
    assert seen == set("10X98765432")


def test_masking_for_publicity():
    assert mask_id_number("220102199003074516") == "220102********4516"
    assert mask_name("张三") == "张*" and mask_name("欧阳娜娜") == "欧**娜" and mask_name("李") == "李"


@settings(deadline=None)
@given(st.text(min_size=18, max_size=18))
def test_any_18_characters_get_an_answer_never_an_exception(value):
    problem = id_number_problem(value)
    assert problem is None or problem.startswith("身份证号码")


def test_unicode_digits_are_not_digits_here():
    assert id_number_problem("²20102199003074516") == "身份证号码前 17 位应为数字，末位为数字或 X。"
    assert id_number_problem("２２0102199003074516") is not None
