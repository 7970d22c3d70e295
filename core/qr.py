"""QR codes for links (segno): SVG for screens, PNG for printing and downloads.

Error correction level M (15 %): survives a crease or a cheap camera; the version is the
smallest that fits, and callers that promise a limit (OpenID4VP: version <= 10) check it.

An SVG for a page has a ``viewBox`` and no ``width``/``height`` (segno's ``omitsize``): the
stylesheet sizes it and the whole code scales into that box. With a fixed size and no
``viewBox``, a box smaller than the drawing shows only its top-left corner, and a cropped
code reads as nothing (tests/browser.py decodes screenshots to prove every page's code reads).
"""

from __future__ import annotations

import functools
import io

import segno

from core import qr_mask

BORDER = 4  # modules of quiet zone, as ISO/IEC 18004 asks for QR codes


@functools.lru_cache(maxsize=32)
def make(text: str, max_version: int | None = None) -> segno.QRCode:
    """Level M; level L when that is what keeps the code within ``max_version``.

    Kept for the next call (a few, most recent): a check's link is measured (``version``) and then
    drawn (``svg``) in the same request, and encoding is most of what creating a check costs (issue
    15: about half of it each time). The links are public (what the QR shows)."""
    code = _encoded(text, "m")
    if max_version is not None and int(code.version) > max_version:
        code = _encoded(text, "l")
    return code


def _encoded(text: str, error: str) -> segno.QRCode:
    """``segno.make_qr(text, error=error)``, the very same code, with its data mask chosen by
    core.qr_mask: segno's own choice scores eight masks module by module, 17 of a version 10
    code's 21 ms (issue 15)."""
    return qr_mask.with_best_mask(segno.make_qr(text, error=error, mask=0))


def svg(text: str, scale: int = 6, max_version: int | None = None, *, standalone: bool = False) -> str:
    """Scalable SVG (``viewBox``, 4-module quiet zone). ``standalone`` (a file on its own, not
    inside a page) also states its natural size, ``scale`` pixels per module, so an image
    viewer opens it at a readable size; it still scales, having the ``viewBox`` too."""
    code, buffer = make(text, max_version), io.BytesIO()
    code.save(buffer, kind="svg", scale=scale, border=BORDER, xmldecl=False, svgns=True, title="QR code",
              omitsize=True)
    drawing = buffer.getvalue().decode("utf-8")
    if standalone:
        width, height = code.symbol_size(scale=scale, border=BORDER)
        drawing = drawing.replace("<svg ", f'<svg width="{width}" height="{height}" ', 1)
    return drawing


def png(text: str, scale: int = 8) -> bytes:
    buffer = io.BytesIO()
    make(text).save(buffer, kind="png", scale=scale, border=BORDER)
    return buffer.getvalue()


def version(text: str, max_version: int | None = None) -> int:
    return int(make(text, max_version).version)
