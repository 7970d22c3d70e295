"""Verify an SD-JWT or SD-JWT+KB (RFC 9901 sections 7.1 and 7.3).

Owns every rule of section 7 and the security considerations of section 9:

- the Issuer-signed JWT: algorithm allow-list tied to the key (never ``none``, never
  HMAC), ``crit`` understood, ``typ`` as expected, signature (7.1 step 2);
- ``_sd_alg`` on the allow-list and only at the top level (4.1.1);
- Disclosures hashed exactly as received (4.2.3), none sent twice (4), each shaped as
  its place demands: three elements in ``_sd``, two in an array (7.1 step 3.3);
- ``_sd`` / ``...`` never claim names, no disclosed name already at its level, no digest
  seen twice, every Disclosure referenced (7.1 steps 3-5);
- undisclosed array elements removed, several in one array too (7.1 step 3.4);
- ``exp`` / ``nbf`` / ``iat`` against ``now`` with a clock skew (7.1 step 6);
- key binding decided by the caller's policy, never by what was presented (7.3 step 1,
  9.5): stripping the KB-JWT fails; ``typ kb+jwt``; ``aud`` one exact string; ``nonce``
  exact; ``iat`` inside a window; ``sd_hash`` over the exact presentation (4.3.1);
- caps on size, Disclosure count and nesting depth; duplicate JSON member names refused.

The walk that puts disclosed values in place (steps 3.2-3.5) is ``_unpack``. The result
records which claim paths arrived through Disclosures, so profiles such as SD-JWT VC can
refuse security-critical claims that were selectively disclosed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from core import _jose
from core.encoding import b64url_encode, numeric_date, same_text
from core.errors import (
    AmanaError,
    AudienceMismatch,
    Expired,
    HolderKeyMissing,
    InvalidKey,
    InvalidTokenType,
    IssuedInFuture,
    KeyBindingMissing,
    KeyBindingTooOld,
    LimitExceeded,
    MalformedToken,
    NonceMismatch,
    NotYetValid,
    SdHashMismatch,
    UnexpectedKeyBinding,
    UnreferencedDisclosure,
    UnsupportedHashAlgorithm,
)
from core.keys import PublicKey
from core.sdjwt import _disclosures as disc
from core.sdjwt import _format
from core.sdjwt._unpack import Unpacker
from core.sdjwt.paths import ClaimPath

KB_TYP = "kb+jwt"
IssuerKeys = Sequence[PublicKey] | Callable[[dict[str, Any], dict[str, Any]], Sequence[PublicKey]]


@dataclass(frozen=True, slots=True)
class KeyBindingPolicy:
    """What the verifier expects of the Key Binding JWT; its presence means KB is required."""

    audience: str
    nonce: str
    max_age_s: int = 300


@dataclass(frozen=True, slots=True)
class VerifyPolicy:
    algorithms: frozenset[str] = frozenset({"ES256", "EdDSA", "Ed25519"})
    sd_algs: frozenset[str] = frozenset(disc.HASH_ALGS)
    typ: str | None = None  # expected ``typ`` of the Issuer-signed JWT; None: any
    clock_skew_s: int = 60
    max_bytes: int = 256 * 1024
    max_disclosures: int = 512
    max_depth: int = 32


DEFAULT_POLICY = VerifyPolicy()


class Verified(NamedTuple):
    """The Processed SD-JWT Payload and what was learned while verifying it.

    Immutable; a NamedTuple because every verify builds one (hot path).
    """

    claims: dict[str, Any]
    header: dict[str, Any]
    issuer_key: PublicKey
    disclosed: frozenset[ClaimPath]  # paths (in ``claims``) whose value came from a Disclosure
    holder_key: PublicKey | None = None
    key_binding: dict[str, Any] | None = None


def verify(
    presentation: str,
    *,
    issuer_keys: IssuerKeys,
    now: int,
    key_binding: KeyBindingPolicy | None,
    policy: VerifyPolicy = DEFAULT_POLICY,
) -> Verified:
    """Verify a presentation. ``key_binding=None`` means the policy does not require KB."""
    parts = _format.parse(presentation, max_bytes=policy.max_bytes)
    if key_binding is not None and parts.kb_jwt is None:
        raise KeyBindingMissing()
    return _verify_parts(parts, issuer_keys, now, key_binding, policy)


def key_binding_of(presentation: str, *, issuer_keys: IssuerKeys,
                   policy: VerifyPolicy = DEFAULT_POLICY) -> dict[str, Any] | None:
    """The Key Binding JWT's payload, when ``presentation`` is signed by one of ``issuer_keys`` and
    carries a Key Binding JWT by its ``cnf`` key over this very SD-JWT (``sd_hash``); None
    otherwise. Nothing else is judged (times, types, claims, audience, nonce): for a presentation
    ``verify`` refused, a holder's own answer that failed (an expired credential, a phone's clock
    an hour off) is told from one anyone who saw the request could have posted, and one made for
    another request from both (verifier.verification). Never raises."""
    try:
        parts = _format.parse(presentation, max_bytes=policy.max_bytes)
        if parts.kb_jwt is None:
            return None
        jws = _jose.parse_compact(parts.jwt, "Issuer-signed JWT")
        alg = _jose.check_header(jws.unverified_header, policy.algorithms, "Issuer-signed JWT")
        payload = jws.unverified_payload()
        keys = issuer_keys(jws.unverified_header, payload) if callable(issuer_keys) else issuer_keys
        _jose.verify_with_any(jws, keys, alg, "Issuer-signed JWT")
        sd_alg = payload.get(disc.SD_ALG_KEY, disc.DEFAULT_SD_ALG)
        if type(sd_alg) is not str or sd_alg not in policy.sd_algs:
            return None
        # cnf as signed: SD-JWT VC never discloses it selectively (core.sdjwt.vc.NEVER_DISCLOSED)
        return _verify_kb(parts, _holder_key(payload), disc.hasher(sd_alg), 0, None, policy, jws.signing_input,
                          None)
    except AmanaError:
        return None


def binds(kb: Mapping[str, Any], expect: KeyBindingPolicy) -> bool:
    """The Key Binding JWT names this audience and nonce (section 7.3 step 5; the nonce compared in
    constant time, as any text: ``core.encoding.same_text``)."""
    aud, nonce = kb.get("aud"), kb.get("nonce")
    return isinstance(aud, str) and aud == expect.audience and isinstance(nonce, str) and same_text(nonce, expect.nonce)


def verify_issued(
    sd_jwt: str, *, issuer_keys: IssuerKeys, now: int, policy: VerifyPolicy = DEFAULT_POLICY
) -> Verified:
    """Section 7.2: what a holder checks on receipt. An SD-JWT+KB is refused."""
    parts = _format.parse(sd_jwt, max_bytes=policy.max_bytes)
    if parts.kb_jwt is not None:
        raise UnexpectedKeyBinding()
    return _verify_parts(parts, issuer_keys, now, None, policy)


def _verify_parts(
    parts: _format.Parts,
    issuer_keys: IssuerKeys,
    now: int,
    key_binding: KeyBindingPolicy | None,
    policy: VerifyPolicy,
) -> Verified:
    if len(parts.disclosures) > policy.max_disclosures:
        raise LimitExceeded(f"more than {policy.max_disclosures} Disclosures")

    jws = _jose.parse_compact(parts.jwt, "Issuer-signed JWT")
    header = jws.unverified_header
    alg = _jose.check_header(header, policy.algorithms, "Issuer-signed JWT")
    if policy.typ is not None and header.get("typ") != policy.typ:
        raise InvalidTokenType(f"Issuer-signed JWT typ must be {policy.typ!r}")
    unverified_payload = jws.unverified_payload()
    keys = issuer_keys(header, unverified_payload) if callable(issuer_keys) else issuer_keys
    # ES256 hashes the signing input with SHA-256; so does sd_hash (the default _sd_alg), whose
    # input begins with it: one hash serves both, continued past it for sd_hash (_verify_kb).
    signed_hash = hashlib.sha256(jws.signing_input) if alg == "ES256" else None
    issuer_key = _jose.verify_with_any(jws, keys, alg, "Issuer-signed JWT", signed_hash)
    payload = unverified_payload  # the signature covers exactly these bytes: verified from here on

    sd_alg = payload.get(disc.SD_ALG_KEY, disc.DEFAULT_SD_ALG)
    if type(sd_alg) is not str or sd_alg not in policy.sd_algs:  # an array or object is unhashable: refused, not a 500
        raise UnsupportedHashAlgorithm(f"_sd_alg must be one of {sorted(policy.sd_algs)}")
    hash_fn = disc.hasher(sd_alg)

    by_digest = disc.index(parts.disclosures, hash_fn)
    unpacker = Unpacker(by_digest, policy.max_depth)
    claims = unpacker.unpack_object(payload, (), 0)
    if unpacker.used != len(by_digest):
        raise UnreferencedDisclosure(f"{len(by_digest) - unpacker.used} Disclosure(s) unreferenced")
    claims.pop(disc.SD_ALG_KEY, None)

    _check_validity(claims, now, policy.clock_skew_s, "SD-JWT")

    holder_key = None
    kb_payload = None
    if parts.kb_jwt is not None:
        holder_key = _holder_key(claims)
        if hash_fn is not hashlib.sha256:  # _sd_alg sha-384 or sha-512: sd_hash starts afresh
            signed_hash = None
        kb_payload = _verify_kb(parts, holder_key, hash_fn, now, key_binding, policy, jws.signing_input, signed_hash)
    return Verified(claims, header, issuer_key, frozenset(unpacker.disclosed), holder_key, kb_payload)


def _check_validity(claims: dict[str, Any], now: int, skew: int, what: str) -> None:
    """``exp``, ``nbf`` and ``iat`` (RFC 7519 section 4.1), each a NumericDate if present."""
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    for name, value in (("exp", exp), ("nbf", nbf), ("iat", iat)):
        if value is not None and not numeric_date(value):
            raise MalformedToken(f"{what} {name} must be a NumericDate")
    if exp is not None and now >= exp + skew:
        raise Expired(f"{what} expired")
    if nbf is not None and now + skew < nbf:
        raise NotYetValid(f"{what} is not valid yet")
    if iat is not None and iat > now + skew:
        raise IssuedInFuture(f"{what} iat lies in the future")


def _holder_key(claims: dict[str, Any]) -> PublicKey:
    """Section 4.1.2 / RFC 7800: the holder key is ``cnf.jwk``, by value, never fetched."""
    cnf = claims.get("cnf")
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if jwk is None:
        raise HolderKeyMissing()
    try:
        return PublicKey.from_jwk(jwk)
    except InvalidKey as exc:
        raise HolderKeyMissing(f"cnf.jwk is not usable: {exc.detail}") from exc


def _verify_kb(
    parts: _format.Parts,
    holder_key: PublicKey,
    hash_fn: Callable[[bytes], Any],
    now: int,
    expect: KeyBindingPolicy | None,
    policy: VerifyPolicy,
    signing_input: bytes,
    signed_hash: hashlib._Hash | None,
) -> dict[str, Any]:
    """Section 7.3 step 5. Without ``expect`` only integrity is checked, not freshness.

    ``signed_hash``, when ``hash_fn`` is SHA-256 and the Issuer-signed JWT is ES256: the hash its
    signature check took over ``signing_input``, the first bytes of the sd_hash input; continued here.
    """
    assert parts.kb_jwt is not None
    jws = _jose.parse_compact(parts.kb_jwt, "Key Binding JWT")
    alg = _jose.check_header(jws.unverified_header, policy.algorithms, "Key Binding JWT")
    if jws.unverified_header.get("typ") != KB_TYP:
        raise InvalidTokenType("Key Binding JWT typ must be 'kb+jwt'")
    _jose.verify_with(jws, holder_key, alg, "Key Binding JWT")
    kb = jws.unverified_payload()  # verified from here on

    if signed_hash is None:
        sd_digest = hash_fn(parts.sd_jwt_compact().encode("ascii")).digest()
    else:  # "<signing input>" hashed already; ".<signature>~<D1>~...~<Dn>~" left (a quarter of it)
        signed_hash.update("~".join((parts.jwt[len(signing_input):], *parts.disclosures, "")).encode("ascii"))
        sd_digest = signed_hash.digest()
    expected_hash = b64url_encode(sd_digest)
    sd_hash = kb.get("sd_hash")
    if not isinstance(sd_hash, str) or not same_text(sd_hash, expected_hash):
        raise SdHashMismatch()
    iat: Any = kb.get("iat")
    if not numeric_date(iat):
        raise MalformedToken("Key Binding JWT must contain iat, a NumericDate")
    if expect is None:
        return kb
    aud = kb.get("aud")
    if not isinstance(aud, str) or aud != expect.audience:
        raise AudienceMismatch()
    if not binds(kb, expect):  # the audience is equal: the nonce is not
        raise NonceMismatch()
    if not (now - expect.max_age_s - policy.clock_skew_s <= iat <= now + policy.clock_skew_s):
        raise KeyBindingTooOld()
    _check_validity(kb, now, policy.clock_skew_s, "Key Binding JWT")
    return kb
