"""Issue 18 item 2: DPoP (RFC 9449) at the issuer, over HTTP, on SQLite and PostgreSQL.

A client that sends a proof at the token endpoint gets a token bound to its key (``token_type``
DPoP) and must then prove that key at the credential endpoint; a client that sends none still gets
a Bearer token. Each refusal below was answered before this change with a Bearer token or a
plain ``invalid_token`` (the old endpoint knew no ``Authorization: DPoP``), so each test fails
there at its first DPoP step.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from core import _jose, keys
from core.credtypes import load_registry
from core.oid4vc import PRE_AUTHORIZED_GRANT
from core.settings import Settings
from issuer import dpop, store
from issuer.app import build_app
from tests import craft
from tests.issuer_orgs import org_on
from tests.oid4vci_wallet import BASE, Wallet
from tests.server_process import empty_postgres
from wallet import dpop as wallet_dpop
from wallet.receive import receive

SKILL = json.loads(Path("specs/credentials/SkillCertificate/example.json").read_text())
ISSUER = f"{BASE}/issuers/open-doors"
TOKEN, CREDENTIAL = f"{ISSUER}/token", f"{ISSUER}/credential"
POSTGRES_URL = os.environ.get("AMANA_TEST_DATABASE_URL")
SPECS = Settings().specs_dir


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    if request.param == "postgresql":
        if not POSTGRES_URL:
            pytest.skip("no PostgreSQL (.ci/run starts one)")
        empty_postgres(POSTGRES_URL)
    app = build_app(Settings(data_dir=tmp_path_factory.mktemp(request.param), public_base_url=BASE,
                             database_url=POSTGRES_URL if request.param == "postgresql" else None))
    with TestClient(app, base_url=BASE) as c:
        yield c


@pytest.fixture(scope="module")
def ngo(client: TestClient) -> str:
    return org_on(client, names={"en": "Open Doors"})


def _now(client: TestClient) -> int:
    return int(client.app.state.issuer.now())  # type: ignore[attr-defined]


def _proof(client: TestClient, key: keys.PrivateKey, url: str, *, nonce: str | None, access_token: str | None = None,
           method: str = "POST", iat: int | None = None, **changes: Any) -> str:
    """A proof as our wallet makes it (wallet/dpop.py), or with ``changes`` to its claims (None drops one)."""
    made = wallet_dpop.proof(key, method, url, access_token=access_token, nonce=nonce,
                             now=_now(client) if iat is None else iat)
    if not changes:
        return made
    jws = _jose.parse_compact(made)
    claims = {**jws.unverified_payload(), **changes}
    return _jose.sign_compact(dict(jws.unverified_header), {k: v for k, v in claims.items() if v is not None}, key)


def _form(offer: dict[str, Any], client: TestClient) -> dict[str, str]:
    link = Wallet(client).offer(offer["link"])
    return {"grant_type": PRE_AUTHORIZED_GRANT, "tx_code": offer["pin"],
            "pre-authorized_code": link["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]}


def _offer(client: TestClient, api_key: str) -> dict[str, Any]:
    r = client.post("/api/issuer/offers", headers={"Authorization": f"Bearer {api_key}"},
                    json={"type": "SkillCertificate", "claims": SKILL})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _server_nonce(client: TestClient, key: keys.PrivateKey) -> str:
    """The nonce round trip's first half: a proof without a nonce is answered ``use_dpop_nonce``."""
    r = client.post("/issuers/open-doors/token", data={"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": "x"},
                    headers={"DPoP": _proof(client, key, TOKEN, nonce=None)})
    assert r.status_code == 400 and r.json()["error"] == "use_dpop_nonce", r.text
    return r.headers["DPoP-Nonce"]


