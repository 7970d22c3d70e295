"""OpenID4VP 1.0 section 8.2: when the Response URI answers with ``redirect_uri``, "the Wallet MUST
redirect the user agent to this URI", after an answer and after a refusal alike. In Debian's
chromium: the holder's browser lands where the verifier said, fragment (its ``response_code``)
included, though the consent form's page allows no form action off the node (the done page sends
it on, not an HTTP redirect). An answer naming anything but an https URL (http on loopback) is not
followed. The verifier is the in-process "stranger" of tests/test_wallet_page_refusals.py: our own
desk is cross-device and never asks for a redirect."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from core import i18n
from tests.desk_world import DeskWorld, page_width
from tests.test_verifier_desk import CHROMIUM
from tests.test_wallet_page_refusals import Stranger, _open_request
from tests.test_wallet_pages import PASS, SHOTS, _offer, browser, world  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")


@pytest.fixture()
def stranger() -> Iterator[Stranger]:
    made = Stranger()
    yield made
    made.server.shutdown()


def test_the_holders_browser_goes_where_the_verifier_asks(world: DeskWorld, browser: Any,  # noqa: F811
                                                          stranger: Stranger) -> None:
    page = browser.new_context(locale="en", viewport={"width": 360, "height": 900}).new_page()
    page.goto(f"{world.base}/wallet/new")
    page.fill("#passphrase", PASS)
    page.fill("#passphrase_again", PASS)
    page.locator("form button").last.click()
    page.wait_for_selector("#wallet-code")
    offer = _offer(world)
    page.goto(offer["qr_link"] + "&lang=en")
    page.get_by_role("link", name=i18n.t("en", "offer_page.wallet_here")).click()
    page.fill("#pin", offer["pin"])
    page.locator("form button").last.click()
    assert page.locator("li.held").count() == 1

    # A refusal answered with a redirect to the verifier's own site: the browser follows it.
    stranger.pages["landing"] = "<!doctype html><title>Stranger Ltd</title><p>Thank you</p>"
    onward = f"{stranger.base}/landing?step=2#response_code=declined-7f3a"
    stranger.answer = json.dumps({"redirect_uri": onward}).encode()
    _open_request(page, world.base, stranger.link("refused"))
    page.get_by_role("button", name=i18n.t("en", "wallet.dont_share")).click()
    page.wait_for_url(onward)
    assert page.locator("p").inner_text() == "Thank you"
    assert [p["error"] for p in stranger.posts] == [["access_denied"]]

    # An answer the same way (the stranger is unregistered: the holder ticks that they understand).
    onward = f"{stranger.base}/landing#response_code=shared-91c0"
    stranger.answer = json.dumps({"redirect_uri": onward}).encode()
    _open_request(page, world.base, stranger.link("shown"))
    page.locator("input[name=heeded]").check()
    page.get_by_role("button", name=i18n.t("en", "wallet.share")).click()
    page.wait_for_url(onward)
    assert "vp_token" in stranger.posts[-1]

    # The done page itself, in Arabic at 360 px, as a browser that does not follow the refresh shows
    # it (here the verifier's site answers with no page): the way on is a link, named by its host.
    page.goto(f"{world.base}/wallet/present?lang=ar")
    onward = f"{stranger.base}/landing#response_code=ar-5e2d"
    stranger.answer = json.dumps({"redirect_uri": onward}).encode()
    page.route(f"{stranger.base}/landing*", lambda route: route.fulfill(status=204))  # no page: it stays
    _open_request(page, world.base, stranger.link("arabic"))
    page.get_by_role("button", name=i18n.t("ar", "wallet.dont_share")).click()
    page.wait_for_selector(".result.declined")
    link = page.get_by_role("link", name=i18n.t("ar", "wallet.continue_at", site="127.0.0.1"))
    assert link.get_attribute("href") == onward
    assert page.locator("html").get_attribute("dir") == "rtl" and page_width(page) <= 360
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "done-continue-ar-360.png"), full_page=True)
