"""The desk asks for one ESCO skill in a real browser (Debian's chromium, Playwright): the clerk
searches "forklift" (a GET form, no script needed), picks "operate forklift", asks; the check page
names the skill; a holder with it is accepted. At 360 px in Arabic and 1280 px in English."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core import esco, i18n
from tests.browser import SHOTS, chromium, needs_chromium
from tests.desk_world import DeskWorld, answer_from_phone, page_width, sign_in
from tests.node import RunningNode

pytestmark = [needs_chromium, pytest.mark.skipif(not esco.INDEX.exists(), reason="the ESCO index is not built")]
FORKLIFT = "http://data.europa.eu/esco/skill/28cb374e-6261-4133-8371-f9a5470145da"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskWorld]:
    data_dir = tmp_path_factory.mktemp("desk-skill")
    with RunningNode(data_dir) as node:
        yield DeskWorld(node, data_dir)


@pytest.mark.parametrize(("lang", "width"), [("ar", 360), ("en", 1280)])
def test_the_desk_asks_for_operate_forklift_and_shows_its_label(world: DeskWorld, lang: str, width: int) -> None:
    received = world.issue("SkillCertificate")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        page: Any = browser.new_page(locale=lang, viewport={"width": width, "height": 900})
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        sign_in(page, world.base, world.desk_key, lang)
        find = page.get_by_role("search", name=i18n.t(lang, "desk.skill_find"))
        find.get_by_role("searchbox").fill("Forklift")
        find.get_by_role("button").click()
        ask = page.locator("form.ask:has(input[value='skill-check'])")
        chosen = ask.get_by_label(i18n.t(lang, "desk.skill_asked"))
        chosen.wait_for()
        assert "esco=Forklift" in page.url
        assert chosen.locator("option").nth(1).inner_text() == "operate forklift"
        chosen.select_option(FORKLIFT)
        assert page_width(page) <= width
        page.screenshot(path=str(SHOTS / f"desk-skill-pick-{lang}-{width}.png"), full_page=True)
        ask.get_by_role("button").click()
        page.wait_for_selector(".qr svg")
        asked = page.locator("p.asked")
        assert asked.inner_text() == f"{i18n.t(lang, 'desk.skill_asked')}: operate forklift"
        assert asked.locator("bdi[lang=en]").inner_text() == "operate forklift"
        page.screenshot(path=str(SHOTS / f"desk-skill-check-{lang}-{width}.png"), full_page=True)
        link = page.locator("a.wallet-link").get_attribute("href")
        assert link
        answer_from_phone(link, "skill", received)
        page.wait_for_selector("#verdict.ok", timeout=45000)
        assert page.locator("#verdict").get_by_role("link", name="operate forklift").get_attribute("href") == FORKLIFT
        assert page_width(page) <= width
        assert not violations, violations
