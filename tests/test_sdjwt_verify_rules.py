"""One negative test (at least) for every verification rule of RFC 9901 section 7 and 9."""

from __future__ import annotations

from typing import Any

import pytest

from core import _jose, errors, keys
from core.encoding import b64url_encode, b64url_json
from core.sdjwt import KeyBindingPolicy, VerifyPolicy, issue, present, verify, verify_issued
from tests import craft
from tests.conftest import NOW

AUD, NONCE = "https://verifier.test", "n-1"
KB = KeyBindingPolicy(audience=AUD, nonce=NONCE)


@pytest.fixture(scope="module")
def iss() -> keys.PrivateKey:
    return keys.generate("ES256")


@pytest.fixture(scope="module")
def holder() -> keys.PrivateKey:
    return keys.generate("ES256")


def check(token: str, iss: keys.PrivateKey, kb: KeyBindingPolicy | None = None,
          policy: VerifyPolicy | None = None) -> dict[str, Any]:
    kwargs = {"policy": policy} if policy else {}
    return verify(token, issuer_keys=[iss.public_key()], now=NOW, key_binding=kb, **kwargs).claims


def with_kb(sd_jwt: str, holder: keys.PrivateKey, **kw: Any) -> str:
    kw.setdefault("iat", NOW)
    return sd_jwt + craft.kb_jwt(sd_jwt, holder, **kw)


# --- the Issuer-signed JWT -----------------------------------------------------------


def test_alg_none_refused(iss: keys.PrivateKey) -> None:
    token = craft.unsigned({"alg": "none", "typ": "example+sd-jwt"}, {"iss": "x"}) + "~"
    with pytest.raises(errors.UnsupportedAlgorithm):
        check(token, iss)


def test_hmac_refused_even_keyed_with_the_public_key(iss: keys.PrivateKey) -> None:
    import hashlib
    import hmac

    signing_input = f"{b64url_json({'alg': 'HS256'})}.{b64url_json({'iss': 'x'})}"
    secret = repr(iss.public_key().to_jwk()).encode()
    sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(errors.UnsupportedAlgorithm):
        check(f"{signing_input}.{b64url_encode(sig)}~", iss)


def test_alg_must_match_the_key_type(iss: keys.PrivateKey) -> None:
    token = craft.sd_jwt({"iss": "x"}, [], iss)
    _, rest = token.split(".", 1)
    relabelled = b64url_json({"alg": "EdDSA", "typ": "example+sd-jwt"}) + "." + rest
    with pytest.raises(errors.UnknownIssuerKey):
        check(relabelled, iss)


def test_signature_by_another_key_claiming_the_trusted_kid_refused(iss: keys.PrivateKey) -> None:
    forger = keys.generate("ES256", kid=iss.kid)
    with pytest.raises(errors.InvalidSignature):
        check(craft.sd_jwt({"iss": "x"}, [], forger), iss)


def test_unknown_kid_refused(iss: keys.PrivateKey) -> None:
    with pytest.raises(errors.UnknownIssuerKey):
        check(craft.sd_jwt({"iss": "x"}, [], keys.generate("ES256")), iss)


def test_unknown_crit_refused(iss: keys.PrivateKey) -> None:
    with pytest.raises(errors.UnsupportedCriticalHeader):
        check(craft.sd_jwt({"iss": "x"}, [], iss, header={"crit": ["b64"], "b64": False}), iss)


def test_expected_typ_enforced(iss: keys.PrivateKey) -> None:
    token = craft.sd_jwt({"iss": "x"}, [], iss)
    with pytest.raises(errors.InvalidTokenType):
        check(token, iss, policy=VerifyPolicy(typ="dc+sd-jwt"))


@pytest.mark.parametrize("sd_alg", ["md5", "sha-256-32", "SHA-256", 256, ["sha-256"], {"sha-256": 1}, None, True])
def test_sd_alg_allow_list(iss: keys.PrivateKey, sd_alg: object) -> None:
    with pytest.raises(errors.UnsupportedHashAlgorithm):
        check(craft.sd_jwt({"_sd_alg": sd_alg}, [], iss), iss)


def test_sd_alg_only_at_top_level(iss: keys.PrivateKey) -> None:
    with pytest.raises(errors.MalformedToken):
        check(craft.sd_jwt({"a": {"_sd_alg": "sha-256"}}, [], iss), iss)


