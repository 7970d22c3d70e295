"""``direct_post.jwt`` (OpenID4VP 1.0 §8.3): wallet/encrypted_response.py, checked by RFC 7518's own Concat
KDF vector and by jwcrypto decrypting what we send (our verifier does not take encrypted answers; the
independent one decrypts them in tests/test_wallet_interop.py). Refusals: no usable key, another
algorithm or curve, an ``enc`` we lack — each a RequestRefused with its own code, before the holder
is asked."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jwcrypto import jwe, jwk

from core.encoding import b64url_decode, b64url_encode
from tests.test_wallet_request import _resigned, check
from wallet import encrypted_response as er
from wallet import present
from wallet import request_errors as errors


def _verifier_key(**members: Any) -> tuple[jwk.JWK, dict[str, Any]]:
    private = jwk.JWK.generate(kty="EC", crv="P-256")
    public: dict[str, Any] = {**json.loads(private.export_public()), "use": "enc", "alg": "ECDH-ES", **members}
    return private, public


def _decrypt(private: jwk.JWK, token: str, enc: str = "A128GCM") -> tuple[dict[str, Any], dict[str, Any]]:
    opened = jwe.JWE(algs=["ECDH-ES", enc])
    opened.deserialize(token, key=private)
    return json.loads(opened.payload), json.loads(b64url_decode(token.split(".")[0]))


def test_concat_kdf_matches_rfc7518_appendix_c() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from core.jwe import concat_kdf  # shared with the verifier's decryption

    def private(d: str) -> ec.EllipticCurvePrivateKey:
        return ec.derive_private_key(int.from_bytes(b64url_decode(d), "big"), ec.SECP256R1())

    alice = private("0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo")
    bob = private("VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw")
    shared = alice.exchange(ec.ECDH(), bob.public_key())
    assert b64url_encode(concat_kdf(shared, "A128GCM", b"Alice", b"Bob")) == "VqqN6vgjbSBcIijNcacQGg"


@pytest.mark.parametrize(("offered", "chosen"), [
    (None, "A128GCM"), (["A256GCM", "A128GCM"], "A256GCM"), (["A128CBC-HS256", "A256GCM"], "A256GCM"),
])
def test_jwcrypto_decrypts_what_the_wallet_encrypts(offered: list[str] | None, chosen: str) -> None:
    private, public = _verifier_key(kid="k-1")
    metadata: dict[str, Any] = {"jwks": {"keys": [public]}}
    if offered is not None:
        metadata["encrypted_response_enc_values_supported"] = offered
    sent = {"vp_token": {"skill": ["ey.x~"]}, "state": "st-1"}
    payload, header = _decrypt(private, er.encrypt(er.choose(metadata), sent), chosen)
    assert payload == sent
    assert (header["alg"], header["enc"], header["kid"], header["epk"]["crv"]) == ("ECDH-ES", chosen, "k-1", "P-256")


@pytest.mark.parametrize(("draft", "chosen"), [
    ({"authorization_encrypted_response_alg": "ECDH-ES", "authorization_encrypted_response_enc": "A256GCM"}, "A256GCM"),
    ({"authorization_encrypted_response_enc": "A128GCM"}, "A128GCM"),
    ({}, "A128GCM"),  # a key without alg and metadata naming none: ECDH-ES, the one a P-256 enc key is for here
])
def test_a_verifier_a_draft_behind_is_answered_as_it_asks(draft: dict[str, Any], chosen: str) -> None:
    """OpenID4VP drafts up to 23 named the algorithms in ``authorization_encrypted_response_alg``
    and ``_enc`` and left ``alg`` out of the keys: such verifiers were refused before consent, and
    one asking A256GCM that way was answered in A128GCM (helper-66)."""
    private, public = _verifier_key(kid="k-1")
    del public["alg"]
    sent = {"vp_token": {"skill": ["ey.x~"]}, "state": "st-1"}
    payload, header = _decrypt(private, er.encrypt(er.choose({"jwks": {"keys": [public]}, **draft}), sent), chosen)
    assert payload == sent and (header["alg"], header["enc"]) == ("ECDH-ES", chosen)


def test_the_encryption_key_is_chosen_among_signing_and_foreign_keys() -> None:
    _, public = _verifier_key(kid="mine")
    _, signing = _verifier_key(kid="sig", use="sig")
    _, wrapped = _verifier_key(kid="kw", alg="ECDH-ES+A128KW")
    chosen = er.choose({"jwks": {"keys": [signing, wrapped, public]}})
    assert chosen.kid == "mine"
    no_kid = {k: v for k, v in public.items() if k not in {"kid", "use"}}  # use absent means encryption too
    assert er.choose({"jwks": {"keys": [no_kid]}}).kid is None


@pytest.mark.parametrize(("metadata", "error"), [
    (None, errors.ResponseKeyUnusable),
    ({}, errors.ResponseKeyUnusable),
    ({"jwks": {"keys": []}}, errors.ResponseKeyUnusable),
    ({"jwks_uri": "https://verifier.example/jwks"}, errors.ResponseKeyUnusable),
    ({"jwks": {"keys": [_verifier_key(use="sig")[1]]}}, errors.ResponseKeyUnusable),
    ({"jwks": {"keys": [{**_verifier_key()[1], "x": "AAAA"}]}}, errors.ResponseKeyUnusable),
    ({"jwks": {"keys": [{**_verifier_key()[1], "y": _verifier_key()[1]["x"]}]}}, errors.ResponseKeyUnusable),
    ({"jwks": {"keys": [{**_verifier_key()[1], "d": "AAAA"}]}}, errors.ResponseKeyUnusable),
    ({"jwks": {"keys": [{k: v for k, v in _verifier_key()[1].items() if k != "alg"}]},
      "authorization_encrypted_response_alg": "RSA-OAEP-256"}, errors.ResponseEncryptionUnsupported),
    ({"jwks": {"keys": [_verifier_key()[1]]}, "authorization_encrypted_response_enc": "A128CBC-HS256"},
     errors.ResponseEncryptionUnsupported),
    ({"jwks": {"keys": [_verifier_key(alg="RSA-OAEP-256")[1]]}}, errors.ResponseEncryptionUnsupported),
    ({"jwks": {"keys": [{"kty": "OKP", "crv": "X25519", "x": "AAAA", "alg": "ECDH-ES"}]}},
     errors.ResponseEncryptionUnsupported),
    ({"jwks": {"keys": [_verifier_key()[1]]}, "encrypted_response_enc_values_supported": ["A128CBC-HS256"]},
     errors.ResponseEncryptionUnsupported),
    ({"jwks": {"keys": [_verifier_key()[1]]}, "encrypted_response_enc_values_supported": []}, errors.RequestMalformed),
    ({"jwks": {"keys": [_verifier_key(kid=7)[1]]}}, errors.RequestMalformed),
])
def test_what_cannot_be_encrypted_to_is_refused_clearly(metadata: Any, error: type[errors.RequestRefused]) -> None:
    with pytest.raises(error):
        er.choose(metadata)


def test_a_direct_post_jwt_request_without_a_usable_key_is_refused_before_consent() -> None:
    with pytest.raises(errors.ResponseKeyUnusable):
        check(*_resigned(response_mode="direct_post.jwt"))
    _, public = _verifier_key(alg="ECDH-ES+A256KW")
    with pytest.raises(errors.ResponseEncryptionUnsupported):
        check(*_resigned(response_mode="direct_post.jwt", client_metadata={"jwks": {"keys": [public]}}))


def test_answer_and_decline_post_only_a_jwe_with_state_inside() -> None:
    private, public = _verifier_key(kid="k-2")
    request = check(*_resigned(response_mode="direct_post.jwt", client_metadata={"jwks": {"keys": [public]}}))
    posted: list[dict[str, list[str]]] = []

    def handle(http_request: httpx.Request) -> httpx.Response:
        posted.append(parse_qs(http_request.content.decode()))
        return httpx.Response(200, json={})

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
            await present.answer(http, request, json.dumps({"skill": ["ey.x~kb"]}))
            await present.decline(http, request)

    asyncio.run(go())
    assert [list(p) for p in posted] == [["response"], ["response"]]
    answered, _ = _decrypt(private, posted[0]["response"][0])
    declined, _ = _decrypt(private, posted[1]["response"][0])
    assert answered == {"vp_token": {"skill": ["ey.x~kb"]}, "state": "st-1"}  # an object, not JSON text
    assert declined == {"error": "access_denied", "error_description": "the holder declined", "state": "st-1"}


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=12)
_key_members = st.fixed_dictionaries({}, optional={
    "kty": st.sampled_from(["EC", "OKP", "RSA"]) | _json, "crv": st.sampled_from(["P-256", "X25519"]) | _json,
    "alg": st.sampled_from(["ECDH-ES", "ECDH-ES+A128KW"]) | _json, "use": st.sampled_from(["enc", "sig"]) | _json,
    "x": st.sampled_from(["", "AAAA", _verifier_key()[1]["x"]]) | _json, "y": st.just(_verifier_key()[1]["y"]) | _json,
    "kid": _json})


@given(st.one_of(_json, st.fixed_dictionaries({"jwks": st.fixed_dictionaries({"keys": st.lists(_key_members,
                                                                                                 max_size=3)})},
                                              optional={"encrypted_response_enc_values_supported": _json})))
def test_choose_answers_any_metadata_with_a_choice_or_a_refusal(metadata: Any) -> None:
    try:
        chosen = er.choose(metadata)
    except errors.RequestRefused:
        return
    assert chosen.enc in er.ENCS
