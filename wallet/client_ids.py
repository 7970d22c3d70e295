"""The Request Object's signing key, as its Client Identifier Prefix says (OpenID4VP 1.0 §5.9.3). Pure.

``x509_hash`` and ``x509_san_dns``: the leaf of ``x5c`` (its validity checked at ``now``);
``decentralized_identifier``: a ``did:jwk`` named by ``kid``. For ``x509_san_dns`` the
trust chain the spec asks for stands in as the trust list: see wallet/vp_request.py.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm as CryptoUnsupported
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from core import keys
from core.encoding import b64url_decode, b64url_encode, json_loads_strict
from core.errors import AmanaError
from core.trust.model import TrustList
from wallet.request_errors import (
    ClientIdMismatch,
    ClientIdUnsupported,
    ClientNotTrusted,
    RequestMalformed,
    RequestSignatureInvalid,
)

LEEWAY_S = 60
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DNS_NAME = re.compile(rf"(?=.{{1,253}}$)({_LABEL}\.)*{_LABEL}")


def request_key(header: Mapping[str, Any], client_id: str, prefix: str, now: int,
                 trust_list: TrustList | None) -> keys.PublicKey:
    value = client_id.partition(":")[2]
    if prefix == "decentralized_identifier":
        if not value.startswith("did:jwk:"):
            raise ClientIdUnsupported("only did:jwk decentralized identifiers are resolved")
        if header.get("kid") != value + "#0":
            raise ClientIdMismatch("the request's kid must name the did:jwk key")
        try:
            return keys.PublicKey.from_jwk(json_loads_strict(b64url_decode(value.removeprefix("did:jwk:")), "did:jwk"))
        except AmanaError:
            raise ClientIdUnsupported("the did:jwk does not hold a usable public key") from None
    der, certificate, key = _leaf(header, now)
    if prefix == "x509_hash":
        if b64url_encode(hashlib.sha256(der).digest()) != value:
            raise ClientIdMismatch("the certificate does not match the x509_hash client_id")
        return key
    if not _DNS_NAME.fullmatch(value):
        raise ClientIdUnsupported("x509_san_dns needs a DNS name")
    try:
        sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = {n.lower() for n in sans.get_values_for_type(x509.DNSName)}
    except (x509.ExtensionNotFound, ValueError):
        names = set()
    if value.lower() not in names:
        raise ClientIdMismatch("no dNSName of the certificate equals the x509_san_dns client_id")
    if not _registered_dns(trust_list, value.lower(), key):
        raise ClientNotTrusted("no verifier on the trust list has this DNS name with this certificate's key")
    return key


def _registered_dns(trust_list: TrustList | None, host: str, key: keys.PublicKey) -> bool:
    """Our stand-in for chain validation: the trust list names this host with this key."""
    if trust_list is None:
        return False
    mine = key.thumbprint()
    return any(urlsplit(v.id).hostname == host and mine in {k.thumbprint() for k in v.public_keys()}
               for v in trust_list.verifiers)


def _leaf(header: Mapping[str, Any], now: int) -> tuple[bytes, x509.Certificate, keys.PublicKey]:
    chain = header.get("x5c")
    if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
        raise ClientIdMismatch("x509 requests carry the certificate in x5c")
    try:
        der = base64.b64decode(chain[0], validate=True)
    except ValueError:
        raise RequestMalformed("the x5c certificate cannot be read") from None
    certificate, start, end = _read_certificate(der)
    if not start - LEEWAY_S <= now < end:  # judged at every request: only the reading is kept
        raise ClientNotTrusted("the verifier's certificate is outside its validity period")
    return der, certificate, _read_key(der)


# A wallet meets the same few verifiers again and again, and reading a certificate and its key (the
# point checked on the curve and converted for OpenSSL, the key's first use prepared) was a twentieth
# of a wallet's share of a check (issue 15). So both are read once per process: pure functions of
# the bytes, with public results, and a refusal is never kept (lru_cache keeps only returns).
@lru_cache(maxsize=64)
def _read_certificate(der: bytes) -> tuple[x509.Certificate, float, float]:
    try:
        certificate = x509.load_der_x509_certificate(der)
        return certificate, certificate.not_valid_before_utc.timestamp(), certificate.not_valid_after_utc.timestamp()
    except (ValueError, x509.InvalidVersion):  # InvalidVersion is no ValueError (a version field that is not 1-3)
        raise RequestMalformed("the x5c certificate cannot be read") from None


@lru_cache(maxsize=64)
def _read_key(der: bytes) -> keys.PublicKey:
    return _certificate_key(_read_certificate(der)[0])


def _certificate_key(certificate: x509.Certificate) -> keys.PublicKey:
    try:
        public = certificate.public_key()
    except (ValueError, TypeError, CryptoUnsupported):  # a damaged or unsupported key in the certificate
        raise RequestMalformed("the x5c certificate's key cannot be read") from None
    if isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp256r1":
        numbers = public.public_numbers()
        return keys.PublicKey.from_jwk({"kty": "EC", "crv": "P-256", "x": b64url_encode(numbers.x.to_bytes(32, "big")),
                                        "y": b64url_encode(numbers.y.to_bytes(32, "big"))})
    if isinstance(public, ed25519.Ed25519PublicKey):
        return keys.PublicKey.from_jwk({"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(public.public_bytes_raw())})
    raise RequestSignatureInvalid("only P-256 and Ed25519 certificates are accepted")
