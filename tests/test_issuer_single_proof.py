"""Issue 18 item 5: a client on a draft before OpenID4VCI 1.0 sends one ``proof`` object instead of
``proofs`` (Sphereon's client 0.20). It is read as a one-element ``proofs`` (issuer/issuance.py,
README "Older clients"), and every check of the proof inside still applies. Before this change
the request was refused (``invalid_proof``: proofs must be an object)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core import keys
from core.oid4vc import PRE_AUTHORIZED_GRANT
from tests.conftest import console_app
from tests.oid4vci_wallet import Wallet

ISSUER = "https://node.amana.test/issuers/open-doors"
SKILL = json.loads(Path("specs/credentials/SkillCertificate/example.json").read_text())


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    yield from console_app(tmp_path_factory.mktemp("single-proof"))


def _token(client: TestClient, api_key: str) -> tuple[Wallet, dict[str, Any], str]:
    wallet = Wallet(client)
    offer = client.post("/api/issuer/offers", headers={"Authorization": f"Bearer {api_key}"},
                        json={"type": "SkillCertificate", "claims": SKILL})
    assert offer.status_code == 201, offer.text
    link = wallet.offer(offer.json()["link"])
    meta = wallet.metadata(link["credential_issuer"])
    r = wallet.token(meta, link["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"], offer.json()["pin"])
    assert r.status_code == 200, r.text
    return wallet, meta, r.json()["access_token"]


def _single(wallet: Wallet, meta: dict[str, Any], key: keys.PrivateKey, *, aud: str = ISSUER) -> dict[str, Any]:
    return {"proof_type": "jwt", "jwt": wallet.proof(key, aud, wallet.nonce(meta))}


def test_a_single_proof_is_read_as_one_element_proofs_with_a_log_line(app: tuple[TestClient, str],
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    client, api_key = app
    wallet, meta, token = _token(client, api_key)
    key = keys.generate()
    proof = _single(wallet, meta, key)
    with caplog.at_level(logging.INFO, logger="amana.issuer"):
        r = wallet.credential(meta, token, {"credential_configuration_id": "SkillCertificate", "proof": proof})
    assert r.status_code == 200, r.text
    [issued] = r.json()["credentials"]
    assert wallet.check(issued["credential"], ISSUER, _types()).claims["cnf"]["jwk"]["x"] == \
        key.public_key().to_jwk()["x"]
    assert "single pre-1.0 'proof'" in caplog.text and proof["jwt"] not in caplog.text


@pytest.mark.parametrize("case", ["both", "cwt", "extra_member", "not_an_object", "wrong_aud", "replayed_nonce"])
def test_a_single_proof_gets_every_check_and_nothing_else(app: tuple[TestClient, str], case: str) -> None:
    client, api_key = app
    wallet, meta, token = _token(client, api_key)
    key = keys.generate()
    proof: Any = _single(wallet, meta, key, aud="https://elsewhere.example" if case == "wrong_aud" else ISSUER)
    body: dict[str, Any] = {"credential_configuration_id": "SkillCertificate", "proof": proof}
    if case == "both":
        body["proofs"] = {"jwt": [proof["jwt"]]}
    elif case == "cwt":
        body["proof"] = {"proof_type": "cwt", "jwt": proof["jwt"]}
    elif case == "extra_member":
        body["proof"] = {**proof, "key_attestation": "x"}
    elif case == "not_an_object":
        body["proof"] = proof["jwt"]
    elif case == "replayed_nonce":  # the nonce spent by a first (1.0) request: the single proof is no way around it
        spent = wallet.nonce(meta)
        _, _, other = _token(client, api_key)
        first = wallet.credential(meta, other, {"credential_configuration_id": "SkillCertificate",
                                                "proofs": {"jwt": [wallet.proof(keys.generate(), ISSUER, spent)]}})
        assert first.status_code == 200, first.text
        body["proof"] = {"proof_type": "jwt", "jwt": wallet.proof(key, ISSUER, spent)}
    r = wallet.credential(meta, token, body)
    expected = {"both": "invalid_credential_request", "replayed_nonce": "invalid_nonce"}.get(case, "invalid_proof")
    assert r.status_code == 400 and r.json()["error"] == expected, r.text


def _types() -> Any:
    from core.credtypes import load_registry
    from core.settings import Settings
    return load_registry(Settings().specs_dir)
