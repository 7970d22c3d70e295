"""The compact credential: an untagged COSE_Sign1 (RFC 9052) the issuer signs, after SD-CWT.

    cred      = [ protected: bstr .cbor { 1: alg, 4: kid }, unprotected: {}, payload: bstr, sig: bstr ]
    payload   = { 4: exp, 6: iat, 8: cnf, 11: type code, -1: [ list, idx ], -2: [ * digest ] }
    iat, exp  = days since 1970-01-01 (the SD-JWT VC copies round iat to the day already)
    digest    = SHA-256( disclosure )[:14]        disclosure = CBOR [ salt: bstr .size 12, key: uint, value ]

The signature is over the Sig_structure ``["Signature1", protected, h'', payload]`` (RFC 9052
section 4.4), ES256 (r||s) or EdDSA as the issuer key is. ``kid`` is the first 4 bytes of the
issuer key's RFC 7638 thumbprint: it only picks candidate keys from the cached trust list,
the signature authenticates. Why each length, and every deviation from SD-CWT: the spec.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from core.encoding import b64url_decode, b64url_encode
from core.errors import InvalidClaims, InvalidKey, MalformedOfflineQR, UnknownClaimPath
from core.keys import PrivateKey, PublicKey
from core.offline import _cbor
from core.offline.types import CompactType, by_code, by_vct

COSE_ALG = {"ES256": -7, "EdDSA": -8}
KID_BYTES, DIGEST_BYTES, SALT_BYTES = 4, 14, 12
DAY = 86400
MAX_CRED_BYTES, MAX_DISCLOSURE_BYTES, MAX_DIGESTS = 600, 400, 16
K_EXP, K_IAT, K_CNF, K_TYPE, K_STATUS, K_DIGESTS = 4, 6, 8, 11, -1, -2
_P256 = ec.SECP256R1()
StatusRef = int | str  # a list number, or a list id (a UUID string travels as its 16 bytes)


@dataclass(frozen=True, slots=True)
class CompactCredential:
    """A parsed credential; ``verify_signature`` must pass before anything in it is believed."""

    raw: bytes
    protected: bytes
    payload: bytes
    signature: bytes
    alg: int
    kid: bytes
    ctype: CompactType
    iat: int
    exp: int
    holder_point: bytes
    status: tuple[StatusRef, int]
    digests: frozenset[bytes]
    _holder_cache: dict[str, PublicKey] = field(default_factory=dict, compare=False, repr=False)

    def signing_input(self) -> bytes:
        return _cbor.dumps(["Signature1", self.protected, b"", self.payload])

    def verify_signature(self, key: PublicKey) -> bool:
        return COSE_ALG[key.alg] == self.alg and key.verify(self.signature, self.signing_input())

    def holder_key(self) -> PublicKey:
        """Imported once per parsed credential (the import is a third of a verification)."""
        key = self._holder_cache.get("key")
        if key is None:
            key = self._holder_cache["key"] = holder_public_key(self.holder_point)
        return key


def compact_kid(key: PublicKey) -> bytes:
    """The 4-byte ``kid``: a prefix of the key's RFC 7638 thumbprint."""
    return b64url_decode(key.thumbprint(), "thumbprint")[:KID_BYTES]


def compress_p256(key: PublicKey) -> bytes:
    jwk = key.to_jwk()
    if jwk.get("crv") != "P-256":
        raise InvalidKey("the holder key of a compact credential must be P-256")
    y = b64url_decode(jwk["y"], "y")
    return bytes([2 + (y[-1] & 1)]) + b64url_decode(jwk["x"], "x")


def holder_public_key(point: bytes) -> PublicKey:
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(_P256, point)
    except ValueError as exc:
        raise MalformedOfflineQR("cnf is not a P-256 point") from exc
    return PublicKey(alg="ES256", _key=key)  # straight from the point: no JWK round trip per scan


