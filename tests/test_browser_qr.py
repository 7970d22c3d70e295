"""Every QR code the node shows, read back from a screenshot as a phone would read it; and
what the printed offer sheet carries.

The offer sheet (one holder), the class sheets (one per trainee) and the verifier desk's
check page, at 360 px and 1280 px and in print layout, in a left-to-right and a
right-to-left language: the decoded text must be the page's own link, and that link must
lead to the live offer or request. Printed, a holder's sheet says what the certificate is,
who issued it and what to do, in the holder's language, and never carries the PIN.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from core import i18n
from tests.browser import SHOTS, WIDTHS, chromium, issuer_node, layouts, needs_chromium, no_media_emulation, qr_texts
from tests.node import RunningNode
from tests.test_verifier_flow import TYPES, World
from wallet.receive import receive
from wallet.vp_request import parse_link

pytestmark = needs_chromium
SKILL_URI = "http://data.europa.eu/esco/skill/28cb374e-6261-4133-8371-f9a5470145da"
CLASS_CSV = "given_name,family_name,language\nAmina,Rahimi,fa\nOlena,Koval,uk\nYusuf,Haddad,ar\n"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningNode, str]]:
    data_dir = tmp_path_factory.mktemp("qr")
    yield from issuer_node(data_dir)


def sign_in(page: Any, base: str, api_key: str, lang: str) -> None:
    page.goto(f"{base}/issuer/console?lang={lang}")
    page.fill("input[name=api_key]", api_key)
    page.locator("form[action='/issuer/console/login'] button").click()
    page.wait_for_selector("form[action='/issuer/console/offer']")


def fill_skill(form: Any, prefix: str = "") -> None:
    form.locator(f"[name='{prefix}skill.uri']").fill(SKILL_URI)
    form.locator(f"[name='{prefix}skill.label']").fill("welding")
    form.locator(f"[name='{prefix}assessment_method']").select_option("practical_test")
    form.locator(f"[name='{prefix}issuing_organisation']").fill("Open Doors")
    form.locator(f"[name='{prefix}awarded_on']").fill("2026-11-20")


def make_offer(page: Any, holder_language: str, pin_slip: bool = False) -> None:
    form = page.locator("form[action='/issuer/console/offer']")
    form.locator("[name=pin_slip]").set_checked(pin_slip)
    form.locator("[name=given_name]").fill("Amina")
    form.locator("[name=family_name]").fill("Rahimi")
    fill_skill(form)
    form.locator("[name=holder_language]").select_option(holder_language)
    form.locator("button").click()
    page.wait_for_selector(".sheet .qr svg")


def make_class(page: Any, tmp_path: Path, pin_slip: bool = False) -> None:
    csv = tmp_path / "class.csv"
    csv.write_text(CLASS_CSV, encoding="utf-8")
    form = page.locator("form[action='/issuer/console/class']")
    form.locator("[name=pin_slip]").set_checked(pin_slip)
    form.locator("input[type=file]").set_input_files(str(csv))
    fill_skill(form, "default:")
    form.locator("button").click()
    page.wait_for_selector(".sheet .qr svg")


def offer_json(base: str, link: str) -> dict[str, Any]:
    """Follow a decoded offer link the way a wallet does: its ``credential_offer_uri``, fetched."""
    [offer_uri] = parse_qs(urlsplit(link).query)["credential_offer_uri"]
    assert offer_uri.startswith(base + "/issuers/open-doors/offers/")
    r = httpx.get(offer_uri)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json"), r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.mark.parametrize(("console", "holder"), [("en", "en"), ("fa", "ar")])
def test_the_offer_sheet_qr_reads_back_on_screen_and_in_print(node: tuple[RunningNode, str], console: str,
                                                              holder: str) -> None:
    running, api_key = node
    with chromium() as browser:
        page = browser.new_page(locale=console)
        sign_in(page, running.base, api_key, console)
        make_offer(page, holder)
        seen = {label: qr_texts(page, f"offer-{console}-{holder}-{label}") for label in layouts(page)}
    links = {text for texts in seen.values() for text in texts}
    assert all(len(texts) == 1 for texts in seen.values()), seen  # one code, readable in every layout
    assert len(links) == 1, seen
    link = links.pop()
    assert link.startswith(f"{running.base}/issuers/open-doors/offer?credential_offer_uri=")  # a camera opens it
    offer = offer_json(running.base, link)
    assert offer["credential_issuer"] == f"{running.base}/issuers/open-doors"


def test_a_camera_opens_the_offer_page_and_a_wallet_takes_the_same_link(node: tuple[RunningNode, str]) -> None:
    running, api_key = node
    with chromium() as browser:
        page = browser.new_page(locale="en", viewport={"width": 360, "height": 800})
        sign_in(page, running.base, api_key, "en")
        make_offer(page, "fa")
        pin = page.locator(".staff-pin .pin").inner_text()
        [link] = qr_texts(page)
        phone = browser.new_page(locale="en", viewport={"width": 360, "height": 800})  # a phone set to English
        problems: list[str] = []
        phone.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        phone.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        phone.goto(link)
        html = phone.locator("html")
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("fa", "rtl")  # the holder's language
        for width in WIDTHS:
            phone.set_viewport_size({"width": width, "height": 800})
            phone.screenshot(path=str(SHOTS / f"offer-page-fa-{width}.png"), full_page=True)
            assert phone.evaluate("document.documentElement.scrollWidth") <= width
        assert not problems, problems  # no CSP violation, nothing missing
        wallet_link = phone.locator("a.wallet-link").get_attribute("href")
        assert wallet_link is not None and wallet_link.startswith("openid-credential-offer://?credential_offer_uri=")
        assert pin not in phone.locator("body").inner_text()

    async def holder() -> int:
        async with httpx.AsyncClient(timeout=10) as http:
            return len(await receive(http, link, pin, copies=1, types=TYPES))

    assert asyncio.run(holder()) == 1  # the wallet resolves the very text the camera read


def test_class_sheets_qr_codes_read_back_one_per_trainee(node: tuple[RunningNode, str], tmp_path: Path) -> None:
    running, api_key = node
    with chromium() as browser:
        page = browser.new_page(locale="ar")
        sign_in(page, running.base, api_key, "ar")
        make_class(page, tmp_path)
        seen = {label: sorted(qr_texts(page, f"class-{label}")) for label in layouts(page)}
    first = next(iter(seen.values()))
    assert len(first) == 3 and len(set(first)) == 3, seen  # three trainees, three distinct offers
    assert all(texts == first for texts in seen.values()), seen
    for link in first:
        offer_json(running.base, link)


def test_the_desk_check_page_qr_reads_back_and_a_camera_lands_on_a_page_in_the_readers_language(
        tmp_path: Path) -> None:
    """Issue 10 items 1 and 12: the desk's QR reads back at every width and in print, and it
    carries an https page (a camera app opens nothing for openid4vp://) with the very client_id
    and request_uri of the wallet link, which a wallet reads straight from it."""
    with RunningNode(tmp_path) as running, chromium() as browser:
        world = World(running, tmp_path)
        page = browser.new_page(locale="ar")
        page.goto(f"{world.base}/verifier/desk?lang=ar")
        page.fill("input[name=desk_key]", world.desk_key)
        page.locator("form[action='/verifier/desk/login'] button").click()
        page.locator("form[action='/verifier/desk/checks']").filter(
            has=page.locator("input[name=query][value='right-to-work']")).locator("button").click()
        page.wait_for_selector(".qr svg")
        link = page.locator("a.wallet-link").get_attribute("href")
        seen = {label: qr_texts(page, f"desk-check-{label}") for label in layouts(page)}
        assert link is not None and link.startswith("openid4vp://")
        [scanned] = next(iter(seen.values()))
        assert all(texts == [scanned] for texts in seen.values()), seen
        assert scanned.startswith(f"{world.base}/verifier/ask?")
        assert parse_link(scanned).params == parse_link(link).params  # what a wallet reads from either

        camera = browser.new_page(locale="fa-IR", viewport={"width": 360, "height": 740})
        landed = camera.goto(scanned)
        assert landed is not None and landed.status == 200
        assert camera.locator("html").get_attribute("dir") == "rtl" and camera.locator("html").get_attribute(
            "lang") == "fa"
        asker = camera.locator("main").inner_text()  # who asks: the name the wallet will show (the trust list's)
        assert "Employer" in asker and "Amana verifier" not in asker  # not the node's default verifier_name
        assert camera.locator("main a.wallet-link").get_attribute("href") == link
        assert camera.locator("input.copy-link").input_value() == link
        assert camera.evaluate("document.documentElement.scrollWidth") <= 360
        camera.screenshot(path=str(SHOTS / "ask-page-fa-360.png"), full_page=True)
        here = camera.locator("main a.button:not(.wallet-link)").get_attribute("href")
        assert here is not None and here.startswith("/wallet/present?client_id=")  # this node's own wallet
        # ... and it comes first: a phone with no wallet app does nothing when the app's link is tapped
        headings = camera.locator("main section h2").all_inner_texts()
        assert [i18n.t("fa", "offer_page.no_wallet") in h for h in headings] == [True, False], headings

        stranger = scanned.replace("request_uri=", "request_uri=https://elsewhere.example/x&ignored=")
        refused = camera.goto(stranger)
        assert refused is not None and refused.status == 404
        assert "openid4vp://" not in camera.content() and "elsewhere" not in camera.content()


def _printed(page: Any) -> tuple[list[str], list[str], str]:
    """In print layout: the QR sheets' texts, the PIN slips' texts, and all the paper says."""
    page.emulate_media(media="print")
    try:
        sheets = [t for t in page.locator("article.sheet:not(.slip)").all_inner_texts()]
        slips = page.locator("article.sheet.slip").all_inner_texts()
        for article in page.locator("article.sheet").all():  # each sheet and slip ends its page
            assert article.evaluate("e => getComputedStyle(e).breakAfter") == "page"
        return sheets, slips, page.locator("body").inner_text()
    finally:
        no_media_emulation(page)


def test_the_printed_sheet_says_what_and_who_in_the_holders_language_and_never_the_pin(
        node: tuple[RunningNode, str]) -> None:
    running, api_key = node
    with chromium() as browser:
        page = browser.new_page(locale="en")
        sign_in(page, running.base, api_key, "en")
        make_offer(page, "ar")
        pin = page.locator(".staff-pin .pin").inner_text()
        instruction = i18n.t("en", "console.pin_channel")
        assert instruction in page.locator("body").inner_text()  # staff read it on screen
        [sheet], slips, paper = _printed(page)
    assert re.fullmatch(r"\d{6}", pin) and not slips
    assert TYPES.by_name("SkillCertificate").display_name("ar") in sheet
    assert "الأبواب المفتوحة" in sheet  # the organisation, by its Arabic name
    assert i18n.t("ar", "sheet.step2") in sheet
    assert pin not in paper and instruction not in paper


def test_pin_slips_print_apart_from_the_qr_sheets(node: tuple[RunningNode, str], tmp_path: Path) -> None:
    running, api_key = node
    with chromium() as browser:
        page = browser.new_page(locale="fr")
        sign_in(page, running.base, api_key, "fr")
        make_class(page, tmp_path, pin_slip=True)
        pins = page.locator(".staff-pin .pin").all_inner_texts()
        sheets, slips, paper = _printed(page)
        slip_langs = [a.get_attribute("lang") for a in page.locator("article.sheet.slip").all()]
        pdf = page.pdf()  # Chromium's own print: every sheet and every slip on a page of its own
    assert re.findall(rb"/Type /Pages\s*/Count (\d+)", pdf) == [b"6"], re.findall(rb"/Count \d+", pdf)
    assert len(pins) == len(sheets) == len(slips) == 3
    assert slip_langs == ["fa", "uk", "ar"]  # each trainee's slip in their own language
    for pin, sheet, slip in zip(pins, sheets, slips, strict=True):
        assert pin in slip and not any(p in sheet for p in pins)
    assert i18n.t("fr", "console.pin_channel") not in paper
