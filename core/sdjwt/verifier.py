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

The result records which claim paths arrived through Disclosures, so profiles such as
SD-JWT VC can refuse security-critical claims that were selectively disclosed.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from core import _jose
from core.encoding import b64url_encode
from core.errors import (
    AudienceMismatch,
    ClaimNameCollision,
    DuplicateDigest,
    Expired,
    HolderKeyMissing,
    InvalidKey,
    InvalidTokenType,
    IssuedInFuture,
    KeyBindingMissing,
    KeyBindingTooOld,
    LimitExceeded,
    MalformedDisclosure,
    MalformedToken,
    NonceMismatch,
    NotYetValid,
    ReservedClaimName,
    SdHashMismatch,
    UnexpectedKeyBinding,
    UnreferencedDisclosure,
    UnsupportedHashAlgorithm,
)
from core.keys import PublicKey
from core.sdjwt import _disclosures as disc
from core.sdjwt import _format
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
    issuer_key = _jose.verify_with_any(jws, keys, alg, "Issuer-signed JWT")
    payload = unverified_payload  # the signature covers exactly these bytes: verified from here on

    sd_alg = payload.get(disc.SD_ALG_KEY, disc.DEFAULT_SD_ALG)
    if sd_alg not in policy.sd_algs:
        raise UnsupportedHashAlgorithm(f"_sd_alg must be one of {sorted(policy.sd_algs)}")
    hash_fn = disc.hasher(sd_alg)

    by_digest = disc.index(parts.disclosures, hash_fn)
    unpacker = _Unpacker(by_digest, policy.max_depth)
    claims = unpacker.unpack_object(payload, (), 0)
    if unpacker.used != len(by_digest):
        raise UnreferencedDisclosure(f"{len(by_digest) - unpacker.used} Disclosure(s) unreferenced")
    claims.pop(disc.SD_ALG_KEY, None)

    _check_validity(claims, now, policy.clock_skew_s, "SD-JWT")

    holder_key = None
    kb_payload = None
    if parts.kb_jwt is not None:
        holder_key = _holder_key(claims)
        kb_payload = _verify_kb(parts, holder_key, hash_fn, now, key_binding, policy)
    return Verified(claims, header, issuer_key, frozenset(unpacker.disclosed), holder_key, kb_payload)


_STRINGS_ONLY = frozenset({str})


