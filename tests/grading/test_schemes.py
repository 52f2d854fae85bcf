"""Evaluation schemes (grading.results.schemes and the 评价方案 page): defaults as issue 13
says, occupation overrides, validation, audit, and centre-only access."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from foundation.audit import AuditEntry
from foundation.errors import PermissionDenied, ValidationError
from foundation.roles import Role
from grading.results.decision import Component, Method, Rules, default_components
from grading.results.models import EvaluationScheme
from grading.results.schemes import LEVELS, METHODS, delete_override, pass_mark, save_scheme, scheme_for
from tests.factories import make_occupation, make_user

T, S, P, R = Component.THEORY, Component.SKILL, Component.PERFORMANCE, Component.REVIEW


@pytest.mark.parametrize("level", LEVELS)
def test_defaults_levels_5_to_3_theory_skill_2_to_1_add_review(session, level):
    occupation = make_occupation(session)
    expected = {
        Method.ASSESSMENT: (T, S, R) if level <= 2 else (T, S),
        Method.COMBINED: (T, S, P, R) if level <= 2 else (T, S, P),
        Method.PERFORMANCE: (P, R) if level <= 2 else (P,),
    }
    for method in METHODS:
        for occ in (None, occupation, occupation.id):
            scheme = scheme_for(session, occ, level, method)
            assert scheme.required == expected[method] == default_components(method, level)
            assert all(pass_mark(scheme, c) == 60 for c in scheme.required)
            assert all(scheme.pass_mark(c, Rules()) == 60 for c in scheme.required)


def test_an_occupation_override_wins_over_the_default_and_the_default_over_the_engine(session):
    centre = make_user(session, Role.CENTRE_ADMIN)
    a, b = make_occupation(session), make_occupation(session)
    save_scheme(session, centre, occupation_id=None, level=4, method="assessment", components=["theory", "skill"],
                pass_marks={"theory": "70"})
    save_scheme(session, centre, occupation_id=a.id, level=4, method="assessment",
                components=["skill", "theory", "ethics"], pass_marks={"skill": "72.5", "ethics": ""})
    mine, other = scheme_for(session, a, 4, "assessment"), scheme_for(session, b, 4, "assessment")
    assert mine.required == (T, S, Component.ETHICS)
    assert (pass_mark(mine, T), pass_mark(mine, S), pass_mark(mine, Component.ETHICS)) == (60, Decimal("72.5"), 60)
    assert other.required == (T, S) and pass_mark(other, T) == 70 and pass_mark(other, S) == 60
    row = session.scalar(select(EvaluationScheme).where(EvaluationScheme.occupation_id == a.id))
    save_scheme(session, centre, occupation_id=a.id, level=4, method="assessment", components=["theory"],
                pass_marks={})
    assert scheme_for(session, a, 4, "assessment").required == (T,)
    delete_override(session, centre, row.id)
    assert scheme_for(session, a, 4, "assessment").required == (T, S)
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.target_type == "scheme")).all()
    assert actions == ["scheme.create", "scheme.create", "scheme.update", "scheme.delete"]


@pytest.mark.parametrize(("level", "components", "marks", "message"), [
    (2, ["theory", "skill"], {}, "必须包含「综合评审」"),
    (1, ["performance"], {}, "必须包含「综合评审」"),
    (3, ["theory", "skill", "review"], {}, "只用于"),
    (4, [], {}, "至少要有一个"),
    (4, ["theory", "interview"], {}, "未知的考核科目"),
    (4, ["theory"], {"theory": "abc"}, "合格线应为"),
    (4, ["theory"], {"theory": "0"}, "大于 0"),
    (4, ["theory"], {"theory": "100.5"}, "不超过 100"),
    (4, ["theory"], {"theory": "60.25"}, "一位小数"),
    (4, ["theory"], {"theory": "NaN"}, "合格线"),
])
def test_bad_schemes_are_refused_and_nothing_is_written(session, level, components, marks, message):
    centre = make_user(session, Role.CENTRE_ADMIN)
    with pytest.raises(ValidationError, match=message):
        save_scheme(session, centre, occupation_id=None, level=level, method="combined", components=components,
                    pass_marks=marks)
    assert session.scalar(select(EvaluationScheme)) is None


def test_other_refusals(session):
    centre = make_user(session, Role.CENTRE_ADMIN)
    narrow = make_occupation(session, lowest_level=5, highest_level=3)
    with pytest.raises(ValidationError, match="不设"):
        save_scheme(session, centre, occupation_id=narrow.id, level=2, method="assessment",
                    components=["theory", "skill", "review"], pass_marks={})
    for method in ("competition", "kaoping", ""):
        with pytest.raises(ValidationError, match="评价方式无效"):
            save_scheme(session, centre, occupation_id=None, level=4, method=method, components=["theory"],
                        pass_marks={})
    for level in (0, 6, True):
        with pytest.raises(ValidationError, match="等级"):
            save_scheme(session, centre, occupation_id=None, level=level, method="assessment", components=["theory"],
                        pass_marks={})
    for role in (Role.INSTITUTION_ADMIN, Role.QUESTION_WRITER):
        with pytest.raises(PermissionDenied):
            save_scheme(session, make_user(session, role), occupation_id=None, level=4, method="assessment",
                        components=["theory"], pass_marks={})
    default = save_scheme(session, centre, occupation_id=None, level=4, method="assessment",
                          components=["theory", "skill"], pass_marks={})
    with pytest.raises(ValidationError, match="默认评价方案不能删除"):
        delete_override(session, centre, default.id)


def test_the_page_lists_edits_and_refuses_with_the_reason(session, client, login):
    centre = make_user(session, Role.CENTRE_ADMIN)
    occupation = make_occupation(session)
    login(centre)
    page = client.get("/schemes/").get_data(as_text=True)
    assert page.count("综合评审（60 分）") == 6 and "认定考核" in page and "考评结合" in page
    form = client.get(f"/schemes/edit?occupation_id={occupation.id}&level=2&method=assessment").get_data(as_text=True)
    assert 'value="review" checked' in form
    refused = client.post(f"/schemes/edit?occupation_id={occupation.id}&level=2&method=assessment",
                          data={"components": ["theory", "skill"], "pass_mark_theory": "65"})
    assert refused.status_code == 400 and "必须包含「综合评审」" in refused.get_data(as_text=True)
    assert 'value="65"' in refused.get_data(as_text=True)  # the user's input is kept
    saved = client.post(f"/schemes/edit?occupation_id={occupation.id}&level=2&method=assessment",
                        data={"components": ["theory", "skill", "review"], "pass_mark_theory": "65"})
    assert saved.status_code == 302
    scheme = scheme_for(session, occupation, 2, "assessment")
    assert pass_mark(scheme, T) == 65 and scheme.required == (T, S, R)
    assert occupation.name in client.get("/schemes/").get_data(as_text=True)
    for bad in ("level=6&method=assessment", "level=2&method=competition", "occupation_id=999999&level=2&method=x",
                "level=2", "occupation_id=999999&level=2&method=assessment"):
        assert client.get(f"/schemes/edit?{bad}").status_code == 404, bad
    assert client.post("/schemes/999999/delete").status_code == 404


@pytest.mark.parametrize("role", [Role.INSTITUTION_ADMIN, Role.QUESTION_WRITER, Role.CANDIDATE])
def test_only_the_centre_reaches_the_page(session, client, login, role):
    login(make_user(session, role))
    assert client.get("/schemes/").status_code == 403
    assert client.post("/schemes/edit?level=4&method=assessment", data={"components": ["theory"]}).status_code == 403
    assert session.scalar(select(EvaluationScheme)) is None
