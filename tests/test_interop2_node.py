"""Issue 18 item 6, first half: our ISSUER and VERIFIER against a wallet built from a second independent
library — Sphereon's OID4VC 0.20.1 (@sphereon/oid4vci-client, @sphereon/did-auth-siop) with
@sd-jwt/sd-jwt-vc, run by tests/interop2/wallet.mjs (why Sphereon, and where it is a draft behind:
tests/interop2/README.md). The first stack (OpenWallet Foundation oid4vc-ts) is tests/test_wallet_interop.py.

End to end over loopback HTTP against ``amana serve``: the library discovers the issuer by the appended
well-known path, redeems the pre-authorized code with the PIN, fetches a nonce, builds the key proofs and
the Credential Request, and @sd-jwt/sd-jwt-vc checks each credential's signature against the issuer's
JWT VC Issuer Metadata. Then the library verifies our signed Request Object (x509_hash and
decentralized_identifier), answers the DCQL query with a selectively disclosed presentation, and our
verifier's recorded result says what it accepted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from core.settings import REPO_ROOT
from tests.interop2.sphereon import NODE, SKIP_REASON, wallet
from tests.node import RunningNode, free_port
from tests.server_process import verifier_result

pytestmark = pytest.mark.skipif(NODE is None, reason=SKIP_REASON)
SKILL = REPO_ROOT / "specs/credentials/SkillCertificate/example.json"
VCT = "urn:amana:credential:SkillCertificate:1"


class Node:
    """A node on loopback with one issuer (``ngo``) and a verifier desk, and the CLI against its store."""

    def __init__(self, env: dict[str, str], base: str) -> None:
        self.env, self.base = env, base

    def cli(self, *args: str, ok: bool = True) -> dict[str, Any]:
        """An ``amana`` command's JSON output; ``ok=False``: it must exit non-zero (a refused check does).
        A check's result is read once the check is no longer pending (tests.server_process)."""
        if args[:2] == ("verifier", "result"):
            done = verifier_result(self.env, args[2])
        else:
            done = subprocess.run([sys.executable, "-m", "server.cli", *args], capture_output=True, text=True,
                                  cwd=REPO_ROOT, env=self.env, check=False, timeout=120)
        assert (done.returncode == 0) == ok, f"{args}: {done.stdout}\n{done.stderr}"
        value: dict[str, Any] = json.loads(done.stdout)
        return value

    def offer(self, batch: int = 1) -> dict[str, Any]:
        return self.cli("issuer", "offer", "--org", "ngo", "--type", "SkillCertificate", "--claims", str(SKILL),
                        "--batch", str(batch))


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("interop2-node")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AMANA_") and k != "DATABASE_URL"}
    port = free_port()  # the issuer's and verifier's ids carry the node's address: known before they are made
    running = Node(clean | {"AMANA_DATA_DIR": str(tmp / "node"), "AMANA_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"},
                   f"http://127.0.0.1:{port}")
    org = running.cli("issuer", "create-org", "--slug", "ngo", "--name", "en=NGO", "--type", "SkillCertificate",
                      "--jwks-out", str(tmp / "ngo.jwks"))
    desk = running.cli("verifier", "init")
    (tmp / "v.jwks").write_text(json.dumps(desk["jwks"]))
    trust = str(tmp / "node" / "trust")
    for args in (("init", "--iss", "https://gov.amana.test"),
                 ("add-issuer", "--id", org["issuer"], "--name", "en=NGO", "--jwks", str(tmp / "ngo.jwks"),
                  "--vct", "SkillCertificate"),
                 ("register-verifier", "--id", desk["verifier_id"], "--name", "en=Harbour Desk", "--jwks",
                  str(tmp / "v.jwks"), "--purpose", "dpv:HumanResourceManagement", "--legal-basis",
                  "dpv:LegalObligation", "--claims", "SkillCertificate:skill,eqf_level"),
                 ("sign",)):
        running.cli("trust", *args, "--dir", trust)
    with RunningNode(tmp / "node", port=port):
        yield running


def _receive(node: Node, copies: int, shape: str = "proofs", dpop: bool = False) -> dict[str, Any]:
    made = node.offer(batch=copies)
    return wallet({"cmd": "receive", "link": made["link"], "pin": made["pin"], "configuration": "SkillCertificate",
                   "copies": copies, "shape": shape, "dpop": dpop})


