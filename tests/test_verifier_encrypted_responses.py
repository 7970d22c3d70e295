"""Issue 18 item 3: ``direct_post.jwt`` at the verifier (OpenID4VP 1.0 §8.3, HAIP 1.0 §5).

The JWE recipe (core/jwe.py) against jwcrypto, a second implementation, and its refusals; the
Request Object a check makes (its own ephemeral key, both ``enc`` values, ``kid`` under x509_hash);
and a real node: our wallet's encrypted answer is accepted, while an unencrypted answer, a JWE to
another key, a tampered JWE and a wrong ``enc`` are refused and change nothing, and the key is
erased once the check is answered.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st
from jwcrypto import jwe as jw_jwe
from jwcrypto import jwk as jw_jwk

from core import _jose, jwe, keys
from core.encoding import b64url_decode, b64url_encode
from core.errors import InvalidInput
from core.sdjwt import VerifyPolicy
from core.sealing import NodeKey, SealBroken
from tests.node import RunningNode
from tests.verifier_desk import Desk
from verifier import encrypted_responses, requests, store
from verifier.context import VerifierContext
from wallet import encrypted_response as wallet_jwe
from wallet import present as wallet

SEALED = {"vp_token": {"registration": ["ey.x~"]}, "state": "st-1"}


def _jw_public(key: ec.EllipticCurvePrivateKey) -> jw_jwk.JWK:
    return jw_jwk.JWK(**{**jwe.public_jwk(key), "kid": jwe.kid(key)})


def _jwcrypto_encrypt(key: ec.EllipticCurvePrivateKey, *, enc: str = "A128GCM", alg: str = "ECDH-ES",
                      kid: str | None = None, extra: dict[str, Any] | None = None,
                      payload: dict[str, Any] | None = None) -> str:
    """A JWE made by jwcrypto, an implementation we did not write."""
    header = {"alg": alg, "enc": enc, "kid": kid or jwe.kid(key), **(extra or {})}
    token = jw_jwe.JWE(json.dumps(payload or SEALED).encode(), protected=json.dumps(header))
    token.add_recipient(_jw_public(key))
    return str(token.serialize(compact=True))


def _to_the_check(public: dict[str, Any], payload: dict[str, Any]) -> str:
    """A JWE by jwcrypto to a check's own key, of ``payload`` as ``json.dumps`` writes it (escapes)."""
    token = jw_jwe.JWE(json.dumps(payload).encode(), protected=json.dumps({"alg": "ECDH-ES", "enc": "A128GCM",
                                                                           "kid": public["kid"]}))
    token.add_recipient(jw_jwk.JWK(**public))
    return str(token.serialize(compact=True))


