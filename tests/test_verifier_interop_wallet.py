"""Issue 18 item 3: the node's verifier answered by a wallet we did not write.

tests/interop/holder.mjs is the OpenWallet Foundation's oid4vc-ts OpenID4VP client with
@sd-jwt/sd-jwt-vc: it parses the QR's ``openid4vp://`` link, fetches and verifies the signed
Request Object (x509_hash against the ``x5c`` leaf), presents an SD-JWT VC with its KB-JWT and,
since the check asks for ``direct_post.jwt``, encrypts the answer to the key in
``client_metadata.jwks`` (ECDH-ES on P-256, with ``apu``/``apv`` as that library sets them).
The desk must accept it. Skipped only when ``node`` is missing (tests/interop/peer.py).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from core import _jose
from tests.interop.peer import HERE, NODE, SKIP_REASON, installed
from tests.node import RunningNode
from tests.verifier_desk import Desk

pytestmark = pytest.mark.skipif(NODE is None, reason=SKIP_REASON)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    installed()
    data_dir = tmp_path_factory.mktemp("interop-wallet")
    with RunningNode(data_dir) as node:
        yield Desk(node, data_dir)


def _holder(link: str, credential: str, holder_jwk: dict[str, str], encs: list[str]) -> dict[str, Any]:
    assert NODE is not None
    body = {"link": link, "credential": credential, "holder_jwk": holder_jwk, "encs": encs,
            "disclose": ["right_to_work", "valid_until"]}
    done = subprocess.run([NODE, "holder.mjs"], cwd=HERE, input=json.dumps(body), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    answered: dict[str, Any] = json.loads(done.stdout)
    return answered


@pytest.mark.parametrize("encs", [["A256GCM", "A128GCM"], ["A128GCM"]])
def test_the_oid4vc_ts_wallet_answers_encrypted_and_the_desk_accepts(desk: Desk, encs: list[str]) -> None:
    async def story() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        async with httpx.AsyncClient(timeout=20) as http:
            check = await desk.check(http)
            request_uri = check["link"].split("request_uri=", 1)[1]
            request = _jose.parse_compact((await http.get(request_uri)).text).unverified_payload()
            token, holder = desk.credential(None)
            answered = await asyncio.to_thread(_holder, check["link"], token, holder.to_jwk(), encs)
            return request, answered, await desk.outcome(http, check)

    request, answered, result = asyncio.run(story())
    assert answered["status"] == 200, answered
    assert answered["response_mode"] == "direct_post.jwt" and answered["client_id"].startswith("x509_hash:")
    [key] = request["client_metadata"]["jwks"]["keys"]
    header = answered["jwe_header"]
    assert header["alg"] == "ECDH-ES" and header["enc"] == encs[0] and header["kid"] == key["kid"]
    assert "apv" in header  # the library binds the request's nonce into the key agreement
    assert result["accepted"] is True, result
    assert set(result["credentials"][0]["claims"]) == {"right_to_work", "valid_until"}
