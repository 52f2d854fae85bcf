"""Near-duplicate stems: normalisation, exact similarity, MinHash signatures and the LSH index."""

from __future__ import annotations

import numpy as np
import pytest

from itembank.duplicates import (
    DEFAULT_THRESHOLD,
    NUM_PERM,
    SIGNATURE_BYTES,
    DuplicateIndex,
    estimated_similarity,
    normalise,
    signature,
    signature_from_bytes,
    similarity,
)

STEM = "在三相四线制供电系统中，中性线的作用是使不对称负载的相电压保持对称。"
ONE_WORD_CHANGED = "在三相四线制供电系统中，零线的作用是使不对称负载的相电压保持对称。"
UNRELATED = [
    "电动机的额定功率是指在额定运行状态下轴上输出的机械功率。",
    "使用兆欧表测量绝缘电阻前，应先对被测设备进行停电和放电。",
    "下列关于安全电压的说法中，正确的是（　　）。",
    "钳工划线时，划线基准应尽量与设计基准一致。",
]


def test_normalise_strips_html_width_case_punctuation_and_space():
    assert normalise("<p>Ａ　B，ｃ。</p><script>x</script>") == "abc"
    assert normalise("电阻 R＝10Ω（欧姆）") == "电阻r=10ω欧姆"
    assert normalise("。、！") == ""


def test_identical_stems():
    assert similarity(STEM, STEM) == 1.0
    assert DuplicateIndex([(1, STEM)]).find(STEM) == [(1, 1.0)]


@pytest.mark.parametrize(
    "variant",
    [
        "在三相四线制供电系统中,中性线的作用是使不对称负载的相电压保持对称.",
        "在 三相四线制 供电系统中 中性线的作用是 使不对称负载的相电压保持对称",
        "<p>在三相四线制供电系统中，<b>中性线</b>的作用是使不对称负载的相电压保持对称。</p>",
        "在三相四线制供电系统中（　　），中性线的作用是使不对称负载的相电压保持对称？",
    ],
)
def test_stems_differing_only_in_punctuation_whitespace_markup_are_identical(variant):
    assert similarity(STEM, variant) == 1.0
    assert DuplicateIndex([("q1", STEM)]).find(variant) == [("q1", 1.0)]


def test_full_width_and_case_do_not_matter():
    assert similarity("ＰＬＣ的输入继电器Ｘ０", "plc的输入继电器x0") == 1.0


def test_one_word_changed_is_found_at_the_default_threshold():
    sim = similarity(STEM, ONE_WORD_CHANGED)
    assert DEFAULT_THRESHOLD <= sim < 1.0
    index = DuplicateIndex([(1, STEM), *((i + 2, s) for i, s in enumerate(UNRELATED))])
    assert index.find(ONE_WORD_CHANGED) == [(1, pytest.approx(sim))]


def test_unrelated_stems_are_not_found():
    index = DuplicateIndex(enumerate(UNRELATED))
    assert index.find(STEM) == []
    for a in UNRELATED:
        for b in UNRELATED:
            if a != b:
                assert similarity(a, b) < 0.3


def test_results_are_sorted_best_first_and_threshold_is_configurable():
    closer = "在三相四线制供电系统中，中性线的作用是使不对称负载的相电压保持平衡。"
    index = DuplicateIndex([("far", ONE_WORD_CHANGED), ("same", STEM), ("near", closer)])
    found = index.find(STEM, threshold=0.5)
    assert [item for item, _ in found] == ["same", "near", "far"]
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
    assert index.find(STEM, threshold=1.0) == [("same", 1.0)]
    with pytest.raises(ValueError):
        index.find(STEM, threshold=0)


def test_short_stems():
    assert similarity("电阻", "电阻") == 1.0
    assert similarity("电阻", "电容") == 0.0
    assert similarity("A", "ａ") == 1.0  # shorter than one shingle
    assert similarity("欧姆定律", "欧姆定理") == pytest.approx(0.5)
    index = DuplicateIndex([(1, "电阻"), (2, "电容"), (3, "A"), (4, "欧姆定律")])
    assert index.find("电阻。") == [(1, 1.0)]
    assert index.find("a") == [(3, 1.0)]
    assert index.find("欧姆定理") == []


