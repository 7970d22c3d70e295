"""A trainer picks a skill from ESCO in a real browser (Debian's chromium, Playwright), over real HTTP:
types "forklift", picks "operate forklift" from the list box with the keyboard and issues; the same
without JavaScript (the search form and its select); a made-up URI refused in the trainer's language.
At 360 px and 1280 px, in Arabic (right to left) and English. Screenshots go to SHOTS for a person.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core import esco, i18n
from tests.browser import SHOTS, chromium, issuer_node, needs_chromium
from tests.node import RunningNode

pytestmark = [needs_chromium, pytest.mark.skipif(not esco.INDEX.exists(), reason="the ESCO index is not built")]
FORKLIFT = "http://data.europa.eu/esco/skill/28cb374e-6261-4133-8371-f9a5470145da"
MADE_UP = "http://data.europa.eu/esco/skill/0e4a3c5a-6b6f-4a8a-9e1b-3f5c2d7a8b90"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningNode, str]]:
    yield from issuer_node(tmp_path_factory.mktemp("esco"))


def _signed_in(browser: Any, running: RunningNode, key: str, lang: str, width: int, script: bool = True) -> Any:
    page = browser.new_context(java_script_enabled=script, viewport={"width": width, "height": 900},
                               locale=lang).new_page()
    page.goto(f"{running.base}/issuer/console?lang={lang}")
    page.fill("input[name=api_key]", key)
    page.get_by_role("button", name=i18n.t(lang, "console.login")).click()
    page.wait_for_selector("form[action='/issuer/console/offer']")
    return page


def _rest_of_the_form(form: Any) -> None:
    form.locator("[name=given_name]").fill("Amina")
    form.locator("[name=family_name]").fill("Rahimi")
    form.locator("[name=assessment_method]").select_option("practical_test")
    form.locator("[name=issuing_organisation]").fill("Open Doors")
    form.locator("[name=awarded_on]").fill("2026-11-20")


def _fits(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "nothing wider than the screen"


@pytest.mark.parametrize(("lang", "width"), [("ar", 360), ("en", 1280), ("ar", 1280)])
def test_a_trainer_types_forklift_picks_from_the_list_and_issues(node: tuple[RunningNode, str], lang: str,
                                                                 width: int) -> None:
    running, key = node
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        page = _signed_in(browser, running, key, lang, width)
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        assert page.locator("html").get_attribute("dir") == i18n.direction(lang)
        box = page.get_by_role("combobox", name=i18n.t(lang, "console.esco_find"))
        box.press_sequentially("forklift", delay=20)
        listbox = page.get_by_role("listbox", name=i18n.t(lang, "console.esco_matches"))
        first = listbox.get_by_role("option").first
        first.wait_for()
        assert first.inner_text().splitlines()[0] == "operate forklift"  # a label starting with the word first
        assert box.get_attribute("aria-expanded") == "true"
        _fits(page, width)
        page.screenshot(path=str(SHOTS / f"esco-list-{lang}-{width}.png"), full_page=False)
        box.press("ArrowDown")
        assert box.get_attribute("aria-activedescendant") == first.get_attribute("id")
        assert first.get_attribute("aria-selected") == "true"
        box.press("Enter")  # picks; does not submit the search form
        form = page.locator("form[action='/issuer/console/offer']")
        assert form.locator("[name='skill.uri']").input_value() == FORKLIFT
        assert form.locator("[name='skill.label']").input_value() == "operate forklift"
        assert listbox.is_hidden() and box.get_attribute("aria-expanded") == "false"
        said = page.locator("[data-esco-status='SkillCertificate']").inner_text()
        assert said == i18n.t(lang, "console.esco_picked", label="operate forklift")
        _rest_of_the_form(form)
        page.screenshot(path=str(SHOTS / f"esco-picked-{lang}-{width}.png"), full_page=True)
        form.get_by_role("button", name=i18n.t(lang, "console.create_offer")).click()
        page.wait_for_selector(".sheet svg")
        assert not violations, violations


@pytest.mark.parametrize(("lang", "width"), [("fr", 360), ("ar", 1280)])
def test_without_javascript_the_search_form_lists_the_skills_in_a_select(node: tuple[RunningNode, str], lang: str,
                                                                        width: int) -> None:
    running, key = node
    with chromium() as browser:
        page = _signed_in(browser, running, key, lang, width, script=False)
        page.locator("input[data-esco-search]").fill("FORKLIFT")
        page.locator("input[data-esco-search]").press("Enter")  # submits the search form, not the offer
        page.wait_for_selector("select[name='skill.uri']")
        assert "esco=FORKLIFT" in page.url and "given_name" not in page.url
        form = page.locator("form[action='/issuer/console/offer']")
        uri = form.locator("select[name='skill.uri']")
        assert uri.locator("option").nth(1).inner_text() == "operate forklift"
        uri.select_option(FORKLIFT)
        _rest_of_the_form(form)
        _fits(page, width)
        page.screenshot(path=str(SHOTS / f"esco-noscript-{lang}-{width}.png"), full_page=True)
        form.get_by_role("button", name=i18n.t(lang, "console.create_offer")).click()
        page.wait_for_selector(".sheet svg")


@pytest.mark.parametrize(("lang", "width"), [("ar", 360), ("en", 1280)])
def test_a_made_up_skill_uri_is_refused_in_the_trainers_language(node: tuple[RunningNode, str], lang: str,
                                                                 width: int) -> None:
    running, key = node
    with chromium() as browser:
        page = _signed_in(browser, running, key, lang, width)
        form = page.locator("form[action='/issuer/console/offer']")
        form.locator("[name='skill.uri']").fill(MADE_UP)
        form.locator("[name='skill.label']").fill("operate forklift")
        _rest_of_the_form(form)
        form.get_by_role("button", name=i18n.t(lang, "console.create_offer")).click()
        page.wait_for_selector("[aria-invalid='true']")
        field = page.locator("form[action='/issuer/console/offer'] [name='skill.uri']")
        assert field.get_attribute("aria-invalid") == "true"
        said = i18n.t(lang, "console.esco_unknown")
        described = page.locator(f"[id='{field.get_attribute('aria-describedby')}']")
        assert described.inner_text() == said
        assert page.locator(".sheet").count() == 0
        _fits(page, width)
        page.screenshot(path=str(SHOTS / f"esco-refused-{lang}-{width}.png"), full_page=True)
