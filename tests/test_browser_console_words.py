"""A trainer's mistakes, said back in the page's language, in a real browser (helper-90): a class
file with a bad row and a one-offer form with two bad fields, in Arabic and French, at 360 px and
1280 px. Each problem is read where a person reads it (the row list, the field), never as the
API's English, never with the value typed; the file is chosen by the page's own words; no page is
wider than the screen. Screenshots kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core import i18n
from tests.browser import SHOTS, WIDTHS, chromium, issuer_node, needs_chromium
from tests.node import RunningNode
from tests.test_browser_qr import fill_skill, sign_in

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningNode, str]]:
    yield from issuer_node(tmp_path_factory.mktemp("console-words"))


def _shot(page: Any, name: str, width: int) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"console-words-{name}-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_a_bad_row_and_a_bad_form_are_said_in_the_pages_language(node: tuple[RunningNode, str], lang: str,
                                                                  tmp_path: Path) -> None:
    running, key = node
    csv = tmp_path / "mars.csv"
    csv.write_text("given_name,family_name,eqf_level\nAmina,Rahimi,3\n,Haddad,onze\n", encoding="utf-8")
    with chromium() as browser:
        for width in WIDTHS:
            page = browser.new_page(locale=lang, viewport={"width": width, "height": 800})
            sign_in(page, running.base, key, lang)
            form = page.locator("form[action='/issuer/console/class']")
            form.locator("input[type=file]").set_input_files(str(csv))
            # the file is picked by the page's words, not the browser's "Choose File" (as helper-89 found in the wallet)
            assert form.locator("label.photo-label").inner_text().strip() == i18n.t(lang, "console.csv")
            assert form.locator(".chosen-file").inner_text() == "mars.csv"
            assert form.locator("input[type=file]").bounding_box()["width"] <= 1  # type: ignore[index]
            fill_skill(form, "default:")
            form.locator("button[type=submit], button:not([type])").last.click()
            page.wait_for_selector(".sheet .qr svg")
            said = page.locator("section.errors li").inner_text()
            assert said.startswith(i18n.t(lang, "console.row_error", row=3, error="").strip())
            assert i18n.t(lang, "console.rule.required", name="").strip(" :\u00a0") in said
            assert "eqf_level" in said and "given_name" in said  # the columns as the file's header names them
            assert "required" not in said and "onze" not in said and "Haddad" not in said
            _shot(page, f"class-{lang}", width)

            page.goto(f"{running.base}/issuer/console?lang={lang}")
            offer = page.locator("form[action='/issuer/console/offer']")
            offer.locator("[name=family_name]").fill("Rahimi")
            fill_skill(offer)
            offer.locator("[name=eqf_level]").fill("9")
            offer.locator("button[type=submit], button:not([type])").last.click()
            page.wait_for_selector("p.field-error")
            level = page.locator("#err-SkillCertificate-eqf_level").inner_text()
            assert level == i18n.t(lang, "console.rule.at_most", name=_label(page, "eqf_level"), limit=8)
            assert page.locator("[name=given_name]").get_attribute("aria-invalid") == "true"
            _shot(page, f"offer-{lang}", width)
            page.close()


def _label(page: Any, name: str) -> str:
    """The field's label as the page shows it (its own text, without the input's)."""
    text: str = page.locator(f"form[action='/issuer/console/offer'] label:has([name='{name}'])").evaluate(
        "l => l.firstChild.textContent.trim()")
    return text.removesuffix("*").strip()


def test_a_word_in_a_number_field_and_a_half_typed_date_are_said_not_dropped(node: tuple[RunningNode, str]) -> None:
    """helper-92: the level was a number field, so the browser sent nothing for "onze" and the offer
    went out without a level; a half-typed date was sent as nothing and called empty. The word now
    reaches the node, which says it at the field; the date is said at the field before sending."""
    running, key = node
    with chromium() as browser:
        page = browser.new_page(locale="fr", viewport={"width": 360, "height": 800})
        sign_in(page, running.base, key, "fr")
        offer = page.locator("form[action='/issuer/console/offer']")
        offer.locator("[name=given_name]").fill("Amina")
        offer.locator("[name=family_name]").fill("Rahimi")
        fill_skill(offer)
        offer.locator("[name=eqf_level]").fill("onze")
        offer.locator("button").last.click()
        page.wait_for_selector("#err-SkillCertificate-eqf_level")
        assert "écrivez un nombre entier" in page.locator("#err-SkillCertificate-eqf_level").inner_text()
        assert page.locator(".sheet").count() == 0  # nothing made

        offer = page.locator("form[action='/issuer/console/offer']")
        offer.locator("[name=eqf_level]").fill("3")
        date = offer.locator("[name=awarded_on]")
        date.fill("")
        date.click()
        page.keyboard.type("12")  # a month, no day or year: the browser cannot read it
        assert date.evaluate("d => d.validity.badInput")
        offer.locator("button").last.click()
        said = page.locator("p.bad-input")
        said.wait_for()
        assert said.inner_text() == i18n.t("fr", "console.date_incomplete")
        assert date.get_attribute("aria-invalid") == "true" and page.locator(".sheet").count() == 0
        _shot(page, "offer-bad-date-fr", 360)
        page.close()


def test_without_a_script_the_browsers_own_file_input_names_the_file(node: tuple[RunningNode, str],
                                                                      tmp_path: Path) -> None:
    """helper-92: without a script nothing named the file picked (the page's button hides the input)."""
    running, key = node
    csv = tmp_path / "mars.csv"
    csv.write_text("given_name\nAmina\n", encoding="utf-8")
    with chromium() as browser:
        page = browser.new_context(java_script_enabled=False, locale="fr").new_page()
        sign_in(page, running.base, key, "fr")
        picker = page.locator("form[action='/issuer/console/class'] input[type=file]")
        picker.set_input_files(str(csv))
        box = picker.bounding_box()
        assert box is not None and box["width"] > 50 and picker.is_visible()
        page.close()
