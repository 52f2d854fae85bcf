"""The certificate's QR code, encoded faster than segno's generic path gives it, module for module
the same symbol as ``segno.make(payload, error="m", micro=False, mask=QR_MASK, boost_error=False)``
(tests/certificates/test_qr.py compares them).

segno spends about 9 ms on a version-13 symbol (the certificate's), almost all of it in
pure-Python loops: writing the data bit by bit, the Reed–Solomon division (byte by byte, each
byte a loop over the error codewords), placing every bit of the message in the matrix (a walk
over every module) and the data mask (a function call per module). Here a link (ASCII with a
lower-case letter: one byte-mode segment, as segno makes it) is written as integers, and
whatever does not change per payload is prepared once per version: the error correction
polynomial times each byte value as one integer (a division step is one shift and one XOR),
the matrix of the function patterns with the format and version information for the fixed
mask, the order in which the message's bits fill the matrix and the mask's bits in that order.
A symbol is then an integer XOR and one C-level gather of its modules: 0.4 ms. Any other
payload's data is prepared by segno (its mode detection and bit stream), the rest as above.
"""

from __future__ import annotations

from functools import cache
from itertools import chain, zip_longest
from operator import itemgetter

from segno import consts
from segno import encoder as enc

__all__ = ["QR_MASK", "qr_matrix"]

#: The QR mask pattern. Choosing the best of the eight (segno's default) scores every one of them
#: and took 25–50 ms a certificate, most of its rendering time; any mask makes a valid symbol
#: (ISO/IEC 18004 leaves the choice to the encoder), and error correction level M is kept.
QR_MASK = 2
_ERROR = consts.ERROR_LEVEL_M
_BITS = bytes.maketrans(b"01", b"\x00\x01")


@cache
def _times_generator(errors: int) -> tuple[int, ...]:
    """For each byte value, the generator polynomial of ``errors`` error codewords (without its
    leading 1) times that value in GF(256), as one big-endian integer of ``errors`` bytes."""
    gen, log, exp = consts.GEN_POLY[errors], consts.GALIOS_LOG, consts.GALIOS_EXP
    table = [0]
    for value in range(1, 256):
        table.append(int.from_bytes(bytes(exp[log[value] + g] for g in gen), "big"))
    return tuple(table)


def _error_block(block: bytes, errors: int) -> bytes:
    """The Reed–Solomon error codewords of one data block (the remainder of its division by the
    generator polynomial), one integer shift and XOR per data byte."""
    table = _times_generator(errors)
    top = 8 * (errors - 1)
    keep = (1 << 8 * errors) - 1
    remainder = 0
    for byte in block:
        remainder = ((remainder << 8) & keep) ^ table[(remainder >> top) ^ byte]
    return remainder.to_bytes(errors, "big")


def _remainder_bits(version: int) -> int:
    if 2 <= version <= 6:
        return 7
    if 14 <= version <= 20 or 28 <= version <= 34:
        return 3
    if 21 <= version <= 27:
        return 4
    return 0


@cache
def _layout(version: int) -> tuple[int, int, int, bytes, itemgetter[tuple[int, ...]]]:
    """What does not depend on the payload, for one version with error correction M and the
    fixed mask: modules a side, bits of the message, the mask's bits in the order the message
    fills the matrix (as an integer), the matrix of the function patterns with the format and
    version information (free modules 0, row by row), and a getter that gathers the whole
    matrix row by row from the message's bits followed by that matrix."""
    side = enc.calc_matrix_size(version)
    matrix = enc.make_matrix(side, side)
    enc.add_finder_patterns(matrix, side, side)
    enc.add_alignment_patterns(matrix, side, side)
    # The order in which the message's bits fill the free modules (segno's add_codewords for a
    # QR Code: two-module columns from the right, alternately upwards and downwards, skipping
    # the vertical timing pattern).
    order: list[tuple[int, int]] = []
    for right in range(side - 1, 0, -2):
        if right <= 6:
            right -= 1
        upwards = (right & 2) == 0
        for vertical in range(side):
            for j in (right, right - 1):
                i = side - 1 - vertical if upwards ^ (j < 6) else vertical
                if matrix[i][j] == 0x2:
                    order.append((i, j))
                    matrix[i][j] = 0
    mask_of = enc.get_data_mask_functions(False)[QR_MASK]
    mask_bits = int("".join("1" if mask_of(i, j) else "0" for i, j in order), 2)
    enc.add_format_info(matrix, version, _ERROR, QR_MASK)
    enc.add_version_info(matrix, version)
    template = b"".join(bytes(row) for row in matrix)
    n = len(order)
    position = {cell: k for k, cell in enumerate(order)}
    index = [position.get((i, j), n + i * side + j) for i in range(side) for j in range(side)]
    return side, n, mask_bits, template, itemgetter(*index)


