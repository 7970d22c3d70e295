"""The wallet pages as attack surface (house rule 9; issue 12 item 2): CSRF on every form, the
session cookie's flags, unlock rate limits per wallet and per address, the idle lock, a lock
that kills every copy of the cookie, a session row that opens nothing without the cookie, and
no open redirect. In process (TestClient over https), the node's own app and store."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core import i18n, web
from core.settings import REPO_ROOT, Settings
from server.app import build_app
from wallet import holder, unlocked
from wallet.page_kit import DEVICE_COOKIE
from wallet.tables import WalletSession

BASE = "https://node.amana.test"
PASS = "a long enough passphrase"


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = build_app(Settings(data_dir=tmp_path, public_base_url=BASE))
    with TestClient(app, base_url=BASE, follow_redirects=False) as made:
        yield made


def _csrf(client: TestClient, path: str = "/wallet/new") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found
    return found.group(1)


def _create(client: TestClient) -> tuple[str, Any]:
    response = client.post("/wallet/new", data={"csrf": _csrf(client), "passphrase": PASS, "passphrase_again": PASS})
    assert response.status_code == 200, response.text
    found = re.search(r'id="wallet-code">([^<]+)<', response.text)
    assert found
    return found.group(1), response


def _ctx(client: TestClient) -> holder.WalletContext:
    ctx: holder.WalletContext = client.app.state.wallet  # type: ignore[attr-defined]
    return ctx


def _wallets(client: TestClient) -> list[str]:
    ctx = _ctx(client)

    async def ids() -> list[str]:
        async with ctx.transaction() as session:
            from wallet import store
            return await store.ids(session)

    return client.portal.call(ids)  # type: ignore[union-attr]


def test_every_wallet_form_needs_the_csrf_token(client: TestClient) -> None:
    _csrf(client)
    for path in ("/wallet/new", "/wallet/unlock", "/wallet/recover", "/wallet/lock", "/wallet/stay",
                 "/wallet/receive/look", "/wallet/receive", "/wallet/present/look", "/wallet/present",
                 "/wallet/export", "/wallet/destroy", "/wallet/import"):
        for forged in ("forged", "é"):  # a token outside ASCII was a TypeError in compare_digest, a 500 (helper-69)
            response = client.post(path, data={"csrf": forged, "passphrase": PASS, "passphrase_again": PASS})
            assert response.status_code == 403 and response.json()["code"] == "csrf_failed", (path, forged)
    assert _wallets(client) == []  # nothing was made


def test_only_pages_with_the_qr_reader_may_compile_webassembly(client: TestClient) -> None:
    scanning, plain = client.get("/wallet/recover"), client.get("/wallet/new")
    assert "data-wasm=" in scanning.text and "data-wasm=" not in plain.text
    assert scanning.headers["content-security-policy"].count("'wasm-unsafe-eval'") == 1
    assert "wasm" not in plain.headers["content-security-policy"]
    # What a page shows does not loosen its policy: a reflected "data-wasm=" is just text.
    reflected = client.get("/wallet/present?client_id=x&request_uri=data-wasm%3D1")
    assert "wasm" not in reflected.headers["content-security-policy"]
    # The list names exactly the templates that carry the reader, or include one that does.
    roots = [REPO_ROOT / d / "templates" for d in ("wallet", "verifier", "issuer", "consent", "core")]
    sources = {p.name: p.read_text(encoding="utf-8") for root in roots if root.is_dir() for p in root.glob("*.html")}
    carrying = {name for name, text in sources.items() if "data-wasm=" in text}
    while True:
        more = {name for name, text in sources.items() if any(f'include "{c}"' in text for c in carrying)}
        if more <= carrying:
            break
        carrying |= more
    assert {name for name in carrying if not name.startswith("_")} == web.QR_READER_PAGES


def test_a_browser_form_that_expired_goes_home_with_a_sentence_not_json(client: TestClient) -> None:
    """A holder's browser (it accepts HTML) posting a form whose token no longer holds is sent
    to the wallet's home, told in its language that nothing changed; the pages' scripts still get JSON."""
    _csrf(client)
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    response = client.post("/wallet/new", headers=browser, follow_redirects=False,
                           data={"csrf": "forged", "passphrase": PASS, "passphrase_again": PASS, "lang": "ar"})
    assert response.status_code == 303 and response.headers["location"].endswith("notice=form_expired")
    client.cookies.set("__Host-amana_lang", "ar")
    home = client.get(response.headers["location"].replace("lang=en", "lang=ar"))
    assert home.status_code == 200 and i18n.t("ar", "wallet.notice.form_expired") in home.text
    assert _wallets(client) == []  # nothing was made
    scripted = client.post("/cards/x/offline/start".join(["/wallet", ""]), data={"csrf": "forged"})
    assert scripted.status_code == 403 and scripted.json()["code"] == "csrf_failed"


def test_the_session_cookie_is_host_only_secure_httponly_strict_and_never_stored(client: TestClient) -> None:
    _code, response = _create(client)
    [cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith(unlocked.COOKIE + "=")]
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite=strict", "path=/"} <= flags
    assert not any(f.startswith("domain") for f in flags)
    token = cookie.split(";")[0].split("=", 1)[1]
    ctx = _ctx(client)

    async def rows() -> list[WalletSession]:
        async with ctx.transaction() as session:
            return list((await session.execute(select(WalletSession))).scalars())

    [row] = client.portal.call(rows)  # type: ignore[union-attr]
    stored = row.digest.encode() + row.sealed
    assert token.encode() not in stored and b"W-" not in stored  # neither the cookie nor which wallet


def test_unlock_is_rate_limited_per_wallet_and_per_address(client: TestClient) -> None:
    code, _ = _create(client)
    client.post("/wallet/lock", data={"csrf": _csrf(client, "/wallet")})
    _freeze(client)  # the backoff counts seconds: no second may pass between the tries
    statuses = [client.post("/wallet/unlock", data={"csrf": _csrf(client, "/wallet"), "wallet_code": code,
                                                    "passphrase": f"wrong {i}"}).status_code for i in range(6)]
    assert statuses[:5] == [403] * 5 and statuses[5] == 429
    right = client.post("/wallet/unlock", data={"csrf": _csrf(client, "/wallet"), "wallet_code": code,
                                                "passphrase": PASS})
    assert right.status_code == 429  # the right passphrase waits too: guessing gets no faster


def _freeze(client: TestClient) -> None:
    ctx = _ctx(client)
    now = ctx.now()
    ctx.clock = lambda: now


def test_the_address_limit_spans_wallets_and_ones_own_unlock_does_not_reset_it(client: TestClient) -> None:
    _freeze(client)
    mine, _ = _create(client)
    codes = []
    for _ in range(5):
        code, _ = _create(client)
        codes.append(code)
    statuses = []
    for code in codes:  # a guess at another wallet, then one's own wallet opened: in turn
        statuses.append(client.post("/wallet/unlock", data={"csrf": _csrf(client, "/wallet"), "wallet_code": code,
                                                            "passphrase": "wrong"}).status_code)
        statuses.append(client.post("/wallet/unlock", data={"csrf": _csrf(client, "/wallet"), "wallet_code": mine,
                                                            "passphrase": PASS}).status_code)
    assert statuses[:4] == [403, 303, 403, 303] and 429 in statuses  # the limit is met all the same


def test_holders_sharing_a_computer_with_their_right_passphrases_never_hold_each_other_back(
        client: TestClient) -> None:
    """Nine holders at an NGO's computer (one address), each with the right passphrase: all open
    (the sixth was refused when the address counted right tries too: helper-63)."""
    _freeze(client)
    codes = [_create(client)[0] for _ in range(9)]
    statuses = [client.post("/wallet/unlock", data={"csrf": _csrf(client, "/wallet"), "wallet_code": code,
                                                    "passphrase": PASS}).status_code for code in codes]
    assert statuses == [303] * 9


def test_an_unknown_wallet_code_answers_as_a_wrong_passphrase(client: TestClient) -> None:
    """Nothing tells a guesser which codes exist: same status, same words, same key derivation."""
    code, _ = _create(client)
    client.post("/wallet/lock", data={"csrf": _csrf(client, "/wallet")})
    answers = [client.post("/wallet/unlock", data={"csrf": _csrf(client, "/wallet"), "wallet_code": c,
                                                   "passphrase": "not it at all"}) for c in (code, "W-ZZZZ-ZZZZ-ZZZ2")]
    assert [a.status_code for a in answers] == [403, 403]
    errors = [re.search(r'class="field-error"[^>]*>([^<]+)<', a.text) for a in answers]
    assert errors[0] and errors[1] and errors[0].group(1) == errors[1].group(1)


def test_a_forged_export_cannot_buy_a_costly_key_derivation_or_choose_its_id(client: TestClient) -> None:
    import json as json_

    from wallet import export

    base = json_.loads(export.dump("W-ABCD-EFGH-JK23", b"{}", PASS, 1_800_000_000))
    for change in ({"kdf": {"opslimit": 20, "memlimit": 1 << 30}}, {"wallet_id": "victim-chosen-id"}):
        forged = json_.dumps(base | change).encode()
        response = client.post("/wallet/import", data={"csrf": _csrf(client, "/wallet/import"),
                                                        "export_passphrase": PASS, "passphrase": PASS,
                                                        "passphrase_again": PASS},
                               files={"file": ("wallet.json", forged, "application/json")})
        assert response.status_code == 422 and "field-error" in response.text, change
    assert _wallets(client) == []


def test_key_deriving_posts_have_a_budget_per_address(tmp_path: Path) -> None:
    app = build_app(Settings(data_dir=tmp_path, public_base_url=BASE, wallet_door_per_min=1))
    with TestClient(app, base_url=BASE, follow_redirects=False) as limited:
        statuses = [limited.post("/wallet/new", data={"csrf": _csrf(limited), "passphrase": PASS,
                                                       "passphrase_again": PASS}).status_code for _ in range(3)]
        limited.cookies.set("__Host-amana_lang", "ar", domain="node.amana.test")  # the holder chose Arabic
        page = limited.post("/wallet/new", headers={"Accept": "text/html"},
                            data={"csrf": _csrf(limited), "passphrase": PASS, "passphrase_again": PASS})
    assert statuses == [200, 200, 429]
    # A person's browser gets a page in their language, not a problem object.
    assert page.status_code == 429 and page.headers["content-type"].startswith("text/html")
    assert 'dir="rtl"' in page.text and i18n.t("ar", "console.too_many") in page.text


def test_idle_wallets_lock_themselves_and_a_lock_kills_every_copy_of_the_cookie(client: TestClient) -> None:
    _create(client)
    assert "li" in client.get("/wallet").text and client.get("/wallet").status_code == 200
    ctx = _ctx(client)
    start = ctx.now()
    ctx.clock = lambda: start + ctx.settings.wallet_idle_lock_s - 5
    assert 'action="/wallet/lock"' in client.get("/wallet").text  # used just in time: still open
    ctx.clock = lambda: start + 2 * ctx.settings.wallet_idle_lock_s - 10
    assert 'action="/wallet/lock"' in client.get("/wallet").text  # the last visit restarted the timer
    ctx.clock = lambda: start + 4 * ctx.settings.wallet_idle_lock_s
    locked = client.get("/wallet")
    assert 'name="passphrase"' in locked.text and 'action="/wallet/lock"' not in locked.text
    ctx.clock = lambda: start

    _create(client)
    copy = client.cookies.get(unlocked.COOKIE)
    client.post("/wallet/lock", data={"csrf": _csrf(client, "/wallet")})
    client.cookies.set(unlocked.COOKIE, copy or "", domain="node.amana.test")  # a copy kept from before
    assert 'action="/wallet/lock"' not in client.get("/wallet").text


def test_a_wallet_left_open_is_locked_on_time_with_no_request_to_notice(tmp_path: Path) -> None:
    """The key's row went only when some later request came (helper-63 found it 45 s past a 30 s
    idle lock); the service's own sweep (every tenth of the idle lock: 3 s here) takes it now."""
    app = build_app(Settings(data_dir=tmp_path, public_base_url=BASE, wallet_idle_lock_s=30))
    with TestClient(app, base_url=BASE, follow_redirects=False) as alone:
        _create(alone)
        ctx = _ctx(alone)

        async def sessions() -> int:
            async with ctx.transaction() as session:
                return len(list((await session.execute(select(WalletSession))).scalars()))

        assert alone.portal.call(sessions) == 1  # type: ignore[union-attr]
        start = ctx.now()
        ctx.clock = lambda: start + 31  # no request from here on: only the sweep can notice
        for _ in range(100):  # a few seconds at most; what is asserted is the row, not the time
            if alone.portal.call(sessions) == 0:  # type: ignore[union-attr]
                break
            time.sleep(0.1)
        assert alone.portal.call(sessions) == 0  # type: ignore[union-attr]


