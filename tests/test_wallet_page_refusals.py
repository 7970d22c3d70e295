"""What the wallet pages refuse, each in the holder's language (Arabic here) and each changing
nothing (issue 12, negative tests): a malformed offer link and request link, a verifier that is
not on the trust list (red, warned, not answered until the holder ticks that they understand),
a replayed and an expired request, a copy already shown to another verifier, a tampered export.

A "stranger" verifier runs in this process on loopback: a bare HTTP server that serves
requests signed with a key the trust list does not know (a did:jwk client id, made by the
node's own request code) and records what wallets post to it."""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from core import i18n
from tests.desk_world import DeskWorld
from tests.test_accessibility import AXE, audit
from tests.test_verifier_desk import CHROMIUM
from tests.test_wallet_pages import PASS, _desk_asks, _offer, browser, world  # noqa: F401 (fixtures)
from tests.vp_world import identity, query
from verifier import requests
from verifier.requests import Prefix

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)"),
    pytest.mark.skipif(not AXE.exists(), reason="axe-core is not vendored: make test does it (tests/vendor)"),
]
AR = "ar"


class Stranger:
    """A verifier nobody registered. ``link(name, age_s)`` makes a request (the nonce is the name)."""

    def __init__(self) -> None:
        self.ident = identity("Stranger Ltd")
        self.posts: list[dict[str, list[str]]] = []
        self.objects: dict[str, str] = {}
        self.answer = b"{}"  # what its Response URI answers a wallet's POST with (OpenID4VP 8.2)
        self.pages: dict[str, str] = {}
        stranger = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.split("?")[0].rsplit("/", 1)[-1]
                page = stranger.pages.get(name)  # its own site, where it may send the holder's browser
                body = (page or stranger.objects.get(name, "")).encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html" if page else "application/oauth-authz-req+jwt")
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                stranger.posts.append(parse_qs(self.rfile.read(length).decode()))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(stranger.answer)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def link(self, name: str, age_s: int = 0) -> str:
        self.objects[name] = requests.request_object(
            self.ident, Prefix.DID, response_uri=f"{self.base}/response/{name}", nonce=f"nonce-{name}-0123456789",
            state=f"state-{name}", dcql_query=query("skill-check")["dcql_query"], now=int(time.time()) - age_s)
        return requests.wallet_link(self.ident.client_id(Prefix.DID), f"{self.base}/request/{name}")


@pytest.fixture(scope="module")
def stranger() -> Iterator[Stranger]:
    made = Stranger()
    yield made
    made.server.shutdown()


def _error(page: Any) -> str:
    text: str = page.locator(".field-error").inner_text()
    audited.append((page.url, audit(page)))
    return text


audited: list[tuple[str, list[str]]] = []


def _open_request(page: Any, base: str, link: str) -> None:
    page.goto(f"{base}/wallet/present")
    page.fill("#link", link)
    page.locator("#link-form button[type=submit], #link-form > button").last.click()


