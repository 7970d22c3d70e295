"""Issue 12's interoperability point: the wallet receives from and presents to an independently written
OpenID4VCI 1.0 issuer and OpenID4VP 1.0 verifier, over HTTP on loopback — the OpenWallet Foundation's
oid4vc-ts with @sd-jwt/sd-jwt-vc, run by tests/interop/server.mjs (what and why: tests/interop/README.md).
Our own issuer and verifier over HTTP: tests/test_wallet_cli_flow.py.

The peer's verifier checks our vp_token with its own code (the SD-JWT VC issuer signature, disclosures,
the KB-JWT's signature, nonce and sd_hash; ``aud`` equal to the full client_id, which server.mjs checks
since the library leaves it to the caller) and reports what it verified; the tests read that report.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.credtypes import TypeRegistry
from core.settings import REPO_ROOT
from core.trust.model import TrustList, parse
from tests.interop.peer import NODE, SKIP_REASON, Peer, self_signed
from wallet import present, receive
from wallet.consent import consent_screen

pytestmark = pytest.mark.skipif(NODE is None, reason=SKIP_REASON)
CLAIMS = json.loads((REPO_ROOT / "specs/credentials/SkillCertificate/example.json").read_text())
ASKED = ["skill", "eqf_level"]
VCT = "urn:amana:credential:SkillCertificate:1"


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    key, certificate = self_signed(datetime.datetime.now(datetime.UTC))
    log = tmp_path_factory.mktemp("interop") / "peer.log"
    with Peer(log, {"INTEROP_X509_KEY": json.dumps(key), "INTEROP_X509_CERT": certificate}) as running:
        yield running


def _run(work: Any) -> Any:
    async def go() -> Any:
        async with httpx.AsyncClient(timeout=30) as http:  # what `amana wallet` uses in local mode
            return await work(http)
    return asyncio.run(go())


def _receive(peer: Peer, types: TypeRegistry, copies: int = 1, **offer: Any) -> list[receive.Received]:
    made = peer.admin("offer", {"claims": CLAIMS, **offer})
    got: list[receive.Received] = _run(lambda http: receive.receive(http, made["link"], made["pin"], copies=copies,
                                                                     types=types))
    return got


@pytest.mark.parametrize("by_value", [False, True], ids=["offer_by_reference", "offer_by_value"])
def test_the_wallet_receives_a_batch_from_the_independent_issuer(peer: Peer, types: TypeRegistry,
                                                                  by_value: bool) -> None:
    before = len(peer.admin("issued")["issued"])
    got = _receive(peer, types, copies=3, by_value=by_value)
    assert len(got) == 3
    assert {r.credential for r in got} == set(peer.admin("issued")["issued"][before:])
    for r in got:  # each copy verified against the issuer's jwt-vc-issuer keys, bound to its own key
        assert (r.verified.issuer, r.verified.vct) == (f"{peer.base}/issuer", "urn:amana:credential:SkillCertificate:1")
        assert r.verified.claims["skill"]["label"] == "operate forklift"
        assert r.verified.verified.claims["cnf"]["jwk"]["x"] == r.holder_key.public_key().to_jwk()["x"]
    assert len({r.holder_key.public_key().thumbprint() for r in got}) == 3


def test_a_wrong_pin_is_refused_by_the_independent_issuer(peer: Peer, types: TypeRegistry) -> None:
    made = peer.admin("offer", {"claims": CLAIMS})
    wrong = "000000" if made["pin"] != "000000" else "111111"
    with pytest.raises(receive.IssuanceFailed, match="invalid_grant"):
        _run(lambda http: receive.receive(http, made["link"], wrong, copies=1, types=types))


def _trust_list(asked: dict[str, Any]) -> TrustList:
    """The governance list a wallet holds, registering the peer's verifier (its host and certificate key)."""
    now = int(time.time())
    verifier = {"id": asked["base"], "names": {"en": "Interop Desk"}, "jwks": {"keys": [asked["x509_jwk"]]},
                "registrations": [{"purpose": "https://w3id.org/dpv#HumanResourceManagement",
                                   "legal_basis": "https://w3id.org/dpv#LegalObligation",
                                   "credentials": [{"vct": VCT, "claims": [[c] for c in ASKED]}]}]}
    return parse(TrustList, {"iss": "https://governance.example", "seq": 1, "iat": now - 10,
                             "next_update": now + 3600, "verifiers": [verifier]})


def _present(peer: Peer, types: TypeRegistry, client: str, mode: str, **extra: Any) -> tuple[dict[str, Any], Any]:
    [held] = _receive(peer, types)
    asked = peer.admin("request", {"client": client, "mode": mode, "claims": ASKED, **extra})
    trusted = _trust_list(asked) if client == "x509_san_dns" else None

    async def work(http: httpx.AsyncClient) -> httpx.Response:
        request = await present.fetch_request(http, asked["link"], allow_unsigned=client == "redirect_uri",
                                              trust_list=trusted)
        if trusted is not None:
            screen = consent_screen(request, trusted, [], types, "en")
            assert (screen.who.status, screen.who.name) == ("registered", "Interop Desk")
        assert (request.client_id, request.nonce, request.response_mode) == (asked["client_id"], asked["nonce"], mode)
        vp = present.vp_token(request, {"skill": (held.credential, held.holder_key)}, int(time.time()))
        return await present.answer(http, request, vp)

    response = _run(work)
    return asked, response