def test_an_offer_kept_through_unlocking_goes_back_only_inside_the_wallet(client: TestClient) -> None:
    """The unlock form's return_to (an offer opened while locked: pages_receive) and the new wallet's,
    the recovery's and the import's go on to a wallet page only: never another site, another of
    this node's services, or a path that climbs out of /wallet."""
    code, _ = _create(client)
    client.post("/wallet/lock", data={"csrf": _csrf(client, "/wallet")})
    for target, expected in (("/wallet/receive?link=openid-credential-offer%3A%2F%2Fx", "/wallet/receive"),
                             ("//evil.example/x", "/wallet"), ("https://evil.example", "/wallet"),
                             ("/wallet/../issuer/console", "/wallet"), ("/wallet/./x", "/wallet/./x"),
                             ("/walletx/../../etc", "/wallet"), ("/wallet/%2e%2e/issuer/console", "/wallet"),
                             ("/wallet/.%2E/issuer", "/wallet"), ("/wallet/..#x", "/wallet"), ("/walletx", "/wallet")):
        response = client.post("/wallet/unlock", data={"csrf": _csrf(client, "/wallet"), "wallet_code": code,
                                                       "passphrase": PASS, "return_to": target})
        assert response.status_code == 303 and response.headers["location"].split("?")[0] == expected, target
        client.post("/wallet/lock", data={"csrf": _csrf(client, "/wallet")})
    page = client.get("/wallet/new", params={"return_to": "https://evil.example"})
    assert 'name="return_to"' not in page.text
    sheet = client.post("/wallet/new", data={"csrf": _csrf(client), "passphrase": PASS, "passphrase_again": PASS,
                                             "return_to": "//evil.example"})
    assert "evil.example" not in sheet.text


