"""Issue 18 item 2, across implementations: a wallet built on the OpenWallet Foundation's oid4vc-ts
client (tests/interop/wallet.mjs, the same pinned packages as the interop peer) receives a credential
from our issuer, `amana serve` in its own process, with a DPoP-bound access token: the library
discovers DPoP in our metadata, answers our ``use_dpop_nonce`` with the nonce we give, and sends
``Authorization: DPoP`` with its proof. Before DPoP existed here it got a Bearer token (the library
then sends ``Authorization: DPoP`` only if the token is bound, so this test saw ``Bearer``)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core import keys
from core.credtypes import TypeRegistry
from core.sdjwt.vc import verify_vc_issued
from tests.interop.peer import HERE, NODE, SKIP_REASON, installed
from tests.server_process import NodeProcess

pytestmark = pytest.mark.skipif(NODE is None, reason=SKIP_REASON)
SKILL = json.loads(Path("specs/credentials/SkillCertificate/example.json").read_text())


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, str]]:
    installed()
    running = NodeProcess(tmp_path_factory.mktemp("dpop-interop"))
    created = running.cli("issuer", "create-org", "--slug", "open-doors", "--name", "en=Open Doors",
                          "--type", "SkillCertificate")
    with running:
        yield running, created["api_key"]
    assert "Traceback" not in running.log_text()


def test_the_oid4vc_ts_wallet_gets_a_dpop_bound_credential_from_our_issuer(node: tuple[NodeProcess, str],
                                                                           types: TypeRegistry) -> None:
    running, api_key = node
    made = httpx.post(f"{running.base}/api/issuer/offers", headers={"Authorization": f"Bearer {api_key}"},
                      json={"type": "SkillCertificate", "claims": SKILL}, timeout=10).json()
    assert NODE is not None
    done = subprocess.run([NODE, "wallet.mjs", made["link"], made["pin"]], cwd=HERE, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout)
    assert got["token_type"] == "DPoP"
    token_calls = [s for s in got["sent"] if s["path"].endswith("/token")]
    [credential_call] = [s for s in got["sent"] if s["path"].endswith("/credential")]
    assert all(s["dpop"] for s in token_calls) and len(token_calls) == 2  # without, then with our nonce
    assert credential_call == {"method": "POST", "path": "/issuers/open-doors/credential", "scheme": "DPoP",
                               "dpop": True}  # the nonce from the token answer: no second round trip
    [credential] = got["credentials"]
    jwks = httpx.get(f"{running.base}/.well-known/jwt-vc-issuer/issuers/open-doors", timeout=10).json()["jwks"]["keys"]
    verified = verify_vc_issued(credential, issuer_keys=[keys.PublicKey.from_jwk(k) for k in jwks],
                                now=int(time.time()), types=types)
    assert verified.claims["cnf"]["jwk"]["x"] == got["holder"]["x"]
    assert verified.claims["skill"]["label"] == SKILL["skill"]["label"]