def _bound_token(client: TestClient, api_key: str, key: keys.PrivateKey) -> tuple[str, str, dict[str, Any]]:
    """A token bound to ``key``: (access token, the nonce to use next, the whole token response)."""
    nonce = _server_nonce(client, key)
    r = client.post("/issuers/open-doors/token", data=_form(_offer(client, api_key), client),
                    headers={"DPoP": _proof(client, key, TOKEN, nonce=nonce)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "DPoP" and r.headers["cache-control"] == "no-store"
    assert r.headers["pragma"] == "no-cache"  # RFC 6749 section 5.1
    assert body["expires_in"] == 600  # sender-constrained: may outlive the 5 minutes a bearer token has
    return body["access_token"], r.headers["DPoP-Nonce"], body


def _credential_body(client: TestClient) -> dict[str, Any]:
    wallet, holder = Wallet(client), keys.generate()
    c_nonce = client.post("/issuers/open-doors/nonce").json()["c_nonce"]
    return {"credential_configuration_id": "SkillCertificate",
            "proofs": {"jwt": [wallet.proof(holder, ISSUER, c_nonce, iat=_now(client))]}}


def _credential(client: TestClient, token: str, proof: str | None, *, scheme: str = "DPoP",
                body: dict[str, Any] | None = None) -> Any:
    headers = {"Authorization": f"{scheme} {token}"}
    if proof is not None:
        headers["DPoP"] = proof
    return client.post("/issuers/open-doors/credential", json=body or _credential_body(client), headers=headers)


def _refused(r: Any, error: str, status: int = 401) -> None:
    assert r.status_code == status, r.text
    assert r.json()["error"] == error, r.text
    if status == 401:
        assert r.headers["WWW-Authenticate"].startswith(f'DPoP error="{error}"')
    assert "DPoP-Nonce" in r.headers  # so the client's next proof can be right


# --- what works ----------------------------------------------------------------------------


def test_the_authorization_server_announces_dpop_on_both_discovery_forms(client: TestClient, ngo: str) -> None:
    for path in ("/.well-known/oauth-authorization-server/issuers/open-doors",
                 "/issuers/open-doors/.well-known/oauth-authorization-server"):
        assert client.get(path).json()["dpop_signing_alg_values_supported"] == ["ES256"]


def test_the_nonce_round_trip_gives_a_bound_token_and_a_credential_for_its_key(client: TestClient, ngo: str) -> None:
    key = keys.generate()
    token, nonce, body = _bound_token(client, ngo, key)
    assert "refresh_token" in body
    r = _credential(client, token, _proof(client, key, CREDENTIAL, nonce=nonce, access_token=token))
    assert r.status_code == 200, r.text
    assert len(r.json()["credentials"]) == 1 and r.headers["DPoP-Nonce"]


def test_a_nonce_is_also_asked_for_at_the_credential_endpoint(client: TestClient, ngo: str) -> None:
    key = keys.generate()
    token, _nonce, _ = _bound_token(client, ngo, key)
    r = _credential(client, token, _proof(client, key, CREDENTIAL, nonce=None, access_token=token))
    _refused(r, "use_dpop_nonce")
    retry = _credential(client, token, _proof(client, key, CREDENTIAL, nonce=r.headers["DPoP-Nonce"],
                                              access_token=token))
    assert retry.status_code == 200, retry.text


def test_bearer_clients_still_work(client: TestClient, ngo: str) -> None:
    r = client.post("/issuers/open-doors/token", data=_form(_offer(client, ngo), client))
    assert r.status_code == 200 and r.json()["token_type"] == "Bearer" and "DPoP-Nonce" not in r.headers
    assert _credential(client, r.json()["access_token"], None, scheme="Bearer").status_code == 200


# --- what is refused -------------------------------------------------------------------------


def test_a_token_bound_to_key_a_is_refused_with_key_b(client: TestClient, ngo: str) -> None:
    a, b = keys.generate(), keys.generate()
    token, nonce, _ = _bound_token(client, ngo, a)
    _refused(_credential(client, token, _proof(client, b, CREDENTIAL, nonce=nonce, access_token=token)),
             "invalid_dpop_proof")
    # refused before anything changed: key A still gets its credential
    assert _credential(client, token, _proof(client, a, CREDENTIAL, nonce=nonce, access_token=token)).status_code == 200


def test_a_bound_token_without_a_proof_or_as_bearer_is_refused(client: TestClient, ngo: str) -> None:
    key = keys.generate()
    token, _nonce, _ = _bound_token(client, ngo, key)
    _refused(_credential(client, token, None), "invalid_dpop_proof")
    _refused(_credential(client, token, None, scheme="Bearer"), "invalid_token")


def test_a_reused_jti_is_refused_even_for_the_lost_answer_retry(client: TestClient, ngo: str) -> None:
    """The very same request again (the lost-answer retry, issuer.api) must come with a new proof."""
    key = keys.generate()
    token, nonce, _ = _bound_token(client, ngo, key)
    body, proof = _credential_body(client), _proof(client, key, CREDENTIAL, nonce=nonce, access_token=token)
    first = _credential(client, token, proof, body=body)
    assert first.status_code == 200, first.text
    _refused(_credential(client, token, proof, body=body), "invalid_dpop_proof")
    again = _credential(client, token, _proof(client, key, CREDENTIAL, nonce=nonce, access_token=token), body=body)
    assert again.status_code == 200 and again.json() == first.json()


def test_a_proof_of_a_refused_request_is_spent_and_cannot_carry_another_body(client: TestClient, ngo: str) -> None:
    """RFC 9449 section 11.1: a jti is accepted once, whatever became of its request. The spend was
    in the request's transaction and a refusal rolled it back: a proof refused for a stale
    ``c_nonce``, replayed with another body (DPoP signs none) and the replayer's key proof, was
    answered with credentials bound to the replayer's key (helper-67)."""
    key = keys.generate()
    token, nonce, _ = _bound_token(client, ngo, key)
    captured = _proof(client, key, CREDENTIAL, nonce=nonce, access_token=token)
    stale = {"credential_configuration_id": "SkillCertificate",
             "proofs": {"jwt": [Wallet(client).proof(keys.generate(), ISSUER, "1.x.y", iat=_now(client))]}}
    first = _credential(client, token, captured, body=stale)
    assert first.status_code == 400 and first.json()["error"] == "invalid_nonce", first.text
    _refused(_credential(client, token, captured, body=_credential_body(client)), "invalid_dpop_proof")
    fresh = _credential(client, token, _proof(client, key, CREDENTIAL, nonce=nonce, access_token=token))
    assert fresh.status_code == 200, fresh.text  # the refusal spent the proof, not the token


def test_an_ath_or_a_nonce_outside_ascii_is_refused_never_a_500(client: TestClient, ngo: str) -> None:
    """compare_digest takes ASCII text only, and a lone surrogate (JSON may escape one) cannot be
    encoded: each was a 500 where a proof's ath or nonce, or a key proof's c_nonce, met it (helper-69)."""
    from issuer import nonces

    key = keys.generate()
    token, nonce, _ = _bound_token(client, ngo, key)
    _refused(_credential(client, token, _proof(client, key, CREDENTIAL, nonce=nonce, access_token=token, ath="é")),
             "invalid_dpop_proof")
    digest = client.app.state.issuer.node.digest  # type: ignore[attr-defined]
    for odd in ("9999999999.\ud800.x", "9999999999.é.x"):
        assert dpop.nonce_is_fresh(digest, ISSUER, odd, _now(client)) is False
        assert nonces.expiry_if_genuine(digest, "org", odd, _now(client)) is None


@pytest.mark.parametrize("shape", ["authorization_details", "no_grant_type", "no_code", "wrong_pin", "unreadable"])
def test_a_token_proof_of_a_refused_request_stays_spent(client: TestClient, ngo: str, shape: str) -> None:
    """The same at the token endpoint, whatever refuses the request: its body's shape too (helper-68:
    refused before the spend, the proof then redeemed the code with another body)."""
    key = keys.generate()
    nonce = _server_nonce(client, key)
    offer = _offer(client, ngo)
    good = _form(offer, client)
    bad = {"authorization_details": dict(good, authorization_details="not json"),
           "no_grant_type": {k: v for k, v in good.items() if k != "grant_type"},
           "no_code": {k: v for k, v in good.items() if k != "pre-authorized_code"},
           "wrong_pin": dict(good, tx_code="000000" if offer["pin"] != "000000" else "111111")}.get(shape, {})
    captured = _proof(client, key, TOKEN, nonce=nonce)
    if shape == "unreadable":  # more parts than Starlette reads (1,000): refused before the form is parsed
        parts = b"".join(b'--x\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nv\r\n' % i for i in range(1001))
        first = client.post("/issuers/open-doors/token", content=parts + b"--x--\r\n",
                            headers={"DPoP": captured, "Content-Type": "multipart/form-data; boundary=x"})
        assert first.json()["error"] == "invalid_request", first.text  # an OAuth error (RFC 6749 section 5.2)
    else:
        first = client.post("/issuers/open-doors/token", data=bad, headers={"DPoP": captured})
    assert first.status_code == 400, first.text
    _refused(client.post("/issuers/open-doors/token", data=good, headers={"DPoP": captured}), "invalid_dpop_proof",
             status=400)
    fresh = client.post("/issuers/open-doors/token", data=good, headers={"DPoP": _proof(client, key, TOKEN,
                                                                                          nonce=nonce)})
    assert fresh.status_code == 200, fresh.text  # the code was not spent by the refusals


@pytest.mark.parametrize("wrong", ["htu", "htm", "ath", "stale_iat", "future_iat", "no_jti", "bad_nonce"])
def test_a_proof_with_a_wrong_claim_is_refused(client: TestClient, ngo: str, wrong: str) -> None:
    key = keys.generate()
    token, nonce, _ = _bound_token(client, ngo, key)
    now = _now(client)
    made = {
        "htu": lambda: _proof(client, key, TOKEN, nonce=nonce, access_token=token),
        "htm": lambda: _proof(client, key, CREDENTIAL, nonce=nonce, access_token=token, method="GET"),
        "ath": lambda: _proof(client, key, CREDENTIAL, nonce=nonce, access_token=token + "x"),
        "stale_iat": lambda: _proof(client, key, CREDENTIAL, nonce=nonce, access_token=token, iat=now - 400),
        "future_iat": lambda: _proof(client, key, CREDENTIAL, nonce=nonce, access_token=token, iat=now + 120),
        "no_jti": lambda: _proof(client, key, CREDENTIAL, nonce=nonce, access_token=token, jti=None),
        "bad_nonce": lambda: _proof(client, key, CREDENTIAL, nonce=craft.spoiled(nonce), access_token=token),
    }[wrong]()
    _refused(_credential(client, token, made), "use_dpop_nonce" if wrong == "bad_nonce" else "invalid_dpop_proof")
    good = _proof(client, key, CREDENTIAL, nonce=nonce, access_token=token)
    assert _credential(client, token, good).status_code == 200  # the refusal spent nothing


def test_the_htu_is_compared_without_query_and_fragment(client: TestClient, ngo: str) -> None:
    key = keys.generate()
    token, nonce, _ = _bound_token(client, ngo, key)
    proof = _proof(client, key, CREDENTIAL, nonce=nonce, access_token=token,
                   htu="HTTPS://Node.Amana.Test:443/issuers/open-doors/credential?x=1#f")
    assert _credential(client, token, proof).status_code == 200


def _unsigned_header(proof: str, header: dict[str, Any]) -> str:
    from core.encoding import b64url_json
    return b64url_json(header) + proof[proof.index("."):]


@pytest.mark.parametrize("bad", ["typ", "alg_none", "private_jwk", "two_headers", "garbage", "eddsa"])
def test_the_token_endpoint_refuses_a_bad_proof_before_counting_anything(client: TestClient, ngo: str,
                                                                         bad: str) -> None:
    key = keys.generate()
    nonce = _server_nonce(client, key)
    offer = _offer(client, ngo)
    form = _form(offer, client)
    good = _proof(client, key, TOKEN, nonce=nonce)
    header = _jose.parse_compact(good).unverified_header
    proofs: dict[str, Callable[[], str]] = {
        "typ": lambda: _jose.sign_compact({"typ": "JWT", "jwk": header["jwk"]},
                                          _jose.parse_compact(good).unverified_payload(), key),
        "alg_none": lambda: _unsigned_header(good, {**header, "alg": "none"}),
        "private_jwk": lambda: _jose.sign_compact({"typ": dpop.TYP, "jwk": key.to_jwk()},
                                                  _jose.parse_compact(good).unverified_payload(), key),
        "garbage": lambda: "not.a.jwt",
        "eddsa": lambda: _proof(client, keys.generate("EdDSA"), TOKEN, nonce=nonce),
        "two_headers": lambda: good,
    }
    headers: Any = [("DPoP", proofs[bad]()), ("DPoP", good)] if bad == "two_headers" else {"DPoP": proofs[bad]()}
    wrong_pin = "000000" if offer["pin"] != "000000" else "111111"
    r = client.post("/issuers/open-doors/token", data={**form, "tx_code": wrong_pin}, headers=headers)
    _refused(r, "invalid_dpop_proof", status=400)
    # the wrong PIN above was never looked at: the right one still works on the first try
    r = client.post("/issuers/open-doors/token", data=form, headers={"DPoP": _proof(client, key, TOKEN, nonce=nonce)})
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP"


def test_a_refresh_token_is_bound_to_the_key_its_code_was_redeemed_with(client: TestClient, ngo: str) -> None:
    """RFC 9449 section 5: for a public client that proved a key at the token endpoint, "the refresh
    token MUST be bound to the respective public key", and "the binding MUST be validated when the
    refresh token is later presented". Refused without a proof, or with another key's (invalid_grant,
    the family kept: the holder still has the key); with the key's, a token bound to it."""
    a, b = keys.generate(), keys.generate()
    token, nonce, body = _bound_token(client, ngo, a)
    assert _credential(client, token, _proof(client, a, CREDENTIAL, nonce=nonce, access_token=token)).status_code == 200
    refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    for headers in ({}, {"DPoP": _proof(client, b, TOKEN, nonce=nonce)}):
        r = client.post("/issuers/open-doors/token", headers=headers, data=refresh)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    r = client.post("/issuers/open-doors/token", headers={"DPoP": _proof(client, a, TOKEN, nonce=nonce)}, data=refresh)
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP" and r.json()["expires_in"] == 600, r.text
    access = r.json()["access_token"]
    _refused(_credential(client, access, _proof(client, b, CREDENTIAL, nonce=nonce, access_token=access)),
             "invalid_dpop_proof")
    proved = _proof(client, a, CREDENTIAL, nonce=nonce, access_token=access)
    assert _credential(client, access, proved).status_code == 200
    r = client.post("/issuers/open-doors/token", data={"grant_type": "refresh_token",  # the successor: bound too
                                                       "refresh_token": r.json()["refresh_token"]})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text


def test_a_bearer_familys_refresh_with_a_proof_gives_a_bound_token_and_without_one_a_bearer_token(
        client: TestClient, ngo: str) -> None:
    """A code redeemed without DPoP gives a bearer family: a refresh may still bring a proof, and what it
    gives is bound to that proof's key and refused with any other."""
    a, b = keys.generate(), keys.generate()
    r = client.post("/issuers/open-doors/token", data=_form(_offer(client, ngo), client))
    assert r.status_code == 200 and r.json()["token_type"] == "Bearer", r.text
    assert _credential(client, r.json()["access_token"], None, scheme="Bearer").status_code == 200
    nonce = _server_nonce(client, b)
    r = client.post("/issuers/open-doors/token", headers={"DPoP": _proof(client, b, TOKEN, nonce=nonce)},
                    data={"grant_type": "refresh_token", "refresh_token": r.json()["refresh_token"]})
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text
    access, successor = r.json()["access_token"], r.json()["refresh_token"]
    _refused(_credential(client, access, _proof(client, a, CREDENTIAL, nonce=nonce, access_token=access)),
             "invalid_dpop_proof")
    proved = _proof(client, b, CREDENTIAL, nonce=nonce, access_token=access)
    assert _credential(client, access, proved).status_code == 200
    r = client.post("/issuers/open-doors/token", data={"grant_type": "refresh_token", "refresh_token": successor})
    assert r.status_code == 200 and r.json()["token_type"] == "Bearer" and r.json()["expires_in"] == 300, r.text


def test_logs_never_carry_the_proof_token_nonce_or_jti(client: TestClient, ngo: str,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    key, jti = keys.generate(), secrets.token_urlsafe(16)
    token, nonce, _ = _bound_token(client, ngo, key)
    proof = _proof(client, key, CREDENTIAL, nonce=nonce, access_token=token, jti=jti)
    assert _credential(client, token, proof).status_code == 200
    _credential(client, token, proof)  # a replay: refused, and logged if anything is
    _credential(client, token, _proof(client, keys.generate(), CREDENTIAL, nonce=nonce, access_token=token))
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in (proof, proof.split(".")[2], token, nonce, jti):
        assert secret not in text


# --- one jti, two requests at once; our own wallet ---------------------------------------------


def test_two_concurrent_uses_of_one_jti_exactly_one_wins(client: TestClient, ngo: str) -> None:
    """store.spend_dpop_jti in two transactions at once (both stores): one insert-or-ignore, one winner."""
    ctx = client.app.state.issuer  # type: ignore[attr-defined]
    jkt, jti = keys.generate().public_key().thumbprint(), secrets.token_urlsafe(16)

    async def spend() -> bool:
        async with ctx.transaction() as session:
            won: bool = await store.spend_dpop_jti(session, ctx.node, jkt, CREDENTIAL, jti, ctx.now() + 60, ctx.now())
            await asyncio.sleep(0)  # let the other transaction run while this one is open
            return won

    async def race() -> list[bool]:
        return list(await asyncio.gather(spend(), spend(), spend(), spend()))

    assert sorted(client.portal.call(race)) == [False, False, False, True]  # type: ignore[union-attr]


def test_our_wallet_receives_with_a_dpop_bound_token(client: TestClient, ngo: str) -> None:
    """wallet/receive.py and wallet/dpop.py against this issuer: the nonce round trip at the token
    endpoint, and that nonce carried to the credential endpoint."""
    offer = _offer(client, ngo)
    seen: list[httpx.Request] = []

    async def run() -> int:
        async def note(request: httpx.Request) -> None:
            seen.append(request)

        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE, event_hooks={"request": [note]}) as http:
            return len(await receive(http, offer["link"], offer["pin"], copies=1, types=load_registry(SPECS)))

    assert client.portal.call(run) == 1  # type: ignore[union-attr]
    token_calls = [r for r in seen if r.url.path.endswith("/token")]
    credential_calls = [r for r in seen if r.url.path.endswith("/credential")]
    # the token request once without, once with the server's nonce; the credential request at once
    # with the nonce the token response gave (RFC 9449 section 8.2: no refusal first)
    assert len(token_calls) == 2 and len(credential_calls) == 1
    assert all("DPoP" in r.headers for r in token_calls + credential_calls)
    assert credential_calls[-1].headers["Authorization"].startswith("DPoP ")
