"""QR codes for links (segno): SVG for screens, PNG for printing and downloads.

Error correction level M (15 %): survives a crease or a cheap camera; the version is the
smallest that fits, and callers that promise a limit (OpenID4VP: version <= 10) check it.
"""

from __future__ import annotations

import io

import segno


def make(text: str, max_version: int | None = None) -> segno.QRCode:
    """Level M; level L when that is what keeps the code within ``max_version``."""
    code = segno.make_qr(text, error="m")
    if max_version is not None and int(code.version) > max_version:
        code = segno.make_qr(text, error="l")
    return code


def svg(text: str, scale: int = 6, max_version: int | None = None) -> str:
    buffer = io.BytesIO()
    make(text, max_version).save(buffer, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True, title="QR code")
    return buffer.getvalue().decode("utf-8")


def png(text: str, scale: int = 8) -> bytes:
    buffer = io.BytesIO()
    make(text).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def version(text: str, max_version: int | None = None) -> int:
    return int(make(text, max_version).version)
