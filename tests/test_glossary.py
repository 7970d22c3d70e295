"""The glossary (#17 item 4): /help/words in every language, one id per word, served by every
service's app and linked from the holder's pages; a person sees it at 360 px in en and ar."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

from core import glossary, i18n
from core.settings import Settings
from issuer.app import build_app as issuer_app
from tests.browser import SHOTS, chromium, needs_chromium
from verifier.app import build_app as verifier_app
from wallet.app import build_app as wallet_app

BASE = "https://node.amana.test"
NINE = {"en", "ar", "fa", "fa_AF", "ps", "ti", "so", "uk", "fr"}


@pytest.fixture(scope="module", params=[issuer_app, verifier_app, wallet_app], ids=["issuer", "verifier", "wallet"])
def client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app: FastAPI = request.param(Settings(data_dir=tmp_path_factory.mktemp("glossary"), public_base_url=BASE))
    with TestClient(app, base_url=BASE) as c:
        yield c


def test_every_service_serves_the_glossary_in_every_language(client: TestClient) -> None:
    assert set(i18n.supported()) >= NINE
    for lang in i18n.supported():
        page = client.get(f"/help/words?lang={lang}")
        assert page.status_code == 200
        # BCP 47 in the page (fa-AF), the catalogue's name in links (?lang=fa_AF)
        assert f'<html lang="{lang.replace("_", "-")}" dir="{i18n.direction(lang)}">' in page.text
        assert "'unsafe-inline'" not in page.headers["content-security-policy"]
        ids = re.findall(r'<dt id="([a-z_]+)">', page.text)
        assert tuple(ids) == glossary.TERMS, "each word once, with its own id, in a fixed order"
        for term in glossary.TERMS:
            assert str(escape(i18n.t(lang, f"help.{term}.text"))) in page.text


def test_the_reader_s_language_comes_from_the_browser_when_none_is_chosen(client: TestClient) -> None:
    assert 'lang="fa-AF" dir="rtl"' in client.get("/help/words", headers={"Accept-Language": "fa-AF,fa;q=0.9"}).text
    assert 'lang="fa" dir="rtl"' in client.get("/help/words", headers={"Accept-Language": "fa-IR"}).text
    assert 'lang="en" dir="ltr"' in client.get("/help/words?lang=zz").text


def test_every_language_explains_every_word_in_its_own_words() -> None:
    english = i18n.catalogues()["en"]
    for lang, catalogue in i18n.catalogues().items():
        for term in glossary.TERMS:
            for part in ("term", "text"):
                assert catalogue[f"help.{term}.{part}"].strip(), (lang, term)
            if lang != "en":
                assert catalogue[f"help.{term}.text"] != english[f"help.{term}.text"], (lang, term)
        assert catalogue["help.words.link"] != (english["help.words.link"] if lang != "en" else "")


def test_a_link_names_one_word_or_none() -> None:
    assert glossary.link("ar", "pin") == "/help/words?lang=ar#pin"
    assert glossary.link("so") == "/help/words?lang=so"
    with pytest.raises(ValueError):
        glossary.link("en", "blockchain")


def test_the_holder_pages_link_the_glossary_in_their_language(tmp_path: Path) -> None:
    """Each link carries the way back to its page (a GET's path and query; none from a posted page)."""
    with TestClient(wallet_app(Settings(data_dir=tmp_path / "w", public_base_url=BASE)), base_url=BASE) as c:
        for lang in ("ps", "ti"):
            page = c.get(f"/wallet?lang={lang}")
            back = quote(f"/wallet?lang={lang}", safe="")
            link = f'<a href="/help/words?lang={lang}&amp;back={back}">{i18n.t(lang, "help.words.link")}</a>'
            assert link in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/wallet?lang=so").text)
        assert csrf is not None
        posted = c.post("/wallet/unlock", data={"csrf": csrf[1], "lang": "so", "wallet_code": "x", "passphrase": "y"})
        assert 'class="field-error"' in posted.text  # a form's answer: no address to go back to, so the
        # glossary opens beside it, and reading a word does not lose the page (helper-88)
        beside = '<a href="/help/words?lang=so&amp;beside=1" target="_blank" rel="noopener">'
        assert f'{beside}{i18n.t("so", "help.words.link")}</a>' in posted.text
    with TestClient(issuer_app(Settings(data_dir=tmp_path / "i", public_base_url=BASE)), base_url=BASE) as c:
        gone = c.get("/issuers/nobody/offer?lang=so", headers={"Accept": "text/html"})
        back = quote("/issuers/nobody/offer?lang=so", safe="")
        assert f'<a href="/help/words?lang=so&amp;back={back}">{i18n.t("so", "help.words.link")}</a>' in gone.text


def test_the_glossary_leads_back_to_the_page_it_was_opened_from_in_the_language_now_read(client: TestClient) -> None:
    page = client.get("/help/words?lang=fa&back=" + quote("/wallet/receive?lang=en&link=abc", safe=""))
    back = "/wallet/receive?link=abc&amp;lang=fa"
    assert f'<a class="back" href="{back}"><span class="arrow" aria-hidden="true">←</span> ' \
           f'{i18n.t("fa", "help.words.back")}</a>' in page.text
    # the language links keep it, so a reader who switches language can still go back
    keep = "&amp;back=" + quote("/wallet/receive?lang=en&link=abc", safe="")
    assert f'href="?lang=ar{keep}"' in page.text
    assert page.headers["cache-control"] == "no-store"  # it may name an offer or a request (helper-88)
    # not the notice the page showed as it was left ("card received"): it would say it again (helper-89)
    assert glossary.way_back("/wallet?lang=en&notice=received", "ar") == "/wallet?lang=ar"
    beside = client.get("/help/words?lang=fa&beside=1")  # a tab of its own, beside a page a form brought
    assert i18n.t("fa", "help.words.close_tab") in beside.text and 'class="back"' not in beside.text
    assert 'href="?lang=ar&amp;beside=1"' in beside.text  # said in the language switched to as well
    alone = client.get("/help/words?lang=fa")
    assert 'class="back"' not in alone.text and alone.headers["cache-control"] == "public, max-age=3600"


@pytest.mark.parametrize("back", ["//evil.example/x", "/\\evil.example", "https://evil.example/", "javascript:alert(1)",
                                  "/\t/evil.example", "/\n/evil.example", "wallet", "", "/" + "a" * 600,
                                  "/wallet/\u0645", "/wallet history"])
def test_a_way_back_that_is_not_a_path_here_is_dropped(client: TestClient, back: str) -> None:
    assert glossary.way_back(back, "en") is None
    page = client.get("/help/words", params={"lang": "en", "back": back})
    assert page.status_code == 200 and 'class="back"' not in page.text and "evil" not in page.text


@given(st.text(max_size=80))
def test_every_way_back_kept_stays_on_this_host(back: str) -> None:
    """Whatever comes as ``back``, the link shown resolves, as a browser resolves it, to this host."""
    kept = glossary.way_back(back, "ar")
    if kept is not None:
        resolved = urlsplit(urljoin(f"{BASE}/help/words?lang=en", kept))
        assert (resolved.scheme, resolved.netloc) == ("https", "node.amana.test")
        assert kept.startswith("/") and kept.endswith("lang=ar")


@needs_chromium
@pytest.mark.parametrize(("lang", "width"), [("en", 360), ("ar", 360), ("ar", 1280)])
def test_the_glossary_reads_on_a_cheap_phone_and_leads_back(lang: str, width: int, tmp_path: Path) -> None:
    """360 px wide: nothing runs off the side, a linked word is scrolled to, the text is the page's;
    opened from a wallet page, its "Back" returns there, in the language chosen on the way."""
    from tests.node import RunningNode

    with RunningNode(tmp_path) as node, chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": 800})
        page.goto(f"{node.base}/help/words?lang={lang}#passphrase")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate("document.documentElement.dir") == i18n.direction(lang)
        assert page.locator("#passphrase").inner_text() == i18n.t(lang, "help.passphrase.term")
        assert page.locator("dt:target").count() == 1
        for term in glossary.TERMS:
            assert page.locator(f"#{term}").is_visible()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"glossary-{lang}-{width}.png"), full_page=True)

        page.goto(f"{node.base}/wallet/recover?lang=en")
        page.get_by_role("link", name=i18n.t("en", "help.words.link")).click()
        page.locator("nav.langs").get_by_role("link", name=dict(i18n.languages())[lang]).click()
        back = page.get_by_role("link", name=i18n.t(lang, "help.words.back"))
        assert back.is_visible() and page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(SHOTS / f"glossary-back-{lang}-{width}.png"), full_page=True)
        back.click()
        assert urlsplit(page.url).path == "/wallet/recover"
        assert page.evaluate("document.documentElement.lang") == i18n.bcp47(lang)
