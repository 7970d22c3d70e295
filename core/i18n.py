"""Interface words in many languages, from gettext catalogues (``core/locales/<lang>/LC_MESSAGES/amana.po``).

Templates and Python call ``t(lang, key, **values)``: the key is the message id, placeholders
are ``{name}`` (``str.format``). An entry with a count is plural: the form is chosen by the
language's own rule from ``count`` (or ``n``), as ``ngettext`` would. The ``.po`` files are the
source of truth and ``core/i18n_tools.py`` keeps them (extract, update, compile, import JSON);
the compiled ``.mo`` is read when it is at least as new as its ``.po``, else the ``.po``
itself is parsed, so a fresh clone or a wheel built without ``make compile`` still speaks.
Fuzzy and empty entries count as missing, and a missing entry is taken from the language's
closest relative the node has (``CLOSEST``), then English.

Nine languages are offered (``LANGUAGES``), each by its own name in the switcher; a language
"is there" when its catalogue is. ``choose`` reads an explicit choice, then Accept-Language (by
``q``): ``fa-AF`` and ``prs`` mean Dari (``fa_AF``), ``pbt``/``pbu``/``pst`` Pashto. When the
reader's first language is one the node lacks, the page comes in the closest one it has (Pashto:
Dari, then Persian), else the reader's next language, else English, and ``fallback_note`` says so
on the page, in the language shown, never silently. ``dir`` is ``rtl`` for the languages in
``RTL`` and goes on the page's ``<html dir>``; ``bcp47`` is the tag for ``lang=`` (``fa-AF``).
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from markupsafe import Markup, escape

from core import i18n_pseudo, local_forms

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "amana"
DEFAULT = "en"
RTL = frozenset({"ar", "fa", "fa_AF", "ps"})
LANGUAGES = ("en", "ar", "fa", "fa_AF", "ps", "ti", "so", "uk", "fr")  # the switcher's order
AUTONYMS = {"en": "English", "ar": "العربية", "fa": "فارسی", "fa_AF": "دری", "ps": "پښتو", "ti": "ትግርኛ",
            "so": "Soomaali", "uk": "Українська", "fr": "Français"}
# Languages whose catalogue may still miss entries (their translators are at work); the release
# check (tests/test_i18n_complete.py) requires every other one complete. Empty it at release.
UNFINISHED = frozenset({"fa_AF", "ps", "ti", "so"})
# The language a reader of the key most likely reads when the node lacks theirs (then English).
CLOSEST = {"fa_AF": "fa", "ps": "fa_AF"}
ALIASES = {"prs": "fa_AF", "pbt": "ps", "pbu": "ps", "pst": "ps"}
# CLDR names Dari only as "Persian (Afghanistan)"; the people who speak it call it Dari.
DARI = {"en": "Dari", "ar": "الدارية", "fa": "دری", "fa_AF": "دری", "ps": "دري", "ti": "ዳሪ", "so": "Dari",
        "uk": "дарі", "fr": "dari"}
_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")

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


@dataclass(frozen=True)
class Choice:
    """The language a page is shown in, and the reader's own when the node lacks it (else None)."""

    lang: str
    wanted: str | None = None


def code_of(tag: str) -> str | None:
    """Our code for a language tag (``fa-AF`` -> ``fa_AF``, ``ps-AF`` -> ``ps``, ``ur-PK`` -> ``ur``)."""
    tag = tag.strip()
    if not _TAG.fullmatch(tag):
        return None
    base, *rest = tag.replace("_", "-").lower().split("-")
    if base == "fa" and "af" in rest:
        return "fa_AF"
    if base == i18n_pseudo.CODE or (base == "en" and "xa" in rest):
        return i18n_pseudo.CODE
    return ALIASES.get(base, base)


def _accepted(accept_language: str | None) -> list[str]:
    """Accept-Language's tags, most wanted first (``q=0`` means not at all)."""
    weighted = []
    for n, part in enumerate((accept_language or "").split(",")[:32]):
        tag, _, params = part.partition(";")
        q = 1.0
        if (found := re.search(r"q\s*=\s*([0-9.]+)", params)) is not None:
            try:
                q = float(found.group(1))
            except ValueError:
                q = 0.0
        if q > 0 and tag.strip():
            weighted.append((-q, n, tag.strip()))
    return [tag for _q, _n, tag in sorted(weighted)]


def _has(code: str) -> bool:
    return code in _loaded() or (code == i18n_pseudo.CODE and i18n_pseudo.enabled())


def _is_language(code: str) -> bool:
    return code in LANGUAGES or code in Locale.parse(DEFAULT).languages


