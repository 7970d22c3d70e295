"""``wallet.receive`` against issuers shaped unlike ours, found by the interop run (tests/interop/README.md):
an offer by value, an authorization server apart from the issuer (``authorization_servers``), OpenID
Connect discovery instead of RFC 8414, no nonce endpoint, no batch issuance; and what stays refused
(an authorization server the issuer does not list, metadata served for another server).

A fake issuer on ``httpx.MockTransport`` (no sockets): the credential endpoint records the request and
refuses it, which is all these rules need to see."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from core import _jose, keys, sdjwt
from core.credtypes import TypeRegistry
from core.errors import Expired, InvalidInput, UnknownCredentialType, UnknownIssuerKey
from core.oid4vc import PRE_AUTHORIZED_GRANT
from wallet import receive

ISSUER = "https://issuer.example/vc"
AS = "https://login.example/as"
CODE = "pre-code-1"
META = "https://issuer.example/.well-known/openid-credential-issuer/vc"
CONFIGS = {"credential_configurations_supported": {"Skill": {"format": "dc+sd-jwt"}}}  # section 12.2.4: required


def _offer(**grant: Any) -> dict[str, Any]:
    return {"credential_issuer": ISSUER, "credential_configuration_ids": ["Skill"],
            "grants": {PRE_AUTHORIZED_GRANT: {"pre-authorized_code": CODE, **grant}}}


class FakeIssuer:
    def __init__(self, *, meta: dict[str, Any] | None = None, as_meta: dict[str, Any] | None = None,
                 as_well_known: str = "https://login.example/.well-known/oauth-authorization-server/as") -> None:
        self.meta = {"credential_issuer": ISSUER, "authorization_servers": [AS],
                     "credential_endpoint": f"{ISSUER}/credential", "nonce_endpoint": f"{ISSUER}/nonce",
                     "batch_credential_issuance": {"batch_size": 3}, **CONFIGS} if meta is None else meta
        self.as_meta = {"issuer": AS, "token_endpoint": f"{AS}/token"} if as_meta is None else as_meta
        self.as_well_known = as_well_known
        self.seen: list[str] = []
        self.headers: dict[str, httpx.Headers] = {}
        self.token_type = "Bearer"
        self.credential_request: dict[str, Any] | None = None
        # When ``issuing``, the credential endpoint issues a real SD-JWT VC per proof, signed by
        # ``signer``; else it refuses every request (all most rules here need to see). The key
        # metadata is served unless ``key_metadata`` is None (the wallet reads it before the token).
        self.signer = keys.generate("ES256", kid="issuer-key-1")
        self.key_set: dict[str, Any] = {"keys": [self.signer.public_key().to_jwk()]}
        self.key_metadata: dict[str, Any] | None = {"issuer": ISSUER, "jwks": self.key_set}
        self.issuing = False
        self.token_extra: dict[str, Any] = {}
        self.copy_signers: list[keys.PrivateKey] = []  # the i-th copy's signer, where given; else ``signer``
        self.lifetime = 3600

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.seen.append(url)
        self.headers[url] = request.headers
        token = {"access_token": "at", "token_type": self.token_type, **self.token_extra}
        routes: dict[str, Callable[[], httpx.Response]] = {
            f"{ISSUER}/offer": lambda: httpx.Response(200, json=_offer(tx_code={})),
            f"{META}": lambda: httpx.Response(200, json=self.meta),
            self.as_well_known: lambda: httpx.Response(200, json=self.as_meta),
            f"{AS}/token": lambda: httpx.Response(200, json=token),
            f"{ISSUER}/token": lambda: httpx.Response(200, json=token),
            f"{ISSUER}/nonce": lambda: httpx.Response(200, json={"c_nonce": "n-1"}, headers={"DPoP-Nonce": "dn-1"}),
        }
        if url == f"{ISSUER}/credential":
            self.credential_request = json.loads(request.content)
            if not self.issuing:
                return httpx.Response(400, json={"error": "invalid_proof"})
            return httpx.Response(200, json={"credentials": [{"credential": self._issued(proof, i)} for i, proof
                                                             in enumerate(self.credential_request["proofs"]["jwt"])]})
        if url == "https://issuer.example/.well-known/jwt-vc-issuer/vc" and self.key_metadata is not None:
            return httpx.Response(200, json=self.key_metadata)
        if url == "https://keys.example/issuer.jwks" and self.key_metadata is not None:
            return httpx.Response(200, json=self.key_set)
        return routes.get(url, lambda: httpx.Response(404, json={"error": "not_found"}))()


    def _issued(self, proof: str, i: int) -> str:
        holder = keys.PublicKey.from_jwk(_jose.parse_compact(proof, "proof").unverified_header["jwk"])
        now, signer = int(time.time()), self.copy_signers[i] if i < len(self.copy_signers) else self.signer
        return sdjwt.issue({"iss": ISSUER, "iat": now - 60, "exp": now + self.lifetime,
                            "vct": "https://issuer.example/vct/badge", "badge": "first aid"},
                           issuer_key=signer, disclosable=[("badge",)], holder_key=holder, typ="dc+sd-jwt")

    def key_reads(self) -> int:
        return self.seen.count("https://keys.example/issuer.jwks")


def _run(issuer: FakeIssuer, link: str, *, redeem: bool = False) -> receive.Offer:
    return _redeemed(issuer, link, redeem=redeem)[0]


def _redeemed(issuer: FakeIssuer, link: str, *, redeem: bool = True) -> tuple[receive.Offer, list[receive.Received]]:
    async def go() -> tuple[receive.Offer, list[receive.Received]]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(issuer)) as http:
            offer = await receive.read_offer(http, link)
            if not redeem:
                return offer, []
            return offer, await receive.redeem(http, offer, "123456", copies=5, types=None)  # type: ignore[arg-type]
    return asyncio.run(go())


BY_REFERENCE = f"openid-credential-offer://?credential_offer_uri={quote(ISSUER + '/offer', safe='')}"


def test_the_token_goes_to_the_authorization_server_the_issuer_names() -> None:
    offer = _run(FakeIssuer(), BY_REFERENCE)
    assert offer.token_endpoint == f"{AS}/token"


def test_an_offer_by_value_is_read_from_the_link() -> None:
    link = "openid-credential-offer://?credential_offer=" + quote(json.dumps(_offer(tx_code={"length": 6})))
    issuer = FakeIssuer()
    offer = _run(issuer, link)
    assert (offer.issuer, offer.tx_code) == (ISSUER, {"length": 6})
    assert f"{ISSUER}/offer" not in issuer.seen


def test_an_issuer_without_authorization_servers_is_its_own() -> None:
    meta = {"credential_issuer": ISSUER, "credential_endpoint": f"{ISSUER}/credential", **CONFIGS}
    issuer = FakeIssuer(meta=meta, as_meta={"issuer": ISSUER, "token_endpoint": f"{ISSUER}/token"},
                        as_well_known="https://issuer.example/.well-known/oauth-authorization-server/vc")
    assert _run(issuer, BY_REFERENCE).token_endpoint == f"{ISSUER}/token"


def test_openid_connect_discovery_is_read_when_rfc8414_metadata_is_missing() -> None:
    issuer = FakeIssuer(as_well_known=f"{AS}/.well-known/openid-configuration")
    assert _run(issuer, BY_REFERENCE).token_endpoint == f"{AS}/token"


def test_authorization_server_metadata_for_another_server_is_refused() -> None:
    issuer = FakeIssuer(as_meta={"issuer": "https://evil.example", "token_endpoint": "https://evil.example/token"})
    with pytest.raises(receive.IssuanceFailed, match="another issuer"):
        _run(issuer, BY_REFERENCE)


def test_an_offer_naming_an_unlisted_authorization_server_is_refused() -> None:
    link = "openid-credential-offer://?credential_offer=" + quote(json.dumps(
        _offer(authorization_server="https://evil.example")))
    with pytest.raises(receive.IssuanceFailed, match="does not list"):
        _run(FakeIssuer(), link)


def test_a_refresh_goes_back_to_the_authorization_server_the_token_came_from() -> None:
    """An issuer may list several authorization servers (section 12.2.4) and an offer name one
    (section 4.1.1). The refresh went to the issuer's first: the refresh token was shown to a server
    that never issued it (RFC 6749 section 10.4), which refused it, and the grant was dropped (helper-67)."""
    from wallet.content import Contents, Refresh
    from wallet.refresh import _back_to

    as2 = "https://login.example/as2"
    issuer = FakeIssuer()
    issuer.meta = {**issuer.meta, "authorization_servers": [AS, as2]}

    def both(request: httpx.Request) -> httpx.Response:
        if str(request.url) == "https://login.example/.well-known/oauth-authorization-server/as2":
            return httpx.Response(200, json={"issuer": as2, "token_endpoint": f"{as2}/token"})
        return issuer(request)

    link = "openid-credential-offer://?credential_offer=" + quote(json.dumps(_offer(authorization_server=as2)))

    async def go() -> tuple[receive.Offer, dict[str, Any], dict[str, Any]]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(both)) as http:
            offer = await receive.read_offer(http, link)
            kept = Refresh(ISSUER, "Skill", "rt", 1, authorization_server=offer.authorization_server)
            again = Contents.from_bytes(Contents(refresh={"b": kept}).to_bytes()).refresh["b"]
            _, auth = await receive.issuer_metadata(http, ISSUER, _back_to(again))
            _, older = await receive.issuer_metadata(http, ISSUER, _back_to(Refresh(ISSUER, "Skill", "rt", 1)))
        return offer, auth, older

    offer, auth, older = asyncio.run(go())
    assert offer.authorization_server == as2 and offer.token_endpoint == f"{as2}/token"
    assert auth["token_endpoint"] == f"{as2}/token"
    assert older["token_endpoint"] == f"{AS}/token"  # a grant kept before: the first, as it always was


@pytest.mark.parametrize("link", [
    BY_REFERENCE + "&credential_offer=%7B%7D",
    "openid-credential-offer://?credential_offer=not-json",
    "openid-credential-offer://?credential_offer=%5B%5D",
    "openid-credential-offer://?nothing=here",
])
def test_malformed_offer_links_are_refused(link: str) -> None:
    with pytest.raises(InvalidInput):
        _run(FakeIssuer(), link)


def _offering(*configuration_ids: str) -> str:
    return "openid-credential-offer://?credential_offer=" + quote(json.dumps(
        {**_offer(tx_code={}), "credential_configuration_ids": list(configuration_ids)}))


def _with_configurations(**configurations: dict[str, Any]) -> FakeIssuer:
    issuer = FakeIssuer()
    issuer.meta = {**issuer.meta, "credential_configurations_supported": configurations}
    return issuer


def test_an_offer_listing_an_mdoc_first_is_answered_with_its_sd_jwt_vc() -> None:
    """The wallet took the offer's first configuration whatever its format: an mdoc listed first
    (common in the field) spent the holder's one-time code on a credential it then refused (helper-67)."""
    issuer = _with_configurations(pid_mdoc={"format": "mso_mdoc", "doctype": "eu.europa.ec.eudi.pid.1"},
                                  pid_old={"format": "vc+sd-jwt"},
                                  pid_sd_jwt={"format": "dc+sd-jwt", "vct": "urn:eudi:pid:1"})
    offer = _run(issuer, _offering("pid_mdoc", "pid_old", "pid_sd_jwt"))
    assert offer.configuration_id == "pid_sd_jwt" and offer.vct() == "urn:eudi:pid:1"
    with pytest.raises(receive.IssuanceFailed, match="invalid_proof"):
        _run(issuer, _offering("pid_mdoc", "pid_old", "pid_sd_jwt"), redeem=True)
    assert issuer.credential_request is not None
    assert issuer.credential_request["credential_configuration_id"] == "pid_sd_jwt"


