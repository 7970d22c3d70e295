"""The pseudo-locale (``qps``: accented, ~40 % longer, mirrored) on every page at 360 px: nothing
may overflow sideways (``document.documentElement.scrollWidth <= 360``), and nothing the page
says may bypass the catalogues (plain English words would show among the accented ones).

Pages as tests/test_accessibility.py reaches them: the staff console, the offer sheet, the desk
(home, check, result, scan), the holder's offer and ask pages, and the wallet's pages.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import i18n, i18n_pseudo
from tests.browser import CHROMIUM, chromium
from tests.desk_world import DeskWorld, page_width
from tests.node import RunningNode
from tests.page_tour import every_page

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")
QPS = i18n_pseudo.CODE
SHOTS = os.environ.get("AMANA_QPS_SHOTS")  # a directory for screenshots, to look at the pages


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskWorld]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AMANA_PSEUDO_LOCALE", "1")
        data_dir = tmp_path_factory.mktemp("qps")
        with RunningNode(data_dir) as node:
            yield DeskWorld(node, data_dir)


def test_every_page_fits_360_px_in_the_pseudo_locale(world: DeskWorld) -> None:
    wide: dict[str, int] = {}
    seen = []
    with chromium() as browser:
        context = browser.new_context(locale="en-US", viewport={"width": 360, "height": 800})
        page = context.new_page()
        for name in every_page(world, page, QPS):
            page.wait_for_load_state()
            assert page.locator("html").get_attribute("lang") == i18n_pseudo.TAG, name
            assert page.locator("html").get_attribute("dir") == "rtl", name
            seen.append(name)
            if SHOTS:
                page.screenshot(path=str(Path(SHOTS) / f"{name.replace(' ', '-')}.png"), full_page=True)
            if (width := page_width(page)) > 360:
                wide[name] = width
        context.close()
    assert len(seen) >= 20
    assert wide == {}, json.dumps(wide, indent=1)


def test_pseudo_is_offered_only_where_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AMANA_PSEUDO_LOCALE", raising=False)
    assert i18n.choose(QPS) == i18n.Choice("en") and QPS not in dict(i18n.languages())
    monkeypatch.setenv("AMANA_PSEUDO_LOCALE", "1")
    assert i18n.choose(QPS) == i18n.Choice(QPS) and i18n.choose(None, "en-XA") == i18n.Choice(QPS)
    assert i18n.direction(QPS) == "rtl" and QPS in dict(i18n.languages())
    text = i18n.t(QPS, "console.rows_ok", count=3)
    english = i18n.t("en", "console.rows_ok", count=3)
    assert text.startswith("⟦3 ") and text.endswith("⟧") and len(text) >= 1.4 * len(english)
    assert not any(c in "aeiou" for c in text)  # every letter accented: plain English stands out


def test_pseudo_keeps_placeholders_and_grows_short_texts() -> None:
    assert i18n_pseudo.pseudo("{n} of {total}") .count("{n}") == 1
    assert "{total}" in i18n_pseudo.pseudo("{n} of {total}")
    for text in ("OK", "Sign in", "x" * 50):
        assert len(i18n_pseudo.pseudo(text)) - 2 >= int(len(text) * 1.4)
