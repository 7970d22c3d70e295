"""The server half of "Keep this card for offline use" (wallet.offline_keep), its refusals: a
ticket opens only for the wallet and card it was made for and only in time; a key proof that is
not an ES256 openid4vci-proof+jwt with a jwk is refused before anything is sent to the issuer; the
Credential Response string is read strictly (a hypothesis property: any text either parses to
[bytes, [bytes]] or is refused with IssuanceFailed, never another exception); and the compact
configuration is the issuer's twin of the card's own, by format and vct."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import _jose, keys, offline
from core.encoding import b64url_encode
from core.errors import InvalidInput
from core.sealing import NodeKey
from tests.desk_world import SKILL_EXAMPLE
from tests.offline_card import NAMES
from tests.test_verifier_flow import TYPES
from wallet import offline_keep, receive

NODE = NodeKey(bytes(range(32)))
NOW = 1_800_000_000


def _ctx() -> Any:
    return SimpleNamespace(node=NODE, now=lambda: NOW)


def _ticket(wallet_id: str, card_id: str, until: int = NOW + 60) -> str:
    sealed = {"access": "a", "issuer": "https://i.test", "configuration": "X_offline", "endpoint": "https://i.test/c",
              "until": until, "salt": "00"}
    return b64url_encode(NODE.seal(json.dumps(sealed).encode(), offline_keep._seal_context(wallet_id, card_id)))


def _proof(key: keys.PrivateKey, typ: str = offline_keep.PROOF_TYP) -> str:
    return _jose.sign_compact({"typ": typ, "jwk": key.public_key().to_jwk()}, {"aud": "https://i.test", "nonce": "n"},
                              key)


def _finish(wallet_id: str, card_id: str, ticket: str, proof: str) -> None:
    class NoNetwork:  # the refusals come before any request
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"the issuer was called ({name})")

    asyncio.run(offline_keep.finish(_ctx(), SimpleNamespace(wallet_id=wallet_id), NoNetwork(),  # type: ignore[arg-type]
                                    card_id, ticket, proof))


@pytest.mark.parametrize(("wallet_id", "card_id", "until"), [
    ("another-wallet", "card", NOW + 60),  # a ticket from someone else's session
    ("wallet", "another-card", NOW + 60),  # for another card of the same wallet
    ("wallet", "card", NOW - 1),  # too old
])
def test_a_ticket_opens_only_for_its_wallet_and_card_in_time(wallet_id: str, card_id: str, until: int) -> None:
    ticket = _ticket("wallet", "card", until)
    with pytest.raises(offline_keep.TicketInvalid):
        _finish(wallet_id, card_id, ticket, _proof(keys.generate("ES256")))


def test_a_forged_ticket_is_refused() -> None:
    with pytest.raises(offline_keep.TicketInvalid):
        _finish("wallet", "card", b64url_encode(b"x" * 60), _proof(keys.generate("ES256")))


@pytest.mark.parametrize("proof", [
    "not a jwt",
    _proof(keys.generate("ES256"), typ="JWT"),
    _proof(keys.generate("EdDSA")),
    b64url_encode(json.dumps({"typ": offline_keep.PROOF_TYP, "alg": "ES256"}).encode()) + ".e30.sig",  # no jwk
])
def test_a_proof_that_is_not_a_p256_key_proof_is_refused_before_the_issuer_is_asked(proof: str) -> None:
    with pytest.raises(InvalidInput):
        _finish("wallet", "card", _ticket("wallet", "card"), proof)


def test_the_credential_response_string_is_read_strictly() -> None:
    cred, disclosures = b"c" * 40, [b"d1", b"d2"]
    assert offline_keep.read_issued(offline.pack_issued(cred, disclosures)) == (cred, disclosures)
    for bad in ([cred], [cred, [1]], [cred, b"d"], {"c": cred}, ["text", []]):
        with pytest.raises(receive.IssuanceFailed):
            offline_keep.read_issued(b64url_encode(offline._cbor.dumps(bad)))
    with pytest.raises(receive.IssuanceFailed):
        offline_keep.read_issued("A" * (offline.MAX_ISSUED_CHARS + 1))


@given(st.text(max_size=200))
def test_any_text_parses_or_is_refused_as_a_failed_issuance(text: str) -> None:
    try:
        cred, disclosures = offline_keep.read_issued(text)
    except receive.IssuanceFailed:
        return
    assert isinstance(cred, bytes) and all(isinstance(d, bytes) for d in disclosures)


def test_the_compact_configuration_is_the_twin_of_the_cards_own() -> None:
    meta = {"credential_configurations_supported": {
        "Skill": {"format": "dc+sd-jwt", "vct": "urn:skill"},
        "Status_offline": {"format": offline.FORMAT, "vct": "urn:status"},
        "Skill_offline": {"format": offline.FORMAT, "vct": "urn:skill"}}}
    assert offline_keep.compact_configuration(meta, "Skill") == "Skill_offline"
    with pytest.raises(offline_keep.KeepUnavailable):
        offline_keep.compact_configuration({"credential_configurations_supported": {
            "Skill": {"format": "dc+sd-jwt", "vct": "urn:skill"}}}, "Skill")
    with pytest.raises(offline_keep.KeepUnavailable):
        offline_keep.compact_configuration(meta, "Gone")


@pytest.mark.parametrize("lang", ["en", "ar", "fa", "uk", "fr"])
def test_a_refusal_is_said_in_the_holders_words(lang: str) -> None:
    from core import i18n
    from wallet.page_kit import error_text

    for exc, key in ((offline_keep.KeepUnavailable("x"), "wallet.err.offline_copy_unavailable"),
                     (offline_keep.TicketInvalid("x"), "wallet.err.offline_ticket_invalid")):
        assert error_text(exc, lang) == i18n.t(lang, key) != i18n.t("en", key) or lang == "en"


def test_a_dpop_bound_tickets_credential_request_proves_the_grants_key() -> None:
    """RFC 9449: an access token a DPoP-bound refresh gave is sent as ``DPoP`` with a proof by the
    grant's key, which the vault keeps with the grant (the ticket the browser carries holds no key).
    Seen at the issuer's door (an httpx transport that records the request and refuses it)."""
    import httpx

    from wallet.content import Contents, Refresh

    grant_key, seen = keys.generate("ES256"), []

    def issuer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(400, json={"error": "invalid_proof"})

    sealed = {"access": "the-access-token", "issuer": "https://i.test", "configuration": "X_offline",
              "endpoint": "https://i.test/c", "until": NOW + 60, "salt": "00", "dpop": True}
    ticket = b64url_encode(NODE.seal(json.dumps(sealed).encode(), offline_keep._seal_context("wallet", "card")))
    opened = SimpleNamespace(wallet_id="wallet", contents=Contents(refresh={"card": Refresh(
        "https://i.test", "X", "refresh-token", 1, dpop_key=grant_key.to_jwk())}))

    async def finish() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(issuer)) as http:
            await offline_keep.finish(_ctx(), opened, http, "card", ticket,  # type: ignore[arg-type]
                                      _proof(keys.generate("ES256")))

    with pytest.raises(receive.IssuanceFailed, match="invalid_proof"):
        asyncio.run(finish())
    [request] = seen
    assert request.headers["Authorization"] == "DPoP the-access-token"
    proof = _jose.parse_compact(request.headers["DPoP"], "DPoP proof")
    assert keys.PublicKey.from_jwk(proof.unverified_header["jwk"]).thumbprint() == grant_key.public_key().thumbprint()
    assert grant_key.public_key().verify(proof.signature, proof.signing_input)


