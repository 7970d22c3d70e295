"""Every message the interface can show is in the catalogues, in every language, ready to ship.

Babel's extractors find each ``t(key)`` in the templates and each ``t(lang, key)``/``has(lang, key)``
in Python (user messages raised or returned by pages included); keys built at run time
(``f"wallet.err.{code}"``) must match at least one entry. A language in ``i18n.UNFINISHED`` may
still be incomplete; every other has every key, nothing fuzzy, nothing empty, the same
placeholders as English.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core import i18n, i18n_tools

ROOT = Path(__file__).resolve().parent.parent


def _english_keys() -> set[str]:
    return set(i18n.catalogues()[i18n.DEFAULT])


def test_every_key_named_in_code_or_templates_is_in_the_english_catalogue() -> None:
    keys = _english_keys()
    missing = []
    found = 0
    for path in i18n_tools._sources():
        for line, key in i18n_tools.literal_uses(path):
            if "." not in key and key not in keys:
                continue  # t("x") of something that is not a message key (none today)
            found += 1
            if key not in keys:
                missing.append(f"{path.relative_to(ROOT)}:{line}: {key}")
    assert found > 300 and not missing, missing


def test_every_key_built_at_run_time_matches_entries() -> None:
    keys = _english_keys()
    patterns = []
    for path in i18n_tools._sources():
        patterns += [(path, p) for p in i18n_tools._dynamic_patterns(path.read_text(encoding="utf-8"))]
    assert len(patterns) >= 8
    for path, pattern in patterns:
        if pattern.pattern.startswith("\\.") or "[a-z0-9_]+" not in pattern.pattern:
            continue
        assert any(pattern.match(k) for k in keys), f"{path}: no entry matches {pattern.pattern}"


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_each_language_is_complete_unless_its_translation_is_unfinished(lang: str) -> None:
    if lang in i18n.UNFINISHED:
        pytest.skip(f"{lang}: translation in progress (core.i18n.UNFINISHED)")
    assert i18n_tools.po_path(lang).is_file(), f"{lang}: no catalogue"
    english = i18n_tools.read(i18n.DEFAULT)
    catalog = i18n_tools.read(lang)
    problems = []
    for source in english:
        if not source.id:
            continue
        key = source.id if isinstance(source.id, str) else source.id[0]
        message = catalog.get(key)
        strings = [] if message is None else \
            [message.string] if isinstance(message.string, str) else list(message.string or ())
        if message is None or not strings or not all(strings):
            problems.append(f"{key}: untranslated")
        elif message.fuzzy:
            problems.append(f"{key}: fuzzy")
        else:
            wanted = set().union(*(_placeholders(s or "") for s in
                                   ([source.string] if isinstance(source.string, str) else source.string or ())))
            for text in strings:
                extra = _placeholders(text or "") - wanted
                if extra:
                    problems.append(f"{key}: unknown placeholder {extra}")
    assert not problems, problems


def test_the_unfinished_list_names_only_languages_we_offer() -> None:
    assert set(i18n.LANGUAGES) >= i18n.UNFINISHED
    assert {"en", "ar", "fa", "uk", "fr"}.isdisjoint(i18n.UNFINISHED)


# What a holder reads names no protocol: the words are for a person, not for an engineer.
HOLDER_KEYS = ("wallet.", "offer_page.", "ask_page.", "sheet.", "help.", "front.", "offer.")
PROTOCOL_NAMES = re.compile(r"OpenID4V|SD-JWT|DCQL|DPoP|OAuth|JWT\b|x509")


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_no_holder_text_names_a_protocol(lang: str) -> None:
    named = []
    for message in i18n_tools.read(lang):
        key = message.id if isinstance(message.id, str) else (message.id or ("",))[0]
        texts = [message.string] if isinstance(message.string, str) else list(message.string or ())
        if key.startswith(HOLDER_KEYS) and any(PROTOCOL_NAMES.search(t or "") for t in texts):
            named.append(key)
    assert named == [], named
