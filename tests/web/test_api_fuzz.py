"""Schemathesis against ``docs/openapi.yaml``: every operation of the JSON API fed generated
requests (valid and invalid paths, queries and bodies), with a bounded number of cases.

Each operation is called through the Flask test client, logged in as a role the design
table (``tests/test_access_matrix.py``) allows on it, so requests get past the role check to
the parsing and the services. Responses must never be a server error, and must match the
document: a declared status code, JSON, and the declared body schema.

CSRF is off in the test configuration (``tests/conftest.py``); the API's X-CSRFToken rule is
covered in ``tests/web/test_api.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.exceptions import HTTPException

from foundation.roles import Role
from tests.access_table import ROLE_ORDER, _role_for
from tests.factories import make_blueprint, make_institution, make_user, single_choice

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
schema = schemathesis.openapi.from_path(OPENAPI)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# 23 operations; with up to 15 generated cases each (plus the coverage phase) about two minutes on two busy cores.
MAX_EXAMPLES = 15

# A property test (slow), and serial: schemathesis gives all 23 operations the one test id,
# which pytest-xdist cannot tell apart (it ran one of them), so `make test` runs it in its
# one-process pass.
pytestmark = [pytest.mark.slow, pytest.mark.serial]


@pytest.fixture
def fuzz_world(session):
    """Two institutions' people and a blueprint with an item, so some generated ids exist."""
    inst = make_institution(session, status="filed", code="S00002299997" + "1", serial="999971")
    with_inst = {Role.INSTITUTION_ADMIN, Role.PROCTOR, Role.EXAMINER, Role.CANDIDATE, Role.QUESTION_WRITER,
                 Role.ITEM_REVIEWER}
    users = {role: make_user(session, role, institution=inst) if role in with_inst else make_user(session, role)
             for role in ROLE_ORDER}
    blueprint = make_blueprint(session)
    from itembank.items import create_item

    create_item(session, users[Role.QUESTION_WRITER], point_id=blueprint.points[0].id,
                item_type="single_choice", content=single_choice())
    session.flush()
    return users


def _role(app, case) -> Role:
    """A role allowed on the operation's endpoint (path parameters filled with 1 to match the
    rule); the centre admin for methods the route does not have (the coverage phase sends them)."""
    template = case.operation.path
    path = "/".join("1" if part.startswith("{") else part for part in template.split("/"))
    try:
        endpoint, _ = app.url_map.bind("localhost").match(path, method=case.method.upper())
    except HTTPException:
        return Role.CENTRE_ADMIN
    role = _role_for(endpoint)
    assert role is not None, endpoint
    return role


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_conforms_and_never_fails(case, app, client, login, fuzz_world):
    role = _role(app, case)
    if getattr(client, "_fuzz_role", None) != role:
        login(fuzz_world[role])
        client._fuzz_role = role
    kwargs = case.as_transport_kwargs(base_url="http://localhost")
    response = client.open(
        kwargs["url"].removeprefix("http://localhost"), method=kwargs["method"], headers=kwargs.get("headers"),
        query_string=kwargs.get("params"), json=kwargs["json"] if "json" in kwargs else None,
        data=kwargs.get("data"),
    )
    case.validate_response(response, checks=CHECKS)
