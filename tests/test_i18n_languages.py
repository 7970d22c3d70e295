"""Nine languages: picking from Accept-Language, the closest language and the note that says so."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from core import i18n, local_forms
from tests.conftest import console_app
from tests.locales_copy import (
    add_language,
    locales_fixture,  # noqa: F401 (the fixture "locales")
)


def _drop(locales: Path, *langs: str) -> None:
    """The node as it was before these languages' catalogues existed."""
    for lang in langs:
        shutil.rmtree(locales / lang, ignore_errors=True)
    i18n._loaded.cache_clear()


@pytest.fixture
def with_dari(locales: Path) -> Path:
    """Dari but no Pashto: a Pashto reader gets Dari with a note."""
    _drop(locales, "ps")
    if not (locales / "fa_AF").exists():
        add_language(locales, "fa_AF", like="fa")
    return locales


@pytest.fixture(scope="module")
def console_and_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    yield from console_app(tmp_path_factory.mktemp("langs"))


@pytest.mark.parametrize(("lang", "accept", "shown", "wanted"), [
    (None, "fa-AF,fa;q=0.8", "fa_AF", None),
    (None, "prs", "fa_AF", None),
    (None, "ps-AF", "fa_AF", "ps"),          # Pashto before its catalogue: Dari, with a note
    (None, "ur-PK,ur;q=0.9", "en", "ur"),    # a language the node lacks and has no relative of: English, noted
    (None, "ur, fr;q=0.5", "fr", "ur"),      # ... or the reader's next language
    (None, "de;q=0.1, ar;q=0.9", "ar", None),  # by q, not by order
    (None, "en;q=0, uk", "uk", None),
    ("ps", "fr", "fa_AF", "ps"),              # an explicit choice first
    ("zz-garbage!", "fr", "fr", None),        # not a language: ignored
    (None, "*", "en", None),
    (None, None, "en", None),
])
def test_choose(with_dari: Path, lang: str | None, accept: str | None, shown: str, wanted: str | None) -> None:
    assert i18n.choose(lang, accept) == i18n.Choice(shown, wanted)


def test_without_dari_a_pashto_reader_gets_persian_and_a_dari_reader_is_told(locales: Path) -> None:
    _drop(locales, "fa_AF", "ps")
    assert i18n.choose(None, "ps") == i18n.Choice("fa", "ps")
    assert i18n.choose(None, "fa-AF") == i18n.Choice("fa", "fa_AF")
    assert "دری" in (i18n.fallback_note(i18n.Choice("fa", "fa_AF"), "fa") or "")


def test_the_note_is_in_the_language_shown_and_names_both() -> None:
    assert i18n.fallback_note(i18n.Choice("en", "ur"), "en") == \
        "This page is not available in Urdu yet, so it is shown in English."
    assert i18n.fallback_note(i18n.Choice("fr", "ti"), "fr") == \
        "Cette page n’existe pas encore en tigrigna\u00a0; elle est affichée en français."
    assert i18n.fallback_note(i18n.Choice("en"), "en") is None
    assert i18n.fallback_note(i18n.Choice("en", "ur"), "ar") is None  # a page in another language: no note


def test_directions_and_tags() -> None:
    assert [i18n.direction(c) for c in i18n.LANGUAGES] == \
        ["ltr", "rtl", "rtl", "rtl", "rtl", "ltr", "ltr", "ltr", "ltr"]
    assert i18n.bcp47("fa_AF") == "fa-AF" and i18n.bcp47("ps") == "ps"
    assert dict(i18n.languages())["fa_AF"] == "دری" and len(i18n.languages()) == 9


def test_a_missing_entry_comes_from_the_closest_language(with_dari: Path) -> None:
    po = with_dari / "fa_AF" / "LC_MESSAGES" / "amana.po"
    text = po.read_text(encoding="utf-8")
    po.write_text(re.sub(r'(msgid "console.login"\nmsgstr )"[^"]*"', r'\1""', text), encoding="utf-8")
    i18n._loaded.cache_clear()
    assert not i18n.has("fa_AF", "console.login") or i18n.t("fa_AF", "console.login") == i18n.t("fa", "console.login")
    assert i18n.t("fa_AF", "console.login") == i18n.t("fa", "console.login")


def test_a_page_says_when_the_readers_language_is_missing(console_and_key: tuple[TestClient, str]) -> None:
    console, _key = console_and_key
    console.cookies.clear()
    urdu = console.get("/issuer/console", headers={"Accept-Language": "ur"}).text
    assert '<html lang="en" dir="ltr">' in urdu
    assert "This page is not available in Urdu yet, so it is shown in English." in urdu
    pashto = console.get("/issuer/console?lang=ps").text  # the node has Pashto: no note
    assert '<html lang="ps" dir="rtl">' in pashto and 'role="note"' not in pashto
    tigrinya = console.get("/issuer/console", headers={"Accept-Language": "ti-ER"}).text
    assert '<html lang="ti" dir="ltr">' in tigrinya and 'role="note"' not in tigrinya
    english = console.get("/issuer/console", headers={"Accept-Language": "en-GB"}).text
    assert 'role="note"' not in english
    names = re.findall(r'<a href="\?lang=([A-Za-z_]+)" lang="([A-Za-z-]+)"[^>]*>([^<]+)</a>', english)
    assert [(code, name) for code, _tag, name in names] == i18n.languages()
    assert ("fa_AF", "fa-AF", "دری") in names


def test_a_persian_reader_sees_the_offers_last_day_in_solar_hijri(console_and_key: tuple[TestClient, str]) -> None:
    client, key = console_and_key
    claims = json.loads(Path("specs/credentials/SkillCertificate/example.json").read_text())
    offer = client.post("/api/issuer/offers", headers={"Authorization": f"Bearer {key}"},
                        json={"type": "SkillCertificate", "claims": claims, "language": "fa"}).json()
    parts = urlsplit(offer["qr_link"])
    page = client.get(f"{parts.path}?{parts.query}", headers={"Accept": "text/html"}).text
    expires = re.search(r"<p[^>]*>[^<]*(?:" + "|".join(local_forms.MONTHS_IRAN) + r")[^<]*</p>", page)
    assert expires, page
    assert "<bdi>Open Doors</bdi>" in page and re.search("[۰-۹]{4}", page) and not re.search(r"20\d\d-\d\d-\d\d", page)
    english = client.get(f"{parts.path}?{parts.query}&lang=en", headers={"Accept": "text/html"}).text
    assert not any(month in english for month in local_forms.MONTHS_IRAN)
