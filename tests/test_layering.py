"""The cores never import Flask; the web layer builds on them."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("package", ["foundation", "itembank", "examroom", "grading"])
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


@pytest.mark.parametrize("module", ["grading.em", "grading.irt", "grading.grm", "grading.report_stats"])
def test_numeric_modules_need_no_database(module):
    """The psychometrics and the reports' statistics run on arrays alone: importing them loads
    neither SQLAlchemy nor Flask (their loaders live elsewhere, e.g. grading.reports)."""
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
