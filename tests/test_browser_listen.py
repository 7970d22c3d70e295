"""Read aloud (issue #17 item 5) in Debian's chromium: the "listen" button on holder pages speaks
the page's main text with the browser's speech synthesis in the page's language, and is not
there at all when the browser has no voice for that language.

The browser's voices are whatever the machine has installed, so each test decides them: an init
script replaces ``speechSynthesis.getVoices`` and records ``speak()`` instead of making a sound
(``SpeechSynthesisUtterance`` is replaced too, since the real one accepts only real voices)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from core import i18n
from issuer.offers import OFFER_PAGE
from tests.browser import SHOTS, chromium, needs_chromium
from tests.node import RunningNode

pytestmark = needs_chromium

STUB = """(() => {
  let voices = %s;
  window.__spoken = [];
  window.__setVoices = (list) => { voices = list; speechSynthesis.dispatchEvent(new Event('voiceschanged')); };
  speechSynthesis.getVoices = () => voices.map((v) => ({name: v.name, lang: v.lang, voiceURI: v.name,
                                                         localService: true, default: false}));
  speechSynthesis.speak = (u) => window.__spoken.push({text: u.text, lang: u.lang, voice: u.voice && u.voice.name});
  window.SpeechSynthesisUtterance = class {
    constructor(text) { this.text = text; this.lang = ''; this.voice = null; }
    addEventListener() {}
  };
})();"""
ARABIC = {"name": "Arabic (Saudi Arabia)", "lang": "ar-SA"}
ENGLISH = {"name": "English (US)", "lang": "en-US"}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    with RunningNode(tmp_path_factory.mktemp("listen")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def _page(browser: Any, voices: list[dict[str, str]], lang: str) -> Any:
    context = browser.new_context(locale=lang, viewport={"width": 360, "height": 800})
    context.add_init_script(STUB % json.dumps(voices))
    return context.new_page()


def _button(page: Any) -> Any:
    page.wait_for_load_state("load")  # listen.js is deferred: it has run by now
    return page.locator("button.listen")


@pytest.mark.parametrize("voices", [[], [ENGLISH]], ids=["no voice", "only another language"])
def test_without_a_voice_for_the_page_language_the_button_stays_hidden(node: RunningNode, browser: Any,
                                                                       voices: list[dict[str, str]]) -> None:
    page = _page(browser, voices, "ar")
    page.goto(f"{node.base}/wallet?lang=ar")
    button = _button(page)
    assert button.count() == 1 and button.is_hidden()
    assert button.get_attribute("hidden") is not None  # hidden in the HTML, before any script runs
    page.context.close()


def test_with_the_machines_own_voices_the_button_never_shows_a_voice_it_lacks(node: RunningNode,
                                                                             browser: Any) -> None:
    """No stub: the button is visible exactly when chromium here has a voice for the language."""
    context = browser.new_context(locale="ar")
    page = context.new_page()
    page.goto(f"{node.base}/wallet?lang=ar")
    has_voice = page.evaluate("speechSynthesis.getVoices().some((v) => v.lang.toLowerCase().startsWith('ar'))")
    assert _button(page).is_visible() == has_voice
    context.close()


def test_a_matching_voice_shows_the_button_and_a_click_speaks_the_main_text_in_the_page_language(
        node: RunningNode, browser: Any) -> None:
    page = _page(browser, [ENGLISH, ARABIC], "ar")
    page.goto(f"{node.base}/wallet?lang=ar")
    button = _button(page)
    assert button.is_visible()
    assert button.inner_text().strip() == i18n.t("ar", "page.listen")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "listen-wallet-ar.png"), full_page=True)
    button.click()
    spoken = page.evaluate("window.__spoken")
    main_lines = [line.strip() for line in page.locator("main").inner_text().split("\n") if line.strip()]
    assert [s["text"] for s in spoken] == main_lines and len(main_lines) > 1
    assert {(s["lang"], s["voice"]) for s in spoken} == {("ar-SA", ARABIC["name"])}
    assert i18n.t("ar", "wallet.unlock_title") in main_lines[0]  # the main text, not the header's language list
    assert not any("English" in line for line in main_lines)
    page.context.close()


def test_voices_that_arrive_later_show_the_button_then(node: RunningNode, browser: Any) -> None:
    """Chrome loads its voices asynchronously and says so with voiceschanged."""
    page = _page(browser, [], "en")
    page.goto(f"{node.base}/wallet?lang=en")
    button = _button(page)
    assert button.is_hidden()
    page.evaluate("(v) => window.__setVoices([v])", ENGLISH)
    assert button.is_visible()
    page.evaluate("(v) => window.__setVoices([v])", ARABIC)  # and go again when they go away
    assert button.is_hidden()
    page.context.close()


def test_the_holder_pages_carry_the_button_and_the_staff_pages_do_not(node: RunningNode, browser: Any) -> None:
    page = _page(browser, [ENGLISH], "en")
    # The ask page and the offer page for a stale link: a holder reading "this cannot be used".
    for path, holder in (("/wallet/new", True), ("/wallet/recover", True), ("/verifier/ask", True),
                         (f"/issuers/nobody/{OFFER_PAGE}", True), ("/issuer/console", False),
                         ("/verifier/desk", False)):
        page.goto(f"{node.base}{path}?lang=en")
        assert _button(page).is_visible() == holder, path
    page.context.close()
