"""The holder's one-step withdrawal in real chromium (issue 14 acceptance), at 360 and 1280 px, in
Arabic (rtl), CSP enforced: the history shows the receipt as checked, one button withdraws (giving
was one button too), and the page then says consent is withdrawn and the verifier was told; then
the holder erases their records at the ledger.
Screenshots go to /tmp/consent-shots for a person to look at."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from core import i18n
from tests.consent.test_withdrawal import _register_with_consent
from tests.desk_world import page_width
from tests.node import RunningNode
from tests.test_verifier_desk import CHROMIUM
from tests.test_verifier_flow import World
from tests.test_wallet_copies import PASS, Holder

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")
SHOTS = Path(tempfile.gettempdir()) / "consent-shots"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("withdraw-browser")
    with RunningNode(data_dir) as node:
        world = World(node, data_dir)
        _register_with_consent(world)
        yield world


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def _shared_once(world: World) -> str:
    """A wallet on the node (its own database) that shared a card with the desk: its code."""

    class OnNode(Holder):
        def __init__(self, world: World) -> None:
            super().__init__(world, world.data_dir)

    async def story() -> str:
        async with OnNode(world) as h:
            await h.receive(2)
            result, _ = await h.present()
            assert result["accepted"] is True, result
            return h.opened.wallet_id

    with ThreadPoolExecutor(1) as pool:  # playwright's sync API holds this thread's event loop
        return pool.submit(asyncio.run, story()).result()


@pytest.mark.parametrize("width", [360, 1280])
def test_withdraw_in_one_step_in_arabic(world: World, browser: Any, width: int) -> None:
    wallet_code = _shared_once(world)
    context = browser.new_context(locale="ar", viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{world.base}/wallet?lang=ar")
    page.fill("#wallet_code", wallet_code)
    page.fill("#passphrase", PASS)
    page.get_by_role("button", name=i18n.t("ar", "wallet.unlock")).click()
    page.goto(f"{world.base}/wallet/history?lang=ar")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert i18n.t("ar", "wallet.receipt_ok") in page.locator(".receipt-state").inner_text()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"history-ar-{width}.png"), full_page=True)
    assert page_width(page) <= width

    buttons = page.get_by_role("button", name=i18n.t("ar", "wallet.withdraw"))
    assert buttons.count() == 1 and page.locator(".not-withdrawable").count() == 0  # consent: it can be
    buttons.click()  # the one step: no second page, no second button
    assert page.locator("p.notice").inner_text() == i18n.t("ar", "wallet.notice.withdrawn")
    assert i18n.t("ar", "wallet.state_withdrawn") in page.locator(".withdrawal").inner_text()
    assert page.get_by_role("button", name=i18n.t("ar", "wallet.withdraw")).count() == 0
    page.screenshot(path=str(SHOTS / f"withdrawn-ar-{width}.png"), full_page=True)
    assert page_width(page) <= width

    # erasure at the ledger: behind a disclosure triangle (rarer, and not undoable), then one button
    page.locator("details.erase summary").click()
    page.get_by_role("button", name=i18n.t("ar", "wallet.erase_records")).click()
    assert page.locator("p.notice").inner_text() == i18n.t("ar", "wallet.notice.erased")
    assert i18n.t("ar", "wallet.state_erased") in page.locator(".receipt-state").inner_text()
    page.screenshot(path=str(SHOTS / f"erased-ar-{width}.png"), full_page=True)
    assert page_width(page) <= width
    context.close()
