"""A walk through every page the node serves, in one language, for the browser tests that must
see them all (tests/test_accessibility.py: axe in nine languages; tests/test_pseudo_locale.py:
nothing overflows in the pseudo-locale). Helpers only; no test here.

Each walker drives one Playwright ``page`` and yields a page name each time the page shows a
new screen, so a test does its check there and the walk goes on. One walk per language reuses
one browser context: the wallet made at the start holds the card the later pages show.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from core import i18n
from tests.desk_world import SKILL_EXAMPLE, DeskWorld, answer_from_phone, sign_in

PASS = "correct horse battery staple"


def staff_pages(world: DeskWorld, page: Any, lang: str, wallet: bool = False) -> Iterator[str]:
    """The console (sign-in, home, the offer sheet), the desk (home, check, result) and, while
    the check is open, the ask page a phone's camera app lands on. With ``wallet`` (one made by
    ``wallet_pages`` in this context), that wallet's consent screen answers the check; else
    a wallet outside the browser does."""
    base, trainers = world.base, world.trainers
    page.goto(f"{base}/issuer/console?lang={lang}")
    yield "console sign-in"
    page.fill("input[name=api_key]", trainers["api_key"])
    page.get_by_role("button", name=i18n.t(lang, "console.login")).click()
    page.wait_for_selector("form[action='/issuer/console/offer']")
    yield "console home"
    form = page.locator("form[action='/issuer/console/offer']")
    typed = (("given_name", "Amina"), ("family_name", "Rahimi"), ("skill.uri", SKILL_EXAMPLE["skill"]["uri"]),
             ("skill.label", "welding"), ("issuing_organisation", "Open Doors"), ("awarded_on", "2026-11-20"))
    for name, value in typed:
        form.locator(f"[name='{name}']").fill(value)
    form.locator("[name=assessment_method]").select_option("practical_test")
    form.locator("button").last.click()
    page.wait_for_selector(".sheet .qr svg")
    yield "offer sheet"
    sign_in(page, base, world.desk_key, lang)
    yield "desk"
    page.locator("form.ask:has(input[value='skill-check'])").get_by_role("button").click()
    page.wait_for_selector(".qr svg")
    yield "desk check"
    check_url = page.url
    link = page.locator("a.wallet-link").get_attribute("href")
    page.goto(f"{base}/verifier/ask?{urlsplit(link).query}&lang={lang}")  # what the desk's QR carries
    yield "ask page"
    if wallet:
        page.goto(f"{base}/wallet/present?{urlsplit(link).query}&lang={lang}")
        yield "wallet consent"
        page.locator("button[name=answer][value=yes]").click()
        page.wait_for_load_state()
        yield "wallet shared"
        page.goto(f"{base}/wallet/history?lang={lang}")  # now with an entry: who saw what, and when
        yield "wallet history after sharing"
    else:
        answer_from_phone(link, "skill", world.issue("SkillCertificate"))
    page.goto(check_url)
    page.wait_for_selector("#verdict.ok", timeout=45000)
    yield "desk result"


def holder_pages(world: DeskWorld, page: Any, lang: str) -> Iterator[str]:
    """The offer page a holder's camera opens, an ask page whose check is gone, the desk's scan
    page, the glossary and the node's front page (also what a mistyped address shows)."""
    offer = httpx.post(f"{world.base}/api/issuer/offers", timeout=10,
                       headers={"Authorization": f"Bearer {world.trainers['api_key']}"},
                       json={"type": "SkillCertificate", "claims": SKILL_EXAMPLE, "language": "en"}).json()
    page.goto(offer["qr_link"] + f"&lang={lang}")
    yield "offer page"
    page.goto(f"{world.base}/verifier/ask?lang={lang}")
    yield "ask page (gone)"
    page.goto(f"{world.base}/verifier/desk/scan?lang={lang}")
    yield "desk scan"
    page.goto(f"{world.base}/help/words?lang={lang}")
    yield "glossary"
    page.goto(f"{world.base}/?lang={lang}")
    yield "front page"
    page.goto(f"{world.base}/no-such-page?lang={lang}")
    yield "front page (no such page)"


def wallet_pages(world: DeskWorld, page: Any, lang: str) -> Iterator[str]:
    """The wallet hosted by the node: made, a card received, and every page it links to."""
    base = world.base
    page.goto(f"{base}/wallet?lang={lang}")
    yield "wallet unlock"
    page.goto(f"{base}/wallet/new?lang={lang}")
    yield "wallet new"
    page.fill("#passphrase", PASS)
    page.fill("#passphrase_again", PASS)
    page.get_by_role("button", name=i18n.t(lang, "wallet.create")).click()
    yield "wallet recovery sheet"
    page.get_by_role("link", name=i18n.t(lang, "wallet.written_down")).click()
    yield "wallet home"
    offer = httpx.post(f"{base}/api/issuer/offers", json={"type": "SkillCertificate", "claims": SKILL_EXAMPLE},
                       headers={"Authorization": f"Bearer {world.trainers['api_key']}"}, timeout=10).json()
    page.goto(f"{base}/wallet/receive?lang={lang}")
    yield "wallet receive"
    page.fill("#link", offer["link"])
    page.get_by_role("button", name=i18n.t(lang, "wallet.next")).click()
    yield "wallet offer"
    page.fill("#pin", offer["pin"])
    page.get_by_role("button", name=i18n.t(lang, "wallet.receive_it")).click()
    yield "wallet received"
    page.locator("a[href^='/wallet/cards/']").first.click()
    yield "wallet card"
    for path in ("present", "history", "offline", "move", "import", "recover"):
        page.goto(f"{base}/wallet/{path}?lang={lang}")
        yield f"wallet {path}"


def every_page(world: DeskWorld, page: Any, lang: str) -> Iterator[str]:
    """All three walks: the wallet first, so that it answers the desk's check."""
    yield from wallet_pages(world, page, lang)
    yield from staff_pages(world, page, lang, wallet=True)
    yield from holder_pages(world, page, lang)