def status_list_uri(issuer: str, ref: StatusRef) -> str:
    """The Token Status List URI a credential's ``(list, idx)`` names.

    A number (what Amana's issuer writes) names the issuer's own numbered list,
    ``<issuer id>/status/<n>`` — a number is 1-3 bytes where a 128-bit list id is 17, and the
    issuer id is already authenticated (its key signed the credential). A string (older copies)
    names a list under the issuer's node: Amana's issuer ids are ``<node>/issuers/<slug>`` and
    its lists ``<node>/status/<id>``, ids being 32 hex digits (a UUID names the list with its
    hex). Either way the verifier must still check that the cached list token is signed by a
    key of ``issuer`` and that its ``sub`` is this URI."""
    if isinstance(ref, int):
        return f"{issuer.rstrip('/')}/status/{ref}"
    node = issuer.rsplit("/issuers/", 1)[0] if "/issuers/" in issuer else issuer.rstrip("/")
    if _status_list_encode(ref) != ref:
        ref = uuid.UUID(ref).hex
    return f"{node}/status/{ref}"


MAX_ISSUED_CHARS = 4096


def pack_issued(cred: bytes, disclosures: list[bytes]) -> str:
    """What a Credential Response carries for a compact credential (a string, OpenID4VCI section
    8.3): ``base64url( CBOR( [cred: bstr, disclosures: [* bstr]] ) )``."""
    return b64url_encode(_cbor.dumps([cred, list(disclosures)]))


def parse_issued(text: str) -> tuple[bytes, list[bytes]]:
    """The credential and its disclosures from a Credential Response string (``pack_issued``);
    structure only — the caller still verifies the credential. Shared by the issuer's tests and
    the wallet (services may not import each other, both may import the core)."""
    if len(text) > MAX_ISSUED_CHARS:
        raise MalformedOfflineQR("the issued compact credential is too long")
    item = _cbor.loads(b64url_decode(text, "credential"), "issued credential", max_bytes=MAX_ISSUED_CHARS)
    if (type(item) is not list or len(item) != 2 or type(item[0]) is not bytes or type(item[1]) is not list
            or any(type(d) is not bytes for d in item[1])):
        raise MalformedOfflineQR("an issued compact credential is [cred, [disclosures]]")
    return item[0], list(item[1])


def digest(disclosure: bytes) -> bytes:
    return hashlib.sha256(disclosure).digest()[:DIGEST_BYTES]


def issue_compact(
    claims: Mapping[str, Any],
    vct: str,
    issuer_key: PrivateKey,
    holder_public_key: PublicKey,
    *,
    status: tuple[StatusRef, int],
    iat: int,
    exp: int,
    rng: Callable[[int], bytes] = secrets.token_bytes,
) -> tuple[bytes, dict[str, bytes]]:
    """Sign a compact credential; every top-level claim becomes one disclosure.

    Returns the credential and ``{claim name: disclosure}`` so a wallet can pick by name.
    ``iat`` and ``exp`` are seconds, rounded down to the day (the credential carries days).
    The claims should already have passed the type's schema (``CredentialType.check_issuance``).
    ``rng`` gives salts (tests pass a seeded one for vectors).
    """
    ctype = by_vct(vct)
    if exp // DAY <= iat // DAY:
        raise InvalidClaims("a compact credential is valid for at least one day")
    disclosures: dict[str, bytes] = {}
    for name, value in claims.items():
        try:
            codec = ctype.by_name(name)
        except MalformedOfflineQR as exc:
            raise UnknownClaimPath(f"{ctype.name} has no compact claim {name!r}") from exc
        try:
            encoded = codec.encode(value)
            if codec.decode(encoded) != value:  # what the verifier will read back, exactly
                raise ValueError(name)
        except (ValueError, KeyError, TypeError, MalformedOfflineQR) as exc:
            raise InvalidClaims(f"{name}: the value does not fit its compact form") from exc
        disclosures[name] = _cbor.dumps([rng(SALT_BYTES), codec.key, encoded])
    list_ref, idx = status
    payload = {
        K_EXP: exp // DAY, K_IAT: iat // DAY, K_CNF: compress_p256(holder_public_key), K_TYPE: ctype.code,
        K_STATUS: [_status_list_encode(list_ref), idx],
        K_DIGESTS: sorted(digest(d) for d in disclosures.values()),  # sorted: order tells nothing
    }
    protected = _cbor.dumps({1: COSE_ALG[issuer_key.alg], 4: compact_kid(issuer_key.public_key())})
    payload_bytes = _cbor.dumps(payload)
    signature = issuer_key.sign(_cbor.dumps(["Signature1", protected, b"", payload_bytes]))
    return _cbor.dumps([protected, {}, payload_bytes, signature]), disclosures


