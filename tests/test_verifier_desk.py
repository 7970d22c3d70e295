"""The verifier desk page: sign-in, CSRF, languages, and in a real browser a whole check that
turns green by itself when the holder answers — showing only the requested claims, once."""

from __future__ import annotations

import asyncio
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core import i18n, sessions
from tests.fetch_log import fetches
from tests.node import RunningNode
from tests.test_verifier_flow import World
from wallet import present as wallet

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("desk")
    with RunningNode(data_dir) as node:
        yield World(node, data_dir)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert match
    return match.group(1)


def test_desk_sign_in_requires_csrf_the_key_and_is_rate_limited(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = world.node.app.state.verifier
    frozen = ctx.now()  # the backoff counts seconds: none may pass between the tries on a slow machine
    monkeypatch.setattr(ctx, "now", lambda: frozen)
    with httpx.Client(base_url=world.base) as http:
        page = http.get("/verifier/desk?lang=fa")
        assert 'dir="rtl"' in page.text and i18n.t("fa", "desk.key") in page.text
        # The cookie is Secure; a browser sends it to 127.0.0.1 (a secure context), httpx over http does not.
        cookie = {"Cookie": f"__Host-amana_csrf={page.cookies['__Host-amana_csrf']}"}

        def login(token: str, key: str) -> int:
            return http.post("/verifier/desk/login", data={"csrf": token, "desk_key": key}, headers=cookie).status_code

        assert login("0" * 64, world.desk_key) == 403
        token = _csrf(page.text)
        assert login(token, f" {world.desk_key}\n") == 303  # pasted with a space and a line end (helper-90)
        for _ in range(sessions.MAX_FAILURES):
            assert login(token, "amv_guess") == 401
        assert login(token, world.desk_key) == 429  # even the right key, until the window ends


def test_state_and_results_need_a_signed_in_desk(world: World) -> None:
    with httpx.Client(base_url=world.base) as http:
        assert http.get("/verifier/desk/checks/anything/state").status_code == 404


def test_fetching_the_status_lists_from_the_desk_needs_its_csrf_token_and_a_signed_in_desk(world: World) -> None:
    """``POST /verifier/desk/sync`` makes the node fetch from the network: a cross-site form, or a
    browser not signed in, must not set it off (a list is known, so a sync would fetch it)."""
    import asyncio

    from verifier import store
    from verifier.context import VerifierContext

    async def note() -> None:
        ctx = VerifierContext.create(world.node.settings)
        async with ctx.transaction() as session:
            await store.note_status_list(session, "https://issuer.example/status/1", ctx.now())
        await ctx.engine.dispose()

    asyncio.run(note())
    with fetches(world.node.app.state.verifier.fetcher) as fetched, httpx.Client(base_url=world.base) as http:
        page = http.get("/verifier/desk?lang=en")
        cookie = {"Cookie": f"__Host-amana_csrf={page.cookies['__Host-amana_csrf']}"}
        assert http.post("/verifier/desk/sync", data={"csrf": "0" * 64}, headers=cookie).status_code == 403
        signed_out = http.post("/verifier/desk/sync", data={"csrf": _csrf(page.text)}, headers=cookie)
        assert 'name="desk_key"' in signed_out.text and 'id="nonce-qr"' not in signed_out.text
    assert fetched == []


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")
def test_a_clerk_checks_the_right_to_work_in_a_browser(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with RunningNode(tmp_path) as node:
        world = World(node, tmp_path)

        async def holder() -> object:
            async with httpx.AsyncClient(timeout=10) as http:
                return await world.issue(http, world.city["api_key"])

        received = asyncio.run(holder())
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(locale="en")
            violations: list[str] = []
            page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
            page.goto(f"{world.base}/verifier/desk")
            page.fill("input[name=desk_key]", world.desk_key)
            page.get_by_role("button", name="Sign in").click()
            page.locator("form.ask", has_text="work here").get_by_role("button").click()
            page.wait_for_selector(".qr svg")
            link = page.locator("a.wallet-link").get_attribute("href")  # what the QR says, for a same-phone tap
            assert link is not None and link.startswith("openid4vp://?client_id=x509_hash:")

            async def answer() -> None:
                async with httpx.AsyncClient(timeout=10) as http:
                    request = await wallet.fetch_request(http, link)
                    chosen = {"registration": (received.credential, received.holder_key)}  # type: ignore[attr-defined]
                    vp = wallet.vp_token(request, chosen, int(time.time()))
                    assert (await wallet.answer(http, request, vp)).status_code == 200

            # Playwright's sync API owns this thread's event loop: the phone answers from another thread.
            phone = threading.Thread(target=lambda: asyncio.run(answer()))
            phone.start()
            phone.join(timeout=30)
            page.wait_for_selector("#verdict.ok", timeout=15000)  # the page noticed by itself
            verdict = page.locator("#verdict").inner_text()
            assert "Verified" in verdict and "Right to work" in verdict and "Valid until" in verdict  # labelled
            assert "Registration number" not in verdict and "Municipality" not in verdict
            assert not violations, violations
            page.goto(f"{world.base}/verifier/desk")
            audit = page.locator("table").inner_text()  # the desk's memory: names, never values
            assert "Right to work" in audit and "Valid until" in audit  # labels of names
            assert received.verified.claims["valid_until"] not in page.content()  # type: ignore[attr-defined]
            assert "__Host-amana_result" not in {c["name"] for c in page.context.cookies()}  # the key is gone
            browser.close()



@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")
def test_a_photo_of_a_code_is_read_on_the_device_with_the_vendored_reader(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from core import qr

    photo = tmp_path / "code.png"
    photo.write_bytes(qr.png("openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fexample.org%2Fo%2F1"))
    with RunningNode(tmp_path / "node") as node, sync_playwright() as p:
        world = World(node, tmp_path / "node")
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(locale="en")
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(f"{world.base}/verifier/desk")
        page.fill("input[name=desk_key]", world.desk_key)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name=i18n.t("en", "desk.scan")).click()
        page.set_input_files("#photo", str(photo))
        page.wait_for_selector("#scan-result", timeout=20000)
        assert page.locator("#scan-result").inner_text() == i18n.t("en", "desk.scan_offer")
        foreign = [url for url in requests if not url.startswith(world.base)]
        assert not foreign, foreign  # no CDN: the reader and its WASM come from this node
        assert any(url.endswith("/zxing_reader.wasm") for url in requests)  # Linux chromium has no native detector
        assert not [m for m in problems if "Content Security Policy" in m], problems
        browser.close()


def test_scan_classification_keeps_nothing() -> None:
    from verifier.pages import scanned_kind

    assert scanned_kind("openid4vp://?client_id=x") == "verifier"
    assert scanned_kind("openid-credential-offer://?x") == "offer"
    assert scanned_kind("HC1:6BFOXN...") == "unsupported"