@pytest.mark.parametrize("client", ["decentralized_identifier", "x509_hash", "x509_san_dns", "redirect_uri"])
def test_the_independent_verifier_accepts_our_presentation(peer: Peer, types: TypeRegistry, client: str) -> None:
    asked, response = _present(peer, types, client, "direct_post")
    assert response.status_code == 200, response.text
    result = peer.admin(f"result/{asked['id']}")["result"]
    [seen] = result["presentations"]["skill"]
    assert (seen["kb_aud"], seen["kb_nonce"]) == (asked["client_id"], asked["nonce"])
    assert seen["typ"] == "dc+sd-jwt" and seen["iss"] == f"{peer.base}/issuer" and seen["vct"] == VCT
    disclosed = set(seen["claims"]) - {"iss", "vct", "iat", "cnf"}
    assert disclosed == set(ASKED)  # exactly what was asked: no name, no date of award
    assert result["mode"] == "plain" and result["state"]


@pytest.mark.parametrize("enc", [None, "A128GCM", "A256GCM"])
def test_the_independent_verifier_decrypts_our_direct_post_jwt_answer(peer: Peer, types: TypeRegistry,
                                                                       enc: str | None) -> None:
    asked, response = _present(peer, types, "x509_hash", "direct_post.jwt", **({"enc": enc} if enc else {}))
    assert response.status_code == 200, response.text
    result = peer.admin(f"result/{asked['id']}")["result"]
    assert result["mode"] == "Encrypted" and result["state"]  # state inside the JWE, read back by the library
    assert result["jwe"]["alg"] == "ECDH-ES" and result["jwe"]["enc"] == (enc or "A128GCM")
    assert result["jwe"]["kid"].startswith("enc-")
    [seen] = result["presentations"]["skill"]
    assert (seen["kb_aud"], seen["kb_nonce"]) == (asked["client_id"], asked["nonce"])
    assert set(seen["claims"]) - {"iss", "vct", "iat", "cnf"} == set(ASKED)


def test_a_verifier_key_for_another_algorithm_is_refused_before_the_holder_is_asked(peer: Peer) -> None:
    asked = peer.admin("request", {"client": "decentralized_identifier", "mode": "direct_post.jwt",
                                   "key_alg": "ECDH-ES+A128KW"})
    with pytest.raises(present.RequestRefused) as refused:
        _run(lambda http: present.fetch_request(http, asked["link"]))
    assert refused.value.code == "response_encryption_unsupported"


def test_an_x509_san_dns_verifier_the_trust_list_does_not_register_is_refused(peer: Peer) -> None:
    asked = peer.admin("request", {"client": "x509_san_dns", "mode": "direct_post"})
    with pytest.raises(present.RequestRefused) as refused:
        _run(lambda http: present.fetch_request(http, asked["link"]))
    assert refused.value.code == "client_not_trusted"


@pytest.mark.parametrize("mode", ["direct_post", "direct_post.jwt"])
def test_declining_reaches_the_independent_verifier_as_access_denied(peer: Peer, mode: str) -> None:
    asked = peer.admin("request", {"client": "decentralized_identifier", "mode": mode})

    async def work(http: httpx.AsyncClient) -> httpx.Response:
        return await present.decline(http, await present.fetch_request(http, asked["link"]))

    assert _run(work).status_code == 200
    result = peer.admin(f"result/{asked['id']}")["result"]
    assert (result["error"], result["encrypted"]) == ("access_denied", mode == "direct_post.jwt") and result["state"]


def test_amana_wallet_from_a_shell_against_the_independent_peer(peer: Peer, tmp_path: Path) -> None:
    """The `amana wallet` commands, as a holder would run them: receive, then present with --yes
    (an unregistered verifier needs --allow-unregistered, and gets only what it asks)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AMANA_") and k != "DATABASE_URL"}
    env = clean | {"AMANA_DATA_DIR": str(tmp_path / "holder"), "AMANA_PUBLIC_BASE_URL": "http://127.0.0.1:9",
                   "AMANA_WALLET_PASSPHRASE": "Zq7 the holder's own passphrase"}

    def wallet(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "server.cli", "wallet", *args], capture_output=True, text=True,
                              cwd=REPO_ROOT, env=env, check=False, timeout=120)
        assert (done.returncode == 0) == ok, f"{args}: {done.stdout}\n{done.stderr}"
        return done

    wallet("create", "--name", "Amal")
    made = peer.admin("offer", {"claims": CLAIMS})
    assert json.loads(wallet("receive", made["link"], "--pin", made["pin"], "--copies", "2",
                                 "--allow-unregistered").stdout)["received"] == 2
    asked = peer.admin("request", {"client": "decentralized_identifier", "mode": "direct_post", "claims": ASKED})
    refused = wallet("present", asked["link"], "--yes", ok=False)
    assert "allow-unregistered" in refused.stderr
    answered = json.loads(wallet("present", asked["link"], "--yes", "--allow-unregistered").stdout)
    assert answered["answered"] == asked["client_id"]
    [seen] = peer.admin(f"result/{asked['id']}")["result"]["presentations"]["skill"]
    assert set(seen["claims"]) - {"iss", "vct", "iat", "cnf"} == set(ASKED)
