"""QR codes for links: zxing-cpp encodes (C++), we draw; SVG for screens, PNG for printing and downloads.

Error correction level M (15 %): survives a crease or a cheap camera; the version is the
smallest that fits, and callers that promise a limit (OpenID4VP: version <= 10) check it.

Encoding is zxing-cpp's (already here to read codes), where segno's pure-Python encoder, its mask
choice and its SVG writer took about 4 ms of every check (issue 15). zxing-cpp encodes under mask 0
and ``core.qr_masks`` chooses the mask (zxing-cpp's own choice: a version 10 code in 0.16 ms, where
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

_DIGITS = bytes.maketrans(b"\x00\xff", b"10")  # zxing-cpp's matrix: 0 a dark module, 255 a light one
_DARK = re.compile(r"(1+)")


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
    """zxing-cpp's symbol, its mask chosen by ``core.qr_masks`` (the same choice, a third of the time)."""
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

    The matrix becomes one string ("1" dark, "0" light, a newline between rows) that a regular
    expression splits at its dark runs, keeping them: light, dark, light, ... (light pieces may be
    empty), each piece's path text looked up. The loops are C's, not Python's: about 0.2 ms a
    version 9 code. Splitting at one character class is faster than finding runs of either of two
    (``1+|[0\\n]+``: 0.3 ms, the regular expression engine trying both branches at every character);
    segno's writer took about 1.2 ms."""
    size, modules = code.size, code.modules
    rows = b"\n".join([modules[i:i + size] for i in range(0, size * size, size)])
    text = rows.translate(_DIGITS).decode("ascii").rstrip("0\n")
    return f"M{BORDER} {BORDER}.5" + "".join(map(_pieces(size).__getitem__, _DARK.split(text)))


class _Pieces(dict[str, str]):
    """Path text of a piece of the matrix of one size, made on first sight: a dark run draws, a
    light run moves along its row, light across row ends moves down to the next dark module.
    At most a few thousand pieces a size (runs of 1..size, pairs of row ends)."""

    def __init__(self, size: int) -> None:
        super().__init__({"": ""})  # the split's first or last piece, when the text starts or ends dark
        self.size = size

    def __missing__(self, piece: str) -> str:
        lines = piece.split("\n")
        if piece[0] == "1":
            text = f"h{len(piece)}"
        elif len(lines) == 1:
            text = f"m{len(piece)} 0"
        else:  # from the end of a row's last dark run to the first dark module rows below
            text = f"m{len(lines[0]) + len(lines[-1]) - self.size} {len(lines) - 1}"
        self[piece] = text
        return text


@functools.cache
def _pieces(size: int) -> _Pieces:
    return _Pieces(size)


def png(text: str, scale: int = 8) -> bytes:
    """Black and white, ``scale`` pixels per module (nearest neighbour: sharp edges), quiet zone included."""
    code = make(text)
    side = code.size + 2 * BORDER
    image = Image.new("1", (side, side), 1)
    image.paste(Image.frombytes("L", (code.size, code.size), code.modules).convert("1", dither=Image.Dither.NONE),
                (BORDER, BORDER))
    image = image.resize((side * scale, side * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def version(text: str, max_version: int | None = None) -> int:
    """The QR version (the code is 17 + 4 x version modules a side) of ``make(text, max_version)``."""
    return make(text, max_version).version
