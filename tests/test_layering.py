"""The shape of the code: the cores never import Flask; packages import downward only
(web → grading → examroom → itembank → foundation); inside foundation no module cycle; and the
cores import at module top, so a dependency is visible where a reader looks for it. The tests
mirror the packages and share their setup through fixtures modules (``tests/*/worlds.py`` and the
like): no file under tests/ imports a test module, not even in a script it runs in a child process.

The import rules read the source (``ast``), so a planted import fails the test without running
anything; the Flask rule imports every core module in a fresh interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Highest first: a package may import itself and those after it, never those before it.
ORDER = ["web", "grading", "examroom", "itembank", "foundation"]
CORES = ORDER[1:]
#: Imports that may stay inside a function in the cores, and why.
LAZY_ALLOWED = {
    "zxcvbn": "about 1 s and 66 MB on first load; only a password change needs it",
    "zxcvbn.matching": "as zxcvbn",
    "pypinyin": "its dictionaries are large; only a password check needs them",
    "openpyxl": "imported in the parse child only, so a refused file never pays for it",
    "resource": "POSIX-only limits set in the parse child",
    "girth": "the reference peer for calibration, needed only when a cross-check is asked for",
}


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, *, runtime_top_only: bool = False) -> Iterator[tuple[ast.stmt, str, bool]]:
    """(node, imported module, inside a function) for every import; with ``runtime_top_only``
    only the module-level imports that run at import time (not under ``if TYPE_CHECKING``)."""

    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.stmt, str, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child) and runtime_top_only:
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield child, alias.name, in_function
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                yield child, child.module, in_function
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if runtime_top_only and inner:
                continue
            yield from walk(child, inner)

    yield from walk(tree, False)


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def upward_imports(package: str, source: str, path: str = "<planted>") -> list[str]:
    """Imports in ``source`` (a module of ``package``) of a package above it."""
    higher = ORDER[: ORDER.index(package)]
    return [f"{path}:{node.lineno} imports {name}" for node, name, _ in _imports(ast.parse(source))
            if name.split(".")[0] in higher]


def function_imports(source: str, path: str = "<planted>") -> list[str]:
    """Imports inside functions in ``source`` that are not on the allow-list."""
    return [f"{path}:{node.lineno} imports {name} inside a function"
            for node, name, inside in _imports(ast.parse(source))
            if inside and name not in LAZY_ALLOWED and name.split(".")[0] not in LAZY_ALLOWED]


def foundation_cycles() -> list[list[str]]:
    """Cycles among foundation's modules through the imports that run at import time."""
    graph: dict[str, set[str]] = {}
    for path in _modules("foundation"):
        name = _module_name(path)
        edges = graph.setdefault(name, set())
        for node, module, _ in _imports(_tree(path), runtime_top_only=True):
            targets = [module]
            if isinstance(node, ast.ImportFrom):  # ``from foundation import audit`` names a module
                targets += [f"{module}.{a.name}" for a in node.names]
            edges.update(t for t in targets if t.startswith("foundation") and t != name)
    known = set(graph)
    for name in graph:
        graph[name] = {t for t in graph[name] if t in known}
        # importing foundation.x.y runs foundation.x first, unless the importer is inside foundation.x
        # (then foundation.x is already running: the usual package layout, not a cycle)
        graph[name] |= {p for t in graph[name] for p in _parents(t)
                        if p in known and p != name and not name.startswith(p + ".")}
    cycles, state, stack = [], dict.fromkeys(graph, 0), []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state[nxt] == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif state[nxt] == 0:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if state[node] == 0:
            visit(node)
    return cycles


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:k]) for k in range(1, len(parts))]


@pytest.mark.slow
@pytest.mark.parametrize("package", CORES)
def test_core_does_not_import_flask(package):
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n == 'flask' or n.startswith(('flask.', 'flask_')))\n"
        "assert not bad, bad\n"
        "print('ok', len(sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")