def test_sha512_digests_accepted(iss: keys.PrivateKey) -> None:
    token = issue({"a": 1}, issuer_key=iss, disclosable=[("a",)], sd_alg="sha-512")
    assert check(token, iss)["a"] == 1


# --- Disclosures -----------------------------------------------------------------------


def test_rfc_example_digest() -> None:
    from core.sdjwt._disclosures import digest, hasher

    d = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0"
    assert digest(d, hasher("sha-256")) == "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"


def test_disclosure_hashed_exactly_as_received(iss: keys.PrivateKey) -> None:
    """Re-encoding the same content differently (section 4.2.1 variants) breaks the digest."""
    encoded, digest = craft.disclosure("name", "Möbius")
    token = craft.sd_jwt({"_sd": [digest]}, [encoded], iss)
    assert check(token, iss)["name"] == "Möbius"
    from core.encoding import b64url_decode

    spaced = b64url_encode(b64url_decode(encoded).replace(b",", b", "))
    with pytest.raises(errors.UnreferencedDisclosure):
        check(token.replace(encoded, spaced), iss)


def test_duplicate_digest_in_sd_refused(iss: keys.PrivateKey) -> None:
    encoded, digest = craft.disclosure("a", 1)
    with pytest.raises(errors.DuplicateDigest):
        check(craft.sd_jwt({"_sd": [digest, digest]}, [encoded], iss), iss)


def test_duplicate_digest_across_object_and_array_refused(iss: keys.PrivateKey) -> None:
    _, digest = craft.disclosure("a", 1)
    with pytest.raises(errors.DuplicateDigest):
        check(craft.sd_jwt({"_sd": [digest], "arr": [{"...": digest}]}, [], iss), iss)


def test_duplicate_digest_reached_through_a_disclosure_refused(iss: keys.PrivateKey) -> None:
    inner, inner_digest = craft.disclosure("x", 1)
    outer, outer_digest = craft.disclosure("obj", {"_sd": [inner_digest]})
    token = craft.sd_jwt({"_sd": [outer_digest, inner_digest]}, [outer, inner], iss)
    with pytest.raises(errors.DuplicateDigest):
        check(token, iss)


def test_disclosure_sent_twice_refused(iss: keys.PrivateKey) -> None:
    encoded, digest = craft.disclosure("a", 1)
    with pytest.raises(errors.DuplicateDisclosure):
        check(craft.sd_jwt({"_sd": [digest]}, [encoded, encoded], iss), iss)


def test_unreferenced_disclosure_refused(iss: keys.PrivateKey) -> None:
    stray, _ = craft.disclosure("admin", True)
    with pytest.raises(errors.UnreferencedDisclosure):
        check(craft.sd_jwt({"iss": "x"}, [stray], iss), iss)


def test_decoy_digests_are_ignored(iss: keys.PrivateKey) -> None:
    _, decoy = craft.disclosure("never-sent", 0)
    assert check(craft.sd_jwt({"a": 1, "_sd": [decoy]}, [], iss), iss) == {"a": 1}


@pytest.mark.parametrize("name", ["_sd", "...", "_sd_alg"])
def test_reserved_names_in_disclosures_refused(iss: keys.PrivateKey, name: str) -> None:
    encoded, digest = craft.disclosure(name, ["x"])
    with pytest.raises(errors.ReservedClaimName):
        check(craft.sd_jwt({"_sd": [digest]}, [encoded], iss), iss)


def test_ellipsis_as_plain_claim_name_refused(iss: keys.PrivateKey) -> None:
    with pytest.raises(errors.ReservedClaimName):
        check(craft.sd_jwt({"obj": {"...": "x"}}, [], iss), iss)


def test_array_digest_object_with_extra_keys_refused(iss: keys.PrivateKey) -> None:
    _, digest = craft.disclosure(1)
    with pytest.raises(errors.ReservedClaimName):
        check(craft.sd_jwt({"arr": [{"...": digest, "x": 1}]}, [], iss), iss)


def test_sd_must_be_an_array(iss: keys.PrivateKey) -> None:
    with pytest.raises(errors.MalformedToken):
        check(craft.sd_jwt({"_sd": "abc"}, [], iss), iss)


def test_disclosed_name_that_exists_in_plain_refused(iss: keys.PrivateKey) -> None:
    encoded, digest = craft.disclosure("role", "admin")
    with pytest.raises(errors.ClaimNameCollision):
        check(craft.sd_jwt({"role": "user", "_sd": [digest]}, [encoded], iss), iss)


