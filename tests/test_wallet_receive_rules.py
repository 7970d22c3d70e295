"""``wallet.receive`` against issuers shaped unlike ours, found by the interop run (tests/interop/README.md):
an offer by value, an authorization server apart from the issuer (``authorization_servers``), OpenID
Connect discovery instead of RFC 8414, no nonce endpoint, no batch issuance; and what stays refused
(an authorization server the issuer does not list, metadata served for another server).

A fake issuer on ``httpx.MockTransport`` (no sockets): the credential endpoint records the request and
refuses it, which is all these rules need to see."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from core import _jose
from core.errors import InvalidInput
from core.oid4vc import PRE_AUTHORIZED_GRANT
from wallet import receive

ISSUER = "https://issuer.example/vc"
AS = "https://login.example/as"
CODE = "pre-code-1"
META = "https://issuer.example/.well-known/openid-credential-issuer/vc"


def _offer(**grant: Any) -> dict[str, Any]:
    return {"credential_issuer": ISSUER, "credential_configuration_ids": ["Skill"],
            "grants": {PRE_AUTHORIZED_GRANT: {"pre-authorized_code": CODE, **grant}}}


class FakeIssuer:
    def __init__(self, *, meta: dict[str, Any] | None = None, as_meta: dict[str, Any] | None = None,
                 as_well_known: str = "https://login.example/.well-known/oauth-authorization-server/as") -> None:
        self.meta = {"credential_issuer": ISSUER, "authorization_servers": [AS],
                     "credential_endpoint": f"{ISSUER}/credential", "nonce_endpoint": f"{ISSUER}/nonce",
                     "batch_credential_issuance": {"batch_size": 3}} if meta is None else meta
        self.as_meta = {"issuer": AS, "token_endpoint": f"{AS}/token"} if as_meta is None else as_meta
        self.as_well_known = as_well_known
        self.seen: list[str] = []
        self.headers: dict[str, httpx.Headers] = {}
        self.token_type = "Bearer"
        self.credential_request: dict[str, Any] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.seen.append(url)
        self.headers[url] = request.headers
        token = {"access_token": "at", "token_type": self.token_type}
        routes: dict[str, Callable[[], httpx.Response]] = {
            f"{ISSUER}/offer": lambda: httpx.Response(200, json=_offer(tx_code={})),
            f"{META}": lambda: httpx.Response(200, json=self.meta),
            self.as_well_known: lambda: httpx.Response(200, json=self.as_meta),
            f"{AS}/token": lambda: httpx.Response(200, json=token),
            f"{ISSUER}/token": lambda: httpx.Response(200, json=token),
            f"{ISSUER}/nonce": lambda: httpx.Response(200, json={"c_nonce": "n-1"}),
        }
        if url == f"{ISSUER}/credential":
            self.credential_request = json.loads(request.content)
            return httpx.Response(400, json={"error": "invalid_proof"})
        return routes.get(url, lambda: httpx.Response(404, json={"error": "not_found"}))()


def _run(issuer: FakeIssuer, link: str, *, redeem: bool = False) -> receive.Offer:
    async def go() -> receive.Offer:
        async with httpx.AsyncClient(transport=httpx.MockTransport(issuer)) as http:
            offer = await receive.read_offer(http, link)
            if redeem:
                await receive.redeem(http, offer, "123456", copies=5, types=None)  # type: ignore[arg-type]
            return offer
    return asyncio.run(go())


BY_REFERENCE = f"openid-credential-offer://?credential_offer_uri={quote(ISSUER + '/offer', safe='')}"


def test_the_token_goes_to_the_authorization_server_the_issuer_names() -> None:
    offer = _run(FakeIssuer(), BY_REFERENCE)
    assert offer.token_endpoint == f"{AS}/token"


def test_an_offer_by_value_is_read_from_the_link() -> None:
    link = "openid-credential-offer://?credential_offer=" + quote(json.dumps(_offer(tx_code={"length": 6})))
    issuer = FakeIssuer()
    offer = _run(issuer, link)
    assert (offer.issuer, offer.tx_code) == (ISSUER, {"length": 6})
    assert f"{ISSUER}/offer" not in issuer.seen


def test_an_issuer_without_authorization_servers_is_its_own() -> None:
    meta = {"credential_issuer": ISSUER, "credential_endpoint": f"{ISSUER}/credential"}
    issuer = FakeIssuer(meta=meta, as_meta={"issuer": ISSUER, "token_endpoint": f"{ISSUER}/token"},
                        as_well_known="https://issuer.example/.well-known/oauth-authorization-server/vc")
    assert _run(issuer, BY_REFERENCE).token_endpoint == f"{ISSUER}/token"


def test_openid_connect_discovery_is_read_when_rfc8414_metadata_is_missing() -> None:
    issuer = FakeIssuer(as_well_known=f"{AS}/.well-known/openid-configuration")
    assert _run(issuer, BY_REFERENCE).token_endpoint == f"{AS}/token"


def test_authorization_server_metadata_for_another_server_is_refused() -> None:
    issuer = FakeIssuer(as_meta={"issuer": "https://evil.example", "token_endpoint": "https://evil.example/token"})
    with pytest.raises(receive.IssuanceFailed, match="another issuer"):
        _run(issuer, BY_REFERENCE)


def test_an_offer_naming_an_unlisted_authorization_server_is_refused() -> None:
    link = "openid-credential-offer://?credential_offer=" + quote(json.dumps(
        _offer(authorization_server="https://evil.example")))
    with pytest.raises(receive.IssuanceFailed, match="does not list"):
        _run(FakeIssuer(), link)


@pytest.mark.parametrize("link", [
    BY_REFERENCE + "&credential_offer=%7B%7D",
    "openid-credential-offer://?credential_offer=not-json",
    "openid-credential-offer://?credential_offer=%5B%5D",
    "openid-credential-offer://?nothing=here",
])
def test_malformed_offer_links_are_refused(link: str) -> None:
    with pytest.raises(InvalidInput):
        _run(FakeIssuer(), link)


def test_proofs_never_exceed_the_batch_size() -> None:
    issuer = FakeIssuer()
    with pytest.raises(receive.IssuanceFailed, match="invalid_proof"):
        _run(issuer, BY_REFERENCE, redeem=True)
    assert issuer.credential_request is not None
    assert len(issuer.credential_request["proofs"]["jwt"]) == 3


def test_an_issuer_without_batch_issuance_gets_one_proof_and_without_nonce_endpoint_no_nonce() -> None:
    meta = {"credential_issuer": ISSUER, "authorization_servers": [AS], "credential_endpoint": f"{ISSUER}/credential"}
    issuer = FakeIssuer(meta=meta)
    with pytest.raises(receive.IssuanceFailed, match="invalid_proof"):
        _run(issuer, BY_REFERENCE, redeem=True)
    assert issuer.credential_request is not None
    [proof] = issuer.credential_request["proofs"]["jwt"]
    payload = _jose.parse_compact(proof, "proof").unverified_payload()
    assert "nonce" not in payload and payload["aud"] == ISSUER
    assert f"{ISSUER}/nonce" not in issuer.seen


def test_an_issuer_naming_no_credential_endpoint_is_a_clear_failure() -> None:
    issuer = FakeIssuer(meta={"credential_issuer": ISSUER, "authorization_servers": [AS]})
    with pytest.raises(receive.IssuanceFailed, match="credential endpoint"):
        _run(issuer, BY_REFERENCE, redeem=True)
