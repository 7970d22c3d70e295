"""QR codes for links: zxing-cpp encodes (C++), we draw; SVG for screens, PNG for printing and downloads.

Error correction level M (15 %): survives a crease or a cheap camera; the version is the
smallest that fits, and callers that promise a limit (OpenID4VP: version <= 10) check it.

Encoding is zxing-cpp's (already here to read codes), where segno's pure-Python encoder, its mask
choice and its SVG writer took about 4 ms of every check (issue 15). zxing-cpp encodes under mask 0
and ``core.qr_masks`` chooses the mask (zxing-cpp's own choice: a version 10 code in 0.14 ms, where
zxing-cpp choosing took 0.55 ms). Its segments are optimised (numeric, alphanumeric and byte
mixed), so a code is never larger than one mode for the whole text, as segno made it. ASCII text
(every link, every offline payload: base45) goes in as it is, no ECI header, nothing a phone
scanner trips on; other text gets the ECI of the character set zxing-cpp picks for it (none for
ISO 8859-1), tests/test_qr.py.

An SVG for a page has a ``viewBox`` and no ``width``/``height``: the stylesheet sizes it and the
whole code scales into that box. With a fixed size and no ``viewBox``, a box smaller than the
drawing shows only its top-left corner, and a cropped code reads as nothing (tests/browser.py
decodes screenshots to prove every page's code reads). Colour is presentation attributes only
(the pages' CSP allows no inline style); the stylesheet puts white behind the quiet zone.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass

import zxingcpp
from PIL import Image

from core import qr_masks

BORDER = 4  # modules of quiet zone, as ISO/IEC 18004 asks for QR codes


@dataclass(frozen=True, slots=True)
class Code:
    """One QR symbol: ``size`` x ``size`` modules (no quiet zone), row by row, a byte each: 0 dark, 255 light."""

    version: int
    error: str  # "M", or "L" when only that kept the code within a caller's max_version
    size: int
    modules: bytes


@functools.lru_cache(maxsize=32)
def make(text: str, max_version: int | None = None) -> Code:
    """Level M; level L when that is what keeps the code within ``max_version``.

    Kept for the next call (a few, most recent): a check's link is measured (``version``) and then
    drawn (``svg``) in the same request. The links are public (what the QR shows)."""
    code = _encoded(text, "M")
    if max_version is not None and code.version > max_version:
        code = _encoded(text, "L")
    return code


def _encoded(text: str, error: str) -> Code:
    """zxing-cpp's symbol, its mask chosen by ``core.qr_masks`` (the same choice, under a third of the time)."""
    size, first = _under_mask(text, error, 0)
    modules = qr_masks.least_penalty(size, error, first, lambda mask: _under_mask(text, error, mask)[1])
    return Code(version=(size - 17) // 4, error=error, size=size, modules=modules)


def _under_mask(text: str, error: str, mask: int) -> tuple[int, bytes]:
    matrix = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=error, data_mask=mask).to_image(
        add_quiet_zones=False)
    return matrix.shape[0], bytes(matrix)  # type: ignore[call-overload]


def svg(text: str, scale: int = 6, max_version: int | None = None, *, standalone: bool = False) -> str:
    """Scalable SVG (``viewBox``, 4-module quiet zone): one path, a horizontal stroke per run of dark
    modules. ``standalone`` (a file on its own, not inside a page) also states its natural size,
    ``scale`` pixels per module, so an image viewer opens it at a readable size (it still scales,
    having the ``viewBox`` too), and paints its own white behind the code, as no stylesheet will."""
    code = make(text, max_version)
    side = code.size + 2 * BORDER
    opening = f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}"'
    if standalone:
        opening += f' width="{side * scale}" height="{side * scale}"'
    paper = f'<path fill="#fff" d="M0 0h{side}v{side}H0z"/>' if standalone else ""
    return (f'{opening} shape-rendering="crispEdges"><title>QR code</title>{paper}'
            f'<path stroke="#000" d="{_runs(code)}"/></svg>')


