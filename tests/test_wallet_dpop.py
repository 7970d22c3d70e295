"""DPoP (RFC 9449) when receiving, wallet/dpop.py: the independent issuer in tests/test_wallet_interop.py
requires it (as HAIP does); here each rule on its own — the proof's members, a bound token sent as DPoP
with ``ath``, an unbound one as Bearer without a proof, one retry with the server's nonce and no more,
and no DPoP at all when the authorization server does not announce it."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import httpx
import pytest

from core import _jose, keys
from core.encoding import b64url_encode
from tests.test_wallet_receive_rules import AS, BY_REFERENCE, FakeIssuer, _run
from wallet import dpop, receive


def _claims(proof: str) -> tuple[dict[str, Any], dict[str, Any]]:
    jws = _jose.parse_compact(proof, "dpop")
    public = keys.PublicKey.from_jwk(jws.unverified_header["jwk"])
    _jose.verify_with(jws, public, jws.unverified_header["alg"], "dpop")
    return jws.unverified_header, jws.unverified_payload()


def test_a_proof_names_method_and_uri_and_hashes_the_token() -> None:
    key = keys.generate("ES256")
    header, claims = _claims(dpop.proof(key, "POST", "https://as.example/token?x=1#f", access_token="at-1",
                                        nonce="n", now=1000))
    assert header["typ"] == "dpop+jwt" and "d" not in header["jwk"]
    assert (claims["htm"], claims["htu"], claims["iat"], claims["nonce"]) == ("POST", "https://as.example/token",
                                                                              1000, "n")
    assert claims["ath"] == b64url_encode(hashlib.sha256(b"at-1").digest())
    assert _claims(dpop.proof(key, "POST", "https://as.example/t"))[1]["jti"] != claims["jti"]


@pytest.mark.parametrize(("metadata", "alg"), [
    ({}, None), ({"dpop_signing_alg_values_supported": "ES256"}, None),
    ({"dpop_signing_alg_values_supported": ["RS256"]}, None),
    ({"dpop_signing_alg_values_supported": ["RS256", "ES256"]}, "ES256"),
    ({"dpop_signing_alg_values_supported": ["EdDSA"]}, "EdDSA"),
])
def test_dpop_is_used_only_when_the_server_announces_an_algorithm_we_sign_with(metadata: dict[str, Any],
                                                                               alg: str | None) -> None:
    assert dpop.algorithm(metadata) == alg


@pytest.mark.parametrize("token_type", ["DPoP", "Bearer"])
def test_receive_binds_the_token_when_the_server_announces_dpop(token_type: str) -> None:
    issuer = FakeIssuer(as_meta={"issuer": AS, "token_endpoint": f"{AS}/token",
                                 "dpop_signing_alg_values_supported": ["ES256"]})
    issuer.token_type = token_type
    with pytest.raises(receive.IssuanceFailed, match="invalid_proof"):
        _run(issuer, BY_REFERENCE, redeem=True)
    token_headers, credential_headers = issuer.headers[f"{AS}/token"], issuer.headers[next(
        u for u in issuer.headers if u.endswith("/credential"))]
    token_key = _claims(token_headers["DPoP"])[0]["jwk"]
    if token_type == "DPoP":
        header, claims = _claims(credential_headers["DPoP"])
        assert header["jwk"] == token_key and credential_headers["Authorization"] == "DPoP at"
        assert claims["ath"] == b64url_encode(hashlib.sha256(b"at").digest())
        assert claims["nonce"] == "dn-1"  # the nonce endpoint's DPoP-Nonce (OpenID4VCI 1.0 section 7.2)
    else:  # the server did not bind it: a bearer token, and no proof a server could misread
        assert credential_headers["Authorization"] == "Bearer at" and "DPoP" not in credential_headers


def test_no_dpop_without_the_servers_word() -> None:
    issuer = FakeIssuer()
    with pytest.raises(receive.IssuanceFailed):
        _run(issuer, BY_REFERENCE, redeem=True)
    assert all("DPoP" not in h for h in issuer.headers.values())


@pytest.mark.parametrize("status", [400, 401])
def test_a_server_nonce_is_used_once_and_never_asked_for_twice(status: int) -> None:
    sent: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["DPoP"])
        if status == 400:
            return httpx.Response(400, json={"error": "use_dpop_nonce"}, headers={"DPoP-Nonce": f"n{len(sent)}"})
        return httpx.Response(401, headers={"DPoP-Nonce": f"n{len(sent)}",
                                            "WWW-Authenticate": 'DPoP error="use_dpop_nonce"'})

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
            return await dpop.post(http, "https://as.example/token", keys.generate("ES256"), data={"a": "b"})

    assert asyncio.run(go()).status_code == status
    assert len(sent) == 2
    assert "nonce" not in _claims(sent[0])[1] and _claims(sent[1])[1]["nonce"] == "n1"


def test_the_servers_newest_nonce_goes_with_the_next_request_to_it_and_to_no_other_origin() -> None:
    """RFC 9449 section 8.2: the nonce the token response gave is used by the credential request
    at once (no refusal and retry first); another origin never sees it."""
    sent: list[tuple[str, str]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append((str(request.url), request.headers["DPoP"]))
        return httpx.Response(200, json={}, headers={"DPoP-Nonce": f"n{len(sent)}"})

    async def go() -> None:
        nonces: dpop.Nonces = {}
        key = keys.generate("ES256")
        async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
            await dpop.post(http, "https://issuer.example/token", key, data={"a": "b"}, nonces=nonces)
            await dpop.post(http, "https://ISSUER.example/credential", key, access_token="at", json={}, nonces=nonces)
            await dpop.post(http, "https://elsewhere.example/credential", key, access_token="at", json={},
                            nonces=nonces)

    asyncio.run(go())
    assert len(sent) == 3  # no retries
    assert "nonce" not in _claims(sent[0][1])[1]
    assert _claims(sent[1][1])[1]["nonce"] == "n1"
    assert "nonce" not in _claims(sent[2][1])[1]


def test_the_nonce_endpoints_dpop_nonce_goes_with_the_credential_request() -> None:
    """OpenID4VCI 1.0 section 7.2: a DPoP-Nonce the nonce endpoint gives is the one "the Wallet
    uses"; it was ignored, so the credential request was refused once for a stale one (helper-67)."""
    nonces: dpop.Nonces = {"https://issuer.example": "stale"}
    dpop.keep_nonce(httpx.Response(200, json={"c_nonce": "c"}, headers={"DPoP-Nonce": "fresh"}),
                    "https://ISSUER.example/nonce", nonces)
    dpop.keep_nonce(httpx.Response(200, json={"c_nonce": "c"}), "https://elsewhere.example/nonce", nonces)
    dpop.keep_nonce(httpx.Response(200, headers={"DPoP-Nonce": "x"}), "https://issuer.example/nonce", None)
    assert nonces == {"https://issuer.example": "fresh"}