def test_a_device_remembered_for_another_wallet_is_not_this_holders_own(client: TestClient) -> None:
    """Keeping a card offline outlives the lock, so it is for the holder's own device only: the
    remembered code must name the open wallet (another holder's, left on a shared computer, does
    not count), and the server refuses keeping otherwise, whatever the page showed (helper-85)."""
    first = client.post("/wallet/new", data={"csrf": _csrf(client), "passphrase": PASS, "passphrase_again": PASS,
                                             "own_device": "1"})
    assert DEVICE_COOKIE in first.cookies
    client.post("/wallet/lock", data={"csrf": _csrf(client, "/wallet")})
    second = client.post("/wallet/new", data={"csrf": _csrf(client), "passphrase": PASS, "passphrase_again": PASS})
    forgotten = [c for c in second.headers.get_list("set-cookie") if c.startswith(DEVICE_COOKIE + "=")]
    assert forgotten and "max-age=0" in forgotten[0].lower()  # not ticked: the first holder's code is forgotten
    client.cookies.set(DEVICE_COOKIE, "W-NOTT-HISW-ALLE")  # as if it had stayed: it names another wallet
    refused = client.post("/wallet/cards/x/offline/start", data={"csrf": _csrf(client, "/wallet")})
    assert refused.status_code == 403 and refused.json()["code"] == "not_own_device"
    # The unlock page comes with the box ticked for the remembered holder; another one unlocking
    # their own wallet there is not taken at that tick's word: the device is nobody's own (helper-87).
    code = re.search(r'id="wallet-code">([^<]+)<', second.text).group(1)  # type: ignore[union-attr]
    client.post("/wallet/lock", data={"csrf": _csrf(client, "/wallet")})
    client.cookies.set(DEVICE_COOKIE, "W-NOTT-HISW-ALLE")
    unlocked_here = client.post("/wallet/unlock", data={"csrf": _csrf(client, "/wallet"), "wallet_code": code,
                                                        "passphrase": PASS, "own_device": "1"})
    assert unlocked_here.status_code == 303
    [said] = [c for c in unlocked_here.headers.get_list("set-cookie") if c.startswith(DEVICE_COOKIE + "=")]
    assert "max-age=0" in said.lower()


