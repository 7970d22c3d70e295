"""Pictograms as a holder and a clerk see them (issue #17 item 3), in Debian's chromium at phone
width in English and Arabic: the offer page and printed sheet (each step), the wallet card
(each claim), the consent screen (the purpose, each claim, the type) and the desk result (each
claim). Every pictogram drawn is one the vendor step fetched, is really drawn (has shapes), is
hidden from screen readers and sits beside visible words; pointing ones turn round in Arabic.
Screenshots go to /tmp/amana-shots/pictograms-* for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core import i18n, pictograms
from tests.browser import SHOTS, chromium, needs_chromium
from tests.desk_world import DeskWorld, page_width
from tests.node import RunningNode
from tests.page_tour import holder_pages, staff_pages

pytestmark = [needs_chromium,
              pytest.mark.skipif(not pictograms.available(), reason="pictograms are not vendored: make setup")]
WIDTH = 360
PASS = "my own words, Zq7"

# Every pictogram on the page: its name, whether it is hidden from screen readers, how many shapes
# it draws, the visible words of the element around it (without any pictogram) and its transform.
SIGNS = """() => [...document.querySelectorAll('svg.icon')].filter((s) => s.getClientRects().length).map((s) => {
  const around = s.parentElement.cloneNode(true);
  around.querySelectorAll('svg').forEach((x) => x.remove());
  return {name: s.dataset.pictogram, hidden: s.getAttribute('aria-hidden'), shapes: s.childElementCount,
          words: around.textContent.trim(), transform: getComputedStyle(s).transform,
          mirror: s.classList.contains('mirror')};
})"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskWorld]:
    data_dir = tmp_path_factory.mktemp("pictograms")
    with RunningNode(data_dir) as node:
        yield DeskWorld(node, data_dir)


def _signs(page: Any, name: str, lang: str) -> list[dict[str, Any]]:
    """The page's pictograms, each checked; the page photographed and never wider than the phone."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"pictograms-{name}-{lang}.png"), full_page=True)
    assert page_width(page) <= WIDTH, name
    signs: list[dict[str, Any]] = page.evaluate(SIGNS)
    assert signs, f"{name}: no pictogram"
    vendored = pictograms.available()
    for sign in signs:
        assert sign["name"] in vendored and sign["shapes"] > 0, (name, sign)
        assert sign["hidden"] == "true" and sign["words"], (name, sign)  # text beside it, always
        flipped = sign["transform"].startswith("matrix(-1")
        assert flipped == (sign["mirror"] and lang == "ar"), (name, sign)
    return signs


def _names(signs: list[dict[str, Any]]) -> set[str]:
    return {s["name"] for s in signs}


def _t(key: str, lang: str, **values: Any) -> str:
    return i18n.t(lang, key, **values)


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_pictograms_beside_every_type_claim_purpose_and_step(world: DeskWorld, lang: str) -> None:
    with chromium() as browser:
        context = browser.new_context(locale=lang, viewport={"width": WIDTH, "height": 800})
        page = context.new_page()
        seen: dict[str, list[dict[str, Any]]] = {}
        for name in staff_pages(world, page, lang):
            if name in ("offer sheet", "desk", "desk result"):
                seen[name] = _signs(page, name.replace(" ", "-"), lang)
        assert next(holder_pages(world, page, lang)) == "offer page"
        seen["offer page"] = _signs(page, "offer-page", lang)
        assert {"certificate", "wallet", "download", "password", "calendar-time"} <= _names(seen["offer page"])

        # The desk's result: the type's, and each claim's own sign (skill, level).
        assert {"circle-check", "certificate", "school", "stairs-up"} <= _names(seen["desk result"])
        assert "briefcase" in _names(seen["desk"])  # the questions' purposes on the desk's home
        assert set(pictograms.sheet_steps()) | {"certificate"} <= _names(seen["offer sheet"])  # each step, the type

        # A wallet with one card: its claims each wear their sign; the consent screen shows the purpose's.
        page.goto(f"{world.base}/wallet/new?lang={lang}")
        page.fill("#name", "Amal")
        page.fill("#passphrase", PASS)
        page.fill("#passphrase_again", PASS)
        page.get_by_role("button", name=_t("wallet.create", lang)).click()
        page.get_by_role("link", name=_t("wallet.written_down", lang)).click()
        home = _signs(page, "wallet-home", lang)
        assert {"download", "eye", "history", "qrcode", "arrows-exchange"} <= _names(home)
        offer = _offer(world)
        page.goto(f"{world.base}/wallet/receive?lang={lang}")
        page.fill("#link", offer["link"])
        page.get_by_role("button", name=_t("wallet.next", lang)).click()
        assert "certificate" in _names(_signs(page, "wallet-offer", lang))
        page.fill("#pin", offer["pin"])
        page.get_by_role("button", name=_t("wallet.receive_it", lang)).click()
        page.locator("li.held a").click()
        card = _signs(page, "wallet-card", lang)
        assert page.locator("dl.named dt").count() == page.locator("dl.named dt svg.icon").count() >= 5
        assert {"user", "users", "school", "checklist", "building", "calendar"} <= _names(card)
        # Beside a long label and its sign a value keeps room: "Haddad" did break into "Hadd|ad" in Arabic.
        shares = page.evaluate("[...document.querySelectorAll('dl.named dd')].map((d) => "
                               "d.getBoundingClientRect().width / d.parentElement.getBoundingClientRect().width)")
        assert min(shares) >= 0.35, shares

        desk = context.new_page()
        desk.goto(f"{world.base}/verifier/desk?lang={lang}")  # signed in on the way through the staff pages
        desk.locator("form.ask:has(input[value='skill-check'])").get_by_role("button").click()
        desk.wait_for_selector(".qr svg")
        link = desk.locator("a.wallet-link").get_attribute("href")
        page.goto(f"{world.base}/wallet/present?lang={lang}")
        page.fill("#link", str(link))
        page.get_by_role("button", name=_t("wallet.next", lang)).click()
        consent = _signs(page, "consent", lang)
        assert page.locator("ul.purposes li svg.icon").first.get_attribute("data-pictogram") == "briefcase"
        # skill-check offers two sets of claims to choose from: each claim in each set wears its sign.
        assert page.locator("fieldset.query label.check svg.icon").count() == 3
        assert {"briefcase", "certificate", "school", "stairs-up"} <= _names(consent)

        # Who saw what: the purpose's sign and each shared claim's, as on the consent screen.
        page.locator("input[type=radio][name^='set:']").first.check()  # the skill and its level
        page.get_by_role("button", name=_t("wallet.share", lang)).click()
        page.goto(f"{world.base}/wallet/history?lang={lang}")
        assert {"briefcase", "school", "stairs-up"} <= _names(_signs(page, "history", lang))
        context.close()


def _offer(world: DeskWorld) -> dict[str, Any]:
    import httpx

    from tests.desk_world import SKILL_EXAMPLE

    response = httpx.post(f"{world.base}/api/issuer/offers", json={"type": "SkillCertificate",
                                                                  "claims": SKILL_EXAMPLE},
                          headers={"Authorization": f"Bearer {world.trainers['api_key']}"}, timeout=10)
    assert response.status_code in (200, 201), response.text
    offer: dict[str, Any] = response.json()
    return offer
