"""The holder's forms speak the page's language only (helper-83). A browser's own validation
bubbles ("Please fill out this field", "Please lengthen this text to 8 characters") and its file
button ("Choose File", "No file chosen") are in the browser's language, which on a borrowed or
second-hand phone is often not the reader's. So the wallet's forms are ``novalidate`` (the node
answers every refusal at the field, in the page's language: ``wallet.page_kit``), and a photo is
picked by the label's own words, the file input kept in the page out of sight."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core import i18n
from tests.browser import SHOTS, chromium, needs_chromium
from wallet.pages import MIN_PASSPHRASE

TEMPLATES = Path(__file__).resolve().parent.parent / "wallet" / "templates"


def test_every_form_with_a_rule_for_its_fields_leaves_the_rule_to_the_node() -> None:
    forms = [(path.name, form) for path in TEMPLATES.glob("*.html")
             for form in re.findall(r"<form\b.*?</form>", path.read_text(encoding="utf-8"), flags=re.S)]
    ruled = [(name, form) for name, form in forms if re.search(r"<input\b[^>]*\s(required|minlength=|pattern=)", form)]
    assert len(ruled) >= 7
    assert [name for name, form in ruled if "novalidate" not in form.split(">", 1)[0]] == []


@needs_chromium
@pytest.mark.parametrize(("lang", "width"), [("ti", 360), ("ar", 1280)])
def test_a_refusal_and_the_photo_button_are_in_the_page_s_language_on_a_german_phone(lang: str, width: int,
                                                                                     tmp_path: Path) -> None:
    from tests.node import RunningNode

    with RunningNode(tmp_path) as node, chromium() as browser:
        page = browser.new_context(locale="de-DE", viewport={"width": width, "height": 800}).new_page()
        page.goto(f"{node.base}/wallet/new?lang={lang}")
        page.fill("#passphrase", "kurz")
        page.fill("#passphrase_again", "kurz")
        page.locator("form[action='/wallet/new'] button").last.click()
        error = page.locator(".field-error")
        error.wait_for()  # the node's answer, not a bubble of the browser's that kept the form from going
        assert error.inner_text() == i18n.t(lang, "wallet.passphrase_short", n=MIN_PASSPHRASE)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"form-refused-{lang}-{width}.png"), full_page=True)

        page.goto(f"{node.base}/wallet/recover?lang={lang}")
        picker = page.locator("label.photo-label")
        assert picker.is_visible() and picker.inner_text().strip() == i18n.t(lang, "desk.photo")
        box = page.locator("input.photo").bounding_box()
        assert box is not None and box["width"] <= 1 and box["height"] <= 1  # the browser's own button unseen
        page.locator("input.photo").focus()
        assert picker.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"  # focus shows on the words
        page.screenshot(path=str(SHOTS / f"photo-picker-{lang}-{width}.png"), full_page=True)

        # The import's file the same way; nothing chosen is said at that field first (helper-89: only the
        # passphrase was), and the name of a file chosen is shown beside its button.
        page.goto(f"{node.base}/wallet/import?lang={lang}")
        page.locator("form[action='/wallet/import'] button").last.click()
        missing = page.locator("#file-error")
        missing.wait_for()
        assert missing.inner_text() == i18n.t(lang, "wallet.err.no_file")
        assert page.locator("#file").get_attribute("aria-invalid") == "true"
        assert page.locator("label.photo-label").inner_text().strip() == i18n.t(lang, "wallet.import_choose")
        chosen = tmp_path / "my-wallet.json"
        chosen.write_text("{}")
        page.set_input_files("#file", str(chosen))
        assert page.locator(".chosen-file").inner_text() == "my-wallet.json"
        page.screenshot(path=str(SHOTS / f"import-file-{lang}-{width}.png"), full_page=True)