def test_keep_it_open_goes_back_only_inside_the_wallet(client: TestClient) -> None:
    _create(client)
    for target, expected in (("/wallet/history", "/wallet/history"), ("//evil.example/x", "/wallet"),
                             ("https://evil.example", "/wallet"), ("/wallet\\@evil", "/wallet")):
        response = client.post("/wallet/stay", data={"csrf": _csrf(client, "/wallet"), "return_to": target})
        assert response.status_code == 303 and response.headers["location"].split("?")[0] == expected, target


@pytest.mark.parametrize("local", [False, True])
@pytest.mark.parametrize("target", ["https://10.0.0.7/offer", "https://169.254.169.254/latest", "https://[fd00::1]/x",
                                    "https://192.168.1.1/admin"])
def test_a_pasted_link_cannot_reach_the_nodes_own_network(tmp_path: Path, local: bool, target: str) -> None:
    """SSRF: the wallet runs on the server, so a link a holder pastes is fetched by the node.
    No private, link-local or reserved address is ever connected to (loopback only in local mode)."""
    import asyncio

    from core.fetch import FetchRefused
    from wallet import flows

    settings = Settings(data_dir=tmp_path, public_base_url="http://127.0.0.1:9" if local else BASE)
    link = f"openid-credential-offer://?credential_offer_uri={target}"

    async def attempt() -> None:
        ctx = await holder.WalletContext.open(settings)
        try:
            async with flows.http_client(settings) as http:
                await flows.look_at_offer(ctx, http, link, "en")
        finally:
            await ctx.engine.dispose()

    with pytest.raises(FetchRefused):
        asyncio.run(attempt())


