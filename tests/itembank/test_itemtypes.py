"""Item types: validation of author specs, scoring of responses, and candidate-safe views."""

from __future__ import annotations

import json

import pytest

from foundation.errors import ValidationError
from itembank.itemtypes import (
    ITEM_TYPES,
    Calculation,
    Essay,
    FillIn,
    MultipleChoice,
    ShortAnswer,
    SingleChoice,
    TrueFalse,
    get_type,
    normalise_answer,
)

SECRET_FIELDS = ("key", "answers", "scoring_points", "reference_answer", "analysis", "subset_credit", "scoring")


def options(n: int) -> list[dict[str, str]]:
    return [{"label": "ABCDEFGH"[i], "html": f"<p>选项内容{i + 1}</p>"} for i in range(n)]


def assert_public(view: dict, *secrets: str) -> None:
    """No secret field name at any depth, and no secret value anywhere in the JSON."""
    dumped = json.dumps(view, ensure_ascii=False)
    for name in SECRET_FIELDS:
        assert f'"{name}"' not in dumped, (name, dumped)
    for secret in secrets:
        assert secret not in dumped, (secret, dumped)


def raises(item_type, spec, message: str) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        item_type.validate(spec)
    assert message in info.value.message, info.value.message
    return info.value


# --- registry ---------------------------------------------------------------------------


def test_registry_has_every_type_with_chinese_labels():
    assert list(ITEM_TYPES) == [
        "single_choice", "multiple_choice", "true_false", "fill_in", "short_answer", "calculation", "essay",
    ]  # fmt: skip
    labels = [t.label for t in ITEM_TYPES.values()]
    assert labels == ["单选题", "多选题", "判断题", "填空题", "简答题", "计算题", "论述题"]
    assert [t.auto_scored for t in ITEM_TYPES.values()] == [True, True, True, True, False, False, False]
    assert isinstance(get_type("single_choice"), SingleChoice)
    assert isinstance(get_type("essay"), Essay)


def test_unknown_type_is_refused_in_chinese():
    with pytest.raises(ValidationError, match="不支持的题型：matching"):
        get_type("matching")


@pytest.mark.parametrize("code", list(ITEM_TYPES))
def test_every_type_refuses_non_dict_and_unknown_fields(code):
    item_type = get_type(code)
    raises(item_type, ["not", "a", "dict"], "题目数据格式不正确")
    raises(item_type, {"stem": "x"}, "不支持的字段：stem")


# --- single choice ----------------------------------------------------------------------

SC = SingleChoice()


def test_single_choice_validate_normalises():
    spec = SC.validate(
        {
            "options": ["<p onclick='x()'>甲</p>", "乙", {"html": "丙"}, {"label": "d", "html": "丁"}],
            "key": "b",
            "analysis": "<script>x</script>因为……",
        }
    )
    assert spec == {
        "options": [
            {"label": "A", "html": "<p>甲</p>"},
            {"label": "B", "html": "乙"},
            {"label": "C", "html": "丙"},
            {"label": "D", "html": "丁"},
        ],
        "key": ["B"],
        "analysis": "因为……",
    }
    assert SC.validate(spec) == spec  # validating a stored spec changes nothing


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"options": options(4), "key": ["A", "B"]}, "单选题必须有且只有一个正确答案。"),
        ({"options": options(4), "key": []}, "单选题必须有且只有一个正确答案。"),
        ({"options": options(4)}, "正确答案的格式不正确"),
        ({"options": options(4), "key": ["E"]}, "正确答案 E 不在选项中。"),
        ({"options": options(3), "key": ["A"]}, "单选题必须有 4 个选项"),
        ({"options": options(5), "key": ["A"]}, "现有 5 个"),
        ({"options": "ABCD", "key": ["A"]}, "单选题必须有 4 个选项"),
        ({"options": [*options(3), {"label": "E", "html": "x"}], "key": ["A"]}, "第 4 个选项的标签应为 D"),
        ({"options": [*options(3), {"html": "  "}], "key": ["A"]}, "选项 D 的内容不能为空"),
        ({"options": [*options(3), {"html": "<p>选项内容1</p>"}], "key": ["A"]}, "选项 A 与选项 D 内容相同"),
        ({"options": [*options(3), {"html": "\\(\\href{x}{y}\\)"}], "key": ["A"]}, "选项 D：公式中不允许使用 \\href"),
        ({"options": [*options(3), {"html": "x", "correct": True}], "key": ["A"]}, "选项 D 的格式不正确"),
    ],
)
def test_single_choice_refuses_bad_specs(spec, message):
    raises(SC, spec, message)