class _Unpacker:
    """Steps 3.2-3.5 of section 7.1: replace digests by disclosed values, recursively.

    Works in place on the freshly parsed payload (nothing else holds it), so objects
    without digests cost a few lookups and no copy. Digests are unique across the whole
    payload (step 3.2.1), so counting the ones that hit a Disclosure tells, at the end,
    whether every Disclosure was referenced.
    """

    __slots__ = ("by_digest", "disclosed", "max_depth", "seen", "used")

    def __init__(self, by_digest: dict[str, str], max_depth: int) -> None:
        self.by_digest = by_digest
        self.max_depth = max_depth
        self.seen: set[str] = set()
        self.used = 0
        self.disclosed: list[ClaimPath] = []

    def _see(self, digests: list[Any]) -> None:
        """Every digest a string, none seen before anywhere in the payload (set arithmetic, no loop)."""
        if not {*map(type, digests)} <= _STRINGS_ONLY:
            raise MalformedToken("a digest must be a string")
        before = len(self.seen)
        self.seen.update(digests)
        if len(self.seen) != before + len(digests):
            raise DuplicateDigest()

    def _disclosure(self, digest: str) -> disc.Disclosure | None:
        encoded = self.by_digest.get(digest)
        if encoded is None:
            return None  # a decoy, or a claim the holder chose not to disclose
        self.used += 1
        return disc.decode(encoded)

    def unpack(self, value: Any, path: ClaimPath, depth: int) -> Any:
        kind = type(value)
        if kind is dict:
            return self.unpack_object(value, path, depth + 1)
        if kind is list:
            return self.unpack_array(value, path, depth + 1)
        return value

    def unpack_object(self, obj: dict[str, Any], path: ClaimPath, depth: int) -> dict[str, Any]:
        if depth > self.max_depth:
            raise LimitExceeded(f"claims nested deeper than {self.max_depth}")
        if disc.ELLIPSIS_KEY in obj:
            raise ReservedClaimName("'...' is only allowed as an array element digest")
        if depth and disc.SD_ALG_KEY in obj:
            raise MalformedToken("_sd_alg is only allowed at the top level")
        digests = obj.pop(disc.SD_KEY, None)
        for name, value in obj.items():
            kind = type(value)
            # Replacing values (never adding keys) while iterating is safe for a dict.
            # Paths are built only for containers: scalars never carry digests.
            if kind is dict:
                self.unpack_object(value, (*path, name), depth + 1)
            elif kind is list:
                obj[name] = self.unpack_array(value, (*path, name), depth + 1)
        if digests is None:
            return obj
        if type(digests) is not list:
            raise MalformedToken("_sd must be an array of digests")
        self._see(digests)
        by_digest = self.by_digest
        for digest in digests:
            encoded = by_digest.get(digest)
            if encoded is None:
                continue  # a decoy, or a claim the holder chose not to disclose
            self.used += 1
            d = disc.decode(encoded)
            claim = d.name
            if claim is None:
                raise MalformedDisclosure("a Disclosure in _sd must have three elements")
            if claim in disc.RESERVED_NAMES or claim == disc.SD_ALG_KEY:
                raise ReservedClaimName(f"a Disclosure uses the reserved name {claim!r}")
            if claim in obj:
                raise ClaimNameCollision(f"claim {claim!r} is disclosed where it already exists")
            child = (*path, claim)
            value = d.value
            kind = type(value)
            obj[claim] = self.unpack(value, child, depth) if kind is dict or kind is list else value
            self.disclosed.append(child)
        return obj

    def unpack_array(self, arr: list[Any], path: ClaimPath, depth: int) -> list[Any]:
        if depth > self.max_depth:
            raise LimitExceeded(f"claims nested deeper than {self.max_depth}")
        out: list[Any] = []
        for element in arr:
            kind = type(element)
            if kind is dict and disc.ELLIPSIS_KEY in element:
                if len(element) != 1:
                    raise ReservedClaimName("an array element digest object has exactly one key")
                digest = element[disc.ELLIPSIS_KEY]
                self._see([digest])
                d = self._disclosure(digest)
                if d is None:
                    continue  # step 3.4: undisclosed array elements are removed
                if d.name is not None:
                    raise MalformedDisclosure("an array element Disclosure must have two elements")
                child = (*path, len(out))
                out.append(self.unpack(d.value, child, depth))
                self.disclosed.append(child)
            elif kind is dict or kind is list:
                out.append(self.unpack(element, (*path, len(out)), depth))
            else:
                out.append(element)
        return out


_NUMBER_TYPES = (int, float)


def _check_validity(claims: dict[str, Any], now: int, skew: int, what: str) -> None:
    """``exp``, ``nbf`` and ``iat`` (RFC 7519 section 4.1), each a NumericDate if present."""
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    for name, value in (("exp", exp), ("nbf", nbf), ("iat", iat)):
        if value is not None and type(value) not in _NUMBER_TYPES:  # bool too is refused
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
) -> dict[str, Any]:
    """Section 7.3 step 5. Without ``expect`` only integrity is checked, not freshness."""
    assert parts.kb_jwt is not None
    jws = _jose.parse_compact(parts.kb_jwt, "Key Binding JWT")
    alg = _jose.check_header(jws.unverified_header, policy.algorithms, "Key Binding JWT")
    if jws.unverified_header.get("typ") != KB_TYP:
        raise InvalidTokenType("Key Binding JWT typ must be 'kb+jwt'")
    _jose.verify_with(jws, holder_key, alg, "Key Binding JWT")
    kb = jws.unverified_payload()  # verified from here on

    expected_hash = b64url_encode(hash_fn(parts.sd_jwt_compact().encode("ascii")).digest())
    sd_hash = kb.get("sd_hash")
    if not isinstance(sd_hash, str) or not hmac.compare_digest(sd_hash, expected_hash):
        raise SdHashMismatch()
    iat: Any = kb.get("iat")
    if type(iat) not in _NUMBER_TYPES:
        raise MalformedToken("Key Binding JWT must contain iat, a NumericDate")
    if expect is None:
        return kb
    aud = kb.get("aud")
    if not isinstance(aud, str) or aud != expect.audience:
        raise AudienceMismatch()
    nonce = kb.get("nonce")
    if not isinstance(nonce, str) or not hmac.compare_digest(nonce.encode(), expect.nonce.encode()):
        raise NonceMismatch()
    if not (now - expect.max_age_s - policy.clock_skew_s <= iat <= now + policy.clock_skew_s):
        raise KeyBindingTooOld()
    _check_validity(kb, now, policy.clock_skew_s, "Key Binding JWT")
    return kb
