"""Seating (编排座位) and per-candidate order, pure: no database, no clock, no global randomness.

* :func:`assign_seats` puts candidates on a room's grid in a shuffled but reproducible order and
  gives each seat a parallel form (卷别) so that no two seats sharing an edge (left, right,
  front, back) hold the same form when there are at least two forms;
  :func:`adjacent_conflicts` checks exactly that.
* :func:`shuffled_order` and :func:`shuffled_options` are the reproducible permutations of a
  candidate's items and of each item's options, from the seed stored on the seat.

Every permutation comes from a counter-mode SHA-256 stream, not from :mod:`random`, so the
same seed gives the same order on any Python version and platform — an order can be rebuilt
for a review years later.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator, Sequence

__all__ = [
    "SeatAssignment",
    "adjacent_conflicts",
    "assign_seats",
    "derive_seed",
    "form_pattern",
    "shuffled_options",
    "shuffled_order",
]

_SEED_BITS = 63  # fits a signed BIGINT column


def _stream(*parts: object) -> Iterator[int]:
    """An endless stream of 64-bit integers determined by ``parts``."""
    key = "\x1f".join(str(p) for p in parts).encode()
    counter = 0
    while True:
        block = hashlib.sha256(key + b"\x1e" + counter.to_bytes(8, "big")).digest()
        for i in range(0, 32, 8):
            yield int.from_bytes(block[i : i + 8], "big")
        counter += 1


def _below(stream: Iterator[int], n: int) -> int:
    """A uniform integer in ``[0, n)`` (rejection sampling, no modulo bias)."""
    limit = (1 << 64) - ((1 << 64) % n)
    while True:
        value = next(stream)
        if value < limit:
            return value % n


def _permutation(n: int, *parts: object) -> list[int]:
    """Fisher–Yates over ``range(n)`` driven by the stream of ``parts``."""
    if n < 0:
        raise ValueError("n must be >= 0")
    order = list(range(n))
    stream = _stream(*parts)
    for i in range(n - 1, 0, -1):
        j = _below(stream, i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def derive_seed(seed: int, *parts: object) -> int:
    """A 63-bit seed derived from ``seed`` and ``parts`` (e.g. a candidate id)."""
    return next(_stream("derive", seed, *parts)) >> (64 - _SEED_BITS)


def shuffled_order(n_items: int, seed: int) -> list[int]:
    """The order in which a candidate sees the items: a permutation of ``range(n_items)``;
    entry k is the 0-based position in the form of the item shown k-th."""
    return _permutation(n_items, "items", seed)


def shuffled_options(n_options: int, seed: int, item_position: int) -> list[int]:
    """The order of the options of the item at ``item_position`` (its position in the form,
    so the order does not depend on where the shuffle put the item): a permutation of
    ``range(n_options)``; entry k is the 0-based index of the option shown k-th."""
    return _permutation(n_options, "options", seed, item_position)


@dataclasses.dataclass(frozen=True)
class SeatAssignment:
    """One occupied seat: the candidate, their form and the seed of their item/option order."""

    candidate_id: int
    form: str
    order_seed: int


Grid = list[list[SeatAssignment | None]]


def _stride(n_forms: int) -> int:
    # Form index at (r, c) is (offset + c + stride * r) mod k. Left/right differ by 1 and
    # front/back by the stride, both nonzero mod k. For k >= 4 a stride of 2 also keeps the
    # diagonal neighbours (difference 1 or 3) apart.
    return 2 if n_forms >= 4 else 1


def form_pattern(rows: int, cols: int, n_forms: int, offset: int = 0) -> list[list[int]]:
    """Form index of every seat of a ``rows`` × ``cols`` grid: edge neighbours differ for k >= 2."""
    if n_forms < 1:
        raise ValueError("at least one form is needed")
    stride = _stride(n_forms)
    return [[(offset + c + stride * r) % n_forms for c in range(cols)] for r in range(rows)]


def assign_seats(
    candidate_ids: Sequence[int], rows: int, cols: int, forms: Sequence[str], seed: int
) -> Grid:
    """Seat the candidates on a ``rows`` × ``cols`` grid (``grid[r][c]``, 0-based).

    The candidates are shuffled by ``seed`` and fill the seats row by row from the front;
    unused seats are None. The forms follow a fixed pattern, rotated by ``seed``, in which no
    two edge-adjacent seats share a form when ``len(forms) >= 2``. Each seat gets its own
    order seed derived from ``seed`` and the candidate id. The same arguments always give the
    same grid. Raises ValueError for more candidates than seats, duplicate candidates,
    duplicate or missing forms, or a non-positive grid.
    """
    if rows < 1 or cols < 1:
        raise ValueError("the grid needs at least one row and one column")
    if len(candidate_ids) > rows * cols:
        raise ValueError(f"{len(candidate_ids)} candidates do not fit {rows}x{cols} seats")
    if len(set(candidate_ids)) != len(candidate_ids):
        raise ValueError("a candidate is listed twice")
    if not forms or len(set(forms)) != len(forms):
        raise ValueError("forms must be non-empty and distinct")
    order = _permutation(len(candidate_ids), "seats", seed)
    offset = next(_stream("forms", seed)) % len(forms)
    pattern = form_pattern(rows, cols, len(forms), offset)
    grid: Grid = [[None] * cols for _ in range(rows)]
    for position, index in enumerate(order):
        r, c = divmod(position, cols)
        candidate_id = candidate_ids[index]
        grid[r][c] = SeatAssignment(candidate_id, forms[pattern[r][c]], derive_seed(seed, "seat", candidate_id))
    return grid


Conflict = tuple[tuple[int, int], tuple[int, int]]


def adjacent_conflicts(grid: Sequence[Sequence[SeatAssignment | None]]) -> list[Conflict]:
    """Pairs of occupied edge-adjacent seats (left/right, front/back) with the same form,
    each pair once as ((r1, c1), (r2, c2)); empty for a valid seating."""
    conflicts: list[Conflict] = []
    for r, row in enumerate(grid):
        for c, seat in enumerate(row):
            if seat is None:
                continue
            for r2, c2 in ((r, c + 1), (r + 1, c)):
                if r2 < len(grid) and c2 < len(grid[r2]):
                    other = grid[r2][c2]
                    if other is not None and other.form == seat.form:
                        conflicts.append(((r, c), (r2, c2)))
    return conflicts
