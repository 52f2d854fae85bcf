"""Blueprint structure (errors), health (warnings) and coverage."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from foundation.errors import PermissionDenied, RowErrors, ValidationError
from foundation.roles import Role
from itembank.blueprints import NodeSpec, coverage, create_blueprint, health, replace_nodes, structure_errors
from itembank.models import BlueprintNode
from tests.factories import assign, blueprint_specs, make_blueprint, make_occupation, make_user


def test_valid_tree_has_no_errors():
    assert structure_errors(blueprint_specs()) == []


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda n: n + [NodeSpec("A-A-001", "重复", "X", 0)], "重复"),
        (lambda n: n + [NodeSpec("C-A-001", "孤儿", "X", 0)], "上级「C-A」不存在"),
        (lambda n: [NodeSpec("A", "范围A", None, 40)] + n[1:], "合计为 90%"),
        (lambda n: n[:1] + [NodeSpec("A-A", "范围A-A", None, 30)] + n[2:], "其下级合计"),
        (lambda n: n + [NodeSpec("a-b-1", "坏码", "X", 0)], "格式不正确"),
        (lambda n: n[:2] + [NodeSpec("A-A-001", "无等级", None, 0)] + n[3:], "重要程度"),
        (lambda n: n + [NodeSpec("C", "空范围", None, 0)], "下没有任何"),
    ],
)
def test_broken_structure_is_an_error(mutate, fragment):
    errors = structure_errors(mutate(blueprint_specs()))
    assert any(fragment in message for _, _, message in errors), errors


def test_health_rules_are_warnings(session):
    nodes = blueprint_specs(points_per_range=5)
    nodes = [NodeSpec(n.code, n.name, "Z" if n.code.endswith("-001") else n.importance, n.weight) for n in nodes]
    report = health(session, "theory", nodes)
    texts = " ".join(report.warnings)
    assert "辅助要素（Z）占 20%" in texts and "核心要素（X）占 80%" not in texts
    assert "少于 200 个" in texts and report.point_count == 10


def test_replace_is_all_or_nothing(session):
    bp = make_blueprint(session)
    actor = make_user(session, Role.ITEM_REVIEWER)
    assign(session, actor, bp.occupation_id)
    before = session.scalar(select(func.count()).select_from(BlueprintNode).where(BlueprintNode.blueprint_id == bp.id))
    bad = blueprint_specs() + [NodeSpec("A-A-001", "重复", "X", 0)]
    with pytest.raises(RowErrors):
        replace_nodes(session, actor, bp.id, bad)
    after = session.scalar(select(func.count()).select_from(BlueprintNode).where(BlueprintNode.blueprint_id == bp.id))
    assert before == after


def test_writers_cannot_edit_and_access_type_refused(session):
    writer = make_user(session, Role.QUESTION_WRITER)
    occ = make_occupation(session)
    with pytest.raises(PermissionDenied):
        create_blueprint(session, writer, occupation_id=occ.id, work_type_id=None, level=4, mode="theory")
    centre = make_user(session, Role.CENTRE_ADMIN)
    access = make_occupation(session, is_access_type=True)
    with pytest.raises(ValidationError, match="准入类"):
        create_blueprint(session, centre, occupation_id=access.id, work_type_id=None, level=4, mode="theory")
    create_blueprint(session, centre, occupation_id=occ.id, work_type_id=None, level=4, mode="theory")
    with pytest.raises(ValidationError, match="已存在"):
        create_blueprint(session, centre, occupation_id=occ.id, work_type_id=None, level=4, mode="theory")


def test_coverage_flags_points_short_of_items(session):
    from tests.itembank.worlds import approved_item

    bp = make_blueprint(session, points_per_range=2)
    point = bp.points[0]
    for n in range(4):
        approved_item(session, point.id, stem=f"覆盖率测试第{n}题：电流的单位是什么{n}？")
    rows = {c.code: c for c in coverage(session, bp)}
    assert rows[point.code].approved == 4 and not rows[point.code].short
    assert all(c.short for code, c in rows.items() if code != point.code)