def test_two_disclosures_of_one_name_refused(iss: keys.PrivateKey) -> None:
    a, da = craft.disclosure("role", "user")
    b, db = craft.disclosure("role", "admin")
    with pytest.raises(errors.ClaimNameCollision):
        check(craft.sd_jwt({"_sd": [da, db]}, [a, b], iss), iss)


@pytest.mark.parametrize(
    "content",
    [["salt", "a", 1, "extra"], ["salt"], [1, "a", 1], ["salt", 2, 3], {"salt": "a"}, "salt"],
)
def test_malformed_disclosure_refused(iss: keys.PrivateKey, content: Any) -> None:
    from core.encoding import json_dumps_compact
    from core.sdjwt._disclosures import digest, hasher

    encoded = b64url_encode(json_dumps_compact(content).encode())
    d = digest(encoded, hasher("sha-256"))
    with pytest.raises(errors.MalformedDisclosure):
        check(craft.sd_jwt({"_sd": [d]}, [encoded], iss), iss)


def test_array_disclosure_in_sd_refused(iss: keys.PrivateKey) -> None:
    encoded, digest = craft.disclosure("value-only")
    with pytest.raises(errors.MalformedDisclosure):
        check(craft.sd_jwt({"_sd": [digest]}, [encoded], iss), iss)


def test_object_disclosure_in_array_refused(iss: keys.PrivateKey) -> None:
    encoded, digest = craft.disclosure("name", "value")
    with pytest.raises(errors.MalformedDisclosure):
        check(craft.sd_jwt({"arr": [{"...": digest}]}, [encoded], iss), iss)


def test_disclosure_with_duplicate_json_keys_refused(iss: keys.PrivateKey) -> None:
    encoded = b64url_encode(b'["salt", "a", {"x": 1, "x": 2}]')
    from core.sdjwt._disclosures import digest, hasher

    with pytest.raises(errors.MalformedDisclosure):
        check(craft.sd_jwt({"_sd": [digest(encoded, hasher("sha-256"))]}, [encoded], iss), iss)


def test_several_undisclosed_array_elements_removed(iss: keys.PrivateKey) -> None:
    shown, d_shown = craft.disclosure("FR")
    _, d1 = craft.disclosure("DE")
    _, d3 = craft.disclosure("UK")
    token = craft.sd_jwt({"n": [{"...": d1}, "plain", {"...": d_shown}, {"...": d3}]}, [shown], iss)
    result = verify(token, issuer_keys=[iss.public_key()], now=NOW, key_binding=None)
    assert result.claims["n"] == ["plain", "FR"]
    assert result.disclosed == {("n", 1)}


# --- time ------------------------------------------------------------------------------


def test_expired_refused_beyond_skew_only(iss: keys.PrivateKey) -> None:
    assert check(craft.sd_jwt({"exp": NOW - 30}, [], iss), iss)  # inside 60 s skew
    with pytest.raises(errors.Expired):
        check(craft.sd_jwt({"exp": NOW - 61}, [], iss), iss)
    with pytest.raises(errors.Expired):
        check(craft.sd_jwt({"exp": NOW - 1}, [], iss), iss, policy=VerifyPolicy(clock_skew_s=0))


def test_not_yet_valid_refused(iss: keys.PrivateKey) -> None:
    with pytest.raises(errors.NotYetValid):
        check(craft.sd_jwt({"nbf": NOW + 3600}, [], iss), iss)


def test_issued_in_future_refused(iss: keys.PrivateKey) -> None:
    with pytest.raises(errors.IssuedInFuture):
        check(craft.sd_jwt({"iat": NOW + 3600}, [], iss), iss)


@pytest.mark.parametrize("bad", ["1800000000", True, None.__class__.__name__, [1]])
def test_time_claims_must_be_numbers(iss: keys.PrivateKey, bad: object) -> None:
    with pytest.raises(errors.MalformedToken):
        check(craft.sd_jwt({"exp": bad}, [], iss), iss)


# --- key binding -----------------------------------------------------------------------


def test_stripping_the_kb_jwt_fails_when_kb_is_required(iss: keys.PrivateKey, holder: keys.PrivateKey) -> None:
    sd = craft.sd_jwt({"cnf": craft.cnf(holder)}, [], iss)
    assert check(with_kb(sd, holder), iss, KB)
    with pytest.raises(errors.KeyBindingMissing):
        check(sd, iss, KB)


