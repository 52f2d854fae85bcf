"""The certificate's QR encoder (web.certificates.qr) gives, module for module, the symbol segno
gives for the same settings (error correction M, the fixed mask, no boosting), whatever the
payload's length (every version, each side of the codeword boundaries) and mode; the PDF's
dark runs redraw exactly that matrix."""

from __future__ import annotations

import random

import pytest
import segno

from web.certificates.pdf import QUIET, qr_runs
from web.certificates.qr import QR_MASK, qr_matrix

_LINK = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~"


def _segno(payload: str) -> list[bytes]:
    return [bytes(row) for row in segno.make(payload, error="m", micro=False, mask=QR_MASK, boost_error=False).matrix]


def _links() -> list[str]:
    rng = random.Random(14)  # noqa: S311 - test data
    # 35 + 2,296 = 2,331 bytes fill version 40-M
    lengths = [*range(0, 40), *range(40, 420, 7), *range(420, 2290, 97), 2296]
    return ["https://skills.example.cn/verify?s=" + "".join(rng.choice(_LINK) for _ in range(n)) for n in lengths]


def test_every_link_length_gives_segnos_symbol():
    versions = set()
    for payload in _links():
        assert qr_matrix(payload) == _segno(payload), len(payload)
        versions.add(len(qr_matrix(payload)))
    assert min(versions) == 29 and max(versions) == 177  # versions 3 to 40


@pytest.mark.parametrize("payload", ["2026120100001", "S000022990001263000001", "HTTPS://SKILLS.EXAMPLE.CN/V",
                                     "证书编号", "x", "ÄÖÜ über", "a" * 2331])
def test_other_modes_and_the_edges_give_segnos_symbol(payload):
    assert qr_matrix(payload) == _segno(payload)


def test_a_payload_too_long_for_any_version_is_refused_as_segno_refuses_it():
    with pytest.raises(segno.DataOverflowError):
        qr_matrix("a" * 2332)


def test_the_pdfs_runs_redraw_the_matrix():
    payload = _links()[300 // 7]
    side, runs = qr_runs(payload)
    matrix = qr_matrix(payload)
    assert side == len(matrix) + 2 * QUIET
    drawn = [bytearray(side) for _ in range(side)]
    for row, col, length in runs:
        drawn[row][col:col + length] = b"\x01" * length
    assert [bytes(r[QUIET:side - QUIET]) for r in drawn[QUIET:side - QUIET]] == matrix
