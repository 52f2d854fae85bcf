"""List-page excerpts of item HTML (sanitize.excerpt): a cut never splits a TeX formula."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itembank.sanitize import _tex_spans, excerpt, extract_tex, plain_text

# Text without backslashes (so it adds no delimiters) and formula bodies that may hold TeX
# commands and line breaks (``\\``) but no delimiter of their own.
_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\\<>&"), max_size=40)
_BODY = st.lists(st.sampled_from(["x", "^2", "\\frac{a}{b}", " ", "\\\\", "+", "测", "\\alpha", "{y}"]),
                 min_size=1, max_size=12).map("".join).filter(str.strip)
_FORMULA = st.tuples(st.sampled_from([("\\(", "\\)"), ("\\[", "\\]")]), _BODY).map(
    lambda t: t[0][0] + t[1] + t[0][1])
_STEM = st.lists(st.one_of(_TEXT, _FORMULA), max_size=10).map("".join)


def _formulas(text: str) -> list[str]:
    spans, ok = _tex_spans(text)
    assert ok
    return [text[start - 2:end + 2] for start, end in spans]


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(_STEM, st.integers(min_value=0, max_value=120))
def test_an_excerpt_never_cuts_inside_a_formula(stem, limit):
    full = " ".join(plain_text(stem).split())
    out = excerpt(stem, limit)
    spans, ok = _tex_spans(out)
    assert ok, out  # every delimiter in the excerpt is paired
    body = out[:-1] if out.endswith("…") and out != full else out
    assert full.startswith(body)
    # Every formula of the excerpt is a whole formula of the stem.
    assert set(_formulas(out)) <= set(_formulas(full))
    # At most the limit, plus the rest of the one formula the limit fell inside, plus "…".
    straddling = [f for f, (start, end) in zip(_formulas(full), _tex_spans(full)[0], strict=True)
                  if start - 2 < limit < end + 2]
    assert len(body) <= limit + sum(len(f) for f in straddling)
    if len(full) <= limit:
        assert out == full


@settings(max_examples=200, deadline=None)
@given(_STEM)
def test_an_excerpt_of_a_valid_stem_passes_the_formula_check(stem):
    extract_tex(stem)
    extract_tex(excerpt(stem, 30))  # raises on unpaired delimiters


def test_a_formula_across_the_limit_is_kept_whole():
    stem = "<p>" + "甲" * 10 + "\\(R=\\frac{U}{I}\\)" + "乙" * 10 + "</p>"
    assert excerpt(stem, 12) == "甲" * 10 + "\\(R=\\frac{U}{I}\\)…"
    assert excerpt(stem, 10) == "甲" * 10 + "…"
    assert excerpt(stem, 100) == "甲" * 10 + "\\(R=\\frac{U}{I}\\)" + "乙" * 10


def test_a_stray_or_unclosed_delimiter_before_the_cut_ends_the_excerpt():
    assert excerpt("前文\\)后文" * 10, 8) == "前文…"
    assert excerpt("前文\\(x+" + "y" * 20, 8) == "前文…"
    assert excerpt("前文\\(x\\]" + "y" * 20, 8) == "前文…"
    assert excerpt("<p>第一行</p><p>第二行</p>", 80) == "第一行 第二行"
