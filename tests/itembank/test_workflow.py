"""The item workflow: who may do what, versions, diffs and duplicates."""

from __future__ import annotations

import pytest

from foundation.audit import AuditEntry
from foundation.errors import PermissionDenied, ValidationError
from foundation.roles import Role
from itembank import items as svc
from itembank.items import ItemContent
from itembank.models import ItemStatus
from tests.factories import assign, make_blueprint, make_user, single_choice
from tests.itembank.worlds import approved_item


@pytest.fixture
def people(session):
    return {
        "writer": make_user(session, Role.QUESTION_WRITER),
        "other_writer": make_user(session, Role.QUESTION_WRITER),
        "r1": make_user(session, Role.ITEM_REVIEWER),
        "r2": make_user(session, Role.ITEM_REVIEWER),
        "centre": make_user(session, Role.CENTRE_ADMIN),
    }


@pytest.fixture
def point(session, people):
    point = make_blueprint(session).points[0]
    for reviewer in (people["r1"], people["r2"]):  # the centre's items (writers of no institution)
        assign(session, reviewer, point.blueprint.occupation_id)
    return point


def test_full_workflow_to_active_and_retired(session, people, point):
    item = svc.create_item(session, people["writer"], point_id=point.id, item_type="single_choice",
                           content=single_choice())
    assert item.status == "draft" and item.level == 4
    svc.submit_item(session, people["writer"], item.id)
    svc.review_item(session, people["r1"], item.id, "题干清楚")
    svc.approve_item(session, people["r2"], item.id)
    svc.activate_item(session, people["centre"], item.id)
    assert item.status == ItemStatus.ACTIVE
    svc.retire_item(session, people["r1"], item.id, "内容过时")
    assert item.status == ItemStatus.RETIRED
    assert [e.action for e in item.events] == ["submit", "review", "approve", "activate", "retire"]
    actions = {e.action for e in session.query(AuditEntry).filter(AuditEntry.target_type == "item")}
    assert {"item.create", "item.submit", "item.review", "item.approve", "item.activate", "item.retire"} <= actions


def test_author_never_reviews_or_approves_own_item(session, people, point):
    # A writer who is also given reviewer duties under another account is still refused via authorship.
    item = svc.create_item(session, people["writer"], point_id=point.id, item_type="single_choice",
                           content=single_choice())
    svc.submit_item(session, people["writer"], item.id)
    with pytest.raises(PermissionDenied):
        svc.review_item(session, people["writer"], item.id)  # wrong role as well as author
    # A reviewer who revised the item (as a writer account it cannot, so simulate authorship):
    item.author_id = people["r1"].id
    session.flush()
    with pytest.raises(PermissionDenied, match="本人编写"):
        svc.review_item(session, people["r1"], item.id)


def test_reviewer_and_final_approver_must_differ(session, people, point):
    item = svc.create_item(session, people["writer"], point_id=point.id, item_type="single_choice",
                           content=single_choice())
    svc.submit_item(session, people["writer"], item.id)
    svc.review_item(session, people["r1"], item.id)
    with pytest.raises(PermissionDenied, match="同一人"):
        svc.approve_item(session, people["r1"], item.id)
    assert item.status == "reviewed"
    svc.approve_item(session, people["r2"], item.id)


def test_return_needs_a_comment_and_the_fix_is_a_new_version(session, people, point):
    item = svc.create_item(session, people["writer"], point_id=point.id, item_type="single_choice",
                           content=single_choice())
    svc.submit_item(session, people["writer"], item.id)
    with pytest.raises(ValidationError, match="审核意见"):
        svc.return_item(session, people["r1"], item.id, "  ")
    svc.return_item(session, people["r1"], item.id, "选项 C 有歧义")
    with pytest.raises(ValidationError, match="按审核意见修改"):
        svc.submit_item(session, people["writer"], item.id)
    with pytest.raises(PermissionDenied):
        svc.revise_item(session, people["other_writer"], item.id, single_choice("改过的题干？"))
    svc.revise_item(session, people["writer"], item.id, single_choice("修改后的题干：三相电的相序？"), note="改题干")
    assert [v.number for v in item.versions] == [1, 2] and item.current_version.number == 2
    diff = svc.version_diff(item.versions[0], item.versions[1])
    stem = next(d for d in diff if d.field == "题干")
    assert stem.added == ["修改后的题干：三相电的相序？"]
    svc.submit_item(session, people["writer"], item.id)
    assert item.status == "submitted"


def test_draft_edits_in_place_until_submitted(session, people, point):
    item = svc.create_item(session, people["writer"], point_id=point.id, item_type="single_choice",
                           content=single_choice())
    svc.revise_item(session, people["writer"], item.id, single_choice("第二稿？"))
    assert len(item.versions) == 1 and "第二稿" in item.current_version.stem_html
    svc.submit_item(session, people["writer"], item.id)
    with pytest.raises(ValidationError, match="审核期间"):
        svc.revise_item(session, people["writer"], item.id, single_choice("偷改？"))


def test_editing_an_active_item_makes_a_new_version_and_keeps_the_old_one(session, people, point):
    item = approved_item(session, point.id)
    svc.activate_item(session, people["centre"], item.id)
    old = item.current_version
    assign(session, people["other_writer"], point.blueprint.occupation_id)  # granted: same (no) institution
    svc.revise_item(session, people["other_writer"], item.id, single_choice("新版题干？", key="C"))
    assert item.status == "draft" and item.current_version.number == 2
    assert old.stem_html == "<p>三相交流电的相序是什么？</p>" and old.frozen
    # The reviser is now an author too: they cannot review the new version.
    svc.submit_item(session, people["other_writer"], item.id)


def test_content_is_validated_and_sanitised(session, people, point):
    bad = ItemContent(stem_html="<p>题干</p>", spec={"options": ["甲", "乙", "丙", "丁"], "key": ["A", "B"]})
    with pytest.raises(ValidationError, match="单选题"):
        svc.create_item(session, people["writer"], point_id=point.id, item_type="single_choice", content=bad)
    with pytest.raises(ValidationError, match="题干不能为空"):
        svc.create_item(session, people["writer"], point_id=point.id, item_type="single_choice",
                        content=ItemContent(stem_html="<script>x</script>", spec=single_choice().spec))
    dirty = ItemContent(stem_html='<p onclick="x()">题干<img src="/itembank/images/1.png" onerror="y()"></p>',
                        spec=single_choice().spec)
    item = svc.create_item(session, people["writer"], point_id=point.id, item_type="single_choice", content=dirty)
    assert "onclick" not in item.current_version.stem_html and "onerror" not in item.current_version.stem_html
    assert 'src="/itembank/images/1.png"' in item.current_version.stem_html


def test_near_duplicate_stems_are_found(session, people, point):
    first = svc.create_item(session, people["writer"], point_id=point.id, item_type="single_choice",
                            content=single_choice("在潮湿环境中使用手持电动工具时，应当选用哪一类工具？"))
    found = svc.find_duplicates(session, "<p>在潮湿环境中使用手持电动工具时，应当选用哪类工具?</p>")
    assert found and found[0][0].id == first.id and found[0][1] > 0.8
    assert svc.find_duplicates(session, "<p>车床主轴的转速如何调整？</p>") == []
    assert svc.find_duplicates(session, first.current_version.stem_html, exclude_item_id=first.id) == []
