"""A QR code's data mask, chosen as ISO/IEC 18004:2015 §7.8.3 asks, in under a third of zxing-cpp's time.

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
    matter: every rule reads the same both ways.)

    Read whole (one ``int(…, 2)``), then spread: row r from the last (the lowest bits) moves up by
    r gaps, a power of two of them at a time, all the rows of that bit of r at once (``_spread``):
    four operations a stage, where cutting the text into rows and joining them with the gaps cost
    a third more of the whole (each row a slice). ``modules`` is the whole square, ``size * size``
    bytes (zxing's matrix, checked where it is read)."""
    assert len(modules) == size * size, "a QR matrix is size * size modules"
    dark = int(modules.translate(_DIGITS), 2)
    for shift, moving_rows in _spread(size, gap):
        moving = dark & moving_rows
        dark = dark ^ moving | moving << shift
    return dark


@functools.cache
def _spread(size: int, gap: int) -> tuple[tuple[int, int], ...]:
    """``bits``'s stages, the highest bit of a row's index first: the shift, and the rows it moves
    where the stages before have left them (row r, counted from the last, at r rows and, for the
    bits of r above this one, that many gaps up)."""
    row, stages = (1 << size) - 1, []
    for bit in reversed(range((size - 1).bit_length())):
        moving = 0
        for r in range(size):
            if r >> bit & 1:
                moving |= row << (r * size + ((r >> (bit + 1)) << (bit + 1)) * gap)
        stages.append((gap << bit, moving))
    return tuple(stages)


@functools.cache
def _constants(size: int) -> tuple[int, int, tuple[tuple[int, int], ...]]:
    """What ``penalty`` needs of the module grid alone, raised by ``_MARGIN`` rows: the shift that
    raises it; the 2 x 2 blocks of modules; per direction (along a row, down a column) its step and
    the windows of five modules."""
    row = size + _GAP
    raised = _MARGIN * row
    modules = bits(size, b"\x00" * (size * size))
    blocks = modules & modules >> 1 & modules >> row & modules >> (row + 1)
    return raised, blocks << raised, tuple(
        (step, (modules & modules >> step & modules >> 2 * step & modules >> 3 * step & modules >> 4 * step) << raised)
        for step in (1, row))


_MARGIN = 4  # light rows below the last, so a shift up by rule 3's four modules loses no dark one (three would do)


def penalty(dark: int, size: int) -> int:
    """§7.8.3.1's four rules, of the matrix ``bits`` made.

    As few operations on the whole matrix as the rules allow (each a pass over a ~3,500-bit int,
    about 0.1 us; a popcount 0.25): the shifted copies of ``dark`` are made once per direction and
    shared by rules 1 and 3, and light modules are read through De Morgan (light five in a row:
    modules, none of them dark), so no light matrix is made or shifted. ``a & ~b`` is written
    ``a ^ (a & b)``: a negative operand costs CPython twice. The matrix is first raised by
    ``_MARGIN`` light rows, so that looking back four modules from the last row (a shift up) still
    sees light past the edge, as looking ahead past the first row does (bits past the top are 0)."""
    raised, blocks, directions = _constants(size)
    total = dark.bit_count()
    dark <<= raised
    score = 0
    for step, five_modules in directions:
        d1, d2, d3, d4 = dark >> step, dark >> 2 * step, dark >> 3 * step, dark >> 4 * step
        # Rule 1: a run of 5 + i modules of one colour scores N1 + i. Such a run holds i + 1
        # windows of five, and starts once: the windows counted, plus 2 a run.
        three_after = dark & d2 & d3 & d4
        any_dark_in_four = dark | d1 | d2 | d3  # at a bit: it or one of the next three along ``step``
        for five in (three_after & d1, five_modules ^ (five_modules & (any_dark_in_four | d4))):
            score += five.bit_count() + (N1 - 1) * (five ^ (five & five << step)).bit_count()
        # Rule 3: dark-light-dark-dark-dark-light-dark (light: not dark, the gaps between rows and
        # beyond the edges too) with four light modules before or after it, counted once even with
        # light on both sides: unless a dark one is among the four before and the four after.
        finder = three_after & dark >> 6 * step
        finder ^= finder & (d1 | dark >> 5 * step)
        score += N3 * (finder ^ (finder & any_dark_in_four << 4 * step & any_dark_in_four >> 7 * step)).bit_count()
    # Rule 2: each 2 x 2 block of one colour (an m x n block holds (m - 1)(n - 1) of them).
    below = dark >> size + _GAP
    score += N2 * ((dark & dark >> 1 & below & below >> 1).bit_count()
                   + (blocks ^ (blocks & (dark | dark >> 1 | below | below >> 1))).bit_count())
    # Rule 4: 10 for each full 5 % the dark modules' share is away from 50 %.
    modules_in_all = size * size
    return score + abs(2 * total - modules_in_all) * 10 // modules_in_all * N4
