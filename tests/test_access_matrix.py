"""Every role against every route: allowed or refused as designed, enforced on the server.

EXPECTED is the design. A route missing from it fails the suite, so a new page cannot ship
without someone deciding who may use it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from foundation.calendar import CalendarDay
from foundation.institutions import ScopeEntry
from foundation.roles import Role
from tests.factories import make_blueprint, make_institution, make_occupation, make_user, single_choice

C, IA, QW, IR, P, E, S, CA = (
    "centre_admin", "institution_admin", "question_writer", "item_reviewer",
    "proctor", "examiner", "supervisor", "candidate",
)
STAFF = {C, IA, QW, IR, P, E, S}
EVERYONE = STAFF | {CA}
PUBLIC = "public"

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
    "audit.index": {C},
    "audit.verify": {C},
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
    # Batches (认定批次) and admission tickets (准考证).
    "batches.index": {C, IA},
    "batches.new": {IA},
    "batches.edit": {IA},
    "batches.detail": {C, IA},
    "batches.add_session": {IA},
    "batches.add_room": {IA},
    "batches.add_staff": {IA},
    "batches.add_candidate": {IA},
    "batches.import_candidates": {IA},
    "batches.candidates_template": {IA},
    "batches.seat": {IA},
    "batches.file": {IA},
    "batches.decide": {C},
    "batches.session_tickets": {C, IA},
    "batches.candidate_ticket": {C, IA},
    "batches.my_tickets": {CA},
    "batches.my_ticket_pdf": {CA},
    # The candidate's exam pages (我的考试, the exam page shell).
    "exam.index": {CA},
    "exam.enter": {CA},
    "exam.page": {CA},
    # Proctor console (监考) and supervision (督考).
    "proctor.index": {P},
    "proctor.console": {P},
    "proctor.record": {P, S},
    "proctor.record_download": {P, S},
    "proctor.sign": {P},
    "supervise.index": {S},
    "supervise.console": {S},
    "supervise.report": {S},
    "supervise.report_download": {S},
}


def _routes(app) -> list[tuple[str, str, Any]]:
    rows = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            rows.append((rule.endpoint, method, rule))
    return rows


def test_every_route_is_in_the_design_table(app):
    endpoints = {endpoint for endpoint, _, _ in _routes(app)}
    assert endpoints == set(EXPECTED), "routes without a decision, or decisions without a route"


def test_declared_rules_match_the_design(app):
    for endpoint, expected in EXPECTED.items():
        view = app.view_functions[endpoint]
        if expected == PUBLIC:
            assert getattr(view, "public", False), f"{endpoint} should be public"
            assert not hasattr(view, "allowed_roles"), endpoint
        else:
            assert getattr(view, "allowed_roles", None) == expected, endpoint


@pytest.fixture
def world(session):
    """One filed institution X with an admin, a proctor and a scope entry; an occupation; a holiday."""
    occupation = make_occupation(session, work_types=["甲工种"])
    blueprint = make_blueprint(session)
    inst = make_institution(session, status="filed", code="S00002299999" + "1", serial="999991")
    entry = ScopeEntry(institution_id=inst.id, occupation_id=occupation.id, lowest_level=5, highest_level=3)
    session.add(entry)
    session.add(CalendarDay(day=dt.date(2031, 10, 1), kind="holiday", name="国庆节"))
    users = {role.value: make_user(session, role, institution=inst) if role.value in {IA, P, E, CA, QW, IR}
             else make_user(session, role) for role in Role}
    session.flush()
    from itembank.items import create_item

    item = create_item(session, users[QW], point_id=blueprint.points[0].id, item_type="single_choice",
                       content=single_choice())
    return {"inst": inst, "entry": entry, "occupation": occupation, "users": users, "blueprint": blueprint,
            "item": item}


def _path(rule, world, role: str | None) -> str:
    # Target objects the role could own, so that only the role decides the outcome here;
    # object-level refusals (another institution's people) are tested per area.
    target_user = world["users"][IA] if role == C else world["users"][P]
    values = {
        "user_id": target_user.id,
        "assignment_id": 999_999,  # none: an allowed role gets 404
        "institution_id": world["inst"].id,
        "entry_id": world["entry"].id,
        "occupation_id": world["occupation"].id,
        "day": "2031-10-01",
        "blueprint_id": world["blueprint"].id,
        "item_id": world["item"].id,
        "number": 1,
        "image_id": 999_999,  # none: an allowed role gets 404, a refused one 403
        "ext": "png",
        "paper_id": 999_999,
        "set_id": 999_999,
        "run_id": 999_999,
        "batch_id": 999_999,  # batches: none, so an allowed role gets 404
        "sitting_id": 999_999,
        "candidate_id": 999_999,
        "attempt_id": 999_999,  # exam page: none, so the candidate gets 404
        "room_id": 999_999,  # proctor console: none, so an allowed role gets 404
    }
    return rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]


def _request(client, method: str, path: str):
    return client.get(path) if method == "GET" else client.open(path, method=method, data={})


@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_role_against_every_route(app, session, client, login, world, role):
    login(world["users"][role])
    wrong = []
    for endpoint, method, rule in _routes(app):
        if endpoint == "auth.logout":
            continue  # would end this test's session; covered in test_auth
        expected = EXPECTED[endpoint]
        allowed = expected == PUBLIC or role in expected
        resp = _request(client, method, _path(rule, world, role))
        refused = resp.status_code in (401, 403) or "/login" in resp.headers.get("Location", "")
        if endpoint.startswith("auth.login") and method == "GET":
            refused = False  # a logged-in user is sent home, which is not a refusal
        if allowed == refused:
            wrong.append((endpoint, method, resp.status_code))
    assert not wrong, f"{role}: allowed/refused differs from the design: {wrong}"


def test_anonymous_against_every_route(app, session, client, world):
    wrong = []
    for endpoint, method, rule in _routes(app):
        resp = _request(client, method, _path(rule, world, None))
        if EXPECTED[endpoint] == PUBLIC:
            ok = resp.status_code not in (401, 403)
        elif rule.rule.startswith("/api/"):
            ok = resp.status_code == 401  # the API answers, it does not redirect
        elif method == "GET":
            ok = resp.status_code == 302 and resp.headers["Location"].startswith("/login")
        else:
            ok = resp.status_code == 401
        if not ok:
            wrong.append((endpoint, method, resp.status_code))
    assert not wrong, wrong