def test_single_choice_message_names_the_rule():
    error = raises(SC, {"options": options(4), "key": ["A", "C"]}, "单选题必须有且只有一个正确答案。")
    assert error.field == "key"


def test_single_choice_option_count_is_configurable():
    five = SingleChoice(min_options=2, max_options=6)
    assert len(five.validate({"options": options(5), "key": "E"})["options"]) == 5
    raises(five, {"options": options(7), "key": "A"}, "2–6 个选项")
    with pytest.raises(ValueError):
        SingleChoice(min_options=1, max_options=4)


def test_image_only_option_is_not_empty():
    spec = SC.validate({"options": [*options(3), '<img src="/itembank/images/d.png" alt="">'], "key": "D"})
    assert spec["options"][3]["html"] == '<img src="/itembank/images/d.png" alt="">'
    raises(SC, {"options": [*options(3), '<img src="https://evil.example/d.png">'], "key": "D"}, "内容不能为空")


@pytest.mark.parametrize(
    ("response", "marks"),
    [("B", 0.5), (["B"], 0.5), ("b", 0.5), ("Ｂ", 0.5), ("A", 0.0), (["A", "B"], 0.0), ("E", 0.0),
     (None, 0.0), ("", 0.0), ([], 0.0), (42, 0.0), ({"B": True}, 0.0)],
)  # fmt: skip
def test_single_choice_score(response, marks):
    spec = SC.validate({"options": options(4), "key": ["B"]})
    assert SC.score(spec, response, 0.5) == marks


def test_single_choice_public_view_has_no_key():
    spec = SC.validate({"options": options(4), "key": ["C"], "analysis": "秘密解析"})
    view = SC.public_view(spec)
    assert view == {"type": "single_choice", "options": spec["options"]}
    assert_public(view, "秘密解析")


def test_single_choice_clean_response():
    spec = SC.validate({"options": options(4), "key": ["C"]})
    assert SC.clean_response(spec, "c") == ["C"]
    assert SC.clean_response(spec, None) is None
    assert SC.clean_response(spec, "") is None
    with pytest.raises(ValidationError, match="只能选择一个选项"):
        SC.clean_response(spec, ["A", "B"])
    with pytest.raises(ValidationError, match="选项 F 不存在"):
        SC.clean_response(spec, "F")
    with pytest.raises(ValidationError, match="作答格式不正确"):
        SC.clean_response(spec, 3)


def test_score_refuses_negative_points():
    spec = SC.validate({"options": options(4), "key": ["C"]})
    with pytest.raises(ValueError):
        SC.score(spec, "C", -1)


# --- multiple choice --------------------------------------------------------------------

MC = MultipleChoice()


def test_multiple_choice_validate_normalises():
    spec = MC.validate({"options": options(5), "key": "ECa"})
    assert spec["key"] == ["A", "C", "E"]
    assert spec["scoring"] == "all_or_nothing"
    assert "subset_credit" not in spec
    spec = MC.validate({"options": options(4), "key": ["A", "B"], "scoring": "subset"})
    assert spec["subset_credit"] == 0.5


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"options": options(4), "key": ["A"]}, "多选题至少要有两个正确答案。"),
        ({"options": options(3), "key": ["A", "B"]}, "多选题必须有 4–6 个选项"),
        ({"options": options(7), "key": ["A", "B"]}, "现有 7 个"),
        ({"options": options(4), "key": ["A", "A"]}, "重复"),
        ({"options": options(4), "key": ["A", "G"]}, "正确答案 G 不在选项中"),
        ({"options": options(4), "key": ["A", "B"], "scoring": "half"}, "计分规则"),
        ({"options": options(4), "key": ["A", "B"], "scoring": "subset", "subset_credit": 1.5}, "少选得分比例"),
        ({"options": options(4), "key": ["A", "B"], "scoring": "subset", "subset_credit": "half"}, "必须是数字"),
        ({"options": options(4), "key": ["A", "B"], "subset_credit": 0.5}, "只有“少选得部分分”"),
    ],
)
def test_multiple_choice_refuses_bad_specs(spec, message):
    raises(MC, spec, message)


