"""Digits as people type them: in any script, with spaces anywhere. Pure.

A PIN or a code is compared as ASCII digits, but a Persian keyboard types ``۹۶۶۲۶۴``, an
Arabic one ``٩٦٦٢٦٤``, a person copying from paper types ``966 264``, a phone may group
with a no-break or thin space, and text copied from a right-to-left page can carry
invisible direction marks. ``ascii_digits`` maps every Unicode decimal digit (general
category Nd, through ``unicodedata.decimal``) to its ASCII digit, drops whitespace and
those invisible marks, and refuses everything else — a letter, a hyphen, a superscript
``²`` (a digit, but not a decimal one) — so nothing typed is silently misread.
"""

from __future__ import annotations

import unicodedata

from core.errors import NotDigits

# Invisible marks a right-to-left keyboard or a copied RTL text puts between characters:
# zero-width space and (non-)joiners, the direction marks and embeddings/isolates, the BOM.
INVISIBLE = frozenset("\u200b\u200c\u200d\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e"
                      "\u2066\u2067\u2068\u2069\ufeff")


def ascii_digits(typed: str) -> str:
    """``typed`` as ASCII digits, spaces and invisible marks removed; ``NotDigits`` if
    anything else is in it (the message never repeats what was typed: it may be a PIN)."""
    out = []
    for char in typed:
        if char.isspace() or char in INVISIBLE:
            continue
        value = unicodedata.decimal(char, None)
        if value is None:
            raise NotDigits("type digits only (spaces are fine)")
        out.append("0123456789"[value])
    return "".join(out)