@pytest.mark.parametrize("configuration", [
    {"format": "mso_mdoc"},
    {"format": "vc+sd-jwt"},  # a draft's name: its credentials are typed otherwise
    {"format": "dc+sd-jwt", "cryptographic_binding_methods_supported": ["did:example"]},
    "not an object",
])
def test_an_offer_of_nothing_the_wallet_can_hold_is_refused_before_the_code_is_spent(configuration: Any) -> None:
    issuer = _with_configurations(only=configuration)  # type: ignore[arg-type]
    with pytest.raises(receive.IssuanceFailed, match="no credential this wallet can hold"):
        _run(issuer, _offering("only", "not-in-the-metadata"))
    assert not any(url.endswith("/token") for url in issuer.seen)


def test_proofs_never_exceed_the_batch_size() -> None:
    issuer = FakeIssuer()
    with pytest.raises(receive.IssuanceFailed, match="invalid_proof"):
        _run(issuer, BY_REFERENCE, redeem=True)
    assert issuer.credential_request is not None
    assert len(issuer.credential_request["proofs"]["jwt"]) == 3


def test_an_issuer_without_batch_issuance_gets_one_proof_and_without_nonce_endpoint_no_nonce() -> None:
    meta = {"credential_issuer": ISSUER, "authorization_servers": [AS], "credential_endpoint": f"{ISSUER}/credential",
            **CONFIGS}
    issuer = FakeIssuer(meta=meta)
    with pytest.raises(receive.IssuanceFailed, match="invalid_proof"):
        _run(issuer, BY_REFERENCE, redeem=True)
    assert issuer.credential_request is not None
    [proof] = issuer.credential_request["proofs"]["jwt"]
    payload = _jose.parse_compact(proof, "proof").unverified_payload()
    assert "nonce" not in payload and payload["aud"] == ISSUER
    assert f"{ISSUER}/nonce" not in issuer.seen


