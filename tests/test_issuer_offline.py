"""The compact offline copy at the issuer (issue 13 item 3; issuer.offline): its own credential
configuration in the metadata, one offer and one access token giving both formats, the same
claims, revocation and suspension reaching the compact copy in the served status list, proofs
ES256 only, a refresh access token granting it too, and no claim in the clear at rest."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from core import keys
from core import offline as codec
from core.credtypes import TypeRegistry
from core.encoding import b64url_encode
from core.errors import AmanaError
from core.oid4vc import PRE_AUTHORIZED_GRANT
from core.settings import Settings
from core.statuslist import INVALID, SUSPENDED, VALID, verify_token
from issuer import offline
from issuer.app import build_app
from tests.issuer_orgs import org_on
from tests.oid4vci_wallet import BASE, Wallet, path_of
from tests.raw_files import stored_bytes
from tests.server_process import POSTGRES_URL, empty_postgres

SKILL = json.loads(Path("specs/credentials/SkillCertificate/example.json").read_text())
ISSUER = f"{BASE}/issuers/open-doors"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    if request.param == "postgresql":
        if not POSTGRES_URL:
            pytest.skip("no PostgreSQL (.ci/run starts one)")
        empty_postgres(POSTGRES_URL)
    data_dir = tmp_path_factory.mktemp("offline-issuer") / request.param
    app = build_app(Settings(data_dir=data_dir, public_base_url=BASE,
                             database_url=POSTGRES_URL if request.param == "postgresql" else None))
    with TestClient(app, base_url=BASE) as c:
        yield c


@pytest.fixture(scope="module")
def ngo(client: TestClient) -> str:
    return org_on(client, names={"en": "Open Doors"}, keep_claims_days=30)


class Holder:
    """A wallet-shaped client: one offer, one token, then either configuration by id."""

    def __init__(self, client: TestClient, api_key: str, batch: int = 2) -> None:
        self.client, self.wallet = client, Wallet(client)
        r = client.post("/api/issuer/offers", headers={"Authorization": f"Bearer {api_key}"},
                        json={"type": "SkillCertificate", "claims": SKILL, "batch_size": batch})
        assert r.status_code == 201, r.text
        self.offer = self.wallet.offer(r.json()["link"])
        self.meta = self.wallet.metadata(self.offer["credential_issuer"])
        answer = self.wallet.token(self.meta, self.offer["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"],
                                   r.json()["pin"])
        assert answer.status_code == 200, answer.text
        self.access_token: str = answer.json()["access_token"]
        self.refresh_token: str | None = answer.json().get("refresh_token")

    def ask(self, config: str, holder_keys: list[keys.PrivateKey], access_token: str | None = None) -> Any:
        nonce = self.wallet.nonce(self.meta)
        proofs = [self.wallet.proof(k, self.meta["credential_issuer"], nonce) for k in holder_keys]
        return self.wallet.credential(self.meta, access_token or self.access_token,
                                      {"credential_configuration_id": config, "proofs": {"jwt": proofs}})

    def get(self, config: str, holder_keys: list[keys.PrivateKey]) -> list[str]:
        r = self.ask(config, holder_keys)
        assert r.status_code == 200, r.text
        return [c["credential"] for c in r.json()["credentials"]]


def _compact(issued: str) -> codec.CompactCredential:
    cred, _disclosures = codec.parse_issued(issued)
    return codec.parse_credential(cred)


def _claims(issued: str) -> dict[str, Any]:
    cred, disclosures = codec.parse_issued(issued)
    ctype = codec.parse_credential(cred).ctype
    return dict(codec.parse_disclosure(d, ctype) for d in disclosures)


def _issuer_keys(client: TestClient) -> list[keys.PublicKey]:
    jwks = client.get("/.well-known/jwt-vc-issuer/issuers/open-doors").json()["jwks"]["keys"]
    return [keys.PublicKey.from_jwk(k) for k in jwks]


def _served(client: TestClient, compact: codec.CompactCredential) -> int:
    """The status at the URI the compact copy names (``sub`` checked by verify_token)."""
    list_ref, idx = compact.status
    return _served_at(client, codec.status_list_uri(ISSUER, list_ref), idx)


def _served_at(client: TestClient, uri: str, idx: int) -> int:
    token = verify_token(client.get(path_of(uri)).text, keys=_issuer_keys(client), uri=uri, now=int(time.time()))
    return token.status_list.get(idx)


def test_the_metadata_lists_a_compact_twin_of_each_configuration(client: TestClient, ngo: str) -> None:
    configs = client.get("/.well-known/openid-credential-issuer/issuers/open-doors").json()[
        "credential_configurations_supported"]
    sd_jwt, compact = configs["SkillCertificate"], configs["SkillCertificate_offline"]
    assert compact["format"] == codec.FORMAT == "amana-offline+cose" and sd_jwt["format"] == "dc+sd-jwt"
    assert compact["proof_types_supported"] == {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}}
    assert compact["credential_metadata"] == sd_jwt["credential_metadata"]  # same display, same claim labels
    assert compact["vct"] == sd_jwt["vct"] and compact["cryptographic_binding_methods_supported"] == ["jwk"]
    assert set(compact["credential_signing_alg_values_supported"]) <= {-7, -8}


def test_one_offer_gives_both_formats_with_the_same_claims(client: TestClient, ngo: str, types: TypeRegistry) -> None:
    holder = Holder(client, ngo)
    assert holder.offer["credential_configuration_ids"] == ["SkillCertificate", "SkillCertificate_offline"]
    device = keys.generate("ES256")
    [issued] = holder.get("SkillCertificate_offline", [device])  # the compact copy first: order is free
    sd_jwts = holder.get("SkillCertificate", [keys.generate(), keys.generate("EdDSA")])
    compact = _compact(issued)
    assert compact.holder_key().thumbprint() == device.public_key().thumbprint()
    assert any(compact.verify_signature(k) for k in _issuer_keys(client))
    assert compact.ctype.vct == "urn:amana:credential:SkillCertificate:1"
    checked = [holder.wallet.check(c, ISSUER, types) for c in sd_jwts]
    assert compact.iat == checked[0].claims["iat"] and compact.exp == checked[0].claims["exp"]
    assert _claims(issued) == {k: v for k, v in SKILL.items()}
    assert all(c.claims["skill"] == SKILL["skill"] for c in checked)
    # Each configuration once per access token: a second request of either is refused.
    for config in ("SkillCertificate_offline", "SkillCertificate"):
        r = holder.ask(config, [keys.generate("ES256")])
        assert r.status_code == 401 and r.json()["error"] == "invalid_token"


def test_the_sd_jwt_batch_first_then_the_compact_copy(client: TestClient, ngo: str) -> None:
    holder = Holder(client, ngo)
    holder.get("SkillCertificate", [keys.generate()])
    [issued] = holder.get("SkillCertificate_offline", [keys.generate("ES256")])
    assert _claims(issued)["skill"] == SKILL["skill"]


@pytest.mark.parametrize("action", ["revoke", "suspend"])
def test_revoking_or_suspending_the_sd_jwt_copy_reaches_the_compact_copy(client: TestClient, ngo: str,
                                                                          action: str) -> None:
    holder, sd_jwt_key = Holder(client, ngo), keys.generate()
    [issued] = holder.get("SkillCertificate_offline", [keys.generate("ES256")])
    holder.get("SkillCertificate", [sd_jwt_key])
    compact = _compact(issued)
    assert _served(client, compact) == VALID
    staff = {"Authorization": f"Bearer {ngo}"}
    listed = client.get("/api/issuer/credentials?limit=500", headers=staff).json()
    target = next(c["id"] for c in listed if c["holder_key_thumbprint"] == sd_jwt_key.public_key().thumbprint())
    assert client.post(f"/api/issuer/credentials/{target}/{action}", headers=staff).status_code == 200
    assert _served(client, compact) == (INVALID if action == "revoke" else SUSPENDED)


def test_a_compact_copy_is_refused_once_the_batch_is_revoked(client: TestClient, ngo: str) -> None:
    holder, sd_jwt_key = Holder(client, ngo), keys.generate()
    holder.get("SkillCertificate", [sd_jwt_key])
    staff = {"Authorization": f"Bearer {ngo}"}
    listed = client.get("/api/issuer/credentials?limit=500", headers=staff).json()
    target = next(c["id"] for c in listed if c["holder_key_thumbprint"] == sd_jwt_key.public_key().thumbprint())
    assert client.post(f"/api/issuer/credentials/{target}/revoke", headers=staff).status_code == 200
    r = holder.ask("SkillCertificate_offline", [keys.generate("ES256")])
    assert r.status_code == 400 and r.json()["error"] == "credential_request_denied", r.text


def test_an_sd_jwt_batch_is_refused_once_the_compact_copy_asked_first_is_revoked(client: TestClient,
                                                                               ngo: str) -> None:
    holder, device = Holder(client, ngo), keys.generate("ES256")
    holder.get("SkillCertificate_offline", [device])
    staff = {"Authorization": f"Bearer {ngo}"}
    listed = client.get("/api/issuer/credentials?limit=500", headers=staff).json()
    target = next(c["id"] for c in listed if c["holder_key_thumbprint"] == device.public_key().thumbprint())
    assert client.post(f"/api/issuer/credentials/{target}/revoke", headers=staff).status_code == 200
    r = holder.ask("SkillCertificate", [keys.generate()])
    assert r.status_code == 400 and r.json()["error"] == "credential_request_denied", r.text


@pytest.mark.parametrize("alg", ["EdDSA"])
def test_a_compact_copy_takes_es256_proofs_only(client: TestClient, ngo: str, alg: str) -> None:
    holder = Holder(client, ngo)
    r = holder.ask("SkillCertificate_offline", [keys.generate(alg)])  # type: ignore[arg-type]
    assert r.status_code == 400 and r.json()["error"] == "invalid_proof", r.text
    # The SD-JWT configuration still takes it.
    assert holder.ask("SkillCertificate", [keys.generate(alg)]).status_code == 200  # type: ignore[arg-type]


def test_an_unknown_compact_configuration_is_refused(client: TestClient, ngo: str) -> None:
    holder = Holder(client, ngo)
    r = holder.ask("RegistrationStatus_offline", [keys.generate("ES256")])
    assert r.status_code == 400 and r.json()["error"] == "unknown_credential_configuration", r.text


def test_a_refresh_access_token_grants_the_compact_copy_too(client: TestClient, ngo: str) -> None:
    holder = Holder(client, ngo)
    if holder.refresh_token is None:
        pytest.skip("this node gives no refresh tokens")
    holder.get("SkillCertificate", [keys.generate()])
    r = client.post(path_of(holder.meta["token_endpoint"]),
                    data={"grant_type": "refresh_token", "refresh_token": holder.refresh_token})
    assert r.status_code == 200, r.text
    fresh = r.json()["access_token"]
    answer = holder.ask("SkillCertificate_offline", [keys.generate("ES256")], access_token=fresh)
    assert answer.status_code == 200, answer.text
    assert _claims(answer.json()["credentials"][0]["credential"])["skill"] == SKILL["skill"]


def test_no_claim_in_the_clear_at_rest(client: TestClient, ngo: str, tmp_path: Path) -> None:
    ctx = client.app.state.issuer  # type: ignore[attr-defined]
    holder = Holder(client, ngo)
    holder.get("SkillCertificate_offline", [keys.generate("ES256")])
    stored = stored_bytes(ctx.settings)  # SQLite's files by a child process, or PostgreSQL's rows
    assert b"open-doors" in stored  # the store was read: the organisation's slug is kept
    for value in (SKILL["given_name"], SKILL["skill"]["label"]):
        assert value.encode() not in stored


@given(st.text(max_size=200) | st.binary(max_size=300).map(b64url_encode))
@settings(max_examples=300, deadline=None)
def test_reading_an_issued_compact_copy_refuses_anything_else_with_a_typed_error(text: str) -> None:
    """core.offline.parse_issued (what a wallet reads from a Credential Response): any input
    gives the pair, or an AmanaError — never another exception."""
    try:
        cred, disclosures = codec.parse_issued(text)
    except AmanaError:
        return
    assert isinstance(cred, bytes) and all(isinstance(d, bytes) for d in disclosures)


def test_reading_an_issued_compact_copy_round_trips_and_has_a_bound() -> None:
    key, holder = keys.generate(), keys.generate("ES256")
    issued = offline.issue("urn:amana:credential:SkillCertificate:1", SKILL, issuer_key=key,
                           holder_key=holder.public_key(), issued_at=0, expires_at=86400, list_number=3,
                           status_idx=7)
    cred, disclosures = codec.parse_issued(issued)
    assert codec.parse_credential(cred).status == (3, 7)
    assert len(disclosures) == len(SKILL)
    with pytest.raises(AmanaError):
        codec.parse_issued("A" * (codec.MAX_ISSUED_CHARS + 1))


def test_a_type_without_a_compact_code_gets_no_twin(types: TypeRegistry) -> None:
    """A type added later, before the codec registers a code for it: its SD-JWT configuration
    alone, and an offer of it lists that one only."""
    import dataclasses

    from issuer import metadata, offers

    newer = dataclasses.replace(types.require("urn:amana:credential:SkillCertificate:1"), name="Newer",
                                vct="urn:amana:credential:Newer:1")
    listed = metadata.credential_issuer(ISSUER, {"en": "x"}, [newer])["credential_configurations_supported"]
    assert list(listed) == ["Newer"]
    offer = offers.credential_offer(ISSUER, "Newer", "code", compact=offline.has_compact_form(newer.vct))
    assert offer["credential_configuration_ids"] == ["Newer"]


def test_three_claims_of_a_real_compact_copy_fit_qr_version_16_at_m(client: TestClient, ngo: str) -> None:
    """Issue 13's budget, with the credential this issuer really signs (not the bench's): given
    name, family name and skill, bound to the holder with the desk's nonce, fit QR version 16 at
    level M. The list is named by its number in the organisation: as a 128-bit id it took 16
    more bytes and the QR was version 17."""
    from core import qr

    holder_key = keys.generate("ES256")
    [issued] = Holder(client, ngo).get("SkillCertificate_offline", [holder_key])
    cred, disclosures = codec.parse_issued(issued)
    parsed = codec.parse_credential(cred)
    assert isinstance(parsed.status[0], int) and 0 < parsed.status[0] < 24  # one CBOR byte
    by_name = {codec.parse_disclosure(d, parsed.ctype)[0]: d for d in disclosures}
    now = int(time.time())
    text = codec.present(cred, [by_name[n] for n in ("given_name", "family_name", "skill")], holder_key, now, 120,
                         bytes(8))
    assert qr.version(text) <= 16, (qr.version(text), len(text))


def test_the_numbered_list_uri_serves_the_list_signed_for_that_uri(client: TestClient, ngo: str) -> None:
    """The compact copy's list (``<issuer>/status/<n>``) and the SD-JWT copy's (``/status/<id>``)
    are one list under two URIs, each token's ``sub`` its own URI (verify_token checks it), the
    same bits; a number the organisation has not, or another issuer's slug, is 404."""
    holder, sd_jwt_key = Holder(client, ngo), keys.generate()
    [issued] = holder.get("SkillCertificate_offline", [keys.generate("ES256")])
    [sd_jwt] = holder.get("SkillCertificate", [sd_jwt_key])
    compact = _compact(issued)
    numbered = codec.status_list_uri(ISSUER, compact.status[0])
    assert numbered == f"{ISSUER}/status/{compact.status[0]}"
    payload = json.loads(_jwt_payload(sd_jwt.split("~")[0]))
    by_id = payload["status"]["status_list"]["uri"]
    assert by_id != numbered and by_id.startswith(f"{BASE}/status/")
    assert _served_at(client, numbered, compact.status[1]) == _served_at(client, by_id, compact.status[1]) == VALID
    with pytest.raises(AmanaError):  # a token is not good for the other URI
        verify_token(client.get(path_of(numbered)).text, keys=_issuer_keys(client), uri=by_id, now=int(time.time()))
    r = client.get(path_of(numbered))
    assert r.headers["cache-control"].startswith("public, max-age=") and r.headers["etag"]
    assert client.get(path_of(numbered), headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    assert client.get(path_of(f"{ISSUER}/status/999")).status_code == 404
    for number in (0, -1, 2**31, 2**63):  # beyond SQL's integers: was the driver's OverflowError, a 500
        assert client.get(path_of(f"{ISSUER}/status/{number}")).status_code == 404
    assert client.get(path_of(f"{BASE}/issuers/nobody/status/{compact.status[0]}")).status_code == 404


def _jwt_payload(jwt: str) -> str:
    from core.encoding import b64url_decode

    return b64url_decode(jwt.split(".")[1], "payload").decode()