def parse_credential(raw: bytes) -> CompactCredential:
    """Structure only: every field its exact form; nothing is verified here."""
    bad = MalformedOfflineQR
    item = _cbor.loads(raw, "credential", max_bytes=MAX_CRED_BYTES)
    if type(item) is not list or len(item) != 4 or item[1] != {}:
        raise bad("the credential is not a COSE_Sign1 with an empty unprotected header")
    protected, _, payload_bytes, signature = item
    if type(protected) is not bytes or type(payload_bytes) is not bytes or type(signature) is not bytes:
        raise bad("the COSE_Sign1 fields must be byte strings")
    header = _cbor.loads(protected, "protected header", max_bytes=32)
    if type(header) is not dict or set(header) != {1, 4} or header[1] not in COSE_ALG.values():
        raise bad("the protected header must hold exactly alg (ES256 or EdDSA) and kid")
    if type(header[4]) is not bytes or len(header[4]) != KID_BYTES or len(signature) != 64:
        raise bad("kid or signature has the wrong length")
    p = _cbor.loads(payload_bytes, "payload", max_bytes=MAX_CRED_BYTES)
    if type(p) is not dict or set(p) != {K_EXP, K_IAT, K_CNF, K_TYPE, K_STATUS, K_DIGESTS}:
        raise bad("the payload must hold exactly exp, iat, cnf, type, status and digests")
    if any(type(p[k]) is not int or not 0 <= p[k] <= 0xFFFF for k in (K_EXP, K_IAT)) or p[K_IAT] >= p[K_EXP]:
        raise bad("iat and exp must be days since 1970, iat before exp")
    if type(p[K_CNF]) is not bytes or len(p[K_CNF]) != 33 or p[K_CNF][0] not in (2, 3):
        raise bad("cnf must be a compressed P-256 point")
    digests = p[K_DIGESTS]
    if (type(digests) is not list or not 0 < len(digests) <= MAX_DIGESTS
            or any(type(d) is not bytes or len(d) != DIGEST_BYTES for d in digests) or digests != sorted(set(digests))):
        raise bad("digests must be distinct 14-byte strings in order")
    return CompactCredential(raw, protected, payload_bytes, signature, header[1], header[4], by_code(p[K_TYPE]),
                             p[K_IAT] * DAY, p[K_EXP] * DAY, p[K_CNF], _status_decode(p[K_STATUS]), frozenset(digests))


def parse_disclosure(raw: bytes, ctype: CompactType) -> tuple[str, Any]:
    """``(claim name, SD-JWT VC value)`` of one disclosure."""
    item = _cbor.loads(raw, "disclosure", max_bytes=MAX_DISCLOSURE_BYTES)
    if type(item) is not list or len(item) != 3 or type(item[0]) is not bytes or len(item[0]) != SALT_BYTES:
        raise MalformedOfflineQR("a disclosure must be [12-byte salt, claim key, value]")
    codec = ctype.by_key(item[1])
    return codec.name, codec.decode(item[2])


def _status_list_encode(ref: StatusRef) -> int | bytes | str:
    if isinstance(ref, int):
        return ref
    try:
        as_uuid = uuid.UUID(ref)
    except ValueError:
        return ref
    return as_uuid.bytes if str(as_uuid) == ref else ref


def _status_decode(value: Any) -> tuple[StatusRef, int]:
    if type(value) is not list or len(value) != 2 or type(value[1]) is not int or not 0 <= value[1] < 2**32:
        raise MalformedOfflineQR("status must be [list, index]")
    ref = value[0]
    if type(ref) is int and 0 <= ref < 2**32:
        return ref, value[1]
    if type(ref) is bytes and len(ref) == 16:
        return str(uuid.UUID(bytes=ref)), value[1]
    if type(ref) is str and 0 < len(ref) <= 64 and _status_list_encode(ref) == ref:
        return ref, value[1]
    raise MalformedOfflineQR("the status list is named by a number, a UUID or a short id")

