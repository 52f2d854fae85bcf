"""Near-duplicate stem detection (重题检测) for Chinese item text.

A stem is normalised (HTML stripped with :func:`itembank.sanitize.plain_text`, NFKC, case-
folded, punctuation, whitespace and control characters removed) and cut into overlapping
character ``k``-grams (shingles, ``k = 2`` by default: most Chinese words are two characters
long, so one changed word moves few bigrams). Similarity is the exact Jaccard index of the
two shingle sets.

To find candidates among thousands of stems without comparing all pairs, each stem gets a
MinHash signature of :data:`NUM_PERM` values; the signature is cut into :data:`BANDS` bands
of :data:`ROWS` rows and two stems become candidates when any band agrees exactly (LSH).
With 32 × 4 the chance that a pair with Jaccard ``s`` becomes a candidate is
``1 − (1 − s⁴)³²``: 0.87 at 0.5, 0.9998 at 0.7, ~1 at 0.8. Candidates are then confirmed by
exact Jaccard, so LSH only decides what is compared, never the reported similarity.

Shingles are encoded exactly as integers (each code point takes 21 bits), and the
"permutations" are the splitmix64 finaliser applied to ``shingle XOR seed_i`` with 128 fixed
seeds: a bijection on 64-bit integers per seed, evaluated for all shingles and seeds at
once in numpy.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Hashable, Iterable
from typing import Final

import numpy as np
from numpy.typing import NDArray

from itembank.sanitize import plain_text

SHINGLE_SIZE: Final = 2
NUM_PERM: Final = 128
BANDS: Final = 32
ROWS: Final = NUM_PERM // BANDS
SEED: Final = 20240601
DEFAULT_THRESHOLD: Final = 0.8

SIGNATURE_VERSION: Final = 1
"""Bump when SHINGLE_SIZE, NUM_PERM, SEED or the hashing change: stored signatures go stale.

Store it beside the signature (or recompute all signatures when it changes); the bytes
themselves carry no version.
"""
SIGNATURE_BYTES: Final = 4 * NUM_PERM

_U64 = np.uint64
_EMPTY: Final = np.iinfo(np.uint32).max
_PAD: Final = 0x1FFFFF  # not a code point: pads stems shorter than one shingle

Signature = NDArray[np.uint32]


def normalise(text: str) -> str:
    """Comparison form of a stem: text content, NFKC, case-folded, no punctuation or spaces.

    Symbols (``+ = Ω ° ℃``) and digits are kept: they often carry the item's meaning.
    """
    text = unicodedata.normalize("NFKC", plain_text(text)).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZC")


def _codes(norm: str) -> NDArray[np.uint64]:
    return np.frombuffer(norm.encode("utf-32-le"), dtype="<u4").astype(np.uint64)


def _shingle_ids(norm: str) -> NDArray[np.uint64]:
    """Unique shingle ids; a stem shorter than one shingle is a single padded shingle."""
    if not norm:
        return np.empty(0, dtype=np.uint64)
    codes = _codes(norm)
    if len(codes) < SHINGLE_SIZE:
        codes = np.concatenate([codes, np.full(SHINGLE_SIZE - len(codes), _PAD, dtype=np.uint64)])
    n = len(codes) - SHINGLE_SIZE + 1
    ids = np.zeros(n, dtype=np.uint64)
    for offset in range(SHINGLE_SIZE):
        ids = (ids << _U64(21)) | codes[offset : offset + n]
    return np.unique(ids)


def shingles(text: str) -> frozenset[int]:
    """The shingle set of a stem (after :func:`normalise`)."""
    return frozenset(_shingle_ids(normalise(text)).tolist())


def _mix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """splitmix64 finaliser; uint64 array arithmetic wraps modulo 2**64 by design."""
    x = x + _U64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
    return x ^ (x >> _U64(31))


# Derived with _mix itself rather than a numpy Generator, so stored signatures never depend on
# a numpy version's random stream.
_SEEDS: Final = _mix(np.arange(NUM_PERM, dtype=np.uint64) + _U64(SEED))
_BAND_WEIGHTS: Final = _mix(np.arange(ROWS, dtype=np.uint64) + _U64(SEED + NUM_PERM)) | _U64(1)


def _minhash(ids: NDArray[np.uint64]) -> Signature:
    if ids.size == 0:
        return np.full(NUM_PERM, _EMPTY, dtype=np.uint32)
    hashed = _mix(ids[:, None] ^ _SEEDS[None, :])  # (n_shingles, NUM_PERM)
    signature: Signature = (hashed.min(axis=0) >> _U64(32)).astype(np.uint32)
    return signature


def signature(text: str) -> Signature:
    """MinHash signature of a stem: ``NUM_PERM`` little-endian uint32 values.

    ``signature(text).tobytes()`` (``SIGNATURE_BYTES`` long) is what a database column
    stores; :func:`signature_from_bytes` reads it back.
    """
    return _minhash(_shingle_ids(normalise(text))).astype("<u4")


def signature_from_bytes(data: bytes) -> Signature | None:
    """The signature stored as ``signature(text).tobytes()``, or ``None`` if malformed."""
    if len(data) != SIGNATURE_BYTES:
        return None
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """Exact Jaccard index; two empty sets are not similar (0.0)."""
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def similarity(text_a: str, text_b: str) -> float:
    """Exact Jaccard similarity of two stems' shingle sets, in ``[0, 1]``."""
    return jaccard(shingles(text_a), shingles(text_b))


