"""The content of locked paper forms, read once per process (the exam room's hottest read).

Every answer validates against its item's spec and every ``state``/``start``/``submit`` renders
the form's items; loading a 100-item form with its pinned versions for each event cost more
than the rest of the event. A form of a **locked** paper never changes (locking is final and
the versions it pins are immutable), so its content is kept in memory, keyed by form id, and
shared by every event of the process. Forms of papers that are not locked are read afresh
each time and never cached.

Answer keys are in :attr:`FormItem.spec` (validation and scoring need them); this module only
holds them in server memory, and :func:`examroom.attempts.candidate_view` sends nothing but
``public``.

Tests whose transactions are rolled back reuse ids on SQLite, so they call :func:`clear`.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from itembank.itemtypes import get_type
from itembank.models import Item, ItemVersion, Paper, PaperForm, PaperItem, PaperStatus

__all__ = ["FormItem", "clear", "form_items"]

#: Forms kept per process (a sitting uses a few; least recently used ones are dropped).
MAX_FORMS = 256


@dataclass(frozen=True, slots=True)
class FormItem:
    """One item of a form, at its 1-based position, from the pinned version."""

    paper_item_id: int
    item_type: str
    points: float
    stem_html: str
    spec: Mapping[str, Any]  # the whole spec, keys included: server memory only
    public: Mapping[str, Any]  # the type's candidate-safe view (options in stored order)


_cache: OrderedDict[int, tuple[FormItem, ...]] = OrderedDict()
_lock = threading.Lock()


def form_items(session: Session, form_id: int) -> tuple[FormItem, ...]:
    """The form's items in position order (index 0 is position 1)."""
    with _lock:
        hit = _cache.get(form_id)
        if hit is not None:
            _cache.move_to_end(form_id)
            return hit
    rows = session.execute(
        select(PaperItem.id, Item.item_type, PaperItem.points, ItemVersion.stem_html, ItemVersion.spec_json,
               Paper.status)
        .join(Item, Item.id == PaperItem.item_id)
        .join(ItemVersion, ItemVersion.id == PaperItem.item_version_id)
        .join(PaperForm, PaperForm.id == PaperItem.form_id)
        .join(Paper, Paper.id == PaperForm.paper_id)
        .where(PaperItem.form_id == form_id)
        .order_by(PaperItem.position)
    ).all()
    items = []
    for paper_item_id, item_type, points, stem_html, spec_json, _status in rows:
        spec = json.loads(spec_json)
        items.append(FormItem(paper_item_id, item_type, float(points), stem_html, spec,
                              get_type(item_type).public_view(spec)))
    content = tuple(items)
    if rows and rows[0].status == PaperStatus.LOCKED.value:
        with _lock:
            _cache[form_id] = content
            while len(_cache) > MAX_FORMS:
                _cache.popitem(last=False)
    return content


def clear() -> None:
    """Forget every cached form (tests that roll back and reuse ids)."""
    with _lock:
        _cache.clear()
