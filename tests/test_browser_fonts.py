"""The fonts a reader's script needs are there, and chromium draws the node's pages with them
(issue 17: "browser tests in chromium with Noto fonts").

Without a font for a script the browser draws every letter as the same empty box ("tofu") and
no test notices: the text is in the DOM, axe is content, the page is unreadable. Two checks make
a missing font fail loudly: chromium's own account of the font each glyph was drawn with
(DevTools ``CSS.getPlatformFontsForNode``), and the drawn pixels of the word compared with
those of characters no font has. .ci/run installs Debian's ``fonts-noto-core`` for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import CHROMIUM, chromium
from tests.node import RunningNode

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")

# Language, a word in its script (the language's own name), and the font family expected to draw it.
SCRIPTS = [("ti", "ትግርኛ", "Noto Sans Ethiopic"), ("ps", "پښتو", "Noto"), ("fa_AF", "دری", "Noto"),
           ("ar", "العربية", "Noto"), ("uk", "Українська", "")]
TOFU = "\ue000\ue001\ue002\ue003"  # private-use code points: no font draws them, every one a box

DRAWN = """([word, font]) => {
  const canvas = document.createElement("canvas");
  canvas.width = 200; canvas.height = 40;
  const g = canvas.getContext("2d");
  g.font = font; g.textBaseline = "middle"; g.fillText(word, 4, 20);
  return canvas.toDataURL();
}"""


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with RunningNode(tmp_path_factory.mktemp("fonts")) as node:
        yield node.base


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    with chromium() as browser:
        yield browser.new_page()


def fonts_used(page: Any, selector: str) -> dict[str, int]:
    """The fonts chromium drew the element's own text with: family name -> glyphs drawn."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return {f["familyName"]: f["glyphCount"] for f in fonts}


def drawn(page: Any, word: str, selector: str = "body") -> str:
    """The word drawn on a canvas in the font the page gives ``selector``, as a PNG data URL."""
    font = page.eval_on_selector(selector, "e => getComputedStyle(e).font")
    result: str = page.evaluate(DRAWN, [word, font])
    return result


@pytest.mark.parametrize(("lang", "word", "family"), SCRIPTS)
def test_each_script_is_drawn_with_a_real_font(base: str, page: Any, lang: str, word: str, family: str) -> None:
    """The language switcher names every language in its own script: each name must be drawn
    with real glyphs, in a Noto font where the system has no other for that script."""
    page.goto(f"{base}/help/words?lang={lang}")
    page.evaluate("w => { const p = document.createElement('p'); p.id = 'probe'; p.textContent = w;"
                  " document.querySelector('main').append(p); }", word)
    boxes = drawn(page, word, "#probe") == drawn(page, TOFU, "#probe")
    assert not boxes, f"{word} ({lang}) is drawn as empty boxes: no font for its script (fonts-noto-core)"
    used = fonts_used(page, "#probe")
    assert any(family in name for name in used), used


def test_tofu_looks_like_tofu(base: str, page: Any) -> None:
    """The pixel comparison above is not vacuous: characters no font has all look alike."""
    page.goto(f"{base}/help/words?lang=en")
    assert drawn(page, TOFU) == drawn(page, "\ue010\ue011\ue012\ue013")
    assert drawn(page, TOFU) != drawn(page, "abcd")


def test_the_pages_own_tigrinya_text_is_drawn_in_noto_sans_ethiopic(base: str, page: Any) -> None:
    page.goto(f"{base}/help/words?lang=ti")
    assert page.locator("html").get_attribute("lang") == "ti"
    used = fonts_used(page, "h1")
    assert "Noto Sans Ethiopic" in used, used
