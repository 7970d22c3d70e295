"""Issuer service (issue 4): the OpenID4VCI pre-authorized flow over HTTP, batch included, its
negative cases, revocation through the Token Status List, and what the database keeps."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core import _jose, keys
from core.credtypes import TypeRegistry
from core.encoding import b64url_encode, b64url_json
from core.oid4vc import PRE_AUTHORIZED_GRANT
from core.settings import Settings
from core.statuslist import INVALID, SUSPENDED, VALID, verify_token
from issuer import store
from issuer.app import build_app
from issuer.offers import MAX_PIN_FAILURES
from tests import pool_nesting
from tests.issuer_orgs import org_on
from tests.oid4vci_wallet import BASE, Wallet, path_of
from tests.pg_locks import scalar_alone, until_waiting
from tests.raw_files import stored_bytes
from tests.server_process import empty_postgres

SKILL_EXAMPLE = json.loads(Path("specs/credentials/SkillCertificate/example.json").read_text())


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("issuer")


POSTGRES_URL = os.environ.get("AMANA_TEST_DATABASE_URL")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def client(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[TestClient]:
    """The whole module runs on the embedded SQLite and, where .ci/postgres set it up, PostgreSQL."""
    if request.param == "postgresql":
        if not POSTGRES_URL:
            pytest.skip("no PostgreSQL (.ci/run starts one: eval \"$(.ci/postgres)\")")
        empty_postgres(POSTGRES_URL)
    database_url = POSTGRES_URL if request.param == "postgresql" else None
    app = build_app(Settings(data_dir=data_dir / request.param, public_base_url=BASE, database_url=database_url))
    with TestClient(app, base_url=BASE) as c:
        yield c


def _stored_bytes(client: TestClient) -> bytes:
    """Everything the database holds: the SQLite files (read by a child process: tests.raw_files
    says why), or every row of every table."""
    return stored_bytes(client.app.state.issuer.settings)  # type: ignore[attr-defined]


def _create_org(client: TestClient, slug: str, vcts: list[str], keep_claims_days: int | None = None) -> str:
    return org_on(client, slug, vcts=vcts, keep_claims_days=keep_claims_days)


@pytest.fixture(scope="module")
def ngo(client: TestClient) -> str:
    return _create_org(client, "open-doors", ["urn:amana:credential:SkillCertificate:1"])


@pytest.fixture(scope="module")
def city(client: TestClient) -> str:
    return _create_org(client, "city", ["urn:amana:credential:RegistrationStatus:1"], keep_claims_days=30)


def _offer(client: TestClient, api_key: str, claims: dict[str, Any] | None = None, batch: int = 1,
           type_: str = "SkillCertificate") -> dict[str, Any]:
    r = client.post("/api/issuer/offers", headers={"Authorization": f"Bearer {api_key}"},
                    json={"type": type_, "claims": claims or SKILL_EXAMPLE, "batch_size": batch})
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"  # the PIN is in this body
    body: dict[str, Any] = r.json()
    return body


@pytest.fixture()
def clock(client: TestClient) -> Iterator[Any]:
    ctx = client.app.state.issuer  # type: ignore[attr-defined]
    yield ctx.clock
    ctx.clock.offset = 0


# --- the happy path ----------------------------------------------------------------------


def test_batch_issuance_over_http(client: TestClient, ngo: str, types: TypeRegistry) -> None:
    offer = _offer(client, ngo, batch=3)
    assert offer["link"].startswith("openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fnode.amana.test")
    holders = [keys.generate("ES256"), keys.generate("EdDSA"), keys.generate("ES256")]
    wallet = Wallet(client)
    credentials = wallet.receive(offer["link"], offer["pin"], holders)
    assert len(credentials) == 3
    checked = [wallet.check(c, f"{BASE}/issuers/open-doors", types) for c in credentials]
    for holder, result in zip(holders, checked, strict=True):
        assert result.verified.holder_key is None  # issued SD-JWT: no KB yet, but cnf binds the batch key
        assert result.claims["cnf"]["jwk"]["x"] == holder.public_key().to_jwk()["x"]
        assert result.claims["skill"] == SKILL_EXAMPLE["skill"]
        assert result.claims["iat"] % 86400 == 0  # rounded to the day
    # Unlinkable: no shared salt, digest, status index or signature between the three.
    status_refs = {tuple(c.claims["status"]["status_list"].values()) for c in checked}
    assert len(status_refs) == 3
    disclosure_sets = [set(c.split("~")[1:-1]) for c in credentials]
    assert not disclosure_sets[0] & disclosure_sets[1] and not disclosure_sets[1] & disclosure_sets[2]


def test_metadata_documents(client: TestClient, ngo: str) -> None:
    meta = client.get("/.well-known/openid-credential-issuer/issuers/open-doors").json()
    assert meta["credential_issuer"] == f"{BASE}/issuers/open-doors"
    config = meta["credential_configurations_supported"]["SkillCertificate"]
    assert config["format"] == "dc+sd-jwt" and config["vct"] == "urn:amana:credential:SkillCertificate:1"
    assert {d["locale"] for d in config["credential_metadata"]["display"]} >= {"en", "ar", "fa", "uk", "fr"}
    assert "RegistrationStatus" not in meta["credential_configurations_supported"]
    assert meta["batch_credential_issuance"]["batch_size"] >= 2
    as_meta = client.get("/.well-known/oauth-authorization-server/issuers/open-doors").json()
    assert PRE_AUTHORIZED_GRANT in as_meta["grant_types_supported"]
    jwks = client.get("/.well-known/jwt-vc-issuer/issuers/open-doors").json()
    assert jwks["issuer"] == meta["credential_issuer"] and "d" not in jwks["jwks"]["keys"][0]
    from issuer import metadata  # the issuer's own names in BCP 47, as staff name them in this node's codes

    named = metadata.credential_issuer("https://i.example", {"en": "Open Doors", "fa_AF": "دروازه"}, [])
    assert [d["locale"] for d in named["display"]] == ["en", "fa-AF"]
    assert client.get("/.well-known/openid-credential-issuer/issuers/nobody").status_code == 404


def test_token_endpoint_ignores_unknown_parameters(client: TestClient, ngo: str) -> None:
    offer = _offer(client, ngo)
    wallet = Wallet(client)
    o = wallet.offer(offer["link"])
    meta = wallet.metadata(o["credential_issuer"])
    code = o["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
    r = wallet.token(meta, code, offer["pin"], client_id="some-wallet", authorization_details="[]", foo="bar")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"


def test_a_token_request_naming_configurations_gets_their_identifiers(client: TestClient, ngo: str) -> None:
    """OpenID4VCI 1.0 sections 6.1-6.2: ``authorization_details`` in the Token Request is answered with
    ``authorization_details`` and ``credential_identifiers``, which the Credential Request may use;
    it was ignored (helper-67). One not offered, or of another type, is refused and counts nothing."""
    offer = _offer(client, ngo)
    wallet = Wallet(client)
    o = wallet.offer(offer["link"])
    meta = wallet.metadata(o["credential_issuer"])
    code = o["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
    for wrong in ('[{"type": "openid_credential", "credential_configuration_id": "ResidencePermit"}]',
                  '[{"type": "payment_initiation", "credential_configuration_id": "SkillCertificate"}]',
                  '{"type": "openid_credential"}', "not json"):
        r = wallet.token(meta, code, offer["pin"], authorization_details=wrong)
        assert r.status_code == 400 and r.json()["error"] == "invalid_authorization_details", (wrong, r.text)
    asked = [{"type": "openid_credential", "credential_configuration_id": "SkillCertificate", "locations": ["x"]}]
    r = wallet.token(meta, code, offer["pin"], authorization_details=json.dumps(asked))  # the code still works
    assert r.status_code == 200, r.text
    [detail] = r.json()["authorization_details"]
    assert detail == {"type": "openid_credential", "credential_configuration_id": "SkillCertificate",
                      "credential_identifiers": ["SkillCertificate"]}
    c_nonce = client.post(path_of(meta["nonce_endpoint"])).json()["c_nonce"]
    holder = keys.generate()
    key_proof = wallet.proof(holder, o["credential_issuer"], c_nonce)
    body = {"credential_identifier": "SkillCertificate", "proofs": {"jwt": [key_proof]}}
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    both = client.post(path_of(meta["credential_endpoint"]), headers=headers,
                       json={**body, "credential_configuration_id": "SkillCertificate"})
    assert both.status_code == 400 and both.json()["error"] == "invalid_credential_request"
    other = client.post(path_of(meta["credential_endpoint"]), headers=headers,
                        json={**body, "credential_identifier": "ResidencePermit"})
    assert other.status_code == 400 and other.json()["error"] == "unknown_credential_identifier"
    issued = client.post(path_of(meta["credential_endpoint"]), headers=headers, json=body)
    assert issued.status_code == 200 and len(issued.json()["credentials"]) == 1, issued.text


# --- the token endpoint refuses ---------------------------------------------------------


def _start(client: TestClient, api_key: str) -> tuple[Wallet, dict[str, Any], str, str]:
    offer = _offer(client, api_key)
    wallet = Wallet(client)
    o = wallet.offer(offer["link"])
    return wallet, wallet.metadata(o["credential_issuer"]), o["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"], \
        offer["pin"]


def _wrong(pin: str) -> str:
    return f"{(int(pin) + 1) % 10**6:06d}"


def test_wrong_pin_refused(client: TestClient, ngo: str) -> None:
    wallet, meta, code, pin = _start(client, ngo)
    r = wallet.token(meta, code, _wrong(pin))
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert wallet.token(meta, code, None).json()["error"] == "invalid_request"  # tx_code required
    assert wallet.token(meta, code, pin).status_code == 200  # one wrong PIN does not lock


def test_pin_brute_force_locks_the_offer(client: TestClient, ngo: str) -> None:
    wallet, meta, code, pin = _start(client, ngo)
    for n in range(MAX_PIN_FAILURES):
        body = wallet.token(meta, code, _wrong(pin)).json()
        # each wrong PIN says how many the offer still takes (specs/formats/token-errors.md)
        assert body["error"] == "invalid_grant" and body["tx_code_tries_left"] == MAX_PIN_FAILURES - n - 1
    r = wallet.token(meta, code, pin)  # even the right PIN, now
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert "tx_code_tries_left" not in r.json()  # a locked offer is refused as an unknown one is


def test_only_a_wrong_pin_for_an_open_offer_counts_tries(client: TestClient, ngo: str, clock: Any) -> None:
    """An unknown, used or expired code says nothing of tries: a probe learns nothing of which codes exist."""
    wallet, meta, code, pin = _start(client, ngo)
    assert "tx_code_tries_left" not in wallet.token(meta, code + "x", _wrong(pin)).json()
    assert "tx_code_tries_left" not in wallet.token(meta, code, None).json()  # no PIN: invalid_request
    used_wallet, used_meta, used, used_pin = _start(client, ngo)
    assert used_wallet.token(used_meta, used, used_pin).status_code == 200
    assert "tx_code_tries_left" not in used_wallet.token(used_meta, used, _wrong(used_pin)).json()  # used
    cancelled = _offer(client, ngo)
    holder = Wallet(client)
    read = holder.offer(cancelled["link"])  # read before staff cancel it
    gone = client.post(f"/api/issuer/offers/{cancelled['offer_id']}/cancel", headers={"Authorization": f"Bearer {ngo}"})
    assert gone.status_code == 204
    refused = holder.token(holder.metadata(read["credential_issuer"]),
                           read["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"], _wrong(cancelled["pin"]))
    assert refused.json()["error"] == "invalid_grant" and "tx_code_tries_left" not in refused.json()  # cancelled
    clock.offset = 15 * 86400
    assert wallet.token(meta, code, _wrong(pin)).json() == {
        "error": "invalid_grant", "error_description": "the pre-authorized code is unknown, used or expired"}


def test_pre_authorized_code_is_single_use(client: TestClient, ngo: str) -> None:
    wallet, meta, code, pin = _start(client, ngo)
    assert wallet.token(meta, code, pin).status_code == 200
    assert wallet.token(meta, code, pin).json()["error"] == "invalid_grant"


def test_expired_offer_refused(client: TestClient, ngo: str, clock: Any) -> None:
    wallet, meta, code, pin = _start(client, ngo)
    clock.offset = 15 * 86400
    assert wallet.token(meta, code, pin).json()["error"] == "invalid_grant"


def test_unknown_grant_and_code(client: TestClient, ngo: str) -> None:
    wallet, meta, _code, pin = _start(client, ngo)
    r = client.post(path_of(meta["token_endpoint"]), data={"grant_type": "authorization_code", "code": "x"})
    assert r.json()["error"] == "unsupported_grant_type"
    assert wallet.token(meta, "not-a-code", pin).json()["error"] == "invalid_grant"
    # RFC 6749 section 5.2: a missing parameter is invalid_request, a JSON body too (helper-67)
    missing = client.post(path_of(meta["token_endpoint"]), data={"pre-authorized_code": "x"})
    as_json = client.post(path_of(meta["token_endpoint"]), json={"grant_type": PRE_AUTHORIZED_GRANT})
    assert missing.json()["error"] == as_json.json()["error"] == "invalid_request"


# --- the credential endpoint refuses ----------------------------------------------------


def _token(client: TestClient, api_key: str, batch: int = 1) -> tuple[Wallet, dict[str, Any], str]:
    offer = _offer(client, api_key, batch=batch)
    wallet = Wallet(client)
    o = wallet.offer(offer["link"])
    meta = wallet.metadata(o["credential_issuer"])
    r = wallet.token(meta, o["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"], offer["pin"])
    return wallet, meta, r.json()["access_token"]


def _request(proofs: list[str], config: str = "SkillCertificate") -> dict[str, Any]:
    return {"credential_configuration_id": config, "proofs": {"jwt": proofs}}


def _bad_proof_error(client: TestClient, ngo: str, make: Any) -> tuple[int, str]:
    wallet, meta, access_token = _token(client, ngo)
    nonce = wallet.nonce(meta)
    r = wallet.credential(meta, access_token, _request([make(meta["credential_issuer"], nonce)]))
    return r.status_code, r.json()["error"]


def test_proof_with_wrong_nonce_aud_typ_refused(client: TestClient, ngo: str) -> None:
    key = keys.generate()
    assert _bad_proof_error(client, ngo, lambda aud, n: Wallet.proof(key, aud, "made-up")) == (400, "invalid_nonce")
    assert _bad_proof_error(client, ngo, lambda aud, n: Wallet.proof(key, aud, None)) == (400, "invalid_proof")
    assert _bad_proof_error(client, ngo, lambda aud, n: Wallet.proof(key, BASE, n)) == (400, "invalid_proof")
    assert _bad_proof_error(client, ngo, lambda aud, n: Wallet.proof(key, aud, n, typ="JWT")) == (400, "invalid_proof")
    old = int(time.time()) - 3600
    assert _bad_proof_error(client, ngo, lambda aud, n: Wallet.proof(key, aud, n, iat=old)) == (400, "invalid_proof")
    # A character outside base64url (here in the payload part) is a bad proof, not a crash.
    assert _bad_proof_error(client, ngo, lambda aud, n: Wallet.proof(key, aud, n).replace(".", ".é", 1)) == (
        400, "invalid_proof")


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_unsigned_and_hmac_proofs_refused(client: TestClient, ngo: str, alg: str) -> None:
    key = keys.generate()

    def forge(aud: str, nonce: str) -> str:
        header = b64url_json({"alg": alg, "typ": "openid4vci-proof+jwt", "jwk": key.public_key().to_jwk()})
        body = b64url_json({"aud": aud, "iat": int(time.time()), "nonce": nonce})
        return f"{header}.{body}.{b64url_encode(b'x' * 32) if alg != 'none' else ''}"

    assert _bad_proof_error(client, ngo, forge) == (400, "invalid_proof")


def test_reused_proof_refused(client: TestClient, ngo: str) -> None:
    wallet, meta, access_token = _token(client, ngo)
    proof = Wallet.proof(keys.generate(), meta["credential_issuer"], wallet.nonce(meta))
    assert wallet.credential(meta, access_token, _request([proof])).status_code == 200
    _w, _m, second_token = _token(client, ngo)
    r = wallet.credential(meta, second_token, _request([proof]))
    assert r.status_code == 400 and r.json()["error"] == "invalid_nonce"


def test_a_token_of_one_organisation_is_refused_at_another_and_at_an_unknown_address(
        client: TestClient, ngo: str, city: str) -> None:
    """The offer's organisation must be the one at the address (issuer/api.py, ``offer.org_id``):
    else a token would buy a credential naming another issuer, signed with its offer's key. Refused
    as an unknown token, and the refusals spend nothing (found missing by a reviewing helper)."""
    wallet, meta, access = _token(client, ngo)
    other = wallet.metadata(f"{BASE}/issuers/city")
    r = wallet.credential(other, access, _request([Wallet.proof(keys.generate(), other["credential_issuer"],
                                                                wallet.nonce(other))]))
    assert r.status_code == 401 and r.json()["error"] == "invalid_token", r.text
    r = client.post("/issuers/nobody-here/credential", headers={"Authorization": f"Bearer {access}"},
                    json=_request([Wallet.proof(keys.generate(), meta["credential_issuer"], wallet.nonce(meta))]))
    assert r.status_code == 401 and r.json()["error"] == "invalid_token", r.text
    r = wallet.credential(meta, access, _request([Wallet.proof(keys.generate(), meta["credential_issuer"],
                                                               wallet.nonce(meta))]))
    assert r.status_code == 200, r.text


def test_a_nonce_of_one_organisation_is_refused_by_another(client: TestClient, ngo: str) -> None:
    """Both organisations live on one node; a c_nonce is bound to the one that minted it."""
    _create_org(client, "other-ngo", ["urn:amana:credential:SkillCertificate:1"])
    foreign = client.post("/issuers/other-ngo/nonce").json()["c_nonce"]
    key = keys.generate()
    assert _bad_proof_error(client, ngo, lambda aud, n: Wallet.proof(key, aud, foreign)) == (400, "invalid_nonce")
    forged = foreign.rsplit(".", 1)[0] + "." + "0" * 32  # a well-formed nonce with a tag we did not make
    assert _bad_proof_error(client, ngo, lambda aud, n: Wallet.proof(key, aud, forged)) == (400, "invalid_nonce")


def test_minting_nonces_writes_nothing(client: TestClient, ngo: str) -> None:
    """A client flooding the nonce endpoint fills no table (only spent nonces are recorded)."""
    from sqlalchemy import func, select

    from issuer.tables import Nonce

    ctx = client.app.state.issuer  # type: ignore[attr-defined]

    async def count() -> int:
        async with ctx.transaction() as session:
            return int((await session.execute(select(func.count()).select_from(Nonce))).scalar_one())

    before = client.portal.call(count)  # type: ignore[union-attr]
    minted = {client.post("/issuers/open-doors/nonce").json()["c_nonce"] for _ in range(50)}
    assert len(minted) == 50 and client.portal.call(count) == before  # type: ignore[union-attr]


def test_an_expired_nonce_is_refused(client: TestClient, ngo: str, clock: Any) -> None:
    offer, wallet = _offer(client, ngo), Wallet(client)
    o = wallet.offer(offer["link"])
    meta = wallet.metadata(o["credential_issuer"])
    nonce = wallet.nonce(meta)
    clock.offset = 301  # past NONCE_TTL_S; the access token is made now, so it is not the one expired
    access_token = wallet.token(meta, o["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"],
                                offer["pin"]).json()["access_token"]
    proof = Wallet.proof(keys.generate(), meta["credential_issuer"], nonce, iat=int(time.time()) + 301)
    r = wallet.credential(meta, access_token, _request([proof]))
    assert r.status_code == 400 and r.json()["error"] == "invalid_nonce"


def test_a_bearer_access_token_lives_five_minutes(client: TestClient, ngo: str, clock: Any) -> None:
    """OpenID4VCI 1.0 section 13.8: access tokens longer-lived than 5 minutes only if sender-constrained
    (a DPoP-bound one lives 10: tests/test_issuer_dpop.py). Past its 300 s, the token is refused."""
    offer = _offer(client, ngo)
    wallet = Wallet(client)
    o = wallet.offer(offer["link"])
    meta = wallet.metadata(o["credential_issuer"])
    r = wallet.token(meta, o["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"], offer["pin"])
    assert r.json()["token_type"] == "Bearer" and r.json()["expires_in"] == 300
    assert r.headers["cache-control"] == "no-store" and r.headers["pragma"] == "no-cache"  # RFC 6749 5.1
    clock.offset = 301
    proof = Wallet.proof(keys.generate(), meta["credential_issuer"], wallet.nonce(meta), iat=int(time.time()) + 301)
    late = wallet.credential(meta, r.json()["access_token"], _request([proof]))
    assert late.status_code == 401 and late.json()["error"] == "invalid_token"


def test_access_token_single_use_and_required(client: TestClient, ngo: str) -> None:
    wallet, meta, access_token = _token(client, ngo)
    body = _request([Wallet.proof(keys.generate(), meta["credential_issuer"], wallet.nonce(meta))])
    assert wallet.credential(meta, access_token, body).status_code == 200
    body = _request([Wallet.proof(keys.generate(), meta["credential_issuer"], wallet.nonce(meta))])
    r = wallet.credential(meta, access_token, body)
    assert r.status_code == 401 and r.json()["error"] == "invalid_token" and "Bearer" in r.headers["www-authenticate"]
    r = client.post(path_of(meta["credential_endpoint"]), json=body)
    assert r.status_code == 401


def test_unknown_configuration_and_identifier(client: TestClient, ngo: str) -> None:
    wallet, meta, access_token = _token(client, ngo)
    proof = Wallet.proof(keys.generate(), meta["credential_issuer"], wallet.nonce(meta))
    r = wallet.credential(meta, access_token, _request([proof], "RegistrationStatus"))
    assert r.json()["error"] == "unknown_credential_configuration"
    r = wallet.credential(meta, access_token, {"credential_identifier": "x", "proofs": {"jwt": [proof]}})
    assert r.json()["error"] == "unknown_credential_identifier"
    for missing in ({"proofs": {"jwt": [proof]}}, {"credential_configuration_id": 7, "proofs": {"jwt": [proof]}}):
        r = wallet.credential(meta, access_token, missing)  # OpenID4VCI 1.0 8.3.1.2: a required parameter missing
        assert r.status_code == 400 and r.json()["error"] == "invalid_credential_request", r.text
    # Refused requests consumed nothing: the same token and proof still work.
    assert wallet.credential(meta, access_token, _request([proof])).status_code == 200


def test_batch_larger_than_offered_or_with_one_key_twice(client: TestClient, ngo: str) -> None:
    wallet, meta, access_token = _token(client, ngo, batch=2)
    nonce, key = wallet.nonce(meta), keys.generate()
    aud = meta["credential_issuer"]
    eleven = [Wallet.proof(keys.generate(), aud, nonce) for _ in range(11)]  # beyond the metadata's batch_size
    assert wallet.credential(meta, access_token, _request(eleven)).json()["error"] == "invalid_credential_request"
    twice = [Wallet.proof(key, aud, nonce), Wallet.proof(key, aud, nonce)]
    assert wallet.credential(meta, access_token, _request(twice)).json()["error"] == "invalid_proof"
    r = wallet.credential(meta, access_token, _request(eleven[:3]))  # three keys, an offer of two: two credentials
    assert r.status_code == 200 and len(r.json()["credentials"]) == 2


# --- staff, organisations, status ---------------------------------------------------------


def test_staff_of_one_organisation_cannot_act_for_another(client: TestClient, ngo: str, city: str) -> None:
    r = client.post("/api/issuer/offers", headers={"Authorization": f"Bearer {ngo}"},
                    json={"type": "RegistrationStatus", "claims": {}, "batch_size": 1})
    assert r.status_code == 403
    offer = _offer(client, ngo)
    Wallet(client).receive(offer["link"], offer["pin"], [keys.generate()])
    mine = client.get("/api/issuer/credentials", headers={"Authorization": f"Bearer {ngo}"}).json()
    r = client.post(f"/api/issuer/credentials/{mine[0]['id']}/revoke", headers={"Authorization": f"Bearer {city}"})
    assert r.status_code == 404
    theirs = client.get("/api/issuer/credentials", headers={"Authorization": f"Bearer {city}"}).json()
    assert all(c["vct"].endswith("RegistrationStatus:1") for c in theirs)
    assert client.post("/api/issuer/offers", json={}).status_code == 401
    assert client.post("/api/issuer/offers", headers={"Authorization": "Bearer amk_nope"}, json={}).status_code == 401


def test_invalid_claims_refused_before_any_offer(client: TestClient, ngo: str) -> None:
    bad = dict(SKILL_EXAMPLE, eqf_level=42)
    r = client.post("/api/issuer/offers", headers={"Authorization": f"Bearer {ngo}"},
                    json={"type": "SkillCertificate", "claims": bad})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert "42" not in r.text


def test_revoke_suspend_reinstate_in_the_served_list(client: TestClient, ngo: str, types: TypeRegistry) -> None:
    offer, holder = _offer(client, ngo), keys.generate()
    wallet = Wallet(client)
    [credential] = wallet.receive(offer["link"], offer["pin"], [holder])
    ref = wallet.check(credential, f"{BASE}/issuers/open-doors", types).claims["status"]["status_list"]
    staff = {"Authorization": f"Bearer {ngo}"}
    listed = client.get("/api/issuer/credentials", headers=staff).json()
    cred_id = next(c["id"] for c in listed if c["holder_key_thumbprint"] == holder.public_key().thumbprint())
    jwks = client.get("/.well-known/jwt-vc-issuer/issuers/open-doors").json()["jwks"]["keys"]
    issuer_keys = [keys.PublicKey.from_jwk(k) for k in jwks]

    def served() -> int:
        r = client.get(path_of(ref["uri"]))
        assert r.headers["content-type"] == "application/statuslist+jwt"
        token = verify_token(r.text, keys=issuer_keys, uri=ref["uri"], now=int(time.time()))
        assert len(token.status_list) >= 100_000
        return token.status_list.get(ref["idx"])

    assert served() == VALID
    for action, expected in (("suspend", SUSPENDED), ("reinstate", VALID), ("revoke", INVALID)):
        r = client.post(f"/api/issuer/credentials/{cred_id}/{action}", headers=staff)
        assert r.status_code == 200 and r.json()["status"] in {"valid", "suspended", "revoked"}, r.text
        assert served() == expected
    r = client.post(f"/api/issuer/credentials/{cred_id}/reinstate", headers=staff)
    assert r.status_code == 400 and r.json()["code"] == "status_change_refused"
    assert served() == INVALID


def test_status_list_is_resigned_only_when_it_changed(client: TestClient, ngo: str) -> None:
    offer = _offer(client, ngo)
    [credential] = Wallet(client).receive(offer["link"], offer["pin"], [keys.generate()])
    payload = _jose.parse_compact(credential.split("~")[0]).unverified_payload()
    uri = payload["status"]["status_list"]["uri"]
    first, second = client.get(path_of(uri)), client.get(path_of(uri))
    assert first.text == second.text and first.headers["etag"] == second.headers["etag"]
    assert client.get(path_of(uri), headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    assert "max-age=" in first.headers["cache-control"]


def test_the_status_list_served_is_never_older_than_its_ttl(client: TestClient, ngo: str, clock: Any) -> None:
    """Token Status List section 12: a consumer fetches again at iat + ttl; the token was re-signed
    only near its exp, so twenty hours on it still carried the first iat (helper-67)."""
    offer = _offer(client, ngo)
    [credential] = Wallet(client).receive(offer["link"], offer["pin"], [keys.generate()])
    uri = _jose.parse_compact(credential.split("~")[0]).unverified_payload()["status"]["status_list"]["uri"]

    def served() -> dict[str, Any]:
        return _jose.parse_compact(client.get(path_of(uri)).text).unverified_payload()

    first = served()
    for offset in (first["ttl"] - 1, first["ttl"], 20 * 3600):
        clock.offset = offset
        now = int(client.app.state.issuer.now())  # type: ignore[attr-defined]
        token = served()
        assert now - token["iat"] < token["ttl"] and token["exp"] > now, offset
    assert served()["iat"] > first["iat"]


def test_the_status_list_is_gzip_coded_for_a_client_that_asks(client: TestClient, ngo: str) -> None:
    """Token Status List section 8.2: the response SHOULD use a content coding such as gzip,
    negotiated (RFC 9110 section 12.5.3), at both URIs a list is served at. Each coding has its
    own ETag; a client that asks for ``identity`` (as our fetcher does), prefers it, or sends no
    header gets the token as it is. HEAD answers as GET without the body (section 9.3.2)."""
    offer = _offer(client, ngo)
    [credential] = Wallet(client).receive(offer["link"], offer["pin"], [keys.generate()])
    by_id = path_of(_jose.parse_compact(credential.split("~")[0]).unverified_payload()["status"]["status_list"]["uri"])

    def raw(path: str, method: str = "GET", **headers: str) -> tuple[Any, bytes]:
        request = client.build_request(method, path, headers=headers)
        if "Accept-Encoding" not in headers:
            del request.headers["accept-encoding"]  # the test client sends "gzip, deflate" by itself
        response = client.send(request, stream=True)
        try:
            return response, b"".join(response.iter_raw())
        finally:
            response.close()

    for path in (by_id, "/issuers/open-doors/status/1"):
        coded, body = raw(path, **{"Accept-Encoding": "gzip"})
        plain, text = raw(path)
        assert coded.status_code == plain.status_code == 200, path
        assert coded.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
        assert gzip.decompress(body) == text and text.count(b".") == 2 and len(body) < len(text)
        assert body[4:8] == b"\0\0\0\0"  # no time in the gzip header: the same token, the same bytes
        assert {h.strip() for h in coded.headers["vary"].lower().split(",")} == {"accept", "accept-encoding"}
        assert coded.headers["etag"] != plain.headers["etag"]
        for declined in ("gzip;q=0, *", "br", "", "identity;q=1, gzip;q=0.1"):
            r, same = raw(path, **{"Accept-Encoding": declined})
            assert "content-encoding" not in r.headers and same == text, (path, declined)
        head, nothing = raw(path, "HEAD", **{"Accept-Encoding": "gzip"})
        assert head.status_code == 200 and nothing == b"" and head.headers["etag"] == coded.headers["etag"]
        assert int(head.headers["content-length"]) == len(body)
        for tag in (coded.headers["etag"], "W/" + coded.headers["etag"], "*", '"other", ' + coded.headers["etag"]):
            again, _ = raw(path, **{"Accept-Encoding": "gzip", "If-None-Match": tag})
            assert again.status_code == 304 and "content-encoding" not in again.headers, tag
        other_coding, _ = raw(path, **{"Accept-Encoding": "identity", "If-None-Match": coded.headers["etag"]})
        assert other_coding.status_code == 200


def test_browsers_of_any_origin_may_read_the_status_lists(client: TestClient, ngo: str) -> None:
    """Token Status List section 8.1: the endpoint SHOULD support CORS (helper-67: no header was sent)."""
    offer = _offer(client, ngo)
    [credential] = Wallet(client).receive(offer["link"], offer["pin"], [keys.generate()])
    uri = _jose.parse_compact(credential.split("~")[0]).unverified_payload()["status"]["status_list"]["uri"]
    origin = {"Origin": "https://wallet.example"}
    got = client.get(path_of(uri), headers=origin)
    assert got.status_code == 200 and got.headers["access-control-allow-origin"] == "*"
    assert "etag" in got.headers["access-control-expose-headers"].lower()
    again = client.get(path_of(uri), headers={**origin, "If-None-Match": got.headers["etag"]})
    assert again.status_code == 304 and again.headers["access-control-allow-origin"] == "*"
    preflight = client.options(path_of(uri), headers={**origin, "Access-Control-Request-Method": "GET",
                                                      "Access-Control-Request-Headers": "if-none-match"})
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == "*"
    assert "if-none-match" in preflight.headers["access-control-allow-headers"].lower()
    assert "set-cookie" not in got.headers and "set-cookie" not in preflight.headers


def test_the_status_list_is_negotiated_and_no_past_list_is_pretended(client: TestClient, ngo: str) -> None:
    """Token Status List sections 8.1 and 8.4: a client asking only for the CWT form is told 406, not
    handed a JWT; ``time`` (historical resolution, which this node does not keep) is 501 (helper-67)."""
    offer = _offer(client, ngo)
    [credential] = Wallet(client).receive(offer["link"], offer["pin"], [keys.generate()])
    path = path_of(_jose.parse_compact(credential.split("~")[0]).unverified_payload()["status"]["status_list"]["uri"])
    for accept in (None, "application/statuslist+jwt", "application/statuslist+cwt;q=0.5, application/*",
                   "text/html,application/xhtml+xml,*/*;q=0.8"):
        got = client.get(path, headers={} if accept is None else {"Accept": accept})
        assert got.status_code == 200 and got.headers["content-type"] == "application/statuslist+jwt", accept
    for accept in ("application/statuslist+cwt", "text/html", "application/statuslist+jwt;q=0", "*/*;q=x"):
        refused = client.get(path, headers={"Accept": accept})
        assert refused.status_code == 406 and refused.json()["code"] == "not_acceptable", accept
    past = client.get(path, params={"time": "1700000000"})
    assert past.status_code == 501 and past.json()["code"] == "not_supported"


def _leaf_strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _leaf_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _leaf_strings(v)]
    return [str(value)] if isinstance(value, str) and len(value) >= 4 else []


def test_no_claim_value_is_stored_by_default(client: TestClient, ngo: str) -> None:
    claims = dict(SKILL_EXAMPLE, given_name="Zarghuna", family_name="Wardakizadeh")
    offer = _offer(client, ngo, claims=claims, batch=2)
    pending = _stored_bytes(client)
    assert offer["offer_id"].encode() in pending  # the store was read: the offer's public id is kept
    values = _leaf_strings(claims)
    assert "Zarghuna" in values and len(values) >= 5
    for value in values:  # sealed while the offer waits...
        assert value.encode() not in pending, value
    Wallet(client).receive(offer["link"], offer["pin"], [keys.generate(), keys.generate()])
    issued = _stored_bytes(client)
    assert offer["offer_id"].encode() in issued  # its credentials name it
    for value in values:  # ...and gone, not just deleted, once issued
        assert value.encode() not in issued, value
        assert json.dumps(value).encode() not in issued
    assert offer["pin"].encode() not in issued


def test_an_organisation_may_opt_in_to_keep_claims_sealed(client: TestClient, city: str) -> None:
    claims = json.loads(Path("specs/credentials/RegistrationStatus/example.json").read_text())
    offer = _offer(client, city, claims=claims, type_="RegistrationStatus")
    Wallet(client).receive(offer["link"], offer["pin"], [keys.generate()])
    ctx = client.app.state.issuer  # type: ignore[attr-defined]

    async def kept() -> list[Any]:
        from sqlalchemy import select

        from issuer.tables import Credential

        async with ctx.transaction() as session:
            rows = (await session.execute(select(Credential).where(Credential.offer_id == offer["offer_id"]))).scalars()
            return [(r.sealed_claims, r.retain_until, r.id) for r in rows]

    [(sealed, retain_until, cred_id)] = client.portal.call(kept)  # type: ignore[union-attr]
    assert sealed is not None and retain_until is not None
    assert json.loads(ctx.node.open(sealed, f"credential:{cred_id}")) == claims
    stored = _stored_bytes(client)
    assert cred_id.encode() in stored  # the store was read: the credential's row is there
    assert claims["registration_number"].encode() not in stored


def test_revoking_one_copy_revokes_its_whole_batch(client: TestClient, ngo: str) -> None:
    offer, holders = _offer(client, ngo, batch=2), [keys.generate(), keys.generate()]
    Wallet(client).receive(offer["link"], offer["pin"], holders)
    staff = {"Authorization": f"Bearer {ngo}"}
    listed = client.get("/api/issuer/credentials", headers=staff).json()
    thumbs = {h.public_key().thumbprint() for h in holders}
    mine = [c for c in listed if c["holder_key_thumbprint"] in thumbs]
    assert len(mine) == 2
    assert client.post(f"/api/issuer/credentials/{mine[0]['id']}/revoke", headers=staff).status_code == 200
    after = {c["id"]: c["status"] for c in client.get("/api/issuer/credentials", headers=staff).json()}
    assert after[mine[0]["id"]] == after[mine[1]["id"]] == "revoked"


CLASS_DEFAULTS = {k: v for k, v in SKILL_EXAMPLE.items() if k not in ("given_name", "family_name")}


def test_class_batch_issues_good_rows_and_reports_bad_ones(client: TestClient, ngo: str, data_dir: Path) -> None:
    csv_text = "\ufeffgiven_name,family_name,eqf_level,language\n" \
               "Amina,Rahimi,3,fa\n" \
               "Yusuf,,4,ar\n" \
               "Olena,Kovalenko,eleven,uk\n" \
               "Samir,Haddad,2,xx\n" \
               ",,,\n"
    r = client.post("/api/issuer/classes", headers={"Authorization": f"Bearer {ngo}"},
                    json={"type": "SkillCertificate", "csv": csv_text, "defaults": CLASS_DEFAULTS})
    assert r.status_code == 201, r.text
    body = r.json()
    assert [(o["row"], o["language"]) for o in body["offers"]] == [(2, "fa"), (5, "en")]
    assert [e["row"] for e in body["errors"]] == [3, 4]
    assert "family_name" in body["errors"][0]["error"] and "eqf_level" in body["errors"][1]["error"]
    assert "Olena" not in r.text.replace('"Olena"', "") and "eleven" not in json.dumps(body["errors"])
    pins = {o["pin"] for o in body["offers"]}
    assert len(pins) == 2  # each trainee their own PIN
    assert r.headers["cache-control"] == "no-store"
    first = body["offers"][0]
    [credential] = Wallet(client).receive(first["link"], first["pin"], [keys.generate()])
    assert "Amina" not in credential  # it is there, but only inside a base64url Disclosure...
    payloads = [json.loads(_jose.b64url_decode(d)) for d in credential.split("~")[1:-1]]
    assert ["given_name", "Amina"] in [p[1:] for p in payloads]  # ...and is what the row said


def test_class_batch_with_only_bad_input_creates_nothing(client: TestClient, ngo: str) -> None:
    staff = {"Authorization": f"Bearer {ngo}"}
    oversized_cell = "given_name\n" + "a" * 131_073  # past the csv module's field limit: csv.Error, was a 500
    for csv_text in ("", "given_name\n", "not a.[path\nx\n", oversized_cell):
        r = client.post("/api/issuer/classes", headers=staff,
                        json={"type": "SkillCertificate", "csv": csv_text, "defaults": CLASS_DEFAULTS})
        assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json", r.text


def test_class_batch_reads_every_line_ending(client: TestClient, ngo: str) -> None:
    """A spreadsheet's CRLF, Unix's LF and old Macs' bare CR (which raised csv.Error, a 500)
    each end a row; a line break inside a quoted cell stays in the cell."""
    staff = {"Authorization": f"Bearer {ngo}"}
    for end in ("\r\n", "\n", "\r"):
        csv_text = end.join(["given_name,family_name", "Amina,Rahimi", '"Yu\rsuf",Haddad', ""])
        r = client.post("/api/issuer/classes", headers=staff,
                        json={"type": "SkillCertificate", "csv": csv_text, "defaults": CLASS_DEFAULTS})
        assert r.status_code == 201, r.text
        assert [o["row"] for o in r.json()["offers"]] == [2, 3] and r.json()["errors"] == []


def test_key_rotation_keeps_old_credentials_verifiable(client: TestClient, types: TypeRegistry, clock: Any) -> None:
    api_key = _create_org(client, "rotating", ["urn:amana:credential:SkillCertificate:1"])
    ctx = client.app.state.issuer  # type: ignore[attr-defined]
    wallet, issuer = Wallet(client), f"{BASE}/issuers/rotating"
    offer = _offer(client, api_key)
    [old] = wallet.receive(offer["link"], offer["pin"], [keys.generate()])

    async def rotate() -> str:
        async with ctx.transaction() as session:
            org = await store.org_by_slug(session, "rotating")
            assert org is not None
            return await store.rotate_key(session, ctx.node, org.id, ctx.now(), ctx.now() + 86400)

    new_kid = client.portal.call(rotate)  # type: ignore[union-attr]
    offer = _offer(client, api_key)
    [new] = wallet.receive(offer["link"], offer["pin"], [keys.generate()])
    assert _jose.parse_compact(new.split("~")[0]).unverified_header["kid"] == new_kid
    assert _jose.parse_compact(old.split("~")[0]).unverified_header["kid"] != new_kid
    published = client.get("/.well-known/jwt-vc-issuer/issuers/rotating").json()["jwks"]["keys"]
    assert len(published) == 2
    for credential in (old, new):
        assert wallet.check(credential, issuer, types).issuer == issuer
    clock.offset = 86400 + 1
    published = client.get("/.well-known/jwt-vc-issuer/issuers/rotating").json()["jwks"]["keys"]
    assert [k["kid"] for k in published] == [new_kid]


def test_two_rotations_at_once_leave_one_active_key(client: TestClient) -> None:
    """PostgreSQL: the second rotation waits for the first and retires the key it made, rather
    than retiring only the key both saw and adding a second active one. (SQLite: one writer at a
    time, the rotations cannot interleave.)"""
    from sqlalchemy import func, select

    from issuer.tables import SigningKey

    ctx = client.app.state.issuer  # type: ignore[attr-defined]
    if ctx.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time")
    api_key = _create_org(client, "twice", ["urn:amana:credential:SkillCertificate:1"])

    async def rotate(session: Any) -> str:
        org = await store.org_by_slug(session, "twice")
        assert org is not None
        return await store.rotate_key(session, ctx.node, org.id, ctx.now(), ctx.now() + 86400)

    async def second() -> str:
        async with ctx.transaction() as session:
            return await rotate(session)

    async def race() -> int:
        async with ctx.transaction() as session:
            await rotate(session)
            waiting = asyncio.ensure_future(second())
            with pool_nesting.on_purpose():
                async with ctx.engine.connect() as watcher:
                    await until_waiting(scalar_alone(watcher), 1)
        await waiting
        async with ctx.transaction() as session:
            org = await store.org_by_slug(session, "twice")
            assert org is not None
            active: int = (await session.execute(select(func.count()).select_from(SigningKey).where(
                SigningKey.org_id == org.id, SigningKey.retired_at.is_(None)))).scalar_one()
        return active

    assert client.portal.call(race) == 1  # type: ignore[union-attr]
    offer = _offer(client, api_key)
    assert len(Wallet(client).receive(offer["link"], offer["pin"], [keys.generate()])) == 1


def test_retention_ends_kept_claims_and_unredeemed_offers(client: TestClient, city: str, ngo: str,
                                                          clock: Any) -> None:
    from sqlalchemy import select

    from issuer.tables import Credential, Offer

    claims = json.loads(Path("specs/credentials/RegistrationStatus/example.json").read_text())
    redeemed = _offer(client, city, claims=claims, type_="RegistrationStatus")
    Wallet(client).receive(redeemed["link"], redeemed["pin"], [keys.generate()])
    waiting = _offer(client, city, claims=claims, type_="RegistrationStatus")
    ctx = client.app.state.issuer  # type: ignore[attr-defined]

    async def sealed() -> tuple[bool, bool]:
        async with ctx.transaction() as session:
            kept = (await session.execute(select(Credential.sealed_claims).where(
                Credential.offer_id == redeemed["offer_id"]))).scalar_one()
            pending = (await session.execute(select(Offer.sealed_claims).where(
                Offer.id == waiting["offer_id"]))).scalar_one()
        return kept is not None, pending is not None

    assert client.portal.call(sealed) == (True, True)  # type: ignore[union-attr]
    clock.offset = 31 * 86400  # past the city's 30 days, past the offer's 14
    _offer(client, ngo)  # any staff work runs retention
    assert client.portal.call(sealed) == (False, False)  # type: ignore[union-attr]


def test_offer_qr_codes_for_staff_of_that_organisation(client: TestClient, ngo: str, city: str) -> None:
    offer = _offer(client, ngo)
    svg = client.get(path_of(offer["qr_svg"]), headers={"Authorization": f"Bearer {ngo}"})
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml" and "<svg" in svg.text
    png = client.get(path_of(offer["qr_png"]), headers={"Authorization": f"Bearer {ngo}"})
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert client.get(path_of(offer["qr_svg"]), headers={"Authorization": f"Bearer {city}"}).status_code == 404
    from core import qr

    assert qr.version(offer["link"]) <= 10  # a cheap camera reads it


def test_the_pin_hint_speaks_the_holders_language(client: TestClient, ngo: str) -> None:
    r = client.post("/api/issuer/offers", headers={"Authorization": f"Bearer {ngo}"},
                    json={"type": "SkillCertificate", "claims": SKILL_EXAMPLE, "language": "fa"})
    offer = Wallet(client).offer(r.json()["link"])
    tx_code = offer["grants"][PRE_AUTHORIZED_GRANT]["tx_code"]
    assert tx_code == {"input_mode": "numeric", "length": 6, "description": "رمزی که کارمند به شما داد"}


def test_the_gzip_copies_of_many_lists_are_each_made_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bounded by bytes, not by count: with 200 lists fetched round after round (a node of many
    organisations), each token is compressed once; a cache of 64 entries compressed every one again
    at every round. And a budget of bytes still bounds it: the oldest copies go first."""
    from issuer import status_api

    made: list[int] = []
    compress = status_api.gzip.compress
    monkeypatch.setattr(status_api.gzip, "compress",
                        lambda data, mtime: made.append(len(data)) or compress(data, mtime))
    status_api._gzip_cache.clear()
    tokens = [f"eyJhbGciOiJFUzI1NiJ9.{n:04d}{'A' * 600}.sig{n:04d}" for n in range(200)]
    for _round in range(3):
        for token in tokens:
            response = status_api._status_response(token, None, "gzip")
            assert gzip.decompress(response.body) == token.encode()
    assert len(made) == len(tokens)
    assert status_api._gzip_cache.currsize <= status_api.GZIP_CACHE_BYTES
    # Lists full of set entries (incompressible, some 33 KB of gzip each): past the budget, the oldest go.
    status_api._gzip_cache.clear()
    full = [f"eyJhbGciOiJFUzI1NiJ9.{base64.urlsafe_b64encode(os.urandom(33_000)).decode()}.sig{n}" for n in range(300)]
    for token in full:
        status_api._gzipped(token)
    assert status_api._gzip_cache.currsize <= status_api.GZIP_CACHE_BYTES < 300 * 33_000
    assert "sig299" in status_api._gzip_cache and "sig0" not in status_api._gzip_cache
    status_api._gzip_cache.clear()
