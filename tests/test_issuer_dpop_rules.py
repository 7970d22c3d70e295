"""issuer/dpop.py on its own (pure, ``now`` given): the htu comparison of RFC 9449 section 4.3, the
server nonce, and properties — any text as a proof or an htu is refused with the RFC's error, never
an exception of another type (the route would answer 500)."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import OAuthError
from core.keys import generate
from issuer import dpop
from wallet import dpop as wallet_dpop

URI = "https://node.example/issuers/ngo/credential"
NOW = 1_800_000_000


def _digest(purpose: str, text: str) -> str:
    return hmac.new(b"k" * 32, f"{purpose}:{text}".encode(), hashlib.sha256).hexdigest()


def _check(proof: str, **kw: object) -> dpop.Proof:
    args: dict[str, object] = {"method": "POST", "uri": URI, "now": NOW, "nonce_fresh": lambda n: n == "n",
                               "next_nonce": "next", "at_resource": True, **kw}
    return dpop.check(proof, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize("htu", [URI, URI + "?a=b", URI + "#frag", "HTTPS://NODE.example/issuers/ngo/credential",
                                 "https://node.example:443/issuers/ngo/credential"])
def test_htu_variants_that_name_the_same_endpoint_are_accepted(htu: str) -> None:
    key = generate()
    proof = wallet_dpop.proof(key, "POST", htu, nonce="n", now=NOW)
    if "?" in htu or "#" in htu:  # our wallet drops them itself: sign the raw htu to test the server's side
        from core import _jose
        jws = _jose.parse_compact(proof)
        proof = _jose.sign_compact(dict(jws.unverified_header), {**jws.unverified_payload(), "htu": htu}, key)
    assert _check(proof).jkt == key.public_key().thumbprint()


@pytest.mark.parametrize("htu", ["https://node.example/issuers/ngo/token", "http://node.example/issuers/ngo/credential",
                                 "https://node.example:8443/issuers/ngo/credential",
                                 "https://user@node.example/issuers/ngo/credential", "/issuers/ngo/credential",
                                 "https://other.example/issuers/ngo/credential"])
def test_htu_of_another_endpoint_is_refused(htu: str) -> None:
    from core import _jose
    key = generate()
    jws = _jose.parse_compact(wallet_dpop.proof(key, "POST", URI, nonce="n", now=NOW))
    proof = _jose.sign_compact(dict(jws.unverified_header), {**jws.unverified_payload(), "htu": htu}, key)
    with pytest.raises(OAuthError) as refused:
        _check(proof)
    assert refused.value.error == "invalid_dpop_proof" and refused.value.status == 401
    assert refused.value.headers["DPoP-Nonce"] == "next"
    assert refused.value.headers["WWW-Authenticate"] == 'DPoP error="invalid_dpop_proof", algs="ES256"'


def test_at_the_token_endpoint_the_errors_are_400_without_a_challenge() -> None:
    key = generate()
    with pytest.raises(OAuthError) as refused:
        _check(wallet_dpop.proof(key, "POST", URI, now=NOW), at_resource=False)
    assert (refused.value.error, refused.value.status) == ("use_dpop_nonce", 400)
    assert "WWW-Authenticate" not in refused.value.headers and refused.value.headers["DPoP-Nonce"] == "next"


def test_the_server_nonce_is_bound_to_its_issuer_and_expires() -> None:
    nonce = dpop.mint_nonce(_digest, "https://node.example/issuers/ngo", NOW)
    assert dpop.nonce_is_fresh(_digest, "https://node.example/issuers/ngo", nonce, NOW + dpop.NONCE_TTL_S - 1)
    assert not dpop.nonce_is_fresh(_digest, "https://node.example/issuers/ngo", nonce, NOW + dpop.NONCE_TTL_S)
    assert not dpop.nonce_is_fresh(_digest, "https://node.example/issuers/other", nonce, NOW)
    expiry, random_part, _tag = nonce.split(".")
    assert not dpop.nonce_is_fresh(_digest, "https://node.example/issuers/ngo", f"{int(expiry) + 100}.{random_part}."
                                   f"{_tag}", NOW)


def test_a_bearer_token_sent_as_dpop_and_a_bound_one_sent_as_bearer_are_refused() -> None:
    key = generate()
    proof = _check(wallet_dpop.proof(key, "POST", URI, nonce="n", now=NOW))
    with pytest.raises(OAuthError, match="not DPoP-bound"):
        dpop.check_binding(None, proof, next_nonce=lambda: "next")
    with pytest.raises(OAuthError, match="send it as DPoP") as refused:
        dpop.check_binding(proof.jkt, None, next_nonce=lambda: "next")
    assert refused.value.headers["WWW-Authenticate"].startswith("DPoP ")
    assert refused.value.headers["DPoP-Nonce"] == "next"
    with pytest.raises(OAuthError, match="not signed with the key") as refused:
        dpop.check_binding(generate().public_key().thumbprint(), proof, next_nonce=lambda: "after")
    assert refused.value.headers["DPoP-Nonce"] == "after"

    def no_nonce() -> str:
        raise AssertionError("a token used as it was issued needs no nonce (a keyed digest each request)")
    dpop.check_binding(proof.jkt, proof, next_nonce=no_nonce)
    dpop.check_binding(None, None, next_nonce=no_nonce)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_normalised_uri_never_raises_and_is_idempotent(text: str) -> None:
    once = dpop.normalised_uri(text)
    if once is not None:
        assert dpop.normalised_uri(once) == once
        assert "?" not in once and "#" not in once


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=400), st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_=",
                                                          max_size=80), min_size=1, max_size=4).map(".".join)))
def test_any_text_as_a_proof_is_refused_with_the_rfcs_error(text: str) -> None:
    with pytest.raises(OAuthError) as refused:
        _check(text)
    assert refused.value.error in ("invalid_dpop_proof", "use_dpop_nonce")


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["jti", "htm", "htu", "iat", "nonce", "ath"]),
                       st.one_of(st.none(), st.booleans(), st.integers(),
                                 st.floats(allow_nan=False, allow_infinity=False),
                                 st.text(max_size=20), st.lists(st.integers(), max_size=2))))
def test_any_claims_in_a_signed_proof_are_refused_cleanly_unless_right(claims: dict[str, object]) -> None:
    from core import _jose
    key = generate()
    proof = _jose.sign_compact({"typ": dpop.TYP, "jwk": key.public_key().to_jwk()}, dict(claims), key)
    try:
        _check(proof)
    except OAuthError as exc:
        assert exc.error in ("invalid_dpop_proof", "use_dpop_nonce")


@pytest.mark.parametrize("alg", [["ES256"], {"ES256": 1}, 7])
def test_a_proof_whose_jwk_names_its_alg_as_no_string_is_refused(alg: object) -> None:
    """The key in a DPoP proof's header is the stranger's: an array as its "alg" was a TypeError
    (unhashable), a 500 at the token endpoint, before core.keys checked the type first."""
    from core import _jose
    key = generate()
    jwk = key.public_key().to_jwk() | {"alg": alg}
    proof = _jose.sign_compact({"typ": dpop.TYP, "jwk": jwk}, {"jti": "j", "htm": "POST", "htu": URI, "iat": NOW,
                                                               "nonce": "n"}, key)
    with pytest.raises(OAuthError) as refused:
        _check(proof)
    assert refused.value.error == "invalid_dpop_proof"