@pytest.mark.parametrize(
    ("scoring", "response", "marks"),
    [
        ("all_or_nothing", ["A", "C", "D"], 2.0),
        ("all_or_nothing", "DCA", 2.0),
        ("all_or_nothing", ["A", "C"], 0.0),
        ("all_or_nothing", ["A", "B", "C", "D"], 0.0),
        ("all_or_nothing", None, 0.0),
        ("all_or_nothing", [], 0.0),
        ("subset", ["A", "C", "D"], 2.0),
        ("subset", ["A", "C"], 1.0),
        ("subset", ["D"], 1.0),
        ("subset", ["A", "B"], 0.0),  # a wrong option scores nothing
        ("subset", [], 0.0),
        ("proportional", ["A"], 2.0 / 3),
        ("proportional", ["A", "C"], 4.0 / 3),
        ("proportional", ["A", "C", "D"], 2.0),
        ("proportional", ["A", "C", "B"], 0.0),
        ("proportional", ["Z"], 0.0),
    ],
)
def test_multiple_choice_score(scoring, response, marks):
    spec = MC.validate({"options": options(4), "key": ["A", "C", "D"], "scoring": scoring})
    assert MC.score(spec, response, 2) == pytest.approx(marks)


def test_multiple_choice_custom_subset_credit():
    spec = MC.validate({"options": options(4), "key": ["A", "B"], "scoring": "subset", "subset_credit": 0.4})
    assert MC.score(spec, ["B"], 5) == pytest.approx(2.0)


def test_multiple_choice_public_view_has_no_key_or_rule():
    spec = MC.validate({"options": options(6), "key": ["B", "F"], "scoring": "subset", "analysis": "秘密解析"})
    view = MC.public_view(spec)
    assert view == {"type": "multiple_choice", "options": spec["options"]}
    assert_public(view, "秘密解析")


def test_multiple_choice_clean_response():
    spec = MC.validate({"options": options(4), "key": ["B", "D"]})
    assert MC.clean_response(spec, "db") == ["B", "D"]
    assert MC.clean_response(spec, ["D", "B", "B"]) == ["B", "D"]
    assert MC.clean_response(spec, []) is None
    with pytest.raises(ValidationError, match="选项 E 不存在"):
        MC.clean_response(spec, ["E"])


# --- true/false -------------------------------------------------------------------------

TF = TrueFalse()


@pytest.mark.parametrize(("key", "stored"), [("√", "√"), ("×", "×"), (True, "√"), (False, "×"), ("对", "√"),
                                             ("错误", "×"), ("✓", "√"), ("X", "×"), (" T ", "√")])  # fmt: skip
def test_true_false_validate_normalises(key, stored):
    assert TF.validate({"key": key}) == {"key": stored}


@pytest.mark.parametrize("key", [None, "", "maybe", 1, ["√", "×"]])
def test_true_false_refuses_bad_key(key):
    raises(TF, {"key": key}, "判断题的答案必须是 √ 或 ×。")


@pytest.mark.parametrize(
    ("response", "marks"),
    [("×", 0.5), ("x", 0.5), (False, 0.5), ("错", 0.5), ("√", 0.0), (True, 0.0), (None, 0.0), ("", 0.0), ("?", 0.0)],
)
def test_true_false_score(response, marks):
    spec = TF.validate({"key": "×"})
    assert TF.score(spec, response, 0.5) == marks


def test_true_false_public_view_and_response():
    spec = TF.validate({"key": "×", "analysis": "秘密解析"})
    view = TF.public_view(spec)
    assert view == {"type": "true_false", "choices": ["√", "×"]}
    assert_public(view, "秘密解析")
    assert TF.clean_response(spec, "对") == "√"
    assert TF.clean_response(spec, " ") is None
    with pytest.raises(ValidationError, match="只能回答 √ 或 ×"):
        TF.clean_response(spec, "也许")


# --- fill-in ----------------------------------------------------------------------------

FI = FillIn()


def test_normalise_answer():
    assert normalise_answer("  ＡＢＣ　１２３ ") == "abc 123"
    assert normalise_answer("欧姆定律。") == "欧姆定律"
    assert normalise_answer("10Ω") == normalise_answer("10Ω")
    assert normalise_answer("-5") == "-5"
    assert normalise_answer("a   b") == "a b"


