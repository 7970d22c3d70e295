"""A QR code's data mask, chosen as ISO/IEC 18004:2015 §7.8.3 asks, in a third of zxing-cpp's time.

Why by hand: zxing-cpp chooses well (its codes are made by the libzint it embeds since 3.0: the
least penalty under the four rules of §7.8.3.1, as the standard asks), but it builds and scores the
whole symbol eight times: 0.4 ms of a version 9 code, most of what creating a check spent on its QR
code (issue 15). It can also encode under a mask we name (``data_mask``), and two facts make
choosing that mask ourselves cheap:

- the eight masked forms of one symbol differ by a pattern that depends on the version and the
  error correction level only: a mask is an XOR over the encoding region (§7.8.2), and the format
  information depends on the level and the mask alone (§7.9.1). So zxing-cpp encodes the text once,
  under mask 0, and each other form is that symbol XOR its pattern, learnt from zxing-cpp's own
  symbols the first time a (size, level) is seen;
- the four rules count runs, 2 x 2 blocks and finder-like patterns, which bit operations on a
  Python int count for the whole matrix at once: each row a run of bits with four light bits between
  rows (rule 3 looks four modules past a pattern; past the symbol's edge counts as light), a
  column the same with the stride of a row.

The rules are read as libzint reads them, ties going to the lowest mask, so the symbol is byte for
byte the one zxing-cpp makes on its own: tests/test_qr.py checks that for any text, version and
level, and each rule against a module-by-module count.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

MASKS = 8
N1, N2, N3, N4 = 3, 3, 40, 10  # §7.8.3.1 table 11's penalty weights
_GAP = 4  # light bits between two rows
_DIGITS = bytes.maketrans(b"\x00\xff", b"10")  # zxing-cpp's matrix: 0 a dark module, 255 a light one

# (size, level) -> for each mask, what turns the symbol under mask 0 into the symbol under it:
# (as rows of bits, as in ``bits``; as the matrix's bytes read as one big-endian int)
_CHANGES: dict[tuple[int, str], list[tuple[int, int]]] = {}


def least_penalty(size: int, level: str, under_mask_0: bytes, under: Callable[[int], bytes]) -> bytes:
    """The symbol (zxing-cpp's matrix bytes) under the mask of least penalty, given it under mask 0.

    ``under(mask)`` encodes the same text under another mask: asked only the first time a size and
    level are seen, to learn their changes."""
    changes = _CHANGES.get((size, level))
    if changes is None:
        changes = _CHANGES.setdefault((size, level), _learnt(size, under_mask_0, under))
    first = bits(size, under_mask_0)
    chosen = min(range(MASKS), key=lambda mask: (penalty(first ^ changes[mask][0], size), mask))
    if chosen == 0:
        return under_mask_0
    return (int.from_bytes(under_mask_0, "big") ^ changes[chosen][1]).to_bytes(size * size, "big")


def _learnt(size: int, under_mask_0: bytes, under: Callable[[int], bytes]) -> list[tuple[int, int]]:
    first, first_bytes = bits(size, under_mask_0), int.from_bytes(under_mask_0, "big")
    changes = [(0, 0)]
    for mask in range(1, MASKS):
        symbol = under(mask)
        if len(symbol) != size * size:
            raise ValueError("a mask changed the symbol's size")
        changes.append((bits(size, symbol) ^ first, int.from_bytes(symbol, "big") ^ first_bytes))
    return changes


def bits(size: int, modules: bytes, gap: int = _GAP) -> int:
    """The matrix as one int, a set bit a dark module: row after row, the first row the highest
    bits, ``gap`` light bits between rows. (For the rules, which end is the first row does not
    matter: every rule reads the same both ways.)"""
    text = modules.translate(_DIGITS)
    return int((b"0" * gap).join([text[i:i + size] for i in range(0, size * size, size)]), 2)


@functools.cache
def _modules(size: int) -> int:
    """Every module's bit set, no gap's."""
    return bits(size, b"\x00" * (size * size))


def penalty(dark: int, size: int) -> int:
    """§7.8.3.1's four rules, of the matrix ``bits`` made."""
    row = size + _GAP
    light = _modules(size) ^ dark
    score = 0
    for same in (dark, light):
        for step in (1, row):  # along a row, down a column
            score += _runs_of_five_or_more(same, step)
        # Rule 2: each 2 x 2 block of one colour (an m x n block holds (m - 1)(n - 1) of them).
        score += N2 * (same & same >> 1 & same >> row & same >> (row + 1)).bit_count()
    for step in (1, row):
        score += N3 * _finder_like(dark, step)
    # Rule 4: 10 for each full 5 % the dark modules' share is away from 50 %.
    total = size * size
    return score + abs(2 * dark.bit_count() - total) * 10 // total * N4


def _runs_of_five_or_more(same: int, step: int) -> int:
    """Rule 1: a run of 5 + i modules of one colour scores N1 + i. Such a run holds i + 1 windows of
    five, and starts once: the windows counted, plus 2 a run."""
    five = same & same >> step & same >> 2 * step & same >> 3 * step & same >> 4 * step
    return five.bit_count() + (N1 - 1) * (five & ~(five << step)).bit_count()


def _finder_like(dark: int, step: int) -> int:
    """Rule 3: dark-light-dark-dark-dark-light-dark with four light modules before or after it (or
    the symbol's edge sooner), counted once even with light on both sides."""
    light = ~dark
    pattern = (dark & light >> step & dark >> 2 * step & dark >> 3 * step & dark >> 4 * step
               & light >> 5 * step & dark >> 6 * step)
    clear_before = ~(dark << step | dark << 2 * step | dark << 3 * step | dark << 4 * step)
    clear_after = ~(dark >> 7 * step | dark >> 8 * step | dark >> 9 * step | dark >> 10 * step)
    return (pattern & (clear_before | clear_after)).bit_count()
