"""The persistent near-duplicate index (item_band, itembank.stem_index): the same answers as a
full scan of the bank, a fixed number of statements whatever the bank's size, and kept in step
with revisions, retirement and imports (issue 16 point 1)."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import event, select

from foundation.roles import Role
from itembank import duplicates, stem_index
from itembank import enemies as enemy_svc
from itembank import items as svc
from itembank.models import Item, ItemBand, ItemStatus, ItemVersion
from tests.factories import assign, make_blueprint, make_institution, make_user, single_choice

WORDS = ("电动机", "变压器", "绝缘", "电阻", "电流", "电压", "接地", "保护", "线路", "开关", "负载", "短路",
         "功率", "频率", "相位", "导线", "熔断器", "继电器", "电容", "电感", "照明", "仪表", "测量", "安全")


class FullScan:
    """find_duplicates as it was before the index: every current stem loaded into a fresh
    DuplicateIndex (rows in id order, so ties come out by id as the index returns them); the
    blueprint filter applied to the full result. The bank does not change while a test asks,
    so each (viewer, blueprint) index is loaded once and asked many times, the asked item left
    out by ``find``'s ``exclude`` (the same answers as an index built without it)."""

    def __init__(self, session):
        self.session = session
        self._indexes: dict[tuple[int | None, int | None], duplicates.DuplicateIndex] = {}

    def _index(self, viewer, blueprint_id) -> duplicates.DuplicateIndex:
        from itembank import access
        from itembank.models import BlueprintNode

        key = (viewer.id if viewer is not None else None, blueprint_id)
        if key not in self._indexes:
            stmt = (select(Item.id, ItemVersion.stem_html, ItemVersion.minhash, BlueprintNode.blueprint_id)
                    .join(ItemVersion, ItemVersion.id == Item.current_version_id)
                    .join(BlueprintNode, BlueprintNode.id == Item.point_id)
                    .where(Item.status != ItemStatus.RETIRED.value).order_by(Item.id))
            if viewer is not None and (visible := access.item_clause(viewer)) is not None:
                stmt = stmt.where(visible)
            index = duplicates.DuplicateIndex([])
            for item_id, stem, stored, bp_id in self.session.execute(stmt).all():
                if blueprint_id is None or bp_id == blueprint_id:
                    index.add(item_id, stem, stored_signature=stored)
            self._indexes[key] = index
        return self._indexes[key]

    def __call__(self, stem_html, *, exclude_item_id=None, threshold=duplicates.DEFAULT_THRESHOLD, limit=5,
                 viewer=None, blueprint_id=None):
        exclude = () if exclude_item_id is None else (exclude_item_id,)
        return self._index(viewer, blueprint_id).find(stem_html, threshold, exclude=exclude)[:limit]


def _stems(rng: random.Random, n: int) -> list[str]:
    """Families of near-duplicates: a base stem, then variants with one word changed,
    dropped or added, exact copies (with different punctuation and markup), very short and
    punctuation-only stems (which normalise to nothing)."""
    stems: list[str] = []
    while len(stems) < n:
        base = [rng.choice(WORDS) for _ in range(rng.randint(6, 14))]
        stems.append("关于" + "".join(base) + "的说法正确的是？")
        for _ in range(rng.randint(0, 4)):
            variant = list(base)
            what = rng.random()
            if what < 0.3:
                variant[rng.randrange(len(variant))] = rng.choice(WORDS)
            elif what < 0.5:
                del variant[rng.randrange(len(variant))]
            elif what < 0.7:
                variant.insert(rng.randrange(len(variant)), rng.choice(WORDS))
            else:
                stems.append("<p>关于" + "，".join(variant) + "的说法正确的是？</p>")
                continue
            stems.append("关于" + "".join(variant) + "的说法正确的是？")
        if rng.random() < 0.1:
            stems.append(rng.choice(["？？？", "（  ）", "电", "电阻", "<b>！</b>"]))
    return stems[:n]