def test_fill_in_validate_normalises():
    spec = FI.validate({"blanks": [{"answers": ["欧姆定律", "欧姆定律。", " 欧姆定律 "]}, {"answers": [220, "220V"]}]})
    assert spec == {
        "blanks": [{"answers": ["欧姆定律"]}, {"answers": ["220", "220V"]}],
        "any_order": False,
    }
    assert FI.validate({"blanks": [{"answers": "唯一"}]})["blanks"] == [{"answers": ["唯一"]}]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"blanks": []}, "填空题至少要有一个空。"),
        ({}, "填空题至少要有一个空。"),
        ({"blanks": [{"answers": []}]}, "第 1 个空至少要有一个参考答案。"),
        ({"blanks": [{"answers": ["a"]}, {"answers": ["  "]}]}, "第 2 个空的答案不能为空。"),
        ({"blanks": [{"answers": ["a" * 201]}]}, "第 1 个空的答案过长"),
        ({"blanks": [{"answers": [None]}]}, "第 1 个空的答案格式不正确"),
        ({"blanks": ["a"]}, "第 1 个空的格式不正确"),
        ({"blanks": [{"answers": ["a"]}] * 21}, "最多 20 个空"),
        ({"blanks": [{"answers": ["a"]}], "any_order": "yes"}, "答案可不按顺序"),
    ],
)
def test_fill_in_refuses_bad_specs(spec, message):
    raises(FI, spec, message)


@pytest.mark.parametrize(
    ("response", "marks"),
    [
        (["欧姆定律", "220V"], 3.0),
        (["  欧姆定律。", "２２０ｖ"], 3.0),  # trimmed, full-width, case
        (["欧姆定律", "380V"], 1.5),
        (["", "220"], 1.5),
        (["欧姆定律"], 1.5),  # missing trailing blank is empty
        ("欧姆定律", 1.5),
        (["220V", "欧姆定律"], 0.0),  # order matters by default
        (None, 0.0),
        ([], 0.0),
        (["a", "b", "c"], 0.0),  # too many blanks: malformed
        ([1, 2], 0.0),
    ],
)
def test_fill_in_score(response, marks):
    spec = FI.validate({"blanks": [{"answers": ["欧姆定律"]}, {"answers": ["220", "220V"]}]})
    assert FI.score(spec, response, 3) == pytest.approx(marks)


def test_fill_in_any_order_matches_one_to_one():
    spec = FI.validate({"blanks": [{"answers": ["电压", "电流"]}, {"answers": ["电流"]}], "any_order": True})
    assert FI.score(spec, ["电流", "电压"], 2) == 2.0
    assert FI.score(spec, ["电压", "电流"], 2) == 2.0  # needs the matching, not greedy
    assert FI.score(spec, ["电流", "电流"], 2) == 2.0
    assert FI.score(spec, ["电压", "电压"], 2) == 1.0  # one response fills one blank only
    assert FI.score(spec, ["", ""], 2) == 0.0


def test_fill_in_public_view_and_response():
    spec = FI.validate({"blanks": [{"answers": ["隐秘答案甲"]}, {"answers": ["隐秘答案乙"]}], "analysis": "秘密解析"})
    view = FI.public_view(spec)
    assert view == {"type": "fill_in", "blank_count": 2}
    assert_public(view, "隐秘答案甲", "隐秘答案乙", "秘密解析")
    assert FI.clean_response(spec, [" 甲 ", None]) == ["甲", ""]
    assert FI.clean_response(spec, ["", " "]) is None
    with pytest.raises(ValidationError, match="作答格式不正确"):
        FI.clean_response(spec, ["a", "b", "c"])
    with pytest.raises(ValidationError, match="最多 200 个字符"):
        FI.clean_response(spec, ["a" * 201])


# --- examiner-scored --------------------------------------------------------------------

EXAMINER_SPEC = {
    "reference_answer": "<p>保密参考答案：电流与电压成正比<script>x()</script></p>",
    "scoring_points": [{"html": "保密要点一", "points": 2}, {"html": "保密要点二", "points": 3.5}],
}


