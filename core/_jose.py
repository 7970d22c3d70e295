"""Compact JWS (RFC 7515) signing and verification — the raw layer under SD-JWT.

Private: callers use ``core.sdjwt``. Written on ``cryptography`` directly instead of a
JOSE library because verification is the hot path (see ``bench/sdjwt.py``) and the rules
we need are few and strict: the algorithm must be the one tied to the key (never
``none``, never HMAC: RFC 8725 section 3.1), ``crit`` must list only parameters we
understand (RFC 7515 section 4.1.11), and header and payload parse as strict JSON.
Until the signature is checked, decoded parts are named ``unverified_*``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from core.encoding import b64url_decode, b64url_encode, b64url_json, decode_b64url_json_object
from core.errors import (
    InvalidSignature,
    MalformedToken,
    UnknownIssuerKey,
    UnsupportedAlgorithm,
    UnsupportedCriticalHeader,
)
from core.keys import PrivateKey, PublicKey

_UNDERSTOOD_CRIT: frozenset[str] = frozenset()


class CompactJWS(NamedTuple):
    """A compact JWS split into parts; header and payload are not yet trusted.

    Immutable, and a NamedTuple because it is built twice per verify (hot path).
    """

    signing_input: bytes  # ASCII of "<header>.<payload>", exactly as received
    signature: bytes
    unverified_header: dict[str, Any]
    payload_b64: str

    def unverified_payload(self) -> dict[str, Any]:
        return decode_b64url_json_object(self.payload_b64, "JWT payload")


def sign_compact(header: dict[str, Any], payload: dict[str, Any], key: PrivateKey) -> str:
    """Sign ``payload`` under ``header`` (``alg`` and ``kid`` come from the key)."""
    full_header = {"alg": key.alg, **header}
    # A header carrying the key itself (jwk, x5c) names no kid: OpenID4VCI F.1 forbids both.
    if key.kid and not {"kid", "jwk", "x5c"} & set(full_header):
        full_header["kid"] = key.kid
    signing_input = b64url_json(full_header) + "." + b64url_json(payload)
    return signing_input + "." + b64url_encode(key.sign(signing_input.encode("ascii")))


@lru_cache(maxsize=512)
def _decode_header(header_b64: str, what: str) -> dict[str, Any]:
    """Headers repeat (one per issuer key, one per KB algorithm): decode each text once.

    A pure function of the exact base64url text, so memoising it changes no result.
    The returned dict is shared: callers read it and never modify it.
    """
    return decode_b64url_json_object(header_b64, f"{what} header")


def parse_compact(token: str, what: str = "JWT") -> CompactJWS:
    """Split and decode a compact JWS without trusting any of it."""
    if not token.isascii():  # O(1) in CPython; every part is base64url
        raise MalformedToken(f"{what} must be base64url parts separated by '.'")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedToken(f"{what} must have three dot-separated parts")
    header_b64, payload_b64, sig_b64 = parts
    header = _decode_header(header_b64, what)
    try:
        signature = b64url_decode(sig_b64)
    except MalformedToken as exc:  # the message names the part (formatted only on failure)
        raise MalformedToken(f"{what} signature is not base64url") from exc
    # The payload is decoded only after the signature check (``unverified_payload``),
    # where a bad encoding is refused just the same.
    # Positional: a NamedTuple built from keywords cost 0.13 us more, twice a verify.
    return CompactJWS((header_b64 + "." + payload_b64).encode("ascii"), signature, header, payload_b64)


def check_header(header: dict[str, Any], allowed_algs: frozenset[str], what: str) -> str:
    """Algorithm allow-list and ``crit``; returns the ``alg``."""
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in allowed_algs:
        # Covers "none", HS256 and every other algorithm we never accept.
        raise UnsupportedAlgorithm(f"{what} alg is not one of {sorted(allowed_algs)}")
    crit = header.get("crit")
    if crit is not None:
        if not isinstance(crit, list) or not crit or not all(isinstance(c, str) for c in crit):
            raise MalformedToken(f"{what} crit must be a non-empty array of names")
        unknown = set(crit) - _UNDERSTOOD_CRIT
        if unknown:
            raise UnsupportedCriticalHeader(f"{what} marks {sorted(unknown)} critical")
    return alg


def verify_with(jws: CompactJWS, key: PublicKey, alg: str, what: str) -> None:
    """Verify with one key whose algorithm must be ``alg``."""
    if not key.accepts(alg):
        raise UnsupportedAlgorithm(f"{what} alg does not match the key")
    if not key.verify(jws.signature, jws.signing_input):
        raise InvalidSignature(f"{what} signature does not verify")


def verify_with_any(
    jws: CompactJWS, keys: Sequence[PublicKey], alg: str, what: str, hashed: hashlib._Hash | None = None
) -> PublicKey:
    """Verify with the key named by ``kid``, or else any key of the right algorithm.

    ``hashed``: as ``PublicKey.verify`` takes it, SHA-256 over ``jws.signing_input`` (ES256 only).
    """
    kid = jws.unverified_header.get("kid")
    candidates = [k for k in keys if k.accepts(alg) and (kid is None or k.kid is None or k.kid == kid)]
    if not candidates:
        raise UnknownIssuerKey(f"no trusted key for {what} (alg and kid)")
    for key in candidates:
        if key.verify(jws.signature, jws.signing_input, hashed):
            return key
    raise InvalidSignature(f"{what} signature does not verify")