@pytest.mark.slow
@pytest.mark.parametrize("package", CORES)
def test_packages_import_downward_only(package):
    found = [p for path in _modules(package)
             for p in upward_imports(package, path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert found == []


@pytest.mark.parametrize("package", CORES)
def test_cores_import_at_module_top(package):
    found = [p for path in _modules(package)
             for p in function_imports(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert found == []


def _is_test_module(module: str) -> bool:
    return module.split(".")[-1].startswith("test_")


def test_module_imports(source: str, path: str = "<planted>") -> list[str]:
    """Test modules imported by ``source`` (also by Python code in its string literals, such as
    the scripts that tests/e2e runs in child processes)."""
    found = []
    for node in ast.walk(ast.parse(source, path)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if any(_is_test_module(p) for p in a.name.split("."))]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if any(_is_test_module(p) for p in module.split(".")):
                found.append(module)
            elif module.startswith("tests") or node.level:
                found += [f"{module}.{a.name}" for a in node.names if _is_test_module(a.name)]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "import" in node.value:
            try:
                found += test_module_imports(node.value, path)
            except SyntaxError:  # prose, not code
                pass
    return found


test_module_imports.__test__ = False  # a helper, not a test


def test_no_test_module_imports_another():
    """Shared setup lives in fixtures modules; importing a test module would also collect its
    tests twice under another name and tie one test file's helpers to another's."""
    offenders = {}
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if path.name == "test_layering.py":  # its planted examples below
            continue
        found = test_module_imports(path.read_text(encoding="utf-8"), str(path))
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}


@pytest.mark.parametrize(("planted", "caught"), [
    ("from tests.examroom.test_attempts import Exam\n", True),
    ("from tests.examroom import test_attempts as ta\n", True),
    ("import tests.web.test_proctor_console\n", True),
    ("from .test_papers import Bank\n", True),
    ("def f():\n    from tests.test_access_matrix import EXPECTED\n", True),
    ('SCRIPT = """\nfrom tests.examroom.test_batches import World\n"""\n', True),
    ("from tests.examroom.worlds import Exam\nfrom tests import factories\n", False),
    ('NOTE = "see tests.examroom.test_attempts; import nothing"\n', False),
])
def test_a_planted_test_module_import_is_caught(planted, caught):
    assert bool(test_module_imports(planted)) is caught


def test_foundation_has_no_import_cycle():
    assert foundation_cycles() == []


@pytest.mark.parametrize(("package", "planted", "caught"), [
    ("itembank", "from examroom.models import Attempt\n", True),
    ("examroom", "import grading.psychometrics.irt\n", True),
    ("foundation", "from itembank import items\n", True),
    ("grading", "from web.extensions import db\n", True),
    ("foundation", "if TYPE_CHECKING:\n    from examroom.models import Room\n", True),
    ("grading", "from examroom.models import Attempt\nfrom foundation.db import Base\n", False),
])
def test_a_planted_upward_import_is_caught(package, planted, caught):
    assert bool(upward_imports(package, planted)) is caught


@pytest.mark.parametrize(("planted", "caught"), [
    ("def f():\n    from foundation import audit\n", True),
    ("class C:\n    def m(self):\n        import json\n", True),
    ("def f():\n    if True:\n        from foundation.errors import NotFound\n", True),
    ("def f():\n    import openpyxl\n", False),
    ("from foundation import audit\n", False),
    ("if TYPE_CHECKING:\n    from foundation.accounts import User\n", False),
])
def test_a_planted_function_import_is_caught(planted, caught):
    assert bool(function_imports(planted)) is caught


def test_a_planted_foundation_cycle_is_caught(tmp_path, monkeypatch):
    """Copy foundation, add ``levels → accounts`` (accounts already reaches levels), and look."""
    import shutil

    shutil.copytree(ROOT / "foundation", tmp_path / "foundation")
    levels = tmp_path / "foundation" / "levels.py"
    levels.write_text(levels.read_text(encoding="utf-8") + "\nfrom foundation.accounts import User\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert any("foundation.levels" in cycle for cycle in foundation_cycles())


@pytest.mark.slow
@pytest.mark.parametrize("module", [f"grading.psychometrics.{m}" for m in ("em", "irt", "grm", "report_stats")])
def test_numeric_modules_need_no_database(module):
    """The psychometrics and the reports' statistics run on arrays alone: importing them loads
    neither SQLAlchemy nor Flask (their loaders live elsewhere, e.g. grading.psychometrics.reports)."""
    code = (
        "import importlib, sys\n"
        f"importlib.import_module({module!r})\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('sqlalchemy', 'flask'))\n"
        "assert not bad, bad[:5]\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_models_share_one_base_with_flask_sqlalchemy(app):
    from foundation.db import Base
    from web.extensions import db

    assert db.metadata is Base.metadata
    assert {"user_account", "institution", "occupation", "audit_entry", "calendar_day"} <= set(Base.metadata.tables)
