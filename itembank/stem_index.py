"""The bank's persistent near-duplicate index (重题检测索引).

Each item's current stem has its :data:`itembank.duplicates.BANDS` LSH band keys stored in
``item_band`` (:class:`itembank.models.ItemBand`), rewritten by :func:`index_item` whenever
the current version's stem changes (a new version, an in-place edit of a draft). A query
computes its own band keys, reads the items sharing any ``(band, key)`` with it, keeps those
that SQL finds in scope (not retired, readable by the viewer and, where asked, on the
blueprint) and confirms each by the exact Jaccard index of the shingle sets,
exactly as :class:`itembank.duplicates.DuplicateIndex` does over a full scan. A lookup is a
fixed number of statements whatever the bank's size.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from sqlalchemy import ColumnElement, delete, insert, select
from sqlalchemy.orm import Session

from itembank import duplicates
from itembank.models import BlueprintNode, Item, ItemBand, ItemStatus, ItemVersion

#: Keys per ``IN (...)`` list: far below every database's bound-parameter limit.
CHUNK = 500


def index_item(session: Session, item: Item) -> None:
    """Replace ``item``'s band keys with those of its current version's stem."""
    session.flush()
    session.execute(delete(ItemBand).where(ItemBand.item_id == item.id))
    version = item.current_version
    if version is None:
        return
    keys = duplicates.band_keys(version.stem_html, version.minhash)
    session.execute(insert(ItemBand), [{"item_id": item.id, "band": b, "key": k} for b, k in enumerate(keys)])


def reindex_all(session: Session, batch: int = 1000) -> int:
    """Rebuild ``item_band`` for every item from the stored signatures (or stems); returns the
    number of items indexed. For repairs and after a :data:`duplicates.SIGNATURE_VERSION` bump."""
    session.execute(delete(ItemBand))
    done, last = 0, 0
    while True:
        rows = session.execute(
            select(Item.id, ItemVersion.stem_html, ItemVersion.minhash)
            .join(ItemVersion, ItemVersion.id == Item.current_version_id)
            .where(Item.id > last).order_by(Item.id).limit(batch)).all()
        if not rows:
            return done
        session.execute(insert(ItemBand), [
            {"item_id": item_id, "band": b, "key": k}
            for item_id, stem, stored in rows for b, k in enumerate(duplicates.band_keys(stem, stored))])
        done += len(rows)
        last = rows[-1][0]


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def find_many(
    session: Session,
    stems: Sequence[str],
    *,
    threshold: float = duplicates.DEFAULT_THRESHOLD,
    excludes: Sequence[Collection[int]] | None = None,
    where: Sequence[ColumnElement[bool]] = (),
    blueprint_id: int | None = None,
    queries: Sequence[duplicates.Query | None] | None = None,
) -> list[list[tuple[int, float]]]:
    """For each stem, the ids of current, not retired items whose stems have exact Jaccard
    ``>= threshold`` with it, with the similarity, best first (ties by item id).

    ``excludes[i]`` are item ids skipped for ``stems[i]``; ``where`` are extra clauses on
    :class:`Item` (a viewer's access); ``blueprint_id`` keeps items on that blueprint only.
    ``queries`` may give the stems already turned into :func:`duplicates.query_of`.
    The statements issued depend on the number of distinct band keys, not on the bank.
    """
    if not 0 < threshold <= 1:
        raise ValueError("threshold must be in (0, 1]")
    if queries is None:
        queries = [duplicates.query_of(stem) for stem in stems]
    wanted = sorted({key for q in queries if q is not None for key in q[1]})
    buckets: dict[tuple[int, int], list[int]] = {}
    for chunk in _chunks(wanted):
        # The band index alone first: joined to the scope, a planner may start from the
        # blueprint's items instead (SQLite did: a second per lookup at 100k items).
        stmt = select(ItemBand.band, ItemBand.key, ItemBand.item_id).where(ItemBand.key.in_(chunk))
        for band, key, item_id in session.execute(stmt):
            buckets.setdefault((band, key), []).append(item_id)
    candidates: list[set[int]] = []
    for q in queries:
        found: set[int] = set()
        if q is not None:
            for band, key in enumerate(q[1]):
                found.update(buckets.get((band, key), ()))
        candidates.append(found)
    ids = sorted(set().union(*candidates))
    sets: dict[int, frozenset[int]] = {}
    for chunk in _chunks(ids):
        in_scope = (select(Item.id, ItemVersion.stem_html).join(ItemVersion, ItemVersion.id == Item.current_version_id)
                    .where(Item.id.in_(chunk), Item.status != ItemStatus.RETIRED.value, *where))
        if blueprint_id is not None:
            in_scope = in_scope.join(BlueprintNode, BlueprintNode.id == Item.point_id).where(
                BlueprintNode.blueprint_id == blueprint_id)
        for item_id, stem in session.execute(in_scope):  # only the candidates in scope
            sets[item_id] = duplicates.shingles(stem)
    results: list[list[tuple[int, float]]] = []
    for i, (q, found) in enumerate(zip(queries, candidates, strict=True)):
        skip = set(excludes[i]) if excludes is not None else set()
        hits: list[tuple[int, float]] = []
        if q is not None:
            for item_id in sorted((found & sets.keys()) - skip):
                sim = duplicates.jaccard(q[0], sets[item_id])
                if sim >= threshold:
                    hits.append((item_id, sim))
        hits.sort(key=lambda pair: -pair[1])
        results.append(hits)
    return results