def test_an_issuer_naming_no_credential_endpoint_is_a_clear_failure() -> None:
    issuer = FakeIssuer(meta={"credential_issuer": ISSUER, "authorization_servers": [AS], **CONFIGS})
    with pytest.raises(receive.IssuanceFailed, match="credential endpoint"):
        _run(issuer, BY_REFERENCE, redeem=True)
    assert not any(url.endswith("/token") for url in issuer.seen)  # refused before the code is spent


def test_a_type_this_wallet_does_not_know_is_refused_before_the_code_is_spent(types: TypeRegistry) -> None:
    """The credential would be refused on receipt (``verify_vc_issued`` requires a known type): the
    offer's type is judged before the token, and the holder keeps a code another wallet can use."""
    issuer = _with_configurations(Skill={"format": "dc+sd-jwt", "vct": "https://issuer.example/vct/unknown"})

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(issuer)) as http:
            offer = await receive.read_offer(http, _offering("Skill"))
            await receive.redeem(http, offer, "123456", copies=1, types=types)

    with pytest.raises(UnknownCredentialType):
        asyncio.run(go())
    assert not any(url.endswith("/token") for url in issuer.seen)


def test_credentials_are_checked_with_the_keys_the_issuers_own_metadata_gives() -> None:
    """SD-JWT VC section 5: the keys come from ``/.well-known/jwt-vc-issuer`` by value, or through
    its ``jwks_uri`` (5.2); each credential verifies with them and is kept."""
    for by_reference in (False, True):
        issuer = FakeIssuer()
        issuer.issuing = True
        issuer.key_metadata = ({"issuer": ISSUER, "jwks_uri": "https://keys.example/issuer.jwks"} if by_reference
                               else {"issuer": ISSUER, "jwks": issuer.key_set})
        _, received = _redeemed(issuer, BY_REFERENCE)
        assert len(received) == 3 and all(r.verified.issuer == ISSUER for r in received)
        assert issuer.key_reads() == (1 if by_reference else 0)  # once, before the token
        assert issuer.seen.count("https://issuer.example/.well-known/jwt-vc-issuer/vc") == 1