@pytest.mark.parametrize("typ", ["JWT", "kb+JWT", None])
def test_kb_typ_must_be_kb_jwt(iss: keys.PrivateKey, holder: keys.PrivateKey, typ: str | None) -> None:
    sd = craft.sd_jwt({"cnf": craft.cnf(holder)}, [], iss)
    with pytest.raises(errors.InvalidTokenType):
        check(with_kb(sd, holder, header={"typ": typ}), iss, KB)


@pytest.mark.parametrize("aud", ["https://other.test", [AUD], [AUD, "https://other.test"], None])
def test_kb_aud_is_one_exact_string(iss: keys.PrivateKey, holder: keys.PrivateKey, aud: Any) -> None:
    sd = craft.sd_jwt({"cnf": craft.cnf(holder)}, [], iss)
    with pytest.raises(errors.AudienceMismatch):
        check(with_kb(sd, holder, aud=aud), iss, KB)


@pytest.mark.parametrize("nonce", ["n-2", "n-1 ", 1, None])
def test_kb_nonce_exact(iss: keys.PrivateKey, holder: keys.PrivateKey, nonce: Any) -> None:
    sd = craft.sd_jwt({"cnf": craft.cnf(holder)}, [], iss)
    with pytest.raises(errors.NonceMismatch):
        check(with_kb(sd, holder, nonce=nonce), iss, KB)


@pytest.mark.parametrize("iat", [NOW - 300 - 61, NOW + 61])
def test_kb_iat_inside_window(iss: keys.PrivateKey, holder: keys.PrivateKey, iat: int) -> None:
    sd = craft.sd_jwt({"cnf": craft.cnf(holder)}, [], iss)
    with pytest.raises(errors.KeyBindingTooOld):
        check(with_kb(sd, holder, iat=iat), iss, KB)


def test_kb_iat_required(iss: keys.PrivateKey, holder: keys.PrivateKey) -> None:
    sd = craft.sd_jwt({"cnf": craft.cnf(holder)}, [], iss)
    with pytest.raises(errors.MalformedToken):
        check(with_kb(sd, holder, iat=None), iss, KB)


def test_sd_hash_covers_the_exact_presentation(iss: keys.PrivateKey, holder: keys.PrivateKey) -> None:
    a, da = craft.disclosure("a", 1)
    b, db = craft.disclosure("b", 2)
    full = craft.sd_jwt({"cnf": craft.cnf(holder), "_sd": [da, db]}, [a, b], iss)
    only_a = craft.sd_jwt({"cnf": craft.cnf(holder), "_sd": [da, db]}, [a], iss)
    kb_for_a = craft.kb_jwt(only_a, holder, iat=NOW)
    assert check(only_a + kb_for_a, iss, KB)["a"] == 1
    with pytest.raises(errors.SdHashMismatch):  # a Disclosure added after the holder signed
        check(full + kb_for_a, iss, KB)
    with pytest.raises(errors.SdHashMismatch):
        check(with_kb(full, holder, sd_hash=b64url_encode(b"\0" * 32)), iss, KB)


@pytest.mark.parametrize("issuer_alg", ["ES256", "EdDSA"])
@pytest.mark.parametrize("sd_alg", ["sha-256", "sha-384"])
def test_sd_hash_checked_whatever_the_issuer_alg_and_sd_alg(issuer_alg: keys.Alg, sd_alg: str,
                                                            holder: keys.PrivateKey) -> None:
    """ES256 with sha-256 continues the signature's hash for sd_hash; the other pairs hash anew: both
    accept the holder's sd_hash and refuse one taken over another presentation."""
    issuer = keys.generate(issuer_alg)
    issued = issue({"a": 1, "b": 2}, issuer_key=issuer, disclosable=[("a",), ("b",)], sd_alg=sd_alg,
                   holder_key=holder.public_key())
    shown = present(issued, [("a",)], holder_key=holder, audience=AUD, nonce=NONCE, now=NOW)
    assert check(shown, issuer, KB)["a"] == 1
    other = present(issued, [("b",)], holder_key=holder, audience=AUD, nonce=NONCE, now=NOW)
    sd_jwt, kb = shown[: shown.rindex("~") + 1], other[other.rindex("~") + 1 :]
    with pytest.raises(errors.SdHashMismatch):
        check(sd_jwt + kb, issuer, KB)