def estimated_similarity(sig_a: Signature, sig_b: Signature) -> float:
    """MinHash estimate of the Jaccard index: the share of equal signature values."""
    return float(np.mean(sig_a == sig_b))


def _band_keys(signatures: NDArray[np.uint32]) -> NDArray[np.uint64]:
    """One 64-bit key per band, shape ``(n, BANDS)``, hashing the band's ROWS values."""
    bands = signatures.reshape(-1, BANDS, ROWS).astype(np.uint64)
    return _mix((bands * _BAND_WEIGHTS).sum(axis=2, dtype=np.uint64))


def band_keys(text: str, stored_signature: bytes | None = None) -> list[int]:
    """The stem's :data:`BANDS` LSH keys as signed 64-bit integers (what the ``item_band``
    table stores), from the stored signature when it is well-formed, else from the text."""
    sig = signature_from_bytes(stored_signature) if stored_signature is not None else None
    if sig is None:
        sig = _minhash(_shingle_ids(normalise(text)))
    keys: list[int] = _band_keys(sig[None, :])[0].view(np.int64).tolist()
    return keys


Query = tuple[frozenset[int], list[int]]
"""A stem's shingle set and its signed band keys (:func:`query_of`)."""


def query_of(text: str) -> Query | None:
    """A query stem's shingle set and signed band keys, or ``None`` for an empty stem (which
    matches nothing)."""
    ids = _shingle_ids(normalise(text))
    if ids.size == 0:
        return None
    keys: list[int] = _band_keys(_minhash(ids)[None, :])[0].view(np.int64).tolist()
    return frozenset(ids.tolist()), keys


class DuplicateIndex:
    """Stems of an item bank, queryable for near duplicates.

    >>> index = DuplicateIndex([(1, "欧姆定律适用于纯电阻电路。"), (2, "三相异步电动机的转速与什么有关？")])
    >>> index.find("欧姆定律适用于纯电阻电路")
    [(1, 1.0)]

    Item ids are any hashable values. Adding an id again replaces its stem. Signatures
    may be passed in from the database (``signature(text).tobytes()``) to skip the MinHash
    step; malformed ones are recomputed from the text, which the exact check always needs.
    Each band key goes into a hash bucket as the stem is added, so adding between queries
    (an import checking each row against the rows before it) costs one stem, not a rebuild.
    """

    def __init__(self, items: Iterable[tuple[Hashable, str]] = ()) -> None:
        self._ids: list[Hashable] = []
        self._sets: list[frozenset[int]] = []
        self._live: list[bool] = []
        self._row: dict[Hashable, int] = {}
        self._buckets: dict[tuple[int, int], list[int]] = {}
        for item_id, text in items:
            self.add(item_id, text)

    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._row

    def add(self, item_id: Hashable, text: str, stored_signature: bytes | None = None) -> None:
        """Index one stem (replacing any earlier stem under the same id)."""
        ids = _shingle_ids(normalise(text))
        sig = signature_from_bytes(stored_signature) if stored_signature is not None else None
        if sig is None:
            sig = _minhash(ids)
        keys: list[int] = _band_keys(sig[None, :])[0].view(np.int64).tolist()
        self.add_query(item_id, (frozenset(ids.tolist()), keys) if ids.size else None)

    def add_query(self, item_id: Hashable, query: Query | None) -> None:
        """Index a stem already turned into :func:`query_of` (``None``: an empty stem)."""
        self.remove(item_id)
        row = len(self._ids)
        self._row[item_id] = row
        self._ids.append(item_id)
        self._sets.append(query[0] if query is not None else frozenset())
        self._live.append(query is not None)  # empty stems never match anything
        if query is not None:
            for band, key in enumerate(query[1]):
                self._buckets.setdefault((band, key), []).append(row)

    def remove(self, item_id: Hashable) -> None:
        """Forget a stem; unknown ids are ignored."""
        row = self._row.pop(item_id, None)
        if row is not None:
            self._live[row] = False
            self._sets[row] = frozenset()

    def find(
        self,
        text: str,
        threshold: float = DEFAULT_THRESHOLD,
        *,
        exclude: Iterable[Hashable] = (),
    ) -> list[tuple[Hashable, float]]:
        """Indexed items whose stems have exact Jaccard ``>= threshold`` with ``text``.

        Sorted by similarity, best first (ties in insertion order). ``exclude`` skips ids,
        e.g. the item being edited. Recall below a threshold of about 0.5 drops (LSH).
        """
        return self.find_query(query_of(text), threshold, exclude=exclude)

    def find_query(
        self,
        query: Query | None,
        threshold: float = DEFAULT_THRESHOLD,
        *,
        exclude: Iterable[Hashable] = (),
    ) -> list[tuple[Hashable, float]]:
        """:meth:`find` for a stem already turned into :func:`query_of`."""
        if not 0 < threshold <= 1:
            raise ValueError("threshold must be in (0, 1]")
        if query is None or not self._ids:
            return []
        rows: set[int] = set()
        for band, key in enumerate(query[1]):
            rows.update(self._buckets.get((band, key), ()))
        skip = set(exclude)
        found: list[tuple[Hashable, float]] = []
        for row in sorted(rows):
            if not self._live[row] or self._ids[row] in skip:
                continue
            sim = jaccard(query[0], self._sets[row])
            if sim >= threshold:
                found.append((self._ids[row], sim))
        found.sort(key=lambda pair: -pair[1])
        return found