def _segno_codewords(payload: str) -> tuple[int, bytes]:
    """The version and data codewords as segno prepares them (any mode)."""
    segments = enc.prepare_data(payload, None, None)
    version = enc.find_version(segments, _ERROR, eci=False, micro=False)
    buff = enc.Buffer()
    for segment in segments:
        enc.write_segment(buff, segment, None, enc.version_range(version), False)
    capacity = consts.SYMBOL_CAPACITY[version][_ERROR]
    enc.write_terminator(buff, capacity, None, len(buff))
    enc.write_padding_bits(buff, version, len(buff))
    enc.write_pad_codewords(buff, version, capacity, len(buff))
    return version, bytes(buff.toints())


def _codewords(payload: str) -> tuple[int, bytes]:
    """The version and data codewords. A link (ASCII with a lower-case letter) is one byte-mode
    segment for segno too (neither numeric, alphanumeric nor kanji): written here as integers;
    anything else is left to segno (bit by bit, a few times slower)."""
    if not payload.isascii() or not any(c.islower() for c in payload):
        return _segno_codewords(payload)
    data = payload.encode("ascii")
    for version in range(1, 41):
        count_bits = 8 if version < 10 else 16
        used = 4 + count_bits + 8 * len(data)
        capacity = consts.SYMBOL_CAPACITY[version][_ERROR]
        if used <= capacity:
            break
    else:
        return _segno_codewords(payload)  # too long for any version: segno says so
    bits = (((0b0100 << count_bits) | len(data)) << 8 * len(data)) | int.from_bytes(data, "big")
    terminator = min(4, capacity - used)
    used += terminator
    padding = 8 - used % 8  # as segno writes it: a whole zero codeword when already on a boundary
    bits <<= terminator + padding
    used += padding
    pad = (b"\xec\x11" * (capacity // 16 + 1))[:max(0, capacity - used) // 8]
    return version, (bits.to_bytes(used // 8, "big") + pad)[:capacity // 8]


def qr_matrix(payload: str) -> list[bytes]:
    """The QR code of ``payload`` (error correction M, mask :data:`QR_MASK`, no quiet zone) as
    rows of modules, 1 dark and 0 light."""
    version, codewords = _codewords(payload)
    data_blocks, error_blocks, start = [], [], 0
    for info in consts.ECC[version][_ERROR]:
        for _ in range(info.num_blocks):
            block = codewords[start:start + info.num_data]
            start += info.num_data
            data_blocks.append(block)
            error_blocks.append(_error_block(block, info.num_total - info.num_data))
    message = bytes(x for x in chain(chain.from_iterable(zip_longest(*data_blocks)),
                                     chain.from_iterable(zip_longest(*error_blocks))) if x is not None)
    side, n, mask, template, gather = _layout(version)
    bits = (int.from_bytes(message, "big") << _remainder_bits(version)) ^ mask
    flat = bytes(gather(format(bits, f"0{n}b").encode().translate(_BITS) + template))
    return [flat[k:k + side] for k in range(0, side * side, side)]