def test_an_answer_that_inflates_or_never_ends_is_cut_off(tmp_path: Path) -> None:
    """A pasted link's server sends a gzip bomb (small on the wire, huge once inflated) or a
    chunked body with no end: the wallet refuses both, holding at most its cap in memory."""
    import asyncio
    import gzip
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from core.fetch import FetchRefused
    from wallet import flows

    bomb = gzip.compress(b"{" + b" " * (20 * 1024 * 1024) + b"}")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if self.path == "/bomb":
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(bomb)))
                self.end_headers()
                self.wfile.write(bomb)
                return
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b" " * 65536
            try:
                for _ in range(64):  # 4 MiB, past the 1 MiB cap
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass  # the wallet hung up: what it should do

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    here = f"http://127.0.0.1:{server.server_address[1]}"
    settings = Settings(data_dir=tmp_path, public_base_url="http://127.0.0.1:9")  # local mode: loopback allowed

    async def fetch(path: str) -> None:
        ctx = await holder.WalletContext.open(settings)
        try:
            async with flows.http_client(settings) as http:
                await flows.look_at_offer(ctx, http, f"openid-credential-offer://?credential_offer_uri={here}{path}",
                                          "en")
        finally:
            await ctx.engine.dispose()

    try:
        for path in ("/bomb", "/endless"):
            with pytest.raises(FetchRefused):
                asyncio.run(fetch(path))
    finally:
        server.shutdown()


