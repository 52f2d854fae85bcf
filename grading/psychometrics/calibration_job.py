"""Calibration runs as background jobs (:mod:`foundation.jobs`): the analysis pages queue a
``calibration.run`` job for a queued run and the job worker executes it, instead of a detached
``flask grading run`` process per run. The run row keeps its own status, progress and message
(the run page shows them); the job is only the executor.

Commit protocol as in ``flask grading run``: each progress checkpoint of
:func:`~grading.psychometrics.calibration.execute_run` commits the job's session, so the run
advances visibly and a busy database retries from the last checkpoint. A run that fails is
recorded failed on the run (:func:`fail_run_after`) and fails the job with the same message.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from foundation.errors import DomainError
from foundation.jobs import Job, Outcome, ProgressFn, register
from grading.psychometrics.calibration import execute_run, fail_run_after

RUN = "calibration.run"
log = logging.getLogger(__name__)


class RunFailed(DomainError):
    """The run failed; its message is already recorded on the run."""


@register(RUN, "参数标定")
def run_calibration(session: Session, job: Job, params: dict[str, Any], progress: ProgressFn) -> Outcome:
    """params: ``run_id`` (a queued calibration run)."""
    run_id = int(params["run_id"])

    def checkpoint(percent: int, stage: str) -> None:
        session.commit()
        progress(percent, stage)

    try:
        run = execute_run(session, run_id, progress=checkpoint)
    except DomainError:
        raise
    except Exception as exc:
        session.rollback()
        log.exception("calibration run %s failed", run_id)
        message = fail_run_after(session, run_id, exc)
        session.commit()
        raise RunFailed(message) from exc
    if run.status == "failed":
        message = run.message
        session.commit()
        raise RunFailed(message)
    return Outcome({"run_id": run.id, "message": run.message})