class World:
    def __init__(self, session):
        self.centre = make_user(session, Role.CENTRE_ADMIN)
        self.bp1 = make_blueprint(session, self.centre)
        self.bp2 = make_blueprint(session, self.centre)
        self.writer = make_user(session, Role.QUESTION_WRITER)  # the centre's items
        self.inst = make_institution(session)
        self.inst_writer = make_user(session, Role.QUESTION_WRITER, institution=self.inst)
        self.reviewer = make_user(session, Role.ITEM_REVIEWER)
        assign(session, self.reviewer, self.bp1.occupation_id)  # the centre's items of bp1's occupation
        self.items: list[Item] = []
        self.rng = random.Random(20261207)  # noqa: S311 - a reproducible test bank

    def add(self, session, n: int) -> None:
        for stem in _stems(self.rng, n):
            k = len(self.items)
            bp = self.bp1 if k % 3 else self.bp2
            writer = self.inst_writer if k % 7 == 0 else self.writer
            self.items.append(svc.create_item(session, writer, point_id=bp.points[k % len(bp.points)].id,
                                              item_type="single_choice", content=single_choice(stem)))


@pytest.fixture(scope="module")
def world(module_session):
    """Built once for the module; each test runs in a savepoint of it (tests/conftest.py)."""
    w = World(module_session)
    w.add(module_session, 200)
    for item in w.items[5::17]:  # some retired items: never reported
        item.status = ItemStatus.RETIRED.value
    module_session.flush()
    return w


def _ids(found):
    return [(item.id, sim) for item, sim in found]


def test_indexed_lookup_equals_the_full_scan(session, world):
    """One seeded bank (families of near duplicates, copies, empty and one-character stems,
    retired items, two blueprints, two institutions), every item's stem as the query."""
    queries = [(i.current_version.stem_html, i.id) for i in world.items]
    queries += [("？？？", None), ("", None), ("关于电阻电流电压的说法正确的是？", None)]
    full_scan = FullScan(session)
    for threshold in (0.5, 0.8, 1.0):
        hits = 0
        for stem, own in queries:
            for limit in (50, 2):
                expected = full_scan(stem, exclude_item_id=own, threshold=threshold, limit=limit)
                found = svc.find_duplicates(session, stem, exclude_item_id=own, threshold=threshold, limit=limit)
                assert _ids(found) == expected, (stem, threshold, limit)
            hits += len(expected)
        assert hits > len(world.items) // 4, threshold  # the bank really has duplicates at every threshold


def test_scoped_lookups_equal_the_full_scan_filtered(session, world):
    retired = {i.id for i in world.items if i.status == ItemStatus.RETIRED.value}
    assert retired
    full_scan = FullScan(session)
    for item in world.items[::2]:
        stem = item.current_version.stem_html
        for kwargs in ({"viewer": world.reviewer}, {"viewer": world.inst_writer}, {"viewer": world.writer},
                       {"blueprint_id": world.bp1.id}, {"blueprint_id": world.bp2.id},
                       {"viewer": world.reviewer, "blueprint_id": world.bp2.id}):
            found = _ids(svc.find_duplicates(session, stem, exclude_item_id=item.id, threshold=0.6, limit=50,
                                             **kwargs))
            assert found == full_scan(stem, exclude_item_id=item.id, threshold=0.6, limit=50, **kwargs)
            assert not {i for i, _ in found} & retired
        twin = full_scan(stem, threshold=1.0, limit=50)
        if item.status != ItemStatus.RETIRED.value and duplicates.query_of(stem) is not None:
            assert (item.id, 1.0) in twin  # identical stems are found (the item itself, not excluded)
        else:
            assert item.id not in {i for i, _ in twin}  # retired or empty: never found
        assert _ids(svc.find_duplicates(session, stem, threshold=1.0, limit=50)) == twin


def _count_statements(session):
    counter = {"n": 0}

    def before(*_args):
        counter["n"] += 1

    return counter, before


def test_lookup_runs_the_same_statements_for_10_and_300_items(session):
    w = World(session)
    w.add(session, 10)
    query = w.items[3].current_version.stem_html
    session.flush()
    engine = session.get_bind()

    def statements() -> int:
        counter, before = _count_statements(session)
        event.listen(engine, "before_cursor_execute", before)
        try:
            found = svc.find_duplicates(session, query, exclude_item_id=w.items[3].id, threshold=0.3, limit=5)
        finally:
            event.remove(engine, "before_cursor_execute", before)
        assert found
        return counter["n"]

    small = statements()
    w.add(session, 290)
    session.flush()
    assert statements() == small <= 3


