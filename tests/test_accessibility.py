"""axe-core on every staff, holder and wallet page, in each of the nine languages, at phone width
(issue 10 item 15: WCAG 2.1 AA; issue 17: every page in every language, with its ``lang`` and
``dir``). axe finds what a machine can, the rest is checked by hand and by the page tests. No
violation of impact "serious" or "critical" may remain. The pages are those tests/page_tour.py
walks through; the fonts they are drawn in are tests/test_browser_fonts.py's concern.

axe-core (pinned, test-only, ``make test`` vendors it into tests/vendor) is injected into each
page by Playwright with the page's Content-Security-Policy bypassed for that injection only:
the node's pages allow no inline script, and the audit must not loosen what they serve.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core import i18n, i18n_pseudo
from tests.browser import CHROMIUM, chromium
from tests.desk_world import DeskWorld
from tests.node import RunningNode
from tests.page_tour import every_page

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)"),
    pytest.mark.skipif(not AXE.exists(), reason="axe-core is not vendored: make test does it (tests/vendor)"),
]
# wcag22aa brings target-size (2.5.8): every target 24 x 24 px, or spaced as if it were.
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa",
                                                "best-practice"]}}
# Our own floor, above WCAG's for thumbs on cheap phones (2.5.5's 44 px): a button or a link drawn
# as one, outside a table (a table's, on a staff page, may be 36 px).
SMALL_BUTTONS = """() => [...document.querySelectorAll('main button, main a.button')]
  .filter((b) => b.offsetParent !== null && !b.closest('td'))
  .filter((b) => b.getBoundingClientRect().height < 44)
  .map((b) => b.textContent.trim().slice(0, 30))"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskWorld]:
    data_dir = tmp_path_factory.mktemp("a11y")
    with RunningNode(data_dir) as node:
        yield DeskWorld(node, data_dir)


def audit(page: Any) -> list[str]:
    """The serious and critical axe violations on the page as it is now, one line each."""
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found = page.evaluate("async (rules) => (await axe.run(document, rules)).violations", RULES)
    small = page.evaluate(SMALL_BUTTONS)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in found if v["impact"] in ("serious", "critical")] + [f"under 44 px tall: {small}"] * bool(small)


# What each language must say in <html lang> (BCP 47: a region after a hyphen) and its direction,
# written out here rather than read from core.i18n, so a wrong table there fails.
TAGS = {"en": "en", "ar": "ar", "fa": "fa", "fa_AF": "fa-AF", "ps": "ps", "ti": "ti", "so": "so", "uk": "uk",
        "fr": "fr"}
RTL = {"ar", "fa", "fa_AF", "ps"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium for every language: a new context (cookies, wallet) per language is enough."""
    with chromium() as launched:
        yield launched


def test_every_language_is_covered() -> None:
    assert set(TAGS) == set(i18n.LANGUAGES) == set(i18n.supported()) - {i18n_pseudo.CODE}


@pytest.mark.parametrize("lang", list(TAGS))
def test_every_page_in_every_language(world: DeskWorld, browser: Any, lang: str) -> None:
    """axe-core finds no serious or critical violation on any page, and each page says its
    language and direction: ``lang`` is the BCP 47 tag, ``dir`` is rtl for the four RTL ones."""
    found: dict[str, list[str]] = {}
    said: dict[str, tuple[str | None, str | None]] = {}
    context = browser.new_context(locale=TAGS[lang], viewport={"width": 360, "height": 800}, bypass_csp=True)
    try:
        page = context.new_page()
        for name in every_page(world, page, lang):
            page.wait_for_load_state()
            html = page.locator("html")
            said[name] = (html.get_attribute("lang"), html.get_attribute("dir"))
            if name == "offer sheet":  # the holder's paper, in the holder's language (here the staff's)
                sheet = page.locator("article.sheet").first
                said["offer sheet itself"] = (sheet.get_attribute("lang"), sheet.get_attribute("dir"))
            found[name] = audit(page)
    finally:
        context.close()
    expected = (TAGS[lang], "rtl" if lang in RTL else "ltr")
    assert {name: got for name, got in said.items() if got != expected} == {}
    assert {name: v for name, v in found.items() if v} == {}, json.dumps(found, ensure_ascii=False, indent=1)
    assert len(found) >= 24, sorted(found)


def test_the_audit_finds_what_it_should(browser: Any) -> None:
    """The audit is not vacuous: a page with an unnamed button and an image without text fails it."""
    page = browser.new_page()
    page.set_content('<html lang="en"><title>x</title><main><img src="data:,"><button></button></main></html>')
    found = " ".join(audit(page))
    page.close()
    assert "image-alt" in found and "button-name" in found
    small = browser.new_page()
    small.set_content('<html lang="en"><title>x</title><main><button style="height:30px">Go</button></main></html>')
    assert "under 44 px tall: ['Go']" in audit(small)
    small.close()
