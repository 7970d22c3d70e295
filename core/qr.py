"""QR codes for links: zxing-cpp encodes (C++), we draw; SVG for screens, PNG for printing and downloads.

Error correction level M (15 %): survives a crease or a cheap camera; the version is the
smallest that fits, and callers that promise a limit (OpenID4VP: version <= 10) check it.

Encoding is zxing-cpp's (already here to read codes): a version 10 code in about 0.5 ms, where
segno's pure-Python encoder and its mask choice took about 3 ms of every check (issue 15). The
text goes in as it is when it is ASCII (one mode for the whole text: numeric, alphanumeric or
byte, as segno chose) and as UTF-8 bytes otherwise, so zxing-cpp never picks a legacy character
set on its own; either way no ECI header, which some phone scanners misread
(tests/test_qr.py reads the symbology identifier back: ``]Q1``, not ``]Q2``).

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

BORDER = 4  # modules of quiet zone, as ISO/IEC 18004 asks for QR codes

_DARK_RUNS = re.compile(rb"\x00+")  # zxing-cpp's matrix: 0 a dark module, 255 a light one


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
    matrix = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=error).to_image(
        add_quiet_zones=False)
    size = matrix.shape[0]
    return Code(version=(size - 17) // 4, error=error, size=size, modules=memoryview(matrix).tobytes())


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
    along the middle of its row (y + .5), moves relative to where the last run ended."""
    size, modules, parts = code.size, code.modules, []
    x_at, y_at = 0, 0
    for y in range(size):
        row = modules[y * size:(y + 1) * size]
        for run in _DARK_RUNS.finditer(row):
            x, n = run.start(), run.end() - run.start()
            if parts:
                parts.append(f"m{x - x_at} {y - y_at}h{n}")
            else:
                parts.append(f"M{x + BORDER} {y + BORDER}.5h{n}")
            x_at, y_at = x + n, y
    return "".join(parts)


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
