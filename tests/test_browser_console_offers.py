"""A trainer's hold on what they issued, in a real browser, in Arabic, on a 360 px phone and a
1280 px screen (issue 10 item 10): an offer made with a reference, found again by that
reference, revoked through the confirmation page; a lost sheet cancelled, a stuck one replaced
by a new sheet whose QR is read back from a screenshot. No page is wider than the screen.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from core import i18n
from core.settings import REPO_ROOT
from tests.browser import SHOTS, WIDTHS, chromium, issuer_node, needs_chromium, qr_texts
from tests.node import RunningNode
from tests.test_browser_qr import fill_skill, offer_json, sign_in
from tests.test_verifier_flow import TYPES
from wallet.receive import receive

pytestmark = needs_chromium
EXAMPLE = json.loads((REPO_ROOT / "specs/credentials/SkillCertificate/example.json").read_text())


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningNode, str]]:
    data_dir = tmp_path_factory.mktemp("console-offers")
    yield from issuer_node(data_dir)


def fits(page: Any, name: str) -> None:
    """The page at each width: never wider than the screen; screenshots kept under SHOTS."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (*WIDTHS, WIDTHS[0]):
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=str(SHOTS / f"console-offers-{name}-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)


def api(running: RunningNode, key: str, method: str, path: str, **kw: Any) -> Any:
    r = httpx.request(method, f"{running.base}{path}", headers={"Authorization": f"Bearer {key}"}, **kw)
    assert r.status_code < 300, r.text
    return r.json()


def test_a_trainer_finds_revokes_cancels_and_replaces(node: tuple[RunningNode, str]) -> None:
    running, key = node
    t = lambda k, **kw: i18n.t("ar", k, **kw)  # noqa: E731
    with chromium() as browser:
        page = browser.new_page(locale="ar", viewport={"width": 360, "height": 800})
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
        page.on("response", lambda r: problems.append(r.url) if r.status >= 400 and "favicon" not in r.url else None)
        sign_in(page, running.base, key, "ar")
        fits(page, "home")

        form = page.locator("form[action='/issuer/console/offer']")  # an offer with a reference
        form.locator("[name=given_name]").fill("أمينة")
        form.locator("[name=family_name]").fill("رحيمي")
        fill_skill(form)
        form.locator("[name=reference]").fill("ملف ٤٢ أمينة")
        form.locator("[name=copies]").fill("1")
        form.locator("button").click()
        page.wait_for_selector(".sheet .qr svg")
        assert "ملف ٤٢ أمينة" in page.locator(".staff-pin").inner_text()
        assert "٤٢" not in page.locator("article.sheet").inner_text()
        pin = page.locator(".staff-pin .pin").inner_text()
        [link] = qr_texts(page)
        fits(page, "sheet")

        async def holder() -> int:
            async with httpx.AsyncClient(timeout=10) as http:
                return len(await receive(http, link, pin, copies=1, types=TYPES))

        with ThreadPoolExecutor(1) as pool:  # Playwright's own loop runs in this thread
            assert pool.submit(asyncio.run, holder()).result() == 1

        page.locator("a.back").click()  # found again by its reference, spelt with other digits
        page.locator("#credentials input[name=reference]").fill("ملف 42 أمينة")
        page.locator("#credentials form[role=search] button").click()
        rows = page.locator("#credentials tbody tr")
        assert rows.count() == 1 and "ملف ٤٢ أمينة" in rows.first.inner_text()
        fits(page, "found")

        rows.first.locator("form[action$='/revoke'] button").click()  # asks first
        page.wait_for_selector("dl.named")
        assert t("console.confirm_title.revoke") in page.locator("main").inner_text()
        assert "ملف ٤٢ أمينة" in page.locator("dl.named").inner_text()
        [issued] = api(running, key, "GET", "/api/issuer/credentials")
        assert issued["status"] == "valid"  # nothing changed yet
        fits(page, "confirm-revoke")
        page.locator("form:has(input[name=confirm]) button").click()
        page.wait_for_selector("#credentials")
        assert api(running, key, "GET", "/api/issuer/credentials")[0]["status"] == "revoked"
        assert t("console.status.revoked") in page.locator("#credentials tbody").inner_text()

        lost = api(running, key, "POST", "/api/issuer/offers",
                   json={"type": "SkillCertificate", "claims": EXAMPLE, "reference": "ورقة ضائعة"})
        stuck = api(running, key, "POST", "/api/issuer/offers",
                    json={"type": "SkillCertificate", "claims": EXAMPLE, "reference": "Olena Koval", "language": "uk"})
        page.goto(f"{running.base}/issuer/console?lang=ar")
        fits(page, "open-offers")
        page.locator("#open-offers tr", has_text="ورقة ضائعة").locator("form[action$='/cancel'] button").click()
        page.wait_for_selector("dl.named")
        assert "ورقة ضائعة" in page.locator("dl.named").inner_text()
        fits(page, "confirm-cancel")
        page.locator("form:has(input[name=confirm]) button").click()
        page.wait_for_selector("#open-offers")
        assert "ورقة ضائعة" not in page.locator("#open-offers").inner_text()
        assert lost["offer_id"] not in {o["offer_id"] for o in api(running, key, "GET", "/api/issuer/offers")}

        page.locator("#open-offers tr", has_text="Olena Koval").locator("form[action$='/reoffer'] button").click()
        assert t("console.confirm_title.reoffer") in page.locator("main").inner_text()  # asked first
        fits(page, "confirm-new-sheet")
        page.locator("form:has(input[name=confirm]) button").click()
        page.wait_for_selector(".sheet .qr svg")
        assert page.locator("article.sheet").get_attribute("lang") == "uk"  # the holder's language, as before
        fits(page, "new-sheet")
        [new_link] = qr_texts(page, "console-offers-new-sheet-qr")
        assert new_link != stuck["qr_link"] and new_link.startswith(f"{running.base}/issuers/open-doors/offer?")
        offer_json(running.base, new_link)  # the new QR leads to a live offer
        assert t("console.new_sheet_done") in page.locator("main").inner_text()
        assert not problems, problems
