"""Near-duplicate search: the persistent band index against the old full scan, same run.

Run from the repository root::

    python -m benchmarks.bench_duplicates                     # or: make bench-duplicates
    python -m benchmarks.bench_duplicates --sizes 1000,10000  # smaller banks only
    python -m benchmarks.bench_duplicates --db postgresql://postgres@127.0.0.1:5432/bench_dup

For each bank size a fresh database (SQLite in a temporary directory unless ``--db``) gets a
bank of that many current item versions through a bulk path that writes the same rows the
services write (``item``, ``item_version`` with its MinHash signature, and the ``item_band``
keys of :func:`itembank.duplicates.band_keys`). Stems are random two-character words from a
3,000-character alphabet in families: one in five has near-duplicates in the bank. Then:

* ``item page``: what the item detail page asks, :func:`itembank.items.find_duplicates` for the
  item's stem (the page's list) and :func:`itembank.enemies.suggest_enemies` (the enemy panel),
  median over 20 items; ``old``: the same two lookups as before issue 16 (a copy of the removed
  code below): every current stem loaded into a fresh in-memory index, per lookup;
* ``import``: the duplicate warnings of a 1,000-row import whose rows resemble each other and
  the bank: :func:`itembank.item_excel._duplicate_warnings`; ``old``: the removed version (the
  whole bank loaded into an index, and the in-file index's band matrix rebuilt for every row).

Results go to ``benchmarks/results/duplicates.md`` with the command. Targets (issue 16 point 1):
item page and editor save ≤ 100 ms at 100k items; a 1,000-row import's warnings ≤ 2 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from sqlalchemy import insert, select, text

RESULTS = Path(__file__).with_name("results") / "duplicates.md"
_ALPHABET = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]


# ---------------------------------------------------------------- the old code (baseline only)


class OldDuplicateIndex:
    """itembank.duplicates.DuplicateIndex before issue 16: a band matrix rebuilt on the first
    query after any add."""

    def __init__(self) -> None:
        self._ids: list[Hashable] = []
        self._sets: list[frozenset[int]] = []
        self._sigs: list[Any] = []
        self._live: list[bool] = []
        self._row: dict[Hashable, int] = {}
        self._matrix: Any = None

    def add(self, item_id: Hashable, text_: str, stored_signature: bytes | None = None) -> None:
        from itembank import duplicates as d

        ids = d._shingle_ids(d.normalise(text_))
        sig = d.signature_from_bytes(stored_signature) if stored_signature is not None else None
        if sig is None:
            sig = d._minhash(ids)
        self._row[item_id] = len(self._ids)
        self._ids.append(item_id)
        self._sets.append(frozenset(ids.tolist()))
        self._sigs.append(sig)
        self._live.append(bool(ids.size))
        self._matrix = None

    def find(self, text_: str, threshold: float, *, exclude: Iterable[Hashable] = ()) -> list[tuple[Hashable, float]]:
        from itembank import duplicates as d

        ids = d._shingle_ids(d.normalise(text_))
        if ids.size == 0 or not self._ids:
            return []
        query = frozenset(ids.tolist())
        if self._matrix is None:
            self._matrix = d._band_keys(np.stack(self._sigs))
        hits = (self._matrix == d._band_keys(d._minhash(ids)[None, :])).any(axis=1)
        skip = set(exclude)
        found = []
        for row in np.flatnonzero(hits).tolist():
            if not self._live[row] or self._ids[row] in skip:
                continue
            sim = d.jaccard(query, self._sets[row])
            if sim >= threshold:
                found.append((self._ids[row], sim))
        found.sort(key=lambda pair: -pair[1])
        return found


def old_find_duplicates(session: Any, stem_html: str, *, exclude_item_id: int | None = None,
                        threshold: float = 0.8, limit: int = 5) -> list[tuple[Any, float]]:
    from itembank.models import Item, ItemStatus, ItemVersion

    rows = session.execute(select(Item.id, ItemVersion.stem_html, ItemVersion.minhash)
                           .join(ItemVersion, ItemVersion.id == Item.current_version_id)
                           .where(Item.status != ItemStatus.RETIRED.value)).all()
    index = OldDuplicateIndex()
    for item_id, stem, stored in rows:
        if item_id != exclude_item_id:
            index.add(item_id, stem, stored_signature=stored)
    found = index.find(stem_html, threshold)[:limit]
    return [(session.get(Item, item_id), sim) for item_id, sim in found]


def old_item_page(session: Any, item: Any) -> None:
    from itembank import enemies

    stem = item.current_version.stem_html
    old_find_duplicates(session, stem, exclude_item_id=item.id)
    found = old_find_duplicates(session, stem, exclude_item_id=item.id, threshold=enemies.SUGGEST_THRESHOLD,
                                limit=enemies.SUGGEST_LIMIT * 3)
    already = enemies.enemies_of(session, item)
    [(o, s) for o, s in found if o.id not in already and o.point.blueprint_id == item.point.blueprint_id]


def old_warnings(session: Any, rows: list[Any]) -> int:
    from itembank.models import Item, ItemStatus, ItemVersion

    bank = OldDuplicateIndex()
    codes = {}
    for item_id, code, stem, stored in session.execute(
            select(Item.id, Item.code, ItemVersion.stem_html, ItemVersion.minhash)
            .join(ItemVersion, ItemVersion.id == Item.current_version_id)
            .where(Item.status != ItemStatus.RETIRED.value)):
        bank.add(item_id, stem, stored_signature=stored)
        codes[item_id] = code
    found = 0
    in_file = OldDuplicateIndex()
    for row in rows:
        found += len(in_file.find(row.cleaned.stem_html, 0.8)[:3])
        found += len([codes[h] for h, _ in bank.find(row.cleaned.stem_html, 0.8)[:3]])
        in_file.add(row.number, row.cleaned.stem_html)
    return found


# ---------------------------------------------------------------- the bank


def _stem(rng: random.Random, words: list[str]) -> str:
    return "关于" + "".join(words) + "的说法正确的是？"


def _families(rng: random.Random, n: int) -> list[str]:
    stems: list[str] = []
    while len(stems) < n:
        words = ["".join(rng.choices(_ALPHABET, k=2)) for _ in range(rng.randint(10, 25))]
        stems.append(_stem(rng, words))
        if rng.random() < 0.2:
            for _ in range(rng.randint(1, 3)):
                variant = list(words)
                variant[rng.randrange(len(variant))] = "".join(rng.choices(_ALPHABET, k=2))
                stems.append(_stem(rng, variant))
    return stems[:n]


def build_bank(session: Any, n: int, rng: random.Random) -> Any:
    """``n`` active items with current versions, signatures and band keys, in bulk."""
    from foundation.roles import Role
    from itembank import duplicates
    from itembank.models import Item, ItemBand, ItemVersion
    from tests.factories import make_blueprint, make_user

    centre = make_user(session, Role.CENTRE_ADMIN)
    writer = make_user(session, Role.QUESTION_WRITER)
    blueprints = [make_blueprint(session, centre) for _ in range(4)]
    points = [p for bp in blueprints for p in bp.points]
    session.flush()
    stems = _families(rng, n)
    spec = '{"key": ["B"], "options": [{"html": "A"}, {"html": "B"}, {"html": "C"}, {"html": "D"}]}'
    step = 5000
    for start in range(0, n, step):
        chunk = range(start, min(n, start + step))
        session.execute(insert(Item), [
            {"id": k + 1, "code": f"B-{k + 1:06d}", "point_id": points[k % len(points)].id, "level": 4,
             "item_type": "single_choice", "status": "active", "author_id": writer.id, "is_pretest": False}
            for k in chunk])
        sigs = {k: duplicates.signature(stems[k]).tobytes() for k in chunk}
        session.execute(insert(ItemVersion), [
            {"id": k + 1, "item_id": k + 1, "number": 1, "stem_html": stems[k], "spec_json": spec,
             "author_id": writer.id, "minhash": sigs[k], "frozen": True} for k in chunk])
        session.execute(insert(ItemBand), [
            {"item_id": k + 1, "band": b, "key": key}
            for k in chunk for b, key in enumerate(duplicates.band_keys(stems[k], sigs[k]))])
    session.execute(text("UPDATE item SET current_version_id = id"))
    session.commit()
    return SimpleNamespace(centre=centre, stems=stems)


def _import_rows(rng: random.Random, bank_stems: list[str]) -> list[Any]:
    """1,000 new rows: half copies or near copies of bank stems, a fifth near copies of
    earlier rows, the rest new."""
    rows: list[Any] = []
    for number in range(2, 1002):
        r = rng.random()
        if r < 0.5:
            stem = rng.choice(bank_stems).replace("关于", "关于电工", 1)
        elif r < 0.7 and rows:
            stem = rng.choice(rows).cleaned.stem_html.replace("的说法", "之说法")
        else:
            stem = _families(rng, 1)[0]
        rows.append(SimpleNamespace(number=number, action="create", existing=None,
                                    cleaned=SimpleNamespace(stem_html=stem)))
    return rows


def _time(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(size: int, db_url: str | None, old_max: int) -> dict[str, Any]:
    from foundation.db import Base
    from itembank import enemies, item_excel
    from itembank import items as svc
    from itembank.models import Item
    from tests.conftest import TEST_CONFIG
    from web import create_app
    from web.extensions import db

    rng = random.Random(size)  # noqa: S311 - a reproducible benchmark bank
    tmp = tempfile.mkdtemp(prefix="bench_dup_")
    url = db_url or f"sqlite:///{tmp}/bank.db"
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
        session = db.session
        t0 = time.perf_counter()
        world = build_bank(session, size, rng)
        build_s = time.perf_counter() - t0
        sample = [session.get(Item, rng.randrange(size) + 1) for _ in range(20)]
        centre = session.merge(world.centre)

        def new_page(item: Any) -> None:
            svc.find_duplicates(session, item.current_version.stem_html, exclude_item_id=item.id, viewer=centre)
            enemies.suggest_enemies(session, item, centre)

        new_page_s = statistics.median(_time(lambda i=i: new_page(i), 3) for i in sample)
        rows = _import_rows(rng, world.stems)
        new_import_s = _time(lambda: item_excel._duplicate_warnings(session, rows), 3)
        warnings = len(item_excel._duplicate_warnings(session, rows))
        result = {"size": size, "build_s": build_s, "new_page_ms": new_page_s * 1000, "new_import_s": new_import_s,
                  "warnings": warnings, "old_page_ms": None, "old_import_s": None}
        if size <= old_max:
            result["old_page_ms"] = statistics.median(_time(lambda i=i: old_item_page(session, i), 1)
                                                      for i in sample[:5]) * 1000
            result["old_import_s"] = _time(lambda: old_warnings(session, rows), 1)
            assert old_warnings(session, rows) == warnings  # same warnings, old and new
        session.remove()
        db.engine.dispose()  # the SQLite file stays in its temporary directory; --db is reset on the next run
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--db", default=os.environ.get("BENCH_DB"), help="database URL (default: SQLite)")
    parser.add_argument("--old-max", type=int, default=100_000, help="largest bank the old code is timed on")
    args = parser.parse_args()
    results = []
    for size in args.sizes.split(","):
        results.append(run(int(size), args.db, args.old_max))
        print(results[-1], flush=True)

    def ratio(old: float | None, new: float) -> str:
        return f"{old / new:.0f}×" if old else "—"

    lines = ["| bank items | item page old (ms) | item page new (ms) | ratio | 1,000-row import old (s) | "
             "import new (s) | ratio | warnings |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        old_page = f"{r['old_page_ms']:.0f}" if r["old_page_ms"] else "—"
        old_import = f"{r['old_import_s']:.2f}" if r["old_import_s"] else "—"
        page_ratio = ratio(r["old_page_ms"], r["new_page_ms"])
        lines.append(f"| {r['size']:,} | {old_page} | {r['new_page_ms']:.1f} | {page_ratio}"
                     f" | {old_import} | {r['new_import_s']:.2f} | {ratio(r['old_import_s'], r['new_import_s'])}"
                     f" | {r['warnings']} |")
    table = "\n".join(lines)
    print(table)
    command = "python -m benchmarks.bench_duplicates " + " ".join(sys.argv[1:])
    db_name = (args.db or "sqlite").split("://")[0]
    RESULTS.write_text(
        f"# Near-duplicate search: band index vs full scan\n\n"
        f"- Command: `{command.strip()}` (from the project root)\n"
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; database: {db_name}; "
        f"Python {platform.python_version()}; "
        f"numpy {np.__version__}; {os.cpu_count()} CPUs (shared)\n"
        "- item page = find_duplicates + suggest_enemies for one item (median of 20 items; old: 5 items, once);\n"
        "  import = the duplicate warnings of 1,000 new rows (median of 3; old: once). Old and new warnings are"
        " checked equal.\n\n" + table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
