"""The offline wallet page (issue 13 item 6) in Debian's chromium, with the browser set offline
after one load: the service worker serves the page and its files, the card kept in IndexedDB
is shown as a QR signed on the device with a non-extractable WebCrypto key, and that QR —
decoded from a SCREENSHOT with zxing-cpp — is what core.offline.verify accepts. At 360 and
1280 px, in English and Arabic (rtl); axe clean; no CSP report. Screenshots go to
/tmp/wallet-offline-shots for a person to look at."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core import i18n, offline
from tests.browser import CHROMIUM, decode_qr_codes
from tests.desk_world import page_width
from tests.node import RunningNode
from tests.offline_card import keep_in_browser, verify_text
from tests.test_accessibility import AXE, audit
from tests.test_verifier_flow import TYPES

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")
SHOTS = Path(tempfile.gettempdir()) / "wallet-offline-shots"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    with RunningNode(tmp_path_factory.mktemp("wallet-offline")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def _shot(page: Any, name: str) -> bytes:
    SHOTS.mkdir(exist_ok=True)
    png: bytes = page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    return png


def _t(lang: str, key: str) -> str:
    return i18n.t(lang, key)


def _load_then_offline(context: Any, base: str, lang: str) -> Any:
    """The offline page loaded once with a network (its worker installs and keeps it), then the
    browser cut off, then the page opened again: what a holder at a border gets."""
    page = context.new_page()
    page.goto(f"{base}/wallet/offline?lang={lang}")
    page.evaluate("amanaOffline.ready.then(() => true)")
    assert page.evaluate(f"caches.open('amana-offline-v1').then(c => c.match('/wallet/offline?lang={lang}'))"
                         ".then(r => r !== undefined)")
    return page


@pytest.mark.parametrize(("width", "lang"), [(360, "en"), (1280, "en"), (360, "ar"), (1280, "ar")])
def test_the_offline_page_shows_a_qr_signed_on_the_device(node: RunningNode, browser: Any, width: int,
                                                          lang: str) -> None:
    context = browser.new_context(locale=lang, viewport={"width": width, "height": 900})
    reports: list[str] = []
    try:
        page = _load_then_offline(context, node.base, lang)
        page.on("console", lambda m: reports.append(m.text) if "Content Security Policy" in m.text else None)
        kept = keep_in_browser(page, lang)
        context.set_offline(True)
        page.reload()
        assert page.locator("h1").inner_text() == _t(lang, "wallet.offline.title")
        page.locator("fieldset input[type=checkbox]").first.wait_for()
        boxes = page.locator("fieldset input[type=checkbox]")
        assert boxes.count() == len(kept.disclosures)
        words = TYPES.by_name("SkillCertificate").value_text(("assessment_method",), "practical_test", lang)
        listed = page.locator("fieldset").inner_text()
        assert words and words in listed and "practical_test" not in listed  # the code in the reader's words
        for i in range(3):
            boxes.nth(i).check()
        page.get_by_role("button", name=_t(lang, "wallet.offline.show")).click()
        page.locator(".qr svg").wait_for()
        assert page.get_by_text(_t(lang, "wallet.offline.brightness")).is_visible()
        [text] = decode_qr_codes(_shot(page, f"offline-screen-{lang}-{width}"))
        assert text == page.locator(".qr").get_attribute("data-text")
        shown = verify_text(text, kept, expect_window=120)
        assert shown.claim_names == [d.name for d in kept.disclosures[:3]]
        assert page_width(page) <= width
        assert reports == []
    finally:
        context.close()


def test_a_card_kept_before_values_were_kept_per_language_still_shows(node: RunningNode, browser: Any) -> None:
    """Records in browsers from before session 27: one text per value, the end as an ISO day."""
    context = browser.new_context(viewport={"width": 360, "height": 900})
    try:
        page = _load_then_offline(context, node.base, "ar")
        kept = keep_in_browser(page, "ar", kept_before_27=True)
        page.reload()
        page.locator("fieldset input[type=checkbox]").first.wait_for()
        listed = page.locator("fieldset").inner_text()
        assert "practical_test" in listed and "2026-10-30" in listed and "Layla" in listed
        ends = offline.parse_credential(kept.cred).exp
        assert time.strftime("%Y-%m-%d", time.gmtime(ends)) in listed
    finally:
        context.close()


def test_the_screen_qr_renews_itself_before_its_window_ends(node: RunningNode, browser: Any) -> None:
    """The page's own clock (Playwright's fake timers, no waiting): 90 s on, a new binding time,
    a new signature, the same choice of attributes."""
    context = browser.new_context(viewport={"width": 360, "height": 900})
    try:
        page = _load_then_offline(context, node.base, "en")
        keep_in_browser(page, "en")
        page.clock.install()
        page.reload()
        page.locator("fieldset input[type=checkbox]").first.check()
        page.get_by_role("button", name=_t("en", "wallet.offline.show")).click()
        page.locator(".qr svg").wait_for()
        shown = page.locator(".qr").get_attribute("data-text") or ""
        first = offline.decode(shown)
        page.clock.run_for(89_000)
        assert page.locator(".qr").get_attribute("data-text") == shown
        page.clock.run_for(2_000)
        page.wait_for_function(f"document.querySelector('.qr').dataset.text !== {json.dumps(shown)}")
        second = offline.decode(page.locator(".qr").get_attribute("data-text") or "")
        assert second.t - first.t >= 90 and second.w == first.w == 120
        assert second.disclosures == first.disclosures and second.signature != first.signature
    finally:
        context.close()


def test_a_paper_qr_says_anyone_holding_it_can_show_it(node: RunningNode, browser: Any) -> None:
    context = browser.new_context(locale="fr", viewport={"width": 360, "height": 900})
    try:
        page = _load_then_offline(context, node.base, "fr")
        kept = keep_in_browser(page, "fr")
        context.set_offline(True)
        page.reload()
        page.locator("fieldset input[type=checkbox]").first.check()
        page.get_by_role("button", name=_t("fr", "wallet.offline.paper")).click()
        page.locator(".qr svg").wait_for()
        assert page.get_by_text(_t("fr", "wallet.offline.paper_warning")).is_visible()
        page.emulate_media(media="print")
        [text] = decode_qr_codes(_shot(page, "offline-paper-print"))
        shown = verify_text(text, kept, expect_window=30 * 86400)
        assert shown.paper
    finally:
        context.close()


def test_the_device_key_cannot_be_exported(node: RunningNode, browser: Any) -> None:
    context = browser.new_context()
    try:
        page = _load_then_offline(context, node.base, "en")
        keep_in_browser(page, "en")
        refusals = page.evaluate("""async () => {
          const [card] = await amanaOffline.allCards();
          const out = [card.key.extractable, card.key.type, card.key.algorithm.namedCurve];
          for (const format of ["jwk", "pkcs8"]) {
            try { await crypto.subtle.exportKey(format, card.key); out.push("exported"); }
            catch (e) { out.push(e.name); }
          }
          return out;
        }""")
        assert refusals == [False, "private", "P-256", "InvalidAccessError", "InvalidAccessError"]
    finally:
        context.close()


def test_a_device_with_no_card_kept_says_so_and_nothing_else(node: RunningNode, browser: Any) -> None:
    context = browser.new_context(locale="ar", viewport={"width": 360, "height": 800})
    try:
        page = _load_then_offline(context, node.base, "ar")
        page.locator(".none-kept").wait_for()
        assert page.locator(".pick-help").is_hidden() and page.locator(".nonce-step").is_hidden()
        assert page.locator("a.back").get_attribute("href") == "/wallet?lang=ar"  # the way back to the cards
    finally:
        context.close()


def test_a_browser_without_webcrypto_is_told_plainly(node: RunningNode, browser: Any) -> None:
    context = browser.new_context()
    context.add_init_script("Object.defineProperty(window, 'indexedDB', { value: undefined });")
    try:
        page = context.new_page()
        page.goto(f"{node.base}/wallet/offline?lang=uk")
        page.get_by_text(_t("uk", "wallet.offline.unsupported")).wait_for()
        assert page.locator(".kept fieldset").count() == 0 and page.locator(".none-kept").is_hidden()
    finally:
        context.close()


@pytest.mark.skipif(not AXE.exists(), reason="axe-core is not vendored: make test does it (tests/vendor)")
@pytest.mark.parametrize(("width", "lang"), [(360, "ar"), (1280, "en")])
def test_the_offline_page_is_accessible(node: RunningNode, browser: Any, width: int, lang: str) -> None:
    context = browser.new_context(locale=lang, viewport={"width": width, "height": 900}, bypass_csp=True)
    try:
        page = _load_then_offline(context, node.base, lang)
        assert audit(page) == []  # nothing kept yet
        keep_in_browser(page, lang)
        page.reload()
        page.locator("fieldset input[type=checkbox]").first.check()
        page.get_by_role("button", name=_t(lang, "wallet.offline.show")).click()
        page.locator(".qr svg").wait_for()
        _shot(page, f"offline-axe-{lang}-{width}")
        assert audit(page) == []
    finally:
        context.close()


def test_the_worker_and_manifest_are_served_for_the_wallet_scope(node: RunningNode) -> None:
    worker = httpx.get(f"{node.base}/wallet/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["service-worker-allowed"] == "/wallet/"
    assert "script-src 'self'" in worker.headers["content-security-policy"]
    manifest = httpx.get(f"{node.base}/wallet/manifest.webmanifest?lang=ar")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    body = manifest.json()
    assert (body["scope"], body["start_url"], body["dir"]) == ("/wallet/", "/wallet/offline", "rtl")
    assert body["name"] == _t("ar", "wallet.offline.app_name")
    for icon in body["icons"]:
        assert httpx.get(node.base + icon["src"]).status_code == 200


def test_keeping_a_card_needs_the_forms_token_and_an_open_wallet(node: RunningNode) -> None:
    with httpx.Client(base_url=node.base) as http:
        page = http.get("/wallet/offline")
        assert page.status_code == 200
        for step in ("start", "finish"):
            refused = http.post(f"/wallet/cards/x/offline/{step}", data={"csrf": "forged"})
            assert refused.status_code == 403, step
            assert refused.json()["code"] == "csrf_failed"


def test_the_kept_cards_are_never_in_the_servers_page(node: RunningNode) -> None:
    """The offline page is the same for everyone (the worker may keep it): no card, no name."""
    page = httpx.get(f"{node.base}/wallet/offline?lang=en").text
    assert 'class="kept"></div>' in page


def test_without_the_qr_tools_a_kept_card_can_still_be_forgotten(node: RunningNode, browser: Any,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    """A node set up without its QR tools (``make demo``): the offline page cannot draw a QR, but
    still lists the cards this browser keeps, each with "forget" (a shared phone must be able to
    drop a card and its key), and says why nothing can be shown (helper-80: it listed nothing)."""
    import core.web_pages

    context = browser.new_context(locale="ar", viewport={"width": 360, "height": 900})
    try:
        page = _load_then_offline(context, node.base, "ar")
        keep_in_browser(page, "ar")
        monkeypatch.setattr(core.web_pages, "VENDOR", tmp_path)  # the tools gone, as after `make demo`
        page.goto(f"{node.base}/wallet/offline?lang=ar&again=1")  # the server's page, not the worker's copy
        page.locator(".offline-status", has_text=_t("ar", "page.qr_tools_missing")).wait_for()  # no eval: the CSP
        assert page.locator(".offline-status").inner_text() == _t("ar", "page.qr_tools_missing")
        assert not page.get_by_role("button", name=_t("ar", "wallet.offline.show")).is_visible()
        _shot(page, "offline-no-tools-ar-360")
        forget = page.get_by_role("button", name=_t("ar", "wallet.offline.forget"))
        assert forget.count() == 1
        forget.dblclick()  # a double tap is one tap: it only asks (helper-83: one tap removed the card for good)
        asking = page.get_by_role("button", name=_t("ar", "wallet.offline.forget_confirm"))
        asking.wait_for()
        assert page.evaluate("amanaOffline.allCards().then(cards => cards.length)") == 1
        _shot(page, "offline-forget-asking-ar-360")
        page.wait_for_timeout(500)  # a deliberate second tap, not the double tap's
        asking.click()
        page.locator(".kept .forget").wait_for(state="detached")
        assert page.evaluate("amanaOffline.allCards().then(cards => cards.length)") == 0
    finally:
        context.close()


def test_without_the_qr_tools_the_card_page_offers_no_offline_keeping(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    """Kept, a card could not be shown there: the card page says why instead of offering it (its
    script then leaves the button hidden: offline.js reads data-no-qr-tools)."""
    import core.web_pages
    from core.settings import REPO_ROOT

    templates = core.web_pages.page_templates(REPO_ROOT / "wallet" / "templates")
    values = {"t": lambda key: _t("ar", key), "card": {"id": "c1"}, "lang": "ar", "csrf": "x"}
    with_tools = templates.get_template("_keep_offline.html").render(values)
    assert "data-no-qr-tools" not in with_tools and _t("ar", "page.qr_tools_missing") not in with_tools
    monkeypatch.setattr(core.web_pages, "VENDOR", tmp_path)
    without = templates.get_template("_keep_offline.html").render(values)
    assert 'data-no-qr-tools="1"' in without and _t("ar", "page.qr_tools_missing") in without