def test_what_the_wallet_refuses_it_says_in_arabic_and_changes_nothing(world: DeskWorld, browser: Any,  # noqa: F811
                                                                       stranger: Stranger, tmp_path: Path) -> None:
    # CSP bypassed so axe can be injected: every page on the way is audited in Arabic
    # (test_wallet_pages checks the policy itself).
    context = browser.new_context(locale=AR, viewport={"width": 360, "height": 900}, accept_downloads=True,
                                  bypass_csp=True)
    page = context.new_page()
    page.goto(f"{world.base}/wallet/new")
    audited.append(("new", audit(page)))
    page.fill("#passphrase", PASS)
    page.fill("#passphrase_again", PASS)
    page.locator("form button").last.click()
    page.wait_for_selector("#wallet-code")
    assert page.locator("html").get_attribute("dir") == "rtl"
    audited.append(("recovery sheet", audit(page)))

    # A malformed offer link: said in Arabic, no card.
    page.goto(f"{world.base}/wallet/receive")
    page.fill("#link", "openid-credential-offer://?nothing=here")
    page.locator("#link-form > button").last.click()
    assert _error(page) == i18n.t(AR, "wallet.err.invalid_input")
    assert page.locator("html").get_attribute("lang") == AR
    offer = _offer(world)  # reached as a phone's camera app would: the QR's https page, then this site's wallet
    page.goto(offer["qr_link"] + "&lang=ar")
    page.get_by_role("link", name=i18n.t(AR, "offer_page.wallet_here")).click()
    audited.append(("offer", audit(page)))
    page.fill("#pin", offer["pin"])
    page.locator("form button").last.click()
    assert page.locator("li.held").count() == 1

    # A malformed request link.
    _open_request(page, world.base, "openid-credential-offer://?credential_offer_uri=x")  # not a request at all
    assert _error(page) == i18n.t(AR, "wallet.err.request_link_malformed")
    _open_request(page, world.base, "openid4vp://?client_id=only")  # no client id prefix a wallet may accept
    assert _error(page) == i18n.t(AR, "wallet.err.client_id_unsupported")

    # A verifier not on the trust list: red, warned; "share" without the tick sends nothing.
    first = stranger.link("first")
    _open_request(page, world.base, first)
    assert page.locator(".who.bad").inner_text().strip() == i18n.t(AR, "wallet.unknown_verifier")
    assert page.locator(".warning").inner_text().strip().startswith(i18n.t(AR, "wallet.warning_unknown")[:20])
    audited.append(("consent, unknown verifier", audit(page)))
    page.get_by_role("button", name=i18n.t(AR, "wallet.share")).click()
    assert _error(page) == i18n.t(AR, "wallet.err.consent_warning_unheeded") and stranger.posts == []
    page.get_by_role("button", name=i18n.t(AR, "wallet.dont_share")).click()
    assert page.locator(".result.declined").count() == 1
    audited.append(("declined", audit(page)))
    assert [p["error"] for p in stranger.posts] == [["access_denied"]] and "vp_token" not in stranger.posts[0]

    # The same request again: a replay, refused.
    _open_request(page, world.base, first)
    assert _error(page) == i18n.t(AR, "wallet.err.request_replayed")
    # An expired one.
    _open_request(page, world.base, stranger.link("old", age_s=3600))
    assert _error(page) == i18n.t(AR, "wallet.err.request_expired")

    # The one copy goes to the desk; the stranger then finds no copy it could link.
    desk = browser.new_page(locale="en")
    _open_request(page, world.base, _desk_asks(desk, world))
    page.get_by_role("button", name=i18n.t(AR, "wallet.share")).click()
    assert page.locator(".result.shared").count() == 1
    audited.append(("answer given", audit(page)))
    desk.close()
    _open_request(page, world.base, stranger.link("second"))
    assert i18n.t(AR, "wallet.no_card_exhausted") in page.locator("form.consent").inner_text()
    assert page.get_by_role("button", name=i18n.t(AR, "wallet.share")).count() == 0
    assert len(stranger.posts) == 1

    # A tampered export file: refused, no wallet made from it.
    page.goto(f"{world.base}/wallet/move")
    page.fill("#current", PASS)
    page.fill("#export_passphrase", PASS)
    page.fill("#export_passphrase_again", PASS)
    with page.expect_download() as download:
        page.locator("form[action='/wallet/export'] button").click()
    document = json.loads(Path(download.value.path()).read_text())
    middle = len(document["ciphertext"]) // 2
    flipped = "A" if document["ciphertext"][middle] != "A" else "B"
    document["ciphertext"] = document["ciphertext"][:middle] + flipped + document["ciphertext"][middle + 1:]
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(document))
    page.goto(f"{world.base}/wallet/import")
    page.set_input_files("#file", str(tampered))
    page.fill("#export_passphrase", PASS)
    page.fill("#passphrase", PASS)
    page.fill("#passphrase_again", PASS)
    page.locator("form button").last.click()
    assert _error(page) == i18n.t(AR, "wallet.err.vault_tampered")
    # The file untouched: this very wallet is here already. Said so, and nothing is replaced.
    page.goto(f"{world.base}/wallet/import")
    page.set_input_files("#file", str(download.value.path()))
    page.fill("#export_passphrase", PASS)
    page.fill("#passphrase", PASS)
    page.fill("#passphrase_again", PASS)
    page.locator("form button").last.click()
    assert _error(page) == i18n.t(AR, "wallet.err.wallet_already_here")
    page.screenshot(path=str(Path(tempfile.gettempdir()) / "wallet-import-here-already-ar-360.png"), full_page=True)
    page.goto(f"{world.base}/wallet/lock")  # a GET: answered by the page above it, still open
    page.goto(f"{world.base}/wallet")
    assert page.locator("li.held").count() == 1  # the open wallet is untouched

    # The organisation withdraws the card: its page says so, from the issuer's status list.
    staff = {"Authorization": f"Bearer {world.trainers['api_key']}"}
    newest = httpx.get(f"{world.base}/api/issuer/credentials?limit=1", headers=staff, timeout=10).json()[0]
    assert httpx.post(f"{world.base}/api/issuer/credentials/{newest['id']}/revoke", headers=staff,
                      timeout=10).json()["status"] == "revoked"
    page.locator("li.held a").click()
    assert page.locator("p.status.revoked").inner_text().strip() == i18n.t(AR, "wallet.status.revoked")
    page.goto(f"{world.base}/wallet")  # the card list says so too, not "valid until" a year on (helper-90)
    assert page.locator("li.held p.status.bad").inner_text().strip() == i18n.t(AR, "wallet.status.revoked")
    page.screenshot(path=str(Path(tempfile.gettempdir()) / "wallet-list-revoked-ar-360.png"), full_page=True)
    audited.append(("card, revoked", audit(page)))
    for path in ("/wallet/move", "/wallet/recover", "/wallet/history", "/wallet/receive", "/wallet/present"):
        page.goto(world.base + path)
        audited.append((path, audit(page)))
    # The export made above allows deleting the wallet here: the receipt, in Arabic too.
    page.goto(f"{world.base}/wallet/move")
    page.fill("#destroy-pass", PASS)
    page.check("input[name=sure]")
    page.locator("form[action='/wallet/destroy'] button").click()
    assert page.locator(".receipt").count() == 1
    audited.append(("receipt", audit(page)))
    assert [(where, found) for where, found in audited if found] == []
    assert len(audited) >= 18
    context.close()