@pytest.mark.parametrize("metadata", [
    {"issuer": "https://attacker.example", "jwks": "KEYS"},  # 5.3: another issuer's document is not used
    {"issuer": ISSUER + "/", "jwks": "KEYS"},  # identical means identical
    {"issuer": ISSUER, "jwks": "KEYS", "jwks_uri": "https://keys.example/issuer.jwks"},  # 5.2: not both
    {"issuer": ISSUER},  # nor neither
])
def test_key_metadata_the_issuer_may_not_be_trusted_for_keeps_nothing(metadata: dict[str, Any]) -> None:
    issuer = FakeIssuer()
    issuer.issuing = True
    issuer.key_metadata = {k: issuer.key_set if v == "KEYS" else v for k, v in metadata.items()}
    with pytest.raises(receive.IssuanceFailed, match="issuer keys"):
        _redeemed(issuer, BY_REFERENCE)
    assert not any(url.endswith("/token") for url in issuer.seen)  # read before the code is spent


def test_an_issuer_publishing_no_keys_is_refused_before_the_code_is_spent() -> None:
    """The wallet read the issuer's keys only after the credential came: an issuer with no
    ``jwt-vc-issuer`` metadata (keys in an x5c chain, say) took the holder's one-time code for a
    credential the wallet then refused, and the code could not be used in another wallet."""
    issuer = FakeIssuer()
    issuer.issuing, issuer.key_metadata = True, None
    with pytest.raises(receive.IssuanceFailed, match="issuer keys: 404"):
        _redeemed(issuer, BY_REFERENCE)
    assert not any(url.endswith("/token") or url.endswith("/credential") for url in issuer.seen)


