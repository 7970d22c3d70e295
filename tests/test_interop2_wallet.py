"""Issue 18 item 6, second half: OUR WALLET (wallet.receive, wallet.present) against a second issuer and
verifier that we did not write and that share no code with the first peer (tests/test_wallet_interop.py,
oid4vc-ts): Sphereon's @sphereon/oid4vci-issuer (VcIssuer, its token and c_nonce handling) and
@sphereon/did-auth-siop's relying party, run by tests/interop2/peer.mjs (tests/interop2/README.md).

The peer's verifier checks our vp_token with its own code and reports what it verified; the tests read
that report, so a wallet that disclosed too much, or signed the KB-JWT for the wrong audience or nonce,
fails them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from core.credtypes import TypeRegistry
from core.settings import REPO_ROOT
from tests.interop2.sphereon import NODE, SKIP_REASON, Peer
from wallet import present, receive

pytestmark = pytest.mark.skipif(NODE is None, reason=SKIP_REASON)
CLAIMS = json.loads((REPO_ROOT / "specs/credentials/SkillCertificate/example.json").read_text())
VCT = "urn:amana:credential:SkillCertificate:1"


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    with Peer(tmp_path_factory.mktemp("interop2-peer") / "peer.log") as running:
        yield running


def _run(work: Any) -> Any:
    async def go() -> Any:
        async with httpx.AsyncClient(timeout=30) as http:  # what `amana wallet` uses in local mode
            return await work(http)
    return asyncio.run(go())


def _receive(peer: Peer, types: TypeRegistry) -> receive.Received:
    made = peer.admin("offer", {"claims": CLAIMS})
    [got] = _run(lambda http: receive.receive(http, made["link"], made["pin"], copies=1, types=types))
    assert isinstance(got, receive.Received)
    return got


def test_our_wallet_receives_from_the_sphereon_issuer(peer: Peer, types: TypeRegistry) -> None:
    before = len(peer.admin("issued")["issued"])
    got = _receive(peer, types)
    assert [got.credential] == peer.admin("issued")["issued"][before:]
    # verified by our wallet against the peer's jwt-vc-issuer keys, bound to the key it proved
    assert (got.verified.issuer, got.verified.vct) == (f"{peer.base}/issuer", VCT)
    assert got.verified.claims["skill"]["label"] == "operate forklift"
    assert got.verified.verified.claims["cnf"]["jwk"]["x"] == got.holder_key.public_key().to_jwk()["x"]


def test_a_wrong_pin_is_refused_by_the_sphereon_issuer(peer: Peer, types: TypeRegistry) -> None:
    made = peer.admin("offer", {"claims": CLAIMS})
    wrong = "000000" if made["pin"] != "000000" else "111111"
    with pytest.raises(receive.IssuanceFailed, match="invalid_grant"):
        _run(lambda http: receive.receive(http, made["link"], wrong, copies=1, types=types))


def _present(peer: Peer, types: TypeRegistry, asked: dict[str, Any]) -> httpx.Response:
    held = _receive(peer, types)

    async def work(http: httpx.AsyncClient) -> httpx.Response:
        request = await present.fetch_request(http, asked["link"])  # signed by a did:jwk, no trust list
        assert (request.client_id, request.nonce, request.response_mode) == (asked["client_id"], asked["nonce"],
                                                                           "direct_post")
        vp = present.vp_token(request, {"skill": (held.credential, held.holder_key)}, int(time.time()))
        return await present.answer(http, request, vp)

    response: httpx.Response = _run(work)
    return response


def test_the_sphereon_verifier_accepts_our_presentation(peer: Peer, types: TypeRegistry) -> None:
    asked = peer.admin("request", {"claims": ["skill", "eqf_level"]})
    response = _present(peer, types, asked)
    assert response.status_code == 200, response.text
    result = peer.admin(f"result/{asked['id']}")["result"]
    [seen] = result["presentations"]
    assert (seen["kb_aud"], seen["kb_nonce"]) == (asked["client_id"], asked["nonce"])
    assert seen["typ"] == "dc+sd-jwt" and seen["iss"] == f"{peer.base}/issuer" and seen["vct"] == VCT
    assert set(seen["claims"]) - {"iss", "vct", "iat", "cnf"} == {"skill", "eqf_level"}  # no name, no date
    assert result["state"]


def test_declining_reaches_the_sphereon_verifier_as_access_denied(peer: Peer) -> None:
    asked = peer.admin("request", {})

    async def work(http: httpx.AsyncClient) -> httpx.Response:
        return await present.decline(http, await present.fetch_request(http, asked["link"]))

    assert _run(work).status_code == 200
    result = peer.admin(f"result/{asked['id']}")["result"]
    assert result["error"] == "access_denied" and result["state"]
