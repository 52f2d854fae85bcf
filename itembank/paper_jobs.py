"""Paper assembly as a background job (:mod:`foundation.jobs`, issue 16 point 7): the builder
page and ``POST /api/v1/papers`` check the request's cheap parts at once
(:func:`itembank.papers.check_paper_request`) and queue ``paper.assemble``; the worker builds
the pool and solves the MILP, which took seconds of CPU from the serving process before.

Two transactions, as the response-set import: the plan (pool, solve) is read, the read
transaction ends, then the paper is written in one short write transaction (BEGIN IMMEDIATE on
SQLite, where a transaction that read before another connection wrote could not write). The
store refuses items changed or retired in between. The ``paper.assemble`` audit entry is
written by the store, as the job's starter. The result carries the paper's id for the page's
link and the API's ``paper_id``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from foundation.accounts import User
from foundation.db import immediate_transactions
from foundation.errors import PermissionDenied, ValidationError
from foundation.jobs import Job, Outcome, ProgressFn, register
from itembank.papers import Section, plan_paper, store_paper

ASSEMBLE = "paper.assemble"


def assembly_params(*, institution_id: int, blueprint_id: int, name: str, mode: str, sections: list[Section],
                    n_forms: int = 1, duration_minutes: int = 120, cut_theta: float = 0.0,
                    tif_tolerance: float | None = None, fixed_codes: list[list[str]] | None = None,
                    scale_to_100: bool = False) -> dict[str, Any]:
    """The job's JSON parameters from :func:`itembank.papers.assemble_paper`'s arguments."""
    return {
        "institution_id": institution_id, "blueprint_id": blueprint_id, "name": name, "mode": mode,
        "sections": [{"type": s.item_type, "count": s.count, "points": s.points} for s in sections],
        "n_forms": n_forms, "duration_minutes": duration_minutes, "cut_theta": cut_theta,
        "tif_tolerance": tif_tolerance, "fixed_codes": fixed_codes, "scale_to_100": scale_to_100,
    }


def _arguments(params: dict[str, Any]) -> dict[str, Any]:
    try:
        sections = [Section(str(s["type"]), int(s["count"]), float(s["points"])) for s in params["sections"]]
        tolerance = params.get("tif_tolerance")
        fixed = params.get("fixed_codes")
        return {
            "institution_id": int(params["institution_id"]), "blueprint_id": int(params["blueprint_id"]),
            "name": str(params["name"]), "mode": str(params["mode"]), "sections": sections,
            "n_forms": int(params.get("n_forms", 1)), "duration_minutes": int(params.get("duration_minutes", 120)),
            "cut_theta": float(params.get("cut_theta", 0.0)),
            "tif_tolerance": None if tolerance is None else float(tolerance),
            "fixed_codes": None if fixed is None else [[str(c) for c in form] for form in fixed],
            "scale_to_100": bool(params.get("scale_to_100", False)),
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError("组卷任务的参数无效。") from exc


@register(ASSEMBLE, "组卷")
def run_assemble(session: Session, job: Job, params: dict[str, Any], progress: ProgressFn) -> Outcome:
    """params: :func:`assembly_params`. Writes the paper as the job's starter."""
    arguments = _arguments(params)
    # Reported before the job's transaction reads anything (SQLite: a transaction that read
    # before another connection's write could not write afterwards).
    progress(5, "正在读取题库并组卷")
    actor = session.get(User, job.user_id) if job.user_id is not None else None
    if actor is None or not actor.active:
        raise PermissionDenied("发起任务的账号已不可用。")
    plan = plan_paper(session, actor, **arguments)
    session.commit()  # the long read ends before the write
    progress(90, "正在保存试卷")
    with immediate_transactions(session):  # SQLite: the write lock at once (no-op elsewhere)
        paper = store_paper(session, actor, plan)
        paper_id, forms = paper.id, len(plan.chosen)
    return Outcome({
        "paper_id": paper_id, "forms": forms,
        "message": f"组卷完成：{plan.name}，共 {forms} 套。请核对细目表覆盖与信息曲线后提交审核。",
    })
