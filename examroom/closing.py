"""Work that follows an attempt's closing (收卷之后), registered by higher layers.

An attempt closes in examroom (the candidate submits, the time-up job collects it, a proctor
terminates it), but what a closed attempt becomes — the theory component result of the
registration — belongs to grading, which examroom may not import. Grading registers a hook
here (like :func:`foundation.occupations.register_level_range_check`), and
:func:`examroom.attempts.apply_transition` runs the hooks once, on the transition into a
final status, in the closing transaction.

A hook must never cost the close: each runs in its own SAVEPOINT, and one that raises is
rolled back alone and logged; the attempt stays closed. Hooks should be cheap (the time-up job
closes whole rooms at once): one form's items, a few narrow statements.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from examroom.models import Attempt

__all__ = ["CloseHook", "register_close_hook", "run_close_hooks"]

log = logging.getLogger(__name__)

#: ``hook(session, attempt, now)``: the attempt has just closed (its row is locked).
CloseHook = Callable[[Session, Attempt, dt.datetime], None]
_CLOSE_HOOKS: list[CloseHook] = []


def register_close_hook(hook: CloseHook) -> CloseHook:
    """Add ``hook`` (once) to the work run when an attempt closes; usable as a decorator."""
    if hook not in _CLOSE_HOOKS:
        _CLOSE_HOOKS.append(hook)
    return hook


def run_close_hooks(session: Session, attempt: Attempt, now: dt.datetime) -> None:
    """Run every registered close hook, each in a SAVEPOINT; a failure is logged, not raised."""
    for hook in _CLOSE_HOOKS:
        try:
            with session.begin_nested():
                hook(session, attempt, now)
        except Exception:  # the close must stand whatever a hook does
            log.exception("close hook %s failed for attempt %s", getattr(hook, "__name__", hook), attempt.id)
