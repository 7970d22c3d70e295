"""A lone surrogate (``"\\ud800"`` in JSON) is no text: UTF-8 cannot carry it, so a string holding
one failed later, wherever it was hashed, encoded or stored, and the route answered 500. Strangers
could send one unauthenticated: a DPoP proof's ``jti`` at the token endpoint, a holder proof's
``sub`` at the consent ledger, a ``vp_token`` inside an encrypted answer (helper-78). The strict JSON
parser under every token now refuses it (``core.encoding.json_loads_strict``, RFC 7493 section
2.1); these tests send it where it did harm, over HTTP, and expect the protocol's own refusal."""

from __future__ import annotations

import json
import time
from pathlib import Path

from fastapi.testclient import TestClient

from consent import pseudonym
from consent.app import build_app as consent_app
from core import _jose, keys
from core.oid4vc import PRE_AUTHORIZED_GRANT
from core.settings import Settings
from issuer.app import build_app as issuer_app
from tests.craft import signed_as_escapes
from tests.issuer_orgs import org_on
from tests.oid4vci_wallet import BASE
from verifier import store as verifier_store
from wallet import dpop as wallet_dpop

LONE = "\ud800"


def test_a_dpop_proof_whose_jti_is_a_lone_surrogate_is_refused_at_the_token_endpoint(tmp_path: Path) -> None:
    token_url = f"{BASE}/issuers/ngo/token"
    with TestClient(issuer_app(Settings(data_dir=tmp_path, public_base_url=BASE)), base_url=BASE) as client:
        ctx = client.app.state.issuer  # type: ignore[attr-defined]
        org_on(client, "ngo", vcts=[])
        key, now, form = keys.generate(), int(ctx.now()), {"grant_type": PRE_AUTHORIZED_GRANT,
                                                            "pre-authorized_code": "any"}
        first = client.post(token_url, data=form,
                            headers={"DPoP": wallet_dpop.proof(key, "POST", token_url, access_token=None, nonce=None,
                                                               now=now)})
        nonced = _jose.parse_compact(wallet_dpop.proof(key, "POST", token_url, access_token=None,
                                                       nonce=first.headers["DPoP-Nonce"], now=now))
        proof = signed_as_escapes(nonced.unverified_header, {**nonced.unverified_payload(), "jti": LONE}, key)
        refused = client.post(token_url, data=form, headers={"DPoP": proof})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "invalid_dpop_proof"


def test_a_holder_proof_whose_subject_is_a_lone_surrogate_is_refused_by_the_consent_ledger(tmp_path: Path) -> None:
    ledger_key, now = pseudonym.new_ledger_key(), int(time.time())
    with TestClient(consent_app(Settings(data_dir=tmp_path))) as client:
        for method, route, action in (("GET", "/consent/export", "export"), ("POST", "/consent/erase", "erase")):
            made = _jose.parse_compact(pseudonym.holder_proof(ledger_key, "v1", action, now))
            proof = signed_as_escapes(made.unverified_header, {**made.unverified_payload(), "sub": LONE},
                                      pseudonym.pairwise_key(ledger_key, "v1"))
            refused = client.request(method, route, headers={"Authorization": f"ConsentProof {proof}"})
            assert refused.status_code == 401, refused.text
            assert refused.json()["type"] == "urn:amana:problem:holder_proof_invalid"


def test_a_lone_surrogate_inside_an_offers_claims_or_a_desks_own_query_is_refused(tmp_path: Path) -> None:
    """Free-form JSON in a request body (``core.web.JsonObject``): pydantic checks the text of a str
    field, not the strings inside ``Any``, and the standard library's reader lets a lone surrogate
    through. An offer made with one was a 201 whose credential then failed at its encoding, a 500
    for the holder; now the staff member is told at once, and nothing is made."""
    from server.app import build_app as node_app
    from tests.desk_world import SKILL_EXAMPLE

    with TestClient(node_app(Settings(data_dir=tmp_path, public_base_url=BASE)), base_url=BASE) as client:
        staff = {"Authorization": f"Bearer {org_on(client, 'ngo')}", "Content-Type": "application/json"}
        for claims in ({**SKILL_EXAMPLE, "given_name": LONE}, {**SKILL_EXAMPLE, "skill": {"uri": "x", LONE: "y"}}):
            body = json.dumps({"type": "SkillCertificate", "claims": claims})  # ensure_ascii: the escape, as sent
            refused = client.post("/api/issuer/offers", content=body, headers=staff)
            assert refused.status_code == 400 and refused.json()["detail"] == "check: claims", refused.text
        assert client.get("/api/issuer/offers", headers=staff).json() == []  # nothing was made
        ok = client.post("/api/issuer/offers", headers=staff,
                         content=json.dumps({"type": "SkillCertificate", "claims": SKILL_EXAMPLE}))
        assert ok.status_code == 201, ok.text

        verifier = client.app.state.verifier  # type: ignore[attr-defined]

        async def desk_key() -> str:
            async with verifier.transaction() as session:
                return await verifier_store.add_desk_key(session, verifier.node, "desk", verifier.now())

        desk = {"Authorization": f"Bearer {client.portal.call(desk_key)}",  # type: ignore[union-attr]
                "Content-Type": "application/json"}
        query = {"credentials": [{"id": "skill", "format": "dc+sd-jwt", "claims": [{"path": ["skill", LONE]}],
                                  "meta": {"vct_values": ["urn:amana:credential:SkillCertificate:1"]}}]}
        refused = client.post("/api/verifier/checks", headers=desk,
                              content=json.dumps({"dcql_query": query, "purpose": "dpv:HumanResourceManagement"}))
        assert refused.status_code == 400 and refused.json()["detail"] == "check: dcql_query", refused.text
