"""JWE (RFC 7516) compact serialization for one recipe: ECDH-ES direct key agreement on P-256
with AES-GCM — what OpenID4VP 1.0 §8.3 encrypted responses use and HAIP 1.0 requires.

Both ends of ``direct_post.jwt`` live in this tree: the wallet encrypts
(wallet/encrypted_response.py), the verifier decrypts (verifier/encrypted_responses.py). The
Concat KDF they share is here, so neither service borrows from the other. Built on
``cryptography`` (a runtime dependency) rather than a JOSE library for one recipe;
tests/test_verifier_encrypted_responses.py checks it against jwcrypto and the wallet.

``decrypt`` refuses, each with ``ResponseNotDecryptable`` and a message naming the part (never
a key or a plaintext): anything but five base64url parts with an empty encrypted key, an
``alg`` other than ECDH-ES, an ``enc`` the caller does not allow, a ``kid`` other than the
key's, ``zip`` or ``crit`` (nothing we understand), an ephemeral key not on P-256, and a
ciphertext, IV, tag or header that fails AES-GCM authentication.
"""

from __future__ import annotations

import struct
from collections.abc import Collection
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash

from core.encoding import b64url_decode, b64url_encode, decode_b64url_json_object, json_loads_strict
from core.errors import AmanaError, VerificationFailed
from core.keys import jwk_thumbprint

ALG = "ECDH-ES"
CRV = "P-256"
ENCS = {"A128GCM": 16, "A256GCM": 32}  # content encryption key length in bytes
MAX_JWE_CHARS = 1 << 20  # well above any presentation the verifier accepts (max_presentation_bytes)


class ResponseNotDecryptable(VerificationFailed):
    code = "response_not_decryptable"
    title = "The encrypted response could not be decrypted"


def concat_kdf(shared: bytes, enc: str, apu: bytes = b"", apv: bytes = b"") -> bytes:
    """RFC 7518 §4.6.2: the content encryption key for direct ECDH-ES, ``AlgorithmID`` = ``enc``."""
    length = ENCS[enc]

    def field(data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + data

    other = field(enc.encode("ascii")) + field(apu) + field(apv) + struct.pack(">I", length * 8)
    return ConcatKDFHash(algorithm=hashes.SHA256(), length=length, otherinfo=other).derive(shared)


def public_jwk(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The bare public JWK (``kty``, ``crv``, ``x``, ``y``) of a P-256 key."""
    return jwk_of(key.public_key().public_numbers() if isinstance(key, ec.EllipticCurvePrivateKey)
                  else key.public_numbers())


def jwk_of(numbers: ec.EllipticCurvePublicNumbers) -> dict[str, str]:
    """``public_jwk`` of numbers already at hand (each ``public_numbers()`` costs a field inversion)."""
    return {"kty": "EC", "crv": CRV, "x": b64url_encode(numbers.x.to_bytes(32, "big")),
            "y": b64url_encode(numbers.y.to_bytes(32, "big"))}


def kid(key: ec.EllipticCurvePrivateKey) -> str:
    """The key's RFC 7638 thumbprint: a ``kid`` that names this key and nothing else."""
    return jwk_thumbprint(public_jwk(key))


def _public_key(jwk: object) -> ec.EllipticCurvePublicKey:
    try:
        if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != CRV or "d" in jwk:
            raise ValueError("not a public P-256 key")
        x, y = b64url_decode(str(jwk["x"]), "epk x"), b64url_decode(str(jwk["y"]), "epk y")
        if len(x) != 32 or len(y) != 32:
            raise ValueError("P-256 coordinates are 32 bytes")
        return ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                             ec.SECP256R1()).public_key()  # refuses a point off the curve
    except (KeyError, ValueError, TypeError, AmanaError):
        raise ResponseNotDecryptable("the JWE epk is not a P-256 public key") from None


def _part(text: str, what: str) -> bytes:
    try:
        return b64url_decode(text, what)
    except AmanaError:
        raise ResponseNotDecryptable(f"the JWE {what} is not base64url") from None


def unverified_header(token: str) -> dict[str, Any]:
    """The protected header, unchecked (what ``decrypt`` then checks)."""
    if not isinstance(token, str) or len(token) > MAX_JWE_CHARS or not token.isascii():
        raise ResponseNotDecryptable("the response is not a JWE in compact serialization")
    parts = token.split(".")
    if len(parts) != 5:
        raise ResponseNotDecryptable("a JWE has five parts separated by '.'")
    try:
        return decode_b64url_json_object(parts[0], "JWE protected header")
    except AmanaError:
        raise ResponseNotDecryptable("the JWE protected header is not a base64url JSON object") from None


def decrypt(token: str, key: ec.EllipticCurvePrivateKey, *, expected_kid: str, encs: Collection[str]) -> bytes:
    """The plaintext of a JWE encrypted to ``key`` (ECDH-ES, one of ``encs``), or a refusal."""
    header = unverified_header(token)
    protected, encrypted_key, iv_b64, ciphertext_b64, tag_b64 = token.split(".")
    if header.get("alg") != ALG:
        raise ResponseNotDecryptable(f"the JWE alg must be {ALG}")
    enc = header.get("enc")
    if not isinstance(enc, str) or enc not in encs or enc not in ENCS:
        raise ResponseNotDecryptable(f"the JWE enc must be one of {', '.join(sorted(encs))}")
    if header.get("kid") != expected_kid:
        raise ResponseNotDecryptable("the JWE is not encrypted to this request's key (kid)")
    if "zip" in header or "crit" in header:
        raise ResponseNotDecryptable("the JWE uses zip or crit, which this verifier does not accept")
    if encrypted_key:
        raise ResponseNotDecryptable("direct ECDH-ES has an empty encrypted key part")
    apu = _part(header["apu"], "apu") if isinstance(header.get("apu"), str) else b""
    apv = _part(header["apv"], "apv") if isinstance(header.get("apv"), str) else b""
    epk = _public_key(header.get("epk"))
    iv, ciphertext, tag = _part(iv_b64, "iv"), _part(ciphertext_b64, "ciphertext"), _part(tag_b64, "tag")
    if len(iv) != 12 or len(tag) != 16:
        raise ResponseNotDecryptable("AES-GCM takes a 96-bit IV and a 128-bit tag")
    cek = concat_kdf(key.exchange(ec.ECDH(), epk), enc, apu, apv)
    try:
        return AESGCM(cek).decrypt(iv, ciphertext + tag, protected.encode("ascii"))
    except InvalidTag:
        raise ResponseNotDecryptable("the JWE does not decrypt with this request's key (tampered, or for "
                                     "another key)") from None


def decrypt_json_object(token: str, key: ec.EllipticCurvePrivateKey, *, expected_kid: str,
                        encs: Collection[str]) -> dict[str, Any]:
    """``decrypt``, whose plaintext must be a JSON object (an encrypted JWT's claims)."""
    plaintext = decrypt(token, key, expected_kid=expected_kid, encs=encs)
    try:
        value = json_loads_strict(plaintext, "JWE payload")
    except AmanaError:
        raise ResponseNotDecryptable("the JWE payload is not JSON") from None
    if not isinstance(value, dict):
        raise ResponseNotDecryptable("the JWE payload is not a JSON object")
    return value