def _open(token: str, key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    return jwe.decrypt_json_object(token, key, expected_kid=jwe.kid(key), encs=encrypted_responses.ENCS)


@pytest.mark.parametrize("enc", ["A128GCM", "A256GCM"])
def test_a_jwe_from_jwcrypto_and_from_our_wallet_decrypts(enc: str) -> None:
    key = encrypted_responses.new_key()
    assert _open(_jwcrypto_encrypt(key, enc=enc), key) == SEALED
    assert _open(_jwcrypto_encrypt(key, enc=enc, extra={"apu": b64url_encode(b"Alice"),
                                                        "apv": b64url_encode(b"Bob")}), key) == SEALED
    ours = wallet_jwe.choose({**encrypted_responses.client_metadata(key),
                              "encrypted_response_enc_values_supported": [enc]})
    assert _open(wallet_jwe.encrypt(ours, SEALED), key) == SEALED


def _flip(token: str, part: int) -> str:
    parts = token.split(".")
    raw = bytearray(b64url_decode(parts[part]))
    raw[len(raw) // 2] ^= 1
    parts[part] = b64url_encode(bytes(raw))
    return ".".join(parts)


def _rewrite_header(token: str, **changes: Any) -> str:
    parts = token.split(".")
    header = {**json.loads(b64url_decode(parts[0])), **changes}
    parts[0] = b64url_encode(json.dumps({k: v for k, v in header.items() if v is not None}).encode())
    return ".".join(parts)


def test_the_jwe_refusals() -> None:
    key, other = encrypted_responses.new_key(), encrypted_responses.new_key()
    good = _jwcrypto_encrypt(key)
    refused = {
        "to another key": _jwcrypto_encrypt(other, kid=jwe.kid(key)),  # even naming our kid
        "another kid": _jwcrypto_encrypt(key, kid="someone-else"),
        "no kid": _rewrite_header(good, kid=None),
        "tampered ciphertext": _flip(good, 3),
        "tampered tag": _flip(good, 4),
        "tampered iv": _flip(good, 2),
        "tampered header": _rewrite_header(good, enc="A128GCM", extra_member=1),  # authenticated data
        "a wrong enc": _jwcrypto_encrypt(key, enc="A192GCM"),
        "a CBC enc": _jwcrypto_encrypt(key, enc="A128CBC-HS256"),
        "key wrapping": _jwcrypto_encrypt(key, alg="ECDH-ES+A128KW"),
        "zip": _jwcrypto_encrypt(key, extra={"zip": "DEF"}),
        "epk off the curve": _rewrite_header(good, epk={**json.loads(b64url_decode(good.split(".")[0]))["epk"],
                                                         "y": b64url_encode(b"\x01" * 32)}),
        "a JWS": _jose.sign_compact({"typ": "JWT"}, {"a": 1}, keys.generate()),
        "not base64url": "!." * 4 + "!",
    }
    for why, token in refused.items():
        with pytest.raises(jwe.ResponseNotDecryptable):
            _open(token, key)
            pytest.fail(why)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=200).map(lambda b: ".".join([b64url_encode(b)] * 5)))
def test_decrypt_refuses_any_garbage_with_its_one_error(token: str) -> None:
    key = _KEY
    with pytest.raises(jwe.ResponseNotDecryptable):
        _open(token, key)


_KEY = encrypted_responses.new_key()


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=255))
def test_any_changed_byte_of_a_good_jwe_is_refused(position: int, xor: int) -> None:
    token = _TOKEN
    index = position % len(token)
    changed = token[:index] + chr(ord(token[index]) ^ xor if ord(token[index]) ^ xor < 128 else 33) + token[index + 1:]
    if changed == token:
        return
    try:
        opened = _open(changed, _KEY)
    except jwe.ResponseNotDecryptable:
        return
    assert opened == SEALED  # only a change base64url cannot see (trailing bits) may leave it readable


_TOKEN = _jwcrypto_encrypt(_KEY)


def test_the_sealed_key_opens_only_for_its_own_check() -> None:
    node = NodeKey(b"\x07" * 32)
    key = encrypted_responses.new_key()
    sealed = encrypted_responses.seal(node, key, "check-a")
    assert jwe.kid(encrypted_responses.unseal(node, sealed, "check-a")) == jwe.kid(key)
    with pytest.raises(SealBroken):
        encrypted_responses.unseal(node, sealed, "check-b")
    assert encrypted_responses.for_check(node, "c", "direct_post") == (None, None)


def test_the_response_mode_follows_the_desk_the_query_then_the_profile() -> None:
    mode = encrypted_responses.mode_for
    assert mode("x509_hash") == "direct_post.jwt"  # HAIP: x509_hash requests, encrypted answers
    assert mode("decentralized_identifier") == "direct_post"
    assert mode("x509_hash", configured="direct_post") == "direct_post"
    assert mode("decentralized_identifier", configured="direct_post.jwt") == "direct_post.jwt"
    assert mode("x509_hash", asked="direct_post", configured="direct_post.jwt") == "direct_post"
    with pytest.raises(InvalidInput):
        mode("x509_hash", asked="query")


