"""Who sees and changes what in the bank (itembank.access), at the service level, with two
institutions: reviewers only inside their centre-assigned (occupation, institution) pairs,
writers revise only their own or granted items, images follow the items."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import delete, select

from foundation.accounts import create_user, update_user
from foundation.audit import AuditEntry
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.roles import Role
from itembank import access, blueprints, enemies, images, papers
from itembank import items as item_svc
from itembank.models import BankAssignment, Item, ItemStatus
from tests.factories import make_occupation, make_user, single_choice
from tests.itembank.worlds import AccessWorld


@pytest.fixture(scope="module")
def world(module_session):
    """Built once for the module; each test runs in a savepoint of it (tests/conftest.py)."""
    return AccessWorld(module_session)


# ---------------------------------------------------------------- who creates reviewers

STRONG = "kettle-Orbit-4419"  # passes the password policy (tests/foundation/test_passwords.py)


def test_only_the_centre_creates_and_edits_reviewers(session, world):
    with pytest.raises(PermissionDenied, match="省职业技能鉴定中心统一创建"):
        create_user(session, world.admin["A"], role=Role.ITEM_REVIEWER, name="机构审题员", username="own_reviewer",
                    password=STRONG)
    legacy = make_user(session, Role.ITEM_REVIEWER, institution=world.inst["A"])  # made before the rule
    with pytest.raises(PermissionDenied, match="省职业技能鉴定中心统一创建"):
        update_user(session, world.admin["A"], legacy.id, password=STRONG)
    with pytest.raises(PermissionDenied):
        update_user(session, world.admin["A"], legacy.id, active=False)
    made = create_user(session, world.centre, role=Role.ITEM_REVIEWER, name="中心专家", username="expert_x",
                       password=STRONG)
    assert made.role == Role.ITEM_REVIEWER and access.assignments_of(session, made.id) == []


def test_only_the_centre_assigns_reviewers(session, world):
    expert = make_user(session, Role.ITEM_REVIEWER)
    for actor in (world.admin["A"], world.writer["A"], world.reviewer("A"), world.supervisor):
        with pytest.raises(PermissionDenied):
            access.assign(session, actor, expert.id, occupation_id=world.bp.occupation_id,
                          institution_id=world.inst["A"].id)
    row = access.assign(session, world.centre, expert.id, occupation_id=world.bp.occupation_id,
                        institution_id=world.inst["A"].id)
    with pytest.raises(ValidationError, match="已经分配"):
        access.assign(session, world.centre, expert.id, occupation_id=world.bp.occupation_id,
                      institution_id=world.inst["A"].id)
    with pytest.raises(PermissionDenied):
        access.unassign(session, world.admin["A"], row.id)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "bank_assignment.create")
                            .order_by(AuditEntry.seq.desc())).first()
    assert entry.target_id == str(expert.id) and entry.after["institution_id"] == world.inst["A"].id
    access.unassign(session, world.centre, row.id)
    assert access.assignments_of(session, expert.id) == []


def test_writer_grants_stay_inside_the_writers_institution(session, world):
    colleague = world.colleague["A"]
    with pytest.raises(PermissionDenied):  # another institution's admin
        access.assign(session, world.admin["B"], colleague.id, occupation_id=world.bp.occupation_id,
                      institution_id=world.inst["A"].id)
    with pytest.raises(ValidationError, match="本机构"):
        access.assign(session, world.admin["A"], colleague.id, occupation_id=world.bp.occupation_id,
                      institution_id=world.inst["B"].id)
    with pytest.raises(ValidationError, match="审题员和命题员"):
        access.assign(session, world.admin["A"], world.proctor.id, occupation_id=world.bp.occupation_id,
                      institution_id=None)
    row = access.assign(session, world.admin["A"], colleague.id, occupation_id=world.bp.occupation_id,
                        institution_id=None)
    assert row.institution_id == world.inst["A"].id  # always the writer's own institution


# ---------------------------------------------------------------- reviewers see their pairs only


WORKFLOW = [
    ("read", lambda s, a, i: item_svc.read_item(s, a, i.id)),
    ("review", lambda s, a, i: item_svc.review_item(s, a, i.id)),
    ("approve", lambda s, a, i: item_svc.approve_item(s, a, i.id)),
    ("return", lambda s, a, i: item_svc.return_item(s, a, i.id, "意见")),
    ("activate", lambda s, a, i: item_svc.activate_item(s, a, i.id)),
    ("retire", lambda s, a, i: item_svc.retire_item(s, a, i.id, "停用")),
]


@pytest.mark.parametrize("step", [name for name, _ in WORKFLOW])
@pytest.mark.parametrize("which", ["active", "submitted"])
def test_a_reviewer_cannot_touch_another_institutions_item(session, world, step, which):
    run = dict(WORKFLOW)[step]
    item = getattr(world, which)["B"]
    status = item.status
    for reviewer in world.reviewers["A"]:
        with pytest.raises(NotFound):
            run(session, reviewer, item)
    session.refresh(item)
    assert item.status == status


def test_two_reviewers_of_one_institution_only_approve_their_own(session, world):
    first, second = world.reviewers["B"]
    item_svc.review_item(session, first, world.submitted["B"].id)
    item_svc.approve_item(session, second, world.submitted["B"].id)
    assert world.submitted["B"].status == ItemStatus.APPROVED
    with pytest.raises(NotFound):
        item_svc.review_item(session, first, world.submitted["A"].id)


def test_reviewers_never_review_their_own_items(session, world):
    """The authorship rule holds inside an assignment too (a reviewer who once revised)."""
    first, second = world.reviewers["A"]
    author = make_user(session, Role.QUESTION_WRITER)
    access.assign(session, world.centre, first.id, occupation_id=world.bp.occupation_id, institution_id=None)
    item = item_svc.create_item(session, author, point_id=world.bp.points[0].id, item_type="single_choice",
                                content=single_choice("中心命题员的试题？"))
    item.versions[0].author_id = first.id  # as if the reviewer had written a version
    item_svc.submit_item(session, author, item.id)
    with pytest.raises(PermissionDenied, match="本人编写"):
        item_svc.review_item(session, first, item.id)


def test_the_item_query_is_exactly_the_assignments(session, world):
    """Every subset of a 2 occupations × 3 owners (A, B, centre) grid: the list, the single
    check and the workflow agree with the assignments, nothing more."""
    centre_item = item_svc.create_item(session, make_user(session, Role.QUESTION_WRITER),
                                       point_id=world.other_bp.points[1].id, item_type="true_false",
                                       content=item_svc.ItemContent("<p>中心命题。</p>", {"key": "√"}))
    all_items = list(session.scalars(select(Item)))
    occupations = [world.bp.occupation_id, world.other_bp.occupation_id]
    owners = [world.inst["A"].id, world.inst["B"].id, None]
    grid = list(itertools.product(occupations, owners))
    reviewer = make_user(session, Role.ITEM_REVIEWER)
    assert centre_item in all_items
    for size in range(len(grid) + 1):
        for subset in itertools.combinations(grid, size):
            session.execute(delete(BankAssignment).where(BankAssignment.user_id == reviewer.id))
            for occupation_id, institution_id in subset:
                session.add(BankAssignment(user_id=reviewer.id, occupation_id=occupation_id,
                                           institution_id=institution_id, granted_by_id=world.centre.id))
            session.flush()
            expected = {i.id for i in all_items
                        if (i.point.blueprint.occupation_id, i.institution_id) in set(subset)}
            listed = set(session.scalars(item_svc.item_query({}, reviewer).with_only_columns(Item.id)))
            single = {i.id for i in all_items if access.can_read_item(session, reviewer, i)}
            assert listed == single == expected, subset


# ---------------------------------------------------------------- papers and blueprints


def test_a_reviewer_sees_and_approves_only_papers_of_their_pairs(session, world):
    reviewer = world.reviewer("A")
    assert papers.can_see_paper(reviewer, world.paper["A"])  # locked, their institution
    assert not papers.can_see_paper(reviewer, world.paper["B"])
    assert set(session.scalars(papers.visible_papers(reviewer))) == {world.paper["A"]}
    for step in (lambda: papers.approve_paper(session, reviewer, world.paper["B"].id),
                 lambda: papers.return_paper(session, reviewer, world.paper["B"].id, "退回")):
        with pytest.raises(PermissionDenied):
            step()
    assert world.paper["B"].status == "submitted"
    papers.approve_paper(session, world.reviewer("B"), world.paper["B"].id)
    assert world.paper["B"].status == "locked"


def test_a_reviewer_reads_and_edits_only_blueprints_of_their_occupations(session, world):
    reviewer = make_user(session, Role.ITEM_REVIEWER)
    access.assign(session, world.centre, reviewer.id, occupation_id=world.bp.occupation_id,
                  institution_id=world.inst["A"].id)
    assert blueprints.read_blueprint(session, reviewer, world.bp.id) is world.bp
    with pytest.raises(NotFound):
        blueprints.read_blueprint(session, reviewer, world.other_bp.id)
    with pytest.raises(NotFound):
        blueprints.replace_nodes(session, reviewer, world.other_bp.id, blueprints.node_specs(world.other_bp))
    stranger = make_occupation(session)
    with pytest.raises(PermissionDenied, match="审题范围"):
        blueprints.create_blueprint(session, reviewer, occupation_id=stranger.id, work_type_id=None, level=4,
                                    mode="skill")


def test_enemy_sets_only_with_items_the_reviewer_may_read(session, world):
    reviewer = world.reviewer("A")
    with pytest.raises(ValidationError, match="不存在"):
        enemies.create_enemy_set(session, reviewer, "", [world.active["A"].code, world.active["B"].code])
    own = enemies.create_enemy_set(session, world.centre, "", [world.active["B"].code, world.submitted["B"].code])
    with pytest.raises(NotFound):
        enemies.delete_enemy_set(session, reviewer, own.id)
    assert own not in set(session.scalars(enemies.enemy_set_query(viewer=reviewer)))


# ---------------------------------------------------------------- writers revise own or granted items


def test_revising_needs_authorship_or_a_grant_in_the_same_institution(session, world):
    item = world.active["A"]
    for outsider in (world.colleague["A"], world.writer["B"], world.colleague["B"]):
        with pytest.raises(PermissionDenied, match="修订授权"):
            item_svc.revise_item(session, outsider, item.id, single_choice("改写的题干？"))
    # A grant of another occupation, or in another institution, does not help.
    access.assign(session, world.admin["A"], world.colleague["A"].id, occupation_id=world.other_bp.occupation_id,
                  institution_id=None)
    access.assign(session, world.admin["B"], world.writer["B"].id, occupation_id=world.bp.occupation_id,
                  institution_id=None)
    for outsider in (world.colleague["A"], world.writer["B"]):
        with pytest.raises(PermissionDenied):
            item_svc.revise_item(session, outsider, item.id, single_choice("改写的题干？"))
    session.refresh(item)
    assert item.status == ItemStatus.ACTIVE and len(item.versions) == 1

    access.assign(session, world.admin["A"], world.colleague["A"].id, occupation_id=world.bp.occupation_id,
                  institution_id=None)
    item_svc.revise_item(session, world.colleague["A"], item.id, single_choice("获授权修订的题干？"))
    assert item.status == ItemStatus.DRAFT and len(item.versions) == 2
    item_svc.revise_item(session, world.writer["A"], item.id, single_choice("作者再改？"))  # authorship


# ---------------------------------------------------------------- images follow items


def test_images_follow_item_access(session, world):
    image_a, image_b = world.image["A"], world.image["B"]
    assert images.can_read_image(session, world.centre, image_b)
    assert images.can_read_image(session, world.reviewer("A"), image_a)
    assert not images.can_read_image(session, world.reviewer("A"), image_b)
    assert images.can_read_image(session, world.writer["B"], image_b)  # the uploader
    assert images.can_read_image(session, world.colleague["A"], image_a)  # writers read their institution's
    assert not images.can_read_image(session, world.colleague["A"], image_b)  # ... and not another's
    for outsider in (world.proctor, world.examiner, world.supervisor, world.admin["A"], world.admin["B"]):
        for image in (image_a, image_b):
            assert not images.can_read_image(session, outsider, image)
            with pytest.raises(NotFound):
                images.read_image(session, outsider, image.id)
    # An image used in an explanation or an option counts too.
    unused = images.store_image(session, world.writer["B"], _tiny_png(), "c.png")
    assert not images.can_read_image(session, world.reviewer("A"), unused)
    version = world.active["A"].current_version
    version.explanation_html = f'<p><img src="{images.image_url(unused)}"></p>'
    session.flush()
    assert images.can_read_image(session, world.reviewer("A"), unused)


def _tiny_png() -> bytes:
    from tests.itembank.worlds import png

    return png()