def test_the_sphereon_wallet_receives_a_batch_from_our_issuer(node: Node) -> None:
    got = _receive(node, copies=2)
    issuer = f"{node.base}/issuers/ngo"
    # The library found the endpoints itself, by the appended well-known path (issue 18 item 1).
    assert got["discovered"] == {"token_endpoint": f"{issuer}/token", "nonce_endpoint": f"{issuer}/nonce"}
    assert got["sent"] == ["credential_configuration_id", "proofs"]
    assert len(got["credentials"]) == 2
    for c in got["credentials"]:  # each verified by @sd-jwt/sd-jwt-vc against the issuer's metadata keys
        assert c["header"]["typ"] == "dc+sd-jwt"
        assert (c["payload"]["iss"], c["payload"]["vct"]) == (issuer, VCT)
        assert c["payload"]["skill"]["label"] == "operate forklift" and c["payload"]["eqf_level"] == 3
        assert c["payload"]["cnf"]["jwk"]["x"] == c["holder_jwk"]["x"]  # bound to the key that proved possession
    assert len({c["holder_jwk"]["x"] for c in got["credentials"]}) == 2  # one key per copy: unlinkable


def test_the_sphereon_wallet_binds_its_token_with_dpop(node: Node) -> None:
    """The library's own DPoP (RFC 9449): it follows our use_dpop_nonce at the token endpoint, gets a token of
    type DPoP, and proves the key again at the credential endpoint (issue 18 item 2)."""
    got = _receive(node, copies=1, dpop=True)
    assert got["token_type"] == "DPoP"
    [c] = got["credentials"]
    assert c["payload"]["vct"] == VCT and c["payload"]["cnf"]["jwk"]["x"] == c["holder_jwk"]["x"]
    assert _receive(node, copies=1)["token_type"] == "Bearer"  # a client without DPoP still gets a Bearer token


def test_a_wrong_pin_is_refused_to_the_sphereon_wallet(node: Node) -> None:
    made = node.offer()
    wrong = "000000" if made["pin"] != "000000" else "111111"
    refused = wallet({"cmd": "receive", "link": made["link"], "pin": wrong, "configuration": "SkillCertificate"},
                     ok=False)
    assert "access token" in refused["error"] and "400" in refused["error"]


def test_the_draft_15_single_proof_the_library_sends_is_accepted_as_one_proof(node: Node) -> None:
    """Sphereon 0.20.1 builds a draft 15 Credential Request: a single ``proof`` object, where OpenID4VCI 1.0
    section 8.2 has only ``proofs``. The node reads it as a one-element ``proofs`` (issue 18 item 5, the
    issuer's decision; tests/interop2/README.md, mismatch 1): the library as shipped gets its credential."""
    got = _receive(node, copies=1, shape="shipped")
    assert got["sent"] == ["credential_configuration_id", "proof"]
    [c] = got["credentials"]
    assert (c["payload"]["iss"], c["payload"]["vct"]) == (f"{node.base}/issuers/ngo", VCT)
    assert c["payload"]["cnf"]["jwk"]["x"] == c["holder_jwk"]["x"]


@pytest.mark.parametrize("prefix", ["x509_hash", "decentralized_identifier"])
def test_our_verifier_accepts_the_sphereon_wallets_presentation(node: Node, prefix: str) -> None:
    [held] = _receive(node, copies=1)["credentials"]
    asked = node.cli("verifier", "request", "--query", "skill-check", "--prefix", prefix)
    answered = wallet({"cmd": "present", "link": asked["link"], "credential": held["credential"],
                       "holder_jwk": held["holder_jwk"]})
    assert answered["status"] == 200, answered["body"]
    assert answered["client_id"].startswith(f"{prefix}:")  # the library verified our Request Object for it
    assert answered["disclosed"] == ["skill", "eqf_level"]
    if prefix == "x509_hash":  # the HAIP default: the answer encrypted to the check's own key (OpenID4VP 8.3)
        assert answered["response_mode"] == "direct_post.jwt"
        [jwe] = answered["encrypted"]
        assert jwe["alg"] == "ECDH-ES" and jwe["enc"] in ("A256GCM", "A128GCM") and jwe["kid"]
    else:
        assert (answered["response_mode"], answered["encrypted"]) == ("direct_post", [])
    result = node.cli("verifier", "result", asked["id"])
    assert result["accepted"] is True, result
    [seen] = result["credentials"]
    assert (seen["vct"], seen["issuer"], seen["status"]) == (VCT, f"{node.base}/issuers/ngo", "valid")
    assert set(seen["claims"]) == {"skill", "eqf_level"}  # only what was asked: no name, no date of award


def test_our_verifier_refuses_the_sphereon_presentation_for_another_request(node: Node) -> None:
    """The KB-JWT the library's holder signs binds nonce and audience: a presentation made for one request,
    replayed to another, is refused (a verifier that skipped the nonce check would accept it)."""
    [held] = _receive(node, copies=1)["credentials"]
    first = node.cli("verifier", "request", "--query", "skill-check")
    second = node.cli("verifier", "request", "--query", "skill-check")
    replayed = wallet({"cmd": "present", "link": first["link"], "answer_link": second["link"],
                       "credential": held["credential"], "holder_jwk": held["holder_jwk"]})
    assert replayed["status"] in (200, 400), replayed  # the wallet is told either way; the check is refused
    result = node.cli("verifier", "result", second["id"], ok=False)
    assert result["accepted"] is False and result["reason"] == "nonce_mismatch", result

