"""Base45 (RFC 9285): bytes as QR alphanumeric characters, strictly.

Written here rather than taken from PyPI: the one package there (``base45`` 0.4.4) had
its last release in 2022, ships no type hints, and its decoder's refusals are not
specified; a QR verifier needs exactly one text per byte string, so this decoder
refuses everything RFC 9285 section 4.2 says is invalid (a character outside the 45,
a dangling single character, a triple above 65535, a final pair above 255). With those
refusals the encoding is a bijection: ``encode(decode(t)) == t`` for every accepted ``t``.
"""

from __future__ import annotations

import sys
from array import array

from core.errors import MalformedOfflineQR

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_TABLE = bytes(ALPHABET.index(chr(b)) if chr(b) in ALPHABET else 0xFF for b in range(256))


def encode(data: bytes) -> str:
    out: list[str] = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        e, rest = divmod(n, 45 * 45)
        d, c = divmod(rest, 45)
        out += (ALPHABET[c], ALPHABET[d], ALPHABET[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += (ALPHABET[c], ALPHABET[d])
    return "".join(out)


def decode(text: str) -> bytes:
    if len(text) % 3 == 1:
        raise MalformedOfflineQR("Base45 text has a dangling character")
    try:
        values = text.encode("ascii").translate(_TABLE)
    except UnicodeEncodeError:
        values = b"\xff"
    if b"\xff" in values:
        raise MalformedOfflineQR("Base45 text has a character outside its alphabet")
    full = len(values) - len(values) % 3
    # Whole triples at once (a verifier decodes every scan): little-endian 16-bit words, swapped.
    words = [values[i] + values[i + 1] * 45 + values[i + 2] * 2025 for i in range(0, full, 3)]
    if words and max(words) > 0xFFFF:
        raise MalformedOfflineQR("Base45 triple out of range")
    out = array("H", words)
    if sys.byteorder == "little":
        out.byteswap()
    tail = b""
    if full < len(values):
        n = values[full] + values[full + 1] * 45
        if n > 0xFF:
            raise MalformedOfflineQR("Base45 final pair out of range")
        tail = bytes([n])
    return out.tobytes() + tail
