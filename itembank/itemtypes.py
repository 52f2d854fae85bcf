"""Item types (题型): the registry of what an item's ``spec`` holds and how a response scores.

Each type is a small object with a ``code``, a Chinese ``label`` and four operations that
never see a request or the database:

``validate(spec) -> spec``
    Check an author's spec and return a normalised copy (HTML sanitised, keys sorted,
    defaults filled in). Raises :class:`~foundation.errors.ValidationError` with a Chinese
    message naming the problem. Store what it returns.
``score(spec, response, points) -> float | None``
    Marks for a response to a validated spec, out of ``points`` (the paper decides the
    points). ``None`` means an examiner must score it. Never raises for a malformed
    response: that scores 0.
``public_view(spec) -> dict``
    What a candidate's browser may see, built field by field from an allowlist: answer
    keys, accepted answers, reference answers, scoring points and analysis never leave
    the server.
``clean_response(spec, response) -> normalised response | None``
    Check a candidate's response before it is saved (``None`` = unanswered).

A type also answers the format-neutral questions the importers, exporters and analyses
ask (so none of them compares an item type's code): ``choice_alphabet`` (the labels a
response picks from, empty for a type that is not a choice; response sets store choice
codes over it), ``multi_select`` (several choices at once, coded as a bit mask),
``has_options`` (authored options A, B, C ...), ``choice_labels(spec)``,
``key_labels(spec)`` and ``response_labels(cleaned)``. Format adapters (Excel in
:mod:`itembank.item_excel`, QTI in :mod:`itembank.qti`, the editor form in
``web.bank.item_forms``) are registered beside each type by code; adding a type means
writing its class, :func:`register_type`, and one adapter per format.

The ``spec`` is the type-specific part of an item version; the stem lives beside it. Spec
shapes are in each class docstring. Every spec may also carry ``"analysis"``: HTML of the
answer analysis (解析), shown to reviewers, never to candidates.
"""

from __future__ import annotations

import math
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from foundation.errors import ValidationError
from itembank.sanitize import clean_item_html, plain_text

Spec = dict[str, Any]

LABELS = "ABCDEFGH"
TRUE_MARK = "√"
FALSE_MARK = "×"
MAX_BLANKS = 20
MAX_ANSWER_LENGTH = 200
MAX_ANSWERS_PER_BLANK = 20
MAX_SCORING_POINTS = 30
MAX_RESPONSE_LENGTH = 20_000

_TRUE_WORDS = frozenset({"√", "✓", "✔", "对", "正确", "是", "t", "true", "y", "yes"})
_FALSE_WORDS = frozenset({"×", "✗", "✘", "x", "错", "错误", "否", "f", "false", "n", "no"})
_TRAILING_PUNCT = "。.，,；;、"
_IMG_WITH_SRC = re.compile(r"<img\b[^>]*\bsrc=")


def _fail(message: str, field: str | None = None) -> ValidationError:
    return ValidationError(message, field=field)