def test_the_request_object_carries_the_key_both_encs_and_a_kid_under_x509_hash() -> None:
    key = keys.generate("ES256")
    identity = requests.Identity(key, requests.self_signed_certificate(key, "Desk", 1_800_000_000),
                                 keys.generate("EdDSA"))
    response_key = encrypted_responses.new_key()
    token = requests.request_object(identity, requests.Prefix.X509_HASH, response_uri="https://v.example/r/1",
                                    nonce="n" * 22, state="s" * 22, dcql_query={"credentials": []}, now=1_800_000_000,
                                    encryption=encrypted_responses.client_metadata(response_key))
    jws = _jose.parse_compact(token)
    header, payload = jws.unverified_header, jws.unverified_payload()
    assert header["typ"] == "oauth-authz-req+jwt" and header["alg"] == "ES256"
    assert header["kid"] == key.public_key().thumbprint()  # the IT-Wallet parser requires one
    assert base64.b64decode(header["x5c"][0]) == identity.certificate_der
    assert payload["response_mode"] == "direct_post.jwt"
    metadata = payload["client_metadata"]
    assert metadata["encrypted_response_enc_values_supported"] == ["A256GCM", "A128GCM"]
    assert wallet_jwe.choose(metadata).enc == "A256GCM"  # HAIP's wallet SHOULD, for one that follows our order
    assert metadata["vp_formats_supported"]["dc+sd-jwt"]["kb-jwt_alg_values"][0] == "ES256"
    for algs in metadata["vp_formats_supported"]["dc+sd-jwt"].values():  # each one the verifier takes
        assert set(algs) <= VerifyPolicy().algorithms and "Ed25519" in algs
    [public] = metadata["jwks"]["keys"]
    assert public == {**jwe.public_jwk(response_key), "kid": jwe.kid(response_key), "use": "enc", "alg": "ECDH-ES"}
    plain = requests.request_object(identity, requests.Prefix.DID, response_uri="https://v.example/r/1",
                                    nonce="n" * 22, state="s" * 22, dcql_query={"credentials": []}, now=1_800_000_000)
    plain_jws = _jose.parse_compact(plain)
    assert plain_jws.unverified_payload()["response_mode"] == "direct_post"
    assert "jwks" not in plain_jws.unverified_payload()["client_metadata"]
    assert plain_jws.unverified_header["kid"].startswith("did:jwk:")  # the did prefix as it was


# --- on a running node ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    data_dir = tmp_path_factory.mktemp("encrypted")
    with RunningNode(data_dir) as node:
        yield Desk(node, data_dir)