def _rotating(issuer: FakeIssuer, new_keys: dict[str, Any]) -> list[receive.Received]:
    """Redeem, the issuer publishing ``new_keys`` once the token is asked for."""
    def rotate_at_token(request: httpx.Request) -> httpx.Response:
        if str(request.url).endswith("/token"):
            issuer.key_set = new_keys
        return issuer(request)

    async def go() -> list[receive.Received]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(rotate_at_token)) as http:
            offer = await receive.read_offer(http, BY_REFERENCE)
            return await receive.redeem(http, offer, "123456", copies=5, types=None)  # type: ignore[arg-type]
    return asyncio.run(go())


def _by_reference(issuer: FakeIssuer) -> FakeIssuer:
    issuer.issuing = True
    issuer.key_metadata = {"issuer": ISSUER, "jwks_uri": "https://keys.example/issuer.jwks"}
    return issuer


@pytest.mark.parametrize("old_kids", [True, False])  # a key without a kid is tried: InvalidSignature, not unknown
def test_a_key_rotated_between_the_keys_read_and_the_credential_is_read_again_once(old_kids: bool) -> None:
    """The keys are read before the token; a credential signed by a key published since is checked
    against the keys read again, once, and the batch is kept."""
    issuer = _by_reference(FakeIssuer())
    if not old_kids:
        issuer.key_set = {"keys": [{k: v for k, v in jwk.items() if k != "kid"} for jwk in issuer.key_set["keys"]]}
    old_keys, issuer.signer = dict(issuer.key_set), keys.generate("ES256", kid="issuer-key-2")
    received = _rotating(issuer, {"keys": [*old_keys["keys"], issuer.signer.public_key().to_jwk()]})
    assert len(received) == 3 and issuer.key_reads() == 2


def test_keys_are_read_again_only_once_however_many_copies_name_a_key_not_read() -> None:
    """A first copy by a key published since, a second by one never published: one more read (not
    one per copy, which an issuer could turn into a fetch loop), and the batch is refused."""
    issuer = _by_reference(FakeIssuer())
    published_later, never = keys.generate("ES256", kid="issuer-key-2"), keys.generate("ES256", kid="issuer-key-3")
    issuer.copy_signers = [published_later, never]
    with pytest.raises(UnknownIssuerKey):
        _rotating(issuer, {"keys": [*issuer.key_set["keys"], published_later.public_key().to_jwk()]})
    assert issuer.key_reads() == 2


def test_a_credential_refused_for_anything_but_its_key_reads_no_keys_again() -> None:
    """Only a key the wallet lacks sends it back for the keys: an expired credential is refused at once."""
    issuer = _by_reference(FakeIssuer())
    issuer.lifetime = -3600  # beyond any clock leeway
    with pytest.raises(Expired):
        _rotating(issuer, issuer.key_set)
    assert issuer.key_reads() == 1


def test_key_metadata_with_no_key_this_wallet_can_use_is_refused_before_the_code_is_spent() -> None:
    """Keys of kinds the wallet cannot verify with are left out of the set (RSA, oct): none left,
    the credential could not be checked, so the token is never asked for."""
    issuer = _by_reference(FakeIssuer())
    issuer.key_set = {"keys": [{"kty": "oct", "k": "AAAA"}]}
    with pytest.raises(receive.IssuanceFailed, match="none this wallet can verify with"):
        _redeemed(issuer, BY_REFERENCE)
    assert not any(url.endswith("/token") for url in issuer.seen)


