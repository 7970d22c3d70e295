"""Sign-in limits per device as well as per address (issue 11, weakness 2): anyone sharing an
address — the NGO's office, a carrier's NAT — could keep staff with the right key out by
typing wrong keys from it. A browser that has signed in before carries a device cookie, and
its attempts count apart: the flood still backs off, the colleague still gets in, and the
device's own wrong tries still back off like anyone's. A forged device cookie counts as none.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core import sessions
from core.settings import Settings
from issuer import store
from server.app import build_app
from tests.oid4vci_wallet import BASE

DEVICE = sessions.device_cookie("issuer")


@pytest.fixture()
def node(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    app = build_app(Settings(data_dir=tmp_path, public_base_url=BASE))
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        ctx = app.state.issuer

        async def create() -> str:
            async with ctx.transaction() as session:
                _org, key = await store.create_org(session, ctx.node, slug="ngo", names={"en": "NGO"},
                                                   vcts=["urn:amana:credential:SkillCertificate:1"],
                                                   keep_claims_days=None, staff_name="Amal", now=ctx.now())
            return key

        yield client, client.portal.call(create)  # type: ignore[union-attr]


def _freeze(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stop the node's clock: a one-second backoff must not run out on a slow machine."""
    ctx = client.app.state.issuer  # type: ignore[attr-defined]
    frozen = ctx.now()
    monkeypatch.setattr(ctx, "now", lambda: frozen)


def _sign_in(client: TestClient, key: str, device: str | None = None) -> int:
    """One browser's sign-in: a fresh page (and CSRF cookie), then the post; the status code.
    Every browser here shares the test client's address; only ``device`` tells them apart."""
    client.cookies.clear()
    if device is not None:
        client.cookies.set(DEVICE, device)
    page = client.get("/issuer/console")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    return client.post("/issuer/console/login", data={"csrf": token.group(1), "api_key": key}).status_code


def _device_of(client: TestClient, key: str) -> str:
    client.cookies.clear()
    page = client.get("/issuer/console")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    signed = client.post("/issuer/console/login", data={"csrf": token.group(1), "api_key": key})
    assert signed.status_code == 303
    [cookie] = [c for c in signed.headers.get_list("set-cookie") if c.startswith(DEVICE + "=")]
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite=strict", "path=/"} <= flags and "domain" not in cookie.lower()
    return cookie.split(";")[0].split("=", 1)[1]


def test_a_flood_from_the_same_address_does_not_keep_a_known_device_out(node: tuple[TestClient, str],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    client, key = node
    _freeze(client, monkeypatch)  # CI once saw the first 1 s backoff run out before the sixth try
    device = _device_of(client, key)  # Amal signed in from this browser last week
    flood = [_sign_in(client, "amk_wrong") for _ in range(8)]
    assert flood[:5] == [401] * 5 and set(flood[5:]) == {429}  # the address backs off
    assert _sign_in(client, key) == 429  # a browser never seen here waits like the flood
    assert _sign_in(client, key, device) == 303  # Amal's browser is its own bucket: she gets in


def test_a_known_device_backs_off_on_its_own_wrong_tries(node: tuple[TestClient, str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    client, key = node
    _freeze(client, monkeypatch)
    device = _device_of(client, key)
    tries = [_sign_in(client, "amk_wrong", device) for _ in range(7)]
    assert tries[:5] == [401] * 5 and set(tries[5:]) == {429}
    assert _sign_in(client, key, device) == 429  # even the right key waits out the backoff
    assert _sign_in(client, key) == 303  # the address's own budget was untouched


def test_a_forged_or_foreign_device_cookie_counts_as_none(node: tuple[TestClient, str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    client, key = node
    _freeze(client, monkeypatch)
    device = _device_of(client, key)
    forged = device[:-1] + ("A" if device[-1] != "A" else "B")
    for _ in range(5):
        assert _sign_in(client, "amk_wrong") == 401
    assert _sign_in(client, key, forged) == 429  # counted on the address, which is backing off
    desk_device = sessions.new_device(client.app.state.issuer.node, "verifier")  # type: ignore[attr-defined]
    assert _sign_in(client, key, desk_device) == 429  # the desk's device cookie is not the console's
    assert _sign_in(client, key, device) == 303


def test_device_cookies_are_random_and_keyed(node: tuple[TestClient, str]) -> None:
    client, _ = node
    key = client.app.state.issuer.node  # type: ignore[attr-defined]
    one, two = sessions.new_device(key, "issuer"), sessions.new_device(key, "issuer")
    assert one != two and sessions.known_device(key, "issuer", one) == one.split(".")[0]
    for bad in (None, "", ".", one.split(".")[0], one + "x", "." + one.split(".")[1]):
        assert sessions.known_device(key, "issuer", bad) is None
