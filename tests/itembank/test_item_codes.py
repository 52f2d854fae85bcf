"""New item codes follow the bank's scheme (the demo bank's ``DG4-001``): the pinyin initials of
the blueprint's 工种 or occupation, the level, a dash and a serial of at least three digits."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from foundation.roles import Role
from itembank import item_excel as xl
from itembank import items as svc
from itembank.blueprints import create_blueprint, replace_nodes
from itembank.items import ItemContent, code_prefix
from itembank.models import Item
from tests.factories import blueprint_specs, make_occupation, make_user, single_choice
from tests.itembank.worlds import ALL_TYPES, single, xlsx


def _blueprint(session, name: str, level: int = 4, work_type: str | None = None):
    centre = make_user(session, Role.CENTRE_ADMIN)
    occupation = make_occupation(session, name=name, work_types=[work_type] if work_type else [])
    bp = create_blueprint(session, centre, occupation_id=occupation.id,
                          work_type_id=occupation.work_types[0].id if work_type else None, level=level, mode="theory")
    replace_nodes(session, centre, bp.id, blueprint_specs())
    session.refresh(bp)
    return bp


@pytest.mark.parametrize(
    ("name", "level", "work_type", "prefix"),
    [
        ("电工", 4, None, "DG4-"),  # the demo bank's own prefix
        ("汽车维修工", 3, None, "QCWXG3-"),
        ("车工", 2, "数控车工", "SKCG2-"),  # a 工种's blueprint is named by the 工种
        ("计算机程序设计员", 5, None, "JSJCXS5-"[:6] + "5-"),  # at most six initials
        ("3D打印造型师", 4, None, "3DYZXS4-"[:6] + "4-"),
        ("（）", 1, None, "IT1-"),  # nothing to take initials from
    ],
)
def test_the_prefix_is_initials_and_level(session, name, level, work_type, prefix):
    point = _blueprint(session, name, level, work_type).points[0]
    assert code_prefix(point) == prefix


def test_items_created_by_the_service_are_numbered_in_the_scheme(session):
    bp = _blueprint(session, "电工")
    writer = make_user(session, Role.QUESTION_WRITER)
    tf = ItemContent(stem_html="<p>并联电路中各支路电压相等。</p>", spec={"key": "√"}, difficulty=0.8)
    made = [svc.create_item(session, writer, point_id=bp.points[0].id, item_type="single_choice",
                            content=single_choice(f"第{n}题题干是什么？")) for n in range(2)]
    made.append(svc.create_item(session, writer, point_id=bp.points[1].id, item_type="true_false", content=tf))
    assert [i.code for i in made] == ["DG4-001", "DG4-002", "DG4-003"]
    # A code someone typed in the scheme moves the serial on; other codes do not count.
    svc.create_item(session, writer, point_id=bp.points[2].id, item_type="single_choice",
                    content=single_choice("手工编码的题？"), code="DG4-041")
    svc.create_item(session, writer, point_id=bp.points[2].id, item_type="single_choice",
                    content=single_choice("其他编码的题？"), code="DG4-X9")
    nxt = svc.create_item(session, writer, point_id=bp.points[2].id, item_type="single_choice",
                          content=single_choice("下一道题？"))
    assert nxt.code == "DG4-042"
    other_level = _blueprint(session, "电工", level=3)
    assert svc.create_item(session, writer, point_id=other_level.points[0].id, item_type="true_false",
                           content=tf).code == "DG3-001"


def test_an_import_numbers_every_type_and_skips_codes_the_file_names(session):
    bp = _blueprint(session, "电工")
    writer = make_user(session, Role.QUESTION_WRITER)
    rows = [{**row, "试题编码": ""} for row in ALL_TYPES]
    rows.append(single("DG4-003", stem="文件里已编号的题？"))  # a later row names a code in the scheme
    result = xl.import_items(session, writer, bp, xlsx(rows))
    assert result.created == len(ALL_TYPES) + 1
    codes = {i.code: i.item_type for i in session.scalars(select(Item))}
    assert all(re.fullmatch(r"DG4-\d{3}", c) for c in codes)
    # Generated serials continue after the highest code in the bank or the file.
    assert sorted(codes) == [f"DG4-{n:03d}" for n in range(3, len(ALL_TYPES) + 4)]
    assert len({t for c, t in codes.items() if c != "DG4-003"}) == len(ALL_TYPES)  # every type got one
