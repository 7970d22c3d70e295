"""Interface words in many languages, as data (``core/locales/<lang>.json``).

Every locale has every key (a test checks), so a page never falls back mid-sentence; a
language we do not have falls back to English as a whole. ``dir`` is ``rtl`` for Arabic
and Persian and goes on the page's ``<html dir>``. Placeholders are ``{name}``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT = "en"


@lru_cache(maxsize=1)
def catalogues() -> dict[str, dict[str, str]]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(LOCALES_DIR.glob("*.json"))}


def supported() -> list[str]:
    return list(catalogues())


def pick(lang: str | None, accept_language: str | None = None) -> str:
    """The first supported of an explicit choice, then Accept-Language, then English.

    A tag with a region we hold a catalogue for picks it (``fa-AF``/``fa_AF`` → Dari);
    otherwise the base language does (``fa-IR`` → ``fa``)."""
    candidates = [lang] if lang else []
    for part in (accept_language or "").split(","):
        candidates.append(part.split(";")[0].strip())
    by_tag = {code.lower(): code for code in catalogues()}
    for candidate in candidates:
        tag = (candidate or "").replace("_", "-").lower()
        exact = by_tag.get(tag.replace("-", "_"))  # fa-AF: Dari, before Persian
        base = tag.split("-")[0]
        if exact or base in catalogues():
            return exact or base
    return DEFAULT


def t(lang: str, key: str, **values: object) -> str:
    catalogue = catalogues().get(lang) or catalogues()[DEFAULT]
    return catalogue[key].format(**values)


def has(lang: str, key: str) -> bool:
    return key in (catalogues().get(lang) or catalogues()[DEFAULT])


def direction(lang: str) -> str:
    return t(lang, "dir")
