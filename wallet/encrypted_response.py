"""Encrypted responses for ``direct_post.jwt`` (OpenID4VP 1.0 §8.3, §8.3.1): the answer as a JWE.

Why encrypt: with ``direct_post`` the claims travel in the clear to the response URI, readable by
any TLS-terminating proxy, log or middlebox on the verifier's side; ``direct_post.jwt`` encrypts
them to a key the verifier made for this one request (``client_metadata.jwks``).

What we support, and refuse otherwise (one clear error each, before the holder is asked):

- key agreement ``ECDH-ES`` (direct, no key wrapping) on P-256 — the one HAIP requires and the
  one every verifier we know offers; the JWK's ``alg`` must say so (§8.3: "The ``alg`` parameter
  MUST be present"), its ``use`` absent or ``enc`` (a ``sig`` key is never used to encrypt);
- content encryption ``A128GCM`` (the default when the verifier names none) or ``A256GCM``, the
  first of the verifier's ``encrypted_response_enc_values_supported`` that we support;
- the chosen key's ``kid`` goes in the JWE header (§8.3: MUST, when the key has one);
- a verifier a draft behind (OpenID4VP drafts up to 23: ``authorization_encrypted_response_alg``
  and ``_enc`` in its metadata, keys without ``alg``) is read too, as oid4vc-ts reads it: a key
  without ``alg`` takes the metadata's ``authorization_encrypted_response_alg`` (``ECDH-ES`` when
  it names none), and ``authorization_encrypted_response_enc`` names the one ``enc`` when the 1.0
  list is absent. Each verifier still gets exactly what it names; helper-66 found such verifiers
  refused before consent, and a verifier asking ``A256GCM`` that way answered in ``A128GCM``.

``choose`` is pure: ``vp_request.check_request`` calls it to refuse early, ``present`` to answer.
``encrypt`` draws the ephemeral key and IV from the OS. The JWE is built by hand on
``cryptography`` (a runtime dependency already) rather than adding a JOSE library for one
recipe, with the Concat KDF the verifier's decryption shares (core/jwe.py); RFC 7518 Appendix C's
vector and jwcrypto decryption test it (tests/test_wallet_encrypted_response.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.encoding import b64url_decode, b64url_encode
from core.errors import AmanaError
from core.jwe import concat_kdf
from wallet.request_errors import RequestMalformed, ResponseEncryptionUnsupported, ResponseKeyUnusable

KEY_ALGS = frozenset({"ECDH-ES"})
CURVES = {"P-256": ec.SECP256R1()}
ENCS = {"A128GCM": 16, "A256GCM": 32}  # content encryption key length in bytes
DEFAULT_ENC = "A128GCM"  # §8.3, when encrypted_response_enc_values_supported is absent


@dataclass(frozen=True, slots=True)
class Encryption:
    """The verifier's key and the content encryption chosen for one answer."""

    key: ec.EllipticCurvePublicKey
    enc: str
    kid: str | None


def choose(client_metadata: object) -> Encryption:
    """The key and ``enc`` to encrypt to, from the request's ``client_metadata``, or a refusal."""
    metadata = client_metadata if isinstance(client_metadata, Mapping) else {}
    jwks = metadata.get("jwks")
    found = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(found, list) or not found:
        raise ResponseKeyUnusable("direct_post.jwt needs an encryption key in client_metadata.jwks (§8.3)")
    for_encryption = [k for k in found if isinstance(k, Mapping) and k.get("use", "enc") == "enc"]
    if not for_encryption:
        raise ResponseKeyUnusable("client_metadata.jwks holds no key for encryption (use absent or enc)")
    draft_alg = metadata.get("authorization_encrypted_response_alg", "ECDH-ES")

    def alg(key: Mapping[str, Any]) -> object:
        return key.get("alg", draft_alg)

    usable = [k for k in for_encryption if k.get("kty") == "EC" and any(alg(k) == a for a in KEY_ALGS)
              and any(k.get("crv") == c for c in CURVES)]  # == : members may be any JSON, even unhashable
    if not usable:
        offered = sorted({f"{alg(k)}/{k.get('crv', k.get('kty'))}" for k in for_encryption})
        raise ResponseEncryptionUnsupported(f"the verifier's keys are {', '.join(offered)}; "
                                            f"this wallet encrypts with ECDH-ES on P-256 only")
    return Encryption(_public_key(usable[0]), _enc(metadata), _kid(usable[0]))


def _public_key(jwk: Mapping[str, Any]) -> ec.EllipticCurvePublicKey:
    try:
        x, y = b64url_decode(str(jwk["x"])), b64url_decode(str(jwk["y"]))
        if len(x) != 32 or len(y) != 32 or "d" in jwk:
            raise ValueError("a P-256 public key has 32-byte x and y and no private part")
        return ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                             CURVES[str(jwk["crv"])]).public_key()
    except (KeyError, ValueError, TypeError, AmanaError):  # not on the curve, not base64url, missing members
        raise ResponseKeyUnusable("the verifier's encryption key is not a valid P-256 public key") from None


def _kid(jwk: Mapping[str, Any]) -> str | None:
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise RequestMalformed("the encryption key's kid is not a string")
    return kid


def _enc(metadata: Mapping[str, Any]) -> str:
    draft = metadata.get("authorization_encrypted_response_enc")
    values = metadata.get("encrypted_response_enc_values_supported", [draft] if draft is not None else [DEFAULT_ENC])
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise RequestMalformed("encrypted_response_enc_values_supported must be a non-empty list of strings")
    for value in values:  # the verifier's order is its preference
        if value in ENCS:
            return str(value)
    raise ResponseEncryptionUnsupported(f"the verifier accepts {', '.join(values)}; this wallet encrypts with "
                                        f"{' or '.join(ENCS)}")


def encrypt(encryption: Encryption, payload: Mapping[str, Any]) -> str:
    """An unsigned, encrypted JWT (JWE compact serialization) of ``payload`` for the verifier."""
    ephemeral = ec.generate_private_key(encryption.key.curve)
    numbers = ephemeral.public_key().public_numbers()
    epk = {"kty": "EC", "crv": "P-256", "x": b64url_encode(numbers.x.to_bytes(32, "big")),
           "y": b64url_encode(numbers.y.to_bytes(32, "big"))}
    header: dict[str, Any] = {"alg": "ECDH-ES", "enc": encryption.enc, "epk": epk}
    if encryption.kid is not None:
        header["kid"] = encryption.kid
    protected = b64url_encode(orjson.dumps(header))
    cek = concat_kdf(ephemeral.exchange(ec.ECDH(), encryption.key), encryption.enc)
    iv = os.urandom(12)
    sealed = AESGCM(cek).encrypt(iv, orjson.dumps(dict(payload)), protected.encode("ascii"))
    ciphertext, tag = sealed[:-16], sealed[-16:]
    return ".".join((protected, "", b64url_encode(iv), b64url_encode(ciphertext), b64url_encode(tag)))
