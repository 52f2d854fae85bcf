"""Skill scoring pages. The services (:mod:`grading.results.skill`) decide every rule; views
parse, call one service and render.

* 我的评分 (examiners): the skill sittings whose group they are in; the institution admin sees
  its institution's skill sittings, the centre all of them.
* 我的评分记录表 (examiners): every score sheet of their own, drafts and signed, across sittings.
* a sitting's board: candidates by station, how many have signed, the final score once all
  have; the chief reconciles and marks absences there.
* the score sheet (examiners, their own): saved as they type (JSON drafts with the page's
  revision counter; ``web/static/js/score_sheet.js`` keeps unsent drafts in localStorage while
  offline); signing is a normal form post.
* a signed sheet, for the group, the institution and the centre once all have signed.
* 考评员评分统计 (institution admin, centre): each group's examiners' mean deviation, ICC(2,1)
  and flags, with an ECharts chart.
"""

from __future__ import annotations

import json
from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from examroom.batches import sitting_when
from examroom.models import Batch, BatchModule, ExamSession, ModuleKind, SittingExaminer
from examroom.stations import chief_of, skill_sitting
from foundation.errors import DomainError
from foundation.roles import Role
from foundation.settings import get_rule
from grading.results import examiner_stats
from grading.results import skill as svc
from grading.results.models import ScoreSheet
from web.access import actor, roles_required
from web.actions import found, perform
from web.extensions import db
from web.skill import bp

C, IA, E = Role.CENTRE_ADMIN, Role.INSTITUTION_ADMIN, Role.EXAMINER


def _sittings_query() -> Any:
    me = actor()
    stmt = (select(ExamSession).join(BatchModule, BatchModule.id == ExamSession.module_id)
            .join(Batch, Batch.id == BatchModule.batch_id).where(BatchModule.kind == ModuleKind.SKILL.value))
    if me.role == E:
        stmt = stmt.where(ExamSession.id.in_(select(SittingExaminer.exam_session_id)
                                             .where(SittingExaminer.user_id == me.id)))
    elif me.role == IA:
        stmt = stmt.where(Batch.institution_id == me.institution_id)
    return stmt.order_by(ExamSession.starts_at.desc(), ExamSession.id.desc())


def _visible_sitting(sitting_id: int) -> tuple[Batch, ExamSession]:
    """The skill sitting if the actor is in its group, its institution's admin or the centre."""
    batch, sitting = found(lambda: skill_sitting(db.session, sitting_id))
    me = actor()
    if me.role == E and me.id in svc.group_ids(sitting):
        return batch, sitting
    if me.role != E and svc.may_oversee(me, batch):
        return batch, sitting
    abort(403)


@bp.get("/")
@roles_required(E, IA, C)
def index() -> str:
    page = db.paginate(_sittings_query(), per_page=current_app.config["PAGE_SIZE"], error_out=False)
    me = actor()
    rows = []
    for sitting in page.items:
        entries = svc.board(db.session, sitting)
        rows.append({"sitting": sitting, "batch": sitting.module.batch, "when": sitting_when(sitting),
                     "candidates": len(entries), "done": sum(1 for e in entries if e.result is not None
                                                            and e.result.state in ("scored", "absent")),
                     "chief": chief_of(sitting), "is_chief": svc.is_chief(sitting, me)})
    return render_template("skill/index.html", page=page, rows=rows)


@bp.get("/mine")
@roles_required(E)
def my_sheets() -> str:
    """我的评分记录表: the examiner's own score sheets across sittings, drafts and signed."""
    return render_template("skill/my_sheets.html", rows=svc.own_sheets(db.session, actor()), when=sitting_when)


@bp.get("/sittings/<int:sitting_id>")
@roles_required(E, IA, C)
def sitting(sitting_id: int) -> str:
    batch, sitting = _visible_sitting(sitting_id)
    me = actor()
    entries = svc.board(db.session, sitting)
    mine = {}
    if me.role == E:
        mine = {s.registration_id: s for s in db.session.scalars(select(ScoreSheet).where(
            ScoreSheet.exam_session_id == sitting.id, ScoreSheet.examiner_id == me.id))}
    readable = {e.registration.id: svc.may_read_sheets(db.session, me, sitting, batch, e.registration.id)
                for e in entries}
    sheets = {e.registration.id: svc.sheets_of(db.session, sitting, e.registration.id)
              for e in entries if readable[e.registration.id]}
    return render_template("skill/sitting.html", batch=batch, sitting=sitting, when=sitting_when(sitting),
                           entries=entries, mine=mine, readable=readable, sheets=sheets,
                           is_chief=svc.is_chief(sitting, me), chief=chief_of(sitting),
                           spread_limit=svc.spread_limit(db.session), task=sitting.skill_task)


@bp.get("/sittings/<int:sitting_id>/candidates/<int:registration_id>")
@roles_required(E)
def sheet(sitting_id: int, registration_id: int) -> str | Response:
    batch, sitting = _visible_sitting(sitting_id)
    sheet = perform(lambda: svc.open_sheet(db.session, actor(), sitting.id, registration_id),
                    back=url_for("skill.sitting", sitting_id=sitting.id))
    registration = next(c for c in batch.candidates if c.id == registration_id)
    station = svc.station_of(sitting, registration_id)
    return render_template("skill/sheet.html", batch=batch, sitting=sitting, when=sitting_when(sitting),
                           sheet=sheet, registration=registration, station=station, task=sitting.skill_task,
                           state=json.dumps({"marks": sheet.marks, "notes": sheet.notes, "comment": sheet.comment,
                                             "revision": sheet.revision}, ensure_ascii=False))