def test_the_kept_record_says_each_value_and_the_end_day_in_every_language() -> None:
    """A code in the type's words and a date in the reader's calendar, per language (the offline
    page has no server to ask): ``practical_test`` is "Practical test" in English and its Arabic
    words in Arabic; ``awarded_on`` and the copy's end are Solar Hijri first in Persian."""
    issuer, device = keys.generate("ES256"), keys.generate("ES256")
    exp = 1_830_297_600  # 2028-01-01 (UTC)
    cred, by_name = offline.issue_compact(SKILL_EXAMPLE, TYPES.by_name("SkillCertificate").vct, issuer,
                                          device.public_key(), status=(1, 7), iat=NOW, exp=exp)
    record = offline_keep.card_record(TYPES, "card-1", cred, list(by_name.values()), NAMES)
    values = {d["key"]: d["value"] for d in record["disclosures"]}
    assert values["assessment_method"]["en"] == "Practical test"
    assert values["assessment_method"]["ar"] == "اختبار عملي"
    assert values["awarded_on"]["en"] == "October 30, 2026"
    assert values["awarded_on"]["fa"].startswith("۸ آبان ۱۴۰۵")
    assert values["given_name"] == {lang: "Layla" for lang in values["given_name"]}  # free text as it is
    assert record["until"]["en"] == "January 1, 2028"
    assert set(record["until"]) == set(values["awarded_on"]) == set(record["type"])