@pytest.mark.parametrize("item_type", [ShortAnswer(), Calculation(), Essay()], ids=lambda t: t.code)
def test_examiner_types_validate(item_type):
    spec = item_type.validate(EXAMINER_SPEC)
    assert spec["reference_answer"] == "<p>保密参考答案：电流与电压成正比</p>"
    assert spec["scoring_points"] == [{"html": "保密要点一", "points": 2.0}, {"html": "保密要点二", "points": 3.5}]
    assert spec["max_length"] == (5000 if item_type.code == "essay" else 2000)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reference_answer": ""}, "参考答案的内容不能为空。"),
        ({"reference_answer": None}, "参考答案的内容不能为空。"),
        ({"scoring_points": []}, "至少要有一个评分要点。"),
        ({"scoring_points": [{"html": "", "points": 1}]}, "第 1 个评分要点的内容不能为空。"),
        ({"scoring_points": [{"html": "a", "points": 0}]}, "第 1 个评分要点的分值必须大于 0"),
        ({"scoring_points": [{"html": "a", "points": True}]}, "第 1 个评分要点的分值必须是数字"),
        ({"scoring_points": [{"html": "a"}]}, "第 1 个评分要点的分值必须是数字"),
        ({"scoring_points": ["a"]}, "第 1 个评分要点的格式不正确"),
        ({"max_length": 0}, "作答字数上限"),
    ],
)
def test_examiner_types_refuse_bad_specs(change, message):
    raises(ShortAnswer(), {**EXAMINER_SPEC, **change}, message)


@pytest.mark.parametrize("item_type", [ShortAnswer(), Calculation(), Essay()], ids=lambda t: t.code)
def test_examiner_types_need_an_examiner(item_type):
    spec = item_type.validate(EXAMINER_SPEC)
    assert item_type.score(spec, "电流与电压成正比", 10) is None
    assert item_type.score(spec, "完全不相关", 10) is None
    assert item_type.score(spec, "", 10) == 0.0  # a blank answer needs no examiner
    assert item_type.score(spec, None, 10) == 0.0


@pytest.mark.parametrize("item_type", [ShortAnswer(), Calculation(), Essay()], ids=lambda t: t.code)
def test_examiner_types_public_view_has_no_answer(item_type):
    spec = item_type.validate({**EXAMINER_SPEC, "analysis": "秘密解析", "max_length": 300})
    view = item_type.public_view(spec)
    assert view == {"type": item_type.code, "max_length": 300}
    assert_public(view, "保密参考答案", "保密要点一", "保密要点二", "秘密解析")


def test_examiner_clean_response():
    item_type = ShortAnswer()
    spec = item_type.validate({**EXAMINER_SPEC, "max_length": 5})
    assert item_type.clean_response(spec, "五个字以内") == "五个字以内"
    assert item_type.clean_response(spec, "  ") is None
    with pytest.raises(ValidationError, match="最多 5 个字符"):
        item_type.clean_response(spec, "超过五个字了")
    with pytest.raises(ValidationError, match="作答格式不正确"):
        item_type.clean_response(spec, ["a"])


# --- all types --------------------------------------------------------------------------

GOOD_SPECS = {
    "single_choice": {"options": options(4), "key": ["D"]},
    "multiple_choice": {"options": options(4), "key": ["A", "D"], "scoring": "subset"},
    "true_false": {"key": "√"},
    "fill_in": {"blanks": [{"answers": ["答案"]}]},
    "short_answer": EXAMINER_SPEC,
    "calculation": EXAMINER_SPEC,
    "essay": EXAMINER_SPEC,
}


@pytest.mark.parametrize("code", list(ITEM_TYPES))
def test_public_view_never_carries_secret_fields(code):
    item_type = get_type(code)
    spec = item_type.validate({**GOOD_SPECS[code], "analysis": "秘密解析"})
    view = item_type.public_view(spec)
    assert view["type"] == code
    assert_public(view, "秘密解析")
    json.dumps(view)  # JSON-serialisable for the socket payload


@pytest.mark.parametrize("code", list(ITEM_TYPES))
def test_validate_does_not_mutate_input(code):
    raw = json.loads(json.dumps(GOOD_SPECS[code]))
    before = json.dumps(raw, sort_keys=True)
    get_type(code).validate(raw)
    assert json.dumps(raw, sort_keys=True) == before
