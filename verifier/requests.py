"""OpenID4VP 1.0 authorization requests: the signed Request Object and the QR that points to it. Pure.

The verifier identifies itself under one of two Client Identifier Prefixes (section 5.9.3):

- ``x509_hash``: ``x509_hash:<base64url SHA-256 of the DER certificate>``, the Request
  Object carrying the certificate in ``x5c`` — what the HAIP profile and EU wallets expect.
  The certificate here is self-signed; its key is the one the trust list registers, which is
  what a wallet checks it against (rather than a public PKI).
- ``decentralized_identifier`` with ``did:jwk``: the DID is the public key itself, the
  Request Object names it in ``kid`` (``did:jwk:…#0``).

The Request Object (RFC 9101, ``typ oauth-authz-req+jwt``) has ``response_type vp_token``,
``response_mode`` ``direct_post`` or ``direct_post.jwt`` (with the check's encryption key in
``client_metadata.jwks``: verifier/encrypted_responses.py) and the ``response_uri``, a fresh
128-bit ``nonce`` and ``state``, the DCQL query, and ``client_metadata.vp_formats_supported``
(spelled as OpenID4VP 1.0 Appendix B.3 and HAIP 1.0 have it: ``sd-jwt_alg_values``,
``kb-jwt_alg_values``). The QR carries only ``client_id`` and ``request_uri`` (``openid4vp://``,
section 13.1.2).
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from core import _jose
from core.encoding import b64url_encode, json_dumps_compact
from core.keys import PrivateKey
from core.oid4vc import PRESENTATION_SCHEME, REQUEST_TYP

SELF_ISSUED_AUDIENCE = "https://self-issued.me/v2"  # section 5.8, static discovery
REQUEST_TTL_S = 600
# What the SD-JWT verifier accepts (core.sdjwt.verifier), said as it is: RFC 9864's fully-specified
# "Ed25519" beside the polymorphic "EdDSA", so a wallet that signs only under the new name is not
# told it may not.
_ALGS = ["ES256", "EdDSA", "Ed25519"]
VP_FORMATS = {"dc+sd-jwt": {"sd-jwt_alg_values": _ALGS, "kb-jwt_alg_values": _ALGS}}


class Prefix(StrEnum):
    X509_HASH = "x509_hash"
    DID = "decentralized_identifier"


CERTIFICATE_DAYS = 825
# A certificate is made anew for the same key this long before its end (store.identity): wallets
# check its validity (OpenID4VP 1.0 section 5.9.3, "MUST validate ... the X.509 leaf certificate"),
# and one made once and kept was refused by every wallet after 825 days (helper-66). The trust list
# names the key, so a new certificate needs no new registration; the x509_hash client id changes.
RENEW_BEFORE_S = 30 * 86400


def self_signed_certificate(key: PrivateKey, name: str, now: int, days: int = CERTIFICATE_DAYS) -> bytes:
    """A DER certificate for the verifier's request-signing key (x509_hash prefix)."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = datetime.datetime.fromtimestamp(now - 3600, tz=datetime.UTC)
    private = key.cryptography_key()
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
               .public_key(private.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    algorithm = hashes.SHA256() if key.alg == "ES256" else None
    return builder.sign(private, algorithm).public_bytes(serialization.Encoding.DER)


def asked_under(request_jwt: str) -> str:
    """The client id a check's request was made under, from its own signed Request Object (kept by
    this node): the certificate may have been made anew since (``RENEW_BEFORE_S``), and the wallet
    binds its answer, and the link the desk shows again, to the id it was asked under. Read twice
    an answer (its verification, its consent record): a pure function of the text, kept (9 us)."""
    return _asked(request_jwt)[0]


def encrypted_to(request_jwt: str) -> str | None:
    """The ``kid`` of the key a check's Request Object gave the wallet to encrypt its response to
    (``client_metadata.jwks``: that key's RFC 7638 thumbprint, verifier.encrypted_responses), None
    if it gave none. Read from the node's own signed text, as ``asked_under`` is: working it out
    again from the unsealed key took a field inversion and a digest, 0.14 M instructions an answer."""
    return _asked(request_jwt)[1]


@functools.lru_cache(maxsize=256)
def _asked(request_jwt: str) -> tuple[str, str | None]:
    payload = _jose.parse_compact(request_jwt, "request object").unverified_payload()
    keys = payload.get("client_metadata", {}).get("jwks", {}).get("keys", [])
    kid = keys[0].get("kid") if len(keys) == 1 else None
    return str(payload["client_id"]), kid if isinstance(kid, str) else None


def x509_hash_client_id(certificate_der: bytes) -> str:
    return f"{Prefix.X509_HASH}:{b64url_encode(hashlib.sha256(certificate_der).digest())}"


def did_jwk(key: PrivateKey) -> str:
    jwk = {k: v for k, v in key.public_key().to_jwk().items() if k in ("kty", "crv", "x", "y")}
    return "did:jwk:" + b64url_encode(json_dumps_compact(jwk).encode())


@dataclass(frozen=True, slots=True)
class Identity:
    """Two keys: ES256 with its certificate (x509_hash, as HAIP asks) and Ed25519 for did:jwk,
    whose DID holds only ``x`` — short enough that the QR stays within version 10.

    Its client ids and JWS headers are worked out once (a certificate hash, a thumbprint, a
    did:jwk): every check uses them two or three times, and they never change (issue 15)."""

    key: PrivateKey
    certificate_der: bytes
    did_key: PrivateKey
    renew_at: int = field(init=False, compare=False)  # when the certificate is to be made anew
    _client_ids: dict[Prefix, str] = field(init=False, repr=False, compare=False)
    _headers: dict[Prefix, dict[str, Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ends = x509.load_der_x509_certificate(self.certificate_der).not_valid_after_utc.timestamp()
        object.__setattr__(self, "renew_at", int(ends) - RENEW_BEFORE_S)
        did = did_jwk(self.did_key)
        object.__setattr__(self, "_client_ids", {Prefix.X509_HASH: x509_hash_client_id(self.certificate_der),
                                                 Prefix.DID: f"{Prefix.DID}:{did}"})
        # ``x5c`` names the key under x509_hash; ``kid`` (the key's RFC 7638 thumbprint) goes beside
        # it because the IT-Wallet's parser requires one (issue 18), and RFC 7515 allows both.
        object.__setattr__(self, "_headers", {
            Prefix.X509_HASH: {"typ": REQUEST_TYP, "kid": self.key.public_key().thumbprint(),
                               "x5c": [base64.b64encode(self.certificate_der).decode("ascii")]},
            Prefix.DID: {"typ": REQUEST_TYP, "kid": did + "#0"}})

    def signing_key(self, prefix: Prefix) -> PrivateKey:
        return self.key if prefix is Prefix.X509_HASH else self.did_key

    def client_id(self, prefix: Prefix) -> str:
        return self._client_ids[prefix]

    def header(self, prefix: Prefix) -> dict[str, Any]:
        """The request object's JWS header (a copy: the caller may add to it)."""
        made = self._headers[prefix]
        return {**made, "x5c": list(made["x5c"])} if "x5c" in made else dict(made)


def new_secret() -> str:
    """128 bits, URL-safe characters only (section 5.2: nonce and state)."""
    return secrets.token_urlsafe(16)


def request_object(identity: Identity, prefix: Prefix, *, response_uri: str, nonce: str, state: str,
                   dcql_query: dict[str, Any], now: int, encryption: dict[str, Any] | None = None) -> str:
    """``encryption``: the ``client_metadata`` members of an encrypted check (verifier.encrypted_responses),
    which make the response mode ``direct_post.jwt``; None for ``direct_post``."""
    payload = {
        "client_id": identity.client_id(prefix),
        "response_type": "vp_token",
        "response_mode": "direct_post" if encryption is None else "direct_post.jwt",
        "response_uri": response_uri,
        "nonce": nonce,
        "state": state,
        "dcql_query": dcql_query,
        "client_metadata": {"vp_formats_supported": VP_FORMATS, **(encryption or {})},
        "aud": SELF_ISSUED_AUDIENCE,
        "iat": now,
        "exp": now + REQUEST_TTL_S,
    }
    return _jose.sign_compact(identity.header(prefix), payload, identity.signing_key(prefix))


def wallet_link(client_id: str, request_uri: str) -> str:
    # ':' and '/' may stay unescaped in a query (RFC 3986 section 3.4): a smaller QR.
    return PRESENTATION_SCHEME + "?" + urlencode({"client_id": client_id, "request_uri": request_uri}, safe=":/")


ASK_PAGE = "/verifier/ask"


def ask_link(base: str, client_id: str, request_uri: str) -> str:
    """What a desk's QR carries: the same two parameters on an https page of this node.

    OpenID4VP 1.0 ("Wallet Invocation") lets the verifier invoke a wallet by a
    custom scheme or by an https URL, either "presented as a QR code for the End-User to scan
    using a Wallet or an arbitrary camera application". A phone's camera app opens nothing
    for ``openid4vp://`` (issue 10 item 12); it opens this page (verifier.ask_page), which says
    in the holder's language what is asked and by whom and offers the ``openid4vp://`` link.
    A wallet that scans it reads ``client_id`` and ``request_uri`` from the query, as from the
    custom-scheme link, and never loads the page."""
    return base + ASK_PAGE + "?" + urlencode({"client_id": client_id, "request_uri": request_uri}, safe=":/")