def test_a_new_passphrase_from_the_recovery_sheet_locks_every_browser_opened_before(tmp_path: Path) -> None:
    """Someone who knew the old passphrase and is still in, elsewhere, is out at their next page."""
    app = build_app(Settings(data_dir=tmp_path, public_base_url=BASE))
    # One client, two browsers: each is its cookie jar (one event loop, as a served node has).
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        code, made = _create(client)
        recovery = re.search(r'id="recovery-code">([^<]+)<', made.text)
        assert recovery and 'action="/wallet/lock"' in client.get("/wallet").text
        thief = type(client.cookies)(client.cookies)
        client.cookies.clear()  # the owner's browser
        restored = client.post("/wallet/recover", data={"csrf": _csrf(client, "/wallet/recover"), "wallet_code": code,
                                                         "recovery_code": recovery.group(1),
                                                         "passphrase": "a brand new passphrase",
                                                         "passphrase_again": "a brand new passphrase"})
        assert restored.status_code == 303
        assert 'action="/wallet/lock"' in client.get("/wallet").text  # the one who recovered is in
        client.cookies = thief
        assert 'action="/wallet/lock"' not in client.get("/wallet").text  # the other browser is locked out


def test_the_wallet_runs_alone_with_its_scan_reader(tmp_path: Path) -> None:
    """``uvicorn wallet.app:app``: its pages, its stylesheet and the QR reader it loads on a scan."""
    from wallet.app import build_app as wallet_alone

    with TestClient(wallet_alone(Settings(data_dir=tmp_path, public_base_url=BASE)), base_url=BASE) as alone:
        assert alone.get("/wallet").status_code == 200
        for asset in ("/static/wallet/wallet.js", "/static/amana/amana.css",
                      "/static/amana/vendor/barcode-detector.js"):
            assert alone.get(asset).status_code == 200, asset
        assert alone.get("/issuer/console").status_code == 404  # nothing else comes with it


def test_disclose_options_parse_into_the_holders_choice() -> None:
    from core.errors import InvalidInput
    from wallet.cli import _choice

    choice = _choice(["skill=card-1:1", "residence=card-2"])
    assert (dict(choice.cards), dict(choice.claim_sets)) == ({"skill": "card-1", "residence": "card-2"}, {"skill": 1})
    for bad in ("skill", "=card", "skill=", "skill=card:x"):
        with pytest.raises(InvalidInput):
            _choice([bad])


def test_a_reader_whose_language_the_node_lacks_is_told_so_on_every_page(client: TestClient) -> None:
    """The cookie keeps the reader's own language (Urdu), not the English shown in its place:
    the note that says so must not vanish after the first page."""
    note = "This page is not available in Urdu yet, so it is shown in English."
    first = client.get("/wallet", headers={"Accept-Language": "ur-PK"})
    assert note in first.text and client.cookies.get("__Host-amana_lang") == "ur"
    later = client.get("/wallet/new")  # no Accept-Language: the remembered choice alone
    assert '<html lang="en" dir="ltr">' in later.text and note in later.text
    french = client.get("/wallet/new?lang=fr")  # an explicit choice replaces it
    assert '<html lang="fr"' in french.text and 'role="note"' not in french.text
    assert client.cookies.get("__Host-amana_lang") == "fr"