def test_kb_signed_by_another_key_refused(iss: keys.PrivateKey, holder: keys.PrivateKey) -> None:
    sd = craft.sd_jwt({"cnf": craft.cnf(holder)}, [], iss)
    with pytest.raises(errors.InvalidSignature):
        check(sd + craft.kb_jwt(sd, keys.generate("ES256"), iat=NOW), iss, KB)


def test_kb_alg_none_refused(iss: keys.PrivateKey, holder: keys.PrivateKey) -> None:
    sd = craft.sd_jwt({"cnf": craft.cnf(holder)}, [], iss)
    kb = craft.unsigned({"alg": "none", "typ": "kb+jwt"}, {"iat": NOW, "aud": AUD, "nonce": NONCE})
    with pytest.raises(errors.UnsupportedAlgorithm):
        check(sd + kb, iss, KB)


@pytest.mark.parametrize(
    "cnf",
    [None, {"jku": "https://evil.test/jwks"}, {"jwk": {"kty": "EC"}}, {"kid": "k1"}, "jwk"],
)
def test_holder_key_only_from_cnf_jwk(iss: keys.PrivateKey, holder: keys.PrivateKey, cnf: Any) -> None:
    sd = craft.sd_jwt({"cnf": cnf} if cnf is not None else {}, [], iss)
    with pytest.raises(errors.HolderKeyMissing):
        check(with_kb(sd, holder), iss, KB)


def test_cnf_jwk_with_private_material_refused(iss: keys.PrivateKey, holder: keys.PrivateKey) -> None:
    sd = craft.sd_jwt({"cnf": {"jwk": holder.to_jwk()}}, [], iss)
    with pytest.raises(errors.HolderKeyMissing):
        check(with_kb(sd, holder), iss, KB)


def test_kb_present_but_not_required_is_still_integrity_checked(
    iss: keys.PrivateKey, holder: keys.PrivateKey
) -> None:
    sd = craft.sd_jwt({"cnf": craft.cnf(holder)}, [], iss)
    with pytest.raises(errors.SdHashMismatch):
        check(with_kb(sd, holder, sd_hash="x"), iss, None)


def test_holder_refuses_sd_jwt_plus_kb_on_receipt(iss: keys.PrivateKey, holder: keys.PrivateKey) -> None:
    sd = craft.sd_jwt({"cnf": craft.cnf(holder)}, [], iss)
    with pytest.raises(errors.UnexpectedKeyBinding):
        verify_issued(with_kb(sd, holder), issuer_keys=[iss.public_key()], now=NOW)


# --- caps and structure ----------------------------------------------------------------


def test_size_cap(iss: keys.PrivateKey) -> None:
    token = craft.sd_jwt({"blob": "x" * 5000}, [], iss)
    with pytest.raises(errors.LimitExceeded):
        check(token, iss, policy=VerifyPolicy(max_bytes=4096))


def test_disclosure_count_cap(iss: keys.PrivateKey) -> None:
    token = issue({f"c{i}": i for i in range(10)}, issuer_key=iss, disclosable=[(f"c{i}",) for i in range(10)])
    with pytest.raises(errors.LimitExceeded):
        check(token, iss, policy=VerifyPolicy(max_disclosures=9))


def test_depth_cap(iss: keys.PrivateKey) -> None:
    deep: Any = "leaf"
    for _ in range(40):
        deep = {"d": deep}
    with pytest.raises(errors.LimitExceeded):
        check(craft.sd_jwt({"deep": deep}, [], iss), iss)


def test_duplicate_member_names_in_payload_refused(iss: keys.PrivateKey) -> None:
    signing_input = b64url_json({"alg": "ES256"}) + "." + b64url_encode(b'{"role":"user","role":"admin"}')
    token = f"{signing_input}.{b64url_encode(iss.sign(signing_input.encode()))}~"
    with pytest.raises(errors.DuplicateJSONKey):
        check(token, iss)


@pytest.mark.parametrize("text", ["", "abc", "a.b.c", "~", "x~~", "{}", "[1]"])
def test_garbage_refused_with_typed_errors(iss: keys.PrivateKey, text: str) -> None:
    with pytest.raises(errors.InvalidInput):
        check(text, iss)


