"""Signing keys as JWK: ES256 (P-256) and EdDSA (Ed25519).

Owns key generation, JWK import/export (RFC 7517, RFC 7518 section 6.2, RFC 8037),
RFC 7638 thumbprints, JWKS documents, and the tie between a key and the one JWS
algorithm it may be used with (RFC 8725 section 3.1: the algorithm comes from the
key, never from the token alone).

Private material never appears in ``repr``/``str`` and is written to disk with mode 0600.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from core.encoding import b64url_decode, b64url_encode, json_loads_strict
from core.errors import InvalidKey, UnsupportedAlgorithm

Alg = Literal["ES256", "EdDSA"]
SIGNING_ALGS: tuple[Alg, ...] = ("ES256", "EdDSA")
# RFC 9864 registers the fully-specified name "Ed25519"; accept it on verification.
_ALG_FOR_VERIFY = {"ES256": "ES256", "EdDSA": "EdDSA", "Ed25519": "EdDSA"}
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_ECDSA_PREHASHED = ec.ECDSA(Prehashed(hashes.SHA256()))
_sha256 = hashlib.sha256
_P256 = ec.SECP256R1()
_P256_COORD = 32

_PublicKeyObj = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
_PrivateKeyObj = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True, slots=True, repr=False)
class PublicKey:
    """A public verification key with the one algorithm it verifies."""

    alg: Alg
    _key: _PublicKeyObj = field(compare=False)
    kid: str | None = None
    # The key's public JWK members and RFC 7638 thumbprint, kept once known: serialising an EC
    # point costs a field inversion (tens of µs), and an issuance asked for them three times a
    # credential (the batch's distinct keys, the credential's cnf, its row). from_jwk keeps the
    # members it was given (checked canonical by _coord's strict decoding).
    _members: dict[str, str] | None = field(default=None, compare=False)
    _thumbprint: str | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        return f"PublicKey(alg={self.alg!r}, kid={self.kid!r})"

    def to_jwk(self) -> dict[str, str]:
        if self._members is None:
            object.__setattr__(self, "_members", _public_members(self._key))
        jwk = dict(cast(dict[str, str], self._members))
        if self.kid:
            jwk["kid"] = self.kid
        jwk["alg"] = self.alg
        return jwk

    def thumbprint(self) -> str:
        if self._thumbprint is None:
            object.__setattr__(self, "_thumbprint", jwk_thumbprint(self.to_jwk()))
        return cast(str, self._thumbprint)

    def accepts(self, alg: object) -> bool:
        """True if a token's ``alg`` header names this key's algorithm."""
        return isinstance(alg, str) and _ALG_FOR_VERIFY.get(alg) == self.alg

    def verify(self, signature: bytes, signing_input: bytes, hashed: hashlib._Hash | None = None) -> bool:
        """Check a JWS signature (raw R||S for ES256, RFC 7518 section 3.4).

        ``hashed``, for ES256 only: a SHA-256 object already fed exactly ``signing_input``, from a
        caller that goes on hashing past it (the SD-JWT verifier's sd_hash). Read, never updated.
        """
        try:
            # The alg tells the key type (from_jwk ties them): cheaper than isinstance on an ABC.
            if self.alg == "ES256":
                if len(signature) != 2 * _P256_COORD:
                    return False
                # Hashed here with hashlib and handed over as Prehashed: the same ECDSA over the
                # same SHA-256, but cheaper than cryptography's own hashing call (0.4 us a verify).
                digest = (_sha256(signing_input) if hashed is None else hashed).digest()
                r = int.from_bytes(signature[:_P256_COORD], "big")
                s = int.from_bytes(signature[_P256_COORD:], "big")
                cast(ec.EllipticCurvePublicKey, self._key).verify(encode_dss_signature(r, s), digest, _ECDSA_PREHASHED)
            else:
                cast(ed25519.Ed25519PublicKey, self._key).verify(signature, signing_input)
        except _CryptoInvalidSignature:
            return False
        return True

    @classmethod
    def from_jwk(cls, jwk: object, *, allow_private_members: bool = False) -> PublicKey:
        """Load a public JWK. Refuses private members unless told it may drop them."""
        if not isinstance(jwk, dict):
            raise InvalidKey("a JWK must be a JSON object")
        if "d" in jwk and not allow_private_members:
            raise InvalidKey("a public JWK must not contain private key material")
        if "jku" in jwk or "x5u" in jwk:
            raise InvalidKey("JWK references (jku, x5u) are not followed")
        kty, crv = jwk.get("kty"), jwk.get("crv")
        key: _PublicKeyObj
        if kty == "EC" and crv == "P-256":
            point = b"\x04" + _coord(jwk, "x", _P256_COORD) + _coord(jwk, "y", _P256_COORD)
            try:
                key = ec.EllipticCurvePublicKey.from_encoded_point(_P256, point)
            except ValueError as exc:
                raise InvalidKey("the EC point is not on P-256") from exc
            alg: Alg = "ES256"
            members = {"kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"]}
        elif kty == "OKP" and crv == "Ed25519":
            key = ed25519.Ed25519PublicKey.from_public_bytes(_coord(jwk, "x", 32))
            alg = "EdDSA"
            members = {"kty": "OKP", "crv": "Ed25519", "x": jwk["x"]}
        else:
            raise InvalidKey("only EC P-256 and OKP Ed25519 keys are supported")
        declared = jwk.get("alg")
        # type() first: an array or object as "alg" is unhashable, and would be a TypeError (a 500
        # at the token endpoint, where a DPoP proof's header brings the JWK) rather than a refusal.
        if declared is not None and (type(declared) is not str or _ALG_FOR_VERIFY.get(declared) != alg):
            raise UnsupportedAlgorithm("the JWK's alg does not match its key type")
        kid = jwk.get("kid")
        return cls(alg, key, kid if isinstance(kid, str) else None, members)  # positional: cheaper


@dataclass(frozen=True, slots=True, repr=False)
class PrivateKey:
    """A signing key. Its private part is never printed."""

    alg: Alg
    _key: _PrivateKeyObj = field(compare=False)
    kid: str | None = None

    def __repr__(self) -> str:
        return f"PrivateKey(alg={self.alg!r}, kid={self.kid!r})"

    __str__ = __repr__

    def public_key(self) -> PublicKey:
        return PublicKey(alg=self.alg, _key=self._key.public_key(), kid=self.kid)

    def cryptography_key(self) -> _PrivateKeyObj:
        """The ``cryptography`` object, for building X.509 certificates; never for export."""
        return self._key

    def sign(self, signing_input: bytes) -> bytes:
        """A JWS signature over ``signing_input`` (raw R||S for ES256)."""
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(self._key.sign(signing_input, _ECDSA_SHA256))
            return r.to_bytes(_P256_COORD, "big") + s.to_bytes(_P256_COORD, "big")
        return self._key.sign(signing_input)

    def to_jwk(self) -> dict[str, str]:
        """The private JWK (with ``d``). Handle as a secret."""
        jwk = self.public_key().to_jwk()
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            d = self._key.private_numbers().private_value.to_bytes(_P256_COORD, "big")
        else:
            d = self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        jwk["d"] = b64url_encode(d)
        return jwk

    @classmethod
    def from_jwk(cls, jwk: object) -> PrivateKey:
        if not isinstance(jwk, dict) or "d" not in jwk:
            raise InvalidKey("a private JWK must contain 'd'")
        public = PublicKey.from_jwk(jwk, allow_private_members=True)
        key: _PrivateKeyObj
        if public.alg == "ES256":
            d = int.from_bytes(_coord(jwk, "d", _P256_COORD), "big")
            try:
                key = ec.derive_private_key(d, _P256)
            except ValueError as exc:
                raise InvalidKey("the EC private scalar is out of range") from exc
        else:
            key = ed25519.Ed25519PrivateKey.from_private_bytes(_coord(jwk, "d", 32))
        if _public_members(key.public_key()) != _public_members(public._key):
            raise InvalidKey("the private key does not match its public part")
        return cls(alg=public.alg, _key=key, kid=public.kid)


def generate(alg: Alg = "ES256", kid: str | None = None) -> PrivateKey:
    """A fresh key. ``kid`` defaults to the key's RFC 7638 thumbprint."""
    key: _PrivateKeyObj
    if alg == "ES256":
        key = ec.generate_private_key(_P256)
    elif alg == "EdDSA":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        raise UnsupportedAlgorithm(f"cannot generate keys for {alg!r}")
    fresh = PrivateKey(alg=alg, _key=key)
    return PrivateKey(alg=alg, _key=key, kid=kid or fresh.public_key().thumbprint())


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint: required members only, sorted, no whitespace."""
    required = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}.get(jwk.get("kty", ""))
    if required is None:
        raise InvalidKey("thumbprints are defined here for EC and OKP keys only")
    members = {name: jwk[name] for name in required}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())


def jwks(keys: list[PublicKey]) -> dict[str, list[dict[str, str]]]:
    """A JWK Set document (RFC 7517 section 5) of public keys."""
    return {"keys": [k.to_jwk() for k in keys]}


def write_private_jwk(key: PrivateKey, path: Path) -> None:
    """Write the private JWK readable by the owner only."""
    data = json.dumps(key.to_jwk(), indent=2) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(data)
    os.chmod(path, 0o600)


def read_jwk(path: Path) -> dict[str, Any]:
    value = json_loads_strict(path.read_bytes(), f"JWK file {path.name}")
    if not isinstance(value, dict):
        raise InvalidKey(f"{path.name} does not hold a JWK object")
    return value


# The error-message names of the members _coord decodes, made once: formatting one per call
# cost a tenth of a microsecond, twice in every holder key a verifier imports.
_MEMBER_WHAT = {name: f"JWK member {name!r}" for name in ("x", "y", "d")}


def _coord(jwk: dict[str, Any], name: str, size: int) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise InvalidKey(f"JWK member {name!r} is missing")
    raw = b64url_decode(value, _MEMBER_WHAT.get(name) or f"JWK member {name!r}")
    if len(raw) != size:
        raise InvalidKey(f"JWK member {name!r} has the wrong length")
    return raw


def _public_members(key: _PublicKeyObj) -> dict[str, str]:
    if isinstance(key, ec.EllipticCurvePublicKey):
        point = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url_encode(point[1 : 1 + _P256_COORD]),
            "y": b64url_encode(point[1 + _P256_COORD :]),
        }
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}
