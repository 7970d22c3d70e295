"""QR codes for links (segno): SVG for screens, PNG for printing and downloads.

Error correction level M (15 %): survives a crease or a cheap camera; the version is the
smallest that fits, and callers that promise a limit (OpenID4VP: version <= 10) check it.
"""

from __future__ import annotations

import io

import segno


def make(text: str) -> segno.QRCode:
    return segno.make_qr(text, error="m")


def svg(text: str, scale: int = 6) -> str:
    buffer = io.BytesIO()
    make(text).save(buffer, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True, title="QR code")
    return buffer.getvalue().decode("utf-8")


def png(text: str, scale: int = 8) -> bytes:
    buffer = io.BytesIO()
    make(text).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def version(text: str) -> int:
    return int(make(text).version)
