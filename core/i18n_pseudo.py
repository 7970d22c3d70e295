"""The pseudo-locale ``qps`` (shown as ``en-XA``): English made visibly foreign, for testing layouts.

Every letter accented, every word stretched (its vowels doubled, then filler to at least 40 %
more than the English, the margin German or Finnish text needs), the whole in ``⟦ ⟧`` so a cut
end shows, and the page mirrored (``dir="rtl"``). Text that does not come from the catalogues
stays plain English, so an untranslated string stands out at a glance. ``{name}`` placeholders
are kept. Offered only where ``AMANA_PSEUDO_LOCALE=1`` (a test or a translator's machine).
"""

from __future__ import annotations

import os
import re

CODE = "qps"
TAG = "en-XA"
NAME = "⟦Ƥšéûđöĺöçàĺé⟧"
_PLAIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ACCENTED = "àƀçđéƒĝĥîĵķĺɱñöþǫŕšţûṽŵẋýžÀƁÇĐÉƑĜĤÎĴĶĹṀÑÖÞǪŔŠŢÛṼŴẊÝŽ"
_TABLE = str.maketrans(_PLAIN, _ACCENTED)
_VOWELS = re.compile(r"([aeiouAEIOU])")
_PLACEHOLDER = re.compile(r"(\{\w*\})")
GROWTH = 1.4


def enabled() -> bool:
    return os.environ.get("AMANA_PSEUDO_LOCALE", "").strip().lower() in ("1", "true", "yes")


def pseudo(text: str) -> str:
    """``Sign in`` -> ``⟦Šîîĝñ îîñ ·⟧``: accented, ≥ 40 % longer, placeholders untouched."""
    parts = _PLACEHOLDER.split(text)
    out = "".join(part if _PLACEHOLDER.fullmatch(part) else _VOWELS.sub(r"\1\1", part).translate(_TABLE)
                  for part in parts)
    plain = sum(len(p) for p in parts if not _PLACEHOLDER.fullmatch(p))
    grown = sum(len(p) for p in _PLACEHOLDER.split(out) if not _PLACEHOLDER.fullmatch(p))
    missing = int(plain * GROWTH) - grown
    if missing > 0:
        out += " " + " ".join(["·" * 4] * (missing // 5)) + "·" * (missing % 5)
    return f"⟦{out}⟧"
