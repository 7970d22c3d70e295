"""The interface text's gettext catalogues, managed with Babel: extract, update, compile, import.

``core/locales/<lang>/LC_MESSAGES/amana.po`` is the source of truth, one per language, committed;
``amana.mo`` beside it is compiled at build (``make compile``; ``make setup``/``test``/``demo``
run it), never committed. Message ids are keys (``console.login``), not English sentences, so
the code's ``t(lang, key)`` calls stay as they are; the English text is ``en``'s msgstr, and
every entry carries two translator comments: where it appears (from its key's prefix and the
files that use it) and the English source. An entry with a count (``{count}`` or ``{n}``) is
plural: ``msgid_plural`` is the key with ``#plural``, one msgstr per form of the language.

``python -m core.i18n_tools extract``: the template ``amana.pot`` (not committed): every key
of ``en``, with the places Babel's extractors (and the patterns of keys built at run time)
find it used. ``update``: ``extract``, then every catalogue gets new keys (untranslated) and
fresh comments, and loses keys ``en`` no longer has. ``compile``: ``.mo`` files for stale ``.po``.
``import-json FILE...``: merges ``{key: text}`` files (the format the catalogues had before,
still written by people who add a key): a new key is added, a changed text replaces the old
one; a text equal to one of a plural entry's forms changes nothing, so importing the same file
again, or an old copy of the JSON, is a no-op (``scripts/locales-import-json``).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = Path(__file__).resolve().parent / "locales"
DOMAIN = "amana"
SOURCE = "en"
PLURAL_SUFFIX = "#plural"
FIXED_DATE = datetime(2026, 1, 1, tzinfo=UTC)  # catalogue headers: no churn on every run
NOT_MESSAGES = frozenset({"dir", "language_name"})  # core.i18n.RTL and AUTONYMS say these now
SOURCE_DIRS = ("core", "issuer", "verifier", "wallet", "consent", "server")

# Where a key's prefix appears, for the translator (the longest matching prefix wins).
PLACES = {
    "page": "the frame of every page (header, language switcher, notes)",
    "front": "the node's front page: a door for each kind of visitor (holders, organisations, desks)",
    "sheet": "the offer sheet a trainer prints for a holder, with the QR code and the PIN slip",
    "offer_page": "the page a holder's phone opens from an offer's QR code",
    "ask_page": "the page a holder's phone opens from a verifier desk's QR code",
    "offer": "the wallet app, when it asks the holder for the offer's PIN",
    "console": "the issuer's staff console (trainers, clerks)",
    "console.status": "the issuer's staff console: a credential's status",
    "desk": "the verifier's desk (the staff who check a holder's credential)",
    "desk.reason": "the verifier's desk: why a credential was refused",
    "desk.status": "the verifier's desk: a credential's status",
    "desk.unavailable": "the verifier's desk: why a check cannot be asked",
    "wallet": "the holder's wallet pages",
    "wallet.err": "the holder's wallet: an error message",
    "wallet.notice": "the holder's wallet: a notice at the top of the page",
    "wallet.offline": "the holder's wallet: the offline page and its app",
    "wallet.status": "the holder's wallet: a credential's status",
    "consent": "the holder's consent records and receipts",
}


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def languages() -> list[str]:
    return sorted(p.parent.parent.name for p in LOCALES.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def read(lang: str) -> Catalog:
    with po_path(lang).open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def _serialise(catalog: Catalog) -> bytes:
    """No line numbers in locations: they would change with every edit of the code and make
    each branch's catalogues conflict; the file is enough to find a key."""
    out = io.BytesIO()
    write_po(out, catalog, width=0, ignore_obsolete=True, omit_header=False, include_lineno=False)
    return out.getvalue()


def write(lang: str, catalog: Catalog) -> bool:
    """Writes the catalogue if its text changed (so an idempotent run leaves files untouched)."""
    path = po_path(lang)
    data = _serialise(catalog)
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def new_catalog(lang: str | None) -> Catalog:
    return Catalog(locale=lang, domain=DOMAIN, project="Amana", version="0.1", copyright_holder="the Amana authors",
                   msgid_bugs_address="the Amana project", last_translator="the Amana authors",
                   language_team=f"Amana {lang or 'all'}",
                   header_comment=f"# Amana's interface text{f' in {lang}' if lang else ''}. Source of truth: this "
                   "file (core/i18n_tools.py says how it is kept).\n#",
                   creation_date=FIXED_DATE, revision_date=FIXED_DATE, charset="utf-8", fuzzy=False)


