"""The QR data mask segno would choose, found about ten times faster (issue 15).

ISO/IEC 18004 section 7.8.3: a QR code's data mask is the one of eight whose symbol scores the
lowest penalty. segno scores the eight module by module in Python, about 17 ms of the 21 ms a
version 10 code costs, and every desk check draws a new code. Here each row and column is one
integer (a bit per module), so a mask is an XOR per line, 2x2 blocks a few bitwise operations
and a popcount, runs and finder-like patterns a regex or ``str.find`` over a line's bits.

It must choose exactly what segno chooses (the same penalties, the same tie-break: the first
lowest), so a code looks the same whichever path made it: tests/test_qr_mask.py compares the
two on many texts, sizes and levels. segno's own quirks are kept (its N3 scan, its N4 rounding).
The function pattern layout comes from segno's encoder helpers, once per version.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import segno
from segno import encoder as _encoder

encoder: Any = _encoder  # segno's own (untyped) helpers: the layout and format bits it writes

_N3 = "1011101"
_DIGITS = bytes.maketrans(b"\x00\x01", b"01")
_BITS = bytes.maketrans(b"01", b"\x00\x01")


_GAP = 4  # light modules between two lines: what segno's clipped look beyond a line's end sees


def _big(lines: Sequence[str]) -> int:
    """Lines of ``width`` bits ("0"/"1", column or row 0 first) as one integer, four 0 between two
    lines so no run or pattern crosses from one into the next; the first line is the highest."""
    return int(("0" * _GAP).join(lines), 2)


@dataclass(frozen=True, slots=True)
class _Layout:
    """For one symbol size, over all rows then all columns (``_big``): the data modules, the
    function modules segno scores (not the format and version areas nor the dark module, still 0
    when it scores), each mask's dark data modules; and where a run or pattern may lie."""

    width: int
    data: int
    kept: int
    masks: tuple[int, ...]
    pairs: int  # a module and its next in the line: runs (N1)
    blocks: int  # a module and its next, in a row and the row after: 2x2 blocks (N2)
    windows: int  # 7 modules from here: the finder-like pattern (N3)


@functools.lru_cache(maxsize=48)
def _layout(width: int) -> _Layout:
    function = encoder.make_matrix(width, width)
    encoder.add_finder_patterns(function, width, width)
    encoder.add_alignment_patterns(function, width, width)
    function[-8][8] = 0x1
    timing_only = encoder.make_matrix(width, width, reserve_regions=False)
    reserved = encoder.make_matrix(width, width)  # format and version areas 0x0 (and the dark module)
    cells = range(width)

    def both(value: Callable[[int, int], bool]) -> int:
        rows = ["".join("1" if value(i, j) else "0" for j in cells) for i in cells]
        cols = ["".join("1" if value(i, j) else "0" for i in cells) for j in cells]
        return _big(rows + cols)

    def is_data(i: int, j: int) -> bool:
        return bool(function[i][j] > 0x1)

    masks = tuple(both(lambda i, j, fn=fn: is_data(i, j) and bool(fn(i, j)))  # type: ignore[misc]
                  for fn in encoder.get_data_mask_functions(False))
    lines = 2 * width
    return _Layout(
        width=width, data=both(is_data), masks=masks,
        kept=both(lambda i, j: not (reserved[i][j] == 0x0 and timing_only[i][j] == 0x2) and (i, j) != (width - 8, 8)),
        pairs=_big(["0" + "1" * (width - 1)] * lines),
        blocks=_big(["0" + "1" * (width - 1)] * (width - 1) + ["0" * width]),
        windows=_big(["0" * 6 + "1" * (width - 6)] * lines))