def test_empty_stems_match_nothing():
    assert similarity("", "") == 0.0
    assert similarity("。。", "？") == 0.0
    index = DuplicateIndex([(1, ""), (2, '<img src="/itembank/images/a.png">')])
    assert index.find("") == []
    assert index.find("。") == []


def test_signature_round_trips_through_bytes_and_is_stable():
    sig = signature(STEM)
    assert sig.dtype == np.dtype("<u4") and sig.shape == (NUM_PERM,)
    data = sig.tobytes()
    assert len(data) == SIGNATURE_BYTES
    back = signature_from_bytes(data)
    assert back is not None and np.array_equal(back, sig)
    assert np.array_equal(signature(STEM), sig)
    # Pinned: stored signatures must not change silently. If this fails on purpose,
    # bump SIGNATURE_VERSION and recompute stored signatures.
    assert signature("欧姆定律适用于纯电阻电路。")[:4].tobytes().hex() == "7ed8800eb50e3b2c2f612d0033e1df0f"


def test_malformed_signatures_are_refused():
    data = signature(STEM).tobytes()
    assert signature_from_bytes(data[:-1]) is None
    assert signature_from_bytes(data + b"\0") is None
    assert signature_from_bytes(b"") is None


def test_minhash_estimate_tracks_exact_similarity():
    for other in [STEM, ONE_WORD_CHANGED, *UNRELATED]:
        est = estimated_similarity(signature(STEM), signature(other))
        assert abs(est - similarity(STEM, other)) < 0.15


def test_index_accepts_stored_signatures_and_recomputes_malformed_ones():
    index = DuplicateIndex()
    index.add(1, STEM, signature(STEM).tobytes())
    index.add(2, UNRELATED[0], b"stale")
    assert len(index) == 2
    assert index.find(ONE_WORD_CHANGED) == [(1, pytest.approx(similarity(STEM, ONE_WORD_CHANGED)))]
    assert index.find(UNRELATED[0]) == [(2, 1.0)]


def test_index_replace_remove_and_exclude():
    index = DuplicateIndex([(1, STEM), (2, UNRELATED[0])])
    assert 1 in index
    assert [i for i, _ in index.find(STEM, exclude=[1])] == []
    index.add(1, UNRELATED[1])  # a new version replaces the old stem
    assert index.find(STEM) == []
    assert index.find(UNRELATED[1]) == [(1, 1.0)]
    index.remove(2)
    index.remove(99)
    assert index.find(UNRELATED[0]) == []
    assert len(index) == 1 and 2 not in index


def _random_stems(n: int, rng: np.random.Generator) -> list[str]:
    alphabet = (
        "电压流阻容感抗功率频相位线路器件机械设备安全检测绝缘接地保护控制系统"
        "运行维修装配调试测量工具材料钢铁铜铝焊接切削加工精度公差尺寸图纸标准"
        "规范操作程序故障原因分析方法步骤要求条件作用特点"
    )
    chars = np.array(list(alphabet))
    return ["".join(rng.choice(chars, size=int(rng.integers(20, 45)))) for _ in range(n)]


def test_index_of_5000_stems_finds_planted_duplicates():
    rng = np.random.default_rng(7)
    stems = _random_stems(5000, rng)
    index = DuplicateIndex(enumerate(stems))
    assert len(index) == 5000
    for i in (0, 1234, 4999):
        # the same stem with one character changed and punctuation added
        s = stems[i]
        variant = s[:10] + ("甲" if s[10] != "甲" else "乙") + s[11:] + "。"
        found = index.find(variant)
        assert found and found[0][0] == i
        assert all(sim >= DEFAULT_THRESHOLD for _, sim in found)
    assert index.find("完全无关的一道关于计算机网络协议的题目") == []