def _payload() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400)
    return data


@bp.post("/sheets/<int:sheet_id>/draft")
@roles_required(E)
def save_draft(sheet_id: int) -> tuple[Response, int]:
    data = _payload()
    marks, notes = data.get("marks", {}), data.get("notes", {})
    revision = data.get("revision")
    try:
        sheet, stored = svc.save_draft(db.session, actor(), sheet_id, marks=marks if isinstance(marks, dict) else {},
                                       notes=notes if isinstance(notes, dict) else {},
                                       comment=str(data.get("comment") or ""),
                                       revision=revision if isinstance(revision, int) else -1)
    except DomainError as exc:
        db.session.rollback()
        return jsonify({"error": exc.message, "field": exc.field, "status": exc.status}), exc.status
    db.session.commit()
    return jsonify({"saved": stored, "revision": sheet.revision,
                    "total": f"{sheet.total:f}" if sheet.total is not None else None}), 200


def _form_marks(sheet: ScoreSheet, sitting: ExamSession) -> tuple[dict[str, str], dict[str, str]]:
    task = sitting.skill_task
    marks, notes = {}, {}
    for criterion in task.criteria if task is not None else []:
        key = str(criterion.id)
        marks[key] = request.form.get(f"mark_{key}", "")
        notes[key] = request.form.get(f"note_{key}", "")
    return marks, notes


@bp.post("/sheets/<int:sheet_id>/sign")
@roles_required(E)
def sign(sheet_id: int) -> Response:
    row = db.session.get(ScoreSheet, sheet_id)
    if row is None or row.examiner_id != actor().id:
        abort(404)
    _batch, sitting = _visible_sitting(row.exam_session_id)
    marks, notes = _form_marks(row, sitting)
    back = url_for("skill.sheet", sitting_id=sitting.id, registration_id=row.registration_id)
    perform(lambda: svc.sign_sheet(db.session, actor(), row.id, marks=marks, notes=notes,
                                   comment=request.form.get("comment", "")),
            back=back, missing_is_404=False)
    flash("评分记录表已签名提交。", "success")
    return redirect(url_for("skill.sitting", sitting_id=sitting.id))


@bp.get("/sheets/<int:sheet_id>")
@roles_required(E, IA, C)
def view_sheet(sheet_id: int) -> str:
    row = found(lambda: svc.read_sheet(db.session, actor(), sheet_id), denied_is_403=True)
    batch, sitting = skill_sitting(db.session, row.exam_session_id)
    registration = next(c for c in batch.candidates if c.id == row.registration_id)
    return render_template("skill/view_sheet.html", sheet=row, batch=batch, sitting=sitting,
                           when=sitting_when(sitting), registration=registration, task=sitting.skill_task,
                           station=svc.station_of(sitting, row.registration_id))


@bp.post("/sittings/<int:sitting_id>/candidates/<int:registration_id>/reconcile")
@roles_required(E)
def reconcile(sitting_id: int, registration_id: int) -> Response:
    _batch, sitting = _visible_sitting(sitting_id)
    back = url_for("skill.sitting", sitting_id=sitting.id) + f"#candidate-{registration_id}"
    perform(lambda: svc.reconcile(db.session, actor(), sitting.id, registration_id,
                                  score=request.form.get("score", ""), reason=request.form.get("reason", "")),
            back=back, denied_is_403=True)
    flash("复核成绩已记录。", "success")
    return redirect(back)


@bp.post("/sittings/<int:sitting_id>/candidates/<int:registration_id>/absent")
@roles_required(E, IA)
def absent(sitting_id: int, registration_id: int) -> Response:
    _batch, sitting = _visible_sitting(sitting_id)
    back = url_for("skill.sitting", sitting_id=sitting.id)
    perform(lambda: svc.mark_absent(db.session, actor(), sitting.id, registration_id), back=back, denied_is_403=True)
    flash("已记为缺考。", "success")
    return redirect(back)


@bp.get("/statistics")
@roles_required(IA, C)
def statistics() -> str:
    page = db.paginate(_sittings_query(), per_page=10, error_out=False)
    raw = get_rule(db.session, "examiner_flags")
    rule = examiner_stats.FlagRule(float(raw["min_mean_deviation"]), float(raw["min_same_sign_share"]),
                                   int(raw["min_candidates"]))
    groups = []
    for sitting in page.items:
        examiners, _regs, matrix = svc.group_matrix(db.session, sitting)
        stats = examiner_stats.group_stats(matrix, rule)
        rows = [{"name": u.name, "stat": s} for u, s in zip(examiners, stats.examiners, strict=True)]
        groups.append({"sitting": sitting, "batch": sitting.module.batch, "when": sitting_when(sitting),
                       "stats": stats, "rows": rows,
                       "chart": json.dumps({"names": [r["name"] for r in rows],
                                            "deviation": [None if r["stat"].mean_deviation is None
                                                          else round(r["stat"].mean_deviation, 2) for r in rows]},
                                           ensure_ascii=False)})
    return render_template("skill/statistics.html", page=page, groups=groups, rule=rule,
                           flag_labels=examiner_stats.FLAG_LABELS)
