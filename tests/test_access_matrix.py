"""Every role against every route: allowed or refused as designed, enforced on the server.

EXPECTED (tests/access_table.py) is the design. A route missing from it fails the suite, so a
new page cannot ship without someone deciding who may use it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from foundation.calendar import CalendarDay
from foundation.institutions import ScopeEntry
from foundation.roles import Role
from tests.access_table import CA, EVERYONE, EXPECTED, IA, IR, PUBLIC, QW, C, E, P, S
from tests.factories import make_blueprint, make_institution, make_occupation, make_user, single_choice
from web.access import is_json_path


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
        "staff_id": 999_999,
        "report_id": 999_999,
        "scheme_id": 999_999,
        "job_id": 999_999,  # none: an allowed role gets 404
        "violation_id": 999_999,
        "response_id": 999_999,
        "task_id": 999_999,  # skill tasks: none, so an allowed role gets 404
        "doc": "task",
        "registration_id": 999_999,
        "sheet_id": 999_999,
        "person_id": 999_999,  # photos: none, so an allowed role gets 404
        "certificate_id": 999_999,  # certificates: none, so an allowed role gets 404
        "request_id": 999_999,
        "reg_id": 999_999,  # reviews: no registration, so an allowed role gets 404
        "component": "review",
        "attachment_id": 999_999,
        "competition_id": 999_999,
        "rule_id": 999_999,
        "decision_id": 999_999,  # results: none, so an allowed role gets 404
        "recheck_id": 999_999,
        "publicity_id": 999_999,  # publicity: none, so an allowed role (or the public) gets 404
        "pub_entry_id": 999_999,
        "objection_id": 999_999,
        "submission_id": 999_999,
    }
    return rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]


def _request(client, method: str, path: str):
    return client.get(path) if method == "GET" else client.open(path, method=method, data={})


@pytest.mark.slow
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
        elif is_json_path(rule.rule):
            ok = resp.status_code == 401  # the JSON routes answer, they do not redirect
        elif method == "GET":
            ok = resp.status_code == 302 and resp.headers["Location"].startswith("/login")
        else:
            ok = resp.status_code == 401
        if not ok:
            wrong.append((endpoint, method, resp.status_code))
    assert not wrong, wrong


# ---------------------------------------------------------------- object level: two institutions
#
# Above, only the role decides. Below, a user of institution A who may use a route is given
# institution B's object ids in the URL (and in socket payloads): every such request must be
# refused (403 or 404) and change nothing (no audit entry, no attempt event).

# URL arguments that name an institution's object; a route with none of them is not
# institution-scoped (occupations, blueprints, enemy sets and runs are national).
SCOPED_ARGS = {"user_id", "institution_id", "batch_id", "sitting_id", "room_id", "candidate_id", "attempt_id",
               "paper_id", "staff_id", "report_id", "person_id", "registration_id", "decision_id", "recheck_id"}


class TwoInstitutions:
    """Two complete exams (``Exam`` of tests/examroom/worlds.py), each of its own filed
    institution with admin, proctors, supervisor, candidates, a locked paper and attempts; plus
    in each an examiner, a question writer with an item and an item reviewer."""

    def __init__(self, session):
        from itembank.items import create_item
        from tests.examroom.worlds import Exam
        from tests.web.socket_clients import supervisor_of

        self.a, self.b = Exam(session), Exam(session)
        self.users = {}
        self.items = {}
        for key, exam in (("a", self.a), ("b", self.b)):
            inst = exam.world.inst
            writer = make_user(session, Role.QUESTION_WRITER, institution=inst)
            self.users[key] = {
                IA: exam.world.admin, P: exam.proctor1, S: supervisor_of(session, exam),
                E: make_user(session, Role.EXAMINER, institution=inst), QW: writer,
                IR: make_user(session, Role.ITEM_REVIEWER, institution=inst), CA: exam.candidates[0],
            }
            self.items[key] = create_item(session, writer, point_id=exam.world.bp.points[0].id,
                                          item_type="single_choice", content=single_choice())
        session.flush()

    def values(self, key: str) -> dict[str, Any]:
        """URL values naming institution ``key``'s objects (callers use 999999, no such row, for
        any other argument a later route adds)."""
        exam = self.a if key == "a" else self.b
        return {
            "user_id": self.users[key][P].id, "institution_id": exam.world.inst.id,
            "batch_id": exam.sitting.module.batch_id, "sitting_id": exam.sitting.id, "room_id": exam.room1.id,
            "candidate_id": exam.candidates[0].id, "attempt_id": exam.attempt(0).id, "paper_id": exam.world.paper.id,
            "item_id": self.items[key].id, "blueprint_id": exam.world.bp.id, "occupation_id": exam.world.occupation.id,
            "number": 1, "image_id": 999_999, "ext": "png", "set_id": 999_999, "run_id": 999_999, "job_id": 999_999,
            "entry_id": 999_999, "day": "2031-10-01", "report_id": 999_999,
            "staff_id": next(s.id for s in exam.batch.staff if s.role == "proctor"),
            "person_id": exam.candidates[0].person_id,
            "registration_id": exam.batch.candidates[0].id,
        }


@pytest.fixture(scope="module")
def two(module_session):
    """Built once for the module; each test runs in a savepoint of it (tests/conftest.py)."""
    return TwoInstitutions(module_session)


def _state(session) -> tuple[int, int]:
    """(audit entries other than logins, attempt events): every state change appends to one."""
    from sqlalchemy import func, select

    from examroom.models import AttemptEvent
    from foundation.audit import AuditEntry

    session.expire_all()
    return (session.scalar(select(func.count()).select_from(AuditEntry).where(~AuditEntry.action.startswith("auth."))),
            session.scalar(select(func.count()).select_from(AttemptEvent)))


def _refused_with(client, method: str, path: str) -> int | None:
    """None if refused, else the status. Refused: 403 or 404; for a POST/PUT/DELETE also 400, as
    this request has no body and some views check the body first (nothing changes either way,
    which the callers check; api.transition_paper with a body is checked below); for the candidate's
    "enter" button the redirect back to the exam list with the reason flashed."""
    resp = _request(client, method, path)
    if resp.status_code in (403, 404):
        return None
    if resp.status_code == 400 and method != "GET":
        return None
    if resp.status_code == 302 and resp.headers["Location"] == "/exam/" and path.startswith("/exam/sittings/"):
        return None
    return resp.status_code


# Item reviewers and centre admins are national roles: they review and approve every
# institution's papers by design (web/api/views.py PAPER_READERS), so a paper id is not
# another institution's object to them.
NATIONAL_ARGS = {IR: {"paper_id"}}


def _scoped_routes(app, role: str) -> list[tuple[str, str, Any]]:
    scoped = SCOPED_ARGS - NATIONAL_ARGS.get(role, set())
    return [(endpoint, method, rule) for endpoint, method, rule in _routes(app)
            if EXPECTED[endpoint] != PUBLIC and role in EXPECTED[endpoint] and set(rule.arguments) & scoped]


@pytest.mark.parametrize("role", [IA, P, S, E, CA, QW, IR])
def test_another_institutions_object_ids_are_refused(app, session, client, login, two, role):
    login(two.users["a"][role])
    theirs = two.values("b")
    before = _state(session)
    wrong = []
    for endpoint, method, rule in _scoped_routes(app, role):
        path = rule.build({k: theirs.get(k, 999_999) for k in rule.arguments}, append_unknown=False)[1]
        if (status := _refused_with(client, method, path)) is not None:
            wrong.append((endpoint, method, status))
    assert not wrong, f"{role} of A reached B's objects: {wrong}"
    assert _state(session) == before


@pytest.mark.parametrize("role", [IA])
def test_own_parent_with_another_institutions_child_is_refused(app, session, client, login, two, role):
    """/batches/<A's batch>/sessions/<B's sitting>/...: the child must belong to the parent."""
    login(two.users["a"][role])
    mine, theirs = two.values("a"), two.values("b")
    before = _state(session)
    wrong = []
    for endpoint, method, rule in _scoped_routes(app, role):
        if "batch_id" not in rule.arguments or len(set(rule.arguments) & SCOPED_ARGS) < 2:
            continue
        values = {k: (mine[k] if k == "batch_id" else theirs.get(k, 999_999)) for k in rule.arguments}
        path = rule.build(values, append_unknown=False)[1]
        if (status := _refused_with(client, method, path)) is not None:
            wrong.append((endpoint, method, status))
    assert not wrong, wrong
    assert _state(session) == before


def test_the_own_objects_are_reachable(app, session, client, login, two):
    """The refusals above are about the institution, not broken URLs: A's admin reaches A's."""
    login(two.users["a"][IA])
    mine = two.values("a")
    for endpoint in ("batches.detail", "bank.paper_detail", "users.edit", "api.get_paper"):
        rule = next(r for e, _, r in _routes(app) if e == endpoint)
        path = rule.build({k: mine[k] for k in rule.arguments}, append_unknown=False)[1]
        assert client.get(path).status_code == 200, endpoint


def test_api_paper_filter_and_body_with_another_institution_are_refused(app, session, client, login, two):
    """Ids in query strings and JSON bodies: an institution admin's paper list ignores another
    institution filter; assembling a paper for another institution is refused."""
    login(two.users["a"][IA])
    theirs = two.values("b")
    listed = client.get(f"/api/v1/papers?institution={theirs['institution_id']}").get_json()
    assert {p["institution"]["id"] for p in listed["items"]} <= {two.a.world.inst.id}
    before = _state(session)
    resp = client.post(f"/api/v1/papers/{theirs['paper_id']}/transitions", json={"action": "submit"})
    assert resp.status_code == 403
    resp = client.post("/api/v1/papers", json={"institution_id": theirs["institution_id"],
                                               "blueprint_id": theirs["blueprint_id"], "name": "别人的试卷"})
    assert resp.status_code in (400, 403, 404)
    assert _state(session) == before


def test_socket_events_with_another_institutions_ids_are_refused(app, session, two):
    from tests.web.socket_clients import call, candidate_socket, console_socket
    from web.extensions import socketio

    attempt_b = two.b.started(0)
    own = two.a.started(0)
    session.flush()
    before = _state(session)
    proctor_a = console_socket(app, two.users["a"][P])
    assert proctor_a.is_connected("/proctor")
    assert call(proctor_a, "watch", {"room_id": two.b.room1.id})["ok"] is False
    for event, payload in (("pause", {"attempt_id": attempt_b.id}), ("pause_room", {"room_id": two.b.room1.id}),
                           ("warn", {"attempt_id": attempt_b.id, "message": "x"}),
                           ("terminate", {"attempt_id": attempt_b.id, "reason": "x", "tier": 1}),
                           ("extend", {"attempt_id": attempt_b.id, "minutes": 5, "reason": "x"})):
        ack = call(proctor_a, event, payload)
        assert ack["ok"] is False and ack["code"] == "forbidden", (event, ack)
    supervisor_a = console_socket(app, two.users["a"][S])
    assert call(supervisor_a, "watch", {"room_id": two.b.room1.id})["ok"] is False
    # A candidate of A connecting to, or sending for, B's attempt.
    from tests.web.socket_clients import http_as

    sock = socketio.test_client(app, namespace="/exam", auth={"attempt_id": attempt_b.id, "device_id": "dev-x"},
                                flask_test_client=http_as(app, two.users["a"][CA]))
    assert not sock.is_connected("/exam")
    sock = candidate_socket(app, two.users["a"][CA], own.id)
    ack = sock.emit("state", {"attempt_id": attempt_b.id}, namespace="/exam", callback=True)
    assert ack["ok"] is False, ack
    for s, ns in ((sock, "/exam"), (proctor_a, "/proctor"), (supervisor_a, "/proctor")):
        if s.is_connected(ns):
            s.disconnect(ns)
    assert _state(session)[0] == before[0]  # no audit entry (logins aside) from any refused action


# Item-level scoping (issue 12 points 2, 3 and 9, on another branch): a question writer only
# reaches items they wrote, an item reviewer only items assigned to them. Checked over every
# route that takes an item id; where main still lets them through, an expected failure
# (strict) that flips when the fix merges.
ITEM_ID_ENDPOINTS = {
    "api.get_item", "api.list_item_versions", "api.get_item_version", "api.revise_item", "api.transition_item",
    "api.item_duplicates", "bank.item_detail", "bank.item_edit", "bank.item_action", "analysis.item_report",
    "analysis.item_report_data", "analysis.item_report_xlsx",
}


def _item_route_cases() -> list[Any]:
    return [pytest.param(role, endpoint, id=f"{role}-{endpoint}")
            for role in (QW, IR) for endpoint in sorted(ITEM_ID_ENDPOINTS) if role in EXPECTED[endpoint]]


def test_the_item_route_list_is_complete(app):
    assert {e for e, _, r in _routes(app) if "item_id" in r.arguments} == ITEM_ID_ENDPOINTS


@pytest.mark.parametrize("role,endpoint", _item_route_cases())
def test_another_writers_item_is_refused(app, session, client, login, two, role, endpoint):
    """A writer or reviewer of A given an item written by B's writer (never assigned to them)."""
    login(two.users["a"][role])
    theirs = two.values("b")
    before = _state(session)
    wrong = []
    for method, rule in [(m, r) for e, m, r in _routes(app) if e == endpoint]:
        path = rule.build({k: theirs.get(k, 999_999) for k in rule.arguments}, append_unknown=False)[1]
        if (status := _refused_with(client, method, path)) is not None:
            wrong.append((method, status))
    assert not wrong, wrong
    assert _state(session) == before
