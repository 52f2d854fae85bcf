"""Who may use which route: the design checked by tests/test_access_matrix.py and used by the
fuzzers of tests/web (fixtures only, no tests).

EXPECTED is the design. A route missing from it fails the suite, so a new page cannot ship
without someone deciding who may use it.
"""

from __future__ import annotations

from foundation.roles import Role

PUBLIC = "public"


C, IA, QW, IR, P, E, S, CA = (
    "centre_admin", "institution_admin", "question_writer", "item_reviewer",
    "proctor", "examiner", "supervisor", "candidate",
)
STAFF = {C, IA, QW, IR, P, E, S}
EVERYONE = STAFF | {CA}


EXPECTED: dict[str, set[str] | str] = {
    "main.index": PUBLIC,
    "main.healthz": PUBLIC,
    "main.favicon": PUBLIC,
    "socketio_transport": PUBLIC,  # only makes Socket.IO events' paths match; always 404
    "main.home": EVERYONE,
    "auth.login": PUBLIC,
    "auth.login_staff": PUBLIC,
    "auth.login_candidate": PUBLIC,
    "auth.logout": PUBLIC,
    "auth.change_password": STAFF,
    "users.index": {C, IA},
    "users.new": {C, IA},
    "users.edit": {C, IA},
    "users.toggle_active": {C, IA},
    "users.add_assignment": {C, IA},  # reviewers: centre only; writers: own admin (test_bank_access_pages)
    "users.remove_assignment": {C, IA},
    "institutions.index": {C},
    "institutions.new": {C},
    "institutions.detail": {C},
    "institutions.edit": {C},
    "institutions.advance": {C},
    "institutions.add_scope": {C},
    "institutions.remove_scope": {C},
    "institutions.mine": {IA},
    "occupations.index": STAFF,
    "occupations.detail": STAFF,
    "occupations.export": STAFF,
    "occupations.new": {C},
    "occupations.edit": {C},
    "occupations.import_xlsx": {C},
    "occupations.template": {C},
    "occupations.toggle_active": {C},
    "calendar.index": {C, IA},
    "calendar.save_day": {C},
    "calendar.delete_day": {C},
    "rules.index": {C},
    "schemes.index": {C},
    "schemes.edit": {C},
    "schemes.delete": {C},
    "holds.index": {C},
    "holds.release": {C},
    "marking.index": {E},
    "marking.queue": {E},  # a marker of that sitting only (object level: tests/grading/test_theory_marking.py)
    "marking.response": {E},  # an answer in the marker's queue or marked by them
    "marking.correct": {E},  # the marker's own mark only (tests/grading/test_mark_corrections.py)
    "marking.markers": {IA},  # the admin of the batch's institution
    "marking.add_marker": {IA},
    "marking.remove_marker": {IA},
    "audit.index": {C},
    "audit.verify": {C},
    "audit.verify_run": {C},
    "jobs.show": STAFF,  # a job is readable by its starter (object level: tests/web/test_jobs_pages.py)
    "jobs.status": STAFF,
    "jobs.download_result": STAFF,
    "public.institutions": PUBLIC,
    "public.institution_detail": PUBLIC,
    "bank.blueprints": {C, QW, IR},
    "bank.blueprint_new": {C, IR},
    "bank.blueprint_detail": {C, QW, IR},
    "bank.blueprint_edit": {C, IR},
    "bank.blueprint_import": {C, IR},
    "bank.blueprint_export": {C, QW, IR},
    "bank.blueprint_template": {C, QW, IR},
    "bank.items": {C, QW, IR},
    "bank.item_new": {QW},
    "bank.item_detail": {C, QW, IR},
    "bank.item_edit": {QW},
    "bank.item_action": {C, QW, IR},
    "bank.item_preview": {QW, IR},
    "bank.review_queue": {IR},
    "bank.items_import": {QW},
    "bank.items_template": {C, QW, IR},
    "bank.items_export": {C, QW, IR},
    "bank.image": EVERYONE,  # candidates see item images during exams
    "bank.image_upload": {QW, IR},
    "bank.papers": {C, IA, IR},
    "bank.paper_new": {C, IA},
    "bank.paper_detail": {C, IA, IR},
    "bank.paper_curves": {C, IA, IR},
    "bank.paper_action": {C, IA, IR},
    "bank.skill_tasks": {C, IA, QW, IR},
    "bank.skill_task_new": {QW},
    "bank.skill_task_detail": {C, IA, QW, IR},
    "bank.skill_task_edit": {QW},
    "bank.skill_task_action": {C, QW, IR},
    "bank.skill_task_print": {C, IA, QW, IR},
    "bank.enemy_sets": {C, QW, IR},
    "bank.enemy_set_new": {C, IR},
    "bank.enemy_set_action": {C, IR},
    "analysis.runs": {C, IR},
    "analysis.response_set_new": {C, IR},
    "analysis.run_new": {C, IR},
    "analysis.run_detail": {C, IR},
    "analysis.run_status": {C, IR},
    "analysis.item_report": {C, IR},
    "analysis.item_report_data": {C, IR},
    "analysis.item_report_xlsx": {C, IR},
    "analysis.paper_report": {C, IR},
    "analysis.paper_report_data": {C, IR},
    "analysis.paper_report_xlsx": {C, IR},
    "analysis.dif_report": {C, IR},
    "analysis.dif_report_data": {C, IR},
    "analysis.dif_report_xlsx": {C, IR},
    "api.list_enemy_sets": {C, QW, IR},
    "api.create_enemy_set": {C, IR},
    "api.delete_enemy_set": {C, IR},
    "api.list_blueprints": {C, QW, IR},
    "api.get_blueprint": {C, QW, IR},
    "api.create_blueprint": {C, IR},
    "api.replace_blueprint_nodes": {C, IR},
    "api.blueprint_coverage": {C, QW, IR},
    "api.list_items": {C, QW, IR},
    "api.get_item": {C, QW, IR},
    "api.list_item_versions": {C, QW, IR},
    "api.get_item_version": {C, QW, IR},
    "api.create_item": {QW},
    "api.revise_item": {QW},
    "api.transition_item": {C, QW, IR},
    "api.item_duplicates": {C, QW, IR},
    "api.list_papers": {C, IA, IR},
    "api.get_paper": {C, IA, IR},
    "api.paper_curves": {C, IA, IR},
    "api.paper_coverage": {C, IA, IR},
    "api.create_paper": {C, IA},
    "api.transition_paper": {C, IA, IR},
    "api.delete_paper": {C, IA},
    "api.get_job": STAFF,  # a job is readable by its starter (object level: tests/web/test_api_papers.py)
    # Batches (认定批次) and admission tickets (准考证).
    "batches.index": {C, IA},
    "batches.new": {IA},
    "batches.edit": {IA},
    "batches.detail": {C, IA},
    "batches.add_session": {IA},
    "batches.add_room": {IA},
    "batches.add_staff": {IA},
    "batches.remove_staff": {IA},  # never a dispatched supervisor (tests/web/test_supervision_pages.py)
    "batches.dispatch_supervisor": {C},
    "batches.withdraw_supervisor": {C},
    "batches.add_candidate": {IA},
    "batches.add_sitting_examiner": {IA},
    "batches.remove_sitting_examiner": {IA},
    "batches.set_sitting_candidates": {IA},
    "batches.set_sitting_task": {IA},
    "batches.assign_stations": {IA},
    "batches.set_chief_examiner": {IA},
    "batches.add_panel_member": {IA},
    "batches.remove_panel_member": {IA},
    "batches.registration_method": {IA},  # own institution's batch only (tests/web/test_registration_method.py)
    "batches.registrations_method": {IA},
    "batches.import_candidates": {IA},
    "batches.candidates_template": {IA},
    "batches.seat": {IA},
    "batches.file": {IA},
    "batches.decide": {C},
    "batches.session_tickets": {C, IA},
    "batches.candidate_ticket": {C, IA},
    "batches.my_tickets": {CA},
    "batches.my_ticket_pdf": {CA},
    # Skill scoring (操作技能考核评分): examiners of the group; the institution and the centre read.
    "skill.index": {E, IA, C},
    "skill.sitting": {E, IA, C},
    "skill.sheet": {E},
    "skill.my_sheets": {E},  # the examiner's own sheets only
    "skill.save_draft": {E},
    "skill.sign": {E},
    "skill.view_sheet": {E, IA, C},  # object level: tests/web/test_skill_pages.py
    "skill.reconcile": {E},
    "skill.absent": {E, IA},
    "skill.statistics": {IA, C},
    # The candidate's exam pages (我的考试, the exam page shell).
    "exam.index": {CA},
    "exam.enter": {CA},
    "exam.page": {CA},
    "exam.api_attempts": {CA},
    # Proctor console (监考) and supervision (督考).
    "proctor.index": {P},
    "proctor.console": {P},
    "proctor.record": {P, S, C},  # the centre reads every room record
    "proctor.record_download": {P, S, C},
    "proctor.sign": {P},
    "supervise.index": {S},
    "supervise.console": {S},
    "supervise.report": {S},
    "supervise.report_download": {S},
    # Work-performance dossiers and panels (业绩材料、评审专家组): objects are checked in
    # grading.results (tests/web/test_review_pages.py).
    "reviews.index": {E},
    "reviews.batch": {C, IA, E},
    "reviews.dossier": {C, IA, E},
    "reviews.save_dossier": {IA},
    "reviews.upload": {IA},
    "reviews.attachment": {C, IA, E},
    "reviews.remove_attachment": {IA},
    "reviews.review": {C, IA, E},
    "reviews.score": {E},
    "reviews.minutes": {E},
    "reviews.finalise": {E},
    "reviews.criteria": {C},
    # Competitions (竞赛选拔): the centre's.
    "competitions.index": {C},
    "competitions.new": {C},
    "competitions.edit": {C},
    "competitions.detail": {C},
    "competitions.import_results": {C},
    "competitions.template": {C},
    "competitions.rules": {C},
    "competitions.delete_rule": {C},
    # The centre's oversight: every room record and supervision report, read-only.
    "oversight.rooms": {C},
    "oversight.reports": {C},
    "oversight.report": {C},
    "oversight.report_download": {C},
    # Photos: the route answers only the person, their institution's admin, proctors of a room
    # they are seated in and the centre (object level: tests/web/test_photo_pages.py).
    "photos.person_photo": EVERYONE,
    "photos.my_photo": {CA},
    "photos.upload_for_person": {IA},
    "photos.import_zip": {IA},
    # Certificates (证书) and public verification (证书查询).
    "certificates.index": {C, IA},
    "certificates.batch": {C, IA},
    "certificates.issue": {IA},
    "certificates.register": {C, IA},
    "certificates.detail": {C, IA},
    "certificates.pdf": {C, IA},
    "certificates.correct": {IA},
    "certificates.request_revocation": {IA},
    "certificates.decide_revocation": {C},
    "certificates.mine": {CA},
    "certificates.my_pdf": {CA},
    "verify.verify": PUBLIC,
    "verify.key": PUBLIC,
    "verify.key_pem": PUBLIC,
    "publicity.public_index": PUBLIC,
    "publicity.public_detail": PUBLIC,
    "publicity.object_to": PUBLIC,
    "publicity.receipt": PUBLIC,
    "publicity.manage": {C, IA},
    "publicity.open_publicity": {IA},
    "publicity.admin_detail": {C, IA},
    "publicity.answer": {IA},
    "publicity.submit": {IA},
    "publicity.submissions": {C, IA},
    "publicity.submission": {C, IA},
    "publicity.review": {C},
    "publicity.submission_workbook": {C, IA},
    # Results and level decisions (成绩与认定结论): the institution decides and confirms its own
    # batches; the centre reads every batch; a candidate sees only their own released results.
    "results.index": {C, IA},
    "results.batch": {C, IA},
    "results.decisions": {C, IA},
    "results.registration": {C, IA},
    "results.rechecks": {C, IA},
    "results.decide": {IA},
    "results.confirm_all": {IA},
    "results.confirm": {IA},
    "results.redecide": {IA},
    "results.answer_recheck": {IA},
    "results.batch_xlsx": {C, IA},
    "results.batch_pdf": {C, IA},
    "results.person_xlsx": {C, IA},
    "results.person_pdf": {C, IA},
    "results.mine": {CA},
    "results.request_recheck": {CA},
}


ROLE_ORDER = [Role.CENTRE_ADMIN, Role.INSTITUTION_ADMIN, Role.QUESTION_WRITER, Role.ITEM_REVIEWER, Role.PROCTOR,
              Role.EXAMINER, Role.SUPERVISOR, Role.CANDIDATE]


def _role_for(endpoint: str) -> Role | None:
    """One role allowed to use ``endpoint`` (None: public)."""
    expected = EXPECTED[endpoint]
    if expected == PUBLIC:
        return None
    return next(r for r in ROLE_ORDER if r.value in expected)