def choose(lang: str | None, accept_language: str | None = None) -> Choice:
    """The reader's first language if the node has it, else its closest, else their next, else English."""
    codes = [c for c in map(code_of, [*([lang] if lang else []), *_accepted(accept_language)]) if c]
    codes = [c for c in codes if _has(c) or _is_language(c)]
    if not codes:
        return Choice(DEFAULT)
    wanted = codes[0]
    if _has(wanted):
        return Choice(wanted)
    closer, step = [], CLOSEST.get(wanted)
    while step is not None and step not in closer:
        closer.append(step)
        step = CLOSEST.get(step)
    shown = next((c for c in [*closer, *codes[1:]] if c in _loaded()), DEFAULT)
    return Choice(shown, wanted)


def pick(lang: str | None, accept_language: str | None = None) -> str:
    """The language to show (``choose``, without the note)."""
    return choose(lang, accept_language).lang


def _chain(lang: str) -> list[str]:
    chain = [lang]
    while (step := CLOSEST.get(chain[-1])) is not None and step not in chain:
        chain.append(step)
    return [*chain, DEFAULT]


def _message(lang: str, key: str) -> tuple[Message, Callable[[int], int]]:
    if lang == i18n_pseudo.CODE and i18n_pseudo.enabled():
        english, plural = _message(DEFAULT, key)
        return (i18n_pseudo.pseudo(english) if isinstance(english, str) else
                tuple(i18n_pseudo.pseudo(form) for form in english)), plural
    for code in _chain(lang):
        if code in _loaded() and key in _loaded()[code][0]:
            messages, plural = _loaded()[code]
            return messages[key], plural
    raise KeyError(key)


def _text(lang: str, key: str, values: dict[str, object]) -> tuple[str, dict[str, object]]:
    """The form of ``key`` to show (plural by ``count`` or ``n``), and the values with whole
    numbers in the reader's digits (``local_forms``: ۳ for Persian, Dari and Pashto readers)."""
    message, plural = _message(lang, key)
    if isinstance(message, tuple):
        count = values.get("count", values.get("n"))
        index = plural(count) if isinstance(count, int) else len(message) - 1
        message = message[min(int(index), len(message) - 1)]
    local = {k: local_forms.local_number(v, lang) if isinstance(v, int) and not isinstance(v, bool) else v
             for k, v in values.items()}
    return message, local


def t(lang: str, key: str, **values: object) -> str:
    """The text of ``key`` in ``lang`` with ``values`` put in; plural by ``count`` or ``n``."""
    message, local = _text(lang, key, values)
    return message.format(**local)


def t_isolated(lang: str, key: str, **values: object) -> Markup:
    """``t`` for HTML, each value in ``<bdi>``: a Latin name or a number inside right-to-left
    text (or the reverse) keeps its own order and leaves the sentence's alone. Escaped."""
    message, local = _text(lang, key, values)
    return escape(message).format(**{k: Markup("<bdi>{}</bdi>").format(v) for k, v in local.items()})


def has(lang: str, key: str) -> bool:
    try:
        _message(lang, key)
    except KeyError:
        return False
    return True


def direction(lang: str) -> str:
    return "rtl" if lang in RTL or lang == i18n_pseudo.CODE else "ltr"


def bcp47(lang: str) -> str:
    """The tag for HTML ``lang=`` and manifests: ``fa_AF`` is ``fa-AF``."""
    return i18n_pseudo.TAG if lang == i18n_pseudo.CODE else lang.replace("_", "-")


def languages() -> list[tuple[str, str]]:
    """The switcher: every language offered, by its own name (those without a catalogue too:
    picking one shows its closest relative, with a note)."""
    pseudo = [(i18n_pseudo.CODE, i18n_pseudo.NAME)] if i18n_pseudo.enabled() else []
    return [*((code, AUTONYMS[code]) for code in LANGUAGES), *pseudo]


def language_name(code: str, in_lang: str) -> str:
    """``code``'s name in ``in_lang`` (CLDR, through Babel), else its own name."""
    if code == "fa_AF":
        return DARI.get(in_lang) or DARI[DEFAULT]
    if code == i18n_pseudo.CODE:
        return i18n_pseudo.NAME
    try:
        name = Locale.parse(in_lang).languages.get(code)
    except (UnknownLocaleError, ValueError):
        name = None
    return str(name or AUTONYMS.get(code) or code)


def fallback_note(choice: Choice | None, lang: str) -> str | None:
    """The sentence saying the reader's language is missing, in the language shown (``lang``)."""
    if choice is None or choice.wanted is None or choice.lang != lang:
        return None
    return t(lang, "page.fallback_note", wanted=language_name(choice.wanted, lang),
             shown=language_name(lang, lang))