def with_best_mask(code: segno.QRCode) -> segno.QRCode:
    """``code`` (a QR code, not Micro QR) as segno would have made it choosing the mask itself."""
    best = best_mask(code.matrix, code.mask)
    if best == code.mask:
        return code
    width, layout = len(code.matrix), _layout(len(code.matrix))
    stride = width + _GAP
    flip = (layout.masks[code.mask] ^ layout.masks[best]) >> (width * stride)  # rows: the upper half
    line = (1 << width) - 1
    flips = [(flip >> ((width - 1 - i) * stride)) & line for i in range(width)]  # row 0 is the highest
    matrix = tuple(bytearray(format(int(bytes(row).translate(_DIGITS), 2) ^ f, f"0{width}b").encode("ascii")
                             .translate(_BITS)) for row, f in zip(code.matrix, flips, strict=True))
    encoder.add_format_info(matrix, code._version, code._error, best)  # the format bits name the mask
    remasked = copy.copy(code)
    remasked.matrix, remasked.mask = matrix, best
    return remasked


def best_mask(matrix: Sequence[bytearray], mask: int) -> int:
    """The mask segno would choose for the code whose finished ``matrix`` carries ``mask``
    (format and version information included; they are not scored, as segno does not)."""
    width = len(matrix)
    layout = _layout(width)
    finished = _big([bytes(r).translate(_DIGITS).decode("ascii") for r in matrix]
                     + [bytes(c).translate(_DIGITS).decode("ascii") for c in zip(*matrix, strict=True)])
    # Unmasked: the data modules with ``mask`` taken off; outside them, the function patterns.
    plain = ((finished ^ layout.masks[mask]) & layout.data) | (finished & ~layout.data & layout.kept)
    scores = [_score(plain ^ m, layout) for m in layout.masks]
    return min(range(8), key=scores.__getitem__)


def _score(lines: int, layout: _Layout) -> int:
    """segno's ``evaluate_mask`` (N1 + N2 + N3 + N4) of the symbol whose rows and columns are ``lines``."""
    width, stride = layout.width, layout.width + _GAP
    # N1: a run of n >= 5 scores n - 2; it is n - 1 equal neighbours, of which a window of 4 starts n - 4.
    equal = ~(lines ^ (lines >> 1)) & layout.pairs
    starts = equal & (equal >> 1) & (equal >> 2) & (equal >> 3)
    n1 = (starts | starts << 1 | starts << 2 | starts << 3).bit_count() - (starts & ~(starts << 1)).bit_count()
    # N2: each 2x2 block of one colour scores 3 (rows only: the upper half of ``lines``; the
    # last row is the lowest, and a row sits one line below the row after it).
    rows = lines >> (width * stride)
    below = rows << stride
    same = ~(rows ^ below) & ~(rows ^ (rows >> 1)) & ~(below ^ (below >> 1)) & layout.blocks
    n2 = 3 * same.bit_count()
    # N3: 1011101 with four light modules before or after it (the gap stands for the line's end).
    found = layout.windows
    for k, bit in enumerate(reversed(_N3)):
        found &= (lines >> k) if bit == "1" else ~(lines >> k)
    before = (lines >> 7) | (lines >> 8) | (lines >> 9) | (lines >> 10)
    after = (lines << 1) | (lines << 2) | (lines << 3) | (lines << 4)
    n3 = 0
    chained = found & ((found >> 4) | (found >> 6))  # overlapping: segno's scan order decides
    while chained:
        line = ((chained & -chained).bit_length() - 1) // stride
        whole = ((1 << width) - 1) << (line * stride)
        n3 += _n3(format((lines & whole) >> (line * stride), f"0{width}b"), width)
        found &= ~whole
        chained &= ~whole
    n3 += 40 * (found & ~(before & after)).bit_count()
    # N4: the share of dark modules, in steps of 5 % from half.
    percent = float(rows.bit_count()) / (width ** 2)
    return n1 + n2 + n3 + 10 * int(abs(percent * 100 - 50) / 5)


def _n3(seq: str, size: int) -> int:
    """segno's ``n3_pattern_occurrences``, over a line's bits as text."""
    count = 0
    idx = seq.find(_N3)
    while idx != -1:
        offset = idx + 7
        if idx in (0, size - 7) or "1" not in seq[max(idx - 4, 0):min(idx, size)] \
                or "1" not in seq[max(offset, 0):min(offset + 4, size)]:
            count += 40
        else:
            offset = idx + 4
        idx = seq.find(_N3, offset)
    return count