def _bands(session, item_id):
    return [k for _, k in session.execute(select(ItemBand.band, ItemBand.key)
                                          .where(ItemBand.item_id == item_id).order_by(ItemBand.band))]


OHM = "欧姆定律适用于纯电阻电路，下列关于电流与电压关系的说法正确的是？"
MOTOR = "三相异步电动机的同步转速与电源频率和磁极对数有关，下列说法哪项正确？"


def test_index_follows_edits_revisions_and_retirement(session):
    w = World(session)
    reviewer2 = make_user(session, Role.ITEM_REVIEWER)
    assign(session, reviewer2, w.bp1.occupation_id)
    item = svc.create_item(session, w.writer, point_id=w.bp1.points[0].id, item_type="single_choice",
                           content=single_choice(OHM))
    assert _bands(session, item.id) == duplicates.band_keys(OHM)
    assert [i.id for i, _ in svc.find_duplicates(session, OHM)] == [item.id]

    svc.revise_item(session, w.writer, item.id, single_choice(MOTOR))  # a draft: edited in place
    assert _bands(session, item.id) == duplicates.band_keys(MOTOR)
    assert svc.find_duplicates(session, OHM) == []
    assert [i.id for i, _ in svc.find_duplicates(session, MOTOR)] == [item.id]

    svc.submit_item(session, w.writer, item.id)
    svc.review_item(session, w.reviewer, item.id)
    svc.approve_item(session, reviewer2, item.id)
    svc.revise_item(session, w.writer, item.id, single_choice(OHM))  # frozen: a new version
    assert item.current_version.number == 2
    assert _bands(session, item.id) == duplicates.band_keys(OHM)
    assert [i.id for i, _ in svc.find_duplicates(session, OHM)] == [item.id]
    assert svc.find_duplicates(session, MOTOR) == []

    svc.submit_item(session, w.writer, item.id)
    svc.review_item(session, w.reviewer, item.id)
    svc.approve_item(session, reviewer2, item.id)
    svc.retire_item(session, w.centre, item.id, "过时")
    assert svc.find_duplicates(session, OHM) == []


def test_reindex_all_rebuilds_the_same_rows(session, world):
    before = session.execute(select(ItemBand.item_id, ItemBand.band, ItemBand.key)
                             .order_by(ItemBand.item_id, ItemBand.band)).all()
    assert len(before) == len(world.items) * duplicates.BANDS
    session.execute(ItemBand.__table__.delete())
    assert stem_index.reindex_all(session, batch=64) == len(world.items)
    assert session.execute(select(ItemBand.item_id, ItemBand.band, ItemBand.key)
                           .order_by(ItemBand.item_id, ItemBand.band)).all() == before


def test_malformed_or_missing_stored_signatures_are_indexed_from_the_stem(session):
    w = World(session)
    item = svc.create_item(session, w.writer, point_id=w.bp1.points[0].id, item_type="single_choice",
                           content=single_choice(OHM))
    for stored in (None, b"short"):
        item.current_version.minhash = stored
        stem_index.index_item(session, item)
        assert _bands(session, item.id) == duplicates.band_keys(OHM)


def test_enemy_suggestions_filter_by_blueprint_before_the_limit(session):
    """Many closer matches on another blueprint used to fill the limit, so the one on the
    item's own blueprint was never suggested."""
    w = World(session)
    item = svc.create_item(session, w.writer, point_id=w.bp1.points[0].id, item_type="single_choice",
                           content=single_choice(MOTOR))
    near = svc.create_item(session, w.writer, point_id=w.bp1.points[1].id, item_type="single_choice",
                           content=single_choice("三相异步电动机的同步转速与电源频率有关，下列哪项说法正确？"))
    for k in range(enemy_svc.SUGGEST_LIMIT * 3 + 2):  # identical stems on the other blueprint
        svc.create_item(session, w.writer, point_id=w.bp2.points[k % len(w.bp2.points)].id,
                        item_type="single_choice", content=single_choice(MOTOR))
    assert [i.id for i, _ in enemy_svc.suggest_enemies(session, item, w.centre)] == [near.id]