def _as_spec(spec: object, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(spec, Mapping):
        raise _fail("题目数据格式不正确。")
    unknown = sorted(str(k) for k in spec if k not in allowed)
    if unknown:
        raise _fail(f"题目数据包含不支持的字段：{'、'.join(unknown)}。")
    return spec


def _of(what: str) -> str:
    """``what`` + 的, spaced after a Latin letter as Chinese typesetting does ("选项 B 的")."""
    return f"{what} 的" if what[-1:].isascii() else f"{what}的"


def _html(value: object, what: str, field: str, *, required: bool = True) -> str:
    """Sanitise one HTML field; ``what`` names it in messages (e.g. "选项 B")."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _fail(f"{_of(what)}格式不正确。", field)
    try:
        cleaned = clean_item_html(value)
    except ValidationError as exc:
        raise _fail(f"{what}：{exc.message}", field) from exc
    if required and not plain_text(cleaned) and not _IMG_WITH_SRC.search(cleaned):
        raise _fail(f"{_of(what)}内容不能为空。", field)
    return cleaned


def _number(value: object, what: str, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(f"{what}必须是数字。", field)
    return float(value)


def _check_points(points: float) -> None:
    if isinstance(points, bool) or not isinstance(points, int | float) or not math.isfinite(points) or points < 0:
        raise ValueError(f"points must be a finite number >= 0, got {points!r}")


def normalise_answer(text: str) -> str:
    """Comparison form of a fill-in answer.

    NFKC (full-width letters, digits, brackets and spaces become half-width; ``Ω`` and
    ``Ω`` agree), case-folded, whitespace runs collapsed to one space and trimmed, and
    trailing sentence punctuation (``。.，,；;、``) dropped.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = " ".join(text.split())
    return text.rstrip(_TRAILING_PUNCT).rstrip()


def _is_blank(response: object) -> bool:
    if response is None:
        return True
    if isinstance(response, str):
        return not response.strip()
    if isinstance(response, list | tuple):
        return all(_is_blank(r) for r in response)
    return False


class ItemType(ABC):
    """One item type. Instances are stateless apart from their configuration."""

    code: ClassVar[str]
    label: ClassVar[str]
    auto_scored: ClassVar[bool]

    #: Labels a response picks from, in choice-code order; empty: not a choice type.
    choice_alphabet: ClassVar[tuple[str, ...]] = ()
    #: A response may pick several choices (choice code = bit mask over the alphabet).
    multi_select: ClassVar[bool] = False
    #: The spec holds authored options (``{"label", "html"}``, labelled A, B, C ...).
    has_options: ClassVar[bool] = False

    @property
    def is_choice(self) -> bool:
        """Responses are choices (stored as choice codes in response sets)."""
        return bool(self.choice_alphabet)

    def choice_labels(self, spec: Mapping[str, Any]) -> list[str]:
        """The labels a response to this spec may pick; ``[]`` for a type that is not a choice."""
        return list(self.choice_alphabet)

    def key_labels(self, spec: Mapping[str, Any]) -> list[str]:
        """The answer key as choice labels; ``[]`` for a type that is not a choice."""
        return []

    def response_labels(self, cleaned: Any) -> list[str]:
        """A response cleaned by :meth:`clean_response` as choice labels."""
        return [str(x) for x in cleaned] if isinstance(cleaned, list | tuple) else [str(cleaned)]

    @abstractmethod
    def validate(self, spec: Mapping[str, Any]) -> Spec:
        """Normalised copy of ``spec``; raises ``ValidationError`` naming the problem."""

    @abstractmethod
    def score(self, spec: Mapping[str, Any], response: object, points: float) -> float | None:
        """Marks in ``[0, points]`` for a validated spec, or ``None`` when an examiner scores."""

    @abstractmethod
    def public_view(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """The candidate-safe part of a validated spec."""

    @abstractmethod
    def clean_response(self, spec: Mapping[str, Any], response: object) -> Any:
        """Normalised response to store, ``None`` if unanswered; ``ValidationError`` if malformed."""

    def _analysis(self, spec: Mapping[str, Any]) -> dict[str, str]:
        cleaned = _html(spec.get("analysis"), "解析", "analysis", required=False)
        return {"analysis": cleaned} if cleaned else {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.code}>"


class _ChoiceType(ItemType):
    """Shared by single and multiple choice: options labelled A, B, C ... in order."""

    auto_scored = True
    choice_alphabet = tuple(LABELS)
    has_options = True
    _fields: ClassVar[set[str]] = {"options", "key", "analysis"}

    def __init__(self, *, min_options: int, max_options: int) -> None:
        if not 2 <= min_options <= max_options <= len(LABELS):
            raise ValueError(f"need 2 <= min_options <= max_options <= {len(LABELS)}")
        self.min_options = min_options
        self.max_options = max_options

    def _count_text(self) -> str:
        if self.min_options == self.max_options:
            return f"{self.min_options} 个"
        return f"{self.min_options}–{self.max_options} 个"

    def _options(self, raw: object) -> list[dict[str, str]]:
        if not isinstance(raw, list | tuple):
            raise _fail(f"{self.label}必须有 {self._count_text()}选项。", "options")
        if not self.min_options <= len(raw) <= self.max_options:
            raise _fail(f"{self.label}必须有 {self._count_text()}选项，现有 {len(raw)} 个。", "options")
        options: list[dict[str, str]] = []
        seen: dict[str, str] = {}
        for i, item in enumerate(raw):
            expected = LABELS[i]
            if isinstance(item, str):
                item = {"html": item}
            if not isinstance(item, Mapping) or set(item) - {"label", "html"}:
                raise _fail(f"选项 {expected} 的格式不正确。", f"options[{i}]")
            label = str(item.get("label", expected)).strip().upper()
            if label != expected:
                raise _fail(f"第 {i + 1} 个选项的标签应为 {expected}，选项须按 A、B、C… 依次排列。", f"options[{i}]")
            html = _html(item.get("html"), f"选项 {label}", f"options[{i}].html")
            text = "".join(unicodedata.normalize("NFKC", plain_text(html)).casefold().split()) or html
            if text in seen:
                raise _fail(f"选项 {seen[text]} 与选项 {label} 内容相同。", f"options[{i}].html")
            seen[text] = label
            options.append({"label": label, "html": html})
        return options

    @staticmethod
    def _labels(raw: object) -> list[str] | None:
        """Labels from "B", "AC", ["A", "C"]; ``None`` if not that shape."""
        if isinstance(raw, str):
            items: list[object] = list(raw.replace(",", "").replace("，", "").replace(" ", ""))
        elif isinstance(raw, list | tuple):
            items = list(raw)
        else:
            return None
        labels: list[str] = []
        for item in items:
            if not isinstance(item, str):
                return None
            label = unicodedata.normalize("NFKC", item).strip().upper()
            if len(label) != 1:
                return None
            labels.append(label)
        return labels

    def _key(self, raw: object, options: list[dict[str, str]]) -> list[str]:
        labels = self._labels(raw)
        if labels is None:
            raise _fail('正确答案的格式不正确，应为选项标签，如 ["B"]。', "key")
        valid = {o["label"] for o in options}
        for label in labels:
            if label not in valid:
                raise _fail(f"正确答案 {label} 不在选项中。", "key")
        if len(set(labels)) != len(labels):
            raise _fail("正确答案中有重复的选项。", "key")
        return sorted(labels)

    def _response_labels(self, spec: Mapping[str, Any], response: object) -> list[str] | None:
        """Sorted unique labels of a response, or ``None`` if malformed or not in the options."""
        labels = self._labels(response)
        if labels is None:
            return None
        valid = {o["label"] for o in spec.get("options", ())}
        if not set(labels) <= valid:
            return None
        return sorted(set(labels))

    def choice_labels(self, spec: Mapping[str, Any]) -> list[str]:
        return [str(o.get("label", "")) for o in spec.get("options", ())]

    def key_labels(self, spec: Mapping[str, Any]) -> list[str]:
        return [str(k) for k in spec.get("key", ())]

    def public_view(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "type": self.code,
            "options": [{"label": str(o["label"]), "html": str(o["html"])} for o in spec.get("options", ())],
        }

    def clean_response(self, spec: Mapping[str, Any], response: object) -> Any:
        if _is_blank(response):
            return None
        labels = self._labels(response)
        if labels is None:
            raise _fail("作答格式不正确。", "response")
        valid = {o["label"] for o in spec.get("options", ())}
        for label in labels:
            if label not in valid:
                raise _fail(f"选项 {label} 不存在。", "response")
        return sorted(set(labels))


class SingleChoice(_ChoiceType):
    """单选题. By default exactly 4 options (A–D), as the national rules require.

    Spec::

        {"options": [{"label": "A", "html": "..."}, ..., {"label": "D", "html": "..."}],
         "key": ["B"],
         "analysis": "<p>...</p>"}            # optional

    ``label`` may be omitted (assigned A, B, C ... in order), an option may be given as a
    bare HTML string, and ``key`` as ``"B"``. Response: ``"B"`` or ``["B"]``; stored as
    ``["B"]``. Public view: ``{"type", "options"}``.
    """

    code = "single_choice"
    label = "单选题"

    def __init__(self, *, min_options: int = 4, max_options: int = 4) -> None:
        super().__init__(min_options=min_options, max_options=max_options)

    def validate(self, spec: Mapping[str, Any]) -> Spec:
        spec = _as_spec(spec, self._fields)
        options = self._options(spec.get("options"))
        key = self._key(spec.get("key"), options)
        if len(key) != 1:
            raise _fail("单选题必须有且只有一个正确答案。", "key")
        return {"options": options, "key": key, **self._analysis(spec)}

    def score(self, spec: Mapping[str, Any], response: object, points: float) -> float | None:
        _check_points(points)
        labels = self._response_labels(spec, response)
        return float(points) if labels is not None and labels == list(spec["key"]) else 0.0

    def clean_response(self, spec: Mapping[str, Any], response: object) -> Any:
        labels = super().clean_response(spec, response)
        if labels is not None and len(labels) != 1:
            raise _fail("单选题只能选择一个选项。", "response")
        return labels


SCORING_RULES = ("all_or_nothing", "subset", "proportional")


class MultipleChoice(_ChoiceType):
    """多选题: 4–6 options by default, two or more of them correct.

    Spec::

        {"options": [{"label": "A", "html": "..."}, ...],     # 4 to 6
         "key": ["A", "C"],                                   # >= 2 labels, stored sorted
         "scoring": "all_or_nothing",                         # optional, the default
         "subset_credit": 0.5,                                # only with "subset"
         "analysis": "..."}                                   # optional

    Scoring rules (any wrong option always scores 0; so does a blank response):

    - ``all_or_nothing``: full points only for exactly the key.
    - ``subset``: full points for the key; ``subset_credit × points`` (default 0.5,
      少选得一半) for a non-empty proper subset of the key.
    - ``proportional``: ``points × |response| / |key|`` for a subset of the key.

    Response: ``["A", "C"]`` or ``"AC"``; stored sorted. Public view: ``{"type", "options"}``
    (neither the key size nor the scoring rule is sent).
    """

    code = "multiple_choice"
    label = "多选题"
    multi_select = True
    _fields: ClassVar[set[str]] = {"options", "key", "scoring", "subset_credit", "analysis"}

    def __init__(self, *, min_options: int = 4, max_options: int = 6) -> None:
        super().__init__(min_options=min_options, max_options=max_options)

    def validate(self, spec: Mapping[str, Any]) -> Spec:
        spec = _as_spec(spec, self._fields)
        options = self._options(spec.get("options"))
        key = self._key(spec.get("key"), options)
        if len(key) < 2:
            raise _fail("多选题至少要有两个正确答案。", "key")
        rule = spec.get("scoring") or "all_or_nothing"
        if rule not in SCORING_RULES:
            raise _fail(
                "多选题的计分规则只能是全对才得分（all_or_nothing）、少选得部分分（subset）或按比例得分（proportional）。",
                "scoring",
            )
        out: Spec = {"options": options, "key": key, "scoring": rule}
        if rule == "subset":
            credit = _number(spec.get("subset_credit", 0.5), "少选得分比例", "subset_credit")
            if not 0 < credit < 1:
                raise _fail("少选得分比例必须大于 0 且小于 1。", "subset_credit")
            out["subset_credit"] = credit
        elif spec.get("subset_credit") is not None:
            raise _fail("只有“少选得部分分”的计分规则才能设置少选得分比例。", "subset_credit")
        return {**out, **self._analysis(spec)}

    def score(self, spec: Mapping[str, Any], response: object, points: float) -> float | None:
        _check_points(points)
        labels = self._response_labels(spec, response)
        key = list(spec["key"])
        if not labels or not set(labels) <= set(key):
            return 0.0
        if labels == key:
            return float(points)
        rule = spec.get("scoring", "all_or_nothing")
        if rule == "subset":
            return float(points) * float(spec.get("subset_credit", 0.5))
        if rule == "proportional":
            return float(points) * len(labels) / len(key)
        return 0.0


class TrueFalse(ItemType):
    """判断题, answered √ or ×.

    Spec: ``{"key": "√", "analysis": "..."}``. The key (and a response) may also be given
    as ``True``/``False``, ✓/✗, 对/错, 正确/错误, T/F; it is stored as ``"√"`` or ``"×"``.
    Public view: ``{"type", "choices": ["√", "×"]}``.
    """

    code = "true_false"
    label = "判断题"
    auto_scored = True
    choice_alphabet = (TRUE_MARK, FALSE_MARK)

    def key_labels(self, spec: Mapping[str, Any]) -> list[str]:
        return [str(spec.get("key", TRUE_MARK))]

    def response_labels(self, cleaned: Any) -> list[str]:
        return [str(cleaned)]

    @staticmethod
    def _mark(value: object) -> str | None:
        if isinstance(value, bool):
            return TRUE_MARK if value else FALSE_MARK
        if isinstance(value, list | tuple) and len(value) == 1:
            value = value[0]
        if not isinstance(value, str):
            return None
        word = unicodedata.normalize("NFKC", value).strip().casefold()
        if word in _TRUE_WORDS:
            return TRUE_MARK
        if word in _FALSE_WORDS:
            return FALSE_MARK
        return None

    def validate(self, spec: Mapping[str, Any]) -> Spec:
        spec = _as_spec(spec, {"key", "analysis"})
        key = self._mark(spec.get("key"))
        if key is None:
            raise _fail("判断题的答案必须是 √ 或 ×。", "key")
        return {"key": key, **self._analysis(spec)}

    def score(self, spec: Mapping[str, Any], response: object, points: float) -> float | None:
        _check_points(points)
        return float(points) if self._mark(response) == spec["key"] else 0.0

    def public_view(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {"type": self.code, "choices": [TRUE_MARK, FALSE_MARK]}

    def clean_response(self, spec: Mapping[str, Any], response: object) -> Any:
        if _is_blank(response):
            return None
        mark = self._mark(response)
        if mark is None:
            raise _fail("判断题只能回答 √ 或 ×。", "response")
        return mark


class FillIn(ItemType):
    """填空题: one or more blanks, each with its accepted answers; auto-scored.

    Spec::

        {"blanks": [{"answers": ["欧姆定律"]},
                    {"answers": ["220", "220V", "220 V"]}],
         "any_order": false,            # optional: blanks may be answered in any order
         "analysis": "..."}             # optional

    Answers are plain text (not HTML), at most 200 characters; duplicates after
    :func:`normalise_answer` are dropped. The stem marks the blanks (e.g. with
    ``<span class="blank"></span>``) in the same order.

    Response: a list of strings, one per blank (``""`` for an empty blank); a bare string
    is accepted for a one-blank item. Each blank is worth ``points / len(blanks)``; a blank
    is right when its normalised response equals a normalised accepted answer. With
    ``any_order`` responses are matched to blanks one to one (maximum matching).
    Public view: ``{"type", "blank_count"}``.
    """

    code = "fill_in"
    label = "填空题"
    auto_scored = True

    def validate(self, spec: Mapping[str, Any]) -> Spec:
        spec = _as_spec(spec, {"blanks", "any_order", "analysis"})
        raw = spec.get("blanks")
        if not isinstance(raw, list | tuple) or not raw:
            raise _fail("填空题至少要有一个空。", "blanks")
        if len(raw) > MAX_BLANKS:
            raise _fail(f"填空题最多 {MAX_BLANKS} 个空。", "blanks")
        blanks: list[dict[str, list[str]]] = []
        for i, blank in enumerate(raw, start=1):
            field = f"blanks[{i - 1}].answers"
            if isinstance(blank, Mapping) and set(blank) <= {"answers"}:
                answers = blank.get("answers")
            else:
                raise _fail(f"第 {i} 个空的格式不正确。", f"blanks[{i - 1}]")
            if isinstance(answers, str):
                answers = [answers]
            if not isinstance(answers, list | tuple) or not answers:
                raise _fail(f"第 {i} 个空至少要有一个参考答案。", field)
            if len(answers) > MAX_ANSWERS_PER_BLANK:
                raise _fail(f"第 {i} 个空最多 {MAX_ANSWERS_PER_BLANK} 个参考答案。", field)
            kept: list[str] = []
            seen: set[str] = set()
            for answer in answers:
                if not isinstance(answer, str | int | float) or isinstance(answer, bool):
                    raise _fail(f"第 {i} 个空的答案格式不正确。", field)
                answer = str(answer).strip()
                norm = normalise_answer(answer)
                if not norm:
                    raise _fail(f"第 {i} 个空的答案不能为空。", field)
                if len(answer) > MAX_ANSWER_LENGTH:
                    raise _fail(f"第 {i} 个空的答案过长（最多 {MAX_ANSWER_LENGTH} 个字符）。", field)
                if norm not in seen:
                    seen.add(norm)
                    kept.append(answer)
            blanks.append({"answers": kept})
        any_order = spec.get("any_order", False)
        if not isinstance(any_order, bool):
            raise _fail("“答案可不按顺序”必须是是或否。", "any_order")
        return {"blanks": blanks, "any_order": any_order, **self._analysis(spec)}

    @staticmethod
    def _responses(response: object, n: int) -> list[str] | None:
        if isinstance(response, str):
            response = [response]
        if not isinstance(response, list | tuple) or len(response) > n:
            return None
        out: list[str] = []
        for r in response:
            if r is None:
                r = ""
            if not isinstance(r, str):
                return None
            out.append(r)
        return out + [""] * (n - len(out))

    def score(self, spec: Mapping[str, Any], response: object, points: float) -> float | None:
        _check_points(points)
        accepted = [{normalise_answer(a) for a in b["answers"]} for b in spec["blanks"]]
        given = self._responses(response, len(accepted))
        if given is None:
            return 0.0
        norm = [normalise_answer(r) for r in given]
        if spec.get("any_order"):
            right = _max_matching([[bool(r) and r in acc for acc in accepted] for r in norm])
        else:
            right = sum(1 for r, acc in zip(norm, accepted, strict=True) if r and r in acc)
        return float(points) * right / len(accepted)

    def public_view(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {"type": self.code, "blank_count": len(spec.get("blanks", ()))}

    def clean_response(self, spec: Mapping[str, Any], response: object) -> Any:
        if _is_blank(response):
            return None
        given = self._responses(response, len(spec["blanks"]))
        if given is None:
            raise _fail("作答格式不正确。", "response")
        if any(len(r) > MAX_ANSWER_LENGTH for r in given):
            raise _fail(f"每个空的作答最多 {MAX_ANSWER_LENGTH} 个字符。", "response")
        return [r.strip() for r in given]


def _max_matching(edges: list[list[bool]]) -> int:
    """Size of a maximum matching; ``edges[i][j]`` says response i fits blank j (Kuhn)."""
    match_of_blank: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for j, ok in enumerate(edges[i]):
            if ok and j not in seen:
                seen.add(j)
                if j not in match_of_blank or augment(match_of_blank[j], seen):
                    match_of_blank[j] = i
                    return True
        return False

    return sum(1 for i in range(len(edges)) if augment(i, set()))


class ExaminerScored(ItemType):
    """Base of the types an examiner scores (阅卷): ``score`` returns ``None``.

    Spec::

        {"reference_answer": "<p>...</p>",                 # 参考答案, HTML
         "scoring_points": [{"html": "答出……", "points": 2}, ...],   # 评分要点, >= 1
         "max_length": 2000,                                # optional response limit
         "analysis": "..."}                                 # optional

    A scoring point's ``points`` are the marks the item's own scale gives it (their sum is
    the item's natural total); the grading layer rescales to the paper's points if they
    differ. A blank response scores 0 without an examiner. Response: plain text, at most
    ``max_length`` characters. Public view: ``{"type", "max_length"}``.
    """

    auto_scored = False
    default_max_length: ClassVar[int] = 2000

    def validate(self, spec: Mapping[str, Any]) -> Spec:
        spec = _as_spec(spec, {"reference_answer", "scoring_points", "max_length", "analysis"})
        reference = _html(spec.get("reference_answer"), "参考答案", "reference_answer")
        raw = spec.get("scoring_points")
        if not isinstance(raw, list | tuple) or not raw:
            raise _fail("至少要有一个评分要点。", "scoring_points")
        if len(raw) > MAX_SCORING_POINTS:
            raise _fail(f"评分要点最多 {MAX_SCORING_POINTS} 个。", "scoring_points")
        points: list[dict[str, Any]] = []
        for i, item in enumerate(raw, start=1):
            field = f"scoring_points[{i - 1}]"
            if not isinstance(item, Mapping) or set(item) - {"html", "points"}:
                raise _fail(f"第 {i} 个评分要点的格式不正确。", field)
            html = _html(item.get("html"), f"第 {i} 个评分要点", f"{field}.html")
            value = _number(item.get("points"), f"第 {i} 个评分要点的分值", f"{field}.points")
            if not 0 < value <= 100:
                raise _fail(f"第 {i} 个评分要点的分值必须大于 0 且不超过 100。", f"{field}.points")
            points.append({"html": html, "points": value})
        max_length = spec.get("max_length", self.default_max_length)
        if type(max_length) is not int or not 1 <= max_length <= MAX_RESPONSE_LENGTH:
            raise _fail(f"作答字数上限必须是 1 到 {MAX_RESPONSE_LENGTH} 之间的整数。", "max_length")
        return {
            "reference_answer": reference,
            "scoring_points": points,
            "max_length": max_length,
            **self._analysis(spec),
        }

    def score(self, spec: Mapping[str, Any], response: object, points: float) -> float | None:
        _check_points(points)
        return 0.0 if _is_blank(response) else None

    def public_view(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {"type": self.code, "max_length": int(spec.get("max_length", self.default_max_length))}

    def clean_response(self, spec: Mapping[str, Any], response: object) -> Any:
        if _is_blank(response):
            return None
        if not isinstance(response, str):
            raise _fail("作答格式不正确。", "response")
        limit = int(spec.get("max_length", self.default_max_length))
        if len(response) > limit:
            raise _fail(f"作答内容过长（最多 {limit} 个字符）。", "response")
        return response


class ShortAnswer(ExaminerScored):
    """简答题. See :class:`ExaminerScored` for the spec."""

    code = "short_answer"
    label = "简答题"


class Calculation(ExaminerScored):
    """计算题. See :class:`ExaminerScored` for the spec."""

    code = "calculation"
    label = "计算题"


class Essay(ExaminerScored):
    """论述题. See :class:`ExaminerScored` for the spec; longer default response limit."""

    code = "essay"
    label = "论述题"
    default_max_length = 5000


def _registry(types: Sequence[ItemType]) -> dict[str, ItemType]:
    return {t.code: t for t in types}


ITEM_TYPES: dict[str, ItemType] = _registry(
    [SingleChoice(), MultipleChoice(), TrueFalse(), FillIn(), ShortAnswer(), Calculation(), Essay()]
)
"""Item types by code, in the order papers list them. Add one with :func:`register_type`."""


def register_type(kind: ItemType) -> ItemType:
    """Add ``kind`` to :data:`ITEM_TYPES` (after the built-in types); its code must be new and
    fit the item table's ``item_type`` column (16 characters). Returns ``kind``."""
    if not kind.code or len(kind.code) > 16 or kind.code in ITEM_TYPES:
        raise ValueError(f"item type code {kind.code!r} is empty, too long or already registered")
    ITEM_TYPES[kind.code] = kind
    return kind


def get_type(code: str) -> ItemType:
    """The item type registered under ``code``; ``ValidationError`` if there is none."""
    try:
        return ITEM_TYPES[code]
    except (KeyError, TypeError):
        raise ValidationError(f"不支持的题型：{code}。", field="type") from None
