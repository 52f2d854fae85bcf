"""``python -m grading.decide``: one case (JSON) on standard input, its level decision (JSON)
on standard output, so anyone can try a rule without a database (docs/decisions.md).

Exit status 0 with the decision; 2 when the input is not a valid case: standard output then
holds ``{"error": ..., "field": ...}`` and standard error the same message as plain text.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from foundation.errors import ValidationError
from grading.results.decision import decide
from grading.results.decision_json import dump_decision, parse_case

__all__ = ["main", "run"]

USAGE = "用法：python -m grading.decide < case.json（从标准输入读取一个 JSON 案例，向标准输出写出认定结论）"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"不支持的数值 {name}")


def run(text: str) -> dict[str, Any]:
    """Decide the case in ``text`` (a JSON document); raises ValidationError on bad input."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise ValidationError(f"输入不是有效的 JSON：{exc}", field="$") from None
    case, today = parse_case(value)
    return dump_decision(decide(case, today))


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    if args:
        print(USAGE, file=stderr)
        return 0 if args in (["-h"], ["--help"]) else 2
    try:
        decision = run(stdin.read())
    except ValidationError as exc:
        json.dump({"error": exc.message, "field": exc.field}, stdout, ensure_ascii=False)
        stdout.write("\n")
        print(exc.message, file=stderr)
        return 2
    json.dump(decision, stdout, ensure_ascii=False, indent=2)
    stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