# -- where keys are used --------------------------------------------------------------------

def _sources() -> Iterator[Path]:
    for top in SOURCE_DIRS:
        yield from sorted(p for p in (ROOT / top).rglob("*") if p.suffix in (".py", ".html") and p.is_file()
                          and "vendor" not in p.parts and p.name != "i18n_tools.py")


def _dynamic_patterns(text: str) -> Iterator[re.Pattern[str]]:
    """Keys built at run time: ``f"wallet.err.{code}"`` in Python, ``"wallet." ~ step ~ "_title"`` in Jinja."""
    for fstring in re.findall(r'f"((?:[a-z0-9_]+\.)+(?:[a-z0-9_]*\{[^"{}]*\})+[a-z0-9_.]*)"', text):
        parts = re.split(r"\{[^}]*\}", fstring)
        yield re.compile("[a-z0-9_]+".join(re.escape(p) for p in parts) + r"\Z")
    for concat in re.findall(r'"[a-z_]+\.[a-z_.]*"(?:\s*~\s*(?:"[^"]*"|[\w.]+))+', text):
        parts = re.findall(r'"([^"]*)"|([\w.]+)', concat)
        yield re.compile("".join(re.escape(lit) if lit else "[a-z0-9_]+" for lit, _var in parts) + r"\Z")


def literal_uses(path: Path) -> list[tuple[int, str]]:
    """Keys named literally in ``t(...)``/``has(...)`` calls, by Babel's extractors (line, key)."""
    if path.suffix == ".py":
        with contextlib.redirect_stderr(io.StringIO()):  # Babel warns of f-strings: _dynamic_patterns reads them
            found = extract_from_file("python", path, keywords={"t": (2,), "has": (2,)})
    else:
        found = extract_from_file("jinja2.ext:babel_extract", path, keywords={"t": (1,)},
                                  options={"extensions": "", "trimmed": "false"})
    return [(line, message) for line, message, _comments, _context in found if isinstance(message, str)]


def uses(keys: Iterable[str]) -> dict[str, list[tuple[str, int]]]:
    """Every file (and line) that names a key: in a t() call, as a quoted literal, or by a pattern."""
    keys = list(keys)
    known = set(keys)
    where: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for path in _sources():
        rel = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        for line, key in literal_uses(path):
            where[key].append((rel, line))
        for match in re.finditer(r"""["']([a-z_]+(?:\.[a-z0-9_]+)*)["']""", text):
            if match.group(1) in known:
                where[match.group(1)].append((rel, text.count("\n", 0, match.start()) + 1))
        for pattern in _dynamic_patterns(text):
            for key in keys:
                if pattern.match(key):
                    where[key].append((rel, 0))
    return {key: sorted(set(places)) for key, places in where.items()}


def place(key: str) -> str:
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in PLACES:
            return PLACES[".".join(parts[:n])]
    return "the interface"


# -- extract, update, compile -----------------------------------------------------------------

def extract() -> Catalog:
    """The template: every key of the English catalogue, with where and what it is."""
    source = read(SOURCE)
    used = uses(m.id if isinstance(m.id, str) else m.id[0] for m in source if m.id)
    template = new_catalog(None)
    for message in source:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        files = sorted({f for f, _ in used.get(key, [])})
        text = message.string
        english = text if isinstance(text, str) else " | ".join(s or "" for s in text or ())
        comments = [f"Where: {place(key)}" + (f" ({', '.join(files)})" if files else ""), f"English: {english}"]
        msgid: str | tuple[str, str] = (key, key + PLURAL_SUFFIX) if isinstance(message.id, tuple) else key
        string: str | tuple[str, str] = ("", "") if isinstance(msgid, tuple) else ""
        template.add(msgid, string, locations=used.get(key, []),  # line 0: a pattern, the file only
                     auto_comments=comments)
    out = LOCALES / f"{DOMAIN}.pot"
    data = _serialise(template)
    if not out.is_file() or out.read_bytes() != data:
        out.write_bytes(data)
    return template