def _runs(code: Code) -> str:
    """The path of every run of dark modules, row by row, each a 1-module-wide horizontal stroke
    along the middle of its row (y + .5), each move relative to where the last stroke ended.

    Drawn 8 modules at a time: the matrix is packed 8 modules a byte, each row padded with light
    ones to whole bytes, and each byte stands for its 8 modules' path text (a stroke per dark run,
    a move per light one: 8 modules to the right in all); each row's last byte but the last row's
    also carries the move back to the next row's start. One ``join`` of the bytes' texts: a
    version 10 code's path in about a third of a million instructions, where ``str.translate``
    over the packed text with the same table took half a million more (it looks a list up by a
    new int per character, then copies each text); splitting the path at its dark runs with a
    regular expression took 0.12 ms, segno's writer 1.2 ms. A run across two bytes is two strokes
    that meet: the same modules drawn, in a path a sixth longer."""
    size = code.size
    per_row = -(-size // 8)
    padding = 8 * per_row - size
    packed = (qr_masks.bits(size, code.modules, padding) << padding).to_bytes(size * per_row, "big")
    paths = list(map(_BYTE_PATHS.__getitem__, packed))
    row_ends = slice(per_row - 1, -1, per_row)
    next_row = f"m-{8 * per_row} 1"
    paths[row_ends] = [path + next_row for path in paths[row_ends]]
    return f"M{BORDER} {BORDER}.5" + "".join(paths)


def _byte_path(byte: int) -> str:
    """A byte's 8 modules (the high bit first, 1 dark) as path text: strokes and moves, 8 modules in all."""
    return "".join(f"h{len(run)}" if run[0] == "1" else f"m{len(run)} 0" for run in _RUN.findall(f"{byte:08b}"))


_RUN = re.compile(r"1+|0+")
_BYTE_PATHS = [_byte_path(byte) for byte in range(256)]


def png(text: str, scale: int = 8, max_version: int | None = None) -> bytes:
    """Black and white, ``scale`` pixels per module (nearest neighbour: sharp edges), quiet zone included."""
    code = make(text, max_version)
    side = code.size + 2 * BORDER
    image = Image.new("1", (side, side), 1)
    image.paste(Image.frombytes("L", (code.size, code.size), code.modules).convert("1", dither=Image.Dither.NONE),
                (BORDER, BORDER))
    image = image.resize((side * scale, side * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def fits(text: str, max_version: int) -> bool:
    """Whether ``make(text, max_version)`` stays within ``max_version``, told without encoding the
    text when it is ASCII and no longer than one byte segment that fits there at level L: zxing-cpp's
    optimised segments are never larger than one byte segment for the whole text, and ASCII carries
    no ECI header (the module docstring; tests/test_qr.py checks this bound on any ASCII text). A
    longer text is encoded to tell. Issue 15: a check's creation encoded its link (0.3 ms, a whole
    code with its mask chosen) only to learn that it fits; its QR is drawn when it is asked for."""
    if text and text.isascii() and len(text) <= byte_capacity(max_version):  # empty text makes no code
        return True
    return make(text, max_version).version <= max_version


@functools.cache
def byte_capacity(version: int) -> int:
    """How many bytes one byte segment holds in a version ``version`` code at level L, as zxing-cpp
    encodes (lowercase letters: byte mode throughout). Found by bisection, once per version."""
    low, high = 0, 2953  # version 40 at L: 2,953 bytes (ISO/IEC 18004 table 7)
    while low < high:
        middle = (low + high + 1) // 2
        if _under_mask("a" * middle, "L", 0)[0] <= 17 + 4 * version:
            low = middle
        else:
            high = middle - 1
    return low


def version(text: str, max_version: int | None = None) -> int:
    """The QR version (the code is 17 + 4 x version modules a side) of ``make(text, max_version)``."""
    return make(text, max_version).version