def _proof_algs(listed: object) -> dict[str, Any]:
    return {"credential_issuer": ISSUER, "authorization_servers": [AS], "credential_endpoint": f"{ISSUER}/credential",
            "nonce_endpoint": f"{ISSUER}/nonce", "credential_configurations_supported": {
                "Skill": {"format": "dc+sd-jwt", "proof_types_supported": {
                    "jwt": {"proof_signing_alg_values_supported": listed}}}}}


@pytest.mark.parametrize(("listed", "alg", "kty"), [
    (["ES256", "EdDSA"], "ES256", "EC"),  # the wallet's own preference when listed
    (["EdDSA"], "EdDSA", "OKP"),
    (["ES384", "Ed25519"], "Ed25519", "OKP"),  # RFC 9864's name for the same key kind
    ("ES256", "ES256", "EC"),  # not a list: the configuration names no algorithms
])
def test_key_proofs_use_an_algorithm_the_configuration_lists(listed: object, alg: str, kty: str) -> None:
    """OpenID4VCI 1.0 Appendix F.1: the proof's ``alg`` "MUST match one of the values listed in the
    ``proof_signing_alg_values_supported``" of the credential configuration."""
    issuer = FakeIssuer(meta=_proof_algs(listed))
    issuer.issuing = True
    _, received = _redeemed(issuer, BY_REFERENCE)
    assert issuer.credential_request is not None
    [proof] = issuer.credential_request["proofs"]["jwt"]
    header = _jose.parse_compact(proof, "proof").unverified_header
    assert header["alg"] == alg and header["jwk"]["kty"] == kty
    assert received and all(r.holder_key.alg == ("ES256" if kty == "EC" else "EdDSA") for r in received)


def test_an_issuer_taking_only_proofs_the_wallet_cannot_make_is_a_clear_failure_before_any_request() -> None:
    issuer = FakeIssuer(meta=_proof_algs(["ES384", "RS256"]))
    with pytest.raises(receive.IssuanceFailed, match="algorithms"):
        _redeemed(issuer, BY_REFERENCE)
    assert issuer.credential_request is None


def test_the_credential_dataset_the_token_response_names_is_asked_for_by_its_identifier() -> None:
    """OpenID4VCI 1.0 sections 6.2 and 8.2: with ``credential_identifiers`` in the token response's
    ``authorization_details`` the wallet "MUST use these identifiers", and then
    ``credential_configuration_id`` "MUST NOT be present"; without them, the configuration is named."""
    issuer = FakeIssuer()
    issuer.token_extra = {"authorization_details": [
        {"type": "other", "credential_configuration_id": "Skill", "credential_identifiers": ["not-this"]},
        {"type": "openid_credential", "credential_configuration_id": "Skill",
         "credential_identifiers": ["skill-2026-forklift", "skill-2026-welding"], "extension": True}]}
    with pytest.raises(receive.IssuanceFailed):
        _redeemed(issuer, BY_REFERENCE)
    assert issuer.credential_request is not None
    assert issuer.credential_request.get("credential_identifier") == "skill-2026-forklift"
    assert "credential_configuration_id" not in issuer.credential_request
    plain = FakeIssuer()
    plain.token_extra = {"authorization_details": [{"type": "openid_credential", "credential_configuration_id": "Other",
                                                    "credential_identifiers": ["elsewhere"]}]}
    with pytest.raises(receive.IssuanceFailed):
        _redeemed(plain, BY_REFERENCE)
    assert plain.credential_request is not None and plain.credential_request["credential_configuration_id"] == "Skill"
    assert "credential_identifier" not in plain.credential_request


@pytest.mark.parametrize("identifiers", [None, [], [""], [3], "skill-1"])
def test_authorization_details_granting_the_configuration_without_identifiers_is_refused(identifiers: object) -> None:
    issuer = FakeIssuer()
    granted = {"type": "openid_credential", "credential_configuration_id": "Skill",
               "credential_identifiers": identifiers}
    issuer.token_extra = {"authorization_details": [granted]}
    with pytest.raises(receive.IssuanceFailed, match="credential_identifiers"):
        _redeemed(issuer, BY_REFERENCE)
    assert issuer.credential_request is None