def _issuer_answering(answer: dict[str, Any], issuer_key: keys.PrivateKey) -> Any:
    """An issuer's two doors as ``finish`` meets them (an httpx transport): its JWT VC Issuer
    Metadata, and a credential endpoint that gives ``answer``; this is the issuer under test."""
    import httpx

    def door(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/jwt-vc-issuer":
            return httpx.Response(200, json={"issuer": "https://i.test",
                                             "jwks": {"keys": [issuer_key.public_key().to_jwk()]}})
        return httpx.Response(200, json=answer)

    return httpx.MockTransport(door)


def _keep_from(answer: dict[str, Any], issuer_key: keys.PrivateKey, device: keys.PrivateKey,
               proof: str | None = None) -> None:
    import httpx

    from wallet.content import Contents, Copy

    sealed = {"access": "a", "issuer": "https://i.test", "configuration": "X_offline", "endpoint": "https://i.test/c",
              "until": NOW + 60, "salt": "00"}
    ticket = b64url_encode(NODE.seal(json.dumps(sealed).encode(), offline_keep._seal_context("wallet", "card")))
    skill = TYPES.by_name("SkillCertificate").vct
    opened = SimpleNamespace(wallet_id="wallet", contents=Contents(copies=[
        Copy("c1", "ey.x~", {"kty": "EC"}, skill, "https://i.test", "card", NOW)]))

    async def finish() -> None:
        async with httpx.AsyncClient(transport=_issuer_answering(answer, issuer_key)) as http:
            await offline_keep.finish(_ctx(), opened, http, "card", ticket, proof or _proof(device))  # type: ignore[arg-type]

    asyncio.run(finish())


def test_a_compact_copy_keeps_only_what_its_issuer_signed_for_this_card() -> None:
    """helper-62: an issuer's answer whose disclosures the credential does not name (another
    credential's), or of another type than the card, was kept, and the holder shown values every
    desk refuses; an answer or a proof of the wrong JSON shape was a 500."""
    issuer_key, device = keys.generate("ES256"), keys.generate("ES256")
    skill, status = TYPES.by_name("SkillCertificate").vct, TYPES.by_name("RegistrationStatus").vct

    def compact(claims: dict[str, Any], vct: str) -> tuple[bytes, list[bytes]]:
        cred, by_name = offline.issue_compact(claims, vct, issuer_key, device.public_key(), status=(1, 7),
                                              iat=NOW, exp=NOW + 86400)
        return cred, list(by_name.values())

    cred, _ = compact(SKILL_EXAMPLE, skill)
    _, others = compact({**SKILL_EXAMPLE, "given_name": "Someone else"}, skill)
    foreign = {"credentials": [{"credential": offline.pack_issued(cred, others[:1])}]}
    with pytest.raises(receive.IssuanceFailed, match="not one the compact credential's issuer signed"):
        _keep_from(foreign, issuer_key, device)
    from tests.test_verifier_flow import STATUS_EXAMPLE
    other_type = {"credentials": [{"credential": offline.pack_issued(*compact(STATUS_EXAMPLE, status))}]}
    with pytest.raises(receive.IssuanceFailed, match="another type than the card"):
        _keep_from(other_type, issuer_key, device)
    for shape in ({"credentials": ["x"]}, {"credentials": [{}]}, {"credentials": [[1]]}):
        with pytest.raises(receive.IssuanceFailed):
            _keep_from(shape, issuer_key, device)
    listed_header = b64url_encode(b"[1]") + ".e30.c2ln"
    with pytest.raises(InvalidInput):
        _keep_from(foreign, issuer_key, device, proof=listed_header)