def test_non_canonical_base64_signature_refused(iss: keys.PrivateKey) -> None:
    token = craft.sd_jwt({"iss": "x"}, [], iss)
    jwt = token[:-1]
    last = jwt[-1]
    # 64-byte signature: 86 chars, the last carries 2 data bits and 4 unused ones.
    from core.encoding import _B64URL_INDEX

    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = alphabet[_B64URL_INDEX[ord(last)] | 0x01]
    assert twin != last
    with pytest.raises(errors.MalformedToken):
        check(jwt[:-1] + twin + "~", iss)


def test_present_keeps_issued_order_and_minimum(iss: keys.PrivateKey, holder: keys.PrivateKey) -> None:
    token = issue({"a": 1, "b": {"c": 2, "d": 3}}, issuer_key=iss,
                  disclosable=[("a",), ("b",), ("b", "c"), ("b", "d")], holder_key=holder.public_key())
    shown = present(token, [("b", "c")], holder_key=holder, audience=AUD, nonce=NONCE, now=NOW)
    assert check(shown, iss, KB) == {"b": {"c": 2}, "cnf": craft.cnf(holder)}


def test_key_binding_of_judges_the_binding_alone(iss: keys.PrivateKey, holder: keys.PrivateKey) -> None:
    """``key_binding_of`` and ``binds`` (what tells a holder's failed answer from junk and from one
    made for another request, verifier.verification): the issuer's signature and a key binding by
    ``cnf``'s key over this SD-JWT, nothing else; then its audience and nonce. An expired credential
    and a stale key binding still bind; another issuer, another holder key, a changed Disclosure
    list or no key binding have none; another nonce or audience does not bind."""
    from core.sdjwt import binds, key_binding_of

    def issued(exp: int, key: keys.PrivateKey = iss) -> str:
        return issue({"a": 1, "exp": exp, "cnf": craft.cnf(holder)}, issuer_key=key, disclosable=[("a",)])

    def made(token: str, keys_: list[keys.PublicKey] | None = None) -> dict[str, Any] | None:
        return key_binding_of(token, issuer_keys=keys_ or [iss.public_key()])

    fresh, expired = issued(NOW + 3600), issued(NOW - 3600)
    for token in (with_kb(fresh, holder), with_kb(expired, holder), with_kb(fresh, holder, iat=NOW - 86400)):
        found = made(token)
        assert found is not None and binds(found, KB), token
    other_issuer = keys.generate("ES256")
    assert made(with_kb(issued(NOW + 3600, other_issuer), holder)) is None
    assert made(with_kb(fresh, holder), [other_issuer.public_key()]) is None
    assert made(with_kb(fresh, keys.generate("ES256"))) is None
    assert made(fresh) is None  # no key binding
    assert made(fresh.split("~")[0] + "~" + craft.kb_jwt(fresh, holder, iat=NOW)) is None  # sd_hash of another list
    assert made("not a presentation") is None
    for elsewhere in ({"nonce": "another"}, {"aud": "https://elsewhere.test"}, {"nonce": 7}):
        found = made(with_kb(fresh, holder, **elsewhere))
        assert found is not None and not binds(found, KB), elsewhere
    assert made(fresh + _kb_with_surrogate(fresh, holder)) is None  # no text: a malformed Key Binding JWT


def _kb_with_surrogate(sd_jwt: str, holder: keys.PrivateKey) -> str:
    """A Key Binding JWT whose nonce is a lone surrogate, as JSON may escape one."""
    made = _jose.parse_compact(craft.kb_jwt(sd_jwt, holder, iat=NOW)).unverified_payload()  # its sd_hash
    return craft.signed_as_escapes({"typ": "kb+jwt"}, {**made, "nonce": "\ud800"}, holder)


def test_a_key_binding_of_any_text_is_refused_never_a_500(iss: keys.PrivateKey, holder: keys.PrivateKey) -> None:
    """hmac.compare_digest takes ASCII text only: an ``sd_hash`` or ``nonce`` outside it raised a
    TypeError, and a lone surrogate in the nonce a UnicodeEncodeError (helper-69: a 500); the JSON
    parser now refuses a lone surrogate before any comparison (helper-78)."""
    token = issue({"a": 1, "cnf": craft.cnf(holder)}, issuer_key=iss, disclosable=[("a",)])
    with pytest.raises(errors.SdHashMismatch):
        check(with_kb(token, holder, sd_hash="é"), iss, KB)
    with pytest.raises(errors.MalformedToken):
        check(token + _kb_with_surrogate(token, holder), iss, KB)
    with pytest.raises(errors.NonceMismatch):
        check(with_kb(token, holder, nonce="ñ-1"), iss, KB)