def update(langs: Iterable[str] | None = None) -> list[str]:
    """Brings every catalogue (or ``langs``) in line with the template; returns those that changed."""
    template = extract()
    changed = []
    for lang in langs if langs is not None else languages():
        catalog = read(lang) if po_path(lang).is_file() else new_catalog(lang)
        catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
        catalog.obsolete.clear()
        if write(lang, catalog):
            changed.append(lang)
    return changed


def compile_all(force: bool = False) -> list[str]:
    """``amana.mo`` for every ``.po`` newer than it (fuzzy and empty entries left out)."""
    done = []
    for lang in languages():
        po, mo = po_path(lang), po_path(lang).with_suffix(".mo")
        if force or not mo.is_file() or mo.stat().st_mtime < po.stat().st_mtime:
            buffer = io.BytesIO()
            write_mo(buffer, read(lang), use_fuzzy=False)
            mo.write_bytes(buffer.getvalue())
            done.append(lang)
    return done


# -- import from JSON -------------------------------------------------------------------------

def json_language(path: Path) -> str:
    """``fa_AF.json``, ``fa-AF.json`` and ``fa-af.json`` all mean ``fa_AF``."""
    lang, _, region = path.stem.replace("-", "_").partition("_")
    return lang.lower() + (f"_{region.upper()}" if region else "")


def merge(catalog: Catalog, values: dict[str, object], plural_keys: set[str]) -> list[str]:
    """Puts ``values`` ({key: text or [forms]}) into ``catalog``; returns the keys it changed."""
    changed = []
    forms = catalog.num_plurals
    for key, value in values.items():
        if key in NOT_MESSAGES or not isinstance(value, (str, list)):
            continue
        texts = [str(v) for v in value] if isinstance(value, list) else [value]
        existing = catalog.get(key)
        if not any(texts):
            continue
        plural = key in plural_keys or isinstance(value, list) or (existing is not None and
                                                                   isinstance(existing.id, tuple))
        if existing is not None and not existing.fuzzy:
            current = existing.string
            if isinstance(current, tuple) and ((len(texts) == 1 and texts[0] in current) or tuple(texts) == current):
                continue
            if isinstance(current, str) and len(texts) == 1 and current == texts[0]:
                continue
        if plural:
            string: str | tuple[str, ...] = tuple(texts[i] if i < len(texts) else texts[-1] for i in range(forms))
            msgid: str | tuple[str, str] = (key, key + PLURAL_SUFFIX)
        else:
            string, msgid = texts[0], key
        if existing is not None:
            existing.id, existing.string, existing.flags = msgid, string, set()
        else:
            catalog.add(msgid, string)
        changed.append(key)
    return changed


def import_json(paths: Iterable[Path]) -> dict[str, list[str]]:
    """Merges JSON catalogues, English first (it brings the keys), then updates every catalogue."""
    paths = sorted(paths, key=lambda p: (json_language(p) != SOURCE, json_language(p)))
    source = read(SOURCE) if po_path(SOURCE).is_file() else new_catalog(SOURCE)
    plural_keys = {m.id[0] for m in source if isinstance(m.id, tuple)}
    report: dict[str, list[str]] = {}
    for path in paths:
        lang = json_language(path)
        values = json.loads(path.read_text(encoding="utf-8"))
        catalog = read(lang) if po_path(lang).is_file() else new_catalog(lang)
        changed = merge(catalog, values, plural_keys)
        if lang == SOURCE:
            plural_keys |= {m.id[0] for m in catalog if isinstance(m.id, tuple)}
        write(lang, catalog)
        if changed:
            report[lang] = changed
    update()
    return report


def main(argv: list[str]) -> int:
    command, *rest = argv or ["help"]
    if command == "extract":
        print(f"{len(extract())} keys in {LOCALES / (DOMAIN + '.pot')}")
    elif command == "update":
        print("updated:", ", ".join(update()) or "nothing")
    elif command == "compile":
        print("compiled:", ", ".join(compile_all(force="--force" in rest)) or "nothing (all fresh)")
    elif command == "import-json":
        files = [Path(p) for p in rest] or sorted(LOCALES.glob("*.json"))
        for lang, keys in import_json(files).items():
            print(f"{lang}: {len(keys)} changed: {', '.join(keys[:12])}{' ...' if len(keys) > 12 else ''}")
        compile_all()
    else:
        print("usage: python -m core.i18n_tools extract | update | compile [--force] | import-json [FILE.json ...]")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
