"""The wallet pages as attack surface (house rule 9; issue 12 item 2): CSRF on every form, the
session cookie's flags, unlock rate limits per wallet and per address, the idle lock, a lock
that kills every copy of the cookie, a session row that opens nothing without the cookie, and
no open redirect. In process (TestClient over https), the node's own app and store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.settings import Settings
from server.app import build_app
from wallet import holder, unlocked
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
        response = client.post(path, data={"csrf": "forged", "passphrase": PASS, "passphrase_again": PASS})
        assert response.status_code == 403 and response.json()["code"] == "csrf_failed", path
    assert _wallets(client) == []  # nothing was made


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


def test_the_address_limit_spans_wallets(client: TestClient) -> None:
    _freeze(client)
    codes = []
    for _ in range(6):
        code, _ = _create(client)
        codes.append(code)
        client.post("/wallet/lock", data={"csrf": _csrf(client, "/wallet")})
    statuses = [client.post("/wallet/unlock", data={"csrf": _csrf(client, "/wallet"), "wallet_code": code,
                                                    "passphrase": "wrong"}).status_code for code in codes]
    assert statuses[:5] == [403] * 5 and statuses[5] == 429  # one wrong try per wallet, six from here


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
