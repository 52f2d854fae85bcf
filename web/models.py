"""Every model of every core, imported once so the metadata is complete (for the app, Alembic
and the tests), and the modules that register grading's hooks into examroom (a closed attempt
becomes a theory result). It lives in ``web`` because only the top layer may import all the
cores."""

from __future__ import annotations

import examroom.models  # noqa: F401
import foundation.models  # noqa: F401
import grading.certificates.models  # noqa: F401
import grading.psychometrics.models  # noqa: F401
import grading.publicity.models  # noqa: F401
import grading.results.models  # noqa: F401
import grading.results.theory  # noqa: F401  (close hook: a closed attempt becomes a theory result)
import grading.results.violations  # noqa: F401  (violation hook: results follow violations)
import itembank.models  # noqa: F401
from foundation.db import Base

__all__ = ["Base"]
