"""Interface words in many languages, from gettext catalogues (``core/locales/<lang>/LC_MESSAGES/amana.po``).

Templates and Python call ``t(lang, key, **values)``: the key is the message id, placeholders
are ``{name}`` (``str.format``). An entry with a count is plural: the form is chosen by the
language's own rule from ``count`` (or ``n``), as ``ngettext`` would. The ``.po`` files are the
source of truth and ``core/i18n_tools.py`` keeps them (extract, update, compile, import JSON);
the compiled ``.mo`` is read when it is at least as new as its ``.po``, else the ``.po``
itself is parsed, so a fresh clone or a wheel built without ``make compile`` still speaks.
Fuzzy and empty entries count as missing. ``dir`` is ``rtl`` for the languages in ``RTL``
and goes on the page's ``<html dir>``.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "amana"
DEFAULT = "en"
RTL = frozenset({"ar", "fa", "fa_AF", "ps"})

Message = str | tuple[str, ...]


def _read(po: Path) -> Catalog:
    mo = po.with_suffix(".mo")
    lang = po.parent.parent.name
    if mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as f:
            return read_mo(f)
    with po.open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


@lru_cache(maxsize=1)
def _loaded() -> dict[str, tuple[dict[str, Message], Callable[[int], int]]]:
    out: dict[str, tuple[dict[str, Message], Callable[[int], int]]] = {}
    for po in sorted(LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        catalog = _read(po)
        messages: dict[str, Message] = {}
        for message in catalog:
            key = message.id if isinstance(message.id, str) else message.id[0]
            string = message.string
            if not key or message.fuzzy or not string or (isinstance(string, tuple) and not all(string)):
                continue
            messages[key] = string if isinstance(string, str) else tuple(s or "" for s in string)
        out[po.parent.parent.name] = (messages, gettext.c2py(catalog.plural_expr))
    return out


def catalogues() -> dict[str, dict[str, Message]]:
    """Every language the node has: key -> text (a tuple of forms for a plural entry)."""
    return {lang: messages for lang, (messages, _plural) in _loaded().items()}


def supported() -> list[str]:
    return list(_loaded())


def pick(lang: str | None, accept_language: str | None = None) -> str:
    """The first supported of an explicit choice, then Accept-Language, then English.

    A tag with a region we hold a catalogue for picks it (``fa-AF``/``fa_AF`` → Dari);
    otherwise the base language does (``fa-IR`` → ``fa``)."""
    candidates = [lang] if lang else []
    for part in (accept_language or "").split(","):
        candidates.append(part.split(";")[0].strip())
    by_tag = {code.lower(): code for code in _loaded()}
    for candidate in candidates:
        tag = (candidate or "").replace("_", "-").lower()
        exact = by_tag.get(tag.replace("-", "_"))  # fa-AF: Dari, before Persian
        base = tag.split("-")[0]
        if exact or base in _loaded():
            return exact or base
    return DEFAULT


def _message(lang: str, key: str) -> tuple[Message, Callable[[int], int]]:
    for code in (lang, DEFAULT):
        if code in _loaded() and key in _loaded()[code][0]:
            messages, plural = _loaded()[code]
            return messages[key], plural
    raise KeyError(key)


def t(lang: str, key: str, **values: object) -> str:
    """The text of ``key`` in ``lang`` with ``values`` put in; plural by ``count`` or ``n``."""
    message, plural = _message(lang, key)
    if isinstance(message, tuple):
        count = values.get("count", values.get("n"))
        index = plural(count) if isinstance(count, int) else len(message) - 1
        message = message[min(int(index), len(message) - 1)]
    return message.format(**values)


def has(lang: str, key: str) -> bool:
    try:
        _message(lang, key)
    except KeyError:
        return False
    return True


def direction(lang: str) -> str:
    return "rtl" if lang in RTL else "ltr"
