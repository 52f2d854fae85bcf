"""``papers.build_pool`` loads a pool in a constant number of statements, whatever its size."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import event

from foundation.roles import Role
from itembank import papers as svc
from itembank.itemtypes import ITEM_TYPES
from itembank.models import EnemyMember, EnemySet, Item, ItemVersion, Paper, PaperForm, PaperItem
from tests.factories import make_blueprint, make_institution, make_user

_codes = itertools.count(1)


def seed_items(session, bp, author, n_items: int) -> list[Item]:
    """``n_items`` active items of every type over the blueprint's points: some calibrated, some
    pretest, some without a difficulty rating; enemy pairs of the same type; a locked paper
    using every seventh item (recent use and exposure)."""
    points = bp.points
    kinds = list(ITEM_TYPES)
    items = []
    for k in range(n_items):
        item = Item(code=f"Q{next(_codes):06d}", point_id=points[k % len(points)].id, level=bp.level,
                    item_type=kinds[k % len(kinds)], status="active", author_id=author.id,
                    is_pretest=k % 6 == 5, irt_a=1.2 if k % 3 == 0 else None,
                    irt_b=0.3 if k % 3 == 0 else None, irt_c=0.1 if k % 9 == 0 else None)
        session.add(item)
        items.append(item)
    session.flush()
    for k, item in enumerate(items):
        version = ItemVersion(item_id=item.id, stem_html=f"<p>题{k}</p>", spec_json="{}", author_id=author.id,
                              difficulty=None if k % 4 == 3 else 0.3 + 0.05 * (k % 10))
        session.add(version)
        session.flush()
        item.current_version_id = version.id
    for k in range(0, n_items - 7, 3):  # k and k + 7 are of the same type
        session.add(EnemySet(name=f"互斥{k}", members=[EnemyMember(item_id=items[k].id),
                                                      EnemyMember(item_id=items[k + 7].id)]))
    inst = make_institution(session)
    paper = Paper(name="已锁定试卷", institution_id=inst.id, blueprint_id=bp.id, mode="fixed", layout_json="[]",
                  created_by_id=author.id, status="locked", locked_at=dt.datetime(2026, 1, 5))
    form = PaperForm(label="A")
    paper.forms.append(form)
    for position, item in enumerate(items[::7], start=1):
        form.items.append(PaperItem(position=position, item_id=item.id, item_version_id=item.current_version_id,
                                    points=1.0))
    session.add(paper)
    session.flush()
    return items


def count_statements(session, fn):
    seen: list[str] = []
    connection = session.connection()

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", before)
    try:
        out = fn()
    finally:
        event.remove(connection, "before_cursor_execute", before)
    return out, seen


@pytest.mark.parametrize("types", [None, {"single_choice", "true_false"}, {"essay"}])
def test_build_pool_statements_do_not_grow_with_the_pool(session, types):
    centre = make_user(session, Role.CENTRE_ADMIN)
    small_bp = make_blueprint(session, centre, points_per_range=3)
    large_bp = make_blueprint(session, centre, points_per_range=3)
    seed_items(session, small_bp, centre, 10)
    seed_items(session, large_bp, centre, 200)
    counts = {}
    for name, bp in (("small", small_bp), ("large", large_bp)):
        session.expire_all()  # nothing from the seeding may be served from the identity map
        bank, statements = count_statements(session, lambda bp=bp: svc.build_pool(session, bp, types=types))
        wanted = set(ITEM_TYPES) if types is None else types
        assert set(bank.pool.item_types.tolist()) <= wanted and bank.pool.n_items > 0
        assert bank.pool.enemy_sets or types == {"essay"}
        counts[name] = len(statements)
    assert counts["small"] == counts["large"], counts
    assert counts["large"] <= 8


def test_build_pool_values_per_item(session):
    """The one-query load gives every item the parameters and eligibility it had item by item."""
    centre = make_user(session, Role.CENTRE_ADMIN)
    bp = make_blueprint(session, centre, points_per_range=3)
    items = seed_items(session, bp, centre, 40)
    session.expire_all()
    bank = svc.build_pool(session, bp, types={"single_choice", "multiple_choice", "true_false"})
    by_id = {i.id: i for i in items}
    used = {pi.item_id for pi in session.query(PaperItem)}
    assert bank.pool.n_items == sum(1 for i in items if i.item_type in {"single_choice", "multiple_choice",
                                                                         "true_false"})
    for k, item_id in enumerate(bank.pool.item_ids.tolist()):
        item = by_id[item_id]
        difficulty = item.current_version.difficulty or svc.DEFAULT_DIFFICULTY
        want_b = item.irt_b if item.irt_b is not None else float(svc.irtmodel.difficulty_to_b(difficulty))
        assert bank.pool.b[k] == pytest.approx(want_b)
        assert bank.pool.a[k] == (item.irt_a if item.irt_a is not None else 1.0)
        assert bank.pool.c[k] == (item.irt_c or 0.0)
        usable = (not item.is_pretest or item.irt_a is not None) and item_id not in used
        assert bool(bank.pool.eligible[k]) == usable
    in_pool = set(bank.pool.item_ids.tolist())
    members = {frozenset(int(bank.pool.item_ids[i]) for i in s) for s in bank.pool.enemy_sets}
    expected = {frozenset(m.item_id for m in s.members) for s in session.query(EnemySet)}
    assert members == {s for s in expected if s <= in_pool} and members