async def _request(http: httpx.AsyncClient, check: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """The request object as a bystander reads it, and the wallet's checked view of it."""
    request_uri = check["link"].split("request_uri=", 1)[1]
    payload = _jose.parse_compact((await http.get(request_uri)).text).unverified_payload()
    return payload, await wallet.fetch_request(http, check["link"])


async def _row(desk: Desk, check: dict[str, Any]) -> Any:
    """The check's row, read through an engine of this test's own loop (asyncpg pools are per loop)."""
    ctx = VerifierContext.create(desk.node.settings)
    try:
        async with ctx.transaction() as session:
            return await store.check(session, check["id"])
    finally:
        await ctx.engine.dispose()


def test_our_wallet_answers_encrypted_by_default_and_the_key_is_erased_after(desk: Desk,
                                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def story() -> tuple[dict[str, Any], dict[str, Any], Any, Any]:
        async with httpx.AsyncClient(timeout=20) as http:
            check = await desk.check(http)  # x509_hash, no response_mode: the HAIP default
            payload, _request_seen = await _request(http, check)
            before = await _row(desk, check)
            answered = await desk.present(http, check, desk.credential(None))
            assert answered.status_code == 200, answered.text
            return payload, await desk.outcome(http, check), before, await _row(desk, check)

    payload, result, before, after = asyncio.run(story())
    assert payload["response_mode"] == "direct_post.jwt" and payload["client_id"].startswith("x509_hash:")
    assert result["accepted"] is True, result
    assert before.response_key is not None and after.response_key is None  # sealed while open, erased after
    private_d = encrypted_responses.unseal(desk.ctx.node, before.response_key, before.id).private_numbers()
    assert b64url_encode(private_d.private_value.to_bytes(32, "big")) not in caplog.text


def test_a_plain_answer_another_key_a_tampered_jwe_and_a_wrong_enc_are_refused(desk: Desk) -> None:
    async def story() -> tuple[dict[str, httpx.Response], dict[str, Any], Any]:
        async with httpx.AsyncClient(timeout=20) as http:
            check = await desk.check(http)
            payload, request = await _request(http, check)
            vp = wallet.vp_token(request, {"registration": desk.credential(None)}, desk.ctx.now())
            inner = {"vp_token": json.loads(vp), "state": payload["state"]}
            [public] = payload["client_metadata"]["jwks"]["keys"]
            theirs = encrypted_responses.new_key()
            good_for = wallet_jwe.choose(payload["client_metadata"])
            sent = {
                "plain": {"vp_token": vp, "state": payload["state"]},
                "another key": {"response": _jwcrypto_encrypt(theirs, kid=public["kid"], payload=inner)},
                "tampered": {"response": _flip(wallet_jwe.encrypt(good_for, inner), 3)},
                "wrong enc": {"response": _rewrite_header(wallet_jwe.encrypt(good_for, inner), enc="A192GCM")},
                # encrypted to the check's own key by jwcrypto, with "\ud800" as the vp_token: was a 500
                # (its UTF-8 at the sealing), unauthenticated (helper-78)
                "a lone surrogate": {"response": _to_the_check(public, {"vp_token": "\ud800",
                                                                        "state": payload["state"]})},
            }
            answers = {why: await http.post(payload["response_uri"], data=form) for why, form in sent.items()}
            pending = await desk.result(http, check)
            assert pending.status_code == 202 and pending.json()["declined"] is False, pending.text
            answered = await wallet.answer(http, request, vp)  # the real answer still goes through
            assert answered.status_code == 200, answered.text
            return answers, await desk.outcome(http, check), await _row(desk, check)

    answers, result, row = asyncio.run(story())
    for why, response in answers.items():
        assert response.status_code == 400 and response.json()["error"] == "invalid_request", (why, response.text)
    assert "encrypted response" in answers["plain"].json()["error_description"]
    assert result["accepted"] is True, result
    assert row.response_key is None


def test_a_plain_error_is_read_the_desk_may_choose_plain_and_did_stays_plain(desk: Desk) -> None:
    async def story() -> tuple[httpx.Response, httpx.Response, str, str, dict[str, Any]]:
        async with httpx.AsyncClient(timeout=20) as http:
            check = await desk.check(http)
            payload, _ = await _request(http, check)
            # §8.3.1: a wallet that cannot encrypt may send its error unencrypted (a hint, as ever)
            declined = await http.post(payload["response_uri"], data={"error": "access_denied",
                                                                       "state": payload["state"]})
            hint = await desk.result(http, check)
            plain_check = await desk.check(http, response_mode="direct_post")
            did_check = await desk.check(http, client_id_prefix="decentralized_identifier")
            modes = [(await _request(http, c))[0]["response_mode"] for c in (plain_check, did_check)]
            assert (await desk.present(http, plain_check, desk.credential(None))).status_code == 200
            return declined, hint, modes[0], modes[1], await desk.outcome(http, plain_check)

    declined, hint, plain_mode, did_mode, plain_result = asyncio.run(story())
    assert declined.status_code == 200 and hint.json() == {"phase": "pending", "declined": True}
    assert plain_mode == did_mode == "direct_post"
    assert plain_result["accepted"] is True, plain_result
